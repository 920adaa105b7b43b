/*
 * store_redis.c: the "redis" backend of store.h.
 *
 * Users and progress live in Redis in the official server's layout
 * (docs/protocol.md §7.1), in database cfg->redis_db:
 *   user:<name>:key              string: the key (verbatim, or an argon2id
 *                                PHC string when redis_hash_keys is on)
 *   user:<name>:document:<doc>   hash: percentage (%.14g), progress, device,
 *                                device_id (only once sent), timestamp
 * and what only kosyncd keeps, in keys the official server never reads:
 *   kosyncd:user:<name>:history:<doc>  list of JSON states, oldest first
 *   kosyncd:user:<name>:devices:<doc>  hash "id:<device_id>" (or
 *                                      "device:<device>") -> JSON state
 *   kosyncd:user:<name>:meta:<doc>     hash filename, title, authors
 *   kosyncd:user:<name>:admin          "1": an administrator of the web
 *                                      interface (set only while the
 *                                      account exists; deleted with it)
 * Names and document ids never contain ':' (the API refuses them), so no
 * user's keys can be confused with another's.
 *
 * Every change is one Lua script that first compares user:<name>:key with
 * the value we expect (the client's key, or the PHC string it verified
 * against), so a deleted or re-keyed account is never revived by a late
 * write; on a mismatch the script returns the stored value, which may be a
 * PHC string to verify (then the script runs again with it). Reads pipeline
 * GET of the key with the HMGETs: one round trip. Registration is SETNX
 * (in a script that first checks for a tombstone). Deletion removes the
 * key and sets the tombstone kosyncd:deleting:<name> in one script, then
 * SCANs (never KEYS) for the user's other keys, deletes them in batches and
 * removes the tombstone; a registration that finds the tombstone (the walk
 * was cut short) finishes the walk first, so no new account ever sees an
 * old one's data.
 *
 * A verbatim key verified while redis_hash_keys is on is replaced by its
 * PHC string in the background (ROP_UPGRADE), only if still unchanged.
 * The administration operations are in redis_worker.c.
 *
 * Nothing kept in memory can make another instance wrong: the only cache
 * maps a user (at most RS_CACHE_MAX, then some are forgotten) to the stored
 * PHC string last verified, the digest of the key and the result, and the
 * stored string is read in the same round trip (or re-checked by the script)
 * every time, so a changed key misses it.
 *
 * Connection: one hiredis async connection on the loop (redis_conn.c). The
 * handshake (AUTH, SELECT, SCRIPT LOAD) is pipelined; operations that
 * arrive while the first attempt is under way wait for it. While Redis is
 * unreachable every operation answers STORE_ERR_UNAVAILABLE at once and a
 * timer reconnects with back-off. A connection that answers nothing for
 * RS_TIMEOUT_MS while commands are pending is dropped; TCP keep-alive
 * notices a dead peer while idle (so /metrics says so without traffic).
 *
 * Not here: HTTP (api.c), argon2 itself (keyhash.c).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sodium.h>

#include "config.h"
#include "keyhash.h"
#include "log.h"
#include "luascripts.h"
#include "policy.h"
#include "redis_conn.h"
#include "redis_format.h"
#include "redis_worker.h"
#include "store_backend.h"
#include "table.h"
#include "xmalloc.h"

#define RS_TIMEOUT_MS 2000   /* reply slower: drop (connect: redis_conn) */
#define RS_TICK_MS 100       /* watchdog and retry timer period */
#define RS_TRIES 3           /* script runs per op (key re-checks) */
#define RS_SCAN_COUNT "1000" /* keys looked at per SCAN call */
#define RS_CACHE_MAX 65536   /* users in the verified-key cache */
#define RS_NKEYS 7           /* struct rop's k[] */
#define RS_CONFIG_KEY "kosyncd:config"
#define RS_CONFIG_MS 1000 /* how often the shared configuration is read */

/*
 * The scripts of the protocol's operations, in src/lua/ (embedded at build
 * time by scripts/embed-lua; each file says what it takes and returns).
 * Each first checks user:<name>:key (KEYS[1]) against ARGV[1] and returns
 * {0, stored} when it differs, {1, ...} when done.
 */
enum rs_script {
	RS_PUT,
	RS_SETKEY,
	RS_DELETE,
	RS_PURGE,
	RS_CREATE,
	RS_NSCRIPTS
};

static const char *const rs_scripts[RS_NSCRIPTS] = {
    lua_put, lua_setkey, lua_delete, lua_purge, lua_create};

/*
 * The verified-key cache: per user (by digest of the name), the stored PHC
 * string last verified and the digest of the key it was verified with.
 */
struct rs_cached {
	uint32_t hash;
	bool ok; /* the key matched */
	unsigned char user[KEYHASH_DIGEST_BYTES];
	unsigned char key[KEYHASH_DIGEST_BYTES];
	char phc[];
};

struct redis_store {
	struct store base;
	uv_loop_t *loop;
	struct config *cfg;
	struct keyhash *keys;
	/* since: connect start, or last sign of life; failing: the last
	 * attempt failed, do not park operations */
	struct redis_conn conn;
	bool closing; /* flushing: new operations are refused */
	bool freed;   /* store_close: callbacks are not called any more */
	uv_timer_t timer;
	uint64_t down_since; /* loop time the connection was lost, or 0 */
	uint64_t connects;   /* handshakes completed */
	uint64_t failures;   /* connections lost or attempts failed */
	uint64_t config_at;  /* loop time of the last configuration read */
	bool config_asked;   /* an HGETALL of RS_CONFIG_KEY is in flight */
	unsigned pending;    /* commands on ac without a reply yet */
	unsigned handshake;  /* handshake replies still expected */
	unsigned live;       /* operations not answered yet */
	unsigned background; /* key upgrades in flight */
	struct rop *park_head, *park_tail;
	char sha[RS_NSCRIPTS][41];
	struct table cache;   /* struct rs_cached by user digest */
	uint32_t cache_clock; /* where eviction looks next */
	struct store_redis_admin admin;
	void (*flush_done)(void *arg);
	void *flush_arg;
	char *addr; /* for messages */
};

enum rop_kind {
	ROP_CREATE,
	ROP_AUTH,
	ROP_DELETE,
	ROP_SET_KEY,
	ROP_PUT,
	ROP_GET,
	ROP_UPGRADE, /* background: replace a verbatim key by its PHC */
};

struct rop;
typedef void rop_verified_fn(struct rop *op, bool ok);

struct rop {
	struct redis_store *rs;
	enum rop_kind kind;
	struct str user;
	struct str key;
	struct str new_key;
	struct str document;
	struct store_push push;
	store_cb *cb;
	void *arg;
	struct rop *next; /* parked */
	struct buf ukey;  /* user:<name>:key */
	struct buf tomb;  /* kosyncd:deleting:<name> */
	/* document, history, devices, meta, links and index keys */
	struct buf k[RS_NKEYS];
	char *expect; /* what the script compares the stored key with */
	char *value;  /* create / set key: the value to store */
	unsigned tries;
	bool use_eval; /* NOSCRIPT seen: send the script itself */
	int64_t timestamp;
	char pct[32];
	char ts[24];
	rop_verified_fn *verified;
	bool digested; /* udigest and kdigest are set (rop_digest) */
	unsigned char udigest[KEYHASH_DIGEST_BYTES];
	unsigned char kdigest[KEYHASH_DIGEST_BYTES];
	/* GET: the pipelined replies. */
	unsigned sent, got;
	enum store_result err; /* STORE_OK while every reply was fine */
	char *stored;
	bool has_doc;
	char *f[5];  /* percentage, progress, device, device_id, timestamp */
	char *m[3];  /* filename, title, authors */
	char *canon; /* the document the one asked for is linked to */
	bool linked; /* reading canon's record (second round trip) */
	bool guard;  /* the account's policy is guard: note the pull */
	/* DELETE: the scan. */
	char cursor[32];
	struct buf pattern;
	char strings[];
};

static void rop_start(struct rop *op);
static void rs_config_read(struct redis_store *rs);
static void rs_flush_check(struct redis_store *rs);
static const struct store_ops redis_store_ops;
static int rs_command(struct store *st, store_command_fn *fn, void *priv,
    int argc, const char **argv, const size_t *lens);

/*
 * Connection
 */

/* Some reply arrived on the current connection. */
static void
rs_replied(struct redis_store *rs)
{
	if (rs->pending > 0)
		rs->pending--;
	rs->conn.since = uv_now(rs->loop);
}

/* Send a command on the current connection. Returns 0 or -1. */
static int
rs_send(struct redis_store *rs, redisCallbackFn *fn, void *priv, int argc,
    const char **argv, const size_t *lens)
{
	if (rs->conn.ac == NULL || redisAsyncCommandArgv(rs->conn.ac, fn, priv,
	                               argc, argv, lens) != REDIS_OK)
		return -1;
	if (rs->pending++ == 0)
		rs->conn.since = uv_now(rs->loop);
	return 0;
}

static void
rs_finish_parked(struct redis_store *rs)
{
	struct rop *op, *next;

	op = rs->park_head;
	rs->park_head = rs->park_tail = NULL;
	for (; op != NULL; op = next) {
		next = op->next;
		op->next = NULL;
		rop_start(op);
	}
}

/*
 * redis_conn_lost_fn: the connection is gone (the next attempt planned);
 * parked operations see it DOWN and fail.
 */
static void
rs_lost(struct redis_conn *c, const char *why, bool was_ready, bool was_failing)
{
	struct redis_store *rs = c->owner;

	rs->pending = 0;
	rs->handshake = 0;
	if (!rs->freed) {
		if (was_ready)
			log_warnx("redis: lost the connection to %s: %s",
			    rs->addr, why);
		else if (!was_failing)
			log_warnx(
			    "redis: cannot connect to %s: %s", rs->addr, why);
		else
			log_debug(
			    "redis: cannot connect to %s: %s", rs->addr, why);
	}
	if (was_ready || rs->down_since == 0)
		rs->down_since = uv_now(rs->loop);
	rs->failures++;
	rs_finish_parked(rs);
}

/*
 * The configuration kept with the data (store_config_save): the options
 * an operator changes at run time, shared by every instance through the
 * hash RS_CONFIG_KEY, read every RS_CONFIG_MS and applied with source
 * "file" (a flag or the environment still wins).
 */
static const char *const rs_config_names[] = {"disable_registration", "admins"};

/* The names asked to be carried over, to report the others. */
struct rs_admins {
	char *value; /* NUL-terminated; entries point into it */
};

/* store_command_fn of lua_admins: say what became of each entry. */
static void
rs_admins_cb(void *priv, const redisReply *reply)
{
	struct rs_admins *ra = priv;
	struct buf name = BUF_INIT;
	const char *p = ra->value;
	struct str e;
	size_t i;
	bool done;

	if (reply != NULL && reply->type == REDIS_REPLY_NIL)
		goto out;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		log_warnx("redis: cannot retire the option admins in %s "
		          "(tried again later)",
		    RS_CONFIG_KEY);
		goto out;
	}
	while (config_admins_next(&p, &e)) {
		done = false;
		for (i = 0; i < reply->elements; i++)
			if (reply->element[i]->type == REDIS_REPLY_STRING &&
			    reply->element[i]->len == e.len &&
			    memcmp(reply->element[i]->str, e.p, e.len) == 0)
				done = true;
		buf_reset(&name);
		log_escape(&name, e, 64);
		if (done)
			log_info("admins: '%s' is an administrator (a flag on "
			         "the account now)",
			    name.data);
		else
			log_warnx("admins: '%s' names no account: not an "
			          "administrator (kosyncd user admin NAME on, "
			          "once the account exists)",
			    name.data);
	}
out:
	buf_release(&name);
	free(ra->value);
	free(ra);
}

/* Carry the option admins (value, as read) over to account flags. */
static void
rs_admins_retire(struct redis_store *rs, const char *value, size_t len)
{
	struct rs_admins *ra = xmalloc(sizeof(*ra));
	const char **argv = NULL;
	size_t *lens = NULL, n = 0, cap = 8;
	const char *p;
	struct str e;

	ra->value = xmemdup0(value, len);
	argv = xcalloc(cap, sizeof(*argv));
	lens = xcalloc(cap, sizeof(*lens));
	argv[n] = "EVAL";
	lens[n++] = 4;
	argv[n] = lua_admins;
	lens[n++] = strlen(lua_admins);
	argv[n] = "1";
	lens[n++] = 1;
	argv[n] = RS_CONFIG_KEY;
	lens[n++] = sizeof(RS_CONFIG_KEY) - 1;
	argv[n] = ra->value;
	lens[n++] = len;
	p = ra->value;
	while (config_admins_next(&p, &e)) {
		if (n == cap) {
			cap *= 2;
			argv = xrealloc(argv, cap * sizeof(*argv));
			lens = xrealloc(lens, cap * sizeof(*lens));
		}
		argv[n] = e.p;
		lens[n++] = e.len;
	}
	if (rs_command((struct store *)rs, rs_admins_cb, ra, (int)n, argv,
	        lens) != 0) {
		free(ra->value);
		free(ra);
	}
	free(argv);
	free(lens);
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_config_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_store *rs = priv;
	const redisReply *reply = r;
	struct buf err = BUF_INIT, now = BUF_INIT;
	size_t i, n;

	if (ac == rs->conn.ac)
		rs_replied(rs);
	rs->config_asked = false;
	if (rs->freed || reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i + 1 < reply->elements; i += 2) {
		const redisReply *k = reply->element[i],
		                 *v = reply->element[i + 1];
		char *value;

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		for (n = 0; n < sizeof(rs_config_names) / sizeof(char *); n++)
			if (strlen(rs_config_names[n]) == k->len &&
			    memcmp(rs_config_names[n], k->str, k->len) == 0)
				break;
		if (n == sizeof(rs_config_names) / sizeof(char *))
			continue;
		/* Retired: carried over to account flags, never applied. */
		if (strcmp(rs_config_names[n], "admins") == 0) {
			if (v->len > 0)
				rs_admins_retire(rs, v->str, v->len);
			continue;
		}
		buf_reset(&now);
		config_value(rs->cfg, rs_config_names[n], &now);
		if (now.len == v->len && memcmp(now.data, v->str, v->len) == 0)
			continue;
		value = xmemdup0(v->str, v->len);
		buf_reset(&err);
		if (config_set(rs->cfg, rs_config_names[n], value,
		        CONFIG_SRC_FILE, &err) != 0)
			log_warnx("redis: %s: %s", RS_CONFIG_KEY, err.data);
		free(value);
	}
	buf_release(&err);
	buf_release(&now);
}

static void
rs_config_read(struct redis_store *rs)
{
	const char *argv[2] = {"HGETALL", RS_CONFIG_KEY};
	size_t lens[2] = {7, sizeof(RS_CONFIG_KEY) - 1};

	rs->config_at = uv_now(rs->loop);
	if (rs->config_asked || rs->freed)
		return;
	if (rs_send(rs, rs_config_cb, rs, 2, argv, lens) == 0)
		rs->config_asked = true;
}

struct rs_save {
	store_text_cb *cb;
	void *arg;
};

/* store_command_fn of the HSET of rs_config_save. */
static void
rs_config_saved(void *priv, const redisReply *reply)
{
	struct rs_save *sv = priv;

	sv->cb(sv->arg,
	    reply == NULL                      ? STORE_ERR_UNAVAILABLE
	    : reply->type == REDIS_REPLY_ERROR ? STORE_ERR_IO
	                                       : STORE_OK,
	    "", 0);
	free(sv);
}

/* Write the options whose value came from the data ("file"). */
static void
rs_config_save(struct store *st, store_text_cb *cb, void *arg)
{
	struct redis_store *rs = (struct redis_store *)st;
	struct buf v[sizeof(rs_config_names) / sizeof(char *)];
	const char *argv[2 + 2 * sizeof(rs_config_names) / sizeof(char *)];
	size_t lens[2 + 2 * sizeof(rs_config_names) / sizeof(char *)], i;
	int argc = 2;
	struct rs_save *sv;

	argv[0] = "HSET";
	argv[1] = RS_CONFIG_KEY;
	lens[0] = 4;
	lens[1] = sizeof(RS_CONFIG_KEY) - 1;
	for (i = 0; i < sizeof(rs_config_names) / sizeof(char *); i++) {
		buf_init(&v[i]);
		if (config_source_of(rs->cfg, rs_config_names[i]) !=
		    CONFIG_SRC_FILE)
			continue;
		config_value(rs->cfg, rs_config_names[i], &v[i]);
		argv[argc] = rs_config_names[i];
		lens[argc++] = strlen(rs_config_names[i]);
		argv[argc] = v[i].data != NULL ? v[i].data : "";
		lens[argc++] = v[i].len;
	}
	sv = xmalloc(sizeof(*sv));
	sv->cb = cb;
	sv->arg = arg;
	if (argc == 2) {
		free(sv);
		cb(arg, STORE_OK, "", 0);
	} else if (rs_command(st, rs_config_saved, sv, argc, argv, lens) != 0) {
		free(sv);
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	}
	for (i = 0; i < sizeof(rs_config_names) / sizeof(char *); i++)
		buf_release(&v[i]);
}

static void
rs_ready(struct redis_store *rs)
{
	redis_conn_ready(&rs->conn);
	rs->connects++;
	rs->down_since = 0;
	log_info(
	    "redis: connected to %s, database %u", rs->addr, rs->cfg->redis_db);
	rs_config_read(rs);
	rs_finish_parked(rs);
}

/* A reply to AUTH, SELECT or SCRIPT LOAD (priv: -1, or the script). */
static void
rs_handshake_cb(redisAsyncContext *ac, void *r, void *priv)
{
	const struct redis_conn *c = ac->data;
	struct redis_store *rs = c->owner;
	redisReply *reply = r;
	intptr_t script = (intptr_t)priv;

	if (ac != rs->conn.ac)
		return;
	rs_replied(rs);
	if (reply == NULL)
		return; /* the disconnect callback follows */
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_conn_drop(&rs->conn, reply->str);
		return;
	}
	if (script >= 0) {
		if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
			redis_conn_drop(
			    &rs->conn, "unexpected reply to SCRIPT LOAD");
			return;
		}
		memcpy(rs->sha[script], reply->str, 40);
		rs->sha[script][40] = '\0';
	}
	if (--rs->handshake == 0)
		rs_ready(rs);
}

/* redis_conn_attached_fn: AUTH, SELECT and SCRIPT LOAD, pipelined. */
static void
rs_attached(struct redis_conn *c)
{
	struct redis_store *rs = c->owner;
	const char *argv[3];
	size_t lens[3];
	char db[16];
	int i, n;

	rs->pending = 0;
	rs->handshake = 0;
	if (rs->cfg->redis_password != NULL &&
	    rs->cfg->redis_password[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = rs->cfg->redis_password;
		lens[0] = 4;
		lens[1] = strlen(argv[1]);
		if (rs_send(rs, rs_handshake_cb, (void *)(intptr_t)-1, 2, argv,
		        lens) == 0)
			rs->handshake++;
	}
	n = snprintf(db, sizeof(db), "%u", rs->cfg->redis_db);
	argv[0] = "SELECT";
	argv[1] = db;
	lens[0] = 6;
	lens[1] = (size_t)n;
	if (rs_send(rs, rs_handshake_cb, (void *)(intptr_t)-1, 2, argv, lens) ==
	    0)
		rs->handshake++;
	for (i = 0; i < RS_NSCRIPTS; i++) {
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = rs_scripts[i];
		lens[0] = 6;
		lens[1] = 4;
		lens[2] = strlen(rs_scripts[i]);
		if (rs_send(rs, rs_handshake_cb, (void *)(intptr_t)i, 3, argv,
		        lens) == 0)
			rs->handshake++;
	}
}

/* Every RS_TICK_MS: reconnect when due, drop a silent connection. */
static void
rs_tick(uv_timer_t *t)
{
	struct redis_store *rs = t->data;
	uint64_t now = uv_now(rs->loop);

	if (rs->conn.state != REDIS_CONN_READY)
		redis_conn_tick(&rs->conn, !rs->closing && !rs->freed);
	else if (rs->pending > 0 && now - rs->conn.since > RS_TIMEOUT_MS)
		redis_conn_drop(&rs->conn, "no reply in time");
	else if (now - rs->config_at >= RS_CONFIG_MS)
		rs_config_read(rs);
}

/*
 * Operations
 */

/* Append "<prefix><user><mid><doc>" to b. */
static void
rs_keyname(struct buf *b, const char *prefix, struct str user, const char *mid,
    struct str doc)
{
	buf_adds(b, prefix);
	buf_addstr(b, user);
	buf_adds(b, mid);
	if (doc.p != NULL)
		buf_addstr(b, doc);
}

static struct rop *
rop_new(struct redis_store *rs, enum rop_kind kind, struct str user,
    struct str key, struct str new_key, const struct store_push *push,
    struct str document, store_cb *cb, void *arg)
{
	struct rop *op;
	size_t n = str_packed_size(user) + str_packed_size(key) +
	           str_packed_size(new_key) + str_packed_size(document);
	char *p;
	int i;

	if (push != NULL)
		n += store_push_packed_size(push);
	op = xcalloc(1, sizeof(*op) + n);
	p = op->strings;
	op->rs = rs;
	op->kind = kind;
	op->user = str_pack(&p, user);
	op->key = str_pack(&p, key);
	op->new_key = str_pack(&p, new_key);
	op->document = str_pack(&p, document);
	if (push != NULL) {
		op->push = store_push_pack(&p, push);
		op->document = op->push.document;
	}
	op->cb = cb;
	op->arg = arg;
	buf_init(&op->ukey);
	buf_init(&op->tomb);
	buf_init(&op->pattern);
	for (i = 0; i < RS_NKEYS; i++)
		buf_init(&op->k[i]);
	/* Only the key names this kind of operation uses. */
	rs_keyname(&op->ukey, "user:", op->user, ":key", STR_NULL);
	if (kind == ROP_CREATE || kind == ROP_DELETE)
		rs_keyname(
		    &op->tomb, "kosyncd:deleting:", op->user, "", STR_NULL);
	if (op->document.p != NULL) {
		rs_keyname(
		    &op->k[0], "user:", op->user, ":document:", op->document);
		rs_keyname(&op->k[3], "kosyncd:user:", op->user,
		    ":meta:", op->document);
		rs_keyname(
		    &op->k[4], "kosyncd:user:", op->user, ":links", STR_NULL);
	}
	if (kind == ROP_PUT) {
		rs_keyname(&op->k[1], "kosyncd:user:", op->user,
		    ":history:", op->document);
		rs_keyname(&op->k[2], "kosyncd:user:", op->user,
		    ":devices:", op->document);
		rs_keyname(&op->k[5], "kosyncd:user:", op->user, ":documents",
		    STR_NULL);
		rs_keyname(
		    &op->k[6], "kosyncd:user:", op->user, ":usage", STR_NULL);
	}
	return op;
}

static void
rop_free(struct rop *op)
{
	int i;

	buf_release(&op->ukey);
	buf_release(&op->tomb);
	buf_release(&op->pattern);
	for (i = 0; i < RS_NKEYS; i++)
		buf_release(&op->k[i]);
	free(op->expect);
	if (op->value != NULL) {
		sodium_memzero(op->value, strlen(op->value));
		free(op->value);
	}
	free(op->stored);
	for (i = 0; i < 5; i++)
		free(op->f[i]);
	for (i = 0; i < 3; i++)
		free(op->m[i]);
	free(op->canon);
	free(op);
}

/* Answer op (unless the store is being freed) and free it. */
static void
rop_finish(
    struct rop *op, enum store_result r, int64_t ts, const struct store_doc *d)
{
	struct redis_store *rs = op->rs;
	struct store_reply rep;

	if (!rs->freed && op->cb != NULL) {
		memset(&rep, 0, sizeof(rep));
		rep.result = r;
		rep.timestamp = ts;
		rep.doc = d;
		rep.note_pull =
		    r == STORE_OK && op->kind == ROP_GET && op->guard;
		op->cb(op->arg, &rep);
	}
	if (op->kind == ROP_UPGRADE)
		rs->background--;
	else
		rs->live--;
	rop_free(op);
	rs_flush_check(rs);
}

/* The result of a reply that is not what the op expects. */
static enum store_result
rs_reply_error(const redisReply *reply)
{
	static const char *const transient[] = {"LOADING", "BUSY", "MASTERDOWN",
	    "TRYAGAIN", "NOAUTH", "READONLY", NULL};
	size_t i;

	if (reply == NULL)
		return STORE_ERR_UNAVAILABLE;
	if (reply->type != REDIS_REPLY_ERROR) {
		log_warnx("redis: unexpected reply (type %d)", reply->type);
		return STORE_ERR_IO;
	}
	/* Redis is there but cannot serve yet: as if unreachable. */
	for (i = 0; transient[i] != NULL; i++)
		if (strncmp(reply->str, transient[i], strlen(transient[i])) ==
		    0) {
			log_debug("redis: %s", reply->str);
			return STORE_ERR_UNAVAILABLE;
		}
	log_warnx("redis: %s", reply->str);
	return STORE_ERR_IO;
}

/*
 * Key verification
 */

static uint32_t
rs_cached_hash(const void *rec)
{
	return ((const struct rs_cached *)rec)->hash;
}

static struct str
rs_cached_key(const void *rec)
{
	const struct rs_cached *c = rec;

	return (struct str){(const char *)c->user, KEYHASH_DIGEST_BYTES};
}

static const struct table_type rs_cached_type = {rs_cached_hash, rs_cached_key};

/* The cache's digests of op's user and key (computed when first needed). */
static void
rop_digest(struct rop *op)
{
	if (op->digested)
		return;
	keyhash_digest(op->user, op->udigest);
	keyhash_digest(op->key, op->kdigest);
	op->digested = true;
}

static struct rs_cached *
rs_cache_find(const struct redis_store *rs, const unsigned char *udigest)
{
	struct str k = {(const char *)udigest, KEYHASH_DIGEST_BYTES};

	return table_find(
	    &rs->cache, &rs_cached_type, table_hash(k.p, k.len), k);
}

static void
rs_cache_drop(struct redis_store *rs, const unsigned char *udigest)
{
	struct str k = {(const char *)udigest, KEYHASH_DIGEST_BYTES};

	free(table_remove(
	    &rs->cache, &rs_cached_type, table_hash(k.p, k.len), k));
}

/*
 * Remember that a key (by digest; NULL: op's key) did or did not match phc
 * for op's user.
 */
static void
rs_cache_put(
    struct rop *op, const char *phc, const unsigned char *kdigest, bool ok)
{
	struct redis_store *rs = op->rs;
	struct rs_cached *c;
	size_t len = strlen(phc);

	rop_digest(op);
	if (kdigest == NULL)
		kdigest = op->kdigest;
	rs_cache_drop(rs, op->udigest);
	/* Full: forget some other user (the clock walks the table). */
	while (rs->cache.n >= RS_CACHE_MAX) {
		c = table_next(&rs->cache, &rs->cache_clock);
		if (c == NULL) {
			rs->cache_clock = 0;
			continue;
		}
		rs_cache_drop(rs, c->user);
	}
	c = xmalloc(sizeof(*c) + len + 1);
	memcpy(c->user, op->udigest, KEYHASH_DIGEST_BYTES);
	memcpy(c->key, kdigest, KEYHASH_DIGEST_BYTES);
	memcpy(c->phc, phc, len + 1);
	c->ok = ok;
	c->hash = table_hash((const char *)c->user, KEYHASH_DIGEST_BYTES);
	table_insert(&rs->cache, &rs_cached_type, c);
}

/* The PHC string op's key was verified against, if cached. */
static const char *
rs_cache_expect(struct rop *op)
{
	const struct rs_cached *c;

	if (op->rs->cache.n == 0)
		return NULL;
	rop_digest(op);
	c = rs_cache_find(op->rs, op->udigest);
	if (c != NULL && c->ok && keyhash_digest_eq(c->key, op->kdigest))
		return c->phc;
	return NULL;
}

static void rs_upgrade(struct rop *from);

static void
rs_verify_done(void *arg, enum keyhash_result res, char *phc)
{
	struct rop *op = arg;

	(void)phc;
	if (res == KEYHASH_FAILED) {
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	rs_cache_put(op, op->stored, NULL, res == KEYHASH_OK);
	op->verified(op, res == KEYHASH_OK);
}

/*
 * Verify op's key against stored (NULL: no account), then call then(op,
 * ok); stored is kept in op->stored. A PHC string is checked through the
 * cache or by argon2 on the thread pool; a verbatim key by comparing
 * digests (constant time).
 */
static void
rs_verify(struct rop *op, const char *stored, size_t len, rop_verified_fn *then)
{
	op->verified = then;
	free(op->stored);
	op->stored = stored != NULL ? xmemdup0(stored, len) : NULL;
	if (op->stored == NULL || op->key.len == 0 ||
	    strlen(op->stored) != len) {
		then(op, false);
		return;
	}
	if (!keyhash_is_phc(op->stored)) {
		/* Constant time for keys of one length (KOReader: 32). */
		bool ok = len == op->key.len &&
		          sodium_memcmp(op->stored, op->key.p, len) == 0;

		if (ok && op->rs->cfg->redis_hash_keys &&
		    op->kind != ROP_SET_KEY && op->kind != ROP_DELETE)
			rs_upgrade(op);
		then(op, ok);
		return;
	}
	rop_digest(op);
	{
		const struct rs_cached *c = rs_cache_find(op->rs, op->udigest);

		if (c != NULL && keyhash_digest_eq(c->key, op->kdigest) &&
		    strcmp(c->phc, op->stored) == 0) {
			then(op, c->ok);
			return;
		}
	}
	keyhash_verify(op->rs->keys, op->stored, op->key, rs_verify_done, op);
}

/*
 * Scripts
 */

/* Run script with n keys and m args. Returns 0 or -1 (not sent). */
static int
rs_eval(struct rop *op, enum rs_script script, redisCallbackFn *fn, int nkeys,
    const char **keys, const size_t *klens, int nargs, const char **args,
    const size_t *alens)
{
	const char *argv[40];
	size_t lens[40];
	char nk[12];
	int i, argc = 0;

	assert(3 + nkeys + nargs <= 40);
	if (op->use_eval) {
		argv[argc] = "EVAL";
		lens[argc++] = 4;
		argv[argc] = rs_scripts[script];
		lens[argc++] = strlen(rs_scripts[script]);
	} else {
		argv[argc] = "EVALSHA";
		lens[argc++] = 7;
		argv[argc] = op->rs->sha[script];
		lens[argc++] = 40;
	}
	lens[argc] = (size_t)snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[argc++] = nk;
	for (i = 0; i < nkeys; i++) {
		argv[argc] = keys[i];
		lens[argc++] = klens[i];
	}
	for (i = 0; i < nargs; i++) {
		argv[argc] = args[i];
		lens[argc++] = alens[i];
	}
	return rs_send(op->rs, fn, op, argc, argv, lens);
}

static void rs_script_send(struct rop *op);

static bool
rs_is_noscript(const redisReply *reply)
{
	return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
	       strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

static void rs_script_done(struct rop *op);

/* The stored key the script saw was verified (or not): run it again. */
static void
rs_script_verified(struct rop *op, bool ok)
{
	if (!ok) {
		rop_finish(op, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	free(op->expect);
	op->expect = xstrdup(op->stored);
	rs_script_send(op);
}

/* The reply to a checking script: {1, ...} done, {0, stored} mismatch. */
static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_script_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	struct redis_store *rs = op->rs;
	redisReply *reply = r, *e;

	if (ac == rs->conn.ac)
		rs_replied(rs);
	if (rs_is_noscript(reply) && !op->use_eval) {
		op->use_eval = true;
		rs_script_send(op);
		return;
	}
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 1 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER) {
		rop_finish(op, rs_reply_error(reply), 0, NULL);
		return;
	}
	if (reply->element[0]->integer == 1) {
		rs_script_done(op);
		return;
	}
	if (reply->element[0]->integer == 2) {
		rop_finish(op, STORE_ERR_LIMIT, 0, NULL);
		return;
	}
	if (op->kind == ROP_UPGRADE || ++op->tries >= RS_TRIES) {
		rop_finish(op, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	e = reply->elements > 1 ? reply->element[1] : NULL;
	if (e == NULL || e->type != REDIS_REPLY_STRING) {
		rs_verify(op, NULL, 0, rs_script_verified);
		return;
	}
	rs_verify(op, e->str, e->len, rs_script_verified);
}

static void
rs_script_send(struct rop *op)
{
	const char *keys[1 + RS_NKEYS], *args[22];
	size_t klens[1 + RS_NKEYS], alens[22];
	const char *expect = op->expect ? op->expect : op->key.p;
	const struct config *cfg = op->rs->cfg;
	int i, rc = -1;
	char lim[24], maxd[24], maxb[24], maxh[24], cts[24], who[24], hl[24];

	if (op->rs->conn.state != REDIS_CONN_READY || op->rs->closing) {
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	keys[0] = op->ukey.data;
	klens[0] = op->ukey.len;
	args[0] = expect;
	alens[0] = strlen(expect);
	switch (op->kind) {
	case ROP_PUT:
		for (i = 0; i < RS_NKEYS; i++) {
			keys[i + 1] = op->k[i].data;
			klens[i + 1] = op->k[i].len;
		}
		args[1] = op->pct;
		args[2] = op->push.progress.p;
		args[3] = op->push.device.p;
		args[4] = op->ts;
		args[5] = op->push.device_id.p ? op->push.device_id.p : "";
		args[6] = op->push.device_id.p ? "1" : "0";
		snprintf(lim, sizeof(lim), "%d",
		    op->rs->cfg->store_history ? (int)op->rs->cfg->history_limit
		                               : -1);
		args[7] = lim;
		args[8] = op->push.filename.p ? "1" : "0";
		args[9] = op->push.filename.p ? op->push.filename.p : "";
		args[10] = op->push.title.p ? "1" : "0";
		args[11] = op->push.title.p ? op->push.title.p : "";
		args[12] = op->push.authors.p ? "1" : "0";
		args[13] = op->push.authors.p ? op->push.authors.p : "";
		for (i = 1; i < 14; i++)
			alens[i] = strlen(args[i]);
		alens[2] = op->push.progress.len;
		alens[3] = op->push.device.len;
		if (op->push.device_id.p)
			alens[5] = op->push.device_id.len;
		if (op->push.filename.p)
			alens[9] = op->push.filename.len;
		if (op->push.title.p)
			alens[11] = op->push.title.len;
		if (op->push.authors.p)
			alens[13] = op->push.authors.len;
		args[14] = op->user.p;
		alens[14] = op->user.len;
		args[15] = op->document.p;
		alens[15] = op->document.len;
		snprintf(
		    maxd, sizeof(maxd), "%" PRIu64, cfg->user_max_documents);
		snprintf(maxb, sizeof(maxb), "%" PRIu64, cfg->user_max_bytes);
		snprintf(maxh, sizeof(maxh), "%" PRIu64, cfg->user_max_history);
		args[16] = maxd;
		args[17] = maxb;
		args[18] = maxh;
		/* The progress policy's (put.lua, docs/policy.md). */
		snprintf(cts, sizeof(cts), "%" PRId64, op->push.client_ts);
		snprintf(who, sizeof(who), "%016" PRIx64,
		    policy_client(op->push.peer, op->push.agent));
		snprintf(hl, sizeof(hl), "%u", (unsigned)cfg->history_limit);
		args[19] = cts;
		args[20] = who;
		args[21] = hl;
		for (i = 16; i < 22; i++)
			alens[i] = strlen(args[i]);
		rc = rs_eval(op, RS_PUT, rs_script_cb, 1 + RS_NKEYS, keys,
		    klens, 22, args, alens);
		break;
	case ROP_SET_KEY:
	case ROP_UPGRADE:
		args[1] = op->value;
		alens[1] = strlen(op->value);
		rc = rs_eval(op, RS_SETKEY, rs_script_cb, 1, keys, klens, 2,
		    args, alens);
		break;
	case ROP_DELETE:
		keys[1] = op->tomb.data;
		klens[1] = op->tomb.len;
		rc = rs_eval(op, RS_DELETE, rs_script_cb, 2, keys, klens, 1,
		    args, alens);
		break;
	default:
		abort();
	}
	if (rc != 0)
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
}

/*
 * Deletion: after the key, the user's other keys.
 */

static void rs_scan(struct rop *op);

static void rs_create_send(struct rop *op);

/*
 * The purge could not finish. A deletion has removed the account already
 * and its tombstone keeps the name until the next registration of it
 * finishes the purge; a registration fails.
 */
static void
rs_purge_failed(struct rop *op, enum store_result r)
{
	if (op->kind == ROP_DELETE) {
		log_warnx("redis: account deleted, but not all its data yet; "
		          "registering the name again will finish that");
		r = STORE_OK;
	}
	rop_finish(op, r, 0, NULL);
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_tomb_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	redisReply *reply = r;

	if (ac == op->rs->conn.ac)
		rs_replied(op->rs);
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		rs_purge_failed(op, rs_reply_error(reply));
		return;
	}
	if (op->kind == ROP_CREATE)
		rs_create_send(op);
	else
		rop_finish(op, STORE_OK, 0, NULL);
}

/* Every key is purged: remove the tombstone. */
static void
rs_purge_done(struct rop *op)
{
	const char *argv[2];
	size_t lens[2];

	argv[0] = "DEL";
	argv[1] = op->tomb.data;
	lens[0] = 3;
	lens[1] = op->tomb.len;
	if (op->rs->conn.state != REDIS_CONN_READY ||
	    rs_send(op->rs, rs_tomb_cb, op, 2, argv, lens) != 0)
		rs_purge_failed(op, STORE_ERR_UNAVAILABLE);
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_purge_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	redisReply *reply = r;

	if (ac == op->rs->conn.ac)
		rs_replied(op->rs);
	if (rs_is_noscript(reply) && !op->use_eval) {
		/* The batch is lost: scan again from the start. */
		op->use_eval = true;
		memcpy(op->cursor, "0", 2);
		rs_scan(op);
		return;
	}
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		rs_purge_failed(op, rs_reply_error(reply));
		return;
	}
	if (reply->integer < 0) {
		/* Another walk finished this one's work first. */
		if (op->kind == ROP_CREATE)
			rs_create_send(op);
		else
			rop_finish(op, STORE_OK, 0, NULL);
		return;
	}
	if (strcmp(op->cursor, "0") == 0) {
		rs_purge_done(op);
		return;
	}
	rs_scan(op);
}

static bool
rs_is_users_key(const struct rop *op, const char *k, size_t len)
{
	const char *p = k;
	size_t n = len;

	if (n > 8 && memcmp(p, "kosyncd:", 8) == 0) {
		p += 8;
		n -= 8;
	}
	return n > 5 + op->user.len + 1 && memcmp(p, "user:", 5) == 0 &&
	       memcmp(p + 5, op->user.p, op->user.len) == 0 &&
	       p[5 + op->user.len] == ':';
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_scan_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	redisReply *reply = r, *list;
	const char **argv;
	size_t *lens, i, n = 0;
	char nk[24];
	int rc;

	if (ac == op->rs->conn.ac)
		rs_replied(op->rs);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[0]->len >= sizeof(op->cursor) ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		rs_purge_failed(op, rs_reply_error(reply));
		return;
	}
	memcpy(op->cursor, reply->element[0]->str, reply->element[0]->len);
	op->cursor[reply->element[0]->len] = '\0';
	list = reply->element[1];
	/* EVALSHA sha numkeys tombstone matches... */
	argv = xcalloc(list->elements + 4, sizeof(*argv));
	lens = xcalloc(list->elements + 4, sizeof(*lens));
	for (i = 0; i < list->elements; i++) {
		redisReply *e = list->element[i];

		if (e->type == REDIS_REPLY_STRING &&
		    rs_is_users_key(op, e->str, e->len)) {
			argv[4 + n] = e->str;
			lens[4 + n] = e->len;
			n++;
		}
	}
	if (n == 0) {
		free(argv);
		free(lens);
		if (strcmp(op->cursor, "0") == 0)
			rs_purge_done(op);
		else
			rs_scan(op);
		return;
	}
	argv[0] = op->use_eval ? "EVAL" : "EVALSHA";
	argv[1] = op->use_eval ? lua_purge : op->rs->sha[RS_PURGE];
	snprintf(nk, sizeof(nk), "%zu", n + 1);
	argv[2] = nk;
	argv[3] = op->tomb.data;
	for (i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	rc = op->rs->conn.state == REDIS_CONN_READY
	         ? rs_send(op->rs, rs_purge_cb, op, (int)(n + 4), argv, lens)
	         : -1;
	free(argv);
	free(lens);
	if (rc != 0)
		rs_purge_failed(op, STORE_ERR_UNAVAILABLE);
}

static void
rs_scan(struct rop *op)
{
	const char *argv[6];
	size_t lens[6];

	argv[0] = "SCAN";
	argv[1] = op->cursor;
	argv[2] = "MATCH";
	argv[3] = op->pattern.data;
	argv[4] = "COUNT";
	argv[5] = RS_SCAN_COUNT;
	lens[0] = 4;
	lens[1] = strlen(op->cursor);
	lens[2] = 5;
	lens[3] = op->pattern.len;
	lens[4] = 5;
	lens[5] = strlen(RS_SCAN_COUNT);
	if (op->rs->conn.state != REDIS_CONN_READY ||
	    rs_send(op->rs, rs_scan_cb, op, 6, argv, lens) != 0)
		rs_purge_failed(op, STORE_ERR_UNAVAILABLE);
}

/* "*user:<name>:*" with the glob characters of name escaped. */
static void
rs_scan_start(struct rop *op)
{
	buf_reset(&op->pattern);
	buf_adds(&op->pattern, "*user:");
	store_redis_glob_escape(&op->pattern, op->user);
	buf_adds(&op->pattern, ":*");
	memcpy(op->cursor, "0", 2);
	rs_scan(op);
}

/* A checking script succeeded. */
static void
rs_script_done(struct rop *op)
{
	switch (op->kind) {
	case ROP_PUT:
		rop_finish(op, STORE_OK, op->timestamp, NULL);
		break;
	case ROP_SET_KEY:
		if (keyhash_is_phc(op->value)) {
			unsigned char d[KEYHASH_DIGEST_BYTES];

			keyhash_digest(op->new_key, d);
			rs_cache_put(op, op->value, d, true);
		} else if (op->rs->cache.n > 0) {
			rop_digest(op);
			rs_cache_drop(op->rs, op->udigest);
		}
		rop_finish(op, STORE_OK, 0, NULL);
		break;
	case ROP_UPGRADE:
		rs_cache_put(op, op->value, NULL, true);
		rop_finish(op, STORE_OK, 0, NULL);
		break;
	case ROP_DELETE:
		rs_scan_start(op);
		break;
	default:
		abort();
	}
}

/*
 * Registration and hashing of new keys
 */

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_create_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	redisReply *reply = r;

	if (ac == op->rs->conn.ac)
		rs_replied(op->rs);
	if (rs_is_noscript(reply) && !op->use_eval) {
		op->use_eval = true;
		rs_create_send(op);
		return;
	}
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		rop_finish(op, rs_reply_error(reply), 0, NULL);
		return;
	}
	if (reply->integer < 0) {
		/* A deleted account of this name: finish its purge first. */
		if (++op->tries >= RS_TRIES) {
			rop_finish(op, STORE_ERR_IO, 0, NULL);
			return;
		}
		rs_scan_start(op);
		return;
	}
	if (reply->integer == 1 && keyhash_is_phc(op->value))
		rs_cache_put(op, op->value, NULL, true);
	rop_finish(
	    op, reply->integer == 1 ? STORE_OK : STORE_ERR_EXISTS, 0, NULL);
}

static void
rs_create_send(struct rop *op)
{
	const char *keys[2], *args[1];
	size_t klens[2], alens[1];

	keys[0] = op->ukey.data;
	keys[1] = op->tomb.data;
	klens[0] = op->ukey.len;
	klens[1] = op->tomb.len;
	args[0] = op->value;
	alens[0] = strlen(op->value);
	if (op->rs->conn.state != REDIS_CONN_READY || op->rs->closing ||
	    rs_eval(op, RS_CREATE, rs_create_cb, 2, keys, klens, 1, args,
	        alens) != 0)
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
}

/* The new key (create, set key, upgrade) is hashed: store it. */
static void
rs_hashed(void *arg, enum keyhash_result res, char *phc)
{
	struct rop *op = arg;

	if (res != KEYHASH_OK) {
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	op->value = phc;
	if (op->kind == ROP_CREATE)
		rs_create_send(op);
	else
		rs_script_send(op);
}

/*
 * A verbatim key was verified while redis_hash_keys is on: replace it by
 * its PHC string in the background (only if it is still the same key).
 */
static void
rs_upgrade(struct rop *from)
{
	struct redis_store *rs = from->rs;
	struct rop *op;

	if (rs->closing || rs->freed || rs->background >= 8)
		return;
	op = rop_new(rs, ROP_UPGRADE, from->user, from->key, STR_NULL, NULL,
	    STR_NULL, NULL, NULL);
	op->expect = xstrdup(from->stored);
	rs->background++;
	keyhash_hash(rs->keys, op->key, rs_hashed, op);
}

/*
 * Reads: GET of the key pipelined with the HMGETs.
 */

static char *
rs_dup_reply(const redisReply *e)
{
	if (e == NULL || e->type != REDIS_REPLY_STRING)
		return NULL;
	return xmemdup0(e->str, e->len);
}

static int rs_read_doc_send(struct rop *op);
static int rs_policy_send(struct rop *op);

static void
rs_read_verified(struct rop *op, bool ok)
{
	struct store_doc doc;
	char *end;
	int i;

	if (!ok) {
		rop_finish(op, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	if (op->kind == ROP_GET && op->canon != NULL && !op->linked) {
		/* Merged: read the record it is linked to (the answer keeps
		 * the id asked for). */
		op->linked = true;
		op->has_doc = false;
		for (i = 0; i < 5; i++) {
			free(op->f[i]);
			op->f[i] = NULL;
		}
		for (i = 0; i < 3; i++) {
			free(op->m[i]);
			op->m[i] = NULL;
		}
		buf_reset(&op->k[0]);
		buf_reset(&op->k[3]);
		rs_keyname(&op->k[0], "user:", op->user,
		    ":document:", str_from(op->canon));
		rs_keyname(&op->k[3], "kosyncd:user:", op->user,
		    ":meta:", str_from(op->canon));
		if (op->rs->conn.state != REDIS_CONN_READY ||
		    rs_read_doc_send(op) != 0)
			op->err = STORE_ERR_UNAVAILABLE;
		if (op->got == op->sent)
			rop_finish(op, op->err, 0, NULL);
		return;
	}
	if (op->kind == ROP_AUTH || !op->has_doc) {
		rop_finish(op, STORE_OK, 0, NULL);
		return;
	}
	memset(&doc, 0, sizeof(doc));
	doc.document = op->document.p;
	doc.percentage = op->f[0] ? strtod(op->f[0], &end) : 0;
	doc.progress = op->f[1] ? op->f[1] : "";
	doc.device = op->f[2] ? op->f[2] : "";
	doc.device_id = op->f[3] ? op->f[3] : "";
	doc.timestamp = op->f[4] ? (int64_t)strtoll(op->f[4], &end, 10) : 0;
	doc.metadata.filename = op->m[0] && op->m[0][0] ? op->m[0] : NULL;
	doc.metadata.title = op->m[1] && op->m[1][0] ? op->m[1] : NULL;
	doc.metadata.authors = op->m[2] && op->m[2][0] ? op->m[2] : NULL;
	rop_finish(op, STORE_OK, 0, &doc);
}

/* Keep the fields of the HMGET reply of step 2 (document) or 3 (meta). */
static void
rs_read_fields(struct rop *op, unsigned step, const redisReply *reply)
{
	size_t i;

	for (i = 0; i < reply->elements && i < (step == 2 ? 5 : 3); i++) {
		if (step == 2) {
			op->f[i] = rs_dup_reply(reply->element[i]);
			if (op->f[i] != NULL)
				op->has_doc = true;
		} else {
			op->m[i] = rs_dup_reply(reply->element[i]);
		}
	}
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_read_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	redisReply *reply = r;
	/* Steps: 0 GET key, 1 HGET link, 2 the progress policy, 3 document,
	 * 4 meta; the second round trip of a linked document repeats 3 and
	 * 4. */
	unsigned step = op->linked ? op->got++ - 2 : op->got++;

	if (ac == op->rs->conn.ac)
		rs_replied(op->rs);
	if (op->err == STORE_OK) {
		if (reply == NULL || reply->type == REDIS_REPLY_ERROR ||
		    (step <= 2 && reply->type != REDIS_REPLY_STRING &&
		        reply->type != REDIS_REPLY_NIL) ||
		    (step > 2 && reply->type != REDIS_REPLY_ARRAY))
			op->err = rs_reply_error(reply);
		else if (step == 0)
			op->stored = rs_dup_reply(reply);
		else if (step == 1)
			op->canon = rs_dup_reply(reply);
		else if (step == 2)
			op->guard = reply->type == REDIS_REPLY_STRING &&
			            reply->len == 5 &&
			            memcmp(reply->str, "guard", 5) == 0;
		else
			rs_read_fields(op, step - 1, reply);
	}
	if (op->got < op->sent)
		return;
	if (op->err != STORE_OK) {
		rop_finish(op, op->err, 0, NULL);
		return;
	}
	if (op->linked) {
		rs_read_verified(op, true);
		return;
	}
	{
		char *stored = op->stored;

		op->stored = NULL;
		rs_verify(
		    op, stored, stored ? strlen(stored) : 0, rs_read_verified);
		free(stored);
	}
}

static void
rs_read_send(struct rop *op)
{
	const char *argv[7];
	size_t lens[7];

	argv[0] = "GET";
	argv[1] = op->ukey.data;
	lens[0] = 3;
	lens[1] = op->ukey.len;
	if (rs_send(op->rs, rs_read_cb, op, 2, argv, lens) != 0) {
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	op->sent = 1;
	if (op->kind != ROP_GET)
		return;
	argv[0] = "HGET";
	argv[1] = op->k[4].data;
	argv[2] = op->document.p;
	lens[0] = 4;
	lens[1] = op->k[4].len;
	lens[2] = op->document.len;
	if (rs_send(op->rs, rs_read_cb, op, 3, argv, lens) != 0 ||
	    (op->sent++, rs_policy_send(op)) != 0 ||
	    (op->sent++, rs_read_doc_send(op)) != 0)
		op->err = STORE_ERR_UNAVAILABLE;
}

/*
 * The account's progress policy, pipelined with a pull (docs/policy.md):
 * a guard account's reply asks the caller to note the pull. Returns 0 or
 * -1.
 */
static int
rs_policy_send(struct rop *op)
{
	struct buf k = BUF_INIT;
	const char *argv[3];
	size_t lens[3];
	int rc;

	rs_keyname(&k, "kosyncd:user:", op->user, ":policy", STR_NULL);
	argv[0] = "HGET";
	argv[1] = k.data;
	argv[2] = "policy";
	lens[0] = 4;
	lens[1] = k.len;
	lens[2] = 6;
	rc = rs_send(op->rs, rs_read_cb, op, 3, argv, lens);
	buf_release(&k);
	return rc;
}

/* The HMGETs of the document and its metadata. Returns 0 or -1. */
static int
rs_read_doc_send(struct rop *op)
{
	const char *argv[7];
	size_t lens[7];

	argv[0] = "HMGET";
	argv[1] = op->k[0].data;
	argv[2] = "percentage";
	argv[3] = "progress";
	argv[4] = "device";
	argv[5] = "device_id";
	argv[6] = "timestamp";
	lens[0] = 5;
	lens[1] = op->k[0].len;
	lens[2] = 10;
	lens[3] = 8;
	lens[4] = 6;
	lens[5] = 9;
	lens[6] = 9;
	if (rs_send(op->rs, rs_read_cb, op, 7, argv, lens) != 0)
		return -1;
	op->sent++;
	argv[1] = op->k[3].data;
	argv[2] = "filename";
	argv[3] = "title";
	argv[4] = "authors";
	lens[1] = op->k[3].len;
	lens[2] = 8;
	lens[3] = 5;
	lens[4] = 7;
	if (rs_send(op->rs, rs_read_cb, op, 5, argv, lens) != 0)
		return -1;
	op->sent++;
	return 0;
}

/*
 * Dispatch
 */

static void
rop_run(struct rop *op)
{
	struct redis_store *rs = op->rs;
	const char *expect;
	long long ts;

	switch (op->kind) {
	case ROP_CREATE:
		if (rs->cfg->redis_hash_keys) {
			keyhash_hash(rs->keys, op->key, rs_hashed, op);
			return;
		}
		op->value = xmemdup0(op->key.p, op->key.len);
		rs_create_send(op);
		return;
	case ROP_AUTH:
	case ROP_GET:
		rs_read_send(op);
		return;
	case ROP_PUT:
		op->timestamp = (int64_t)time(NULL);
		ts = (long long)op->timestamp;
		snprintf(op->ts, sizeof(op->ts), "%lld", ts);
		store_redis_format_percentage(
		    op->pct, sizeof(op->pct), op->push.percentage);
		break;
	default:
		break;
	}
	/* Changes: expect the PHC string the key was last verified with. */
	expect = rs_cache_expect(op);
	if (expect != NULL)
		op->expect = xstrdup(expect);
	if (op->kind == ROP_SET_KEY) {
		if (rs->cfg->redis_hash_keys) {
			keyhash_hash(rs->keys, op->new_key, rs_hashed, op);
			return;
		}
		op->value = xmemdup0(op->new_key.p, op->new_key.len);
	}
	rs_script_send(op);
}

static void
rop_start(struct rop *op)
{
	struct redis_store *rs = op->rs;

	if (rs->closing || rs->freed) {
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	switch (rs->conn.state) {
	case REDIS_CONN_READY:
		rop_run(op);
		break;
	case REDIS_CONN_CONNECTING:
		if (!rs->conn.failing) {
			op->next = NULL;
			if (rs->park_tail != NULL)
				rs->park_tail->next = op;
			else
				rs->park_head = op;
			rs->park_tail = op;
			break;
		}
		/* FALLTHROUGH */
	case REDIS_CONN_DOWN:
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		break;
	}
}

static void
rs_submit(struct redis_store *rs, enum rop_kind kind, struct str user,
    struct str key, struct str new_key, const struct store_push *push,
    struct str document, store_cb *cb, void *arg)
{
	struct store_reply rep;
	struct rop *op;

	/* Down: answer at once, without allocating. */
	if (rs->closing || rs->conn.state == REDIS_CONN_DOWN ||
	    (rs->conn.state == REDIS_CONN_CONNECTING && rs->conn.failing)) {
		memset(&rep, 0, sizeof(rep));
		rep.result = STORE_ERR_UNAVAILABLE;
		cb(arg, &rep);
		return;
	}
	op = rop_new(rs, kind, user, key, new_key, push, document, cb, arg);
	rs->live++;
	rop_start(op);
}

/*
 * The ops table
 */

static void
rs_user_create(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	rs_submit((struct redis_store *)st, ROP_CREATE, user, key, STR_NULL,
	    NULL, STR_NULL, cb, arg);
}

static void
rs_user_auth(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	rs_submit((struct redis_store *)st, ROP_AUTH, user, key, STR_NULL, NULL,
	    STR_NULL, cb, arg);
}

static void
rs_user_delete(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	rs_submit((struct redis_store *)st, ROP_DELETE, user, key, STR_NULL,
	    NULL, STR_NULL, cb, arg);
}

static void
rs_user_set_key(struct store *st, struct str user, struct str key,
    struct str new_key, store_cb *cb, void *arg)
{
	struct store_reply rep;

	if (new_key.p == NULL || new_key.len == 0) {
		memset(&rep, 0, sizeof(rep));
		rep.result = STORE_ERR_AUTH;
		cb(arg, &rep);
		return;
	}
	rs_submit((struct redis_store *)st, ROP_SET_KEY, user, key, new_key,
	    NULL, STR_NULL, cb, arg);
}

static void
rs_progress_put(struct store *st, struct str user, struct str key,
    const struct store_push *push, store_cb *cb, void *arg)
{
	rs_submit((struct redis_store *)st, ROP_PUT, user, key, STR_NULL, push,
	    STR_NULL, cb, arg);
}

static void
rs_progress_get(struct store *st, struct str user, struct str key,
    struct str document, store_cb *cb, void *arg)
{
	rs_submit((struct redis_store *)st, ROP_GET, user, key, STR_NULL, NULL,
	    document, cb, arg);
}

/*
 * Life cycle
 */

static void
rs_drained(void *arg)
{
	struct redis_store *rs = arg;
	void (*done)(void *) = rs->flush_done;

	rs->flush_done = NULL;
	if (done != NULL)
		done(rs->flush_arg);
}

/* Flushing and nothing in flight any more: drain argon2, then done. */
static void
rs_flush_check(struct redis_store *rs)
{
	if (!rs->closing || rs->flush_done == NULL || rs->live > 0 ||
	    rs->background > 0 || rs->freed)
		return;
	keyhash_drain(rs->keys, rs_drained, rs);
}

static void
rs_flush(struct store *st, void (*done)(void *arg), void *arg)
{
	struct redis_store *rs = (struct redis_store *)st;

	rs->closing = true;
	rs->flush_done = done;
	rs->flush_arg = arg;
	rs_finish_parked(rs);
	rs_flush_check(rs);
}

static void
rs_free(struct redis_store *rs)
{
	struct rs_cached *c;
	uint32_t pos = 0;

	keyhash_free(rs->keys);
	while ((c = table_next(&rs->cache, &pos)) != NULL)
		free(c);
	table_release(&rs->cache);
	redis_conn_release(&rs->conn);
	free(rs->addr);
	free(rs);
}

static void
rs_timer_closed(uv_handle_t *h)
{
	rs_free(h->data);
}

static void
rs_close(struct store *st)
{
	struct redis_store *rs = (struct redis_store *)st;

	rs->freed = true;
	rs->closing = true;
	rs_finish_parked(rs);
	redis_conn_drop(&rs->conn, "closed");
	uv_close((uv_handle_t *)&rs->timer, rs_timer_closed);
}

/*
 * Raw commands for the shared state of several instances (store.h
 * store_command).
 */

struct rs_raw {
	struct redis_store *rs;
	store_command_fn *fn;
	void *priv;
};

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_raw_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rs_raw *raw = priv;
	struct redis_store *rs = raw->rs;
	const redisReply *reply = r;

	if (ac == rs->conn.ac)
		rs_replied(rs);
	rs->live--;
	if (!rs->freed)
		raw->fn(raw->priv, reply);
	free(raw);
	rs_flush_check(rs);
}

static int
rs_command(struct store *st, store_command_fn *fn, void *priv, int argc,
    const char **argv, const size_t *lens)
{
	struct redis_store *rs = (struct redis_store *)st;
	struct rs_raw *raw;

	if (st == NULL || st->ops != &redis_store_ops || rs->closing ||
	    rs->conn.state != REDIS_CONN_READY)
		return -1;
	raw = xmalloc(sizeof(*raw));
	raw->rs = rs;
	raw->fn = fn;
	raw->priv = priv;
	if (rs_send(rs, rs_raw_cb, raw, argc, argv, lens) != 0) {
		free(raw);
		return -1;
	}
	rs->live++;
	return 0;
}

/*
 * Administration (redis_worker.c): counted as live operations so
 * that a flush waits for them.
 */

static void
rs_admin_finished(void *ctx)
{
	struct redis_store *rs = ctx;

	rs->live--;
	rs_flush_check(rs);
}

static const struct store_redis_admin *
rs_admin(struct redis_store *rs)
{
	rs->admin.loop = rs->loop;
	rs->admin.cfg = rs->cfg;
	rs->admin.finished = rs_admin_finished;
	rs->admin.ctx = rs;
	rs->live++;
	return &rs->admin;
}

static void
rs_admin_dump(struct store *st, store_text_cb *cb, void *arg)
{
	redis_worker_dump(rs_admin((struct redis_store *)st), cb, arg);
}

static void
rs_admin_list(struct store *st, const struct store_page *page,
    store_text_cb *cb, void *arg)
{
	redis_worker_list(rs_admin((struct redis_store *)st), page, cb, arg);
}

static void
rs_admin_import(struct store *st, const char *text, size_t len,
    store_text_cb *cb, void *arg)
{
	redis_worker_import(
	    rs_admin((struct redis_store *)st), text, len, cb, arg);
}

static void
rs_admin_set_key(struct store *st, struct str user, struct str new_key,
    store_cb *cb, void *arg)
{
	redis_worker_set_key(
	    rs_admin((struct redis_store *)st), user, new_key, cb, arg);
}

static void
rs_admin_delete(struct store *st, struct str user, store_cb *cb, void *arg)
{
	redis_worker_delete(rs_admin((struct redis_store *)st), user, cb, arg);
}

static void
rs_stats(struct store *st, struct store_stats *out)
{
	struct redis_store *rs = (struct redis_store *)st;

	out->redis_known = true;
	out->redis_up = rs->conn.state == REDIS_CONN_READY;
	out->redis_reconnects = rs->connects > 0 ? rs->connects - 1 : 0;
	out->redis_failures = rs->failures;
	if (!out->redis_up && rs->down_since != 0)
		out->redis_down_seconds =
		    (uv_now(rs->loop) - rs->down_since) / 1000;
}

static void
rs_web_documents(struct store *st, struct str user, struct str document,
    bool history, const struct store_page *page, store_text_cb *cb, void *arg)
{
	redis_worker_web_documents(rs_admin((struct redis_store *)st), user,
	    document, history, page, cb, arg);
}

struct rs_admin_op {
	store_cb *cb;
	void *arg;
};

/* store_command_fn of lua_admin_get. */
static void
rs_admin_cb(void *priv, const redisReply *reply)
{
	struct rs_admin_op *op = priv;
	struct store_reply rep;

	memset(&rep, 0, sizeof(rep));
	if (reply == NULL)
		rep.result = STORE_ERR_UNAVAILABLE;
	else if (reply->type != REDIS_REPLY_INTEGER)
		rep.result = STORE_ERR_IO;
	else if (reply->integer == 1)
		rep.result = STORE_OK;
	else
		rep.result = STORE_ERR_NOTFOUND;
	op->cb(op->arg, &rep);
	free(op);
}

/*
 * EVAL of script (sent whole: the rare operations) with the nk keys k and
 * the na strings args, on the current connection (rs_command). Returns 0,
 * or -1 when it could not be sent.
 */
static int
rs_eval_text(struct store *st, const char *script, const struct buf *k, int nk,
    const char *const *args, int na, store_command_fn *fn, void *priv)
{
	const char *argv[8];
	size_t lens[8];
	char n[4];
	int i, argc = 0;

	assert(3 + nk + na <= 8);
	argv[argc] = "EVAL";
	lens[argc++] = 4;
	argv[argc] = script;
	lens[argc++] = strlen(script);
	lens[argc] = (size_t)snprintf(n, sizeof(n), "%d", nk);
	argv[argc++] = n;
	for (i = 0; i < nk; i++) {
		argv[argc] = k[i].data;
		lens[argc++] = k[i].len;
	}
	for (i = 0; i < na; i++) {
		argv[argc] = args[i];
		lens[argc++] = strlen(args[i]);
	}
	return rs_command(st, fn, priv, argc, argv, lens);
}

static void
rs_user_admin(struct store *st, struct str user, store_cb *cb, void *cbarg)
{
	struct buf k[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
	struct rs_admin_op *op = xmalloc(sizeof(*op));
	struct store_reply rep;
	int i;

	op->cb = cb;
	op->arg = cbarg;
	rs_keyname(&k[0], "user:", user, ":key", STR_NULL);
	rs_keyname(&k[1], "kosyncd:deleting:", user, "", STR_NULL);
	rs_keyname(&k[2], "kosyncd:user:", user, ":admin", STR_NULL);
	if (rs_eval_text(st, lua_admin_get, k, 3, NULL, 0, rs_admin_cb, op) !=
	    0) {
		free(op);
		memset(&rep, 0, sizeof(rep));
		rep.result = STORE_ERR_UNAVAILABLE;
		cb(cbarg, &rep);
	}
	for (i = 0; i < 3; i++)
		buf_release(&k[i]);
}

/*
 * Progress policy (docs/policy.md): kosyncd:user:<name>:policy, set and
 * read by policy.lua (on a worker, redis_worker_policy); put.lua decides
 * with it; pulled.lua notes the pulls of a guard account
 * (kosyncd:user:<name>:pulls, at most RS_PULLS_MAX fields).
 */
#define RS_PULLS_MAX 1024

static void
rs_policy_set(
    struct store *st, struct str user, unsigned policy, store_cb *cb, void *arg)
{
	redis_worker_policy(rs_admin((struct redis_store *)st), user,
	    policy_name(policy), cb, NULL, arg);
}

static void
rs_policy_get(struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	redis_worker_policy(
	    rs_admin((struct redis_store *)st), user, NULL, NULL, cb, arg);
}

static void
rs_pulled_cb(void *priv, const redisReply *reply)
{
	(void)priv;
	(void)reply;
}

/*
 * A guard account's pull: noted in Redis, best effort, no answer awaited.
 * The field is <client>:<document>; the document may hold any byte but
 * NUL, which the protocol refuses.
 */
static void
rs_progress_pulled(
    struct store *st, struct str user, struct str document, uint64_t client)
{
	struct buf k[2] = {BUF_INIT, BUF_INIT}, field = BUF_INIT;
	char now[24], max[24];
	const char *args[3];
	int i;

	rs_keyname(&k[0], "kosyncd:user:", user, ":pulls", STR_NULL);
	rs_keyname(&k[1], "kosyncd:user:", user, ":policy", STR_NULL);
	buf_addf(&field, "%016" PRIx64 ":", client);
	buf_add(&field, document.p, document.len);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(max, sizeof(max), "%d", RS_PULLS_MAX);
	args[0] = field.data;
	args[1] = now;
	args[2] = max;
	(void)rs_eval_text(st, lua_pulled, k, 2, args, 3, rs_pulled_cb, NULL);
	for (i = 0; i < 2; i++)
		buf_release(&k[i]);
	buf_release(&field);
}

static void
rs_web_change(struct store *st, struct str user,
    const struct store_web_change *ch, store_cb *cb, void *arg)
{
	struct store_reply rep;

	if (ch->kind == STORE_WEB_CONFIG) {
		/* Nothing to record: rs_config_save writes the options. */
		memset(&rep, 0, sizeof(rep));
		cb(arg, &rep);
		return;
	}
	/* Promotion is not on Redis yet (docs/policy.md). */
	if (ch->kind == STORE_WEB_PROMOTE) {
		memset(&rep, 0, sizeof(rep));
		rep.result = STORE_ERR_UNAVAILABLE;
		cb(arg, &rep);
		return;
	}
	redis_worker_web_change(
	    rs_admin((struct redis_store *)st), user, ch, cb, arg);
}

static const struct store_ops redis_store_ops = {
    .name = "redis",
    .flush = rs_flush,
    .close = rs_close,
    .user_create = rs_user_create,
    .user_auth = rs_user_auth,
    .user_delete = rs_user_delete,
    .user_set_key = rs_user_set_key,
    .progress_put = rs_progress_put,
    .progress_get = rs_progress_get,
    .admin_user_set_key = rs_admin_set_key,
    .admin_user_delete = rs_admin_delete,
    .admin_user_list = rs_admin_list,
    .admin_dump = rs_admin_dump,
    .admin_import = rs_admin_import,
    .config_save = rs_config_save,
    .stats = rs_stats,
    .web_documents = rs_web_documents,
    .web_change = rs_web_change,
    .policy_set = rs_policy_set,
    .policy_get = rs_policy_get,
    .progress_pulled = rs_progress_pulled,
    .user_admin = rs_user_admin,
    .command = rs_command,
    .config_home = "redis",
};

struct store *
store_redis_open(uv_loop_t *loop, struct config *cfg)
{
	struct redis_store *rs = xcalloc(1, sizeof(*rs));

	rs->base.ops = &redis_store_ops;
	rs->loop = loop;
	rs->cfg = cfg;
	if (redis_conn_init(&rs->conn, loop, cfg->redis_address, true,
	        rs_attached, rs_lost, rs) != 0) {
		log_warnx("invalid redis_address '%s'", cfg->redis_address);
		free(rs);
		return NULL;
	}
	rs->addr = xstrdup(cfg->redis_address);
	rs->keys = keyhash_new(loop,
	    (unsigned)(cfg->argon2_concurrency ? cfg->argon2_concurrency : 2));
	uv_timer_init(loop, &rs->timer);
	rs->timer.data = rs;
	uv_timer_start(&rs->timer, rs_tick, RS_TICK_MS, RS_TICK_MS);
	redis_conn_connect(&rs->conn);
	return &rs->base;
}
