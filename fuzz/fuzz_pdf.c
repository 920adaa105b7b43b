/*
 * fuzz_pdf.c: PDF files (bookmeta_pdf_parse): the trailer, the cross-
 * reference tables, /Info and its strings, on memory.
 *
 * Input: the document. Checks (fuzz_book.h): a refusal has a one-line
 * reason; what is read obeys the text rules and bounds; a PDF has no
 * cover.
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
	    data, size, BOOKMETA_PDF, bookmeta_pdf_parse, &lim, &m);
	FUZZ_CHECK(m.cover == BOOKMETA_COVER_NONE);
	bookmeta_release(&m);
	return 0;
}
