/*
 * test_admin.c: the administration operations (admin.c) on the memory
 * backend, driven as the offline commands drive them: admin_run on a
 * private loop. Covers user add (and a taken name), the administrator
 * flag (user-add --admin, user-admin; never by name), the list, passwd (the
 * old key fails at once, the new one works), del, bad requests, an
 * unknown operation, export, and import (users added with their hashed
 * key, existing users keep theirs, newer documents win, the report).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "admin.h"
#include "config.h"
#include "store.h"

struct fixture {
	uv_loop_t loop;
	struct config cfg;
	struct store *st;
	struct admin *a;
};

struct answer {
	bool done;
	int status;
	struct buf body;
};

static void
answered(void *arg, int status, const char *body, size_t len)
{
	struct answer *an = arg;

	an->done = true;
	an->status = status;
	buf_reset(&an->body);
	buf_add(&an->body, body, len);
}

/* Run op with body and wait for its answer. */
static int
run(struct fixture *f, const char *op, const char *body, struct answer *an)
{
	an->done = false;
	admin_run(f->a, op, str_from(body != NULL ? body : ""), answered, an);
	while (!an->done && uv_run(&f->loop, UV_RUN_ONCE) != 0)
		;
	assert_true(an->done);
	return an->status;
}

struct auth_wait {
	bool done;
	enum store_result r;
};

static void
auth_cb(void *arg, const struct store_reply *r)
{
	struct auth_wait *w = arg;

	w->done = true;
	w->r = r->result;
}

/* Whether user/key authenticates. */
static bool
auth(struct fixture *f, const char *user, const char *key)
{
	struct auth_wait w = {false, STORE_OK};

	store_user_auth(f->st, str_from(user), str_from(key), auth_cb, &w);
	while (!w.done && uv_run(&f->loop, UV_RUN_ONCE) != 0)
		;
	assert_true(w.done);
	return w.r == STORE_OK;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct buf err = BUF_INIT;

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	config_init(&f->cfg);
	assert_int_equal(
	    config_set(&f->cfg, "storage", "memory", CONFIG_SRC_FLAG, &err), 0);
	f->st = store_open(&f->loop, &f->cfg);
	assert_non_null(f->st);
	f->a = admin_new(f->st, &f->cfg);
	buf_release(&err);
	*state = f;
	return 0;
}

static void
flushed(void *arg)
{
	*(bool *)arg = true;
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	bool done = false;

	store_flush(f->st, flushed, &done);
	while (!done && uv_run(&f->loop, UV_RUN_ONCE) != 0)
		;
	admin_free(f->a);
	store_close(f->st);
	uv_walk(&f->loop, close_walk, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	config_release(&f->cfg);
	free(f);
	return 0;
}

static void
test_admin__users(void **state)
{
	struct fixture *f = *state;
	struct answer an = {false, 0, BUF_INIT};

	assert_int_equal(
	    run(f, "user-add", "{\"username\":\"ann\",\"key\":\"k1\"}", &an),
	    201);
	assert_string_equal(an.body.data, "{\"username\":\"ann\"}");
	assert_true(auth(f, "ann", "k1"));
	assert_int_equal(
	    run(f, "user-add", "{\"username\":\"ann\",\"key\":\"k9\"}", &an),
	    409);
	assert_true(auth(f, "ann", "k1"));

	assert_int_equal(run(f, "user-list", NULL, &an), 200);
	assert_string_equal(an.body.data,
	    "[{\"username\":\"ann\",\"documents\":"
	    "0,\"last_sync\":0,\"devices\":[],\"bytes\":0,\"history\":0}]");

	assert_int_equal(
	    run(f, "user-passwd", "{\"username\":\"ann\",\"key\":\"k2\"}", &an),
	    200);
	assert_false(auth(f, "ann", "k1"));
	assert_true(auth(f, "ann", "k2"));
	assert_int_equal(
	    run(f, "user-passwd", "{\"username\":\"bob\",\"key\":\"k2\"}", &an),
	    404);

	assert_int_equal(
	    run(f, "user-del", "{\"username\":\"ann\"}", &an), 200);
	assert_false(auth(f, "ann", "k2"));
	assert_int_equal(
	    run(f, "user-del", "{\"username\":\"ann\"}", &an), 404);

	/* Bad requests. */
	assert_int_equal(run(f, "user-add", "[]", &an), 400);
	assert_int_equal(run(f, "user-add",
	                     "{\"username\":\"a:b\",\"key\":"
	                     "\"k\"}",
	                     &an),
	    400);
	assert_int_equal(
	    run(f, "user-add", "{\"username\":\"x\",\"key\":\"\"}", &an), 400);
	assert_int_equal(
	    run(f, "user-add", "{\"username\":\"\",\"key\":\"k\"}", &an), 400);
	assert_int_equal(run(f, "frobnicate", NULL, &an), 404);
	assert_int_equal(run(f, "backup", NULL, &an), 503);
	buf_release(&an.body);
}

/* Whether user is an administrator (store_user_admin). */
static bool
is_admin(struct fixture *f, const char *user)
{
	struct auth_wait w = {false, STORE_ERR_IO};

	store_user_admin(f->st, str_from(user), auth_cb, &w);
	while (!w.done && uv_run(&f->loop, UV_RUN_ONCE) != 0)
		;
	assert_true(w.done);
	return w.r == STORE_OK;
}

/* The administrator flag: on the account only, never by name. */
static void
test_admin__admin_flag(void **state)
{
	struct fixture *f = *state;
	struct answer an = {false, 0, BUF_INIT};

	assert_int_equal(run(f, "user-add",
	                     "{\"username\":\"Bob Smith\",\"key\":\"k\","
	                     "\"admin\":true}",
	                     &an),
	    201);
	assert_string_equal(
	    an.body.data, "{\"username\":\"Bob Smith\",\"admin\":true}");
	assert_int_equal(
	    run(f, "user-add", "{\"username\":\"Bob\",\"key\":\"k\"}", &an),
	    201);
	assert_true(is_admin(f, "Bob Smith"));
	assert_false(is_admin(f, "Bob"));
	assert_false(is_admin(f, "Smith"));
	assert_int_equal(run(f, "user-list", NULL, &an), 200);
	assert_string_equal(an.body.data,
	    "[{\"username\":\"Bob\",\"documents\":0,\"last_sync\":0,"
	    "\"devices\":[],\"bytes\":0,\"history\":0},{\"username\":"
	    "\"Bob Smith\",\"documents\":0,\"last_sync\":0,\"devices\":[],"
	    "\"bytes\":0,\"history\":0,\"admin\":true}]");

	assert_int_equal(
	    run(f, "user-admin", "{\"username\":\"Bob\",\"admin\":true}", &an),
	    200);
	assert_string_equal(
	    an.body.data, "{\"username\":\"Bob\",\"admin\":true}");
	assert_true(is_admin(f, "Bob"));
	assert_int_equal(
	    run(f, "user-admin", "{\"username\":\"Bob\",\"admin\":false}", &an),
	    200);
	assert_string_equal(
	    an.body.data, "{\"username\":\"Bob\",\"admin\":false}");
	assert_false(is_admin(f, "Bob"));
	/* No account, no flag; a flag needs true or false. */
	assert_int_equal(run(f, "user-admin",
	                     "{\"username\":\"ghost\",\"admin\":true}", &an),
	    404);
	assert_false(is_admin(f, "ghost"));
	assert_int_equal(
	    run(f, "user-admin", "{\"username\":\"Bob\"}", &an), 400);
	/* Deleted and registered again: not an administrator. */
	assert_int_equal(
	    run(f, "user-del", "{\"username\":\"Bob Smith\"}", &an), 200);
	assert_int_equal(run(f, "user-add",
	                     "{\"username\":\"Bob Smith\",\"key\":\"k\"}", &an),
	    201);
	assert_false(is_admin(f, "Bob Smith"));
	/* The registration rule. */
	assert_int_equal(
	    run(f, "user-add", "{\"username\":\" ann\",\"key\":\"k\"}", &an),
	    400);
	buf_release(&an.body);
}

static void
test_admin__import_export(void **state)
{
	struct fixture *f = *state;
	struct answer an = {false, 0, BUF_INIT};
	static const char file[] =
	    "{\"schema\":6,\"users\":{"
	    "\"ann\":{\"username\":\"ann\",\"password\":\"filekey\","
	    "\"documents\":{"
	    "\"d1\":{\"progress\":\"old\",\"percentage\":0.1,\"device\":\"K\","
	    "\"device_id\":\"1\",\"timestamp\":1000},"
	    "\"d2\":{\"progress\":\"new\",\"percentage\":0.2,\"device\":\"K\","
	    "\"device_id\":\"1\",\"timestamp\":4102444800}}},"
	    "\"cat\":{\"username\":\"cat\",\"password\":\"catkey\"},"
	    "\"\":{\"username\":\"\",\"password\":\"\"}}}";

	assert_int_equal(
	    run(f, "user-add", "{\"username\":\"ann\",\"key\":\"ours\"}", &an),
	    201);
	assert_int_equal(run(f, "import", "not json", &an), 500);
	assert_int_equal(run(f, "import", file, &an), 200);
	assert_string_equal(an.body.data,
	    "{\"users_added\":1,\"users_existing\":1,\"users_skipped\":1,"
	    "\"documents_added\":2,\"documents_updated\":0,"
	    "\"documents_skipped\":0,\"users_over_limit\":0}");
	assert_true(auth(f, "ann", "ours"));
	assert_false(auth(f, "ann", "filekey"));
	assert_true(auth(f, "cat", "catkey"));

	/* Again: nothing is newer. */
	assert_int_equal(run(f, "import", file, &an), 200);
	assert_non_null(strstr(an.body.data, "\"documents_skipped\":2"));

	assert_int_equal(run(f, "export", NULL, &an), 200);
	assert_non_null(strstr(an.body.data, "\"schema\": 7"));
	assert_non_null(strstr(an.body.data, "\"d2\": {"));
	assert_non_null(strstr(an.body.data, "\"cat\": {"));
	assert_null(strstr(an.body.data, "catkey"));
	assert_non_null(strstr(an.body.data, "$argon2id$"));

	assert_int_equal(run(f, "user-list", NULL, &an), 200);
	assert_non_null(strstr(an.body.data,
	    "{\"username\":\"ann\",\"documents\":2,\"last_sync\":4102444800,"
	    "\"devices\":[\"K\"],\"bytes\":"));
	buf_release(&an.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_admin__users, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_admin__admin_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_admin__import_export, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
