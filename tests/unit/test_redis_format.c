/*
 * test_redis_format.c: how the Redis backend writes values into Redis
 * (redis_format.h).
 *
 * Covers: SCAN MATCH escaping of every glob character (and of nothing
 * else); percentages as the official server writes them (%.14g) when that
 * reads back, otherwise the fewest digits that do, always reading back as
 * the same double; a device name's value ("<forgotten> <name>") read
 * back, and malformed ones refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "redis_format.h"

static void
test_redis_format__glob_escape(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} t[] = {
	    {"", ""},
	    {"alice", "alice"},
	    {"a*b", "a\\*b"},
	    {"?[x]", "\\?\\[x\\]"},
	    {"back\\slash", "back\\\\slash"},
	    {"caf\xc3\xa9-_.:", "caf\xc3\xa9-_.:"},
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		buf_add(&b, "pre:", 4);
		store_redis_glob_escape(&b, str_from(t[i].in));
		assert_int_equal(b.len, 4 + strlen(t[i].out));
		assert_memory_equal(b.data + 4, t[i].out, strlen(t[i].out));
	}
	buf_release(&b);
}

static void
test_redis_format__percentage(void **state)
{
	static const struct {
		double v;
		const char *out;
	} t[] = {
	    {0, "0"},
	    {1, "1"},
	    {0.5, "0.5"},
	    {0.1234, "0.1234"},
	    {0.99999, "0.99999"},
	    {1.0 / 3.0, "0.3333333333333333"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {2.0 / 3.0, "0.6666666666666666"},
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		store_redis_format_percentage(out, sizeof(out), t[i].v);
		assert_string_equal(out, t[i].out);
		assert_true(strtod(out, NULL) == t[i].v);
	}
}

static void
test_redis_format__devname(void **state)
{
	static const char *const bad[] = {
	    "", "12", " x", "-1 x", "1x y", "99999999999999999999 x"};
	struct str name;
	int64_t t = -1;
	size_t i;

	(void)state;
	assert_int_equal(
	    store_redis_devname_parse("0 Bedside Kobo", 14, &t, &name), 0);
	assert_int_equal(t, 0);
	assert_int_equal(name.len, 12);
	assert_memory_equal(name.p, "Bedside Kobo", 12);
	assert_int_equal(
	    store_redis_devname_parse("1700000000 ", 11, &t, &name), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(name.len, 0);
	assert_int_equal(store_redis_devname_parse("5 a b", 5, &t, &name), 0);
	assert_int_equal(name.len, 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(store_redis_devname_parse(
		                     bad[i], strlen(bad[i]), &t, &name),
		    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redis_format__glob_escape),
	    cmocka_unit_test(test_redis_format__percentage),
	    cmocka_unit_test(test_redis_format__devname),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
