/*
 * api.h: the KOReader sync protocol's handlers (docs/protocol.md §3.1,
 * §4, §9).
 *
 * api_handle() is the http_handler_fn the front router (front.h) calls
 * for every request no other handler takes: it routes req->route, the
 * path the front normalised (merged slashes, optional trailing slash, the
 * "/koreader" and base_path prefixes removed), through router.c's table,
 * checks Accept (strict_accept), authenticates through the store,
 * validates the body and answers with the exact status and JSON body of the
 * reference server, a JSON 404 for a path it does not know. It never
 * answers 200 for a change the store did not confirm.
 */
#ifndef KOSYNCD_API_H
#define KOSYNCD_API_H

#include "http.h"

struct config;
struct store;

struct api;

struct ratelimit;
/*
 * The API over st, reading options from cfg, counting failed logins and
 * registrations in rl, the server's one limiter (all borrowed, must
 * outlive the API; rl may be NULL only if no request is handled).
 */
struct api *api_new(
    struct store *st, const struct config *cfg, struct ratelimit *rl);
void api_free(struct api *api);

struct metrics;
/* Count failed authentications (401) in m (metrics.h); NULL: do not. */
void api_set_metrics(struct api *api, struct metrics *m);

/* http_handler_fn: ctx is the struct api; req->route is set (front.h). */
void api_handle(struct http_request *req, void *ctx);

#endif
