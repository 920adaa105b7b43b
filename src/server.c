/*
 * server.c: the listening socket and its connections, on one libuv loop.
 *
 * Each connection is a small state machine (enum conn_state, below)
 * driven by conn_step(), which runs after every event (bytes read, write
 * finished, reply given, timer): assemble and dispatch the buffered
 * requests one at a time, write what was answered, then decide whether to
 * read and which timer to arm.
 *
 * Invariants:
 *   - at most one request per connection is with the handler
 *     (CONN_HANDLER);
 *     while it is, nothing more is parsed and nothing is read, so its
 *     slices into the input buffer stay valid; a request whose body is
 *     streamed has its head copied by http.c, and while the handler reads
 *     that body (CONN_BODY) bytes are read and decoded into it, nothing
 *     else;
 *   - an answer whose body comes from a source (http_reply_source) is
 *     produced SOURCE_CHUNK bytes at a time as the writes complete; no
 *     next request is dispatched, and nothing more read, until it is all
 *     out; a source that waits (HTTP_SOURCE_WAIT) is asked again only
 *     once it wakes the connection (http_source_wake);
 *   - a streamed body the handler paused (HTTP_BODY_PAUSE) is neither
 *     read nor decoded until http_body_resume: what was read stays in
 *     c->in, at most one read's worth past the piece that paused;
 *   - the input buffer is compacted only between reads, never while a
 *     request is in flight; a partial request keeps its bytes contiguous;
 *   - answers go out in request order: they are appended to c->out and
 *     written with uv_try_write, falling back to one uv_write at a time;
 *     while that write is pending no further request is dispatched;
 *   - a connection whose socket was closed while its request was with the
 *     handler (CONN_ORPHAN) lives on until http_reply(), which frees it;
 *   - every connection has one timer: idle between requests, an absolute
 *     deadline from a request's first byte to its last, a write timeout,
 *     or the lingering close after the last answer.
 *
 * Not responsible for what a request means (the handler), nor for signals
 * (main.c calls server_shutdown).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <uv.h>

#include "accesslog.h"
#include "addr.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "server.h"
#include "xmalloc.h"

/* Bytes asked of each read; with buf.c's NUL this is one 4 KiB block. */
#define READ_CHUNK 4095
/* Keep reading (and dropping) after the last answer, to avoid a reset. */
#define LINGER_MS 2000
#define LINGER_SHUTDOWN_MS 100
#define LINGER_MAX_BYTES ((size_t)1024 * 1024)
/* Answers queued before dispatching stops until they are written. */
#define OUT_HIGH_WATER ((size_t)64 * 1024)
/* Bytes of an answer produced on demand queued at a time. */
#define SOURCE_CHUNK ((size_t)64 * 1024)
/* Buffers larger than this are freed, not kept, once a request is done. */
#define KEEP_BUF_BYTES ((size_t)16 * 1024)
#define IP_BUCKETS 1024
#define LISTEN_BACKLOG 511
/* Connections read (and maybe answered) in their accept's turn, per turn. */
#define FIRST_READS_PER_TURN 32

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Open connections from one client (proxy_addr_group: IPv6 per /64). */
struct ip_count {
	struct ip_count *next;
	unsigned char addr[16]; /* IPv4 as v4-mapped IPv6; IPv6 its /64 */
	unsigned n;
};

/*
 * Where a connection is in its life. conn_set_state() is the one place
 * that changes it, and conn_next[] below lists every legal transition.
 * Orthogonal to the state: whether a uv_write is pending (c->writing:
 * answers may go out while the next request arrives or is with the
 * handler), whether the client has closed its side (c->eof), and whether
 * the socket is being read (c->reading, derived in conn_step).
 */
enum conn_state {
	/*
	 * Waiting for the first byte of a request: a new connection, or a
	 * keep-alive one between requests. Timer: idle_timeout_ms.
	 */
	CONN_IDLE,
	/*
	 * A request's first byte has arrived and it is being assembled
	 * (headers, body). Timer: request_timeout_ms from that first byte,
	 * an absolute deadline (408 when it passes); while a write is
	 * pending, the idle timeout instead.
	 */
	CONN_REQUEST,
	/*
	 * The request is with the handler: nothing is parsed or read, so its
	 * slices into the input buffer stay valid. No timer.
	 */
	CONN_HANDLER,
	/*
	 * The handler reads the request's body as it arrives
	 * (http_body_read): bytes are read and decoded into its piece
	 * callback, then its end callback is called and the connection is
	 * back in CONN_HANDLER. Timer: idle_timeout_ms from the last bytes
	 * (a slow upload may take long, a stalled one may not).
	 */
	CONN_BODY,
	/*
	 * No more requests (the answer said close, a transport error was
	 * answered, or the server is shutting down): write what is queued,
	 * then linger. Timer: idle_timeout_ms (a client that does not read).
	 */
	CONN_CLOSING,
	/*
	 * FIN sent after the last answer; reading and dropping until the
	 * client closes too. Timer: LINGER_MS (LINGER_SHUTDOWN_MS when the
	 * server is shutting down) from the FIN.
	 */
	CONN_LINGERING,
	/*
	 * The socket was closed while the handler had the request: the
	 * connection lives on until http_reply(), which frees it.
	 */
	CONN_ORPHAN,
	/* The socket is closing or closed; freed once its handles are. */
	CONN_DEAD,
};

struct conn {
	struct http_request req; /* the request with the handler */
	union {
		uv_tcp_t tcp;   /* a TCP listener's connection */
		uv_pipe_t pipe; /* a unix socket's (server_listen_unix) */
	};
	uv_timer_t timer;
	uv_write_t wreq;
	struct server *srv; /* NULL once the handles are closed */
	struct conn *prev, *next;
	struct http_parse *hp;
	struct buf in;   /* bytes read; in.data + in_start is a request */
	size_t in_start; /* start of the request being assembled */
	struct buf out;  /* answers not yet written */
	struct buf wbuf; /* bytes handed to uv_write */
	unsigned char addr[16];
	char tcp_peer[64];     /* the proxy's address (via_proxy only) */
	int handles;           /* uv handles not yet closed */
	uint64_t due;          /* loop time the current state times out, or 0 */
	uint64_t timer_due;    /* loop time the timer fires, 0 when stopped */
	uint64_t deadline;     /* loop time the current request must be in by */
	size_t discarded;      /* bytes dropped while lingering */
	unsigned in_loop;      /* inside conn_process: replies just queue */
	enum conn_state state; /* changed by conn_set_state only */
	bool counted;          /* counted in nconns and its ip_count */
	bool reading;          /* uv_read_start is in effect */
	bool writing;          /* a uv_write is pending */
	bool eof;              /* the client has closed its side */
	bool via_proxy;        /* the peer is a trusted proxy */
	bool spoke;            /* the client has sent at least one byte */
	bool quiet;            /* no access-log lines (access_log off) */
	bool nagle;            /* TCP without TCP_NODELAY yet (conn_flush) */
	bool wrote;            /* conn_flush has written before */
	bool drained;          /* the last read left the socket empty */
	bool client_closes;    /* the client asked to close after this answer */
	const struct ip_count *ipc; /* its address's count, while counted */
	/* A streamed body (CONN_BODY): where it goes. */
	http_body_fn *body_piece;
	http_body_end_fn *body_end;
	void *body_ctx;
	bool body_done;   /* the streamed body was read whole */
	bool body_paused; /* the handler paused it (HTTP_BODY_PAUSE) */
	/* An answer's body produced on demand (http_reply_source). */
	http_source_fn *src_fill;
	http_source_done_fn *src_done;
	void *src_ctx;
	uint64_t src_left; /* its bytes not yet in c->out */
	bool src_wait;     /* it answered HTTP_SOURCE_WAIT: not asked again */
	struct http_source {
		struct conn *c;
	} src; /* what the source wakes */
};

struct server {
	uv_loop_t *loop;
	struct server_limits limits;
	http_handler_fn *handler;
	void *ctx;
	http_stream_fn *stream_fn; /* which bodies are streamed, or NULL */
	void *stream_ctx;
	uv_stream_t *listener; /* uv_tcp_t, or uv_pipe_t when unix_socket */
	bool unix_socket;
	struct metrics *metrics; /* NULL: not counted */
	uv_timer_t *shutdown_timer;
	struct conn *conns; /* every connection not yet dead */
	unsigned nconns;    /* counted against the limits */
	unsigned nopen;     /* connections whose handles are not yet closed */
	struct ip_count *ips[IP_BUCKETS];
	struct proxy_list *proxies; /* trusted_proxies, NULL for none */
	int port;
	uint64_t accept_warned; /* loop time of the last accept warning */
	bool shutting;
	bool done_called;
	void (*done)(void *);
	void *done_arg;
	uv_prepare_t *prepare; /* flushes the access log */
	unsigned first_reads;  /* conn_read_first this loop turn */
	struct accesslog alog; /* lines not yet written */
	char discard[4096];
};

static void conn_step(struct conn *c);
static void conn_close(struct conn *c);
static void conn_free(struct conn *c);
static void body_finish(struct conn *c, int status);
static void conn_source_end(struct conn *c);

#define TO(s) (1u << (s))
/* conn_next[from]: the states a connection may go to from there. */
static const unsigned conn_next[] = {
    /* a request begins; refused, or the server shuts down; closed */
    [CONN_IDLE] = TO(CONN_REQUEST) | TO(CONN_CLOSING) | TO(CONN_DEAD),
    /* only blank lines came; dispatched; 4xx/5xx or 408; closed */
    [CONN_REQUEST] =
        TO(CONN_IDLE) | TO(CONN_HANDLER) | TO(CONN_CLOSING) | TO(CONN_DEAD),
    /* answered, keep-alive or close; the socket closed meanwhile; the
     * handler reads the body */
    [CONN_HANDLER] =
        TO(CONN_IDLE) | TO(CONN_CLOSING) | TO(CONN_ORPHAN) | TO(CONN_BODY),
    /* the body ended (whole or not); the socket closed meanwhile */
    [CONN_BODY] = TO(CONN_HANDLER) | TO(CONN_ORPHAN),
    /* everything written: FIN and linger; or closed */
    [CONN_CLOSING] = TO(CONN_LINGERING) | TO(CONN_DEAD),
    [CONN_LINGERING] = TO(CONN_DEAD),
    /* the handler answered: nothing holds the connection now */
    [CONN_ORPHAN] = TO(CONN_DEAD),
    [CONN_DEAD] = 0,
};
#undef TO

/*
 * Move c to state to, which must be a legal transition, and start the
 * deadline that state counts from (the timer itself is armed from the
 * state at the end of conn_step, see conn_set_timer).
 */
static void
conn_set_state(struct conn *c, enum conn_state to)
{
	assert((conn_next[c->state] & (1u << to)) != 0);
	c->state = to;
	switch (to) {
	case CONN_REQUEST:
		c->req.start_ns = uv_hrtime();
		c->deadline =
		    uv_now(c->srv->loop) + c->srv->limits.request_timeout_ms;
		break;
	case CONN_LINGERING:
		c->deadline =
		    uv_now(c->srv->loop) +
		    (c->srv->shutting ? LINGER_SHUTDOWN_MS : LINGER_MS);
		break;
	default:
		break;
	}
}

/* The socket is closing or closed (with or without a handler's request). */
static bool
conn_dead(const struct conn *c)
{
	return c->state == CONN_DEAD || c->state == CONN_ORPHAN;
}

/*
 * Connection counts per client address
 */

static unsigned
ip_hash(const unsigned char *addr)
{
	unsigned h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h & (IP_BUCKETS - 1);
}

/*
 * Count one more connection from addr unless that goes over max. Returns
 * its address's entry (valid while the connection is counted), or NULL.
 */
static struct ip_count *
ip_add(struct server *srv, const unsigned char *addr, unsigned max)
{
	struct ip_count **head, *e;
	unsigned char key[16];

	memcpy(key, addr, sizeof(key));
	proxy_addr_group(key);
	head = &srv->ips[ip_hash(key)];
	for (e = *head; e != NULL; e = e->next)
		if (memcmp(e->addr, key, 16) == 0)
			break;
	if (e == NULL) {
		if (max == 0)
			return NULL;
		e = xcalloc(1, sizeof(*e));
		memcpy(e->addr, key, 16);
		e->next = *head;
		*head = e;
	}
	if (e->n >= max)
		return NULL;
	e->n++;
	return e;
}

static void
ip_del(struct server *srv, const unsigned char *addr)
{
	struct ip_count **pp, *e;
	unsigned char key[16];

	memcpy(key, addr, sizeof(key));
	proxy_addr_group(key);
	for (pp = &srv->ips[ip_hash(key)]; (e = *pp) != NULL; pp = &e->next) {
		if (memcmp(e->addr, key, 16) != 0)
			continue;
		if (--e->n == 0) {
			*pp = e->next;
			free(e);
		}
		return;
	}
}

/*
 * The access log (accesslog.c writes the lines; the metrics count them)
 */

/* req is NULL for a connection refused before any request. */
static void
access_log(const struct conn *c, const struct http_request *req, int status,
    size_t bytes)
{
	struct server *srv = c->srv;
	uint64_t us = 0;

	if (req != NULL)
		us = (uv_hrtime() - req->start_ns) / 1000;
	if (srv != NULL && srv->metrics != NULL)
		metrics_request(srv->metrics,
		    req == NULL ? METRICS_R_OTHER
		    : req->metrics_route > 0
		        ? (enum metrics_route)(req->metrics_route - 1)
		        : metrics_route_of(req->method, req->path),
		    status, us * 1000);
	if (c->quiet)
		return;
	/* An orphan's server may be gone: the line is written directly. */
	accesslog_add(srv != NULL ? &srv->alog : NULL, c->req.peer, req, status,
	    bytes, us);
}

static void
on_prepare(uv_prepare_t *p)
{
	struct server *srv = p->data;

	srv->first_reads = 0;
	accesslog_flush(&srv->alog);
}

/*
 * Answers
 */

/*
 * Queue the answer to req (body, or with a source the len bytes it will
 * produce), log it, and move the connection on: keep-alive, close, or
 * freed when the client went away meanwhile.
 */
static void
conn_reply(struct http_request *req, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len,
    http_source_fn *fill, http_source_done_fn *done, void *ctx)
{
	struct conn *c = req->conn_;
	bool head = req->method == HTTP_M_HEAD;
	bool keep;

	assert(
	    c != NULL && (c->state == CONN_HANDLER || c->state == CONN_ORPHAN));
	keep = req->keep_alive && c->state == CONN_HANDLER && c->srv != NULL &&
	       !c->srv->shutting && (!req->body_stream || c->body_done);
	/* A client that said it closes sends nothing more (RFC 9112 9.6). */
	c->client_closes = !req->keep_alive && c->state == CONN_HANDLER &&
	                   (!req->body_stream || c->body_done);
	if (c->state == CONN_HANDLER)
		http_format_response(&c->out, status, content_type,
		    extra_headers, body, len, head || fill != NULL, keep);
	access_log(c, req, status, head ? 0 : len);
	http_request_reset(req);
	req->log_user = STR_NULL;
	req->metrics_route = 0;
	if (fill != NULL && (c->state == CONN_ORPHAN || head || len == 0)) {
		if (done != NULL)
			done(ctx);
	} else if (fill != NULL) {
		assert(c->src_fill == NULL);
		c->src_fill = fill;
		c->src_done = done;
		c->src_ctx = ctx;
		c->src_left = len;
		c->src_wait = false;
		c->src.c = c;
	}
	if (c->state == CONN_ORPHAN) {
		/* The client went away meanwhile: drop the answer. */
		conn_set_state(c, CONN_DEAD);
		if (c->handles == 0)
			conn_free(c);
		return;
	}
	conn_set_state(c, keep ? CONN_IDLE : CONN_CLOSING);
	if (c->in_loop == 0)
		conn_step(c);
}

void
http_reply_ex(struct http_request *req, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len)
{
	conn_reply(req, status, content_type, extra_headers, body, len, NULL,
	    NULL, NULL);
}

void
http_reply(struct http_request *req, int status, const char *body, size_t len)
{
	http_reply_ex(req, status, NULL, NULL, body, len);
}

/* The source of an answer's body is no longer needed: let it go, once. */
static void
conn_source_end(struct conn *c)
{
	http_source_done_fn *done = c->src_done;

	c->src_fill = NULL;
	c->src_done = NULL;
	c->src_left = 0;
	c->src_wait = false;
	if (done != NULL)
		done(c->src_ctx);
}

void
http_source_wake(struct http_source *src)
{
	struct conn *c = src->c;

	c->src_wait = false;
	if (!conn_dead(c) && c->in_loop == 0)
		conn_step(c);
}

void
http_reply_source(struct http_request *req, int status,
    const char *content_type, const char *extra_headers, uint64_t len,
    http_source_fn *fill, http_source_done_fn *done, void *ctx)
{
	conn_reply(req, status, content_type, extra_headers, NULL, (size_t)len,
	    fill, done, ctx);
}

/* Answer with the transport's own error and close afterwards. */
static void
conn_fail(struct conn *c, int status)
{
	struct buf body = BUF_INIT;

	http_error_body(status, &body);
	http_format_response(
	    &c->out, status, NULL, NULL, body.data, body.len, false, false);
	if (c->state == CONN_REQUEST) {
		/* Only the timing is known of a request that never finished. */
		struct http_request r = {0};

		r.start_ns = c->req.start_ns;
		access_log(c, &r, status, body.len);
	} else {
		access_log(c, NULL, status, body.len);
	}
	buf_release(&body);
	c->client_closes = false;
	conn_set_state(c, CONN_CLOSING);
}

/*
 * Reading and request dispatch
 */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct conn *c = h->data;

	(void)suggested;
	if (c->state == CONN_LINGERING || conn_dead(c) || c->srv == NULL) {
		*b = uv_buf_init(c->srv != NULL ? c->srv->discard : NULL,
		    c->srv != NULL ? sizeof(c->srv->discard) : 0);
		return;
	}
	/* Keep the partial request at the front; reads happen between
	 * requests only, so nothing points into the buffer now. */
	if (c->in_start > 0) {
		memmove(c->in.data, c->in.data + c->in_start,
		    c->in.len - c->in_start);
		c->in.len -= c->in_start;
		c->in.data[c->in.len] = '\0';
		c->in_start = 0;
	}
	buf_grow(&c->in, READ_CHUNK);
	*b = uv_buf_init(c->in.data + c->in.len, READ_CHUNK);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;

	if (nread == 0 || conn_dead(c))
		return;
	if (nread < 0) {
		if (nread != UV_EOF || c->state == CONN_LINGERING) {
			conn_close(c);
			return;
		}
		c->eof = true;
		conn_step(c);
		return;
	}
	if (c->state == CONN_LINGERING) {
		c->discarded += (size_t)nread;
		if (c->discarded > LINGER_MAX_BYTES)
			conn_close(c);
		return;
	}
	c->in.len += (size_t)nread;
	c->in.data[c->in.len] = '\0';
	/* libuv reads again at once after a full buffer, not after this. */
	c->drained = b->len > (size_t)nread;
	c->spoke = true;
	conn_step(c);
}

/*
 * Assemble and dispatch buffered requests until one is with the handler,
 * the input runs out, the connection is closing, or enough answers are
 * queued. Returns true when it stopped only because of the queued answers.
 */
static bool
conn_process(struct conn *c)
{
	struct server *srv = c->srv;
	bool full = false;

	c->in_loop++;
	while ((c->state == CONN_IDLE || c->state == CONN_REQUEST) &&
	       !c->writing && c->src_fill == NULL) {
		enum http_feed_result r;
		size_t avail = c->in.len - c->in_start, consumed;
		int status;

		if (avail == 0)
			break;
		if (c->out.len >= OUT_HIGH_WATER) {
			full = true;
			break;
		}
		if (c->state == CONN_IDLE) {
			if (c->via_proxy)
				memcpy(c->req.peer, c->tcp_peer,
				    sizeof(c->req.peer));
			conn_set_state(c, CONN_REQUEST);
		}
		r = http_parse_feed(c->hp, c->in.data + c->in_start, avail,
		    &c->req, &consumed, &status);
		c->in_start += consumed;
		if (r == HTTP_FEED_MORE) {
			if (c->in_start == c->in.len)
				conn_set_state(c, CONN_IDLE);
			if (http_parse_take_continue(c->hp))
				buf_add(&c->out, continue_line,
				    sizeof(continue_line) - 1);
			break;
		}
		if (r == HTTP_FEED_ERROR) {
			conn_fail(c, status);
			break;
		}
		c->req.log_user = STR_NULL;
		c->req.metrics_route = 0;
		c->req.is_https = false;
		c->body_done = false;
		if (c->via_proxy)
			proxy_resolve(srv->proxies, c->req.headers,
			    c->req.nheaders, c->req.peer, sizeof(c->req.peer),
			    &c->req.is_https);
		conn_set_state(c, CONN_HANDLER);
		srv->handler(&c->req, srv->ctx);
	}
	c->in_loop--;
	return full;
}

/*
 * Streamed bodies
 */

/*
 * The body ended (status 0: whole): tell the handler, once. The state has
 * already left CONN_BODY. The handler may answer from end, so replies
 * only queue meanwhile (in_loop).
 */
static void
body_finish(struct conn *c, int status)
{
	http_body_end_fn *end = c->body_end;

	if (end == NULL)
		return;
	c->body_end = NULL;
	c->body_piece = NULL;
	c->body_done = status == 0;
	c->in_loop++;
	end(c->body_ctx, status);
	c->in_loop--;
}

void
http_body_read(struct http_request *req, http_body_fn *piece,
    http_body_end_fn *end, void *ctx)
{
	struct conn *c = req->conn_;
	const struct str *expect;

	assert(req->body_stream && c->body_end == NULL);
	c->body_piece = piece;
	c->body_end = end;
	c->body_ctx = ctx;
	c->body_paused = false;
	if (c->state == CONN_ORPHAN) {
		body_finish(c, 400);
		return;
	}
	assert(c->state == CONN_HANDLER);
	expect = http_header_get(req, "expect", NULL);
	if (expect != NULL && str_caseeqs(*expect, "100-continue"))
		buf_add(&c->out, continue_line, sizeof(continue_line) - 1);
	conn_set_state(c, CONN_BODY);
	if (c->in_loop == 0)
		conn_step(c);
}

void
http_body_resume(struct http_request *req, int status)
{
	struct conn *c = req->conn_;

	if (!c->body_paused)
		return;
	c->body_paused = false;
	if (c->state != CONN_BODY)
		return;
	if (status != 0) {
		/* Refused by the handler: the connection closes after it. */
		conn_set_state(c, CONN_HANDLER);
		body_finish(c, status);
	}
	if (c->in_loop == 0)
		conn_step(c);
}

/*
 * Hand what was read of the streamed body to the handler (also with no
 * new bytes: a body paused on its last bytes ends here).
 */
static void
conn_body(struct conn *c)
{
	enum http_feed_result r;
	size_t consumed = 0;
	int status = 0;

	if (c->body_paused)
		return;
	r = http_parse_body(c->hp, c->in.data + c->in_start,
	    c->in.len - c->in_start, c->body_piece, c->body_ctx, &consumed,
	    &status);
	c->in_start += consumed;
	if (r == HTTP_FEED_PAUSE) {
		c->body_paused = true;
		return;
	}
	if (r == HTTP_FEED_MORE && !c->eof)
		return;
	if (r == HTTP_FEED_MORE)
		status = 400; /* the client closed before the body's end */
	conn_set_state(c, CONN_HANDLER);
	body_finish(c, r == HTTP_FEED_REQUEST ? 0 : status);
}

/*
 * Writing
 */

static void
on_write(uv_write_t *w, int status)
{
	struct conn *c = w->data;

	c->writing = false;
	/* A body still coming from its source reuses the buffer. */
	if (c->wbuf.len > KEEP_BUF_BYTES && c->src_fill == NULL)
		buf_release(&c->wbuf);
	else
		buf_reset(&c->wbuf);
	if (conn_dead(c))
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	conn_step(c);
}

/*
 * Take the next piece of a body produced on demand into c->out (at most
 * SOURCE_CHUNK bytes queued; nothing while the source waits). Returns -1
 * when the source failed: the answer cannot be completed and the
 * connection must close.
 */
static int
conn_fill(struct conn *c)
{
	size_t want;
	ssize_t n;

	if (c->src_fill == NULL || c->src_wait || c->out.len >= SOURCE_CHUNK)
		return 0;
	want = SOURCE_CHUNK - c->out.len;
	if ((uint64_t)want > c->src_left)
		want = (size_t)c->src_left;
	buf_grow(&c->out, want);
	n = c->src_fill(c->src_ctx, &c->src, c->out.data + c->out.len, want);
	if (n == HTTP_SOURCE_WAIT) {
		c->src_wait = true;
		return 0;
	}
	if (n <= 0 || (size_t)n > want) {
		conn_source_end(c);
		return -1;
	}
	c->out.len += (size_t)n;
	c->out.data[c->out.len] = '\0';
	c->src_left -= (uint64_t)n;
	if (c->src_left == 0)
		conn_source_end(c);
	return 0;
}

/*
 * Write the queued answers: try at once, else hand them to uv_write. A
 * body produced on demand goes out a piece at a time, each further piece
 * after the previous uv_write completed, so one large answer never holds
 * the loop.
 */
static void
conn_flush(struct conn *c)
{
	struct buf tmp;
	uv_buf_t b;
	int n;

	if (conn_dead(c) || c->writing)
		return;
	if (conn_fill(c) == -1) {
		conn_close(c);
		return;
	}
	if (c->out.len == 0)
		return;
	/*
	 * TCP_NODELAY from the second write on: the first answer on a new
	 * connection has no unacknowledged data before it, so Nagle cannot
	 * hold it, and a Connection: close client (KOReader) is spared the
	 * system call.
	 */
	if (c->nagle && c->wrote) {
		uv_tcp_nodelay(&c->tcp, 1);
		c->nagle = false;
	}
	c->wrote = true;
	b = uv_buf_init(c->out.data, (unsigned)c->out.len);
	n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n >= 0 && (size_t)n == c->out.len) {
		if (c->out.len > KEEP_BUF_BYTES && c->src_fill == NULL)
			buf_release(&c->out);
		else
			buf_reset(&c->out);
		if (c->src_fill == NULL)
			return;
		/* The next piece goes out with uv_write (a yield). */
		if (conn_fill(c) == -1) {
			conn_close(c);
			return;
		}
		if (c->out.len == 0)
			return; /* the source waits: its wake flushes */
		n = 0;
	}
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	if (n < 0)
		n = 0;
	/* The rest goes out with uv_write; new answers queue behind it. */
	tmp = c->wbuf;
	c->wbuf = c->out;
	c->out = tmp;
	buf_reset(&c->out);
	b = uv_buf_init(c->wbuf.data + n, (unsigned)(c->wbuf.len - (size_t)n));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
		conn_close(c);
		return;
	}
	c->writing = true;
}

/*
 * Closing
 */

static void
conn_free(struct conn *c)
{
	http_parse_free(c->hp);
	buf_release(&c->in);
	buf_release(&c->out);
	buf_release(&c->wbuf);
	http_request_release(&c->req);
	free(c);
}

/* Close callback for the handles the server allocates on their own. */
static void
handle_free(uv_handle_t *h)
{
	free(h);
}

static void
server_maybe_done(struct server *srv)
{
	if (!srv->shutting || srv->done_called || srv->listener != NULL ||
	    srv->nopen > 0)
		return;
	srv->done_called = true;
	accesslog_flush(&srv->alog);
	if (srv->prepare != NULL) {
		uv_close((uv_handle_t *)srv->prepare, handle_free);
		srv->prepare = NULL;
	}
	if (srv->shutdown_timer != NULL) {
		uv_close((uv_handle_t *)srv->shutdown_timer, handle_free);
		srv->shutdown_timer = NULL;
	}
	if (srv->done != NULL)
		srv->done(srv->done_arg);
}

static void
on_conn_close(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct server *srv = c->srv;

	if (--c->handles > 0)
		return;
	c->srv = NULL;
	srv->nopen--;
	/* An orphan stays until its handler answers (http_reply frees it). */
	if (c->state != CONN_ORPHAN)
		conn_free(c);
	server_maybe_done(srv);
}

/* Close the socket now; whatever is queued is dropped. */
static void
conn_close(struct conn *c)
{
	struct server *srv = c->srv;

	bool in_body = c->state == CONN_BODY;

	if (conn_dead(c))
		return;
	conn_set_state(
	    c, c->state == CONN_HANDLER || in_body ? CONN_ORPHAN : CONN_DEAD);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->counted) {
		c->counted = false;
		srv->nconns--;
		if (!c->via_proxy)
			ip_del(srv, c->addr);
		c->ipc = NULL;
	}
	uv_close((uv_handle_t *)&c->tcp, on_conn_close);
	uv_close((uv_handle_t *)&c->timer, on_conn_close);
	conn_source_end(c);
	/* A body cut short: the handler hears of it and answers (dropped). */
	if (in_body)
		body_finish(c, 400);
}

/*
 * Everything was answered and the connection ends: send FIN, then keep
 * reading and dropping until the client closes too (or a short timer),
 * so that unread request bytes do not make the kernel reset the
 * connection before the client has read our answer.
 *
 * Not when the client asked to close (Connection: close, HTTP/1.0:
 * KOReader's every request), everything it sent was that request and
 * the last read left the socket empty: such a client sends nothing more
 * (RFC 9112 9.6), so the socket is closed at once (its FIN follows the
 * answer, as nginx does) and the client's FIN is the kernel's to take:
 * one read, one shutdown and a loop wake-up fewer per request (t160).
 */
static void
conn_linger(struct conn *c)
{
	uv_os_fd_t fd;

	if (c->eof || (c->client_closes && c->drained &&
	                  c->in_start == c->in.len && c->body_end == NULL)) {
		conn_close(c);
		return;
	}
	conn_set_state(c, CONN_LINGERING);
	/*
	 * Nothing is queued (conn_step lingers only then), so the FIN goes
	 * out now, with the answer's turn: uv_shutdown would wait for a
	 * writable event first, a turn later and two epoll_ctl more.
	 */
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 ||
	    shutdown(fd, SHUT_WR) != 0)
		conn_close(c);
}

/*
 * Timers
 */

/*
 * The timer is armed lazily: c->due is when the current state times out,
 * c->timer_due when the uv timer fires. A later c->due (the usual case: an
 * idle deadline pushed back by each request) leaves the timer alone; it
 * fires early, finds the deadline not yet reached and re-arms. So a busy
 * keep-alive connection costs no timer operation per request.
 */
static void
on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	uint64_t now;

	c->timer_due = 0;
	if (conn_dead(c) || c->due == 0)
		return;
	now = uv_now(c->srv->loop);
	if (now < c->due) {
		c->timer_due = c->due;
		uv_timer_start(&c->timer, on_timer, c->due - now, 0);
		return;
	}
	if (c->state == CONN_HANDLER)
		return;
	if (c->state == CONN_BODY) {
		/* No bytes of the body for idle_timeout_ms. */
		conn_set_state(c, CONN_HANDLER);
		body_finish(c, 408);
		conn_step(c);
		return;
	}
	if (c->state == CONN_REQUEST && !c->writing) {
		/* A request that took too long to arrive: cut it off. */
		conn_fail(c, 408);
		conn_step(c);
		return;
	}
	/* Idle, lingering, or a client that does not read its answers. */
	conn_close(c);
}

static void
conn_set_timer(struct conn *c)
{
	struct server *srv = c->srv;
	uint64_t now = uv_now(srv->loop);

	/* The handler has no deadline; lingering and a request on its way
	 * have theirs; idle and unread answers get the idle timeout. */
	switch (c->state) {
	case CONN_HANDLER:
		c->due = 0;
		break;
	case CONN_BODY:
		/* Paused, the handler is the one waiting: no deadline. */
		c->due = c->body_paused ? 0 : now + srv->limits.idle_timeout_ms;
		break;
	case CONN_LINGERING:
		c->due = c->deadline;
		break;
	case CONN_REQUEST:
		c->due = c->writing ? now + srv->limits.idle_timeout_ms
		                    : c->deadline;
		break;
	case CONN_IDLE:
	case CONN_CLOSING:
		c->due = now + srv->limits.idle_timeout_ms;
		break;
	case CONN_ORPHAN:
	case CONN_DEAD:
		return;
	}
	if (c->due == 0 || (c->timer_due != 0 && c->timer_due <= c->due))
		return;
	c->timer_due = c->due;
	uv_timer_start(&c->timer, on_timer, c->due > now ? c->due - now : 0, 0);
}

/*
 * The state machine
 */

static void
conn_step(struct conn *c)
{
	bool want;

	if (conn_dead(c))
		return;
	if (c->state == CONN_BODY)
		conn_body(c);
	if (conn_dead(c))
		return;
	while (conn_process(c) && !conn_dead(c)) {
		conn_flush(c);
		if (c->writing || conn_dead(c))
			break;
	}
	conn_flush(c);
	if (conn_dead(c))
		return;
	if (c->state != CONN_HANDLER && !c->writing && c->out.len == 0 &&
	    c->src_fill == NULL) {
		if (c->state == CONN_CLOSING) {
			conn_linger(c);
			if (conn_dead(c))
				return;
		} else if (c->eof && c->state != CONN_LINGERING) {
			conn_close(c);
			return;
		}
	}
	/* Between requests, give back a buffer a large body left behind. */
	if (c->state != CONN_HANDLER && c->state != CONN_REQUEST &&
	    c->in_start == c->in.len && c->in.len > 0) {
		if (c->in.len > KEEP_BUF_BYTES)
			buf_release(&c->in);
		else
			buf_reset(&c->in);
		c->in_start = 0;
	}
	/* The handler took the body while being called: bytes are waiting. */
	if (c->state == CONN_BODY && !c->body_paused &&
	    (c->in_start < c->in.len || c->eof)) {
		conn_step(c);
		return;
	}
	/* Nothing more is read while an answer's source waits. */
	want =
	    !c->eof &&
	    ((!c->writing &&
	         (c->state == CONN_LINGERING ||
	             (c->src_fill == NULL && (c->state == CONN_IDLE ||
	                                         c->state == CONN_REQUEST)))) ||
	        (c->state == CONN_BODY && !c->body_paused));
	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) !=
		    0) {
			conn_close(c);
			return;
		}
		c->reading = true;
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	conn_set_timer(c);
}

/*
 * Accepting
 */

/* The numeric form of sa into c->req.peer and its 16-byte key. */
static void
conn_set_peer(struct conn *c, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(c->addr, 0, sizeof(c->addr));
	snprintf(c->req.peer, sizeof(c->req.peer), "-");
	if (ss->ss_family == AF_INET) {
		memcpy(c->addr, mapped, 12);
		memcpy(c->addr + 12, &sin->sin_addr, 4);
		inet_ntop(
		    AF_INET, &sin->sin_addr, c->req.peer, sizeof(c->req.peer));
	} else if (ss->ss_family == AF_INET6) {
		memcpy(c->addr, &sin6->sin6_addr, 16);
		if (memcmp(c->addr, mapped, 12) == 0)
			inet_ntop(AF_INET, c->addr + 12, c->req.peer,
			    sizeof(c->req.peer));
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, c->req.peer,
			    sizeof(c->req.peer));
	}
}

/*
 * True when c is a keep-alive connection between requests: it has been
 * answered, nothing of a next request has arrived, and nothing is queued.
 */
static bool
conn_is_idle(const struct conn *c)
{
	return c->spoke && c->state == CONN_IDLE && !c->writing &&
	       c->out.len == 0 && c->src_fill == NULL && !c->eof;
}

/*
 * At max_connections, make room for a newcomer, in this order:
 *   - a connection that has not sent a single byte (what a connection
 *     flood holds; a real client speaks as soon as it has connected): the
 *     one whose address holds the most connections, the oldest of those,
 *     so a flood from a few addresses makes room at its own expense;
 *   - one lingering after its last answer (it is closing anyway);
 *   - the keep-alive connection idle between requests for the longest
 *     time (its client reconnects when it needs to; HTTP allows closing
 *     an idle connection at any time), so connections that sent one
 *     request and then wait cannot hold every slot until idle_timeout_ms.
 * A connection in the middle of a request (or of its answer) keeps its
 * slot until its own deadlines. One pass over the connections, made only
 * when the server is full. Returns true when one was closed.
 */
static bool
conn_evict(struct server *srv, const struct conn *except)
{
	struct conn *c, *silent = NULL, *linger = NULL, *idle = NULL;
	unsigned n, best = 0;

	/* The list is newest first: on a tie the later one is older. */
	for (c = srv->conns; c != NULL; c = c->next) {
		if (c == except || !c->counted || conn_dead(c))
			continue;
		if (!c->spoke) {
			n = c->ipc != NULL ? c->ipc->n : 0;
			if (silent == NULL || n >= best) {
				silent = c;
				best = n;
			}
		} else if (c->state == CONN_LINGERING && !c->writing &&
		           c->out.len == 0 && c->src_fill == NULL) {
			linger = c;
		} else if (conn_is_idle(c)) {
			/* c->due is when it became idle plus the timeout. */
			if (idle == NULL || c->due <= idle->due)
				idle = c;
		}
	}
	c = silent != NULL ? silent : linger != NULL ? linger : idle;
	if (c == NULL)
		return false;
	conn_close(c);
	return true;
}

/*
 * Refuse a connection that is not counted: 503 JSON, unless
 * SERVER_MAX_REFUSED refused ones are still open (their answers going
 * out, lingering), in which case it is closed at once. So the descriptors
 * a server holds stay within max_connections + SERVER_MAX_REFUSED, which
 * is what cmd_serve.c sizes the open-files limit for.
 */
static void
conn_refuse(struct conn *c)
{
	struct server *srv = c->srv;

	if (srv->nopen - srv->nconns > SERVER_MAX_REFUSED) {
		access_log(c, NULL, 503, 0);
		conn_close(c);
		return;
	}
	conn_fail(c, 503);
	conn_step(c);
}

/*
 * The first read, in the accept's own turn. A client sends its request
 * right behind the handshake, so it is mostly here already: read, answer
 * and (Connection: close) close without ever adding the socket to epoll,
 * one epoll_ctl and a loop turn fewer per connection. Nothing here yet
 * (EAGAIN): conn_step starts reading as before.
 *
 * libuv accepts until the backlog is empty, all in one turn, and a client
 * answered here is back in that backlog at once: past
 * FIRST_READS_PER_TURN a turn's connections wait for epoll like any
 * other, so a stream of new connections cannot hold the loop (timers,
 * keep-alive clients, the access log's flush).
 */
static void
conn_read_first(struct conn *c)
{
	uv_os_fd_t fd;
	uv_buf_t b;
	ssize_t n;

	if (c->srv->first_reads >= FIRST_READS_PER_TURN ||
	    uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) {
		conn_step(c);
		return;
	}
	c->srv->first_reads++;
	on_alloc((uv_handle_t *)&c->tcp, READ_CHUNK, &b);
	do
		n = read(fd, b.base, b.len);
	while (n == -1 && errno == EINTR);
	if (n >= 0)
		on_read((uv_stream_t *)&c->tcp, n > 0 ? n : UV_EOF, &b);
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		conn_step(c);
	else
		conn_close(c);
}

static void
on_connection(uv_stream_t *l, int status)
{
	struct server *srv = l->data;
	struct sockaddr_storage ss;
	struct conn *c;
	int len = sizeof(ss);

	if (status < 0) {
		/*
		 * Out of descriptors, typically (cmd_serve.c sizes
		 * max_connections so that this should not happen). libuv
		 * then closes the pending connections with the descriptor
		 * it keeps spare for this, so the loop does not spin; say
		 * so once a minute.
		 */
		if (srv->accept_warned == 0 ||
		    uv_now(srv->loop) - srv->accept_warned >=
		        (uint64_t)60 * 1000) {
			srv->accept_warned = uv_now(srv->loop);
			log_warnx("cannot accept a connection: %s",
			    uv_strerror(status));
		}
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->quiet = !srv->limits.access_log;
	buf_init(&c->in);
	buf_init(&c->out);
	buf_init(&c->wbuf);
	if (srv->unix_socket)
		uv_pipe_init(srv->loop, &c->pipe, 0);
	else
		uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	srv->nopen++;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	c->req.conn_ = c;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (srv->unix_socket) {
		/* The socket's mode is its access control: no address. */
		snprintf(c->req.peer, sizeof(c->req.peer), "local");
	} else if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) !=
	           0) {
		conn_close(c);
		return;
	} else {
		conn_set_peer(c, &ss);
		if (proxy_list_match(srv->proxies, c->addr)) {
			c->via_proxy = true;
			memcpy(c->tcp_peer, c->req.peer, sizeof(c->tcp_peer));
		}
		c->nagle = true; /* TCP_NODELAY at the second write */
	}
	c->hp = http_parse_new(srv->limits.max_header_bytes,
	    srv->limits.max_body_bytes, SERVER_MAX_HEADERS);
	http_parse_set_stream(c->hp, srv->stream_fn, srv->stream_ctx);
	/* A trusted proxy carries many clients: no per-address count. */
	if (!c->via_proxy &&
	    (c->ipc = ip_add(
	         srv, c->addr, srv->limits.max_connections_per_ip)) == NULL) {
		conn_refuse(c);
		return;
	}
	if (srv->nconns >= srv->limits.max_connections && !conn_evict(srv, c)) {
		if (!c->via_proxy)
			ip_del(srv, c->addr);
		c->ipc = NULL;
		conn_refuse(c);
		return;
	}
	c->counted = true;
	srv->nconns++;
	conn_read_first(c);
}

/*
 * The server
 */

void
server_limits_default(struct server_limits *limits)
{
	limits->max_header_bytes = (size_t)SERVER_MAX_HEADER_BYTES;
	limits->max_body_bytes = (size_t)SERVER_MAX_BODY_BYTES;
	limits->max_connections = SERVER_MAX_CONNECTIONS;
	limits->max_connections_per_ip = SERVER_MAX_CONNECTIONS_PER_IP;
	limits->idle_timeout_ms = (uint64_t)SERVER_IDLE_TIMEOUT_MS;
	limits->request_timeout_ms = (uint64_t)SERVER_REQUEST_TIMEOUT_MS;
	limits->shutdown_timeout_ms = (uint64_t)SERVER_SHUTDOWN_TIMEOUT_MS;
	limits->trusted_proxies = NULL;
	limits->access_log = true;
}

struct server *
server_new(uv_loop_t *loop, const struct server_limits *limits,
    http_handler_fn *handler, void *ctx)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	struct sigaction sa;

	srv->loop = loop;
	srv->limits = *limits;
	srv->handler = handler;
	srv->ctx = ctx;
	srv->limits.trusted_proxies = NULL; /* borrowed: not kept */
	if (limits->trusted_proxies != NULL) {
		struct buf why = BUF_INIT;

		/* config.c checked the list; a bad one here means none. */
		if (proxy_list_parse(
		        limits->trusted_proxies, &srv->proxies, &why) == -1)
			log_warnx("ignoring trusted_proxies: %s", why.data);
		buf_release(&why);
	}
	accesslog_init(&srv->alog);
	srv->prepare = xmalloc(sizeof(*srv->prepare));
	uv_prepare_init(loop, srv->prepare);
	srv->prepare->data = srv;
	uv_prepare_start(srv->prepare, on_prepare);
	uv_unref((uv_handle_t *)srv->prepare);
	/* A client that goes away must give us EPIPE, not kill us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	return srv;
}

/* Bind and listen on sa; on failure the handle is closed and freed. */
static int
listen_on(struct server *srv, const struct sockaddr *sa)
{
	uv_tcp_t *l = xmalloc(sizeof(*l));
	int r;

	uv_tcp_init(srv->loop, l);
	l->data = srv;
	r = uv_tcp_bind(l, sa, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)l, LISTEN_BACKLOG, on_connection);
	if (r != 0) {
		l->data = NULL;
		uv_close((uv_handle_t *)l, handle_free);
		return r;
	}
	srv->listener = (uv_stream_t *)l;
	return 0;
}

int
server_listen(struct server *srv, const char *address)
{
	struct sockaddr_storage ss, bound;
	struct sockaddr_in any4;
	const char *err;
	int r, len = sizeof(bound);
	bool wildcard;

	assert(srv->listener == NULL);
	if (addr_parse_listen(address, &ss, &err) == -1) {
		log_warnx("invalid listen address '%s': %s", address, err);
		return -1;
	}
	wildcard = addr_is_any(address);
	r = listen_on(srv, (struct sockaddr *)&ss);
	if (r != 0 && wildcard &&
	    (r == UV_EAFNOSUPPORT || r == UV_EADDRNOTAVAIL)) {
		/* No IPv6 on this host: all IPv4 addresses then. */
		memset(&any4, 0, sizeof(any4));
		any4.sin_family = AF_INET;
		any4.sin_addr.s_addr = htonl(INADDR_ANY);
		any4.sin_port = ((struct sockaddr_in6 *)&ss)->sin6_port;
		r = listen_on(srv, (struct sockaddr *)&any4);
	}
	if (r != 0) {
		log_warnx("cannot listen on '%s': %s", address, uv_strerror(r));
		return -1;
	}
	memset(&bound, 0, sizeof(bound));
	if (uv_tcp_getsockname((uv_tcp_t *)srv->listener,
	        (struct sockaddr *)&bound, &len) == 0) {
		if (bound.ss_family == AF_INET)
			srv->port =
			    ntohs(((struct sockaddr_in *)&bound)->sin_port);
		else
			srv->port =
			    ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	}
	if (wildcard)
		log_info("listening on *:%d", srv->port);
	else
		log_info("listening on %.*s:%d",
		    (int)(strrchr(address, ':') - address), address, srv->port);
	return 0;
}

int
server_port(const struct server *srv)
{
	return srv->port;
}

int
server_listen_unix(struct server *srv, const char *path)
{
	uv_pipe_t *l = xmalloc(sizeof(*l));
	mode_t old;
	int r;

	assert(srv->listener == NULL);
	uv_pipe_init(srv->loop, l, 0);
	l->data = srv;
	/* Created with mode 0600 from the start: no window for others. */
	old = umask(0177);
	r = uv_pipe_bind(l, path);
	umask(old);
	if (r == 0)
		r = uv_listen((uv_stream_t *)l, LISTEN_BACKLOG, on_connection);
	if (r != 0) {
		log_warnx("cannot listen on '%s': %s", path, uv_strerror(r));
		l->data = NULL;
		uv_close((uv_handle_t *)l, handle_free);
		return -1;
	}
	srv->listener = (uv_stream_t *)l;
	srv->unix_socket = true;
	log_info("control socket '%s'", path);
	return 0;
}

void
server_set_stream(struct server *srv, http_stream_fn *fn, void *ctx)
{
	srv->stream_fn = fn;
	srv->stream_ctx = ctx;
}

void
server_set_metrics(struct server *srv, struct metrics *m)
{
	srv->metrics = m;
}

static void
on_shutdown_timeout(uv_timer_t *t)
{
	struct server *srv = t->data;

	/* Whatever is still open now is cut off. */
	while (srv->conns != NULL)
		conn_close(srv->conns);
}

void
server_shutdown(struct server *srv, void (*done)(void *arg), void *arg)
{
	struct conn *c, *next;

	if (srv->shutting)
		return;
	srv->shutting = true;
	srv->done = done;
	srv->done_arg = arg;
	if (srv->listener != NULL) {
		uv_stream_t *l = srv->listener;

		srv->listener = NULL;
		uv_close((uv_handle_t *)l, handle_free);
	}
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		/* A request on its way or with the handler finishes, and its
		 * answer says close; the others go as soon as nothing of
		 * theirs is left to write (idle and lingering ones now). */
		if (c->state == CONN_HANDLER || c->state == CONN_REQUEST ||
		    c->state == CONN_BODY)
			continue;
		if (!c->writing && c->out.len == 0 && c->src_fill == NULL)
			conn_close(c);
		else if (c->state == CONN_IDLE)
			conn_set_state(c, CONN_CLOSING);
	}
	srv->shutdown_timer = xmalloc(sizeof(*srv->shutdown_timer));
	uv_timer_init(srv->loop, srv->shutdown_timer);
	srv->shutdown_timer->data = srv;
	uv_timer_start(srv->shutdown_timer, on_shutdown_timeout,
	    srv->limits.shutdown_timeout_ms, 0);
	uv_unref((uv_handle_t *)srv->shutdown_timer);
	server_maybe_done(srv);
}

void
server_free(struct server *srv)
{
	struct ip_count *e, *next;
	size_t i;

	if (srv == NULL)
		return;
	assert(srv->conns == NULL && srv->nopen == 0);
	accesslog_flush(&srv->alog);
	accesslog_release(&srv->alog);
	/* Not shut down (start-up failed): the caller's loop frees these. */
	if (srv->prepare != NULL)
		uv_close((uv_handle_t *)srv->prepare, handle_free);
	if (srv->listener != NULL)
		uv_close((uv_handle_t *)srv->listener, handle_free);
	for (i = 0; i < IP_BUCKETS; i++) {
		for (e = srv->ips[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	proxy_list_free(srv->proxies);
	free(srv);
}
