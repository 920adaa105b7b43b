/*
 * fuzz_tzif.c: the TZif reader and the POSIX rule of its footer (tzif.c).
 *
 * Input: a TZif file. tz_parse() either refuses it with a reason or gives
 * a zone; every offset it then answers, at instants spread over the whole
 * int64 range and around each of the first transitions, is within 25
 * hours of UTC, and the same instant always gives the same offset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tzif.h"

#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t fixed[] = {INT64_MIN, INT64_MIN + 1,
	    -((int64_t)1 << 41), -1, 0, 1, 1167609600, 1774814400, 2147483647,
	    4102444800, (int64_t)1 << 41, INT64_MAX - 1, INT64_MAX};
	struct buf err = BUF_INIT;
	struct tz *tz;
	size_t i;
	int64_t t;

	tz = tz_parse(data, size, &err);
	if (!tz) {
		FUZZ_CHECK(err.len > 0);
		buf_release(&err);
		return 0;
	}
	FUZZ_CHECK(err.len == 0);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		int32_t off = tz_offset(tz, fixed[i]);

		FUZZ_CHECK(off >= -25 * 3600 && off <= 25 * 3600);
		FUZZ_CHECK(off == tz_offset(tz, fixed[i]));
	}
	/* Every 4 days from 2007 to 2100 (the footer's years). */
	for (t = 1167609600; t < 4102444800; t += 4 * 86400 + 3607) {
		int32_t off = tz_offset(tz, t);

		FUZZ_CHECK(off >= -25 * 3600 && off <= 25 * 3600);
	}
	tz_free(tz);
	buf_release(&err);
	return 0;
}
