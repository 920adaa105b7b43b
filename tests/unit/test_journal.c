/*
 * test_journal.c: the journal's record format, replay, and writer.
 *
 * Covers: encode/decode round trips; a journal cut at every byte offset
 * replays exactly the complete records before the cut; every single bit
 * flip is caught; sequence gaps; a missing file; appends from the loop with
 * group commit (callbacks once each, in order, never synchronous); the
 * everysec and no policies; oversized records; write and sync failures
 * through the fault injector (ENOSPC, EIO: the batch fails, the file is cut
 * back, later appends work again and replay sees no gap); a real full disk
 * on a small tmpfs when running as root (skipped otherwise); rotate; drain
 * (in order, and closing from inside its callback); close with records
 * still queued; journal_open truncating a damaged tail. Last, a throughput
 * figure for durable appends with 64 in flight (printed as a diagnostic).
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "buf.h"
#include "fault.h"
#include "journal.h"

#define HDR 20

static char tmpdir[256];
static char jpath[300];
static char jpath2[300];

/* Replay collector. */
struct seen {
	uint64_t n;
	uint64_t seqs[4096];
	struct buf payloads[64];
	int stop_after; /* apply returns non-zero after this many (0: never) */
};

static int
collect(void *arg, uint64_t seq, const char *payload, size_t len)
{
	struct seen *s = arg;

	if (s->n < 4096)
		s->seqs[s->n] = seq;
	if (s->n < 64) {
		buf_init(&s->payloads[s->n]);
		buf_add(&s->payloads[s->n], payload, len);
	}
	s->n++;
	if (s->stop_after != 0 && s->n == (uint64_t)s->stop_after)
		return 1;
	return 0;
}

static void
seen_release(struct seen *s)
{
	uint64_t i;

	for (i = 0; i < s->n && i < 64; i++)
		buf_release(&s->payloads[i]);
	s->n = 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kosyncd-journal.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(jpath, sizeof(jpath), "%s/journal", tmpdir);
	snprintf(jpath2, sizeof(jpath2), "%s/journal.2", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(jpath);
	unlink(jpath2);
	rmdir(tmpdir);
	fault_reset();
	return 0;
}

/* The payload of test record i. */
static size_t
payload_of(unsigned i, char *out, size_t cap)
{
	int n =
	    snprintf(out, cap, "{\"op\":\"push\",\"i\":%u,\"pad\":\"%.*s\"}", i,
	        (int)(i % 40), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

	return (size_t)n;
}

/*
 * Pure encoding
 */

static void
test_journal__encode_decode(void **state)
{
	struct buf b = BUF_INIT;
	const char *p;
	size_t plen, k;
	uint64_t seq;
	ssize_t r;

	(void)state;
	journal_encode(&b, 7, "hello", 5);
	journal_encode(&b, 8, "", 0);
	assert_int_equal(b.len, HDR + 5 + HDR);
	/* Magic "KSJ1", little-endian length and sequence. */
	assert_memory_equal(b.data, "KSJ1\x05\0\0\0\x07\0\0\0\0\0\0\0", 16);
	r = journal_decode(b.data, b.len, &seq, &p, &plen);
	assert_int_equal(r, HDR + 5);
	assert_int_equal(seq, 7);
	assert_int_equal(plen, 5);
	assert_memory_equal(p, "hello", 5);
	r = journal_decode(b.data + r, b.len - (size_t)r, &seq, &p, &plen);
	assert_int_equal(r, HDR);
	assert_int_equal(seq, 8);
	assert_int_equal(plen, 0);
	for (k = 0; k < HDR + 5; k++)
		assert_int_equal(
		    journal_decode(b.data, k, &seq, &p, &plen), -2);
	/* Corruptions. */
	b.data[0] = 'X';
	assert_int_equal(journal_decode(b.data, b.len, &seq, &p, &plen), -1);
	assert_int_equal(journal_decode(b.data, 1, &seq, &p, &plen), -1);
	b.data[0] = 'K';
	b.data[7] = 0x7f; /* length way over the limit */
	assert_int_equal(journal_decode(b.data, 8, &seq, &p, &plen), -1);
	b.data[7] = 0;
	b.data[HDR] ^= 1;
	assert_int_equal(journal_decode(b.data, b.len, &seq, &p, &plen), -1);
	buf_release(&b);
}

/* Build a file of n records (seq first..), returning the record ends. */
static void
build(struct buf *b, unsigned n, uint64_t first, size_t *ends)
{
	char p[128];
	unsigned i;

	buf_reset(b);
	for (i = 0; i < n; i++) {
		journal_encode(b, first + i, p, payload_of(i, p, sizeof(p)));
		ends[i] = b->len;
	}
}

static void
test_journal__replay_every_torn_length(void **state)
{
	struct journal_replay_result res;
	struct buf b = BUF_INIT;
	struct seen s = {0};
	size_t ends[6], cut, whole;
	unsigned i;
	char p[128];

	(void)state;
	build(&b, 6, 1, ends);
	for (cut = 0; cut <= b.len; cut++) {
		write_file(jpath, b.data, cut);
		assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
		for (whole = 0; whole < 6 && ends[whole] <= cut; whole++)
			;
		assert_int_equal(s.n, whole);
		assert_int_equal(res.records, whole);
		assert_int_equal(res.valid_end, whole ? ends[whole - 1] : 0);
		assert_int_equal(res.file_size, cut);
		assert_int_equal(res.last_seq, whole);
		if ((size_t)res.valid_end == cut)
			assert_null(res.damage);
		else
			assert_string_equal(res.damage, "torn record");
		for (i = 0; i < whole; i++) {
			assert_int_equal(s.seqs[i], i + 1);
			assert_int_equal(
			    s.payloads[i].len, payload_of(i, p, sizeof(p)));
			assert_memory_equal(
			    s.payloads[i].data, p, s.payloads[i].len);
		}
		seen_release(&s);
	}
	buf_release(&b);
}

static void
test_journal__replay_every_bit_flip(void **state)
{
	struct journal_replay_result res;
	struct buf b = BUF_INIT;
	struct seen s = {0};
	size_t ends[3], byte, rec;
	unsigned i;
	int bit;
	char p[128];

	(void)state;
	build(&b, 3, 41, ends);
	for (byte = 0; byte < b.len; byte++) {
		for (rec = 0; ends[rec] <= byte; rec++)
			;
		for (bit = 0; bit < 8; bit++) {
			b.data[byte] ^= (char)(1 << bit);
			write_file(jpath, b.data, b.len);
			assert_int_equal(
			    journal_replay(jpath, collect, &s, &res), 0);
			/* Exactly the records before the damaged one. */
			assert_int_equal(s.n, rec);
			assert_int_equal(
			    res.valid_end, rec ? ends[rec - 1] : 0);
			assert_non_null(res.damage);
			for (i = 0; i < rec; i++) {
				assert_int_equal(s.seqs[i], 41 + i);
				payload_of(i, p, sizeof(p));
				assert_memory_equal(
				    s.payloads[i].data, p, s.payloads[i].len);
			}
			seen_release(&s);
			b.data[byte] ^= (char)(1 << bit);
		}
	}
	buf_release(&b);
}

/* journal_scan damage callback: sums the damaged bytes. */
static int
damaged_bytes(void *arg, off_t off, const char *bytes, size_t len)
{
	size_t *sum = arg;

	(void)off;
	(void)bytes;
	*sum += len;
	return 0;
}

/*
 * Every bit flip in the middle record of five: the scan finds the four
 * intact records around it (the two after it too), and exactly the damaged
 * record's bytes as damage; from the damage on it finds the two after it,
 * the first where the damaged record ends. A torn tail has nothing after it.
 */
static void
test_journal__scan_after_damage(void **state)
{
	struct journal_scan_result res;
	struct buf b = BUF_INIT;
	struct seen s = {0};
	size_t ends[5], byte, bad;
	int bit;

	(void)state;
	build(&b, 5, 41, ends);
	for (byte = ends[1]; byte < ends[2]; byte++) {
		for (bit = 0; bit < 8; bit++) {
			b.data[byte] ^= (char)(1 << bit);
			bad = 0;
			assert_int_equal(journal_scan_mem(b.data, b.len, 0,
			                     collect, NULL, &s, &res),
			    0);
			assert_int_equal(s.n, 4);
			assert_int_equal(s.seqs[0], 41);
			assert_int_equal(s.seqs[1], 42);
			assert_int_equal(s.seqs[2], 44);
			assert_int_equal(s.seqs[3], 45);
			assert_int_equal(res.records, 4);
			assert_int_equal(res.damaged, ends[2] - ends[1]);
			assert_int_equal(res.ranges, 1);
			seen_release(&s);
			write_file(jpath, b.data, b.len);
			assert_int_equal(journal_scan(jpath, (off_t)ends[1],
			                     NULL, damaged_bytes, &bad, &res),
			    0);
			assert_int_equal(res.records, 2);
			assert_int_equal(res.first_seq, 44);
			assert_int_equal(res.last_seq, 45);
			assert_int_equal(res.first_record, (off_t)ends[2]);
			assert_int_equal(bad, ends[2] - ends[1]);
			b.data[byte] ^= (char)(1 << bit);
		}
	}
	/* Torn tails: every cut of the last record (zero bytes that end
	 * the file, here the header's, are never damage). */
	for (byte = ends[3] + 1; byte < ends[4]; byte++) {
		for (bad = byte; bad > ends[3] && b.data[bad - 1] == '\0';)
			bad--;
		assert_int_equal(journal_scan_mem(b.data, byte, ends[3], NULL,
		                     NULL, NULL, &res),
		    0);
		assert_int_equal(res.records, 0);
		assert_int_equal(res.first_record, -1);
		assert_int_equal(res.damaged, bad - ends[3]);
	}
	/* Past the end, or a missing file: nothing. */
	assert_int_equal(
	    journal_scan(jpath, (off_t)b.len, NULL, NULL, NULL, &res), 0);
	assert_int_equal(res.records + res.damaged, 0);
	unlink(jpath);
	assert_int_equal(journal_scan(jpath, 0, NULL, NULL, NULL, &res), 0);
	assert_int_equal(res.records + res.damaged, 0);
	buf_release(&b);
}

static void
test_journal__replay_gaps_and_errors(void **state)
{
	struct journal_replay_result res;
	struct buf b = BUF_INIT;
	struct seen s = {0};
	size_t two;

	(void)state;
	/* Missing file: an empty journal. */
	unlink(jpath);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(res.records, 0);
	assert_int_equal(res.valid_end, 0);
	assert_null(res.damage);

	journal_encode(&b, 1, "a", 1);
	journal_encode(&b, 2, "b", 1);
	two = b.len;
	journal_encode(&b, 4, "d", 1);
	journal_encode(&b, 5, "e", 1);
	write_file(jpath, b.data, b.len);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(res.valid_end, two);
	assert_int_equal(res.last_seq, 2);
	assert_string_equal(res.damage, "sequence gap");
	seen_release(&s);

	/* A repeated sequence number is a gap too. */
	buf_reset(&b);
	journal_encode(&b, 9, "a", 1);
	journal_encode(&b, 9, "b", 1);
	write_file(jpath, b.data, b.len);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(res.damage, "sequence gap");
	seen_release(&s);

	/* Zeros after valid records (the writer's, written ahead) are no
	 * damage; with anything after them they are. */
	buf_reset(&b);
	journal_encode(&b, 1, "a", 1);
	two = b.len;
	buf_add(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);
	write_file(jpath, b.data, b.len);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(res.valid_end, two);
	assert_int_equal(res.zero_tail, 24);
	assert_int_equal(res.file_size, two + 24);
	assert_null(res.damage);
	seen_release(&s);
	buf_add(&b, "\1", 1);
	write_file(jpath, b.data, b.len);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(res.valid_end, two);
	assert_int_equal(res.zero_tail, 0);
	assert_string_equal(res.damage, "bad magic");
	seen_release(&s);

	/* apply stopping replay is an error. */
	buf_reset(&b);
	journal_encode(&b, 1, "a", 1);
	journal_encode(&b, 2, "b", 1);
	write_file(jpath, b.data, b.len);
	s.stop_after = 1;
	assert_int_equal(journal_replay(jpath, collect, &s, &res), -1);
	s.stop_after = 0;
	seen_release(&s);

	/* Unreadable: a directory. */
	assert_int_equal(journal_replay(tmpdir, collect, &s, &res), -1);
	buf_release(&b);
}

static void
test_journal__replay_large_records(void **state)
{
	struct journal_replay_result res;
	struct buf b = BUF_INIT;
	struct seen s = {0};
	char *big = malloc(JOURNAL_MAX_RECORD);
	unsigned i;

	(void)state;
	memset(big, 'z', JOURNAL_MAX_RECORD);
	for (i = 0; i < 3; i++)
		journal_encode(&b, i + 1, big, JOURNAL_MAX_RECORD - i * 70001);
	write_file(jpath, b.data, b.len);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.payloads[2].len, JOURNAL_MAX_RECORD - 2 * 70001);
	assert_null(res.damage);
	assert_int_equal(res.valid_end, b.len);
	seen_release(&s);
	free(big);
	buf_release(&b);
}

/*
 * The writer
 */

struct rec {
	int calls;
	int err;
	unsigned order;
};

struct run {
	struct rec *recs;
	unsigned n;
	unsigned next_order;
	int in_append; /* set while journal_append runs */
	int sync_violations;
	int order_violations;
};

struct cb {
	struct run *run;
	unsigned i;
};

static void
on_done(void *arg, int err)
{
	struct cb *c = arg;
	struct run *r = c->run;

	if (r->in_append)
		r->sync_violations++;
	if (c->i != r->next_order)
		r->order_violations++;
	r->next_order = c->i + 1;
	r->recs[c->i].calls++;
	r->recs[c->i].err = err;
}

static struct run *
run_new(unsigned n, struct cb **cbs)
{
	struct run *r = calloc(1, sizeof(*r));
	unsigned i;

	r->recs = calloc(n, sizeof(*r->recs));
	r->n = n;
	*cbs = calloc(n, sizeof(**cbs));
	for (i = 0; i < n; i++) {
		(*cbs)[i].run = r;
		(*cbs)[i].i = i;
	}
	return r;
}

static void
run_free(struct run *r, struct cb *cbs)
{
	free(r->recs);
	free(r);
	free(cbs);
}

static uint64_t
append_i(struct journal *j, struct run *r, struct cb *cbs, unsigned i)
{
	char p[128];
	uint64_t seq;

	r->in_append = 1;
	seq =
	    journal_append(j, p, payload_of(i, p, sizeof(p)), on_done, &cbs[i]);
	r->in_append = 0;
	return seq;
}

/* Run the loop until callbacks up to (excluding) upto have come. */
static void
run_until(uv_loop_t *loop, struct run *r, unsigned upto)
{
	int spins = 0;

	while (r->next_order < upto && spins++ < 100000)
		uv_run(loop, UV_RUN_ONCE);
	assert_true(r->next_order >= upto);
}

static void
loop_close(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

static void
check_policy(enum journal_fsync policy, unsigned n, unsigned long max_syncs)
{
	struct journal_replay_result res;
	struct seen s = {0};
	struct journal *j;
	struct run *r;
	struct cb *cbs;
	uv_loop_t loop;
	unsigned i;
	uint64_t seq, size;

	unlink(jpath);
	uv_loop_init(&loop);
	r = run_new(n, &cbs);
	j = journal_open(&loop, jpath, -1, 1, policy);
	assert_non_null(j);
	fault_set(FAULT_FSYNC, 0, false, 0);
	for (i = 0; i < n; i++) {
		seq = append_i(j, r, cbs, i);
		assert_int_equal(seq, i + 1);
		/* Let some batches form while we keep appending. */
		if (i % 97 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	assert_int_equal(journal_next_seq(j), n + 1);
	uv_run(&loop, UV_RUN_DEFAULT); /* returns once all are done */
	assert_int_equal(r->next_order, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(r->recs[i].calls, 1);
		assert_int_equal(r->recs[i].err, 0);
	}
	assert_int_equal(r->sync_violations, 0);
	assert_int_equal(r->order_violations, 0);
	size = journal_size(j);
	/* Zeros ahead of the records, unless nothing is synced. */
	if (policy == JOURNAL_FSYNC_NO)
		assert_int_equal(file_size(jpath), size);
	else
		assert_true(file_size(jpath) > (off_t)size &&
		            file_size(jpath) % 4096 == 0);
	/* Group commit: far fewer syncs than records. */
	assert_true(fault_count(FAULT_FSYNC) <= max_syncs);
	if (policy == JOURNAL_FSYNC_ALWAYS)
		assert_true(fault_count(FAULT_FSYNC) >= 1);
	journal_close(j);
	loop_close(&loop);

	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(res.records, n);
	assert_int_equal(res.last_seq, n);
	assert_null(res.damage);
	assert_int_equal(res.valid_end, size);
	assert_int_equal(res.valid_end + res.zero_tail, file_size(jpath));
	seen_release(&s);
	run_free(r, cbs);
}

static void
test_journal__append_always_group_commit(void **state)
{
	(void)state;
	check_policy(JOURNAL_FSYNC_ALWAYS, 3000, 3000 / 4);
}

static void
test_journal__append_everysec_and_no(void **state)
{
	(void)state;
	check_policy(JOURNAL_FSYNC_EVERYSEC, 2000, 3);
	check_policy(JOURNAL_FSYNC_NO, 2000, 0);
}

static void
test_journal__oversized_record(void **state)
{
	struct cb *cbs;
	struct run *r = run_new(2, &cbs);
	struct journal *j;
	uv_loop_t loop;
	char *big = calloc(1, JOURNAL_MAX_RECORD + 1);

	(void)state;
	unlink(jpath);
	uv_loop_init(&loop);
	j = journal_open(&loop, jpath, -1, 5, JOURNAL_FSYNC_ALWAYS);
	assert_int_equal(
	    journal_append(j, big, JOURNAL_MAX_RECORD + 1, on_done, &cbs[0]),
	    0);
	assert_int_equal(journal_append(j, "x", 1, on_done, &cbs[1]), 5);
	run_until(&loop, r, 2);
	assert_int_equal(r->recs[0].err, EMSGSIZE);
	assert_int_equal(r->recs[1].err, 0);
	journal_close(j);
	loop_close(&loop);
	free(big);
	run_free(r, cbs);
}

/*
 * After failures: the records that succeeded are exactly what replay
 * finds, with consecutive sequence numbers from first.
 */
static void
check_file_matches(struct run *r, uint64_t first)
{
	struct journal_replay_result res;
	struct seen s = {0};
	unsigned i, k = 0;
	char p[128];

	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_null(res.damage);
	assert_int_equal(res.valid_end + res.zero_tail, file_size(jpath));
	for (i = 0; i < r->n; i++) {
		assert_int_equal(r->recs[i].calls, 1);
		if (r->recs[i].err != 0)
			continue;
		assert_true(k < s.n);
		assert_int_equal(s.seqs[k], first + k);
		if (k < 64) {
			assert_int_equal(
			    s.payloads[k].len, payload_of(i, p, sizeof(p)));
			assert_memory_equal(
			    s.payloads[k].data, p, s.payloads[k].len);
		}
		k++;
	}
	assert_int_equal(k, s.n);
	seen_release(&s);
}

static void
check_fault(enum fault_point point, int err, enum journal_fsync policy)
{
	struct journal *j;
	struct run *r;
	struct cb *cbs;
	uv_loop_t loop;
	unsigned i, failed = 0;

	unlink(jpath);
	uv_loop_init(&loop);
	r = run_new(40, &cbs);
	j = journal_open(&loop, jpath, -1, 1, policy);
	/* Two good records. */
	append_i(j, r, cbs, 0);
	append_i(j, r, cbs, 1);
	run_until(&loop, r, 2);
	assert_int_equal(r->recs[0].err, 0);
	assert_int_equal(r->recs[1].err, 0);

	/* The next write (or sync) fails: a burst of ten. */
	fault_set(point, 1, false, err);
	for (i = 2; i < 12; i++)
		append_i(j, r, cbs, i);
	run_until(&loop, r, 12);
	assert_int_equal(r->recs[2].err, err);
	for (i = 2; i < 12; i++) {
		assert_true(r->recs[i].err == 0 || r->recs[i].err == err);
		failed += r->recs[i].err != 0;
	}
	assert_true(failed >= 1);
	/* Cut back: nothing failed is in the file. */
	assert_int_equal(journal_size(j), file_size(jpath));

	/* Failing for good (sticky): every record fails, file unchanged. */
	fault_set(point, 1, true, err);
	for (i = 12; i < 20; i++)
		append_i(j, r, cbs, i);
	run_until(&loop, r, 20);
	for (i = 12; i < 20; i++)
		assert_int_equal(r->recs[i].err, err);

	/* The cause is gone: writes work again, without reopening. */
	fault_reset();
	for (i = 20; i < 40; i++) {
		append_i(j, r, cbs, i);
		if (i % 5 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
	}
	run_until(&loop, r, 40);
	for (i = 20; i < 40; i++)
		assert_int_equal(r->recs[i].err, 0);
	assert_int_equal(r->order_violations, 0);
	assert_int_equal(r->sync_violations, 0);
	journal_close(j);
	loop_close(&loop);
	check_file_matches(r, 1);
	run_free(r, cbs);
}

static void
test_journal__write_failure(void **state)
{
	(void)state;
	check_fault(FAULT_WRITE, ENOSPC, JOURNAL_FSYNC_ALWAYS);
	check_fault(FAULT_WRITE, EIO, JOURNAL_FSYNC_NO);
}

static void
test_journal__sync_failure(void **state)
{
	(void)state;
	check_fault(FAULT_FSYNC, EIO, JOURNAL_FSYNC_ALWAYS);
}

/*
 * A real full disk: a 256 KiB tmpfs with a filler file. Appends of 4 KiB
 * records until they fail with ENOSPC; the file holds exactly the
 * successful ones; removing the filler makes appends work again.
 */
static void
test_journal__tmpfs_full(void **state)
{
	char mnt[300], filler[320], path[320];
	struct journal_replay_result res;
	struct seen s = {0};
	struct journal *j;
	struct run *r;
	struct cb *cbs;
	uv_loop_t loop;
	char *p = malloc(4096);
	unsigned i, ok = 0, nospace = 0, after = 0;
	int fd;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	mkdir(mnt, 0700);
	if (geteuid() != 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=256k") == -1) {
		rmdir(mnt);
		free(p);
		skip();
	}
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	snprintf(path, sizeof(path), "%s/journal", mnt);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	memset(p, 'f', 4096);
	for (i = 0; i < 32; i++)
		assert_int_equal(write(fd, p, 4096), 4096);
	close(fd);

	uv_loop_init(&loop);
	r = run_new(120, &cbs);
	j = journal_open(&loop, path, -1, 1, JOURNAL_FSYNC_ALWAYS);
	assert_non_null(j);
	memset(p, 'j', 4096);
	for (i = 0; i < 100; i++) {
		r->in_append = 1;
		journal_append(j, p, 4000, on_done, &cbs[i]);
		r->in_append = 0;
		run_until(&loop, r, i + 1);
		if (r->recs[i].err == 0)
			ok++;
		else {
			assert_int_equal(r->recs[i].err, ENOSPC);
			nospace++;
		}
	}
	assert_true(ok > 10);
	assert_true(nospace > 10);
	assert_int_equal(journal_size(j), file_size(path));
	assert_int_equal(journal_size(j), (uint64_t)ok * (4000 + HDR));

	unlink(filler);
	for (i = 100; i < 120; i++) {
		r->in_append = 1;
		journal_append(j, p, 4000, on_done, &cbs[i]);
		r->in_append = 0;
	}
	run_until(&loop, r, 120);
	for (i = 100; i < 120; i++)
		after += r->recs[i].err == 0;
	assert_int_equal(after, 20);
	journal_close(j);
	loop_close(&loop);

	assert_int_equal(journal_replay(path, collect, &s, &res), 0);
	assert_int_equal(res.records, ok + 20);
	assert_int_equal(res.last_seq, ok + 20);
	assert_null(res.damage);
	seen_release(&s);
	run_free(r, cbs);
	free(p);
	assert_int_equal(umount(mnt), 0);
	rmdir(mnt);
}

struct drainer {
	struct run *run;
	unsigned order_seen; /* run->next_order when drain came */
	int calls;
	struct journal *close_me;
};

static void
on_drain(void *arg)
{
	struct drainer *d = arg;

	d->order_seen = d->run->next_order;
	d->calls++;
	if (d->close_me != NULL)
		journal_close(d->close_me);
}

static void
test_journal__rotate_and_drain(void **state)
{
	struct journal_replay_result res;
	struct seen s = {0};
	struct journal *j;
	struct drainer d = {0};
	struct run *r;
	struct cb *cbs;
	uv_loop_t loop;
	unsigned i;

	(void)state;
	unlink(jpath);
	unlink(jpath2);
	uv_loop_init(&loop);
	r = run_new(20, &cbs);
	d.run = r;
	j = journal_open(&loop, jpath, -1, 100, JOURNAL_FSYNC_ALWAYS);
	for (i = 0; i < 5; i++)
		append_i(j, r, cbs, i);
	assert_int_equal(journal_rotate(j, jpath2), 0);
	assert_int_equal(journal_size(j), 0);
	for (i = 5; i < 10; i++)
		append_i(j, r, cbs, i);
	journal_drain(j, on_drain, &d);
	for (i = 10; i < 15; i++)
		append_i(j, r, cbs, i);
	assert_int_equal(d.calls, 0);
	run_until(&loop, r, 15);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.order_seen, 10); /* after 0..9, before 10.. */
	/* A rotate into a directory that does not exist fails cleanly. */
	assert_int_equal(journal_rotate(j, "/nonexistent/dir/journal"), -1);
	for (i = 15; i < 20; i++)
		append_i(j, r, cbs, i);
	/* Close from inside the drain callback. */
	d.close_me = j;
	journal_drain(j, on_drain, &d);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(d.calls, 2);
	assert_int_equal(d.order_seen, 20);
	assert_int_equal(r->order_violations, 0);
	assert_int_equal(uv_loop_close(&loop), 0);

	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(res.records, 5);
	assert_int_equal(s.seqs[0], 100);
	assert_int_equal(res.last_seq, 104);
	seen_release(&s);
	assert_int_equal(journal_replay(jpath2, collect, &s, &res), 0);
	assert_int_equal(res.records, 15);
	assert_int_equal(s.seqs[0], 105);
	assert_int_equal(res.last_seq, 119);
	assert_null(res.damage);
	seen_release(&s);
	run_free(r, cbs);
}

static void
test_journal__close_with_queued_records(void **state)
{
	struct journal_replay_result res;
	struct seen s = {0};
	struct journal *j;
	struct run *r;
	struct cb *cbs;
	uv_loop_t loop;
	unsigned i;

	(void)state;
	unlink(jpath);
	uv_loop_init(&loop);
	r = run_new(500, &cbs);
	j = journal_open(&loop, jpath, -1, 1, JOURNAL_FSYNC_EVERYSEC);
	for (i = 0; i < 500; i++)
		append_i(j, r, cbs, i);
	journal_close(j); /* callbacks run now, in order */
	assert_int_equal(r->next_order, 500);
	for (i = 0; i < 500; i++) {
		assert_int_equal(r->recs[i].calls, 1);
		assert_int_equal(r->recs[i].err, 0);
	}
	journal_close(NULL);
	loop_close(&loop);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(res.records, 500);
	seen_release(&s);
	run_free(r, cbs);
}

static void
test_journal__open_truncates_tail(void **state)
{
	struct journal_replay_result res;
	struct buf b = BUF_INIT;
	struct seen s = {0};
	struct journal *j;
	struct run *r;
	struct cb *cbs;
	uv_loop_t loop;
	size_t ends[4];

	(void)state;
	build(&b, 4, 1, ends);
	write_file(jpath, b.data, ends[3] - 5); /* torn fourth record */
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(res.records, 3);
	assert_string_equal(res.damage, "torn record");
	seen_release(&s);

	uv_loop_init(&loop);
	r = run_new(2, &cbs);
	j = journal_open(&loop, jpath, res.valid_end, res.last_seq + 1,
	    JOURNAL_FSYNC_ALWAYS);
	assert_int_equal(file_size(jpath), ends[2]);
	assert_int_equal(journal_size(j), ends[2]);
	assert_int_equal(append_i(j, r, cbs, 0), 4);
	assert_int_equal(append_i(j, r, cbs, 1), 5);
	run_until(&loop, r, 2);
	journal_close(j);
	loop_close(&loop);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_int_equal(res.records, 5);
	assert_null(res.damage);
	seen_release(&s);
	run_free(r, cbs);
	buf_release(&b);

	/* Cannot open: a path in a missing directory. */
	uv_loop_init(&loop);
	assert_null(journal_open(
	    &loop, "/nonexistent/dir/journal", -1, 1, JOURNAL_FSYNC_ALWAYS));
	loop_close(&loop);
}

/*
 * The zeros the writer writes ahead of its records: a whole file, as
 * replay and the scan see it; cut by an open at the records' end (as a
 * start does) and written again. Zeros followed by anything else are
 * damage at the first zero, and a torn record in the zeros is damage of
 * its own bytes only.
 */
static void
test_journal__zeros_ahead(void **state)
{
	struct journal_replay_result res;
	struct journal_scan_result sr;
	struct buf b = BUF_INIT;
	struct seen s = {0};
	struct journal *j;
	struct run *r;
	struct cb *cbs;
	uv_loop_t loop;
	off_t end, size;
	size_t ends[1];
	unsigned i;
	int fd;

	(void)state;
	unlink(jpath);
	uv_loop_init(&loop);
	r = run_new(5, &cbs);
	j = journal_open(&loop, jpath, -1, 1, JOURNAL_FSYNC_ALWAYS);
	for (i = 0; i < 3; i++)
		append_i(j, r, cbs, i);
	run_until(&loop, r, 3);
	end = (off_t)journal_size(j);
	size = file_size(jpath);
	assert_true(size >= end + 256 * 1024 - 4096 && size % 4096 == 0);
	journal_close(j);
	loop_close(&loop);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_null(res.damage);
	assert_int_equal(res.records, 3);
	assert_int_equal(res.valid_end, end);
	assert_int_equal(res.zero_tail, size - end);
	assert_int_equal(res.file_size, size);
	seen_release(&s);
	assert_int_equal(journal_scan(jpath, end, NULL, NULL, NULL, &sr), 0);
	assert_int_equal(sr.records + sr.damaged + sr.ranges, 0);

	/* Opened at the records' end: cut there, and zeros written again
	 * past the next records. */
	uv_loop_init(&loop);
	j = journal_open(&loop, jpath, res.valid_end, 4, JOURNAL_FSYNC_ALWAYS);
	assert_int_equal(file_size(jpath), end);
	append_i(j, r, cbs, 3);
	append_i(j, r, cbs, 4);
	run_until(&loop, r, 5);
	end = (off_t)journal_size(j);
	assert_true(file_size(jpath) > end);
	journal_close(j);
	loop_close(&loop);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_null(res.damage);
	assert_int_equal(res.records, 5);
	assert_int_equal(res.last_seq, 5);
	assert_int_equal(res.valid_end, end);
	seen_release(&s);
	for (i = 0; i < 5; i++)
		assert_int_equal(r->recs[i].err, 0);

	/* One byte that is not zero at the very end: damage at the first
	 * zero, and the scan counts the zeros before that byte. */
	size = file_size(jpath);
	fd = open(jpath, O_WRONLY);
	assert_int_equal(pwrite(fd, "x", 1, size - 1), 1);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_string_equal(res.damage, "bad magic");
	assert_int_equal(res.valid_end, end);
	assert_int_equal(res.zero_tail, 0);
	assert_int_equal(res.records, 5);
	seen_release(&s);
	assert_int_equal(journal_scan(jpath, end, NULL, NULL, NULL, &sr), 0);
	assert_int_equal(sr.records, 0);
	assert_int_equal(sr.damaged, size - end);

	/* A record torn in the zeros: its checksum, its bytes only. */
	build(&b, 1, 6, ends);
	assert_int_equal(pwrite(fd, "\0", 1, size - 1), 1);
	assert_int_equal(
	    pwrite(fd, b.data, b.len - 3, end), (ssize_t)b.len - 3);
	close(fd);
	assert_int_equal(journal_replay(jpath, collect, &s, &res), 0);
	assert_string_equal(res.damage, "bad checksum");
	assert_int_equal(res.valid_end, end);
	assert_int_equal(res.records, 5);
	seen_release(&s);
	assert_int_equal(journal_scan(jpath, end, NULL, NULL, NULL, &sr), 0);
	assert_int_equal(sr.records, 0);
	assert_int_equal(sr.damaged, b.len - 3);
	assert_int_equal(sr.ranges, 1);
	buf_release(&b);
	run_free(r, cbs);
}

/*
 * Throughput: 64 appenders, each appending its next record from its
 * previous record's callback (as 64 HTTP clients each waiting for their
 * answer would), fsync always.
 */
struct bench {
	struct journal *j;
	unsigned left;
	unsigned done;
	int errors;
	char payload[160];
	size_t len;
};

static void
bench_done(void *arg, int err)
{
	struct bench *b = arg;

	b->done++;
	if (err != 0)
		b->errors++;
	if (b->left > 0) {
		b->left--;
		journal_append(b->j, b->payload, b->len, bench_done, b);
	}
}

static void
test_journal__throughput_64_clients(void **state)
{
	struct bench b;
	struct timespec t0, t1;
	uv_loop_t loop;
	double secs;
	unsigned i, total = 40000;

	(void)state;
	unlink(jpath);
	memset(&b, 0, sizeof(b));
	uv_loop_init(&loop);
	b.j = journal_open(&loop, jpath, -1, 1, JOURNAL_FSYNC_ALWAYS);
	b.len = (size_t)snprintf(b.payload, sizeof(b.payload),
	    "{\"op\":\"push\",\"user\":\"u123\",\"document\":"
	    "\"0b229176d4e8db7f6d2b5a4952368d7a\",\"percentage\":0.4213,"
	    "\"progress\":\"/body/p[3]\",\"device\":\"KOReader\"}");
	b.left = total - 64;
	fault_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 64; i++)
		journal_append(b.j, b.payload, b.len, bench_done, &b);
	uv_run(&loop, UV_RUN_DEFAULT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(b.done, total);
	assert_int_equal(b.errors, 0);
	printf("# journal: %u durable appends (fsync always, 64 in flight) "
	       "in %.3f s: %.0f/s, %lu fdatasyncs (%.1f records each)\n",
	    total, secs, total / secs, fault_count(FAULT_FSYNC),
	    (double)total / (double)fault_count(FAULT_FSYNC));
	journal_close(b.j);
	loop_close(&loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal__encode_decode),
	    cmocka_unit_test(test_journal__replay_every_torn_length),
	    cmocka_unit_test(test_journal__replay_every_bit_flip),
	    cmocka_unit_test(test_journal__scan_after_damage),
	    cmocka_unit_test(test_journal__replay_gaps_and_errors),
	    cmocka_unit_test(test_journal__replay_large_records),
	    cmocka_unit_test(test_journal__append_always_group_commit),
	    cmocka_unit_test(test_journal__append_everysec_and_no),
	    cmocka_unit_test(test_journal__oversized_record),
	    cmocka_unit_test(test_journal__write_failure),
	    cmocka_unit_test(test_journal__sync_failure),
	    cmocka_unit_test(test_journal__tmpfs_full),
	    cmocka_unit_test(test_journal__rotate_and_drain),
	    cmocka_unit_test(test_journal__close_with_queued_records),
	    cmocka_unit_test(test_journal__open_truncates_tail),
	    cmocka_unit_test(test_journal__zeros_ahead),
	    cmocka_unit_test(test_journal__throughput_64_clients),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
