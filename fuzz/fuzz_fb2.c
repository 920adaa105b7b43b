/*
 * fuzz_fb2.c: FB2 documents (bookmeta_fb2_parse), read from memory in the
 * 64 KiB pieces a file is read in.
 *
 * Input: the document. Checks (fuzz_book.h): a refusal has a one-line
 * reason; what is read obeys the text rules and bounds; an embedded
 * cover is within max_cover_bytes.
 */
#include <stdint.h>

#include "bookmeta.h"

#include "fuzz_book.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bookmeta_limits lim;
	struct bookmeta m;

	bookmeta_limits_default(&lim);
	(void)fuzz_book_run(
	    data, size, BOOKMETA_FB2, bookmeta_fb2_parse, &lim, &m);
	FUZZ_CHECK(m.cover_data.len <= lim.max_cover_bytes);
	bookmeta_release(&m);
	return 0;
}
