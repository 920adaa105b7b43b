/*
 * test_webui.c: the web interface's JSON API route table (webui.c's
 * wroutes, static const, with its real handlers): every route is reachable
 * through router.c as written, and every one lies under /api/v1, the
 * prefix the front router (front.c) hands to webui_handle_api, so that no
 * route of the table is unreachable from the listener.
 *
 * UNIT_INCLUDES: src/webui.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/webui.c"
#include "../../src/front.h"

static void
test_webui__routes(void **state)
{
	struct router_match m;
	struct config cfg;
	struct front *f;
	http_handler_fn *h;
	void *ctx;
	int webui_ctx, api_ctx;
	size_t i;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	f = front_new(&cfg);
	front_serve(f, FRONT_API, &api_ctx);
	front_serve(f, FRONT_WEBUI, &webui_ctx);
	for (i = 0; i < NWROUTES; i++) {
		const struct route *r = &wroutes[i];
		struct str path = str_from(r->pattern);

		assert_non_null(r->handler);
		if (!str_has_prefix(path, "/api/v1/"))
			fail_msg("'%s' is not under /api/v1/", r->pattern);
		h = front_find(f, r->method, path, &ctx);
		if (h != webui_handle_api || ctx != &webui_ctx)
			fail_msg("'%s': the front router does not hand it to "
			         "webui_handle_api",
			    r->pattern);
		if (strchr(r->pattern, ':') != NULL)
			continue;
		assert_int_equal(
		    router_find(wroutes, NWROUTES, r->method, path, &m),
		    ROUTER_FOUND);
		assert_ptr_equal(m.route, r);
	}
	/* a parameter route, with its parameter */
	assert_int_equal(router_find(wroutes, NWROUTES, HTTP_M_PUT,
	                     str_from("/api/v1/documents/a%20b/name"), &m),
	    ROUTER_FOUND);
	assert_ptr_equal(m.route->handler, h_rename);
	assert_true(str_eqs(m.param, "a%20b"));
	assert_int_equal(m.route->flags, W_SESSION | W_CSRF | W_DOC | W_BODY);
	/* a known path with another method */
	assert_int_equal(router_find(wroutes, NWROUTES, HTTP_M_PATCH,
	                     str_from("/api/v1/admin/settings"), &m),
	    ROUTER_BAD_METHOD);
	front_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webui__routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
