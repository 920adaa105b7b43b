/*
 * test_datadir_offline.c: the offline operations of datadir_offline.h on a data
 * directory the file store wrote: check, backup, restore (ours, KOsync's
 * JSON backup, KOsync's msgpack backup refused), compact of a journal left
 * by a store that was not flushed, and the lock against a running store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "config.h"
#include "datadir_offline.h"
#include "store.h"
#include "xmalloc.h"

#include "store_env.h"

#define DATA "tests/data/"

struct res {
	int called;
	enum store_result result;
	char progress[64];
};

static void
cb(void *arg, const struct store_reply *r)
{
	struct res *res = arg;

	res->called++;
	res->result = r->result;
	res->progress[0] = '\0';
	if (r->doc != NULL)
		snprintf(res->progress, sizeof(res->progress), "%s",
		    r->doc->progress);
}

static enum store_result
push(struct store_env *e, const char *u, const char *k, const char *doc,
    const char *progress)
{
	struct res r = {0};
	struct store_push p;

	memset(&p, 0, sizeof(p));
	p.document = str_from(doc);
	p.percentage = 0.5;
	p.progress = str_from(progress);
	p.device = str_from("dev");
	store_progress_put(e->st, str_from(u), str_from(k), &p, cb, &r);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.called, 1);
	return r.result;
}

static struct res
get(struct store_env *e, const char *u, const char *k, const char *doc)
{
	struct res r = {0};

	store_progress_get(
	    e->st, str_from(u), str_from(k), str_from(doc), cb, &r);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.called, 1);
	return r;
}

static void
create(struct store_env *e, const char *u, const char *k)
{
	struct res r = {0};

	store_user_create(e->st, str_from(u), str_from(k), cb, &r);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.result, STORE_OK);
}

static void
test_store_admin__backup_restore_round_trip(void **state)
{
	struct store_env e;
	char *bak = NULL, *saved = NULL;
	struct buf report = BUF_INIT;

	(void)state;
	store_env_init(&e, "admin");
	store_env_open(&e);
	create(&e, "ann", "k");
	assert_int_equal(push(&e, "ann", "k", "doc", "one"), STORE_OK);
	/* While the store runs, the directory is locked. */
	assert_int_equal(datadir_offline_backup(&e.cfg, &bak), -1);
	store_env_close(&e, true);

	assert_int_equal(datadir_offline_check(&e.cfg, &report), 0);
	assert_non_null(strstr(report.data, "schema 7, 1 users, 1 documents"));
	assert_int_equal(datadir_offline_backup(&e.cfg, &bak), 0);
	assert_non_null(bak);
	assert_int_equal(access(bak, R_OK), 0);

	store_env_open(&e);
	assert_int_equal(push(&e, "ann", "k", "doc", "two"), STORE_OK);
	store_env_close(&e, true);

	assert_int_equal(datadir_offline_restore(&e.cfg, bak, &saved, NULL), 0);
	assert_non_null(saved);
	assert_string_not_equal(saved, bak);
	store_env_open(&e);
	assert_string_equal(get(&e, "ann", "k", "doc").progress, "one");
	store_env_close(&e, true);
	/* Undo: the backup taken before the restore has "two". */
	assert_int_equal(datadir_offline_restore(&e.cfg, saved, NULL, NULL), 0);
	store_env_open(&e);
	assert_string_equal(get(&e, "ann", "k", "doc").progress, "two");
	store_env_close(&e, true);
	free(bak);
	free(saved);
	buf_release(&report);
	store_env_release(&e);
}

static void
test_store_admin__restore_kosync_backups(void **state)
{
	struct store_env e;
	char md5_secret[] = "5ebe2294ecd0e0f08eab7690d2a6ee69";
	struct res r = {0};

	(void)state;
	store_env_init(&e, "admin");
	assert_int_equal(datadir_offline_restore(&e.cfg,
	                     DATA "kosync-backup-msgpack.pem", NULL, NULL),
	    -1);
	assert_int_equal(datadir_offline_restore(
	                     &e.cfg, DATA "kosync-backup-json.pem", NULL, NULL),
	    0);
	store_env_open(&e);
	store_user_auth(e.st, str_from("alice"), str_from(md5_secret), cb, &r);
	uv_run(&e.loop, UV_RUN_DEFAULT);
	assert_int_equal(r.result, STORE_OK);
	store_env_close(&e, true);
	assert_int_equal(datadir_offline_restore(
	                     &e.cfg, DATA "kosync-schema1.json", NULL, NULL),
	    -1);
	store_env_release(&e);
}

static void
test_store_admin__compact_journal(void **state)
{
	struct store_env e;
	struct buf report = BUF_INIT;
	int i;
	char prog[16];

	(void)state;
	store_env_init(&e, "admin");
	store_env_open(&e);
	create(&e, "bo", "k");
	for (i = 0; i < 20; i++) {
		snprintf(prog, sizeof(prog), "p%d", i);
		assert_int_equal(push(&e, "bo", "k", "d", prog), STORE_OK);
	}
	store_env_close(
	    &e, false); /* as after a crash: the journal holds it all */
	assert_int_equal(datadir_offline_check(&e.cfg, &report), 0);
	assert_non_null(strstr(report.data, "21 journal records on top"));
	assert_int_equal(datadir_offline_compact(&e.cfg), 0);
	buf_reset(&report);
	assert_int_equal(datadir_offline_check(&e.cfg, &report), 0);
	assert_non_null(strstr(report.data, "0 journal records on top"));
	assert_non_null(strstr(report.data, "1 users, 1 documents"));
	store_env_open(&e);
	assert_string_equal(get(&e, "bo", "k", "d").progress, "p19");
	store_env_close(&e, true);
	buf_release(&report);
	store_env_release(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_admin__backup_restore_round_trip),
	    cmocka_unit_test(test_store_admin__restore_kosync_backups),
	    cmocka_unit_test(test_store_admin__compact_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
