/*
 * test_opdspse.c: which entries of a CBZ are its pages (opdspse.h): the
 * image extensions in any case, a Mac's resource forks left out, the
 * order by name; and an archive that is not one refused by both calls.
 * (t154 reads real archives end to end.)
 *
 * UNIT_INCLUDES: src/opdspse.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/opdspse.c"

static void
test_opdspse__page_type(void **state)
{
	(void)state;
	assert_string_equal(page_type("001.jpg"), "image/jpeg");
	assert_string_equal(page_type("a/b/002.JPEG"), "image/jpeg");
	assert_string_equal(page_type("x.Png"), "image/png");
	assert_string_equal(page_type("x.gif"), "image/gif");
	assert_string_equal(page_type("x.webp"), "image/webp");
	assert_null(page_type("ComicInfo.xml"));
	assert_null(page_type(".jpg.txt"));
	assert_null(page_type(".jpg"));
	assert_null(page_type("__MACOSX/._001.png"));
	assert_null(page_type("pages/._001.png"));
	assert_null(page_type("jpg"));
}

static void
test_opdspse__order(void **state)
{
	char n0[] = "b/010.png", n1[] = "ComicInfo.xml", n2[] = "a/002.png",
	     n3[] = "b/002.png", n4[] = "__MACOSX/a/._002.png";
	struct bookzip_entry e[] = {
	    {n0, 0, 0, 0, 0},
	    {n1, 0, 0, 0, 0},
	    {n2, 0, 0, 0, 0},
	    {n3, 0, 0, 0, 0},
	    {n4, 0, 0, 0, 0},
	};
	struct bookzip z;
	const struct bookzip_entry **v;
	size_t n = 0;

	(void)state;
	memset(&z, 0, sizeof(z));
	z.entries = e;
	z.n = sizeof(e) / sizeof(e[0]);
	v = pages(&z, &n);
	assert_non_null(v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0]->name, "a/002.png");
	assert_string_equal(v[1]->name, "b/002.png");
	assert_string_equal(v[2]->name, "b/010.png");
	free(v);
}

static void
test_opdspse__not_an_archive(void **state)
{
	static const unsigned char junk[] = "PK\x03\x04 not really a zip";
	struct bookzip_src src = {-1, junk, sizeof(junk)};
	struct buf why = BUF_INIT, out = BUF_INIT;
	const char *ctype = NULL;

	(void)state;
	assert_int_equal(opdspse_count(&src, &why), -1);
	assert_true(why.len > 0);
	buf_reset(&why);
	assert_int_equal(opdspse_page(&src, 0, 0, &out, &ctype, &why), -1);
	assert_true(why.len > 0);
	assert_null(ctype);
	buf_release(&why);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opdspse__page_type),
	    cmocka_unit_test(test_opdspse__order),
	    cmocka_unit_test(test_opdspse__not_an_archive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
