/*
 * test_regress_fuzz.c: bugs found by the fuzzers in fuzz/, each checked
 * through the public interface of its module so that it stays fixed even
 * when the fuzz corpora are not run. (fuzz/run --smoke replays the crashing
 * inputs themselves: fuzz/corpus/<target>/regress-*.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static void *blocks[256];
static size_t nblocks;

static void *
arena_alloc(void *ctx, size_t size)
{
	void *p = malloc(size);

	(void)ctx;
	assert_non_null(p);
	assert_true(nblocks < sizeof(blocks) / sizeof(blocks[0]));
	blocks[nblocks++] = p;
	return p;
}

static int
teardown(void **state)
{
	(void)state;
	while (nblocks > 0)
		free(blocks[--nblocks]);
	return 0;
}

static const struct json_value *
parse(const char *s, size_t len, const char **err)
{
	*err = NULL;
	return json_parse(s, len, arena_alloc, NULL, err);
}

/*
 * fuzz_json: yajl takes an unterminated string after the value for the
 * start of more input, so '{}"' parsed as '{}' (trailing garbage).
 */
static void
test_regress__json_trailing_unterminated_string(void **state)
{
	static const char *bad[] = {
	    "{}\"",
	    "{} \"abc",
	    "[1] \"x",
	    "null\"",
	    "{\"d.\":\"3\",\"\":\"//3\",\"\":\"/\"}\"\xc1\x9b",
	};
	static const char *good[] = {
	    "{}",
	    "{} \r\n\t",
	    "\"abc\"",
	    "123",
	    "123 ",
	    "  [ ] ",
	    "true",
	};
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(parse(bad[i], strlen(bad[i]), &err));
		assert_non_null(err);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_non_null(parse(good[i], strlen(good[i]), &err));
	/* A NUL after the value is garbage too. */
	assert_null(parse("{}\0", 3, &err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(
	        test_regress__json_trailing_unterminated_string, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
