/*
 * test_base64.c: the one base64 encoder and decoder.
 *
 * Covers: RFC 4648 vectors both ways; the backups' rule (padded to a
 * multiple of four, unused bits not checked, as Go writes it) and HTTP
 * Basic's rule (padding optional, canonical), each with what it refuses;
 * the bytes at the end of out untouched when decoding fails.
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

static void
test_base64__basic_rule(void **state)
{
	static const struct {
		const char *in;
		long n;
		const char *out;
	} t[] = {
	    {"", 0, ""},
	    {"Zg==", 1, "f"},
	    {"Zg", 1, "f"},
	    {"Zm8=", 2, "fo"},
	    {"Zm8", 2, "fo"},
	    {"Zm9v", 3, "foo"},
	    {"Zm9vYg==", 4, "foob"},
	    {"Zm9vYmE=", 5, "fooba"},
	    {"Zm9vYmFy", 6, "foobar"},
	    {"+/+/", 3, "\xfb\xff\xbf"},
	    {"Z", -1, NULL},
	    {"Zg=", -1, NULL},
	    {"Zg===", -1, NULL},
	    {"Z=g=", -1, NULL},
	    {"Zh==", -1, NULL},
	    {"Zm9v YmFy", -1, NULL},
	    {"Zm9-", -1, NULL},
	};
	char out[32];
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = base64_decode_mem(t[i].in, strlen(t[i].in), out,
		    BASE64_PAD_OPTIONAL | BASE64_CANONICAL);
		if (n != t[i].n)
			fail_msg("'%s' -> %ld", t[i].in, n);
		if (n > 0)
			assert_memory_equal(out, t[i].out, (size_t)n);
	}
}

static void
test_base64__vectors(void **state)
{
	static const char *const v[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	    {"\xff\xfe\xfd", "//79"},
	    {"\xfb\xef", "++8="},
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		base64_encode(&b, v[i][0], strlen(v[i][0]));
		assert_string_equal(b.data, v[i][1]);
		buf_reset(&b);
		assert_int_equal(
		    base64_decode(&b, v[i][1], strlen(v[i][1])), 0);
		assert_int_equal(b.len, strlen(v[i][0]));
		assert_memory_equal(b.data, v[i][0], b.len);
	}
	buf_release(&b);
}

static void
test_base64__padded_rejects(void **state)
{
	static const char *const bad[] = {
	    "Zg=",
	    "Zg",
	    "Z",
	    "Zm9v!",
	    "Zm9v Zg==",
	    "Z===",
	    "====",
	    "Zg==Zm9v",
	    "Zm=v",
	    "Zm9\n",
	    "Zm9-",
	    "Zm9_",
	    "Zm9v\x80\x80\x80\x80",
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	buf_adds(&b, "keep");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(base64_decode(&b, bad[i], strlen(bad[i])), -1);
		assert_string_equal(b.data, "keep");
	}
	buf_release(&b);
}

/* The two rules differ exactly where their callers need them to. */
static void
test_base64__rules_differ(void **state)
{
	char out[BASE64_DECODED_MAX(8)];
	unsigned basic = BASE64_PAD_OPTIONAL | BASE64_CANONICAL;

	(void)state;
	/* Unpadded: Basic only. */
	assert_int_equal(base64_decode_mem("Zm8", 3, out, basic), 2);
	assert_int_equal(base64_decode_mem("Zm8", 3, out, 0), -1);
	/* Unused bits set: the backups' rule only (Go does not check). */
	assert_int_equal(base64_decode_mem("Zh==", 4, out, basic), -1);
	assert_int_equal(base64_decode_mem("Zh==", 4, out, 0), 1);
	assert_int_equal(out[0], 'f');
	assert_int_equal(base64_decode_mem("Zm9=", 4, out, 0), 2);
	/* Each flag alone. */
	assert_int_equal(
	    base64_decode_mem("Zh", 2, out, BASE64_PAD_OPTIONAL), 1);
	assert_int_equal(
	    base64_decode_mem("Zh==", 4, out, BASE64_CANONICAL), -1);
	/* Padding that does not complete a group: neither. */
	assert_int_equal(base64_decode_mem("Zg=", 3, out, basic), -1);
	assert_int_equal(base64_decode_mem("Zg=", 3, out, 0), -1);
	assert_int_equal(base64_decode_mem("", 0, out, 0), 0);
}

/* base64_decode appends after what out holds. */
static void
test_base64__appends(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	buf_adds(&b, "x:");
	assert_int_equal(base64_decode(&b, "Zm9vYmFy", 8), 0);
	assert_string_equal(b.data, "x:foobar");
	base64_encode(&b, "f", 1);
	assert_string_equal(b.data, "x:foobarZg==");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64__vectors),
	    cmocka_unit_test(test_base64__padded_rejects),
	    cmocka_unit_test(test_base64__basic_rule),
	    cmocka_unit_test(test_base64__rules_differ),
	    cmocka_unit_test(test_base64__appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
