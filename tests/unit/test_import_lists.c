/*
 * test_import_lists.c: how an import merges a document's history and
 * device positions (filestore_admin.c, the "import_lists" journal
 * record): the merge rules on the tables, applied through
 * change_replay as replay does (newer device position wins, never the
 * current state's device, at most DB_MAX_DEVICES, history merged by
 * timestamp without repeats and bounded, a second application changes
 * nothing, malformed records refused); and through the file store, a
 * history too long for one record, split, journaled and replayed, and an
 * import applied live leaving what a replay of its records builds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "change.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "json.h"
#include "store.h"
#include "xmalloc.h"

#include "store_env.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

/*
 * The merge rules, on tables
 */

static struct db_doc *
setup(struct db *db, unsigned limit)
{
	struct db_user *u;
	struct db_put p;

	db_init(db);
	hs = (struct db_history){true, limit, 0};
	u = db_user_add(db, STR_LIT("ann"), STR_LIT("k"));
	memset(&p, 0, sizeof(p));
	p.document = STR_LIT("doc");
	p.percentage = 0.1;
	p.timestamp = 100;
	p.progress = STR_LIT("h100");
	p.device = STR_LIT("Kobo");
	p.device_id = STR_LIT("K");
	db_put(db, u, &p, &hs);
	p.percentage = 0.3;
	p.timestamp = 300;
	p.progress = STR_LIT("h300");
	db_put(db, u, &p, &hs);
	p.percentage = 0.5;
	p.timestamp = 500;
	p.progress = STR_LIT("cur");
	db_put(db, u, &p, &hs);
	/* current "cur" by Kobo at 500; history h100, h300 */
	return db_doc_find(u, STR_LIT("doc"));
}

static struct db_doc *
doc(struct db *db)
{
	return db_doc_find(db_user_find(db, STR_LIT("ann")), STR_LIT("doc"));
}

static int
apply(struct db *db, const char *rec)
{
	return change_replay(db, &hs, rec, strlen(rec));
}

/* The progress strings of a list, space-separated. */
static const char *
progs(const struct db_list *l, char *out, size_t size)
{
	size_t n = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; l != NULL && i < l->n; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? " " : "",
		    db_entry_progress(l->e[i]));
	return out;
}

#define E(prog, dev, id, ts)                                                   \
	"{\"percentage\":0.2,\"progress\":\"" prog "\",\"device\":\"" dev      \
	"\",\"device_id\":\"" id "\",\"timestamp\":" #ts "}"

static void
test_import_lists__history_merged_by_timestamp(void **state)
{
	struct db db;
	char buf[256];
	const char *rec =
	    "{\"op\":\"import_lists\",\"user\":\"ann\",\"doc\":\"doc\","
	    "\"history\":[" E("i400", "Kobo", "K", 400) "," E(
	        "i50", "Kobo", "K", 50) "," E("i300", "X", "",
	        300) ","
	             "{\"percentage\":0.3,\"progress\":\"h300\",\"device\":"
	             "\"Kobo\",\"device_id\":\"K\",\"timestamp\":300}," E(
	                 "i50", "Kobo", "K", 50) "]}";

	(void)state;
	setup(&db, 0);
	assert_int_equal(apply(&db, rec), 0);
	/* h300 was ours already; i50 came twice; ours first on a tie. */
	assert_string_equal(progs(doc(&db)->history, buf, sizeof(buf)),
	    "i50 h100 h300 i300 i400");
	assert_int_equal(apply(&db, rec), 0);
	assert_string_equal(progs(doc(&db)->history, buf, sizeof(buf)),
	    "i50 h100 h300 i300 i400");
	db_release(&db);
}

static void
test_import_lists__history_limit(void **state)
{
	struct db db;
	char buf[256];

	(void)state;
	setup(&db, 3);
	/* Merged, then only the newest three kept. */
	assert_int_equal(apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	                            "\"doc\":\"doc\",\"history\":[" E("a", "A",
	                                "", 200) "," E("b", "A", "", 450) "]}"),
	    0);
	assert_string_equal(
	    progs(doc(&db)->history, buf, sizeof(buf)), "a h300 b");
	/* Older than the newest three: nothing changes. */
	assert_int_equal(apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	                            "\"doc\":\"doc\",\"history\":[" E(
	                                "old", "A", "", 1) "]}"),
	    0);
	assert_string_equal(
	    progs(doc(&db)->history, buf, sizeof(buf)), "a h300 b");
	db_release(&db);
}

static void
test_import_lists__history_needs_store_history(void **state)
{
	struct db db;
	char buf[256];

	(void)state;
	setup(&db, 0);
	hs.keep = false;
	assert_int_equal(apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	                            "\"doc\":\"doc\",\"history\":[" E(
	                                "x", "A", "", 200) "]}"),
	    0);
	assert_string_equal(
	    progs(doc(&db)->history, buf, sizeof(buf)), "h100 h300");
	db_release(&db);
}

static void
test_import_lists__devices(void **state)
{
	struct db db;
	char buf[256];
	const char *rec =
	    "{\"op\":\"import_lists\",\"user\":\"ann\",\"doc\":\"doc\","
	    "\"devices\":[" E("kobo", "Kobo2", "K", 900) "," E("kindle",
	        "Kindle", "I", 200) "," E("named", "Tab", "", 150) "]}";

	(void)state;
	setup(&db, 0);
	/* K is the current state's device: never a device position. */
	assert_int_equal(apply(&db, rec), 0);
	assert_string_equal(
	    progs(doc(&db)->devices, buf, sizeof(buf)), "kindle named");
	/* An older position of a known device is not taken, a newer is. */
	assert_int_equal(
	    apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	               "\"doc\":\"doc\",\"devices\":[" E("kindle-old", "Kindle",
	                   "I", 199) "," E("tab-new", "Tab", "", 151) "]}"),
	    0);
	assert_string_equal(
	    progs(doc(&db)->devices, buf, sizeof(buf)), "kindle tab-new");
	assert_int_equal(apply(&db, rec), 0);
	assert_string_equal(
	    progs(doc(&db)->devices, buf, sizeof(buf)), "kindle tab-new");
	db_release(&db);
}

static void
test_import_lists__devices_bounded(void **state)
{
	struct db db;
	struct buf rec = BUF_INIT;
	char buf[1024];
	int i;

	(void)state;
	setup(&db, 0);
	buf_adds(&rec, "{\"op\":\"import_lists\",\"user\":\"ann\",\"doc\":"
	               "\"doc\",\"devices\":[");
	for (i = 0; i < DB_MAX_DEVICES; i++)
		buf_addf(&rec,
		    "%s{\"percentage\":0,\"progress\":\"d%d\",\"device\":"
		    "\"D%d\",\"timestamp\":%d}",
		    i ? "," : "", i, i, 100 + i);
	buf_adds(&rec, "]}");
	assert_int_equal(apply(&db, rec.data), 0);
	assert_int_equal(doc(&db)->devices->n, DB_MAX_DEVICES);
	/* Full: older than every one is not taken; newer drops the oldest. */
	assert_int_equal(
	    apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\",\"doc\":"
	               "\"doc\",\"devices\":[" E("older", "O", "", 50) "]}"),
	    0);
	assert_int_equal(doc(&db)->devices->n, DB_MAX_DEVICES);
	assert_null(
	    strstr(progs(doc(&db)->devices, buf, sizeof(buf)), "older"));
	assert_int_equal(
	    apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\",\"doc\":"
	               "\"doc\",\"devices\":[" E("newer", "N", "", 999) "]}"),
	    0);
	assert_int_equal(doc(&db)->devices->n, DB_MAX_DEVICES);
	progs(doc(&db)->devices, buf, sizeof(buf));
	assert_non_null(strstr(buf, "newer"));
	assert_null(strstr(buf, "d0 "));
	buf_release(&rec);
	db_release(&db);
}

static void
test_import_lists__unknown_and_malformed(void **state)
{
	struct db db;
	char buf[256];

	(void)state;
	setup(&db, 0);
	/* A user or document that is gone: skipped, not an error. */
	assert_int_equal(
	    apply(&db, "{\"op\":\"import_lists\",\"user\":\"bob\","
	               "\"doc\":\"doc\",\"history\":[" E("x", "A", "", 1) "]}"),
	    0);
	assert_int_equal(apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	                            "\"doc\":\"nope\",\"history\":[" E(
	                                "x", "A", "", 1) "]}"),
	    0);
	assert_int_equal(
	    apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\"}"), -1);
	assert_int_equal(apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	                            "\"doc\":\"doc\",\"history\":{}}"),
	    -1);
	assert_int_equal(apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	                            "\"doc\":\"doc\",\"history\":[1]}"),
	    -1);
	assert_int_equal(
	    apply(&db, "{\"op\":\"import_lists\",\"user\":\"ann\","
	               "\"doc\":\"doc\",\"devices\":[{\"progress\":"
	               "\"p\",\"timestamp\":5}]}"),
	    -1);
	assert_string_equal(
	    progs(doc(&db)->history, buf, sizeof(buf)), "h100 h300");
	assert_null(doc(&db)->devices);
	db_release(&db);
}

/*
 * Through the file store: a long history, several records, replayed.
 */

#define LONG_N 3000

struct text {
	int called;
	enum store_result result;
	struct buf out;
};

static void
text_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct text *t = arg;

	t->called++;
	t->result = r;
	buf_reset(&t->out);
	if (text != NULL)
		buf_add(&t->out, text, len);
}

static void
run_text(
    struct store_env *e, struct text *t, bool dump, const char *in, size_t len)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->out);
	if (dump)
		store_admin_dump(e->st, text_cb, t);
	else
		store_admin_import(e->st, in, len, text_cb, t);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(t->called, 1);
	assert_int_equal(t->result, STORE_OK);
}

/* The dump's history of ann's doc: its number of entries, checked. */
static size_t
dumped_history(struct store_env *e)
{
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root, *v, *x;
	struct text t;
	size_t n = 0, i = 0;
	char want[32];

	run_text(e, &t, true, NULL, 0);
	root = json_parse(t.out.data, t.out.len, json_arena_alloc, &a, NULL);
	assert_non_null(root);
	v = json_get(json_get(json_get(root, "users"), "ann"), "history");
	v = json_get(json_get(v, "doc"), "document_history");
	assert_non_null(v);
	for (x = v->child; x != NULL; x = x->next, i++) {
		/* Oldest first, the newest LONG_N - 10 kept (history_limit). */
		snprintf(want, sizeof(want), "%zu-", i + 10);
		assert_true(str_has_prefix(json_get_str(x, "progress"), want));
		n++;
	}
	json_arena_release(&a);
	buf_release(&t.out);
	return n;
}

static void
test_import_lists__long_history_replayed(void **state)
{
	struct buf in = BUF_INIT;
	struct store_env e;
	struct text t;
	char pad[201];
	int i;

	(void)state;
	store_env_init(&e, "lists");
	store_env_set(&e, "store_history", "true");
	store_env_set(&e, "history_limit", "2990");
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	/* ~700 kB of history: more than one record of 256 kB. */
	buf_adds(&in, "{\"users\":{\"ann\":{\"password\":\"k\",\"documents\":{"
	              "\"doc\":{\"progress\":\"cur\",\"percentage\":0.5,"
	              "\"device\":\"D\",\"timestamp\":99999}},"
	              "\"history\":{\"doc\":{\"document_history\":[");
	for (i = 0; i < LONG_N; i++)
		buf_addf(&in,
		    "%s{\"progress\":\"%d-%s\",\"percentage\":0.1,\"device\":"
		    "\"D\",\"device_id\":\"\",\"timestamp\":%d}",
		    i ? "," : "", i, pad, 1000 + i);
	buf_adds(&in, "]}}}}}");

	store_env_open(&e);
	run_text(&e, &t, false, in.data, in.len);
	assert_non_null(strstr(t.out.data, "\"documents_added\":1"));
	buf_release(&t.out);
	assert_int_equal(dumped_history(&e), LONG_N - 10);
	/* Closed without a final snapshot: the journal is replayed. */
	store_env_close(&e, false);
	store_env_open(&e);
	assert_int_equal(dumped_history(&e), LONG_N - 10);
	/* Again: nothing changes. */
	run_text(&e, &t, false, in.data, in.len);
	assert_non_null(strstr(t.out.data, "\"documents_skipped\":1"));
	buf_release(&t.out);
	assert_int_equal(dumped_history(&e), LONG_N - 10);
	store_env_close(&e, true);
	store_env_release(&e);
	buf_release(&in);
}

/*
 * What an import applies live (each change from the struct it built) is
 * what a replay of its records builds: the dump after the import and the
 * dump after a start that replayed the journal are the same bytes. The
 * file holds a new user and one that exists, a document's device list and
 * history, metadata, its own title and a link.
 */
static void
test_import_lists__live_as_replayed(void **state)
{
	static const char in[] =
	    "{\"users\":{"
	    "\"ann\":{\"password\":\"k\",\"links\":{\"alias\":\"doc\"},"
	    "\"documents\":{\"doc\":{\"progress\":\"cur\",\"percentage\":"
	    "0.123456789,\"device\":\"Kobo\",\"device_id\":\"K\","
	    "\"timestamp\":5000,\"pretty_name\":\"Mine\",\"metadata\":{"
	    "\"filename\":\"a.epub\",\"title\":\"T\",\"authors\":\"A\"},"
	    "\"devices\":[{\"progress\":\"old\",\"percentage\":0.1,"
	    "\"device\":\"Kindle\",\"device_id\":\"L\",\"timestamp\":"
	    "4000}]}},"
	    "\"history\":{\"doc\":{\"document_history\":[{\"progress\":"
	    "\"h1\",\"percentage\":0.05,\"device\":\"Kobo\",\"device_id\":"
	    "\"K\",\"timestamp\":3000}]}}},"
	    "\"bob\":{\"password\":\"k\",\"documents\":{\"d2\":{"
	    "\"progress\":\"p\",\"percentage\":1,\"device\":\"X\","
	    "\"timestamp\":7000}}}}}";
	static const char bob[] =
	    "{\"users\":{\"bob\":{\"password\":\"k\",\"documents\":{"
	    "\"d2\":{\"progress\":\"q\",\"percentage\":0.5,\"device\":"
	    "\"Y\",\"timestamp\":6000}}}}}";
	struct store_env e;
	struct text t;
	char *live;

	(void)state;
	store_env_init(&e, "live");
	store_env_set(&e, "store_history", "true");
	store_env_open(&e);
	run_text(&e, &t, false, bob, sizeof(bob) - 1);
	buf_release(&t.out);
	run_text(&e, &t, false, in, sizeof(in) - 1);
	assert_non_null(strstr(t.out.data, "\"users_added\":1"));
	assert_non_null(strstr(t.out.data, "\"documents_updated\":1"));
	buf_release(&t.out);
	run_text(&e, &t, true, NULL, 0);
	live = buf_detach(&t.out, NULL);
	assert_non_null(strstr(live, "\"Kindle\""));
	assert_non_null(strstr(live, "\"h1\""));
	assert_non_null(strstr(live, "\"Mine\""));
	assert_non_null(strstr(live, "\"alias\""));
	/* Closed without a final snapshot: the journal is replayed. */
	store_env_close(&e, false);
	store_env_open(&e);
	run_text(&e, &t, true, NULL, 0);
	assert_string_equal(t.out.data, live);
	buf_release(&t.out);
	free(live);
	store_env_close(&e, true);
	store_env_release(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_import_lists__history_merged_by_timestamp),
	    cmocka_unit_test(test_import_lists__history_limit),
	    cmocka_unit_test(test_import_lists__history_needs_store_history),
	    cmocka_unit_test(test_import_lists__devices),
	    cmocka_unit_test(test_import_lists__devices_bounded),
	    cmocka_unit_test(test_import_lists__unknown_and_malformed),
	    cmocka_unit_test(test_import_lists__long_history_replayed),
	    cmocka_unit_test(test_import_lists__live_as_replayed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
