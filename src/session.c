/*
 * session.c: sign-in sessions (see session.h).
 *
 * The table is a table.h hash table keyed by the token's digest. A digest
 * is BLAKE2b keyed with a random per-process key, so a table lookup time
 * says nothing about any real token. Expired sessions are dropped when
 * they are looked up and when room is needed.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "session.h"
#include "table.h"
#include "xmalloc.h"

struct sessions {
	struct table t;
	uint64_t ttl_ms;
	size_t max;
	unsigned char key[crypto_generichash_KEYBYTES];
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
s_free(struct session *s)
{
	free(s->user);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

void
sessions_free(struct sessions *ss)
{
	struct session *s;
	uint32_t pos = 0;

	if (ss == NULL)
		return;
	while ((s = table_next(&ss->t, &pos)) != NULL)
		s_free(s);
	table_release(&ss->t);
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

static void
s_remove(struct sessions *ss, struct session *s)
{
	table_remove(&ss->t, &session_type, s->hash, s_key(s));
	s_free(s);
}

/* Drop expired sessions; when still full, the one expiring first. */
static void
make_room(struct sessions *ss, uint64_t now)
{
	struct session *s, *first = NULL;
	uint32_t pos = 0;
	bool again = true;

	while (again) {
		again = false;
		pos = 0;
		while ((s = table_next(&ss->t, &pos)) != NULL) {
			if (s->expires <= now) {
				s_remove(ss, s);
				again = true;
				break;
			}
		}
	}
	if (ss->t.n < ss->max)
		return;
	pos = 0;
	while ((s = table_next(&ss->t, &pos)) != NULL)
		if (first == NULL || s->expires < first->expires)
			first = s;
	if (first != NULL)
		s_remove(ss, first);
}

struct session *
session_create(struct sessions *ss, struct str user, uint64_t now,
    char token[SESSION_TOKEN_LEN + 1])
{
	struct session *s = xcalloc(1, sizeof(*s));

	if (ss->t.n >= ss->max)
		make_room(ss, now);
	random_token(token);
	random_token(s->csrf);
	digest(ss, (struct str){token, SESSION_TOKEN_LEN}, s->digest);
	s->hash = table_hash((const char *)s->digest, SESSION_DIGEST_BYTES);
	s->expires = now + ss->ttl_ms;
	s->user = xmemdup0(user.p, user.len);
	table_insert(&ss->t, &session_type, s);
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
	uint32_t pos;
	bool again = true;

	/* The table must not change while it is walked: restart after each. */
	while (again) {
		struct session *s;

		again = false;
		pos = 0;
		while ((s = table_next(&ss->t, &pos)) != NULL) {
			if (s == keep || !str_eqs(user, s->user))
				continue;
			s_remove(ss, s);
			again = true;
			break;
		}
	}
}

size_t
sessions_count(const struct sessions *ss)
{
	return ss->t.n;
}
