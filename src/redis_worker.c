/*
 * redis_worker.c: the operations of the Redis backend that run on a
 * worker thread: administration (store.h store_admin_*: dump, import, user
 * list, key change and deletion without credentials) and the web
 * interface's reads and changes (store_web_*, at the end of the file).
 *
 * Each runs on libuv's thread pool with a synchronous hiredis connection
 * of its own (same address, password and database as the backend), so a
 * long walk over the keyspace never stalls the loop, and reports on the
 * loop when done. Nothing here is on a client's path.
 *
 * The dump reads the official keys and ours (store_redis.c lists them)
 * into the tables of db.c and writes them with the snapshot writer, so it
 * is exactly a database.json of our schema; the import parses such a text
 * (any KOsync schema too) with the snapshot parser and merges it into
 * Redis: users that do not exist are added with their key as the file has
 * it (an argon2id hash, or a plain key, which is hashed first when
 * redis_hash_keys is on), documents are added when unknown and replaced
 * when the imported timestamp is newer, otherwise skipped, their history
 * and device positions merged either way (store_merge.h): each document is
 * loaded into a scratch table, merged there and written back in
 * MULTI/EXEC under WATCH, as the web interface's changes are.
 *
 * Walks use SCAN, never KEYS. A page of a user's documents for the web
 * interface reads every document's timestamp (pipelined), then only the
 * page's documents in full.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "addr.h"
#include "change.h"
#include "config.h"
#include "db.h"
#include "json.h"
#include "keyhash.h"
#include "luascripts.h"
#include "policy.h"
#include "redis_format.h"
#include "redis_worker.h"
#include "snapshot.h"
#include "store_merge.h"
#include "userlist.h"
#include "webops.h"
#include "xmalloc.h"

#define RA_TIMEOUT_S 10 /* a command slower than this fails the job */
#define RA_SCAN_COUNT "1000"

/* Change a key without the old one; 0 when there is no such user. */
static const char ra_setkey_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* Delete KEYS[2] while the tombstone KEYS[1] is there, else -1. */
static const char ra_purge_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "redis.call('DEL', KEYS[2])\n"
    "return 1\n";

/* Delete without the key: as the client's deletion, tombstone first. */
static const char ra_delete_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('SET', KEYS[2], '1')\n"
    "return 1\n";

enum ra_kind {
	RA_DUMP,
	RA_IMPORT,
	RA_LIST,
	RA_SET_KEY,
	RA_DELETE,
	RA_WEB_DOCS,
	RA_WEB_CHANGE,
	RA_POLICY
};

struct ra_job {
	uv_work_t work;
	enum ra_kind kind;
	const struct config *cfg; /* read only, by the worker too */
	char *user;
	size_t user_len;
	char *key; /* new key (set key) */
	size_t key_len;
	char *text; /* import input, web change record */
	size_t len;
	char *doc;              /* web documents: the one asked for, or NULL */
	bool history;           /* web documents */
	bool paged;             /* the user list: page holds a page */
	struct store_page page; /* page.id in page_id */
	char *page_id;
	struct store_web_change ch; /* web change (strings in chstr) */
	char *chstr;
	int64_t timestamp; /* web change: the server time it was made */
	struct buf out;    /* text reply, or the error */
	enum store_result result;
	store_text_cb *tcb;
	store_cb *cb;
	void *arg;
	void (*finished)(void *ctx);
	void *ctx;
};

/*
 * Connection and commands (worker thread)
 */

static redisContext *
ra_connect(const struct config *cfg, struct buf *err)
{
	struct timeval tv = {2, 0};
	redisContext *c;
	redisReply *r;
	char *host = NULL, *path = NULL;
	const char *why;
	int port = 0;

	if (addr_parse_connect(cfg->redis_address, &host, &port, &path, &why) !=
	    0) {
		buf_addf(err, "invalid redis_address '%s'", cfg->redis_address);
		return NULL;
	}
	c = path != NULL ? redisConnectUnixWithTimeout(path, tv)
	                 : redisConnectWithTimeout(host, port, tv);
	free(host);
	free(path);
	if (c == NULL || c->err) {
		buf_addf(err, "cannot connect to redis at %s: %s",
		    cfg->redis_address, c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	tv.tv_sec = RA_TIMEOUT_S;
	redisSetTimeout(c, tv);
	if (cfg->redis_password != NULL && cfg->redis_password[0] != '\0') {
		r = redisCommand(c, "AUTH %s", cfg->redis_password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			buf_addf(err, "redis AUTH failed: %s",
			    r ? r->str : c->errstr);
			freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	r = redisCommand(c, "SELECT %u", cfg->redis_db);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		buf_addf(err, "redis SELECT %u failed: %s", cfg->redis_db,
		    r ? r->str : c->errstr);
		freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

redisContext *
redis_worker_connect(const struct config *cfg, struct buf *err)
{
	return ra_connect(cfg, err);
}

/* A reply, or NULL with the error in err (an error reply counts). */
static redisReply *
ra_cmd(redisContext *c, struct buf *err, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r = redisCommandArgv(c, argc, argv, lens);

	if (r == NULL) {
		buf_addf(err, "redis: %s", c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		buf_addf(err, "redis: %s", r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* argv helper: set argv[i] to s (NUL-terminated). */
static void
ra_arg(const char **argv, size_t *lens, int i, const char *s)
{
	argv[i] = s;
	lens[i] = strlen(s);
}

/* "[kosyncd:]user:<user><what>[<doc>]" */
static void
ra_key(struct buf *b, bool ours, const char *user, const char *what,
    const char *doc)
{
	buf_reset(b);
	buf_addf(b, "%suser:%s%s%s", ours ? "kosyncd:" : "", user, what,
	    doc != NULL ? doc : "");
}

/* Run argv; 0 when the reply is not an error (freed), else -1. */
static int
ra_do(redisContext *c, struct buf *err, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r = ra_cmd(c, err, argc, argv, lens);

	freeReplyObject(r);
	return r != NULL ? 0 : -1;
}

/*
 * SCAN the keyspace for pattern; fn(key, len, arg) for each key. Returns 0
 * or -1.
 */
static int
ra_scan(redisContext *c, const char *pattern,
    void (*fn)(const char *k, size_t len, void *arg), void *arg,
    struct buf *err)
{
	char cursor[32] = "0";
	const char *argv[6];
	size_t lens[6], i;
	redisReply *r;

	do {
		ra_arg(argv, lens, 0, "SCAN");
		ra_arg(argv, lens, 1, cursor);
		ra_arg(argv, lens, 2, "MATCH");
		ra_arg(argv, lens, 3, pattern);
		ra_arg(argv, lens, 4, "COUNT");
		ra_arg(argv, lens, 5, RA_SCAN_COUNT);
		if ((r = ra_cmd(c, err, 6, argv, lens)) == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof(cursor) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			buf_adds(err, "redis: unexpected reply to SCAN");
			freeReplyObject(r);
			return -1;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		for (i = 0; i < r->element[1]->elements; i++) {
			redisReply *e = r->element[1]->element[i];

			if (e->type == REDIS_REPLY_STRING)
				fn(e->str, e->len, arg);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

/*
 * The dump
 */

/* One official key: user:<u>:key or user:<u>:document:<d>. */
struct ra_name {
	char *user;
	char *doc; /* NULL for the key */
};

struct ra_names {
	struct ra_name *v;
	size_t n, cap;
};

static void
ra_collect(const char *k, size_t len, void *arg)
{
	struct ra_names *names = arg;
	const char *p = k + 5, *end = k + len, *colon;
	struct ra_name nm;

	colon = memchr(p, ':', (size_t)(end - p));
	if (len < 5 || memcmp(k, "user:", 5) != 0 || colon == NULL ||
	    colon == p)
		return;
	nm.user = xmemdup0(p, (size_t)(colon - p));
	p = colon + 1;
	if ((size_t)(end - p) == 3 && memcmp(p, "key", 3) == 0) {
		nm.doc = NULL;
	} else if ((size_t)(end - p) > 9 && memcmp(p, "document:", 9) == 0 &&
	           memchr(p + 9, ':', (size_t)(end - p - 9)) == NULL) {
		nm.doc = xmemdup0(p + 9, (size_t)(end - p - 9));
	} else {
		free(nm.user);
		return;
	}
	if (names->n == names->cap) {
		names->cap = names->cap ? 2 * names->cap : 256;
		names->v = xrealloc(names->v, names->cap * sizeof(*names->v));
	}
	names->v[names->n++] = nm;
}

/* Keys first, then documents; by user, then document. */
static int
ra_name_cmp(const void *a, const void *b)
{
	const struct ra_name *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	if (c != 0)
		return c;
	if (x->doc == NULL || y->doc == NULL)
		return (x->doc != NULL) - (y->doc != NULL);
	return strcmp(x->doc, y->doc);
}

/* Memory for json_parse, freed in one go. */
struct ra_arena {
	void **v;
	size_t n, cap;
};

static void *
ra_alloc(void *ctx, size_t size)
{
	struct ra_arena *a = ctx;

	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	return a->v[a->n++] = xcalloc(1, size ? size : 1);
}

static void
ra_arena_free(struct ra_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static struct str
ra_member(const struct json_value *o, const char *name)
{
	const struct json_value *v = json_get(o, name);

	return v != NULL && v->type == JSON_STRING ? v->text : str_from("");
}

/*
 * A history entry's progress-policy marks (docs/policy.md): "held"
 * ("furthest" or "guard", put.lua) and "promoted" (true).
 */
static void
ra_entry_held(const struct json_value *o, struct db_put *p)
{
	const struct json_value *v = json_get(o, "promoted");
	struct str held = json_get_str(o, "held");

	if (str_eqs(held, "furthest"))
		p->held = DB_HELD_FURTHEST;
	else if (str_eqs(held, "guard"))
		p->held = DB_HELD_GUARD;
	if (p->held != 0 && v != NULL && v->type == JSON_TRUE)
		p->held |= DB_HELD_PROMOTED;
}

static void
ra_entry_held_json(struct json_out *o, const struct db_entry *e)
{
	if (e->held == 0)
		return;
	json_key(o, "held");
	json_str(o, policy_held_name(e->held));
	if (e->held & DB_HELD_PROMOTED) {
		json_key(o, "promoted");
		json_bool(o, true);
	}
}

/* A state (history entry or device position) stored as JSON by us. */
static int
ra_entry(const char *text, size_t len, struct db_put *p, struct ra_arena *a)
{
	const struct json_value *o, *v;
	double d;

	o = json_parse(text, len, ra_alloc, a, NULL);
	if (o == NULL || o->type != JSON_OBJECT)
		return -1;
	memset(p, 0, sizeof(*p));
	p->progress = ra_member(o, "progress");
	p->device = ra_member(o, "device");
	p->device_id = ra_member(o, "device_id");
	v = json_get(o, "percentage");
	p->percentage = v != NULL && json_number(v, true, &d) == 0 ? d : 0;
	v = json_get(o, "timestamp");
	p->timestamp =
	    v != NULL && json_number(v, true, &d) == 0 ? (int64_t)d : 0;
	ra_entry_held(o, p);
	return 0;
}

static struct str
ra_str(const redisReply *e)
{
	if (e == NULL || e->type != REDIS_REPLY_STRING)
		return STR_NULL;
	return (struct str){e->str, e->len};
}

/* Load one document of u (and our keys of it) into db. */
static int
ra_dump_doc(redisContext *c, struct db *db, struct db_user *u,
    const struct ra_name *nm, struct buf *err)
{
	struct buf k[4];
	redisReply *r[4] = {NULL, NULL, NULL, NULL};
	const char *argv[8];
	size_t lens[8], i;
	struct db_put p;
	struct db_doc *d;
	struct ra_arena a = {NULL, 0, 0};
	char *end;
	int rc = -1;

	for (i = 0; i < 4; i++)
		buf_init(&k[i]);
	buf_addf(&k[0], "user:%s:document:%s", nm->user, nm->doc);
	buf_addf(&k[1], "kosyncd:user:%s:meta:%s", nm->user, nm->doc);
	buf_addf(&k[2], "kosyncd:user:%s:devices:%s", nm->user, nm->doc);
	buf_addf(&k[3], "kosyncd:user:%s:history:%s", nm->user, nm->doc);
	/* One round trip: the four reads pipelined. */
	ra_arg(argv, lens, 0, "HMGET");
	argv[1] = k[0].data;
	lens[1] = k[0].len;
	ra_arg(argv, lens, 2, "percentage");
	ra_arg(argv, lens, 3, "progress");
	ra_arg(argv, lens, 4, "device");
	ra_arg(argv, lens, 5, "device_id");
	ra_arg(argv, lens, 6, "timestamp");
	redisAppendCommandArgv(c, 7, argv, lens);
	argv[1] = k[1].data;
	lens[1] = k[1].len;
	ra_arg(argv, lens, 2, "filename");
	ra_arg(argv, lens, 3, "title");
	ra_arg(argv, lens, 4, "authors");
	ra_arg(argv, lens, 5, "pretty_name");
	redisAppendCommandArgv(c, 6, argv, lens);
	ra_arg(argv, lens, 0, "HVALS");
	argv[1] = k[2].data;
	lens[1] = k[2].len;
	redisAppendCommandArgv(c, 2, argv, lens);
	ra_arg(argv, lens, 0, "LRANGE");
	argv[1] = k[3].data;
	lens[1] = k[3].len;
	ra_arg(argv, lens, 2, "0");
	ra_arg(argv, lens, 3, "-1");
	redisAppendCommandArgv(c, 4, argv, lens);
	for (i = 0; i < 4; i++) {
		void *reply = NULL;

		if (redisGetReply(c, &reply) != REDIS_OK) {
			buf_addf(err, "redis: %s", c->errstr);
			goto out;
		}
		r[i] = reply;
	}
	for (i = 0; i < 4; i++)
		if (r[i]->type != REDIS_REPLY_ARRAY) {
			buf_addf(
			    err, "redis: unexpected reply for '%s'", k[i].data);
			goto out;
		}
	if (r[0]->elements != 5 || r[1]->elements != 4) {
		buf_adds(err, "redis: unexpected reply to HMGET");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.document = str_from(nm->doc);
	if (r[0]->element[0]->type == REDIS_REPLY_STRING)
		p.percentage = strtod(r[0]->element[0]->str, &end);
	p.progress = ra_str(r[0]->element[1]);
	p.device = ra_str(r[0]->element[2]);
	p.device_id = ra_str(r[0]->element[3]);
	if (r[0]->element[4]->type == REDIS_REPLY_STRING)
		p.timestamp = strtoll(r[0]->element[4]->str, &end, 10);
	p.filename = ra_str(r[1]->element[0]);
	p.title = ra_str(r[1]->element[1]);
	p.authors = ra_str(r[1]->element[2]);
	p.pretty_name = ra_str(r[1]->element[3]);
	if (p.progress.p == NULL && p.device.p == NULL && p.timestamp == 0 &&
	    r[0]->element[0]->type != REDIS_REPLY_STRING) {
		rc = 0; /* vanished meanwhile */
		goto out;
	}
	d = db_doc_load(db, u, &p);
	for (i = 0; i < r[2]->elements; i++) {
		struct db_put e;
		struct str s = ra_str(r[2]->element[i]);

		if (s.p != NULL && ra_entry(s.p, s.len, &e, &a) == 0)
			db_doc_add_device(u, d, &e);
	}
	for (i = 0; i < r[3]->elements; i++) {
		struct db_put e;
		struct str s = ra_str(r[3]->element[i]);

		if (s.p != NULL && ra_entry(s.p, s.len, &e, &a) == 0) {
			e.document = p.document;
			db_doc_add_history(u, d, &e, 0);
		}
	}
	rc = 0;
out:
	for (i = 0; i < 4; i++) {
		freeReplyObject(r[i]);
		buf_release(&k[i]);
	}
	ra_arena_free(&a);
	return rc;
}

/* Add the links of u (kosyncd:user:<name>:links) to u. */
static int
ra_load_links(redisContext *c, struct db_user *u, struct buf *err)
{
	struct buf l = BUF_INIT;
	const char *argv[2];
	size_t lens[2], i;
	redisReply *r;

	ra_key(&l, true, u->name, ":links", NULL);
	ra_arg(argv, lens, 0, "HGETALL");
	ra_arg(argv, lens, 1, l.data);
	r = ra_cmd(c, err, 2, argv, lens);
	buf_release(&l);
	if (r == NULL)
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	     i += 2) {
		struct str a = ra_str(r->element[i]);
		struct str d = ra_str(r->element[i + 1]);

		if (a.p != NULL && d.p != NULL)
			db_link_set(u, a, d);
	}
	freeReplyObject(r);
	return 0;
}

/*
 * Device credentials (docs/devices.md; the layout of store_redis.c): read
 * into u for a dump, written for an account an import added.
 */

struct ra_cred {
	struct str id;
	const struct json_value *rec;
	int64_t created;
};

static int
ra_cred_cmp(const void *a, const void *b)
{
	const struct ra_cred *x = a, *y = b;
	size_t n = x->id.len < y->id.len ? x->id.len : y->id.len;
	int c;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	c = memcmp(x->id.p, y->id.p, n);
	return c != 0 ? c : (x->id.len > y->id.len) - (x->id.len < y->id.len);
}

/* The number member name of o, or 0. */
static int64_t
ra_int(const struct json_value *o, const char *name)
{
	const struct json_value *v = o != NULL ? json_get(o, name) : NULL;
	double d;

	return v != NULL && json_number(v, false, &d) == 0 ? (int64_t)d : 0;
}

/* HGETALL of key (NULL on an error, in err). */
static redisReply *
ra_hgetall(redisContext *c, const char *key, struct buf *err)
{
	const char *argv[2];
	size_t lens[2];

	ra_arg(argv, lens, 0, "HGETALL");
	ra_arg(argv, lens, 1, key);
	return ra_cmd(c, err, 2, argv, lens);
}

/* A credential's last use and audit (newest first in Redis) into dc. */
static int
ra_load_cred_use(redisContext *c, const struct db_user *u,
    struct db_devcred *dc, const redisReply *uses, struct ra_arena *a,
    struct buf *err)
{
	const struct json_value *v;
	const char *argv[4];
	size_t lens[4], i;
	struct buf k = BUF_INIT;
	redisReply *r;

	for (i = 0; uses != NULL && i + 1 < uses->elements; i += 2)
		if (str_eqs(ra_str(uses->element[i]), dc->id) &&
		    (v = json_parse(uses->element[i + 1]->str,
		         uses->element[i + 1]->len, ra_alloc, a, NULL)) !=
		        NULL &&
		    ra_int(v, "used") != 0)
			db_devcred_used(dc, ra_int(v, "used"),
			    ra_member(v, "address"), ra_member(v, "agent"),
			    ra_member(v, "device"), ra_member(v, "device_id"));
	ra_key(&k, true, u->name, ":audit:", dc->id);
	ra_arg(argv, lens, 0, "LRANGE");
	argv[1] = k.data;
	lens[1] = k.len;
	ra_arg(argv, lens, 2, "0");
	ra_arg(argv, lens, 3, "-1");
	r = ra_cmd(c, err, 4, argv, lens);
	buf_release(&k);
	if (r == NULL)
		return -1;
	for (i = r->type == REDIS_REPLY_ARRAY ? r->elements : 0; i-- > 0;) {
		int what;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    (v = json_parse(r->element[i]->str, r->element[i]->len,
		         ra_alloc, a, NULL)) == NULL ||
		    (what = db_audit_what_parse(ra_member(v, "what"))) < 0)
			continue;
		(void)db_devcred_audit(dc, ra_int(v, "time"), (uint8_t)what,
		    ra_member(v, "address"), ra_member(v, "agent"),
		    json_get(v, "document") != NULL ? ra_member(v, "document")
		                                    : STR_NULL);
	}
	freeReplyObject(r);
	return 0;
}

/* Add u's device credentials (oldest first) and devices_only to u. */
static int
ra_load_devcreds(redisContext *c, struct db_user *u, struct buf *err)
{
	struct ra_arena a = {NULL, 0, 0};
	struct buf k = BUF_INIT;
	redisReply *r = NULL, *uses = NULL;
	struct ra_cred *v = NULL;
	struct db_devcred *dc;
	struct str key;
	size_t i, n = 0;
	int rc = -1;

	ra_key(&k, true, u->name, ":credentials", NULL);
	if ((r = ra_hgetall(c, k.data, err)) == NULL)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
		rc = 0;
		goto out;
	}
	ra_key(&k, true, u->name, ":credentials-used", NULL);
	if ((uses = ra_hgetall(c, k.data, err)) == NULL)
		goto out;
	v = xcalloc(r->elements / 2 + 1, sizeof(*v));
	for (i = 0; i + 1 < r->elements; i += 2) {
		struct str id = ra_str(r->element[i]);

		if (str_eqs(id, "devices_only")) {
			u->devices_only = true;
			continue;
		}
		if (id.p == NULL ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		v[n].id = id;
		v[n].rec = json_parse(r->element[i + 1]->str,
		    r->element[i + 1]->len, ra_alloc, &a, NULL);
		v[n].created = ra_int(v[n].rec, "created");
		if (v[n].rec != NULL && v[n].rec->type == JSON_OBJECT)
			n++;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), ra_cred_cmp);
	for (i = 0; i < n; i++) {
		key = ra_member(v[i].rec, "key");
		dc = db_devcred_add(u, v[i].id, ra_member(v[i].rec, "label"),
		    key.p != NULL && key.len > 0 ? key : STR_NULL,
		    v[i].created);
		if (dc != NULL &&
		    ra_load_cred_use(c, u, dc,
		        uses->type == REDIS_REPLY_ARRAY ? uses : NULL, &a,
		        err) != 0)
			goto out;
	}
	rc = 0;
out:
	free(v);
	freeReplyObject(r);
	freeReplyObject(uses);
	ra_arena_free(&a);
	buf_release(&k);
	return rc;
}

/*
 * Write u's device credentials, devices_only, last uses and audits into
 * Redis, for the account an import just added (an account that existed
 * keeps its own).
 */
static int
ra_import_devcreds(redisContext *c, const struct db_user *u, struct buf *err)
{
	const struct db_devcred *dc;
	struct buf k = BUF_INIT, ku = BUF_INIT, rec = BUF_INIT, ka = BUF_INIT;
	struct json_out o;
	const char *argv[4];
	size_t lens[4];
	uint32_t i, m;
	int rc = -1;

	ra_key(&k, true, u->name, ":credentials", NULL);
	ra_key(&ku, true, u->name, ":credentials-used", NULL);
	ra_arg(argv, lens, 0, "HSET");
	argv[1] = k.data;
	lens[1] = k.len;
	if (u->devices_only) {
		ra_arg(argv, lens, 2, "devices_only");
		ra_arg(argv, lens, 3, "1");
		if (ra_do(c, err, 4, argv, lens) != 0)
			goto out;
	}
	for (i = 0; i < u->ndevcreds; i++) {
		dc = &u->devcreds[i];
		buf_reset(&rec);
		json_out_init(&o, &rec, false);
		json_obj_begin(&o);
		json_key(&o, "label");
		json_str(&o, dc->label);
		if (dc->key != NULL) {
			json_key(&o, "key");
			json_str(&o, dc->key);
		}
		json_key(&o, "created");
		json_int(&o, dc->created);
		json_key(&o, "revoked");
		json_int(&o, dc->key != NULL ? 0 : dc->created);
		json_obj_end(&o);
		argv[1] = k.data;
		lens[1] = k.len;
		ra_arg(argv, lens, 2, dc->id);
		argv[3] = rec.data;
		lens[3] = rec.len;
		if (ra_do(c, err, 4, argv, lens) != 0)
			goto out;
		if (dc->used != 0) {
			buf_reset(&rec);
			json_out_init(&o, &rec, false);
			json_obj_begin(&o);
			json_key(&o, "used");
			json_int(&o, dc->used);
			json_key(&o, "address");
			json_str(&o, dc->used_addr ? dc->used_addr : "");
			json_key(&o, "agent");
			json_str(&o, dc->used_agent ? dc->used_agent : "");
			json_key(&o, "device");
			json_str(&o, dc->used_device ? dc->used_device : "");
			json_key(&o, "device_id");
			json_str(
			    &o, dc->used_device_id ? dc->used_device_id : "");
			json_obj_end(&o);
			argv[1] = ku.data;
			lens[1] = ku.len;
			argv[3] = rec.data;
			lens[3] = rec.len;
			if (ra_do(c, err, 4, argv, lens) != 0)
				goto out;
		}
		ra_key(&ka, true, u->name, ":audit:", dc->id);
		for (m = 0; m < dc->naudit; m++) {
			const struct db_audit *e = db_devcred_audit_at(dc, m);

			buf_reset(&rec);
			json_out_init(&o, &rec, false);
			store_device_audit_entry(&o, e->time, e->what,
			    str_from(e->address), str_from(e->agent),
			    str_from(e->document));
			ra_arg(argv, lens, 0, "RPUSH");
			argv[1] = ka.data;
			lens[1] = ka.len;
			argv[2] = rec.data;
			lens[2] = rec.len;
			if (ra_do(c, err, 3, argv, lens) != 0)
				goto out;
		}
		ra_arg(argv, lens, 0, "HSET");
	}
	rc = 0;
out:
	buf_release(&k);
	buf_release(&ku);
	buf_release(&ka);
	buf_release(&rec);
	return rc;
}

/*
 * Device names (docs/redis.md kosyncd:user:<name>:devnames, "<forgotten>
 * <name>" by the device's key): read into u for a dump (entries out of
 * bounds skipped), written for an account an import added.
 */
static int
ra_load_devnames(redisContext *c, struct db_user *u, struct buf *err)
{
	struct buf k = BUF_INIT;
	struct str key, v, name;
	redisReply *r;
	int64_t t;
	size_t i;

	ra_key(&k, true, u->name, ":devnames", NULL);
	r = ra_hgetall(c, k.data, err);
	buf_release(&k);
	if (r == NULL)
		return -1;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	     i += 2) {
		key = ra_str(r->element[i]);
		v = ra_str(r->element[i + 1]);
		if (key.p == NULL || key.len == 0 ||
		    key.len > DB_DEVNAME_KEY_MAX || v.p == NULL ||
		    store_redis_devname_parse(v.p, v.len, &t, &name) != 0 ||
		    name.len > DB_DEVNAME_NAME_MAX)
			continue;
		(void)db_devname_set(u, key, name, t);
	}
	freeReplyObject(r);
	return 0;
}

static int
ra_import_devnames(redisContext *c, const struct db_user *u, struct buf *err)
{
	const struct db_devname *e;
	struct buf k = BUF_INIT, v = BUF_INIT;
	const char *argv[4];
	size_t lens[4];
	uint32_t i;
	int rc = 0;

	ra_key(&k, true, u->name, ":devnames", NULL);
	for (i = 0; i < u->ndevnames && rc == 0; i++) {
		e = &u->devnames[i];
		buf_reset(&v);
		buf_addf(&v, "%lld %s", (long long)e->forgotten, e->name);
		ra_arg(argv, lens, 0, "HSET");
		argv[1] = k.data;
		lens[1] = k.len;
		ra_arg(argv, lens, 2, e->key);
		argv[3] = v.data;
		lens[3] = v.len;
		rc = ra_do(c, err, 4, argv, lens);
	}
	buf_release(&k);
	buf_release(&v);
	return rc;
}

/* Every user and document into db. Returns 0 or -1. */
static int
ra_load(redisContext *c, struct db *db, struct buf *err)
{
	struct ra_names names = {NULL, 0, 0};
	struct db_user *u = NULL;
	const char *argv[2];
	size_t lens[2], i;
	redisReply *r;
	int rc = -1;

	if (ra_scan(c, "user:*", ra_collect, &names, err) != 0)
		goto out;
	if (names.n > 0)
		qsort(names.v, names.n, sizeof(*names.v), ra_name_cmp);
	for (i = 0; i < names.n; i++) {
		const struct ra_name *nm = &names.v[i];

		if (nm->doc == NULL) {
			struct buf k = BUF_INIT;

			buf_addf(&k, "user:%s:key", nm->user);
			ra_arg(argv, lens, 0, "GET");
			argv[1] = k.data;
			lens[1] = k.len;
			r = ra_cmd(c, err, 2, argv, lens);
			buf_release(&k);
			if (r == NULL)
				goto out;
			u = NULL;
			if (r->type == REDIS_REPLY_STRING &&
			    db_user_find(db, str_from(nm->user)) == NULL)
				u = db_user_add(db, str_from(nm->user),
				    (struct str){r->str, r->len});
			freeReplyObject(r);
			if (u != NULL && (ra_load_links(c, u, err) != 0 ||
			                     ra_load_devcreds(c, u, err) != 0 ||
			                     ra_load_devnames(c, u, err) != 0))
				goto out;
			continue;
		}
		/* Documents without an account are orphans: skipped. */
		if (u == NULL || strcmp(nm->user, u->name) != 0)
			continue;
		if (ra_dump_doc(c, db, u, nm, err) != 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < names.n; i++) {
		free(names.v[i].user);
		free(names.v[i].doc);
	}
	free(names.v);
	return rc;
}

static void
ra_dump(struct ra_job *j, redisContext *c)
{
	struct db db;
	FILE *f = NULL;
	char block[8192];
	size_t n;

	db_init(&db);
	if (ra_load(c, &db, &j->out) != 0)
		goto out;
	if ((f = tmpfile()) == NULL ||
	    snapshot_write_fd(fileno(f), &db, NULL, 0) != 0 ||
	    lseek(fileno(f), 0, SEEK_SET) != 0) {
		buf_adds(&j->out, "cannot write the dump to a temporary file");
		goto out;
	}
	while ((n = fread(block, 1, sizeof(block), f)) > 0)
		buf_add(&j->out, block, n);
	if (ferror(f)) {
		buf_reset(&j->out);
		buf_adds(&j->out, "cannot read the dump back");
		goto out;
	}
	j->result = STORE_OK;
out:
	if (f != NULL)
		fclose(f);
	db_release(&db);
}

/* qsort's order of C strings held by pointer. */
static int
ra_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The user list (userlist.c renders it)
 */

/* Whether u's account carries the administrator flag (store_redis.c). */
static bool
ra_is_admin(void *arg, const struct db_user *u)
{
	redisContext *c = arg;
	redisReply *r = redisCommand(
	    c, "EXISTS kosyncd:user:%b:admin", u->name, (size_t)u->name_len);
	bool yes =
	    r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

	freeReplyObject(r);
	return yes;
}

static void
ra_list(struct ra_job *j, redisContext *c)
{
	struct db db;
	struct db_user **users = NULL;
	struct buf err = BUF_INIT;
	size_t nu = 0;

	db_init(&db);
	if (ra_load(c, &db, &err) != 0) {
		buf_add(&j->out, err.data, err.len);
		goto out;
	}
	users = db_users_sorted(&db, &nu);
	userlist_render(
	    users, nu, j->paged ? &j->page : NULL, ra_is_admin, c, &j->out);
	j->result = STORE_OK;
out:
	free(users);
	buf_release(&err);
	db_release(&db);
}

/*
 * The import
 */

/* The JSON of a state, as the push script writes it. */
static void
ra_entry_json(struct buf *b, const struct db_entry *e)
{
	struct json_out o;

	buf_reset(b);
	json_out_init(&o, b, false);
	json_obj_begin(&o);
	json_key(&o, "percentage");
	json_double(&o, e->percentage);
	json_key(&o, "progress");
	json_strn(&o, db_entry_progress(e), e->len[0]);
	json_key(&o, "device");
	json_strn(&o, db_entry_device(e), e->len[1]);
	json_key(&o, "device_id");
	json_strn(&o, db_entry_device_id(e), e->len[2]);
	json_key(&o, "timestamp");
	json_int(&o, e->timestamp);
	ra_entry_held_json(&o, e);
	json_obj_end(&o);
}

/* The field of a device position in the devices hash. */
static void
ra_device_field(struct buf *b, const struct db_entry *e)
{
	buf_reset(b);
	if (e->len[2] > 0) {
		buf_adds(b, "id:");
		buf_add(b, db_entry_device_id(e), e->len[2]);
	} else {
		buf_adds(b, "device:");
		buf_add(b, db_entry_device(e), e->len[1]);
	}
}

static int ra_import_doc(redisContext *c, const struct config *cfg,
    const struct db_user *iu, const struct db_doc *from, int *result,
    struct buf *err);

/* Add u's links whose alias is not linked in Redis yet. */
static int
ra_merge_links(redisContext *c, const struct db_user *u, struct buf *err)
{
	struct buf k = BUF_INIT;
	const char *argv[4];
	size_t lens[4];
	uint32_t i;
	int rc = 0;

	buf_addf(&k, "kosyncd:user:%s:links", u->name);
	for (i = 0; i < u->nlinks && rc == 0; i++) {
		ra_arg(argv, lens, 0, "HSETNX");
		ra_arg(argv, lens, 1, k.data);
		ra_arg(argv, lens, 2, u->links[i].alias);
		ra_arg(argv, lens, 3, u->links[i].canonical);
		rc = ra_do(c, err, 4, argv, lens);
	}
	buf_release(&k);
	return rc;
}

static void
ra_import(struct ra_job *j, redisContext *c)
{
	struct db db;
	struct config scratch;
	struct snapshot_info info;
	struct db_user **users = NULL;
	struct db_doc **docs;
	struct buf err = BUF_INIT, k = BUF_INIT;
	uint64_t added = 0, existing = 0, uskip = 0, dadd = 0, dupd = 0,
	         dskip = 0;
	char phc[KEYHASH_PHC_MAX];
	const char *argv[3], *key;
	size_t lens[3], nu = 0, nd, i, m;
	redisReply *r;
	int res;

	db_init(&db);
	config_init(&scratch);
	memset(&info, 0, sizeof(info));
	if (snapshot_parse(j->text, j->len, &db, &scratch, &info, &err) != 0) {
		j->result = STORE_ERR_IO;
		buf_add(&j->out, err.data, err.len);
		goto out;
	}
	users = db_users_sorted(&db, &nu);
	for (i = 0; i < nu; i++) {
		const struct db_user *u = users[i];

		if (u->name_len == 0 || memchr(u->name, ':', u->name_len)) {
			docs = db_docs_sorted(u, &nd);
			dskip += nd;
			uskip++;
			free(docs);
			continue;
		}
		key = u->key != NULL ? u->key : "";
		if (j->cfg->redis_hash_keys && key[0] != '\0' &&
		    !keyhash_is_phc(key)) {
			if (keyhash_hash_sync(str_from(key), phc) != 0) {
				buf_adds(&err, "cannot hash a key");
				goto fail;
			}
			key = phc;
		}
		buf_reset(&k);
		buf_addf(&k, "user:%s:key", u->name);
		ra_arg(argv, lens, 0, "SETNX");
		argv[1] = k.data;
		lens[1] = k.len;
		ra_arg(argv, lens, 2, key);
		r = ra_cmd(c, &err, 3, argv, lens);
		sodium_memzero(phc, sizeof(phc));
		if (r == NULL)
			goto fail;
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
			added++;
			freeReplyObject(r);
			if (ra_import_devcreds(c, u, &err) != 0 ||
			    ra_import_devnames(c, u, &err) != 0)
				goto fail;
		} else {
			existing++;
			freeReplyObject(r);
		}
		docs = db_docs_sorted(u, &nd);
		for (m = 0; m < nd; m++) {
			if (memchr(db_doc_field(docs[m], DB_F_ID), ':',
			        docs[m]->len[DB_F_ID]) != NULL) {
				dskip++;
				continue;
			}
			if (ra_import_doc(c, j->cfg, u, docs[m], &res, &err) !=
			    0) {
				free(docs);
				goto fail;
			}
			if (res == 1)
				dadd++;
			else if (res == 2)
				dupd++;
			else
				dskip++;
		}
		free(docs);
		if (ra_merge_links(c, u, &err) != 0)
			goto fail;
	}
	buf_addf(&j->out,
	    "{\"users_added\":%llu,\"users_existing\":%llu,"
	    "\"users_skipped\":%llu,\"documents_added\":%llu,"
	    "\"documents_updated\":%llu,\"documents_skipped\":%llu}",
	    (unsigned long long)added, (unsigned long long)existing,
	    (unsigned long long)uskip, (unsigned long long)dadd,
	    (unsigned long long)dupd, (unsigned long long)dskip);
	j->result = STORE_OK;
	goto out;
fail:
	j->result = STORE_ERR_IO;
	buf_addf(&j->out,
	    "%s (after %llu users and %llu documents added, %llu updated)",
	    err.data, (unsigned long long)added, (unsigned long long)dadd,
	    (unsigned long long)dupd);
out:
	free(users);
	buf_release(&k);
	buf_release(&err);
	db_release(&db);
	config_release(&scratch);
}

/*
 * Key change and deletion without credentials
 */

static void
ra_purge_key(const char *k, size_t len, void *arg)
{
	struct ra_names *names = arg;

	if (names->n == names->cap) {
		names->cap = names->cap ? 2 * names->cap : 64;
		names->v = xrealloc(names->v, names->cap * sizeof(*names->v));
	}
	names->v[names->n].user = xmemdup0(k, len);
	names->v[names->n].doc = NULL;
	names->n++;
}

static void
ra_delete(struct ra_job *j, redisContext *c)
{
	struct buf k = BUF_INIT, t = BUF_INIT, pat = BUF_INIT;
	struct ra_names names = {NULL, 0, 0};
	const char *argv[6];
	size_t lens[6], i, n, plen;
	redisReply *r;
	bool stop;

	buf_adds(&k, "user:");
	buf_add(&k, j->user, j->user_len);
	buf_adds(&k, ":key");
	buf_adds(&t, "kosyncd:deleting:");
	buf_add(&t, j->user, j->user_len);
	ra_arg(argv, lens, 0, "EVAL");
	ra_arg(argv, lens, 1, ra_delete_lua);
	ra_arg(argv, lens, 2, "2");
	argv[3] = k.data;
	lens[3] = k.len;
	argv[4] = t.data;
	lens[4] = t.len;
	if ((r = ra_cmd(c, &j->out, 5, argv, lens)) == NULL)
		goto out;
	if (r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
		freeReplyObject(r);
		j->result = STORE_ERR_AUTH;
		goto out;
	}
	freeReplyObject(r);
	buf_adds(&pat, "*user:");
	store_redis_glob_escape(&pat, (struct str){j->user, j->user_len});
	buf_adds(&pat, ":*");
	if (ra_scan(c, pat.data, ra_purge_key, &names, &j->out) != 0)
		goto out;
	plen = 5 + j->user_len + 1;
	for (i = 0; i < names.n; i++) {
		const char *p = names.v[i].user;

		n = strlen(p);
		if (n > 8 && memcmp(p, "kosyncd:", 8) == 0) {
			p += 8;
			n -= 8;
		}
		if (n <= plen || memcmp(p, "user:", 5) != 0 ||
		    memcmp(p + 5, j->user, j->user_len) != 0 ||
		    p[5 + j->user_len] != ':')
			continue;
		/* Only while the tombstone is there (see store_redis.c). */
		ra_arg(argv, lens, 0, "EVAL");
		ra_arg(argv, lens, 1, ra_purge_lua);
		ra_arg(argv, lens, 2, "2");
		argv[3] = t.data;
		lens[3] = t.len;
		ra_arg(argv, lens, 4, names.v[i].user);
		if ((r = ra_cmd(c, &j->out, 5, argv, lens)) == NULL)
			goto out;
		stop = r->type == REDIS_REPLY_INTEGER && r->integer < 0;
		freeReplyObject(r);
		if (stop) {
			j->result = STORE_OK;
			goto out;
		}
	}
	ra_arg(argv, lens, 0, "DEL");
	argv[1] = t.data;
	lens[1] = t.len;
	if ((r = ra_cmd(c, &j->out, 2, argv, lens)) == NULL)
		goto out;
	freeReplyObject(r);
	j->result = STORE_OK;
out:
	for (i = 0; i < names.n; i++)
		free(names.v[i].user);
	free(names.v);
	buf_release(&k);
	buf_release(&t);
	buf_release(&pat);
}

static void
ra_set_key(struct ra_job *j, redisContext *c)
{
	struct buf k = BUF_INIT;
	char phc[KEYHASH_PHC_MAX];
	const char *argv[5];
	size_t lens[5];
	redisReply *r;

	argv[4] = j->key;
	lens[4] = j->key_len;
	if (j->cfg->redis_hash_keys) {
		if (keyhash_hash_sync((struct str){j->key, j->key_len}, phc) !=
		    0) {
			buf_adds(&j->out, "cannot hash the key");
			return;
		}
		ra_arg(argv, lens, 4, phc);
	}
	buf_adds(&k, "user:");
	buf_add(&k, j->user, j->user_len);
	buf_adds(&k, ":key");
	ra_arg(argv, lens, 0, "EVAL");
	ra_arg(argv, lens, 1, ra_setkey_lua);
	ra_arg(argv, lens, 2, "1");
	argv[3] = k.data;
	lens[3] = k.len;
	r = ra_cmd(c, &j->out, 5, argv, lens);
	sodium_memzero(phc, sizeof(phc));
	buf_release(&k);
	if (r == NULL)
		return;
	j->result = r->type == REDIS_REPLY_INTEGER && r->integer == 1
	                ? STORE_OK
	                : STORE_ERR_AUTH;
	freeReplyObject(r);
}

/*
 * The web interface (store.h store_web_*): a user's data is loaded into a
 * scratch table of db.c, read or changed there by webops.c (as on the
 * file backend), and a change is written back in one MULTI/EXEC under
 * WATCH of every key it read, retried when another client (a push through
 * any instance) changed one of them meanwhile.
 */

#define RA_WEB_TRIES 10     /* EXEC attempts before giving up */
#define RA_INDEX_TTL "3600" /* seconds between rescans of a user's keys */
#define RA_PAGE_BATCH 1000  /* timestamps asked for in one pipeline */

/* Collect the document ids of user:<u>:document:<id> keys. */
struct ra_ids {
	size_t prefix; /* strlen("user:<u>:document:") */
	char **v;
	size_t n, cap;
};

static void
ra_ids_add(struct ra_ids *ids, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		if (strlen(ids->v[i]) == len && memcmp(ids->v[i], s, len) == 0)
			return;
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? 2 * ids->cap : 16;
		ids->v = xrealloc(ids->v, ids->cap * sizeof(*ids->v));
	}
	ids->v[ids->n++] = xmemdup0(s, len);
}

static void
ra_ids_free(struct ra_ids *ids)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		free(ids->v[i]);
	free(ids->v);
	memset(ids, 0, sizeof(*ids));
}

static void
ra_collect_doc(const char *k, size_t len, void *arg)
{
	struct ra_ids *ids = arg;

	if (len > ids->prefix &&
	    memchr(k + ids->prefix, ':', len - ids->prefix) == NULL)
		ra_ids_add(ids, k + ids->prefix, len - ids->prefix);
}

/*
 * Every document id of user: the index kosyncd:user:<u>:documents, which
 * pushes keep up to date, rebuilt by a SCAN when its marker has expired
 * (documents written by the official server, or before the index
 * existed, are found within RA_INDEX_TTL).
 */
static int
ra_user_docs(
    redisContext *c, const char *user, struct ra_ids *ids, struct buf *err)
{
	struct buf idx = BUF_INIT, mark = BUF_INIT, pat = BUF_INIT;
	const char *argv[5];
	size_t lens[5], i;
	redisReply *r;
	struct ra_ids found = {0, NULL, 0, 0};
	int rc = -1;

	ra_key(&idx, true, user, ":documents", NULL);
	ra_key(&mark, true, user, ":documents-scanned", NULL);
	ra_arg(argv, lens, 0, "EXISTS");
	ra_arg(argv, lens, 1, mark.data);
	if ((r = ra_cmd(c, err, 2, argv, lens)) == NULL)
		goto out;
	i = r->type == REDIS_REPLY_INTEGER ? (size_t)r->integer : 0;
	freeReplyObject(r);
	if (i == 0) {
		buf_adds(&pat, "user:");
		store_redis_glob_escape(&pat, str_from(user));
		buf_adds(&pat, ":document:*");
		found.prefix = 5 + strlen(user) + 10;
		if (ra_scan(c, pat.data, ra_collect_doc, &found, err) != 0)
			goto out;
		if (found.n > 0) {
			/* One SADD with every id found. */
			const char **av = xcalloc(2 + found.n, sizeof(char *));
			size_t *al = xcalloc(2 + found.n, sizeof(size_t));
			int failed;

			ra_arg(av, al, 0, "SADD");
			ra_arg(av, al, 1, idx.data);
			for (i = 0; i < found.n; i++)
				ra_arg(av, al, (int)(2 + i), found.v[i]);
			failed = ra_do(c, err, (int)(2 + found.n), av, al);
			free(av);
			free(al);
			if (failed != 0)
				goto out;
		}
		ra_arg(argv, lens, 0, "SET");
		ra_arg(argv, lens, 1, mark.data);
		ra_arg(argv, lens, 2, "1");
		ra_arg(argv, lens, 3, "EX");
		ra_arg(argv, lens, 4, RA_INDEX_TTL);
		if (ra_do(c, err, 5, argv, lens) != 0)
			goto out;
	}
	ra_arg(argv, lens, 0, "SMEMBERS");
	ra_arg(argv, lens, 1, idx.data);
	if ((r = ra_cmd(c, err, 2, argv, lens)) == NULL)
		goto out;
	/* A set's members are distinct: no ra_ids_add (quadratic). */
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING) {
			if (ids->n == ids->cap) {
				ids->cap = ids->cap ? 2 * ids->cap : 16;
				ids->v = xrealloc(
				    ids->v, ids->cap * sizeof(*ids->v));
			}
			ids->v[ids->n++] =
			    xmemdup0(r->element[i]->str, r->element[i]->len);
		}
	freeReplyObject(r);
	rc = 0;
out:
	ra_ids_free(&found);
	buf_release(&idx);
	buf_release(&mark);
	buf_release(&pat);
	return rc;
}

/*
 * Load user with its links into db (watching the key and the links
 * first when watch). *out is NULL when there is no such user.
 */
static int
ra_web_user(redisContext *c, struct db *db, const char *user, bool watch,
    struct db_user **out, struct buf *err)
{
	struct buf k = BUF_INIT, l = BUF_INIT;
	const char *argv[3];
	size_t lens[3];
	redisReply *r = NULL;
	int rc = -1;

	*out = NULL;
	ra_key(&k, false, user, ":key", NULL);
	ra_key(&l, true, user, ":links", NULL);
	if (watch) {
		ra_arg(argv, lens, 0, "WATCH");
		ra_arg(argv, lens, 1, k.data);
		ra_arg(argv, lens, 2, l.data);
		if (ra_do(c, err, 3, argv, lens) != 0)
			goto out;
	}
	ra_arg(argv, lens, 0, "GET");
	ra_arg(argv, lens, 1, k.data);
	if ((r = ra_cmd(c, err, 2, argv, lens)) == NULL)
		goto out;
	if (r->type != REDIS_REPLY_STRING) {
		rc = 0;
		goto out;
	}
	*out = db_user_add(db, str_from(user), (struct str){r->str, r->len});
	rc = ra_load_links(c, *out, err);
out:
	freeReplyObject(r);
	buf_release(&k);
	buf_release(&l);
	return rc;
}

/* Load the documents ids names (exact ids, links not followed). */
static int
ra_web_docs_load(redisContext *c, struct db *db, struct db_user *u,
    const struct ra_ids *ids, struct buf *err)
{
	struct ra_name nm;
	size_t i;

	for (i = 0; i < ids->n; i++) {
		nm.user = u->name;
		nm.doc = ids->v[i];
		if (ra_dump_doc(c, db, u, &nm, err) != 0)
			return -1;
	}
	return 0;
}

/* A document of a page: its timestamp and id (borrowed from ra_ids). */
struct ra_pdoc {
	int64_t ts;
	char *id;
};

/* Newest first, then by id: webops.c's order. */
static int
ra_pdoc_cmp(const void *a, const void *b)
{
	const struct ra_pdoc *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts > y->ts ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * Keep in ids only the documents of u that the page page names can show:
 * the first page->limit + 1 after its position, by their timestamps (read
 * in pipelined batches of RA_PAGE_BATCH), so that only those are loaded;
 * merged-away ids are left out. The sort runs here, on the worker.
 */
static int
ra_page_ids(redisContext *c, const struct db_user *u, struct ra_ids *ids,
    const struct store_page *page, struct buf *err)
{
	struct ra_pdoc *v = xcalloc(ids->n + 1, sizeof(*v));
	const char **aliases = xcalloc(u->nlinks + 1, sizeof(char *));
	const char *argv[3], *id;
	size_t lens[3], i, b, end, n = 0, keep, m;
	struct buf k = BUF_INIT;
	redisReply *r;
	char *e;
	int rc = -1;

	/* Merged-away ids, sorted: one lookup each (a user may have many). */
	for (i = 0; i < u->nlinks; i++)
		aliases[i] = u->links[i].alias;
	qsort(aliases, u->nlinks, sizeof(char *), ra_str_cmp);
	for (b = 0; b < ids->n; b = end) {
		end = b + RA_PAGE_BATCH < ids->n ? b + RA_PAGE_BATCH : ids->n;
		for (i = b; i < end; i++) {
			buf_reset(&k);
			buf_addf(&k, "user:%s:document:%s", u->name, ids->v[i]);
			ra_arg(argv, lens, 0, "HGET");
			argv[1] = k.data;
			lens[1] = k.len;
			ra_arg(argv, lens, 2, "timestamp");
			redisAppendCommandArgv(c, 3, argv, lens);
		}
		for (i = b; i < end; i++) {
			void *reply = NULL;

			if (redisGetReply(c, &reply) != REDIS_OK) {
				buf_addf(err, "redis: %s", c->errstr);
				goto out;
			}
			r = reply;
			id = ids->v[i];
			if (r->type == REDIS_REPLY_STRING &&
			    (u->nlinks == 0 ||
			        bsearch(&id, aliases, u->nlinks, sizeof(char *),
			            ra_str_cmp) == NULL)) {
				v[n].ts = strtoll(r->str, &e, 10);
				v[n].id = ids->v[i];
				if (store_page_after(
				        page, v[n].ts, str_from(v[n].id)))
					n++;
			}
			freeReplyObject(r);
		}
	}
	qsort(v, n, sizeof(*v), ra_pdoc_cmp);
	keep = n < page->limit + 1 ? n : page->limit + 1;
	/* Move the kept ids to the front, free the others. */
	for (i = 0; i < keep; i++)
		for (m = 0; m < ids->n; m++)
			if (ids->v[m] == v[i].id) {
				ids->v[m] = ids->v[i];
				ids->v[i] = v[i].id;
				break;
			}
	for (i = keep; i < ids->n; i++)
		free(ids->v[i]);
	ids->n = keep;
	rc = 0;
out:
	free(v);
	free(aliases);
	buf_release(&k);
	return rc;
}

static void
ra_web_documents(struct ra_job *j, redisContext *c)
{
	struct db db;
	struct db_user *u;
	struct ra_ids ids = {0, NULL, 0, 0};

	db_init(&db);
	if (ra_web_user(c, &db, j->user, false, &u, &j->out) != 0)
		goto out;
	if (u == NULL) {
		j->result = STORE_ERR_AUTH;
		goto out;
	}
	if (j->doc != NULL) {
		ra_ids_add(&ids, j->doc, strlen(j->doc));
		ra_ids_add(&ids, db_link_resolve(u, str_from(j->doc)).p,
		    db_link_resolve(u, str_from(j->doc)).len);
	} else if (ra_user_docs(c, j->user, &ids, &j->out) != 0 ||
	           ra_page_ids(c, u, &ids, &j->page, &j->out) != 0) {
		goto out;
	}
	if (ra_web_docs_load(c, &db, u, &ids, &j->out) != 0)
		goto out;
	webops_render(u, j->doc != NULL ? str_from(j->doc) : STR_NULL,
	    j->history, &j->page, &j->out);
	j->result = STORE_OK;
out:
	if (j->result != STORE_OK)
		buf_reset(&j->out);
	ra_ids_free(&ids);
	db_release(&db);
}

/* Queue the commands that make Redis hold doc id of u as db has it. */
static void
ra_web_write_doc(
    redisContext *c, const struct db_user *u, const char *id, unsigned *queued)
{
	static const struct {
		const char *name;
		enum db_field f;
	} meta[] = {{"filename", DB_F_FILENAME}, {"title", DB_F_TITLE},
	    {"authors", DB_F_AUTHORS}, {"pretty_name", DB_F_PRETTY_NAME}};
	const struct db_doc *d = db_doc_find_exact(u, str_from(id));
	struct buf k[4], idx = BUF_INIT, *ent;
	const char **argv;
	size_t *lens, i, n, a, nd = d && d->devices ? d->devices->n : 0;
	char pct[32], ts[24];

	for (i = 0; i < 4; i++)
		buf_init(&k[i]);
	ra_key(&k[0], false, u->name, ":document:", id);
	ra_key(&k[1], true, u->name, ":meta:", id);
	ra_key(&k[2], true, u->name, ":devices:", id);
	ra_key(&k[3], true, u->name, ":history:", id);
	ra_key(&idx, true, u->name, ":documents", NULL);
	n = 2 + 2 * DB_NFIELDS + 2 * nd + (d && d->history ? d->history->n : 0);
	argv = xcalloc(n, sizeof(*argv));
	lens = xcalloc(n, sizeof(*lens));
	ent = xcalloc(n, sizeof(*ent));
	for (i = 0; i < n; i++)
		buf_init(&ent[i]);
	ra_arg(argv, lens, 0, "DEL");
	for (i = 0; i < 4; i++) {
		argv[1 + i] = k[i].data;
		lens[1 + i] = k[i].len;
	}
	redisAppendCommandArgv(c, 5, argv, lens);
	++*queued;
	ra_arg(argv, lens, 0, d != NULL ? "SADD" : "SREM");
	ra_arg(argv, lens, 1, idx.data);
	ra_arg(argv, lens, 2, id);
	redisAppendCommandArgv(c, 3, argv, lens);
	++*queued;
	if (d == NULL)
		goto out;
	store_redis_format_percentage(pct, sizeof(pct), d->percentage);
	snprintf(ts, sizeof(ts), "%lld", (long long)d->timestamp);
	a = 0;
	ra_arg(argv, lens, (int)a++, "HSET");
	argv[a] = k[0].data;
	lens[a++] = k[0].len;
	ra_arg(argv, lens, (int)a++, "percentage");
	ra_arg(argv, lens, (int)a++, pct);
	ra_arg(argv, lens, (int)a++, "progress");
	argv[a] = db_doc_field(d, DB_F_PROGRESS);
	lens[a++] = d->len[DB_F_PROGRESS];
	ra_arg(argv, lens, (int)a++, "device");
	argv[a] = db_doc_field(d, DB_F_DEVICE);
	lens[a++] = d->len[DB_F_DEVICE];
	if (d->len[DB_F_DEVICE_ID] > 0) {
		ra_arg(argv, lens, (int)a++, "device_id");
		argv[a] = db_doc_field(d, DB_F_DEVICE_ID);
		lens[a++] = d->len[DB_F_DEVICE_ID];
	}
	ra_arg(argv, lens, (int)a++, "timestamp");
	ra_arg(argv, lens, (int)a++, ts);
	redisAppendCommandArgv(c, (int)a, argv, lens);
	++*queued;
	a = 0;
	ra_arg(argv, lens, (int)a++, "HSET");
	argv[a] = k[1].data;
	lens[a++] = k[1].len;
	for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		if (d->len[meta[i].f] == 0)
			continue;
		ra_arg(argv, lens, (int)a++, meta[i].name);
		argv[a] = db_doc_field(d, meta[i].f);
		lens[a++] = d->len[meta[i].f];
	}
	if (a > 2) {
		redisAppendCommandArgv(c, (int)a, argv, lens);
		++*queued;
	}
	a = 0;
	ra_arg(argv, lens, (int)a++, "HSET");
	argv[a] = k[2].data;
	lens[a++] = k[2].len;
	for (i = 0; d->devices != NULL && i < d->devices->n; i++) {
		ra_device_field(&ent[2 * i], d->devices->e[i]);
		ra_entry_json(&ent[2 * i + 1], d->devices->e[i]);
		argv[a] = ent[2 * i].data;
		lens[a++] = ent[2 * i].len;
		argv[a] = ent[2 * i + 1].data;
		lens[a++] = ent[2 * i + 1].len;
	}
	if (a > 2) {
		redisAppendCommandArgv(c, (int)a, argv, lens);
		++*queued;
	}
	a = 0;
	ra_arg(argv, lens, (int)a++, "RPUSH");
	argv[a] = k[3].data;
	lens[a++] = k[3].len;
	for (i = 0; d->history != NULL && i < d->history->n; i++) {
		ra_entry_json(&ent[2 * nd + i], d->history->e[i]);
		argv[a] = ent[2 * nd + i].data;
		lens[a++] = ent[2 * nd + i].len;
	}
	if (a > 2) {
		redisAppendCommandArgv(c, (int)a, argv, lens);
		++*queued;
	}
out:
	for (i = 0; i < n; i++)
		buf_release(&ent[i]);
	for (i = 0; i < 4; i++)
		buf_release(&k[i]);
	buf_release(&idx);
	free(ent);
	free(argv);
	free(lens);
}

/* Read queued replies; the last one (EXEC's) is returned in *last. */
static int
ra_replies(redisContext *c, unsigned n, redisReply **last, struct buf *err)
{
	int rc = 0;

	*last = NULL;
	while (n-- > 0) {
		void *reply = NULL;

		if (redisGetReply(c, &reply) != REDIS_OK) {
			buf_addf(err, "redis: %s", c->errstr);
			return -1;
		}
		if (((redisReply *)reply)->type == REDIS_REPLY_ERROR &&
		    rc == 0) {
			buf_addf(err, "redis: %s", ((redisReply *)reply)->str);
			rc = -1;
		}
		if (n == 0)
			*last = reply;
		else
			freeReplyObject(reply);
	}
	return rc;
}

/* One attempt; 1 when another client changed what it read: retry. */
/*
 * Queue (in a MULTI) the change of user's usage counters by the difference
 * between u's usage now and bytes0, history0 (kept by the push script,
 * store_redis.c; docs/security.md).
 */
static void
ra_usage_incr(redisContext *c, const struct db_user *u, uint64_t bytes0,
    uint64_t history0, unsigned *queued)
{
	struct buf k = BUF_INIT;
	char n[2][24];
	const char *argv[4];
	size_t lens[4];
	int i;

	if (u->bytes == bytes0 && u->history == history0)
		return;
	ra_key(&k, true, u->name, ":usage", NULL);
	snprintf(n[0], sizeof(n[0]), "%" PRId64, (int64_t)(u->bytes - bytes0));
	snprintf(
	    n[1], sizeof(n[1]), "%" PRId64, (int64_t)(u->history - history0));
	for (i = 0; i < 2; i++) {
		ra_arg(argv, lens, 0, "HINCRBY");
		ra_arg(argv, lens, 1, k.data);
		ra_arg(argv, lens, 2, i == 0 ? "bytes" : "history");
		ra_arg(argv, lens, 3, n[i]);
		redisAppendCommandArgv(c, 4, argv, lens);
		++*queued;
	}
	buf_release(&k);
}

/*
 * Whether growing user's usage by grow bytes stays within user_max_bytes
 * (its counter watched first, so that the MULTI fails if a push changes
 * it meanwhile): 1 yes, 0 no, -1 error (in err).
 */
static int
ra_usage_fits(redisContext *c, const struct config *cfg, const char *user,
    uint64_t grow, struct buf *err)
{
	struct buf k = BUF_INIT;
	const char *argv[3];
	size_t lens[3];
	redisReply *r = NULL;
	long long cur = 0;
	int rc = -1;

	if (grow == 0 || cfg->user_max_bytes == 0)
		return 1;
	ra_key(&k, true, user, ":usage", NULL);
	ra_arg(argv, lens, 0, "WATCH");
	ra_arg(argv, lens, 1, k.data);
	if (ra_do(c, err, 2, argv, lens) != 0)
		goto out;
	ra_arg(argv, lens, 0, "HGET");
	ra_arg(argv, lens, 1, k.data);
	ra_arg(argv, lens, 2, "bytes");
	if ((r = ra_cmd(c, err, 3, argv, lens)) == NULL)
		goto out;
	if (r->type == REDIS_REPLY_STRING)
		cur = strtoll(r->str, NULL, 10);
	if (cur < 0)
		cur = 0;
	rc = (uint64_t)cur + grow <= cfg->user_max_bytes;
out:
	freeReplyObject(r);
	buf_release(&k);
	return rc;
}

static int
ra_web_try(struct ra_job *j, redisContext *c)
{
	struct db db;
	struct db_user *u;
	struct ra_ids ids = {0, NULL, 0, 0};
	struct buf k = BUF_INIT;
	struct db_history hs;
	struct change ch;
	redisReply *r = NULL;
	const char **argv = NULL;
	size_t *lens = NULL, i, a;
	unsigned queued = 0;
	uint64_t bytes0, history0;
	int rc = -1, fits;

	db_init(&db);
	if (ra_web_user(c, &db, j->user, true, &u, &j->out) != 0)
		goto out;
	if (u == NULL) {
		j->result = STORE_ERR_AUTH;
		rc = 0;
		goto out;
	}
	ra_ids_add(&ids, j->ch.document.p, j->ch.document.len);
	ra_ids_add(&ids, db_link_resolve(u, j->ch.document).p,
	    db_link_resolve(u, j->ch.document).len);
	if (j->ch.alias.p != NULL) {
		ra_ids_add(&ids, j->ch.alias.p, j->ch.alias.len);
		ra_ids_add(&ids, db_link_resolve(u, j->ch.alias).p,
		    db_link_resolve(u, j->ch.alias).len);
	}
	/* Watch every key read from here on, then read them. */
	argv = xcalloc(1 + 4 * ids.n + 8, sizeof(*argv));
	lens = xcalloc(1 + 4 * ids.n + 8, sizeof(*lens));
	{
		struct buf *kb = xcalloc(4 * ids.n, sizeof(*kb));

		ra_arg(argv, lens, 0, "WATCH");
		for (i = 0; i < 4 * ids.n; i++) {
			static const char *const what[4] = {
			    ":document:", ":meta:", ":devices:", ":history:"};

			buf_init(&kb[i]);
			ra_key(&kb[i], i % 4 != 0, j->user, what[i % 4],
			    ids.v[i / 4]);
			argv[1 + i] = kb[i].data;
			lens[1 + i] = kb[i].len;
		}
		rc = ra_do(c, &j->out, (int)(1 + 4 * ids.n), argv, lens);
		for (i = 0; i < 4 * ids.n; i++)
			buf_release(&kb[i]);
		free(kb);
		if (rc != 0)
			goto out;
		rc = -1;
	}
	if (ra_web_docs_load(c, &db, u, &ids, &j->out) != 0)
		goto out;
	if (!webops_allowed(u, &j->ch)) {
		j->result = STORE_ERR_AUTH;
		rc = 0;
		goto out;
	}
	/* The history setting here, without the account's limit. */
	hs.keep = j->cfg->store_history;
	hs.limit = j->cfg->history_limit;
	hs.user_limit = 0;
	webops_change_of(
	    (struct str){j->user, j->user_len}, &j->ch, j->timestamp, &hs, &ch);
	/* A promotion needs its held entry, not promoted yet (webops.h). */
	if (j->ch.kind == STORE_WEB_PROMOTE &&
	    webops_promote_of(db_doc_find(u, j->ch.document), &j->ch, &ch) !=
	        0) {
		j->result = STORE_ERR_NOTFOUND;
		rc = 0;
		goto out;
	}
	bytes0 = u->bytes;
	history0 = u->history;
	change_apply_user(&db, u, &ch);
	/* Per-user limits: what it adds must fit, as for a push. */
	fits = ra_usage_fits(c, j->cfg, j->user,
	    u->bytes > bytes0 ? u->bytes - bytes0 : 0, &j->out);
	if (fits < 0)
		goto out;
	if (fits == 0) {
		j->result = STORE_ERR_LIMIT;
		rc = 0;
		goto out;
	}
	/* Write back: every document read, and the links. */
	redisAppendCommand(c, "MULTI");
	queued++;
	ra_usage_incr(c, u, bytes0, history0, &queued);
	for (i = 0; i < ids.n; i++)
		ra_web_write_doc(c, u, ids.v[i], &queued);
	ra_key(&k, true, j->user, ":links", NULL);
	ra_arg(argv, lens, 0, "DEL");
	ra_arg(argv, lens, 1, k.data);
	redisAppendCommandArgv(c, 2, argv, lens);
	queued++;
	for (i = 0; i < u->nlinks; i++) {
		a = 0;
		ra_arg(argv, lens, (int)a++, "HSET");
		ra_arg(argv, lens, (int)a++, k.data);
		ra_arg(argv, lens, (int)a++, u->links[i].alias);
		ra_arg(argv, lens, (int)a++, u->links[i].canonical);
		redisAppendCommandArgv(c, (int)a, argv, lens);
		queued++;
	}
	redisAppendCommand(c, "EXEC");
	queued++;
	if (ra_replies(c, queued, &r, &j->out) != 0)
		goto out;
	if (r == NULL || r->type == REDIS_REPLY_NIL) {
		rc = 1;
		goto out;
	}
	j->result = STORE_OK;
	rc = 0;
out:
	if (rc != 1 && j->result != STORE_OK)
		freeReplyObject(redisCommand(c, "UNWATCH"));
	freeReplyObject(r);
	free(argv);
	free(lens);
	ra_ids_free(&ids);
	buf_release(&k);
	db_release(&db);
	return rc;
}

/*
 * An account's administrator flag (store_redis.c's layout): set or
 * removed only while the account exists and is not being deleted.
 */
static const char ra_admin_set_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 or\n"
    "    redis.call('EXISTS', KEYS[2]) == 1 then return -1 end\n"
    "if ARGV[1] == '1' then redis.call('SET', KEYS[3], '1')\n"
    "else redis.call('DEL', KEYS[3]) end\n"
    "return 1\n";

static void
ra_admin_set(struct ra_job *j, redisContext *c)
{
	redisReply *r;

	r = redisCommand(c,
	    "EVAL %s 3 user:%b:key kosyncd:deleting:%b kosyncd:user:%b:admin "
	    "%s",
	    ra_admin_set_lua, j->user, j->user_len, j->user, j->user_len,
	    j->user, j->user_len, j->ch.admin ? "1" : "0");
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		buf_adds(&j->out, r != NULL && r->type == REDIS_REPLY_ERROR
		                      ? r->str
		                      : "redis: no answer");
		j->result = r == NULL ? STORE_ERR_UNAVAILABLE : STORE_ERR_IO;
	} else {
		j->result = r->integer == 1 ? STORE_OK : STORE_ERR_AUTH;
	}
	freeReplyObject(r);
}

static void
ra_web_change(struct ra_job *j, redisContext *c)
{
	int i, rc = 1;

	if (j->ch.kind == STORE_WEB_ADMIN) {
		ra_admin_set(j, c);
		return;
	}

	for (i = 0; i < RA_WEB_TRIES && rc == 1; i++) {
		buf_reset(&j->out);
		rc = ra_web_try(j, c);
	}
	if (rc == 1)
		buf_adds(&j->out, "redis: the document kept changing");
}

/*
 * The account's progress policy (docs/policy.md): policy.lua sets it
 * (j->text, "" only reads) and answers the one in force, as
 * {"progress_policy": name}.
 */
static void
ra_policy(struct ra_job *j, redisContext *c)
{
	redisReply *r;
	struct json_out o;

	r = redisCommand(c,
	    "EVAL %s 3 user:%b:key kosyncd:deleting:%b kosyncd:user:%b:policy "
	    "%s %lld",
	    lua_policy, j->user, j->user_len, j->user, j->user_len, j->user,
	    j->user_len, j->text, (long long)j->timestamp);
	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		json_out_init(&o, &j->out, false);
		json_obj_begin(&o);
		json_key(&o, "progress_policy");
		json_strn(&o, r->str, r->len);
		json_obj_end(&o);
		j->result = STORE_OK;
	} else if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
		j->result = STORE_ERR_AUTH;
	} else {
		buf_adds(&j->out, r != NULL && r->type == REDIS_REPLY_ERROR
		                      ? r->str
		                      : "redis: no answer");
		j->result = r == NULL ? STORE_ERR_UNAVAILABLE : STORE_ERR_IO;
	}
	freeReplyObject(r);
}

/*
 * Jobs
 */

static void
ra_work(uv_work_t *w)
{
	struct ra_job *j = w->data;
	redisContext *c;

	j->result = STORE_ERR_UNAVAILABLE;
	c = ra_connect(j->cfg, &j->out);
	if (c == NULL)
		return;
	switch (j->kind) {
	case RA_DUMP:
		ra_dump(j, c);
		break;
	case RA_IMPORT:
		ra_import(j, c);
		break;
	case RA_LIST:
		ra_list(j, c);
		break;
	case RA_SET_KEY:
		ra_set_key(j, c);
		break;
	case RA_POLICY:
		ra_policy(j, c);
		break;
	case RA_DELETE:
		ra_delete(j, c);
		break;
	case RA_WEB_DOCS:
		ra_web_documents(j, c);
		break;
	case RA_WEB_CHANGE:
		ra_web_change(j, c);
		break;
	}
	redisFree(c);
}

static void
ra_after(uv_work_t *w, int status)
{
	struct ra_job *j = w->data;
	struct store_reply rep;

	if (status != 0) {
		j->result = STORE_ERR_UNAVAILABLE;
		buf_reset(&j->out);
	}
	if (j->tcb != NULL) {
		j->tcb(j->arg, j->result, j->out.data, j->out.len);
	} else {
		memset(&rep, 0, sizeof(rep));
		rep.result = j->result;
		if (j->result == STORE_OK)
			rep.timestamp = j->timestamp;
		j->cb(j->arg, &rep);
	}
	if (j->finished != NULL)
		j->finished(j->ctx);
	if (j->key != NULL) {
		sodium_memzero(j->key, j->key_len);
		free(j->key);
	}
	free(j->user);
	free(j->text);
	free(j->doc);
	free(j->page_id);
	free(j->chstr);
	buf_release(&j->out);
	free(j);
}

static void
ra_submit(uv_loop_t *loop, struct ra_job *j)
{
	j->work.data = j;
	if (uv_queue_work(loop, &j->work, ra_work, ra_after) != 0) {
		j->result = STORE_ERR_UNAVAILABLE;
		buf_adds(&j->out, "cannot start the job");
		ra_after(&j->work, 0);
	}
}

static struct ra_job *
ra_new(const struct store_redis_admin *ctx, enum ra_kind kind)
{
	struct ra_job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->cfg = ctx->cfg;
	j->finished = ctx->finished;
	j->ctx = ctx->ctx;
	buf_init(&j->out);
	return j;
}

void
redis_worker_dump(
    const struct store_redis_admin *ctx, store_text_cb *cb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_DUMP);

	j->tcb = cb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

/* Copy page into the job (its id too). */
static void
ra_set_page(struct ra_job *j, const struct store_page *page)
{
	if (page == NULL)
		return;
	j->paged = true;
	j->page = *page;
	j->page_id =
	    xmemdup0(page->id.p != NULL ? page->id.p : "", page->id.len);
	j->page.id = (struct str){j->page_id, page->id.len};
}

void
redis_worker_policy(const struct store_redis_admin *ctx, struct str user,
    const char *policy, store_cb *cb, store_text_cb *tcb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_POLICY);

	j->user = xmemdup0(user.p, user.len);
	j->user_len = user.len;
	j->text = xstrdup(policy != NULL ? policy : "");
	j->timestamp = (int64_t)time(NULL);
	j->cb = cb;
	j->tcb = tcb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

void
redis_worker_list(const struct store_redis_admin *ctx,
    const struct store_page *page, store_text_cb *cb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_LIST);

	ra_set_page(j, page);

	j->tcb = cb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

void
redis_worker_import(const struct store_redis_admin *ctx, const char *text,
    size_t len, store_text_cb *cb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_IMPORT);

	j->text = xmemdup0(text, len);
	j->len = len;
	j->tcb = cb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

void
redis_worker_set_key(const struct store_redis_admin *ctx, struct str user,
    struct str new_key, store_cb *cb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_SET_KEY);

	j->user = xmemdup0(user.p ? user.p : "", user.len);
	j->user_len = user.len;
	j->key = xmemdup0(new_key.p ? new_key.p : "", new_key.len);
	j->key_len = new_key.len;
	j->cb = cb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

void
redis_worker_delete(const struct store_redis_admin *ctx, struct str user,
    store_cb *cb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_DELETE);

	j->user = xmemdup0(user.p ? user.p : "", user.len);
	j->user_len = user.len;
	j->cb = cb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

void
redis_worker_web_documents(const struct store_redis_admin *ctx, struct str user,
    struct str document, bool history, const struct store_page *page,
    store_text_cb *cb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_WEB_DOCS);

	ra_set_page(j, page);

	j->user = xmemdup0(user.p, user.len);
	j->user_len = user.len;
	if (document.p != NULL)
		j->doc = xmemdup0(document.p, document.len);
	j->history = history;
	j->tcb = cb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

void
redis_worker_web_change(const struct store_redis_admin *ctx, struct str user,
    const struct store_web_change *ch, store_cb *cb, void *arg)
{
	struct ra_job *j = ra_new(ctx, RA_WEB_CHANGE);
	char *p;

	j->user = xmemdup0(user.p, user.len);
	j->user_len = user.len;
	j->timestamp = (int64_t)time(NULL);
	j->ch = *ch;
	p = j->chstr =
	    xmalloc(str_packed_size(ch->document) + str_packed_size(ch->alias) +
	            str_packed_size(ch->progress) + str_packed_size(ch->name) +
	            str_packed_size(ch->device_id) + 1);
	j->ch.document = str_pack(&p, ch->document);
	j->ch.alias = str_pack(&p, ch->alias);
	j->ch.progress = str_pack(&p, ch->progress);
	j->ch.name = str_pack(&p, ch->name);
	j->ch.device_id = str_pack(&p, ch->device_id);
	j->cb = cb;
	j->arg = arg;
	ra_submit(ctx->loop, j);
}

/*
 * Import: one document of iu (imported) into Redis, by the file store's
 * rules: added when unknown; when newer, its state replaces ours as a push
 * would (ours goes to the history and the device list); either way its
 * history and device positions are merged (store_merge.h; history even
 * when store_history is off here), its own title taken when it won or ours
 * has none. Ours is loaded into a scratch table,
 * changed there and written back in MULTI/EXEC under WATCH, as the web
 * interface's changes. *result: 1 added, 2 replaced, 0 kept.
 */
static int
ra_import_doc(redisContext *c, const struct config *cfg,
    const struct db_user *iu, const struct db_doc *from, int *result,
    struct buf *err)
{
	static const char *const what[4] = {
	    ":document:", ":meta:", ":devices:", ":history:"};
	const char *id = db_doc_field(from, DB_F_ID);
	struct db db;
	struct db_user *u;
	struct db_doc *ours;
	struct db_put p, *h = NULL, *dv = NULL;
	struct buf k[4];
	const char *argv[5];
	size_t lens[5], nh, nd, i;
	struct store_web_change ch;
	struct change chg;
	/*
	 * History is copied whatever this process's store_history says
	 * (the servers on that Redis may keep it; a copy loses nothing), at
	 * most history_limit entries.
	 */
	struct db_history hs = {true, cfg->history_limit, 0};
	redisReply *r = NULL;
	unsigned queued, tries;
	uint64_t bytes0, history0;
	bool changed, had_name;
	int rc = -1;

	for (i = 0; i < 4; i++) {
		buf_init(&k[i]);
		ra_key(&k[i], i != 0, iu->name, what[i], id);
	}
	for (tries = 0; tries < RA_WEB_TRIES; tries++) {
		db_init(&db);
		u = db_user_add(&db, str_from(iu->name), STR_LIT(""));
		ra_arg(argv, lens, 0, "WATCH");
		for (i = 0; i < 4; i++)
			ra_arg(argv, lens, (int)(1 + i), k[i].data);
		if (ra_do(c, err, 5, argv, lens) != 0)
			goto fail;
		{
			struct ra_name nm = {
			    (char *)(uintptr_t)iu->name, (char *)(uintptr_t)id};

			if (ra_dump_doc(c, &db, u, &nm, err) != 0)
				goto fail;
		}
		ours = db_doc_find_exact(u, str_from(id));
		bytes0 = u->bytes;
		history0 = u->history;
		had_name = ours != NULL && ours->len[DB_F_PRETTY_NAME] > 0;
		*result = ours == NULL                        ? 1
		          : ours->timestamp < from->timestamp ? 2
		                                              : 0;
		changed = *result != 0;
		if (*result != 0) {
			memset(&p, 0, sizeof(p));
			p.document = str_from(id);
			p.percentage = from->percentage;
			p.timestamp = from->timestamp;
#define F(f) ((struct str){db_doc_field(from, f), from->len[f]})
			p.progress = F(DB_F_PROGRESS);
			p.device = F(DB_F_DEVICE);
			p.device_id = F(DB_F_DEVICE_ID);
			if (from->len[DB_F_FILENAME] > 0)
				p.filename = F(DB_F_FILENAME);
			if (from->len[DB_F_TITLE] > 0)
				p.title = F(DB_F_TITLE);
			if (from->len[DB_F_AUTHORS] > 0)
				p.authors = F(DB_F_AUTHORS);
#undef F
			memset(&chg, 0, sizeof(chg));
			chg.kind = CHANGE_PUT;
			chg.user = str_from(iu->name);
			chg.put = p;
			chg.history = hs;
			change_apply_user(&db, u, &chg);
			ours = db_doc_find(u, str_from(id));
		}
		store_merge_lists_of(&hs, from, &h, &nh, &dv, &nd);
		if (store_merge_lists(&hs, u, ours, h, nh, dv, nd, true))
			changed = true;
		free(h);
		free(dv);
		h = dv = NULL;
		if (from->len[DB_F_PRETTY_NAME] > 0 &&
		    (*result != 0 || !had_name) &&
		    strcmp(db_doc_field(ours, DB_F_PRETTY_NAME),
		        db_doc_field(from, DB_F_PRETTY_NAME)) != 0) {
			/* The web interface's own rename. */
			memset(&ch, 0, sizeof(ch));
			ch.kind = STORE_WEB_RENAME;
			ch.document = str_from(id);
			ch.name =
			    (struct str){db_doc_field(from, DB_F_PRETTY_NAME),
			        from->len[DB_F_PRETTY_NAME]};
			webops_change_of(str_from(iu->name), &ch, 0, &hs, &chg);
			change_apply_user(&db, u, &chg);
			changed = true;
		}
		if (!changed) {
			freeReplyObject(redisCommand(c, "UNWATCH"));
			db_release(&db);
			rc = 0;
			goto out;
		}
		queued = 0;
		redisAppendCommand(c, "MULTI");
		queued++;
		ra_usage_incr(c, u, bytes0, history0, &queued);
		ra_web_write_doc(c, u, id, &queued);
		redisAppendCommand(c, "EXEC");
		queued++;
		if (ra_replies(c, queued, &r, err) != 0)
			goto fail;
		db_release(&db);
		if (r != NULL && r->type != REDIS_REPLY_NIL) {
			rc = 0;
			goto out;
		}
		freeReplyObject(r);
		r = NULL;
	}
	buf_adds(err, "redis: a document kept changing during the import");
	goto out;
fail:
	freeReplyObject(redisCommand(c, "UNWATCH"));
	db_release(&db);
out:
	freeReplyObject(r);
	for (i = 0; i < 4; i++)
		buf_release(&k[i]);
	return rc;
}
