/*
 * davlib.h: the library as a read-only WebDAV folder, <base>/dav/library/,
 * in every account's WebDAV space (docs/library.md), so that KOReader's
 * Cloud storage "Sync now" (2026.07 and later) can mirror it to a device
 * without OPDS.
 *
 * The folder is flat: one file per book file the account sees (the shared
 * library and its own uploads), named as the OPDS download is named,
 * "Author - Title.ext" (a second file of the same name gets " (2)" before
 * its extension). PROPFIND (Depth 0 or 1; infinity is 1, the folder has
 * no sub-folders) gives each file's exact getcontentlength,
 * getlastmodified, getetag and getcontenttype; GET and HEAD send the
 * stored bytes, with Range. Every other method is 403: the library is
 * read-only here. Sign-in as for the rest of /dav (basicauth.h).
 *
 * The name "library" at the top of an account's space is the library's:
 * an account's own folder of that name is hidden while the library is
 * served.
 *
 * Not here: the rest of the WebDAV space (dav.h), the index (library.h).
 */
#ifndef KOSYNCD_DAVLIB_H
#define KOSYNCD_DAVLIB_H

#include <stddef.h>

#include "buf.h"
#include "http.h"

/* Books of the folder at most (a listing of more shows the first ones). */
#define DAVLIB_MAX_BOOKS 10000

struct config;
struct library;
struct ratelimit;
struct store;

struct davlib;

/* The folder of lib for st's accounts through rl (borrowed). */
struct davlib *davlib_new(struct store *st, struct ratelimit *rl,
    struct library *lib, const struct config *cfg);
void davlib_free(struct davlib *d);

/*
 * Answer req, whose path below the WebDAV mount is "library" and then the
 * nseg decoded segments seg (borrowed for the call); ctx is the struct
 * davlib (a dav_folder_fn, dav.h).
 */
void davlib_handle(
    void *ctx, struct http_request *req, const struct str *seg, size_t nseg);

#endif
