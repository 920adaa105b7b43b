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

#define LIBFILE_HEADERS                                                        \
	"Cache-Control: no-store\r\n"                                          \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"Referrer-Policy: no-referrer\r\n"                                     \
	"X-Frame-Options: DENY\r\n"

/*
 * Append s to b for a quoted file name: what a quoted string or a file
 * system cannot take (quotes, '\\', '/', control characters) becomes '_'.
 */
static void
name_add(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		bool bad = ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' ||
		           ch == '/';

		buf_addch(b, bad ? '_' : (char)ch);
	}
}

/*
 * The download's name into out: "Author - Title.ext" (the first author;
 * the title alone without one; the file's own name without a title), at
 * most LIBFILE_MAX_NAME bytes before the extension, cut on a UTF-8
 * character boundary.
 */
static void
download_name(struct buf *out, const struct library_file *f,
    const struct library_book *bk)
{
	const char *dot = NULL;
	size_t keep;

	if (bk == NULL || bk->title[0] == '\0') {
		name_add(out, f->name);
	} else {
		if (bk->nauthors > 0 && bk->authors[0][0] != '\0') {
			name_add(out, bk->authors[0]);
			buf_add(out, " - ", 3);
		}
		name_add(out, bk->title);
		dot = library_file_ext(f);
		if (strlen(dot) > 16)
			dot = NULL;
	}
	keep = out->len < LIBFILE_MAX_NAME ? out->len : LIBFILE_MAX_NAME;
	while (keep > 0 && keep < out->len &&
	       ((unsigned char)out->data[keep] & 0xc0) == 0x80)
		keep--;
	out->len = keep;
	out->data[keep] = '\0';
	if (dot != NULL) {
		buf_addch(out, '.');
		name_add(out, dot);
	}
}

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
	download_name(&name, f, bk);
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
