/*
 * test_regress_fuzz.c: bugs found by the fuzzers in fuzz/, each checked
 * through the interface of its module (filestore.h for the journal's
 * record reader) so that it stays fixed even when the fuzz corpora are not
 * run. (fuzz/run --smoke replays the crashing
 * inputs themselves: fuzz/corpus/<target>/regress-*.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "change.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "json.h"
#include "snapshot.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

/* The parsed bodies of a test, freed after it. */
static struct json_arena arena = JSON_ARENA_INIT;

static int
teardown(void **state)
{
	(void)state;
	json_arena_release(&arena);
	return 0;
}

static const struct json_value *
parse(const char *s, size_t len, const char **err)
{
	*err = NULL;
	return json_parse(s, len, json_arena_alloc, &arena, err);
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

/*
 * fuzz_snapshot, fuzz_journal: a timestamp outside int64_t (1.7e24 in a
 * database.json, 1e300 in a journal record) was cast to int64_t, which is
 * undefined; it now reads as 0.
 */
static void
test_regress__timestamp_out_of_range(void **state)
{
	static const char snap[] =
	    "{\"users\":{\"a\":{\"username\":\"a\",\"password\":\"k\","
	    "\"documents\":{\"d\":{\"percentage\":0.5,\"progress\":\"1\","
	    "\"device\":\"x\",\"timestamp\":1700009223372036854775807}}}}}";
	static const char create[] =
	    "{\"op\":\"create\",\"user\":\"b\",\"key\":\"k\"}";
	static const char put[] =
	    "{\"op\":\"put\",\"user\":\"b\",\"doc\":\"d\",\"percentage\":"
	    "0.5,\"timestamp\":-1e300,\"progress\":\"1\",\"device\":\"x\"}";
	struct db db;
	struct config cfg;
	struct snapshot_info info;
	struct buf err = BUF_INIT;
	struct db_user *u;
	struct db_doc *d;

	(void)state;
	config_init(&cfg);
	db_init(&db);
	hs = (struct db_history){false, 0, 0};
	assert_int_equal(
	    snapshot_parse(snap, strlen(snap), &db, &cfg, &info, &err), 0);
	u = db_user_find(&db, STR_LIT("a"));
	assert_non_null(u);
	d = db_doc_find(u, STR_LIT("d"));
	assert_non_null(d);
	assert_true(d->timestamp == 0);

	assert_int_equal(change_replay(&db, &hs, create, strlen(create)), 0);
	assert_int_equal(change_replay(&db, &hs, put, strlen(put)), 0);
	u = db_user_find(&db, STR_LIT("b"));
	assert_non_null(u);
	d = db_doc_find(u, STR_LIT("d"));
	assert_non_null(d);
	assert_true(d->timestamp == 0);

	db_release(&db);
	config_release(&cfg);
	buf_release(&err);
}

/*
 * fuzz_snapshot: a percentage that overflows ("percentage": 0.1e30825)
 * loaded as infinity, was written as null and read back as 0; it now
 * loads as 0 at once.
 */
static void
test_regress__percentage_overflow(void **state)
{
	static const char snap[] =
	    "{\"users\":{\"a\":{\"username\":\"a\",\"password\":\"k\","
	    "\"documents\":{\"d\":{\"percentage\":0.1e30825,\"progress\":"
	    "\"1\",\"device\":\"x\",\"timestamp\":1}}}}}";
	struct db db;
	struct snapshot_info info;
	struct buf err = BUF_INIT;
	struct db_user *u;
	struct db_doc *d;

	(void)state;
	db_init(&db);
	hs = (struct db_history){false, 0, 0};
	assert_int_equal(
	    snapshot_parse(snap, strlen(snap), &db, NULL, &info, &err), 0);
	u = db_user_find(&db, STR_LIT("a"));
	assert_non_null(u);
	d = db_doc_find(u, STR_LIT("d"));
	assert_non_null(d);
	assert_true(d->percentage == 0);
	db_release(&db);
	buf_release(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(
	        test_regress__json_trailing_unterminated_string, teardown),
	    cmocka_unit_test(test_regress__timestamp_out_of_range),
	    cmocka_unit_test(test_regress__percentage_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
