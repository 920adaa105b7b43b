/*
 * test_accesslog.c: the access log's line format.
 *
 * Covers: the "<UTC time> access: " prefix; client, method, path, status,
 * bytes, milliseconds with three decimals and user; "-" for what a
 * refused connection (no request) does not have; method and path escaped
 * and cut; lines collected until accesslog_flush, which writes them whole
 * and empties the buffer; a batch written at once when it reaches its size
 * or its age, never cut inside a line; on a pipe in pieces of PIPE_BUF
 * (tests/e2e/t161 shows why), elsewhere in one piece.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "accesslog.h"
#include "buf.h"
#include "http.h"
#include "log.h"

/* accesslog_init, with lines held until accesslog_flush (no size or age
 * limit) and written to fd. */
static void
init_held(struct accesslog *al, int fd)
{
	accesslog_init(al);
	al->max_bytes = 0;
	al->max_ms = 0;
	al->fd = fd;
}

/* Read what the pipe holds now (non-blocking end p[0]) into out. */
static size_t
drain(int fd, char *out, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size && (n = read(fd, out + got, size - got)) > 0)
		got += (size_t)n;
	return got;
}

static void
make_pipe(int p[2])
{
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
}

/* The line after "access: " of the collected line at *pos; advances. */
static const char *
next_line(const struct accesslog *al, size_t *pos, char *out, size_t size)
{
	const char *line = al->lines.data + *pos, *nl, *fields;
	size_t n;

	nl = strchr(line, '\n');
	assert_non_null(nl);
	/* "YYYY-mm-ddTHH:MM:SS.mmmZ access: " */
	assert_true(nl - line > 34);
	assert_int_equal(line[4], '-');
	assert_int_equal(line[10], 'T');
	assert_int_equal(line[19], '.');
	assert_memory_equal(line + 23, "Z access: ", 10);
	fields = line + 33;
	n = (size_t)(nl - fields);
	assert_true(n < size);
	memcpy(out, fields, n);
	out[n] = '\0';
	*pos = (size_t)(nl - al->lines.data) + 1;
	return out;
}

static void
test_accesslog__fields(void **state)
{
	struct accesslog al;
	struct http_request req;
	char line[512];
	size_t pos = 0;

	(void)state;
	memset(&req, 0, sizeof(req));
	init_held(&al, -1);
	req.method_name = STR_LIT("PUT");
	req.path = STR_LIT("/syncs/progress");
	req.log_user = STR_LIT("alice");
	accesslog_add(&al, "192.0.2.1", &req, 200, 57, 1234567);
	accesslog_add(&al, "::1", NULL, 503, 0, 0);
	req.log_user = STR_NULL;
	accesslog_add(&al, "local", &req, 401, 3, 5);
	assert_string_equal(next_line(&al, &pos, line, sizeof(line)),
	    "192.0.2.1 PUT /syncs/progress 200 57 1234.567 alice");
	assert_string_equal(
	    next_line(&al, &pos, line, sizeof(line)), "::1 - - 503 0 0.000 -");
	assert_string_equal(next_line(&al, &pos, line, sizeof(line)),
	    "local PUT /syncs/progress 401 3 0.005 -");
	assert_int_equal(pos, al.lines.len);
	accesslog_release(&al);
}

static void
test_accesslog__escaped_and_cut(void **state)
{
	struct accesslog al;
	struct http_request req;
	char path[300], line[1024], want[1024];
	struct buf esc = BUF_INIT;
	size_t pos = 0;

	(void)state;
	memset(&req, 0, sizeof(req));
	memset(path, 'a', sizeof(path));
	path[1] = ' ';
	path[2] = '\n';
	init_held(&al, -1);
	req.method_name = STR_LIT("G\"ET");
	req.path = (struct str){path, sizeof(path)};
	accesslog_add(&al, "192.0.2.1", &req, 400, 1, 0);
	/* The same escaping log.c gives every logged value. */
	log_escape(&esc, req.method_name, 20);
	buf_addch(&esc, ' ');
	log_escape(&esc, req.path, 200);
	snprintf(want, sizeof(want), "192.0.2.1 %s 400 1 0.000 -", esc.data);
	assert_string_equal(next_line(&al, &pos, line, sizeof(line)), want);
	assert_null(strchr(line, '\n'));
	assert_true(strlen(line) < 260);
	buf_release(&esc);
	accesslog_release(&al);
}

/* log_escape: each byte outside printable ASCII, '"' and '\\' as \xNN;
 * the rest copied as is; cut at max with "...". */
static void
test_accesslog__log_escape_bytes(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	log_escape(&b, STR_LIT("plain/path?x=1"), 200);
	assert_string_equal(b.data, "plain/path?x=1");
	buf_reset(&b);
	log_escape(&b, STR_LIT("\"a\\b\n\x7f\xff~ "), 200);
	assert_string_equal(b.data, "\\x22a\\x5cb\\x0a\\x7f\\xff~ ");
	buf_reset(&b);
	log_escape(&b,
	    STR_LIT("/syncs/progress/0123456789\x7f"
	            "abcdef\"ghijklmnopq\\rstu\x80"),
	    200);
	assert_string_equal(b.data, "/syncs/progress/0123456789\\x7f"
	                            "abcdef\\x22ghijklmnopq\\x5crstu\\x80");
	buf_reset(&b);
	log_escape(&b, STR_LIT("\x01"), 200);
	assert_string_equal(b.data, "\\x01");
	buf_reset(&b);
	log_escape(&b, STR_LIT("abc\tdef"), 4);
	assert_string_equal(b.data, "abc\\x09...");
	buf_reset(&b);
	log_escape(&b, STR_NULL, 10);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

/*
 * log_escape reads eight bytes at a time up to a byte to escape: each
 * byte value at each offset of strings of 1 to 40 bytes, cut at every
 * length from 1 to past the end.
 */
static void
test_accesslog__log_escape_every_byte_and_offset(void **state)
{
	static const char hex[] = "0123456789abcdef";
	const char fill[] = "/syncs/progress/0123456789abcdef~ ABCDEFGH";
	struct buf got = BUF_INIT, want = BUF_INIT;
	char in[40];
	size_t len, at, i, max;
	unsigned v;
	unsigned char c;

	(void)state;
	for (len = 1; len <= sizeof(in); len++) {
		for (at = 0; at < len; at++) {
			for (v = 0; v < 256; v++) {
				memcpy(in, fill, len);
				in[at] = (char)v;
				max = (at * 7 + v) % (len + 2) + 1;
				buf_reset(&got);
				buf_reset(&want);
				log_escape(&got, (struct str){in, len}, max);
				for (i = 0; i < len && i < max; i++) {
					c = (unsigned char)in[i];
					if (c >= 0x20 && c < 0x7f && c != '"' &&
					    c != '\\') {
						buf_addch(&want, c);
						continue;
					}
					buf_addch(&want, '\\');
					buf_addch(&want, 'x');
					buf_addch(&want, hex[c >> 4]);
					buf_addch(&want, hex[c & 15]);
				}
				if (len > max)
					buf_add(&want, "...", 3);
				if (got.len != want.len ||
				    memcmp(got.data, want.data, got.len) != 0)
					fail_msg("len %zu max %zu, byte 0x%02x "
					         "at %zu: %s",
					    len, max, v, at, got.data);
			}
		}
	}
	buf_release(&got);
	buf_release(&want);
}

static void
test_accesslog__flush_empties(void **state)
{
	struct accesslog al;
	char got[256];
	int p[2];

	(void)state;
	make_pipe(p);
	init_held(&al, p[1]);
	accesslog_flush(&al); /* nothing collected: nothing written */
	assert_int_equal(drain(p[0], got, sizeof(got)), 0);
	accesslog_add(&al, "192.0.2.1", NULL, 503, 0, 0);
	assert_true(al.lines.len > 0);
	assert_int_equal(drain(p[0], got, sizeof(got)), 0); /* held */
	accesslog_flush(&al);
	assert_int_equal(al.lines.len, 0);
	assert_int_equal(drain(p[0], got, sizeof(got)), 33 + 28);
	assert_memory_equal(got + 33, "192.0.2.1 - - 503 0 0.000 -\n", 28);
	accesslog_release(&al);
	close(p[0]);
	close(p[1]);
}

/* Count the lines of got, each a whole access line. */
static size_t
whole_lines(const char *got, size_t n)
{
	size_t lines = 0, start = 0, i;

	for (i = 0; i < n; i++) {
		if (got[i] != '\n')
			continue;
		assert_true(i - start > 33);
		assert_memory_equal(got + start + 23, "Z access: ", 10);
		lines++;
		start = i + 1;
	}
	assert_int_equal(start, n); /* ends with a whole line */
	return lines;
}

static void
test_accesslog__written_when_full(void **state)
{
	static char got[16384];
	struct accesslog al;
	size_t n, written = 0, total = 0;
	int p[2], i;

	(void)state;
	make_pipe(p);
	init_held(&al, p[1]);
	al.max_bytes = 4096;
	for (i = 0; i < 200; i++) {
		accesslog_add(&al, "192.0.2.1", NULL, 200, 0, 0);
		/* Never more than max_bytes plus the line that reached it. */
		assert_true(al.lines.len < 4096 + 100);
		n = drain(p[0], got, sizeof(got));
		if (n > 0) {
			assert_int_equal(al.lines.len, 0);
			assert_true(n >= 4096);
			written += whole_lines(got, n);
		}
		total++;
	}
	assert_true(written > 0 && written < total);
	accesslog_flush(&al);
	n = drain(p[0], got, sizeof(got));
	assert_int_equal(written + whole_lines(got, n), total);
	accesslog_release(&al);
	close(p[0]);
	close(p[1]);
}

static void
test_accesslog__written_when_old(void **state)
{
	struct timespec pause = {0, 3 * 1000 * 1000};
	struct accesslog al;
	char got[1024];
	int p[2];

	(void)state;
	make_pipe(p);
	init_held(&al, p[1]);
	al.max_ms = 2;
	accesslog_add(&al, "192.0.2.1", NULL, 200, 0, 0);
	nanosleep(&pause, NULL);
	/* The first line is 3 ms old: both are written with the second. */
	accesslog_add(&al, "192.0.2.2", NULL, 200, 0, 0);
	assert_int_equal(al.lines.len, 0);
	assert_int_equal(whole_lines(got, drain(p[0], got, sizeof(got))), 2);
	accesslog_release(&al);
	close(p[0]);
	close(p[1]);
}

static void
test_accesslog__pipe_pieces(void **state)
{
	static char got[65536];
	struct accesslog al;
	FILE *f;
	size_t n;
	int p[2], i;

	(void)state;
	make_pipe(p);
	init_held(&al, p[1]);
	/* ~20 KiB of lines in one flush: four pieces or more, all whole. */
	for (i = 0; i < 400; i++)
		accesslog_add(&al, "192.0.2.1", NULL, 200, 0, 0);
	assert_true(al.lines.len > 3 * PIPE_BUF);
	accesslog_flush(&al);
	assert_int_equal(al.piece, PIPE_BUF);
	n = drain(p[0], got, sizeof(got));
	assert_int_equal(whole_lines(got, n), 400);
	close(p[0]);
	close(p[1]);
	/* Not a pipe: one piece. */
	f = tmpfile();
	assert_non_null(f);
	al.fd = fileno(f);
	accesslog_add(&al, "192.0.2.1", NULL, 200, 0, 0);
	accesslog_flush(&al);
	assert_int_equal(al.piece, 0);
	fclose(f);
	accesslog_release(&al);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accesslog__fields),
	    cmocka_unit_test(test_accesslog__escaped_and_cut),
	    cmocka_unit_test(test_accesslog__log_escape_bytes),
	    cmocka_unit_test(test_accesslog__log_escape_every_byte_and_offset),
	    cmocka_unit_test(test_accesslog__flush_empties),
	    cmocka_unit_test(test_accesslog__written_when_full),
	    cmocka_unit_test(test_accesslog__written_when_old),
	    cmocka_unit_test(test_accesslog__pipe_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
