/*
 * http.h: one HTTP/1.1 request as the handlers see it, and the way to
 * answer it.
 *
 * Requests are assembled by http.c on libhttp-parser and dispatched by
 * server.c, which owns the connection, the limits and the deadlines. This
 * layer knows nothing about KOReader sync: it hands a complete request
 * (method, path, headers, body) to a handler and writes whatever the
 * handler answers.
 *
 * Contract between server and handler:
 *   - the handler is called once per complete request, on the loop thread,
 *     in the order the requests arrived on the connection (pipelined
 *     requests wait until the previous one was answered); a request whose
 *     body is streamed (body_stream) is handed over when its headers are
 *     in, and the handler reads the body with http_body_read();
 *   - the handler must answer exactly once (http_reply(), http_reply_ex(),
 *     http_error() or http_reply_source()), either before it returns or
 *     later from another loop callback (for example when a store operation
 *     completes);
 *   - everything in struct http_request, and everything allocated with
 *     http_alloc(), stays valid until http_reply() is called, even when the
 *     client has gone away in the meantime; after http_reply() the handler
 *     must not touch the request again.
 *
 * Layer formats (src/LAYERS): it uses only the core primitives (buf.h,
 * xmalloc.h) and json.h of its own layer, and knows nothing of the
 * configuration, the store interface or the request handlers; it must not
 * include their headers.
 */
#ifndef KOSYNCD_HTTP_H
#define KOSYNCD_HTTP_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum http_method {
	HTTP_M_OTHER = 0,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_PATCH,
	/* WebDAV (RFC 4918), for dav.c; LOCK and UNLOCK stay HTTP_M_OTHER. */
	HTTP_M_PROPFIND,
	HTTP_M_PROPPATCH,
	HTTP_M_MKCOL,
	HTTP_M_COPY,
	HTTP_M_MOVE,
};

struct http_arena;

struct http_header {
	struct str name;  /* as sent; compare with str_caseeqs */
	struct str value; /* leading and trailing blanks removed */
};

struct http_request {
	enum http_method method;
	struct str method_name; /* as sent, for the access log */
	struct str target;      /* request target as sent ("/a%20b?x=1") */
	struct str path;        /* target up to '?', still percent-encoded */
	struct str query;       /* after '?', without it; len 0 if none */
	/*
	 * The path the handlers route on, still percent-encoded: path as
	 * sent, until the front router (front.h) sets it to the normalised
	 * path (router_normalize) before it picks the handler.
	 */
	struct str route;
	const struct http_header *headers;
	size_t nheaders;
	struct str body; /* len 0 when there was none */
	/*
	 * A body the handler reads as it arrives (http_body_read) instead of
	 * body above: set when the stream predicate (http_parse_set_stream)
	 * chose the request. body_length is the announced Content-Length,
	 * or UINT64_MAX for a chunked body.
	 */
	bool body_stream;
	uint64_t body_length;
	bool keep_alive; /* the connection stays open after the answer */
	bool is_https;   /* came over TLS through a trusted proxy */
	char peer[64];   /* client address, numeric ("127.0.0.1", "::1") */
	/*
	 * Set by the handler for the access log: the user the request acted
	 * for (borrowed; must stay valid until http_reply()).
	 */
	struct str log_user;
	/*
	 * Set by the handler for the metrics: the route the request counts
	 * under (metrics.h's enum metrics_route) plus 1; 0 leaves it to
	 * metrics_route_of.
	 */
	int metrics_route;
	uint64_t start_ns; /* when the request's first byte arrived */

	/* Private to http.c and server.c. */
	struct http_arena *arena_; /* http_alloc's chunks */
	void *conn_;               /* the connection that answers */
};

/*
 * The value of header name (case-insensitive). Returns NULL when absent.
 * When count is not NULL it receives how many times the header was sent.
 */
const struct str *http_header_get(
    const struct http_request *req, const char *name, size_t *count);

/*
 * Memory that lives as long as the request (freed after http_reply()).
 * Never returns NULL.
 */
void *http_alloc(struct http_request *req, size_t size);

/*
 * Answer the request with status and a body of content_type (NULL means
 * "application/json"). extra_headers, when not NULL, are complete header
 * lines each ending in "\r\n" (for example "Allow: GET\r\n"). The body is
 * copied. Content-Length is always sent; a HEAD request gets the headers
 * only. Must be called exactly once per request.
 */
void http_reply_ex(struct http_request *req, int status,
    const char *content_type, const char *extra_headers, const char *body,
    size_t len);
/* http_reply_ex with content type application/json and no extra headers. */
void http_reply(
    struct http_request *req, int status, const char *body, size_t len);

/*
 * Streamed request bodies (WebDAV uploads: larger than any buffer should
 * be). A piece callback gets the decoded body bytes in order; it returns
 * 0 to go on, an HTTP status (413, 507, 500...) to stop reading, or
 * HTTP_BODY_PAUSE: it took the bytes, but wants no more until
 * http_body_resume (it is writing them somewhere slow). A paused body is
 * not read from the socket: what is already read stays in the
 * connection's buffer, so the memory it holds stays bounded.
 */
typedef int http_body_fn(void *ctx, const char *data, size_t len);
#define HTTP_BODY_PAUSE 1
/*
 * Called once when a streamed body ends: status 0 when it arrived whole,
 * else why not (the piece callback's status; 400 malformed framing or the
 * client went away; 408 too slow). The handler then answers the request
 * with http_reply (now or later); after a non-zero status the connection
 * closes after that answer.
 */
typedef void http_body_end_fn(void *ctx, int status);

/*
 * Start reading the body of a request with body_stream set: its bytes go
 * to piece as they arrive, then end is called (possibly before this
 * returns, when the client has already gone). Sends "100 Continue" when
 * the client waits for it. The handler must not answer before end. A
 * handler that answers a body_stream request without reading its body
 * (an error) may: the connection then closes after the answer.
 */
void http_body_read(struct http_request *req, http_body_fn *piece,
    http_body_end_fn *end, void *ctx);

/*
 * Go on with a body whose piece callback returned HTTP_BODY_PAUSE: status
 * 0 reads on (the next piece, or end, comes from a later loop callback or
 * before this returns), or a status to stop reading as a piece callback
 * would (end is then called with it). While paused the connection has
 * no timeout of its own (the handler is waiting, not the client), and
 * end may still be called (400: the connection was closed meanwhile);
 * resuming after that does nothing.
 */
void http_body_resume(struct http_request *req, int status);

/*
 * Answers whose body is too large to copy (WebDAV downloads). fill
 * writes up to cap bytes of the body at buf and returns how many (> 0),
 * -1 on failure (the connection is then closed: Content-Length was
 * promised), or HTTP_SOURCE_WAIT when it has nothing yet (a chunk is
 * being read off the loop): it is then not asked again until it calls
 * http_source_wake(src). src stays valid until done is called. done
 * releases ctx; it is called exactly once, when the body was sent, when
 * it is not needed (HEAD, the client went away) or failed.
 *
 * Back-pressure: fill is asked for the next piece only once the previous
 * one has been handed to the socket (at most SOURCE_CHUNK, 64 KiB,
 * queued), so a client that reads slowly slows the source down.
 */
struct http_source;
typedef ssize_t http_source_fn(
    void *ctx, struct http_source *src, char *buf, size_t cap);
typedef void http_source_done_fn(void *ctx);
#define HTTP_SOURCE_WAIT (-2)

/* The source that answered HTTP_SOURCE_WAIT has bytes: ask it again. */
void http_source_wake(struct http_source *src);

/*
 * Answer req like http_reply_ex with a body of len bytes that fill
 * produces as the client reads it: at most 64 KiB of it are held at a
 * time. ctx must not live in the request's arena (it outlives the call).
 */
void http_reply_source(struct http_request *req, int status,
    const char *content_type, const char *extra_headers, uint64_t len,
    http_source_fn *fill, http_source_done_fn *done, void *ctx);

/* The standard reason phrase for status ("Not Found"), or "Unknown". */
const char *http_reason(int status);

/* Called by server.c for each complete request. */
typedef void http_handler_fn(struct http_request *req, void *ctx);

/*
 * Request assembly, for server.c (and the unit tests and fuzzers: it does
 * no I/O). One struct http_parse per connection turns the bytes the client
 * sent into complete requests, one at a time, enforcing the size limits.
 */
struct http_parse;

enum http_feed_result {
	HTTP_FEED_MORE = 0, /* every byte used; the request is not complete */
	HTTP_FEED_REQUEST,  /* a complete request was written to *req */
	HTTP_FEED_ERROR,    /* unusable: answer *status and close */
	HTTP_FEED_PAUSE,    /* http_parse_body: the piece callback paused */
};

/*
 * The most bytes one request may take on the wire, framing included:
 * max_header_bytes for the request line and headers, as much again for
 * trailers, max_body_bytes for the body and as much again for chunk
 * sizes and extensions. A request that needs more is refused with 413
 * after at most this many bytes, whatever its framing, so the memory a
 * connection holds for one request is bounded by it.
 */
size_t http_max_request_bytes(size_t max_header_bytes, size_t max_body_bytes);

/*
 * A parser for requests whose request line and headers take at most
 * max_header_bytes, with at most max_headers header lines and bodies of at
 * most max_body_bytes, and at most http_max_request_bytes() in all.
 * Never returns NULL.
 */
struct http_parse *http_parse_new(
    size_t max_header_bytes, size_t max_body_bytes, size_t max_headers);
void http_parse_free(struct http_parse *hp);

/*
 * Requests for which fn(ctx, req) answers true, once their headers are in
 * and a body is announced, are handed out at that point with body_stream
 * set (req's method, target, path, query and headers are filled; the body
 * is left to http_parse_body, and max_body_bytes does not apply to it).
 * fn sees only req's method, target and path. NULL (the default) streams
 * nothing.
 */
typedef bool http_stream_fn(void *ctx, const struct http_request *req);
void http_parse_set_stream(
    struct http_parse *hp, http_stream_fn *fn, void *ctx);

/*
 * Continue assembling the request whose first byte is data[0]; len bytes
 * are available. Between calls the caller keeps those bytes unchanged (it
 * may move them, so data may differ, and it may append more); the parser
 * remembers how far it got and reads only the new bytes.
 *
 * Returns HTTP_FEED_REQUEST when the request is complete: the method,
 * target, path, query, headers, body and keep_alive of *req are set (the
 * other fields are left alone), and *consumed is its length in bytes; the
 * next request starts at data[*consumed]. The slices point into data and
 * into hp, valid until the next call or http_parse_free.
 * Returns HTTP_FEED_MORE when it needs more bytes; *consumed is then the
 * number of leading bytes the caller may drop (the empty lines a client may
 * send between requests; 0 once a request line has begun). Returns
 * HTTP_FEED_ERROR with
 * *status set to the answer (400 malformed, obsolete line folding or a
 * blank in a field name; 413 body or whole request too large; 431 headers
 * too large or too many; 505 a version other than HTTP/1.0 and 1.1) when
 * the connection cannot continue.
 */
enum http_feed_result http_parse_feed(struct http_parse *hp, const char *data,
    size_t len, struct http_request *req, size_t *consumed, int *status);

/*
 * Decode the streamed body of the request http_parse_feed just handed
 * out with body_stream set, from the len bytes at data: its content is
 * given to piece(ctx, ...) as it is decoded (nothing is kept, so memory
 * does not grow with the body). *consumed says how many bytes were used.
 * Returns HTTP_FEED_MORE (every byte used, the body goes on),
 * HTTP_FEED_REQUEST (the body is complete; the next request starts at
 * data[*consumed] and goes to http_parse_feed again), HTTP_FEED_PAUSE
 * (piece returned HTTP_BODY_PAUSE: the bytes it was given are consumed,
 * the rest is for a later call, which may have len 0 when the body
 * ended with those bytes) or HTTP_FEED_ERROR with *status: 400 malformed
 * chunk framing, 431 trailers too large, or the status piece returned.
 */
enum http_feed_result http_parse_body(struct http_parse *hp, const char *data,
    size_t len, http_body_fn *piece, void *ctx, size_t *consumed, int *status);

/* True while a streamed body is still to be read by http_parse_body. */
bool http_parse_in_body(const struct http_parse *hp);

/*
 * Whether the common request (a keep-alive GET whose head is whole and
 * plain; see http.c) may be read without libhttp-parser: on by default.
 * Off, libhttp-parser reads every request: the reference the fuzzer and
 * the unit tests compare the fast reading with.
 */
void http_parse_set_fast(struct http_parse *hp, bool fast);

/*
 * True once per request when its headers are complete, it asked for
 * "Expect: 100-continue" and its body is still to come: the caller then
 * sends "HTTP/1.1 100 Continue".
 */
bool http_parse_take_continue(struct http_parse *hp);

/*
 * Append a complete response to out: status line, Content-Type (NULL means
 * application/json), Content-Length, Connection (close or keep-alive), the
 * extra header lines, and the body unless head is set.
 */
void http_format_response(struct buf *out, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len, bool head,
    bool keep_alive);

/*
 * The one error body: append {"code":code,"message":"<message>"} to out,
 * message escaped. Every error answer is built here: the protocol's (code
 * and message from api.c's table), the web interface's, the transport's,
 * the metrics listener's and the control socket's ({"code":<status>,...}).
 */
void http_error_format(struct buf *out, int code, const char *message);

/*
 * Answer req with status and the error body {"code":<status>,"message":...}
 * (application/json, extra_headers as for http_reply_ex, or NULL).
 */
void http_error(struct http_request *req, int status, const char *extra_headers,
    const char *message);

/*
 * Append the transport's own error body for status (413, 431, 400, 408,
 * 503, 505) to out, as {"code":<status>,"message":"..."}; any other status
 * gets the body of a 500.
 */
void http_error_body(int status, struct buf *out);

/*
 * Free what http_alloc handed out for req, keeping one small chunk for the
 * next request on the connection (http_request_reset), or everything
 * (http_request_release).
 */
void http_request_reset(struct http_request *req);
void http_request_release(struct http_request *req);

#endif
