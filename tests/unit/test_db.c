/*
 * test_db.c: the links of merged documents (db.c) when the id given is
 * one of the links' own strings, as db_link_resolve returns it (the web
 * interface's delete resolves its id first), and freeing a user's links;
 * the usage the per-user limits count (kept incrementally, checked
 * against a recount), db_put_cost against what db_put does, and the
 * account's history limit; db_put's history and device list.
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

/*
 * A chain of links resolves to its end, and a user's links go with the
 * user: removed with it (LeakSanitizer) and out of the table.
 */
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
	assert_true(str_eqs(db_link_resolve(u, S("C")), "A"));
	assert_true(str_eqs(db_link_resolve(u, S("B")), "A"));
	assert_true(str_eqs(db_link_resolve(u, S("E")), "D"));
	assert_true(str_eqs(db_link_resolve(u, S("A")), "A"));
	db_user_remove(&db, u);
	assert_null(db_user_find(&db, S("u")));
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
 * The entries of list l in order, as "progress ..." or, with devices, as
 * "device:progress ...".
 */
static const char *
list_of(const struct db_list *l, bool devices, char *out, size_t cap)
{
	size_t n = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; l != NULL && i < l->n; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s%s%s",
		    i ? " " : "", devices ? db_entry_device(l->e[i]) : "",
		    devices ? ":" : "", db_entry_progress(l->e[i]));
	return out;
}

/*
 * db_put and the history: each push moves the state it replaces to the
 * end of the history, which keeps the last history_limit states; without
 * store_history none is kept. Absent optional fields keep their values.
 */
static void
test_db__put_history(void **state)
{
	static const char *const prog[] = {"p1", "p2", "p3", "p4", "p5"};
	struct db db;
	struct db_user *u;
	struct db_put p;
	const struct db_doc *d;
	char hist[64];
	unsigned i;

	(void)state;
	db_init(&db);
	hs = (struct db_history){.keep = true, .limit = 3};
	u = db_user_add(&db, S("u"), S("key"));
	for (i = 0; i < 5; i++) {
		p = put_of("d1", prog[i], "kobo", i == 0 ? "Title" : NULL);
		p.timestamp = 100 + i;
		p.percentage = 0.1 * (i + 1);
		if (i == 0)
			p.filename = S("book.epub");
		if (i > 0)
			p.device_id = (struct str){NULL, 0};
		d = db_put(&db, u, &p, &hs);
		assert_ptr_equal(d, db_doc_find(u, S("d1")));
		assert_usage(u);
	}
	assert_int_equal(db.ndocs, 1);
	assert_string_equal(db_doc_field(d, DB_F_PROGRESS), "p5");
	assert_int_equal(d->timestamp, 104);
	assert_true(d->percentage > 0.49 && d->percentage < 0.51);
	/* absent: kept from the first push */
	assert_string_equal(db_doc_field(d, DB_F_TITLE), "Title");
	assert_string_equal(db_doc_field(d, DB_F_FILENAME), "book.epub");
	assert_string_equal(db_doc_field(d, DB_F_DEVICE_ID), "kobo");
	/* the three states before the current one, oldest first */
	assert_string_equal(
	    list_of(d->history, false, hist, sizeof(hist)), "p2 p3 p4");
	assert_int_equal(d->history->e[0]->timestamp, 101);
	assert_int_equal(d->history->e[2]->timestamp, 103);
	assert_string_equal(db_entry_device(d->history->e[2]), "kobo");
	assert_int_equal(u->history, 3);
	/* a second document has its own history */
	p = put_of("d2", "q1", "kobo", NULL);
	(void)db_put(&db, u, &p, &hs);
	p = put_of("d2", "q2", "kobo", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(
	    list_of(d->history, false, hist, sizeof(hist)), "q1");
	assert_int_equal(db.ndocs, 2);
	assert_int_equal(u->history, 4);
	db_release(&db);

	db_init(&db);
	hs = (struct db_history){.keep = false, .limit = 3};
	u = db_user_add(&db, S("u"), S("key"));
	for (i = 0; i < 3; i++) {
		p = put_of("d1", prog[i], "kobo", NULL);
		d = db_put(&db, u, &p, &hs);
	}
	assert_null(d->history);
	assert_string_equal(db_doc_field(d, DB_F_PROGRESS), "p3");
	assert_int_equal(u->history, 0);
	assert_usage(u);
	db_release(&db);
}

/*
 * db_put and the devices: a push from another device moves the replaced
 * state to the device list (one entry per device, its latest); the device
 * that pushes last is never in the list; a device is its device_id when
 * either side has one, else its name; at most DB_MAX_DEVICES entries, the
 * oldest dropped.
 */
static void
test_db__put_devices(void **state)
{
	struct db db;
	struct db_user *u;
	struct db_put p;
	const struct db_doc *d;
	char devs[64 * DB_MAX_DEVICES], name[16];
	unsigned i;

	(void)state;
	db_init(&db);
	hs = (struct db_history){.keep = false};
	u = db_user_add(&db, S("u"), S("key"));
	p = put_of("d", "k1", "kobo", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_null(d->devices);
	p = put_of("d", "k2", "kobo", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_null(d->devices);
	p = put_of("d", "n1", "kindle", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(
	    list_of(d->devices, true, devs, sizeof(devs)), "kobo:k2");
	p = put_of("d", "n2", "kindle", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(
	    list_of(d->devices, true, devs, sizeof(devs)), "kobo:k2");
	/* kobo pushes again: its entry goes, kindle's latest comes */
	p = put_of("d", "k3", "kobo", NULL);
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(
	    list_of(d->devices, true, devs, sizeof(devs)), "kindle:n2");
	assert_usage(u);
	/* a renamed device with the same device_id is the same device */
	p = put_of("d", "k4", "my kobo", NULL);
	p.device_id = S("kobo");
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(
	    list_of(d->devices, true, devs, sizeof(devs)), "kindle:n2");
	/* same name, another device_id: another device */
	p = put_of("d", "x1", "my kobo", NULL);
	p.device_id = S("other");
	d = db_put(&db, u, &p, &hs);
	assert_string_equal(list_of(d->devices, true, devs, sizeof(devs)),
	    "kindle:n2 my kobo:k4");
	assert_usage(u);
	db_release(&db);

	/* DB_MAX_DEVICES + 5 devices in turn: the latest ones are kept */
	db_init(&db);
	hs = (struct db_history){.keep = false};
	u = db_user_add(&db, S("u"), S("key"));
	for (i = 0; i < DB_MAX_DEVICES + 5; i++) {
		snprintf(name, sizeof(name), "dev%u", i);
		p = put_of("d", name, name, NULL);
		p.timestamp = 1000 + i;
		d = db_put(&db, u, &p, &hs);
		assert_usage(u);
	}
	assert_int_equal(d->devices->n, DB_MAX_DEVICES);
	for (i = 0; i < d->devices->n; i++) {
		/* dev0..dev3 dropped, dev36 (the current) not listed */
		assert_true(d->devices->e[i]->timestamp >= 1004);
		assert_true(d->devices->e[i]->timestamp < 1000 + 36);
	}
	assert_string_equal(db_doc_field(d, DB_F_DEVICE), "dev36");
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

/* The audit ring: newest first, bounded, a repeat within a minute. */
static void
test_db__devcred_audit(void **state)
{
	struct db db;
	struct db_user *u;
	struct db_devcred *c;
	int i;

	(void)state;
	db_init(&db);
	u = db_user_add(&db, S("u"), S("key"));
	c = db_devcred_add(u, S("id1"), S("Kobo"), S("$argon2id$x"), 1);
	assert_true(db_devcred_audit(c, 100, 1, S("a"), S("ua"), S("d")));
	/* The same use again within DB_AUDIT_SAME_S: no entry. */
	assert_false(db_devcred_audit(
	    c, 100 + DB_AUDIT_SAME_S - 1, 1, S("a"), S("ua"), S("d")));
	/* Another kind, address, client or document: an entry. */
	assert_true(db_devcred_audit(c, 101, 2, S("a"), S("ua"), S("d")));
	assert_true(db_devcred_audit(c, 102, 2, S("b"), S("ua"), S("d")));
	assert_true(db_devcred_audit(c, 103, 2, S("b"), S("ub"), S("d")));
	assert_true(db_devcred_audit(c, 104, 2, S("b"), S("ub"), STR_NULL));
	/* The same use a minute later: an entry. */
	assert_true(db_devcred_audit(
	    c, 104 + DB_AUDIT_SAME_S, 2, S("b"), S("ub"), STR_NULL));
	assert_int_equal(c->naudit, 6);
	assert_int_equal(
	    db_devcred_audit_at(c, 0)->time, 104 + DB_AUDIT_SAME_S);
	assert_int_equal(db_devcred_audit_at(c, 5)->time, 100);
	assert_null(db_devcred_audit_at(c, 0)->document);
	for (i = 0; i < 3 * DB_AUDIT_MAX; i++)
		(void)db_devcred_audit(
		    c, 1000 + i * DB_AUDIT_SAME_S, 3, S("a"), S("ua"), S("d"));
	assert_int_equal(c->naudit, DB_AUDIT_MAX);
	assert_int_equal(db_devcred_audit_at(c, 0)->time,
	    1000 + (3 * DB_AUDIT_MAX - 1) * DB_AUDIT_SAME_S);
	assert_int_equal(db_devcred_audit_at(c, DB_AUDIT_MAX - 1)->time,
	    1000 + 2 * DB_AUDIT_MAX * DB_AUDIT_SAME_S);
	assert_string_equal(db_audit_what_name(3), "webdav");
	assert_int_equal(db_audit_what_parse(S("pull")), 1);
	assert_int_equal(db_audit_what_parse(S("other")), -1);
	db_release(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_db__link_del_to_resolved),
	    cmocka_unit_test(test_db__links_freed),
	    cmocka_unit_test(test_db__usage),
	    cmocka_unit_test(test_db__put_history),
	    cmocka_unit_test(test_db__put_devices),
	    cmocka_unit_test(test_db__devcred_audit),
	    cmocka_unit_test(test_db__user_max_history),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
