/*
 * ratelimit.c: sliding-window failure counters with back-off, in bounded
 * LRU tables (see ratelimit.h).
 *
 * Invariants: a table never holds more than max entries; every entry is
 * both in its hash chain and in the LRU list (most recent first); an
 * entry's id is the keyed SipHash of its tag and key bytes, so two keys
 * share an entry only on a 64-bit collision, which costs nothing worse
 * than a shared counter.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "proxy.h"
#include "ratelimit.h"
#include "xmalloc.h"

enum rl_tag { TAG_USER = 'u', TAG_IP = 'i', TAG_PAIR = 'p', TAG_REG = 'r' };

struct rl_entry {
	uint64_t id;
	struct rl_entry *hnext;       /* hash chain */
	struct rl_entry *prev, *next; /* LRU list */
	uint64_t win_start;           /* start of the current window */
	uint64_t blocked_until;       /* 0: never blocked */
	uint64_t block_len;           /* length of the last block */
	unsigned cur, prev_count;     /* events this and last window */
	unsigned strikes;             /* blocks in a row (back-off) */
};

struct rl_table {
	struct rl_entry **buckets;
	size_t mask;
	size_t n, max;
	struct rl_entry *head, *tail; /* most and least recently used */
};

struct ratelimit {
	struct ratelimit_params p;
	unsigned char key[crypto_shorthash_KEYBYTES];
	struct rl_table user, ip, pair, reg;
	ratelimit_event_fn *listener;
	void *listener_arg;
};

/*
 * Tables
 */

static void
table_init(struct rl_table *t, size_t max)
{
	size_t n = 16;

	while (n < max && n < ((size_t)1 << 30))
		n <<= 1;
	t->buckets = xcalloc(n, sizeof(struct rl_entry *));
	t->mask = n - 1;
	t->max = max > 0 ? max : 1;
	t->n = 0;
	t->head = t->tail = NULL;
}

static void
table_release(struct rl_table *t)
{
	struct rl_entry *e, *next;

	for (e = t->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static void
lru_unlink(struct rl_table *t, struct rl_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct rl_table *t, struct rl_entry *e)
{
	e->prev = NULL;
	e->next = t->head;
	if (t->head != NULL)
		t->head->prev = e;
	t->head = e;
	if (t->tail == NULL)
		t->tail = e;
}

static void
chain_unlink(struct rl_table *t, struct rl_entry *e)
{
	struct rl_entry **pp = &t->buckets[e->id & t->mask];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	e->hnext = NULL;
}

/* The entry for id, made most recently used; NULL when absent. */
static struct rl_entry *
table_find(struct rl_table *t, uint64_t id)
{
	struct rl_entry *e;

	for (e = t->buckets[id & t->mask]; e != NULL; e = e->hnext) {
		if (e->id == id) {
			if (t->head != e) {
				lru_unlink(t, e);
				lru_push(t, e);
			}
			return e;
		}
	}
	return NULL;
}

/* The entry for id, created (evicting the oldest when full) if absent. */
static struct rl_entry *
table_get(struct rl_table *t, uint64_t id, uint64_t now)
{
	struct rl_entry *e = table_find(t, id);

	if (e != NULL)
		return e;
	if (t->n >= t->max) {
		e = t->tail;
		lru_unlink(t, e);
		chain_unlink(t, e);
		memset(e, 0, sizeof(*e));
	} else {
		e = xcalloc(1, sizeof(*e));
		t->n++;
	}
	e->id = id;
	e->win_start = now;
	e->hnext = t->buckets[id & t->mask];
	t->buckets[id & t->mask] = e;
	lru_push(t, e);
	return e;
}

/*
 * Counting
 */

/* Move e's window forward to the one holding now. */
static void
roll(struct rl_entry *e, uint64_t now, uint64_t w)
{
	uint64_t elapsed;

	if (w == 0)
		w = 1;
	if (now < e->win_start) {
		e->win_start = now;
		return;
	}
	elapsed = now - e->win_start;
	if (elapsed < w)
		return;
	e->prev_count = elapsed < 2 * w ? e->cur : 0;
	e->cur = 0;
	e->win_start = now - elapsed % w;
}

/* The sliding-window estimate of events in the last w milliseconds. */
static uint64_t
estimate(const struct rl_entry *e, uint64_t now, uint64_t w)
{
	uint64_t into = now - e->win_start;

	if (w == 0 || into >= w)
		return e->cur;
	return (uint64_t)e->prev_count * (w - into) / w + e->cur;
}

static bool
is_blocked(const struct rl_entry *e, uint64_t now)
{
	return e != NULL && e->blocked_until > now;
}

/*
 * Count one event on e (limit per w). Returns true when the key is (now)
 * blocked. An event while blocked is not counted.
 */
static bool
count_event(struct rl_entry *e, unsigned limit, uint64_t w, uint64_t now)
{
	uint64_t mult;

	if (limit == 0)
		return false;
	if (is_blocked(e, now))
		return true;
	roll(e, now, w);
	e->cur++;
	if (estimate(e, now, w) < limit)
		return false;
	/* Quiet for as long as the last block lasted: start over. */
	if (e->blocked_until != 0 && now - e->blocked_until >= e->block_len)
		e->strikes = 0;
	if (e->strikes < 31)
		e->strikes++;
	mult = (uint64_t)1 << (e->strikes - 1 < 6 ? e->strikes - 1 : 6);
	if (mult > RATELIMIT_MAX_BACKOFF)
		mult = RATELIMIT_MAX_BACKOFF;
	e->block_len = w * mult;
	e->blocked_until = now + e->block_len;
	e->cur = 0;
	e->prev_count = 0;
	e->win_start = now;
	return true;
}

/*
 * Keys
 */

static uint64_t
hash_bytes(const struct ratelimit *rl, const unsigned char *p, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(out, p, len, rl->key);
	memcpy(&v, out, sizeof(v));
	return v;
}

/*
 * Append the bytes that identify address peer: its 16-byte form grouped by
 * proxy_addr_group (IPv4 whole, IPv6 per /64), else the text.
 */
static size_t
addr_bytes(const char *peer, unsigned char *out, size_t cap)
{
	unsigned char a[16];
	size_t n;

	if (proxy_parse_addr(str_from(peer), a)) {
		proxy_addr_group(a);
		out[0] = 6;
		memcpy(out + 1, a, sizeof(a));
		return 1 + sizeof(a);
	}
	n = strnlen(peer, cap - 1);
	out[0] = 0;
	memcpy(out + 1, peer, n);
	return n + 1;
}

/* The id of (tag, user, peer); user may be empty, peer NULL. */
static uint64_t
key_id(const struct ratelimit *rl, enum rl_tag tag, struct str user,
    const char *peer)
{
	unsigned char b[1 + 2 + 512 + 1 + 72];
	size_t n = 0, ulen = user.len < 512 ? user.len : 512;

	b[n++] = (unsigned char)tag;
	b[n++] = (unsigned char)(ulen >> 8);
	b[n++] = (unsigned char)ulen;
	if (user.p != NULL)
		memcpy(b + n, user.p, ulen);
	n += ulen;
	if (peer != NULL)
		n += addr_bytes(peer, b + n, 72);
	return hash_bytes(rl, b, n);
}

/*
 * The limiter
 */

void
ratelimit_params_default(struct ratelimit_params *p)
{
	p->auth_fail_per_user = RATELIMIT_AUTH_FAIL_PER_USER;
	p->auth_fail_per_ip = RATELIMIT_AUTH_FAIL_PER_IP;
	p->auth_fail_window_ms = (uint64_t)RATELIMIT_AUTH_FAIL_WINDOW_S * 1000;
	p->register_per_ip = RATELIMIT_REGISTER_PER_IP;
	p->register_window_ms = (uint64_t)RATELIMIT_REGISTER_WINDOW_S * 1000;
	p->max_entries = RATELIMIT_MAX_ENTRIES;
}

void
ratelimit_params_config(struct ratelimit_params *p, const struct config *cfg)
{
	ratelimit_params_default(p);
	p->auth_fail_per_user = cfg->auth_fail_per_user;
	p->auth_fail_per_ip = cfg->auth_fail_per_ip;
	p->auth_fail_window_ms = (uint64_t)cfg->auth_fail_window_s * 1000;
	p->register_per_ip = cfg->register_per_ip;
	p->register_window_ms = (uint64_t)cfg->register_window_s * 1000;
	p->max_entries = cfg->ratelimit_entries;
}

struct ratelimit *
ratelimit_new(const struct ratelimit_params *p)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	if (sodium_init() < 0)
		abort();
	rl->p = *p;
	if (rl->p.auth_fail_window_ms == 0)
		rl->p.auth_fail_window_ms = 1;
	if (rl->p.register_window_ms == 0)
		rl->p.register_window_ms = 1;
	crypto_shorthash_keygen(rl->key);
	table_init(&rl->user, p->max_entries);
	table_init(&rl->ip, p->max_entries);
	table_init(&rl->pair, p->max_entries);
	table_init(&rl->reg, p->max_entries);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	table_release(&rl->user);
	table_release(&rl->ip);
	table_release(&rl->pair);
	table_release(&rl->reg);
	sodium_memzero(rl->key, sizeof(rl->key));
	free(rl);
}

uint64_t
ratelimit_now_ms(void)
{
	struct timespec ts;

#ifdef CLOCK_MONOTONIC_COARSE
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
		return (uint64_t)ts.tv_sec * 1000 +
		       (uint64_t)ts.tv_nsec / 1000000;
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool
ratelimit_auth_allowed(
    struct ratelimit *rl, struct str user, const char *peer, uint64_t now)
{
	struct rl_entry *e;

	/* Nothing ever failed: nothing to look up. */
	if (rl->ip.n == 0 && rl->user.n == 0)
		return true;
	if (rl->p.auth_fail_per_ip > 0 && rl->ip.n > 0) {
		e = table_find(&rl->ip, key_id(rl, TAG_IP, STR_NULL, peer));
		if (is_blocked(e, now))
			return false;
	}
	if (rl->p.auth_fail_per_user > 0 && rl->user.n > 0) {
		e = table_find(&rl->user, key_id(rl, TAG_USER, user, NULL));
		if (is_blocked(e, now) &&
		    table_find(&rl->pair, key_id(rl, TAG_PAIR, user, peer)) ==
		        NULL)
			return false;
	}
	return true;
}

static void
count_auth_failed(
    struct ratelimit *rl, struct str user, const char *peer, uint64_t now)
{
	uint64_t w = rl->p.auth_fail_window_ms;

	if (rl->p.auth_fail_per_ip > 0)
		count_event(
		    table_get(&rl->ip, key_id(rl, TAG_IP, STR_NULL, peer), now),
		    rl->p.auth_fail_per_ip, w, now);
	if (rl->p.auth_fail_per_user > 0 && user.len > 0)
		count_event(
		    table_get(&rl->user, key_id(rl, TAG_USER, user, NULL), now),
		    rl->p.auth_fail_per_user, w, now);
}

void
ratelimit_auth_failed(
    struct ratelimit *rl, struct str user, const char *peer, uint64_t now)
{
	if (rl->p.auth_fail_per_ip == 0 &&
	    (rl->p.auth_fail_per_user == 0 || user.len == 0))
		return;
	count_auth_failed(rl, user, peer, now);
	if (rl->listener != NULL)
		rl->listener(
		    rl->listener_arg, RATELIMIT_EV_AUTH_FAILED, user, peer);
}

void
ratelimit_auth_ok(
    struct ratelimit *rl, struct str user, const char *peer, uint64_t now)
{
	if (rl->p.auth_fail_per_user == 0)
		return;
	table_get(&rl->pair, key_id(rl, TAG_PAIR, user, peer), now);
}

bool
ratelimit_register(struct ratelimit *rl, const char *peer, uint64_t now)
{
	struct rl_entry *e;

	if (rl->p.register_per_ip == 0)
		return true;
	e = table_get(&rl->reg, key_id(rl, TAG_REG, STR_NULL, peer), now);
	if (is_blocked(e, now))
		return false;
	count_event(e, rl->p.register_per_ip, rl->p.register_window_ms, now);
	if (rl->listener != NULL)
		rl->listener(
		    rl->listener_arg, RATELIMIT_EV_REGISTER, STR_NULL, peer);
	return true;
}

void
ratelimit_set_listener(struct ratelimit *rl, ratelimit_event_fn *fn, void *arg)
{
	rl->listener = fn;
	rl->listener_arg = arg;
}

void
ratelimit_apply(struct ratelimit *rl, enum ratelimit_event ev, struct str user,
    const char *peer, uint64_t now)
{
	switch (ev) {
	case RATELIMIT_EV_AUTH_FAILED:
		count_auth_failed(rl, user, peer, now);
		break;
	case RATELIMIT_EV_REGISTER:
		if (rl->p.register_per_ip > 0)
			count_event(
			    table_get(&rl->reg,
			        key_id(rl, TAG_REG, STR_NULL, peer), now),
			    rl->p.register_per_ip, rl->p.register_window_ms,
			    now);
		break;
	}
}

void
ratelimit_sizes(const struct ratelimit *rl, size_t out[4])
{
	out[0] = rl->user.n;
	out[1] = rl->ip.n;
	out[2] = rl->pair.n;
	out[3] = rl->reg.n;
}
