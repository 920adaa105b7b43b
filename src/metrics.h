/*
 * metrics.h: counters for GET /metrics, in the Prometheus text format.
 *
 * One struct metrics is owned by the server command (cmd_serve.c) and
 * handed by pointer to the modules that count: server.c counts every
 * answered request (route, status, latency), api.c every failed
 * authentication. Everything runs on the loop thread, so the counters are
 * plain integers. The gauges that describe the store (users, documents,
 * journal bytes, fsync latency, compactions) are read when the page is
 * built, through a callback, so this module knows nothing of the store.
 *
 * Routes are classified by the path's last segments into a fixed set
 * (users/create, users/auth, syncs/progress, ...), whatever base path or
 * /koreader prefix a request used, so a client cannot make the label set
 * grow.
 *
 * The page is served on its own listener (metrics_listen), never on the
 * protocol's: metrics_handle is its HTTP handler.
 */
#ifndef KOSYNCD_METRICS_H
#define KOSYNCD_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "http.h"

enum metrics_route {
	METRICS_R_CREATE = 0, /* POST /users/create */
	METRICS_R_AUTH,       /* GET /users/auth */
	METRICS_R_PUSH,       /* PUT /syncs/progress */
	METRICS_R_PULL,       /* GET /syncs/progress/:document */
	METRICS_R_DELETE,     /* DELETE /users/me */
	METRICS_R_PASSWORD,   /* PUT /users/password */
	METRICS_R_HEALTH,     /* GET /healthcheck */
	METRICS_R_OTHER,      /* anything else, and transport errors */
	METRICS_NROUTES
};

#define METRICS_NSTATUS 18 /* the statuses we answer, plus "other" */
#define METRICS_NBUCKETS 12

/* Fsync latency buckets in the store's statistics (see metrics_gauges). */
#define METRICS_FSYNC_NBUCKETS 10

/* What the store reports when the page is built. */
struct metrics_gauges {
	uint64_t users;
	uint64_t documents;
	uint64_t journal_bytes;
	uint64_t compactions;
	uint64_t compactions_failed;
	uint64_t fsyncs; /* 0 with fsync_known false: not measured */
	bool fsync_known;
	double fsync_seconds; /* total time in fsync */
	/* cumulative counts for the bounds in metrics_fsync_bounds */
	uint64_t fsync_bucket[METRICS_FSYNC_NBUCKETS];
	bool redis_known; /* the redis fields are measured */
	bool redis_up;
	uint64_t redis_reconnects;
	uint64_t redis_failures;
	uint64_t redis_down_seconds;
};

/* Upper bounds (seconds) of the fsync histogram's buckets. */
extern const double metrics_fsync_bounds[METRICS_FSYNC_NBUCKETS];

/* Fill g; called on the loop when /metrics is asked for. */
typedef void metrics_gauges_fn(void *arg, struct metrics_gauges *g);

struct metrics {
	uint64_t requests[METRICS_NROUTES][METRICS_NSTATUS];
	uint64_t latency[METRICS_NROUTES][METRICS_NBUCKETS]; /* not cumul. */
	uint64_t latency_count[METRICS_NROUTES];
	uint64_t latency_ns[METRICS_NROUTES];
	uint64_t auth_failed;
	uint64_t start_time; /* Unix seconds */
	metrics_gauges_fn *gauges;
	void *gauges_arg;
};

/* Zero every counter and note the start time. gauges may be NULL. */
void metrics_init(
    struct metrics *m, metrics_gauges_fn *gauges, void *gauges_arg);

/* The route a request's method and path belong to. */
enum metrics_route metrics_route_of(enum http_method method, struct str path);

/*
 * metrics_route_of(method, path) for a request a router matched to
 * metrics route r on route, its normalised path (router_normalize):
 * r without the suffix walk when path, trailing '/' aside, ends in route
 * (nothing merged inside it) and r is not a pull of a document named
 * "healthcheck" (which metrics_route_of counts as the health check).
 */
enum metrics_route metrics_route_matched(enum metrics_route r,
    enum http_method method, struct str path, struct str route);

/* Count an answered request that took ns nanoseconds. m may be NULL. */
void metrics_request(
    struct metrics *m, enum metrics_route route, int status, uint64_t ns);

/* Count a failed authentication (401). m may be NULL. */
void metrics_auth_failed(struct metrics *m);

/* Append the page (Prometheus text format 0.0.4) to out. */
void metrics_render(const struct metrics *m, struct buf *out);

/*
 * The HTTP handler of the metrics listener: GET (or HEAD) /metrics answers
 * the page as text/plain; version=0.0.4; anything else 404 (405 for another
 * method on /metrics). ctx is the struct metrics.
 */
void metrics_handle(struct http_request *req, void *ctx);

#endif
