/*
 * test_hookfmt.c: the formats of events out: event names, the stored
 * webhooks' text (round trip, strict reading), URLs, the private-address
 * rule, the signature (RFC 4231's HMAC-SHA256 vectors) and the status
 * line of an answer (whole, split, malformed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "hookfmt.h"

static void
test_hookfmt__event_names(void **state)
{
	(void)state;
	assert_string_equal(hookfmt_event_name(HOOK_EV_FINISHED), "finished");
	assert_int_equal(hookfmt_event_bit(str_from("statistics_uploaded")),
	    HOOK_EV_STATISTICS);
	assert_int_equal(hookfmt_event_bit(str_from("credential_first_use")),
	    HOOK_EV_CREDENTIAL);
	/* "test" is sent, never chosen. */
	assert_int_equal(hookfmt_event_bit(str_from("test")), 0);
	assert_int_equal(hookfmt_event_bit(str_from("Progress")), 0);
	assert_null(hookfmt_event_name(3));
	assert_int_equal(hookfmt_events_parse(str_from("progress,finished")),
	    HOOK_EV_PROGRESS | HOOK_EV_FINISHED);
	assert_int_equal(
	    hookfmt_events_parse(str_from("started")), HOOK_EV_STARTED);
	assert_int_equal(hookfmt_events_parse(str_from("")), 0);
	assert_int_equal(hookfmt_events_parse(str_from("progress,")), 0);
	assert_int_equal(hookfmt_events_parse(str_from(",progress")), 0);
	assert_int_equal(hookfmt_events_parse(str_from("progress,test")), 0);
	assert_int_equal(
	    hookfmt_events_parse(str_from("progress, started")), 0);
}

static void
test_hookfmt__round_trip(void **state)
{
	struct hook_list l, back;
	struct buf b = BUF_INIT;

	(void)state;
	memset(&l, 0, sizeof(l));
	strcpy(l.h[0].id, "abcd2345");
	strcpy(l.h[0].url, "http://192.0.2.1:8080/a?b=\"c\"");
	strcpy(l.h[0].secret, "s\\e\"cret-0123456789");
	l.h[0].events = HOOK_EV_PROGRESS | HOOK_EV_FINISHED;
	l.h[0].created = 1796550709;
	strcpy(l.h[1].id, "zzzz9999");
	strcpy(l.h[1].url, "http://[2001:db8::1]/");
	strcpy(l.h[1].secret, "0123456789abcdef");
	l.h[1].events = HOOK_EV_ALL;
	l.n = 2;
	hookfmt_write(&b, &l);
	assert_int_equal(hookfmt_parse(b.data, b.len, &back), 0);
	assert_int_equal(back.n, 2);
	assert_memory_equal(&back.h[0], &l.h[0], sizeof(l.h[0]));
	assert_memory_equal(&back.h[1], &l.h[1], sizeof(l.h[1]));
	buf_release(&b);
	assert_int_equal(hookfmt_parse("", 0, &back), 0);
	assert_int_equal(back.n, 0);
}

static void
test_hookfmt__parse_strict(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "[1]",
	    "[{\"id\":\"a\",\"url\":\"u\",\"secret\":\"s\",\"events\":[\"x\"],"
	    "\"created\":1}]",
	    "[{\"id\":\"a\",\"url\":\"u\",\"secret\":\"s\",\"events\":[],"
	    "\"created\":-1}]",
	    "[{\"id\":\"toolongid\",\"url\":\"u\",\"secret\":\"s\",\"events\":"
	    "[],\"created\":1}]",
	    "[{\"url\":\"u\",\"secret\":\"s\",\"events\":[],\"created\":1}]",
	    "[{\"id\":\"a\\u0000\",\"url\":\"u\",\"secret\":\"s\",\"events\":"
	    "[],\"created\":1}]",
	    "[{},{},{},{},{},{}]",
	    "[",
	};
	struct hook_list l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hookfmt_parse(bad[i], strlen(bad[i]), &l), -1);
		assert_int_equal(l.n, 0);
	}
}

static void
test_hookfmt__url(void **state)
{
	static const struct {
		const char *url;
		int ok;
		const char *host, *path;
		int port;
	} cases[] = {
	    {"http://1.2.3.4", 0, "1.2.3.4", "/", 80},
	    {"HTTP://1.2.3.4:8123/api/webhook/x?y=1", 0, "1.2.3.4:8123",
	        "/api/webhook/x?y=1", 8123},
	    {"http://[2001:db8::5]:9000/h", 0, "[2001:db8::5]:9000", "/h",
	        9000},
	    {"https://1.2.3.4/", -1, NULL, NULL, 0},
	    {"http://example.com/", -1, NULL, NULL, 0},
	    {"http://user@1.2.3.4/", -1, NULL, NULL, 0},
	    {"http://1.2.3.4:0/", -1, NULL, NULL, 0},
	    {"http://1.2.3.4:65536/", -1, NULL, NULL, 0},
	    {"http://1.2.3.4:/", -1, NULL, NULL, 0},
	    {"http://1.2.3.4/a b", -1, NULL, NULL, 0},
	    {"http://1.2.3.4/a#f", -1, NULL, NULL, 0},
	    {"http://[::1/", -1, NULL, NULL, 0},
	    {"http:///x", -1, NULL, NULL, 0},
	    {"ftp://1.2.3.4/", -1, NULL, NULL, 0},
	    {"http://1.2.3/", -1, NULL, NULL, 0},
	};
	struct hook_url u;
	const char *err;
	size_t i;
	int port;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = hookfmt_url_parse(str_from(cases[i].url), &u, &err);

		assert_int_equal(rc, cases[i].ok);
		if (rc != 0) {
			assert_non_null(err);
			continue;
		}
		assert_string_equal(u.host, cases[i].host);
		assert_string_equal(u.path, cases[i].path);
		port = u.addr.ss_family == AF_INET
		           ? ntohs(((struct sockaddr_in *)&u.addr)->sin_port)
		           : ntohs(((struct sockaddr_in6 *)&u.addr)->sin6_port);
		assert_int_equal(port, cases[i].port);
	}
	assert_int_equal(
	    hookfmt_url_parse(str_from("https://1.2.3.4/"), &u, &err), -1);
	assert_non_null(strstr(err, "https is not supported"));
}

static bool
private_of(const char *url)
{
	struct hook_url u;
	const char *err;

	assert_int_equal(hookfmt_url_parse(str_from(url), &u, &err), 0);
	return hookfmt_addr_is_private(&u.addr);
}

static void
test_hookfmt__private(void **state)
{
	static const char *const refused[] = {
	    "http://127.0.0.1/",
	    "http://127.255.0.9/",
	    "http://10.0.0.1/",
	    "http://172.16.0.1/",
	    "http://172.31.255.255/",
	    "http://192.168.0.1/",
	    "http://169.254.169.254/",
	    "http://100.64.0.1/",
	    "http://0.0.0.0/",
	    "http://224.0.0.1/",
	    "http://255.255.255.255/",
	    "http://192.0.2.1/",
	    "http://198.18.0.1/",
	    "http://[::1]/",
	    "http://[::]/",
	    "http://[fd12::1]/",
	    "http://[fe80::1]/",
	    "http://[::ffff:10.0.0.1]/",
	    "http://[::ffff:127.0.0.1]/",
	    "http://[ff02::1]/",
	    "http://[2001:db8::1]/",
	    "http://[64:ff9b::7f00:1]/",
	    "http://[2002:7f00:1::]/",
	};
	static const char *const allowed[] = {
	    "http://1.1.1.1/",
	    "http://172.32.0.1/",
	    "http://100.128.0.1/",
	    "http://8.8.8.8/",
	    "http://[2606:4700::1111]/",
	    "http://[::ffff:8.8.8.8]/",
	    "http://172.15.255.255/",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_true(private_of(refused[i]));
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		assert_false(private_of(allowed[i]));
}

static void
test_hookfmt__sign(void **state)
{
	char out[HOOK_SIG_HEX + 1];
	static const char data1[] = "what do ya want for nothing?";

	(void)state;
	/* RFC 4231, test case 2. */
	hookfmt_sign(data1, strlen(data1), "Jefe", out);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f08"
	                         "9d2739839dec58b964ec3843");
	/* RFC 4231, test case 1: key 20 bytes of 0x0b, "Hi There". */
	hookfmt_sign("Hi There", 8,
	    "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
	    "\x0b\x0b\x0b\x0b",
	    out);
	assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200"
	                         "c9833da726e9376c2e32cff7");
}

static void
test_hookfmt__status_line(void **state)
{
	static const struct {
		const char *in;
		int rc;
		int status;
	} cases[] = {
	    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 17, 200},
	    {"HTTP/1.0 500 Internal Server Error\r\n", 36, 500},
	    {"HTTP/1.1 204\r\n", 14, 204},
	    {"HTTP/1.1 404\n", 13, 404},
	    {"HTTP/1.1 200 OK", -2, 0},
	    {"HTTP/1.", -2, 0},
	    {"", -2, 0},
	    {"HTTP/2 200 OK\r\n", -1, 0},
	    {"HTTP/1.1 20 OK\r\n", -1, 0},
	    {"HTTP/1.1 2000 OK\r\n", -1, 0},
	    {"HTTP/1.1 099 X\r\n", -1, 0},
	    {"http/1.1 200 OK\r\n", -1, 0},
	    {"SSH-2.0-OpenSSH\r\n", -1, 0},
	    {"HTTP/1.1 200 O\x01K\r\n", -1, 0},
	    {"HTTP/1.1 200 OK\r\r\n", -1, 0},
	};
	char big[HOOK_STATUS_LINE_MAX + 8];
	size_t i, cut;
	int status, rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		status = 0;
		rc = hookfmt_status_line(
		    cases[i].in, strlen(cases[i].in), &status);
		assert_int_equal(rc, cases[i].rc);
		if (rc > 0)
			assert_int_equal(status, cases[i].status);
	}
	/* Every prefix of a good line needs more. */
	for (cut = 0; cut < 16; cut++)
		assert_int_equal(
		    hookfmt_status_line("HTTP/1.1 200 OK\r\n", cut, &status),
		    -2);
	/* A line that never ends is refused at the bound. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "HTTP/1.1 200 ", 13);
	assert_int_equal(hookfmt_status_line(big, sizeof(big), &status), -1);
	assert_int_equal(
	    hookfmt_status_line(big, HOOK_STATUS_LINE_MAX - 1, &status), -2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hookfmt__event_names),
	    cmocka_unit_test(test_hookfmt__round_trip),
	    cmocka_unit_test(test_hookfmt__parse_strict),
	    cmocka_unit_test(test_hookfmt__url),
	    cmocka_unit_test(test_hookfmt__private),
	    cmocka_unit_test(test_hookfmt__sign),
	    cmocka_unit_test(test_hookfmt__status_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
