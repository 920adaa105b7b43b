/*
 * test_db.c: the links of merged documents (db.c) when the id given is
 * one of the links' own strings, as db_link_resolve returns it (the web
 * interface's delete resolves its id first), and freeing a user's links;
 * the usage the per-user limits count (kept incrementally, checked
 * against a recount), db_put_cost against what db_put does, and the
 * account's history limit.
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

#include "db.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

#define S(s) ((struct str){s, sizeof(s) - 1})

/* Several links to one document, removed by a resolved id (ASan). */
static void
test_db__link_del_to_resolved(void **state)
{
	struct db db;
	struct db_user *u;
	struct str id;

	(void)state;
	db_init(&db);
	hs = (struct db_history){true, 10, 0};
	u = db_user_add(&db, S("u"), S("key"));
	db_link_set(u, S("B"), S("A"));
	db_link_set(u, S("C"), S("A"));
	db_link_set(u, S("D"), S("A"));
	db_link_set(u, S("Y"), S("X"));
	assert_int_equal(u->nlinks, 4);

	id = db_link_resolve(u, S("C"));
	assert_true(str_eqs(id, "A"));
	db_link_del_to(u, id);
	assert_int_equal(u->nlinks, 1);
	assert_true(str_eqs(db_link_resolve(u, S("B")), "B"));
	assert_true(str_eqs(db_link_resolve(u, S("D")), "D"));
	assert_true(str_eqs(db_link_resolve(u, S("Y")), "X"));

	/* The last link, by its own string. */
	db_link_del_to(u, db_link_resolve(u, S("Y")));
	assert_int_equal(u->nlinks, 0);
	assert_null(u->links);
	db_release(&db);
}

/* A user's links go with the user (LeakSanitizer). */
static void
test_db__links_freed(void **state)
{
	struct db db;
	struct db_user *u;

	(void)state;
	db_init(&db);
	hs = (struct db_history){true, 10, 0};
	u = db_user_add(&db, S("u"), S("key"));
	db_link_set(u, S("B"), S("A"));
	db_link_set(u, S("C"), S("B"));
	db_link_set(u, S("E"), S("D"));
	assert_int_equal(u->nlinks, 3);
	db_release(&db);
}

/* u's usage counted from scratch: every string + DB_RECORD_BYTES each. */
static void
recount(const struct db_user *u, uint64_t *bytes, uint64_t *history)
{
	const struct db_list *l[2];
	const struct db_doc *d;
	uint32_t pos = 0, i;
	int f, k;

	*bytes = 0;
	*history = 0;
	while ((d = table_next(&u->docs, &pos)) != NULL) {
		*bytes += DB_RECORD_BYTES;
		for (f = 0; f < DB_NFIELDS; f++)
			*bytes += strlen(db_doc_field(d, (enum db_field)f));
		l[0] = d->history;
		l[1] = d->devices;
		for (k = 0; k < 2; k++)
			for (i = 0; l[k] != NULL && i < l[k]->n; i++)
				*bytes +=
				    DB_RECORD_BYTES +
				    strlen(db_entry_progress(l[k]->e[i])) +
				    strlen(db_entry_device(l[k]->e[i])) +
				    strlen(db_entry_device_id(l[k]->e[i]));
		if (d->history != NULL)
			*history += d->history->n;
	}
	for (i = 0; i < u->nlinks; i++)
		*bytes += DB_RECORD_BYTES + strlen(u->links[i].alias) +
		          strlen(u->links[i].canonical);
}

static void
assert_usage(const struct db_user *u)
{
	uint64_t bytes, history;

	recount(u, &bytes, &history);
	assert_int_equal(u->bytes, bytes);
	assert_int_equal(u->history, history);
}

static struct db_put
put_of(const char *doc, const char *progress, const char *device,
    const char *title)
{
	struct db_put p;

	memset(&p, 0, sizeof(p));
	p.document = str_from(doc);
	p.progress = str_from(progress);
	p.device = str_from(device);
	p.device_id = str_from(device);
	if (title != NULL)
		p.title = str_from(title);
	p.percentage = 0.5;
	return p;
}

/*
 * Every change keeps the usage equal to a recount; db_put_cost predicts
 * db_put's change (exactly while no device list is full).
 */
static void
test_db__usage(void **state)
{
	static const char *const docs[] = {"d1", "d2", "d3"};
	static const char *const devs[] = {"kobo", "kindle", "phone-x"};
	static const char *const progs[] = {"/p[1]", "/body/DocFragment[12]",
	    "", "a much longer position than the others"};
	struct db db;
	struct db_user *u;
	struct db_put p;
	struct db_cost c;
	uint64_t before, hist;
	size_t before_docs;
	unsigned i;

	(void)state;
	db_init(&db);
	hs = (struct db_history){true, 3, 0};
	u = db_user_add(&db, S("u"), S("key"));
	for (i = 0; i < 60; i++) {
		p = put_of(docs[i % 3], progs[(i / 3) % 4], devs[(i / 2) % 3],
		    i % 5 == 0 ? "A Title" : NULL);
		p.timestamp = i;
		hs.user_limit = i >= 30 ? 4 : 0;
		db_put_cost(u, &p, &hs, &c);
		before = u->bytes;
		before_docs = u->docs.n;
		hist = u->history;
		(void)db_put(&db, u, &p, &hs);
		assert_int_equal(u->bytes - before, c.bytes);
		assert_int_equal(u->docs.n - before_docs, c.documents);
		assert_usage(u);
		/* Over the limit (lowered since): never more. */
		if (i >= 30)
			assert_true(u->history <= 4 || u->history <= hist);
	}
	db_link_set(u, S("d3"), S("d1"));
	db_link_set(u, S("zz"), S("d3"));
	assert_usage(u);
	p = put_of("zz", "/linked", "kobo", "T");
	(void)db_put(&db, u, &p, &hs);
	assert_usage(u);
	assert_true(db_link_del(u, S("d3")));
	assert_usage(u);
	p = put_of("d2", "/loaded", "kobo", "Loaded");
	p.pretty_name = S("Mine");
	(void)db_doc_load(&db, u, &p);
	assert_usage(u);
	db_doc_add_history(u, db_doc_find(u, S("d2")), &p, 0);
	db_doc_add_device(u, db_doc_find(u, S("d2")), &p);
	assert_usage(u);
	assert_true(db_doc_remove(&db, u, S("d1")));
	db_link_del_to(u, S("d1"));
	assert_usage(u);
	assert_true(db_doc_remove(&db, u, S("d2")));
	assert_true(db_doc_remove(&db, u, S("d3")));
	assert_int_equal(u->docs.n, 0);
	assert_int_equal(u->bytes, 0);
	assert_int_equal(u->history, 0);
	db_release(&db);
}

/*
 * The account's history limit: at it, a push drops the oldest entry of its
 * own document; a document without history keeps none.
 */
static void
test_db__user_max_history(void **state)
{
	static const char *const prog[] = {"p1", "p2", "p3", "p4", "p5"};
	struct db db;
	struct db_user *u;
	struct db_put p;
	const struct db_doc *d;
	unsigned i;

	(void)state;
	db_init(&db);
	hs = (struct db_history){true, 0, 0};
	hs.user_limit = 3;
	u = db_user_add(&db, S("u"), S("key"));
	for (i = 0; i < 5; i++) {
		p = put_of("d1", prog[i], "kobo", NULL);
		(void)db_put(&db, u, &p, &hs);
	}
	d = db_doc_find(u, S("d1"));
	assert_int_equal(d->history->n, 3);
	assert_string_equal(db_entry_progress(d->history->e[0]), "p2");
	assert_string_equal(db_entry_progress(d->history->e[2]), "p4");
	p = put_of("d2", "q1", "kobo", NULL);
	(void)db_put(&db, u, &p, &hs);
	p = put_of("d2", "q2", "kobo", NULL);
	(void)db_put(&db, u, &p, &hs);
	d = db_doc_find(u, S("d2"));
	assert_true(d->history == NULL || d->history->n == 0);
	assert_int_equal(u->history, 3);
	assert_usage(u);
	db_release(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_db__link_del_to_resolved),
	    cmocka_unit_test(test_db__links_freed),
	    cmocka_unit_test(test_db__usage),
	    cmocka_unit_test(test_db__user_max_history),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
