/*
 * test_httpbody.c: streamed request bodies (http_parse_set_stream,
 * http_parse_body): the head is handed out at once, the body is decoded
 * into the piece callback whatever the split of the bytes, malformed
 * framing and a refusing callback stop it, a pausing callback
 * (HTTP_BODY_PAUSE) gets the rest on the next call, even none when the
 * body ended with its bytes, and the next request on the connection
 * parses normally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "http.h"

static bool
want_put(void *ctx, const struct http_request *req)
{
	(void)ctx;
	return req->method == HTTP_M_PUT;
}

struct sink {
	struct buf got;
	size_t refuse_after; /* 0: never */
	bool pause;          /* pause after every piece */
	unsigned pauses;
};

static int
piece(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;

	buf_add(&s->got, data, len);
	if (s->refuse_after > 0 && s->got.len > s->refuse_after)
		return 413;
	return s->pause ? HTTP_BODY_PAUSE : 0;
}

/*
 * Feed in (the whole connection) in pieces of step bytes. Returns the
 * status of an error (0 when none); *after gets the path of the request
 * that follows the streamed one ("" when none).
 */
static int
run(const char *in, size_t step, struct sink *s, char *after, size_t alen)
{
	struct http_parse *hp = http_parse_new(4096, 64, 16);
	struct http_request req;
	struct buf b = BUF_INIT;
	size_t off = 0, fed = 0, consumed;
	size_t len = strlen(in);
	int status = 0, streamed = 0;
	bool paused = false;
	enum http_feed_result r;

	http_parse_set_stream(hp, want_put, NULL);
	after[0] = '\0';
	while (fed < len || off < b.len || paused) {
		size_t n = len - fed < step ? len - fed : step;

		buf_add(&b, in + fed, n);
		fed += n;
		for (;;) {
			/* Resumed at once: called again, bytes or none. */
			if (off == b.len && !paused)
				break;
			if (http_parse_in_body(hp)) {
				paused = false;
				r = http_parse_body(hp, b.data + off,
				    b.len - off, piece, s, &consumed, &status);
				off += consumed;
				assert_true(off <= b.len);
				if (r == HTTP_FEED_ERROR)
					goto out;
				if (r == HTTP_FEED_MORE)
					break;
				if (r == HTTP_FEED_PAUSE) {
					s->pauses++;
					paused = true;
				}
				continue;
			}
			if (off == b.len)
				break;
			memset(&req, 0, sizeof(req));
			r = http_parse_feed(hp, b.data + off, b.len - off, &req,
			    &consumed, &status);
			if (r == HTTP_FEED_ERROR)
				goto out;
			if (r == HTTP_FEED_MORE)
				break;
			if (req.body_stream) {
				streamed++;
				assert_true(req.method == HTTP_M_PUT);
				assert_true(str_eqs(req.path, "/dav/f"));
			} else if (streamed > 0) {
				snprintf(after, alen, "%.*s", (int)req.path.len,
				    req.path.p);
			}
			off += consumed;
		}
		if (fed == len && off < b.len && !http_parse_in_body(hp))
			break;
	}
out:
	buf_release(&b);
	http_parse_free(hp);
	return status;
}

static const char chunked[] =
    "PUT /dav/f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n"
    "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";

/*
 * Every split of in (size bytes) gives "hello world", then /next; with
 * pause, the callback pauses after every piece (resumed at once).
 */
static void
every_split(const char *in, size_t size, bool pause, unsigned min_pauses)
{
	char after[64];
	size_t step;

	for (step = 1; step <= size; step++) {
		struct sink s = {BUF_INIT, 0, pause, 0};

		assert_int_equal(run(in, step, &s, after, sizeof(after)), 0);
		assert_string_equal(s.got.data, "hello world");
		assert_string_equal(after, "/next");
		assert_true(s.pauses >= min_pauses);
		buf_release(&s.got);
	}
}

static void
test_httpbody__chunked_any_split(void **state)
{
	(void)state;
	every_split(chunked, sizeof(chunked), false, 0);
}

static const char lengthed[] =
    "PUT /dav/f HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
    "hello world"
    "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";

/* A paused body loses nothing and ends, also on its last bytes. */
static void
test_httpbody__paused(void **state)
{
	char after[64];

	(void)state;
	every_split(chunked, sizeof(chunked), true, 3);
	every_split(lengthed, sizeof(lengthed), true, 1);
	/* The whole body at once, nothing after it: ends on a call of none. */
	{
		static const char only[] = "PUT /dav/f HTTP/1.1\r\n"
		                           "Content-Length: 5\r\n\r\nhello";
		struct sink s = {BUF_INIT, 0, true, 0};

		assert_int_equal(
		    run(only, sizeof(only), &s, after, sizeof(after)), 0);
		assert_string_equal(s.got.data, "hello");
		assert_int_equal(s.pauses, 1);
		buf_release(&s.got);
	}
}

static void
test_httpbody__length_beyond_max_body(void **state)
{
	/* 100 bytes: more than max_body_bytes (64), streamed all the same. */
	char in[512], after[64];
	struct sink s = {BUF_INIT, 0, false, 0};
	int n;

	(void)state;
	n = snprintf(in, sizeof(in),
	    "PUT /dav/f HTTP/1.1\r\nContent-Length: 100\r\n\r\n%0100d"
	    "GET /next HTTP/1.1\r\n\r\n",
	    7);
	assert_true(n > 0);
	assert_int_equal(run(in, 7, &s, after, sizeof(after)), 0);
	assert_int_equal(s.got.len, 100);
	assert_string_equal(after, "/next");
	buf_release(&s.got);
}

static void
test_httpbody__malformed(void **state)
{
	static const char *const bad[] = {
	    "PUT /dav/f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "PUT /dav/f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabcX\r\n",
	    "PUT /dav/f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\rabc\r\n",
	    "PUT /dav/f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "11111111111111111\r\n",
	    "PUT /dav/f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1;a\x01\r\n",
	};
	char after[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sink s = {BUF_INIT, 0, false, 0};

		assert_int_equal(
		    run(bad[i], 4096, &s, after, sizeof(after)), 400);
		buf_release(&s.got);
	}
}

static void
test_httpbody__refused_by_handler(void **state)
{
	struct sink s = {BUF_INIT, 3, false, 0};
	char after[64];

	(void)state;
	assert_int_equal(run(chunked, 4096, &s, after, sizeof(after)), 413);
	buf_release(&s.got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_httpbody__chunked_any_split),
	    cmocka_unit_test(test_httpbody__length_beyond_max_body),
	    cmocka_unit_test(test_httpbody__paused),
	    cmocka_unit_test(test_httpbody__malformed),
	    cmocka_unit_test(test_httpbody__refused_by_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
