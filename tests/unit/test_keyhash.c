/*
 * test_keyhash.c: argon2id keys at rest and the verified-key cache digests:
 * PHC strings verify the right key only; legacy keys compare exactly;
 * digests are keyed and compared in constant time; the thread-pool runs
 * at most `concurrency` jobs at once and reports results on the loop;
 * draining fails queued jobs; migration hashes legacy keys in place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <uv.h>

#include "keyhash.h"

static void
test_keys__phc_and_legacy(void **state)
{
	char phc[KEYHASH_PHC_MAX];

	(void)state;
	assert_int_equal(keyhash_hash_sync(str_from("md5key"), phc), 0);
	assert_true(keyhash_is_phc(phc));
	assert_non_null(strstr(phc, "m=19456,t=2,p=1$"));
	assert_true(keyhash_check_sync(phc, str_from("md5key")));
	assert_false(keyhash_check_sync(phc, str_from("md5kez")));
	assert_false(keyhash_check_sync(phc, str_from("")));
	assert_false(keyhash_is_phc("5ebe2294ecd0e0f08eab7690d2a6ee69"));
	assert_true(keyhash_check_sync("abc", str_from("abc")));
	assert_false(keyhash_check_sync("abc", str_from("abcd")));
	assert_false(keyhash_check_sync("", str_from("")));
}

static void
test_keys__digest(void **state)
{
	unsigned char a[KEYHASH_DIGEST_BYTES], b[KEYHASH_DIGEST_BYTES];
	unsigned char c[KEYHASH_DIGEST_BYTES];
	unsigned char zero[crypto_shorthash_siphashx24_KEYBYTES] = {0};
	char long_key[300];

	(void)state;
	keyhash_digest(str_from("key"), a);
	keyhash_digest(str_from("key"), b);
	keyhash_digest(str_from("kez"), c);
	assert_true(keyhash_digest_eq(a, b));
	assert_false(keyhash_digest_eq(a, c));
	/* Keyed: not the key, and not SipHash-2-4 under an all-zero key. */
	assert_memory_not_equal(a, "key", 3);
	crypto_shorthash_siphashx24(c, (const unsigned char *)"key", 3, zero);
	assert_memory_not_equal(a, c, KEYHASH_DIGEST_BYTES);
	/* Each digest depends on the key alone, not on the ones before it
	 * (a long key, an empty one). */
	memset(long_key, 'k', sizeof(long_key));
	keyhash_digest((struct str){long_key, sizeof(long_key)}, c);
	keyhash_digest((struct str){long_key, sizeof(long_key)}, b);
	assert_true(keyhash_digest_eq(b, c));
	keyhash_digest(STR_NULL, c);
	assert_false(keyhash_digest_eq(b, c));
	keyhash_digest(str_from("key"), b);
	assert_true(keyhash_digest_eq(a, b));
}

struct job {
	enum keyhash_result res;
	int called;
	char *phc;
	struct keyhash *k;
	unsigned max_running;
};

static unsigned max_seen;

static void
done(void *arg, enum keyhash_result res, char *phc)
{
	struct job *j = arg;

	j->called++;
	j->res = res;
	j->phc = phc;
	if (keyhash_running(j->k) + 1 > max_seen)
		max_seen = keyhash_running(j->k) + 1;
}

static void
test_keys__pool_bounded(void **state)
{
	uv_loop_t loop;
	struct keyhash *k;
	struct job j[6];
	char phc[KEYHASH_PHC_MAX];
	int i;

	(void)state;
	uv_loop_init(&loop);
	k = keyhash_new(&loop, 2);
	assert_int_equal(keyhash_hash_sync(str_from("right"), phc), 0);
	memset(j, 0, sizeof(j));
	max_seen = 0;
	for (i = 0; i < 6; i++) {
		j[i].k = k;
		keyhash_verify(
		    k, phc, str_from(i % 2 ? "wrong" : "right"), done, &j[i]);
		assert_true(keyhash_running(k) <= 2);
	}
	assert_int_equal(keyhash_running(k), 2);
	assert_int_equal(keyhash_queued(k), 4);
	uv_run(&loop, UV_RUN_DEFAULT);
	for (i = 0; i < 6; i++) {
		assert_int_equal(j[i].called, 1);
		assert_int_equal(
		    j[i].res, i % 2 ? KEYHASH_MISMATCH : KEYHASH_OK);
	}
	assert_true(max_seen <= 2);
	/* Hashing through the pool. */
	memset(j, 0, sizeof(j));
	j[0].k = k;
	keyhash_hash(k, str_from("new"), done, &j[0]);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(j[0].res, KEYHASH_OK);
	assert_true(keyhash_check_sync(j[0].phc, str_from("new")));
	free(j[0].phc);
	keyhash_free(k);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
drained(void *arg)
{
	*(int *)arg = 1;
}

static void
test_keys__drain_fails_queued(void **state)
{
	uv_loop_t loop;
	struct keyhash *k;
	struct job j[4];
	char phc[KEYHASH_PHC_MAX];
	int i, was_drained = 0;

	(void)state;
	uv_loop_init(&loop);
	k = keyhash_new(&loop, 1);
	assert_int_equal(keyhash_hash_sync(str_from("x"), phc), 0);
	memset(j, 0, sizeof(j));
	for (i = 0; i < 4; i++) {
		j[i].k = k;
		keyhash_verify(k, phc, str_from("x"), done, &j[i]);
	}
	keyhash_drain(k, drained, &was_drained);
	for (i = 1; i < 4; i++) {
		assert_int_equal(j[i].called, 1);
		assert_int_equal(j[i].res, KEYHASH_FAILED);
	}
	assert_int_equal(was_drained, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(was_drained, 1);
	assert_int_equal(j[0].res, KEYHASH_OK);
	keyhash_free(k);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_keys__queue_bounded(void **state)
{
	uv_loop_t loop;
	struct keyhash *k;
	struct job *j = calloc(KEYHASH_MAX_QUEUED + 2, sizeof(*j));
	char phc[KEYHASH_PHC_MAX];
	int i, was_drained = 0;

	(void)state;
	uv_loop_init(&loop);
	k = keyhash_new(&loop, 1);
	assert_int_equal(keyhash_hash_sync(str_from("x"), phc), 0);
	for (i = 0; i < KEYHASH_MAX_QUEUED + 1; i++) {
		j[i].k = k;
		keyhash_verify(k, phc, str_from("x"), done, &j[i]);
		assert_int_equal(j[i].called, 0);
	}
	assert_int_equal(keyhash_queued(k), KEYHASH_MAX_QUEUED);
	/* One more: refused at once, nothing queued. */
	j[i].k = k;
	keyhash_verify(k, phc, str_from("x"), done, &j[i]);
	assert_int_equal(j[i].called, 1);
	assert_int_equal(j[i].res, KEYHASH_FAILED);
	assert_int_equal(keyhash_queued(k), KEYHASH_MAX_QUEUED);
	keyhash_drain(k, drained, &was_drained);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(was_drained, 1);
	assert_int_equal(j[0].res, KEYHASH_OK);
	keyhash_free(k);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(j);
}

static void
test_keys__hash_many(void **state)
{
	char *keys[5];
	int i;

	(void)state;
	keys[0] = strdup("a1");
	keys[1] = strdup("b2");
	keys[2] = strdup("c3");
	assert_int_equal(
	    keyhash_hash_sync(str_from("d4"), (char[KEYHASH_PHC_MAX]){0}), 0);
	keys[3] = malloc(KEYHASH_PHC_MAX);
	assert_int_equal(keyhash_hash_sync(str_from("d4"), keys[3]), 0);
	keys[4] = strdup("e5");
	assert_int_equal(keyhash_hash_many(keys, 5, 3), 0);
	for (i = 0; i < 5; i++)
		assert_true(keyhash_is_phc(keys[i]));
	assert_true(keyhash_check_sync(keys[0], str_from("a1")));
	assert_true(keyhash_check_sync(keys[3], str_from("d4")));
	assert_true(keyhash_check_sync(keys[4], str_from("e5")));
	for (i = 0; i < 5; i++)
		free(keys[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys__phc_and_legacy),
	    cmocka_unit_test(test_keys__digest),
	    cmocka_unit_test(test_keys__pool_bounded),
	    cmocka_unit_test(test_keys__drain_fails_queued),
	    cmocka_unit_test(test_keys__queue_bounded),
	    cmocka_unit_test(test_keys__hash_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
