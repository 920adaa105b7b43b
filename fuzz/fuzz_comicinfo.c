/*
 * fuzz_comicinfo.c: a CBZ's ComicInfo.xml (bookmeta_comicinfo_parse).
 *
 * Input: the document.
 *
 * Checks (fuzz_book.h): a refusal has a one-line reason; what is read
 * obeys the text rules and bounds; a series index only with a series,
 * within 0 to 100000; no cover.
 */
#include <stdint.h>

#include "bookmeta.h"

#include "fuzz_book.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bookmeta_limits lim;
	struct bookmeta m;
	struct buf why = BUF_INIT;
	int rc;

	bookmeta_limits_default(&lim);
	bookmeta_init(&m);
	rc = bookmeta_comicinfo_parse((const char *)data, size, &lim, &m, &why);
	fuzz_book_check(&m, rc, &why);
	if (m.has_series_index) {
		FUZZ_CHECK(m.series != NULL);
		FUZZ_CHECK(m.series_index >= 0 && m.series_index <= 100000);
	}
	FUZZ_CHECK(m.cover == BOOKMETA_COVER_NONE);
	bookmeta_release(&m);
	buf_release(&why);
	return 0;
}
