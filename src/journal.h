/*
 * journal.h: the append-only change log of the file store.
 *
 * A journal file is a sequence of records. Each record is a fixed header
 * (magic, payload length, sequence number, CRC-32C of header fields and
 * payload) followed by the payload, which is opaque to this module (the
 * store writes one compact JSON object per change). Sequence numbers
 * increase by one from record to record, across journal files.
 *
 * Durability: journal_append() queues a record; its callback runs on the
 * loop once the record is durable under the policy: "always" after an
 * fdatasync that covers it (records queued while a sync is running share the
 * next one: group commit), "everysec" and "no" once write() has returned.
 * The writes and syncs run on a thread of the journal's own, never on libuv's
 * shared pool, so argon2 work cannot delay a durable write.
 *
 * Failure: when a write or sync fails (disk full, I/O error), every record
 * of that batch is reported failed to its callback, the file is truncated
 * back to the end of the last durable record, and later appends are tried
 * again from there, so a freed disk makes writes succeed without a restart.
 * Records that were already queued behind the failed batch fail too (with
 * the same errno), and the sequence number is rewound to the first failed
 * record, so the file never has a gap: a failed record's sequence number is
 * given again to a later record. The failure is logged once (a warning
 * naming the operation and the file); the recovery is logged as info.
 *
 * Replay: journal_replay() reads a file from the start, hands every valid
 * record to a callback in order, and stops at the first torn or corrupt
 * record, which it reports (with its offset). journal_scan() then says
 * whether intact records follow it: when none do, the damage is a torn
 * tail, which the caller may cut; otherwise it must not.
 *
 * Layer formats (src/LAYERS): it uses only the core primitives (buf.h,
 * crc32c.h, fault.h, fileio.h, log.h, xmalloc.h) and knows nothing of the
 * configuration, the store interface or the request handlers; it must not
 * include their headers.
 */
#ifndef KOSYNCD_JOURNAL_H
#define KOSYNCD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "buf.h"

#define JOURNAL_MAX_RECORD (1024 * 1024ul) /* larger payloads are refused */

enum journal_fsync {
	JOURNAL_FSYNC_ALWAYS = 0,
	JOURNAL_FSYNC_EVERYSEC,
	JOURNAL_FSYNC_NO,
};

struct journal;

/* Called on the loop: err is 0 when the record is durable, else an errno. */
typedef void journal_done_fn(void *arg, int err);

/*
 * Open (creating if needed, mode 0600) the journal file at path for
 * appending, after truncating it to valid_end (from journal_replay; pass -1
 * to keep its size: only when nothing follows the records, neither a torn
 * tail nor zeros written ahead, or the next records would come after
 * them), and start its writer thread. next_seq is the sequence number the
 * next record gets. Returns NULL after logging why.
 */
struct journal *journal_open(uv_loop_t *loop, const char *path, off_t valid_end,
    uint64_t next_seq, enum journal_fsync policy);

/*
 * Queue one record; the payload is copied. Returns the sequence number it
 * was given (0 when len > JOURNAL_MAX_RECORD: then done gets EMSGSIZE).
 * done(arg, err) is always called exactly once, on the loop, never before
 * journal_append returns; callbacks come in append order. The loop is kept
 * alive (the journal's handle is referenced) while any callback is due.
 */
uint64_t journal_append(struct journal *j, const void *payload, size_t len,
    journal_done_fn *done, void *arg);

/*
 * Bytes in the current file, including queued records (after a failure,
 * approximately: the failed records no longer count).
 */
uint64_t journal_size(const struct journal *j);
/* The sequence number the next record will get. */
uint64_t journal_next_seq(const struct journal *j);

/*
 * Figures for /metrics: every fdatasync of the journal's files, timed on
 * the writer thread. fsync_bucket[i] counts the syncs that took at most
 * 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 100, 1000 ms (i = 0..9; cumulative).
 */
#define JOURNAL_FSYNC_BUCKETS 10
struct journal_stats {
	uint64_t fsyncs;
	uint64_t fsync_ns;
	uint64_t fsync_bucket[JOURNAL_FSYNC_BUCKETS];
};
void journal_stats(const struct journal *j, struct journal_stats *out);

/*
 * Switch to a new file at new_path (created empty, or truncated, and its
 * directory synced): records queued after this call go there; the old file
 * gets its last records and an fdatasync, and is closed (not removed).
 * Sequence numbers continue. Returns 0 or -1 with errno (nothing changed).
 * Used by compaction: a snapshot of the state after the records appended
 * before the switch (drain first, so none of them can still fail) covers
 * the old file, which may then be deleted.
 */
int journal_rotate(struct journal *j, const char *new_path);

/*
 * Wait for every record queued before this call to be settled (durable or
 * failed), with an fdatasync under every policy, then call done(arg) on the
 * loop, in order with the records' callbacks. Then journal_close() may be
 * called (also from inside done).
 */
void journal_drain(struct journal *j, void (*done)(void *arg), void *arg);

/*
 * Stop the writer thread after it has written (and synced) everything
 * queued, run every callback still due, and close the file. The memory is
 * released by the loop once it has run the handle's close callback, so the
 * loop must run again afterwards (uv_run). NULL is allowed.
 */
void journal_close(struct journal *j);

/* Called by journal_replay for each valid record; non-zero stops replay. */
typedef int journal_apply_fn(
    void *arg, uint64_t seq, const char *payload, size_t len);

struct journal_replay_result {
	uint64_t records;  /* valid records handed to apply */
	uint64_t last_seq; /* sequence number of the last one (0 if none) */
	off_t valid_end;   /* offset just past the last valid record */
	off_t file_size;   /* size of the file as found */
	off_t zero_tail; /* zero bytes from valid_end to the end (not damage) */
	const char *damage; /* NULL, or why replay stopped before the zeros */
};

/*
 * Read the journal at path and call apply for every valid record in order.
 * The first record may have any sequence number; each later one must have
 * the previous one's plus one ("sequence gap" otherwise). damage is one of
 * "torn record" (the file ends inside a record), "bad magic", "bad length",
 * "bad checksum", "sequence gap"; the damaged record starts at valid_end.
 * Zero bytes from where a record would start to the end of the file are
 * the writer's room ahead of its records, not damage (res->zero_tail); a
 * byte that is not zero after them makes the first zero "bad magic".
 * A missing file is an empty journal. Returns 0 (also when a torn or
 * corrupt tail was found: see res->damage and res->valid_end), or -1 when
 * the file cannot be read or apply returned non-zero.
 */
int journal_replay(const char *path, journal_apply_fn *apply, void *arg,
    struct journal_replay_result *res);

/*
 * Salvage scan: the intact records in the rest of a damaged journal.
 *
 * From offset from, every byte either belongs to an intact record (magic,
 * length and CRC-32C all right) or is damage, but for zero bytes that end
 * the file (the writer's room ahead, see journal_replay). A record is looked
 * for at every offset where the magic is, so a damaged record costs only its
 * own bytes: the records after it are found again. Sequence numbers are not
 * checked here (each intact record is handed over as it is). Used to tell a
 * torn tail (nothing intact after the damage: safe to drop) from damage in
 * the middle (intact, acknowledged records after it: never dropped), and by
 * `kosyncd salvage` to keep them.
 */

/* Called for each stretch of damaged bytes (len > 0); non-zero stops. */
typedef int journal_damage_fn(
    void *arg, off_t off, const char *bytes, size_t len);

struct journal_scan_result {
	uint64_t records;   /* intact records found */
	uint64_t first_seq; /* sequence number of the first one (0 if none) */
	uint64_t last_seq;  /* and of the last one */
	off_t first_record; /* offset of the first one (-1 if none) */
	uint64_t damaged;   /* bytes in no intact record */
	uint64_t ranges;    /* stretches of such bytes */
};

/*
 * Scan len bytes of data from offset from: apply (may be NULL) gets every
 * intact record, damage (may be NULL) every damaged stretch, in file order.
 * Returns 0, or -1 when a callback returned non-zero.
 */
int journal_scan_mem(const char *data, size_t len, size_t from,
    journal_apply_fn *apply, journal_damage_fn *damage, void *arg,
    struct journal_scan_result *res);

/*
 * journal_scan_mem over the file at path (mapped, not read into memory).
 * A missing or empty file has nothing. Returns 0, or -1 with errno when
 * the file cannot be read or a callback returned non-zero.
 */
int journal_scan(const char *path, off_t from, journal_apply_fn *apply,
    journal_damage_fn *damage, void *arg, struct journal_scan_result *res);

/*
 * Pure encoding, for tests and fuzzers: append the record for (seq,
 * payload) to out; decode one record from data, returning the bytes it
 * used (>0), -2 when data ends inside the record, -1 when it is corrupt.
 */
void journal_encode(
    struct buf *out, uint64_t seq, const void *payload, size_t len);
ssize_t journal_decode(const char *data, size_t len, uint64_t *seq,
    const char **payload, size_t *payload_len);

#endif
