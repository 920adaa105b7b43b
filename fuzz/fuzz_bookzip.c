/*
 * fuzz_bookzip.c: a whole book file through bookmeta_read() on memory:
 * the format told from the bytes, zip archives through minizip with our
 * io functions and limits (EPUB: container, OPF, cover entry; CBZ: the
 * first image and ComicInfo.xml; an .fb2.zip's FB2 entry), and the
 * cover's bytes (bookmeta_cover_bytes).
 *
 * Input: a mode byte choosing the file name (and so the extension the
 * reader may use: .epub, .cbz, .azw3, .txt), then the file.
 *
 * Checks (fuzz_book.h): a refusal has a one-line reason; a book always
 * has a title; what is read obeys the text rules and bounds; a cover
 * entry is in the archive and reads within max_cover_bytes, or is
 * refused with a reason.
 */
#include <stdint.h>

#include "bookmeta.h"

#include "fuzz_book.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
	    "dir/Book.epub", "Comic.cbz", "k.azw3", "notes.txt"};
	struct bookmeta_limits lim;
	struct bookmeta m;
	struct buf why = BUF_INIT, cover = BUF_INIT;
	struct bookzip_src src;
	int rc;

	if (size == 0)
		return 0;
	src.fd = -1;
	src.mem = data + 1;
	src.size = size - 1;
	bookmeta_limits_default(&lim);
	lim.max_cover_bytes = 1 << 20;
	rc = bookmeta_read(&src, names[data[0] & 3], &lim, &m, &why);
	fuzz_book_check(&m, rc, &why);
	if (rc == 0) {
		FUZZ_CHECK(m.title != NULL);
		buf_reset(&why);
		rc = bookmeta_cover_bytes(&src, &m, &lim, &cover, &why);
		FUZZ_CHECK(rc == 1 || rc == 0 || rc == -1);
		FUZZ_CHECK(rc != -1 || why.len > 0);
		FUZZ_CHECK(rc != 0 || m.cover == BOOKMETA_COVER_NONE);
		FUZZ_CHECK(cover.len <= lim.max_cover_bytes);
	}
	bookmeta_release(&m);
	buf_release(&why);
	buf_release(&cover);
	return 0;
}
