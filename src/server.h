/*
 * server.h: the listening socket and its connections, on one libuv loop.
 *
 * server.c accepts connections, assembles requests with http.c, enforces the
 * limits below (answering 413/431/400/408/503 itself with a JSON body), runs
 * requests one at a time per connection through the handler (pipelining
 * keeps order), writes one access-log line per request, and shuts down
 * gracefully: stop accepting, finish what is in flight, then report done.
 * It never blocks and never exits on bad input.
 */
#ifndef KOSYNCD_SERVER_H
#define KOSYNCD_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "bounds.h" /* SERVER_MAX_*, SERVER_*_TIMEOUT_MS: the defaults */
#include "http.h"

/*
 * Refused connections (503) that may still be open while their answer
 * goes out; beyond this many, a connection that would be refused is closed
 * at once without an answer, so a flood cannot hold descriptors outside
 * max_connections.
 */
#define SERVER_MAX_REFUSED 16

struct server_limits {
	size_t max_header_bytes;
	size_t max_body_bytes;
	/* Open descriptors: max_connections + SERVER_MAX_REFUSED at most. */
	unsigned max_connections;
	unsigned max_connections_per_ip;
	uint64_t idle_timeout_ms;
	uint64_t request_timeout_ms;
	uint64_t shutdown_timeout_ms; /* in-flight work at shutdown, then cut */
	bool access_log;              /* one line per answer (accesslog.h) */
	/*
	 * Reverse proxies whose forwarding headers are believed (proxy.h;
	 * NULL or "" for none). Their connections are not counted per
	 * address; each request's peer is then the client they forward.
	 */
	const char *trusted_proxies;
};

struct server;

/* Fill limits with the defaults above. */
void server_limits_default(struct server_limits *limits);

/* A server on loop; nothing is listening yet. Never returns NULL. */
struct server *server_new(uv_loop_t *loop, const struct server_limits *limits,
    http_handler_fn *handler, void *ctx);

/*
 * Start listening on address (see addr_parse_listen in addr.h). Returns 0,
 * or -1 after logging why.
 */
int server_listen(struct server *srv, const char *address);

/* The port actually bound (useful with port 0). */
int server_port(const struct server *srv);

/*
 * Listen on a unix socket at path instead (the control socket), created
 * with mode 0600. The path must not exist. Requests' peer is "local"; no
 * per-address counting or proxies apply. Returns 0, or -1 after logging
 * why.
 */
int server_listen_unix(struct server *srv, const char *path);

/*
 * Stream the bodies of the requests fn(ctx, req) chooses (see
 * http_parse_set_stream and http_body_read in http.h); NULL for none.
 * Applies to connections accepted afterwards.
 */
void server_set_stream(struct server *srv, http_stream_fn *fn, void *ctx);

struct metrics;
/* Count every answered request in m (metrics.h); NULL stops counting. */
void server_set_metrics(struct server *srv, struct metrics *m);

/*
 * Stop accepting, close idle keep-alive connections, let requests in
 * flight finish (their answers say "Connection: close"; a request still
 * arriving gets until its deadline), cut off whatever is left after
 * limits.shutdown_timeout_ms, then call done(arg) on the loop once every
 * connection is closed. A handler that answers after that still may:
 * the answer is dropped. Safe to call twice (the second call does nothing).
 */
void server_shutdown(struct server *srv, void (*done)(void *arg), void *arg);

/*
 * Free a server that has finished shutting down (done was called), or one
 * that never accepted a connection (start-up failed after server_new or
 * server_listen): its handles are then closed, and the caller must run the
 * loop once more so that their close callbacks free them. NULL is allowed.
 */
void server_free(struct server *srv);

#endif
