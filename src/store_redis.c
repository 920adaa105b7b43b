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
 *   kosyncd:user:<name>:credentials    hash: device credentials, id ->
 *                                      JSON, and devices_only
 *   kosyncd:user:<name>:credentials-used  hash: id -> JSON of the last use
 *   kosyncd:user:<name>:events         hash webhooks, feed (events out,
 *                                      docs/webhooks.md)
 *   kosyncd:feed:<token>               the name of the account whose
 *                                      feed token it is (checked against
 *                                      the hash when read)
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
 * Nothing kept in memory can make another instance wrong: one cache maps
 * a user (at most RS_CACHE_MAX, then some are forgotten) to the stored
 * PHC string last verified, the digest of the key and the result, and the
 * stored string is read in the same round trip (or re-checked by the script)
 * every time, so a changed key misses it. The other (rs->credc) maps a user
 * and key to the device credential they were verified for, whose record
 * is read or checked the same way, so a revocation anywhere refuses the key
 * at once (docs/devices.md); or to "none of the live ones", kept only while
 * the live credentials stay the same.
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

#include "auth.h"
#include "config.h"
#include "db.h"
#include "json.h"
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
 * A device credential's last use (and an audit entry like the previous
 * one) is written at most this often per credential by one instance: a
 * sync is never a write more for it (docs/devices.md).
 */
#define RS_USED_MS 60000
#define RS_USED_SLOTS 4096 /* credentials whose last write is remembered */
/* The credentials' cache's key: the digests of the user and the key. */
#define RS_UK_BYTES ((size_t)2 * KEYHASH_DIGEST_BYTES)

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
 * The device credentials' cache (docs/devices.md): per user and key (by
 * their digests), the credential the key was verified for and its PHC
 * string, which every use checks again in the same round trip (so a
 * revocation through any instance holds at once); or, with id "", that
 * the key matched none of the live credentials whose ids and PHC strings
 * hash to fp (a credential added or revoked since changes fp).
 */
struct rs_credc {
	uint32_t hash;
	unsigned char uk[RS_UK_BYTES];
	unsigned char fp[crypto_generichash_BYTES];
	char id[DB_DEVCRED_ID_MAX + 1];
	char phc[];
};

/* The live credentials of a user while a key is compared with them. */
struct rs_cands {
	size_t n, i;
	char **id, **phc;
	unsigned char fp[crypto_generichash_BYTES];
};

/* A raw command waiting for the first connection (rs_when_ready). */
struct rs_wait {
	void (*fn)(void *arg);
	void *arg;
	struct rs_wait *next;
};

/* When one instance last wrote a credential's use (RS_USED_MS). */
struct rs_used {
	uint64_t tag; /* of the user and id; 0: free */
	uint64_t at;  /* loop time of the write */
	uint64_t what;
};

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
	struct rs_wait *wait_head; /* rs_when_ready, newest first */
	char sha[RS_NSCRIPTS][41];
	struct table cache;   /* struct rs_cached by user digest */
	uint32_t cache_clock; /* where eviction looks next */
	struct table credc;   /* struct rs_credc by user and key digests */
	uint32_t credc_clock;
	struct rs_used *used; /* RS_USED_SLOTS */
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
	ROP_SIGNIN,  /* ROP_AUTH for the web: the account key only */
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
	/* Device credentials (AUTH, GET, PUT). */
	bool devices_only; /* the account key does not sign in */
	bool acct;         /* reads: the account exists */
	bool cred_looked;  /* the live credentials were compared */
	char cred[DB_DEVCRED_ID_MAX + 1]; /* the one the key is ("": none) */
	char *cred_phc;                   /* its PHC string, when cached */
	char *cred_rec;                   /* its record, read with the key */
	struct buf ckey;                  /* kosyncd:user:<name>:credentials */
	struct rs_cands *cands;
	rop_verified_fn *cred_then;
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
	struct rs_wait *w, *wnext;

	w = rs->wait_head;
	rs->wait_head = NULL;
	for (; w != NULL; w = wnext) {
		wnext = w->next;
		w->fn(w->arg);
		free(w);
	}

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
	buf_init(&op->ckey);
	for (i = 0; i < RS_NKEYS; i++)
		buf_init(&op->k[i]);
	/* Only the key names this kind of operation uses. */
	rs_keyname(&op->ukey, "user:", op->user, ":key", STR_NULL);
	if (kind == ROP_AUTH || kind == ROP_SIGNIN || kind == ROP_GET ||
	    kind == ROP_PUT)
		rs_keyname(&op->ckey, "kosyncd:user:", op->user, ":credentials",
		    STR_NULL);
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
rs_cands_free(struct rs_cands *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->id[i]);
		free(c->phc[i]);
	}
	free(c->id);
	free(c->phc);
	free(c);
}

static void
rop_free(struct rop *op)
{
	int i;

	buf_release(&op->ckey);
	free(op->cred_phc);
	free(op->cred_rec);
	rs_cands_free(op->cands);
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
		if (r == STORE_OK && op->cred[0] != '\0')
			rep.devcred = op->cred;
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
 * Device credentials (docs/devices.md): a key that is not the account's
 * (or any key while the account has devices_only on) is compared with the
 * account's live credentials, read from kosyncd:user:<name>:credentials,
 * each with argon2id on the thread pool until one matches; the result is
 * kept in rs->credc. The protocol's reads fetch the cached credential's
 * record in their one round trip and the push script checks it, so a
 * revocation through any instance refuses the key at once.
 */

static uint32_t
rs_credc_hash(const void *rec)
{
	return ((const struct rs_credc *)rec)->hash;
}

static struct str
rs_credc_key(const void *rec)
{
	const struct rs_credc *c = rec;

	return (struct str){(const char *)c->uk, sizeof(c->uk)};
}

static const struct table_type rs_credc_type = {rs_credc_hash, rs_credc_key};

/* Into uk: op's key in the credentials' cache (its digests). */
static void
rs_credc_uk(struct rop *op, unsigned char *uk)
{
	rop_digest(op);
	memcpy(uk, op->udigest, KEYHASH_DIGEST_BYTES);
	memcpy(uk + KEYHASH_DIGEST_BYTES, op->kdigest, KEYHASH_DIGEST_BYTES);
}

/*
 * op's entry in the credentials' cache, or NULL; uk is set to its key
 * unless the cache is empty (no digest is made for nothing then).
 */
static struct rs_credc *
rs_credc_find(struct rop *op, unsigned char *uk)
{
	struct str k = {(const char *)uk, RS_UK_BYTES};

	if (op->rs->credc.n == 0)
		return NULL;
	rs_credc_uk(op, uk);
	return table_find(
	    &op->rs->credc, &rs_credc_type, table_hash(k.p, k.len), k);
}

static void
rs_credc_drop(struct redis_store *rs, const unsigned char *uk)
{
	struct str k = {(const char *)uk, RS_UK_BYTES};

	free(table_remove(
	    &rs->credc, &rs_credc_type, table_hash(k.p, k.len), k));
}

/*
 * Remember that op's key is credential id (phc), or with id "" that it is
 * none of the live credentials fp was computed from.
 */
static void
rs_credc_put(
    struct rop *op, const char *id, const char *phc, const unsigned char *fp)
{
	struct redis_store *rs = op->rs;
	unsigned char uk[RS_UK_BYTES];
	struct rs_credc *c;
	size_t len = strlen(phc);

	if (rs_credc_find(op, uk) != NULL)
		rs_credc_drop(rs, uk);
	rs_credc_uk(op, uk);
	while (rs->credc.n >= RS_CACHE_MAX) {
		c = table_next(&rs->credc, &rs->credc_clock);
		if (c == NULL) {
			rs->credc_clock = 0;
			continue;
		}
		rs_credc_drop(rs, c->uk);
	}
	c = xcalloc(1, sizeof(*c) + len + 1);
	memcpy(c->uk, uk, sizeof(uk));
	if (fp != NULL)
		memcpy(c->fp, fp, sizeof(c->fp));
	snprintf(c->id, sizeof(c->id), "%s", id);
	memcpy(c->phc, phc, len + 1);
	c->hash = table_hash((const char *)c->uk, sizeof(c->uk));
	table_insert(&rs->credc, &rs_credc_type, c);
}

/* Before the first round trip: the credential op's key was verified for. */
static void
rs_cred_cached(struct rop *op)
{
	unsigned char uk[RS_UK_BYTES];
	const struct rs_credc *c = rs_credc_find(op, uk);

	if (c == NULL || c->id[0] == '\0')
		return;
	memcpy(op->cred, c->id, sizeof(op->cred));
	op->cred_phc = xstrdup(c->phc);
}

/*
 * Whether the cached credential's record, as read with the account's key,
 * still holds the PHC string it was verified with (else it was revoked:
 * forget it).
 */
static bool
rs_cred_still(struct rop *op)
{
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root;
	unsigned char uk[RS_UK_BYTES];
	struct str k = STR_NULL;
	bool ok;

	if (op->cred[0] == '\0')
		return false;
	if (op->cred_rec != NULL) {
		root = json_parse(op->cred_rec, strlen(op->cred_rec),
		    json_arena_alloc, &a, NULL);
		if (root != NULL && root->type == JSON_OBJECT)
			k = json_get_str(root, "key");
	}
	ok = k.p != NULL && op->cred_phc != NULL &&
	     strcmp(k.p, op->cred_phc) == 0;
	json_arena_release(&a);
	if (!ok) {
		if (rs_credc_find(op, uk) != NULL)
			rs_credc_drop(op->rs, uk);
		op->cred[0] = '\0';
	}
	return ok;
}

static void rs_cred_next(struct rop *op);

static void
rs_cred_verified(void *arg, enum keyhash_result res, char *phc)
{
	struct rop *op = arg;
	struct rs_cands *c = op->cands;

	(void)phc;
	if (res == KEYHASH_FAILED) {
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	if (res == KEYHASH_MISMATCH) {
		c->i++;
		rs_cred_next(op);
		return;
	}
	snprintf(op->cred, sizeof(op->cred), "%s", c->id[c->i]);
	free(op->expect);
	op->expect = xstrdup(c->phc[c->i]);
	rs_credc_put(op, op->cred, op->expect, NULL);
	rs_cands_free(c);
	op->cands = NULL;
	op->cred_then(op, true);
}

/* Compare op's key with the next candidate; none left: a mismatch. */
static void
rs_cred_next(struct rop *op)
{
	struct rs_cands *c = op->cands;

	if (c->i < c->n) {
		keyhash_verify(
		    op->rs->keys, c->phc[c->i], op->key, rs_cred_verified, op);
		return;
	}
	rs_credc_put(op, "", "", c->fp);
	rs_cands_free(c);
	op->cands = NULL;
	op->cred_then(op, false);
}

/* Add credential id (record rec) to c when it is live. */
static void
rs_cands_add(struct rs_cands *c, const redisReply *id, const redisReply *rec)
{
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root;
	unsigned char h[crypto_generichash_BYTES];
	crypto_generichash_state st;
	struct str k = STR_NULL;
	size_t i;

	if (id->type != REDIS_REPLY_STRING || rec->type != REDIS_REPLY_STRING ||
	    id->len == 0 || id->len > DB_DEVCRED_ID_MAX ||
	    memchr(id->str, '\0', id->len) != NULL)
		return;
	root = json_parse(rec->str, rec->len, json_arena_alloc, &a, NULL);
	if (root != NULL && root->type == JSON_OBJECT)
		k = json_get_str(root, "key");
	if (k.p != NULL && keyhash_is_phc(k.p)) {
		c->id = xrealloc(c->id, (c->n + 1) * sizeof(*c->id));
		c->phc = xrealloc(c->phc, (c->n + 1) * sizeof(*c->phc));
		c->id[c->n] = xmemdup0(id->str, id->len);
		c->phc[c->n] = xmemdup0(k.p, k.len);
		/* fp: the XOR of each one's hash, whatever the order. */
		crypto_generichash_init(&st, NULL, 0, sizeof(h));
		crypto_generichash_update(
		    &st, (const unsigned char *)id->str, id->len + 1);
		crypto_generichash_update(
		    &st, (const unsigned char *)k.p, k.len);
		crypto_generichash_final(&st, h, sizeof(h));
		for (i = 0; i < sizeof(h); i++)
			c->fp[i] ^= h[i];
		c->n++;
	}
	json_arena_release(&a);
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_cred_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	const redisReply *reply = r;
	unsigned char uk[RS_UK_BYTES];
	const struct rs_credc *cached;
	struct rs_cands *c;
	size_t i;

	if (ac == op->rs->conn.ac)
		rs_replied(op->rs);
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		rop_finish(op, rs_reply_error(reply), 0, NULL);
		return;
	}
	c = op->cands = xcalloc(1, sizeof(*c));
	for (i = 0; i + 1 < reply->elements; i += 2)
		rs_cands_add(c, reply->element[i], reply->element[i + 1]);
	cached = rs_credc_find(op, uk);
	if (c->n == 0 ||
	    (cached != NULL && cached->id[0] == '\0' &&
	        sodium_memcmp(cached->fp, c->fp, sizeof(c->fp)) == 0)) {
		rs_cands_free(c);
		op->cands = NULL;
		op->cred_then(op, false);
		return;
	}
	rs_cred_next(op);
}

/*
 * Compare op's key with the account's live credentials (once per
 * operation), then call then(op, matched); on a match op->cred is the
 * credential and op->expect its PHC string. Not for the web sign-in, nor
 * for a read of an account that does not exist.
 */
static void
rs_cred_lookup(struct rop *op, rop_verified_fn *then)
{
	const char *argv[2] = {"HGETALL", op->ckey.data};
	size_t lens[2] = {7, op->ckey.len};

	if (op->kind == ROP_SIGNIN || op->cred_looked || op->key.len == 0 ||
	    (op->kind != ROP_PUT && !op->acct)) {
		then(op, false);
		return;
	}
	op->cred_looked = true;
	op->cred_then = then;
	op->cred[0] = '\0';
	if (op->rs->conn.state != REDIS_CONN_READY ||
	    rs_send(op->rs, rs_cred_cb, op, 2, argv, lens) != 0)
		rop_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
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

/* A push's key was compared with the credentials: run the script. */
static void
rs_script_cred(struct rop *op, bool ok)
{
	if (!ok) {
		rop_finish(op, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	rs_script_send(op);
}

/* The stored key the script saw was verified (or not): run it again. */
static void
rs_script_verified(struct rop *op, bool ok)
{
	if (!ok && op->kind == ROP_PUT) {
		rs_cred_lookup(op, rs_script_cred);
		return;
	}
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
	if (reply->element[0]->integer == 3) {
		/* A revoked credential, or the account key of an account
		 * with devices_only: the key may be another credential. */
		if (op->cred[0] != '\0') {
			unsigned char uk[RS_UK_BYTES];

			if (rs_credc_find(op, uk) != NULL)
				rs_credc_drop(rs, uk);
		}
		rs_cred_lookup(op, rs_script_cred);
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
	const char *keys[1 + RS_NKEYS], *args[23];
	size_t klens[1 + RS_NKEYS], alens[23];
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
		args[22] = op->cred;
		for (i = 16; i < 23; i++)
			alens[i] = strlen(args[i]);
		rc = rs_eval(op, RS_PUT, rs_script_cb, 1 + RS_NKEYS, keys,
		    klens, 23, args, alens);
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
	if (op->kind != ROP_GET || !op->has_doc) {
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

/* Keep the fields of the HMGET reply of step 3 (document) or 4 (meta). */
static void
rs_read_fields(struct rop *op, unsigned step, const redisReply *reply)
{
	size_t i;

	for (i = 0; i < reply->elements && i < (step == 3 ? 5 : 3); i++) {
		if (step == 3) {
			op->f[i] = rs_dup_reply(reply->element[i]);
			if (op->f[i] != NULL)
				op->has_doc = true;
		} else {
			op->m[i] = rs_dup_reply(reply->element[i]);
		}
	}
}

/* Keep the HMGET reply of step 1: devices_only, the cached credential. */
static void
rs_read_creds(struct rop *op, const redisReply *reply)
{
	if (reply->elements > 0 &&
	    reply->element[0]->type == REDIS_REPLY_STRING)
		op->devices_only = true;
	if (reply->elements > 1)
		op->cred_rec = rs_dup_reply(reply->element[1]);
}

/* A read's key is not the account key: it may be a credential. */
static void
rs_read_account(struct rop *op, bool ok)
{
	if (ok)
		rs_read_verified(op, true);
	else
		rs_cred_lookup(op, rs_read_verified);
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
rs_read_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct rop *op = priv;
	redisReply *reply = r;
	/* Steps: 0 GET key, 1 HMGET credentials, 2 HGET link, 3 the progress
	 * policy, 4 document, 5 meta; the second round trip of a linked
	 * document repeats 4 and 5. */
	unsigned step = op->linked ? op->got++ - 2 : op->got++;
	bool scalar = step == 0 || step == 2 || step == 3;

	if (ac == op->rs->conn.ac)
		rs_replied(op->rs);
	if (op->err == STORE_OK) {
		if (reply == NULL || reply->type == REDIS_REPLY_ERROR ||
		    (scalar && reply->type != REDIS_REPLY_STRING &&
		        reply->type != REDIS_REPLY_NIL) ||
		    (!scalar && reply->type != REDIS_REPLY_ARRAY))
			op->err = rs_reply_error(reply);
		else if (step == 0)
			op->stored = rs_dup_reply(reply);
		else if (step == 1)
			rs_read_creds(op, reply);
		else if (step == 2)
			op->canon = rs_dup_reply(reply);
		else if (step == 3)
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
		op->acct = stored != NULL;
		if (op->acct && op->kind != ROP_SIGNIN && rs_cred_still(op)) {
			free(stored);
			rs_read_verified(op, true);
		} else if (op->devices_only && op->kind != ROP_SIGNIN) {
			free(stored);
			rs_cred_lookup(op, rs_read_verified);
		} else {
			rs_verify(op, stored, stored ? strlen(stored) : 0,
			    rs_read_account);
			free(stored);
		}
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
	/* The credentials: devices_only, and the cached one's record. */
	if (op->kind != ROP_SIGNIN)
		rs_cred_cached(op);
	argv[0] = "HMGET";
	argv[1] = op->ckey.data;
	argv[2] = "devices_only";
	argv[3] = op->cred;
	lens[0] = 5;
	lens[1] = op->ckey.len;
	lens[2] = 12;
	lens[3] = strlen(op->cred);
	if (rs_send(op->rs, rs_read_cb, op, op->cred[0] ? 4 : 3, argv, lens) !=
	    0) {
		op->err = STORE_ERR_UNAVAILABLE;
		return;
	}
	op->sent++;
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
	case ROP_SIGNIN:
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
	if (expect != NULL) {
		op->expect = xstrdup(expect);
	} else if (op->kind == ROP_PUT) {
		/* Or the device credential's (the script checks it). */
		rs_cred_cached(op);
		if (op->cred_phc != NULL)
			op->expect = xstrdup(op->cred_phc);
	}
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
rs_user_signin(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	rs_submit((struct redis_store *)st, ROP_SIGNIN, user, key, STR_NULL,
	    NULL, STR_NULL, cb, arg);
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
	struct rs_credc *cc;
	uint32_t pos = 0;

	keyhash_free(rs->keys);
	while ((c = table_next(&rs->cache, &pos)) != NULL)
		free(c);
	table_release(&rs->cache);
	pos = 0;
	while ((cc = table_next(&rs->credc, &pos)) != NULL)
		free(cc);
	table_release(&rs->credc);
	free(rs->used);
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
	redis_worker_web_change(
	    rs_admin((struct redis_store *)st), user, ch, cb, arg);
}

/*
 * Device credentials: the administration of them (store.h
 * store_device_change, store_device_list, store_device_used), each one
 * script on the store's connection (src/lua/devices.lua, dev-*.lua).
 */

/*
 * Call fn(arg) once the connection is ready or has failed: at once, or
 * when the first attempt under way ends (the commands of an offline
 * administration command arrive before it).
 */
static void
rs_when_ready(struct redis_store *rs, void (*fn)(void *arg), void *arg)
{
	struct rs_wait *w;

	if (rs->conn.state != REDIS_CONN_CONNECTING || rs->conn.failing ||
	    rs->closing) {
		fn(arg);
		return;
	}
	w = xmalloc(sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	w->next = rs->wait_head;
	rs->wait_head = w;
}

/*
 * The keys of the device scripts, as devices.lua lists them, and the
 * device names' (devnames.lua) last.
 */
#define RS_DEVICE_NKEYS 6
static void
rs_device_keys(struct buf k[RS_DEVICE_NKEYS], struct str user)
{
	int i;

	for (i = 0; i < RS_DEVICE_NKEYS; i++)
		buf_init(&k[i]);
	rs_keyname(&k[0], "user:", user, ":key", STR_NULL);
	rs_keyname(&k[1], "kosyncd:deleting:", user, "", STR_NULL);
	rs_keyname(&k[2], "kosyncd:user:", user, ":credentials", STR_NULL);
	rs_keyname(&k[3], "kosyncd:user:", user, ":credentials-used", STR_NULL);
	rs_keyname(&k[4], "kosyncd:user:", user, ":audit:", STR_NULL);
	rs_keyname(&k[5], "kosyncd:user:", user, ":devnames", STR_NULL);
}

/*
 * EVAL script with the device keys of user and nargs args. Returns 0, or
 * -1 (fn never called) when the store is not connected.
 */
static int
rs_device_eval(struct redis_store *rs, const char *script, struct str user,
    int nargs, const char **args, const size_t *alens, store_command_fn *fn,
    void *priv)
{
	struct buf k[RS_DEVICE_NKEYS];
	const char *argv[3 + RS_DEVICE_NKEYS + 8];
	size_t lens[3 + RS_DEVICE_NKEYS + 8];
	int i, argc = 0, rc;

	assert(nargs <= 8);
	rs_device_keys(k, user);
	argv[argc] = "EVAL";
	lens[argc++] = 4;
	argv[argc] = script;
	lens[argc++] = strlen(script);
	argv[argc] = "6";
	lens[argc++] = 1;
	for (i = 0; i < RS_DEVICE_NKEYS; i++) {
		argv[argc] = k[i].data;
		lens[argc++] = k[i].len;
	}
	for (i = 0; i < nargs; i++) {
		argv[argc] = args[i];
		lens[argc++] = alens[i];
	}
	rc = rs_command(&rs->base, fn, priv, argc, argv, lens);
	for (i = 0; i < RS_DEVICE_NKEYS; i++)
		buf_release(&k[i]);
	return rc;
}

/* A change in flight (its strings copied). */
struct rs_dev {
	struct redis_store *rs;
	enum store_device_kind kind;
	struct str user, id, label, key;
	char newid[AUTH_DEVICE_ID_LEN + 1];
	char *phc; /* ADD: the hashed key */
	unsigned tries;
	store_cb *cb;
	void *arg;
	char strings[];
};

static void
rs_dev_finish(struct rs_dev *d, enum store_result r)
{
	struct store_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = r;
	if (r == STORE_OK && d->kind != STORE_DEVICES_ONLY)
		rep.devcred = d->kind == STORE_DEVICE_ADD ? d->newid : d->id.p;
	if (!d->rs->freed)
		d->cb(d->arg, &rep);
	free(d->phc);
	free(d);
}

static void rs_dev_send(void *arg);

/* store_command_fn of devices.lua. */
static void
rs_dev_cb(void *priv, const redisReply *reply)
{
	struct rs_dev *d = priv;

	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		rs_dev_finish(d, rs_reply_error(reply));
		return;
	}
	switch (reply->integer) {
	case 1:
		rs_dev_finish(d, STORE_OK);
		break;
	case 2:
		rs_dev_finish(d, STORE_ERR_LIMIT);
		break;
	case -1:
		rs_dev_finish(d, STORE_ERR_AUTH);
		break;
	default:
		/* ADD: the id is taken (try another); else no such one. */
		if (d->kind == STORE_DEVICE_ADD && ++d->tries < RS_TRIES)
			rs_dev_send(d);
		else
			rs_dev_finish(d, d->kind == STORE_DEVICE_ADD
			                     ? STORE_ERR_IO
			                     : STORE_ERR_NOTFOUND);
		break;
	}
}

/*
 * devnames.lua's arguments after the key (args[1]) for d, a NAME or
 * FORGET: the name or the time t, and the most names (written into max).
 */
static void
rs_devname_args(const struct rs_dev *d, const char *t, char max[8],
    const char **args, size_t *alens)
{
	snprintf(max, 8, "%d", DB_DEVNAMES_MAX);
	args[0] = d->kind == STORE_DEVICE_NAME ? "name" : "forget";
	args[2] = d->kind == STORE_DEVICE_NAME ? d->label.p : t;
	alens[2] = d->kind == STORE_DEVICE_NAME ? d->label.len : strlen(t);
	args[3] = max;
	alens[3] = strlen(max);
}

static void
rs_dev_send(void *arg)
{
	struct rs_dev *d = arg;
	/* args[0] set: gcc 12 for arm64 cannot see every kind sets it */
	const char *args[4] = {""};
	size_t alens[4];
	struct buf rec = BUF_INIT;
	struct json_out o;
	char t[24], max[8];
	int n = 2, rc;

	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	args[1] = d->id.p;
	alens[1] = d->id.len;
	switch (d->kind) {
	case STORE_DEVICE_ADD:
		auth_device_new_id(d->newid);
		json_out_init(&o, &rec, false);
		json_obj_begin(&o);
		json_key(&o, "label");
		json_strn(&o, d->label.p, d->label.len);
		json_key(&o, "key");
		json_str(&o, d->phc);
		json_key(&o, "created");
		json_int(&o, (int64_t)time(NULL));
		json_key(&o, "revoked");
		json_int(&o, 0);
		json_obj_end(&o);
		snprintf(max, sizeof(max), "%d", STORE_MAX_DEVCREDS);
		args[0] = "add";
		args[1] = d->newid;
		alens[1] = strlen(d->newid);
		args[2] = rec.data;
		alens[2] = rec.len;
		args[3] = max;
		alens[3] = strlen(max);
		n = 4;
		break;
	case STORE_DEVICE_RENAME:
		args[0] = "rename";
		args[2] = d->label.p;
		alens[2] = d->label.len;
		n = 3;
		break;
	case STORE_DEVICE_REVOKE:
		args[0] = "revoke";
		args[2] = t;
		alens[2] = strlen(t);
		n = 3;
		break;
	case STORE_DEVICES_ONLY:
		args[0] = "only";
		args[1] = d->key.p; /* "1" or "0" */
		alens[1] = 1;
		break;
	case STORE_PROGRESS_POLICY: /* store.c sends it to rs_policy_set */
		rs_dev_finish(d, STORE_ERR_UNAVAILABLE);
		return;
	case STORE_DEVICE_NAME:
	case STORE_DEVICE_FORGET:
		rs_devname_args(d, t, max, args, alens);
		n = 4;
		break;
	}
	alens[0] = strlen(args[0]);
	rc = rs_device_eval(d->rs,
	    d->kind == STORE_DEVICE_NAME || d->kind == STORE_DEVICE_FORGET
	        ? lua_devnames
	        : lua_devices,
	    d->user, n, args, alens, rs_dev_cb, d);
	buf_release(&rec);
	if (rc != 0)
		rs_dev_finish(d, STORE_ERR_UNAVAILABLE);
}

static void
rs_dev_hashed(void *arg, enum keyhash_result res, char *phc)
{
	struct rs_dev *d = arg;

	if (res != KEYHASH_OK) {
		free(phc);
		rs_dev_finish(d, STORE_ERR_UNAVAILABLE);
		return;
	}
	d->phc = phc;
	rs_when_ready(d->rs, rs_dev_send, d);
}

static void
rs_device_change(struct store *st, struct str user,
    const struct store_device_change *ch, store_cb *cb, void *arg)
{
	struct redis_store *rs = (struct redis_store *)st;
	struct str on = {ch->on ? "1" : "0", 1};
	struct rs_dev *d;
	char *p;

	d = xcalloc(1, sizeof(*d) + str_packed_size(user) +
	                   str_packed_size(ch->id) +
	                   str_packed_size(ch->label) +
	                   str_packed_size(ch->key) + str_packed_size(on));
	p = d->strings;
	d->rs = rs;
	d->kind = ch->kind;
	d->user = str_pack(&p, user);
	d->id = str_pack(&p, ch->id);
	d->label = str_pack(&p, ch->label);
	d->key = str_pack(&p, ch->kind == STORE_DEVICES_ONLY ? on : ch->key);
	d->cb = cb;
	d->arg = arg;
	if (ch->kind == STORE_DEVICE_ADD)
		keyhash_hash(rs->keys, d->key, rs_dev_hashed, d);
	else
		rs_when_ready(rs, rs_dev_send, d);
}

/* A credential's record or last use, parsed (NULL: none). */
static const struct json_value *
rs_dev_parse(struct json_arena *a, const redisReply *e)
{
	const struct json_value *v;

	if (e == NULL || e->type != REDIS_REPLY_STRING)
		return NULL;
	v = json_parse(e->str, e->len, json_arena_alloc, a, NULL);
	return v != NULL && v->type == JSON_OBJECT ? v : NULL;
}

/* The number member key of obj (0 when absent). */
static int64_t
rs_dev_int(const struct json_value *obj, const char *key)
{
	const struct json_value *v = obj ? json_get(obj, key) : NULL;
	double d;

	if (v == NULL || json_number(v, false, &d) != 0)
		return 0;
	return (int64_t)d;
}

/* The string member key of obj ("" when absent). */
static void
rs_dev_str(struct json_out *o, const struct json_value *obj, const char *key)
{
	struct str s = obj ? json_get_str(obj, key) : STR_NULL;

	json_key(o, key);
	json_strn(o, s.p ? s.p : "", s.p ? s.len : 0);
}

struct rs_devrow {
	const redisReply *id;
	const struct json_value *rec, *use;
	int64_t created;
};

static int
rs_devrow_cmp(const void *a, const void *b)
{
	const struct rs_devrow *x = a, *y = b;
	int c;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	c = memcmp(x->id->str, y->id->str,
	    x->id->len < y->id->len ? x->id->len : y->id->len);
	return c != 0 ? c
	              : (x->id->len > y->id->len) - (x->id->len < y->id->len);
}

/* The use of credential id in the HGETALL of last uses. */
static const redisReply *
rs_dev_use_of(const redisReply *uses, const redisReply *id)
{
	size_t i;

	for (i = 0; i + 1 < uses->elements; i += 2)
		if (uses->element[i]->type == REDIS_REPLY_STRING &&
		    uses->element[i]->len == id->len &&
		    memcmp(uses->element[i]->str, id->str, id->len) == 0)
			return uses->element[i + 1];
	return NULL;
}

struct rs_devlist {
	struct redis_store *rs;
	const char *script; /* dev-list.lua or devnames-list.lua */
	store_command_fn *fn;
	store_text_cb *cb;
	void *arg;
	struct str user;
	char strings[];
};

/* store_command_fn of dev-list.lua: the JSON store_device_list says. */
static void
rs_devlist_cb(void *priv, const redisReply *reply)
{
	struct rs_devlist *l = priv;
	struct json_arena a = JSON_ARENA_INIT;
	const redisReply *creds, *uses, *e;
	struct rs_devrow *rows = NULL;
	struct buf b = BUF_INIT;
	struct json_out o;
	bool only = false;
	size_t i, n = 0;

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
		l->cb(l->arg, STORE_ERR_AUTH, NULL, 0);
		goto out;
	}
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_ARRAY ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		l->cb(l->arg, rs_reply_error(reply), NULL, 0);
		goto out;
	}
	creds = reply->element[0];
	uses = reply->element[1];
	rows = xcalloc(creds->elements / 2 + 1, sizeof(*rows));
	for (i = 0; i + 1 < creds->elements; i += 2) {
		e = creds->element[i];
		if (e->type != REDIS_REPLY_STRING)
			continue;
		if (e->len == 12 && memcmp(e->str, "devices_only", 12) == 0) {
			only = true;
			continue;
		}
		rows[n].id = e;
		rows[n].rec = rs_dev_parse(&a, creds->element[i + 1]);
		rows[n].use = rs_dev_parse(&a, rs_dev_use_of(uses, e));
		rows[n].created = rs_dev_int(rows[n].rec, "created");
		if (rows[n].rec != NULL)
			n++;
	}
	qsort(rows, n, sizeof(*rows), rs_devrow_cmp);
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "devices_only");
	json_bool(&o, only);
	json_key(&o, "devices");
	json_arr_begin(&o);
	for (i = 0; i < n; i++) {
		json_obj_begin(&o);
		json_key(&o, "id");
		json_strn(&o, rows[i].id->str, rows[i].id->len);
		rs_dev_str(&o, rows[i].rec, "label");
		json_key(&o, "created");
		json_int(&o, rows[i].created);
		json_key(&o, "revoked");
		json_bool(&o, json_get_str(rows[i].rec, "key").p == NULL);
		json_key(&o, "used");
		json_int(&o, rs_dev_int(rows[i].use, "used"));
		rs_dev_str(&o, rows[i].use, "address");
		rs_dev_str(&o, rows[i].use, "agent");
		rs_dev_str(&o, rows[i].use, "device");
		rs_dev_str(&o, rows[i].use, "device_id");
		json_obj_end(&o);
	}
	json_arr_end(&o);
	json_obj_end(&o);
	l->cb(l->arg, STORE_OK, b.data, b.len);
out:
	buf_release(&b);
	free(rows);
	json_arena_release(&a);
	free(l);
}

static void
rs_devlist_send(void *arg)
{
	struct rs_devlist *l = arg;

	if (rs_device_eval(
	        l->rs, l->script, l->user, 0, NULL, NULL, l->fn, l) != 0) {
		if (!l->rs->freed)
			l->cb(l->arg, STORE_ERR_UNAVAILABLE, NULL, 0);
		free(l);
	}
}

/*
 * Run script (a listing with the device keys) for user once the store is
 * ready; fn answers cb from its reply.
 */
static void
rs_devlist_start(struct store *st, struct str user, const char *script,
    store_command_fn *fn, store_text_cb *cb, void *arg)
{
	struct rs_devlist *l = xmalloc(sizeof(*l) + str_packed_size(user));
	char *p = l->strings;

	l->rs = (struct redis_store *)st;
	l->script = script;
	l->fn = fn;
	l->cb = cb;
	l->arg = arg;
	l->user = str_pack(&p, user);
	rs_when_ready(l->rs, rs_devlist_send, l);
}

static void
rs_device_list(struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	rs_devlist_start(st, user, lua_dev_list, rs_devlist_cb, cb, arg);
}

/*
 * store_command_fn of devnames-list.lua: the JSON store_device_names
 * says, from the hash's "<forgotten> <name>" values.
 */
static void
rs_devnames_cb(void *priv, const redisReply *reply)
{
	struct rs_devlist *l = priv;
	const redisReply *k, *v;
	struct buf b = BUF_INIT;
	struct json_out o;
	struct str name;
	int64_t t;
	size_t i;

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
		l->cb(l->arg, STORE_ERR_AUTH, NULL, 0);
		goto out;
	}
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
		l->cb(l->arg, rs_reply_error(reply), NULL, 0);
		goto out;
	}
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "device_names");
	json_arr_begin(&o);
	for (i = 0; i + 1 < reply->elements; i += 2) {
		k = reply->element[i];
		v = reply->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    store_redis_devname_parse(v->str, v->len, &t, &name) != 0)
			continue;
		json_obj_begin(&o);
		json_key(&o, "device");
		json_strn(&o, k->str, k->len);
		json_key(&o, "name");
		json_strn(&o, name.p, name.len);
		json_key(&o, "forgotten");
		json_int(&o, t);
		json_obj_end(&o);
	}
	json_arr_end(&o);
	json_obj_end(&o);
	l->cb(l->arg, STORE_OK, b.data, b.len);
out:
	buf_release(&b);
	free(l);
}

static void
rs_devnames_get(struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	rs_devlist_start(st, user, lua_devnames_list, rs_devnames_cb, cb, arg);
}

/* A use being written: whose, and the pushing device (for a first use). */
struct rs_use {
	struct redis_store *rs;
	struct str user, device;
	char id[DB_DEVCRED_ID_MAX + 1];
	char strings[];
};

/*
 * store_command_fn of dev-used.lua: tell of a first use (the script
 * answers the credential's label then).
 */
static void
rs_used_cb(void *priv, const redisReply *reply)
{
	struct rs_use *u = priv;

	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_debug("%s: %s", __func__, reply->str);
	else if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
	         !u->rs->freed)
		store_device_first_use(
		    &u->rs->base, u->user, u->id, reply->str, u->device);
	free(u);
}

/* 64 bits of the keyed-less BLAKE2b of n slices. */
static uint64_t
rs_hash64(const struct str *s, size_t n)
{
	crypto_generichash_state st;
	unsigned char h[8];
	uint64_t v = 0;
	size_t i;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (i = 0; i < n; i++) {
		if (s[i].p != NULL)
			crypto_generichash_update(
			    &st, (const unsigned char *)s[i].p, s[i].len);
		crypto_generichash_update(
		    &st, (const unsigned char *)(s[i].p ? "\1" : "\2"), 1);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	for (i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return v;
}

/*
 * Whether this instance writes this use: not when it wrote one of the same
 * credential, with the same fields, less than RS_USED_MS ago.
 */
static bool
rs_used_due(struct redis_store *rs, struct str user, const char *id,
    const struct store_device_use *use)
{
	const char *kind = store_device_what_name(use->what);
	struct str who[2] = {user, str_from(id)};
	struct str what[6] = {use->address, use->agent, use->device,
	    use->device_id, use->document, str_from(kind)};
	uint64_t tag = rs_hash64(who, 2) | 1, w = rs_hash64(what, 6);
	uint64_t now = uv_now(rs->loop);
	struct rs_used *u = &rs->used[tag % RS_USED_SLOTS];

	if (u->tag == tag && u->what == w && now - u->at < RS_USED_MS)
		return false;
	u->tag = tag;
	u->what = w;
	u->at = now;
	return true;
}

static void
rs_device_used(struct store *st, struct str user, const char *id,
    const struct store_device_use *use)
{
	struct redis_store *rs = (struct redis_store *)st;
	const char *args[4];
	size_t alens[4];
	struct buf b = BUF_INIT, e = BUF_INIT;
	struct json_out o;
	struct rs_use *u;
	char max[8];
	char *p;

	if (rs->conn.state != REDIS_CONN_READY || rs->closing ||
	    !rs_used_due(rs, user, id, use))
		return;
	/* The audit entry, as the file store lists its own. */
	json_out_init(&o, &e, false);
	store_device_audit_entry(
	    &o, use->when, use->what, use->address, use->agent, use->document);
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "used");
	json_int(&o, use->when);
	json_key(&o, "address");
	json_strn(&o, use->address.p ? use->address.p : "", use->address.len);
	if (use->agent.p != NULL) {
		json_key(&o, "agent");
		json_strn(&o, use->agent.p, use->agent.len);
	}
	if (use->device.p != NULL) {
		json_key(&o, "device");
		json_strn(&o, use->device.p, use->device.len);
	}
	if (use->device_id.p != NULL) {
		json_key(&o, "device_id");
		json_strn(&o, use->device_id.p, use->device_id.len);
	}
	json_obj_end(&o);
	snprintf(max, sizeof(max), "%d", STORE_DEVICE_AUDIT_MAX);
	args[0] = id;
	args[1] = b.data;
	args[2] = e.data;
	args[3] = max;
	alens[0] = strlen(id);
	alens[1] = b.len;
	alens[2] = e.len;
	alens[3] = strlen(max);
	u = xmalloc(
	    sizeof(*u) + str_packed_size(user) + str_packed_size(use->device));
	p = u->strings;
	u->rs = rs;
	u->user = str_pack(&p, user);
	u->device = str_pack(&p, use->device);
	snprintf(u->id, sizeof(u->id), "%s", id);
	if (rs_device_eval(
	        rs, lua_dev_used, user, 4, args, alens, rs_used_cb, u) != 0)
		free(u);
	buf_release(&b);
	buf_release(&e);
}

/* The audit being read. */
struct rs_audit {
	struct redis_store *rs;
	store_text_cb *cb;
	void *arg;
	struct str user, id;
	char strings[];
};

/* store_command_fn of dev-audit.lua: the JSON store_device_audit says. */
static void
rs_audit_cb(void *priv, const redisReply *reply)
{
	struct rs_audit *q = priv;
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *rec, *v;
	const redisReply *list;
	struct buf b = BUF_INIT;
	struct json_out o;
	size_t i;

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
		q->cb(q->arg,
		    reply->integer < 0 ? STORE_ERR_AUTH : STORE_ERR_NOTFOUND,
		    NULL, 0);
		goto out;
	}
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 2 ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		q->cb(q->arg, rs_reply_error(reply), NULL, 0);
		goto out;
	}
	rec = rs_dev_parse(&a, reply->element[0]);
	list = reply->element[1];
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "id");
	json_strn(&o, q->id.p, q->id.len);
	rs_dev_str(&o, rec, "label");
	json_key(&o, "revoked");
	json_bool(&o, rec == NULL || json_get_str(rec, "key").p == NULL);
	json_key(&o, "audit");
	json_arr_begin(&o);
	for (i = 0; i < list->elements && i < STORE_DEVICE_AUDIT_MAX; i++) {
		/* As store_device_audit_entry wrote it (dev-used.lua). */
		v = rs_dev_parse(&a, list->element[i]);
		if (v != NULL)
			json_value_write(&o, v);
	}
	json_arr_end(&o);
	json_obj_end(&o);
	q->cb(q->arg, STORE_OK, b.data, b.len);
out:
	buf_release(&b);
	json_arena_release(&a);
	free(q);
}

static void
rs_audit_send(void *arg)
{
	struct rs_audit *q = arg;
	const char *args[1] = {q->id.p};
	size_t alens[1] = {q->id.len};

	if (rs_device_eval(q->rs, lua_dev_audit, q->user, 1, args, alens,
	        rs_audit_cb, q) != 0) {
		if (!q->rs->freed)
			q->cb(q->arg, STORE_ERR_UNAVAILABLE, NULL, 0);
		free(q);
	}
}

static void
rs_device_audit(struct store *st, struct str user, struct str id,
    store_text_cb *cb, void *arg)
{
	struct rs_audit *q =
	    xmalloc(sizeof(*q) + str_packed_size(user) + str_packed_size(id));
	char *p = q->strings;

	q->rs = (struct redis_store *)st;
	q->cb = cb;
	q->arg = arg;
	q->user = str_pack(&p, user);
	q->id = str_pack(&p, id);
	rs_when_ready(q->rs, rs_audit_send, q);
}

/*
 * Events out (store.h store_events_*): one script each, on the account's
 * keys while it exists.
 */

struct rs_events_op {
	store_cb *cb;
	store_events_fn *get;
	store_text_cb *text;
	void *arg;
};

/* EVAL script with nk ("1", "3") keys, then the arguments, all in argv
 * from index 3 (argc in all). */
static int
rs_events_eval(struct store *st, store_command_fn *fn, void *priv,
    const char *script, const char *nk, int argc, const char **argv,
    size_t *lens)
{
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = nk;
	lens[0] = 4;
	lens[1] = strlen(script);
	lens[2] = strlen(nk);
	return rs_command(st, fn, priv, argc, argv, lens);
}

/* The account's three keys of the events scripts into k[0..2]. */
static void
rs_events_keys(struct buf k[3], struct str user)
{
	rs_keyname(&k[0], "user:", user, ":key", STR_NULL);
	rs_keyname(&k[1], "kosyncd:deleting:", user, "", STR_NULL);
	rs_keyname(&k[2], "kosyncd:user:", user, ":events", STR_NULL);
}

static void
rs_events_set_cb(void *priv, const redisReply *reply)
{
	struct rs_events_op *op = priv;
	struct store_reply rep;

	memset(&rep, 0, sizeof(rep));
	if (reply == NULL)
		rep.result = STORE_ERR_UNAVAILABLE;
	else if (reply->type != REDIS_REPLY_INTEGER)
		rep.result = STORE_ERR_IO;
	else
		rep.result = reply->integer == 1 ? STORE_OK : STORE_ERR_AUTH;
	op->cb(op->arg, &rep);
	free(op);
}

static void
rs_events_set(struct store *st, struct str user, bool feed, struct str text,
    store_cb *cb, void *arg)
{
	struct buf k[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
	const char *argv[9];
	size_t lens[9];
	struct rs_events_op *op;
	struct store_reply rep;
	int i;

	memset(&rep, 0, sizeof(rep));
	if (text.len > STORE_MAX_EVENTS_TEXT) {
		rep.result = STORE_ERR_LIMIT;
		cb(arg, &rep);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->cb = cb;
	op->arg = arg;
	rs_events_keys(k, user);
	for (i = 0; i < 3; i++) {
		argv[3 + i] = k[i].data;
		lens[3 + i] = k[i].len;
	}
	argv[6] = feed ? "feed" : "webhooks";
	lens[6] = strlen(argv[6]);
	argv[7] = text.p != NULL ? text.p : "";
	lens[7] = text.len;
	argv[8] = user.p;
	lens[8] = user.len;
	if (rs_events_eval(st, rs_events_set_cb, op, lua_events_set, "3", 9,
	        argv, lens) != 0) {
		free(op);
		rep.result = STORE_ERR_UNAVAILABLE;
		cb(arg, &rep);
	}
	for (i = 0; i < 3; i++)
		buf_release(&k[i]);
}

static void
rs_events_get_cb(void *priv, const redisReply *reply)
{
	struct rs_events_op *op = priv;
	const redisReply *a, *b;

	if (reply == NULL) {
		op->get(op->arg, STORE_ERR_UNAVAILABLE, STR_NULL, STR_NULL);
	} else if (reply->type == REDIS_REPLY_INTEGER) {
		op->get(op->arg, STORE_ERR_AUTH, STR_NULL, STR_NULL);
	} else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	           (a = reply->element[0])->type != REDIS_REPLY_STRING ||
	           (b = reply->element[1])->type != REDIS_REPLY_STRING) {
		op->get(op->arg, STORE_ERR_IO, STR_NULL, STR_NULL);
	} else {
		op->get(op->arg, STORE_OK, (struct str){a->str, a->len},
		    (struct str){b->str, b->len});
	}
	free(op);
}

static void
rs_events_get(struct store *st, struct str user, store_events_fn *cb, void *arg)
{
	struct buf k[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
	const char *argv[6];
	size_t lens[6];
	struct rs_events_op *op = xcalloc(1, sizeof(*op));
	int i;

	op->get = cb;
	op->arg = arg;
	rs_events_keys(k, user);
	for (i = 0; i < 3; i++) {
		argv[3 + i] = k[i].data;
		lens[3 + i] = k[i].len;
	}
	if (rs_events_eval(st, rs_events_get_cb, op, lua_events_get, "3", 6,
	        argv, lens) != 0) {
		free(op);
		cb(arg, STORE_ERR_UNAVAILABLE, STR_NULL, STR_NULL);
	}
	for (i = 0; i < 3; i++)
		buf_release(&k[i]);
}

static void
rs_feed_user_cb(void *priv, const redisReply *reply)
{
	struct rs_events_op *op = priv;

	if (reply == NULL)
		op->text(op->arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else if (reply->type == REDIS_REPLY_STRING)
		op->text(op->arg, STORE_OK, reply->str, reply->len);
	else if (reply->type == REDIS_REPLY_NIL)
		op->text(op->arg, STORE_ERR_NOTFOUND, NULL, 0);
	else
		op->text(op->arg, STORE_ERR_IO, NULL, 0);
	free(op);
}

static void
rs_feed_user(struct store *st, struct str token, store_text_cb *cb, void *arg)
{
	struct buf k = BUF_INIT;
	const char *argv[5];
	size_t lens[5];
	struct rs_events_op *op = xcalloc(1, sizeof(*op));

	op->text = cb;
	op->arg = arg;
	buf_adds(&k, "kosyncd:feed:");
	buf_addstr(&k, token);
	argv[3] = k.data;
	lens[3] = k.len;
	argv[4] = token.p;
	lens[4] = token.len;
	if (rs_events_eval(st, rs_feed_user_cb, op, lua_feed_user, "1", 5, argv,
	        lens) != 0) {
		free(op);
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	}
	buf_release(&k);
}

static const struct store_ops redis_store_ops = {
    .name = "redis",
    .flush = rs_flush,
    .close = rs_close,
    .user_create = rs_user_create,
    .user_auth = rs_user_auth,
    .user_signin = rs_user_signin,
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
    .devnames_get = rs_devnames_get,
    .progress_pulled = rs_progress_pulled,
    .user_admin = rs_user_admin,
    .device_change = rs_device_change,
    .device_list = rs_device_list,
    .device_used = rs_device_used,
    .device_audit = rs_device_audit,
    .events_set = rs_events_set,
    .events_get = rs_events_get,
    .feed_user = rs_feed_user,
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
	rs->used = xcalloc(RS_USED_SLOTS, sizeof(*rs->used));
	rs->keys = keyhash_new(loop,
	    (unsigned)(cfg->argon2_concurrency ? cfg->argon2_concurrency : 2));
	uv_timer_init(loop, &rs->timer);
	rs->timer.data = rs;
	uv_timer_start(&rs->timer, rs_tick, RS_TICK_MS, RS_TICK_MS);
	redis_conn_connect(&rs->conn);
	return &rs->base;
}
