/*
 * keyhash.h: keys at rest (argon2id) and the verified-key cache digests.
 *
 * Stored keys are argon2id PHC strings of the client's md5 key
 * (crypto_pwhash_str: per-user random salt inside the string, opslimit 2,
 * memlimit 19 MiB). Hashing and verifying take ~17 ms of CPU, so they run on
 * libuv's thread pool, never on the loop, at most `concurrency` at a time;
 * further jobs wait in a FIFO queue.
 *
 * A key verified once is remembered by the store as keyhash_digest() of it: a
 * 128-bit SipHash-2-4 (libsodium's crypto_shorthash_siphashx24) keyed with
 * a random per-process key, compared with sodium_memcmp in constant time,
 * so later requests cost well under a microsecond and the cache never
 * holds a key itself. A keyed pseudo-random function is what the cache
 * needs: without the process's key nobody can make another key with the
 * same digest. It replaced a keyed BLAKE2b-256 (~1,600 instructions per
 * request against ~300; docs/performance.md); both are fast, so a copy of
 * the process's memory exposes the keys to the same guessing either way.
 *
 * Keys loaded from KOsync files are plain md5 strings ("legacy"); the
 * migration hashes them (keyhash_hash_many, on threads of its own before the
 * loop runs).
 *
 * Layer formats (src/LAYERS): it uses only the core primitives (buf.h,
 * fault.h, xmalloc.h) and knows nothing of the configuration, the store
 * interface or the request handlers; it must not include their headers.
 */
#ifndef KOSYNCD_KEYHASH_H
#define KOSYNCD_KEYHASH_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "buf.h"

#define KEYHASH_DIGEST_BYTES 16 /* crypto_shorthash_siphashx24_BYTES */
#define KEYHASH_OPSLIMIT 2
#define KEYHASH_MEMLIMIT ((size_t)19 * 1024 * 1024)
#define KEYHASH_PHC_MAX 128 /* crypto_pwhash_STRBYTES */
/*
 * Jobs that may wait for a thread; past this a new job fails at once
 * (KEYHASH_FAILED: the client gets a 5xx and retries) instead of queueing
 * ~17 ms more work for every request of a flood of wrong keys.
 */
#define KEYHASH_MAX_QUEUED 1024

enum keyhash_result {
	KEYHASH_OK = 0,   /* verified, or hashed (phc is set) */
	KEYHASH_MISMATCH, /* verification: wrong key */
	KEYHASH_FAILED,   /* cancelled, queue full, or out of memory */
};

/*
 * Called on the loop when a job finishes. phc (hash jobs, KEYHASH_OK only) is
 * a heap string the callee takes ownership of; NULL otherwise.
 */
typedef void keyhash_done_fn(void *arg, enum keyhash_result res, char *phc);

struct keyhash;

/* A pool on loop running at most concurrency (>= 1) jobs at once. */
struct keyhash *keyhash_new(uv_loop_t *loop, unsigned concurrency);
/* Free the pool; it must be idle (see keyhash_drain). NULL is allowed. */
void keyhash_free(struct keyhash *k);

/*
 * Verify key against a PHC string (both copied). done runs later on the
 * loop, except when the queue is full (KEYHASH_MAX_QUEUED): then it runs with
 * KEYHASH_FAILED before this returns. The same holds for keyhash_hash.
 */
void keyhash_verify(struct keyhash *k, const char *phc, struct str key,
    keyhash_done_fn *done, void *arg);
/* Hash key (copied) into a new PHC string. */
void keyhash_hash(
    struct keyhash *k, struct str key, keyhash_done_fn *done, void *arg);

/*
 * Shutdown: report every queued job KEYHASH_FAILED now, and call done(arg)
 * once the running ones have finished (at once when none runs).
 */
void keyhash_drain(struct keyhash *k, void (*done)(void *arg), void *arg);

/* Jobs running and queued (for tests). */
unsigned keyhash_running(const struct keyhash *k);
unsigned keyhash_queued(const struct keyhash *k);

/* The cache digest of key. */
void keyhash_digest(struct str key, unsigned char out[KEYHASH_DIGEST_BYTES]);
/* Constant-time comparison of two digests. */
bool keyhash_digest_eq(const unsigned char *a, const unsigned char *b);

/* Whether a stored key is an argon2id PHC string (else a legacy key). */
bool keyhash_is_phc(const char *stored);

/*
 * Synchronous forms (off the loop only: migration threads, admin commands).
 * keyhash_hash_sync returns 0 or -1; keyhash_check_sync compares key with a
 * stored key of either kind, in constant time for legacy keys.
 */
int keyhash_hash_sync(struct str key, char out[KEYHASH_PHC_MAX]);
bool keyhash_check_sync(const char *stored, struct str key);

/*
 * Replace each of the n legacy keys in keys[] (heap strings) by its PHC
 * string, using up to nthreads threads. Returns 0 or -1 (then some keys may
 * be replaced and the others kept).
 */
int keyhash_hash_many(char **keys, size_t n, unsigned nthreads);

#endif
