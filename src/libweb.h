/*
 * libweb.h: the library's part of the web interface's JSON API
 * (docs/api.md, "Library"), on library.h. webui.c routes these requests
 * here once it has checked the session (and the administrator for the
 * admin ones); every answer is JSON but a cover's.
 *
 *   GET  /api/v1/library               a page of the visible books:
 *        ?order=title|author|series|added &author= &series= &language=
 *        &tag= &q= (words) &uploads=1 &docs=ID,ID... &offset= &limit=
 *        -> {"total","offset","limit","last_modified","books":[...]}
 *   GET  /api/v1/library/<book id>     -> {"book": {...}} or 404
 *   GET  /api/v1/library/<book id>/cover?size=WxH   image/jpeg, ETag
 *   GET  /api/v1/library/facets/<authors|series|languages|tags>
 *        ?offset= &limit= -> {"total","last_modified","values":[{"value",
 *        "count"}]}
 *   GET  /api/v1/admin/library         library_status_json
 *   POST /api/v1/admin/library/scan    202 {"scanning": true}
 *   GET  /api/v1/admin/library/uploads  every account's uploads, newest
 *        first: ?limit= &cursor= (webui.c's paging) &account=
 *        -> {"uploads": [{"id","title","authors","owner","shared",
 *        "formats","size","added"}], "next": cursor or null}
 *
 * Not here: sessions, CSRF and administrators (webui.c), the index.
 */
#ifndef KOSYNCD_LIBWEB_H
#define KOSYNCD_LIBWEB_H

#include <stdbool.h>

#include "buf.h"
#include "http.h"

struct library;

enum libweb_op {
	LIBWEB_LIST,
	LIBWEB_BOOK,
	LIBWEB_COVER,
	LIBWEB_FACET,
	LIBWEB_ADMIN,
	LIBWEB_SCAN,
};

/*
 * Answer req (op, for the signed-in user; param: the route's parameter,
 * decoded) from lib (NULL: 503, no library with this storage). admin:
 * user is an administrator, whose books carry "owner" and "shared"
 * (library_book_json). headers are the extra header lines of the web
 * API's answers (borrowed, static).
 */
void libweb_handle(struct library *lib, struct http_request *req,
    enum libweb_op op, const char *user, bool admin, struct str param,
    const char *headers);

struct store_page;

/*
 * Answer req with a page of the uploads (page: where it starts and its
 * size, store.h's cursor STORE_PAGE_UPLOADS; account NULL: every
 * account's), for an administrator (webui.c checked it).
 */
void libweb_uploads(struct library *lib, struct http_request *req,
    const struct store_page *page, const char *account, const char *headers);

#endif
