/*
 * fuzz_opf.c: EPUB's XML: container.xml (bookmeta_container_parse) and
 * the OPF (bookmeta_opf_parse).
 *
 * Input: a mode byte (even: an OPF at "OEBPS/sub/content.opf", odd:
 * container.xml), then the document.
 *
 * Checks (fuzz_book.h): a refusal has a one-line reason; what is read
 * obeys the text rules and bounds; a cover entry is relative and has no
 * ".." segment; container.xml's OPF path is non-empty.
 */
#include <stdint.h>
#include <string.h>

#include "bookmeta.h"

#include "fuzz_book.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bookmeta_limits lim;
	struct bookmeta m;
	struct buf why = BUF_INIT, opf = BUF_INIT;
	int rc;

	if (size == 0)
		return 0;
	bookmeta_limits_default(&lim);
	if (data[0] & 1) {
		rc = bookmeta_container_parse(
		    (const char *)data + 1, size - 1, &lim, &opf, &why);
		FUZZ_CHECK(rc == 0 ? opf.len > 0 : why.len > 0);
	} else {
		bookmeta_init(&m);
		rc = bookmeta_opf_parse((const char *)data + 1, size - 1,
		    "OEBPS/sub/content.opf", &lim, &m, &why);
		fuzz_book_check(&m, rc, &why);
		if (rc == 0 && m.cover_entry != NULL) {
			FUZZ_CHECK(strncmp(m.cover_entry, "../", 3) != 0);
			FUZZ_CHECK(strstr(m.cover_entry, "/../") == NULL);
		}
		bookmeta_release(&m);
	}
	buf_release(&why);
	buf_release(&opf);
	return 0;
}
