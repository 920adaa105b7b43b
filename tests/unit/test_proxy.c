/*
 * test_proxy.c: trusted_proxies parsing (addresses, CIDRs, separators,
 * errors), matching for IPv4, IPv6 and IPv4-mapped peers, and the client
 * address taken from X-Forwarded-For (rightmost untrusted hop, several
 * header lines, garbage hops), X-Real-IP and X-Forwarded-Proto, and the
 * per-client grouping of addresses (IPv6 per /64).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "proxy.h"

static struct proxy_list *
parse_ok(const char *text)
{
	struct proxy_list *pl = NULL;
	struct buf why = BUF_INIT;

	assert_int_equal(proxy_list_parse(text, &pl, &why), 0);
	buf_release(&why);
	return pl;
}

static bool
match(const struct proxy_list *pl, const char *addr)
{
	unsigned char a[16];

	assert_true(proxy_parse_addr(str_from(addr), a));
	return proxy_list_match(pl, a);
}

/* IPv4 as inet_pton takes it, the fast dotted-quad way included: the same
 * answer and bytes for the plain forms and for every near miss. */
static void
test_proxy__parse_addr_ipv4(void **state)
{
	static const char *const t[] = {"0.0.0.0", "127.0.0.1", "10.0.0.1",
	    "192.168.100.254", "255.255.255.255", "256.1.1.1", "1.2.3.256",
	    "01.2.3.4", "1.2.3.04", "1.2.3.0", "1.0.0.0", "1.2.3", "1.2.3.4.5",
	    "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4x", "1.2.3.-1", "1.2.3.4/8",
	    "0x1.2.3.4", "1234.1.1.1", "1.2.3.1000", "999.0.0.1", "::1",
	    "::ffff:1.2.3.4", "", "."};
	unsigned char a[16], want[4];
	size_t i;
	bool ok;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok = proxy_parse_addr(str_from(t[i]), a);
		if (strchr(t[i], ':') != NULL)
			continue;
		if (ok != (inet_pton(AF_INET, t[i], want) == 1))
			fail_msg("%s: got %d", t[i], (int)ok);
		if (ok && (memcmp(a + 12, want, 4) != 0 || a[10] != 0xff ||
		              a[11] != 0xff || a[0] != 0))
			fail_msg("%s: wrong bytes", t[i]);
	}
	assert_true(proxy_parse_addr(STR_LIT(" [10.1.2.3] "), a));
	assert_int_equal(a[12], 10);
	assert_int_equal(a[15], 3);
}

static void
test_proxy__parse(void **state)
{
	struct proxy_list *pl;
	struct buf why = BUF_INIT;
	static const char *const bad[] = {"10.0.0.1/33", "::1/129", "10.0.0/8",
	    "localhost", "10.0.0.1/", "10.0.0.1/x", "1.2.3.4/0008", NULL};
	size_t i;

	(void)state;
	assert_null(parse_ok(""));
	assert_null(parse_ok(" ,, "));
	pl = parse_ok("127.0.0.1, 10.0.0.0/8 fd00::/8,[::1]");
	assert_non_null(pl);
	proxy_list_free(pl);
	for (i = 0; bad[i] != NULL; i++) {
		pl = NULL;
		buf_reset(&why);
		assert_int_equal(proxy_list_parse(bad[i], &pl, &why), -1);
		assert_null(pl);
		assert_non_null(strstr(why.data, "not a numeric address"));
	}
	buf_release(&why);
}

static void
test_proxy__match(void **state)
{
	struct proxy_list *pl =
	    parse_ok("127.0.0.1 10.0.0.0/8 172.16.0.0/12 2001:db8::/32 ::1");

	(void)state;
	assert_true(match(pl, "127.0.0.1"));
	assert_false(match(pl, "127.0.0.2"));
	assert_true(match(pl, "10.255.1.2"));
	assert_false(match(pl, "11.0.0.1"));
	assert_true(match(pl, "172.31.255.255"));
	assert_false(match(pl, "172.32.0.0"));
	assert_true(match(pl, "2001:db8:ffff::1"));
	assert_false(match(pl, "2001:db9::1"));
	assert_true(match(pl, "::1"));
	/* A peer on a dual-stack socket arrives IPv4-mapped. */
	assert_true(match(pl, "::ffff:10.1.2.3"));
	assert_false(
	    proxy_list_match(NULL, (const unsigned char *)"0123456789abcdef"));
	proxy_list_free(pl);

	pl = parse_ok("0.0.0.0/0");
	assert_true(match(pl, "203.0.113.9"));
	assert_false(match(pl, "2001:db8::1"));
	proxy_list_free(pl);
}

#define H(n, v)                                                                \
	{                                                                      \
		{(n), sizeof(n) - 1},                                          \
		{                                                              \
			(v), sizeof(v) - 1                                     \
		}                                                              \
	}

static void
resolve(const struct proxy_list *pl, const struct http_header *h, size_t n,
    const char *want, bool want_https)
{
	char peer[64] = "127.0.0.1";
	bool https = true;

	proxy_resolve(pl, h, n, peer, sizeof(peer), &https);
	assert_string_equal(peer, want);
	assert_int_equal(https, want_https);
}

static void
test_proxy__forwarded_for(void **state)
{
	struct proxy_list *pl = parse_ok("127.0.0.1, 10.0.0.0/8");
	const struct http_header one[] = {H("X-Forwarded-For", "203.0.113.7")};
	const struct http_header chain[] = {
	    H("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.0.0.5")};
	const struct http_header spoof[] = {
	    H("X-Forwarded-For", "1.1.1.1, 203.0.113.7")};
	const struct http_header lines[] = {H("X-Forwarded-For", "192.0.2.1"),
	    H("Accept", "x"), H("X-Forwarded-For", "10.0.0.9, 10.0.0.8")};
	const struct http_header trusted_only[] = {
	    H("X-Forwarded-For", "10.0.0.3, 10.0.0.4")};
	const struct http_header garbage[] = {
	    H("X-Forwarded-For", "203.0.113.7, unknown, 10.0.0.2")};
	const struct http_header all_garbage[] = {
	    H("X-Forwarded-For", "evil\r\n"), H("X-Real-IP", "192.0.2.55")};
	const struct http_header v6[] = {H("X-Forwarded-For", "[2001:db8::7]")};

	(void)state;
	resolve(pl, one, 1, "203.0.113.7", false);
	resolve(pl, chain, 1, "203.0.113.7", false);
	/* The leftmost hop is the client's own claim: not believed. */
	resolve(pl, spoof, 1, "203.0.113.7", false);
	/* Header lines join in order; trusted hops are skipped. */
	resolve(pl, lines, 3, "192.0.2.1", false);
	resolve(pl, trusted_only, 1, "10.0.0.3", false);
	/* A hop that is no address ends the walk at the last good one. */
	resolve(pl, garbage, 1, "10.0.0.2", false);
	/* X-Forwarded-For present but useless: X-Real-IP. */
	resolve(pl, all_garbage, 2, "192.0.2.55", false);
	resolve(pl, v6, 1, "2001:db8::7", false);
	proxy_list_free(pl);
}

static void
test_proxy__real_ip_and_proto(void **state)
{
	struct proxy_list *pl = parse_ok("127.0.0.1");
	const struct http_header real[] = {H("X-Real-IP", " 192.0.2.8 ")};
	const struct http_header two[] = {
	    H("X-Real-IP", "192.0.2.8"), H("X-Real-IP", "192.0.2.9")};
	const struct http_header bad[] = {H("X-Real-IP", "192.0.2.300")};
	const struct http_header proto[] = {H("X-Forwarded-Proto", "HTTPS")};
	const struct http_header mixed[] = {
	    H("X-Forwarded-Proto", "https, http")};
	const struct http_header chain[] = {
	    H("X-Forwarded-Proto", "https,https"),
	    H("X-Forwarded-For", "::ffff:192.0.2.4")};
	const struct http_header none[] = {H("Host", "x")};

	(void)state;
	resolve(pl, real, 1, "192.0.2.8", false);
	resolve(pl, two, 2, "127.0.0.1", false);
	resolve(pl, bad, 1, "127.0.0.1", false);
	resolve(pl, proto, 1, "127.0.0.1", true);
	resolve(pl, mixed, 1, "127.0.0.1", false);
	resolve(pl, chain, 2, "192.0.2.4", true);
	resolve(pl, none, 1, "127.0.0.1", false);
	proxy_list_free(pl);
}

/* The grouped form of addr, as text of its 16 bytes in hex. */
static const char *
group(const char *addr)
{
	static char out[33];
	unsigned char a[16];
	int i;

	assert_true(proxy_parse_addr(str_from(addr), a));
	proxy_addr_group(a);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", a[i]);
	return out;
}

/*
 * One grouping for every per-address count (issue 12): IPv4 whole (also
 * written v4-mapped), IPv6 by its /64.
 */
static void
test_proxy__addr_group(void **state)
{
	char a[33];

	(void)state;
	assert_string_equal(
	    group("192.0.2.7"), "00000000000000000000ffffc0000207");
	assert_string_equal(
	    group("::ffff:192.0.2.7"), "00000000000000000000ffffc0000207");
	assert_string_equal(group("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
	    "20010db8000100020000000000000000");
	/* Every address of a /64 is one client, the next /64 another. */
	snprintf(a, sizeof(a), "%s", group("2001:db8:1:2::1"));
	assert_string_equal(group("2001:db8:1:2:ffff:ffff:ffff:ffff"), a);
	assert_string_not_equal(group("2001:db8:1:3::1"), a);
	assert_string_equal(group("::1"), "00000000000000000000000000000000");
	/* Two IPv4 addresses stay apart. */
	snprintf(a, sizeof(a), "%s", group("192.0.2.7"));
	assert_string_not_equal(group("192.0.2.8"), a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proxy__parse),
	    cmocka_unit_test(test_proxy__parse_addr_ipv4),
	    cmocka_unit_test(test_proxy__match),
	    cmocka_unit_test(test_proxy__forwarded_for),
	    cmocka_unit_test(test_proxy__real_ip_and_proto),
	    cmocka_unit_test(test_proxy__addr_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
