/*
 * test_webops.c: the pages of the web interface's lists: the cursors
 * (store.c store_page_next, store_page_parse, store_page_after), the
 * choice of a page of documents (webops.c webops_select) and a
 * document's history in pages (webops_render): walking every page
 * gives each entry once, in order.
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
#include "json.h"
#include "store.h"
#include "webops.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

#define S(s) ((struct str){s, sizeof(s) - 1})

/* The cursor store_page_next writes (without the JSON quotes). */
static void
cursor_of(enum store_page_kind kind, bool more, int64_t ts, struct str id,
    char *out, size_t cap)
{
	struct buf b = BUF_INIT;
	struct json_out o;

	json_out_init(&o, &b, false);
	store_page_next(&o, kind, more, ts, id);
	assert_true(b.len + 1 <= cap);
	if (b.len >= 2 && b.data[0] == '"') {
		memcpy(out, b.data + 1, b.len - 2);
		out[b.len - 2] = '\0';
	} else {
		memcpy(out, b.data, b.len + 1);
	}
	buf_release(&b);
}

static void
test_store_web__cursor_round_trip(void **state)
{
	static const struct {
		enum store_page_kind kind;
		int64_t ts;
		const char *id;
		const char *want;
	} cases[] = {
	    {STORE_PAGE_DOCS, 1790006348, "ab", "d1790006348.6162"},
	    {STORE_PAGE_DOCS, -5, "\xff:/", "d-5.ff3a2f"},
	    {STORE_PAGE_DOCS, 0, "x", "d0.78"},
	    {STORE_PAGE_UPLOADS, 1790006348, "ab", "b1790006348.6162"},
	    {STORE_PAGE_USERS, 0, "Bob Smith", "u426f6220536d697468"},
	    {STORE_PAGE_HISTORY, 250, "", "h250"},
	};
	char c[STORE_PAGE_CURSOR_MAX + 3], idbuf[256];
	struct store_page p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cursor_of(cases[i].kind, true, cases[i].ts,
		    str_from(cases[i].id), c, sizeof(c));
		assert_string_equal(c, cases[i].want);
		memset(&p, 0, sizeof(p));
		assert_int_equal(store_page_parse(str_from(c), cases[i].kind,
		                     idbuf, sizeof(idbuf), &p),
		    0);
		assert_true(p.after);
		if (cases[i].kind != STORE_PAGE_USERS)
			assert_int_equal(p.ts, cases[i].ts);
		assert_true(str_eqs(p.id, cases[i].id));
	}
	/* The end: null. */
	cursor_of(STORE_PAGE_DOCS, false, 1, S("a"), c, sizeof(c));
	assert_string_equal(c, "null");
}

static void
test_store_web__cursor_refused(void **state)
{
	static const struct {
		enum store_page_kind kind;
		const char *cursor;
	} cases[] = {
	    {STORE_PAGE_DOCS, ""},
	    {STORE_PAGE_DOCS, "d"},
	    {STORE_PAGE_DOCS, "d1"},
	    {STORE_PAGE_DOCS, "d1."},
	    {STORE_PAGE_DOCS, "d1.6"},
	    {STORE_PAGE_DOCS, "d1.0g"},
	    {STORE_PAGE_DOCS, "d1.6A"},
	    {STORE_PAGE_DOCS, "dx.61"},
	    {STORE_PAGE_DOCS, "d.61"},
	    {STORE_PAGE_DOCS, "d--1.61"},
	    {STORE_PAGE_DOCS, "d99999999999999999999.61"},
	    {STORE_PAGE_DOCS, "u61"},
	    {STORE_PAGE_DOCS, "h5"},
	    {STORE_PAGE_USERS, "u"},
	    {STORE_PAGE_USERS, "u6"},
	    {STORE_PAGE_USERS, "d1.61"},
	    {STORE_PAGE_USERS, "u1.61"},
	    {STORE_PAGE_HISTORY, "h"},
	    {STORE_PAGE_HISTORY, "h-1"},
	    {STORE_PAGE_HISTORY, "h1.61"},
	    {STORE_PAGE_HISTORY, "h1x"},
	    {STORE_PAGE_UPLOADS, "b"},
	    {STORE_PAGE_UPLOADS, "b1."},
	    {STORE_PAGE_UPLOADS, "b-1.61"},
	    {STORE_PAGE_UPLOADS, "d1.61"},
	    {STORE_PAGE_DOCS, "b1.61"},
	};
	char idbuf[256], big[STORE_PAGE_CURSOR_MAX + 8];
	struct store_page p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&p, 0, sizeof(p));
		assert_int_equal(store_page_parse(str_from(cases[i].cursor),
		                     cases[i].kind, idbuf, sizeof(idbuf), &p),
		    -1);
		assert_false(p.after);
	}
	/* Longer than any id: refused, never written past idbuf. */
	big[0] = 'u';
	memset(big + 1, '6', sizeof(big) - 2);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_page_parse(str_from(big), STORE_PAGE_USERS,
	                     idbuf, sizeof(idbuf), &p),
	    -1);
	big[1 + 2 * 256] = '\0';
	assert_int_equal(store_page_parse(str_from(big), STORE_PAGE_USERS,
	                     idbuf, sizeof(idbuf), &p),
	    -1);
}

static void
test_store_web__after(void **state)
{
	struct store_page p = {10, true, 100, {"b", 1}};
	struct store_page first = {10, false, 0, {NULL, 0}};

	(void)state;
	assert_true(store_page_after(&first, 5, S("a")));
	assert_true(store_page_after(&p, 99, S("a")));   /* older */
	assert_false(store_page_after(&p, 101, S("z"))); /* newer */
	assert_false(store_page_after(&p, 100, S("a")));
	assert_false(store_page_after(&p, 100, S("b"))); /* itself */
	assert_true(store_page_after(&p, 100, S("ba")));
	assert_true(store_page_after(&p, 100, S("c")));
}

/* Walk u's documents k at a time; every one once, in cmp order. */
static void
walk(const struct db_user *u, size_t k, size_t expect)
{
	const struct db_doc **page = calloc(k, sizeof(*page));
	const struct db_doc *last = NULL;
	struct store_page p = {k, false, 0, {NULL, 0}};
	size_t n, i, total = 0;

	for (;;) {
		n = webops_select(u, &p, page, k);
		for (i = 0; i < n; i++) {
			if (last != NULL)
				assert_true(
				    last->timestamp > page[i]->timestamp ||
				    (last->timestamp == page[i]->timestamp &&
				        strcmp(last->s, page[i]->s) < 0));
			last = page[i];
		}
		total += n;
		if (n < k)
			break;
		p.after = true;
		p.ts = last->timestamp;
		p.id = str_from(last->s);
	}
	assert_int_equal(total, expect);
	free(page);
}

static void
test_store_web__select_walk(void **state)
{
	struct db db;
	struct db_user *u;
	struct db_put put;
	char id[16];
	int i;

	(void)state;
	db_init(&db);
	hs = (struct db_history){false, 0, 0};
	u = db_user_add(&db, S("u"), S("key"));
	srand(7);
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "doc%d", i);
		memset(&put, 0, sizeof(put));
		put.document = str_from(id);
		put.timestamp = rand() % 50; /* many ties */
		put.progress = S("p");
		put.device = S("kobo");
		db_put(&db, u, &put, &hs);
	}
	walk(u, 1, 1000);
	walk(u, 7, 1000);
	walk(u, 100, 1000);
	walk(u, 1000, 1000);
	walk(u, 5000, 1000);
	/* A merged-away record is left out. */
	db_link_set(u, S("doc1"), S("doc2"));
	db_link_set(u, S("doc3"), S("doc2"));
	walk(u, 7, 998);
	db_release(&db);
}

/* A history of 10 entries, 3 a page: 4 pages, each entry once. */
static void
test_store_web__history_pages(void **state)
{
	struct db db;
	struct db_user *u;
	struct db_put put;
	struct store_page p = {3, false, 0, {NULL, 0}};
	struct buf out = BUF_INIT;
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root, *doc, *h, *e, *next;
	struct buf seen = BUF_INIT, part = BUF_INIT;
	char prog[16], idbuf[256];
	int i, pages = 0;

	(void)state;
	db_init(&db);
	hs = (struct db_history){true, 0, 0};
	u = db_user_add(&db, S("u"), S("key"));
	for (i = 0; i <= 10; i++) {
		snprintf(prog, sizeof(prog), "%d", i);
		memset(&put, 0, sizeof(put));
		put.document = S("d");
		put.timestamp = 100 + i;
		put.progress = str_from(prog);
		put.device = S("kobo");
		db_put(&db, u, &put, &hs);
	}
	for (;;) {
		buf_reset(&out);
		buf_reset(&part);
		webops_render(u, S("d"), true, &p, &out);
		root =
		    json_parse(out.data, out.len, json_arena_alloc, &a, NULL);
		assert_non_null(root);
		assert_int_equal(root->type, JSON_ARRAY);
		doc = root->child;
		h = json_get(doc, "history");
		assert_true(h->count <= 3);
		for (e = h->child; e != NULL; e = e->next) {
			struct str s = json_get_str(e, "progress");

			buf_add(&part, s.p, s.len);
			buf_addch(&part, ',');
		}
		/* Pages go back in time; each is oldest first. */
		buf_add(&part, seen.data, seen.len);
		buf_reset(&seen);
		buf_add(&seen, part.data, part.len);
		pages++;
		next = json_get(doc, "history_next");
		assert_non_null(next);
		if (next->type == JSON_NULL)
			break;
		assert_int_equal(
		    store_page_parse(next->text, STORE_PAGE_HISTORY, idbuf,
		        sizeof(idbuf), &p),
		    0);
		json_arena_release(&a);
	}
	json_arena_release(&a);
	assert_int_equal(pages, 4);
	assert_string_equal(seen.data, "0,1,2,3,4,5,6,7,8,9,");
	buf_release(&seen);
	buf_release(&part);
	buf_release(&out);
	db_release(&db);
}

/*
 * ?history=1 with entries of the largest, worst-escaped kind: fewer than
 * STORE_LIST_HISTORY, within STORE_LIST_HISTORY_BYTES.
 */
static void
test_store_web__list_history_bytes(void **state)
{
	static char big[STORE_MAX_FIELD];
	struct db db;
	struct db_user *u;
	struct db_put put;
	struct store_page p = {STORE_PAGE_DEFAULT, false, 0, {NULL, 0}};
	struct buf out = BUF_INIT;
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root, *h;
	int i;

	(void)state;
	memset(big, 1, sizeof(big));
	db_init(&db);
	hs = (struct db_history){true, 0, 0};
	u = db_user_add(&db, S("u"), S("key"));
	for (i = 0; i < 150; i++) {
		memset(&put, 0, sizeof(put));
		put.document = S("d");
		put.timestamp = 100 + i;
		put.progress = (struct str){big, sizeof(big)};
		put.device = S("kobo");
		db_put(&db, u, &put, &hs);
	}
	webops_render(u, STR_NULL, true, &p, &out);
	root = json_parse(out.data, out.len, json_arena_alloc, &a, NULL);
	assert_non_null(root);
	h = json_get(json_get(root, "documents")->child, "history");
	assert_true(h->count >= 1 && h->count < STORE_LIST_HISTORY);
	assert_true(out.len < STORE_LIST_HISTORY_BYTES + 64 * 1024);
	json_arena_release(&a);
	buf_release(&out);
	db_release(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_web__cursor_round_trip),
	    cmocka_unit_test(test_store_web__cursor_refused),
	    cmocka_unit_test(test_store_web__after),
	    cmocka_unit_test(test_store_web__select_walk),
	    cmocka_unit_test(test_store_web__history_pages),
	    cmocka_unit_test(test_store_web__list_history_bytes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
