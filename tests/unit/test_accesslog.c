/*
 * test_accesslog.c: the access log's line format.
 *
 * Covers: the "<UTC time> access: " prefix; client, method, path, status,
 * bytes, milliseconds with three decimals and user; "-" for what a
 * refused connection (no request) does not have; method and path escaped
 * and cut; lines collected until accesslog_flush, which empties the
 * buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "accesslog.h"
#include "buf.h"
#include "http.h"
#include "log.h"

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
	accesslog_init(&al);
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
	accesslog_init(&al);
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

static void
test_accesslog__flush_empties(void **state)
{
	struct accesslog al;

	(void)state;
	accesslog_init(&al);
	accesslog_flush(&al); /* nothing collected: nothing written */
	accesslog_add(&al, "192.0.2.1", NULL, 503, 0, 0);
	assert_true(al.lines.len > 0);
	accesslog_flush(&al);
	assert_int_equal(al.lines.len, 0);
	accesslog_release(&al);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accesslog__fields),
	    cmocka_unit_test(test_accesslog__escaped_and_cut),
	    cmocka_unit_test(test_accesslog__flush_empties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
