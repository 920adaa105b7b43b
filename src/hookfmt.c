/*
 * hookfmt.c: the formats of events out (see hookfmt.h): the webhooks'
 * stored text, URLs, the private-address rule, signatures and the status
 * line of an answer. Every function is pure: bytes in, values out.
 *
 * The stored text is a JSON array of {"id", "url", "secret", "events"
 * (names), "created"}; it is read back strictly (any other shape is
 * refused whole), since only this module writes it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hookfmt.h"
#include "json.h"

static const char *const event_names[] = {
    "progress",
    "started",
    "finished",
    "statistics_uploaded",
    "credential_first_use",
    "test",
};

#define NEVENTS (sizeof(event_names) / sizeof(event_names[0]))

const char *
hookfmt_event_name(unsigned ev)
{
	size_t i;

	for (i = 0; i < NEVENTS; i++)
		if (ev == 1u << i)
			return event_names[i];
	return NULL;
}

unsigned
hookfmt_event_bit(struct str name)
{
	size_t i;

	for (i = 0; i < NEVENTS; i++)
		if ((1u << i) & HOOK_EV_ALL && str_eqs(name, event_names[i]))
			return 1u << i;
	return 0;
}

unsigned
hookfmt_events_parse(struct str list)
{
	const char *p = list.p, *end = list.p + list.len, *comma;
	unsigned evs = 0, bit;

	if (list.p == NULL || list.len == 0)
		return 0;
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		bit = hookfmt_event_bit((struct str){p, (size_t)(comma - p)});
		if (bit == 0)
			return 0;
		evs |= bit;
		if (comma == end)
			return evs;
		p = comma + 1;
	}
}

/* Copy s into a field of cap bytes (NUL included); -1 when it does not fit
 * or holds a NUL. */
static int
copy_field(char *dst, size_t cap, struct str s)
{
	if (s.p == NULL || s.len >= cap || memchr(s.p, '\0', s.len) != NULL)
		return -1;
	memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	return 0;
}

/* One stored webhook; -1 when v is not one. */
static int
parse_hook(const struct json_value *v, struct hook *h)
{
	const struct json_value *ev, *e;
	double created;
	unsigned bit;

	if (v->type != JSON_OBJECT)
		return -1;
	if (copy_field(h->id, sizeof(h->id), json_get_str(v, "id")) != 0 ||
	    copy_field(h->url, sizeof(h->url), json_get_str(v, "url")) != 0 ||
	    copy_field(
	        h->secret, sizeof(h->secret), json_get_str(v, "secret")) != 0)
		return -1;
	ev = json_get(v, "events");
	if (ev == NULL || ev->type != JSON_ARRAY)
		return -1;
	h->events = 0;
	for (e = ev->child; e != NULL; e = e->next) {
		if (e->type != JSON_STRING ||
		    (bit = hookfmt_event_bit(e->text)) == 0)
			return -1;
		h->events |= bit;
	}
	e = json_get(v, "created");
	if (e == NULL || json_number(e, false, &created) != 0 || created < 0 ||
	    created > 1e15)
		return -1;
	h->created = (int64_t)created;
	return 0;
}

int
hookfmt_parse(const char *text, size_t len, struct hook_list *out)
{
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root, *v;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	root = json_parse(text, len, json_arena_alloc, &a, NULL);
	if (root == NULL || root->type != JSON_ARRAY ||
	    root->count > HOOK_MAX_PER_USER)
		goto out;
	for (v = root->child; v != NULL; v = v->next)
		if (parse_hook(v, &out->h[out->n++]) != 0)
			goto out;
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	json_arena_release(&a);
	return rc;
}

void
hookfmt_write(struct buf *b, const struct hook_list *l)
{
	struct json_out o;
	size_t i;
	unsigned bit;

	json_out_init(&o, b, false);
	json_arr_begin(&o);
	for (i = 0; i < l->n; i++) {
		const struct hook *h = &l->h[i];

		json_obj_begin(&o);
		json_key(&o, "id");
		json_str(&o, h->id);
		json_key(&o, "url");
		json_str(&o, h->url);
		json_key(&o, "secret");
		json_str(&o, h->secret);
		json_key(&o, "events");
		json_arr_begin(&o);
		for (bit = 1; bit & HOOK_EV_ALL; bit <<= 1)
			if (h->events & bit)
				json_str(&o, hookfmt_event_name(bit));
		json_arr_end(&o);
		json_key(&o, "created");
		json_int(&o, h->created);
		json_obj_end(&o);
	}
	json_arr_end(&o);
}

/*
 * URLs
 */

/* The port after ':' (p, len: the digits); -1 when not 1..65535. */
static long
parse_port(const char *p, size_t len)
{
	long port = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		port = port * 10 + (p[i] - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

int
hookfmt_url_parse(struct str url, struct hook_url *out, const char **err)
{
	static const char scheme[] = "http://";
	const char *p, *end, *host_end, *path;
	char host[64];
	size_t hlen, i;
	long port = 80;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->addr;

	memset(out, 0, sizeof(*out));
	*err = "The URL must be http://<numeric address>[:port]/path.";
	if (url.p == NULL || url.len > HOOK_URL_MAX ||
	    url.len < sizeof(scheme) - 1 ||
	    strncasecmp(url.p, scheme, sizeof(scheme) - 1) != 0) {
		if (url.p != NULL && url.len >= 8 &&
		    strncasecmp(url.p, "https://", 8) == 0)
			*err = "https is not supported: the server sends "
			       "webhooks over http only (docs/webhooks.md).";
		return -1;
	}
	for (i = 0; i < url.len; i++)
		if ((unsigned char)url.p[i] <= ' ' ||
		    (unsigned char)url.p[i] >= 0x7f || url.p[i] == '#')
			return -1;
	p = url.p + sizeof(scheme) - 1;
	end = url.p + url.len;
	path = memchr(p, '/', (size_t)(end - p));
	if (path == NULL)
		path = end;
	if (memchr(p, '@', (size_t)(path - p)) != NULL)
		return -1;
	if (p < path && *p == '[') {
		host_end = memchr(p, ']', (size_t)(path - p));
		if (host_end == NULL)
			return -1;
		hlen = (size_t)(host_end - p - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -1;
		memcpy(host, p + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		host_end++;
	} else {
		host_end = memchr(p, ':', (size_t)(path - p));
		if (host_end == NULL)
			host_end = path;
		hlen = (size_t)(host_end - p);
		if (hlen == 0 || hlen >= sizeof(host))
			return -1;
		memcpy(host, p, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
			*err = "The URL's host must be a numeric address (the "
			       "server resolves no names).";
			return -1;
		}
		in4->sin_family = AF_INET;
	}
	if (host_end < path) {
		if (*host_end != ':' ||
		    (port = parse_port(
		         host_end + 1, (size_t)(path - host_end - 1))) < 0)
			return -1;
	}
	if (out->addr.ss_family == AF_INET6)
		in6->sin6_port = htons((uint16_t)port);
	else
		in4->sin_port = htons((uint16_t)port);
	memcpy(out->host, p, (size_t)(path - p));
	out->host[path - p] = '\0';
	if (path == end) {
		out->path[0] = '/';
	} else {
		memcpy(out->path, path, (size_t)(end - path));
		out->path[end - path] = '\0';
	}
	*err = NULL;
	return 0;
}

/* Whether the IPv4 address a (host order) is private (hookfmt.h). */
static bool
v4_private(uint32_t a)
{
	static const struct {
		uint32_t net, mask;
	} ranges[] = {
	    {0x00000000, 0xff000000}, /* 0/8: this network */
	    {0x0a000000, 0xff000000}, /* 10/8 */
	    {0x64400000, 0xffc00000}, /* 100.64/10: shared (CGNAT) */
	    {0x7f000000, 0xff000000}, /* 127/8: loopback */
	    {0xa9fe0000, 0xffff0000}, /* 169.254/16: link-local */
	    {0xac100000, 0xfff00000}, /* 172.16/12 */
	    {0xc0000000, 0xffffff00}, /* 192.0.0/24: protocol assignments */
	    {0xc0000200, 0xffffff00}, /* 192.0.2/24: documentation */
	    {0xc0a80000, 0xffff0000}, /* 192.168/16 */
	    {0xc6120000, 0xfffe0000}, /* 198.18/15: benchmarks */
	    {0xc6336400, 0xffffff00}, /* 198.51.100/24: documentation */
	    {0xcb007100, 0xffffff00}, /* 203.0.113/24: documentation */
	    {0xe0000000,
	        0xe0000000}, /* 224/3: multicast, reserved, broadcast */
	};
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if ((a & ranges[i].mask) == ranges[i].net)
			return true;
	return false;
}

bool
hookfmt_addr_is_private(const struct sockaddr_storage *a)
{
	const struct in6_addr *v6;
	const uint8_t *b;
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[12];

	if (a->ss_family == AF_INET)
		return v4_private(
		    ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr));
	if (a->ss_family != AF_INET6)
		return true;
	v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
	b = v6->s6_addr;
	/* IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, and
	 * with it :: and ::1): the IPv4 rule, which refuses 0/8. */
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0)
		return v4_private((uint32_t)b[12] << 24 |
		                  (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
		                  b[15]);
	if ((b[0] & 0xfe) == 0xfc) /* fc00::/7: unique local */
		return true;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
		return true;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10 (old) */
		return true;
	if (b[0] == 0xff) /* multicast */
		return true;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return true; /* 2001:db8::/32: documentation */
	if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)
		return true; /* 64:ff9b::/96 NAT64 reaches any IPv4 address */
	if (b[0] == 0x20 && b[1] == 0x02)
		return true; /* 2002::/16 6to4 embeds any IPv4 address */
	return false;
}

void
hookfmt_sign(const char *body, size_t len, const char *secret,
    char out[HOOK_SIG_HEX + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(
	    &st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, HOOK_SIG_HEX + 1, mac, sizeof(mac));
}

int
hookfmt_status_line(const char *p, size_t len, int *status)
{
	static const char v10[] = "HTTP/1.0 ", v11[] = "HTTP/1.1 ";
	size_t i, n = len > HOOK_STATUS_LINE_MAX ? HOOK_STATUS_LINE_MAX : len;
	char ch;

	/* What has arrived must be a prefix of a status line. */
	/* cppcheck-suppress knownConditionTrueFalse ; len is any size */
	for (i = 0; i < n; i++) {
		ch = p[i];
		if (i < 9) {
			if (ch != v10[i] && ch != v11[i])
				return -1;
		} else if (i < 12) {
			if (ch < '0' || ch > '9')
				return -1;
		} else if (ch == '\n') {
			*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 +
			          (p[11] - '0');
			return *status < 100 ? -1 : (int)(i + 1);
		} else if (ch == '\r') {
			/* Only right before the LF (maybe still to come). */
			if (i + 1 < n && p[i + 1] != '\n')
				return -1;
		} else if ((i == 12 && ch != ' ') ||
		           ((unsigned char)ch < ' ' && ch != '\t')) {
			/* A space after the code; no control byte after it. */
			return -1;
		}
	}
	return n >= HOOK_STATUS_LINE_MAX ? -1 : -2;
}
