/*
 * fuzz_statsdb.c: reading an uploaded statistics file (statsdb.c) and
 * computing its figures (statscalc.c).
 *
 * Input: the bytes of a file, written to a private temporary file that
 * statsdb_read() reads as the server will (its own private copy, SQLite's
 * defences, a 2 s time bound). A refusal has a one-line reason and leaves
 * nothing; a file read gives books whose strings are valid UTF-8 of at
 * most STATSDB_MAX_TEXT bytes, and page turns sorted by (book, start,
 * page), unique, of known books, with times from 2007 to tomorrow and
 * durations within bounds. The figures are then computed in UTC and in
 * Europe/Berlin with the day starting at 04:00: the punch-card, months,
 * years, sessions and a book's days each add up to the whole time, and
 * the JSON is valid UTF-8 and parses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "statscalc.h"
#include "statsdb.h"
#include "tzif.h"

#include "fuzz.h"

#define NOW 1774814400

static char path[64];
static struct tz *berlin;

/* Remove the input file when the fuzzer exits. */
static void
remove_input(void)
{
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct buf err = BUF_INIT;
	int fd;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/fuzz-statsdb-XXXXXX");
	fd = mkstemp(path);
	FUZZ_CHECK(fd >= 0);
	close(fd);
	atexit(remove_input);
	berlin = tz_load("Europe/Berlin", &err);
	FUZZ_CHECK(berlin != NULL);
	buf_release(&err);
	return 0;
}

static void
check_db(const struct statsdb *db)
{
	size_t i;

	for (i = 0; i < db->nbooks; i++) {
		const struct statsdb_book *b = &db->books[i];
		const char *s[] = {
		    b->md5, b->title, b->authors, b->series, b->language};
		size_t k;

		for (k = 0; k < 5; k++) {
			FUZZ_CHECK(s[k] != NULL);
			FUZZ_CHECK(strlen(s[k]) <= STATSDB_MAX_TEXT);
			FUZZ_CHECK(json_utf8_valid(s[k], strlen(s[k])));
		}
		FUZZ_CHECK(b->pages >= 0 && b->pages <= STATSDB_MAX_PAGE);
	}
	for (i = 0; i < db->nrows; i++) {
		const struct statsdb_row *r = &db->rows[i];

		FUZZ_CHECK(r->book < db->nbooks);
		FUZZ_CHECK(r->page >= 1 && r->page <= STATSDB_MAX_PAGE);
		FUZZ_CHECK(
		    r->total_pages >= 0 && r->total_pages <= STATSDB_MAX_PAGE);
		FUZZ_CHECK(
		    r->duration >= 0 && r->duration <= STATSDB_MAX_DURATION);
		FUZZ_CHECK(
		    r->start >= STATSDB_MIN_TIME && r->start <= NOW + 86400);
		if (i > 0) {
			const struct statsdb_row *p = &db->rows[i - 1];

			FUZZ_CHECK(p->book < r->book ||
			           (p->book == r->book &&
			               (p->start < r->start ||
			                   (p->start == r->start &&
			                       p->page < r->page))));
		}
	}
}

static void
check_sums(const struct statscalc *c)
{
	int64_t punch = 0, months = 0, years = 0, sessions = 0, days = 0;
	size_t i, k;

	for (i = 0; i < 7; i++)
		for (k = 0; k < 24; k++)
			punch += c->punch[i][k];
	for (i = 0; i < c->nmonths; i++) {
		months += c->months[i].seconds;
		FUZZ_CHECK(i == 0 || c->months[i - 1].key < c->months[i].key);
		FUZZ_CHECK(c->months[i].books >= 1 && c->months[i].days >= 1);
	}
	for (i = 0; i < c->nyears; i++)
		years += c->years[i].seconds;
	for (i = 0; i < c->nsessions; i++) {
		sessions += c->sessions[i].seconds;
		FUZZ_CHECK(c->sessions[i].start <= c->sessions[i].end);
	}
	for (i = 0; i < c->nbookdays; i++) {
		days += c->bookdays[i].seconds;
		FUZZ_CHECK(
		    i == 0 || c->bookdays[i - 1].book != c->bookdays[i].book ||
		    c->bookdays[i - 1].furthest <= c->bookdays[i].furthest);
	}
	FUZZ_CHECK(punch == c->seconds && months == c->seconds &&
	           years == c->seconds && sessions == c->seconds &&
	           days == c->seconds);
}

static void
check_figures(const struct statsdb *db, const struct tz *tz, int32_t shift)
{
	struct statscalc_opts o;
	struct statscalc c;
	struct json_arena arena = JSON_ARENA_INIT;
	struct buf out = BUF_INIT;
	struct json_out j;
	size_t i;

	statscalc_opts_default(&o, NOW);
	o.tz = tz;
	o.day_start = shift;
	statscalc_run(db, &o, &c);
	for (i = 0; i < c.ndays; i++) {
		FUZZ_CHECK(c.days[i].start < c.days[i].end);
		FUZZ_CHECK(i == 0 || c.days[i - 1].day < c.days[i].day);
	}
	/* Capped time is a part of the whole; pages only count. */
	for (i = 0; i < c.nbooks; i++) {
		FUZZ_CHECK(c.books[i].capped >= 0 &&
		           c.books[i].capped <= c.books[i].seconds);
		FUZZ_CHECK(c.books[i].pages_read >= 0);
	}
	/* The punch-card, months, years and sessions share out the time. */
	check_sums(&c);
	json_out_init(&j, &out, false);
	statscalc_json(&j, db, &c, &o, "zone");
	FUZZ_CHECK(json_utf8_valid(out.data, out.len));
	FUZZ_CHECK(json_parse(out.data, out.len, json_arena_alloc, &arena,
	               NULL) != NULL);
	json_arena_release(&arena);
	buf_release(&out);
	statscalc_release(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct statsdb_limits lim;
	struct statsdb db;
	struct buf reason = BUF_INIT;
	FILE *f;

	f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);
	statsdb_limits_default(&lim);
	lim.max_ms = 2000;
	if (statsdb_read(path, NOW, &lim, &db, &reason) < 0) {
		FUZZ_CHECK(reason.len > 0);
		FUZZ_CHECK(strchr(reason.data, '\n') == NULL);
		FUZZ_CHECK(db.nbooks == 0 && db.nrows == 0);
	} else {
		FUZZ_CHECK(reason.len == 0);
		check_db(&db);
		check_figures(&db, NULL, 0);
		check_figures(&db, berlin, 4 * 3600);
	}
	statsdb_release(&db);
	buf_release(&reason);
	return 0;
}
