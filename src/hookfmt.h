/*
 * hookfmt.h: the formats of events out (docs/webhooks.md), as pure
 * functions: an account's webhooks as the JSON text the store keeps, a
 * webhook's URL, which addresses count as private (the SSRF rule), the
 * signature of a body, and the status line of a receiver's answer.
 *
 * Not here: delivery (webhook.h), storage (store.h), the web API.
 *
 * Layer formats (src/LAYERS): on json.h, buf.h and libsodium; no
 * configuration, no store, no I/O.
 */
#ifndef KOSYNCD_HOOKFMT_H
#define KOSYNCD_HOOKFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "buf.h"

#define HOOK_MAX_PER_USER 5       /* webhooks an account may have */
#define HOOK_URL_MAX 512          /* bytes of a webhook's URL */
#define HOOK_SECRET_MIN 16        /* bytes of a secret the user chooses */
#define HOOK_SECRET_MAX 128       /* ... at most */
#define HOOK_ID_LEN 8             /* letters and digits of an id */
#define HOOK_SIG_HEX 64           /* hex digits of a signature */
#define HOOK_STATUS_LINE_MAX 1024 /* bytes of a status line we wait for */

/* The events a webhook may ask for (a bit each). */
enum hook_event {
	HOOK_EV_PROGRESS = 1 << 0,   /* "progress": every push */
	HOOK_EV_STARTED = 1 << 1,    /* "started": a book's first position */
	HOOK_EV_FINISHED = 1 << 2,   /* "finished": reaching 99 % */
	HOOK_EV_STATISTICS = 1 << 3, /* "statistics_uploaded" */
	HOOK_EV_CREDENTIAL = 1 << 4, /* "credential_first_use" */
	HOOK_EV_TEST = 1 << 5,       /* "test": the test button, always */
};
#define HOOK_EV_ALL 0x1f /* the events one can choose */

/* The name of one event bit (a static string), or NULL. */
const char *hookfmt_event_name(unsigned ev);
/* The bit of name, or 0 when it names no event one can choose. */
unsigned hookfmt_event_bit(struct str name);

/*
 * The events of a comma-separated list of names (the webhook_events
 * option), or 0 when it is empty or names something else.
 */
unsigned hookfmt_events_parse(struct str list);

/* A webhook as the store keeps it. */
struct hook {
	char id[HOOK_ID_LEN + 1];
	char url[HOOK_URL_MAX + 1];
	char secret[HOOK_SECRET_MAX + 1];
	unsigned events; /* enum hook_event bits */
	int64_t created;
};

struct hook_list {
	struct hook h[HOOK_MAX_PER_USER];
	size_t n;
};

/*
 * Read the store's text (len 0: no webhooks) into *out. Returns 0, or -1
 * when the text is not what hookfmt_write writes (*out then empty).
 */
int hookfmt_parse(const char *text, size_t len, struct hook_list *out);
/* Append the store's text of l to b (secrets included). */
void hookfmt_write(struct buf *b, const struct hook_list *l);

/* A webhook's URL, split. */
struct hook_url {
	struct sockaddr_storage addr; /* the host (numeric) and the port */
	char host[64];                /* as written, for the Host header */
	char path[HOOK_URL_MAX + 1];  /* from the first '/', query included */
};

/*
 * Split url: "http://" (any case), a numeric host (IPv4 dotted, or IPv6
 * in brackets), an optional port (1 to 65535; 80 by default), and a path
 * (default "/") of printable ASCII without spaces; no user information,
 * no fragment, at most HOOK_URL_MAX bytes. Returns 0, or -1 with *err set
 * to a static message for the user.
 */
int hookfmt_url_parse(struct str url, struct hook_url *out, const char **err);

/*
 * Whether a is an address an account must not make the server connect to
 * unless the administrator allows it (webhook_allow_private): loopback,
 * the private ranges (10/8, 172.16/12, 192.168/16, fc00::/7), link-local,
 * shared (100.64/10), unspecified, multicast, broadcast, the
 * documentation and benchmark ranges, and IPv4 inside IPv6 of any of them.
 */
bool hookfmt_addr_is_private(const struct sockaddr_storage *a);

/*
 * The signature of body for secret: the hex of HMAC-SHA256 (out: 64 hex
 * digits and a NUL).
 */
void hookfmt_sign(const char *body, size_t len, const char *secret,
    char out[HOOK_SIG_HEX + 1]);

/*
 * Read the status line at the start of a receiver's answer: "HTTP/1.0" or
 * "HTTP/1.1", a space, three digits, then anything up to CRLF (or LF).
 * Returns the bytes of the line with its end (> 0) and sets *status; -2
 * when more bytes are needed (fewer than HOOK_STATUS_LINE_MAX so far);
 * -1 when it is not a status line.
 */
int hookfmt_status_line(const char *p, size_t len, int *status);

#endif
