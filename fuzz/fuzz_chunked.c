/*
 * fuzz_chunked.c: request assembly (http_parse_feed) of chunked bodies:
 * chunk sizes, chunk extensions, trailers and what follows them, checked
 * against the per-request bound and against a reference decoder.
 *
 * Input: one control byte, then bytes. The low two bits of the control
 * byte pick what comes before the bytes: 0 a chunked POST's request line
 * and headers, 1 the same with "Expect: 100-continue", 2 an HTTP/1.0
 * chunked request with "Connection: keep-alive", 3 nothing (the bytes are
 * the whole input). Bit 2 picks small limits (256 header bytes, 64 body
 * bytes) instead of the server's defaults; bit 3 is unused. The high
 * nibble says how the bytes arrive: 0 all at once, else in pieces of 1,
 * 2, 3, 5, 8, ... bytes, each time moved into a fresh heap copy of the
 * unconsumed input (as server.c's read buffer may move), so ASan catches
 * a parser that keeps a stale pointer.
 *
 * Checks (besides ASan/UBSan):
 *   - the bound: the parser never asks for more bytes while holding
 *     http_max_request_bytes() of one request, and never hands out a
 *     request longer than that (what keeps a connection's memory bounded
 *     whatever the framing);
 *   - a request's body is at most max_body_bytes, its slices lie inside
 *     what was fed, and no header name holds a blank;
 *   - errors are 400, 413, 431 or 505;
 *   - for the first request of modes 0-2, when the reference decoder below
 *     (chunk size in hex, anything up to the end of the line as
 *     extensions, CRLF or LF line ends, trailer lines up to an empty line)
 *     accepts the same bytes, the body and the request's length agree.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "server.h"

#include "fuzz.h"

static const char *const heads[3] = {
    "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    "Expect: 100-continue\r\n\r\n",
    "POST /p HTTP/1.0\r\nConnection: keep-alive\r\n"
    "Transfer-Encoding: chunked\r\n\r\n",
};

/* Piece sizes for the high nibble of the control byte (0: everything). */
static const size_t pieces[16] = {
    0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 4096};

/* The end of the line starting at *pos (past its LF); false if none. */
static bool
ref_line(const uint8_t *p, size_t n, size_t *pos, size_t *content_len)
{
	const uint8_t *lf = memchr(p + *pos, '\n', n - *pos);
	size_t len;

	if (lf == NULL)
		return false;
	len = (size_t)(lf - (p + *pos));
	if (len > 0 && p[*pos + len - 1] == '\r')
		len--;
	*content_len = len;
	*pos = (size_t)(lf - p) + 1;
	return true;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the chunked body at p (n bytes) into body. Returns the number of
 * bytes the body took (chunks, last chunk and trailers), or 0 when the
 * reference does not accept it (or needs more bytes).
 */
static size_t
ref_decode(const uint8_t *p, size_t n, struct buf *body)
{
	size_t pos = 0, start, len, size;
	int d;

	buf_reset(body);
	for (;;) {
		start = pos;
		if (!ref_line(p, n, &pos, &len))
			return 0;
		size = 0;
		if (len == 0 || hexval(p[start]) < 0)
			return 0;
		for (; len > 0 && (d = hexval(p[start])) >= 0; start++, len--) {
			if (size > (SIZE_MAX >> 4))
				return 0;
			size = size * 16 + (size_t)d;
		}
		/* Whatever follows the size is taken as extensions. */
		if (size == 0)
			break;
		if (n - pos < size)
			return 0;
		buf_add(body, p + pos, size);
		pos += size;
		start = pos;
		if (!ref_line(p, n, &pos, &len) || len != 0)
			return 0;
	}
	/* Trailer lines up to an empty one. */
	do {
		if (!ref_line(p, n, &pos, &len))
			return 0;
	} while (len != 0);
	return pos;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_parse *hp;
	struct http_request req;
	struct buf in = BUF_INIT, ref = BUF_INIT;
	enum http_feed_result r;
	size_t max_hdr, max_body, bound, head_len = 0, ref_len = 0;
	size_t start = 0, avail, piece, consumed, i;
	unsigned nreq = 0;
	char *cur = NULL;
	int status = 0;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	if ((ctl & 3) != 3) {
		buf_adds(&in, heads[ctl & 3]);
		head_len = in.len;
	}
	buf_add(&in, data + 1, size - 1);
	max_hdr = ctl & 4 ? 256 : SERVER_MAX_HEADER_BYTES;
	max_body = ctl & 4 ? 64 : SERVER_MAX_BODY_BYTES;
	bound = http_max_request_bytes(max_hdr, max_body);
	if (head_len > 0)
		ref_len = ref_decode((const uint8_t *)in.data + head_len,
		    in.len - head_len, &ref);

	hp = http_parse_new(max_hdr, max_body, SERVER_MAX_HEADERS);
	memset(&req, 0, sizeof(req));
	piece = pieces[ctl >> 4];
	avail = piece == 0 || piece > in.len ? in.len : piece;
	for (;;) {
		size_t held = avail - start;

		free(cur);
		cur = malloc(held + 1);
		FUZZ_CHECK(cur != NULL);
		memcpy(cur, in.data + start, held);
		r = http_parse_feed(hp, cur, held, &req, &consumed, &status);
		if (r == HTTP_FEED_ERROR) {
			FUZZ_CHECK(status == 400 || status == 413 ||
			           status == 431 || status == 505);
			break;
		}
		FUZZ_CHECK(consumed <= held);
		if (r == HTTP_FEED_REQUEST) {
			FUZZ_CHECK(consumed > 0 && consumed <= bound);
			FUZZ_CHECK(req.body.len <= max_body);
			FUZZ_CHECK(req.target.p >= cur &&
			           req.target.p + req.target.len <= cur + held);
			for (i = 0; i < req.nheaders; i++) {
				const struct str *n = &req.headers[i].name;

				FUZZ_CHECK(n->len > 0);
				FUZZ_CHECK(memchr(n->p, ' ', n->len) == NULL);
				FUZZ_CHECK(memchr(n->p, '\t', n->len) == NULL);
			}
			if (nreq++ == 0 && ref_len > 0) {
				FUZZ_CHECK(consumed == head_len + ref_len);
				FUZZ_CHECK(req.body.len == ref.len);
				FUZZ_CHECK(
				    memcmp(req.body.p, ref.data, ref.len) == 0);
			}
			http_request_reset(&req);
			start += consumed;
			if (!req.keep_alive)
				break;
			continue;
		}
		/* Needs more: it must not be holding a whole bound already. */
		FUZZ_CHECK(held - consumed < bound);
		(void)http_parse_take_continue(hp);
		start += consumed;
		if (avail == in.len)
			break;
		avail = piece == 0 || in.len - avail < piece ? in.len
		                                             : avail + piece;
	}
	free(cur);
	http_request_release(&req);
	http_parse_free(hp);
	buf_release(&in);
	buf_release(&ref);
	return 0;
}
