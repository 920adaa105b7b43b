/*
 * router.h: request paths to handlers, through a static table.
 *
 * A route is {method, pattern, handler, flags}. A pattern is a path whose
 * segments are literal (matched byte for byte, so case-sensitively) or a
 * parameter (":name", one non-empty segment, handed to the handler still
 * percent-encoded). HEAD is served by GET routes. A route whose handler is
 * NULL makes that method on that path deliberately unknown (404) instead of
 * a wrong method (405).
 *
 * Paths are normalised first (router_normalize): repeated '/' merged, one
 * trailing '/' dropped, the deployment's base path (router_base's form)
 * and KOsync's "/koreader" prefix removed; the front router (front.h) does
 * it once per request, before it picks the handler whose table is looked
 * up. The router knows nothing of the protocol beyond what the table says.
 */
#ifndef KOSYNCD_ROUTER_H
#define KOSYNCD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "http.h"

enum route_flags {
	ROUTE_AUTH = 1 << 0, /* the handler acts for an authenticated user */
	ROUTE_BODY = 1 << 1, /* the handler reads a JSON object body */
};

/* A handler: call is the caller's per-request state. Returns 0. */
typedef int route_fn(void *call);

struct route {
	enum http_method method;
	const char *pattern;
	route_fn *handler; /* NULL: this method on this path is a 404 */
	unsigned flags;    /* enum route_flags */
};

enum router_result {
	ROUTER_FOUND = 0,
	ROUTER_NOT_FOUND,  /* no route has this path (or it is hidden) */
	ROUTER_BAD_METHOD, /* the path exists, not with this method */
};

struct router_match {
	const struct route *route; /* ROUTER_FOUND only */
	struct str param;          /* the parameter segment, percent-encoded */
	unsigned allow;            /* methods the path accepts: 1 << method */
};

/*
 * Find the route for method m and a normalised path among n routes. Fills
 * out (allow is filled for every result, and has HEAD wherever GET is and
 * OPTIONS for every known path).
 */
enum router_result router_find(const struct route *routes, size_t n,
    enum http_method m, struct str path, struct router_match *out);

/*
 * Write the methods of allow as an Allow header value ("GET, HEAD,
 * OPTIONS") into out (size bytes, NUL-terminated). Returns the length.
 */
size_t router_allow_list(unsigned allow, char *out, size_t size);

/*
 * Normalise path into out (at least path.len + 1 bytes): merge repeated
 * '/', drop one trailing '/' ("/" stays "/"), then remove a leading base
 * (already normalised, e.g. "/kosync"; empty for none) and then a leading
 * "/koreader", each only as whole segments. Returns the slice of out.
 */
struct str router_normalize(struct str path, struct str base, char *out);

/*
 * The deployment's base path (the option base_path; NULL for none) in the
 * form router_normalize compares: one leading '/', no repeated or trailing
 * '/' ("//kosync//" gives "/kosync"); "" for none ("/" is none too). out
 * needs strlen(base_path) + 2 bytes; returns the slice of out, which is
 * NUL-terminated. The front router (front.h) calls it once, at start.
 */
struct str router_base(const char *base_path, char *out);

#endif
