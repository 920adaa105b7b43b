/*
 * redis_uv.c: hiredis async events on a uv_poll_t (see redis_uv.h).
 *
 * Invariants: events is what hiredis asked for (UV_READABLE and/or
 * UV_WRITABLE) and the poll handle watches exactly that while ac is set;
 * ac is cleared by hiredis's cleanup hook, after which the handle only
 * closes and frees this structure.
 */
#include <stdlib.h>

#include "redis_uv.h"
#include "xmalloc.h"

struct redis_uv {
	uv_poll_t poll;
	redisAsyncContext *ac;
	int events;
};

static void redis_uv_poll_cb(uv_poll_t *h, int status, int events);

static void
redis_uv_update(struct redis_uv *r, int events)
{
	if (r->ac == NULL || events == r->events)
		return;
	r->events = events;
	if (events != 0)
		uv_poll_start(&r->poll, events, redis_uv_poll_cb);
	else
		uv_poll_stop(&r->poll);
}

static void
redis_uv_poll_cb(uv_poll_t *h, int status, int events)
{
	struct redis_uv *r = h->data;

	if (status < 0) {
		/*
		 * libuv stopped the handle: let hiredis find the error with
		 * the socket calls it makes for the events it waits for.
		 */
		events = r->events != 0 ? r->events : UV_READABLE | UV_WRITABLE;
		r->events = 0;
	}
	if (r->ac != NULL && (events & UV_WRITABLE))
		redisAsyncHandleWrite(r->ac);
	if (r->ac != NULL && (events & UV_READABLE))
		redisAsyncHandleRead(r->ac);
	if (status < 0 && r->ac != NULL && r->events == 0) {
		/* Nothing was re-armed by hiredis: watch for reads again. */
		redis_uv_update(r, UV_READABLE);
	}
}

static void
redis_uv_add_read(void *arg)
{
	struct redis_uv *r = arg;

	redis_uv_update(r, r->events | UV_READABLE);
}

static void
redis_uv_del_read(void *arg)
{
	struct redis_uv *r = arg;

	redis_uv_update(r, r->events & ~UV_READABLE);
}

static void
redis_uv_add_write(void *arg)
{
	struct redis_uv *r = arg;

	redis_uv_update(r, r->events | UV_WRITABLE);
}

static void
redis_uv_del_write(void *arg)
{
	struct redis_uv *r = arg;

	redis_uv_update(r, r->events & ~UV_WRITABLE);
}

static void
redis_uv_closed(uv_handle_t *h)
{
	free(h->data);
}

/* hiredis frees the context: stop watching and free us once closed. */
static void
redis_uv_cleanup(void *arg)
{
	struct redis_uv *r = arg;

	r->ac->ev.data = NULL;
	r->ac = NULL;
	r->events = 0;
	uv_poll_stop(&r->poll);
	uv_close((uv_handle_t *)&r->poll, redis_uv_closed);
}

int
redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	struct redis_uv *r;

	if (ac->ev.data != NULL)
		return -1;
	r = xcalloc(1, sizeof(*r));
	if (uv_poll_init_socket(loop, &r->poll, ac->c.fd) != 0) {
		free(r);
		return -1;
	}
	r->poll.data = r;
	r->ac = ac;
	ac->ev.addRead = redis_uv_add_read;
	ac->ev.delRead = redis_uv_del_read;
	ac->ev.addWrite = redis_uv_add_write;
	ac->ev.delWrite = redis_uv_del_write;
	ac->ev.cleanup = redis_uv_cleanup;
	ac->ev.data = r;
	return 0;
}
