/*
 * test_metrics.c: route classification (base paths, /koreader, trailing
 * slashes, the document parameter, methods, nothing a client can grow),
 * counting (statuses, "other", latency buckets, NULL counters) and the
 * page (HELP/TYPE before samples, cumulative buckets ending in +Inf equal
 * to _count, the store's gauges, fsync histogram only when measured).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void
test_metrics__route_of(void **state)
{
	static const struct {
		enum http_method m;
		const char *path;
		enum metrics_route want;
	} t[] = {
	    {HTTP_M_POST, "/users/create", METRICS_R_CREATE},
	    {HTTP_M_GET, "/users/auth", METRICS_R_AUTH},
	    {HTTP_M_GET, "/users/auth/", METRICS_R_AUTH},
	    {HTTP_M_GET, "/koreader/users/auth", METRICS_R_AUTH},
	    {HTTP_M_GET, "/kosync/users/auth", METRICS_R_AUTH},
	    {HTTP_M_PUT, "/syncs/progress", METRICS_R_PUSH},
	    {HTTP_M_GET, "/syncs/progress/0123abcd", METRICS_R_PULL},
	    {HTTP_M_HEAD, "/sync/syncs/progress/0123abcd/", METRICS_R_PULL},
	    {HTTP_M_PUT, "/syncs/progress/0123abcd", METRICS_R_OTHER},
	    {HTTP_M_DELETE, "/users/me", METRICS_R_DELETE},
	    {HTTP_M_PUT, "/users/password", METRICS_R_PASSWORD},
	    {HTTP_M_GET, "/healthcheck", METRICS_R_HEALTH},
	    {HTTP_M_GET, "/", METRICS_R_OTHER},
	    {HTTP_M_GET, "", METRICS_R_OTHER},
	    {HTTP_M_GET, "/xusers/auth", METRICS_R_OTHER},
	    {HTTP_M_GET, "users/auth", METRICS_R_OTHER},
	    {HTTP_M_GET, "/syncs/progress/a/b", METRICS_R_OTHER},
	    {HTTP_M_GET, "/anything/else", METRICS_R_OTHER},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum metrics_route r =
		    metrics_route_of(t[i].m, str_from(t[i].path));

		if (r != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].path, (int)r,
			    (int)t[i].want);
	}
	assert_int_equal(
	    metrics_route_of(HTTP_M_GET, STR_NULL), METRICS_R_OTHER);
}

/*
 * What a router matched (the route on the normalised path) counts as
 * metrics_route_of counts the path as sent: the same route, merged
 * slashes and a document named like a suffix included.
 */
static void
test_metrics__route_matched(void **state)
{
	static const struct {
		enum http_method m;
		const char *path, *route;
		enum metrics_route r;
	} t[] = {
	    {HTTP_M_GET, "/users/auth", "/users/auth", METRICS_R_AUTH},
	    {HTTP_M_GET, "/users/auth//", "/users/auth", METRICS_R_AUTH},
	    {HTTP_M_GET, "//kosync//users/auth", "/users/auth", METRICS_R_AUTH},
	    {HTTP_M_GET, "/users//auth", "/users/auth", METRICS_R_AUTH},
	    {HTTP_M_GET, "//healthcheck", "/healthcheck", METRICS_R_HEALTH},
	    {HTTP_M_GET, "/koreader/syncs/progress/0123abcd",
	        "/syncs/progress/0123abcd", METRICS_R_PULL},
	    {HTTP_M_HEAD, "/syncs/progress/0123abcd/",
	        "/syncs/progress/0123abcd", METRICS_R_PULL},
	    {HTTP_M_GET, "/syncs//progress/0123abcd",
	        "/syncs/progress/0123abcd", METRICS_R_PULL},
	    {HTTP_M_GET, "/syncs/progress//0123abcd",
	        "/syncs/progress/0123abcd", METRICS_R_PULL},
	    {HTTP_M_GET, "/syncs/progress/healthcheck",
	        "/syncs/progress/healthcheck", METRICS_R_PULL},
	    {HTTP_M_PUT, "/syncs/progress", "/syncs/progress", METRICS_R_PUSH},
	    {HTTP_M_POST, "/users/create", "/users/create", METRICS_R_CREATE},
	    {HTTP_M_DELETE, "/users/me", "/users/me", METRICS_R_DELETE},
	    {HTTP_M_PUT, "/users/password", "/users/password",
	        METRICS_R_PASSWORD},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct str path = str_from(t[i].path);
		enum metrics_route r = metrics_route_matched(
		    t[i].r, t[i].m, path, str_from(t[i].route));
		enum metrics_route want = metrics_route_of(t[i].m, path);

		if (r != want)
			fail_msg("%s: got %d, want %d", t[i].path, (int)r,
			    (int)want);
	}
}

static void
gauges(void *arg, struct metrics_gauges *g)
{
	const struct metrics_gauges *want = arg;

	*g = *want;
}

/* The value of the sample line starting with prefix, or -1. */
static long long
sample(const char *page, const char *prefix)
{
	const char *p = page;
	size_t n = strlen(prefix);
	long long v;

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == page || p[-1] == '\n') && p[n] == ' ' &&
		    sscanf(p + n + 1, "%lld", &v) == 1)
			return v;
		p += n;
	}
	return -1;
}

static void
test_metrics__counting_and_page(void **state)
{
	struct metrics m;
	struct metrics_gauges g;
	struct buf out = BUF_INIT;
	const char *line, *nl;
	char name[128];
	bool typed;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.users = 3;
	g.documents = 7;
	g.journal_bytes = 1234;
	g.compactions = 2;
	metrics_init(&m, gauges, &g);
	metrics_request(&m, METRICS_R_PUSH, 200, 100000);     /* 0.1 ms */
	metrics_request(&m, METRICS_R_PUSH, 200, 3000000);    /* 3 ms */
	metrics_request(&m, METRICS_R_PUSH, 502, 9000000000); /* 9 s */
	metrics_request(&m, METRICS_R_AUTH, 401, 1000);
	metrics_request(&m, METRICS_R_OTHER, 299, 1000);
	metrics_request(&m, (enum metrics_route)99, 404, 1000);
	metrics_request(NULL, METRICS_R_AUTH, 200, 1);
	metrics_auth_failed(&m);
	metrics_auth_failed(NULL);
	metrics_render(&m, &out);

	assert_int_equal(sample(out.data, "kosyncd_http_requests_total{"
	                                  "route=\"syncs/progress\","
	                                  "status=\"200\"}"),
	    2);
	assert_int_equal(sample(out.data, "kosyncd_http_requests_total{"
	                                  "route=\"syncs/progress\","
	                                  "status=\"502\"}"),
	    1);
	assert_int_equal(sample(out.data, "kosyncd_http_requests_total{"
	                                  "route=\"other\",status=\"other\"}"),
	    1);
	assert_int_equal(sample(out.data, "kosyncd_http_requests_total{"
	                                  "route=\"other\",status=\"404\"}"),
	    1);
	/* Cumulative buckets: 0.1 ms, 3 ms, then 9 s only in +Inf. */
	assert_int_equal(
	    sample(out.data, "kosyncd_http_request_duration_seconds_bucket{"
	                     "route=\"syncs/progress\",le=\"0.0005\"}"),
	    1);
	assert_int_equal(
	    sample(out.data, "kosyncd_http_request_duration_seconds_bucket{"
	                     "route=\"syncs/progress\",le=\"0.005\"}"),
	    2);
	assert_int_equal(
	    sample(out.data, "kosyncd_http_request_duration_seconds_bucket{"
	                     "route=\"syncs/progress\",le=\"2.5\"}"),
	    2);
	assert_int_equal(
	    sample(out.data, "kosyncd_http_request_duration_seconds_bucket{"
	                     "route=\"syncs/progress\",le=\"+Inf\"}"),
	    3);
	assert_int_equal(
	    sample(out.data, "kosyncd_http_request_duration_seconds_count{"
	                     "route=\"syncs/progress\"}"),
	    3);
	assert_int_equal(sample(out.data, "kosyncd_auth_failures_total"), 1);
	assert_int_equal(sample(out.data, "kosyncd_users"), 3);
	assert_int_equal(sample(out.data, "kosyncd_documents"), 7);
	assert_int_equal(sample(out.data, "kosyncd_journal_bytes"), 1234);
	assert_int_equal(sample(out.data, "kosyncd_compactions_total"), 2);
	assert_null(strstr(out.data, "fsync"));
	/* Routes without traffic have no samples. */
	assert_null(strstr(out.data, "route=\"users/create\""));

	/* Every sample's family was introduced by HELP and TYPE. */
	for (line = out.data; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		if (line[0] == '#')
			continue;
		assert_true(sscanf(line, "%127[a-z_]", name) == 1);
		typed = false;
		for (;;) {
			char want[160];

			snprintf(want, sizeof(want), "# TYPE %s ", name);
			if (strstr(out.data, want) != NULL &&
			    strstr(out.data, want) < line) {
				typed = true;
				break;
			}
			/* name_bucket / _sum / _count: the histogram. */
			if (strrchr(name, '_') == NULL)
				break;
			*strrchr(name, '_') = '\0';
		}
		if (!typed)
			fail_msg("sample without TYPE: %.*s", (int)(nl - line),
			    line);
	}
	buf_release(&out);
}

static void
test_metrics__fsync_histogram(void **state)
{
	struct metrics m;
	struct metrics_gauges g;
	struct buf out = BUF_INIT;
	int i;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.fsync_known = true;
	g.fsyncs = 5;
	g.fsync_seconds = 0.0125;
	for (i = 0; i < METRICS_FSYNC_NBUCKETS; i++)
		g.fsync_bucket[i] = (uint64_t)(i < 3 ? i : 5);
	metrics_init(&m, gauges, &g);
	metrics_render(&m, &out);
	assert_int_equal(
	    sample(out.data, "kosyncd_journal_fsync_duration_seconds_bucket{"
	                     "le=\"+Inf\"}"),
	    5);
	assert_int_equal(
	    sample(out.data, "kosyncd_journal_fsync_duration_seconds_bucket{"
	                     "le=\"0.0005\"}"),
	    2);
	assert_int_equal(
	    sample(out.data, "kosyncd_journal_fsync_duration_seconds_count"),
	    5);
	assert_non_null(strstr(
	    out.data, "kosyncd_journal_fsync_duration_seconds_sum 0.0125\n"));
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics__route_of),
	    cmocka_unit_test(test_metrics__route_matched),
	    cmocka_unit_test(test_metrics__counting_and_page),
	    cmocka_unit_test(test_metrics__fsync_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
