/*
 * test_addr.c: the one parser of addresses (addr.c): listen addresses,
 * the "every address" forms, and addresses to connect to (redis_address).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "addr.h"

static void
test_addr__listen(void **state)
{
	static const char *const good[] = {":8080", "127.0.0.1:0", "[::1]:8080",
	    "0.0.0.0:65535", "*:80", "[::]:1"};
	static const char *const bad[] = {"", "8080", "localhost:80",
	    "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3.4:8x",
	    "::1:80", "[::1]", "[::1]80", "[nope]:80", "1.2.3:80",
	    "127.0.0.1:123456"};
	struct sockaddr_storage ss;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(addr_parse_listen(good[i], &ss, &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(addr_parse_listen(bad[i], &ss, &err), -1);
		assert_non_null(err);
	}
	assert_int_equal(addr_parse_listen(":8080", &ss, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 8080);
	assert_int_equal(addr_parse_listen("127.0.0.1:81", &ss, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 81);
	assert_int_equal(addr_parse_listen("[::1]:80", &ss, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addr_parse_listen("::1:80", &ss, &err), -1);
	assert_string_equal(
	    err, "an IPv6 address needs brackets: [address]:port");
}

static void
test_addr__any(void **state)
{
	(void)state;
	assert_true(addr_is_any(":8080"));
	assert_true(addr_is_any("*:8080"));
	assert_false(addr_is_any("[::]:8080"));
	assert_false(addr_is_any("0.0.0.0:8080"));
	assert_false(addr_is_any("127.0.0.1:8080"));
	assert_false(addr_is_any("8080"));
}

static void
test_addr__connect(void **state)
{
	static const char *const bad[] = {"", ":6379", "127.0.0.1:0",
	    "localhost:6379", "[::1]", "unix:", "6379", "[::1]:0"};
	char *host, *path;
	const char *err;
	int port;
	size_t i;

	(void)state;
	assert_int_equal(
	    addr_parse_connect("127.0.0.1:6379", &host, &port, &path, &err), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6379);
	assert_null(path);
	free(host);

	assert_int_equal(
	    addr_parse_connect("[::1]:6380", &host, &port, &path, &err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 6380);
	assert_null(path);
	free(host);

	assert_int_equal(addr_parse_connect(
	                     "unix:/run/redis.sock", &host, &port, &path, &err),
	    0);
	assert_null(host);
	assert_int_equal(port, 0);
	assert_string_equal(path, "/run/redis.sock");
	free(path);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(
		    addr_parse_connect(bad[i], &host, &port, &path, &err), -1);
		assert_null(host);
		assert_null(path);
		assert_non_null(err);
	}
	assert_int_equal(
	    addr_parse_connect("unix:", &host, &port, &path, &err), -1);
	assert_string_equal(err, "the socket path is empty");
	assert_int_equal(
	    addr_parse_connect(":6379", &host, &port, &path, &err), -1);
	assert_string_equal(err, "not an address");
	assert_true(addr_is_unix("unix:/x"));
	assert_false(addr_is_unix("127.0.0.1:6379"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr__listen),
	    cmocka_unit_test(test_addr__any),
	    cmocka_unit_test(test_addr__connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
