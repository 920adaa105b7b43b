/*
 * test_store.c: the store interface against every backend ("memory" and
 * "file"): registration (exclusive), authentication (argon2 then the
 * cache), wrong keys, pushes and reads, device_id and metadata kept,
 * history bounds, key change and deletion invalidating the cache at once,
 * operations waiting for a verification in flight, flush; the document
 * ids store_document_valid takes, every byte at every offset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "config.h"
#include "fault.h"
#include "store.h"
#include "xmalloc.h"

#include "store_env.h"

struct res {
	int called;
	enum store_result result;
	int64_t timestamp;
	bool has_doc;
	double percentage;
	char progress[256];
	char device[64];
	char device_id[64];
	char title[64];
};

static void
cb(void *arg, const struct store_reply *r)
{
	struct res *res = arg;

	res->called++;
	res->result = r->result;
	res->timestamp = r->timestamp;
	res->has_doc = r->doc != NULL;
	if (r->doc != NULL) {
		res->percentage = r->doc->percentage;
		snprintf(res->progress, sizeof(res->progress), "%s",
		    r->doc->progress);
		snprintf(
		    res->device, sizeof(res->device), "%s", r->doc->device);
		snprintf(res->device_id, sizeof(res->device_id), "%s",
		    r->doc->device_id);
		snprintf(res->title, sizeof(res->title), "%s",
		    r->doc->metadata.title ? r->doc->metadata.title : "(null)");
	}
}

static void
run(struct store_env *e)
{
	uv_run(&e->loop, UV_RUN_DEFAULT);
}

static struct store_env *
env_new(const char *storage, bool history, unsigned limit)
{
	struct store_env *e = xcalloc(1, sizeof(*e));

	store_env_init(e, "store");
	store_env_set(e, "storage", storage);
	store_env_set(e, "store_history", history ? "true" : "false");
	e->cfg.history_limit = limit;
	store_env_open(e);
	return e;
}

/* Close after a final snapshot and open again: what was durable stays. */
static void
env_reopen(struct store_env *e)
{
	store_env_close(e, true);
	store_env_open(e);
}

static void
env_free(struct store_env *e)
{
	store_env_close(e, true);
	store_env_release(e);
	free(e);
}

static enum store_result
create(struct store_env *e, const char *u, const char *k)
{
	struct res r = {0};

	store_user_create(e->st, str_from(u), str_from(k), cb, &r);
	run(e);
	assert_int_equal(r.called, 1);
	return r.result;
}

static enum store_result
auth(struct store_env *e, const char *u, const char *k)
{
	struct res r = {0};

	store_user_auth(e->st, str_from(u), str_from(k), cb, &r);
	run(e);
	assert_int_equal(r.called, 1);
	return r.result;
}

static struct res
put(struct store_env *e, const char *u, const char *k, const char *doc,
    double pct, const char *progress, const char *device, const char *device_id,
    const char *title)
{
	struct res r = {0};
	struct store_push p;

	memset(&p, 0, sizeof(p));
	p.document = str_from(doc);
	p.percentage = pct;
	p.progress = str_from(progress);
	p.device = str_from(device);
	p.device_id = device_id ? str_from(device_id) : STR_NULL;
	if (title != NULL) {
		p.has_metadata = true;
		p.title = str_from(title);
	}
	store_progress_put(e->st, str_from(u), str_from(k), &p, cb, &r);
	run(e);
	assert_int_equal(r.called, 1);
	return r;
}

static struct res
get(struct store_env *e, const char *u, const char *k, const char *doc)
{
	struct res r = {0};

	store_progress_get(
	    e->st, str_from(u), str_from(k), str_from(doc), cb, &r);
	run(e);
	assert_int_equal(r.called, 1);
	return r;
}

static const char *backends[] = {"memory", "file"};

static void
test_store__register_auth_put_get(void **state)
{
	size_t b;
	struct store_env *e;
	struct res r;

	(void)state;
	for (b = 0; b < 2; b++) {
		e = env_new(backends[b], false, 0);
		assert_int_equal(create(e, "alice", "k1"), STORE_OK);
		assert_int_equal(create(e, "alice", "k2"), STORE_ERR_EXISTS);
		assert_int_equal(auth(e, "alice", "k1"), STORE_OK);
		assert_int_equal(auth(e, "alice", "k2"), STORE_ERR_AUTH);
		assert_int_equal(auth(e, "alice", ""), STORE_ERR_AUTH);
		assert_int_equal(auth(e, "bob", "k1"), STORE_ERR_AUTH);
		r = get(e, "alice", "k1", "d1");
		assert_int_equal(r.result, STORE_OK);
		assert_false(r.has_doc);
		r = put(e, "alice", "k1", "d1", 0.25, "/p[1]", "kindle", "K1",
		    "Title");
		assert_int_equal(r.result, STORE_OK);
		assert_true(r.timestamp > 1700000000);
		r = put(
		    e, "alice", "k2", "d1", 0.5, "/p[2]", "kindle", "K1", NULL);
		assert_int_equal(r.result, STORE_ERR_AUTH);
		r = get(e, "alice", "k1", "d1");
		assert_true(r.has_doc);
		assert_true(r.percentage == 0.25);
		assert_string_equal(r.progress, "/p[1]");
		assert_string_equal(r.device_id, "K1");
		/* No device_id and no metadata: both kept. */
		r = put(
		    e, "alice", "k1", "d1", 0.5, "/p[2]", "kobo", NULL, NULL);
		assert_int_equal(r.result, STORE_OK);
		r = get(e, "alice", "k1", "d1");
		assert_true(r.percentage == 0.5);
		assert_string_equal(r.device, "kobo");
		assert_string_equal(r.device_id, "K1");
		assert_string_equal(r.title, "Title");
		/* Other users do not see it. */
		assert_int_equal(create(e, "bob", "kb"), STORE_OK);
		r = get(e, "bob", "kb", "d1");
		assert_int_equal(r.result, STORE_OK);
		assert_false(r.has_doc);
		env_free(e);
	}
}

static void
test_store__concurrent_registration_is_exclusive(void **state)
{
	size_t b;
	struct store_env *e;
	struct res r1 = {0}, r2 = {0};

	(void)state;
	for (b = 0; b < 2; b++) {
		e = env_new(backends[b], false, 0);
		memset(&r1, 0, sizeof(r1));
		memset(&r2, 0, sizeof(r2));
		store_user_create(
		    e->st, str_from("carol"), str_from("a"), cb, &r1);
		store_user_create(
		    e->st, str_from("carol"), str_from("b"), cb, &r2);
		/* The name is reserved but not visible until durable. */
		assert_int_equal(r2.called, 1);
		assert_int_equal(r2.result, STORE_ERR_EXISTS);
		run(e);
		assert_int_equal(r1.result, STORE_OK);
		assert_int_equal(auth(e, "carol", "a"), STORE_OK);
		assert_int_equal(auth(e, "carol", "b"), STORE_ERR_AUTH);
		env_free(e);
	}
}

static void
test_store__set_key_and_delete_invalidate(void **state)
{
	size_t b;
	struct store_env *e;
	struct res r = {0};

	(void)state;
	for (b = 0; b < 2; b++) {
		e = env_new(backends[b], false, 0);
		assert_int_equal(create(e, "dave", "old"), STORE_OK);
		assert_int_equal(auth(e, "dave", "old"), STORE_OK);
		memset(&r, 0, sizeof(r));
		store_user_set_key(e->st, str_from("dave"), str_from("bad"),
		    str_from("new"), cb, &r);
		run(e);
		assert_int_equal(r.result, STORE_ERR_AUTH);
		memset(&r, 0, sizeof(r));
		store_user_set_key(e->st, str_from("dave"), str_from("old"),
		    str_from("new"), cb, &r);
		run(e);
		assert_int_equal(r.result, STORE_OK);
		assert_int_equal(auth(e, "dave", "old"), STORE_ERR_AUTH);
		assert_int_equal(auth(e, "dave", "new"), STORE_OK);
		assert_int_equal(
		    put(e, "dave", "new", "x", 0.1, "p", "d", NULL, NULL)
		        .result,
		    STORE_OK);
		memset(&r, 0, sizeof(r));
		store_user_delete(
		    e->st, str_from("dave"), str_from("old"), cb, &r);
		run(e);
		assert_int_equal(r.result, STORE_ERR_AUTH);
		memset(&r, 0, sizeof(r));
		store_user_delete(
		    e->st, str_from("dave"), str_from("new"), cb, &r);
		run(e);
		assert_int_equal(r.result, STORE_OK);
		assert_int_equal(auth(e, "dave", "new"), STORE_ERR_AUTH);
		/* The name is free again, with no documents. */
		assert_int_equal(create(e, "dave", "again"), STORE_OK);
		assert_false(get(e, "dave", "again", "x").has_doc);
		env_free(e);
	}
}

static void
test_store__waiters_share_one_verification(void **state)
{
	size_t b;
	int i;
	struct store_env *e;
	struct res r[6];
	unsigned long jobs;

	(void)state;
	for (b = 0; b < 2; b++) {
		e = env_new(backends[b], false, 0);
		assert_int_equal(create(e, "erin", "key"), STORE_OK);
		/* Reopen so the cache is cold (the file backend reloads). */
		env_reopen(e);
		memset(r, 0, sizeof(r));
		/* Each argon2 job counts one FAULT_MALLOC check (keyhash.c). */
		jobs = fault_count(FAULT_MALLOC);
		for (i = 0; i < 6; i++)
			store_user_auth(e->st, str_from("erin"),
			    str_from(i == 3 ? "wrong" : "key"), cb, &r[i]);
		run(e);
		for (i = 0; i < 6; i++) {
			assert_int_equal(r[i].called, 1);
			if (b == 1 || i == 3)
				assert_int_equal(r[i].result,
				    i == 3 ? STORE_ERR_AUTH : STORE_OK);
		}
		if (b == 1) {
			/* One verification served all six. */
			assert_int_equal(fault_count(FAULT_MALLOC) - jobs, 1);
			/* A failed one is remembered for that wrong key. */
			env_reopen(e);
			jobs = fault_count(FAULT_MALLOC);
			memset(r, 0, sizeof(r));
			for (i = 0; i < 3; i++)
				store_user_auth(e->st, str_from("erin"),
				    str_from("bad"), cb, &r[i]);
			run(e);
			assert_int_equal(fault_count(FAULT_MALLOC) - jobs, 1);
			assert_int_equal(
			    auth(e, "erin", "bad"), STORE_ERR_AUTH);
			assert_int_equal(fault_count(FAULT_MALLOC) - jobs, 1);
			assert_int_equal(auth(e, "erin", "key"), STORE_OK);
			assert_int_equal(fault_count(FAULT_MALLOC) - jobs, 2);
			for (i = 0; i < 3; i++)
				assert_int_equal(r[i].result, STORE_ERR_AUTH);
		}
		env_free(e);
	}
}

static void
test_store__history_bounded(void **state)
{
	struct store_env *e;
	int i;
	char prog[16];

	(void)state;
	e = env_new("memory", true, 3);
	assert_int_equal(create(e, "fay", "k"), STORE_OK);
	for (i = 0; i < 6; i++) {
		snprintf(prog, sizeof(prog), "p%d", i);
		assert_int_equal(
		    put(e, "fay", "k", "doc", i / 10.0, prog, "dev", NULL, NULL)
		        .result,
		    STORE_OK);
	}
	assert_string_equal(get(e, "fay", "k", "doc").progress, "p5");
	env_free(e);
}

static void
never_replied(void *priv, const struct redisReply *reply)
{
	(void)reply;
	*(int *)priv = 1;
}

/*
 * The shared server is a capability of the store interface: the file and
 * memory backends have none (store_command refuses at once), the Redis
 * backend has one (refused too while it is not connected) and keeps the
 * database.json settings in Redis.
 */
static void
test_store__shared_server_capability(void **state)
{
	static const char *const storages[] = {"memory", "file"};
	const char *argv[] = {"PING"};
	const size_t lens[] = {4};
	struct store *redis;
	struct store_env *e;
	int called = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(storages) / sizeof(storages[0]); i++) {
		e = env_new(storages[i], false, 0);
		assert_false(store_is_shared(e->st));
		assert_null(store_config_home(e->st));
		assert_int_equal(
		    store_command(e->st, never_replied, &called, 1, argv, lens),
		    -1);
		run(e);
		assert_int_equal(called, 0);
		env_free(e);
	}
	assert_false(store_is_shared(NULL));

	e = env_new("memory", false, 0);
	redis = store_open_backend(&e->loop, &e->cfg, "redis");
	assert_non_null(redis);
	assert_true(store_is_shared(redis));
	assert_string_equal(store_config_home(redis), "redis");
	/* Not connected yet: refused at once, the callback never runs. */
	assert_int_equal(
	    store_command(redis, never_replied, &called, 1, argv, lens), -1);
	store_close(redis);
	run(e);
	assert_int_equal(called, 0);
	env_free(e);
}

/* Read a whole file (for byte comparisons). */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = xmalloc((size_t)n + 1);
	*len = fread(s, 1, (size_t)n, f);
	s[*len] = '\0';
	fclose(f);
	return s;
}

static void
test_store__migration_backs_up_first(void **state)
{
	struct store_env *e;
	char path[128], cmd[256], *orig, *now;
	size_t olen, nlen;

	(void)state;
	e = xcalloc(1, sizeof(*e));
	store_env_init(e, "store");
	snprintf(cmd, sizeof(cmd),
	    "cp tests/data/kosync-schema6.json '%s/"
	    "database.json'",
	    e->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/database.json", e->dir);
	orig = slurp(path, &olen);
	assert_non_null(orig);

	/* The backup cannot be written: nothing is migrated or changed. */
	fault_set(FAULT_WRITE, 1, true, ENOSPC);
	assert_null(store_open(&e->loop, &e->cfg));
	fault_reset();
	now = slurp(path, &nlen);
	assert_int_equal(nlen, olen);
	assert_memory_equal(now, orig, olen);
	free(now);
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q '\\.bak$'", e->dir);
	assert_int_not_equal(system(cmd), 0);

	/* Space again: the backup is written, then the file migrated. */
	e->st = store_open(&e->loop, &e->cfg);
	assert_non_null(e->st);
	assert_int_equal(system(cmd), 0);
	now = slurp(path, &nlen);
	assert_non_null(strstr(now, "\"schema\": 7,"));
	assert_null(strstr(now, "80becab8303c51d6e8a10054f862f9f9"));
	free(now);
	assert_int_equal(
	    auth(e, "alice", "80becab8303c51d6e8a10054f862f9f9"), STORE_OK);
	free(orig);
	env_free(e);
}

/* store_listen_first_use: told once, at a credential's first use. */
static void
first_use(void *arg, struct str user, const char *id, const char *label,
    struct str device)
{
	char *seen = arg;

	(void)label;
	(void)device;
	snprintf(seen, 64, "%.*s/%s", (int)user.len, user.p, id);
}

struct text {
	enum store_result r;
	char out[4096];
};

static void
text_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct text *t = arg;

	t->r = r;
	snprintf(t->out, sizeof(t->out), "%.*s", (int)len, text ? text : "");
}

/*
 * Device credentials on the file store: a use records the last use and an
 * audit entry (a repeat within a minute none), the first one is told to
 * the listener, and both survive a reopen (the final snapshot).
 */
static void
test_store__device_use_and_audit(void **state)
{
	const char *storages[] = {"memory", "file"};
	struct store_device_change ch;
	struct store_device_use use;
	struct res r;
	struct text t;
	char seen[64], id[32];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct store_env *e = env_new(storages[i], false, 0);

		assert_int_equal(create(e, "ann", "acct"), STORE_OK);
		memset(&ch, 0, sizeof(ch));
		ch.kind = STORE_DEVICE_ADD;
		ch.label = str_from("Kobo");
		ch.key = str_from("devkey");
		memset(&r, 0, sizeof(r));
		store_device_change(e->st, str_from("ann"), &ch, cb, &r);
		run(e);
		assert_int_equal(r.result, STORE_OK);
		/* The id: the store's reply (cb keeps no devcred): list it. */
		store_device_list(e->st, str_from("ann"), text_cb, &t);
		assert_int_equal(
		    sscanf(strstr(t.out, "\"id\":\"") + 6, "%31[a-z0-9]", id),
		    1);
		seen[0] = '\0';
		store_listen_first_use(e->st, first_use, seen);
		memset(&use, 0, sizeof(use));
		use.when = 1000;
		use.what = STORE_DEVICE_PULL;
		use.address = str_from("10.0.0.1");
		use.agent = str_from("KOReader");
		use.document = str_from("d1");
		store_device_used(e->st, str_from("ann"), id, &use);
		assert_int_equal(strncmp(seen, "ann/", 4), 0);
		assert_string_equal(seen + 4, id);
		seen[0] = '\0';
		use.when = 1010;
		store_device_used(e->st, str_from("ann"), id, &use);
		use.what = STORE_DEVICE_PUSH;
		store_device_used(e->st, str_from("ann"), id, &use);
		assert_string_equal(seen, "");
		store_device_audit(
		    e->st, str_from("ann"), str_from(id), text_cb, &t);
		assert_int_equal(t.r, STORE_OK);
		assert_non_null(strstr(t.out,
		    "\"audit\":[{\"time\":1010,\"what\":\"push\","
		    "\"address\":\"10.0.0.1\",\"agent\":\"KOReader\","
		    "\"document\":\"d1\"},{\"time\":1000,\"what\":\"pull\""));
		assert_null(strstr(t.out, "\"time\":1010,\"what\":\"pull\""));
		store_device_audit(
		    e->st, str_from("ann"), str_from("nope"), text_cb, &t);
		assert_int_equal(t.r, STORE_ERR_NOTFOUND);
		store_device_audit(
		    e->st, str_from("bob"), str_from(id), text_cb, &t);
		assert_int_equal(t.r, STORE_ERR_AUTH);
		if (i == 1) {
			env_reopen(e);
			store_device_audit(
			    e->st, str_from("ann"), str_from(id), text_cb, &t);
			assert_non_null(strstr(t.out, "\"time\":1000"));
		}
		env_free(e);
	}
}

/* Each byte value at each offset of ids of 1 to 40 bytes of ASCII,
 * against the rule a byte at a time: none of ':', '/', below 0x20 or 0x7f,
 * valid UTF-8 (a lone byte from 0x80 is not); "." and ".." only stored. */
static void
test_store__document_valid(void **state)
{
	const char fill[] = "abc.~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char in[40];
	size_t len, at;
	unsigned v;
	bool want;

	(void)state;
	for (len = 1; len <= sizeof(in); len++)
		for (at = 0; at < len; at++)
			for (v = 0; v < 256; v++) {
				memcpy(in, fill, len);
				in[at] = (char)v;
				want = v != ':' && v != '/' && v >= 0x20 &&
				       v < 0x7f && !(len == 1 && v == '.');
				if (store_document_valid(
				        (struct str){in, len}, false) != want)
					fail_msg("len %zu, 0x%02x at %zu", len,
					    v, at);
			}
	assert_true(
	    store_document_valid(STR_LIT("0123456789caf\xc3\xa9"), false));
	assert_false(store_document_valid(STR_LIT("0123456789caf\xc3"), false));
	assert_false(store_document_valid(STR_LIT("."), false));
	assert_false(store_document_valid(STR_LIT(".."), false));
	assert_true(store_document_valid(STR_LIT(".."), true));
	assert_true(store_document_valid(STR_LIT("..."), false));
	assert_true(store_document_valid(STR_LIT(".a"), false));
	assert_false(store_document_valid(STR_NULL, false));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store__register_auth_put_get),
	    cmocka_unit_test(test_store__concurrent_registration_is_exclusive),
	    cmocka_unit_test(test_store__set_key_and_delete_invalidate),
	    cmocka_unit_test(test_store__waiters_share_one_verification),
	    cmocka_unit_test(test_store__history_bounded),
	    cmocka_unit_test(test_store__migration_backs_up_first),
	    cmocka_unit_test(test_store__device_use_and_audit),
	    cmocka_unit_test(test_store__shared_server_capability),
	    cmocka_unit_test(test_store__document_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
