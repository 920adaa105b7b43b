/*
 * test_pem.c: PEM encode/decode (base64 itself: test_base64.c).
 *
 * Covers: Go encoding/pem's exact
 * layout (sorted headers, blank line, 64-column lines), round trips at every
 * payload length, KOsync backups (tests/data/kosync-backup-*.pem, written
 * by hand from docs/protocol.md §7.2: a JSON one and a msgpack one with Go
 * field names) decoded and re-encoded byte for byte, CRLF and trailing
 * blanks, every truncation of a backup, and each decoding error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "pem.h"

static void
read_fixture(const char *name, struct buf *out)
{
	char path[256], chunk[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "tests/data/%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	fclose(f);
}

static void
test_pem__go_layout(void **state)
{
	static const struct pem_header h[] = {
	    {(char *)(uintptr_t) "Schema", (char *)(uintptr_t) "7"},
	    {(char *)(uintptr_t) "App", (char *)(uintptr_t) "kosyncd"},
	    {(char *)(uintptr_t) "Content-Type",
	        (char *)(uintptr_t) "application/json"},
	};
	struct buf out = BUF_INIT;
	char payload[100];

	(void)state;
	memset(payload, 'x', sizeof(payload));
	pem_encode(&out, PEM_TYPE, h, 3, payload, sizeof(payload));
	assert_string_equal(out.data,
	    "-----BEGIN KOSYNC BACKUP-----\n"
	    "App: kosyncd\n"
	    "Content-Type: application/json\n"
	    "Schema: 7\n"
	    "\n"
	    "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\n"
	    "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\n"
	    "eHh4eA==\n"
	    "-----END KOSYNC BACKUP-----\n");
	buf_reset(&out);
	pem_encode(&out, "X", NULL, 0, "", 0);
	assert_string_equal(out.data, "-----BEGIN X-----\n-----END X-----\n");
	buf_release(&out);
}

static void
test_pem__round_trip_every_length(void **state)
{
	static const struct pem_header h[] = {
	    {(char *)(uintptr_t) "B", (char *)(uintptr_t) "two words"},
	    {(char *)(uintptr_t) "A", (char *)(uintptr_t) "one"},
	};
	struct pem_block blk;
	struct buf out = BUF_INIT;
	unsigned char payload[300];
	const char *err = NULL;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i * 37 + 11);
	for (len = 0; len <= sizeof(payload); len++) {
		buf_reset(&out);
		pem_encode(
		    &out, PEM_TYPE, h, len % 3 == 0 ? 0 : 2, payload, len);
		assert_int_equal(pem_decode(out.data, out.len, &blk, &err), 0);
		assert_string_equal(blk.type, PEM_TYPE);
		assert_int_equal(blk.nheaders, len % 3 == 0 ? 0 : 2);
		if (len % 3 != 0) {
			assert_string_equal(blk.headers[0].name, "A");
			assert_string_equal(
			    pem_header_get(&blk, "B"), "two words");
		}
		assert_null(pem_header_get(&blk, "C"));
		assert_int_equal(blk.payload.len, len);
		if (len > 0)
			assert_memory_equal(blk.payload.data, payload, len);
		pem_block_release(&blk);
	}
	buf_release(&out);
}

/* Decode a fixture, check it, re-encode it and compare byte for byte. */
static void
check_fixture(const char *name, const char *ctype, unsigned char first)
{
	struct buf text = BUF_INIT, again = BUF_INIT;
	struct pem_block blk;
	const char *err = NULL;

	read_fixture(name, &text);
	assert_int_equal(pem_decode(text.data, text.len, &blk, &err), 0);
	assert_string_equal(blk.type, "KOSYNC BACKUP");
	assert_int_equal(blk.nheaders, 4);
	assert_string_equal(
	    pem_header_get(&blk, "App"), "https://git.obth.eu/atjontv/kosync");
	assert_string_equal(pem_header_get(&blk, "Content-Type"), ctype);
	assert_string_equal(
	    pem_header_get(&blk, "Created-At"), "2026-01-27T10:11:12+01:00");
	assert_string_equal(pem_header_get(&blk, "Schema"), "6");
	assert_true(blk.payload.len > 100);
	assert_int_equal((unsigned char)blk.payload.data[0], first);
	pem_encode(&again, blk.type, blk.headers, blk.nheaders,
	    blk.payload.data, blk.payload.len);
	assert_int_equal(again.len, text.len);
	assert_memory_equal(again.data, text.data, text.len);
	pem_block_release(&blk);
	buf_release(&text);
	buf_release(&again);
}

static void
test_pem__kosync_backups(void **state)
{
	struct buf text = BUF_INIT;
	struct pem_block blk;
	const char *err = NULL;

	(void)state;
	check_fixture("kosync-backup-json.pem", "application/json", '{');
	/* msgpack: a fixmap of 3 (Schema, Config, Users) */
	check_fixture(
	    "kosync-backup-msgpack.pem", "application/vnd.msgpack", 0x83);

	read_fixture("kosync-backup-json.pem", &text);
	assert_int_equal(pem_decode(text.data, text.len, &blk, &err), 0);
	assert_true(
	    strncmp(blk.payload.data, "{\"schema\":6,\"config\":{", 22) == 0);
	assert_int_equal(strlen(blk.payload.data), blk.payload.len);
	assert_int_equal(blk.payload.data[blk.payload.len - 1], '}');
	pem_block_release(&blk);
	buf_release(&text);
}

static void
test_pem__crlf_and_blanks(void **state)
{
	struct buf text = BUF_INIT, crlf = BUF_INIT;
	struct pem_block a, b;
	const char *err = NULL;
	size_t i;

	(void)state;
	read_fixture("kosync-backup-json.pem", &text);
	buf_adds(&crlf, "some text before\r\n\r\n");
	for (i = 0; i < text.len; i++) {
		if (text.data[i] == '\n')
			buf_adds(&crlf, i % 3 ? " \t\r\n" : "\r\n");
		else
			buf_addch(&crlf, text.data[i]);
	}
	buf_adds(&crlf, "and after\r\n");
	assert_int_equal(pem_decode(text.data, text.len, &a, &err), 0);
	assert_int_equal(pem_decode(crlf.data, crlf.len, &b, &err), 0);
	assert_int_equal(b.nheaders, 4);
	assert_string_equal(pem_header_get(&b, "Schema"), "6");
	assert_int_equal(a.payload.len, b.payload.len);
	assert_memory_equal(a.payload.data, b.payload.data, a.payload.len);
	pem_block_release(&a);
	pem_block_release(&b);
	buf_release(&text);
	buf_release(&crlf);
}

static void
test_pem__every_truncation(void **state)
{
	struct buf text = BUF_INIT;
	struct pem_block blk;
	const char *err = NULL;
	char *copy;
	size_t n;

	(void)state;
	read_fixture("kosync-backup-json.pem", &text);
	/* Everything short of the whole END line fails; exact-size copies let
	 * ASan see any read past the end. */
	for (n = 0; n < text.len; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, text.data, n);
		if (n < text.len - 1) {
			assert_int_equal(pem_decode(copy, n, &blk, &err), -1);
			assert_non_null(err);
		} else {
			assert_int_equal(pem_decode(copy, n, &blk, &err), 0);
			pem_block_release(&blk);
		}
		free(copy);
	}
	buf_release(&text);
}

static void
test_pem__errors(void **state)
{
	static const char nul_header[] =
	    "-----BEGIN A-----\nSche\0ma: 7\n\nQUJD\n-----END A-----\n";
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"", "no PEM block found"},
	    {"hello\n", "no PEM block found"},
	    {"x-----BEGIN A-----\nQUJD\n-----END A-----\n",
	        "no PEM block found"},
	    {"-----BEGIN A\nQUJD\n-----END A-----\n", "malformed BEGIN line"},
	    {"-----BEGIN -----\n-----END -----\n", "bad PEM block type"},
	    {"-----BEGIN A-----\nQUJD\n", "no PEM END line"},
	    {"-----BEGIN A-----\nQUJD\n-----END B-----\n", "no PEM END line"},
	    {"-----BEGIN A-----\nQUJD-----END A-----\n", "no PEM END line"},
	    {"-----BEGIN A-----\nQU*D\n-----END A-----\n",
	        "bad base64 in PEM block"},
	    {"-----BEGIN A-----\nQUJ\n-----END A-----\n",
	        "bad base64 in PEM block"},
	    {"-----BEGIN A-----\nA: 1\nB: 2\nC: 3\nD: 4\nE: 5\nF: 6\nG: "
	     "7\nH: 8\nI: 9\nJ: 10\nK: 11\nL: 12\nM: 13\nN: 14\nO: 15\nP: "
	     "16\nQ: 17\n\nQUJD\n-----END A-----\n",
	        "too many PEM headers"},
	};
	struct pem_block blk;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		assert_int_equal(pem_decode(cases[i].text,
		                     strlen(cases[i].text), &blk, &err),
		    -1);
		assert_string_equal(err, cases[i].err);
		assert_null(blk.type);
		assert_int_equal(blk.nheaders, 0);
	}
	/* A NUL inside a header line (found by fuzz_pem). */
	err = NULL;
	assert_int_equal(
	    pem_decode(nul_header, sizeof(nul_header) - 1, &blk, &err), -1);
	assert_string_equal(err, "NUL byte in a PEM header");
	assert_int_equal(blk.nheaders, 0);
}

static void
test_pem__lenient_forms(void **state)
{
	struct buf big = BUF_INIT;
	struct pem_block blk;
	const char *err = NULL;
	size_t i;

	(void)state;
	/* Headers with no blank line before the body, as Go reads them. */
	assert_int_equal(pem_decode("-----BEGIN A-----\nK:  v  \nQUJD\n"
	                            "-----END A-----",
	                     48, &blk, &err),
	    0);
	assert_string_equal(pem_header_get(&blk, "K"), "v");
	assert_string_equal(blk.payload.data, "ABC");
	pem_block_release(&blk);
	/* No headers, END straight after BEGIN. */
	assert_int_equal(
	    pem_decode("-----BEGIN A-----\n-----END A-----\n", 34, &blk, &err),
	    0);
	assert_int_equal(blk.payload.len, 0);
	pem_block_release(&blk);
	/* A header line longer than the limit. */
	buf_adds(&big, "-----BEGIN A-----\nK: ");
	for (i = 0; i < 2000; i++)
		buf_addch(&big, 'v');
	buf_adds(&big, "\n\nQUJD\n-----END A-----\n");
	assert_int_equal(pem_decode(big.data, big.len, &blk, &err), -1);
	assert_string_equal(err, "PEM header line too long");
	buf_release(&big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pem__go_layout),
	    cmocka_unit_test(test_pem__round_trip_every_length),
	    cmocka_unit_test(test_pem__kosync_backups),
	    cmocka_unit_test(test_pem__crlf_and_blanks),
	    cmocka_unit_test(test_pem__every_truncation),
	    cmocka_unit_test(test_pem__errors),
	    cmocka_unit_test(test_pem__lenient_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
