/*
 * test_md5.c: MD5 against the RFC 1321 appendix A.5 test suite, plus input
 * split across update calls at every offset and the lengths around the
 * padding boundary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "md5.h"

static const struct {
	const char *in;
	const char *hex;
} vectors[] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "d174ab98d277d9f5a5611c2c9f419d9f"},
    {"1234567890123456789012345678901234567890123456789012345678901234567"
     "8901234567890",
        "57edf4a22be3c955ac49da2e2107b67a"},
};

static void
test_md5__rfc1321_vectors(void **state)
{
	char hex[MD5_HEX_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		md5_hex(vectors[i].in, strlen(vectors[i].in), hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

static void
test_md5__split_updates(void **state)
{
	const char *s = vectors[6].in;
	size_t len = strlen(s), cut;
	unsigned char d[MD5_DIGEST_LEN], want[MD5_DIGEST_LEN];
	struct md5 m;

	(void)state;
	md5_init(&m);
	md5_update(&m, s, len);
	md5_final(&m, want);
	for (cut = 0; cut <= len; cut++) {
		md5_init(&m);
		md5_update(&m, s, cut);
		md5_update(&m, s + cut, len - cut);
		md5_final(&m, d);
		assert_memory_equal(d, want, sizeof(d));
	}
}

static void
test_md5__padding_boundaries(void **state)
{
	/* md5 of 55, 56, 63, 64, 65 'a' bytes (checked with md5sum). */
	static const struct {
		size_t n;
		const char *hex;
	} t[] = {
	    {55, "ef1772b6dff9a122358552954ad0df65"},
	    {56, "3b0c8ac703f828b04c6c197006d17218"},
	    {63, "b06521f39153d618550606be297466d5"},
	    {64, "014842d480b571495a4a0363793f7367"},
	    {65, "c743a45e0d2e6a95cb859adae0248435"},
	};
	char in[80], hex[MD5_HEX_LEN + 1];
	size_t i;

	(void)state;
	memset(in, 'a', sizeof(in));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		md5_hex(in, t[i].n, hex);
		assert_string_equal(hex, t[i].hex);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_md5__rfc1321_vectors),
	    cmocka_unit_test(test_md5__split_updates),
	    cmocka_unit_test(test_md5__padding_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
