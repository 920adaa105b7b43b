/*
 * fuzz_libcursor.c: the library's page cursors (libcursor.c
 * libcursor_decode, library.c library_cursor_check), which come from the
 * query string of any signed-in OPDS or web API request (?cursor=).
 *
 * Input: one byte choosing the order (its value modulo 4), then the
 * cursor as sent (after percent-decoding).
 *
 * Checks: a refused cursor leaves the decoded cursor all zero; an
 * accepted one has 1 to LIBCURSOR_MAX_FIELDS fields, each NUL-terminated
 * inside its raw buffer, and written back with libcursor_encode gives the
 * same text; library_cursor_check accepts only cursors libcursor_decode
 * accepts (of the text up to a NUL byte), and then a position of at most
 * 2^40.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "libcursor.h"
#include "library.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct libcursor c, zero;
	struct buf b = BUF_INIT;
	const char *text;
	char *s;
	size_t i;
	uint64_t pos = UINT64_MAX;

	if (size < 1)
		return 0;
	text = (const char *)data + 1;
	memset(&zero, 0, sizeof(zero));
	if (libcursor_decode(text, size - 1, &c) != 0) {
		FUZZ_CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
	} else {
		FUZZ_CHECK(c.nfields >= 1 && c.nfields <= LIBCURSOR_MAX_FIELDS);
		for (i = 0; i < c.nfields; i++) {
			FUZZ_CHECK(c.field[i] >= c.raw &&
			           c.field[i] < c.raw + sizeof(c.raw));
			FUZZ_CHECK(memchr(c.field[i], '\0',
			               (size_t)(c.raw + sizeof(c.raw) -
			                        c.field[i])) != NULL);
		}
		FUZZ_CHECK(
		    libcursor_encode(&b, c.kind, c.field, c.nfields) == 0);
		FUZZ_CHECK(
		    b.len == size - 1 && memcmp(b.data, text, b.len) == 0);
		buf_release(&b);
	}
	/* library_cursor_check reads a NUL-terminated string. */
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, text, size - 1);
	s[size - 1] = '\0';
	if (library_cursor_check(s, (enum library_order)(data[0] % 4), &pos) ==
	    NULL) {
		FUZZ_CHECK(libcursor_decode(s, strlen(s), &c) == 0);
		FUZZ_CHECK(pos <= (uint64_t)1 << 40);
	}
	free(s);
	return 0;
}
