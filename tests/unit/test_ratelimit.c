/*
 * test_ratelimit.c: the brute-force limiter: per-user and per-address
 * limits, the known (user, address) pair that passes a user block, the
 * sliding window, back-off doubling and its reset, registrations per
 * address, IPv6 /64 grouping, disabled limits, and the bounded tables;
 * the listener hears of what is counted here and ratelimit_apply() counts
 * what another instance counted (two limiters linked as pubsub.c links
 * instances reach one limit together).
 *
 * UNIT_INCLUDES: src/ratelimit.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/ratelimit.c"

#define W 60000 /* window, ms */

static struct ratelimit *
mk(unsigned per_user, unsigned per_ip, unsigned reg, size_t max)
{
	struct ratelimit_params p;

	ratelimit_params_default(&p);
	p.auth_fail_per_user = per_user;
	p.auth_fail_per_ip = per_ip;
	p.auth_fail_window_ms = W;
	p.register_per_ip = reg;
	p.register_window_ms = W;
	p.max_entries = max;
	return ratelimit_new(&p);
}

static struct str
S(const char *s) {
	return str_from(s);
}

static void
fail_n(struct ratelimit *rl, const char *user, const char *peer, unsigned n,
    uint64_t now)
{
	unsigned i;

	for (i = 0; i < n; i++)
		ratelimit_auth_failed(rl, S(user), peer, now);
}

static void
test_ratelimit__nothing_recorded(void **state)
{
	struct ratelimit *rl = mk(3, 5, 2, 64);
	size_t sz[4];

	(void)state;
	assert_true(ratelimit_auth_allowed(rl, S("a"), "10.0.0.1", 1000));
	ratelimit_sizes(rl, sz);
	assert_int_equal(sz[0] + sz[1] + sz[2] + sz[3], 0);
	ratelimit_free(rl);
}

static void
test_ratelimit__per_user(void **state)
{
	struct ratelimit *rl = mk(3, 100, 2, 64);
	uint64_t t = 1000;

	(void)state;
	/* Failures from different addresses all count for the user. */
	ratelimit_auth_failed(rl, S("bob"), "10.0.0.1", t);
	ratelimit_auth_failed(rl, S("bob"), "10.0.0.2", t);
	assert_true(ratelimit_auth_allowed(rl, S("bob"), "10.0.0.9", t));
	ratelimit_auth_failed(rl, S("bob"), "10.0.0.3", t);
	assert_false(ratelimit_auth_allowed(rl, S("bob"), "10.0.0.9", t));
	/* Other users are not affected. */
	assert_true(ratelimit_auth_allowed(rl, S("alice"), "10.0.0.1", t));
	/* One window later it is over. */
	assert_false(
	    ratelimit_auth_allowed(rl, S("bob"), "10.0.0.9", t + W - 1));
	assert_true(ratelimit_auth_allowed(rl, S("bob"), "10.0.0.9", t + W));
	ratelimit_free(rl);
}

static void
test_ratelimit__per_ip(void **state)
{
	struct ratelimit *rl = mk(100, 4, 2, 64);
	uint64_t t = 5000;

	(void)state;
	fail_n(rl, "u1", "192.0.2.7", 2, t);
	fail_n(rl, "u2", "192.0.2.7", 1, t);
	assert_true(ratelimit_auth_allowed(rl, S("u9"), "192.0.2.7", t));
	fail_n(rl, "u3", "192.0.2.7", 1, t);
	assert_false(ratelimit_auth_allowed(rl, S("u9"), "192.0.2.7", t));
	assert_false(ratelimit_auth_allowed(rl, S("u1"), "192.0.2.7", t));
	assert_true(ratelimit_auth_allowed(rl, S("u9"), "192.0.2.8", t));
	ratelimit_free(rl);
}

static void
test_ratelimit__known_pair_passes_user_block(void **state)
{
	struct ratelimit *rl = mk(3, 100, 2, 64);
	uint64_t t = 1000;

	(void)state;
	ratelimit_auth_ok(rl, S("carol"), "198.51.100.1", t);
	fail_n(rl, "carol", "203.0.113.5", 3, t);
	assert_false(ratelimit_auth_allowed(rl, S("carol"), "203.0.113.5", t));
	assert_false(ratelimit_auth_allowed(rl, S("carol"), "203.0.113.6", t));
	/* The device that logged in before keeps working. */
	assert_true(ratelimit_auth_allowed(rl, S("carol"), "198.51.100.1", t));
	/* A pair is per user: another user from that address is blocked as
	 * usual. */
	fail_n(rl, "dave", "203.0.113.5", 3, t);
	assert_false(ratelimit_auth_allowed(rl, S("dave"), "198.51.100.1", t));
	ratelimit_free(rl);
}

static void
test_ratelimit__ip_block_beats_known_pair(void **state)
{
	struct ratelimit *rl = mk(100, 3, 2, 64);
	uint64_t t = 1000;

	(void)state;
	ratelimit_auth_ok(rl, S("erin"), "192.0.2.1", t);
	fail_n(rl, "x", "192.0.2.1", 3, t);
	assert_false(ratelimit_auth_allowed(rl, S("erin"), "192.0.2.1", t));
	ratelimit_free(rl);
}

static void
test_ratelimit__sliding_window(void **state)
{
	struct ratelimit *rl = mk(10, 100, 2, 64);
	uint64_t t = 0;

	(void)state;
	/* 9 failures in one window, then 2 early in the next: the previous
	 * window still weighs in (9 * 0.9 + 2), so the limit is reached,
	 * where a fixed window would count 2. */
	fail_n(rl, "f", "10.1.1.1", 1, t);
	fail_n(rl, "f", "10.1.1.1", 8, t + W - 10);
	assert_true(ratelimit_auth_allowed(rl, S("f"), "10.1.1.1", t + W - 10));
	fail_n(rl, "f", "10.1.1.1", 1, t + W + W / 10);
	assert_true(
	    ratelimit_auth_allowed(rl, S("f"), "10.1.1.1", t + W + W / 10));
	fail_n(rl, "f", "10.1.1.1", 1, t + W + W / 10);
	assert_false(
	    ratelimit_auth_allowed(rl, S("f"), "10.1.1.1", t + W + W / 10));
	ratelimit_free(rl);

	/* Spread out thinly, the same number never blocks. */
	rl = mk(10, 100, 2, 64);
	for (t = 0; t < 20 * W; t += W / 4)
		ratelimit_auth_failed(rl, S("g"), "10.1.1.1", t);
	assert_true(ratelimit_auth_allowed(rl, S("g"), "10.1.1.1", t));
	ratelimit_free(rl);
}

static void
test_ratelimit__backoff(void **state)
{
	struct ratelimit *rl = mk(2, 100, 2, 64);
	uint64_t t = 1000;
	unsigned i;

	(void)state;
	/* Block 1: one window. */
	fail_n(rl, "h", "10.0.0.1", 2, t);
	assert_false(ratelimit_auth_allowed(rl, S("h"), "10.0.0.1", t + W - 1));
	t += W;
	assert_true(ratelimit_auth_allowed(rl, S("h"), "10.0.0.1", t));
	/* Straight back at it: two windows. */
	fail_n(rl, "h", "10.0.0.1", 2, t);
	assert_false(
	    ratelimit_auth_allowed(rl, S("h"), "10.0.0.1", t + 2 * W - 1));
	t += 2 * W;
	assert_true(ratelimit_auth_allowed(rl, S("h"), "10.0.0.1", t));
	/* Failures while blocked are not counted and do not extend it. */
	fail_n(rl, "h", "10.0.0.1", 2, t);
	fail_n(rl, "h", "10.0.0.1", 50, t + 1);
	assert_true(ratelimit_auth_allowed(rl, S("h"), "10.0.0.1", t + 4 * W));
	t += 4 * W;
	/* The doubling stops at RATELIMIT_MAX_BACKOFF windows. */
	for (i = 0; i < 10; i++) {
		fail_n(rl, "h", "10.0.0.1", 2, t);
		t = rl->user.head->blocked_until;
	}
	assert_int_equal(rl->user.head->block_len, RATELIMIT_MAX_BACKOFF * W);
	/* Quiet for as long as the last block: back to one window. */
	t += RATELIMIT_MAX_BACKOFF * W;
	fail_n(rl, "h", "10.0.0.1", 2, t);
	assert_int_equal(rl->user.head->block_len, W);
	ratelimit_free(rl);
}

static void
test_ratelimit__register(void **state)
{
	struct ratelimit *rl = mk(3, 3, 3, 64);
	uint64_t t = 1000;

	(void)state;
	assert_true(ratelimit_register(rl, "10.2.0.1", t));
	assert_true(ratelimit_register(rl, "10.2.0.1", t));
	assert_true(ratelimit_register(rl, "10.2.0.1", t));
	assert_false(ratelimit_register(rl, "10.2.0.1", t));
	assert_true(ratelimit_register(rl, "10.2.0.2", t));
	/* Registrations do not touch authentication. */
	assert_true(ratelimit_auth_allowed(rl, S("a"), "10.2.0.1", t));
	assert_true(ratelimit_register(rl, "10.2.0.1", t + W));
	ratelimit_free(rl);
}

static void
test_ratelimit__ipv6_prefix(void **state)
{
	struct ratelimit *rl = mk(100, 2, 2, 64);
	uint64_t t = 1000;

	(void)state;
	fail_n(rl, "a", "2001:db8:1:2::1", 1, t);
	fail_n(rl, "b", "2001:db8:1:2:ffff::9", 1, t);
	assert_false(ratelimit_auth_allowed(rl, S("c"), "2001:db8:1:2::77", t));
	assert_true(ratelimit_auth_allowed(rl, S("c"), "2001:db8:1:3::1", t));
	/* An IPv4-mapped address is its IPv4 address. */
	fail_n(rl, "a", "::ffff:192.0.2.5", 2, t);
	assert_false(ratelimit_auth_allowed(rl, S("c"), "192.0.2.5", t));
	ratelimit_free(rl);
}

static void
test_ratelimit__disabled(void **state)
{
	struct ratelimit *rl = mk(0, 0, 0, 64);
	size_t sz[4];
	unsigned i;

	(void)state;
	fail_n(rl, "a", "10.0.0.1", 1000, 1000);
	ratelimit_auth_ok(rl, S("a"), "10.0.0.1", 1000);
	for (i = 0; i < 100; i++)
		assert_true(ratelimit_register(rl, "10.0.0.1", 1000));
	assert_true(ratelimit_auth_allowed(rl, S("a"), "10.0.0.1", 1000));
	ratelimit_sizes(rl, sz);
	assert_int_equal(sz[0] + sz[1] + sz[2] + sz[3], 0);
	ratelimit_free(rl);
}

static void
test_ratelimit__bounded(void **state)
{
	struct ratelimit *rl = mk(2, 1000000, 2, 32);
	char name[32];
	size_t sz[4];
	unsigned i;

	(void)state;
	fail_n(rl, "victim", "10.0.0.1", 2, 1000);
	assert_false(ratelimit_auth_allowed(rl, S("victim"), "10.0.0.2", 1000));
	/* 10000 distinct names: the table stays at its cap... */
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		ratelimit_auth_failed(rl, S(name), "10.0.0.1", 1001);
		ratelimit_auth_ok(rl, S(name), "10.0.0.1", 1001);
	}
	ratelimit_sizes(rl, sz);
	assert_int_equal(sz[0], 32);
	assert_int_equal(sz[2], 32);
	/* ...and the oldest entries went first. */
	assert_true(ratelimit_auth_allowed(rl, S("victim"), "10.0.0.2", 1001));
	/* Every table is still consistent: each entry is findable. */
	for (i = 10000 - 32; i < 10000; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		assert_non_null(
		    table_find(&rl->user, key_id(rl, TAG_USER, S(name), NULL)));
	}
	ratelimit_free(rl);
}

struct heard {
	unsigned auth, reg;
	char user[32], peer[64];
	struct ratelimit *to; /* forward to this limiter, as pubsub.c does */
	uint64_t now;
};

static void
listener(void *arg, enum ratelimit_event ev, struct str user, const char *peer)
{
	struct heard *h = arg;

	if (ev == RATELIMIT_EV_AUTH_FAILED)
		h->auth++;
	else
		h->reg++;
	snprintf(h->user, sizeof(h->user), "%.*s", (int)user.len,
	    user.p ? user.p : "");
	snprintf(h->peer, sizeof(h->peer), "%s", peer);
	if (h->to != NULL)
		ratelimit_apply(h->to, ev, user, peer, h->now);
}

static void
test_ratelimit__listener(void **state)
{
	struct ratelimit *rl = mk(3, 5, 2, 64);
	struct heard h = {0};

	(void)state;
	ratelimit_set_listener(rl, listener, &h);
	ratelimit_auth_failed(rl, S("ann"), "10.0.0.1", 1000);
	assert_int_equal(h.auth, 1);
	assert_string_equal(h.user, "ann");
	assert_string_equal(h.peer, "10.0.0.1");
	ratelimit_auth_ok(rl, S("ann"), "10.0.0.1", 1000);
	assert_true(ratelimit_register(rl, "10.0.0.2", 1000));
	assert_int_equal(h.reg, 1);
	assert_string_equal(h.peer, "10.0.0.2");
	assert_true(ratelimit_register(rl, "10.0.0.2", 1000));
	/* Refused: not counted, not heard of. */
	assert_false(ratelimit_register(rl, "10.0.0.2", 1000));
	assert_int_equal(h.reg, 2);
	ratelimit_set_listener(rl, NULL, NULL);
	ratelimit_auth_failed(rl, S("ann"), "10.0.0.1", 1000);
	assert_int_equal(h.auth, 1);
	ratelimit_free(rl);
}

/* Two instances, each forwarding to the other: one limit for both. */
static void
test_ratelimit__apply_shared(void **state)
{
	struct ratelimit *a = mk(4, 0, 3, 64), *b = mk(4, 0, 3, 64);
	struct heard ha = {0}, hb = {0};

	(void)state;
	ha.to = b;
	hb.to = a;
	ha.now = hb.now = 1000;
	ratelimit_set_listener(a, listener, &ha);
	ratelimit_set_listener(b, listener, &hb);
	ratelimit_auth_failed(a, S("ann"), "10.0.0.1", 1000);
	ratelimit_auth_failed(b, S("ann"), "10.0.0.2", 1000);
	ratelimit_auth_failed(a, S("ann"), "10.0.0.3", 1000);
	assert_true(ratelimit_auth_allowed(a, S("ann"), "10.0.0.4", 1000));
	assert_true(ratelimit_auth_allowed(b, S("ann"), "10.0.0.4", 1000));
	ratelimit_auth_failed(b, S("ann"), "10.0.0.5", 1000);
	/* The fourth failure, on b, blocks the name on both. */
	assert_false(ratelimit_auth_allowed(a, S("ann"), "10.0.0.4", 1000));
	assert_false(ratelimit_auth_allowed(b, S("ann"), "10.0.0.4", 1000));
	/* No echo: each heard only its own. */
	assert_int_equal(ha.auth, 2);
	assert_int_equal(hb.auth, 2);

	/* Registrations: 3 per address over both. */
	assert_true(ratelimit_register(a, "10.1.0.1", 1000));
	assert_true(ratelimit_register(b, "10.1.0.1", 1000));
	assert_true(ratelimit_register(a, "10.1.0.1", 1000));
	assert_false(ratelimit_register(b, "10.1.0.1", 1000));
	assert_false(ratelimit_register(a, "10.1.0.1", 1000));
	assert_true(ratelimit_register(b, "10.1.0.2", 1000));
	/* The window passes (the block lasts one window). */
	assert_true(ratelimit_register(a, "10.1.0.1", 1000 + W));
	ratelimit_free(a);
	ratelimit_free(b);
}

static void
test_ratelimit__clock(void **state)
{
	uint64_t a = ratelimit_now_ms(), b = ratelimit_now_ms();

	(void)state;
	assert_true(b >= a);
	assert_true(a > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ratelimit__nothing_recorded),
	    cmocka_unit_test(test_ratelimit__per_user),
	    cmocka_unit_test(test_ratelimit__per_ip),
	    cmocka_unit_test(test_ratelimit__known_pair_passes_user_block),
	    cmocka_unit_test(test_ratelimit__ip_block_beats_known_pair),
	    cmocka_unit_test(test_ratelimit__sliding_window),
	    cmocka_unit_test(test_ratelimit__backoff),
	    cmocka_unit_test(test_ratelimit__register),
	    cmocka_unit_test(test_ratelimit__ipv6_prefix),
	    cmocka_unit_test(test_ratelimit__disabled),
	    cmocka_unit_test(test_ratelimit__bounded),
	    cmocka_unit_test(test_ratelimit__listener),
	    cmocka_unit_test(test_ratelimit__apply_shared),
	    cmocka_unit_test(test_ratelimit__clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
