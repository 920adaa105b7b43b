/*
 * test_server.c: the transport on real sockets (127.0.0.1), with a test
 * handler instead of the API (addresses: test_addr.c).
 *
 * Each case starts a server with its own limits on a loop running in a
 * second thread, talks to it with blocking sockets (every read bounded by
 * a timeout) and stops it through a uv_async. The handler answers by path:
 *   /echo   200 "<method> <target> <body length> <body>"
 *   /async  the same, 100 ms later from a timer (an asynchronous handler)
 *   /slow   the same, 600 ms later
 *   /user   200 with log_user set
 *   /peer   200 with the client address as the server saw it
 *   /block  the same, once the test lets it go (holds the loop meanwhile)
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cmocka.h>
#include <uv.h>

#include "buf.h"
#include "http.h"
#include "server.h"

struct pending {
	uv_timer_t timer;
	struct http_request *req;
};

struct fixture {
	struct server_limits limits;
	const char *address;
	uv_loop_t loop;
	uv_async_t stop;
	struct server *srv;
	pthread_t thread;
	int port;
	int ready; /* 1 listening, -1 failed */
	int done;  /* the shutdown's done callback ran */
	int async_pending;
	int async_fired; /* asynchronous replies made (under mu) */
	int blocked;     /* /block holds the loop (under mu) */
	int unblock;     /* the test lets /block go (under mu) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void
echo(struct http_request *req)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%.*s %.*s %zu ", (int)req->method_name.len,
	    req->method_name.p, (int)req->target.len, req->target.p,
	    req->body.len);
	buf_add(&b, req->body.p, req->body.len);
	http_reply_ex(req, 200, "text/plain", NULL, b.data, b.len);
	buf_release(&b);
}

static void
pending_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
pending_fire(uv_timer_t *t)
{
	struct pending *p = t->data;
	struct fixture *f = t->loop->data;

	echo(p->req);
	f->async_pending--;
	pthread_mutex_lock(&f->mu);
	f->async_fired++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	t->data = p;
	uv_close((uv_handle_t *)t, pending_closed);
}

static void
handler(struct http_request *req, void *ctx)
{
	struct fixture *f = ctx;
	struct pending *p;

	if (str_has_prefix(req->path, "/async")) {
		p = calloc(1, sizeof(*p));
		p->req = req;
		/* The request's own memory must last until the reply. */
		memcpy(http_alloc(req, 64), "x", 2);
		uv_timer_init(&f->loop, &p->timer);
		p->timer.data = p;
		f->async_pending++;
		uv_timer_start(&p->timer, pending_fire, 100, 0);
		return;
	}
	if (str_has_prefix(req->path, "/slow")) {
		p = calloc(1, sizeof(*p));
		p->req = req;
		uv_timer_init(&f->loop, &p->timer);
		p->timer.data = p;
		f->async_pending++;
		uv_timer_start(&p->timer, pending_fire, 600, 0);
		return;
	}
	if (str_eqs(req->path, "/block")) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		pthread_mutex_lock(&f->mu);
		f->blocked = 1;
		pthread_cond_broadcast(&f->cv);
		while (!f->unblock &&
		       pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
			;
		pthread_mutex_unlock(&f->mu);
		echo(req);
		return;
	}
	if (str_eqs(req->path, "/peer")) {
		http_reply(req, 200, req->peer, strlen(req->peer));
		return;
	}
	if (str_eqs(req->path, "/user")) {
		req->log_user = STR_LIT("bob \"x\"");
		http_reply(req, 200, "{}", 2);
		return;
	}
	echo(req);
}

static void
on_done(void *arg)
{
	struct fixture *f = arg;

	f->done = 1;
	uv_close((uv_handle_t *)&f->stop, NULL);
}

static void
on_stop(uv_async_t *a)
{
	struct fixture *f = a->data;

	server_shutdown(f->srv, on_done, f);
}

static void *
loop_main(void *arg)
{
	struct fixture *f = arg;
	int rc;

	uv_loop_init(&f->loop);
	f->loop.data = f;
	uv_async_init(&f->loop, &f->stop, on_stop);
	f->stop.data = f;
	f->srv = server_new(&f->loop, &f->limits, handler, f);
	rc = server_listen(f->srv, f->address);
	pthread_mutex_lock(&f->mu);
	f->port = rc == 0 ? server_port(f->srv) : 0;
	f->ready = rc == 0 ? 1 : -1;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	if (rc != 0) {
		uv_close((uv_handle_t *)&f->stop, NULL);
		uv_run(&f->loop, UV_RUN_DEFAULT);
		server_free(f->srv);
		uv_loop_close(&f->loop);
		return NULL;
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	server_free(f->srv);
	uv_loop_close(&f->loop);
	return NULL;
}

static struct fixture *
start_at(const char *address, void (*tune)(struct server_limits *))
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->address = address;
	server_limits_default(&f->limits);
	if (tune != NULL)
		tune(&f->limits);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	pthread_create(&f->thread, NULL, loop_main, f);
	pthread_mutex_lock(&f->mu);
	while (f->ready == 0)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(f->ready, 1);
	return f;
}

static struct fixture *
start(void (*tune)(struct server_limits *))
{
	return start_at("127.0.0.1:0", tune);
}

/* Wait for the loop's thread to end; the shutdown must have completed. */
static void
join(struct fixture *f)
{
	pthread_join(f->thread, NULL);
	assert_int_equal(f->done, 1);
}

/* Free a fixture whose thread has ended. */
static void
release(struct fixture *f)
{
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

static void
stop(struct fixture *f)
{
	uv_async_send(&f->stop);
	join(f);
	release(f);
}

/*
 * Wait until n asynchronous replies have been made, at most ms. Returns
 * how many have been.
 */
static int
wait_fired(struct fixture *f, int n, int ms)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	while (f->async_fired < n &&
	       pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
		;
	got = f->async_fired;
	pthread_mutex_unlock(&f->mu);
	return got;
}

/* A connected socket whose reads give up after ms. */
static int
dial(const struct fixture *f, int ms)
{
	struct sockaddr_in sin;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
send_all(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, s, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		s += n;
		len -= (size_t)n;
	}
}

static void
sends(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/*
 * Read into out until the peer closes (returns 1), the read times out
 * (returns 0) or want bytes have arrived (returns 0).
 */
static int
read_until(int fd, struct buf *out, size_t want)
{
	char tmp[4096];
	ssize_t n;

	while (want == 0 || out->len < want) {
		n = recv(fd, tmp, sizeof(tmp), 0);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == ECONNRESET ? 1 : 0;
		buf_add(out, tmp, (size_t)n);
	}
	return 0;
}

/* Everything until close or timeout. */
static int
read_all(int fd, struct buf *out)
{
	return read_until(fd, out, 0);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

static const char json_413[] =
    "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
    "Content-Length: 48\r\nConnection: close\r\n\r\n"
    "{\"code\":413,\"message\":\"Request body too large.\"}";

static void
fast_timeouts(struct server_limits *l)
{
	l->request_timeout_ms = 300;
	l->idle_timeout_ms = 300;
}

static void
small_limits(struct server_limits *l)
{
	l->max_body_bytes = 100;
	l->max_header_bytes = 512;
	l->max_connections_per_ip = 2;
}

static void
test_server__keep_alive_and_close(void **state)
{
	struct fixture *f = start(NULL);
	struct buf got = BUF_INIT;
	int fd = dial(f, 2000);

	(void)state;
	sends(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_until(fd, &got, 101), 0);
	assert_string_equal(got.data,
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 12\r\nConnection: keep-alive\r\n\r\n"
	    "GET /echo 0 ");
	buf_reset(&got);
	sends(fd, "POST /echo?a=b HTTP/1.1\r\nContent-Length: 3\r\n"
	          "Connection: close\r\n\r\nabc");
	assert_int_equal(read_all(fd, &got), 1);
	assert_string_equal(got.data,
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 20\r\nConnection: close\r\n\r\n"
	    "POST /echo?a=b 3 abc");
	close(fd);
	/* HTTP/1.0: closes unless asked; HEAD gets no body. */
	fd = dial(f, 2000);
	buf_reset(&got);
	sends(fd, "HEAD /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	          "GET /echo HTTP/1.0\r\n\r\n");
	assert_int_equal(read_all(fd, &got), 1);
	assert_string_equal(got.data,
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 13\r\nConnection: keep-alive\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 12\r\nConnection: close\r\n\r\nGET /echo 0 ");
	close(fd);
	buf_release(&got);
	stop(f);
}

static void
test_server__pipelined_in_order(void **state)
{
	struct fixture *f = start(NULL);
	struct buf in = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
	int fd, i;
	size_t k;

	(void)state;
	/* Mixed synchronous and asynchronous answers keep their order. */
	for (i = 0; i < 6; i++) {
		buf_addf(&in, "GET /%s/%d HTTP/1.1\r\n\r\n",
		    i % 3 == 1 ? "async" : "echo", i);
		buf_addf(
		    &want, "GET /%s/%d 0 ", i % 3 == 1 ? "async" : "echo", i);
	}
	buf_adds(&in, "GET /echo/last HTTP/1.1\r\nConnection: close\r\n\r\n");
	buf_adds(&want, "GET /echo/last 0 ");
	fd = dial(f, 3000);
	sends(fd, in.data);
	assert_int_equal(read_all(fd, &got), 1);
	close(fd);
	{
		struct buf bodies = BUF_INIT;
		const char *p = got.data, *e;

		while ((e = strstr(p, "\r\n\r\n")) != NULL) {
			const char *cl = strstr(p, "Content-Length: ");
			size_t n = (size_t)strtoul(cl + 16, NULL, 10);

			buf_add(&bodies, e + 4, n);
			p = e + 4 + n;
		}
		assert_string_equal(bodies.data, want.data);
		buf_release(&bodies);
	}
	/* The same, one byte at a time. */
	fd = dial(f, 3000);
	for (k = 0; k < in.len; k++)
		send_all(fd, in.data + k, 1);
	buf_reset(&got);
	assert_int_equal(read_all(fd, &got), 1);
	assert_int_equal(count(got.data, "HTTP/1.1 200 OK"), 7);
	close(fd);
	buf_release(&in);
	buf_release(&got);
	buf_release(&want);
	stop(f);
}

static void
test_server__many_pipelined(void **state)
{
	struct fixture *f = start(NULL);
	struct buf in = BUF_INIT, got = BUF_INIT;
	int fd, i;

	(void)state;
	for (i = 0; i < 2000; i++)
		buf_adds(&in,
		    "GET /echo/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxx HTTP/1.1\r\n\r\n");
	buf_adds(&in, "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
	fd = dial(f, 5000);
	send_all(fd, in.data, in.len);
	assert_int_equal(read_all(fd, &got), 1);
	assert_int_equal(count(got.data, "HTTP/1.1 200 OK"), 2001);
	close(fd);
	buf_release(&in);
	buf_release(&got);
	stop(f);
}

/*
 * Connections that all wait in the backlog at once, their requests sent:
 * the turn that accepts them reads the first FIRST_READS_PER_TURN (32) at
 * once and leaves the rest to epoll. Every one is answered either way, as
 * are the one whose request comes later and the one whose request comes
 * in two pieces.
 */
static void
test_server__accept_burst(void **state)
{
	enum { N = 80 };
	struct fixture *f = start(NULL);
	struct buf got = BUF_INIT, want = BUF_INIT;
	int blocker, fds[N], late, split, i;

	(void)state;
	blocker = dial(f, 5000);
	sends(blocker, "GET /block HTTP/1.1\r\nConnection: close\r\n\r\n");
	pthread_mutex_lock(&f->mu);
	while (!f->blocked)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
	for (i = 0; i < N; i++) {
		char req[80];

		fds[i] = dial(f, 5000);
		snprintf(req, sizeof(req),
		    "GET /echo/%d HTTP/1.1\r\nConnection: close\r\n\r\n", i);
		sends(fds[i], req);
	}
	late = dial(f, 5000);
	split = dial(f, 5000);
	sends(split, "GET /echo/split HT");
	pthread_mutex_lock(&f->mu);
	f->unblock = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(read_all(blocker, &got), 1);
	assert_non_null(strstr(got.data, "GET /block 0 "));
	close(blocker);
	for (i = 0; i < N; i++) {
		buf_reset(&got);
		buf_reset(&want);
		buf_addf(&want, "GET /echo/%d 0 ", i);
		assert_int_equal(read_all(fds[i], &got), 1);
		assert_true(got.len > want.len);
		assert_string_equal(got.data + got.len - want.len, want.data);
		close(fds[i]);
	}
	usleep(50 * 1000);
	sends(late, "GET /echo/late HTTP/1.1\r\nConnection: close\r\n\r\n");
	sends(split, "TP/1.1\r\nConnection: close\r\n\r\n");
	buf_reset(&got);
	assert_int_equal(read_all(late, &got), 1);
	assert_non_null(strstr(got.data, "\r\n\r\nGET /echo/late 0 "));
	buf_reset(&got);
	assert_int_equal(read_all(split, &got), 1);
	assert_non_null(strstr(got.data, "\r\n\r\nGET /echo/split 0 "));
	close(late);
	close(split);
	buf_release(&got);
	buf_release(&want);
	stop(f);
}

static void
test_server__limits(void **state)
{
	struct fixture *f = start(small_limits);
	struct buf got = BUF_INIT, big = BUF_INIT;
	int fd, i;

	(void)state;
	/* Body over the limit, announced: 413 at once, JSON, close. */
	fd = dial(f, 2000);
	sends(fd, "PUT /echo HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
	assert_int_equal(read_all(fd, &got), 1);
	assert_string_equal(got.data, json_413);
	close(fd);
	/* Sent anyway: the answer still arrives before the close. */
	fd = dial(f, 2000);
	buf_adds(&big, "PUT /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	for (i = 0; i < 10000; i++)
		buf_adds(&big, "0123456789");
	send(fd, big.data, big.len, MSG_NOSIGNAL);
	buf_reset(&got);
	read_all(fd, &got);
	assert_string_equal(got.data, json_413);
	close(fd);
	/* Chunked over the limit. */
	fd = dial(f, 2000);
	sends(fd, "PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	          "50\r\n");
	for (i = 0; i < 8; i++)
		sends(fd, "0123456789");
	sends(fd, "\r\n50\r\n");
	buf_reset(&got);
	assert_int_equal(read_all(fd, &got), 1);
	assert_string_equal(got.data, json_413);
	close(fd);
	/* Headers over the limit. */
	fd = dial(f, 2000);
	buf_reset(&big);
	buf_adds(&big, "GET /echo HTTP/1.1\r\nX: ");
	for (i = 0; i < 60; i++)
		buf_adds(&big, "0123456789");
	buf_adds(&big, "\r\n\r\n");
	sends(fd, big.data);
	buf_reset(&got);
	assert_int_equal(read_all(fd, &got), 1);
	assert_non_null(strstr(got.data, "HTTP/1.1 431 Request Header Fields "
	                                 "Too Large\r\n"));
	assert_non_null(strstr(got.data, "\r\n\r\n{\"code\":431,\"message\":"
	                                 "\"Request header fields too "
	                                 "large.\"}"));
	close(fd);
	/* Binary garbage. */
	fd = dial(f, 2000);
	send_all(fd, "\x16\x03\x01\x00\xff\x01\x00\x00\xfb\x03\x03\x00", 12);
	buf_reset(&got);
	assert_int_equal(read_all(fd, &got), 1);
	assert_non_null(strstr(got.data, "HTTP/1.1 400 Bad Request\r\n"
	                                 "Content-Type: application/json\r\n"));
	assert_non_null(strstr(got.data, "{\"code\":400,\"message\":"
	                                 "\"Malformed HTTP request.\"}"));
	close(fd);
	buf_release(&got);
	buf_release(&big);
	stop(f);
}

static void
test_server__per_ip_limit(void **state)
{
	struct fixture *f = start(small_limits);
	struct buf got = BUF_INIT;
	int a, b, c;

	(void)state;
	a = dial(f, 2000);
	b = dial(f, 2000);
	sends(a, "GET /echo HTTP/1.1\r\n\r\n");
	assert_int_equal(read_until(a, &got, 10), 0);
	sends(b, "GET /echo HTTP/1.1\r\n\r\n");
	buf_reset(&got);
	assert_int_equal(read_until(b, &got, 10), 0);
	c = dial(f, 2000);
	buf_reset(&got);
	assert_int_equal(read_all(c, &got), 1);
	assert_non_null(
	    strstr(got.data, "HTTP/1.1 503 Service Unavailable\r\n"));
	assert_non_null(strstr(
	    got.data, "{\"code\":503,\"message\":\"Too many connections.\"}"));
	close(c);
	/* Once one goes, a new one is served. */
	close(a);
	usleep(100 * 1000);
	c = dial(f, 2000);
	sends(c, "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
	buf_reset(&got);
	assert_int_equal(read_all(c, &got), 1);
	assert_non_null(strstr(got.data, "HTTP/1.1 200 OK\r\n"));
	close(b);
	close(c);
	buf_release(&got);
	stop(f);
}

static void
test_server__expect_continue(void **state)
{
	struct fixture *f = start(small_limits);
	struct buf got = BUF_INIT;
	int fd;

	(void)state;
	fd = dial(f, 2000);
	sends(fd, "PUT /echo HTTP/1.1\r\nContent-Length: 5\r\n"
	          "Expect: 100-continue\r\n\r\n");
	assert_int_equal(read_until(fd, &got, 25), 0);
	assert_string_equal(got.data, "HTTP/1.1 100 Continue\r\n\r\n");
	buf_reset(&got);
	sends(fd, "hello");
	assert_int_equal(read_until(fd, &got, 17), 0);
	assert_non_null(strstr(got.data, "HTTP/1.1 200 OK\r\n"));
	close(fd);
	/* Too large: 413 without a 100. */
	fd = dial(f, 2000);
	sends(fd, "PUT /echo HTTP/1.1\r\nContent-Length: 500\r\n"
	          "Expect: 100-continue\r\n\r\n");
	buf_reset(&got);
	assert_int_equal(read_all(fd, &got), 1);
	assert_string_equal(got.data, json_413);
	close(fd);
	buf_release(&got);
	stop(f);
}

static void
test_server__slow_client_cut_off(void **state)
{
	struct fixture *f = start(fast_timeouts);
	struct buf got = BUF_INIT;
	const char *req = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
	struct timespec t0, t1;
	int slow, fast, i;
	double ms;

	(void)state;
	slow = dial(f, 3000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A byte every 50 ms: 32 bytes take 1.6 s, the deadline is 300 ms. */
	for (i = 0; i < 8; i++) {
		send(slow, req + i, 1, MSG_NOSIGNAL);
		usleep(50 * 1000);
		/* Meanwhile another client is served. */
		if (i == 2) {
			fast = dial(f, 2000);
			sends(fast, "GET /echo HTTP/1.1\r\nConnection: "
			            "close\r\n\r\n");
			assert_int_equal(read_all(fast, &got), 1);
			assert_non_null(strstr(got.data, "200 OK"));
			close(fast);
		}
	}
	buf_reset(&got);
	assert_int_equal(read_all(slow, &got), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 1000);
	assert_non_null(strstr(got.data, "HTTP/1.1 408 Request Timeout\r\n"));
	assert_non_null(strstr(got.data, "{\"code\":408,\"message\":"
	                                 "\"Request timeout.\"}"));
	close(slow);
	/* Idle keep-alive connections are closed silently. */
	slow = dial(f, 3000);
	sends(slow, "GET /echo HTTP/1.1\r\n\r\n");
	buf_reset(&got);
	assert_int_equal(read_all(slow, &got), 1);
	assert_int_equal(count(got.data, "HTTP/1.1"), 1);
	close(slow);
	buf_release(&got);
	stop(f);
}

static void
test_server__async_client_gone(void **state)
{
	struct fixture *f = start(NULL);
	struct buf got = BUF_INIT;
	int fd;

	(void)state;
	/*
	 * The client leaves while the handler works: the handler still
	 * answers (into the void; no crash, no leak: ASan) and the server
	 * goes on serving.
	 */
	fd = dial(f, 2000);
	sends(fd, "GET /async HTTP/1.1\r\n\r\n");
	usleep(20 * 1000);
	close(fd);
	assert_int_equal(wait_fired(f, 1, 3000), 1);
	fd = dial(f, 2000);
	sends(fd, "GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(read_all(fd, &got), 1);
	assert_non_null(strstr(got.data, "HTTP/1.1 200 OK\r\n"));
	close(fd);
	/*
	 * And during shutdown: the orphan is still answered, into the void,
	 * and the shutdown completes.
	 */
	fd = dial(f, 2000);
	sends(fd, "GET /async HTTP/1.1\r\n\r\n");
	usleep(20 * 1000);
	close(fd);
	uv_async_send(&f->stop);
	join(f);
	assert_int_equal(f->async_fired, 2);
	assert_int_equal(f->async_pending, 0);
	release(f);
	buf_release(&got);
}

static void
test_server__shutdown_in_flight(void **state)
{
	struct fixture *f = start(NULL);
	struct buf got = BUF_INIT;
	int busy, idle;

	(void)state;
	idle = dial(f, 2000);
	sends(idle, "GET /echo HTTP/1.1\r\n\r\n");
	assert_int_equal(read_until(idle, &got, 10), 0);
	busy = dial(f, 2000);
	sends(busy, "GET /async HTTP/1.1\r\n\r\n");
	usleep(20 * 1000);
	uv_async_send(&f->stop);
	/* The idle connection is closed, the busy one answered. */
	buf_reset(&got);
	assert_int_equal(read_all(idle, &got), 1);
	assert_int_equal(got.len, 0);
	buf_reset(&got);
	assert_int_equal(read_all(busy, &got), 1);
	assert_non_null(strstr(got.data, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(got.data, "Connection: close\r\n"));
	close(idle);
	close(busy);
	join(f);
	release(f);
	buf_release(&got);
}

/* GET /peer over family/address; returns the body. */
static void
peer_via(const struct fixture *f, int family, const char *addr, struct buf *out)
{
	struct sockaddr_storage ss;
	struct timeval tv = {2, 0};
	socklen_t len;
	const char *body;
	struct buf got = BUF_INIT;
	int fd = socket(family, SOCK_STREAM, 0);

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)f->port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)f->port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sends(fd, "GET /peer HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(read_all(fd, &got), 1);
	body = strstr(got.data, "\r\n\r\n");
	assert_non_null(body);
	buf_adds(out, body + 4);
	close(fd);
	buf_release(&got);
}

static bool
have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sin6;
	bool ok;

	if (fd < 0)
		return false;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

static void
test_server__addresses(void **state)
{
	struct fixture *f;
	struct buf got = BUF_INIT;

	(void)state;
	if (!have_ipv6()) {
		skip();
		return;
	}
	/* ":port" takes IPv4 and IPv6; v4-mapped peers show as IPv4. */
	f = start_at(":0", NULL);
	peer_via(f, AF_INET, "127.0.0.1", &got);
	assert_string_equal(got.data, "127.0.0.1");
	buf_reset(&got);
	peer_via(f, AF_INET6, "::1", &got);
	assert_string_equal(got.data, "::1");
	stop(f);
	f = start_at("[::1]:0", NULL);
	buf_reset(&got);
	peer_via(f, AF_INET6, "::1", &got);
	assert_string_equal(got.data, "::1");
	stop(f);
	buf_release(&got);
}

static void
short_shutdown(struct server_limits *l)
{
	l->shutdown_timeout_ms = 150;
}

static void
test_server__shutdown_timeout_orphan(void **state)
{
	struct fixture *f = start(short_shutdown);
	struct buf got = BUF_INIT;
	struct timespec t0, t1;
	int fd;
	double ms;

	(void)state;
	/* The handler answers after the shutdown gave up on it: the socket
	 * is closed at the timeout, the answer later goes nowhere. */
	fd = dial(f, 3000);
	sends(fd, "GET /slow HTTP/1.1\r\n\r\n");
	usleep(50 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uv_async_send(&f->stop);
	assert_int_equal(read_all(fd, &got), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_int_equal(got.len, 0);
	assert_true(ms > 100 && ms < 500);
	close(fd);
	/* The loop ends only after the late answer was dropped. */
	join(f);
	assert_int_equal(f->async_pending, 0);
	release(f);
	buf_release(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server__addresses),
	    cmocka_unit_test(test_server__keep_alive_and_close),
	    cmocka_unit_test(test_server__pipelined_in_order),
	    cmocka_unit_test(test_server__many_pipelined),
	    cmocka_unit_test(test_server__accept_burst),
	    cmocka_unit_test(test_server__limits),
	    cmocka_unit_test(test_server__per_ip_limit),
	    cmocka_unit_test(test_server__expect_continue),
	    cmocka_unit_test(test_server__slow_client_cut_off),
	    cmocka_unit_test(test_server__async_client_gone),
	    cmocka_unit_test(test_server__shutdown_in_flight),
	    cmocka_unit_test(test_server__shutdown_timeout_orphan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
