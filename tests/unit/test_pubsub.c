/*
 * test_pubsub.c: the rate-limit messages between instances (pubsub.c):
 * a message of another instance is counted by the limiter of its scope
 * only; our own, unknown versions, events and scopes, and malformed or
 * oversized messages are ignored; a user name may hold spaces or be empty;
 * without the Redis store there is nothing to share.
 *
 * UNIT_INCLUDES: src/pubsub.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/pubsub.c"
#include "store_env.h"

static struct ratelimit *
mk(unsigned per_user, unsigned per_ip, unsigned reg)
{
	struct ratelimit_params p;

	ratelimit_params_default(&p);
	p.auth_fail_per_user = per_user;
	p.auth_fail_per_ip = per_ip;
	p.register_per_ip = reg;
	p.max_entries = 64;
	return ratelimit_new(&p);
}

/* A struct pubsub without a connection, as sh_receive sees it. */
static struct pubsub *
fake(struct ratelimit *api, struct ratelimit *web)
{
	struct pubsub *sh = xcalloc(1, sizeof(*sh));

	memcpy(sh->instance, "00112233aabbccdd", SH_INSTANCE_LEN + 1);
	buf_init(&sh->msg);
	pubsub_ratelimit(sh, api, "api");
	pubsub_ratelimit(sh, web, "web");
	return sh;
}

static void
rx(struct pubsub *sh, const char *msg)
{
	sh_receive(sh, msg, strlen(msg));
}

static bool
allowed(struct ratelimit *rl, const char *user, const char *peer)
{
	return ratelimit_auth_allowed(
	    rl, str_from(user), peer, ratelimit_now_ms());
}

static void
test_shared__receive(void **state)
{
	struct ratelimit *api = mk(2, 0, 0), *web = mk(2, 0, 0);
	struct pubsub *sh = fake(api, web);
	size_t sz[4];

	(void)state;
	/* Ours: already counted. */
	rx(sh, "1 00112233aabbccdd api f 10.0.0.1 ann");
	rx(sh, "1 00112233aabbccdd api f 10.0.0.1 ann");
	assert_true(allowed(api, "ann", "10.0.0.9"));
	/* Malformed, other versions and events, unknown scopes. */
	rx(sh, "2 ffeeddccbbaa9988 api f 10.0.0.1 ann");
	rx(sh, "1 ffeeddcc api f 10.0.0.1 ann");
	rx(sh, "1 ffeeddccbbaa9988 api x 10.0.0.1 ann");
	rx(sh, "1 ffeeddccbbaa9988 api f 10.0.0.1");
	rx(sh, "1 ffeeddccbbaa9988 nope f 10.0.0.1 ann");
	rx(sh, "");
	ratelimit_sizes(api, sz);
	assert_int_equal(sz[0], 0);
	/* Another instance's two failures block the name, for api only. */
	rx(sh, "1 ffeeddccbbaa9988 api f 10.0.0.1 ann");
	rx(sh, "1 ffeeddccbbaa9988 api f 10.0.0.2 ann");
	assert_false(allowed(api, "ann", "10.0.0.9"));
	assert_true(allowed(web, "ann", "10.0.0.9"));
	/* A name with spaces is the rest of the message. */
	rx(sh, "1 ffeeddccbbaa9988 web f 10.0.0.1 a b");
	rx(sh, "1 ffeeddccbbaa9988 web f 10.0.0.1 a b");
	assert_false(allowed(web, "a b", "10.0.0.9"));
	assert_true(allowed(web, "a", "10.0.0.9"));
	pubsub_free(NULL);
	buf_release(&sh->msg);
	free(sh);
	ratelimit_free(api);
	ratelimit_free(web);
}

static void
test_shared__addresses(void **state)
{
	struct ratelimit *api = mk(0, 2, 2), *web = mk(0, 2, 0);
	struct pubsub *sh = fake(api, web);
	uint64_t now = ratelimit_now_ms();

	(void)state;
	/* Failures without a name count for the address. */
	rx(sh, "1 ffeeddccbbaa9988 api f 2001:db8::1 ");
	rx(sh, "1 ffeeddccbbaa9988 api f 2001:db8::2 ");
	assert_false(allowed(api, "x", "2001:db8::3")); /* same /64 */
	assert_true(allowed(api, "x", "10.0.0.1"));
	/* Registrations: two from .5 elsewhere, so none from .5 here. */
	rx(sh, "1 ffeeddccbbaa9988 api r 10.0.0.5 ");
	assert_true(ratelimit_register(api, "10.0.0.6", now));
	rx(sh, "1 ffeeddccbbaa9988 api r 10.0.0.5 ");
	assert_false(ratelimit_register(api, "10.0.0.5", now));
	/* An address too long for a peer is ignored. */
	rx(sh, "1 ffeeddccbbaa9988 web f "
	       "0123456789012345678901234567890123456789012345678901234567890"
	       "123456789 u");
	buf_release(&sh->msg);
	free(sh);
	ratelimit_free(api);
	ratelimit_free(web);
}

/*
 * A real store that is not Redis, even with a Redis address configured:
 * nothing to share, and the NULL it gets is safe to use.
 */
static void
test_shared__not_redis(void **state)
{
	static const char *const backends[] = {"memory", "file"};
	struct ratelimit *rl = mk(2, 100, 100);
	struct store_env e;
	struct pubsub *sh;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		store_env_init(&e, "shared");
		store_env_set(&e, "storage", backends[i]);
		store_env_set(&e, "redis_address", "127.0.0.1:6379");
		store_env_open(&e);
		sh = pubsub_new(&e.loop, e.st, &e.cfg);
		assert_null(sh);
		assert_false(pubsub_listening(sh));
		pubsub_ratelimit(sh, rl, "auth");
		pubsub_free(sh);
		/* nothing was left running on the loop */
		assert_int_equal(uv_run(&e.loop, UV_RUN_NOWAIT), 0);
		store_env_close(&e, false);
		store_env_release(&e);
	}
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shared__receive),
	    cmocka_unit_test(test_shared__addresses),
	    cmocka_unit_test(test_shared__not_redis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
