/*
 * fuzz_httpbody.c: streamed request bodies (http_parse_set_stream,
 * http_parse_body), as server.c drives them for WebDAV uploads.
 *
 * Input: a control byte (low 4 bits: the size of the pieces the bytes
 * arrive in, 0 = all at once; bit 4: a handler that refuses after 100
 * bytes; bit 5: a handler that pauses after every piece of the split
 * run, HTTP_BODY_PAUSE, resumed at once), then the bytes of a
 * connection; every PUT is streamed.
 *
 * Checks: http_parse_body never consumes more than it was given, never
 * hands out more body bytes than the connection carried, and stops with
 * 400/431 or the handler's status; a chunked body whose framing it
 * accepts decodes to the same bytes whatever the split and the pauses
 * (compared with the same input fed all at once); a pause comes after
 * bytes were consumed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"

#include "fuzz.h"

static bool
want_put(void *ctx, const struct http_request *req)
{
	(void)ctx;
	return req->method == HTTP_M_PUT;
}

struct sink {
	struct buf got;
	bool refuse;
	bool pause;
};

static int
piece(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;

	buf_add(&s->got, data, len);
	if (s->refuse && s->got.len > 100)
		return 413;
	return s->pause ? HTTP_BODY_PAUSE : 0;
}

/* Run the connection in pieces of step bytes (0: all); body into s. */
static int
run(const char *in, size_t len, size_t step, struct sink *s)
{
	struct http_parse *hp = http_parse_new(4096, 256, 16);
	struct http_request req;
	struct buf b = BUF_INIT;
	size_t off = 0, fed = 0, consumed;
	int status = 0;
	enum http_feed_result r;

	http_parse_set_stream(hp, want_put, NULL);
	while (fed < len) {
		size_t n = step == 0 || len - fed < step ? len - fed : step;

		buf_add(&b, in + fed, n);
		fed += n;
		while (off < b.len) {
			if (http_parse_in_body(hp)) {
				r = http_parse_body(hp, b.data + off,
				    b.len - off, piece, s, &consumed, &status);
				FUZZ_CHECK(consumed <= b.len - off);
				off += consumed;
				if (r == HTTP_FEED_ERROR) {
					FUZZ_CHECK(status == 400 ||
					           status == 431 ||
					           status == 413);
					goto out;
				}
				if (r == HTTP_FEED_MORE) {
					FUZZ_CHECK(off == b.len);
					break;
				}
				if (r == HTTP_FEED_PAUSE)
					FUZZ_CHECK(consumed > 0);
				continue;
			}
			r = http_parse_feed(hp, b.data + off, b.len - off, &req,
			    &consumed, &status);
			if (r == HTTP_FEED_ERROR)
				goto out;
			off += consumed;
			if (r == HTTP_FEED_MORE)
				break;
		}
	}
	status = 0;
out:
	FUZZ_CHECK(s->got.len <= len);
	buf_release(&b);
	http_parse_free(hp);
	return status;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink a = {BUF_INIT, false, false}, b = {BUF_INIT, false, false};
	size_t step;
	int sa, sb;

	if (size == 0)
		return 0;
	step = data[0] & 15;
	a.refuse = b.refuse = (data[0] & 16) != 0;
	b.pause = (data[0] & 32) != 0;
	sa = run((const char *)data + 1, size - 1, 0, &a);
	sb = run((const char *)data + 1, size - 1, step, &b);
	/* The split changes nothing: same status, same body so far. */
	if (sa == 0 && sb == 0)
		FUZZ_CHECK(a.got.len == b.got.len &&
		           memcmp(a.got.data, b.got.data, a.got.len) == 0);
	buf_release(&a.got);
	buf_release(&b.got);
	return 0;
}
