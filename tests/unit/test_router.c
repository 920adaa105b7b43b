/*
 * test_router.c: path normalisation (slashes, trailing slash, base path,
 * /koreader), the base path's own form, percent-decoding, and route lookup
 * (found, unknown, wrong method, HEAD as GET, hidden routes, parameters)
 * and Allow lists on the protocol's own route table (api.c's api_routes,
 * with its handlers and flags). The front router's table: test_front.c.
 *
 * UNIT_INCLUDES: src/api.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/api.c"

#define NROUTES (sizeof(api_routes) / sizeof(api_routes[0]))

/* Find method path in the table, which must be found; returns the route. */
static const struct route *
found(enum http_method m, const char *path, struct router_match *out)
{
	enum router_result r =
	    router_find(api_routes, NROUTES, m, str_from(path), out);

	if (r != ROUTER_FOUND)
		fail_msg(
		    "method %d '%s': %d, want found", (int)m, path, (int)r);
	return out->route;
}

static void
test_router__normalize(void **state)
{
	static const struct {
		const char *in, *base, *want;
	} t[] = {
	    {"/", "", "/"},
	    {"//", "", "/"},
	    {"/users/auth", "", "/users/auth"},
	    {"/users/auth/", "", "/users/auth"},
	    {"/users/auth//", "", "/users/auth"},
	    {"//users///auth", "", "/users/auth"},
	    {"/Users/auth", "", "/Users/auth"},
	    {"/koreader/users/auth", "", "/users/auth"},
	    {"/koreader", "", "/"},
	    {"/koreader/", "", "/"},
	    {"/koreaderx/users/auth", "", "/koreaderx/users/auth"},
	    {"/kosync/users/auth", "/kosync", "/users/auth"},
	    {"/kosync//users/auth/", "/kosync", "/users/auth"},
	    {"/kosync/koreader/users/auth", "/kosync", "/users/auth"},
	    {"/kosyncx/users/auth", "/kosync", "/kosyncx/users/auth"},
	    {"/users/auth", "/kosync", "/users/auth"},
	    {"/a/b/kosync", "/kosync", "/a/b/kosync"},
	    {"/kosync", "/kosync", "/"},
	    {"/syncs/progress/", "", "/syncs/progress"},
	    {"/syncs/progress/abc%2F", "", "/syncs/progress/abc%2F"},
	    {"*", "", "*"},
	    {"", "", ""},
	};
	char out[64];
	struct str r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = router_normalize(
		    str_from(t[i].in), str_from(t[i].base), out);
		if (!str_eqs(r, t[i].want))
			fail_msg("'%s' (base '%s') -> '%.*s', want '%s'",
			    t[i].in, t[i].base, (int)r.len, r.p, t[i].want);
	}
}

/* The option base_path in the form router_normalize compares. */
static void
test_router__base(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {NULL, ""},
	    {"", ""},
	    {"/", ""},
	    {"///", ""},
	    {"/kosync", "/kosync"},
	    {"//kosync//", "/kosync"},
	    {"kosync", "/kosync"},
	    {"/a//b/", "/a/b"},
	};
	char out[16];
	struct str r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = router_base(t[i].in, out);
		if (!str_eqs(r, t[i].want) || r.p[r.len] != '\0')
			fail_msg("'%s' -> '%.*s', want '%s'",
			    t[i].in ? t[i].in : "(null)", (int)r.len, r.p,
			    t[i].want);
	}
}

static void
test_router__unescape(void **state)
{
	static const struct {
		const char *in;
		long n;
		const char *want;
	} t[] = {
	    {"abc", 3, "abc"},
	    {"", 0, ""},
	    {"a%20b", 3, "a b"},
	    {"%2f%2F", 2, "//"},
	    {"a+b", 3, "a+b"},
	    {"%41%6a", 2, "Aj"},
	    {"%", -1, NULL},
	    {"%4", -1, NULL},
	    {"a%4", -1, NULL},
	    {"%zz", -1, NULL},
	    {"%g0", -1, NULL},
	    {"%0g", -1, NULL},
	};
	char out[32];
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = str_unescape(str_from(t[i].in), out);
		if (n != t[i].n)
			fail_msg("'%s' -> %ld", t[i].in, n);
		if (n > 0)
			assert_memory_equal(out, t[i].want, (size_t)n);
	}
	n = str_unescape(str_from("a%00b"), out);
	assert_int_equal(n, 3);
	assert_int_equal(out[1], '\0');
}

/* Each request reaches its handler, with the route's flags. */
static void
test_router__find(void **state)
{
	static const struct {
		enum http_method m;
		const char *path;
		route_fn *handler;
		unsigned flags;
	} t[] = {
	    {HTTP_M_GET, "/healthcheck", api_healthcheck, 0},
	    {HTTP_M_HEAD, "/healthcheck", api_healthcheck, 0},
	    {HTTP_M_POST, "/users/create", api_users_create, ROUTE_BODY},
	    {HTTP_M_GET, "/users/auth", api_users_auth, ROUTE_AUTH},
	    {HTTP_M_PUT, "/syncs/progress", api_progress_put,
	        ROUTE_AUTH | ROUTE_BODY},
	    {HTTP_M_GET, "/syncs/progress/abc%20d", api_progress_get,
	        ROUTE_AUTH},
	    {HTTP_M_HEAD, "/syncs/progress/x", api_progress_get, ROUTE_AUTH},
	    {HTTP_M_DELETE, "/users/me", api_users_delete, ROUTE_AUTH},
	    {HTTP_M_PUT, "/users/password", api_users_password,
	        ROUTE_AUTH | ROUTE_BODY},
	};
	struct router_match m;
	const struct route *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = found(t[i].m, t[i].path, &m);
		if (r->handler != t[i].handler || r->flags != t[i].flags)
			fail_msg("'%s': another handler or flags %u", t[i].path,
			    r->flags);
	}
	found(HTTP_M_GET, "/syncs/progress/abc%20d", &m);
	assert_true(str_eqs(m.param, "abc%20d"));
	/* and every route of the table with a handler is reachable */
	for (i = 0; i < NROUTES; i++) {
		if (api_routes[i].handler == NULL ||
		    strchr(api_routes[i].pattern, ':') != NULL)
			continue;
		assert_ptr_equal(
		    found(api_routes[i].method, api_routes[i].pattern, &m),
		    &api_routes[i]);
	}
}

static void
test_router__not_found(void **state)
{
	static const char *t[] = {
	    "/",
	    "/nope",
	    "/Users/auth",
	    "/users/AUTH",
	    "/users",
	    "/users/auth/x",
	    "/syncs/progress/a/b",
	    "/syncs/progressx",
	    "/healthcheckx",
	    "*",
	    "",
	};
	struct router_match m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (router_find(api_routes, NROUTES, HTTP_M_GET, str_from(t[i]),
		        &m) != ROUTER_NOT_FOUND)
			fail_msg("'%s' found", t[i]);
	/* the hidden route: a pull without a document is unknown */
	assert_int_equal(router_find(api_routes, NROUTES, HTTP_M_GET,
	                     str_from("/syncs/progress"), &m),
	    ROUTER_NOT_FOUND);
	assert_int_equal(router_find(api_routes, NROUTES, HTTP_M_HEAD,
	                     str_from("/syncs/progress"), &m),
	    ROUTER_NOT_FOUND);
}

static void
test_router__bad_method(void **state)
{
	struct router_match m;
	char allow[64];

	(void)state;
	assert_int_equal(router_find(api_routes, NROUTES, HTTP_M_POST,
	                     str_from("/users/auth"), &m),
	    ROUTER_BAD_METHOD);
	router_allow_list(m.allow, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, OPTIONS");
	assert_int_equal(router_find(api_routes, NROUTES, HTTP_M_DELETE,
	                     str_from("/syncs/progress"), &m),
	    ROUTER_BAD_METHOD);
	router_allow_list(m.allow, allow, sizeof(allow));
	assert_string_equal(allow, "PUT, OPTIONS");
	assert_int_equal(router_find(api_routes, NROUTES, HTTP_M_OTHER,
	                     str_from("/users/create"), &m),
	    ROUTER_BAD_METHOD);
	router_allow_list(m.allow, allow, sizeof(allow));
	assert_string_equal(allow, "POST, OPTIONS");
	assert_int_equal(router_find(api_routes, NROUTES, HTTP_M_OPTIONS,
	                     str_from("/syncs/progress/x"), &m),
	    ROUTER_BAD_METHOD);
	router_allow_list(m.allow, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, OPTIONS");
	/* a short buffer truncates at a whole name */
	assert_int_equal(router_allow_list(m.allow, allow, 8), 3);
	assert_string_equal(allow, "GET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_router__normalize),
	    cmocka_unit_test(test_router__base),
	    cmocka_unit_test(test_router__unescape),
	    cmocka_unit_test(test_router__find),
	    cmocka_unit_test(test_router__not_found),
	    cmocka_unit_test(test_router__bad_method),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
