/*
 * table.c: open-addressing hash tables (see table.h).
 *
 * Invariants: cap is 0 or a power of two; n <= cap * 3 / 4; every record
 * is reachable from its home slot (hash & (cap - 1)) by linear probing
 * without crossing an empty slot. Removal keeps the last invariant by
 * shifting back the records that follow (Knuth's algorithm R).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "table.h"
#include "xmalloc.h"

static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static bool hash_key_set;

uint64_t
table_hash64(const char *p, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	if (!hash_key_set) {
		randombytes_buf(hash_key, sizeof(hash_key));
		hash_key_set = true;
	}
	crypto_shorthash(out, (const unsigned char *)p, len, hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

uint32_t
table_hash(const char *p, size_t len)
{
	return (uint32_t)table_hash64(p, len);
}

static bool
matches(
    const struct table_type *ty, const void *rec, uint32_t h, struct str key)
{
	struct str k;

	if (ty->hash(rec) != h)
		return false;
	k = ty->key(rec);
	return k.len == key.len &&
	       (key.len == 0 || memcmp(k.p, key.p, key.len) == 0);
}

void **
table_slot(const struct table *t, const struct table_type *ty, uint32_t h,
    struct str key)
{
	uint32_t mask, i;

	if (t->cap == 0)
		return NULL;
	mask = t->cap - 1;
	for (i = h & mask; t->slot[i] != NULL; i = (i + 1) & mask)
		if (matches(ty, t->slot[i], h, key))
			return &t->slot[i];
	return NULL;
}

void *
table_find(const struct table *t, const struct table_type *ty, uint32_t h,
    struct str key)
{
	void **s = table_slot(t, ty, h, key);

	return s ? *s : NULL;
}

static void
place(void **slot, uint32_t mask, uint32_t h, void *rec)
{
	uint32_t i;

	for (i = h & mask; slot[i] != NULL; i = (i + 1) & mask)
		;
	slot[i] = rec;
}

static void
resize(struct table *t, const struct table_type *ty, uint32_t cap)
{
	void **slot = xcalloc(cap, sizeof(*slot));
	uint32_t i;

	for (i = 0; i < t->cap; i++)
		if (t->slot[i] != NULL)
			place(slot, cap - 1, ty->hash(t->slot[i]), t->slot[i]);
	free(t->slot);
	t->slot = slot;
	t->cap = cap;
}

void
table_insert(struct table *t, const struct table_type *ty, void *rec)
{
	assert(rec != NULL);
	if (t->cap == 0)
		resize(t, ty, 4);
	else if ((uint64_t)(t->n + 1) * 4 > (uint64_t)t->cap * 3)
		resize(t, ty, t->cap * 2);
	place(t->slot, t->cap - 1, ty->hash(rec), rec);
	t->n++;
}

void *
table_remove(
    struct table *t, const struct table_type *ty, uint32_t h, struct str key)
{
	void **s = table_slot(t, ty, h, key);
	void *rec;
	uint32_t mask, i, j, home;

	if (s == NULL)
		return NULL;
	rec = *s;
	mask = t->cap - 1;
	i = (uint32_t)(s - t->slot);
	t->slot[i] = NULL;
	/* Shift back every record whose probe path crosses the hole. */
	for (j = (i + 1) & mask; t->slot[j] != NULL; j = (j + 1) & mask) {
		home = ty->hash(t->slot[j]) & mask;
		/* Leave it when home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->slot[i] = t->slot[j];
		t->slot[j] = NULL;
		i = j;
	}
	t->n--;
	return rec;
}

void
table_release(struct table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = 0;
	t->n = 0;
}

void *
table_next(const struct table *t, uint32_t *pos)
{
	while (*pos < t->cap) {
		void *rec = t->slot[(*pos)++];

		if (rec != NULL)
			return rec;
	}
	return NULL;
}
