/*
 * statscalc.h: the reading figures of a statistics file: time and pages
 * per day in the account's time zone, today / this week / month / year,
 * streaks, and per book what KOReader's "Book statistics" shows plus
 * sessions and a best day (docs/statistics.md says how each is computed).
 *
 * Pure computation on what statsdb_read() returned: no I/O, no global
 * state; the zone is a struct tz (tzif.h), so accounts in different zones
 * can be computed at once on different threads.
 *
 * Days: the local day of an instant t is floor((t + offset(t) - day_start)
 * / 86400) counted from 1970-01-01, so a day is the half-open range of
 * instants from one local day_start to the next, 23 or 25 hours long on a
 * change of daylight saving time. A page turn counts, whole, on the day it
 * started (as in KOReader).
 */
#ifndef KOSYNCD_STATSCALC_H
#define KOSYNCD_STATSCALC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "statsdb.h"
#include "tzif.h"

#define STATSCALC_MAX_SEC 120     /* KOReader's default per-page cap */
#define STATSCALC_SESSION_GAP 600 /* a pause longer than this: new session */
#define STATSCALC_STREAK_MIN 60   /* seconds a day needs to count in a streak */
#define STATSCALC_RESCALE_MAX                                                  \
	1000 /* pages one row becomes at most (KOReader) */

/*
 * The hook for "books finished", which the statistics file cannot say:
 * whether the book with this md5 was finished (progress >= 99 %), and when
 * (*when, Unix seconds). NULL: the count is not known.
 */
typedef bool statscalc_finished_fn(void *ctx, const char *md5, int64_t *when);

struct statscalc_opts {
	const struct tz *tz;
	int32_t day_start; /* seconds after local midnight: 0..86399 */
	int64_t now;       /* Unix seconds: what "today" is */
	int64_t max_sec;   /* per-page cap of capped time (KOReader max_sec) */
	int64_t session_gap;
	int64_t streak_min;
	statscalc_finished_fn *finished;
	void *finished_ctx;
	int64_t goal_books;   /* books to finish per year; 0 none */
	int64_t goal_minutes; /* minutes to read per day; 0 none */
};

struct statscalc_day {
	int64_t day;   /* local day number */
	int64_t start; /* the day's instants: [start, end) */
	int64_t end;
	int64_t seconds;
	int64_t pages; /* distinct (book, page) read that day */
};

struct statscalc_period {
	int64_t first_day; /* local day numbers, both included */
	int64_t last_day;
	int64_t seconds;
	int64_t pages;    /* distinct pages of each book, summed over books */
	int64_t finished; /* books finished in the period; -1 unknown */
};

struct statscalc_book {
	size_t book;     /* index into statsdb.books */
	int64_t seconds; /* all page turns ("Total time spent on this book") */
	int64_t capped;  /* at most max_sec per page ("Time spent reading") */
	int64_t pages_read; /* distinct pages in the book's latest layout */
	int64_t days;
	int64_t first_read,
	    last_read; /* start of first and last turn; 0 none */
	int64_t best_day, best_day_seconds;
	int64_t last_page; /* where the last page turn was, latest layout */
	int64_t sessions, longest_session; /* reading seconds */
	int64_t time_left; /* seconds to the end at avg per page; -1 unknown */
	int64_t days_left; /* at the average time per day; -1 unknown */
	size_t bookday0;   /* its days: statscalc.bookdays[bookday0..+days) */
	size_t session0;   /* its sessions: [session0, session0 + sessions) */
};

/*
 * A calendar month or year of local days (statscalc.months, .years):
 * key is the year, or year * 12 + month - 1.
 */
struct statscalc_span {
	int64_t key;
	int64_t seconds;
	int64_t pages; /* distinct pages of each book, summed over books */
	int64_t books; /* books with reading in it */
	int64_t days;  /* days with reading in it */
};

/* One book on one local day: its speed, and its burn-down. */
struct statscalc_bookday {
	uint32_t book;
	int64_t day;
	int64_t seconds;
	int64_t pages;    /* distinct pages that day, latest layout */
	int64_t furthest; /* the highest page reached by the day's end */
};

/*
 * A session: a book's page turns with no pause longer than session_gap
 * between the end of one (start + duration) and the start of the next.
 */
struct statscalc_session {
	uint32_t book;
	int64_t start; /* the first turn's start */
	int64_t end;   /* the latest end of its turns */
	int64_t seconds;
	int64_t turns; /* page turns (rows) */
};

struct statscalc {
	struct statscalc_day *days; /* days with reading, ascending */
	size_t ndays;
	struct statscalc_book *books; /* one per statsdb book, same order */
	size_t nbooks;
	int64_t today;
	struct statscalc_period period_today, week, month, year;
	int64_t seconds; /* in all */
	int64_t streak_current, streak_longest;
	int64_t streak_longest_last; /* day the longest streak ended; 0 none */
	/*
	 * Seconds by the local weekday (0 Monday) and hour of the wall clock
	 * a page turn started at (not shifted by day_start).
	 */
	int64_t punch[7][24];
	struct statscalc_span *months, *years; /* ascending, with reading */
	size_t nmonths, nyears;
	struct statscalc_bookday *bookdays; /* by book, then day */
	size_t nbookdays;
	struct statscalc_session *sessions; /* by book, then start */
	size_t nsessions;
	/* Goals (statscalc_opts): days of this year up to today, and met. */
	int64_t year_days, goal_days_met;
};

/* Defaults above, UTC, day start 00:00, now = the given time. */
void statscalc_opts_default(struct statscalc_opts *o, int64_t now);

/* "HH:MM" (00:00 to 23:59) as seconds after midnight, or -1. */
int32_t statscalc_parse_hhmm(const char *s);

/* The local day number of instant t. */
int64_t statscalc_day_of(const struct statscalc_opts *o, int64_t t);

/* The first instant of local day number day. */
int64_t statscalc_day_start(const struct statscalc_opts *o, int64_t day);

/* Compute every figure of db into *out; release it with statscalc_release. */
void statscalc_run(const struct statsdb *db, const struct statscalc_opts *o,
    struct statscalc *c);

void statscalc_release(struct statscalc *c);

/*
 * Write the figures as one JSON object (docs/statistics.md shows it): the
 * file's counts, the settings, the overview, the days and the books.
 * zone names the zone in the output.
 */
void statscalc_json(struct json_out *j, const struct statsdb *db,
    const struct statscalc *c, const struct statscalc_opts *o,
    const char *zone);

/*
 * The parts of statscalc_json, each one JSON value, for those who show
 * them apart (the web API, statsvc.h): the file's counts, the settings,
 * the overview, one day, the book db->books[i].
 */
void statscalc_json_file(struct json_out *j, const struct statsdb *db);
void statscalc_json_settings(
    struct json_out *j, const struct statscalc_opts *o, const char *zone);
void statscalc_json_overview(struct json_out *j, const struct statscalc *c);
void statscalc_json_day(struct json_out *j, const struct statscalc_day *d);
void statscalc_json_book(struct json_out *j, const struct statsdb *db,
    const struct statscalc *c, size_t i);

/*
 * More parts, each one JSON value: the punch-card (7 arrays of 24
 * seconds, Monday first), the months or the years (an array), the
 * goals and their progress, one session (with its book's md5 and
 * title), and the book's days (speed and burn-down, an array).
 */
void statscalc_json_punch(struct json_out *j, const struct statscalc *c);
void statscalc_json_spans(struct json_out *j, const struct statscalc *c,
    const struct statscalc_opts *o, bool years);
void statscalc_json_goals(struct json_out *j, const struct statscalc *c,
    const struct statscalc_opts *o);
void statscalc_json_session(struct json_out *j, const struct statsdb *db,
    const struct statscalc_session *s);
void statscalc_json_bookdays(struct json_out *j, const struct statsdb *db,
    const struct statscalc *c, size_t i);

/*
 * CSV (RFC 4180: CRLF line ends, a header line, fields with a comma, a
 * quote or a line break quoted, quotes doubled; a text field that starts
 * with = + - @ or a tab gets a leading ' so that spreadsheets do not run
 * it as a formula), appended to out: the days from day from to day to
 * (both included), or every session.
 */
void statscalc_csv_days(
    struct buf *out, const struct statscalc *c, int64_t from, int64_t to);
void statscalc_csv_sessions(struct buf *out, const struct statscalc_opts *o,
    const struct statsdb *db, const struct statscalc *c);

/*
 * The vocabulary builder's figures as one JSON object: the words, those
 * due for review at o->now (due_time set and not after now), those
 * reviewed at least once, per book (title; words without one under "")
 * the most first, and per local month the words were collected in
 * (o's zone and day start), oldest first.
 */
void statscalc_json_vocab(struct json_out *j, const struct statsdb_vocab *v,
    const struct statscalc_opts *o);

/* "YYYY-MM-DD" of a local day number into s (at least 16 bytes). */
void statscalc_date(char *s, size_t size, int64_t day);

#endif
