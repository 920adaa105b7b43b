/*
 * cmd_serve.c: the server, `kosyncd [serve]`.
 *
 * Start-up, in order: logging at the level the environment and flags ask
 * for; the store (which applies database.json's "config" object); the
 * configuration's final check; logging again at the final level; the API
 * and the web interface behind the front router (front.h); the listener. Any
 * failure stops start-up with a message and exit status 1, before anything is
 * served.
 *
 * Shutdown: the first SIGTERM or SIGINT stops accepting and lets requests
 * in flight finish (server_shutdown), then makes every acknowledged write
 * durable and writes the final snapshot (store_flush), then leaves the
 * loop; exit status 0. A second signal while that runs exits at once with
 * status 1 (every acknowledged write is already durable under fsync
 * "always"; only the final compaction is lost).
 *
 * One failed-login limiter (ratelimit.h) serves the protocol and the web
 * interface alike. With storage = redis, its counts are shared with the
 * other instances on that Redis (pubsub.c); its connection closes before
 * the limiter is freed.
 *
 * Not here: listening and connections (server.c), the protocol (api.c),
 * storage (store.c).
 */
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "api.h"
#include "cmd.h"
#include "config.h"
#include "control_server.h"
#include "dav.h"
#include "davlib.h"
#include "front.h"
#include "library.h"
#include "libupload.h"
#include "log.h"
#include "metrics.h"
#include "opds.h"
#include "ratelimit.h"
#include "server.h"
#include "statsvc.h"
#include "pubsub.h"
#include "store.h"
#include "webui.h"

struct serve {
	uv_loop_t *loop;
	struct config *cfg;
	struct store *st;
	struct ratelimit *rl; /* failed logins: the protocol's and the web's */
	struct api *api;
	struct webui *webui;
	struct front *front;   /* the main listener's handler: which serves */
	struct dav *dav;       /* the WebDAV file space */
	struct statsvc *stats; /* statistics read from it (file, redis) */
	struct library *lib;   /* the library index (file, redis) */
	struct opds *opds;     /* its OPDS catalogs */
	struct davlib *davlib; /* its WebDAV folder */
	struct pubsub *shared; /* Redis: limits shared with other instances */
	struct server *srv;
	struct control *ctl; /* the control socket (file storage) */
	struct server *msrv; /* the metrics listener, or NULL */
	struct metrics metrics;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	int signals;  /* how many were received */
	bool flushed; /* store_flush reported done */
};

/* The files statsvc reads. */
static const char *const stats_files[] = {
    STATSVC_FILE_NAME, STATSVC_VOCAB_NAME, NULL};

/* dav_file_fn: one of stats_files was uploaded; statsvc reads it. */
static void
serve_stats_file(void *arg, const char *user, size_t user_len, const char *name,
    int fd, uint64_t size, const char *agent, size_t agent_len)
{
	statsvc_uploaded(arg, user, user_len, name, fd, size, agent, agent_len);
}

/* dav_book_fn of dav_on_book: a book of Books/ on Redis, copied. */
static void
serve_dav_book(void *arg, const char *user, size_t user_len, const char *name,
    int fd, const char *gone)
{
	struct serve *s = arg;

	libupload_dav_book(
	    s->loop, s->cfg, (struct str){user, user_len}, name, fd, gone);
}

/*
 * dav_book_fn of dav_on_book on an idle library (library_new): the first
 * change of a Books/ on disk opens it, and its scan indexes the book, as
 * the watches of an open library do.
 */
static void
serve_dav_book_wake(void *arg, const char *user, size_t user_len,
    const char *name, int fd, const char *gone)
{
	struct serve *s = arg;

	(void)user;
	(void)user_len;
	(void)name;
	(void)gone;
	if (fd != -1)
		(void)close(fd);
	if (!library_is_open(s->lib))
		library_scan_now(s->lib);
}

static void
serve_close_signals(struct serve *s)
{
	if (!uv_is_closing((uv_handle_t *)&s->sigterm))
		uv_close((uv_handle_t *)&s->sigterm, NULL);
	if (!uv_is_closing((uv_handle_t *)&s->sigint))
		uv_close((uv_handle_t *)&s->sigint, NULL);
}

/* The store has made everything durable: leave the loop. */
static void
serve_flushed(void *arg)
{
	struct serve *s = arg;

	s->flushed = true;
	log_info("stopped");
	serve_close_signals(s);
	uv_stop(s->loop);
}

/* Nothing is in flight any more: flush the store. */
static void
serve_drained_all(void *arg)
{
	struct serve *s = arg;

	store_flush(s->st, serve_flushed, s);
}

/* The control socket is closed: close the metrics listener. */
static void
serve_control_drained(void *arg)
{
	struct serve *s = arg;

	if (s->msrv != NULL)
		server_shutdown(s->msrv, serve_drained_all, s);
	else
		serve_drained_all(s);
}

/* The protocol's listener is closed: the control socket goes next. */
static void
serve_drained(void *arg)
{
	struct serve *s = arg;

	control_shutdown(s->ctl, serve_control_drained, s);
}

/*
 * The server's stream predicate: which bodies go to their handler as they
 * arrive (WebDAV PUTs, the web's book uploads) instead of into memory.
 */
static bool
serve_wants_body(void *ctx, const struct http_request *req)
{
	struct serve *s = ctx;

	return dav_wants_body(s->dav, req) ||
	       (s->lib != NULL &&
	           libupload_wants_body(front_base(s->front), req));
}

/* metrics_gauges_fn: the store's figures for /metrics. */
static void
serve_gauges(void *arg, struct metrics_gauges *g)
{
	struct serve *s = arg;
	struct store_stats st;
	int i;

	store_stats(s->st, &st);
	g->users = st.users;
	g->documents = st.documents;
	g->journal_bytes = st.journal_bytes;
	g->compactions = st.compactions;
	g->compactions_failed = st.compactions_failed;
	g->fsync_known = st.fsync_known;
	g->fsyncs = st.fsyncs;
	g->fsync_seconds = (double)st.fsync_ns / 1e9;
	for (i = 0; i < METRICS_FSYNC_NBUCKETS && i < STORE_FSYNC_BUCKETS; i++)
		g->fsync_bucket[i] = st.fsync_bucket[i];
	g->redis_known = st.redis_known;
	g->redis_up = st.redis_up;
	g->redis_reconnects = st.redis_reconnects;
	g->redis_failures = st.redis_failures;
	g->redis_down_seconds = st.redis_down_seconds;
}

static void
serve_signal(uv_signal_t *h, int signum)
{
	struct serve *s = h->data;

	if (++s->signals > 1) {
		log_warnx("%s again: exiting without finishing the shutdown",
		    signum == SIGINT ? "SIGINT" : "SIGTERM");
		_exit(1);
	}
	log_info("%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	webui_shutdown(s->webui);
	server_shutdown(s->srv, serve_drained, s);
}

/*
 * Descriptors kept aside from the connections: standard streams, the
 * listeners, the event loop's own (epoll, signals, wake-ups, libuv's spare
 * for accepting when out of descriptors), the data directory's lock, the
 * journal and a snapshot being written, Redis connections.
 */
#define SERVE_RESERVE_FDS 64
/* Connections of the metrics listener (metrics_listen). */
#define SERVE_METRICS_CONNECTIONS 64
/* Fewer connections than this left by the open-files limit: refuse. */
#define SERVE_MIN_CONNECTIONS 8

/*
 * Make room for every descriptor the server may hold: raise the soft
 * open-files limit (RLIMIT_NOFILE) to the hard one, then, if it is still
 * short of limits->max_connections plus what the control socket, the
 * metrics listener, refused connections and SERVE_RESERVE_FDS need, lower
 * max_connections (and max_connections_per_ip) to fit, with a warning:
 * past the limit, accept() fails and nobody can connect at all, where at
 * max_connections silent and idle connections make room for newcomers.
 * Returns 0, or -1 after logging why when the limit leaves fewer than
 * SERVE_MIN_CONNECTIONS.
 */
static int
serve_fit_nofile(struct server_limits *limits, bool control, bool metrics)
{
	struct rlimit rl;
	rlim_t reserve, want, need, old;

	reserve = SERVE_RESERVE_FDS + SERVER_MAX_REFUSED + DAV_USAGE_FDS;
	if (control)
		reserve += CONTROL_MAX_CONNECTIONS + SERVER_MAX_REFUSED;
	if (metrics)
		reserve += SERVE_METRICS_CONNECTIONS + SERVER_MAX_REFUSED;
	want = reserve + limits->max_connections;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("cannot read the open-files limit");
		return 0;
	}
	old = rl.rlim_cur;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY ? rl.rlim_max : want;
		if (rl.rlim_cur < old)
			rl.rlim_cur = old;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("cannot raise the open-files limit from %llu "
			         "to %llu",
			    (unsigned long long)old,
			    (unsigned long long)rl.rlim_cur);
			rl.rlim_cur = old;
		} else {
			log_debug("open-files limit raised from %llu to %llu",
			    (unsigned long long)old,
			    (unsigned long long)rl.rlim_cur);
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return 0;
	need = reserve + SERVE_MIN_CONNECTIONS;
	if (rl.rlim_cur < need) {
		log_warnx("the open-files limit (%llu) is too low: kosyncd "
		          "needs at least %llu (ulimit -n, LimitNOFILE=)",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
		return -1;
	}
	log_warnx("max_connections lowered from %u to %llu: the open-files "
	          "limit is %llu and %llu descriptors are kept for files, the "
	          "control socket and refused connections (raise the hard "
	          "limit: ulimit -Hn, LimitNOFILE=)",
	    limits->max_connections,
	    (unsigned long long)(rl.rlim_cur - reserve),
	    (unsigned long long)rl.rlim_cur, (unsigned long long)reserve);
	limits->max_connections = (unsigned)(rl.rlim_cur - reserve);
	if (limits->max_connections_per_ip > limits->max_connections)
		limits->max_connections_per_ip = limits->max_connections;
	return 0;
}

/* Close whatever handle is still open on the loop (store, server, ...). */
static void
serve_close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
cmd_serve_exec(struct cmd_args *args)
{
	struct config *cfg = args->cfg;
	struct server_limits limits;
	struct ratelimit_params rp;
	struct serve s;
	struct buf err = BUF_INIT;
	int rc = 1;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	log_init(cfg->enable_debug_log);
	s.loop = uv_default_loop();
	if (s.loop == NULL) {
		log_warnx("cannot create the event loop");
		goto out;
	}
	s.st = store_open(s.loop, cfg);
	if (s.st == NULL)
		goto out;
	if (config_validate(cfg, &err) == -1) {
		log_warnx("%s", err.data);
		goto out;
	}
	log_init(cfg->enable_debug_log);
	/* Set from the data it was carried over to account flags (store). */
	if (cfg->admins != NULL && cfg->admins[0] != '\0' &&
	    config_source_of(cfg, "admins") != CONFIG_SRC_FILE)
		log_warnx("the option admins is retired and ignored: "
		          "administrators are a flag on their account "
		          "(kosyncd user admin NAME on)");

	/* One limiter for every way of presenting a password. */
	ratelimit_params_config(&rp, cfg);
	s.rl = ratelimit_new(&rp);
	s.api = api_new(s.st, cfg, s.rl);
	server_limits_default(&limits);
	limits.max_header_bytes = (size_t)cfg->max_header_bytes;
	limits.max_body_bytes = (size_t)cfg->max_body_bytes;
	limits.max_connections = (unsigned)cfg->max_connections;
	limits.max_connections_per_ip = (unsigned)cfg->max_connections_per_ip;
	limits.idle_timeout_ms = cfg->idle_timeout_ms;
	limits.request_timeout_ms = cfg->request_timeout_ms;
	limits.shutdown_timeout_ms = cfg->shutdown_timeout_ms;
	limits.trusted_proxies = cfg->trusted_proxies;
	limits.access_log = cfg->access_log;
	if (serve_fit_nofile(&limits, strcmp(cfg->storage, "file") == 0,
	        cfg->metrics_listen != NULL &&
	            cfg->metrics_listen[0] != '\0') == -1)
		goto out;
	s.front = front_new(cfg);
	s.webui = webui_new(s.loop, s.st, cfg, s.rl, front_base(s.front));
	front_serve(s.front, FRONT_API, s.api);
	if (cfg->enable_webui)
		front_serve(s.front, FRONT_WEBUI, s.webui);
	s.dav = dav_new(s.loop, s.st, cfg, s.rl);
	front_serve(s.front, FRONT_DAV, s.dav);
	webui_set_dav(s.webui, s.dav);
	if (strcmp(cfg->storage, "memory") != 0) {
		s.stats = statsvc_new(s.loop, cfg->data_dir);
		if (strcmp(cfg->storage, "redis") == 0)
			statsvc_share(s.stats, cfg);
		else
			statsvc_rescan(s.stats, cfg->data_dir);
		dav_on_file(s.dav, stats_files, serve_stats_file, s.stats);
		webui_set_stats(s.webui, s.stats);
		s.lib = library_new(s.loop, cfg);
		webui_set_library(s.webui, s.lib);
	}
	if (s.lib != NULL) {
		s.opds = opds_new(s.loop, s.st, s.rl, s.lib, cfg);
		front_serve(s.front, FRONT_OPDS, s.opds);
		s.davlib = davlib_new(s.st, s.rl, s.lib, cfg);
		dav_set_library(s.dav, davlib_handle, s.davlib);
		/*
		 * Books/ lives in Redis: a copy on the shared folder. On
		 * disk, an idle library has no watches yet: a change opens it.
		 */
		if (strcmp(cfg->storage, "redis") == 0 &&
		    cfg->library_upload_path != NULL &&
		    cfg->library_upload_path[0] != '\0')
			dav_on_book(s.dav, serve_dav_book, &s);
		else if (strcmp(cfg->storage, "file") == 0 &&
		         !library_is_open(s.lib))
			dav_on_book(s.dav, serve_dav_book_wake, &s);
	}
	s.shared = pubsub_new(s.loop, s.st, cfg);
	pubsub_ratelimit(s.shared, s.rl, "auth");
	webui_set_shared(s.webui, s.shared);
	s.srv = server_new(s.loop, &limits, front_handle, s.front);
	server_set_stream(s.srv, serve_wants_body, &s);
	metrics_init(&s.metrics, serve_gauges, &s);
	server_set_metrics(s.srv, &s.metrics);
	api_set_metrics(s.api, &s.metrics);
	/*
	 * Watch the signals before the "listening on" line: whoever starts us
	 * may send SIGTERM as soon as it reads that line, and an unwatched
	 * SIGTERM would end the process without a shutdown.
	 */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_warn("cannot ignore SIGPIPE");
		goto out;
	}
	if (uv_signal_init(s.loop, &s.sigterm) != 0 ||
	    uv_signal_init(s.loop, &s.sigint) != 0) {
		log_warnx("cannot watch signals");
		goto out;
	}
	s.sigterm.data = &s;
	s.sigint.data = &s;
	if (uv_signal_start(&s.sigterm, serve_signal, SIGTERM) != 0 ||
	    uv_signal_start(&s.sigint, serve_signal, SIGINT) != 0) {
		log_warnx("cannot watch signals");
		goto out;
	}
	if (server_listen(s.srv, cfg->listen_address) == -1)
		goto out;
	if (cfg->metrics_listen != NULL && cfg->metrics_listen[0] != '\0') {
		server_limits_default(&limits);
		limits.max_connections = SERVE_METRICS_CONNECTIONS;
		limits.shutdown_timeout_ms = cfg->shutdown_timeout_ms;
		limits.access_log = cfg->access_log;
		s.msrv =
		    server_new(s.loop, &limits, metrics_handle, &s.metrics);
		if (server_listen(s.msrv, cfg->metrics_listen) == -1)
			goto out;
	}
	/* The admin commands reach us here (we hold the directory's lock). */
	if (strcmp(cfg->storage, "file") == 0)
		s.ctl = control_start(s.loop, cfg, s.st);

	log_debug("storage %s, data directory '%s', fsync %d", cfg->storage,
	    cfg->data_dir, cfg->fsync);

	uv_run(s.loop, UV_RUN_DEFAULT);
	rc = s.flushed ? 0 : 1;
	if (!s.flushed)
		log_warnx("the event loop stopped before shutdown finished");
out:
	/*
	 * Free in the reverse order of creation, then let every close
	 * callback run so that the loop can be closed without leaks.
	 */
	server_free(s.srv);
	server_free(s.msrv);
	control_free(s.ctl);
	pubsub_free(s.shared);
	webui_free(s.webui);
	dav_free(s.dav);
	statsvc_free(s.stats);
	opds_free(s.opds);
	davlib_free(s.davlib);
	library_free(s.lib);
	front_free(s.front);
	api_free(s.api);
	ratelimit_free(s.rl);
	store_close(s.st);
	if (s.loop != NULL) {
		uv_walk(s.loop, serve_close_walk, NULL);
		uv_run(s.loop, UV_RUN_DEFAULT);
		if (uv_loop_close(s.loop) != 0)
			log_debug("event loop still busy at exit");
	}
	buf_release(&err);
	return rc;
}

const struct cmd_entry cmd_serve_entry = {
    .name = "serve",
    .args = "",
    .help = "Run the sync server (the default command).",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_serve_exec,
};
