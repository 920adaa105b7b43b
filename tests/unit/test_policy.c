/*
 * test_policy.c: progress policies (policy.c): names, the decision of
 * each policy on the offline-queue replay and its neighbours, and the
 * pull table (known pulls, forgotten ones count as pulls).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "policy.h"

static void
test_policy__names(void **state)
{
	(void)state;
	assert_int_equal(policy_parse(STR_LIT("latest")), DB_POLICY_LATEST);
	assert_int_equal(policy_parse(STR_LIT("furthest")), DB_POLICY_FURTHEST);
	assert_int_equal(policy_parse(STR_LIT("guard")), DB_POLICY_GUARD);
	assert_int_equal(policy_parse(STR_LIT("Guard")), -1);
	assert_int_equal(policy_parse(STR_LIT("")), -1);
	assert_int_equal(policy_parse(STR_NULL), -1);
	assert_string_equal(policy_name(DB_POLICY_GUARD), "guard");
	assert_null(policy_name(3));
	assert_string_equal(policy_held_name(DB_HELD_FURTHEST), "furthest");
	assert_string_equal(
	    policy_held_name(DB_HELD_GUARD | DB_HELD_PROMOTED), "guard");
	assert_string_equal(policy_held_name(0), "");
}

static void
test_policy__decide(void **state)
{
	/* Current 70 % written at 1000; the replay of 40 % from 900. */
	static const struct {
		unsigned policy;
		struct policy_case c;
		unsigned want;
	} cases[] = {
	    {DB_POLICY_LATEST, {true, 70, 1000, 40, 900, false}, 0},
	    {DB_POLICY_GUARD, {true, 70, 1000, 40, 900, false}, DB_HELD_GUARD},
	    {DB_POLICY_FURTHEST, {true, 70, 1000, 40, 900, false},
	        DB_HELD_FURTHEST},
	    /* guard: pulled since, no client timestamp, a newer one, ahead */
	    {DB_POLICY_GUARD, {true, 70, 1000, 40, 900, true}, 0},
	    {DB_POLICY_GUARD, {true, 70, 1000, 40, 0, false}, 0},
	    {DB_POLICY_GUARD, {true, 70, 1000, 40, 1000, false}, 0},
	    {DB_POLICY_GUARD, {true, 70, 1000, 80, 900, false}, 0},
	    /* furthest: behind whatever else; equal or ahead is current */
	    {DB_POLICY_FURTHEST, {true, 70, 1000, 69.9, 2000, true},
	        DB_HELD_FURTHEST},
	    {DB_POLICY_FURTHEST, {true, 70, 1000, 70, 900, false}, 0},
	    {DB_POLICY_FURTHEST, {true, 70, 1000, 71, 900, false}, 0},
	    /* nothing current: the first push is never held */
	    {DB_POLICY_FURTHEST, {false, 0, 0, 1, 0, false}, 0},
	    {DB_POLICY_GUARD, {false, 0, 0, 1, 0, false}, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
		    policy_decide(cases[i].policy, &cases[i].c), cases[i].want);
}

static void
test_policy__pulls(void **state)
{
	struct policy_pulls *t = policy_pulls_new(100);
	uint64_t a = policy_client(STR_LIT("10.0.0.1"), STR_LIT("KOReader A"));
	uint64_t b = policy_client(STR_LIT("10.0.0.1"), STR_LIT("KOReader B"));
	struct str u = STR_LIT("ann"), d = STR_LIT("doc");
	unsigned i;
	char name[16];

	(void)state;
	assert_true(a != b);
	assert_true(
	    a == policy_client(STR_LIT("10.0.0.1"), STR_LIT("KOReader A")));
	/* Before the table: forgotten, counted as pulled. */
	assert_true(policy_pulled_since(t, u, d, a, 100));
	/* After: only a known pull at or after since. */
	assert_false(policy_pulled_since(t, u, d, a, 101));
	policy_pulls_note(t, u, d, b, 150);
	assert_false(policy_pulled_since(t, u, d, a, 120));
	assert_true(policy_pulled_since(t, u, d, b, 120));
	assert_true(policy_pulled_since(t, u, d, b, 150));
	assert_false(policy_pulled_since(t, u, d, b, 151));
	assert_false(policy_pulled_since(t, u, STR_LIT("other"), b, 120));
	assert_false(policy_pulled_since(t, STR_LIT("bob"), d, b, 120));
	/* Filling every slot forgets pulls: they count as pulls then. */
	for (i = 0; i < 4 * POLICY_PULL_SLOTS; i++) {
		snprintf(name, sizeof(name), "d%u", i);
		policy_pulls_note(t, u, str_from(name), a, 200);
	}
	assert_true(policy_pulled_since(t, u, d, a, 200));
	assert_false(policy_pulled_since(t, u, d, a, 201));
	policy_pulls_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy__names),
	    cmocka_unit_test(test_policy__decide),
	    cmocka_unit_test(test_policy__pulls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
