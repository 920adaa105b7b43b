/*
 * fuzz_mobi.c: MOBI and AZW3 files (bookmeta_mobi_parse): the PalmDB
 * record list, the MOBI header and the EXTH records, on memory.
 *
 * Input: the file. Checks (fuzz_book.h): a refusal has a one-line
 * reason; what is read obeys the text rules and bounds; a cover's byte
 * range lies inside the file.
 */
#include <stdint.h>

#include "bookmeta.h"

#include "fuzz_book.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bookmeta_limits lim;
	struct bookmeta m;
	int rc;

	bookmeta_limits_default(&lim);
	rc = fuzz_book_run(
	    data, size, BOOKMETA_MOBI, bookmeta_mobi_parse, &lim, &m);
	if (rc == 0 && m.cover == BOOKMETA_COVER_RANGE)
		FUZZ_CHECK(m.cover_offset < size &&
		           m.cover_length <= size - m.cover_offset);
	bookmeta_release(&m);
	return 0;
}
