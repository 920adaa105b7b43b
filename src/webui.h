/*
 * webui.h: the web interface, served by the same listener as the protocol.
 *
 * webui_handle() is the http_handler_fn in front of api_handle(): when the
 * option enable_webui is on (the default) it serves the page (web/index.html)
 * at GET /, the other embedded files of web/ under /assets/, the JSON API
 * under /api/v1/ (docs/api.md), and redirects the old /web/ address to /;
 * everything else, and everything when enable_webui is off, goes on to the
 * next handler unchanged (so these paths are then the protocol's JSON 404).
 * No protocol route starts with /assets/ or /api/. The deployment's
 * base_path (and KOsync's /koreader) prefix these paths as they prefix the
 * protocol.
 *
 * Signing in checks the KOReader username and md5 of the password through
 * the store, exactly as a device's login; sessions are cookies
 * (session.h); every state-changing request needs the session's CSRF
 * token in the X-CSRF-Token header; administrators are the users named
 * in the option admins. Live updates are Server-Sent Events (sse.h).
 */
#ifndef KOSYNCD_WEBUI_H
#define KOSYNCD_WEBUI_H

#include <stddef.h>

#include <uv.h>

#include "http.h"

struct config;
struct store;

/* One embedded file (build/gen/webassets.c, from scripts/embed-web). */
struct web_asset {
	const char *path; /* "/" (index.html), "/assets/app.js" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_nassets;

struct webui;

struct ratelimit;
/*
 * The web interface over st, with options from cfg, counting failed
 * sign-ins in rl, the server's one limiter, which the protocol uses too
 * (all borrowed; cfg is written when an administrator switches
 * registration). Requests it does not serve go to next(req, next_ctx).
 * Never returns NULL.
 */
struct webui *webui_new(uv_loop_t *loop, struct store *st, struct config *cfg,
    struct ratelimit *rl, http_handler_fn *next, void *next_ctx);
/* Free; webui_shutdown must have run if the server ran. NULL is allowed. */
void webui_free(struct webui *w);

struct pubsub;
/*
 * Hear of the other instances' changes on the same Redis (live updates)
 * and tell them ours (pubsub.h); NULL: this process alone.
 */
void webui_set_shared(struct webui *w, struct pubsub *sh);

/* http_handler_fn: ctx is the struct webui. */
void webui_handle(struct http_request *req, void *ctx);

/*
 * Answer the requests waiting for live updates now, so that the server's
 * shutdown does not wait for them. Call before server_shutdown().
 */
void webui_shutdown(struct webui *w);

#endif
