/*
 * test_table.c: the open-addressing hash table (insert, find, replace in
 * place, removal with back-shifting, iteration) and the in-memory
 * database on it (db.c): pushes keep device_id and metadata when absent,
 * history oldest first and bounded, per-device latest positions, user
 * removal with references outstanding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "table.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

struct rec {
	uint32_t hash;
	char key[16];
};

static uint32_t
rec_hash(const void *r)
{
	return ((const struct rec *)r)->hash;
}

static struct str
rec_key(const void *r)
{
	return str_from(((const struct rec *)r)->key);
}

static const struct table_type type = {rec_hash, rec_key};

#define N 5000

static void
test_table__insert_find_remove(void **state)
{
	struct table t = TABLE_INIT;
	struct rec *r = calloc(N, sizeof(*r));
	struct rec *got;
	uint32_t pos = 0;
	size_t i, count = 0;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(r[i].key, sizeof(r[i].key), "k%zu", i);
		/* Half the records share a hash: probing must cope. */
		r[i].hash = i % 2 ? 7 : table_hash(r[i].key, strlen(r[i].key));
		table_insert(&t, &type, &r[i]);
	}
	assert_int_equal(t.n, N);
	assert_true(t.n * 4 <= t.cap * 3);
	for (i = 0; i < N; i++)
		assert_ptr_equal(
		    table_find(&t, &type, r[i].hash, str_from(r[i].key)),
		    &r[i]);
	assert_null(table_find(&t, &type, 7, str_from("absent")));
	/* Remove every third one; all others stay reachable. */
	for (i = 0; i < N; i += 3)
		assert_ptr_equal(
		    table_remove(&t, &type, r[i].hash, str_from(r[i].key)),
		    &r[i]);
	assert_null(table_remove(&t, &type, r[0].hash, str_from(r[0].key)));
	for (i = 0; i < N; i++) {
		got = table_find(&t, &type, r[i].hash, str_from(r[i].key));
		if (i % 3 == 0)
			assert_null(got);
		else
			assert_ptr_equal(got, &r[i]);
	}
	while (table_next(&t, &pos) != NULL)
		count++;
	assert_int_equal(count, t.n);
	assert_int_equal(t.n, N - (N + 2) / 3);
	table_release(&t);
	free(r);
}

static struct db_put
mkput(const char *doc, double pct, int64_t ts, const char *progress,
    const char *device, const char *device_id, const char *title)
{
	struct db_put p;

	memset(&p, 0, sizeof(p));
	p.document = str_from(doc);
	p.percentage = pct;
	p.timestamp = ts;
	p.progress = str_from(progress);
	p.device = str_from(device);
	if (device_id != NULL)
		p.device_id = str_from(device_id);
	if (title != NULL)
		p.title = str_from(title);
	return p;
}

static void
test_table__db_push_semantics(void **state)
{
	struct db db;
	struct db_user *u;
	struct db_doc *d;
	struct db_put p;
	int i;
	char prog[16];

	(void)state;
	db_init(&db);
	hs = (struct db_history){true, 3, 0};
	u = db_user_add(&db, str_from("u"), str_from("key"));
	p = mkput("doc", 0.1, 1, "p1", "kobo", "K", "Title");
	db_put(&db, u, &p, &hs);
	d = db_doc_find(u, str_from("doc"));
	/* The first push leaves no (zero-valued) history entry. */
	assert_null(d->history);
	p = mkput("doc", 0.2, 2, "p2", "kobo", NULL, NULL);
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(db_doc_field(d, DB_F_DEVICE_ID), "K");
	assert_string_equal(db_doc_field(d, DB_F_TITLE), "Title");
	assert_int_equal(d->history->n, 1);
	assert_string_equal(db_entry_progress(d->history->e[0]), "p1");
	/* Same device: no device entry. */
	assert_null(d->devices);
	/* Another device: the previous position is remembered for it. */
	p = mkput("doc", 0.3, 3, "p3", "kindle", "X", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_int_equal(d->devices->n, 1);
	assert_string_equal(db_entry_device_id(d->devices->e[0]), "K");
	assert_string_equal(db_entry_progress(d->devices->e[0]), "p2");
	/* Back on the first device: its entry leaves the list, X's enters. */
	p = mkput("doc", 0.4, 4, "p4", "kobo", "K", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_int_equal(d->devices->n, 1);
	assert_string_equal(db_entry_device_id(d->devices->e[0]), "X");
	/* History is bounded at 3, oldest dropped first. */
	for (i = 5; i < 10; i++) {
		snprintf(prog, sizeof(prog), "p%d", i);
		p = mkput("doc", i / 10.0, i, prog, "kobo", "K", NULL);
		d = db_put(&db, u, &p, &hs);
	}
	assert_int_equal(d->history->n, 3);
	assert_string_equal(db_entry_progress(d->history->e[0]), "p6");
	assert_string_equal(db_entry_progress(d->history->e[2]), "p8");
	assert_string_equal(db_doc_field(d, DB_F_PROGRESS), "p9");
	assert_int_equal(db.ndocs, 1);
	/* Removal with a reference held: the record outlives the table. */
	u->refs++;
	db_user_remove(&db, u);
	assert_null(db_user_find(&db, str_from("u")));
	assert_true(u->removed);
	assert_int_equal(db.ndocs, 0);
	db_user_unref(u);
	db_release(&db);
}

static void
test_table__db_history_off_and_unbounded(void **state)
{
	struct db db;
	struct db_user *u;
	struct db_doc *d = NULL;
	struct db_put p;
	int i;

	(void)state;
	db_init(&db);
	hs = (struct db_history){false, 3, 0};
	u = db_user_add(&db, str_from("u"), str_from("key"));
	for (i = 0; i < 5; i++) {
		p = mkput("doc", 0.5, i, "p", "kobo", NULL, NULL);
		d = db_put(&db, u, &p, &hs);
	}
	assert_null(d->history);
	db_release(&db);
	db_init(&db);
	hs = (struct db_history){true, 0, 0};
	u = db_user_add(&db, str_from("u"), str_from("key"));
	for (i = 0; i < 200; i++) {
		p = mkput("doc", 0.5, i, "p", "kobo", NULL, NULL);
		d = db_put(&db, u, &p, &hs);
	}
	assert_int_equal(d->history->n, 199);
	db_release(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table__insert_find_remove),
	    cmocka_unit_test(test_table__db_push_semantics),
	    cmocka_unit_test(test_table__db_history_off_and_unbounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
