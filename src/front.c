/*
 * front.c: the front router (see front.h): one static table of path
 * prefixes, walked in order; the first row whose handler is served and
 * whose prefix and methods match the request takes it. The last row takes
 * every path, so each request finds a handler.
 *
 * The walk is a handful of byte comparisons against the normalised path,
 * no more than the web interface's own checks that stood here before.
 *
 * A new handler is a row
 * here, above the last, naming a slot of enum front_slot (front.h) that
 * cmd_serve.c fills with front_serve().
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "dav.h"
#include "front.h"
#include "log.h"
#include "opds.h"
#include "router.h"
#include "webui.h"
#include "xmalloc.h"

enum front_flags {
	FRONT_GET = 1 << 0, /* GET and HEAD only: other methods go on down */
};

static const struct front_route {
	const char *prefix; /* whole segments; NULL: every path */
	size_t prefix_len;  /* strlen(prefix) */
	unsigned flags;     /* enum front_flags */
	enum front_slot slot;
	http_handler_fn *handler;
} front_routes[] = {
#define FRONT_PREFIX(s) s, sizeof(s) - 1
    {FRONT_PREFIX("/api/v1"), 0, FRONT_WEBUI, webui_handle_api},
    {FRONT_PREFIX("/"), FRONT_GET, FRONT_WEBUI, webui_handle_files},
    {FRONT_PREFIX("/assets"), 0, FRONT_WEBUI, webui_handle_files},
    {FRONT_PREFIX("/web"), 0, FRONT_WEBUI, webui_handle_files},
    {FRONT_PREFIX("/feed"), FRONT_GET, FRONT_WEBUI, webui_handle_files},
    {FRONT_PREFIX("/dav"), 0, FRONT_DAV, dav_handle},
    {FRONT_PREFIX("/opds"), 0, FRONT_OPDS, opds_handle},
    {NULL, 0, 0, FRONT_API, api_handle},
#undef FRONT_PREFIX
};

#define NFRONT_ROUTES (sizeof(front_routes) / sizeof(front_routes[0]))

struct front {
	void *ctx[FRONT__NSLOTS]; /* per slot; NULL: not served */
	char *base;               /* router_base's form of base_path */
	size_t base_len;
};

struct front *
front_new(const struct config *cfg)
{
	struct front *f = xcalloc(1, sizeof(*f));
	size_t n = cfg->base_path != NULL ? strlen(cfg->base_path) : 0;
	struct str base;

	f->base = xmalloc(n + 2);
	base = router_base(cfg->base_path, f->base);
	f->base_len = base.len;
	return f;
}

void
front_free(struct front *f)
{
	if (f == NULL)
		return;
	free(f->base);
	free(f);
}

void
front_serve(struct front *f, enum front_slot s, void *ctx)
{
	f->ctx[s] = ctx;
}

struct str
front_base(const struct front *f)
{
	return (struct str){f->base, f->base_len};
}

/* Whether path is r's prefix or below it (whole segments). The last byte
 * first: it tells most prefixes apart without a call. */
static bool
front_under(struct str path, const struct front_route *r)
{
	size_t n = r->prefix_len;

	return path.len >= n && path.p[n - 1] == r->prefix[n - 1] &&
	       memcmp(path.p, r->prefix, n) == 0 &&
	       (path.len == n || path.p[n] == '/');
}

http_handler_fn *
front_find(
    const struct front *f, enum http_method m, struct str path, void **ctx)
{
	const struct front_route *r;
	size_t i;

	for (i = 0; i < NFRONT_ROUTES; i++) {
		r = &front_routes[i];
		if (f->ctx[r->slot] == NULL)
			continue;
		if ((r->flags & FRONT_GET) && m != HTTP_M_GET &&
		    m != HTTP_M_HEAD)
			continue;
		if (r->prefix != NULL && !front_under(path, r))
			continue;
		*ctx = f->ctx[r->slot];
		return r->handler;
	}
	/* The last row takes every path: only a front without a protocol. */
	fatalx("front: no handler for the path (is the protocol served?)");
}

void
front_handle(struct http_request *req, void *ctx)
{
	struct front *f = ctx;
	http_handler_fn *handler;
	void *hctx = NULL;

	req->route =
	    router_normalize(req->path, (struct str){f->base, f->base_len},
	        http_alloc(req, req->path.len + 1));
	handler = front_find(f, req->method, req->route, &hctx);
	handler(req, hctx);
}
