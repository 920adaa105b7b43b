/*
 * fuzz_davpath.c: WebDAV path decoding (davpath_parse) and href encoding
 * (davpath_encode).
 *
 * Input: a request path as sent (any bytes).
 *
 * Checks: a refusal has a reason; an accepted path has at most
 * DAVPATH_MAX_DEPTH segments, each 1 to DAVPATH_MAX_NAME bytes of valid
 * UTF-8, NUL-terminated in the output buffer, with no '/', NUL or other
 * control byte, never "." or "..", never a reserved name; the segments fit
 * in the path's length; encoding the segments as hrefs and parsing that
 * again gives the same segments (the decoding is a fixed point); every
 * accepted segment is a valid name for davpath_name_why, and the input
 * taken whole as one name (an import's tree) is accepted by it only when
 * it keeps the same rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "davpath.h"
#include "json.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str path = {(const char *)data, size};
	struct davpath dp, again;
	struct buf enc = BUF_INIT;
	char *out = malloc(size + 1), *out2;
	const char *why;
	size_t i, j;

	FUZZ_CHECK(out != NULL);
	if (davpath_name_why(path) == NULL) {
		FUZZ_CHECK(size >= 1 && size <= DAVPATH_MAX_NAME);
		FUZZ_CHECK(memchr(data, '/', size) == NULL);
		FUZZ_CHECK(!str_eqs(path, ".") && !str_eqs(path, ".."));
		FUZZ_CHECK(!davpath_is_reserved(path));
		FUZZ_CHECK(json_utf8_valid(path.p, size));
		for (i = 0; i < size; i++)
			FUZZ_CHECK(data[i] >= 0x20 && data[i] != 0x7f);
	}
	if (davpath_parse(path, out, &dp, &why) == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		free(out);
		return 0;
	}
	FUZZ_CHECK(dp.nseg <= DAVPATH_MAX_DEPTH);
	for (i = 0; i < dp.nseg; i++) {
		struct str s = dp.seg[i];

		FUZZ_CHECK(s.len >= 1 && s.len <= DAVPATH_MAX_NAME);
		FUZZ_CHECK(s.p >= out && s.p + s.len < out + size + 1);
		FUZZ_CHECK(s.p[s.len] == '\0');
		FUZZ_CHECK(!str_eqs(s, ".") && !str_eqs(s, ".."));
		FUZZ_CHECK(!davpath_is_reserved(s));
		FUZZ_CHECK(json_utf8_valid(s.p, s.len));
		FUZZ_CHECK(davpath_name_why(s) == NULL);
		for (j = 0; j < s.len; j++) {
			unsigned char c = (unsigned char)s.p[j];

			FUZZ_CHECK(c != '/' && c >= 0x20 && c != 0x7f);
		}
		buf_addch(&enc, '/');
		davpath_encode(&enc, s, false);
	}
	if (dp.slash || enc.len == 0)
		buf_addch(&enc, '/');
	out2 = malloc(enc.len + 1);
	FUZZ_CHECK(out2 != NULL);
	FUZZ_CHECK(davpath_parse((struct str){enc.data, enc.len}, out2, &again,
	               &why) == 0);
	FUZZ_CHECK(again.nseg == dp.nseg);
	for (i = 0; i < dp.nseg; i++)
		FUZZ_CHECK(str_eq(again.seg[i], dp.seg[i]));
	free(out2);
	buf_release(&enc);
	free(out);
	return 0;
}
