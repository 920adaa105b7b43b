/*
 * http.c: request assembly on libhttp-parser, the response writer, and the
 * per-request arena.
 *
 * The request most clients send (a plain GET, PUT or POST whose head is
 * whole in the buffer) is read by fast_head without the library, to the
 * same request; everything else is the library's (see "The common
 * request" below).
 *
 * Assembly is pure: http_parse_feed() is given the bytes of one request as
 * they arrive (the caller keeps them in one buffer) and reports a complete
 * request, a need for more bytes, or an error status. While parsing it
 * records offsets, never pointers, because the caller may move its buffer
 * between calls; the request's slices are made from the offsets only when
 * it is complete. Each byte is parsed once, so pipelined input costs O(n).
 *
 * Invariants: the header slices of a request are contiguous in the input
 * (obsolete line folding is refused with 400); the body is contiguous too
 * unless it was chunked, in which case it is copied into hp->body. The size
 * limits are enforced here so that the connection code (server.c) only has
 * to turn an error status into an answer.
 *
 * Not responsible for sockets, timeouts or connection counts (server.c),
 * nor for anything KOReader-specific (api.c).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* http_parser.h declares its own enum http_method; keep it out of our way. */
#define http_method http_parser_method
#include <http_parser.h>
#undef http_method

#include "http.h"
#include "json.h"
#include "xmalloc.h"

/*
 * Request assembly
 */

/* Where one header line lies in the request, as offsets from its start. */
struct hdr_pos {
	size_t name_off, name_len;
	size_t value_off, value_len;
};

struct http_parse {
	http_parser parser;
	size_t max_header_bytes;
	size_t max_body_bytes;
	size_t max_headers;
	size_t max_request_bytes; /* the whole request on the wire */

	const char *data; /* during a feed: the request's first byte */
	size_t data_len;  /* during a feed: the bytes at data */
	size_t parsed;    /* bytes of the current request parsed so far */

	size_t url_off, url_len;
	struct hdr_pos *pos;
	size_t npos, pos_cap;
	bool in_value;        /* the last header callback was a value */
	bool trailer_in_name; /* the last trailer callback was a name */
	bool trailers;        /* a trailer field has begun */
	bool chunked;         /* the headers asked for a chunked body */
	struct http_header *hdrs;
	size_t hdrs_cap;
	size_t body_off, body_len;
	size_t body_end; /* offset just past the last piece of body */
	bool body_start; /* the next body piece starts a chunk (or body) */
	size_t line_off; /* where the next chunk-size line starts */
	size_t line_end; /* just past the last chunk-size line (or headers) */
	size_t trailer_bytes;
	bool body_copied; /* body is in hp->body, not in the input */
	struct buf body;

	/* Streamed bodies (http_parse_set_stream, http_parse_body). */
	http_stream_fn *stream_fn;
	void *stream_ctx;
	struct buf head;   /* a streamed request's head, copied */
	uint64_t length;   /* announced length, UINT64_MAX when chunked */
	uint64_t left;     /* bytes of the body, or chunk, still to come */
	size_t line_bytes; /* of the chunk-size line being read */
	int bstate;        /* enum body_state */
	unsigned digits;   /* hex digits of the chunk size so far */
	bool stream;       /* this request's body is streamed */
	bool in_body;      /* http_parse_body has the connection's bytes */

	bool begun; /* the request line has started */
	bool headers_done;
	bool complete;
	bool want_continue;
	bool keep_alive;
	int status; /* non-zero once the request is refused */
	/* libhttp-parser reads every request (http_parse_set_fast). */
	bool slow;
	/*
	 * The length of the request fast_head read, head and body, while it
	 * is handed out or waits for the rest of its body; 0 otherwise.
	 */
	size_t fast_end;
};

static int
refuse(struct http_parse *hp, int status)
{
	if (hp->status == 0)
		hp->status = status;
	return -1;
}

/* Offset of at from the request's first byte. */
static size_t
offset_of(const struct http_parse *hp, const char *at)
{
	return (size_t)(at - hp->data);
}

static int
on_message_begin(http_parser *p)
{
	struct http_parse *hp = p->data;

	hp->begun = true;
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;
	size_t off = offset_of(hp, at);

	if (off + len > hp->max_header_bytes)
		return refuse(hp, 431);
	if (hp->url_len == 0)
		hp->url_off = off;
	else if (hp->url_off + hp->url_len != off)
		return refuse(hp, 400);
	hp->url_len += len;
	return 0;
}

/*
 * Line ends. libhttp-parser (built lenient, as Debian ships it) takes any
 * byte for the LF after the CR that ends the header block or the trailers,
 * for the CR LF after a chunk's data and for the LF ending a chunk-size
 * line ("X: a\r\n\rZ" ends the headers, "Z" included), and takes an LF
 * inside a chunk extension for part of it. A recipient must treat a bare
 * CR as invalid (RFC 9112 §2.2), and a framing that another server reads
 * differently is how requests are smuggled: these checks make each such
 * line end a real LF and each chunk-size line one line, from the offsets
 * the callbacks see.
 */

/* True when the byte before off (in the request) is an LF. */
static bool
ends_line(const struct http_parse *hp, size_t off)
{
	return off > 0 && hp->data[off - 1] == '\n';
}

/*
 * When the line that starts at off ends in LF and is followed by an empty
 * line (LF or CR LF), the offset just past that empty line: the end of a
 * header block whose last line (the request line or the last field)
 * starts at off. 0 when the block does not end so.
 */
static size_t
block_end(const struct http_parse *hp, size_t off)
{
	const char *p = hp->data + off, *end = hp->data + hp->data_len;
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (lf == NULL || lf + 1 >= end)
		return 0;
	if (lf[1] == '\n')
		return offset_of(hp, lf + 2);
	if (lf[1] == '\r' && lf + 2 < end && lf[2] == '\n')
		return offset_of(hp, lf + 3);
	return 0;
}

/*
 * Trailer fields after a chunked body are not handed to the handler (they
 * must not pass for headers); they only count against the header limit.
 */
static int
on_trailer(struct http_parse *hp, size_t len)
{
	hp->trailer_bytes += len;
	if (hp->trailer_bytes > hp->max_header_bytes)
		return refuse(hp, 431);
	return 0;
}

/* A new header line's slot (hp->npos < hp->max_headers). */
static struct hdr_pos *
pos_push(struct http_parse *hp)
{
	if (hp->npos == hp->pos_cap) {
		hp->pos_cap = hp->pos_cap ? hp->pos_cap * 2 : 16;
		if (hp->pos_cap > hp->max_headers)
			hp->pos_cap = hp->max_headers;
		hp->pos = xrealloc(hp->pos, hp->pos_cap * sizeof(*hp->pos));
	}
	return &hp->pos[hp->npos++];
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;
	size_t off = offset_of(hp, at);
	struct hdr_pos *h;

	/*
	 * http_parser lets blanks into a field name ("Content-Length : 5"
	 * counts as Content-Length); RFC 9112 §5.1 says answer 400.
	 */
	if (memchr(at, ' ', len) != NULL || memchr(at, '\t', len) != NULL)
		return refuse(hp, 400);
	if (hp->headers_done) {
		/* A new trailer field starts a line. */
		if (!hp->trailer_in_name &&
		    (hp->trailers ? !ends_line(hp, off) : off != hp->line_end))
			return refuse(hp, 400);
		hp->trailer_in_name = hp->trailers = true;
		return on_trailer(hp, len);
	}
	/* So does a new header field. */
	if ((hp->npos == 0 || hp->in_value) && !ends_line(hp, off))
		return refuse(hp, 400);
	if (off + len > hp->max_header_bytes)
		return refuse(hp, 431);
	if (hp->npos > 0 && !hp->in_value) {
		h = &hp->pos[hp->npos - 1];
		if (h->name_off + h->name_len != off)
			return refuse(hp, 400);
		h->name_len += len;
		return 0;
	}
	if (hp->npos == hp->max_headers)
		return refuse(hp, 431);
	h = pos_push(hp);
	h->name_off = off;
	h->name_len = len;
	h->value_off = off + len;
	h->value_len = 0;
	hp->in_value = false;
	return 0;
}

/*
 * True when the bytes from a field name's end to where http_parser says its
 * value starts hold a line break followed by a blank: obsolete line
 * folding (RFC 9112 §5.2), which http_parser accepts when the first line's
 * value is empty ("X:\r\n folded"). A non-empty first line is caught
 * by on_header_value (the second piece does not follow the first).
 */
static bool
is_folded(const struct http_parse *hp, size_t from, size_t to)
{
	const char *p = hp->data + from, *end = hp->data + to;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if (p < end && (*p == ' ' || *p == '\t'))
			return true;
	}
	return false;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;
	size_t off = offset_of(hp, at);
	struct hdr_pos *h;

	if (hp->headers_done) {
		hp->trailer_in_name = false;
		return on_trailer(hp, len);
	}
	if (off + len > hp->max_header_bytes)
		return refuse(hp, 431);
	if (hp->npos == 0)
		return refuse(hp, 400);
	h = &hp->pos[hp->npos - 1];
	if (!hp->in_value) {
		if (is_folded(hp, h->name_off + h->name_len, off))
			return refuse(hp, 400);
		h->value_off = off;
		h->value_len = len;
		hp->in_value = true;
		return 0;
	}
	/* A second piece that does not follow the first is a folded line. */
	if (h->value_off + h->value_len != off)
		return refuse(hp, 400);
	h->value_len += len;
	return 0;
}

/*
 * True when a complete chunked request ends in an empty line right after
 * the last chunk's line, or after an LF when there were trailers: the
 * check libhttp-parser leaves out there (see ends_line).
 */
static bool
chunked_ends(const struct http_parse *hp)
{
	const char *e = hp->data + hp->parsed;
	size_t n = hp->parsed - hp->line_end;

	if (!hp->trailers)
		return (n == 1 && e[-1] == '\n') ||
		       (n == 2 && e[-2] == '\r' && e[-1] == '\n');
	if (hp->parsed < 3 || e[-1] != '\n')
		return false;
	return e[-2] == '\n' || (e[-2] == '\r' && e[-3] == '\n');
}

static bool
pos_is(const struct http_parse *hp, const struct hdr_pos *h, const char *name,
    const char *value)
{
	struct str n = {hp->data + h->name_off, h->name_len};
	struct str v = {hp->data + h->value_off, h->value_len};

	while (v.len > 0 && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
		v.len--;
	return str_caseeqs(n, name) && str_caseeqs(v, value);
}

/* Whether the request's header lines ask for "Expect: 100-continue". */
static bool
expects_continue(const struct http_parse *hp)
{
	size_t i;

	for (i = 0; i < hp->npos; i++)
		if (pos_is(hp, &hp->pos[i], "expect", "100-continue"))
			return true;
	return false;
}

static enum http_method method_of(unsigned m);
static void body_begin(struct http_parse *hp);

/*
 * Ask the stream predicate about the request whose headers are in. It
 * sees the method and the target only (no headers: this runs for every
 * request with a body, pushes included, and costs a memchr).
 */
static bool
stream_wanted(struct http_parse *hp)
{
	struct http_request req;
	const char *q;

	memset(&req, 0, sizeof(req));
	req.method = method_of(hp->parser.method);
	req.target = (struct str){hp->data + hp->url_off, hp->url_len};
	req.path = req.target;
	q = memchr(req.target.p, '?', req.target.len);
	if (q != NULL)
		req.path.len = (size_t)(q - req.target.p);
	return hp->stream_fn(hp->stream_ctx, &req);
}

static int
on_headers_complete(http_parser *p)
{
	struct http_parse *hp = p->data;
	bool has_body;

	hp->headers_done = true;
	hp->line_off =
	    block_end(hp, hp->npos > 0 ? hp->pos[hp->npos - 1].name_off
	                               : hp->url_off + hp->url_len);
	if (hp->line_off == 0)
		return refuse(hp, 400);
	hp->line_end = hp->line_off;
	/*
	 * Only HTTP/1.0 and 1.1. A request line without a version (HTTP/0.9
	 * style: the target ends the line) is malformed; another version is
	 * 505 (RFC 9110 §15.6.6).
	 */
	if (p->http_major != 1 || p->http_minor > 1) {
		if (hp->data[hp->url_off + hp->url_len] != ' ')
			return refuse(hp, 400);
		return refuse(hp, 505);
	}
	hp->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	has_body = (p->flags & F_CHUNKED) ||
	           (p->content_length != UINT64_MAX && p->content_length > 0);
	if (has_body && !p->upgrade && hp->stream_fn != NULL &&
	    stream_wanted(hp)) {
		/* The body is http_parse_body's: skip it here (1). */
		hp->stream = true;
		hp->length =
		    (p->flags & F_CHUNKED) ? UINT64_MAX : p->content_length;
		return 1;
	}
	if (p->content_length != UINT64_MAX &&
	    p->content_length > hp->max_body_bytes)
		return refuse(hp, 413);
	if (!has_body || p->upgrade)
		return 0;
	/* Kept: a "Transfer-Encoding" trailer changes p->flags. */
	hp->chunked = (p->flags & F_CHUNKED) != 0;
	hp->body_start = true;
	hp->want_continue = expects_continue(hp);
	return 0;
}

static int
on_chunk_header(http_parser *p)
{
	struct http_parse *hp = p->data;

	const char *line = hp->data + hp->line_off, *lf, *c;
	uint64_t size = 0;
	int d;

	/* p->content_length is the size of the chunk that follows. */
	if (p->content_length > hp->max_body_bytes - hp->body_len)
		return refuse(hp, 413);
	/*
	 * The chunk-size line is one line, up to its first LF: hex digits
	 * giving the size libhttp-parser took (it skips bytes it does not
	 * know in a size), blanks, then extensions after a ';' with no
	 * control byte but HTAB, and no CR but the one before the LF.
	 */
	lf = memchr(line, '\n', hp->data_len - hp->line_off);
	if (lf == NULL)
		return refuse(hp, 400);
	for (c = line; c < lf && (d = str_hex_digit(*c)) >= 0; c++) {
		if (size > UINT64_MAX >> 4)
			return refuse(hp, 400);
		size = size * 16 + (uint64_t)d;
	}
	if (c == line || size != p->content_length)
		return refuse(hp, 400);
	while (c < lf && (*c == ' ' || *c == '\t'))
		c++;
	if (c < lf && *c != ';' && !(*c == '\r' && c + 1 == lf))
		return refuse(hp, 400);
	for (; c < lf; c++) {
		if ((unsigned char)*c >= 0x20 && *c != 0x7f)
			continue;
		if (*c != '\t' && !(*c == '\r' && c + 1 == lf))
			return refuse(hp, 400);
	}
	hp->line_end = offset_of(hp, lf + 1);
	hp->body_start = true;
	return 0;
}

/* A chunk's data must be followed by CR LF. */
static int
on_chunk_complete(http_parser *p)
{
	struct http_parse *hp = p->data;
	const char *e = hp->data + hp->body_end;

	/* The last chunk's end is checked with the trailers' (feed). */
	if (p->flags & F_TRAILING)
		return 0;
	if (hp->body_end + 2 > hp->data_len || e[0] != '\r' || e[1] != '\n')
		return refuse(hp, 400);
	hp->line_off = hp->body_end + 2;
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct http_parse *hp = p->data;
	size_t off = offset_of(hp, at);

	if (len > hp->max_body_bytes - hp->body_len)
		return refuse(hp, 413);
	/* A chunk's data (or the body) starts where its line ended. */
	if (hp->body_start) {
		if (off != hp->line_end)
			return refuse(hp, 400);
		hp->body_start = false;
	}
	hp->body_end = off + len;
	/* Once the body arrives, the client no longer waits for a 100. */
	hp->want_continue = false;
	if (!hp->body_copied) {
		if (hp->body_len == 0) {
			hp->body_off = off;
			hp->body_len = len;
			return 0;
		}
		if (hp->body_off + hp->body_len == off) {
			hp->body_len += len;
			return 0;
		}
		/* Chunked: the pieces are not adjacent, so collect them. */
		buf_reset(&hp->body);
		buf_add(&hp->body, hp->data + hp->body_off, hp->body_len);
		hp->body_copied = true;
	}
	buf_add(&hp->body, at, len);
	hp->body_len += len;
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	struct http_parse *hp = p->data;

	hp->complete = true;
	/* Stop here: the next request waits until this one is answered. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parse_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
    .on_chunk_complete = on_chunk_complete,
};

size_t
http_max_request_bytes(size_t max_header_bytes, size_t max_body_bytes)
{
	return 2 * max_header_bytes + 2 * max_body_bytes;
}

struct http_parse *
http_parse_new(
    size_t max_header_bytes, size_t max_body_bytes, size_t max_headers)
{
	struct http_parse *hp = xcalloc(1, sizeof(*hp));

	assert(max_headers > 0);
	/* http_parser has its own (global) header cap: keep it above ours. */
	if (max_header_bytes > HTTP_MAX_HEADER_SIZE - 1024)
		http_parser_set_max_header_size(
		    (uint32_t)(max_header_bytes + 1024));
	http_parser_init(&hp->parser, HTTP_REQUEST);
	hp->parser.data = hp;
	hp->max_header_bytes = max_header_bytes;
	hp->max_body_bytes = max_body_bytes;
	hp->max_headers = max_headers;
	hp->max_request_bytes =
	    http_max_request_bytes(max_header_bytes, max_body_bytes);
	buf_init(&hp->body);
	buf_init(&hp->head);
	return hp;
}

void
http_parse_free(struct http_parse *hp)
{
	if (hp == NULL)
		return;
	free(hp->pos);
	free(hp->hdrs);
	buf_release(&hp->body);
	buf_release(&hp->head);
	free(hp);
}

/* Forget the request just handed out; the next one starts afresh. */
static void
parse_next(struct http_parse *hp)
{
	hp->parsed = 0;
	hp->url_off = hp->url_len = 0;
	hp->npos = 0;
	hp->in_value = hp->trailer_in_name = hp->trailers = false;
	hp->chunked = false;
	hp->stream = false;
	hp->line_off = hp->line_end = 0;
	hp->body_off = hp->body_len = 0;
	hp->body_end = 0;
	hp->body_start = false;
	hp->trailer_bytes = 0;
	hp->body_copied = false;
	hp->begun = hp->headers_done = hp->complete = false;
	hp->want_continue = hp->keep_alive = false;
	hp->fast_end = 0;
	/* Give back a large chunked body's memory. */
	if (hp->body.len > 4096)
		buf_release(&hp->body);
	http_parser_pause(&hp->parser, 0);
}

static enum http_method
method_of(unsigned m)
{
	switch (m) {
	case HTTP_GET:
		return HTTP_M_GET;
	case HTTP_HEAD:
		return HTTP_M_HEAD;
	case HTTP_POST:
		return HTTP_M_POST;
	case HTTP_PUT:
		return HTTP_M_PUT;
	case HTTP_DELETE:
		return HTTP_M_DELETE;
	case HTTP_OPTIONS:
		return HTTP_M_OPTIONS;
	case HTTP_PATCH:
		return HTTP_M_PATCH;
	case HTTP_PROPFIND:
		return HTTP_M_PROPFIND;
	case HTTP_PROPPATCH:
		return HTTP_M_PROPPATCH;
	case HTTP_MKCOL:
		return HTTP_M_MKCOL;
	case HTTP_COPY:
		return HTTP_M_COPY;
	case HTTP_MOVE:
		return HTTP_M_MOVE;
	default:
		return HTTP_M_OTHER;
	}
}

static struct str
trim(struct str s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/* Turn the recorded offsets into the slices of *req. */
static void
fill_request(struct http_parse *hp, const char *data, struct http_request *req)
{
	const char *q;
	size_t i;

	req->method = method_of(hp->parser.method);
	req->method_name = str_from(http_method_str(hp->parser.method));
	req->target = (struct str){data + hp->url_off, hp->url_len};
	q = memchr(req->target.p, '?', req->target.len);
	if (q != NULL) {
		req->path =
		    (struct str){req->target.p, (size_t)(q - req->target.p)};
		req->query =
		    (struct str){q + 1, req->target.len - req->path.len - 1};
	} else {
		req->path = req->target;
		req->query = (struct str){"", 0};
	}
	req->route = req->path;
	if (hp->npos > hp->hdrs_cap) {
		hp->hdrs_cap = hp->pos_cap;
		hp->hdrs = xrealloc(hp->hdrs, hp->hdrs_cap * sizeof(*hp->hdrs));
	}
	for (i = 0; i < hp->npos; i++) {
		const struct hdr_pos *h = &hp->pos[i];

		hp->hdrs[i].name =
		    (struct str){data + h->name_off, h->name_len};
		hp->hdrs[i].value =
		    trim((struct str){data + h->value_off, h->value_len});
	}
	req->headers = hp->hdrs;
	req->nheaders = hp->npos;
	if (hp->body_len == 0)
		req->body = (struct str){"", 0};
	else if (hp->body_copied)
		req->body = (struct str){hp->body.data, hp->body_len};
	else
		req->body = (struct str){data + hp->body_off, hp->body_len};
	req->keep_alive = hp->keep_alive;
	req->body_stream = false;
	req->body_length = 0;
}

/*
 * The common request, read without libhttp-parser
 *
 * A keep-alive read (KOReader's pull, the web interface's GETs) spent a
 * third of its user-space instructions in libhttp-parser's byte-by-byte
 * state machine (docs/performance.md). fast_head reads the request most
 * clients send, word by word where it can: a GET, PUT or POST of an
 * origin-form target ("/..."), HTTP/1.1, whose head is whole in the
 * buffer, every line ending in CR LF, field names of token characters,
 * values of visible ASCII, blanks and tabs, no field whose name begins
 * like one libhttp-parser gives a meaning to
 * (Transfer-Encoding, Upgrade, Proxy-Connection, ...) but a Connection of
 * close, keep-alive and TE (fast_connection) and one Content-Length of
 * up to 9 digits (fast_length), within max_header_bytes, max_headers and
 * max_body_bytes, and a body the stream predicate does not take. Such a
 * request is one libhttp-parser and the checks above accept too, and it
 * is read to the same request; a body still to come (LuaSocket writes
 * the head and the body apart) is waited for, with the 100-continue the
 * library would ask for. Anything else (a head not yet whole included)
 * goes to libhttp-parser, which is then the only judge of the bytes:
 * fast_head never refuses. fuzz_fasthead compares the two on every
 * input, in pieces too.
 */

/* RFC 9110 §5.6.2 tchar, as two 64-bit maps of the ASCII bytes. */
static const uint64_t tchar_map[2] = {
    0x03ff6cfa00000000ULL, 0x57ffffffc7fffffeULL};

static bool
is_tchar(unsigned char c)
{
	return c < 128 && ((tchar_map[c >> 6] >> (c & 63)) & 1) != 0;
}

/* A byte of the target: visible ASCII but '#'. */
static bool
is_target_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

/* Whether the 8 bytes at s are all bytes of the target. */
static bool
word_target(const char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	return ((word_bytes_below(w, 0x21) | w | word_bytes_eq(w, 0x7f) |
	            word_bytes_eq(w, '#')) &
	           WORD_HIGH_BITS) == 0;
}

/* A byte of a field value: visible ASCII, a blank or a tab. */
static bool
is_value_byte(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\t';
}

/* Whether the 8 bytes at s are all visible ASCII or blanks. */
static bool
word_value(const char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	return ((word_bytes_below(w, 0x20) | w | word_bytes_eq(w, 0x7f)) &
	           WORD_HIGH_BITS) == 0;
}

/* Whether the name at d (len bytes) starts with prefix, in any case. */
static bool
name_starts(const char *d, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(d, prefix, n) == 0;
}

/*
 * What a Connection value fast_head reads says: 1 keep-alive, 0 close, -1
 * leave it to libhttp-parser. It reads a list of the tokens close,
 * keep-alive and TE (KOReader's LuaSocket sends "close, TE"), separated by
 * commas with blanks around them; close wins, as in libhttp-parser.
 */
static int
fast_connection(struct str v)
{
	const char *p = v.p, *end = v.p + v.len, *t;
	struct str tok;
	int keep = 1;

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (t = p; p < end && *p != ',' && *p != ' ' && *p != '\t';)
			p++;
		tok = (struct str){t, (size_t)(p - t)};
		if (str_caseeqs(tok, "close"))
			keep = 0;
		else if (!str_caseeqs(tok, "keep-alive") &&
		         !str_caseeqs(tok, "te"))
			return -1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			return keep;
		if (*p++ != ',')
			return -1;
	}
}

/* What fast_head has read of the fields that frame the request. */
struct fast_frame {
	bool keep_alive;
	uint64_t length; /* Content-Length, UINT64_MAX when none */
};

/*
 * A Content-Length value fast_head reads: 1 to 9 digits (blanks after
 * them included). UINT64_MAX otherwise.
 */
static uint64_t
fast_length(const char *p, size_t len)
{
	uint64_t n = 0;
	size_t i;

	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0 || len > 9)
		return UINT64_MAX;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return UINT64_MAX;
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	return n;
}

/*
 * Read the field line at d (name_len bytes of name, then value_len of
 * value, blanks after it included, from value) into *f. False when it is
 * one fast_head leaves to libhttp-parser: a name that begins like a field
 * libhttp-parser gives a meaning to (it refuses "Transfer-Encoding" with
 * anything after it, as a whole name), but a Connection that
 * fast_connection reads and a single Content-Length that fast_length
 * reads.
 */
static bool
fast_field(const char *d, size_t name_len, const char *value, size_t value_len,
    struct fast_frame *f)
{
	int c;

	switch (d[0] | 0x20) {
	case 'c':
		if (name_len == 10 && name_starts(d, name_len, "connection")) {
			c = fast_connection((struct str){value, value_len});
			if (c == 0)
				f->keep_alive = false;
			return c != -1;
		}
		if (name_len == 14 &&
		    name_starts(d, name_len, "content-length")) {
			if (f->length != UINT64_MAX)
				return false;
			f->length = fast_length(value, value_len);
			return f->length != UINT64_MAX;
		}
		return !name_starts(d, name_len, "connection") &&
		       !name_starts(d, name_len, "content-length");
	case 'p':
		return !name_starts(d, name_len, "proxy-connection");
	case 't':
		return !name_starts(d, name_len, "transfer-encoding");
	case 'u':
		return !name_starts(d, name_len, "upgrade");
	default:
		return true;
	}
}

/* The method at the start of d (len bytes) fast_head reads, and its size. */
static size_t
fast_method(const char *d, size_t len, unsigned *method)
{
	if (len >= 5 && memcmp(d, "GET /", 5) == 0) {
		*method = HTTP_GET;
		return 3;
	}
	if (len >= 5 && memcmp(d, "PUT /", 5) == 0) {
		*method = HTTP_PUT;
		return 3;
	}
	if (len >= 6 && memcmp(d, "POST /", 6) == 0) {
		*method = HTTP_POST;
		return 4;
	}
	return 0;
}

/*
 * Read the request at d (len bytes) when its head is whole and it is the
 * common one: its method, target, header lines, keep-alive and where its
 * body lies are recorded as libhttp-parser's callbacks would record them,
 * and hp->fast_end is its length, head and body (the body may still be
 * to come). False (nothing recorded) leaves it to libhttp-parser.
 */
static bool
fast_head(struct http_parse *hp, const char *d, size_t len)
{
	static const char version[] = " HTTP/1.1\r\n";
	struct fast_frame f = {true, UINT64_MAX};
	struct hdr_pos *h;
	size_t i, name, name_len, value, head = len;
	unsigned method;

	if (head > hp->max_header_bytes)
		head = hp->max_header_bytes;
	if ((i = fast_method(d, head, &method)) == 0)
		return false;
	hp->url_off = ++i;
	while (i + 8 <= head && word_target(d + i))
		i += 8;
	while (i < head && is_target_byte((unsigned char)d[i]))
		i++;
	if (head - i < sizeof(version) - 1 ||
	    memcmp(d + i, version, sizeof(version) - 1) != 0)
		goto slow;
	hp->url_len = i - hp->url_off;
	i += sizeof(version) - 1;
	hp->npos = 0;
	while (i < head && d[i] != '\r') {
		name = i;
		while (i < head && is_tchar((unsigned char)d[i]))
			i++;
		name_len = i - name;
		if (name_len == 0 || i == head || d[i] != ':')
			goto slow;
		i++;
		while (i < head && (d[i] == ' ' || d[i] == '\t'))
			i++;
		value = i;
		while (i + 8 <= head && word_value(d + i))
			i += 8;
		while (i < head && is_value_byte((unsigned char)d[i]))
			i++;
		if (i + 2 > head || d[i] != '\r' || d[i + 1] != '\n' ||
		    hp->npos == hp->max_headers ||
		    !fast_field(d + name, name_len, d + value, i - value, &f))
			goto slow;
		h = pos_push(hp);
		h->name_off = name;
		h->name_len = name_len;
		h->value_off = value;
		h->value_len = i - value;
		i += 2;
	}
	if (i + 2 > head || d[i + 1] != '\n')
		goto slow;
	i += 2;
	hp->parser.method = method & 0xff; /* for stream_wanted too */
	hp->keep_alive = f.keep_alive;
	if (f.length != UINT64_MAX && f.length > 0) {
		/* A body (whole or to come), within the limit, not streamed. */
		if (f.length > hp->max_body_bytes ||
		    (hp->stream_fn != NULL && stream_wanted(hp)))
			goto slow;
		hp->body_off = i;
		hp->body_len = (size_t)f.length;
		/* As libhttp-parser: asked for, and no byte of it yet. */
		hp->want_continue = len == i && expects_continue(hp);
	}
	/* Set last: a head left to the library leaves no trace of it. */
	hp->fast_end = i + hp->body_len;
	return true;
slow:
	hp->npos = 0;
	hp->url_off = hp->url_len = 0;
	hp->keep_alive = false;
	return false;
}

enum http_feed_result
http_parse_feed(struct http_parse *hp, const char *data, size_t len,
    struct http_request *req, size_t *consumed, int *status)
{
	enum http_errno err;
	size_t n, avail;

	assert(len >= hp->parsed);
	assert(!hp->in_body);
	*consumed = 0;
	if (hp->status != 0) {
		*status = hp->status;
		return HTTP_FEED_ERROR;
	}
	/* http_parser takes a zero length as end of input: never pass one. */
	if (len == hp->parsed)
		return HTTP_FEED_MORE;
	hp->data = data;
	hp->data_len = len;
	if (hp->fast_end != 0 ||
	    (hp->parsed == 0 && !hp->slow && fast_head(hp, data, len))) {
		/* Read by fast_head: whole, or waiting for its body. */
		if (len < hp->fast_end) {
			if (len > hp->body_off)
				hp->want_continue = false;
			hp->parsed = len;
			return HTTP_FEED_MORE;
		}
		fill_request(hp, data, req);
		*consumed = hp->fast_end;
		parse_next(hp);
		return HTTP_FEED_REQUEST;
	}
	/*
	 * Never parse past the request's bound: what the framing costs
	 * (chunk sizes, extensions, trailers) counts too, so the caller's
	 * buffer holds at most max_request_bytes of one request.
	 */
	avail = len - hp->parsed;
	if (avail > hp->max_request_bytes - hp->parsed)
		avail = hp->max_request_bytes - hp->parsed;
	n = http_parser_execute(
	    &hp->parser, &parse_settings, data + hp->parsed, avail);
	hp->parsed += n;
	err = HTTP_PARSER_ERRNO(&hp->parser);
	if (hp->status == 0 && !hp->complete && err != HPE_OK)
		hp->status = err == HPE_HEADER_OVERFLOW ? 431 : 400;
	if (hp->status == 0 && !hp->headers_done &&
	    hp->parsed > hp->max_header_bytes)
		hp->status = 431;
	if (hp->status == 0 && !hp->complete &&
	    hp->parsed >= hp->max_request_bytes)
		hp->status = 413;
	if (hp->status == 0 && hp->complete && hp->chunked && !chunked_ends(hp))
		hp->status = 400;
	if (hp->status != 0) {
		*status = hp->status;
		return HTTP_FEED_ERROR;
	}
	if (!hp->complete) {
		/* Blank lines before a request line: the caller drops them. */
		if (!hp->begun) {
			*consumed = hp->parsed;
			hp->parsed = 0;
		}
		return HTTP_FEED_MORE;
	}
	if (hp->stream) {
		/* The head must outlive the caller's buffer: copy it. */
		buf_reset(&hp->head);
		buf_add(&hp->head, data, hp->parsed);
		fill_request(hp, hp->head.data, req);
		req->body_stream = true;
		req->body_length = hp->length;
		body_begin(hp);
	} else {
		fill_request(hp, data, req);
	}
	*consumed = hp->parsed;
	parse_next(hp);
	return HTTP_FEED_REQUEST;
}

void
http_parse_set_fast(struct http_parse *hp, bool fast)
{
	hp->slow = !fast;
}

/*
 * Streamed bodies
 *
 * Decoded here, byte by byte where framing is concerned and in runs where
 * data is, so that nothing of the body stays in the caller's buffer: the
 * state below is all that survives between calls. The grammar is RFC 9112
 * §7.1, as strict as http_parse_feed's: hex digits, optional blanks and
 * ";" extensions (no control byte but HTAB), a line end (LF, or CR LF),
 * the data, CR LF; after the last (zero) chunk, trailer lines up to an
 * empty one, counted against max_header_bytes and dropped.
 */
enum body_state {
	BS_LENGTH,      /* Content-Length: hp->left bytes to come */
	BS_SIZE,        /* hex digits of a chunk size */
	BS_EXT,         /* blanks and extensions after the size */
	BS_SIZE_LF,     /* the LF after a CR ending the size line */
	BS_DATA,        /* hp->left bytes of chunk data */
	BS_DATA_CR,     /* the CR after a chunk's data */
	BS_DATA_LF,     /* the LF after it */
	BS_TRAILER,     /* the start of a trailer line, or the final line */
	BS_TRAILER_TXT, /* inside a trailer line */
	BS_TRAILER_LF,  /* the LF after a CR ending a trailer line */
	BS_END_LF,      /* the LF of the final empty line */
	BS_DONE,
};

/* The longest chunk-size line (size and extensions) a body may send. */
#define HTTP_MAX_CHUNK_LINE 4096

static void
body_begin(struct http_parse *hp)
{
	hp->in_body = true;
	hp->left = hp->length == UINT64_MAX ? 0 : hp->length;
	hp->bstate = hp->length == UINT64_MAX ? BS_SIZE : BS_LENGTH;
	hp->line_bytes = 0;
	hp->digits = 0;
	hp->trailer_bytes = 0;
}

void
http_parse_set_stream(struct http_parse *hp, http_stream_fn *fn, void *ctx)
{
	hp->stream_fn = fn;
	hp->stream_ctx = ctx;
}

bool
http_parse_in_body(const struct http_parse *hp)
{
	return hp->in_body;
}

/* One byte of a chunk-size line. Returns 0, or the status to refuse. */
static int
body_size_byte(struct http_parse *hp, unsigned char ch)
{
	int d;

	if (++hp->line_bytes > HTTP_MAX_CHUNK_LINE)
		return 400;
	if (hp->bstate == BS_SIZE && (d = str_hex_digit((char)ch)) >= 0) {
		if (hp->left > UINT64_MAX >> 4)
			return 400;
		hp->left = hp->left * 16 + (uint64_t)d;
		hp->digits++;
		return 0;
	}
	if (hp->bstate == BS_SIZE && hp->digits == 0)
		return 400;
	hp->bstate = BS_EXT;
	if (ch == '\r') {
		hp->bstate = BS_SIZE_LF;
		return 0;
	}
	if (ch == '\n') {
		hp->bstate = hp->left == 0 ? BS_TRAILER : BS_DATA;
		return 0;
	}
	if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
		return 400;
	return 0;
}

enum http_feed_result
http_parse_body(struct http_parse *hp, const char *data, size_t len,
    http_body_fn *piece, void *ctx, size_t *consumed, int *status)
{
	size_t i = 0, n;
	unsigned char ch;
	int st = 0;

	assert(hp->in_body);
	*consumed = 0;
	while (i < len && hp->bstate != BS_DONE) {
		if (hp->bstate == BS_LENGTH || hp->bstate == BS_DATA) {
			n = len - i;
			if ((uint64_t)n > hp->left)
				n = (size_t)hp->left;
			if (n > 0 && (st = piece(ctx, data + i, n)) != 0 &&
			    st != HTTP_BODY_PAUSE)
				break;
			i += n;
			hp->left -= n;
			if (hp->left == 0)
				hp->bstate = hp->bstate == BS_LENGTH
				                 ? BS_DONE
				                 : BS_DATA_CR;
			if (st == HTTP_BODY_PAUSE) {
				/* The rest waits for the caller's next call. */
				*consumed = i;
				return HTTP_FEED_PAUSE;
			}
			continue;
		}
		ch = (unsigned char)data[i++];
		switch (hp->bstate) {
		case BS_SIZE:
		case BS_EXT:
			st = body_size_byte(hp, ch);
			break;
		case BS_SIZE_LF:
			if (ch != '\n')
				st = 400;
			else
				hp->bstate =
				    hp->left == 0 ? BS_TRAILER : BS_DATA;
			break;
		case BS_DATA_CR:
			if (ch != '\r')
				st = 400;
			hp->bstate = BS_DATA_LF;
			break;
		case BS_DATA_LF:
			if (ch != '\n')
				st = 400;
			hp->bstate = BS_SIZE;
			hp->line_bytes = 0;
			hp->digits = 0;
			hp->left = 0;
			break;
		case BS_TRAILER:
			if (ch == '\n')
				hp->bstate = BS_DONE;
			else if (ch == '\r')
				hp->bstate = BS_END_LF;
			else if (ch == ' ' || ch < 0x20 || ch == 0x7f)
				st = 400; /* folding, or a control byte */
			else
				hp->bstate = BS_TRAILER_TXT;
			break;
		case BS_TRAILER_TXT:
			if (ch == '\n')
				hp->bstate = BS_TRAILER;
			else if (ch == '\r')
				hp->bstate = BS_TRAILER_LF;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				st = 400;
			break;
		case BS_TRAILER_LF:
		case BS_END_LF:
			if (ch != '\n')
				st = 400;
			else
				hp->bstate = hp->bstate == BS_END_LF
				                 ? BS_DONE
				                 : BS_TRAILER;
			break;
		default:
			st = 400;
			break;
		}
		if (st == 0 && hp->bstate >= BS_TRAILER &&
		    ++hp->trailer_bytes > hp->max_header_bytes)
			st = 431;
		if (st != 0)
			break;
	}
	*consumed = i;
	if (st != 0) {
		/* The connection cannot go on: it closes after the answer. */
		hp->in_body = false;
		hp->status = st;
		*status = st;
		return HTTP_FEED_ERROR;
	}
	if (hp->bstate != BS_DONE)
		return HTTP_FEED_MORE;
	hp->in_body = false;
	return HTTP_FEED_REQUEST;
}

bool
http_parse_take_continue(struct http_parse *hp)
{
	bool want = hp->want_continue && hp->status == 0 && !hp->complete;

	hp->want_continue = false;
	return want;
}

/*
 * Requests as handlers see them
 */

const struct str *
http_header_get(const struct http_request *req, const char *name, size_t *count)
{
	const struct str *found = NULL;
	size_t i, n = 0, len = strlen(name);
	struct str h;

	for (i = 0; i < req->nheaders; i++) {
		/* The length first: most names differ in it. */
		h = req->headers[i].name;
		if (h.len != len || strncasecmp(h.p, name, len) != 0)
			continue;
		if (found == NULL)
			found = &req->headers[i].value;
		n++;
		if (count == NULL)
			break;
	}
	if (count != NULL)
		*count = n;
	return found;
}

/*
 * The per-request arena: a list of chunks, the head serving small
 * allocations. Large allocations get a chunk of their own behind the head.
 */
#define ARENA_CHUNK 4096
#define ARENA_ALIGN 16

struct http_arena {
	struct http_arena *next;
	size_t size; /* usable bytes in data */
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

static struct http_arena *
arena_chunk(size_t size)
{
	struct http_arena *a = xmalloc(sizeof(*a) + size);

	a->next = NULL;
	a->size = size;
	a->used = 0;
	return a;
}

void *
http_alloc(struct http_request *req, size_t size)
{
	struct http_arena *a = req->arena_, *big;

	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (a != NULL && a->size - a->used >= size) {
		a->used += size;
		return a->data + a->used - size;
	}
	if (size > ARENA_CHUNK / 4) {
		big = arena_chunk(size);
		big->used = size;
		if (a == NULL) {
			req->arena_ = big;
		} else {
			big->next = a->next;
			a->next = big;
		}
		return big->data;
	}
	a = arena_chunk(ARENA_CHUNK - sizeof(*a));
	a->next = req->arena_;
	req->arena_ = a;
	a->used = size;
	return a->data;
}

void
http_request_reset(struct http_request *req)
{
	struct http_arena *a, *next, *keep = NULL;

	for (a = req->arena_; a != NULL; a = next) {
		next = a->next;
		if (keep == NULL && a->size == ARENA_CHUNK - sizeof(*a)) {
			keep = a;
			continue;
		}
		free(a);
	}
	if (keep != NULL) {
		keep->next = NULL;
		keep->used = 0;
	}
	req->arena_ = keep;
}

void
http_request_release(struct http_request *req)
{
	struct http_arena *a, *next;

	for (a = req->arena_; a != NULL; a = next) {
		next = a->next;
		free(a);
	}
	req->arena_ = NULL;
}

/*
 * Responses
 */

const char *
http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 207:
		return "Multi-Status";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Entity";
	case 424:
		return "Failed Dependency";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	case 507:
		return "Insufficient Storage";
	default:
		return "Unknown";
	}
}

void
http_error_format(struct buf *out, int code, const char *message)
{
	struct json_out o;

	json_out_init(&o, out, false);
	json_obj_begin(&o);
	json_key(&o, "code");
	json_int(&o, code);
	json_key(&o, "message");
	json_str(&o, message);
	json_obj_end(&o);
}

void
http_error(struct http_request *req, int status, const char *extra_headers,
    const char *message)
{
	struct buf body = BUF_INIT;

	http_error_format(&body, status, message);
	http_reply_ex(req, status, NULL, extra_headers, body.data, body.len);
	buf_release(&body);
}

void
http_error_body(int status, struct buf *out)
{
	switch (status) {
	case 400:
		http_error_format(out, 400, "Malformed HTTP request.");
		break;
	case 408:
		http_error_format(out, 408, "Request timeout.");
		break;
	case 413:
		http_error_format(out, 413, "Request body too large.");
		break;
	case 431:
		http_error_format(out, 431, "Request header fields too large.");
		break;
	case 503:
		http_error_format(out, 503, "Too many connections.");
		break;
	case 505:
		http_error_format(out, 505, "HTTP version not supported.");
		break;
	default:
		http_error_format(out, 500, "Internal server error.");
		break;
	}
}

/* Append the decimal digits of v. */
static void
add_uint(struct buf *out, size_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	buf_add(out, tmp + i, sizeof(tmp) - i);
}

void
http_format_response(struct buf *out, int status, const char *content_type,
    const char *extra_headers, const char *body, size_t len, bool head,
    bool keep_alive)
{
	/* 1xx, 204 and 304 answers carry no body and no Content-Length. */
	bool bodyless = status < 200 || status == 204 || status == 304;

	assert(status >= 100 && status <= 999);
	if (content_type == NULL)
		content_type = "application/json";
	buf_grow(out, 160 + (head || bodyless ? 0 : len));
	buf_add(out, "HTTP/1.1 ", 9);
	add_uint(out, (size_t)status);
	buf_addch(out, ' ');
	buf_adds(out, http_reason(status));
	buf_add(out, "\r\nContent-Type: ", 16);
	buf_adds(out, content_type);
	if (!bodyless) {
		buf_add(out, "\r\nContent-Length: ", 18);
		add_uint(out, len);
	}
	if (keep_alive)
		buf_add(out, "\r\nConnection: keep-alive\r\n", 26);
	else
		buf_add(out, "\r\nConnection: close\r\n", 21);
	if (extra_headers != NULL)
		buf_adds(out, extra_headers);
	buf_add(out, "\r\n", 2);
	if (!head && !bodyless)
		buf_add(out, body, len);
}
