/*
 * test_statscalc.c: the figures of statscalc.c on page turns built here:
 * local days as UTC ranges on DST days in Europe/Berlin and
 * America/New_York (23 and 25 hours), with the day starting at 04:00 too;
 * streak edges (today or yesterday keeps a streak current, a short day
 * breaks it, the longest is the first of equals); rescaling of an older
 * layout and KOReader's cap per page; sessions; the "books finished" hook;
 * statscalc_parse_hhmm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "statscalc.h"
#include "xmalloc.h"

/* A statsdb of nbooks books with pages each, and no rows yet. */
static void
db_init(struct statsdb *db, size_t nbooks, int64_t pages)
{
	size_t i;

	memset(db, 0, sizeof(*db));
	db->books = xcalloc(nbooks, sizeof(*db->books));
	db->nbooks = nbooks;
	for (i = 0; i < nbooks; i++) {
		db->books[i].md5 = xstrdup(i == 0 ? "m0" : "m1");
		db->books[i].title = xstrdup("T");
		db->books[i].authors = xstrdup("A");
		db->books[i].series = xstrdup("N/A");
		db->books[i].language = xstrdup("N/A");
		db->books[i].pages = pages;
	}
}

/* Append a row (the caller adds them sorted by book, then start). */
static void
db_add(struct statsdb *db, uint32_t book, int64_t page, int64_t start,
    int64_t duration, int64_t total)
{
	db->rows = xrealloc(db->rows, (db->nrows + 1) * sizeof(*db->rows));
	db->rows[db->nrows++] =
	    (struct statsdb_row){book, page, start, duration, total};
}

static struct tz *
zone(const char *name)
{
	struct buf err = BUF_INIT;
	struct tz *tz = tz_load(name, &err);

	assert_non_null(tz);
	buf_release(&err);
	return tz;
}

static void
test_statscalc__dst_days(void **state)
{
	static const struct {
		const char *zone;
		int32_t day_start;
		int y, m, d;
		int64_t start, hours;
	} cases[] = {
	    /* Berlin: 29 March 2026 has 23 hours, 25 October 25 hours. */
	    {"Europe/Berlin", 0, 2026, 3, 29, 1774738800, 23},
	    {"Europe/Berlin", 0, 2026, 3, 30, 1774821600, 24},
	    {"Europe/Berlin", 0, 2026, 10, 25, 1792879200, 25},
	    /* Starting at 04:00 the short day is the one before. */
	    {"Europe/Berlin", 4 * 3600, 2026, 3, 28, 1774666800, 23},
	    {"Europe/Berlin", 4 * 3600, 2026, 3, 29, 1774749600, 24},
	    {"Europe/Berlin", 4 * 3600, 2026, 10, 24, 1792807200, 25},
	    /* New York: 8 March and 1 November 2026. */
	    {"America/New_York", 0, 2026, 3, 8, 1772946000, 23},
	    {"America/New_York", 0, 2026, 11, 1, 1793505600, 25},
	    {"America/New_York", 4 * 3600, 2026, 3, 7, 1772874000, 23},
	    {"UTC", 0, 2026, 3, 29, 1774742400, 24},
	};
	struct statscalc_opts o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tz *tz = zone(cases[i].zone);
		int64_t day = tz_days_from_civil(
		    cases[i].y, (unsigned)cases[i].m, (unsigned)cases[i].d);
		int64_t start, end;

		statscalc_opts_default(&o, 1800000000);
		o.tz = tz;
		o.day_start = cases[i].day_start;
		start = statscalc_day_start(&o, day);
		end = statscalc_day_start(&o, day + 1);
		if (start != cases[i].start ||
		    end - start != cases[i].hours * 3600)
			fail_msg("%s %d-%d-%d: [%lld, %lld)", cases[i].zone,
			    cases[i].y, cases[i].m, cases[i].d,
			    (long long)start, (long long)end);
		/* Half-open: the first second is in, the one before is not. */
		assert_int_equal(statscalc_day_of(&o, start), day);
		assert_int_equal(statscalc_day_of(&o, start - 1), day - 1);
		assert_int_equal(statscalc_day_of(&o, end - 1), day);
		tz_free(tz);
	}
}

/* Seconds read on each local day of a run of days in Berlin. */
static void
streak_db(struct statsdb *db, const int *secs, size_t n, int64_t first)
{
	size_t i;

	db_init(db, 1, 100);
	for (i = 0; i < n; i++)
		if (secs[i])
			db_add(db, 0, (int64_t)i + 1,
			    first + (int64_t)i * 86400 + 20 * 3600, secs[i],
			    100);
}

static void
test_statscalc__streaks(void **state)
{
	static const struct {
		int secs[10];
		int today; /* index of today in secs */
		int64_t current, longest, longest_last;
	} cases[] = {
	    /* Read today: the run up to today. */
	    {{60, 60, 0, 60, 60, 60}, 5, 3, 3, 5},
	    /* Not yet today, but yesterday: still current. */
	    {{60, 60, 0, 60, 60, 0}, 5, 2, 2, 1},
	    /* Nothing today or yesterday: no current streak. */
	    {{60, 60, 60, 0, 0, 0}, 5, 0, 3, 2},
	    /* 59 s is not a reading day (streak_min 60). */
	    {{60, 59, 60, 60, 0}, 3, 2, 2, 3},
	    /* Two equal runs: the first is the longest. */
	    {{60, 60, 0, 60, 60, 0, 0}, 6, 0, 2, 1},
	    /* Nothing at all. */
	    {{0}, 3, 0, 0, 0},
	};
	/* 2026-03-23 (Monday) 00:00 in Berlin, CET. */
	const int64_t first = 1774220400, first_day = 20535;
	struct statscalc_opts o;
	struct statsdb db;
	struct statscalc c;
	struct tz *tz = zone("Europe/Berlin");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		streak_db(&db, cases[i].secs, 10, first);
		statscalc_opts_default(
		    &o, first + cases[i].today * 86400 + 22 * 3600);
		o.tz = tz;
		statscalc_run(&db, &o, &c);
		if (c.streak_current != cases[i].current ||
		    c.streak_longest != cases[i].longest ||
		    (cases[i].longest && c.streak_longest_last !=
		                             first_day + cases[i].longest_last))
			fail_msg("case %zu: current %lld longest %lld to %lld",
			    i, (long long)c.streak_current,
			    (long long)c.streak_longest,
			    (long long)(c.streak_longest_last - first_day));
		statscalc_release(&c);
		statsdb_release(&db);
	}
	tz_free(tz);
}

static void
test_statscalc__books(void **state)
{
	struct statscalc_opts o;
	struct statsdb db;
	struct statscalc c;
	const struct statscalc_book *b;

	(void)state;
	/* Book 0 has 200 pages now. */
	db_init(&db, 2, 200);
	/* Page 10 of a 100-page layout: pages 19-20 now, 50 s each. */
	db_add(&db, 0, 10, 1774000000, 100, 100);
	/* Page 20 twice: 100 + 100 s, capped at 120. */
	db_add(&db, 0, 20, 1774000100, 100, 200);
	db_add(&db, 0, 20, 1774000200, 100, 200);
	/* 11 minutes later: a new session. */
	db_add(&db, 0, 21, 1774000960, 30, 200);
	/* A layout of unknown size: the page as it is. */
	db_add(&db, 0, 150, 1774001000, 10, 0);
	db_add(&db, 1, 1, 1774000000, 5, 10);
	statscalc_opts_default(&o, 1774100000);
	statscalc_run(&db, &o, &c);
	b = &c.books[0];
	assert_int_equal(b->seconds, 340);
	/* 19: 50, 20: min(50 + 200, 120), 21: 30, 150: 10. */
	assert_int_equal(b->pages_read, 4);
	assert_int_equal(b->capped, 50 + 120 + 30 + 10);
	assert_int_equal(b->sessions, 2);
	assert_int_equal(b->longest_session, 300);
	assert_int_equal(b->last_page, 150);
	assert_int_equal(b->days, 1);
	/* (200 - 150) pages at 210 / 4 s. */
	assert_int_equal(b->time_left, 50 * 210 / 4);
	/* Page 1 of 10 in a book of 200 pages now: pages 1-20. */
	assert_int_equal(c.books[1].pages_read, 20);
	assert_int_equal(c.seconds, 345);
	assert_int_equal(c.ndays, 1);
	assert_int_equal(c.days[0].pages, 4 + 20);
	statscalc_release(&c);
	statsdb_release(&db);
}

/* The hook: book "m1" finished on 2026-03-28 12:00 UTC. */
static bool
finished(void *ctx, const char *md5, int64_t *when)
{
	(*(int *)ctx)++;
	if (strcmp(md5, "m1") != 0)
		return false;
	*when = 1774699200;
	return true;
}

static void
test_statscalc__finished_hook(void **state)
{
	struct statscalc_opts o;
	struct statsdb db;
	struct statscalc c;
	int calls = 0;

	(void)state;
	db_init(&db, 2, 10);
	db_add(&db, 1, 1, 1774699000, 60, 10);
	statscalc_opts_default(&o, 1774814400); /* Sunday 29 March */
	statscalc_run(&db, &o, &c);
	assert_int_equal(c.week.finished, -1);
	statscalc_release(&c);
	o.finished = finished;
	o.finished_ctx = &calls;
	statscalc_run(&db, &o, &c);
	assert_int_equal(c.period_today.finished, 0);
	assert_int_equal(c.week.finished, 1);
	assert_int_equal(c.year.finished, 1);
	assert_true(calls > 0);
	statscalc_release(&c);
	statsdb_release(&db);
}

/* "HH:MM" from 00:00 to 23:59, nothing else. */
static void
test_statscalc__parse_hhmm(void **state)
{
	static const char *const bad[] = {"", "4:00", "24:00", "23:60",
	    "04:00 ", "04-00", "ab:cd", "004:00", "-1:00", "04:0"};
	size_t i;

	(void)state;
	assert_int_equal(statscalc_parse_hhmm("00:00"), 0);
	assert_int_equal(statscalc_parse_hhmm("04:00"), 4 * 3600);
	assert_int_equal(statscalc_parse_hhmm("23:59"), 86399 - 59);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(statscalc_parse_hhmm(bad[i]), -1);
}

/* Unix time of a UTC date and time. */
static int64_t
utc(int y, unsigned m, unsigned d, int hh, int mm, int ss)
{
	return tz_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

/*
 * Months, years, the punch-card, sessions, a book's days and the goals
 * on one set of page turns in UTC.
 */
static void
test_statscalc__periods(void **state)
{
	struct statscalc_opts o;
	struct statsdb db;
	struct statscalc c;
	int64_t t0 = utc(2026, 1, 31, 10, 0, 0);
	const struct statscalc_span *m;
	const struct statscalc_session *se;
	const struct statscalc_bookday *bd;

	(void)state;
	db_init(&db, 2, 100);
	db_add(&db, 0, 1, t0, 60, 100);
	db_add(&db, 0, 2, t0 + 60, 60, 100);
	/* 700 s after the end of the last: a new session. */
	db_add(&db, 0, 3, t0 + 820, 30, 100);
	db_add(&db, 0, 10, utc(2026, 2, 2, 22, 30, 0), 100, 100);
	db_add(&db, 1, 1, utc(2025, 12, 31, 12, 0, 0), 40, 100);
	db_add(&db, 1, 5, utc(2026, 2, 1, 23, 59, 30), 50, 100);
	statscalc_opts_default(&o, utc(2026, 2, 2, 23, 0, 0));
	o.goal_books = 10;
	o.goal_minutes = 2;
	statscalc_run(&db, &o, &c);

	assert_int_equal(c.nmonths, 3);
	m = c.months;
	assert_int_equal(m[0].key, 2025 * 12 + 11);
	assert_int_equal(m[0].seconds, 40);
	assert_int_equal(m[0].pages, 1);
	assert_int_equal(m[0].books, 1);
	assert_int_equal(m[0].days, 1);
	assert_int_equal(m[1].key, 2026 * 12);
	assert_int_equal(m[1].seconds, 150);
	assert_int_equal(m[1].pages, 3);
	assert_int_equal(m[1].books, 1);
	assert_int_equal(m[1].days, 1);
	assert_int_equal(m[2].key, 2026 * 12 + 1);
	assert_int_equal(m[2].seconds, 150);
	assert_int_equal(m[2].pages, 2);
	assert_int_equal(m[2].books, 2);
	assert_int_equal(m[2].days, 2);
	assert_int_equal(c.nyears, 2);
	assert_int_equal(c.years[0].key, 2025);
	assert_int_equal(c.years[1].key, 2026);
	assert_int_equal(c.years[1].seconds, 300);
	assert_int_equal(c.years[1].pages, 5);
	assert_int_equal(c.years[1].books, 2);
	assert_int_equal(c.years[1].days, 3);

	/* Monday first: Saturday 10 h, Monday 22 h, Sunday 23 h, Wed 12 h. */
	assert_int_equal(c.punch[5][10], 150);
	assert_int_equal(c.punch[0][22], 100);
	assert_int_equal(c.punch[6][23], 50);
	assert_int_equal(c.punch[2][12], 40);
	assert_int_equal(c.punch[5][11], 0);

	assert_int_equal(c.nsessions, 5);
	assert_int_equal(c.books[0].session0, 0);
	assert_int_equal(c.books[0].sessions, 3);
	assert_int_equal(c.books[1].session0, 3);
	se = &c.sessions[0];
	assert_int_equal(se->start, t0);
	assert_int_equal(se->end, t0 + 120);
	assert_int_equal(se->seconds, 120);
	assert_int_equal(se->turns, 2);
	assert_int_equal(c.sessions[1].start, t0 + 820);
	assert_int_equal(c.sessions[1].end, t0 + 850);
	assert_int_equal(c.sessions[1].turns, 1);
	assert_int_equal(c.sessions[4].book, 1);

	/* Book 0's days: its speed and the furthest page (burn-down). */
	assert_int_equal(c.nbookdays, 4);
	assert_int_equal(c.books[0].bookday0, 0);
	assert_int_equal(c.books[1].bookday0, 2);
	bd = &c.bookdays[0];
	assert_int_equal(bd->day, tz_days_from_civil(2026, 1, 31));
	assert_int_equal(bd->seconds, 150);
	assert_int_equal(bd->pages, 3);
	assert_int_equal(bd->furthest, 3);
	assert_int_equal(c.bookdays[1].seconds, 100);
	assert_int_equal(c.bookdays[1].pages, 1);
	assert_int_equal(c.bookdays[1].furthest, 10);
	/* Book 1: page 1, then page 5. */
	assert_int_equal(c.bookdays[2].furthest, 1);
	assert_int_equal(c.bookdays[3].furthest, 5);

	/* 2026 so far: 33 days; only 31 January reached 2 minutes. */
	assert_int_equal(c.year_days, 33);
	assert_int_equal(c.goal_days_met, 1);
	statscalc_release(&c);

	/* A later day with a lower page keeps the furthest. */
	db_add(&db, 1, 2, utc(2026, 2, 2, 8, 0, 0), 20, 100);
	statscalc_run(&db, &o, &c);
	assert_int_equal(c.bookdays[4].seconds, 20);
	assert_int_equal(c.bookdays[4].furthest, 5);
	statscalc_release(&c);
	statsdb_release(&db);
}

/* The punch-card follows the wall clock through a change to summer time. */
static void
test_statscalc__punch_dst(void **state)
{
	struct statscalc_opts o;
	struct statsdb db;
	struct statscalc c;
	struct tz *tz = zone("Europe/Berlin");

	(void)state;
	db_init(&db, 1, 100);
	/* 00:30 UTC is 01:30 CET; 01:30 UTC is 03:30 CEST (Sunday). */
	db_add(&db, 0, 1, utc(2026, 3, 29, 0, 30, 0), 10, 100);
	db_add(&db, 0, 2, utc(2026, 3, 29, 1, 30, 0), 20, 100);
	/* 23:30 UTC on Saturday is 00:30 on Sunday in Berlin. */
	db_add(&db, 0, 3, utc(2026, 3, 28, 23, 30, 0), 40, 100);
	statscalc_opts_default(&o, utc(2026, 3, 30, 0, 0, 0));
	o.tz = tz;
	statscalc_run(&db, &o, &c);
	assert_int_equal(c.punch[6][0], 40);
	assert_int_equal(c.punch[6][1], 10);
	assert_int_equal(c.punch[6][2], 0);
	assert_int_equal(c.punch[6][3], 20);
	assert_int_equal(c.punch[5][23], 0);
	statscalc_release(&c);
	statsdb_release(&db);
	tz_free(tz);
}

/* CSV: quotes doubled, fields with commas or line breaks quoted, formulas. */
static void
test_statscalc__csv(void **state)
{
	struct statscalc_opts o;
	struct statsdb db;
	struct statscalc c;
	struct buf out = BUF_INIT;

	(void)state;
	db_init(&db, 1, 100);
	free(db.books[0].title);
	db.books[0].title = xstrdup("He said \"hi\", then");
	free(db.books[0].authors);
	db.books[0].authors = xstrdup("=cmd\nB");
	db_add(&db, 0, 1, utc(2026, 1, 2, 10, 0, 0), 60, 100);
	db_add(&db, 0, 2, utc(2026, 1, 3, 10, 0, 0), 30, 100);
	statscalc_opts_default(&o, utc(2026, 1, 4, 0, 0, 0));
	statscalc_run(&db, &o, &c);
	statscalc_csv_sessions(&out, &o, &db, &c);
	assert_string_equal(out.data,
	    "date,start,end,seconds,turns,md5,title,authors\r\n"
	    "2026-01-02,1767348000,1767348060,60,1,m0,"
	    "\"He said \"\"hi\"\", then\",\"'=cmd\nB\"\r\n"
	    "2026-01-03,1767434400,1767434430,30,1,m0,"
	    "\"He said \"\"hi\"\", then\",\"'=cmd\nB\"\r\n");
	buf_reset(&out);
	statscalc_csv_days(&out, &c, tz_days_from_civil(2026, 1, 3), INT64_MAX);
	assert_string_equal(out.data,
	    "date,start,end,seconds,pages\r\n"
	    "2026-01-03,1767398400,1767484800,30,1\r\n");
	buf_release(&out);
	statscalc_release(&c);
	statsdb_release(&db);
}

/* The vocabulary's figures: per book, per local month, due, reviewed. */
static void
test_statscalc__vocab(void **state)
{
	struct statscalc_opts o;
	struct statsdb_vocab v;
	struct buf out = BUF_INIT;
	struct json_out j;
	struct tz *tz = zone("Europe/Berlin");
	int64_t now = utc(2026, 4, 10, 0, 0, 0);

	(void)state;
	memset(&v, 0, sizeof(v));
	v.user_version = 20240905;
	v.ntitles = 2;
	v.titles = xcalloc(2, sizeof(char *));
	v.titles[0] = xstrdup("A \"b\"");
	v.titles[1] = xstrdup("B");
	v.nwords = 4;
	v.words = xcalloc(4, sizeof(*v.words));
	/* 31 March 22:30 UTC is 1 April in Berlin. */
	v.words[0] =
	    (struct statsdb_word){1, utc(2026, 3, 31, 22, 30, 0), now, 0};
	v.words[1] =
	    (struct statsdb_word){1, utc(2026, 3, 2, 0, 0, 0), now + 1, 3};
	v.words[2] = (struct statsdb_word){0, utc(2026, 4, 2, 0, 0, 0), 0, 0};
	v.words[3] = (struct statsdb_word){
	    STATSDB_NO_TITLE, utc(2026, 4, 3, 0, 0, 0), 1, 0};
	v.bad_time = 2;
	statscalc_opts_default(&o, now);
	o.tz = tz;
	json_out_init(&j, &out, false);
	statscalc_json_vocab(&j, &v, &o);
	assert_string_equal(out.data,
	    "{\"user_version\":20240905,\"words\":4,\"due\":2,\"reviewed\":1,"
	    "\"books\":[{\"title\":\"B\",\"words\":2,\"due\":1},"
	    "{\"title\":\"A \\\"b\\\"\",\"words\":1,\"due\":0},"
	    "{\"title\":\"\",\"words\":1,\"due\":1}],"
	    "\"months\":[{\"month\":\"2026-03\",\"words\":1},"
	    "{\"month\":\"2026-04\",\"words\":3}],"
	    "\"dropped\":{\"bad_values\":0,\"impossible_time\":2}}");
	buf_release(&out);
	statsdb_vocab_release(&v);
	tz_free(tz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statscalc__dst_days),
	    cmocka_unit_test(test_statscalc__streaks),
	    cmocka_unit_test(test_statscalc__books),
	    cmocka_unit_test(test_statscalc__finished_hook),
	    cmocka_unit_test(test_statscalc__parse_hhmm),
	    cmocka_unit_test(test_statscalc__periods),
	    cmocka_unit_test(test_statscalc__punch_dst),
	    cmocka_unit_test(test_statscalc__csv),
	    cmocka_unit_test(test_statscalc__vocab),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
