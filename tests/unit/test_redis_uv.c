/*
 * test_redis_uv.c: the hiredis-libuv adapter reports connection errors.
 *
 * With hiredis's bundled adapters/libuv.h a refused connection (POLLERR
 * while connecting) never reaches hiredis: no callback runs and the
 * context leaks. Here: a refused connection calls the connect callback
 * with REDIS_ERR; a connection the server accepts and then closes runs
 * the pending command's callback with NULL and the disconnect callback;
 * and in both cases every handle is closed (the loop ends by itself).
 * Each loop is bounded by a timer.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <hiredis/async.h>
#include <uv.h>

#include "redis_uv.h"

struct seen {
	int connects;
	int connect_status;
	int disconnects;
	int replies;
	int null_replies;
	int accepted;
	int lfd;
	uv_poll_t listen;
	uv_timer_t bound;
	bool timed_out;
};

static struct seen seen;

static void
on_connect(const redisAsyncContext *ac, int status)
{
	(void)ac;
	seen.connects++;
	seen.connect_status = status;
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	(void)ac;
	(void)status;
	seen.disconnects++;
}

static void
on_reply(redisAsyncContext *ac, void *r, void *priv)
{
	(void)ac;
	(void)priv;
	seen.replies++;
	if (r == NULL)
		seen.null_replies++;
}

static void
on_bound(uv_timer_t *t)
{
	seen.timed_out = true;
	uv_stop(t->loop);
}

/* A listening socket on 127.0.0.1 (or, closed, a port nobody uses). */
static int
listener(int *port, bool keep)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	if (!keep) {
		close(fd);
		return -1;
	}
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* Run loop until it has nothing left to do (or 5 s passed). */
static void
run(uv_loop_t *loop)
{
	uv_timer_init(loop, &seen.bound);
	uv_timer_start(&seen.bound, on_bound, 5000, 0);
	uv_unref((uv_handle_t *)&seen.bound);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&seen.bound, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
}

static void
test_redis_uv__refused_connection_is_reported(void **state)
{
	uv_loop_t loop;
	redisAsyncContext *ac;
	int port;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(uv_loop_init(&loop), 0);
	listener(&port, false);
	ac = redisAsyncConnect("127.0.0.1", port);
	assert_non_null(ac);
	if (ac->err) {
		/* Refused at once: hiredis reports it without the loop. */
		redisAsyncFree(ac);
		skip();
	}
	assert_int_equal(redis_uv_attach(ac, &loop), 0);
	assert_int_equal(redis_uv_attach(ac, &loop), -1);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	assert_int_equal(redisAsyncCommand(ac, on_reply, NULL, "PING"), 0);
	run(&loop);
	assert_false(seen.timed_out);
	assert_int_equal(seen.connects, 1);
	assert_int_equal(seen.connect_status, REDIS_ERR);
	assert_int_equal(seen.replies, 1);
	assert_int_equal(seen.null_replies, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
accept_and_close(uv_poll_t *h, int status, int events)
{
	int fd;

	(void)status;
	(void)events;
	fd = accept(seen.lfd, NULL, NULL);
	if (fd >= 0) {
		seen.accepted++;
		close(fd);
	}
	uv_close((uv_handle_t *)h, NULL);
}

static void
test_redis_uv__closed_connection_is_reported(void **state)
{
	uv_loop_t loop;
	redisAsyncContext *ac;
	int port;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(uv_loop_init(&loop), 0);
	seen.lfd = listener(&port, true);
	assert_int_equal(uv_poll_init(&loop, &seen.listen, seen.lfd), 0);
	assert_int_equal(
	    uv_poll_start(&seen.listen, UV_READABLE, accept_and_close), 0);
	ac = redisAsyncConnect("127.0.0.1", port);
	assert_non_null(ac);
	assert_int_equal(ac->err, 0);
	assert_int_equal(redis_uv_attach(ac, &loop), 0);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	assert_int_equal(redisAsyncCommand(ac, on_reply, NULL, "PING"), 0);
	run(&loop);
	close(seen.lfd);
	assert_false(seen.timed_out);
	assert_int_equal(seen.accepted, 1);
	assert_int_equal(seen.connects, 1);
	assert_int_equal(seen.connect_status, REDIS_OK);
	assert_int_equal(seen.null_replies, 1);
	assert_int_equal(seen.disconnects, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redis_uv__refused_connection_is_reported),
	    cmocka_unit_test(test_redis_uv__closed_connection_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
