/*
 * bench/floor.c: the floor under kosyncd's figures, measured in the same run
 * (bench/bench --only floor).
 *
 *     bench/floor [--listen-address 127.0.0.1:PORT] [ignored options...]
 *
 * A "hello JSON" server on libuv, written the way kosyncd's transport is
 * (one loop thread, uv_try_write and then uv_write, TCP_NODELAY, keep-alive
 * unless the request says Connection: close) and doing nothing else: it
 * finds the end of each request's headers (and skips a Content-Length body),
 * and answers with a fixed JSON body of the size kosyncd gives for that
 * route (201 for POST .../users/create, 200 otherwise). No parser, no
 * authentication, no store, no log. What kosyncd spends above it on the
 * same requests is what kosyncd itself costs; what the floor spends is
 * libuv's and the kernel's share, which no server on this machine avoids.
 *
 * Prints "listening on 127.0.0.1:PORT" on stderr once it listens (as kosyncd
 * does); stops on SIGTERM or SIGINT. A benchmark tool, not part of kosyncd:
 * it is built by `make bench` only.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>

#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#define CONN_BUF 65536

struct conn {
	uv_tcp_t tcp;
	uv_write_t wreq;
	char in[CONN_BUF];
	size_t len;
	size_t skip;  /* body bytes still to drop */
	bool writing; /* a uv_write is under way */
	bool closing;
	bool close_after;
};

/* The answers, whole (status line, headers, body), made at startup. */
enum { A_PULL, A_AUTH, A_CREATE, A_PUSH, A_N };
static const struct {
	const char *status;
	const char *body;
} answers[A_N] = {
    [A_PULL] = {"200 OK",
        "{\"document\":\"0123456789abcdef0123456789abcdef\","
        "\"percentage\":0.5,\"progress\":\"/body/DocFragment[10]/p[5]/"
        "text().0\",\"device\":\"b\",\"device_id\":\"D\","
        "\"timestamp\":1765000000}"},
    [A_AUTH] = {"200 OK", "{\"authorized\":\"OK\"}"},
    [A_CREATE] = {"201 Created", "{\"username\":\"user\"}"},
    [A_PUSH] = {"200 OK", "{\"document\":\"0123456789abcdef0123456789abcdef\","
                          "\"timestamp\":1765000000}"},
};
static char answer_text[A_N][512];
static size_t answer_len[A_N];

static uv_loop_t *loop;
static uv_tcp_t listener;
static uv_signal_t sigterm, sigint;

static void
on_close(uv_handle_t *h)
{
	free(h->data);
}

static void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_close);
}

/* Does [p, end) hold name (lower case) at the start of a header line? */
static const char *
header_value(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name), i;
	const char *line;

	for (line = p; line < end; line++) {
		if (line[0] != '\n' || (size_t)(end - line - 1) < n)
			continue;
		for (i = 0; i < n; i++)
			if (tolower((unsigned char)line[1 + i]) != name[i])
				break;
		if (i == n)
			return line + 1 + n;
	}
	return NULL;
}

static void on_write(uv_write_t *w, int status);

/* Answer the request in c->in[0, hdr_len): returns 0, or -1 (closed). */
static int
answer(struct conn *c, size_t hdr_len)
{
	const char *req = c->in, *end = c->in + hdr_len, *v;
	char *out;
	size_t n;
	uv_buf_t b;
	int r, k;

	if (strncmp(req, "POST ", 5) == 0)
		k = A_CREATE;
	else if (strncmp(req, "PUT ", 4) == 0)
		k = A_PUSH;
	else if (memmem(req, hdr_len, "/users/auth ", 12) != NULL)
		k = A_AUTH;
	else
		k = A_PULL;
	out = answer_text[k];
	n = answer_len[k];
	v = header_value(req, end, "content-length:");
	c->skip = v != NULL ? strtoul(v, NULL, 10) : 0;
	v = header_value(req, end, "connection:");
	while (v != NULL && *v == ' ')
		v++;
	c->close_after = v != NULL && strncasecmp(v, "close", 5) == 0;
	b = uv_buf_init(out, (unsigned)n);
	r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (r == (int)n) {
		if (c->close_after)
			conn_close(c);
		return c->close_after ? -1 : 0;
	}
	if (r < 0 && r != UV_EAGAIN) {
		conn_close(c);
		return -1;
	}
	if (r > 0)
		b = uv_buf_init(out + r, (unsigned)(n - (size_t)r));
	c->writing = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		conn_close(c);
		return -1;
	}
	return -1;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

/* Answer every whole request in the buffer; keep a partial one. */
static void
serve(struct conn *c)
{
	const char *e;
	size_t hdr_len, drop;
	int r;

	for (;;) {
		if (c->skip > 0) {
			drop = c->skip < c->len ? c->skip : c->len;
			memmove(c->in, c->in + drop, c->len - drop);
			c->len -= drop;
			c->skip -= drop;
			if (c->skip > 0)
				return;
		}
		e = memmem(c->in, c->len, "\r\n\r\n", 4);
		if (e == NULL) {
			if (c->len == CONN_BUF)
				conn_close(c);
			return;
		}
		hdr_len = (size_t)(e - c->in) + 4;
		r = answer(c, hdr_len);
		memmove(c->in, c->in + hdr_len, c->len - hdr_len);
		c->len -= hdr_len;
		if (r < 0)
			return;
	}
}

static void
on_write(uv_write_t *w, int status)
{
	struct conn *c = w->data;

	c->writing = false;
	if (status != 0 || c->close_after) {
		conn_close(c);
		return;
	}
	serve(c);
	if (!c->closing && !c->writing)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct conn *c = h->data;

	(void)hint;
	*b = uv_buf_init(c->in + c->len, (unsigned)(CONN_BUF - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;

	(void)b;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	serve(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct conn *c;

	if (status != 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	uv_tcp_init(loop, &c->tcp);
	c->tcp.data = c;
	c->wreq.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	uv_close((uv_handle_t *)&listener, NULL);
	uv_signal_stop(&sigterm);
	uv_signal_stop(&sigint);
	(void)s;
	uv_stop(loop);
}

int
main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0";
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	char host[64], *colon;
	int i, len = sizeof(ss);

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--listen-address") == 0)
			listen = argv[i + 1];
	snprintf(host, sizeof(host), "%s", listen);
	colon = strrchr(host, ':');
	if (colon == NULL) {
		fprintf(stderr, "floor: --listen-address HOST:PORT\n");
		return 2;
	}
	*colon = '\0';
	for (i = 0; i < A_N; i++)
		answer_len[i] =
		    (size_t)snprintf(answer_text[i], sizeof(answer_text[i]),
		        "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
		        "Content-Length: %zu\r\n\r\n%s",
		        answers[i].status, strlen(answers[i].body),
		        answers[i].body);
	signal(SIGPIPE, SIG_IGN);
	loop = uv_default_loop();
	if (uv_ip4_addr(host, (int)strtol(colon + 1, NULL, 10), &sin) != 0 ||
	    uv_tcp_init(loop, &listener) != 0 ||
	    uv_tcp_bind(&listener, (struct sockaddr *)&sin, 0) != 0 ||
	    uv_listen((uv_stream_t *)&listener, 1024, on_connection) != 0) {
		fprintf(stderr, "floor: cannot listen on %s\n", listen);
		return 1;
	}
	uv_tcp_getsockname(&listener, (struct sockaddr *)&ss, &len);
	fprintf(stderr, "floor: listening on %s:%d\n", host,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}
