/*
 * fuzz_journal.c: journal replay: journal_decode, journal_replay and the
 * store's record reader (change_replay) into the tables of db.c.
 *
 * Input: a mode byte, then
 *   - mode bit 0 clear: the raw bytes of a journal file;
 *   - mode bit 0 set: record payloads separated by '\n', which the harness
 *     encodes with journal_encode (valid checksums, sequence numbers from
 *     1, or with a gap after the third record when bit 2 is set), so the
 *     fuzzer reaches change_replay with any payload; bit 3 cuts the
 *     last 5 bytes off (a torn tail).
 * Bit 1 selects whether the tables keep history; bit 4 appends zero bytes
 * (1 + 61 times the mode's top three bits), as the writer writes ahead.
 *
 * The file is replayed twice and the answers compared: once with
 * journal_decode over the buffer (as a reader of the whole file would) and
 * once with journal_replay reading a memfd through /proc/self/fd (its
 * chunked reads). Both must find the same records, the same end of the
 * valid prefix and the same damage; journal_decode must never claim more
 * bytes than it was given; zero bytes from the end of the prefix to the
 * end of the file are the zero tail and no damage. Every record goes to
 * change_replay.
 *
 * Then the salvage scan (journal_scan_mem, and journal_scan on the memfd)
 * from the end of the valid prefix: every byte after it is either in an
 * intact record or reported as damage, exactly once, in order, or among
 * the zero bytes that end the file; no damage
 * means nothing to scan; the whole-file scan finds at least the prefix's
 * records; the file scan agrees with the memory scan.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "change.h"
#include "db.h"
#include "filestore.h"
#include "journal.h"

#include "fuzz.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

struct replay {
	struct db db;
	uint64_t records;
	uint64_t last_seq;
	uint64_t applied; /* change_replay understood it */
};

/* The salvage scan's callbacks: bytes accounted for, in order. */
struct scan {
	const char *base;
	size_t next; /* where the next record or damage must start */
	uint64_t records;
	size_t damaged;
};

static int
scan_rec(void *arg, uint64_t seq, const char *payload, size_t len)
{
	struct scan *sc = arg;

	(void)seq;
	FUZZ_CHECK((size_t)(payload - sc->base) == sc->next + 20);
	sc->next += 20 + len;
	sc->records++;
	return 0;
}

static int
scan_damage(void *arg, off_t off, const char *bytes, size_t len)
{
	struct scan *sc = arg;

	FUZZ_CHECK(len > 0);
	FUZZ_CHECK((size_t)off == sc->next);
	FUZZ_CHECK(bytes == sc->base + off);
	sc->next += len;
	sc->damaged += len;
	return 0;
}

static int
apply(void *arg, uint64_t seq, const char *payload, size_t len)
{
	struct replay *r = arg;

	if (change_replay(&r->db, &hs, payload, len) == 0)
		r->applied++;
	r->records++;
	r->last_seq = seq;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf file = BUF_INIT;
	struct replay a, b;
	struct journal_replay_result res;
	struct journal_scan_result sr, sf;
	struct scan sc;
	const char *payload, *p, *end, *nl;
	size_t plen, pos = 0, valid_end = 0, z;
	uint64_t seq, n = 0;
	ssize_t r = 0;
	char path[64];
	uint8_t mode;
	bool zeros;
	int fd;

	if (size < 1)
		return 0;
	mode = data[0];
	p = (const char *)data + 1;
	end = (const char *)data + size;
	if (mode & 1) {
		while (p <= end) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			if ((size_t)(nl - p) <= JOURNAL_MAX_RECORD) {
				n++;
				journal_encode(&file, n + (mode & 4 && n > 3),
				    p, (size_t)(nl - p));
			}
			p = nl + 1;
		}
		if (mode & 8 && file.len >= 5)
			file.len -= 5;
	} else {
		buf_add(&file, p, (size_t)(end - p));
	}
	if (mode & 16) {
		size_t z = 1 + 61 * (size_t)(mode >> 5);

		buf_grow(&file, z);
		memset(file.data + file.len, 0, z);
		file.len += z;
	}

	/* Replay from memory. */
	memset(&a, 0, sizeof(a));
	db_init(&a.db);
	hs = (struct db_history){(mode & 2) != 0, 3, 0};
	while (pos < file.len) {
		r = journal_decode(
		    file.data + pos, file.len - pos, &seq, &payload, &plen);
		if (r <= 0)
			break;
		FUZZ_CHECK((size_t)r <= file.len - pos);
		FUZZ_CHECK(payload == file.data + pos + (size_t)r - plen);
		if (a.records > 0 && seq != a.last_seq + 1)
			break;
		apply(&a, seq, payload, plen);
		pos += (size_t)r;
		valid_end = pos;
	}

	/* Replay the same bytes as a file. */
	memset(&b, 0, sizeof(b));
	db_init(&b.db);
	hs = (struct db_history){(mode & 2) != 0, 3, 0};
	fd = memfd_create("fuzz_journal", MFD_CLOEXEC);
	FUZZ_CHECK(fd != -1);
	FUZZ_CHECK(file.len == 0 ||
	           write(fd, file.data, file.len) == (ssize_t)file.len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	FUZZ_CHECK(journal_replay(path, apply, &b, &res) == 0);

	FUZZ_CHECK(res.records == a.records && b.records == a.records);
	FUZZ_CHECK(res.last_seq == a.last_seq);
	FUZZ_CHECK(b.applied == a.applied);
	FUZZ_CHECK((size_t)res.valid_end == valid_end);
	FUZZ_CHECK((size_t)res.file_size == file.len);
	zeros = valid_end < file.len;
	for (z = valid_end; z < file.len && zeros; z++)
		zeros = file.data[z] == '\0';
	FUZZ_CHECK((size_t)res.zero_tail == (zeros ? file.len - valid_end : 0));
	FUZZ_CHECK((res.damage == NULL) == (valid_end == file.len || zeros));

	/* The salvage scan after the valid prefix. */
	memset(&sc, 0, sizeof(sc));
	sc.base = file.data;
	sc.next = valid_end;
	FUZZ_CHECK(journal_scan_mem(file.data, file.len, valid_end, scan_rec,
	               scan_damage, &sc, &sr) == 0);
	for (z = sc.next; z < file.len; z++)
		FUZZ_CHECK(file.data[z] == '\0');
	FUZZ_CHECK(sc.next <= file.len);
	FUZZ_CHECK(sr.records == sc.records && sr.damaged == sc.damaged);
	FUZZ_CHECK((sr.records == 0) == (sr.first_record == -1));
	FUZZ_CHECK(sr.records == 0 || (size_t)sr.first_record >= valid_end);
	if (res.damage == NULL)
		FUZZ_CHECK(sr.records == 0 && sr.damaged == 0);
	else
		FUZZ_CHECK(sr.damaged > 0 || sr.records > 0);
	FUZZ_CHECK(
	    journal_scan(path, (off_t)valid_end, NULL, NULL, NULL, &sf) == 0);
	FUZZ_CHECK(sf.records == sr.records && sf.damaged == sr.damaged &&
	           sf.first_record == sr.first_record &&
	           sf.last_seq == sr.last_seq);
	FUZZ_CHECK(journal_scan_mem(
	               file.data, file.len, 0, NULL, NULL, NULL, &sf) == 0);
	FUZZ_CHECK(sf.records >= a.records);
	close(fd);

	db_release(&a.db);
	db_release(&b.db);
	buf_release(&file);
	return 0;
}
