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
	struct buf why = BUF_INIT;
	struct bookzip_src src = {-1, data, size};
	int rc;

	bookmeta_limits_default(&lim);
	bookmeta_init(&m);
	rc = bookmeta_fb2_parse(&src, &lim, &m, &why);
	fuzz_book_check(&m, rc, &why);
	FUZZ_CHECK(m.cover_data.len <= lim.max_cover_bytes);
	bookmeta_release(&m);
	buf_release(&why);
	return 0;
}
