/*
 * fuzz_fasthead.c: the common request read without libhttp-parser (http.c
 * fast_head) against libhttp-parser itself, on the same bytes.
 *
 * Input: one control byte, then the bytes a client sends on one
 * connection (any number of pipelined requests). Bit 0 of the control
 * byte picks small limits (96 header bytes, 4 header lines, 64 body
 * bytes) instead of the server's; the high nibble says how the bytes
 * arrive: 0 all at once, else in pieces of 1, 2, 3, 5, 8, ... bytes, each
 * time moved into a fresh heap copy of the unconsumed input (as server.c's
 * read buffer may move).
 *
 * Two parsers read the same pieces, one with the fast reading on
 * (http_parse_set_fast, the server's way) and one with libhttp-parser
 * alone. Check (besides ASan/UBSan): they give the same transcript, call
 * after call: the same result, consumed count, error status and
 * 100-continue, and for every request the same method, method name,
 * target, path, query, header lines (names and trimmed values), body and
 * keep-alive. So whatever the
 * fast reading accepts, libhttp-parser and the checks around it accept
 * and read alike, and what it leaves alone is libhttp-parser's to judge.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "server.h"

#include "fuzz.h"

/* Piece sizes for the high nibble of the control byte (0: everything). */
static const size_t pieces[16] = {
    0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 4096};

static void
add_str(struct buf *out, struct str s)
{
	buf_addf(out, "%zu:", s.len);
	buf_add(out, s.p, s.len);
	buf_addch(out, '|');
}

/* Everything one call of http_parse_feed gave, appended to out. */
static void
transcript(struct buf *out, enum http_feed_result r, size_t consumed,
    int status, const struct http_request *req)
{
	size_t i;

	buf_addf(out, "r%d c%zu", (int)r, consumed);
	if (r == HTTP_FEED_ERROR)
		buf_addf(out, " s%d", status);
	if (r == HTTP_FEED_REQUEST) {
		buf_addf(out, " m%d ka%d n%zu ", (int)req->method,
		    req->keep_alive, req->nheaders);
		add_str(out, req->method_name);
		add_str(out, req->target);
		add_str(out, req->path);
		add_str(out, req->query);
		for (i = 0; i < req->nheaders; i++) {
			add_str(out, req->headers[i].name);
			add_str(out, req->headers[i].value);
		}
		add_str(out, req->body);
	}
	buf_addch(out, '\n');
}

/* Feed in (in pieces of piece bytes, 0: all) to a parser; transcript. */
static void
run(const struct buf *in, size_t piece, bool fast, bool small, struct buf *out)
{
	struct http_parse *hp =
	    small ? http_parse_new(96, 64, 4)
	          : http_parse_new(SERVER_MAX_HEADER_BYTES,
	                SERVER_MAX_BODY_BYTES, SERVER_MAX_HEADERS);
	struct http_request req;
	enum http_feed_result r;
	size_t start = 0, avail, consumed;
	char *cur = NULL;
	int status = 0;

	http_parse_set_fast(hp, fast);
	memset(&req, 0, sizeof(req));
	avail = piece == 0 || piece > in->len ? in->len : piece;
	for (;;) {
		size_t held = avail - start;

		free(cur);
		cur = malloc(held + 1);
		FUZZ_CHECK(cur != NULL);
		memcpy(cur, in->data + start, held);
		r = http_parse_feed(hp, cur, held, &req, &consumed, &status);
		transcript(out, r, consumed, status, &req);
		if (r == HTTP_FEED_ERROR)
			break;
		FUZZ_CHECK(consumed <= held);
		start += consumed;
		if (http_parse_take_continue(hp))
			buf_adds(out, "continue\n");
		if (r == HTTP_FEED_REQUEST) {
			http_request_reset(&req);
			continue;
		}
		if (avail == in->len)
			break;
		avail = piece == 0 || in->len - avail < piece ? in->len
		                                              : avail + piece;
	}
	free(cur);
	http_request_release(&req);
	http_parse_free(hp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf in = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	buf_add(&in, data + 1, size - 1);
	run(&in, pieces[ctl >> 4], true, ctl & 1, &a);
	run(&in, pieces[ctl >> 4], false, ctl & 1, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
		fprintf(stderr, "fast:\n%.*s\nlibhttp-parser:\n%.*s\n",
		    (int)a.len, a.data, (int)b.len, b.data);
		FUZZ_CHECK(!"the fast reading and libhttp-parser differ");
	}
	buf_release(&in);
	buf_release(&a);
	buf_release(&b);
	return 0;
}
