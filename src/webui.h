/*
 * webui.h: the web interface, served by the same listener as the protocol.
 *
 * Its two http_handler_fns stand in the front router's table (front.h),
 * which serves them only when the option enable_webui is on (the default)
 * and hands them req->route, the normalised path (the deployment's
 * base_path and KOsync's /koreader removed, as for the protocol):
 * webui_handle_api serves the JSON API under /api/v1/ (docs/api.md);
 * webui_handle_files the page (web/index.html) at GET /, the other
 * embedded files of web/ under /assets/, and redirects the old /web/
 * address to /. No protocol route starts with /assets/ or /api/; when the
 * interface is off these paths are the protocol's JSON 404.
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

#include "buf.h"
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
 * registration). base is the front router's base path (front_base: "" or
 * "/kosync", NUL-terminated, borrowed), for redirects and the cookie's
 * Path. Never returns NULL.
 */
struct webui *webui_new(uv_loop_t *loop, struct store *st, struct config *cfg,
    struct ratelimit *rl, struct str base);
/* Free; webui_shutdown must have run if the server ran. NULL is allowed. */
void webui_free(struct webui *w);

struct pubsub;
/*
 * Hear of the other instances' changes on the same Redis (live updates)
 * and tell them ours (pubsub.h); NULL: this process alone.
 */
void webui_set_shared(struct webui *w, struct pubsub *sh);

/*
 * The accounts' reading statistics (borrowed): /api/v1/stats and the
 * titles of documents known only by their md5. Without it (NULL, other
 * storage than file) the statistics are empty.
 */
struct statsvc;
void webui_set_stats(struct webui *w, struct statsvc *sv);

/*
 * The library index (borrowed): /api/v1/library and
 * /api/v1/admin/library (libweb.h), /api/v1/library/files (libfile.h).
 * Without it (NULL) those answer 503.
 */
struct library;
void webui_set_library(struct webui *w, struct library *lib);

/*
 * The WebDAV file space (borrowed, set before serving): the web API's
 * view of the files (davweb.h) does its storage work through it.
 */
struct dav;
void webui_set_dav(struct webui *w, struct dav *dav);

/*
 * http_handler_fns: ctx is the struct webui; req->route is set
 * (front.h). webui_handle_api: a path under /api/v1; webui_handle_files:
 * GET or HEAD /, or a path under /assets or /web.
 */
void webui_handle_api(struct http_request *req, void *ctx);
void webui_handle_files(struct http_request *req, void *ctx);

/*
 * Answer the requests waiting for live updates now, so that the server's
 * shutdown does not wait for them. Call before server_shutdown().
 */
void webui_shutdown(struct webui *w);

#endif
