/*
 * test_change.c: the change module (change.c). Every kind is encoded to
 * exactly the journal record earlier versions wrote (old data directories
 * must replay unchanged), decodes back to the same change and re-encodes
 * to the same bytes; records as older versions wrote them (a push without
 * the history setting, or without the per-account limit; "web_config")
 * decode and apply as they did; malformed ones are refused and change
 * nothing. Progress policies: the "policy" record, a held push and a
 * promotion. Device names: "device_name" and "device_forget".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "change.h"
#include "db.h"
#include "json.h"

static const struct db_history now = {true, 100, 0};

/* Encode c, compare with want, decode it and encode it again. */
static void
round_trip(const struct change *c, const char *want)
{
	struct json_arena a = JSON_ARENA_INIT;
	struct buf out = BUF_INIT, again = BUF_INIT;
	struct change d;

	(void)change_encode(&out, c);
	assert_string_equal(out.data, want);
	assert_int_equal(
	    change_decode(&d,
	        json_parse(out.data, out.len, json_arena_alloc, &a, NULL), &now,
	        &a),
	    0);
	assert_int_equal(d.kind, c->kind);
	assert_true(str_eq(d.user, c->user));
	(void)change_encode(&again, &d);
	assert_string_equal(again.data, out.data);
	buf_release(&out);
	buf_release(&again);
	json_arena_release(&a);
}

static void
test_change__encode_every_kind(void **state)
{
	struct db_put dv = {STR_LIT("d1"), 0.25, 5, STR_LIT("p"), STR_LIT("x"),
	    STR_LIT("X"), STR_NULL, STR_NULL, STR_NULL, STR_NULL, 0};
	struct db_put h[2] = {dv, dv};
	struct change c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("alice");
	c.kind = CHANGE_CREATE;
	c.key = STR_LIT("$argon2id$k");
	round_trip(&c,
	    "{\"op\":\"create\",\"user\":\"alice\",\"key\":\"$argon2id$k\"}");
	c.kind = CHANGE_KEY;
	round_trip(
	    &c, "{\"op\":\"key\",\"user\":\"alice\",\"key\":\"$argon2id$k\"}");
	c.kind = CHANGE_DELETE;
	round_trip(&c, "{\"op\":\"delete\",\"user\":\"alice\"}");

	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("alice");
	c.kind = CHANGE_PUT;
	c.put.document = STR_LIT("d1");
	c.put.percentage = 0.5;
	c.put.timestamp = 1700000000;
	c.put.progress = STR_LIT("/body/p[3]");
	c.put.device = STR_LIT("Kobo");
	c.put.device_id = STR_LIT("K1");
	c.put.filename = STR_LIT("a.epub");
	c.put.title = STR_LIT("T \"q\"");
	c.put.authors = STR_LIT("A");
	c.history = (struct db_history){true, 100, 5};
	round_trip(&c,
	    "{\"op\":\"put\",\"user\":\"alice\",\"doc\":\"d1\","
	    "\"percentage\":0.5,\"timestamp\":1700000000,"
	    "\"progress\":\"/body/p[3]\",\"device\":\"Kobo\","
	    "\"device_id\":\"K1\",\"filename\":\"a.epub\","
	    "\"title\":\"T \\\"q\\\"\",\"authors\":\"A\",\"history\":100,"
	    "\"user_history\":5}");
	/* Absent fields are left out; no history: -1, no account limit. */
	c.put.device_id = c.put.filename = c.put.title = c.put.authors =
	    STR_NULL;
	c.history = (struct db_history){false, 0, 0};
	round_trip(&c, "{\"op\":\"put\",\"user\":\"alice\",\"doc\":\"d1\","
	               "\"percentage\":0.5,\"timestamp\":1700000000,"
	               "\"progress\":\"/body/p[3]\",\"device\":\"Kobo\","
	               "\"history\":-1}");

	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("alice");
	c.kind = CHANGE_IMPORT_LISTS;
	c.put.document = STR_LIT("d1");
	c.lists_devices = &dv;
	c.n_devices = 1;
	c.lists_history = h;
	c.n_history = 2;
	round_trip(&c,
	    "{\"op\":\"import_lists\",\"user\":\"alice\",\"doc\":\"d1\","
	    "\"devices\":[{\"percentage\":0.25,\"progress\":\"p\","
	    "\"device\":\"x\",\"device_id\":\"X\",\"timestamp\":5}],"
	    "\"history\":[{\"percentage\":0.25,\"progress\":\"p\","
	    "\"device\":\"x\",\"device_id\":\"X\",\"timestamp\":5},"
	    "{\"percentage\":0.25,\"progress\":\"p\",\"device\":\"x\","
	    "\"device_id\":\"X\",\"timestamp\":5}]}");

	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("alice");
	c.put.document = STR_LIT("d1");
	c.kind = CHANGE_WEB_RESTORE;
	c.put.percentage = 0.25;
	c.put.progress = STR_LIT("p");
	c.put.timestamp = 77;
	round_trip(&c, "{\"op\":\"web_restore\",\"user\":\"alice\","
	               "\"doc\":\"d1\",\"percentage\":0.25,\"progress\":\"p\","
	               "\"timestamp\":77}");
	c.kind = CHANGE_WEB_RENAME;
	c.name = STR_LIT("My book");
	round_trip(&c, "{\"op\":\"web_rename\",\"user\":\"alice\","
	               "\"doc\":\"d1\",\"name\":\"My book\"}");
	c.kind = CHANGE_WEB_DELETE;
	round_trip(
	    &c, "{\"op\":\"web_delete\",\"user\":\"alice\",\"doc\":\"d1\"}");
	c.kind = CHANGE_WEB_LINK;
	c.alias = STR_LIT("d2");
	round_trip(&c, "{\"op\":\"web_link\",\"user\":\"alice\","
	               "\"doc\":\"d1\",\"alias\":\"d2\"}");
	c.kind = CHANGE_WEB_UNLINK;
	round_trip(&c, "{\"op\":\"web_unlink\",\"user\":\"alice\","
	               "\"doc\":\"d1\",\"alias\":\"d2\"}");
	c.kind = CHANGE_WEB_CONFIG;
	round_trip(&c, "{\"op\":\"web_config\",\"user\":\"alice\"}");
	c.kind = CHANGE_WEB_ADMIN;
	c.admin = true;
	round_trip(
	    &c, "{\"op\":\"web_admin\",\"user\":\"alice\",\"admin\":true}");
	c.admin = false;
	round_trip(
	    &c, "{\"op\":\"web_admin\",\"user\":\"alice\",\"admin\":false}");
}

/* A long history is split: each record stops past the size limit. */
static void
test_change__import_lists_split(void **state)
{
	enum { N = 20000 };
	static struct db_put h[N];
	struct buf out = BUF_INIT;
	struct change c;
	size_t i, taken, total = 0, records = 0;

	(void)state;
	for (i = 0; i < N; i++)
		h[i] = (struct db_put){STR_LIT("d"), 0.5, (int64_t)i,
		    STR_LIT("/body/DocFragment[12]/body/p[3]/text().0"),
		    STR_LIT("Kobo"), STR_LIT("K1"), STR_NULL, STR_NULL,
		    STR_NULL, STR_NULL, 0};
	memset(&c, 0, sizeof(c));
	c.kind = CHANGE_IMPORT_LISTS;
	c.user = STR_LIT("u");
	c.put.document = STR_LIT("d");
	while (total < N) {
		buf_reset(&out);
		c.lists_history = h + total;
		c.n_history = N - total;
		taken = change_encode(&out, &c);
		assert_true(taken > 0);
		assert_true(out.len < CHANGE_LISTS_RECORD_MAX + 200);
		total += taken;
		records++;
	}
	assert_true(records > 1);
	buf_release(&out);
}

static int
replay(struct db *db, const struct db_history *h, const char *rec)
{
	return change_replay(db, h, rec, strlen(rec));
}

static const struct db_doc *
doc(const struct db *db, const char *user, const char *id)
{
	struct db_user *u = db_user_find(db, str_from(user));

	return u != NULL ? db_doc_find(u, str_from(id)) : NULL;
}

#define PUT(ts, hist)                                                          \
	"{\"op\":\"put\",\"user\":\"a\",\"doc\":\"d\",\"percentage\":0.5,"     \
	"\"timestamp\":" #ts ",\"progress\":\"p\",\"device\":\"x\"" hist "}"

/* Records as older versions wrote them apply as they did. */
static void
test_change__old_records(void **state)
{
	struct db db;
	struct db_history limited = {true, 0, 1};
	const struct db_doc *d;

	(void)state;
	db_init(&db);
	assert_int_equal(
	    replay(
	        &db, &now, "{\"op\":\"create\",\"user\":\"a\",\"key\":\"k\"}"),
	    0);
	/* No "history" (before it was recorded): the replaying process's. */
	assert_int_equal(replay(&db, &now, PUT(1, "")), 0);
	assert_int_equal(replay(&db, &now, PUT(2, "")), 0);
	d = doc(&db, "a", "d");
	assert_non_null(d);
	assert_int_equal(db_doc_history(d), 1);
	/* "history": -1, the server kept none, whatever this process says. */
	assert_int_equal(replay(&db, &now, PUT(3, ",\"history\":-1")), 0);
	assert_int_equal(db_doc_history(doc(&db, "a", "d")), 1);
	/* "history": 2 bounds the document to two entries. */
	assert_int_equal(replay(&db, &now, PUT(4, ",\"history\":2")), 0);
	assert_int_equal(replay(&db, &now, PUT(5, ",\"history\":2")), 0);
	assert_int_equal(db_doc_history(doc(&db, "a", "d")), 2);
	/*
	 * Without "user_history" (before the per-account limit, or none):
	 * no account limit, even where the replaying process has one.
	 */
	assert_int_equal(replay(&db, &limited, PUT(6, ",\"history\":0")), 0);
	assert_int_equal(db_doc_history(doc(&db, "a", "d")), 3);
	/* With it: the account keeps at most that many. */
	assert_int_equal(
	    replay(&db, &now, PUT(7, ",\"history\":0,\"user_history\":3")), 0);
	assert_int_equal(db_doc_history(doc(&db, "a", "d")), 3);
	assert_int_equal(doc(&db, "a", "d")->timestamp, 7);
	/* "web_config" (an old journal's): understood, changes nothing. */
	assert_int_equal(
	    replay(&db, &now, "{\"op\":\"web_config\",\"user\":\"a\"}"), 0);
	/* Changes to a user that is gone are skipped. */
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"web_rename\",\"user\":\"b\",\"doc\":"
	                     "\"d\",\"name\":\"n\"}"),
	    0);
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"web_admin\",\"user\":\"a\",\"admin\":"
	                     "true}"),
	    0);
	assert_true(db_user_find(&db, STR_LIT("a"))->admin);
	assert_int_equal(
	    replay(&db, &now, "{\"op\":\"delete\",\"user\":\"a\"}"), 0);
	assert_null(db_user_find(&db, STR_LIT("a")));
	assert_int_equal(db.ndocs, 0);
	db_release(&db);
}

/* A restore goes to the history even when the setting keeps none. */
static void
test_change__restore_without_history(void **state)
{
	struct db db;
	struct db_history none = {false, 0, 0};
	const struct db_doc *d;

	(void)state;
	db_init(&db);
	assert_int_equal(
	    replay(
	        &db, &none, "{\"op\":\"create\",\"user\":\"a\",\"key\":\"k\"}"),
	    0);
	assert_int_equal(replay(&db, &none, PUT(1, ",\"history\":-1")), 0);
	assert_int_equal(replay(&db, &none,
	                     "{\"op\":\"web_restore\",\"user\":\"a\",\"doc\":"
	                     "\"d\",\"percentage\":0.1,\"progress\":\"q\","
	                     "\"timestamp\":9}"),
	    0);
	d = doc(&db, "a", "d");
	assert_int_equal(d->timestamp, 9);
	assert_string_equal(db_doc_field(d, DB_F_DEVICE), "kosyncd web");
	assert_int_equal(db_doc_history(d), 1);
	assert_int_equal(d->history->e[0]->timestamp, 1);
	db_release(&db);
}

/*
 * Device credentials: each kind round-trips and applies; the bound drops
 * the oldest revoked credential to make room, and refuses when none is.
 */
static void
test_change__devices(void **state)
{
	struct db db;
	struct db_user *u;
	struct change c;
	char rec[160];
	int i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("a");
	c.kind = CHANGE_DEVICE_ADD;
	c.dev_id = STR_LIT("k3x9");
	c.name = STR_LIT("Kobo");
	c.key = STR_LIT("$argon2id$d");
	c.put.timestamp = 7;
	round_trip(&c, "{\"op\":\"device_add\",\"user\":\"a\",\"id\":"
	               "\"k3x9\",\"label\":\"Kobo\",\"key\":\"$argon2id$d\","
	               "\"created\":7}");
	c.kind = CHANGE_DEVICE_RENAME;
	round_trip(&c, "{\"op\":\"device_rename\",\"user\":\"a\",\"id\":"
	               "\"k3x9\",\"label\":\"Kobo\"}");
	c.kind = CHANGE_DEVICE_REVOKE;
	round_trip(&c, "{\"op\":\"device_revoke\",\"user\":\"a\",\"id\":"
	               "\"k3x9\"}");
	c.kind = CHANGE_DEVICES_ONLY;
	c.admin = true;
	round_trip(&c, "{\"op\":\"devices_only\",\"user\":\"a\",\"on\":true}");

	db_init(&db);
	assert_int_equal(
	    replay(
	        &db, &now, "{\"op\":\"create\",\"user\":\"a\",\"key\":\"k\"}"),
	    0);
	u = db_user_find(&db, STR_LIT("a"));
	for (i = 0; i < DB_MAX_DEVCREDS; i++) {
		snprintf(rec, sizeof(rec),
		    "{\"op\":\"device_add\",\"user\":\"a\",\"id\":\"i%d\","
		    "\"label\":\"L\",\"key\":\"$k\",\"created\":%d}",
		    i, i);
		assert_int_equal(replay(&db, &now, rec), 0);
	}
	assert_int_equal(u->ndevcreds, DB_MAX_DEVCREDS);
	/* Full of live credentials: nothing added. */
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"device_add\",\"user\":\"a\",\"id\":"
	                     "\"new\",\"label\":\"L\",\"key\":\"$k\","
	                     "\"created\":1}"),
	    0);
	assert_null(db_devcred_find(u, STR_LIT("new")));
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"device_revoke\",\"user\":\"a\","
	                     "\"id\":\"i3\"}"),
	    0);
	assert_null(db_devcred_find(u, STR_LIT("i3"))->key);
	assert_int_equal(db_devcred_live(u), DB_MAX_DEVCREDS - 1);
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"device_add\",\"user\":\"a\",\"id\":"
	                     "\"new\",\"label\":\"L\",\"key\":\"$k\","
	                     "\"created\":1}"),
	    0);
	assert_null(db_devcred_find(u, STR_LIT("i3")));
	assert_non_null(db_devcred_find(u, STR_LIT("new")));
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"device_rename\",\"user\":\"a\","
	                     "\"id\":\"new\",\"label\":\"Boox\"}"),
	    0);
	assert_string_equal(db_devcred_find(u, STR_LIT("new"))->label, "Boox");
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"devices_only\",\"user\":\"a\","
	                     "\"on\":true}"),
	    0);
	assert_true(u->devices_only);
	/* A key change keeps them. */
	assert_int_equal(
	    replay(&db, &now, "{\"op\":\"key\",\"user\":\"a\",\"key\":\"k2\"}"),
	    0);
	assert_int_equal(u->ndevcreds, DB_MAX_DEVCREDS);
	db_release(&db);
}

/*
 * Events out: "events" records carry the webhooks' text or the feed's
 * token, round-trip, apply, replace, and an empty text removes them; a
 * deletion of the account drops them.
 */
static void
test_change__events(void **state)
{
	struct db db;
	struct db_user *u;
	struct change c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("a");
	c.kind = CHANGE_EVENTS;
	c.events = STR_LIT("[{\"id\":\"x\"}]");
	round_trip(&c, "{\"op\":\"events\",\"user\":\"a\",\"webhooks\":"
	               "\"[{\\\"id\\\":\\\"x\\\"}]\"}");
	c.admin = true;
	c.events = STR_LIT("0123abcd");
	round_trip(&c, "{\"op\":\"events\",\"user\":\"a\",\"feed\":"
	               "\"0123abcd\"}");

	db_init(&db);
	assert_int_equal(
	    replay(
	        &db, &now, "{\"op\":\"create\",\"user\":\"a\",\"key\":\"k\"}"),
	    0);
	u = db_user_find(&db, STR_LIT("a"));
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"events\",\"user\":\"a\","
	                     "\"webhooks\":\"[1]\"}"),
	    0);
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"events\",\"user\":\"a\","
	                     "\"feed\":\"tok\"}"),
	    0);
	assert_string_equal(u->webhooks, "[1]");
	assert_string_equal(u->feed, "tok");
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"events\",\"user\":\"a\","
	                     "\"webhooks\":\"[2]\"}"),
	    0);
	assert_string_equal(u->webhooks, "[2]");
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"events\",\"user\":\"a\","
	                     "\"feed\":\"\"}"),
	    0);
	assert_null(u->feed);
	assert_string_equal(u->webhooks, "[2]");
	/* Neither member, or not a string: refused. */
	assert_int_not_equal(
	    replay(&db, &now, "{\"op\":\"events\",\"user\":\"a\"}"), 0);
	assert_int_not_equal(replay(&db, &now,
	                         "{\"op\":\"events\",\"user\":\"a\","
	                         "\"feed\":1}"),
	    0);
	db_release(&db);
}

/* Malformed records are refused and change nothing. */
/*
 * Progress policies (docs/policy.md): "policy" round-trips and applies; a
 * held push ("held") round-trips, joins the history marked and leaves the
 * current position; a push without "held" (an older journal) applies as
 * it did; "web_promote" makes the held push current with its device and
 * marks it.
 */
static void
test_change__policy(void **state)
{
	struct db_put held = {STR_LIT("d"), 0.2, 7, STR_LIT("q"),
	    STR_LIT("Kobo A"), STR_LIT("devA"), STR_NULL, STR_NULL, STR_NULL,
	    STR_NULL, DB_HELD_GUARD};
	struct db db;
	struct db_user *u;
	const struct db_doc *d;
	struct change c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("a");
	c.kind = CHANGE_POLICY;
	c.policy = DB_POLICY_GUARD;
	round_trip(&c, "{\"op\":\"policy\",\"user\":\"a\",\"policy\":"
	               "\"guard\"}");
	c.kind = CHANGE_PUT;
	c.put = held;
	c.history = now;
	round_trip(&c, "{\"op\":\"put\",\"user\":\"a\",\"doc\":\"d\","
	               "\"percentage\":0.2,\"timestamp\":7,\"progress\":\"q\","
	               "\"device\":\"Kobo A\",\"device_id\":\"devA\","
	               "\"history\":100,\"held\":2}");
	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("a");
	c.kind = CHANGE_WEB_PROMOTE;
	c.put = held;
	c.put.held = 0;
	c.put.timestamp = 9;
	c.at = 7;
	round_trip(&c, "{\"op\":\"web_promote\",\"user\":\"a\",\"doc\":"
	               "\"d\",\"percentage\":0.2,\"progress\":\"q\","
	               "\"device\":\"Kobo A\",\"device_id\":\"devA\","
	               "\"at\":7,\"timestamp\":9}");

	db_init(&db);
	assert_int_equal(
	    replay(
	        &db, &now, "{\"op\":\"create\",\"user\":\"a\",\"key\":\"k\"}"),
	    0);
	u = db_user_find(&db, STR_LIT("a"));
	assert_int_equal(u->policy, DB_POLICY_LATEST);
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"policy\",\"user\":\"a\","
	                     "\"policy\":\"furthest\"}"),
	    0);
	assert_int_equal(u->policy, DB_POLICY_FURTHEST);
	assert_int_equal(replay(&db, &now, PUT(5, "")), 0);
	/* Held: history only, marked; the current position stays. */
	assert_int_equal(replay(&db, &now, PUT(6, ",\"held\":1")), 0);
	d = doc(&db, "a", "d");
	assert_int_equal(d->timestamp, 5);
	assert_int_equal(db_doc_history(d), 1);
	assert_int_equal(d->history->e[0]->timestamp, 6);
	assert_int_equal(d->history->e[0]->held, DB_HELD_FURTHEST);
	/* Without store_history too, within the limit in force. */
	assert_int_equal(
	    replay(&db, &now, PUT(7, ",\"history\":-1,\"held\":2")), 0);
	d = doc(&db, "a", "d");
	assert_int_equal(d->timestamp, 5);
	assert_int_equal(db_doc_history(d), 2);
	assert_int_equal(d->history->e[1]->held, DB_HELD_GUARD);
	/* An older journal's push has no "held": current as before. */
	assert_int_equal(replay(&db, &now, PUT(8, "")), 0);
	d = doc(&db, "a", "d");
	assert_int_equal(d->timestamp, 8);
	assert_int_equal(d->history->e[2]->held, 0);
	/* Promotion of the held one: current with its device, marked. */
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"web_promote\",\"user\":\"a\","
	                     "\"doc\":\"d\",\"percentage\":0.5,\"progress\":"
	                     "\"p\",\"device\":\"x\",\"device_id\":\"\","
	                     "\"at\":6,\"timestamp\":10}"),
	    0);
	d = doc(&db, "a", "d");
	assert_int_equal(d->timestamp, 10);
	assert_string_equal(db_doc_field(d, DB_F_DEVICE), "x");
	assert_int_equal(
	    d->history->e[0]->held, DB_HELD_FURTHEST | DB_HELD_PROMOTED);
	assert_int_equal(d->history->e[3]->timestamp, 8);
	db_release(&db);
}

/*
 * Device names (db.h db_devname): "device_name" and "device_forget"
 * round-trip; applied, a name and a forget mark each keep the other, an
 * empty name with no mark removes the entry, and past DB_DEVNAMES_MAX no
 * new device is added. A deleted account takes its names along.
 */
static void
test_change__device_names(void **state)
{
	struct db db;
	struct db_user *u;
	const struct db_devname *e;
	struct change c;
	char rec[128];
	int i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.user = STR_LIT("a");
	c.kind = CHANGE_DEVICE_NAME;
	c.dev_id = STR_LIT("abc");
	c.name = STR_LIT("Bedside \"Kobo\"");
	round_trip(&c, "{\"op\":\"device_name\",\"user\":\"a\",\"device\":"
	               "\"abc\",\"name\":\"Bedside \\\"Kobo\\\"\"}");
	c.name = STR_LIT("");
	round_trip(&c, "{\"op\":\"device_name\",\"user\":\"a\",\"device\":"
	               "\"abc\",\"name\":\"\"}");
	c.kind = CHANGE_DEVICE_FORGET;
	c.at = 1700000000;
	round_trip(&c, "{\"op\":\"device_forget\",\"user\":\"a\","
	               "\"device\":\"abc\",\"at\":1700000000}");

	db_init(&db);
	assert_int_equal(
	    replay(
	        &db, &now, "{\"op\":\"create\",\"user\":\"a\",\"key\":\"k\"}"),
	    0);
	u = db_user_find(&db, STR_LIT("a"));
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"device_name\",\"user\":\"a\","
	                     "\"device\":\"abc\",\"name\":\"K\"}"),
	    0);
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"device_forget\",\"user\":\"a\","
	                     "\"device\":\"abc\",\"at\":9}"),
	    0);
	assert_int_equal(u->ndevnames, 1);
	e = db_devname_find(u, STR_LIT("abc"));
	assert_non_null(e);
	assert_string_equal(e->name, "K");
	assert_int_equal(e->forgotten, 9);
	/* An empty name keeps the mark; the entry stays. */
	assert_int_equal(replay(&db, &now,
	                     "{\"op\":\"device_name\",\"user\":\"a\","
	                     "\"device\":\"abc\",\"name\":\"\"}"),
	    0);
	e = db_devname_find(u, STR_LIT("abc"));
	assert_non_null(e);
	assert_string_equal(e->name, "");
	assert_int_equal(e->forgotten, 9);
	/* Neither name nor mark: gone. */
	assert_int_equal(db_devname_set(u, STR_LIT("abc"), STR_NULL, 0), 0);
	assert_null(db_devname_find(u, STR_LIT("abc")));
	assert_int_equal(u->ndevnames, 0);
	/* The bound. */
	for (i = 0; i < DB_DEVNAMES_MAX + 1; i++) {
		snprintf(rec, sizeof(rec),
		    "{\"op\":\"device_name\",\"user\":\"a\",\"device\":"
		    "\"d%d\",\"name\":\"n\"}",
		    i);
		assert_int_equal(replay(&db, &now, rec), 0);
	}
	assert_int_equal(u->ndevnames, DB_DEVNAMES_MAX);
	assert_null(db_devname_find(u, STR_LIT("d100")));
	assert_int_equal(db_devname_set(u, STR_LIT("d0"), STR_LIT("m"), -1), 0);
	assert_string_equal(db_devname_find(u, STR_LIT("d0"))->name, "m");
	assert_int_equal(
	    replay(&db, &now, "{\"op\":\"delete\",\"user\":\"a\"}"), 0);
	assert_null(db_user_find(&db, STR_LIT("a")));
	db_release(&db);
}

static void
test_change__malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"op\":\"put\"}",
	    "{\"user\":\"a\"}",
	    "{\"op\":\"nope\",\"user\":\"a\"}",
	    "{\"op\":\"create\",\"user\":\"a\"}",
	    "{\"op\":\"key\",\"user\":\"a\",\"key\":1}",
	    "{\"op\":\"put\",\"user\":\"a\",\"percentage\":1,\"timestamp\":1}",
	    "{\"op\":\"put\",\"user\":\"a\",\"doc\":\"d\",\"percentage\":\"1\","
	    "\"timestamp\":1}",
	    "{\"op\":\"put\",\"user\":\"a\",\"doc\":\"d\",\"percentage\":1}",
	    "{\"op\":\"web_admin\",\"user\":\"a\",\"admin\":1}",
	    "{\"op\":\"web_admin\",\"user\":\"a\"}",
	    "{\"op\":\"devices_only\",\"user\":\"a\"}",
	    "{\"op\":\"policy\",\"user\":\"a\"}",
	    "{\"op\":\"device_name\",\"user\":\"a\",\"device\":\"x\"}",
	    "{\"op\":\"device_name\",\"user\":\"a\",\"name\":\"x\"}",
	    "{\"op\":\"device_name\",\"user\":\"a\",\"device\":\"\","
	    "\"name\":\"x\"}",
	    "{\"op\":\"device_forget\",\"user\":\"a\",\"device\":\"x\"}",
	    "{\"op\":\"device_forget\",\"user\":\"a\",\"device\":\"x\","
	    "\"at\":\"1\"}",
	    "{\"op\":\"policy\",\"user\":\"a\",\"policy\":\"sideways\"}",
	    "{\"op\":\"web_promote\",\"user\":\"a\",\"doc\":\"d\","
	    "\"percentage\":1,\"timestamp\":1}",
	    "{\"op\":\"device_add\",\"user\":\"a\",\"id\":\"x\","
	    "\"label\":\"l\",\"key\":\"k\"}",
	    "{\"op\":\"device_rename\",\"user\":\"a\",\"id\":\"x\"}",
	    "{\"op\":\"device_revoke\",\"user\":\"a\"}",
	    "{\"op\":\"web_link\",\"user\":\"a\",\"doc\":\"d\"}",
	    "{\"op\":\"web_rename\",\"user\":\"a\"}",
	    "{\"op\":\"web_restore\",\"user\":\"a\",\"doc\":\"d\","
	    "\"percentage\":1}",
	    "{\"op\":\"import_lists\",\"user\":\"a\",\"doc\":\"d\","
	    "\"history\":{}}",
	    "{\"op\":\"import_lists\",\"user\":\"a\",\"doc\":\"d\","
	    "\"devices\":[1]}",
	    "{\"op\":\"import_lists\",\"user\":\"a\",\"doc\":\"d\","
	    "\"devices\":[{\"percentage\":1}]}",
	};
	struct db db;
	size_t i;

	(void)state;
	db_init(&db);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(replay(&db, &now, bad[i]), -1);
		assert_int_equal(db.users.n, 0);
	}
	db_release(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_change__encode_every_kind),
	    cmocka_unit_test(test_change__import_lists_split),
	    cmocka_unit_test(test_change__old_records),
	    cmocka_unit_test(test_change__restore_without_history),
	    cmocka_unit_test(test_change__devices),
	    cmocka_unit_test(test_change__events),
	    cmocka_unit_test(test_change__policy),
	    cmocka_unit_test(test_change__device_names),
	    cmocka_unit_test(test_change__malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
