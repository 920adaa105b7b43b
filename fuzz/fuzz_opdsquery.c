/*
 * fuzz_opdsquery.c: the OPDS catalog's reading of a query and writing of
 * what came in (opdsfmt.h): opdsfmt_query over the input as a URL's
 * query, then the value written as a feed's title, an entry's author,
 * content and link title, in Atom (parsed back with expat) and JSON
 * (parsed back with json.c), and as a download's file name.
 *
 * Input: a key, a NUL byte, then the query (no NUL byte: the key "q").
 *
 * Checks: a value found is shorter than the buffer, NUL-terminated at its
 * length, holds no NUL and is UTF-8; the Atom is well-formed XML and the
 * JSON parses, whatever the value and the raw input as text; the file
 * name is printable ASCII without '"' or '\\', at most OPDSFMT_MAX_NAME
 * bytes and the extension.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "../src/buf.h"
#include "../src/json.h"
#include "../src/opdsfmt.h"

#include "fuzz.h"

#define CAP 257

static void
written(const char *text)
{
	const char *authors[2] = {text, "b"};
	struct opdsfmt_link link = {OPDSFMT_REL_OPEN, "application/epub+zip",
	    "/x", text, text, 3, true, 9, 2, 1};
	struct opdsfmt_entry e = {"urn:x", text, authors, 2, text, text, text,
	    text, text, 1.5, true, authors, 2, 0, &link, 1};
	struct opdsfmt_feed f = {"urn:f", text, 0, true, "/s", "/", NULL, "/o",
	    "/n", NULL, NULL, NULL, &link, 1, &e, 1, 1, 0, 50};
	struct fuzz_arena a = {NULL, 0, 0};
	struct buf b = BUF_INIT;
	XML_Parser p;
	size_t i;

	opdsfmt_atom(&b, &f);
	p = XML_ParserCreate(NULL);
	FUZZ_CHECK(p != NULL);
	FUZZ_CHECK(XML_Parse(p, b.data, (int)b.len, 1) == XML_STATUS_OK);
	XML_ParserFree(p);
	buf_reset(&b);
	opdsfmt_json(&b, &f);
	FUZZ_CHECK(json_parse(b.data, b.len, fuzz_alloc, &a, NULL) != NULL);
	fuzz_arena_free(&a);
	buf_reset(&b);
	opdsfmt_filename(&b, authors, 2, text, "epub");
	FUZZ_CHECK(b.len <= OPDSFMT_MAX_NAME + 5);
	for (i = 0; i < b.len; i++)
		FUZZ_CHECK(b.data[i] >= 0x20 && b.data[i] < 0x7f &&
		           b.data[i] != '"' && b.data[i] != '\\');
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul = memchr(in, '\0', size);
	char key[64] = "q", out[CAP], *raw;
	const char *query = in;
	size_t qlen = size;
	long n;

	if (nul != NULL) {
		size_t klen = (size_t)(nul - in);

		if (klen == 0 || klen >= sizeof(key))
			return 0;
		memcpy(key, in, klen);
		key[klen] = '\0';
		query = nul + 1;
		qlen = size - klen - 1;
	}
	n = opdsfmt_query(query, qlen, key, out, sizeof(out));
	FUZZ_CHECK(n >= -2 && n < CAP);
	if (n >= 0) {
		FUZZ_CHECK(out[n] == '\0' && strlen(out) == (size_t)n);
		FUZZ_CHECK(json_utf8_valid(out, (size_t)n));
		written(out);
	}
	raw = malloc(qlen + 1);
	FUZZ_CHECK(raw != NULL);
	memcpy(raw, query, qlen);
	raw[qlen] = '\0';
	if (memchr(query, '\0', qlen) == NULL)
		written(raw);
	free(raw);
	return 0;
}
