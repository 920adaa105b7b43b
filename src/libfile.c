/*
 * libfile.c: a library file downloaded through the web interface
 * (libfile.h).
 *
 * The index opens the file on the thread pool (library_file_open: read-only,
 * O_NOFOLLOW, still inside its folder); its bytes are then sent as the
 * client reads them (dav_reply_file), never held whole in memory.
 */
#include <string.h>

#include "buf.h"
#include "dav.h"
#include "libfile.h"
#include "library.h"
#include "opdsfmt.h"

#define LIBFILE_HEADERS                                                        \
	"Cache-Control: no-store\r\n"                                          \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"Referrer-Policy: no-referrer\r\n"                                     \
	"X-Frame-Options: DENY\r\n"

/* library_file_fn: the file's bytes, as stored. */
static void
file_opened(void *arg, int fd, const struct library_file *f,
    const struct library_book *bk, int status, const char *error)
{
	struct http_request *req = arg;
	struct buf name = BUF_INIT, h = BUF_INIT;
	char *hdr;

	if (fd < 0) {
		http_error(req, status == 404 ? 404 : 500, LIBFILE_HEADERS,
		    status == 404 ? "Not found."
		    : error       ? error
		                  : "The file cannot be read.");
		return;
	}
	opdsfmt_filename_utf8(&name, bk != NULL ? bk->authors : NULL,
	    bk != NULL ? bk->nauthors : 0, bk != NULL ? bk->title : NULL,
	    library_file_ext(f));
	buf_addf(&h,
	    "Content-Disposition: attachment; "
	    "filename=\"%s\"\r\n" LIBFILE_HEADERS,
	    name.data);
	/* The headers must outlive this call: the request's memory. */
	hdr = http_alloc(req, h.len + 1);
	memcpy(hdr, h.data, h.len + 1);
	dav_reply_file(req, 200, f->mime, hdr, fd, 0, f->size);
	buf_release(&name);
	buf_release(&h);
}

void
libfile_serve(struct library *lib, struct http_request *req, const char *user,
    const char *file_id)
{
	if (lib == NULL) {
		http_error(
		    req, 503, LIBFILE_HEADERS, "No library with this storage.");
		return;
	}
	if (file_id[0] == '\0' || strlen(file_id) > LIBFILE_MAX_ID) {
		http_error(req, 404, LIBFILE_HEADERS, "Not found.");
		return;
	}
	library_file_open(lib, user, file_id, file_opened, req);
}
