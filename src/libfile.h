/*
 * libfile.h: a book file of the library downloaded through the web
 * interface: GET /api/v1/library/files/<file id> (docs/api.md "Library").
 *
 * The stored bytes go out unchanged (a rewritten file would change its
 * partial MD5, and the progress of a device that reads it would no longer
 * join its book), as an attachment named "Author - Title.ext"
 * (opdsfmt_filename_utf8: the OPDS download's name, UTF-8 kept). webui.c
 * checks the session first; the index (library.h) says whether the user
 * sees the file and opens it.
 *
 * Not here: the JSON of the library (libweb.h), OPDS downloads.
 */
#ifndef KOSYNCD_LIBFILE_H
#define KOSYNCD_LIBFILE_H

#include "http.h"

struct library;

/* Bytes of a file id (32 hex digits, maybe "-" and 8 more). */
#define LIBFILE_MAX_ID 64

/*
 * Answer req with the file file_id (NUL-terminated) that user sees: 200
 * with its bytes, 404 when it is unknown, not the user's or gone, 503
 * without a library (lib NULL). Answers once, now or later.
 */
void libfile_serve(struct library *lib, struct http_request *req,
    const char *user, const char *file_id);

#endif
