/*
 * policy.c: progress policies (policy.h, docs/policy.md).
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "table.h"
#include "xmalloc.h"

static const char *const names[] = {
    [DB_POLICY_LATEST] = "latest",
    [DB_POLICY_FURTHEST] = "furthest",
    [DB_POLICY_GUARD] = "guard",
};

#define NPOLICIES (sizeof(names) / sizeof(names[0]))

const char *
policy_name(unsigned policy)
{
	return policy < NPOLICIES ? names[policy] : NULL;
}

int
policy_parse(struct str s)
{
	size_t i;

	for (i = 0; s.p != NULL && i < NPOLICIES; i++)
		if (str_eqs(s, names[i]))
			return (int)i;
	return -1;
}

const char *
policy_held_name(unsigned held)
{
	if (held & DB_HELD_GUARD)
		return "guard";
	if (held & DB_HELD_FURTHEST)
		return "furthest";
	return "";
}

unsigned
policy_decide(unsigned policy, const struct policy_case *c)
{
	bool behind;

	if (!c->has_current)
		return 0;
	behind = c->percentage < c->cur_percentage;
	switch (policy) {
	case DB_POLICY_FURTHEST:
		return behind ? DB_HELD_FURTHEST : 0;
	case DB_POLICY_GUARD:
		return behind && c->client_ts != 0 &&
		               c->client_ts < c->cur_timestamp && !c->pulled
		           ? DB_HELD_GUARD
		           : 0;
	default:
		return 0;
	}
}

/* Fingerprints are table.h's keyed SipHash, all 64 bits of it. */
static uint64_t
fp(const void *p, size_t len)
{
	return table_hash64(p, len);
}

/* The fingerprint of a, b and c (64 bits each). */
static uint64_t
fp3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t v[3] = {a, b, c};

	return fp(v, sizeof(v));
}

uint64_t
policy_client(struct str address, struct str agent)
{
	return fp3(2, fp(address.p != NULL ? address.p : "", address.len),
	    fp(agent.p != NULL ? agent.p : "", agent.len));
}

struct slot {
	uint64_t key; /* 0: empty */
	int64_t when;
};

struct policy_pulls {
	/* Pulls at or before this time may have been forgotten. */
	int64_t forgotten;
	struct slot slots[POLICY_PULL_SLOTS];
};

struct policy_pulls *
policy_pulls_new(int64_t now)
{
	struct policy_pulls *t = xcalloc(1, sizeof(*t));

	t->forgotten = now;
	return t;
}

void
policy_pulls_free(struct policy_pulls *t)
{
	free(t);
}

static uint64_t
pull_key(struct str user, struct str document, uint64_t client)
{
	uint64_t k =
	    fp3(fp(user.p, user.len), fp(document.p, document.len), client);

	return k != 0 ? k : 1;
}

void
policy_pulls_note(struct policy_pulls *t, struct str user, struct str document,
    uint64_t client, int64_t when)
{
	uint64_t k = pull_key(user, document, client);
	struct slot *s = &t->slots[k % POLICY_PULL_SLOTS];

	if (s->key != k) {
		/* The pull this slot held is forgotten from now on. */
		if (s->key != 0 && s->when > t->forgotten)
			t->forgotten = s->when;
		s->key = k;
		s->when = when;
	} else if (when > s->when) {
		s->when = when;
	}
}

bool
policy_pulled_since(const struct policy_pulls *t, struct str user,
    struct str document, uint64_t client, int64_t since)
{
	uint64_t k = pull_key(user, document, client);
	const struct slot *s = &t->slots[k % POLICY_PULL_SLOTS];

	if (since <= t->forgotten)
		return true;
	return s->key == k && s->when >= since;
}
