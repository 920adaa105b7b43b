/*
 * libapi.h: the library's part of the web interface's JSON API: the books
 * a signed-in account sees, their covers and files, and the
 * administrator's scan status (docs/api.md "Library", docs/library.md).
 *
 * webui.c routes the requests, checks the session, the CSRF token and the
 * administrator flag, then hands each one here with the session's user;
 * this module only reads the query string and answers through the library
 * index (library.h), whose answers come later, on the loop.
 *
 * Not here: sessions (webui.c), the index itself (library.c), OPDS.
 */
#ifndef KOSYNCD_LIBAPI_H
#define KOSYNCD_LIBAPI_H

#include "http.h"

struct library;

/* Books in one page when ?limit is not given. */
#define LIBAPI_PAGE_DEFAULT 50
/* Document ids in ?docs (the index's own limit, library.h). */
#define LIBAPI_MAX_DOCS 200
/* Bytes of a file name in Content-Disposition ("Author - Title.epub"). */
#define LIBAPI_MAX_FILENAME 200

enum libapi_op {
	LIBAPI_BOOKS = 0, /* GET library: a page of books */
	LIBAPI_FACET,     /* GET library/facets/:kind */
	LIBAPI_BOOK,      /* GET library/:book */
	LIBAPI_COVER,     /* GET library/:book/cover?size=N */
	LIBAPI_FILE,      /* GET library/files/:file: the stored bytes */
	LIBAPI_STATUS,    /* GET admin/library */
	LIBAPI_SCAN,      /* POST admin/library/scan */
};

/*
 * Answer req, an API request of op for the signed-in user (NUL-terminated,
 * borrowed for the call), with param the route's decoded parameter ("" for
 * none). lib NULL (no library with this storage): the lists (books,
 * facets) are empty with "available": false, the rest is 404. Answers
 * exactly once, now or later.
 */
void libapi_serve(struct library *lib, struct http_request *req,
    enum libapi_op op, const char *user, const char *param);

#endif
