/*
 * session.c: sign-in sessions (see session.h).
 *
 * In memory: the table is a table.h hash table keyed by the token's
 * digest. A digest is BLAKE2b keyed with a random per-process key, so a
 * table lookup time says nothing about any real token. Expired sessions
 * are dropped when they are looked up and when a session is created; a
 * user has at most SESSION_MAX_PER_USER sessions (the oldest goes), and a
 * sign-in never ends another user's live session: when the table is full
 * of them, the new session is refused (SESSION_FULL). Beside the table,
 * every session is in a list ordered by expiry, and in its user's list
 * (a second table, by name, holds each user's count and list), so that a
 * sign-in finds the expired sessions, the user's count and oldest
 * session, and a password change the user's sessions, without walking the
 * table.
 *
 * In Redis (the store's shared server, through store_command), in the
 * store's database:
 *   kosyncd:session:<hex>          string "<csrf> <user>", expiring
 *                                  (PX) after the session lifetime
 *   kosyncd:user:<name>:sessions   sorted set of the user's <hex>, scored
 *                                  by when each expires (Redis's clock,
 *                                  ms); expires with the newest session
 * where <hex> is the unkeyed BLAKE2b-256 of the cookie token in hex (all
 * instances must find the same key; the token is 256 random bits, so the
 * digest gives nothing away, and Redis never holds a usable token). Each
 * operation is one Lua script, atomic:
 *   - lookup: the string, but only while user:<name>:key exists and the
 *     digest is in the user's set (an account deletion removes the key at
 *     once and SCANs away the set with the user's other keys, so sessions
 *     of a deleted account, and of an old account of a re-registered name,
 *     are dead even before their strings expire; a dead string is deleted);
 *   - start: refused when the account does not exist or is being deleted
 *     (kosyncd:deleting:<name>); drops expired members and, past
 *     SESSION_MAX_PER_USER, the oldest sessions;
 *   - end, end every session of a user but one.
 * The scripts go as EVAL (Redis caches them by their SHA-1): web requests
 * are few, and no script needs loading after a Redis restart. They touch
 * keys named inside them, which a single Redis (not a Cluster) allows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "log.h"
#include "session.h"
#include "store.h"
#include "table.h"
#include "xmalloc.h"

#define SESSION_HEX_LEN 64 /* hex digits of a digest */
_Static_assert(SESSION_HEX_LEN == 2 * SESSION_DIGEST_BYTES, "hex digest");
/* Where the user starts in a stored "<csrf> <user>" (Lua counts from 1). */
#define SESSION_CSRF_SKIP "45"
_Static_assert(SESSION_TOKEN_LEN == 43, "SESSION_CSRF_SKIP is 43 + 2");

/* Lists of sessions, linked through the sessions (struct s_entry). */
struct s_entry;

struct s_link {
	struct s_entry *prev, *next;
};

struct s_list {
	struct s_entry *first, *last; /* first to expire first */
};

/*
 * A session of the in-memory table, with the links that spare sign-in a
 * walk of the table: every session in one list and each user's in
 * another, both in the order they expire (sessions live a fixed time, so
 * that is the order they were created in). s comes first: the table holds
 * and hands out &e->s.
 */
struct s_entry {
	struct session s;
	struct s_link all;  /* in every session's list */
	struct s_link mine; /* in its user's */
	struct s_user *owner;
};

/*
 * A user with sessions in the table (freed with the last one): how many
 * (the per-user cap counts them here), and the list of them.
 */
struct s_user {
	uint32_t hash;
	size_t n;
	struct s_list list;
	size_t len;
	char name[]; /* len bytes and a NUL */
};

struct sessions {
	struct table t;     /* struct session by digest */
	struct table users; /* struct s_user by name */
	struct s_list all;  /* every session */
	uint64_t ttl_ms;
	size_t max;
	unsigned char key[crypto_generichash_KEYBYTES];
	struct store *redis; /* shared sessions in Redis; NULL: memory */
};

static uint32_t
s_hash(const void *rec)
{
	return ((const struct session *)rec)->hash;
}

static struct str
s_key(const void *rec)
{
	const struct session *s = rec;

	return (struct str){(const char *)s->digest, SESSION_DIGEST_BYTES};
}

static const struct table_type session_type = {s_hash, s_key};

static uint32_t
u_hash(const void *rec)
{
	return ((const struct s_user *)rec)->hash;
}

static struct str
u_key(const void *rec)
{
	const struct s_user *u = rec;

	return (struct str){u->name, u->len};
}

static const struct table_type user_type = {u_hash, u_key};

struct sessions *
sessions_new(uint64_t ttl_ms, size_t max)
{
	struct sessions *ss = xcalloc(1, sizeof(*ss));

	ss->ttl_ms = ttl_ms;
	ss->max = max > 0 ? max : 1;
	randombytes_buf(ss->key, sizeof(ss->key));
	return ss;
}

static void
s_free(struct s_entry *e)
{
	free(e->s.user);
	sodium_memzero(e, sizeof(*e));
	free(e);
}

void
sessions_free(struct sessions *ss)
{
	struct s_entry *e, *next;
	struct s_user *u;
	uint32_t pos = 0;

	if (ss == NULL)
		return;
	for (e = ss->all.first; e != NULL; e = next) {
		next = e->all.next;
		s_free(e);
	}
	while ((u = table_next(&ss->users, &pos)) != NULL)
		free(u);
	table_release(&ss->t);
	table_release(&ss->users);
	sodium_memzero(ss->key, sizeof(ss->key));
	free(ss);
}

/* 32 random bytes as base64url without padding. */
static void
random_token(char out[SESSION_TOKEN_LEN + 1])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, SESSION_TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

static void
digest(const struct sessions *ss, struct str token,
    unsigned char out[SESSION_DIGEST_BYTES])
{
	crypto_generichash(out, SESSION_DIGEST_BYTES,
	    (const unsigned char *)token.p, token.len, ss->key,
	    sizeof(ss->key));
}

/* The user's record, or NULL when the user has no session. */
static struct s_user *
u_find(const struct sessions *ss, struct str user)
{
	return table_find(
	    &ss->users, &user_type, table_hash(user.p, user.len), user);
}

/* e's links in the list of every session (mine false) or its user's. */
static struct s_link *
s_link(struct s_entry *e, bool mine)
{
	return mine ? &e->mine : &e->all;
}

/*
 * Put e into l after every session that expires no later, looked for from
 * the end (found at once while the clock goes forward).
 */
static void
list_insert(struct s_list *l, struct s_entry *e, bool mine)
{
	struct s_link *k = s_link(e, mine);
	struct s_entry *after = l->last;

	while (after != NULL && after->s.expires > e->s.expires)
		after = s_link(after, mine)->prev;
	k->prev = after;
	k->next = after != NULL ? s_link(after, mine)->next : l->first;
	if (k->next != NULL)
		s_link(k->next, mine)->prev = e;
	else
		l->last = e;
	if (after != NULL)
		s_link(after, mine)->next = e;
	else
		l->first = e;
}

static void
list_remove(struct s_list *l, struct s_entry *e, bool mine)
{
	struct s_link *k = s_link(e, mine);

	if (k->prev != NULL)
		s_link(k->prev, mine)->next = k->next;
	else
		l->first = k->next;
	if (k->next != NULL)
		s_link(k->next, mine)->prev = k->prev;
	else
		l->last = k->prev;
}

/*
 * Put e into the table and both lists, and count it for its user, whose
 * record is made with its first session.
 */
static void
s_insert(struct sessions *ss, struct s_entry *e, struct str user)
{
	struct s_user *u = u_find(ss, user);

	if (u == NULL) {
		u = xcalloc(1, sizeof(*u) + user.len + 1);
		memcpy(u->name, user.p, user.len);
		u->len = user.len;
		u->hash = table_hash(user.p, user.len);
		table_insert(&ss->users, &user_type, u);
	}
	e->owner = u;
	u->n++;
	list_insert(&ss->all, e, false);
	list_insert(&u->list, e, true);
	table_insert(&ss->t, &session_type, &e->s);
}

/* Take s out of the table, the lists and its user's count; free it. */
static void
s_remove(struct sessions *ss, struct session *s)
{
	struct s_entry *e = (struct s_entry *)s;
	struct s_user *u = e->owner;

	table_remove(&ss->t, &session_type, s->hash, s_key(s));
	list_remove(&ss->all, e, false);
	list_remove(&u->list, e, true);
	if (--u->n == 0) {
		table_remove(&ss->users, &user_type, u->hash,
		    (struct str){u->name, u->len});
		free(u);
	}
	s_free(e);
}

/*
 * Make room for a new session of user: drop every expired session (the
 * head of the list ordered by expiry), then, when user already has
 * SESSION_MAX_PER_USER, that user's oldest (the one expiring first, the
 * head of its list). Another user's live session is never dropped.
 * Returns false when the table is still full (of other users' live
 * sessions). No walk of the table: the Redis sessions do the same with
 * the user's sorted set.
 */
static bool
make_room(struct sessions *ss, struct str user, uint64_t now)
{
	struct s_user *u;

	while (ss->all.first != NULL && ss->all.first->s.expires <= now)
		s_remove(ss, &ss->all.first->s);
	u = u_find(ss, user);
	if (u != NULL && u->n >= SESSION_MAX_PER_USER)
		s_remove(ss, &u->list.first->s);
	return ss->t.n < ss->max;
}

struct session *
session_create(struct sessions *ss, struct str user, uint64_t now,
    char token[SESSION_TOKEN_LEN + 1])
{
	struct s_entry *e;
	struct session *s;

	if (!make_room(ss, user, now))
		return NULL;
	e = xcalloc(1, sizeof(*e));
	s = &e->s;
	random_token(token);
	random_token(s->csrf);
	digest(ss, (struct str){token, SESSION_TOKEN_LEN}, s->digest);
	s->hash = table_hash((const char *)s->digest, SESSION_DIGEST_BYTES);
	s->expires = now + ss->ttl_ms;
	s->user = xmemdup0(user.p, user.len);
	s_insert(ss, e, user);
	return s;
}

struct session *
session_find(struct sessions *ss, struct str token, uint64_t now)
{
	unsigned char d[SESSION_DIGEST_BYTES];
	struct session *s;

	if (token.len != SESSION_TOKEN_LEN)
		return NULL;
	digest(ss, token, d);
	s = table_find(&ss->t, &session_type,
	    table_hash((const char *)d, sizeof(d)),
	    (struct str){(const char *)d, sizeof(d)});
	if (s != NULL && s->expires <= now) {
		s_remove(ss, s);
		s = NULL;
	}
	return s;
}

bool
session_csrf_ok(const struct session *s, struct str csrf)
{
	if (csrf.len != SESSION_TOKEN_LEN)
		return false;
	return sodium_memcmp(s->csrf, csrf.p, SESSION_TOKEN_LEN) == 0;
}

void
session_destroy(struct sessions *ss, struct session *s)
{
	s_remove(ss, s);
}

void
session_destroy_user(
    struct sessions *ss, struct str user, const struct session *keep)
{
	struct s_user *u = u_find(ss, user);
	struct s_entry *e, *next;

	/* The user's own list; u is freed with its last session. */
	for (e = u != NULL ? u->list.first : NULL; e != NULL; e = next) {
		next = e->mine.next;
		if (&e->s != keep)
			s_remove(ss, &e->s);
	}
}

size_t
sessions_count(const struct sessions *ss)
{
	return ss->t.n;
}

/*
 * The asynchronous calls
 */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* KEYS[1] the session; ARGV[1] its digest. */
static const char lookup_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return false end\n"
    "local u = string.sub(v, " SESSION_CSRF_SKIP ")\n"
    "if redis.call('EXISTS', 'user:' .. u .. ':key') == 1 and\n"
    "    redis.call('ZSCORE', 'kosyncd:user:' .. u .. ':sessions',\n"
    "    ARGV[1]) then\n"
    "  return v\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return false\n";

/*
 * KEYS[1] the session, KEYS[2] the user's set, KEYS[3] user:<name>:key,
 * KEYS[4] the deletion tombstone; ARGV[1] the value, ARGV[2] the digest,
 * ARGV[3] the lifetime (ms), ARGV[4] the most sessions per user.
 */
static const char start_lua[] =
    "if redis.call('EXISTS', KEYS[3]) == 0 or\n"
    "    redis.call('EXISTS', KEYS[4]) == 1 then return 0 end\n"
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ttl = tonumber(ARGV[3])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
    "while redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) do\n"
    "  local old = redis.call('ZRANGE', KEYS[2], 0, 0)[1]\n"
    "  redis.call('ZREM', KEYS[2], old)\n"
    "  redis.call('DEL', 'kosyncd:session:' .. old)\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)\n"
    "redis.call('ZADD', KEYS[2], now + ttl, ARGV[2])\n"
    "if redis.call('PTTL', KEYS[2]) < ttl then\n"
    "  redis.call('PEXPIRE', KEYS[2], ttl)\n"
    "end\n"
    "return 1\n";

/* KEYS[1] the session; ARGV[1] its digest. */
static const char end_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', 'kosyncd:user:' .. string.sub(v, " SESSION_CSRF_SKIP
    ") ..\n"
    "    ':sessions', ARGV[1])\n"
    "return 1\n";

/* KEYS[1] the user's set; ARGV[1] the digest kept, or "". */
static const char end_user_lua[] =
    "local m = redis.call('ZRANGE', KEYS[1], 0, -1)\n"
    "for i = 1, #m do\n"
    "  if m[i] ~= ARGV[1] then\n"
    "    redis.call('DEL', 'kosyncd:session:' .. m[i])\n"
    "    redis.call('ZREM', KEYS[1], m[i])\n"
    "  end\n"
    "end\n"
    "return #m\n";

enum sop_kind { SOP_LOOKUP, SOP_START, SOP_END, SOP_END_USER };

/* One shared-session operation waiting for Redis. */
struct sop {
	enum sop_kind kind;
	union {
		session_fn *lookup;
		session_token_fn *start;
		session_done_fn *done;
	} fn;
	void *arg;
	struct session s;
	char token[SESSION_TOKEN_LEN + 1];
};

struct sessions *
sessions_open(struct store *st, uint64_t ttl_ms, size_t max)
{
	struct sessions *ss = sessions_new(ttl_ms, max);

	if (store_is_shared(st))
		ss->redis = st;
	return ss;
}

bool
sessions_shared(const struct sessions *ss)
{
	return ss->redis != NULL;
}

/* The unkeyed digest of token in hex: the Redis key's last part. */
static void
pubsub_digest(struct str token, char out[SESSION_HEX_LEN + 1])
{
	unsigned char d[SESSION_DIGEST_BYTES];

	crypto_generichash(
	    d, sizeof(d), (const unsigned char *)token.p, token.len, NULL, 0);
	sodium_bin2hex(out, SESSION_HEX_LEN + 1, d, sizeof(d));
}

static void
sop_free(struct sop *op)
{
	free(op->s.user);
	sodium_memzero(op, sizeof(*op));
	free(op);
}

/* Answer op with r (and, for SESSION_OK, op->s) and free it. */
static void
sop_finish(struct sop *op, enum session_result r)
{
	const struct session *s = r == SESSION_OK ? &op->s : NULL;

	switch (op->kind) {
	case SOP_LOOKUP:
		op->fn.lookup(op->arg, r, s);
		break;
	case SOP_START:
		op->fn.start(op->arg, r, s, r == SESSION_OK ? op->token : NULL);
		break;
	case SOP_END:
	case SOP_END_USER:
		if (op->fn.done != NULL)
			op->fn.done(op->arg, r);
		break;
	}
	sop_free(op);
}

/* "<csrf> <user>" into op->s. Returns 0, or -1 when it is not that. */
static int
sop_parse(struct sop *op, const char *v, size_t len)
{
	if (len <= SESSION_TOKEN_LEN + 1 || v[SESSION_TOKEN_LEN] != ' ')
		return -1;
	memcpy(op->s.csrf, v, SESSION_TOKEN_LEN);
	op->s.csrf[SESSION_TOKEN_LEN] = '\0';
	op->s.user =
	    xmemdup0(v + SESSION_TOKEN_LEN + 1, len - SESSION_TOKEN_LEN - 1);
	return 0;
}

/*
 * An error reply: Redis there but not serving yet (as the store sees it:
 * no warning each time), or something worth a warning.
 */
static void
sop_log_error(const char *msg)
{
	static const char *const transient[] = {"LOADING", "BUSY", "MASTERDOWN",
	    "TRYAGAIN", "NOAUTH", "READONLY", NULL};
	size_t i;

	for (i = 0; transient[i] != NULL; i++) {
		if (strncmp(msg, transient[i], strlen(transient[i])) == 0) {
			log_debug("redis: sessions: %s", msg);
			return;
		}
	}
	log_warnx("redis: sessions: %s", msg);
}

static void
sop_reply(void *priv, const redisReply *reply)
{
	struct sop *op = priv;

	if (reply == NULL) {
		sop_finish(op, SESSION_UNAVAILABLE);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		sop_log_error(reply->str);
		sop_finish(op, SESSION_UNAVAILABLE);
		return;
	}
	switch (op->kind) {
	case SOP_LOOKUP:
		if (reply->type == REDIS_REPLY_STRING &&
		    sop_parse(op, reply->str, reply->len) == 0)
			sop_finish(op, SESSION_OK);
		else
			sop_finish(op, SESSION_NONE);
		break;
	case SOP_START:
		sop_finish(op,
		    reply->type == REDIS_REPLY_INTEGER && reply->integer == 1
		        ? SESSION_OK
		        : SESSION_NONE);
		break;
	default:
		sop_finish(op, SESSION_OK);
		break;
	}
}

/* EVAL script with nkeys keys then the other arguments; -1: Redis down. */
static int
sop_eval(struct sessions *ss, struct sop *op, const char *script, int nkeys,
    int nargs, const char **args, const size_t *lens)
{
	const char *argv[12];
	size_t alen[12];
	char nk[8];
	int i;

	argv[0] = "EVAL";
	alen[0] = 4;
	argv[1] = script;
	alen[1] = strlen(script);
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[2] = nk;
	alen[2] = strlen(nk);
	for (i = 0; i < nargs && i < 9; i++) {
		argv[3 + i] = args[i];
		alen[3 + i] = lens[i];
	}
	return store_command(ss->redis, sop_reply, op, 3 + i, argv, alen);
}

static struct sop *
sop_new(enum sop_kind kind, void *arg)
{
	struct sop *op = xcalloc(1, sizeof(*op));

	op->kind = kind;
	op->arg = arg;
	return op;
}

/* "<prefix><name><suffix>" in a heap string. */
static char *
keyname(const char *prefix, struct str name, const char *suffix)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, prefix);
	buf_add(&b, name.p, name.len);
	buf_adds(&b, suffix);
	return buf_detach(&b, NULL);
}

void
sessions_lookup(
    struct sessions *ss, struct str token, session_fn *fn, void *arg)
{
	char hex[SESSION_HEX_LEN + 1],
	    key[sizeof("kosyncd:session:") + SESSION_HEX_LEN];
	const char *args[2];
	size_t lens[2];
	struct sop *op;

	if (ss->redis == NULL) {
		struct session *s = session_find(ss, token, now_ms());

		fn(arg, s != NULL ? SESSION_OK : SESSION_NONE, s);
		return;
	}
	if (token.len != SESSION_TOKEN_LEN) {
		fn(arg, SESSION_NONE, NULL);
		return;
	}
	pubsub_digest(token, hex);
	snprintf(key, sizeof(key), "kosyncd:session:%s", hex);
	op = sop_new(SOP_LOOKUP, arg);
	op->fn.lookup = fn;
	args[0] = key;
	lens[0] = strlen(key);
	args[1] = hex;
	lens[1] = SESSION_HEX_LEN;
	if (sop_eval(ss, op, lookup_lua, 1, 2, args, lens) != 0)
		sop_finish(op, SESSION_UNAVAILABLE);
}

void
sessions_start(
    struct sessions *ss, struct str user, session_token_fn *fn, void *arg)
{
	char hex[SESSION_HEX_LEN + 1], ttl[24], most[16];
	char key[sizeof("kosyncd:session:") + SESSION_HEX_LEN];
	char *set, *ukey, *tomb, *value;
	const char *args[8];
	size_t lens[8];
	struct sop *op;
	int i, rc;

	if (ss->redis == NULL) {
		char token[SESSION_TOKEN_LEN + 1];
		struct session *s = session_create(ss, user, now_ms(), token);

		if (s == NULL)
			fn(arg, SESSION_FULL, NULL, NULL);
		else
			fn(arg, SESSION_OK, s, token);
		sodium_memzero(token, sizeof(token));
		return;
	}
	op = sop_new(SOP_START, arg);
	op->fn.start = fn;
	random_token(op->token);
	random_token(op->s.csrf);
	op->s.user = xmemdup0(user.p, user.len);
	pubsub_digest((struct str){op->token, SESSION_TOKEN_LEN}, hex);
	snprintf(key, sizeof(key), "kosyncd:session:%s", hex);
	set = keyname("kosyncd:user:", user, ":sessions");
	ukey = keyname("user:", user, ":key");
	tomb = keyname("kosyncd:deleting:", user, "");
	value = xmalloc(SESSION_TOKEN_LEN + 1 + user.len + 1);
	memcpy(value, op->s.csrf, SESSION_TOKEN_LEN);
	value[SESSION_TOKEN_LEN] = ' ';
	memcpy(value + SESSION_TOKEN_LEN + 1, user.p, user.len);
	snprintf(ttl, sizeof(ttl), "%llu",
	    (unsigned long long)(ss->ttl_ms > 0 ? ss->ttl_ms : 1));
	snprintf(most, sizeof(most), "%d", SESSION_MAX_PER_USER);
	args[0] = key;
	args[1] = set;
	args[2] = ukey;
	args[3] = tomb;
	args[4] = value;
	args[5] = hex;
	args[6] = ttl;
	args[7] = most;
	for (i = 0; i < 8; i++)
		lens[i] =
		    i == 4 ? SESSION_TOKEN_LEN + 1 + user.len : strlen(args[i]);
	rc = sop_eval(ss, op, start_lua, 4, 8, args, lens);
	free(set);
	free(ukey);
	free(tomb);
	free(value);
	if (rc != 0)
		sop_finish(op, SESSION_UNAVAILABLE);
}

void
sessions_end(
    struct sessions *ss, struct str token, session_done_fn *fn, void *arg)
{
	char hex[SESSION_HEX_LEN + 1],
	    key[sizeof("kosyncd:session:") + SESSION_HEX_LEN];
	const char *args[2];
	size_t lens[2];
	struct sop *op;

	if (ss->redis == NULL || token.len != SESSION_TOKEN_LEN) {
		struct session *s = NULL;

		if (ss->redis == NULL)
			s = session_find(ss, token, now_ms());
		if (s != NULL)
			session_destroy(ss, s);
		if (fn != NULL)
			fn(arg, SESSION_OK);
		return;
	}
	pubsub_digest(token, hex);
	snprintf(key, sizeof(key), "kosyncd:session:%s", hex);
	op = sop_new(SOP_END, arg);
	op->fn.done = fn;
	args[0] = key;
	lens[0] = strlen(key);
	args[1] = hex;
	lens[1] = SESSION_HEX_LEN;
	if (sop_eval(ss, op, end_lua, 1, 2, args, lens) != 0)
		sop_finish(op, SESSION_UNAVAILABLE);
}

void
sessions_end_user(struct sessions *ss, struct str user, struct str keep,
    session_done_fn *fn, void *arg)
{
	char hex[SESSION_HEX_LEN + 1] = "", *set;
	const char *args[2];
	size_t lens[2];
	struct sop *op;
	int rc;

	if (ss->redis == NULL) {
		const struct session *k = NULL;

		if (keep.p != NULL)
			k = session_find(ss, keep, now_ms());
		session_destroy_user(ss, user, k);
		if (fn != NULL)
			fn(arg, SESSION_OK);
		return;
	}
	if (keep.p != NULL && keep.len == SESSION_TOKEN_LEN)
		pubsub_digest(keep, hex);
	op = sop_new(SOP_END_USER, arg);
	op->fn.done = fn;
	set = keyname("kosyncd:user:", user, ":sessions");
	args[0] = set;
	lens[0] = strlen(set);
	args[1] = hex;
	lens[1] = strlen(hex);
	rc = sop_eval(ss, op, end_user_lua, 1, 2, args, lens);
	free(set);
	if (rc != 0)
		sop_finish(op, SESSION_UNAVAILABLE);
}
