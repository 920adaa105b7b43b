/*
 * table.h: open-addressing hash tables of pointers, keyed by byte strings.
 *
 * A table stores pointers to records that carry their own key and hash
 * (users by name, documents by id). Slots hold only the pointer, so an
 * empty table costs nothing and a full one 8 bytes per slot; the load factor
 * stays at or below 3/4. Probing is linear and removal shifts the following
 * entries back, so there are no tombstones.
 *
 * Hashes are SipHash-2-4 (libsodium's crypto_shorthash) under a random key
 * drawn once per process, so names and document ids chosen by clients cannot
 * be crafted to collide.
 *
 * Not here: ownership of the records (the caller frees them).
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd than buf.h and xmalloc.h, and should interact only with other low-
 * level primitives, so that any module may use it.
 */
#ifndef KOSYNCD_TABLE_H
#define KOSYNCD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct table {
	void **slot;  /* cap pointers, NULL = empty */
	uint32_t cap; /* 0 or a power of two */
	uint32_t n;   /* records stored */
};

#define TABLE_INIT                                                             \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* How to read a record's hash and key. */
struct table_type {
	uint32_t (*hash)(const void *rec);
	struct str (*key)(const void *rec);
};

/* The hash of a key (keyed SipHash; the key is drawn on first use). */
uint32_t table_hash(const char *p, size_t len);
/* All 64 bits of it, for a fingerprint (policy.c). */
uint64_t table_hash64(const char *p, size_t len);

/* The record with key (of hash h), or NULL. */
void *table_find(const struct table *t, const struct table_type *ty, uint32_t h,
    struct str key);

/*
 * The slot holding the record with key, or NULL: lets a caller replace a
 * record by a reallocated copy of itself (same key) in place.
 */
void **table_slot(const struct table *t, const struct table_type *ty,
    uint32_t h, struct str key);

/* Insert rec, whose key must not be in t yet. */
void table_insert(struct table *t, const struct table_type *ty, void *rec);

/* Remove and return the record with key, or NULL when there is none. */
void *table_remove(
    struct table *t, const struct table_type *ty, uint32_t h, struct str key);

/* Free the slot array (not the records) and return to TABLE_INIT. */
void table_release(struct table *t);

/*
 * Iterate: start with *pos = 0; returns the next record or NULL at the end.
 * The table must not change during an iteration.
 */
void *table_next(const struct table *t, uint32_t *pos);

#endif
