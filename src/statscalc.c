/*
 * statscalc.c: the figures of a statistics file (statscalc.h).
 *
 * Pages follow KOReader's page_stat view without running it: a row of
 * page p recorded in a layout of T pages, for a book now of P pages,
 * covers pages (p-1)*P/T+1 .. max(that, p*P/T) of the latest layout (at
 * most STATSCALC_RESCALE_MAX of them), each credited duration / count
 * seconds in integer division. Distinct pages and per-page capped time
 * come from one sweep over those ranges sorted by (group, page) instead of
 * one entry per page, so a row that rescales to 1,000 pages costs two
 * events, not 1,000. A row whose layout or book size is unknown (0) keeps
 * its own page number (KOReader's view leaves such rows out).
 *
 * Times of day, days and sums use the rows' whole durations (the view's
 * integer division drops seconds; statscalc does only for capped time, as
 * KOReader does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statscalc.h"
#include "xmalloc.h"

void
statscalc_opts_default(struct statscalc_opts *o, int64_t now)
{
	memset(o, 0, sizeof(*o));
	o->now = now;
	o->max_sec = STATSCALC_MAX_SEC;
	o->session_gap = STATSCALC_SESSION_GAP;
	o->streak_min = STATSCALC_STREAK_MIN;
}

/* floor(a / b) for b > 0. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

int64_t
statscalc_day_of(const struct statscalc_opts *o, int64_t t)
{
	int32_t off = o->tz ? tz_offset(o->tz, t) : 0;

	return floor_div(t + off - o->day_start, 86400);
}

int64_t
statscalc_day_start(const struct statscalc_opts *o, int64_t day)
{
	/*
	 * The smallest instant whose local day is day: between 26 hours
	 * either side of the naive guess (offsets are within 25 hours).
	 */
	int64_t lo = day * 86400 + o->day_start - (int64_t)26 * 3600;
	int64_t hi = day * 86400 + o->day_start + (int64_t)26 * 3600;

	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (statscalc_day_of(o, mid) >= day)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* ---------------------------------------------------------------------
 * Page ranges and the sweep.
 */

/* A row's pages in the book's latest layout, and the seconds of each. */
struct range {
	uint64_t key; /* the group: book, or book and day */
	int64_t first, last;
	int64_t each;
};

static void
rescale(const struct statsdb_row *r, int64_t pages, struct range *out)
{
	int64_t first = r->page, last, n;

	last = first;
	if (r->total_pages > 0 && pages > 0) {
		first = (r->page - 1) * pages / r->total_pages + 1;
		last = r->page * pages / r->total_pages;
		if (last < first)
			last = first;
	}
	/* A page past the layout's end (hostile) stays within bounds. */
	if (last > STATSDB_MAX_PAGE)
		last = STATSDB_MAX_PAGE;
	if (first > last)
		first = last;
	n = last - first + 1;
	out->first = first;
	out->last = last;
	out->each = r->duration / n;
	if (n > STATSCALC_RESCALE_MAX)
		out->last = first + STATSCALC_RESCALE_MAX - 1;
}

/*
 * One end of a range, in 16 bytes (the sorts dominate the cost): pos is
 * at most 10^9 + 1,001 (statsdb.h: STATSDB_MAX_PAGE) and each at most a
 * day, so delta, +(2 * each + 1) where a range begins and -(2 * each + 1)
 * past its end, fits an int32_t too.
 */
struct event {
	uint64_t key;
	int32_t pos;
	int32_t delta;
};

_Static_assert(STATSDB_MAX_PAGE + 1 < INT32_MAX, "event pos fits");
_Static_assert(2 * STATSDB_MAX_DURATION + 1 < INT32_MAX, "delta fits");

static int
event_cmp(const void *x, const void *y)
{
	const struct event *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* What the sweep found for one group. */
struct group {
	uint64_t key;
	int64_t pages;  /* distinct pages covered */
	int64_t capped; /* per page min(sum of seconds, cap), summed */
};

/*
 * Sweep n ranges (reordered): for each key, in ascending order, the
 * number of distinct pages covered and the capped seconds. Returns the
 * number of groups written to *out (a new array; the caller frees it).
 */
static size_t
sweep(const struct range *ranges, size_t n, int64_t cap, struct group **out)
{
	struct event *ev = xcalloc(n ? 2 * n : 1, sizeof(*ev));
	struct group *g = xcalloc(n ? n : 1, sizeof(*g));
	size_t i, ng = 0;
	int64_t cover = 0, sum = 0;

	for (i = 0; i < n; i++) {
		int32_t d = (int32_t)(2 * ranges[i].each + 1);

		ev[2 * i] =
		    (struct event){ranges[i].key, (int32_t)ranges[i].first, d};
		ev[2 * i + 1] = (struct event){
		    ranges[i].key, (int32_t)(ranges[i].last + 1), -d};
	}
	qsort(ev, 2 * n, sizeof(*ev), event_cmp);
	for (i = 0; i < 2 * n; i++) {
		if (i == 0 || ev[i].key != ev[i - 1].key) {
			g[ng++] = (struct group){ev[i].key, 0, 0};
			cover = sum = 0;
		}
		cover += ev[i].delta > 0 ? 1 : -1;
		sum += ev[i].delta / 2; /* the sign of delta, times each */
		if (cover > 0 && i + 1 < 2 * n && ev[i + 1].key == ev[i].key) {
			int64_t len = ev[i + 1].pos - ev[i].pos;

			g[ng - 1].pages += len;
			g[ng - 1].capped += len * (sum < cap ? sum : cap);
		}
	}
	free(ev);
	*out = g;
	return ng;
}

/* Distinct pages read in days [lo, hi], per book, summed over books. */
static int64_t
period_pages(const struct statsdb *db, const struct range *byrow,
    const int64_t *rowday, int64_t lo, int64_t hi)
{
	struct range *sel = xcalloc(db->nrows ? db->nrows : 1, sizeof(*sel));
	struct group *g = NULL;
	size_t i, n = 0, ng;
	int64_t pages = 0;

	for (i = 0; i < db->nrows; i++) {
		if (rowday[i] < lo || rowday[i] > hi)
			continue;
		sel[n] = byrow[i];
		sel[n++].key = db->rows[i].book;
	}
	ng = sweep(sel, n, 0, &g);
	for (i = 0; i < ng; i++)
		pages += g[i].pages;
	free(g);
	free(sel);
	return pages;
}

/* ---------------------------------------------------------------------
 * The figures.
 */

static int
int64_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* Index of day in the ascending c->days, or -1. */
static int64_t
find_day(const struct statscalc *c, int64_t day)
{
	size_t lo = 0, hi = c->ndays;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->days[mid].day < day)
			lo = mid + 1;
		else if (c->days[mid].day > day)
			hi = mid;
		else
			return (int64_t)mid;
	}
	return -1;
}

static int
bookday_cmp(const void *x, const void *y)
{
	const struct statscalc_bookday *a = x, *b = y;

	if (a->book != b->book)
		return a->book < b->book ? -1 : 1;
	return a->day < b->day ? -1 : a->day > b->day;
}

/*
 * The days with reading: seconds from the rows, pages from the sweep;
 * and the same per book and day (c->bookdays).
 */
static void
count_days(const struct statsdb *db, const struct statscalc_opts *o,
    const struct range *byrow, const int64_t *rowday, struct statscalc *c)
{
	int64_t *sorted = xcalloc(db->nrows ? db->nrows : 1, sizeof(*sorted));
	struct range *sel = xcalloc(db->nrows ? db->nrows : 1, sizeof(*sel));
	int64_t first_day = 0;
	struct group *g = NULL;
	size_t i, ng;

	memcpy(sorted, rowday, db->nrows * sizeof(*sorted));
	qsort(sorted, db->nrows, sizeof(*sorted), int64_cmp);
	c->days = xcalloc(db->nrows ? db->nrows : 1, sizeof(*c->days));
	for (i = 0; i < db->nrows; i++) {
		if (i > 0 && sorted[i] == sorted[i - 1])
			continue;
		c->days[c->ndays].day = sorted[i];
		c->days[c->ndays].start = statscalc_day_start(o, sorted[i]);
		c->days[c->ndays].end = statscalc_day_start(o, sorted[i] + 1);
		c->ndays++;
	}
	if (c->ndays)
		first_day = c->days[0].day;
	for (i = 0; i < db->nrows; i++) {
		c->days[find_day(c, rowday[i])].seconds += db->rows[i].duration;
		sel[i] = byrow[i];
		/* Days since the first, so the key sorts by (book, day). */
		sel[i].key = (uint64_t)db->rows[i].book << 32 |
		             (uint64_t)(rowday[i] - first_day);
	}
	ng = sweep(sel, db->nrows, 0, &g);
	/* The groups are the (book, day) pairs too, in that order. */
	c->bookdays = xcalloc(ng ? ng : 1, sizeof(*c->bookdays));
	c->nbookdays = ng;
	for (i = 0; i < ng; i++) {
		int64_t day = first_day + (int64_t)(g[i].key & 0xffffffffu);

		c->days[find_day(c, day)].pages += g[i].pages;
		c->bookdays[i].book = (uint32_t)(g[i].key >> 32);
		c->bookdays[i].day = day;
		c->bookdays[i].pages = g[i].pages;
	}
	for (i = 0; i < db->nrows; i++) {
		struct statscalc_bookday key = {
		    db->rows[i].book, rowday[i], 0, 0, 0};
		struct statscalc_bookday *bd = bsearch(
		    &key, c->bookdays, ng, sizeof(*c->bookdays), bookday_cmp);

		if (bd == NULL) /* cannot be: built from the same rows */
			continue;
		bd->seconds += db->rows[i].duration;
		if (byrow[i].last > bd->furthest)
			bd->furthest = byrow[i].last;
	}
	/* The furthest page so far, day after day of each book. */
	for (i = 1; i < ng; i++)
		if (c->bookdays[i].book == c->bookdays[i - 1].book &&
		    c->bookdays[i - 1].furthest > c->bookdays[i].furthest)
			c->bookdays[i].furthest = c->bookdays[i - 1].furthest;
	free(g);
	free(sel);
	free(sorted);
}

/* Fill one period [lo, hi] from the days. */
static void
count_period(const struct statsdb *db, const struct statscalc_opts *o,
    const struct range *byrow, const int64_t *rowday, const struct statscalc *c,
    int64_t lo, int64_t hi, struct statscalc_period *p)
{
	size_t i;

	p->first_day = lo;
	p->last_day = hi;
	for (i = 0; i < c->ndays; i++)
		if (c->days[i].day >= lo && c->days[i].day <= hi)
			p->seconds += c->days[i].seconds;
	p->pages = period_pages(db, byrow, rowday, lo, hi);
	p->finished = -1;
	if (o->finished) {
		p->finished = 0;
		for (i = 0; i < db->nbooks; i++) {
			int64_t when, day;

			if (!o->finished(
			        o->finished_ctx, db->books[i].md5, &when))
				continue;
			day = statscalc_day_of(o, when);
			if (day >= lo && day <= hi)
				p->finished++;
		}
	}
}

/* Current and longest run of consecutive days of streak_min or more. */
static void
count_streaks(const struct statscalc_opts *o, struct statscalc *c)
{
	int64_t run = 0, prev = 0;
	size_t i;

	for (i = 0; i < c->ndays; i++) {
		if (c->days[i].seconds < o->streak_min)
			continue;
		run = run && c->days[i].day == prev + 1 ? run + 1 : 1;
		prev = c->days[i].day;
		if (run > c->streak_longest) {
			c->streak_longest = run;
			c->streak_longest_last = prev;
		}
	}
	/* A streak is still current when it reaches today or yesterday. */
	if (run && (prev == c->today || prev == c->today - 1))
		c->streak_current = run;
}

/* A day and seconds read on it, to find a book's days and best day. */
struct day_secs {
	int64_t day, seconds;
};

static int
day_secs_cmp(const void *x, const void *y)
{
	const struct day_secs *a = x, *b = y;

	return a->day < b->day ? -1 : a->day > b->day;
}

/* Sessions, days, best day and the rest of one book's rows [from, to). */
static void
count_book(const struct statsdb *db, const struct statscalc_opts *o,
    const struct range *byrow, const int64_t *rowday, size_t from, size_t to,
    struct statscalc *c, struct statscalc_book *b)
{
	struct day_secs *ds = xcalloc(to - from + 1, sizeof(*ds));
	int64_t end = 0, session = 0, latest = INT64_MIN, sum = 0;
	struct statscalc_session *cur = NULL;
	size_t i, n = 0;

	b->session0 = c->nsessions;

	for (i = from; i < to; i++) {
		const struct statsdb_row *r = &db->rows[i];

		b->seconds += r->duration;
		if (!b->first_read || r->start < b->first_read)
			b->first_read = r->start;
		if (r->start > b->last_read)
			b->last_read = r->start;
		/* KOReader: the highest page at the latest start_time. */
		if (r->start > latest ||
		    (r->start == latest && byrow[i].last > b->last_page)) {
			latest = r->start;
			b->last_page = byrow[i].last;
		}
		/* Rows come sorted by start time within a book. */
		if (i == from || r->start > end + o->session_gap) {
			b->sessions++;
			session = 0;
			cur = &c->sessions[c->nsessions++];
			cur->book = r->book;
			cur->start = r->start;
		}
		session += r->duration;
		if (session > b->longest_session)
			b->longest_session = session;
		if (r->start + r->duration > end)
			end = r->start + r->duration;
		cur->end = end;
		cur->seconds += r->duration;
		cur->turns++;
		ds[n++] = (struct day_secs){rowday[i], r->duration};
	}
	qsort(ds, n, sizeof(*ds), day_secs_cmp);
	b->best_day_seconds = -1;
	for (i = 0; i < n; i++) {
		if (i == 0 || ds[i].day != ds[i - 1].day) {
			b->days++;
			sum = 0;
		}
		sum += ds[i].seconds;
		/* The day with most of this book's seconds; the first on a tie.
		 */
		if (sum > b->best_day_seconds) {
			b->best_day_seconds = sum;
			b->best_day = ds[i].day;
		}
	}
	if (b->best_day_seconds < 0)
		b->best_day_seconds = 0;
	free(ds);
}

/*
 * The punch-card: each page turn's seconds at the weekday and hour of the
 * local wall clock when it started (the offset in force then, so a
 * change of daylight saving time moves the hour, as the clock did).
 */
static void
count_punch(const struct statsdb *db, const struct statscalc_opts *o,
    struct statscalc *c)
{
	size_t i;

	for (i = 0; i < db->nrows; i++) {
		int64_t t = db->rows[i].start;
		int64_t local = t + (o->tz ? tz_offset(o->tz, t) : 0);
		int64_t day = floor_div(local, 86400);
		unsigned wd = (tz_weekday(day) + 6) % 7;
		int64_t hour = (local - day * 86400) / 3600;

		c->punch[wd][hour] += db->rows[i].duration;
	}
}

/* The month (year * 12 + month - 1) or the year of a local day. */
static int64_t
span_of(int64_t day, bool years)
{
	int64_t y;
	unsigned m, d;

	tz_civil_from_days(day, &y, &m, &d);
	return years ? y : y * 12 + (int64_t)m - 1;
}

static int
span_cmp(const void *x, const void *y)
{
	const struct statscalc_span *a = x, *b = y;

	return a->key < b->key ? -1 : a->key > b->key;
}

/*
 * The months (or years) with reading: seconds and days from the days,
 * distinct pages and books from one sweep keyed by (span, book).
 */
static void
count_spans(const struct statsdb *db, const struct range *byrow,
    const int64_t *rowday, struct statscalc *c, bool years)
{
	struct range *sel = xcalloc(db->nrows ? db->nrows : 1, sizeof(*sel));
	struct statscalc_span *sp;
	struct group *g = NULL;
	size_t i, ng, n = 0;
	int64_t first = 0;

	if (c->ndays)
		first = span_of(c->days[0].day, years);
	for (i = 0; i < db->nrows; i++) {
		sel[i] = byrow[i];
		sel[i].key = (uint64_t)(span_of(rowday[i], years) - first)
		                 << 32 |
		             db->rows[i].book;
	}
	ng = sweep(sel, db->nrows, 0, &g);
	sp = xcalloc(ng ? ng : 1, sizeof(*sp));
	for (i = 0; i < ng; i++) {
		int64_t key = first + (int64_t)(g[i].key >> 32);

		if (n == 0 || sp[n - 1].key != key)
			sp[n++].key = key;
		sp[n - 1].books++;
		sp[n - 1].pages += g[i].pages;
	}
	for (i = 0; i < c->ndays; i++) {
		struct statscalc_span key = {
		    span_of(c->days[i].day, years), 0, 0, 0, 0};
		struct statscalc_span *s =
		    bsearch(&key, sp, n, sizeof(*sp), span_cmp);

		if (s == NULL) /* cannot be: built from the same rows */
			continue;
		s->seconds += c->days[i].seconds;
		s->days++;
	}
	if (years) {
		c->years = sp;
		c->nyears = n;
	} else {
		c->months = sp;
		c->nmonths = n;
	}
	free(g);
	free(sel);
}

/* This year's days so far, and those that met the minutes-a-day goal. */
static void
count_goals(const struct statscalc_opts *o, struct statscalc *c)
{
	int64_t y, jan1;
	unsigned m, d;
	size_t i;

	tz_civil_from_days(c->today, &y, &m, &d);
	jan1 = tz_days_from_civil(y, 1, 1);
	c->year_days = c->today - jan1 + 1;
	if (o->goal_minutes <= 0)
		return;
	for (i = 0; i < c->ndays; i++)
		if (c->days[i].day >= jan1 && c->days[i].day <= c->today &&
		    c->days[i].seconds >= o->goal_minutes * 60)
			c->goal_days_met++;
}

/*
 * KOReader's estimate: pages left at the average capped time per page,
 * then days at the average capped time per day of reading.
 */
static void
estimate(const struct statsdb_book *book, struct statscalc_book *b)
{
	int64_t left;

	b->time_left = b->days_left = -1;
	if (book->pages <= 0 || b->pages_read <= 0 || b->days <= 0 ||
	    b->capped <= 0)
		return;
	left = book->pages - b->last_page;
	if (left < 0)
		left = 0;
	b->time_left = left * b->capped / b->pages_read;
	b->days_left = (b->time_left * b->days + b->capped - 1) / b->capped;
}

void
statscalc_run(const struct statsdb *db, const struct statscalc_opts *o,
    struct statscalc *c)
{
	struct range *byrow =
	    xcalloc(db->nrows ? db->nrows : 1, sizeof(*byrow));
	int64_t *rowday = xcalloc(db->nrows ? db->nrows : 1, sizeof(*rowday));
	struct group *g = NULL;
	size_t i, from, ng;
	int64_t y;
	unsigned m, d;

	memset(c, 0, sizeof(*c));
	c->today = statscalc_day_of(o, o->now);
	for (i = 0; i < db->nrows; i++) {
		rescale(
		    &db->rows[i], db->books[db->rows[i].book].pages, &byrow[i]);
		byrow[i].key = db->rows[i].book;
		rowday[i] = statscalc_day_of(o, db->rows[i].start);
		c->seconds += db->rows[i].duration;
	}
	count_days(db, o, byrow, rowday, c);
	count_streaks(o, c);
	count_punch(db, o, c);
	count_spans(db, byrow, rowday, c, false);
	count_spans(db, byrow, rowday, c, true);
	count_goals(o, c);

	/* Periods: today, the week from Monday, the month, the year. */
	tz_civil_from_days(c->today, &y, &m, &d);
	count_period(
	    db, o, byrow, rowday, c, c->today, c->today, &c->period_today);
	count_period(db, o, byrow, rowday, c,
	    c->today - (tz_weekday(c->today) + 6) % 7, c->today, &c->week);
	count_period(db, o, byrow, rowday, c, tz_days_from_civil(y, m, 1),
	    c->today, &c->month);
	count_period(db, o, byrow, rowday, c, tz_days_from_civil(y, 1, 1),
	    c->today, &c->year);

	/* Books: pages and capped time by one sweep keyed by book. */
	c->nbooks = db->nbooks;
	c->books = xcalloc(db->nbooks ? db->nbooks : 1, sizeof(*c->books));
	for (i = 0; i < db->nbooks; i++) {
		c->books[i].book = i;
		c->books[i].time_left = c->books[i].days_left = -1;
	}
	for (i = c->nbookdays; i-- > 0;)
		c->books[c->bookdays[i].book].bookday0 = i;
	c->sessions = xcalloc(db->nrows ? db->nrows : 1, sizeof(*c->sessions));
	ng = sweep(byrow, db->nrows, o->max_sec, &g);
	for (i = 0; i < ng; i++) {
		c->books[g[i].key].pages_read = g[i].pages;
		c->books[g[i].key].capped = g[i].capped;
	}
	free(g);
	for (from = 0; from < db->nrows;) {
		size_t to = from;
		uint32_t book = db->rows[from].book;

		while (to < db->nrows && db->rows[to].book == book)
			to++;
		count_book(db, o, byrow, rowday, from, to, c, &c->books[book]);
		estimate(&db->books[book], &c->books[book]);
		from = to;
	}
	free(byrow);
	free(rowday);
}

void
statscalc_release(struct statscalc *c)
{
	free(c->days);
	free(c->books);
	free(c->months);
	free(c->years);
	free(c->bookdays);
	free(c->sessions);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------------
 * JSON.
 */

void
statscalc_date(char *s, size_t size, int64_t day)
{
	int64_t y;
	unsigned m, d;

	tz_civil_from_days(day, &y, &m, &d);
	snprintf(s, size, "%04lld-%02u-%02u", (long long)y, m, d);
}

/* "YYYY-MM-DD" of a local day number. */
static void
json_date(struct json_out *j, int64_t day)
{
	char s[32];

	statscalc_date(s, sizeof(s), day);
	json_str(j, s);
}

/* An integer, or null when negative (unknown). */
static void
json_kv_known(struct json_out *j, const char *key, int64_t v)
{
	json_key(j, key);
	if (v < 0)
		json_null(j);
	else
		json_int(j, v);
}

/* num / den, or null when den is 0. */
static void
json_kv_ratio(struct json_out *j, const char *key, int64_t num, int64_t den)
{
	json_key(j, key);
	if (den)
		json_double(j, (double)num / (double)den);
	else
		json_null(j);
}

static void
json_period(
    struct json_out *j, const char *name, const struct statscalc_period *p)
{
	json_key(j, name);
	json_obj_begin(j);
	json_key(j, "from");
	json_date(j, p->first_day);
	json_key(j, "to");
	json_date(j, p->last_day);
	json_kv_int(j, "seconds", p->seconds);
	json_kv_int(j, "pages", p->pages);
	json_kv_known(j, "books_finished", p->finished);
	json_obj_end(j);
}

void
statscalc_json_book(struct json_out *j, const struct statsdb *db,
    const struct statscalc *c, size_t i)
{
	const struct statsdb_book *sb = &db->books[i];
	const struct statscalc_book *b = &c->books[i];

	json_obj_begin(j);
	json_kv_str(j, "md5", sb->md5);
	json_kv_str(j, "title", sb->title);
	json_kv_str(j, "authors", sb->authors);
	json_kv_str(j, "series", sb->series);
	json_kv_str(j, "language", sb->language);
	json_kv_int(j, "pages", sb->pages);
	json_kv_int(j, "highlights", sb->highlights);
	json_kv_int(j, "notes", sb->notes);
	json_kv_int(j, "seconds", b->seconds);
	json_kv_int(j, "capped_seconds", b->capped);
	json_kv_int(j, "pages_read", b->pages_read);
	json_kv_int(j, "days", b->days);
	json_kv_int(j, "first_read", b->first_read);
	json_kv_int(j, "last_read", b->last_read);
	json_kv_int(j, "last_page", b->last_page);
	json_key(j, "best_day");
	if (b->days) {
		json_obj_begin(j);
		json_key(j, "date");
		json_date(j, b->best_day);
		json_kv_int(j, "seconds", b->best_day_seconds);
		json_obj_end(j);
	} else {
		json_null(j);
	}
	json_kv_ratio(j, "avg_page_seconds", b->capped, b->pages_read);
	json_kv_ratio(j, "avg_day_seconds", b->capped, b->days);
	json_key(j, "sessions");
	json_obj_begin(j);
	json_kv_int(j, "count", b->sessions);
	json_kv_int(j, "longest", b->longest_session);
	json_kv_ratio(j, "average", b->seconds, b->sessions);
	json_obj_end(j);
	json_kv_known(j, "time_left", b->time_left);
	json_kv_known(j, "days_left", b->days_left);
	json_key(j, "finish_date");
	if (b->days_left >= 0 && b->time_left > 0)
		json_date(j, c->today + b->days_left);
	else
		json_null(j);
	json_obj_end(j);
}

void
statscalc_json_punch(struct json_out *j, const struct statscalc *c)
{
	size_t wd, hour;

	json_arr_begin(j);
	for (wd = 0; wd < 7; wd++) {
		json_arr_begin(j);
		for (hour = 0; hour < 24; hour++)
			json_int(j, c->punch[wd][hour]);
		json_arr_end(j);
	}
	json_arr_end(j);
}

void
statscalc_json_spans(struct json_out *j, const struct statscalc *c,
    const struct statscalc_opts *o, bool years)
{
	const struct statscalc_span *sp = years ? c->years : c->months;
	size_t i, n = years ? c->nyears : c->nmonths;
	char name[32];

	json_arr_begin(j);
	for (i = 0; i < n; i++) {
		int64_t y = years ? sp[i].key : floor_div(sp[i].key, 12);
		unsigned m = years ? 1 : (unsigned)(sp[i].key - y * 12) + 1;
		int64_t first = tz_days_from_civil(y, m, 1);
		int64_t next = years || m == 12
		                   ? tz_days_from_civil(y + 1, 1, 1)
		                   : tz_days_from_civil(y, m + 1, 1);

		json_obj_begin(j);
		if (years) {
			json_kv_int(j, "year", y);
		} else {
			snprintf(
			    name, sizeof(name), "%04lld-%02u", (long long)y, m);
			json_kv_str(j, "month", name);
		}
		json_key(j, "from");
		json_date(j, first);
		json_key(j, "to");
		json_date(j, next - 1);
		json_kv_int(j, "start", statscalc_day_start(o, first));
		json_kv_int(j, "end", statscalc_day_start(o, next));
		json_kv_int(j, "seconds", sp[i].seconds);
		json_kv_int(j, "pages", sp[i].pages);
		json_kv_int(j, "books", sp[i].books);
		json_kv_int(j, "days", sp[i].days);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void
statscalc_json_goals(struct json_out *j, const struct statscalc *c,
    const struct statscalc_opts *o)
{
	json_obj_begin(j);
	json_key(j, "books_per_year");
	if (o->goal_books > 0)
		json_int(j, o->goal_books);
	else
		json_null(j);
	json_kv_known(j, "books_finished", c->year.finished);
	/* Where the year's pace stands today: goal * days so far / days. */
	json_key(j, "books_expected");
	if (o->goal_books > 0) {
		int64_t y;
		unsigned m, d;
		int64_t len;

		tz_civil_from_days(c->today, &y, &m, &d);
		len = tz_days_from_civil(y + 1, 1, 1) -
		      tz_days_from_civil(y, 1, 1);
		json_double(
		    j, (double)(o->goal_books * c->year_days) / (double)len);
	} else {
		json_null(j);
	}
	json_key(j, "minutes_per_day");
	if (o->goal_minutes > 0)
		json_int(j, o->goal_minutes);
	else
		json_null(j);
	json_kv_int(j, "today_seconds", c->period_today.seconds);
	json_kv_int(j, "year_days", c->year_days);
	json_key(j, "days_met");
	if (o->goal_minutes > 0)
		json_int(j, c->goal_days_met);
	else
		json_null(j);
	json_obj_end(j);
}

void
statscalc_json_session(struct json_out *j, const struct statsdb *db,
    const struct statscalc_session *s)
{
	const struct statsdb_book *b = &db->books[s->book];

	json_obj_begin(j);
	json_kv_str(j, "md5", b->md5);
	json_kv_str(j, "title", b->title);
	json_kv_int(j, "start", s->start);
	json_kv_int(j, "end", s->end);
	json_kv_int(j, "seconds", s->seconds);
	json_kv_int(j, "turns", s->turns);
	json_obj_end(j);
}

void
statscalc_json_bookdays(struct json_out *j, const struct statsdb *db,
    const struct statscalc *c, size_t i)
{
	const struct statscalc_book *b = &c->books[i];
	int64_t pages = db->books[i].pages;
	size_t k;

	json_arr_begin(j);
	for (k = b->bookday0; k < b->bookday0 + (size_t)b->days; k++) {
		const struct statscalc_bookday *d = &c->bookdays[k];

		json_obj_begin(j);
		json_key(j, "date");
		json_date(j, d->day);
		json_kv_int(j, "seconds", d->seconds);
		json_kv_int(j, "pages", d->pages);
		json_kv_ratio(j, "page_seconds", d->seconds, d->pages);
		json_kv_int(j, "furthest", d->furthest);
		json_key(j, "left");
		if (pages > 0)
			json_int(
			    j, d->furthest < pages ? pages - d->furthest : 0);
		else
			json_null(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void
statscalc_json_file(struct json_out *j, const struct statsdb *db)
{
	json_obj_begin(j);
	json_kv_int(j, "user_version", db->user_version);
	json_kv_int(j, "book_rows", (int64_t)db->book_rows);
	json_kv_int(j, "books", (int64_t)db->nbooks);
	json_kv_int(j, "page_turn_rows", (int64_t)db->turn_rows);
	json_kv_int(j, "page_turns", (int64_t)db->nrows);
	json_key(j, "dropped");
	json_obj_begin(j);
	json_kv_int(j, "duplicates", (int64_t)db->duplicates);
	json_kv_int(j, "impossible_time", (int64_t)db->bad_time);
	json_kv_int(j, "bad_values", (int64_t)db->bad_rows);
	json_kv_int(j, "no_book", (int64_t)db->orphans);
	json_obj_end(j);
	json_kv_int(j, "clamped_durations", (int64_t)db->clamped);
	json_obj_end(j);
}

void
statscalc_json_overview(struct json_out *j, const struct statscalc *c)
{
	json_obj_begin(j);
	json_period(j, "today", &c->period_today);
	json_period(j, "week", &c->week);
	json_period(j, "month", &c->month);
	json_period(j, "year", &c->year);
	json_kv_int(j, "seconds", c->seconds);
	json_kv_int(j, "days_read", (int64_t)c->ndays);
	json_key(j, "streak");
	json_obj_begin(j);
	json_kv_int(j, "current", c->streak_current);
	json_kv_int(j, "longest", c->streak_longest);
	json_key(j, "longest_to");
	if (c->streak_longest)
		json_date(j, c->streak_longest_last);
	else
		json_null(j);
	json_obj_end(j);
	json_obj_end(j);
}

void
statscalc_json_day(struct json_out *j, const struct statscalc_day *d)
{
	json_obj_begin(j);
	json_key(j, "date");
	json_date(j, d->day);
	json_kv_int(j, "start", d->start);
	json_kv_int(j, "end", d->end);
	json_kv_int(j, "seconds", d->seconds);
	json_kv_int(j, "pages", d->pages);
	json_obj_end(j);
}

void
statscalc_json_settings(
    struct json_out *j, const struct statscalc_opts *o, const char *zone)
{
	char hm[16];

	json_obj_begin(j);
	json_kv_str(j, "tz", zone);
	snprintf(hm, sizeof(hm), "%02d:%02d", (int)(o->day_start / 3600),
	    (int)(o->day_start / 60 % 60));
	json_kv_str(j, "day_start", hm);
	json_kv_int(j, "now", o->now);
	json_kv_int(j, "max_sec", o->max_sec);
	json_kv_int(j, "session_gap", o->session_gap);
	json_kv_int(j, "streak_min", o->streak_min);
	json_obj_end(j);
}

void
statscalc_json(struct json_out *j, const struct statsdb *db,
    const struct statscalc *c, const struct statscalc_opts *o, const char *zone)
{
	size_t i;

	json_obj_begin(j);
	json_key(j, "file");
	statscalc_json_file(j, db);
	json_key(j, "settings");
	statscalc_json_settings(j, o, zone);
	json_key(j, "overview");
	statscalc_json_overview(j, c);
	json_key(j, "days");
	json_arr_begin(j);
	for (i = 0; i < c->ndays; i++)
		statscalc_json_day(j, &c->days[i]);
	json_arr_end(j);
	json_key(j, "books");
	json_arr_begin(j);
	for (i = 0; i < c->nbooks; i++)
		statscalc_json_book(j, db, c, i);
	json_arr_end(j);
	json_obj_end(j);
}

/* ---------------------------------------------------------------------
 * Vocabulary.
 */

/* Words and words due of one title, to sort by words. */
struct vocab_title {
	size_t title; /* index, or ntitles for none */
	int64_t words, due;
};

static int
vocab_title_cmp(const void *x, const void *y)
{
	const struct vocab_title *a = x, *b = y;

	if (a->words != b->words)
		return a->words > b->words ? -1 : 1;
	return a->title < b->title ? -1 : a->title > b->title;
}

void
statscalc_json_vocab(struct json_out *j, const struct statsdb_vocab *v,
    const struct statscalc_opts *o)
{
	struct vocab_title *t = xcalloc(v->ntitles + 1, sizeof(*t));
	int64_t *months = xcalloc(v->nwords ? v->nwords : 1, sizeof(*months));
	int64_t due = 0, reviewed = 0;
	size_t i, k;
	char name[32];

	for (i = 0; i <= v->ntitles; i++)
		t[i].title = i;
	for (i = 0; i < v->nwords; i++) {
		const struct statsdb_word *w = &v->words[i];
		size_t ti = w->title < v->ntitles ? w->title : v->ntitles;
		bool is_due = w->due_time > 0 && w->due_time <= o->now;

		t[ti].words++;
		t[ti].due += is_due;
		due += is_due;
		reviewed += w->review_count > 0;
		months[i] = span_of(statscalc_day_of(o, w->create_time), false);
	}
	qsort(t, v->ntitles + 1, sizeof(*t), vocab_title_cmp);
	qsort(months, v->nwords, sizeof(*months), int64_cmp);
	json_obj_begin(j);
	json_kv_int(j, "user_version", v->user_version);
	json_kv_int(j, "words", (int64_t)v->nwords);
	json_kv_int(j, "due", due);
	json_kv_int(j, "reviewed", reviewed);
	json_key(j, "books");
	json_arr_begin(j);
	for (i = 0; i <= v->ntitles && t[i].words > 0; i++) {
		json_obj_begin(j);
		json_kv_str(j, "title",
		    t[i].title < v->ntitles ? v->titles[t[i].title] : "");
		json_kv_int(j, "words", t[i].words);
		json_kv_int(j, "due", t[i].due);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "months");
	json_arr_begin(j);
	for (i = 0; i < v->nwords; i = k) {
		int64_t y = floor_div(months[i], 12);

		for (k = i; k < v->nwords && months[k] == months[i]; k++)
			;
		snprintf(name, sizeof(name), "%04lld-%02u", (long long)y,
		    (unsigned)(months[i] - y * 12) + 1);
		json_obj_begin(j);
		json_kv_str(j, "month", name);
		json_kv_int(j, "words", (int64_t)(k - i));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "dropped");
	json_obj_begin(j);
	json_kv_int(j, "bad_values", (int64_t)v->bad_rows);
	json_kv_int(j, "impossible_time", (int64_t)v->bad_time);
	json_obj_end(j);
	json_obj_end(j);
	free(t);
	free(months);
}

/* ---------------------------------------------------------------------
 * CSV.
 */

/* One text field, escaped (statscalc.h). */
static void
csv_text(struct buf *out, const char *s)
{
	bool formula = strchr("=+-@\t", s[0]) != NULL && s[0] != '\0';
	const char *p;

	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		buf_adds(out, s);
		return;
	}
	buf_addch(out, '"');
	if (formula)
		buf_addch(out, '\'');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			buf_addch(out, '"');
		buf_addch(out, *p);
	}
	buf_addch(out, '"');
}

void
statscalc_csv_days(
    struct buf *out, const struct statscalc *c, int64_t from, int64_t to)
{
	char date[32];
	size_t i;

	buf_adds(out, "date,start,end,seconds,pages\r\n");
	for (i = 0; i < c->ndays; i++) {
		const struct statscalc_day *d = &c->days[i];

		if (d->day < from || d->day > to)
			continue;
		statscalc_date(date, sizeof(date), d->day);
		buf_addf(out, "%s,%lld,%lld,%lld,%lld\r\n", date,
		    (long long)d->start, (long long)d->end,
		    (long long)d->seconds, (long long)d->pages);
	}
}

void
statscalc_csv_sessions(struct buf *out, const struct statscalc_opts *o,
    const struct statsdb *db, const struct statscalc *c)
{
	char date[32];
	size_t i;

	buf_adds(out, "date,start,end,seconds,turns,md5,title,authors\r\n");
	for (i = 0; i < c->nsessions; i++) {
		const struct statscalc_session *s = &c->sessions[i];
		const struct statsdb_book *b = &db->books[s->book];

		statscalc_date(
		    date, sizeof(date), statscalc_day_of(o, s->start));
		buf_addf(out, "%s,%lld,%lld,%lld,%lld,", date,
		    (long long)s->start, (long long)s->end,
		    (long long)s->seconds, (long long)s->turns);
		csv_text(out, b->md5);
		buf_addch(out, ',');
		csv_text(out, b->title);
		buf_addch(out, ',');
		csv_text(out, b->authors);
		buf_adds(out, "\r\n");
	}
}

int32_t
statscalc_parse_hhmm(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' ||
	    s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '5' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	if ((s[0] - '0') * 10 + (s[1] - '0') > 23)
		return -1;
	return ((s[0] - '0') * 10 + (s[1] - '0')) * 3600 +
	       ((s[3] - '0') * 10 + (s[4] - '0')) * 60;
}
