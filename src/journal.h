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
 *
 * Replay: journal_replay() reads a file from the start, hands every valid
 * record to a callback in order, and stops at the first torn or corrupt
 * record, which it reports (with its offset) so the caller can truncate.
 */
#ifndef KOSYNCD_JOURNAL_H
#define KOSYNCD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "buf.h"

#define JOURNAL_MAX_RECORD (1024 * 1024) /* larger payloads are refused */

enum journal_fsync {
	JOURNAL_FSYNC_ALWAYS = 0,
	JOURNAL_FSYNC_EVERYSEC,
	JOURNAL_FSYNC_NO,
};

struct journal;

/* Called on the loop: err is 0 when the record is durable, else an errno. */
typedef void journal_done_fn(void *arg, int err);

/*
 * Open (creating if needed) the journal file at path for appending, after
 * truncating it to valid_end (from journal_replay; pass -1 to keep its
 * size). next_seq is the sequence number the next record gets. Returns NULL
 * after logging why.
 */
struct journal *journal_open(uv_loop_t *loop, const char *path, off_t valid_end,
    uint64_t next_seq, enum journal_fsync policy);

/*
 * Queue one record; the payload is copied. Returns the sequence number it
 * was given. done(arg, err) is always called exactly once, on the loop,
 * never before journal_append returns.
 */
uint64_t journal_append(struct journal *j, const void *payload, size_t len,
    journal_done_fn *done, void *arg);

/* Bytes in the current file, including queued records. */
uint64_t journal_size(const struct journal *j);
/* The sequence number the next record will get. */
uint64_t journal_next_seq(const struct journal *j);

/*
 * Switch to a new file at new_path (created empty): records queued after
 * this call go there. Returns 0 or -1 with errno. Used by compaction: the
 * snapshot covers everything before the switch.
 */
int journal_rotate(struct journal *j, const char *new_path);

/*
 * Wait for every queued record to be durable, then call done(arg) on the
 * loop. Then journal_close() may be called.
 */
void journal_drain(struct journal *j, void (*done)(void *arg), void *arg);

/* Stop the writer thread and close the file. NULL is allowed. */
void journal_close(struct journal *j);

/* Called by journal_replay for each valid record; non-zero stops replay. */
typedef int journal_apply_fn(
    void *arg, uint64_t seq, const char *payload, size_t len);

struct journal_replay_result {
	uint64_t records;   /* valid records handed to apply */
	uint64_t last_seq;  /* sequence number of the last one (0 if none) */
	off_t valid_end;    /* offset just past the last valid record */
	off_t file_size;    /* size of the file as found */
	const char *damage; /* NULL, or why replay stopped before file_size */
};

/*
 * Read the journal at path and call apply for every valid record in order.
 * A missing file is an empty journal. Returns 0 (also when a torn or
 * corrupt tail was found: see res->damage and res->valid_end), or -1 when
 * the file cannot be read or apply returned non-zero.
 */
int journal_replay(const char *path, journal_apply_fn *apply, void *arg,
    struct journal_replay_result *res);

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
