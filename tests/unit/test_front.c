/*
 * test_front.c: the front router's table (front.c's front_routes, with
 * its real handlers): which handler takes which method and normalised
 * path, with the web interface served and not; whole segments only; every
 * row reachable; the base path kept in the form router_normalize
 * compares.
 *
 * UNIT_INCLUDES: src/front.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/front.c"

/* Stand-ins for the contexts: front_find only hands them on. */
static int api_ctx, webui_ctx, dav_ctx, opds_ctx;

struct want {
	enum http_method m;
	const char *path;
	http_handler_fn *handler;
	void *ctx;
};

static void
check(const struct front *f, const struct want *t, size_t n)
{
	http_handler_fn *h;
	void *ctx;
	size_t i;

	for (i = 0; i < n; i++) {
		ctx = NULL;
		h = front_find(f, t[i].m, str_from(t[i].path), &ctx);
		if (h != t[i].handler || ctx != t[i].ctx)
			fail_msg("method %d '%s': another handler or context",
			    (int)t[i].m, t[i].path);
	}
}

static struct front *
front_for(const char *base_path)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.base_path = (char *)(uintptr_t)base_path;
	return front_new(&cfg);
}

static void
test_front__webui_on(void **state)
{
	static const struct want t[] = {
	    {HTTP_M_POST, "/api/v1/login", webui_handle_api, &webui_ctx},
	    {HTTP_M_GET, "/api/v1", webui_handle_api, &webui_ctx},
	    {HTTP_M_DELETE, "/api/v1/nope", webui_handle_api, &webui_ctx},
	    {HTTP_M_GET, "/", webui_handle_files, &webui_ctx},
	    {HTTP_M_HEAD, "/", webui_handle_files, &webui_ctx},
	    {HTTP_M_GET, "/assets/app.js", webui_handle_files, &webui_ctx},
	    {HTTP_M_POST, "/assets", webui_handle_files, &webui_ctx},
	    {HTTP_M_GET, "/web", webui_handle_files, &webui_ctx},
	    {HTTP_M_PUT, "/web/x", webui_handle_files, &webui_ctx},
	    {HTTP_M_PROPFIND, "/dav", dav_handle, &dav_ctx},
	    {HTTP_M_PUT, "/dav/statistics/statistics.sqlite3", dav_handle,
	        &dav_ctx},
	    {HTTP_M_GET, "/davx", api_handle, &api_ctx},
	    {HTTP_M_GET, "/opds", opds_handle, &opds_ctx},
	    {HTTP_M_HEAD, "/opds/v2/all", opds_handle, &opds_ctx},
	    {HTTP_M_POST, "/opds/all", opds_handle, &opds_ctx},
	    {HTTP_M_GET, "/opdsx", api_handle, &api_ctx},
	    /* not GET or HEAD on "/": the protocol's (its 404 or 405) */
	    {HTTP_M_POST, "/", api_handle, &api_ctx},
	    {HTTP_M_OPTIONS, "/", api_handle, &api_ctx},
	    /* whole segments only */
	    {HTTP_M_GET, "/webdav", api_handle, &api_ctx},
	    {HTTP_M_GET, "/api/v1x", api_handle, &api_ctx},
	    {HTTP_M_GET, "/api", api_handle, &api_ctx},
	    {HTTP_M_GET, "/assetsx/a", api_handle, &api_ctx},
	    /* the protocol's paths, and what nobody knows */
	    {HTTP_M_PUT, "/syncs/progress", api_handle, &api_ctx},
	    {HTTP_M_GET, "/syncs/progress/abc", api_handle, &api_ctx},
	    {HTTP_M_GET, "/healthcheck", api_handle, &api_ctx},
	    {HTTP_M_POST, "/users/create", api_handle, &api_ctx},
	    {HTTP_M_GET, "/nope", api_handle, &api_ctx},
	    {HTTP_M_GET, "", api_handle, &api_ctx},
	    {HTTP_M_GET, "*", api_handle, &api_ctx},
	};
	struct front *f = front_for(NULL);

	(void)state;
	front_serve(f, FRONT_API, &api_ctx);
	front_serve(f, FRONT_WEBUI, &webui_ctx);
	front_serve(f, FRONT_DAV, &dav_ctx);
	front_serve(f, FRONT_OPDS, &opds_ctx);
	check(f, t, sizeof(t) / sizeof(t[0]));
	front_free(f);
}

/* With the web interface off, every path is the protocol's. */
static void
test_front__webui_off(void **state)
{
	static const struct want t[] = {
	    {HTTP_M_POST, "/api/v1/login", api_handle, &api_ctx},
	    {HTTP_M_GET, "/", api_handle, &api_ctx},
	    {HTTP_M_GET, "/assets/app.js", api_handle, &api_ctx},
	    {HTTP_M_GET, "/web", api_handle, &api_ctx},
	    {HTTP_M_GET, "/healthcheck", api_handle, &api_ctx},
	};
	struct front *f = front_for(NULL);

	(void)state;
	front_serve(f, FRONT_API, &api_ctx);
	check(f, t, sizeof(t) / sizeof(t[0]));
	/* a slot served, then not */
	front_serve(f, FRONT_WEBUI, &webui_ctx);
	front_serve(f, FRONT_WEBUI, NULL);
	check(f, t, sizeof(t) / sizeof(t[0]));
	front_free(f);
}

/* Every row takes its own prefix (no row hides a later one). */
static void
test_front__rows_reachable(void **state)
{
	struct front *f = front_for(NULL);
	http_handler_fn *h;
	void *ctx;
	size_t i;

	(void)state;
	front_serve(f, FRONT_API, &api_ctx);
	front_serve(f, FRONT_WEBUI, &webui_ctx);
	front_serve(f, FRONT_DAV, &dav_ctx);
	front_serve(f, FRONT_OPDS, &opds_ctx);
	for (i = 0; i < NFRONT_ROUTES; i++) {
		if (front_routes[i].prefix == NULL) {
			assert_int_equal(i, NFRONT_ROUTES - 1);
			continue;
		}
		h = front_find(
		    f, HTTP_M_GET, str_from(front_routes[i].prefix), &ctx);
		assert_ptr_equal(h, front_routes[i].handler);
		assert_ptr_equal(ctx, f->ctx[front_routes[i].slot]);
	}
	front_free(f);
}

static void
test_front__base(void **state)
{
	struct front *f;

	(void)state;
	f = front_for("//kosync//");
	assert_true(str_eqs(front_base(f), "/kosync"));
	assert_int_equal(front_base(f).p[front_base(f).len], '\0');
	front_free(f);
	f = front_for("/");
	assert_int_equal(front_base(f).len, 0);
	assert_string_equal(front_base(f).p, "");
	front_free(f);
	f = front_for(NULL);
	assert_int_equal(front_base(f).len, 0);
	front_free(f);
	front_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_front__webui_on),
	    cmocka_unit_test(test_front__webui_off),
	    cmocka_unit_test(test_front__rows_reachable),
	    cmocka_unit_test(test_front__base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
