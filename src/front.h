/*
 * front.h: the one router in front of the main listener's handlers.
 *
 * front_handle() is the http_handler_fn the main listener calls for every
 * request. It normalises the path once (router_normalize: repeated '/'
 * merged, one trailing '/' dropped, the deployment's base_path and KOsync's
 * "/koreader" removed; the base path is computed once, by front_new) into
 * req->route, then hands the request to the first handler of a static
 * table of path prefixes (front.c) that is served:
 *
 *   /api/v1 and below     the web interface's JSON API (webui_handle_api)
 *   GET or HEAD /         the web interface's page (webui_handle_files)
 *   /assets, /web, below  its embedded files, the old address (idem)
 *   /dav and below        the WebDAV file space (dav_handle, dav.h)
 *   /opds and below       the library's OPDS catalogs (opds_handle, opds.h)
 *   anything else         the KOSync protocol (api_handle), which answers
 *                         a path it does not know with its own JSON 404
 *
 * A prefix matches whole segments ("/web" is not "/webdav"). A handler is
 * served once front_serve() gave it its context: cmd_serve.c does so for
 * the web interface only when the option enable_webui is on, so that
 * otherwise its paths are the protocol's. The metrics have a listener of
 * their own (metrics_listen) and are never served here.
 *
 * Not here: the routes within a handler (its own router.c table), the
 * answers (the handlers').
 */
#ifndef KOSYNCD_FRONT_H
#define KOSYNCD_FRONT_H

#include "buf.h"
#include "http.h"

struct config;

/* The handlers the table names, by the context each is given. */
enum front_slot {
	FRONT_API,   /* the protocol: struct api (api.h), always served */
	FRONT_WEBUI, /* the web interface: struct webui (webui.h) */
	FRONT_DAV,   /* the WebDAV file space: struct dav (dav.h) */
	FRONT_OPDS,  /* the OPDS catalogs: struct opds (opds.h) */
	FRONT__NSLOTS,
};

struct front;

/*
 * The front router for cfg's base_path (read once; cfg is not kept).
 * Serves nothing until front_serve(). Never returns NULL.
 */
struct front *front_new(const struct config *cfg);
/* Free. NULL is allowed. */
void front_free(struct front *f);

/*
 * Serve the routes of slot s with the handler context ctx (borrowed, must
 * outlive the front); NULL: they are not served, their requests go on
 * down the table.
 */
void front_serve(struct front *f, enum front_slot s, void *ctx);

/*
 * The base path as the router compares it ("/kosync"; "" for none),
 * borrowed for the front's life (the web interface's redirects).
 */
struct str front_base(const struct front *f);

/*
 * The handler for method m on the normalised path, and in *ctx its
 * context. Every request has one (the protocol's, at the latest).
 */
http_handler_fn *front_find(
    const struct front *f, enum http_method m, struct str path, void **ctx);

/* http_handler_fn: ctx is the struct front. */
void front_handle(struct http_request *req, void *ctx);

#endif
