/*
 * test_crc32c.c: CRC-32C against published check values (RFC 3720 B.4)
 * and against a bit-at-a-time reference at every length and alignment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

static uint32_t
crc_ref(const unsigned char *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static void
test_crc32c__check_values(void **state)
{
	unsigned char b[32];
	int i;

	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);
	memset(b, 0, sizeof(b));
	assert_int_equal(crc32c(0, b, 32), 0x8A9136AAu);
	memset(b, 0xff, sizeof(b));
	assert_int_equal(crc32c(0, b, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	assert_int_equal(crc32c(0, b, 32), 0x46DD794Eu);
	for (i = 0; i < 32; i++)
		b[i] = (unsigned char)(31 - i);
	assert_int_equal(crc32c(0, b, 32), 0x113FDB5Cu);
}

static void
test_crc32c__matches_reference(void **state)
{
	unsigned char b[300];
	size_t len, off;
	uint32_t seed = 12345;

	(void)state;
	for (len = 0; len < sizeof(b); len++) {
		seed = seed * 1103515245u + 12345u;
		b[len] = (unsigned char)(seed >> 16);
	}
	for (off = 0; off < 8; off++)
		for (len = 0; len + off <= sizeof(b); len += 7)
			assert_int_equal(
			    crc32c(0, b + off, len), crc_ref(b + off, len));
}

static void
test_crc32c__continues(void **state)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t n = strlen(s), k;
	uint32_t whole = crc32c(0, s, n);

	(void)state;
	assert_int_equal(whole, 0x22620404u);
	for (k = 0; k <= n; k++)
		assert_int_equal(crc32c(crc32c(0, s, k), s + k, n - k), whole);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c__check_values),
	    cmocka_unit_test(test_crc32c__matches_reference),
	    cmocka_unit_test(test_crc32c__continues),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
