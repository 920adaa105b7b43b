/*
 * test_davpath.c: WebDAV paths (davpath.h): decoding once, '//' merged,
 * the refusals ('..', encoded '/', NUL, control bytes, bad UTF-8, long
 * names, reserved names, too deep), href encoding, and the same rules
 * for one name that does not come from a request (davpath_name_why).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "davpath.h"

static int
parse(const char *path, struct davpath *dp, char *out)
{
	const char *why;
	int rc = davpath_parse(str_from(path), out, dp, &why);

	if (rc == -1)
		assert_non_null(why);
	return rc;
}

static void
test_davpath__decodes_once(void **state)
{
	struct davpath dp;
	char out[256];

	(void)state;
	assert_int_equal(parse("//dav//My%20Books/%2541+x/", &dp, out), 0);
	assert_int_equal(dp.nseg, 3);
	assert_true(str_eqs(dp.seg[0], "dav"));
	assert_true(str_eqs(dp.seg[1], "My Books"));
	assert_true(str_eqs(dp.seg[2], "%41+x"));
	assert_string_equal(dp.seg[2].p, "%41+x"); /* NUL-terminated */
	assert_true(dp.slash);
	assert_int_equal(parse("/", &dp, out), 0);
	assert_int_equal(dp.nseg, 0);
	assert_int_equal(parse("/dav/%C3%A9t%C3%A9", &dp, out), 0);
	assert_true(str_eqs(dp.seg[1], "\xc3\xa9t\xc3\xa9"));
	assert_false(dp.slash);
}

static void
test_davpath__refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "dav",
	    "/dav/..",
	    "/dav/%2e%2E",
	    "/dav/.",
	    "/a%2Fb",
	    "/a%2fb",
	    "/a%00",
	    "/a%0a",
	    "/a\x01",
	    "/a%",
	    "/a%4",
	    "/a%zz",
	    "/a%C3%28",
	    "/a%FF",
	    "/.kosyncd-tmp-1",
	    "/x/.kosyncd-props-y",
	};
	struct davpath dp;
	char out[4200], big[4200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &dp, out), -1);
	/* A 256-byte name; 255 is fine. */
	big[0] = '/';
	memset(big + 1, 'n', 256);
	big[257] = '\0';
	assert_int_equal(parse(big, &dp, out), -1);
	big[256] = '\0';
	assert_int_equal(parse(big, &dp, out), 0);
	/* 33 levels. */
	for (i = 0; i < 33; i++)
		memcpy(big + 2 * i, "/a", 2);
	big[66] = '\0';
	assert_int_equal(parse(big, &dp, out), -1);
	big[64] = '\0';
	assert_int_equal(parse(big, &dp, out), 0);
}

static void
test_davpath__encode(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	davpath_encode(&b, str_from("My Notes (1)/é~.md"), false);
	assert_string_equal(b.data, "My%20Notes%20%281%29%2F%C3%A9~.md");
	buf_reset(&b);
	davpath_encode(&b, str_from("/a b/c"), true);
	assert_string_equal(b.data, "/a%20b/c");
	buf_release(&b);
}

static void
test_davpath__name_why(void **state)
{
	char big[DAVPATH_MAX_NAME + 2];

	(void)state;
	assert_null(davpath_name_why(str_from("statistics.sqlite3")));
	assert_null(davpath_name_why(str_from("My Notes é")));
	assert_non_null(davpath_name_why(str_from("")));
	assert_non_null(davpath_name_why(str_from(".")));
	assert_non_null(davpath_name_why(str_from("..")));
	assert_non_null(davpath_name_why(str_from("../etc")));
	assert_non_null(davpath_name_why(str_from("/etc")));
	assert_non_null(davpath_name_why(str_from("a\nb")));
	assert_non_null(davpath_name_why((struct str){"a\0b", 3}));
	assert_non_null(davpath_name_why(str_from("\xff\xfe")));
	assert_non_null(davpath_name_why(str_from(DAVPATH_RESERVED "props-x")));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_non_null(davpath_name_why(str_from(big)));
	big[DAVPATH_MAX_NAME] = '\0';
	assert_null(davpath_name_why(str_from(big)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_davpath__decodes_once),
	    cmocka_unit_test(test_davpath__refuses),
	    cmocka_unit_test(test_davpath__encode),
	    cmocka_unit_test(test_davpath__name_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
