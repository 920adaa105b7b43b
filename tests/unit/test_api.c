/*
 * test_api.c: the API layer's pure rules: the strict Accept match (the
 * reference's Lua pattern), the document rule, the progress-push reader
 * (percentage as number or numeric string, progress/device as string or
 * number, device_id optional, metadata), and the prebuilt error bodies.
 *
 * UNIT_INCLUDES: src/api.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/api.c"

/* The parsed bodies of a test, freed after it. */
static struct json_arena arena = JSON_ARENA_INIT;

static int
teardown(void **state)
{
	(void)state;
	json_arena_release(&arena);
	return 0;
}

static const struct json_value *
parse(const char *s)
{
	const struct json_value *v =
	    json_parse(s, strlen(s), json_arena_alloc, &arena, NULL);

	assert_non_null(v);
	return v;
}

static void
test_api__accept(void **state)
{
	static const struct {
		const char *value;
		enum api_error want;
	} t[] = {
	    {"application/vnd.koreader.v1+json", API_OK},
	    {"application/vnd.koreader.v1.2+json", API_OK},
	    {"application/vndXkoreaderXv1+json", API_OK},
	    {"application/vnd.koreader.v01+json", API_OK},
	    {"application/vnd.koreader.v1foo+json", API_OK},
	    {"application/vnd.koreader.v1++json", API_OK},
	    {"application/vnd.koreader.v2+json", API_ERR_ACCEPT_VERSION},
	    {"application/vnd.koreader.v10+json", API_ERR_ACCEPT_VERSION},
	    {"application/vnd.koreader.v0+json", API_ERR_ACCEPT_VERSION},
	    {"application/vnd.koreader.v1+json; charset=utf-8",
	        API_ERR_ACCEPT_FORMAT},
	    {"application/json, application/vnd.koreader.v1+json",
	        API_ERR_ACCEPT_FORMAT},
	    {"*/*", API_ERR_ACCEPT_FORMAT},
	    {"application/json", API_ERR_ACCEPT_FORMAT},
	    {"application/vnd.koreader.v+json", API_ERR_ACCEPT_FORMAT},
	    {"application/vnd.koreader.v1json", API_ERR_ACCEPT_FORMAT},
	    {"application/vnd.koreader.vx1+json", API_ERR_ACCEPT_FORMAT},
	    {"Application/vnd.koreader.v1+json", API_ERR_ACCEPT_FORMAT},
	    {"application/vnd.koreader.v1+JSON", API_ERR_ACCEPT_FORMAT},
	    {"", API_ERR_ACCEPT_FORMAT},
	};
	struct str v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = str_from(t[i].value);
		if (api_accept_check(&v, 1) != t[i].want)
			fail_msg("'%s' -> %d, want %d", t[i].value,
			    api_accept_check(&v, 1), t[i].want);
	}
	assert_int_equal(api_accept_check(NULL, 0), API_ERR_ACCEPT_MISSING);
	v = str_from("application/vnd.koreader.v1+json");
	assert_int_equal(api_accept_check(&v, 2), API_ERR_ACCEPT_FORMAT);
}

static void
test_api__document_rule(void **state)
{
	char long_doc[STORE_MAX_DOCUMENT + 1];

	(void)state;
	assert_true(
	    api_document_valid(str_from("59d481d168cca6267322f150c5f6a2a3")));
	assert_true(api_document_valid(str_from("a_b-c.d e~")));
	assert_true(api_document_valid(str_from("caf\xc3\xa9")));
	assert_false(api_document_valid(str_from("")));
	assert_false(api_document_valid(str_from("a:b")));
	assert_false(api_document_valid(str_from("a/b")));
	assert_false(api_document_valid(str_from("a\tb")));
	assert_false(api_document_valid(str_from("a\x7f")));
	assert_false(api_document_valid((struct str){"a\0b", 3}));
	assert_false(api_document_valid(str_from("\xff")));
	memset(long_doc, 'd', sizeof(long_doc));
	assert_true(
	    api_document_valid((struct str){long_doc, STORE_MAX_DOCUMENT}));
	assert_false(
	    api_document_valid((struct str){long_doc, STORE_MAX_DOCUMENT + 1}));
}

static enum api_error
push(const char *body, struct store_push *p)
{
	return api_push_read(
	    body ? parse(body) : NULL, p, json_arena_alloc, &arena);
}

static void
test_api__push_valid(void **state)
{
	struct store_push p;

	(void)state;
	assert_int_equal(push("{\"document\":\"d1\",\"percentage\":0.4213,"
	                      "\"progress\":\"/body/p[1]\",\"device\":\"kobo\","
	                      "\"device_id\":\"ID\",\"timestamp\":5,\"x\":[1]}",
	                     &p),
	    API_OK);
	assert_true(str_eqs(p.document, "d1"));
	assert_true(p.percentage == 0.4213);
	assert_true(str_eqs(p.progress, "/body/p[1]"));
	assert_true(str_eqs(p.device, "kobo"));
	assert_true(str_eqs(p.device_id, "ID"));
	assert_false(p.has_metadata);

	/* numbers for progress/device/device_id, numeric string percentage */
	assert_int_equal(
	    push("{\"document\":\"d\",\"percentage\":\" 0x10 \","
	         "\"progress\":56,\"device\":1.5,\"device_id\":1e20}",
	        &p),
	    API_OK);
	assert_true(p.percentage == 16);
	assert_true(str_eqs(p.progress, "56"));
	assert_true(str_eqs(p.device, "1.5"));
	assert_true(str_eqs(p.device_id, "1e+20"));

	/* device_id absent or null keeps the stored one; 0 and >1 are fine */
	assert_int_equal(push("{\"document\":\"d\",\"percentage\":0,"
	                      "\"progress\":\"\",\"device\":\"\"}",
	                     &p),
	    API_OK);
	assert_null(p.device_id.p);
	assert_true(str_eqs(p.progress, ""));
	assert_int_equal(push("{\"document\":\"d\",\"percentage\":\"1e-3\","
	                      "\"progress\":\"p\",\"device\":\"k\","
	                      "\"device_id\":null}",
	                     &p),
	    API_OK);
	assert_null(p.device_id.p);
	assert_true(p.percentage == 0.001);
	assert_int_equal(push("{\"document\":\"d\",\"percentage\":1.5,"
	                      "\"progress\":\"p\",\"device\":\"k\"}",
	                     &p),
	    API_OK);
}

static void
test_api__push_metadata(void **state)
{
	struct store_push p;
	char body[STORE_MAX_METADATA + 200];
	int n;

	(void)state;
	assert_int_equal(
	    push("{\"document\":\"d\",\"percentage\":0.5,"
	         "\"progress\":\"p\",\"device\":\"k\",\"metadata\":"
	         "{\"filename\":\"b.epub\",\"title\":\"T\","
	         "\"authors\":\"A\",\"other\":1}}",
	        &p),
	    API_OK);
	assert_true(p.has_metadata);
	assert_true(str_eqs(p.filename, "b.epub"));
	assert_true(str_eqs(p.title, "T"));
	assert_true(str_eqs(p.authors, "A"));
	/* non-string members are absent; a non-object is no metadata */
	assert_int_equal(
	    push("{\"document\":\"d\",\"percentage\":0.5,"
	         "\"progress\":\"p\",\"device\":\"k\",\"metadata\":"
	         "{\"title\":5,\"authors\":null}}",
	        &p),
	    API_OK);
	assert_true(p.has_metadata);
	assert_null(p.title.p);
	assert_null(p.authors.p);
	assert_null(p.filename.p);
	assert_int_equal(push("{\"document\":\"d\",\"percentage\":0.5,"
	                      "\"progress\":\"p\",\"device\":\"k\","
	                      "\"metadata\":null}",
	                     &p),
	    API_OK);
	assert_false(p.has_metadata);
	/* an over-long member is ignored, not an error */
	n = snprintf(body, sizeof(body),
	    "{\"document\":\"d\",\"percentage\":0.5,\"progress\":\"p\","
	    "\"device\":\"k\",\"metadata\":{\"title\":\"%0*d\"}}",
	    STORE_MAX_METADATA + 1, 0);
	assert_true(n > 0 && (size_t)n < sizeof(body));
	assert_int_equal(push(body, &p), API_OK);
	assert_true(p.has_metadata);
	assert_null(p.title.p);
}

static void
test_api__push_invalid(void **state)
{
	static const struct {
		const char *body;
		enum api_error want;
	} t[] = {
	    {NULL, API_ERR_INVALID},
	    {"{}", API_ERR_DOCUMENT},
	    {"{\"percentage\":0.5,\"progress\":\"p\",\"device\":\"k\"}",
	        API_ERR_DOCUMENT},
	    {"{\"document\":null,\"percentage\":0.5}", API_ERR_DOCUMENT},
	    {"{\"document\":\"\"}", API_ERR_DOCUMENT},
	    {"{\"document\":5}", API_ERR_DOCUMENT},
	    {"{\"document\":\"a:b\"}", API_ERR_DOCUMENT},
	    {"{\"document\":\"a/b\"}", API_ERR_DOCUMENT},
	    {"{\"document\":\"a\\nb\"}", API_ERR_DOCUMENT},
	    /* document is checked before the other fields */
	    {"{\"document\":\"a:b\",\"percentage\":\"x\"}", API_ERR_DOCUMENT},
	    {"{\"document\":\"d\",\"progress\":\"p\",\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":null,\"progress\":\"p\","
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":true,\"progress\":\"p\","
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":\"abc\",\"progress\":\"p\","
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":\"nan\",\"progress\":\"p\","
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":\"inf\",\"progress\":\"p\","
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":1e999,\"progress\":\"p\","
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":{},\"progress\":\"p\","
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":null,"
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":false,"
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":{},"
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":[],"
	     "\"device\":\"k\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":\"p\"}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":\"p\","
	     "\"device\":true}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":\"p\","
	     "\"device\":\"k\",\"device_id\":true}",
	        API_ERR_INVALID},
	    {"{\"document\":\"d\",\"percentage\":0.5,\"progress\":\"p\","
	     "\"device\":\"k\",\"device_id\":{}}",
	        API_ERR_INVALID},
	};
	struct store_push p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (push(t[i].body, &p) != t[i].want)
			fail_msg("'%s' -> %d, want %d", t[i].body,
			    push(t[i].body, &p), t[i].want);
}

static void
test_api__field_limit(void **state)
{
	char *body;
	struct store_push p;
	size_t n = STORE_MAX_FIELD + 100;

	(void)state;
	body = json_arena_alloc(&arena, n + 100);
	snprintf(body, n + 100,
	    "{\"document\":\"d\",\"percentage\":0.5,\"progress\":\"%0*d\","
	    "\"device\":\"k\"}",
	    STORE_MAX_FIELD, 0);
	assert_int_equal(push(body, &p), API_OK);
	snprintf(body, n + 100,
	    "{\"document\":\"d\",\"percentage\":0.5,\"progress\":\"%0*d\","
	    "\"device\":\"k\"}",
	    STORE_MAX_FIELD + 1, 0);
	assert_int_equal(push(body, &p), API_ERR_INVALID);
}

static void
test_api__error_bodies(void **state)
{
	struct config cfg;
	struct api *api;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	api = api_new(NULL, &cfg, NULL);
	assert_string_equal(api->errors[API_ERR_UNAUTHORIZED],
	    "{\"code\":2001,\"message\":\"Unauthorized\"}");
	assert_string_equal(api->errors[API_ERR_DOCUMENT],
	    "{\"code\":2004,\"message\":\"Field 'document' not provided.\"}");
	assert_string_equal(api->errors[API_ERR_NOT_FOUND],
	    "{\"code\":404,\"message\":\"Not found.\"}");
	assert_int_equal(api->error_len[API_ERR_INVALID],
	    strlen("{\"code\":2003,\"message\":\"Invalid request\"}"));
	api_free(api);
}

static void
test_api__store_errors(void **state)
{
	(void)state;
	assert_int_equal(api_store_error(STORE_ERR_AUTH), API_ERR_UNAUTHORIZED);
	assert_int_equal(
	    api_store_error(STORE_ERR_NOTFOUND), API_ERR_UNAUTHORIZED);
	assert_int_equal(
	    api_store_error(STORE_ERR_EXISTS), API_ERR_USER_EXISTS);
	assert_int_equal(api_store_error(STORE_ERR_IO), API_ERR_SERVER);
	assert_int_equal(
	    api_store_error(STORE_ERR_UNAVAILABLE), API_ERR_UNAVAILABLE);
	assert_int_equal(api_errors[API_ERR_SERVER].status, 502);
	assert_int_equal(api_errors[API_ERR_SERVER].code, 2000);
	assert_string_equal(
	    api_errors[API_ERR_SERVER].message, "Unknown server error.");
	assert_int_equal(api_errors[API_ERR_UNAVAILABLE].status, 502);
	assert_int_equal(api_errors[API_ERR_UNAVAILABLE].code, 1000);
	assert_int_equal(api_errors[API_ERR_ACCOUNT_NOT_FOUND].status, 404);
	assert_int_equal(api_errors[API_ERR_ACCOUNT_NOT_FOUND].code, 2006);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api__accept),
	    cmocka_unit_test(test_api__document_rule),
	    cmocka_unit_test_teardown(test_api__push_valid, teardown),
	    cmocka_unit_test_teardown(test_api__push_metadata, teardown),
	    cmocka_unit_test_teardown(test_api__push_invalid, teardown),
	    cmocka_unit_test_teardown(test_api__field_limit, teardown),
	    cmocka_unit_test(test_api__error_bodies),
	    cmocka_unit_test(test_api__store_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
