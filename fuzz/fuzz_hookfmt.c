/*
 * fuzz_hookfmt.c: what events out read from outside: a receiver's status
 * line (hookfmt_status_line), a webhook URL (hookfmt_url_parse, with the
 * private-address rule) and the stored webhooks' text (hookfmt_parse).
 *
 * Input: a mode byte, then the bytes (0: a receiver's answer; 1: a URL;
 * 2: the stored text).
 *
 * Checks: a status line's length is within the input and ends with LF,
 * its status is 100..999 and the digits at 9..11; any prefix of an
 * accepted line shorter than it needs more bytes (-2) and the answer never
 * changes when more bytes follow; an accepted URL has a host and a path
 * starting with '/', fits its buffers, and parses the same from its own
 * parts; a refused one has a message; stored text that parses writes out
 * text that parses to the same list, and writes the same bytes again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hookfmt.h"

#include "fuzz.h"

static void
status_line(const char *p, size_t len)
{
	int status = 0, again = 0, rc, rc2;
	size_t cut;

	rc = hookfmt_status_line(p, len, &status);
	FUZZ_CHECK(rc == -1 || rc == -2 || rc > 0);
	if (rc <= 0)
		return;
	FUZZ_CHECK((size_t)rc <= len && p[rc - 1] == '\n');
	FUZZ_CHECK(status >= 100 && status <= 999);
	FUZZ_CHECK(
	    status == (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
	for (cut = 0; cut < (size_t)rc; cut++)
		FUZZ_CHECK(hookfmt_status_line(p, cut, &again) == -2);
	rc2 = hookfmt_status_line(p, (size_t)rc, &again);
	FUZZ_CHECK(rc2 == rc && again == status);
}

static void
url(const char *p, size_t len)
{
	struct hook_url u, v;
	const char *err = NULL;
	char again[2 * HOOK_URL_MAX];

	if (hookfmt_url_parse((struct str){p, len}, &u, &err) != 0) {
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		return;
	}
	FUZZ_CHECK(err == NULL);
	FUZZ_CHECK(u.host[0] != '\0' && u.path[0] == '/');
	FUZZ_CHECK(strlen(u.path) <= HOOK_URL_MAX);
	(void)hookfmt_addr_is_private(&u.addr);
	snprintf(again, sizeof(again), "http://%s%s", u.host, u.path);
	FUZZ_CHECK(hookfmt_url_parse(str_from(again), &v, &err) == 0);
	FUZZ_CHECK(strcmp(u.host, v.host) == 0 && strcmp(u.path, v.path) == 0);
	FUZZ_CHECK(memcmp(&u.addr, &v.addr, sizeof(u.addr)) == 0);
}

static void
stored(const char *p, size_t len)
{
	struct hook_list *l = calloc(1, sizeof(*l)), *m = calloc(1, sizeof(*m));
	struct buf a = BUF_INIT, b = BUF_INIT;

	FUZZ_CHECK(l != NULL && m != NULL);
	if (hookfmt_parse(p, len, l) == 0) {
		FUZZ_CHECK(l->n <= HOOK_MAX_PER_USER);
		hookfmt_write(&a, l);
		FUZZ_CHECK(hookfmt_parse(a.data, a.len, m) == 0);
		FUZZ_CHECK(memcmp(l, m, sizeof(*l)) == 0);
		hookfmt_write(&b, m);
		FUZZ_CHECK(
		    a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	} else {
		FUZZ_CHECK(l->n == 0);
	}
	buf_release(&a);
	buf_release(&b);
	free(l);
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		status_line(p, size - 1);
		break;
	case 1:
		url(p, size - 1);
		break;
	default:
		stored(p, size - 1);
		break;
	}
	return 0;
}
