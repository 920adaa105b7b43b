/*
 * test_webui.c: the web interface's JSON API route table (webui.c's
 * wroutes, static const, with its real handlers): every route is reachable
 * through router.c as written, and every one lies under /api/v1, the
 * prefix the front router (front.c) hands to webui_handle_api, so that no
 * route of the table is unreachable from the listener. The export's CSV
 * (csv_field, csv_document): quoting, formula-safe fields, a row per
 * position.
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

/* csv_field: RFC 4180 quoting; a would-be formula kept as text. */
static void
test_webui__csv_field(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", ""},
	    {"plain text", "plain text"},
	    {"a,b", "\"a,b\""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"two\nlines", "\"two\nlines\""},
	    {"cr\r", "\"cr\r\""},
	    {"=1+2", "\"'=1+2\""},
	    {"+1", "\"'+1\""},
	    {"-1", "\"'-1\""},
	    {"@SUM(A1)", "\"'@SUM(A1)\""},
	    {"\tx", "\"'\tx\""},
	    {"=\"q\"", "\"'=\"\"q\"\"\""},
	    {"a=b", "a=b"},
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		csv_field(&b, str_from(cases[i].in));
		assert_string_equal(b.data, cases[i].out);
	}
	buf_release(&b);
}

/* csv_document: the current position, each device's, then the history. */
static void
test_webui__csv_document(void **state)
{
	static const char doc[] =
	    "{\"document\":\"d1\",\"title\":\"T, 1\",\"authors\":\"\","
	    "\"percentage\":0.5,\"progress\":\"p\",\"device\":\"Kobo\","
	    "\"device_id\":\"K\",\"timestamp\":86400,"
	    "\"devices\":[{\"percentage\":0.25,\"progress\":\"q\","
	    "\"device\":\"Boox\",\"device_id\":\"\",\"timestamp\":60}],"
	    "\"history\":[{\"percentage\":0.1,\"progress\":\"=r\","
	    "\"device\":\"Kobo\",\"device_id\":\"K\",\"timestamp\":0}]}";
	struct json_arena mem = JSON_ARENA_INIT;
	const struct json_value *v;
	struct buf b = BUF_INIT;

	(void)state;
	v = json_parse(doc, sizeof(doc) - 1, json_arena_alloc, &mem, NULL);
	assert_non_null(v);
	csv_document(&b, v);
	assert_string_equal(b.data,
	    "d1,\"T, 1\",,,,current,0.5,p,Kobo,K,86400,1970-01-02T00:00:00Z\r\n"
	    "d1,\"T, 1\",,,,device,0.25,q,Boox,,60,1970-01-01T00:01:00Z\r\n"
	    "d1,\"T, 1\",,,,history,0.1,\"'=r\",Kobo,K,0,\r\n");
	buf_release(&b);
	json_arena_release(&mem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webui__routes),
	    cmocka_unit_test(test_webui__csv_field),
	    cmocka_unit_test(test_webui__csv_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
