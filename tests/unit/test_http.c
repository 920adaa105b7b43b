/*
 * test_http.c: request assembly (http_parse_feed), the response writer and
 * the per-request arena, without sockets.
 *
 * The driver feeds an input the way server.c does: the bytes arrive in
 * pieces of a given size, and before every call the unparsed bytes are
 * copied into a fresh allocation (so a parser that kept a pointer into an
 * old buffer trips ASan). Every case runs for every piece size from one
 * byte to the whole input, with the fast reading of the common request
 * (http_parse_set_fast) on and off, and must give the same requests each
 * time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "http.h"

#define MAX_HDR 1024
#define MAX_BODY 64

/* drive: whether the parser may read the common request itself. */
static bool fast = true;

/*
 * Feed input in pieces of step bytes; append one line per request to out
 * ("METHOD target|path|query|h=name:value;...|body|ka") and, on error,
 * "error <status>". Returns the number of requests.
 */
static int
drive(const char *input, size_t len, size_t step, size_t max_hdr,
    size_t max_body, struct buf *out)
{
	struct http_parse *hp = http_parse_new(max_hdr, max_body, 8);
	struct http_request req;
	size_t start = 0, avail = 0, consumed, i;
	int status, n = 0;
	enum http_feed_result r;

	http_parse_set_fast(hp, fast);

	for (;;) {
		char *copy = malloc(avail - start + 1);

		memcpy(copy, input + start, avail - start);
		memset(&req, 0, sizeof(req));
		r = http_parse_feed(
		    hp, copy, avail - start, &req, &consumed, &status);
		if (r == HTTP_FEED_REQUEST) {
			n++;
			buf_addf(out, "%.*s %.*s|%.*s|%.*s|",
			    (int)req.method_name.len, req.method_name.p,
			    (int)req.target.len, req.target.p,
			    (int)req.path.len, req.path.p, (int)req.query.len,
			    req.query.p);
			for (i = 0; i < req.nheaders; i++)
				buf_addf(out, "%.*s:%.*s;",
				    (int)req.headers[i].name.len,
				    req.headers[i].name.p,
				    (int)req.headers[i].value.len,
				    req.headers[i].value.p);
			buf_addf(out, "|%.*s|%d\n", (int)req.body.len,
			    req.body.p, req.keep_alive);
			start += consumed;
			free(copy);
			continue;
		}
		free(copy);
		start += consumed; /* blank lines before a request */
		if (r == HTTP_FEED_ERROR) {
			buf_addf(out, "error %d\n", status);
			break;
		}
		if (http_parse_take_continue(hp))
			buf_adds(out, "continue\n");
		if (avail == len)
			break;
		avail = avail + step < len ? avail + step : len;
	}
	http_parse_free(hp);
	return n;
}

/* Every piece size must give want. */
static void
check_all_steps(
    const char *input, size_t max_hdr, size_t max_body, const char *want)
{
	size_t len = strlen(input), step, f;
	struct buf got = BUF_INIT;

	for (f = 0; f < 2; f++) {
		fast = f == 0;
		for (step = 1; step <= len; step++) {
			buf_reset(&got);
			drive(input, len, step, max_hdr, max_body, &got);
			if (strcmp(got.data, want) != 0) {
				print_error("fast %d, step %zu:\ngot:\n%s"
				            "want:\n%s",
				    fast, step, got.data, want);
				fail();
			}
		}
	}
	fast = true;
	buf_release(&got);
}

/* Like check_all_steps, with the continue lines removed (they depend on
 * where the input is cut). */
static void
check_no_continue(
    const char *input, size_t max_hdr, size_t max_body, const char *want)
{
	size_t len = strlen(input), step;
	struct buf got = BUF_INIT, clean = BUF_INIT;
	const char *p, *nl;

	for (step = 1; step <= len; step++) {
		buf_reset(&got);
		buf_reset(&clean);
		drive(input, len, step, max_hdr, max_body, &got);
		for (p = got.data; *p != '\0'; p = nl + 1) {
			nl = strchr(p, '\n');
			if (strncmp(p, "continue\n", 9) != 0)
				buf_add(&clean, p, (size_t)(nl - p) + 1);
		}
		if (strcmp(clean.data, want) != 0) {
			print_error("step %zu:\ngot:\n%swant:\n%s", step,
			    clean.data, want);
			fail();
		}
	}
	buf_release(&got);
	buf_release(&clean);
}

static void
test_http__simple_get(void **state)
{
	(void)state;
	check_all_steps("GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n", MAX_HDR,
	    MAX_BODY, "GET /healthcheck|/healthcheck||Host:x;||1\n");
}

static void
test_http__query_and_trimmed_values(void **state)
{
	(void)state;
	check_all_steps("GET /a%20b?x=1&y HTTP/1.1\r\n"
	                "X-Auth-User:   bob \t\r\n"
	                "Empty:\r\n"
	                "Accept: */*\r\n\r\n",
	    MAX_HDR, MAX_BODY,
	    "GET /a%20b?x=1&y|/a%20b|x=1&y|X-Auth-User:bob;Empty:;"
	    "Accept:*/*;||1\n");
}

static void
test_http__pipelined(void **state)
{
	(void)state;
	check_all_steps("GET /1 HTTP/1.1\r\n\r\n"
	                "PUT /2 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
	                "\r\n" /* stray CRLF between requests is allowed */
	                "POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
	                "DELETE /4 HTTP/1.1\r\nConnection: close\r\n\r\n",
	    MAX_HDR, MAX_BODY,
	    "GET /1|/1||||1\n"
	    "PUT /2|/2||Content-Length:5;|hello|1\n"
	    "POST /3|/3||Transfer-Encoding:chunked;|abcdefg|1\n"
	    "DELETE /4|/4||Connection:close;||0\n");
}

static void
test_http__chunked_trailers_ignored(void **state)
{
	struct buf in = BUF_INIT;
	int i;

	(void)state;
	check_all_steps("POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                "2\r\nab\r\n0\r\nX-Auth-User: eve\r\n\r\n"
	                "GET /n HTTP/1.1\r\n\r\n",
	    MAX_HDR, MAX_BODY,
	    "POST /t|/t||Transfer-Encoding:chunked;|ab|1\n"
	    "GET /n|/n||||1\n");
	/* Endless trailers hit the header limit. */
	buf_adds(&in, "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	              "0\r\n");
	for (i = 0; i < 100; i++)
		buf_addf(&in, "X-Trailer-%03d: 0123456789\r\n", i);
	buf_adds(&in, "\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 431\n");
	buf_release(&in);
}

static void
test_http__http10_keep_alive(void **state)
{
	(void)state;
	check_all_steps(
	    "GET /a HTTP/1.0\r\n\r\n", MAX_HDR, MAX_BODY, "GET /a|/a||||0\n");
	check_all_steps("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	                "HEAD /b HTTP/1.0\r\n\r\n",
	    MAX_HDR, MAX_BODY,
	    "GET /a|/a||Connection:keep-alive;||1\nHEAD /b|/b||||0\n");
}

static void
test_http__expect_continue(void **state)
{
	struct buf got = BUF_INIT;
	const char *in = "PUT /x HTTP/1.1\r\nContent-Length: 3\r\n"
	                 "Expect: 100-continue\r\n\r\nabc";

	(void)state;
	/* Headers first, body later: one continue in between. */
	drive(in, strlen(in), strlen(in) - 3, MAX_HDR, MAX_BODY, &got);
	assert_string_equal(got.data,
	    "continue\nPUT /x|/x||Content-Length:3;Expect:100-continue;"
	    "|abc|1\n");
	/* Everything at once: no continue needed. */
	buf_reset(&got);
	drive(in, strlen(in), strlen(in), MAX_HDR, MAX_BODY, &got);
	assert_string_equal(got.data,
	    "PUT /x|/x||Content-Length:3;Expect:100-continue;|abc|1\n");
	check_no_continue(in, MAX_HDR, MAX_BODY,
	    "PUT /x|/x||Content-Length:3;Expect:100-continue;|abc|1\n");
	/* Too large: 413 straight after the headers, no continue. */
	buf_reset(&got);
	in = "PUT /x HTTP/1.1\r\nContent-Length: 65\r\n"
	     "Expect: 100-continue\r\n\r\n";
	drive(in, strlen(in), strlen(in), MAX_HDR, MAX_BODY, &got);
	assert_string_equal(got.data, "error 413\n");
	/* No body: nothing to continue. */
	buf_reset(&got);
	in = "GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
	drive(in, strlen(in), strlen(in), MAX_HDR, MAX_BODY, &got);
	assert_string_equal(got.data, "GET /x|/x||Expect:100-continue;||1\n");
	buf_release(&got);
}

static void
test_http__body_limit(void **state)
{
	struct buf in = BUF_INIT;
	char body[MAX_BODY + 1];

	(void)state;
	memset(body, 'a', sizeof(body));
	/* Exactly at the limit is fine. */
	buf_addf(&in, "PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n%.*s",
	    MAX_BODY, MAX_BODY, body);
	check_all_steps(in.data, MAX_HDR, MAX_BODY,
	    "PUT /|/||Content-Length:64;|"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaa|1\n");
	/* One over, announced up front: refused before the body. */
	buf_reset(&in);
	buf_addf(
	    &in, "PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 413\n");
	/* Chunked, over the limit in total. */
	check_all_steps("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                "20\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
	                "20\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
	                "1\r\na\r\n0\r\n\r\n",
	    MAX_HDR, MAX_BODY, "error 413\n");
	/* A huge Content-Length. */
	check_all_steps("PUT / HTTP/1.1\r\nContent-Length: "
	                "99999999999999999999999\r\n\r\n",
	    MAX_HDR, MAX_BODY, "error 400\n");
	buf_release(&in);
}

static void
test_http__header_limits(void **state)
{
	struct buf in = BUF_INIT;
	int i;

	(void)state;
	/* A long header line. */
	buf_adds(&in, "GET / HTTP/1.1\r\nX-Long: ");
	for (i = 0; i < 200; i++)
		buf_adds(&in, "0123456789");
	buf_adds(&in, "\r\n\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 431\n");
	/* A long request target. */
	buf_reset(&in);
	buf_adds(&in, "GET /");
	for (i = 0; i < 200; i++)
		buf_adds(&in, "0123456789");
	buf_adds(&in, " HTTP/1.1\r\n\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 431\n");
	/* Too many header lines (the driver allows 8). */
	buf_reset(&in);
	buf_adds(&in, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 9; i++)
		buf_addf(&in, "X-%d: y\r\n", i);
	buf_adds(&in, "\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 431\n");
	/* Eight is fine. */
	buf_reset(&in);
	buf_adds(&in, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 8; i++)
		buf_addf(&in, "X: %d\r\n", i);
	buf_adds(&in, "\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY,
	    "GET /|/||X:0;X:1;X:2;X:3;X:4;X:5;X:6;X:7;||1\n");
	/* Endless blanks inside the headers count too. */
	buf_reset(&in);
	buf_adds(&in, "GET / HTTP/1.1\r\nX:");
	for (i = 0; i < 120; i++)
		buf_adds(&in, "          ");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 431\n");
	buf_release(&in);
}

static void
test_http__malformed(void **state)
{
	static const char *const bad[] = {
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
	    "HELLO\r\n\r\n",
	    "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
	    "\r\nab",
	    "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
	    "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", /* obsolete folding */
	    "GET / HTTP/1.1\r\nHost\x01: x\r\n\r\n",
	    "GET /\x7f HTTP/1.1\r\n\r\n",
	    /* A blank between a field name and its colon (RFC 9112 §5.1). */
	    "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n"
	    "0\r\n\r\n",
	    "POST / HTTP/1.1\r\nContent-Length : 2\r\n\r\nab",
	    "POST / HTTP/1.1\r\nContent-Length\t: 2\r\n\r\nab",
	    "GET / HTTP/1.1\r\nX Y: z\r\n\r\n",
	    "GET / HTTP/1.1\r\n X: z\r\n\r\n",
	    /* Folding whose first line is empty, and other foldings. */
	    "GET / HTTP/1.1\r\nX:\r\n folded\r\n\r\n",
	    "GET / HTTP/1.1\r\nX:\r\n\tfolded\r\nY: z\r\n\r\n",
	    "GET / HTTP/1.1\r\nX:\r\n \r\nY: z\r\n\r\n",
	    "GET / HTTP/1.1\r\nX:   \r\n  \r\n\r\n",
	    "GET / HTTP/1.1\nX:\n folded\n\n",
	    /* An LF or a control byte inside a chunk extension. */
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1;a\nb\r\nX\r\n0\r\n\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\na\r\n0 /x\ny\r\n\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1;a\x01\r\nX\r\n0\r\n\r\n",
	    /* The same after a trailer that names a framing header. */
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\nTransfer-Encoding: chunkedX\r\n\r\rZ",
	    /* Bytes libhttp-parser skips inside a chunk size. */
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\na\r\n0\x84\x84"
	    "1\r\nb\r\n0\r\n\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1x\r\na\r\n0\r\n\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    ";a\r\na\r\n0\r\n\r\n",
	    /* No version at all (HTTP/0.9 style). */
	    "GET /\r\n\r\n",
	    "GET /\r\nHost: x\r\n\r\n",
	};
	static const char *const version[] = {
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET / HTTP/1.9\r\n\r\n",
	    "GET / HTTP/1.2\r\n\r\n",
	    "GET / HTTP/0.9\r\n\r\n",
	    "GET / HTTP/3.1\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_all_steps(bad[i], MAX_HDR, MAX_BODY, "error 400\n");
	for (i = 0; i < sizeof(version) / sizeof(version[0]); i++)
		check_all_steps(version[i], MAX_HDR, MAX_BODY, "error 505\n");
	/* What stays allowed: empty values, blanks around values. */
	check_all_steps("GET / HTTP/1.1\r\nX:\r\nY:  z \r\n\r\n", MAX_HDR,
	    MAX_BODY, "GET /|/||X:;Y:z;||1\n");
	check_all_steps("GET / HTTP/1.1\r\nX:   \r\n\r\n", MAX_HDR, MAX_BODY,
	    "GET /|/||X:;||1\n");
	check_all_steps(
	    "GET / HTTP/1.0\r\n\r\n", MAX_HDR, MAX_BODY, "GET /|/||||0\n");
	/* Bare LF line ends are still taken (RFC 9112 §2.2 allows it). */
	check_all_steps("GET / HTTP/1.1\nX: a\n\nGET /b HTTP/1.1\n\r\n",
	    MAX_HDR, MAX_BODY, "GET /|/||X:a;||1\nGET /b|/b||||1\n");
	check_all_steps("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n"
	                "1\r\nb\r\n0\r\nT: 1\n\n",
	    MAX_HDR, MAX_BODY, "POST /|/||Transfer-Encoding:chunked;|b|1\n");
	check_all_steps("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                "1;\ta=\"b c\"\r\nb\r\n0;z\r\n\r\n",
	    MAX_HDR, MAX_BODY, "POST /|/||Transfer-Encoding:chunked;|b|1\n");
}

/* A chunked request of exactly total bytes: one 1-byte chunk whose
 * extension takes up the room. */
static void
one_chunk(struct buf *in, size_t total)
{
	static const char tail[] = "\r\na\r\n0\r\n\r\n";

	buf_reset(in);
	buf_adds(in, "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	             "1;e=");
	while (in->len < total - (sizeof(tail) - 1))
		buf_addch(in, 'x');
	buf_adds(in, tail);
	assert_int_equal(in->len, total);
}

/*
 * Chunk framing counts against the request's bound (issue 12): one byte
 * of data per chunk with a long extension, or many small chunks, end in
 * 413 once http_max_request_bytes() bytes were parsed, whatever the piece
 * size.
 */
static void
test_http__framing_limit(void **state)
{
	struct buf in = BUF_INIT, got = BUF_INIT;
	size_t limit = http_max_request_bytes(MAX_HDR, MAX_BODY);
	int i, j;

	(void)state;
	assert_int_equal(limit, 2 * MAX_HDR + 2 * MAX_BODY);
	buf_adds(&in, "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 10; i++) {
		buf_adds(&in, "1;ext=");
		for (j = 0; j < 50; j++)
			buf_adds(&in, "0123456789");
		buf_adds(&in, "\r\na\r\n");
	}
	buf_adds(&in, "0\r\n\r\n");
	assert_true(in.len > limit);
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 413\n");
	/* Many small chunks with empty extensions add up too. */
	buf_reset(&in);
	buf_adds(&in, "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < 400; i++)
		buf_adds(&in, "0000001;\r\na\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 413\n");
	/* Up to the bound it is fine; one byte more is refused. */
	one_chunk(&in, limit - 1);
	drive(in.data, in.len, 7, MAX_HDR, MAX_BODY, &got);
	assert_string_equal(
	    got.data, "POST /t|/t||Transfer-Encoding:chunked;|a|1\n");
	one_chunk(&in, limit);
	buf_reset(&got);
	drive(in.data, in.len, in.len, MAX_HDR, MAX_BODY, &got);
	assert_string_equal(
	    got.data, "POST /t|/t||Transfer-Encoding:chunked;|a|1\n");
	one_chunk(&in, limit + 1);
	buf_reset(&got);
	drive(in.data, in.len, 7, MAX_HDR, MAX_BODY, &got);
	assert_string_equal(got.data, "error 413\n");
	buf_release(&in);
	buf_release(&got);
}

static void
test_http__nul_and_binary(void **state)
{
	static const char in[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
	struct buf got = BUF_INIT;
	unsigned char noise[512];
	size_t i, step;

	(void)state;
	drive(in, sizeof(in) - 1, 1, MAX_HDR, MAX_BODY, &got);
	assert_string_equal(got.data, "error 400\n");
	/* Pseudo-random bytes never crash and end in an error or more. */
	srand(7);
	for (i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)rand();
	for (step = 1; step < 64; step++) {
		buf_reset(&got);
		drive((const char *)noise, sizeof(noise), step, MAX_HDR,
		    MAX_BODY, &got);
		assert_string_equal(got.data, "error 400\n");
	}
	buf_release(&got);
}

/*
 * Around the edges of what the parser reads without libhttp-parser (a
 * plain keep-alive GET, http.c fast_head): each input gives the same
 * requests either way (check_all_steps runs both).
 */
static void
test_http__fast_edges(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"GET /a HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"
	     "GET /b HTTP/1.1\r\nCONNECTION: Keep-Alive\r\n\r\n",
	        "GET /a|/a||Connection:keep-alive;||1\n"
	        "GET /b|/b||CONNECTION:Keep-Alive;||1\n"},
	    /* libhttp-parser reads on after a request that closes. */
	    {"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n"
	     "GET /b HTTP/1.1\r\n\r\n",
	        "GET /a|/a||Connection:close;||0\nGET /b|/b||||1\n"},
	    {"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	        "GET /a|/a||||0\nGET /b|/b||||1\n"},
	    {"GET /a HTTP/1.1\r\nUpgrade: websocket\r\n"
	     "Connection: Upgrade\r\n\r\n",
	        "GET /a|/a||Upgrade:websocket;Connection:Upgrade;||0\n"},
	    {"GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
	     "GET /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
	        "GET /a|/a||Content-Length:0;||1\n"
	        "GET /b|/b||Content-Length:2;|ab|1\n"},
	    {"GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "1\r\nx\r\n0\r\n\r\n",
	        "GET /a|/a||Transfer-Encoding:chunked;|x|1\n"},
	    {"GET /a HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
	        "GET /a|/a||Proxy-Connection:close;||0\n"},
	    /* Values: tabs, blanks, bytes from 0x80; targets. */
	    {"GET /a?b=c/d HTTP/1.1\r\nX: \ta b\t \r\nY: caf\xc3\xa9\r\n\r\n",
	        "GET /a?b=c/d|/a|b=c/d|X:a b;Y:caf\xc3\xa9;||1\n"},
	    {"GET /a#b HTTP/1.1\r\n\r\n", "GET /a#b|/a#b||||1\n"},
	    {"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
	        "GET /\xc3\xa9|/\xc3\xa9||||1\n"},
	    {"GET  /a HTTP/1.1\r\n\r\n", "GET /a|/a||||1\n"},
	    {"get /a HTTP/1.1\r\n\r\n", "error 400\n"},
	    {"GET /a HTTP/1.1\r\nX: a\r\n\n", "GET /a|/a||X:a;||1\n"},
	    {"GET /a HTTP/1.1\r\nX: a\n\r\n", "GET /a|/a||X:a;||1\n"},
	    {"GET /a HTTP/1.1\r\nX:a\r\r\n\r\n", "error 400\n"},
	    {"GET /a HTTP/1.1\r\nX: a\x01\r\n\r\n", "error 400\n"},
	    {"GET /a HTTP/1.1\r\nX: a\x7f\r\n\r\n", "error 400\n"},
	    {"GET /a HTTP/1.1\r\n:x\r\n\r\n", "error 400\n"},
	    /* KOReader's (LuaSocket's) Connection, and other lists. */
	    {"GET /a HTTP/1.1\r\nConnection: close, TE\r\nTE: trailers\r\n\r\n"
	     "GET /b HTTP/1.1\r\nConnection: TE,keep-alive\r\n\r\n",
	        "GET /a|/a||Connection:close, TE;TE:trailers;||0\n"
	        "GET /b|/b||Connection:TE,keep-alive;||1\n"},
	    {"GET /a HTTP/1.1\r\nConnection: keep-alive\r\nConnection: "
	     "Close\r\n\r\n",
	        "GET /a|/a||Connection:keep-alive;Connection:Close;||0\n"},
	    {"GET /a HTTP/1.1\r\nConnection: close,,TE\r\n\r\n",
	        "GET /a|/a||Connection:close,,TE;||0\n"},
	    {"GET /a HTTP/1.1\r\nConnection: closed\r\n\r\n",
	        "GET /a|/a||Connection:closed;||1\n"},
	    {"GET /a HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
	        "GET /a|/a||Connection:upgrade;||1\n"},
	    /* Bodies: Content-Length as libhttp-parser reads it. */
	    {"PUT /a HTTP/1.1\r\nContent-Length: 2 \r\n\r\nab"
	     "POST /b HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
	     "POST /c HTTP/1.1\r\ncontent-length: 003\r\n\r\nxyz"
	     "POST /d HTTP/1.1\r\n\r\n",
	        "PUT /a|/a||Content-Length:2;|ab|1\n"
	        "POST /b|/b||Content-Length:0;||1\n"
	        "POST /c|/c||content-length:003;|xyz|1\n"
	        "POST /d|/d||||1\n"},
	    {"PUT /a HTTP/1.1\r\nContent-Length: +2\r\n\r\nab", "error 400\n"},
	    {"PUT /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
	     "\r\nab",
	        "error 400\n"},
	    {"PUT /a HTTP/1.1\r\nContent-Length: 65\r\n\r\n", "error 413\n"},
	    {"PUT /a HTTP/1.1\r\nContent-Length: 1234567890\r\n\r\n",
	        "error 413\n"},
	    {"PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", ""},
	    {"PUT /a HTTP/1.1\r\nContent-Lengthy: 3\r\n\r\nab",
	        "PUT /a|/a||Content-Lengthy:3;||1\nerror 400\n"},
	    /* Names that begin like one libhttp-parser reads. */
	    {"GET /a HTTP/1.1\r\nTransfer-Encoding!: chunked\r\n\r\n",
	        "error 400\n"},
	    {"GET /a HTTP/1.1\r\nConnectionx: close\r\nUpgrader: a\r\n\r\n",
	        "GET /a|/a||Connectionx:close;Upgrader:a;||1\n"},
	    {"GET /a HTTP/1.1\r\nX@: a\r\n\r\n", "error 400\n"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_all_steps(cases[i].in, MAX_HDR, MAX_BODY, cases[i].want);
}

/* The header limits hold the same for the fast reading. */
static void
test_http__fast_limits(void **state)
{
	struct buf in = BUF_INIT, want = BUF_INIT;
	size_t i;

	(void)state;
	/*
	 * A head of exactly max_header_bytes; a target longer than the
	 * limit. (Between the two libhttp-parser decides, by how the
	 * bytes arrive: the fast reading leaves any head over the limit
	 * to it.)
	 */
	buf_adds(&in, "GET /");
	while (in.len < 64 - strlen(" HTTP/1.1\r\n\r\n"))
		buf_addch(&in, 'a');
	buf_adds(&in, " HTTP/1.1\r\n\r\n");
	assert_int_equal(in.len, 64);
	buf_addf(&want, "%.*s|%.*s||||1\n", (int)(in.len - 13), in.data,
	    (int)(in.len - 17), in.data + 4);
	check_all_steps(in.data, 64, MAX_BODY, want.data);
	check_all_steps(in.data, 40, MAX_BODY, "error 431\n");
	/* Eight header lines (drive's max_headers), then nine. */
	buf_reset(&in);
	buf_reset(&want);
	buf_adds(&in, "GET / HTTP/1.1\r\n");
	buf_adds(&want, "GET /|/||");
	for (i = 0; i < 8; i++) {
		buf_addf(&in, "H%zu: %zu\r\n", i, i);
		buf_addf(&want, "H%zu:%zu;", i, i);
	}
	buf_adds(&want, "||1\n");
	buf_adds(&in, "\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, want.data);
	in.len -= 2;
	buf_adds(&in, "H8: 8\r\n\r\n");
	check_all_steps(in.data, MAX_HDR, MAX_BODY, "error 431\n");
	buf_release(&in);
	buf_release(&want);
}

static void
test_http__header_get(void **state)
{
	struct http_header h[] = {
	    {STR_LIT("Host"), STR_LIT("a")},
	    {STR_LIT("x-auth-user"), STR_LIT("bob")},
	    {STR_LIT("X-Auth-User"), STR_LIT("eve")},
	};
	struct http_request req;
	const struct str *v;
	size_t n;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.headers = h;
	req.nheaders = 3;
	v = http_header_get(&req, "X-AUTH-USER", &n);
	assert_non_null(v);
	assert_true(str_eqs(*v, "bob"));
	assert_int_equal(n, 2);
	v = http_header_get(&req, "host", NULL);
	assert_true(str_eqs(*v, "a"));
	assert_null(http_header_get(&req, "cookie", &n));
	assert_int_equal(n, 0);
}

static void
test_http__format_response(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	http_format_response(&out, 200, NULL, NULL, "{}", 2, false, true);
	assert_string_equal(out.data,
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
	buf_reset(&out);
	http_format_response(
	    &out, 405, "text/plain", "Allow: GET\r\n", "no", 2, true, false);
	assert_string_equal(out.data,
	    "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 2\r\nConnection: close\r\nAllow: GET\r\n\r\n");
	buf_release(&out);
}

/* Check the transport's error body for status. */
static void
check_error_body(int status, const char *want)
{
	struct buf b = BUF_INIT;

	http_error_body(status, &b);
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, strlen(want));
	buf_release(&b);
}

static void
test_http__error_bodies(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	check_error_body(413, "{\"code\":413,\"message\":"
	                      "\"Request body too large.\"}");
	check_error_body(431,
	    "{\"code\":431,\"message\":\"Request header fields too large.\"}");
	check_error_body(
	    400, "{\"code\":400,\"message\":\"Malformed HTTP request.\"}");
	check_error_body(
	    408, "{\"code\":408,\"message\":\"Request timeout.\"}");
	check_error_body(
	    503, "{\"code\":503,\"message\":\"Too many connections.\"}");
	check_error_body(
	    505, "{\"code\":505,\"message\":\"HTTP version not supported.\"}");
	check_error_body(
	    418, "{\"code\":500,\"message\":\"Internal server error.\"}");
	/* The one builder escapes the message and appends. */
	buf_adds(&b, "x");
	http_error_format(&b, 2004, "Field 'document' \"x\"\n");
	assert_string_equal(b.data, "x{\"code\":2004,\"message\":"
	                            "\"Field 'document' \\\"x\\\"\\n\"}");
	buf_release(&b);
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(799), "Unknown");
}

static void
test_http__arena(void **state)
{
	struct http_request req;
	char *p[100];
	char *big;
	int i;

	(void)state;
	memset(&req, 0, sizeof(req));
	for (i = 0; i < 100; i++) {
		p[i] = http_alloc(&req, 100);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], i, 100);
	}
	big = http_alloc(&req, 100000);
	memset(big, 1, 100000);
	for (i = 0; i < 100; i++)
		assert_int_equal((unsigned char)p[i][99], i);
	assert_non_null(http_alloc(&req, 0));
	http_request_reset(&req);
	assert_non_null(req.arena_);
	p[0] = http_alloc(&req, 10);
	memset(p[0], 0, 10);
	http_request_release(&req);
	assert_null(req.arena_);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http__simple_get),
	    cmocka_unit_test(test_http__query_and_trimmed_values),
	    cmocka_unit_test(test_http__pipelined),
	    cmocka_unit_test(test_http__chunked_trailers_ignored),
	    cmocka_unit_test(test_http__http10_keep_alive),
	    cmocka_unit_test(test_http__expect_continue),
	    cmocka_unit_test(test_http__body_limit),
	    cmocka_unit_test(test_http__header_limits),
	    cmocka_unit_test(test_http__malformed),
	    cmocka_unit_test(test_http__framing_limit),
	    cmocka_unit_test(test_http__nul_and_binary),
	    cmocka_unit_test(test_http__fast_edges),
	    cmocka_unit_test(test_http__fast_limits),
	    cmocka_unit_test(test_http__header_get),
	    cmocka_unit_test(test_http__format_response),
	    cmocka_unit_test(test_http__error_bodies),
	    cmocka_unit_test(test_http__arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
