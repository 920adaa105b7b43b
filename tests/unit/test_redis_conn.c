/*
 * test_redis_conn.c: one Redis connection's life (redis_conn.c), without a
 * Redis server.
 *
 * A refused port: every attempt reports one loss, the first as not
 * failing before, the retries as failing; the waits are 100, 200, 400, ...
 * up to 5000 ms; a tick reconnects only when the retry is due and allowed.
 * A port that accepts and never answers: the attached hook runs at once;
 * an owner that calls it ready is READY, with TCP keep-alive exactly when
 * asked for; a drop reports a loss of a ready connection and the back-off
 * starts over; a connection CONNECTING for more than
 * REDIS_CONN_TIMEOUT_MS is dropped by the tick ("timed out"), not at the
 * limit itself. A server that closes the connection: one loss. Stale
 * callbacks of a freed connection report nothing; every handle is closed
 * in the end. Each loop run is bounded by a timer.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <hiredis/async.h>
#include <uv.h>

#include "redis_conn.h"

struct owner {
	struct redis_conn c;
	uv_loop_t *loop;
	int attached;
	int lost;
	bool ready_on_attach;
	bool was_ready;
	bool was_failing;
	uint64_t wait; /* retry_at - now, at the loss */
	char why[128];
};

static bool timed_out;

static void
on_attached(struct redis_conn *c)
{
	struct owner *o = c->owner;

	o->attached++;
	if (o->ready_on_attach)
		redis_conn_ready(c);
}

static void
on_lost(struct redis_conn *c, const char *why, bool was_ready, bool was_failing)
{
	struct owner *o = c->owner;

	assert_null(c->ac);
	assert_int_equal(c->state, REDIS_CONN_DOWN);
	assert_true(c->failing);
	o->lost++;
	o->was_ready = was_ready;
	o->was_failing = was_failing;
	o->wait = c->retry_at - uv_now(c->loop);
	snprintf(o->why, sizeof(o->why), "%s", why);
}

static void
on_bound(uv_timer_t *t)
{
	timed_out = true;
	uv_stop(t->loop);
}

/* Run loop until it has nothing left to do (at most 5 s). */
static void
run(uv_loop_t *loop)
{
	uv_timer_t bound;

	uv_timer_init(loop, &bound);
	uv_timer_start(&bound, on_bound, 5000, 0);
	uv_unref((uv_handle_t *)&bound);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&bound, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	assert_false(timed_out);
}

/*
 * A TCP server on 127.0.0.1 (port 0) on the loop; addr gets its address.
 * SRV_CLOSED: closed at once (a port nobody listens on); SRV_SILENT:
 * connections are never answered; SRV_CLOSING: the first connection is
 * accepted and closed, and so is the server.
 */
enum srv_kind { SRV_CLOSED, SRV_SILENT, SRV_CLOSING };

struct srv {
	uv_tcp_t tcp;
	uv_tcp_t client;
	enum srv_kind kind;
	char addr[32];
};

static void
srv_on_connection(uv_stream_t *s, int status)
{
	struct srv *sv = s->data;

	if (status != 0 || sv->kind != SRV_CLOSING ||
	    uv_is_closing((uv_handle_t *)s))
		return;
	assert_int_equal(uv_tcp_init(s->loop, &sv->client), 0);
	assert_int_equal(uv_accept(s, (uv_stream_t *)&sv->client), 0);
	uv_close((uv_handle_t *)&sv->client, NULL);
	uv_close((uv_handle_t *)s, NULL);
}

static void
srv_open(struct srv *sv, uv_loop_t *loop, enum srv_kind kind)
{
	struct sockaddr_in sin;
	int len = sizeof(sin);

	memset(sv, 0, sizeof(*sv));
	sv->kind = kind;
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_init(loop, &sv->tcp), 0);
	sv->tcp.data = sv;
	assert_int_equal(uv_tcp_bind(&sv->tcp, (struct sockaddr *)&sin, 0), 0);
	assert_int_equal(
	    uv_tcp_getsockname(&sv->tcp, (struct sockaddr *)&sin, &len), 0);
	snprintf(
	    sv->addr, sizeof(sv->addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	if (kind == SRV_CLOSED)
		uv_close((uv_handle_t *)&sv->tcp, NULL);
	else
		assert_int_equal(
		    uv_listen((uv_stream_t *)&sv->tcp, 8, srv_on_connection),
		    0);
}

/* A loop, a server of kind and an owner o connecting to it, DOWN. */
static void
setup(struct owner *o, uv_loop_t *loop, struct srv *sv, enum srv_kind kind,
    bool keepalive)
{
	assert_int_equal(uv_loop_init(loop), 0);
	srv_open(sv, loop, kind);
	memset(o, 0, sizeof(*o));
	o->loop = loop;
	timed_out = false;
	assert_int_equal(redis_conn_init(&o->c, loop, sv->addr, keepalive,
	                     on_attached, on_lost, o),
	    0);
	assert_int_equal(o->c.state, REDIS_CONN_DOWN);
	assert_null(o->c.ac);
}

/* Drop o's connection, close the server, and check no handle is left. */
static void
finish(struct owner *o, uv_loop_t *loop, struct srv *sv)
{
	redis_conn_drop(&o->c, "closed");
	redis_conn_release(&o->c);
	if (!uv_is_closing((uv_handle_t *)&sv->tcp))
		uv_close((uv_handle_t *)&sv->tcp, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

/* Start an attempt through the tick; wait for its loss if not at once. */
static void
attempt(struct owner *o, uv_loop_t *loop)
{
	int lost = o->lost;

	o->c.retry_at = uv_now(loop);
	redis_conn_tick(&o->c, true);
	if (o->lost == lost)
		run(loop);
	assert_int_equal(o->lost, lost + 1);
}

static void
test_redis_conn__refused_backs_off(void **state)
{
	static const uint64_t waits[] = {200, 400, 800, 1600, 3200, 5000, 5000};
	uv_loop_t loop;
	struct owner o;
	struct srv sv;
	size_t i;

	(void)state;
	setup(&o, &loop, &sv, SRV_CLOSED, true);
	redis_conn_connect(&o.c);
	if (o.lost == 0)
		run(&loop);
	assert_int_equal(o.lost, 1);
	assert_false(o.was_ready);
	assert_false(o.was_failing);
	assert_true(o.why[0] != '\0');
	assert_int_equal(o.wait, REDIS_CONN_BACKOFF_MIN_MS);

	/* Not due, or not allowed: no attempt. */
	redis_conn_tick(&o.c, true);
	assert_int_equal(o.c.state, REDIS_CONN_DOWN);
	o.c.retry_at = uv_now(&loop);
	redis_conn_tick(&o.c, false);
	assert_int_equal(o.c.state, REDIS_CONN_DOWN);
	assert_null(o.c.ac);

	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		attempt(&o, &loop);
		assert_false(o.was_ready);
		assert_true(o.was_failing);
		assert_int_equal(o.wait, waits[i]);
	}
	finish(&o, &loop, &sv);
	assert_int_equal(o.lost, 1 + (int)(sizeof(waits) / sizeof(waits[0])));
}

static int
keepalive_of(const struct owner *o)
{
	int on = -1;
	socklen_t len = sizeof(on);

	assert_int_equal(
	    getsockopt(o->c.ac->c.fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
	return on;
}

static void
test_redis_conn__ready_drop_keepalive(void **state)
{
	uv_loop_t loop;
	struct owner o, plain;
	struct srv sv;

	(void)state;
	setup(&o, &loop, &sv, SRV_SILENT, true);
	o.ready_on_attach = true;
	redis_conn_connect(&o.c);
	assert_int_equal(o.attached, 1);
	assert_int_equal(o.lost, 0);
	assert_non_null(o.c.ac);
	assert_ptr_equal(o.c.ac->data, &o.c);
	assert_int_equal(o.c.state, REDIS_CONN_READY);
	assert_false(o.c.failing);
	assert_int_not_equal(keepalive_of(&o), 0);
	/* A tick leaves a ready connection to its owner. */
	o.c.since = uv_now(&loop) - 10 * REDIS_CONN_TIMEOUT_MS;
	redis_conn_tick(&o.c, true);
	assert_int_equal(o.c.state, REDIS_CONN_READY);

	redis_conn_drop(&o.c, "gone");
	assert_int_equal(o.lost, 1);
	assert_true(o.was_ready);
	assert_false(o.was_failing);
	assert_string_equal(o.why, "gone");
	assert_int_equal(o.wait, REDIS_CONN_BACKOFF_MIN_MS);
	redis_conn_drop(&o.c, "again");
	assert_int_equal(o.lost, 1);

	/* The next attempt, ready again: the back-off starts over. */
	o.c.retry_at = uv_now(&loop);
	redis_conn_tick(&o.c, true);
	assert_int_equal(o.attached, 2);
	assert_int_equal(o.c.state, REDIS_CONN_READY);
	redis_conn_drop(&o.c, "gone");
	assert_int_equal(o.lost, 2);
	assert_true(o.was_ready);
	assert_false(o.was_failing);
	assert_int_equal(o.wait, REDIS_CONN_BACKOFF_MIN_MS);

	/* Without keep-alive. */
	memset(&plain, 0, sizeof(plain));
	plain.loop = &loop;
	assert_int_equal(redis_conn_init(&plain.c, &loop, sv.addr, false,
	                     on_attached, on_lost, &plain),
	    0);
	redis_conn_connect(&plain.c);
	assert_int_equal(plain.c.state, REDIS_CONN_CONNECTING);
	assert_int_equal(keepalive_of(&plain), 0);
	redis_conn_drop(&plain.c, "closed");
	redis_conn_release(&plain.c);
	finish(&o, &loop, &sv);
	assert_int_equal(o.lost, 2);
}

static void
test_redis_conn__connect_times_out(void **state)
{
	uv_loop_t loop;
	struct owner o;
	struct srv sv;

	(void)state;
	setup(&o, &loop, &sv, SRV_SILENT, false);
	redis_conn_connect(&o.c);
	assert_int_equal(o.attached, 1);
	assert_int_equal(o.c.state, REDIS_CONN_CONNECTING);
	o.c.since = uv_now(&loop) - REDIS_CONN_TIMEOUT_MS;
	redis_conn_tick(&o.c, true);
	assert_int_equal(o.c.state, REDIS_CONN_CONNECTING);
	o.c.since--;
	redis_conn_tick(&o.c, true);
	assert_int_equal(o.lost, 1);
	assert_string_equal(o.why, "timed out");
	assert_false(o.was_ready);
	assert_false(o.was_failing);
	assert_int_equal(o.c.state, REDIS_CONN_DOWN);
	finish(&o, &loop, &sv);
	assert_int_equal(o.lost, 1);
}

static void
test_redis_conn__closed_by_server(void **state)
{
	uv_loop_t loop;
	struct owner o;
	struct srv sv;

	(void)state;
	setup(&o, &loop, &sv, SRV_CLOSING, false);
	redis_conn_connect(&o.c);
	run(&loop);
	assert_int_equal(o.lost, 1);
	assert_false(o.was_ready);
	assert_true(o.why[0] != '\0');
	finish(&o, &loop, &sv);
	assert_int_equal(o.lost, 1);
}

static void
test_redis_conn__bad_address(void **state)
{
	struct redis_conn c;

	(void)state;
	assert_int_equal(redis_conn_init(&c, NULL, "no address", true,
	                     on_attached, on_lost, NULL),
	    -1);
	assert_int_equal(redis_conn_init(&c, NULL, "unix:/tmp/x.sock", true,
	                     on_attached, on_lost, NULL),
	    0);
	assert_non_null(c.path);
	assert_null(c.host);
	redis_conn_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redis_conn__refused_backs_off),
	    cmocka_unit_test(test_redis_conn__ready_drop_keepalive),
	    cmocka_unit_test(test_redis_conn__connect_times_out),
	    cmocka_unit_test(test_redis_conn__closed_by_server),
	    cmocka_unit_test(test_redis_conn__bad_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
