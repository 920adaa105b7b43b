/*
 * metrics.c: request counters and the /metrics page (see metrics.h).
 *
 * The page is built from scratch on each scrape; a few kilobytes, so
 * nothing is cached. Metric names follow Prometheus' conventions: a
 * kosyncd_ prefix, _total for counters, base units (seconds, bytes).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

#ifndef KOSYNCD_VERSION
#define KOSYNCD_VERSION "unknown"
#endif

static const int status_codes[METRICS_NSTATUS - 1] = {200, 201, 204, 400, 401,
    402, 403, 404, 405, 408, 412, 413, 431, 500, 502, 503, 505};

/* Upper bounds of the latency buckets, in nanoseconds and as printed. */
static const uint64_t bucket_ns[METRICS_NBUCKETS] = {500000, 1000000, 2500000,
    5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000,
    1000000000, 2500000000u};
static const char *const bucket_le[METRICS_NBUCKETS] = {"0.0005", "0.001",
    "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
    "2.5"};

const double metrics_fsync_bounds[METRICS_FSYNC_NBUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1};

static const char *const route_names[METRICS_NROUTES] = {
    [METRICS_R_CREATE] = "users/create",
    [METRICS_R_AUTH] = "users/auth",
    [METRICS_R_PUSH] = "syncs/progress",
    [METRICS_R_PULL] = "syncs/progress/:document",
    [METRICS_R_DELETE] = "users/me",
    [METRICS_R_PASSWORD] = "users/password",
    [METRICS_R_HEALTH] = "healthcheck",
    [METRICS_R_OTHER] = "other",
};

void
metrics_init(struct metrics *m, metrics_gauges_fn *gauges, void *gauges_arg)
{
	memset(m, 0, sizeof(*m));
	m->start_time = (uint64_t)time(NULL);
	m->gauges = gauges;
	m->gauges_arg = gauges_arg;
}

/* Whether path (trailing slashes removed) ends in "/" suffix. */
static bool
ends_withn(struct str path, const char *suffix, size_t n)
{
	return path.len >= n + 1 && path.p[path.len - 1] == suffix[n - 1] &&
	       memcmp(path.p + path.len - n, suffix, n) == 0 &&
	       path.p[path.len - n - 1] == '/';
}

/* suffix a string literal: its length known, and its last byte compared
 * before any call. */
#define METRICS_ENDS_WITH(path, suffix)                                        \
	ends_withn(path, suffix, sizeof(suffix) - 1)

enum metrics_route
metrics_route_of(enum http_method method, struct str path)
{
	const char *slash;
	struct str dir;

	if (path.p == NULL)
		return METRICS_R_OTHER;
	while (path.len > 1 && path.p[path.len - 1] == '/')
		path.len--;
	if (METRICS_ENDS_WITH(path, "users/create"))
		return METRICS_R_CREATE;
	if (METRICS_ENDS_WITH(path, "users/auth"))
		return METRICS_R_AUTH;
	if (METRICS_ENDS_WITH(path, "users/me"))
		return METRICS_R_DELETE;
	if (METRICS_ENDS_WITH(path, "users/password"))
		return METRICS_R_PASSWORD;
	if (METRICS_ENDS_WITH(path, "healthcheck"))
		return METRICS_R_HEALTH;
	if (METRICS_ENDS_WITH(path, "syncs/progress"))
		return METRICS_R_PUSH;
	/* .../syncs/progress/<document> */
	slash = NULL;
	for (dir = path; dir.len > 0; dir.len--) {
		if (dir.p[dir.len - 1] == '/') {
			slash = dir.p + dir.len - 1;
			break;
		}
	}
	if (slash != NULL && slash != path.p + path.len - 1) {
		dir.len = (size_t)(slash - path.p);
		if (METRICS_ENDS_WITH(dir, "syncs/progress"))
			return method == HTTP_M_GET || method == HTTP_M_HEAD
			           ? METRICS_R_PULL
			           : METRICS_R_OTHER;
	}
	return METRICS_R_OTHER;
}

enum metrics_route
metrics_route_matched(enum metrics_route r, enum http_method method,
    struct str path, struct str route)
{
	struct str p = path;

	while (p.len > 1 && p.p[p.len - 1] == '/')
		p.len--;
	if (p.p == NULL || route.len == 0 || p.len < route.len ||
	    memcmp(p.p + p.len - route.len, route.p, route.len) != 0 ||
	    (r == METRICS_R_PULL && METRICS_ENDS_WITH(route, "healthcheck")))
		return metrics_route_of(method, path);
	return r;
}

static int
status_index(int status)
{
	int i;

	for (i = 0; i < METRICS_NSTATUS - 1; i++)
		if (status_codes[i] == status)
			return i;
	return METRICS_NSTATUS - 1;
}

void
metrics_request(
    struct metrics *m, enum metrics_route route, int status, uint64_t ns)
{
	int b;

	if (m == NULL)
		return;
	if ((unsigned)route >= METRICS_NROUTES)
		route = METRICS_R_OTHER;
	m->requests[route][status_index(status)]++;
	for (b = 0; b < METRICS_NBUCKETS && ns > bucket_ns[b]; b++)
		;
	if (b < METRICS_NBUCKETS)
		m->latency[route][b]++;
	m->latency_count[route]++;
	m->latency_ns[route] += ns;
}

void
metrics_auth_failed(struct metrics *m)
{
	if (m != NULL)
		m->auth_failed++;
}

/* "# HELP name help\n# TYPE name type\n" */
static void
head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
add_seconds(struct buf *out, double s)
{
	buf_addf(out, "%.9g", s);
}

void
metrics_render(const struct metrics *m, struct buf *out)
{
	struct metrics_gauges g;
	uint64_t cum;
	int r, s, b;

	memset(&g, 0, sizeof(g));
	if (m->gauges != NULL)
		m->gauges(m->gauges_arg, &g);

	head(out, "kosyncd_build_info", "gauge",
	    "Version of the running kosyncd (always 1).");
	buf_addf(
	    out, "kosyncd_build_info{version=\"%s\"} 1\n", KOSYNCD_VERSION);
	head(out, "kosyncd_start_time_seconds", "gauge",
	    "Unix time the server started.");
	buf_addf(out, "kosyncd_start_time_seconds %llu\n",
	    (unsigned long long)m->start_time);

	head(out, "kosyncd_http_requests_total", "counter",
	    "HTTP requests answered, by route and status.");
	for (r = 0; r < METRICS_NROUTES; r++) {
		for (s = 0; s < METRICS_NSTATUS; s++) {
			if (m->requests[r][s] == 0)
				continue;
			buf_addf(out,
			    "kosyncd_http_requests_total{route=\"%s\","
			    "status=\"",
			    route_names[r]);
			if (s < METRICS_NSTATUS - 1)
				buf_addf(out, "%d", status_codes[s]);
			else
				buf_adds(out, "other");
			buf_addf(out, "\"} %llu\n",
			    (unsigned long long)m->requests[r][s]);
		}
	}

	head(out, "kosyncd_http_request_duration_seconds", "histogram",
	    "Time from a request's first byte to its answer, by route.");
	for (r = 0; r < METRICS_NROUTES; r++) {
		if (m->latency_count[r] == 0)
			continue;
		cum = 0;
		for (b = 0; b < METRICS_NBUCKETS; b++) {
			cum += m->latency[r][b];
			buf_addf(out,
			    "kosyncd_http_request_duration_seconds_bucket{"
			    "route=\"%s\",le=\"%s\"} %llu\n",
			    route_names[r], bucket_le[b],
			    (unsigned long long)cum);
		}
		buf_addf(out,
		    "kosyncd_http_request_duration_seconds_bucket{route=\"%s\","
		    "le=\"+Inf\"} %llu\n",
		    route_names[r], (unsigned long long)m->latency_count[r]);
		buf_addf(out,
		    "kosyncd_http_request_duration_seconds_sum{route=\"%s\"} ",
		    route_names[r]);
		add_seconds(out, (double)m->latency_ns[r] / 1e9);
		buf_addf(out,
		    "\nkosyncd_http_request_duration_seconds_count{route=\"%"
		    "s\"}"
		    " %llu\n",
		    route_names[r], (unsigned long long)m->latency_count[r]);
	}

	head(out, "kosyncd_auth_failures_total", "counter",
	    "Requests refused with 401 (unknown user, wrong key, rate limit).");
	buf_addf(out, "kosyncd_auth_failures_total %llu\n",
	    (unsigned long long)m->auth_failed);

	head(out, "kosyncd_users", "gauge", "Registered users.");
	buf_addf(out, "kosyncd_users %llu\n", (unsigned long long)g.users);
	head(out, "kosyncd_documents", "gauge",
	    "Documents with a stored position, over all users.");
	buf_addf(
	    out, "kosyncd_documents %llu\n", (unsigned long long)g.documents);
	head(out, "kosyncd_journal_bytes", "gauge",
	    "Size of the current journal file (file storage).");
	buf_addf(out, "kosyncd_journal_bytes %llu\n",
	    (unsigned long long)g.journal_bytes);
	head(out, "kosyncd_compactions_total", "counter",
	    "Snapshots written by background compaction.");
	buf_addf(out, "kosyncd_compactions_total %llu\n",
	    (unsigned long long)g.compactions);
	head(out, "kosyncd_compaction_failures_total", "counter",
	    "Background compactions that failed (retried later).");
	buf_addf(out, "kosyncd_compaction_failures_total %llu\n",
	    (unsigned long long)g.compactions_failed);
	if (g.fsync_known) {
		head(out, "kosyncd_journal_fsync_duration_seconds", "histogram",
		    "Time each fdatasync of the journal took.");
		for (b = 0; b < METRICS_FSYNC_NBUCKETS; b++) {
			buf_adds(out, "kosyncd_journal_fsync_duration_seconds_"
			              "bucket{le=\"");
			add_seconds(out, metrics_fsync_bounds[b]);
			buf_addf(out, "\"} %llu\n",
			    (unsigned long long)g.fsync_bucket[b]);
		}
		buf_addf(out,
		    "kosyncd_journal_fsync_duration_seconds_bucket{le=\"+Inf\"}"
		    " %llu\n",
		    (unsigned long long)g.fsyncs);
		buf_adds(out, "kosyncd_journal_fsync_duration_seconds_sum ");
		add_seconds(out, g.fsync_seconds);
		buf_addf(out,
		    "\nkosyncd_journal_fsync_duration_seconds_count %llu\n",
		    (unsigned long long)g.fsyncs);
	}
	if (g.redis_known) {
		head(out, "kosyncd_redis_up", "gauge",
		    "1 while the connection to Redis is ready, 0 while down.");
		buf_addf(out, "kosyncd_redis_up %d\n", g.redis_up ? 1 : 0);
		head(out, "kosyncd_redis_down_seconds", "gauge",
		    "Seconds since the connection to Redis was lost (0 while "
		    "up).");
		buf_addf(out, "kosyncd_redis_down_seconds %llu\n",
		    (unsigned long long)g.redis_down_seconds);
		head(out, "kosyncd_redis_connection_failures_total", "counter",
		    "Connections to Redis lost, or attempts that failed.");
		buf_addf(out, "kosyncd_redis_connection_failures_total %llu\n",
		    (unsigned long long)g.redis_failures);
		head(out, "kosyncd_redis_reconnects_total", "counter",
		    "Connections to Redis made again after the first.");
		buf_addf(out, "kosyncd_redis_reconnects_total %llu\n",
		    (unsigned long long)g.redis_reconnects);
	}
}

void
metrics_handle(struct http_request *req, void *ctx)
{
	const struct metrics *m = ctx;
	struct buf out = BUF_INIT;

	if (!str_eqs(req->path, "/metrics")) {
		http_error(req, 404, NULL, "Not found.");
		return;
	}
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD) {
		http_error(
		    req, 405, "Allow: GET, HEAD\r\n", "Method not allowed.");
		return;
	}
	metrics_render(m, &out);
	http_reply_ex(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    NULL, out.data, out.len);
	buf_release(&out);
}
