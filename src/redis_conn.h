/*
 * redis_conn.h: one hiredis asynchronous connection to redis_address on a
 * libuv loop, kept up: connect, notice the loss, retry with back-off.
 *
 * The Redis store (store_redis.c) and the Pub/Sub subscriber (pubsub.c)
 * each own one. Its life: DOWN (the next attempt at retry_at; the back-off
 * starts at REDIS_CONN_BACKOFF_MIN_MS after a connection that worked and
 * doubles with every failed attempt up to REDIS_CONN_BACKOFF_MAX_MS),
 * CONNECTING (from redis_conn_connect until the owner's handshake is done
 * and it calls redis_conn_ready; redis_conn_tick drops it when since is
 * more than REDIS_CONN_TIMEOUT_MS ago), READY. hiredis notices a loss (the
 * socket closes or fails: the connect or disconnect callback); the owner
 * may drop the connection itself (an error reply, a timeout of its own).
 *
 * What differs between owners comes through two hooks:
 *   attached(c)  a new connection is on the loop, its callbacks set:
 *                send the handshake (AUTH, SELECT, SUBSCRIBE, ...);
 *   lost(c, why, was_ready, was_failing)
 *                the current connection is gone or going (ac is NULL,
 *                state DOWN, the next attempt planned): log it (was_ready:
 *                it was READY; was_failing: the attempt before had failed
 *                already, so one message per outage is enough) and do the
 *                owner's own bookkeeping.
 * A hiredis callback whose context is not c->ac is stale; the module
 * ignores its own, and the owner's callbacks must check. ac->data is c.
 *
 * The structure is embedded in its owner (which keeps it alive until no
 * hiredis callback can run, i.e. after redis_conn_drop), so it is not
 * opaque: the owner reads ac, state and failing, and may move since
 * forward on a sign of life; the other fields are this module's.
 *
 * Not here: the timer (the owner's tick calls redis_conn_tick), commands
 * and their replies, what the handshake is, the adapter to the loop
 * (redis_uv.c), the address syntax (addr_parse_connect in addr.h).
 */
#ifndef KOSYNCD_REDIS_CONN_H
#define KOSYNCD_REDIS_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/async.h>
#include <uv.h>

#define REDIS_CONN_TIMEOUT_MS 2000     /* CONNECTING longer: drop */
#define REDIS_CONN_BACKOFF_MIN_MS 100  /* first retry after a failure */
#define REDIS_CONN_BACKOFF_MAX_MS 5000 /* retries slow down to this */

enum redis_conn_state {
	REDIS_CONN_DOWN,
	REDIS_CONN_CONNECTING,
	REDIS_CONN_READY
};

struct redis_conn;
typedef void redis_conn_attached_fn(struct redis_conn *c);
typedef void redis_conn_lost_fn(
    struct redis_conn *c, const char *why, bool was_ready, bool was_failing);

struct redis_conn {
	uv_loop_t *loop;
	char *host; /* numeric host, or NULL with path */
	int port;
	char *path; /* unix socket */
	bool keepalive;
	redis_conn_attached_fn *attached;
	redis_conn_lost_fn *lost;
	void *owner;           /* for the hooks and the owner's callbacks */
	redisAsyncContext *ac; /* the current connection, or NULL */
	enum redis_conn_state state;
	bool failing;        /* the last attempt failed */
	uint64_t since;      /* loop time the attempt began (or later) */
	uint64_t retry_at;   /* DOWN: loop time of the next attempt */
	uint64_t backoff_ms; /* the wait after the next failure */
};

/*
 * Set up c (DOWN, not connecting yet) for address (a redis_address) on
 * loop, with the hooks and owner. keepalive: turn on TCP keep-alive on each
 * TCP connection (best effort), so a dead peer is noticed without traffic.
 * Returns 0, or -1 when address is not a redis_address (c then needs no
 * release).
 */
int redis_conn_init(struct redis_conn *c, uv_loop_t *loop, const char *address,
    bool keepalive, redis_conn_attached_fn *attached, redis_conn_lost_fn *lost,
    void *owner);

/* Free what redis_conn_init allocated; the connection must be gone. */
void redis_conn_release(struct redis_conn *c);

/*
 * Start an attempt now (c must be DOWN): CONNECTING, and attached(c); when
 * the attempt fails at once, lost(c, ...) instead.
 */
void redis_conn_connect(struct redis_conn *c);

/* The owner's handshake is done: READY, and the back-off starts over. */
void redis_conn_ready(struct redis_conn *c);

/*
 * Drop the current connection (lost(c, why, ...) runs, then hiredis gives
 * pending commands NULL replies). No connection: nothing happens.
 */
void redis_conn_drop(struct redis_conn *c, const char *why);

/*
 * The owner's periodic check: DOWN, start the next attempt when it is due
 * and may_connect; CONNECTING for too long, drop it ("timed out"); READY,
 * nothing (the owner watches its replies).
 */
void redis_conn_tick(struct redis_conn *c, bool may_connect);

#endif
