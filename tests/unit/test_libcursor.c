/*
 * test_libcursor.c: the library's page cursors: their text (libcursor.c)
 * and what library_cursor_check accepts as a cursor of an order.
 *
 * Covers: a cursor round trips (fields with any bytes but NUL, empty
 * fields) and is URL-safe (base64url, no padding); the length bound on
 * both sides (the longest accepted, one more refused); what the decoder
 * refuses (empty, '+', '/', '=', other characters, another version, no
 * kind letter, no final NUL, more than LIBCURSOR_MAX_FIELDS fields), c
 * left zeroed; per order, the fields library_cursor_check wants (the
 * position, the key, a 32-hex-digit book id), another order's refused,
 * numbers strict (no sign, no leading zero, no overflow; a series index
 * finite).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "buf.h"
#include "libcursor.h"
#include "library.h"

#define ID "0123456789abcdef0123456789abcdef"

/* A cursor of kind and the n fields, in a static buffer. */
static const char *
make(char kind, const char *const *f, size_t n)
{
	static struct buf b = BUF_INIT;

	buf_reset(&b);
	assert_int_equal(libcursor_encode(&b, kind, f, n), 0);
	return b.data;
}

/* base64url of len raw bytes, unpadded, in a static buffer. */
static const char *
raw64(const char *raw, size_t len)
{
	static struct buf b = BUF_INIT;
	size_t i;

	buf_reset(&b);
	base64_encode(&b, raw, len);
	while (b.len > 0 && b.data[b.len - 1] == '=')
		b.data[--b.len] = '\0';
	for (i = 0; i < b.len; i++)
		b.data[i] = b.data[i] == '+'   ? '-'
		            : b.data[i] == '/' ? '_'
		                               : b.data[i];
	return b.data;
}

static void
test_libcursor__round_trip(void **state)
{
	const char *f[] = {"50", "", "Ünïcode ?&=+/ \x01\xff", ID};
	struct libcursor c;
	const char *t = make('a', f, 4);
	size_t i;

	(void)state;
	assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
	                           "rstuvwxyz0123456789-_"),
	    strlen(t));
	assert_int_equal(libcursor_decode(t, strlen(t), &c), 0);
	assert_int_equal(c.kind, 'a');
	assert_int_equal(c.nfields, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(c.field[i], f[i]);
}

static void
test_libcursor__bounds(void **state)
{
	struct buf b = BUF_INIT;
	struct libcursor c;
	/* "1t" + field + NUL: 1536 raw bytes are exactly 2048 characters. */
	char big[1536 - 3 + 1];
	const char *f[] = {big};

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(libcursor_encode(&b, 't', f, 1), 0);
	assert_int_equal(b.len, LIBCURSOR_MAX);
	assert_int_equal(libcursor_decode(b.data, b.len, &c), 0);
	assert_int_equal(strlen(c.field[0]), sizeof(big) - 1);
	buf_reset(&b);
	{
		char more[sizeof(big) + 1];
		const char *g[] = {more};

		memset(more, 'x', sizeof(more) - 1);
		more[sizeof(more) - 1] = '\0';
		assert_int_equal(libcursor_encode(&b, 't', g, 1), -1);
		assert_int_equal(b.len, 0);
	}
	assert_int_equal(libcursor_encode(&b, '1', f, 1), -1);
	assert_int_equal(libcursor_encode(&b, 't', f, 0), -1);
	assert_int_equal(
	    libcursor_encode(&b, 't', f, LIBCURSOR_MAX_FIELDS + 1), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_libcursor__refused(void **state)
{
	struct libcursor c, zero;
	char longer[LIBCURSOR_MAX + 2];
	const char *ok = raw64("1tab\0", 5);
	char tmp[64];

	(void)state;
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(libcursor_decode(ok, strlen(ok), &c), 0);
	assert_int_equal(libcursor_decode("", 0, &c), -1);
	assert_memory_equal(&c, &zero, sizeof(c));
	snprintf(tmp, sizeof(tmp), "%s=", ok);
	assert_int_equal(libcursor_decode(tmp, strlen(tmp), &c), -1);
	assert_int_equal(libcursor_decode("MXRh+A", 6, &c), -1);
	assert_int_equal(libcursor_decode("MXRh/A", 6, &c), -1);
	assert_int_equal(libcursor_decode("MXRh.A", 6, &c), -1);
	assert_int_equal(libcursor_decode("MXRh A", 6, &c), -1);
	memset(longer, 'A', sizeof(longer));
	assert_int_equal(libcursor_decode(longer, LIBCURSOR_MAX + 1, &c), -1);
	assert_memory_equal(&c, &zero, sizeof(c));
	ok = raw64("2tab\0", 5); /* another version */
	assert_int_equal(libcursor_decode(ok, strlen(ok), &c), -1);
	ok = raw64("1?ab\0", 5); /* no kind letter */
	assert_int_equal(libcursor_decode(ok, strlen(ok), &c), -1);
	ok = raw64("1tab", 4); /* no final NUL */
	assert_int_equal(libcursor_decode(ok, strlen(ok), &c), -1);
	ok = raw64("1t", 2); /* no field */
	assert_int_equal(libcursor_decode(ok, strlen(ok), &c), -1);
	ok = raw64("1ta\0b\0c\0d\0e\0f\0", 14);
	assert_int_equal(libcursor_decode(ok, strlen(ok), &c), 0);
	assert_int_equal(c.nfields, 6);
	ok = raw64("1ta\0b\0c\0d\0e\0f\0g\0", 16); /* seven fields */
	assert_int_equal(libcursor_decode(ok, strlen(ok), &c), -1);
	assert_memory_equal(&c, &zero, sizeof(c));
}

static void
test_libcursor__orders(void **state)
{
	const char *title[] = {"50", "same title", ID};
	const char *author[] = {"7", "Writer, A", "same title", ID};
	const char *series[] = {"0", "Saga", "-1e+308", "same", ID};
	const char *added[] = {"100", "1765000000", "same", ID};
	uint64_t pos = 0;

	(void)state;
	assert_null(
	    library_cursor_check(make('t', title, 3), LIBRARY_BY_TITLE, &pos));
	assert_int_equal(pos, 50);
	assert_null(library_cursor_check(
	    make('a', author, 4), LIBRARY_BY_AUTHOR, NULL));
	assert_null(library_cursor_check(
	    make('s', series, 5), LIBRARY_BY_SERIES, NULL));
	assert_null(
	    library_cursor_check(make('n', added, 4), LIBRARY_BY_ADDED, &pos));
	assert_int_equal(pos, 100);
	/* Another order's. */
	assert_non_null(
	    library_cursor_check(make('t', title, 3), LIBRARY_BY_AUTHOR, NULL));
	assert_non_null(
	    library_cursor_check(make('a', author, 4), LIBRARY_BY_ADDED, NULL));
	assert_non_null(library_cursor_check(
	    make('t', title, 3), (enum library_order)9, NULL));
	assert_non_null(
	    library_cursor_check("garbage!", LIBRARY_BY_TITLE, NULL));
}

/*
 * Each of the n values of bad, put in field at of good (a cursor of kind
 * and nf fields, valid), makes the cursor no cursor of order.
 */
static void
refuse_field(char kind, enum library_order order, const char *const *good,
    size_t nf, size_t at, const char *const *bad, size_t n)
{
	const char *f[LIBCURSOR_MAX_FIELDS];
	size_t i;

	memcpy(f, good, nf * sizeof(*f));
	assert_null(library_cursor_check(make(kind, f, nf), order, NULL));
	for (i = 0; i < n; i++) {
		f[at] = bad[i];
		assert_non_null(
		    library_cursor_check(make(kind, f, nf), order, NULL));
	}
}

#define NBAD(a) (sizeof(a) / sizeof(a[0]))

static void
test_libcursor__fields(void **state)
{
	static const char *const bad_pos[] = {"", "-1", "+1", "01", "1x",
	    "1099511627777", "99999999999999999999999"};
	static const char *const bad_id[] = {"", "0123",
	    "0123456789ABCDEF0123456789ABCDEF", ID "0",
	    "0123456789abcdef0123456789abcdeg"};
	static const char *const bad_added[] = {
	    "", "x", "--1", "-0x1", "9223372036854775808", "1.5"};
	static const char *const bad_index[] = {
	    "", "nan", "inf", "-inf", "1e999", "1x", " 1", "+1", "-"};
	static const char *const title[] = {"1099511627776", "t", ID};
	static const char *const added[] = {
	    "0", "-9223372036854775807", "t", ID};
	static const char *const series[] = {"0", "Saga", "-1e+308", "t", ID};

	(void)state;
	refuse_field(
	    't', LIBRARY_BY_TITLE, title, 3, 0, bad_pos, NBAD(bad_pos));
	refuse_field('t', LIBRARY_BY_TITLE, title, 3, 2, bad_id, NBAD(bad_id));
	refuse_field(
	    'n', LIBRARY_BY_ADDED, added, 4, 1, bad_added, NBAD(bad_added));
	refuse_field(
	    's', LIBRARY_BY_SERIES, series, 5, 2, bad_index, NBAD(bad_index));
	/* Field counts of another order. */
	assert_non_null(
	    library_cursor_check(make('a', title, 3), LIBRARY_BY_AUTHOR, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libcursor__round_trip),
	    cmocka_unit_test(test_libcursor__bounds),
	    cmocka_unit_test(test_libcursor__refused),
	    cmocka_unit_test(test_libcursor__orders),
	    cmocka_unit_test(test_libcursor__fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
