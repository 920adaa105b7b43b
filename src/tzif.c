/*
 * tzif.c: a bounded reader of TZif files and of the POSIX TZ rule in
 * their footer (tzif.h says why it exists).
 *
 * Invariants of a struct tz once tz_parse() returned it: 1 <= ntypes <=
 * TZ_MAX_TYPES; times[] strictly increasing; every idx[i] < ntypes; every
 * offset within +-25 hours; when has_rule, the rule's dates are in range
 * (month 1..12, week 1..5, weekday 0..6, Julian day 1..365 or 0..365) and
 * its times within +-167 hours (RFC 8536's extension of POSIX).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tzif.h"
#include "xmalloc.h"

#define MAX_UTOFF (25 * 3600)
#define MAX_RULE_TIME (167 * 3600)

/* A date of a POSIX rule: Jn, n or Mm.w.d, and the time of day. */
struct rule_date {
	char kind; /* 'J', 'n' or 'M' */
	int n;     /* J: 1..365, n: 0..365 */
	int m, w, d;
	int32_t secs; /* local time of day of the change */
};

struct tz {
	int64_t *times;
	uint8_t *idx;
	int32_t *utoff; /* per type */
	size_t ntimes;
	size_t ntypes;
	bool has_rule;     /* a footer rule for times after the last */
	int32_t std_utoff; /* footer: standard time, seconds east */
	int32_t dst_utoff; /* footer: daylight time (when has_dst) */
	bool has_dst;
	struct rule_date start, end;
};

void
tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->times);
	free(tz->idx);
	free(tz->utoff);
	free(tz);
}

struct tz *
tz_utc(void)
{
	struct tz *tz = xcalloc(1, sizeof(*tz));

	tz->utoff = xcalloc(1, sizeof(*tz->utoff));
	tz->ntypes = 1;
	return tz;
}

/* ---------------------------------------------------------------------
 * The calendar (H. Hinnant's well-known day-count formulas, our code).
 */

int64_t
tz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

unsigned
tz_weekday(int64_t days)
{
	int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */

	return (unsigned)(w < 0 ? w + 7 : w);
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, int m)
{
	static const unsigned char days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* The day number of a rule's date in year y. */
static int64_t
rule_day(const struct rule_date *r, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1), first;
	int day;

	switch (r->kind) {
	case 'J': /* 1..365, February 29 never counted */
		return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	case 'n':
		return jan1 + r->n;
	default:
		first = tz_days_from_civil(y, (unsigned)r->m, 1);
		day = 1 + (r->d - (int)tz_weekday(first) + 7) % 7 +
		      (r->w - 1) * 7;
		while (day > (int)month_days(y, r->m))
			day -= 7;
		return first + day - 1;
	}
}

/* ---------------------------------------------------------------------
 * The POSIX TZ rule of the footer, e.g. "CET-1CEST,M3.5.0,M10.5.0/3".
 */

/* Skip a zone abbreviation: 3+ letters, or <...> of [+-A-Za-z0-9]. */
static bool
parse_name(const char **sp)
{
	const char *s = *sp;
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s && *s != '>'; s++, n++)
			if (!((*s >= 'A' && *s <= 'Z') ||
			        (*s >= 'a' && *s <= 'z') ||
			        (*s >= '0' && *s <= '9') || *s == '+' ||
			        *s == '-'))
				return false;
		if (*s != '>' || n < 3)
			return false;
		*sp = s + 1;
		return true;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++, n++;
	*sp = s;
	return n >= 3;
}

/* A decimal number of 1..3 digits up to max. */
static bool
parse_num(const char **sp, int max, int *v)
{
	const char *s = *sp;
	int n = 0, digits = 0;

	while (*s >= '0' && *s <= '9' && digits < 3)
		n = n * 10 + (*s++ - '0'), digits++;
	if (!digits || n > max)
		return false;
	*v = n;
	*sp = s;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh up to max_h, in seconds. */
static bool
parse_hms(const char **sp, int max_h, int32_t *secs)
{
	const char *s = *sp;
	int sign = 1, h, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!parse_num(&s, max_h, &h))
		return false;
	if (*s == ':') {
		s++;
		if (!parse_num(&s, 59, &m))
			return false;
		if (*s == ':') {
			s++;
			if (!parse_num(&s, 59, &sec))
				return false;
		}
	}
	*secs = sign * (h * 3600 + m * 60 + sec);
	*sp = s;
	return true;
}

/* ",date[/time]" of a rule. */
static bool
parse_rule_date(const char **sp, struct rule_date *r)
{
	const char *s = *sp;

	if (*s++ != ',')
		return false;
	memset(r, 0, sizeof(*r));
	r->secs = 2 * 3600;
	if (*s == 'J') {
		s++;
		r->kind = 'J';
		if (!parse_num(&s, 365, &r->n) || r->n < 1)
			return false;
	} else if (*s == 'M') {
		s++;
		r->kind = 'M';
		if (!parse_num(&s, 12, &r->m) || r->m < 1 || *s++ != '.' ||
		    !parse_num(&s, 5, &r->w) || r->w < 1 || *s++ != '.' ||
		    !parse_num(&s, 6, &r->d))
			return false;
	} else {
		r->kind = 'n';
		if (!parse_num(&s, 365, &r->n))
			return false;
	}
	if (*s == '/') {
		s++;
		if (!parse_hms(&s, 167, &r->secs))
			return false;
	}
	*sp = s;
	return true;
}

/* Parse the footer's rule (NUL-terminated) into tz. */
static bool
parse_rule(struct tz *tz, const char *s)
{
	int32_t off;

	if (!*s)
		return true; /* no rule: the last type stays in force */
	if (!parse_name(&s) || !parse_hms(&s, 24, &off))
		return false;
	tz->std_utoff = -off;
	tz->has_rule = true;
	if (!*s)
		return true;
	if (!parse_name(&s))
		return false;
	tz->has_dst = true;
	tz->dst_utoff = tz->std_utoff + 3600;
	if (*s && *s != ',') {
		if (!parse_hms(&s, 24, &off))
			return false;
		tz->dst_utoff = -off;
	}
	if (!*s) {
		/* No dates: the United States' rule, as glibc assumes. */
		tz->start = (struct rule_date){'M', 0, 3, 2, 0, 2 * 3600};
		tz->end = (struct rule_date){'M', 0, 11, 1, 0, 2 * 3600};
		return true;
	}
	return parse_rule_date(&s, &tz->start) &&
	       parse_rule_date(&s, &tz->end) && !*s;
}

/* The offset the footer rule gives at t. */
static int32_t
rule_offset(const struct tz *tz, int64_t t)
{
	int64_t y, start, end;
	unsigned m, d;

	if (!tz->has_dst)
		return tz->std_utoff;
	/* Beyond +-34,000 years every year is alike; keep the sums in range. */
	if (t > ((int64_t)1 << 40))
		t = (int64_t)1 << 40;
	if (t < -((int64_t)1 << 40))
		t = -((int64_t)1 << 40);
	tz_civil_from_days(
	    (t + tz->std_utoff) / 86400 - ((t + tz->std_utoff) % 86400 < 0), &y,
	    &m, &d);
	start =
	    rule_day(&tz->start, y) * 86400 + tz->start.secs - tz->std_utoff;
	end = rule_day(&tz->end, y) * 86400 + tz->end.secs - tz->dst_utoff;
	if (start < end)
		return t >= start && t < end ? tz->dst_utoff : tz->std_utoff;
	return t >= end && t < start ? tz->std_utoff : tz->dst_utoff;
}

/* ---------------------------------------------------------------------
 * The TZif file.
 */

struct cursor {
	const unsigned char *p;
	size_t left;
};

static bool
take(struct cursor *c, size_t n, const unsigned char **out)
{
	if (c->left < n)
		return false;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct header {
	int version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool
parse_header(struct cursor *c, struct header *h, struct buf *err)
{
	const unsigned char *p;

	if (!take(c, 44, &p) || memcmp(p, "TZif", 4) != 0) {
		buf_adds(err, "not a TZif file");
		return false;
	}
	h->version = p[4] ? p[4] - '0' : 1;
	if (h->version < 1 || h->version > 4) {
		buf_adds(err, "unknown TZif version");
		return false;
	}
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt < 1 || h->typecnt > TZ_MAX_TYPES ||
	    h->timecnt > TZ_MAX_TIMES || h->charcnt > TZ_MAX_CHARS ||
	    h->leapcnt > TZ_MAX_LEAPS ||
	    (h->isutcnt && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt && h->isstdcnt != h->typecnt)) {
		buf_adds(err, "TZif counts out of range");
		return false;
	}
	return true;
}

/* Read one data block (tsize 4 or 8 bytes a time) into a new zone. */
static struct tz *
parse_block(
    struct cursor *c, const struct header *h, size_t tsize, struct buf *err)
{
	const unsigned char *times, *idx, *types, *rest;
	struct tz *tz;
	size_t i;

	if (!take(c, h->timecnt * tsize, &times) ||
	    !take(c, h->timecnt, &idx) ||
	    !take(c, (size_t)h->typecnt * 6, &types) ||
	    !take(c,
	        h->charcnt + h->leapcnt * (tsize + 4) + h->isstdcnt +
	            h->isutcnt,
	        &rest)) {
		buf_adds(err, "TZif file truncated");
		return NULL;
	}
	tz = xcalloc(1, sizeof(*tz));
	tz->ntimes = h->timecnt;
	tz->ntypes = h->typecnt;
	tz->times = xcalloc(h->timecnt ? h->timecnt : 1, sizeof(*tz->times));
	tz->idx = xcalloc(h->timecnt ? h->timecnt : 1, 1);
	tz->utoff = xcalloc(h->typecnt, sizeof(*tz->utoff));
	for (i = 0; i < h->timecnt; i++) {
		tz->times[i] = tsize == 8 ? be64(times + 8 * i)
		                          : (int32_t)be32(times + 4 * i);
		tz->idx[i] = idx[i];
		if (idx[i] >= h->typecnt ||
		    (i > 0 && tz->times[i] <= tz->times[i - 1])) {
			buf_adds(err, "TZif transitions out of order");
			tz_free(tz);
			return NULL;
		}
	}
	for (i = 0; i < h->typecnt; i++) {
		int32_t off = (int32_t)be32(types + 6 * i);

		if (off < -MAX_UTOFF || off > MAX_UTOFF ||
		    types[6 * i + 4] > 1 ||
		    types[6 * i + 5] >= (h->charcnt ? h->charcnt : 1)) {
			buf_adds(err, "TZif local time type out of range");
			tz_free(tz);
			return NULL;
		}
		tz->utoff[i] = off;
	}
	return tz;
}

struct tz *
tz_parse(const void *data, size_t len, struct buf *err)
{
	struct cursor c = {data, len};
	struct header h;
	struct tz *tz;
	const unsigned char *p;
	char rule[128];
	size_t n;

	if (!parse_header(&c, &h, err))
		return NULL;
	if (h.version == 1)
		return parse_block(&c, &h, 4, err);
	/* Skip the 32-bit block: version 2+ repeats it with 64-bit times. */
	if (!take(&c,
	        h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 +
	            h.isstdcnt + h.isutcnt,
	        &p)) {
		buf_adds(err, "TZif file truncated");
		return NULL;
	}
	if (!parse_header(&c, &h, err))
		return NULL;
	tz = parse_block(&c, &h, 8, err);
	if (!tz)
		return NULL;
	/* The footer: "\n" rule "\n". */
	if (!take(&c, 1, &p) || *p != '\n') {
		buf_adds(err, "TZif footer missing");
		goto fail;
	}
	for (n = 0; n < c.left && c.p[n] != '\n'; n++)
		;
	if (n == c.left || n >= sizeof(rule) || memchr(c.p, 0, n)) {
		buf_adds(err, "TZif footer malformed");
		goto fail;
	}
	memcpy(rule, c.p, n);
	rule[n] = 0;
	if (!parse_rule(tz, rule)) {
		buf_adds(err, "TZif footer rule not understood");
		goto fail;
	}
	return tz;
fail:
	tz_free(tz);
	return NULL;
}

int32_t
tz_offset(const struct tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntimes;

	if (tz->ntimes == 0 || t < tz->times[0]) {
		if (tz->ntimes == 0 && tz->has_rule)
			return rule_offset(tz, t);
		return tz->utoff[0];
	}
	if (t >= tz->times[tz->ntimes - 1]) {
		if (tz->has_rule)
			return rule_offset(tz, t);
		return tz->utoff[tz->idx[tz->ntimes - 1]];
	}
	/* The last transition at or before t. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->utoff[tz->idx[lo]];
}

/* Whether name is a safe zone name (tzif.h: tz_load). */
static bool
name_ok(const char *name)
{
	size_t len = strlen(name), i, seg = 0;

	if (len == 0 || len > TZ_MAX_NAME)
		return false;
	for (i = 0; i <= len; i++) {
		char ch = name[i];

		if (ch == '/' || ch == 0) {
			if (seg == 0 || (seg == 1 && name[i - 1] == '.') ||
			    (seg == 2 && name[i - 1] == '.' &&
			        name[i - 2] == '.'))
				return false;
			seg = 0;
			continue;
		}
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		        (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		        ch == '+' || ch == '.'))
			return false;
		seg++;
	}
	return true;
}

struct tz *
tz_load(const char *name, struct buf *err)
{
	struct buf path = BUF_INIT;
	unsigned char *data = NULL;
	struct tz *tz = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd = -1;

	if (!name_ok(name)) {
		buf_adds(err, "not a time zone name");
		return NULL;
	}
	buf_addf(&path, "%s/%s", TZ_DIR, name);
	fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_addf(err, "unknown time zone '%s'", name);
		goto out;
	}
	if ((uint64_t)st.st_size > TZ_MAX_FILE) {
		buf_addf(err, "time zone file of '%s' too large", name);
		goto out;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	tz = tz_parse(data, got, err);
out:
	if (fd >= 0)
		close(fd);
	free(data);
	buf_release(&path);
	return tz;
}
