/*
 * ratelimit.h: brute-force protection for authentication and registration.
 *
 * Three bounded tables of counters, keyed by a keyed 64-bit SipHash of
 * what they count (so no user name or address is kept in clear, and a
 * client cannot choose keys that collide in the hash table):
 *   - failed authentications per user name;
 *   - failed authentications per client address (an IPv6 address counts
 *     as its /64, which one subscriber usually holds entirely);
 *   - registrations per client address.
 * A fourth table remembers (user, address) pairs that authenticated
 * successfully, so that a user whose name is under attack keeps working
 * from the addresses it already used (see ratelimit_auth_allowed).
 *
 * Counting is a sliding window (the previous window's count, weighted by
 * how much of it still overlaps, plus the current one). Reaching the limit
 * blocks the key for one window; each further block while the key has not
 * been quiet doubles the time (back-off), up to RATELIMIT_MAX_BACKOFF
 * windows. Requests refused while blocked are not counted again.
 *
 * Memory: each table holds at most max_entries entries (about 80 bytes
 * each); when full, the least recently used entry is dropped.
 *
 * Times are milliseconds of a monotonic clock, passed in by the caller so
 * that tests can drive them (ratelimit_now_ms() is the real clock).
 *
 * Several instances (storage = redis): a listener set with
 * ratelimit_set_listener() hears of every failure and registration this
 * limiter counts, and ratelimit_apply() counts one that another instance
 * counted (without telling the listener again); pubsub.c carries them
 * between the instances through Redis, so that every instance counts every
 * instance's failures. The decision (ratelimit_auth_allowed) stays local
 * and synchronous.
 *
 * One limiter for every way of presenting a password: the server makes one
 * (cmd_serve.c) and hands it to the protocol (api.c: x-auth headers and
 * Basic auth) and the web interface (webui.c: sign-in, and the password
 * asked again to change it or delete the account), so a name or address
 * gets auth_fail_per_user (auth_fail_per_ip) guesses per window in all,
 * whichever door they come through. Before every check of a password call
 * ratelimit_auth_allowed(), after it ratelimit_auth_failed() or
 * ratelimit_auth_ok(); a new way in (WebDAV, OPDS) takes the same object.
 *
 * Not responsible for what a refused request is answered (api.c), nor for
 * where the client address comes from (server.c and proxy.c), nor for
 * carrying events between instances (pubsub.c).
 */
#ifndef KOSYNCD_RATELIMIT_H
#define KOSYNCD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h" /* RATELIMIT_*: the defaults of the options */
#include "buf.h"

/* The longest block, in windows: 1, 2, 4, ... 64 (an hour at 60 s). */
#define RATELIMIT_MAX_BACKOFF 64

struct ratelimit_params {
	unsigned auth_fail_per_user; /* 0: no limit */
	unsigned auth_fail_per_ip;   /* 0: no limit */
	uint64_t auth_fail_window_ms;
	unsigned register_per_ip; /* 0: no limit */
	uint64_t register_window_ms;
	size_t max_entries; /* per table */
};

struct ratelimit;

/* Fill p with the defaults above. */
void ratelimit_params_default(struct ratelimit_params *p);

struct config;
/*
 * Fill p from cfg's options (auth_fail_per_user, auth_fail_per_ip,
 * auth_fail_window_s, register_per_ip, register_window_s,
 * ratelimit_entries).
 */
void ratelimit_params_config(
    struct ratelimit_params *p, const struct config *cfg);

/* A limiter with parameters p (copied). Never returns NULL. */
struct ratelimit *ratelimit_new(const struct ratelimit_params *p);
/* NULL is allowed. */
void ratelimit_free(struct ratelimit *rl);

/* The monotonic clock in milliseconds (coarse: a few ms of resolution). */
uint64_t ratelimit_now_ms(void);

/*
 * Whether a request with credentials for user from address peer (numeric,
 * as in struct http_request) may be verified at all. False when peer is
 * blocked, or when user is blocked and this (user, peer) pair never
 * authenticated successfully; the caller then answers 401 without looking
 * at the key. Costs nothing measurable when no failure was recorded.
 */
bool ratelimit_auth_allowed(
    struct ratelimit *rl, struct str user, const char *peer, uint64_t now);

/* Count a failed authentication (wrong key or unknown user). */
void ratelimit_auth_failed(
    struct ratelimit *rl, struct str user, const char *peer, uint64_t now);

/* Remember a successful authentication of user from peer. */
void ratelimit_auth_ok(
    struct ratelimit *rl, struct str user, const char *peer, uint64_t now);

/*
 * Count a registration attempt from peer. Returns false (and does not
 * count it) when peer is over its limit: the caller refuses it.
 */
bool ratelimit_register(struct ratelimit *rl, const char *peer, uint64_t now);

/* What a listener hears of and ratelimit_apply() counts. */
enum ratelimit_event {
	RATELIMIT_EV_AUTH_FAILED, /* user (may be empty) and peer */
	RATELIMIT_EV_REGISTER,    /* peer */
};

/*
 * Called, when set, after this limiter counted ev itself (a failed
 * authentication, or a registration it let through); user and peer are
 * borrowed for the call. NULL fn removes the listener.
 */
typedef void ratelimit_event_fn(
    void *arg, enum ratelimit_event ev, struct str user, const char *peer);
void ratelimit_set_listener(
    struct ratelimit *rl, ratelimit_event_fn *fn, void *arg);

/*
 * Count ev that another instance counted, as ratelimit_auth_failed() or a
 * registration that ratelimit_register() lets through would be counted
 * (nothing is counted on a key blocked here), without calling the
 * listener.
 */
void ratelimit_apply(struct ratelimit *rl, enum ratelimit_event ev,
    struct str user, const char *peer, uint64_t now);

/* Entries in use in each table (for tests): users, addresses, pairs,
 * registrations. */
void ratelimit_sizes(const struct ratelimit *rl, size_t out[4]);

#endif
