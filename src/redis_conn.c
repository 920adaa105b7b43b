/*
 * redis_conn.c: one hiredis async connection kept up (see redis_conn.h).
 *
 * Invariants: c->ac is the current connection or NULL, and NULL exactly
 * when the state is DOWN; a connect or disconnect callback for another
 * context is stale and ignored; lost() runs once per connection, after
 * the state and the next attempt are set, and nothing here touches c after
 * it (the owner may react by closing).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "addr.h"
#include "log.h"
#include "redis_conn.h"
#include "redis_uv.h"

int
redis_conn_init(struct redis_conn *c, uv_loop_t *loop, const char *address,
    bool keepalive, redis_conn_attached_fn *attached, redis_conn_lost_fn *lost,
    void *owner)
{
	const char *err;

	*c = (struct redis_conn){0};
	if (addr_parse_connect(address, &c->host, &c->port, &c->path, &err) !=
	    0)
		return -1;
	c->loop = loop;
	c->keepalive = keepalive;
	c->attached = attached;
	c->lost = lost;
	c->owner = owner;
	c->state = REDIS_CONN_DOWN;
	c->backoff_ms = REDIS_CONN_BACKOFF_MIN_MS;
	return 0;
}

void
redis_conn_release(struct redis_conn *c)
{
	free(c->host);
	free(c->path);
	c->host = c->path = NULL;
}

/*
 * Connection ac is gone or going (hiredis frees it, or the caller does):
 * forget it and plan the next attempt. Nothing happens when ac is not the
 * current connection.
 */
static void
redis_conn_lost(
    struct redis_conn *c, const redisAsyncContext *ac, const char *why)
{
	bool was_ready, was_failing;

	if (ac == NULL || ac != c->ac)
		return;
	c->ac = NULL;
	was_ready = c->state == REDIS_CONN_READY;
	was_failing = c->failing;
	c->state = REDIS_CONN_DOWN;
	if (!c->failing)
		c->backoff_ms = REDIS_CONN_BACKOFF_MIN_MS;
	c->failing = true;
	c->retry_at = uv_now(c->loop) + c->backoff_ms;
	c->backoff_ms *= 2;
	if (c->backoff_ms > REDIS_CONN_BACKOFF_MAX_MS)
		c->backoff_ms = REDIS_CONN_BACKOFF_MAX_MS;
	c->lost(c, why, was_ready, was_failing);
}

void
redis_conn_drop(struct redis_conn *c, const char *why)
{
	redisAsyncContext *ac = c->ac;

	if (ac == NULL)
		return;
	redis_conn_lost(c, ac, why);
	redisAsyncFree(ac);
}

static void
redis_conn_on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *c = ac->data;

	if (status != REDIS_OK)
		redis_conn_lost(
		    c, ac, ac->errstr[0] ? ac->errstr : "connect failed");
}

static void
redis_conn_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *c = ac->data;

	(void)status;
	redis_conn_lost(
	    c, ac, ac->errstr[0] ? ac->errstr : "connection closed");
}

void
redis_conn_connect(struct redis_conn *c)
{
	redisAsyncContext *ac;

	ac = c->path != NULL ? redisAsyncConnectUnix(c->path)
	                     : redisAsyncConnect(c->host, c->port);
	if (ac == NULL)
		fatalx("redis: out of memory");
	c->ac = ac;
	c->state = REDIS_CONN_CONNECTING;
	c->since = uv_now(c->loop);
	ac->data = c;
	if (ac->err) {
		redis_conn_lost(c, ac, ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	if (redis_uv_attach(ac, c->loop) != 0) {
		redis_conn_lost(c, ac, "cannot watch the socket");
		redisAsyncFree(ac);
		return;
	}
	/* Best effort: a dead peer is then noticed without traffic. */
	if (c->keepalive && c->path == NULL)
		(void)redisEnableKeepAlive(&ac->c);
	redisAsyncSetConnectCallback(ac, redis_conn_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_conn_on_disconnect);
	c->attached(c);
}

void
redis_conn_ready(struct redis_conn *c)
{
	c->state = REDIS_CONN_READY;
	c->failing = false;
	c->backoff_ms = REDIS_CONN_BACKOFF_MIN_MS;
}

void
redis_conn_tick(struct redis_conn *c, bool may_connect)
{
	uint64_t now = uv_now(c->loop);

	switch (c->state) {
	case REDIS_CONN_DOWN:
		if (may_connect && now >= c->retry_at)
			redis_conn_connect(c);
		break;
	case REDIS_CONN_CONNECTING:
		if (now - c->since > REDIS_CONN_TIMEOUT_MS)
			redis_conn_drop(c, "timed out");
		break;
	case REDIS_CONN_READY:
		break;
	}
}
