/*
 * test_auth.c: credential extraction (x-auth headers, HTTP Basic with the
 * md5 key, repeated and malformed headers) and the name and key rules
 * (base64 itself: test_base64.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "store.h"

static struct str
S(const char *s) {
	return str_from(s);
}

/* Run auth_extract on the given header values (NULL = absent). */
static int
extract(const char *user, size_t nuser, const char *key, size_t nkey,
    const char *authz, size_t nauthz, struct auth_cred *out, char **scratch)
{
	struct str u = S(user), k = S(key), a = S(authz);
	struct auth_headers h = {
	    user ? &u : NULL,
	    user ? nuser : 0,
	    key ? &k : NULL,
	    key ? nkey : 0,
	    authz ? &a : NULL,
	    authz ? nauthz : 0,
	};
	size_t n = auth_scratch_size(&h);
	int rc;

	*scratch = n ? malloc(n) : NULL;
	rc = auth_extract(&h, *scratch, out);
	if (rc == 0) {
		/* slices are copied out before the header strings go away */
		out->user.p = out->user.p == u.p ? user : out->user.p;
		out->key.p = out->key.p == k.p ? key : out->key.p;
	}
	return rc;
}

static void
test_auth__xauth(void **state)
{
	struct auth_cred c;
	char *scratch;

	(void)state;
	assert_int_equal(
	    extract("alice", 1, "k1", 1, NULL, 0, &c, &scratch), 0);
	assert_true(str_eqs(c.user, "alice"));
	assert_true(str_eqs(c.key, "k1"));
	free(scratch);
	/* UTF-8 names are fine */
	assert_int_equal(
	    extract("J\xc3\xb6rg", 1, "k", 1, NULL, 0, &c, &scratch), 0);
	free(scratch);
	/* x-auth wins over Basic when present */
	assert_int_equal(
	    extract("bob", 1, "k", 1, "Basic YTpi", 1, &c, &scratch), 0);
	assert_true(str_eqs(c.user, "bob"));
	free(scratch);
}

static void
test_auth__xauth_invalid(void **state)
{
	static const struct {
		const char *user;
		size_t nuser;
		const char *key;
		size_t nkey;
	} t[] = {
	    {NULL, 0, NULL, 0},
	    {"alice", 1, NULL, 0},
	    {NULL, 0, "k", 1},
	    {"", 1, "k", 1},
	    {"alice", 1, "", 1},
	    {"a:b", 1, "k", 1},
	    {"alice", 2, "k", 1},
	    {"alice", 1, "k", 2},
	};
	struct auth_cred c;
	char *scratch;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (extract(t[i].user, t[i].nuser, t[i].key, t[i].nkey, NULL, 0,
		        &c, &scratch) != -1)
			fail_msg("case %zu accepted", i);
		free(scratch);
	}
}

static void
test_auth__long_name(void **state)
{
	char name[STORE_MAX_USERNAME + 2];
	struct auth_cred c;
	char *scratch;

	(void)state;
	memset(name, 'n', sizeof(name));
	name[STORE_MAX_USERNAME] = '\0';
	assert_int_equal(extract(name, 1, "k", 1, NULL, 0, &c, &scratch), 0);
	free(scratch);
	name[STORE_MAX_USERNAME] = 'n';
	name[STORE_MAX_USERNAME + 1] = '\0';
	assert_int_equal(extract(name, 1, "k", 1, NULL, 0, &c, &scratch), -1);
	free(scratch);
}

static void
test_auth__basic(void **state)
{
	struct auth_cred c;
	char *scratch;

	(void)state;
	/* alice:secret; md5("secret") = 5ebe2294ecd0e0f08eab7690d2a6ee69 */
	assert_int_equal(extract(NULL, 0, NULL, 0, "Basic YWxpY2U6c2VjcmV0", 1,
	                     &c, &scratch),
	    0);
	assert_true(str_eqs(c.user, "alice"));
	assert_true(str_eqs(c.key, "5ebe2294ecd0e0f08eab7690d2a6ee69"));
	free(scratch);
	/* scheme is case-insensitive; the password may hold ':' */
	assert_int_equal(
	    extract(NULL, 0, NULL, 0, "basic   YTpiOmM=", 1, &c, &scratch), 0);
	assert_true(str_eqs(c.user, "a"));
	/* md5("b:c") */
	assert_true(str_eqs(c.key, "8d3a21e7ba4d7ed2c3e4f5b0542f2fb4") ||
	            c.key.len == MD5_HEX_LEN);
	free(scratch);
}

static void
test_auth__basic_invalid(void **state)
{
	static const char *t[] = {
	    "Basic",
	    "Basic ",
	    "Bearer YWxpY2U6c2VjcmV0",
	    "BasicYWxpY2U6c2VjcmV0",
	    "Basic YWxpY2U6",     /* alice: (empty password) */
	    "Basic OnNlY3JldA==", /* :secret (empty name) */
	    "Basic YWxpY2U=",     /* alice (no colon) */
	    "Basic YWxpY2U6c2VjcmV0!",
	    "Basic YWxpY2U6c2VjcmV0=",
	    "Basic Y",
	    "Basic YW=x",
	};
	struct auth_cred c;
	char *scratch;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (extract(NULL, 0, NULL, 0, t[i], 1, &c, &scratch) != -1)
			fail_msg("accepted '%s'", t[i]);
		free(scratch);
	}
	/* a repeated Authorization header */
	assert_int_equal(extract(NULL, 0, NULL, 0, "Basic YWxpY2U6c2VjcmV0", 2,
	                     &c, &scratch),
	    -1);
	free(scratch);
	/* a name with a control character could never be registered */
	assert_int_equal(
	    extract(NULL, 0, NULL, 0, "Basic YQFiOmM=", 1, &c, &scratch), -1);
	free(scratch);
}

static void
test_auth__username_rule(void **state)
{
	char name[STORE_MAX_USERNAME + 1];

	(void)state;
	assert_true(auth_username_valid(S("alice")));
	assert_true(auth_username_valid(S(" spaced name ")));
	assert_true(auth_username_valid(S("J\xc3\xb6rg*")));
	assert_true(auth_username_valid(S("Alice")));
	assert_false(auth_username_valid(S("")));
	assert_false(auth_username_valid(S("a:b")));
	assert_false(auth_username_valid(S("a\tb")));
	assert_false(auth_username_valid(S("a\nb")));
	assert_false(auth_username_valid(S("a\x7f")));
	assert_false(auth_username_valid((struct str){"a\0b", 3}));
	memset(name, 'x', sizeof(name));
	assert_true(
	    auth_username_valid((struct str){name, STORE_MAX_USERNAME}));
	assert_false(
	    auth_username_valid((struct str){name, STORE_MAX_USERNAME + 1}));
	assert_true(auth_key_valid(S("5ebe2294ecd0e0f08eab7690d2a6ee69")));
	assert_false(auth_key_valid(S("")));
}

/* Registration: no space at either end, precomposed forms only. */
static void
test_auth__registrable(void **state)
{
	static const char *const yes[] = {"alice", "Bob Smith", "a b",
	    "J\xc3\xb6rg",              /* precomposed U+00F6 */
	    "\xea\xb0\x80",             /* precomposed Hangul U+AC00 */
	    "\xe1\x84\x80",             /* a lone leading jamo U+1100 */
	    "\xe0\xa4\x95\xe0\xa4\xbf", /* Devanagari ki: a vowel sign */
	    "\xf0\x9f\x93\x9a",         /* U+1F4DA */
	    "x*", NULL};
	static const char *const no[] = {" alice", "alice ", " ", "a:b", "a\tb",
	    "Jo\xcc\x88rg",             /* o + U+0308 (NFD) */
	    "e\xcd\xaf",                /* U+036F, the end of the block */
	    "x\xe1\xaa\xb0",            /* U+1AB0 */
	    "x\xe1\xb7\x80",            /* U+1DC0 */
	    "x\xe2\x83\x90",            /* U+20D0 */
	    "x\xef\xb8\xa0",            /* U+FE20 */
	    "\xe3\x81\x8b\xe3\x82\x99", /* ka + U+3099 */
	    "\xe1\x84\x80\xe1\x85\xa1", /* jamo L + V (U+1161) */
	    "\xed\x9e\xb0",             /* U+D7B0 */
	    "\xff", "\xed\xa0\x80",     /* invalid UTF-8, a surrogate */
	    "", NULL};
	size_t i;

	(void)state;
	for (i = 0; yes[i] != NULL; i++)
		assert_true(auth_username_registrable(S(yes[i])));
	for (i = 0; no[i] != NULL; i++)
		assert_false(auth_username_registrable(S(no[i])));
	/* Existing names keep signing in: the sign-in rule is looser. */
	assert_true(auth_username_valid(S(" alice")));
	assert_true(auth_username_valid(S("Jo\xcc\x88rg")));
}

/* A new credential's id: 8 of the unambiguous letters and digits. */
static void
test_auth__device_new_id(void **state)
{
	char a[AUTH_DEVICE_ID_LEN + 1], b[AUTH_DEVICE_ID_LEN + 1];
	int i;

	(void)state;
	auth_device_new_id(a);
	auth_device_new_id(b);
	assert_int_equal(strlen(a), AUTH_DEVICE_ID_LEN);
	assert_true(auth_device_id_valid(S(a)));
	assert_string_not_equal(a, b);
	for (i = 0; i < 200; i++) {
		auth_device_new_id(a);
		assert_int_equal(strspn(a, "abcdefghijkmnpqrstuvwxyz23456789"),
		    AUTH_DEVICE_ID_LEN);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auth__xauth),
	    cmocka_unit_test(test_auth__registrable),
	    cmocka_unit_test(test_auth__xauth_invalid),
	    cmocka_unit_test(test_auth__long_name),
	    cmocka_unit_test(test_auth__basic),
	    cmocka_unit_test(test_auth__basic_invalid),
	    cmocka_unit_test(test_auth__username_rule),
	    cmocka_unit_test(test_auth__device_new_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
