/*
 * test_tzif.c: tzif.c against Python's zoneinfo (an independent reader of
 * the same tzdata files): offsets at random instants 2007-2100 and on each
 * side of every change of 2026 and 2095 (after Debian's last transition
 * in 2037, so from the footer's POSIX rule), in zones north and south,
 * with half-hour and 45-minute offsets, with DST abolished and with a
 * negative DST (Dublin); the footer rule forms on their own; refusals of
 * damaged files and of zone names that are paths; the calendar.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tzif.h"

/* Generated with Python's zoneinfo (tzdata 2025b, Debian 12). */
static const struct {
	const char *zone;
	int64_t t;
	int32_t offset;
} offsets[] = {
    {"Europe/Berlin", 1626434677, 7200},
    {"Europe/Berlin", 3812787941, 7200},
    {"Europe/Berlin", 3968108737, 7200},
    {"Europe/Berlin", 3431537966, 7200},
    {"Europe/Berlin", 2228188439, 7200},
    {"Europe/Berlin", 2332040625, 3600},
    {"Europe/Berlin", 2266157061, 7200},
    {"Europe/Berlin", 2417513798, 7200},
    {"Europe/Berlin", 1774745999, 3600},
    {"Europe/Berlin", 1774746000, 7200},
    {"Europe/Berlin", 1792889999, 7200},
    {"Europe/Berlin", 1792890000, 3600},
    {"Europe/Berlin", 3952025999, 3600},
    {"Europe/Berlin", 3952026000, 7200},
    {"Europe/Berlin", 3970774799, 7200},
    {"Europe/Berlin", 3970774800, 3600},
    {"America/New_York", 1479535356, -18000},
    {"America/New_York", 3995630898, -14400},
    {"America/New_York", 3099234813, -14400},
    {"America/New_York", 2468933042, -14400},
    {"America/New_York", 3171720138, -14400},
    {"America/New_York", 2871309922, -18000},
    {"America/New_York", 2859009039, -14400},
    {"America/New_York", 1676131882, -18000},
    {"America/New_York", 1772953199, -18000},
    {"America/New_York", 1772953200, -14400},
    {"America/New_York", 1793512799, -14400},
    {"America/New_York", 1793512800, -18000},
    {"America/New_York", 3950837999, -18000},
    {"America/New_York", 3950838000, -14400},
    {"America/New_York", 3971397599, -14400},
    {"America/New_York", 3971397600, -18000},
    {"Australia/Sydney", 2299404084, 39600},
    {"Australia/Sydney", 2126530262, 36000},
    {"Australia/Sydney", 2523350680, 39600},
    {"Australia/Sydney", 2705348224, 36000},
    {"Australia/Sydney", 2286029089, 36000},
    {"Australia/Sydney", 2716675931, 39600},
    {"Australia/Sydney", 3885157450, 39600},
    {"Australia/Sydney", 3880585479, 39600},
    {"Australia/Sydney", 1775318399, 39600},
    {"Australia/Sydney", 1775318400, 36000},
    {"Australia/Sydney", 1791043199, 36000},
    {"Australia/Sydney", 1791043200, 39600},
    {"Australia/Sydney", 3952598399, 39600},
    {"Australia/Sydney", 3952598400, 36000},
    {"Australia/Sydney", 3968323199, 36000},
    {"Australia/Sydney", 3968323200, 39600},
    {"Asia/Kolkata", 3384966813, 19800},
    {"Asia/Kolkata", 1810581503, 19800},
    {"Asia/Kolkata", 1859316172, 19800},
    {"Asia/Kolkata", 3535565385, 19800},
    {"Asia/Kolkata", 4025618537, 19800},
    {"Asia/Kolkata", 4019463831, 19800},
    {"Asia/Kolkata", 2350142996, 19800},
    {"Asia/Kolkata", 1876056952, 19800},
    {"America/Sao_Paulo", 1213159005, -10800},
    {"America/Sao_Paulo", 3966632458, -10800},
    {"America/Sao_Paulo", 1467985829, -10800},
    {"America/Sao_Paulo", 1696003740, -10800},
    {"America/Sao_Paulo", 3722361234, -10800},
    {"America/Sao_Paulo", 2615298025, -10800},
    {"America/Sao_Paulo", 1286955905, -10800},
    {"America/Sao_Paulo", 1524985264, -10800},
    {"Pacific/Chatham", 2344665381, 45900},
    {"Pacific/Chatham", 2045594084, 49500},
    {"Pacific/Chatham", 2807770774, 49500},
    {"Pacific/Chatham", 2901383938, 49500},
    {"Pacific/Chatham", 3672800922, 45900},
    {"Pacific/Chatham", 3051588617, 45900},
    {"Pacific/Chatham", 3776936310, 45900},
    {"Pacific/Chatham", 1573030365, 49500},
    {"Pacific/Chatham", 1775311199, 49500},
    {"Pacific/Chatham", 1775311200, 45900},
    {"Pacific/Chatham", 1790431199, 45900},
    {"Pacific/Chatham", 1790431200, 49500},
    {"Pacific/Chatham", 3952591199, 49500},
    {"Pacific/Chatham", 3952591200, 45900},
    {"Pacific/Chatham", 3967711199, 45900},
    {"Pacific/Chatham", 3967711200, 49500},
    {"Europe/Dublin", 3920096163, 0},
    {"Europe/Dublin", 1646633560, 0},
    {"Europe/Dublin", 3653452653, 3600},
    {"Europe/Dublin", 3697706841, 0},
    {"Europe/Dublin", 3905295234, 3600},
    {"Europe/Dublin", 3889456536, 3600},
    {"Europe/Dublin", 2732084241, 3600},
    {"Europe/Dublin", 1945849222, 3600},
    {"Europe/Dublin", 1774745999, 0},
    {"Europe/Dublin", 1774746000, 3600},
    {"Europe/Dublin", 1792889999, 3600},
    {"Europe/Dublin", 1792890000, 0},
    {"Europe/Dublin", 3952025999, 0},
    {"Europe/Dublin", 3952026000, 3600},
    {"Europe/Dublin", 3970774799, 3600},
    {"Europe/Dublin", 3970774800, 0},
    {"America/St_Johns", 1574224866, -12600},
    {"America/St_Johns", 3257660012, -9000},
    {"America/St_Johns", 3374284149, -12600},
    {"America/St_Johns", 4054900484, -9000},
    {"America/St_Johns", 2000140515, -9000},
    {"America/St_Johns", 2330818947, -12600},
    {"America/St_Johns", 3111515698, -9000},
    {"America/St_Johns", 3848172373, -12600},
    {"America/St_Johns", 1772947799, -12600},
    {"America/St_Johns", 1772947800, -9000},
    {"America/St_Johns", 1793507399, -9000},
    {"America/St_Johns", 1793507400, -12600},
    {"America/St_Johns", 3950832599, -12600},
    {"America/St_Johns", 3950832600, -9000},
    {"America/St_Johns", 3971392199, -9000},
    {"America/St_Johns", 3971392200, -12600},
    {"UTC", 2104719490, 0},
    {"UTC", 3249547078, 0},
    {"UTC", 2375892516, 0},
    {"UTC", 3317155373, 0},
    {"UTC", 2261195784, 0},
    {"UTC", 1607534631, 0},
    {"UTC", 1688093649, 0},
    {"UTC", 1552160527, 0},
};

static void
test_tzif__offsets_match_zoneinfo(void **state)
{
	struct buf err = BUF_INIT;
	struct tz *tz = NULL;
	const char *zone = "";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		if (strcmp(zone, offsets[i].zone) != 0) {
			tz_free(tz);
			zone = offsets[i].zone;
			tz = tz_load(zone, &err);
			assert_non_null(tz);
		}
		if (tz_offset(tz, offsets[i].t) != offsets[i].offset)
			fail_msg("%s at %lld: %d, want %d", zone,
			    (long long)offsets[i].t,
			    tz_offset(tz, offsets[i].t), offsets[i].offset);
	}
	tz_free(tz);
	buf_release(&err);
}

/* A version 2 TZif file with no transitions and the given footer. */
static size_t
footer_only(unsigned char *out, const char *rule)
{
	static const unsigned char header[44] = {
	    'T', 'Z', 'i', 'f', '2', [39] = 1, [43] = 4};
	size_t n = 0;

	/* v1 block: one type (offset 0, std, abbreviation 0), "UTC\0". */
	memcpy(out, header, 44);
	n = 44;
	memset(out + n, 0, 6);
	n += 6;
	memcpy(out + n, "UTC", 4);
	n += 4;
	memcpy(out + n, header, 44);
	n += 44;
	memset(out + n, 0, 6);
	n += 6;
	memcpy(out + n, "UTC", 4);
	n += 4;
	out[n++] = '\n';
	memcpy(out + n, rule, strlen(rule));
	n += strlen(rule);
	out[n++] = '\n';
	return n;
}

static void
test_tzif__footer_rules(void **state)
{
	static const struct {
		const char *rule;
		int64_t t;
		int32_t offset;
	} cases[] = {
	    /* No DST; a quoted numeric name. */
	    {"<+0530>-5:30", 1774814400, 19800},
	    {"IST-5:30", 1774814400, 19800},
	    /* US rule given, and the POSIX default when dates are missing. */
	    {"EST5EDT,M3.2.0,M11.1.0", 1772953199, -18000},
	    {"EST5EDT,M3.2.0,M11.1.0", 1772953200, -14400},
	    {"EST5EDT", 1772953200, -14400},
	    {"EST5EDT", 1793512800, -18000},
	    /* Julian days: J60 is always March 1; 59 is March 1 in 2028. */
	    {"AAA0BBB,J60/0,J300/0", 1772323200, 3600}, /* 2026-03-01 */
	    {"AAA0BBB,J60/0,J300/0", 1772323199, 0},
	    {"AAA0BBB,59/0,300/0", 1835395200, 3600}, /* 2028-03-01 */
	    {"AAA0BBB,59/0,300/0", 1835395199, 0},
	    /* Southern: DST from October to April, across the new year. */
	    {"AEST-10AEDT,M10.1.0,M4.1.0/3", 1798761600,
	        39600}, /* 2027-01-01 */
	    {"AEST-10AEDT,M10.1.0,M4.1.0/3", 1783036800,
	        36000}, /* 2026-07-03 */
	    /* DST all year (tzcode's idiom) and a negative rule time. */
	    {"EST5EDT,0/0,J365/25", 1783036800, -14400},
	    {"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 1783036800, -7200},
	};
	unsigned char file[512];
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = footer_only(file, cases[i].rule);
		struct tz *tz = tz_parse(file, n, &err);

		if (!tz)
			fail_msg("'%s' refused: %s", cases[i].rule, err.data);
		if (tz_offset(tz, cases[i].t) != cases[i].offset)
			fail_msg("'%s' at %lld: %d, want %d", cases[i].rule,
			    (long long)cases[i].t, tz_offset(tz, cases[i].t),
			    cases[i].offset);
		tz_free(tz);
	}
	buf_release(&err);
}

static void
test_tzif__refusals(void **state)
{
	static const char *const bad_rules[] = {"AB-1", "CET", "CET-1CEST,M3",
	    "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
	    "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J10", "CET-1CEST,366,3",
	    "CET-25", "CET-1CEST,M3.5.0/168,M10.5.0", "<A>1", "CET-1 ",
	    "CET-1CEST,M3.5.0,M10.5.0,"};
	unsigned char file[512], copy[512];
	struct buf err = BUF_INIT;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		n = footer_only(file, bad_rules[i]);
		if (tz_parse(file, n, &err) != NULL)
			fail_msg("rule '%s' accepted", bad_rules[i]);
		assert_true(err.len > 0);
		buf_reset(&err);
	}
	/* Every truncation of a good file is refused, never read past. */
	n = footer_only(file, "CET-1CEST,M3.5.0,M10.5.0/3");
	for (i = 0; i < n; i++) {
		memcpy(copy, file, i);
		assert_null(tz_parse(copy, i, &err));
		buf_reset(&err);
	}
	/* Bad magic, version, counts. */
	memcpy(copy, file, n);
	copy[0] = 'X';
	assert_null(tz_parse(copy, n, &err));
	memcpy(copy, file, n);
	copy[4] = '9';
	assert_null(tz_parse(copy, n, &err));
	memcpy(copy, file, n);
	copy[32] = 0x7f; /* timecnt */
	assert_null(tz_parse(copy, n, &err));
	memcpy(copy, file, n);
	copy[39] = 0; /* no types */
	assert_null(tz_parse(copy, n, &err));
	buf_release(&err);
}

static void
test_tzif__names(void **state)
{
	static const char *const bad[] = {"", "/etc/passwd", "../etc/passwd",
	    "Europe/../../etc/passwd", "Europe//Berlin", "Europe/", ".",
	    "Europe/Berlin\n", "Europe Berlin", "right/..",
	    "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "a",
	    "Europe", "Nowhere/Atlantis"};
	struct buf err = BUF_INIT;
	struct tz *tz;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tz = tz_load(bad[i], &err);
		if (tz)
			fail_msg("'%s' loaded", bad[i]);
		assert_true(err.len > 0);
		buf_reset(&err);
	}
	tz = tz_load("Etc/GMT+5", &err);
	assert_non_null(tz);
	assert_int_equal(tz_offset(tz, 1774814400), -18000);
	tz_free(tz);
	tz = tz_utc();
	assert_int_equal(tz_offset(tz, 1774814400), 0);
	tz_free(tz);
	buf_release(&err);
}

static void
test_tzif__calendar(void **state)
{
	int64_t day, y;
	unsigned m, d;

	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2026, 3, 29), 20541);
	assert_int_equal(tz_days_from_civil(2000, 2, 29), 11016);
	assert_int_equal(tz_weekday(20541), 0); /* a Sunday */
	assert_int_equal(tz_weekday(-1), 3);    /* 1969-12-31, a Wednesday */
	for (day = -800000; day <= 800000; day += 97) {
		tz_civil_from_days(day, &y, &m, &d);
		assert_int_equal(tz_days_from_civil(y, m, d), day);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tzif__offsets_match_zoneinfo),
	    cmocka_unit_test(test_tzif__footer_rules),
	    cmocka_unit_test(test_tzif__refusals),
	    cmocka_unit_test(test_tzif__names),
	    cmocka_unit_test(test_tzif__calendar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
