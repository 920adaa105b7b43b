/*
 * journal.c: the append-only change log of the file store (see journal.h).
 *
 * Record layout (all integers little-endian):
 *
 *	offset 0  u32 magic "KSJ1"
 *	       4  u32 payload length (<= JOURNAL_MAX_RECORD)
 *	       8  u64 sequence number
 *	      16  u32 CRC-32C of bytes 0..15 followed by the payload
 *	      20  payload
 *
 * Threads. The loop thread appends: it encodes each record straight into
 * the "in" batch (one growing byte buffer plus an array of entries that
 * remember each callback) under the mutex. The writer thread, owned by the
 * journal, swaps "in" with its own "work" batch, writes the whole batch with
 * one pwrite at the end of the last durable record, syncs it if the policy
 * asks, and moves the entries with their results to the "done" array; a
 * uv_async wakes the loop, which swaps "done" out and calls the callbacks in
 * append order. While a sync runs the loop keeps appending, so the next
 * batch is everything queued meanwhile: group commit. The buffers are
 * swapped, not freed, so the steady state allocates nothing per record.
 *
 * Zeros ahead. Under fsync "always" and "everysec" the writer keeps the
 * file JOURNAL_AHEAD_BYTES longer than its records, in zero bytes written
 * ahead of them (write_ahead): a record written over zeros already in the
 * file changes neither its size nor its extents, so the fdatasync that
 * makes it durable has only the data to write, not a metadata commit
 * (on ext4, a third less time and CPU per sync: docs/performance.md). A
 * file whose records are followed by zero bytes to its end is therefore
 * whole: replay stops at the first zero where a record would start and
 * counts the rest (res->zero_tail), which must be all zeros (a record
 * starts with its magic, never a zero). A start cuts the zeros (the
 * valid_end it passes to journal_open) and the writer writes them again.
 *
 * Group window. A sync over zeros is short (~140 us here, where one with a
 * metadata commit took ~300 us), so under load each group would be half
 * as large, and the loop would take twice the completions for the same
 * records. Under "always", when records came in during a sync (the server
 * is busy), the next write starts no sooner than JOURNAL_GROUP_NS after
 * the last one started: at most that much more wait for a record, and
 * only under load; a lone client's push never waits (docs/performance.md
 * has the figures at 64 and 4 connections and for one client).
 *
 * Failure. A failed write or sync fails the records of the batch, truncates
 * the file back to the last durable offset (wend) and rewinds the next
 * sequence number to the first failed record, so the file never has a gap.
 * Records appended before the loop learned of the failure carry sequence
 * numbers past the rewound point; they are failed as well (they belong to an
 * older "generation"). The next append starts again at wend, so writes work
 * again as soon as the cause (a full disk) is gone.
 *
 * Invariants: wend is only advanced after a successful write (and sync
 * under "always"); every entry queued is dispatched exactly once, in order;
 * callbacks run only on the loop, from the async handler or journal_close.
 *
 * Not responsible for what the payloads mean, for naming files, or for
 * truncating a damaged tail found by replay (journal_open does it at the
 * offset the caller passes).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "buf.h"
#include "crc32c.h"
#include "fault.h"
#include "fileio.h"
#include "journal.h"
#include "log.h"
#include "xmalloc.h"

#define JOURNAL_MAGIC 0x314A534Bu /* "KSJ1" read as little-endian u32 */
#define JOURNAL_HEADER 20
#define JOURNAL_READ_CHUNK (64 * 1024ul)
/* Batch buffers larger than this are freed. */
#define JOURNAL_KEEP_BYTES (1024 * 1024ul)
#define JOURNAL_SYNC_NS 1000000000ull /* everysec */
/* Zero bytes written ahead of the records (a multiple of 4096). */
#define JOURNAL_AHEAD_BYTES ((off_t)256 * 1024)
/* Under load, one sync starts at most this often (group commit). */
#define JOURNAL_GROUP_NS 250000ull

enum entry_kind {
	ENTRY_RECORD,  /* bytes in the batch, callback done */
	ENTRY_REFUSED, /* payload too large: fails with EMSGSIZE, no bytes */
	ENTRY_DRAIN,   /* forces a sync, then calls drain */
	ENTRY_ROTATE,  /* switch to fd for what follows */
};

struct entry {
	journal_done_fn *done;
	void (*drain)(void *);
	void *arg;
	uint64_t seq;
	uint32_t len; /* ENTRY_RECORD: encoded bytes in the batch */
	uint32_t gen;
	int err;
	int kind;
	int fd; /* ENTRY_ROTATE */
};

struct batch {
	struct buf bytes;
	struct entry *ent;
	size_t nent;
	size_t cap;
};

struct journal {
	uv_loop_t *loop;
	uv_async_t async;
	uv_thread_t thread;
	uv_mutex_t mu;
	uv_cond_t cond;
	enum journal_fsync policy;

	/* Shared between the loop and the writer, under mu. */
	struct batch in;   /* appended by the loop */
	struct batch done; /* finished by the writer, to dispatch */
	uint64_t next_seq;
	uint64_t size;
	uint32_t gen;   /* bumped by the writer at each failure */
	int stale_err;  /* what stale records fail with */
	int report_err; /* a failure for the loop to log, 0 if none */
	const char *report_op;
	bool report_ok; /* a write succeeded after a failure */
	unsigned rotates_pending;
	bool stop;
	bool waiting; /* the writer sleeps on cond */
	struct journal_stats stats;

	/* Writer thread only. */
	struct batch work;
	int fd;
	off_t wend;   /* end of the last durable record */
	off_t zend;   /* end of the file: zeros from wend to here, if more */
	off_t zretry; /* a write ahead failed: none before wend is here */
	bool trunc_needed;
	bool dirty; /* written since the last sync */
	bool failing;
	uint64_t last_sync;

	/* Loop thread only. */
	struct batch disp;
	char *path;
	size_t outstanding; /* entries queued, not yet dispatched */
	bool closed;        /* writer joined */
	bool in_dispatch;
	bool logged_failure;
};

/*
 * Encoding and decoding
 */

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Write the record for (seq, payload) at out, which has room for it. */
static void
encode_at(unsigned char *out, uint64_t seq, const void *payload, size_t len)
{
	uint32_t crc;

	assert(len <= JOURNAL_MAX_RECORD && (payload != NULL || len == 0));
	put32(out, JOURNAL_MAGIC);
	put32(out + 4, (uint32_t)len);
	put64(out + 8, seq);
	if (len > 0)
		memcpy(out + JOURNAL_HEADER, payload, len);
	crc = crc32c(0, out, 16);
	crc = crc32c(crc, out + JOURNAL_HEADER, len);
	put32(out + 16, crc);
}

void
journal_encode(struct buf *out, uint64_t seq, const void *payload, size_t len)
{
	assert(len <= JOURNAL_MAX_RECORD);
	buf_grow(out, JOURNAL_HEADER + len);
	encode_at((unsigned char *)out->data + out->len, seq, payload, len);
	out->len += JOURNAL_HEADER + len;
	out->data[out->len] = '\0';
}

/*
 * Decode one record, as journal_decode, and on -1 set *why to the reason.
 * -2 (torn) is returned only while every byte present is plausible: a bad
 * magic or length is reported as soon as it is visible.
 */
static ssize_t
decode(const char *data, size_t len, uint64_t *seq, const char **payload,
    size_t *payload_len, const char **why)
{
	const unsigned char *p = (const unsigned char *)data;
	unsigned char magic[4];
	uint32_t plen, crc;

	put32(magic, JOURNAL_MAGIC);
	if (memcmp(p, magic, len < 4 ? len : 4) != 0) {
		*why = "bad magic";
		return -1;
	}
	if (len < 8)
		return -2;
	plen = get32(p + 4);
	if (plen > JOURNAL_MAX_RECORD) {
		*why = "bad length";
		return -1;
	}
	if (len < JOURNAL_HEADER + (size_t)plen)
		return -2;
	crc = crc32c(0, p, 16);
	crc = crc32c(crc, p + JOURNAL_HEADER, plen);
	if (crc != get32(p + 16)) {
		*why = "bad checksum";
		return -1;
	}
	*seq = get64(p + 8);
	*payload = data + JOURNAL_HEADER;
	*payload_len = plen;
	return JOURNAL_HEADER + (ssize_t)plen;
}

ssize_t
journal_decode(const char *data, size_t len, uint64_t *seq,
    const char **payload, size_t *payload_len)
{
	const char *why;

	return decode(data, len, seq, payload, payload_len, &why);
}

/*
 * Replay
 */

/* The n bytes at p are all zero. */
static bool
all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == '\0' && memcmp(p, p + 1, n - 1) == 0);
}

int
journal_replay(const char *path, journal_apply_fn *apply, void *arg,
    struct journal_replay_result *res)
{
	struct buf b = BUF_INIT;
	struct stat st;
	const char *payload, *why, *zwhy = NULL;
	size_t pos = 0, plen;
	uint64_t seq;
	ssize_t n, r;
	bool eof = false;
	int fd, rc = -1, saved;

	memset(res, 0, sizeof(*res));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	if (fstat(fd, &st) == -1)
		goto out;
	res->file_size = st.st_size;
	for (;;) {
		if (zwhy != NULL) {
			/* Past the records: zeros to the end, or damage. */
			if (!all_zero(b.data + pos, b.len - pos)) {
				res->damage = zwhy;
				res->zero_tail = 0;
				break;
			}
			res->zero_tail += (off_t)(b.len - pos);
			pos = b.len;
		} else if (pos < b.len) {
			r = decode(b.data + pos, b.len - pos, &seq, &payload,
			    &plen, &why);
			if (r > 0) {
				if (res->records > 0 &&
				    seq != res->last_seq + 1) {
					res->damage = "sequence gap";
					break;
				}
				if (apply(arg, seq, payload, plen) != 0)
					goto out;
				res->records++;
				res->last_seq = seq;
				res->valid_end += r;
				pos += (size_t)r;
				continue;
			}
			if (r == -1 && b.data[pos] == '\0') {
				zwhy = why; /* the zeros written ahead? */
				continue;
			}
			if (r == -1) {
				res->damage = why;
				break;
			}
		}
		if (eof) {
			if (pos < b.len)
				res->damage = "torn record";
			break;
		}
		/* Need more bytes: keep the partial record, read on. */
		buf_consume(&b, pos);
		pos = 0;
		buf_grow(&b, JOURNAL_READ_CHUNK);
		n = read(fd, b.data + b.len, JOURNAL_READ_CHUNK);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			eof = true;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
	}
	/* A file that grew while being read is reported as found. */
	if (res->file_size < res->valid_end + res->zero_tail)
		res->file_size = res->valid_end + res->zero_tail;
	rc = 0;
out:
	saved = errno;
	close(fd);
	buf_release(&b);
	errno = saved;
	return rc;
}

/*
 * Salvage scan
 */

int
journal_scan_mem(const char *data, size_t len, size_t from,
    journal_apply_fn *apply, journal_damage_fn *damage, void *arg,
    struct journal_scan_result *res)
{
	const char *payload, *why, *k;
	size_t pos = from, bad = SIZE_MAX, plen;
	uint64_t seq;
	ssize_t r;

	memset(res, 0, sizeof(*res));
	res->first_record = -1;
	while (pos < len) {
		r = decode(data + pos, len - pos, &seq, &payload, &plen, &why);
		if (r <= 0) {
			if (bad == SIZE_MAX)
				bad = pos;
			/* The next place a record could start: its magic. */
			k = memchr(data + pos + 1, (unsigned char)JOURNAL_MAGIC,
			    len - pos - 1);
			pos = k != NULL ? (size_t)(k - data) : len;
			continue;
		}
		if (bad != SIZE_MAX) {
			res->damaged += pos - bad;
			res->ranges++;
			if (damage != NULL &&
			    damage(arg, (off_t)bad, data + bad, pos - bad) != 0)
				return -1;
			bad = SIZE_MAX;
		}
		if (res->records++ == 0) {
			res->first_seq = seq;
			res->first_record = (off_t)pos;
		}
		res->last_seq = seq;
		if (apply != NULL && apply(arg, seq, payload, plen) != 0)
			return -1;
		pos += (size_t)r;
	}
	/* Zeros that end the file were written ahead: not damage. */
	while (bad != SIZE_MAX && len > bad && data[len - 1] == '\0')
		len--;
	if (bad != SIZE_MAX && len > bad) {
		res->damaged += len - bad;
		res->ranges++;
		if (damage != NULL &&
		    damage(arg, (off_t)bad, data + bad, len - bad) != 0)
			return -1;
	}
	return 0;
}

int
journal_scan(const char *path, off_t from, journal_apply_fn *apply,
    journal_damage_fn *damage, void *arg, struct journal_scan_result *res)
{
	struct stat st;
	void *map = MAP_FAILED;
	int fd, rc = -1, saved;

	memset(res, 0, sizeof(*res));
	res->first_record = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1)
		goto out;
	if (st.st_size <= from || from < 0) {
		rc = 0;
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		goto out;
	rc = journal_scan_mem(
	    map, (size_t)st.st_size, (size_t)from, apply, damage, arg, res);
out:
	saved = errno;
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Batches
 */

static struct entry *
batch_push(struct batch *b)
{
	if (b->nent == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->ent = xrealloc(b->ent, b->cap * sizeof(*b->ent));
	}
	memset(&b->ent[b->nent], 0, sizeof(b->ent[0]));
	return &b->ent[b->nent++];
}

/* Move every entry of from to the end of to. */
static void
batch_move_entries(struct batch *to, struct batch *from)
{
	if (to->cap < to->nent + from->nent) {
		while (to->cap < to->nent + from->nent)
			to->cap = to->cap ? to->cap * 2 : 64;
		to->ent = xrealloc(to->ent, to->cap * sizeof(*to->ent));
	}
	if (from->nent > 0)
		memcpy(&to->ent[to->nent], from->ent,
		    from->nent * sizeof(*from->ent));
	to->nent += from->nent;
	from->nent = 0;
	assert(to->nent <= to->cap);
}

static void
batch_swap(struct batch *a, struct batch *b)
{
	struct batch t = *a;

	*a = *b;
	*b = t;
}

static void
batch_release(struct batch *b)
{
	buf_release(&b->bytes);
	free(b->ent);
	memset(b, 0, sizeof(*b));
	buf_init(&b->bytes);
}

/*
 * The writer thread
 */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* fdatasync through the fault injector. Returns 0 or an errno. */
static int
sync_fd(int fd)
{
	int err;

	if ((err = fault_check(FAULT_FSYNC)) != 0)
		return err;
	while (fdatasync(fd) == -1) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

/* Upper bounds of the fsync latency buckets (journal.h), in ns. */
static const uint64_t fsync_bound_ns[JOURNAL_FSYNC_BUCKETS] = {100000, 250000,
    500000, 1000000, 2500000, 5000000, 10000000, 25000000, 100000000,
    1000000000};

/* sync_fd on the writer thread, timed for journal_stats. */
static int
sync_timed(struct journal *j)
{
	uint64_t t0 = now_ns(), ns;
	int err, i;

	err = sync_fd(j->fd);
	ns = now_ns() - t0;
	uv_mutex_lock(&j->mu);
	j->stats.fsyncs++;
	j->stats.fsync_ns += ns;
	for (i = 0; i < JOURNAL_FSYNC_BUCKETS; i++)
		if (ns <= fsync_bound_ns[i])
			j->stats.fsync_bucket[i]++;
	uv_mutex_unlock(&j->mu);
	return err;
}

/* Hand a failure (or a recovery) to the loop for logging; mu is held. */
static void
report(struct journal *j, const char *op, int err)
{
	if (err != 0) {
		j->report_err = err;
		j->report_op = op;
		j->report_ok = false;
	} else {
		j->report_ok = true;
	}
}

/*
 * Zeros ahead of the records (see the top of the file) before n bytes are
 * written at wend: when they would go past the zeros already there, write
 * JOURNAL_AHEAD_BYTES more past them. Best effort: on a failure (a full
 * disk) the file is cut back and the records are written as before; no
 * new try until another JOURNAL_AHEAD_BYTES of records went out.
 */
static void
write_ahead(struct journal *j, size_t n)
{
	static const char zeros[64 * 1024];
	off_t from, at, end;
	ssize_t r;

	if (j->policy == JOURNAL_FSYNC_NO || j->wend + (off_t)n <= j->zend ||
	    j->wend < j->zretry)
		return;
	from = j->zend > j->wend ? j->zend : j->wend;
	end = (j->wend + (off_t)n + JOURNAL_AHEAD_BYTES) & ~(off_t)4095;
	for (at = from; at < end; at += r) {
		r = pwrite(j->fd, zeros,
		    end - at < (off_t)sizeof(zeros) ? (size_t)(end - at)
		                                    : sizeof(zeros),
		    at);
		if (r == -1 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r <= 0) {
			if (ftruncate(j->fd, from) == -1)
				j->trunc_needed = true;
			j->zend = from;
			j->zretry = j->wend + JOURNAL_AHEAD_BYTES;
			return;
		}
	}
	j->zend = end;
}

/*
 * Write n bytes at p to the end of the durable part of the file and, when
 * sync is set, fdatasync them. On success wend moves past them; on failure
 * the file is cut back to wend. Returns 0 or an errno, setting *op.
 */
static int
write_segment(
    struct journal *j, const char *p, size_t n, bool sync, const char **op)
{
	size_t done = 0;
	ssize_t r;
	int err;

	if (j->trunc_needed && ftruncate(j->fd, j->wend) == 0) {
		j->trunc_needed = false;
		j->zend = j->wend;
	}
	if (!j->trunc_needed)
		write_ahead(j, n);
	while (done < n) {
		if ((err = fault_check(FAULT_WRITE)) != 0) {
			errno = err;
			r = -1;
		} else {
			r = pwrite(
			    j->fd, p + done, n - done, j->wend + (off_t)done);
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r == 0 ? EIO : errno;
			*op = "write";
			goto fail;
		}
		done += (size_t)r;
	}
	/* wend moves only past bytes all written (and synced if asked). */
	assert(done == n);
	if (sync) {
		if ((err = sync_timed(j)) != 0) {
			*op = "sync";
			goto fail;
		}
		j->dirty = false;
		j->last_sync = now_ns();
	} else if (n > 0) {
		j->dirty = true;
	}
	j->wend += (off_t)n;
	return 0;
fail:
	if (ftruncate(j->fd, j->wend) == -1)
		j->trunc_needed = true;
	j->zend = j->wend;
	return err;
}

/* Everysec: sync what was written if the last sync is a second old. */
static void
maybe_sync(struct journal *j)
{
	int err;

	if (j->policy != JOURNAL_FSYNC_EVERYSEC || !j->dirty ||
	    now_ns() - j->last_sync < JOURNAL_SYNC_NS)
		return;
	err = sync_timed(j);
	j->last_sync = now_ns();
	if (err == 0)
		j->dirty = false;
	uv_mutex_lock(&j->mu);
	if (err != 0)
		report(j, "sync", err);
	uv_mutex_unlock(&j->mu);
}

/* Finish the current file and continue in fd. */
static void
switch_file(struct journal *j, int fd)
{
	int err;

	if (j->dirty && (err = sync_timed(j)) != 0) {
		uv_mutex_lock(&j->mu);
		report(j, "sync", err);
		uv_mutex_unlock(&j->mu);
	}
	close(j->fd);
	j->fd = fd;
	j->wend = 0;
	j->zend = 0;
	j->zretry = 0;
	j->dirty = false;
	j->trunc_needed = false;
	uv_mutex_lock(&j->mu);
	j->rotates_pending--;
	uv_mutex_unlock(&j->mu);
}

/*
 * A write of the records from first_seq on failed with err: make every
 * record queued behind them stale and rewind the sequence.
 */
static void
fail_from(struct journal *j, uint64_t first_seq, const char *op, int err)
{
	uv_mutex_lock(&j->mu);
	j->gen++;
	j->stale_err = err;
	j->next_seq = first_seq;
	if (j->rotates_pending == 0)
		j->size = (uint64_t)j->wend;
	report(j, op, err);
	uv_mutex_unlock(&j->mu);
	j->failing = true;
}

/*
 * Write one batch: its entries are split into segments by rotations; each
 * segment's fresh records are contiguous bytes (stale ones, from before a
 * failure, come first and are skipped).
 */
static void
process(struct journal *j, struct batch *b)
{
	struct entry *e;
	const char *op = NULL;
	size_t i = 0, k, first, off = 0, wstart, wlen;
	uint64_t first_seq;
	bool drain;
	int err;

	while (i < b->nent) {
		first = i;
		wstart = off;
		wlen = 0;
		first_seq = 0;
		drain = false;
		for (; i < b->nent && b->ent[i].kind != ENTRY_ROTATE; i++) {
			e = &b->ent[i];
			if (e->kind == ENTRY_DRAIN) {
				drain = true;
			} else if (e->kind == ENTRY_RECORD) {
				if (e->gen != j->gen) {
					e->err = j->stale_err;
				} else {
					if (wlen == 0) {
						wstart = off;
						first_seq = e->seq;
					}
					assert(wstart + wlen == off);
					wlen += e->len;
				}
				off += e->len;
			}
		}
		if (wlen > 0 || (drain && j->dirty)) {
			err = write_segment(j, b->bytes.data + wstart, wlen,
			    drain || j->policy == JOURNAL_FSYNC_ALWAYS, &op);
			if (err != 0) {
				for (k = first; k < i; k++) {
					e = &b->ent[k];
					if (e->kind == ENTRY_RECORD &&
					    e->gen == j->gen)
						e->err = err;
				}
				if (wlen > 0)
					fail_from(j, first_seq, op, err);
				else {
					uv_mutex_lock(&j->mu);
					report(j, op, err);
					uv_mutex_unlock(&j->mu);
				}
			} else if (j->failing && wlen > 0) {
				j->failing = false;
				uv_mutex_lock(&j->mu);
				report(j, NULL, 0);
				uv_mutex_unlock(&j->mu);
			}
		}
		if (i < b->nent) {
			switch_file(j, b->ent[i].fd);
			i++;
		}
	}
}

static void
writer_main(void *arg)
{
	struct journal *j = arg;
	uint64_t now, wait, start;
	struct timespec ts;

	uv_mutex_lock(&j->mu);
	for (;;) {
		while (j->in.nent == 0 && !j->stop) {
			j->waiting = true;
			if (j->policy == JOURNAL_FSYNC_EVERYSEC && j->dirty) {
				now = now_ns();
				wait =
				    j->last_sync + JOURNAL_SYNC_NS > now
				        ? j->last_sync + JOURNAL_SYNC_NS - now
				        : 0;
				if (wait == 0 ||
				    uv_cond_timedwait(&j->cond, &j->mu, wait) ==
				        UV_ETIMEDOUT) {
					j->waiting = false;
					uv_mutex_unlock(&j->mu);
					maybe_sync(j);
					uv_mutex_lock(&j->mu);
					continue;
				}
			} else {
				uv_cond_wait(&j->cond, &j->mu);
			}
			j->waiting = false;
		}
		if (j->in.nent == 0)
			break; /* stopping, and nothing is left */
		batch_swap(&j->in, &j->work);
		uv_mutex_unlock(&j->mu);

		start = now_ns();
		process(j, &j->work);
		maybe_sync(j);

		uv_mutex_lock(&j->mu);
		batch_move_entries(&j->done, &j->work);
		if (j->work.bytes.len > JOURNAL_KEEP_BYTES)
			buf_release(&j->work.bytes);
		else
			buf_reset(&j->work.bytes);
		uv_mutex_unlock(&j->mu);
		uv_async_send(&j->async);
		uv_mutex_lock(&j->mu);
		/* Busy: let the next group grow (see the top of the file). */
		if (j->policy == JOURNAL_FSYNC_ALWAYS && j->in.nent > 0 &&
		    !j->stop && (now = now_ns()) < start + JOURNAL_GROUP_NS) {
			uv_mutex_unlock(&j->mu);
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(start + JOURNAL_GROUP_NS - now);
			nanosleep(&ts, NULL);
			uv_mutex_lock(&j->mu);
		}
	}
	uv_mutex_unlock(&j->mu);
	if (j->dirty || j->policy == JOURNAL_FSYNC_NO)
		(void)sync_fd(j->fd);
	close(j->fd);
	j->fd = -1;
}

/*
 * The loop side
 */

static void
on_closed(uv_handle_t *h)
{
	struct journal *j = h->data;

	batch_release(&j->in);
	batch_release(&j->done);
	batch_release(&j->work);
	batch_release(&j->disp);
	uv_cond_destroy(&j->cond);
	uv_mutex_destroy(&j->mu);
	free(j->path);
	free(j);
}

/* Log failures and recoveries the writer reported. */
static void
log_report(struct journal *j, int err, const char *op, bool ok)
{
	if (err != 0 && !j->logged_failure) {
		j->logged_failure = true;
		log_warnx("cannot %s journal '%s': %s; changes are refused "
		          "until it works again",
		    op, j->path, strerror(err));
	}
	if (ok && j->logged_failure) {
		j->logged_failure = false;
		log_info("journal '%s' is writable again", j->path);
	}
}

/* Run the callbacks of every finished entry, in order. */
static void
dispatch(struct journal *j)
{
	struct entry *e;
	const char *op;
	size_t i;
	bool ok;
	int err;

	j->in_dispatch = true;
	for (;;) {
		uv_mutex_lock(&j->mu);
		batch_swap(&j->done, &j->disp);
		err = j->report_err;
		op = j->report_op;
		ok = j->report_ok;
		j->report_err = 0;
		j->report_ok = false;
		uv_mutex_unlock(&j->mu);
		log_report(j, err, op, ok);
		if (j->disp.nent == 0)
			break;
		for (i = 0; i < j->disp.nent; i++) {
			e = &j->disp.ent[i];
			/* Each queued entry is dispatched exactly once. */
			assert(j->outstanding > 0);
			j->outstanding--;
			if (e->kind == ENTRY_RECORD || e->kind == ENTRY_REFUSED)
				e->done(e->arg, e->err);
			else if (e->kind == ENTRY_DRAIN)
				e->drain(e->arg);
		}
		j->disp.nent = 0;
	}
	j->in_dispatch = false;
	if (j->closed)
		uv_close((uv_handle_t *)&j->async, on_closed);
	else if (j->outstanding == 0)
		uv_unref((uv_handle_t *)&j->async);
}

static void
on_async(uv_async_t *h)
{
	dispatch(h->data);
}

/* Count one more queued entry; the loop stays alive while any is queued. */
static void
hold(struct journal *j)
{
	if (j->outstanding++ == 0)
		uv_ref((uv_handle_t *)&j->async);
}

/* Wake the writer if it sleeps; mu is held. */
static void
wake(struct journal *j)
{
	if (j->waiting)
		uv_cond_signal(&j->cond);
}

static int
open_file(const char *path, int flags)
{
	int err;

	if ((err = fault_check(FAULT_OPEN)) != 0) {
		errno = err;
		return -1;
	}
	return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
}

struct journal *
journal_open(uv_loop_t *loop, const char *path, off_t valid_end,
    uint64_t next_seq, enum journal_fsync policy)
{
	struct journal *j;
	struct stat st;
	int fd;

	if ((fd = open_file(path, 0)) == -1) {
		log_warn("cannot open journal '%s'", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("cannot stat journal '%s'", path);
		goto fail;
	}
	if (valid_end >= 0 && st.st_size > valid_end) {
		if (ftruncate(fd, valid_end) == -1 || fdatasync(fd) == -1) {
			log_warn("cannot truncate journal '%s' to %lld bytes",
			    path, (long long)valid_end);
			goto fail;
		}
		st.st_size = valid_end;
	}
	if (fileio_fsync_parent(path) == -1) {
		log_warn("cannot sync the directory of journal '%s'", path);
		goto fail;
	}

	j = xcalloc(1, sizeof(*j));
	j->loop = loop;
	j->policy = policy;
	j->path = xstrdup(path);
	j->fd = fd;
	j->wend = st.st_size;
	j->zend = st.st_size;
	j->size = (uint64_t)st.st_size;
	j->next_seq = next_seq;
	j->last_sync = now_ns();
	buf_init(&j->in.bytes);
	buf_init(&j->done.bytes);
	buf_init(&j->work.bytes);
	buf_init(&j->disp.bytes);
	if (uv_mutex_init(&j->mu) != 0 || uv_cond_init(&j->cond) != 0)
		fatalx("cannot create the journal's mutex");
	if (uv_async_init(loop, &j->async, on_async) != 0)
		fatalx("cannot create the journal's async handle");
	j->async.data = j;
	uv_unref((uv_handle_t *)&j->async);
	if (uv_thread_create(&j->thread, writer_main, j) != 0)
		fatalx("cannot start the journal writer thread");
	return j;
fail:
	close(fd);
	return NULL;
}

uint64_t
journal_append(struct journal *j, const void *payload, size_t len,
    journal_done_fn *done, void *arg)
{
	struct entry *e;
	uint64_t seq = 0;

	assert(!j->closed);
	assert(done != NULL);
	uv_mutex_lock(&j->mu);
	e = batch_push(&j->in);
	e->done = done;
	e->arg = arg;
	e->gen = j->gen;
	if (len > JOURNAL_MAX_RECORD) {
		e->kind = ENTRY_REFUSED;
		e->err = EMSGSIZE;
	} else {
		e->kind = ENTRY_RECORD;
		e->seq = seq = j->next_seq++;
		e->len = JOURNAL_HEADER + (uint32_t)len;
		buf_grow(&j->in.bytes, e->len);
		encode_at((unsigned char *)j->in.bytes.data + j->in.bytes.len,
		    seq, payload, len);
		j->in.bytes.len += e->len;
		j->size += e->len;
	}
	wake(j);
	uv_mutex_unlock(&j->mu);
	hold(j);
	return seq;
}

void
journal_stats(const struct journal *j, struct journal_stats *out)
{
	struct journal *mj = (struct journal *)(uintptr_t)j;

	uv_mutex_lock(&mj->mu);
	*out = mj->stats;
	uv_mutex_unlock(&mj->mu);
}

uint64_t
journal_size(const struct journal *j)
{
	struct journal *mj = (struct journal *)(uintptr_t)j;
	uint64_t n;

	uv_mutex_lock(&mj->mu);
	n = mj->size;
	uv_mutex_unlock(&mj->mu);
	return n;
}

uint64_t
journal_next_seq(const struct journal *j)
{
	struct journal *mj = (struct journal *)(uintptr_t)j;
	uint64_t n;

	uv_mutex_lock(&mj->mu);
	n = mj->next_seq;
	uv_mutex_unlock(&mj->mu);
	return n;
}

int
journal_rotate(struct journal *j, const char *new_path)
{
	struct entry *e;
	int fd, saved;

	assert(!j->closed);
	if ((fd = open_file(new_path, O_TRUNC)) == -1)
		return -1;
	if (fileio_fsync_parent(new_path) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	uv_mutex_lock(&j->mu);
	e = batch_push(&j->in);
	e->kind = ENTRY_ROTATE;
	e->fd = fd;
	e->gen = j->gen;
	j->rotates_pending++;
	j->size = 0;
	wake(j);
	uv_mutex_unlock(&j->mu);
	free(j->path);
	j->path = xstrdup(new_path);
	hold(j);
	return 0;
}

void
journal_drain(struct journal *j, void (*done)(void *arg), void *arg)
{
	struct entry *e;

	assert(!j->closed);
	uv_mutex_lock(&j->mu);
	e = batch_push(&j->in);
	e->kind = ENTRY_DRAIN;
	e->drain = done;
	e->arg = arg;
	e->gen = j->gen;
	wake(j);
	uv_mutex_unlock(&j->mu);
	hold(j);
}

void
journal_close(struct journal *j)
{
	if (j == NULL || j->closed)
		return;
	uv_mutex_lock(&j->mu);
	j->stop = true;
	uv_cond_signal(&j->cond);
	uv_mutex_unlock(&j->mu);
	if (uv_thread_join(&j->thread) != 0)
		fatalx("cannot join the journal writer thread");
	j->closed = true;
	/*
	 * The writer has finished everything queued; run the callbacks now
	 * (or let the dispatch we are called from finish them) and close the
	 * handle, which frees the journal.
	 */
	if (!j->in_dispatch)
		dispatch(j);
}
