/*
 * libupload.h: a book uploaded from the web interface
 * (POST /api/v1/library/upload, docs/api.md).
 *
 * The body is the file's bytes, streamed to a temporary file of the
 * account's uploads folder (libplace.h) as they arrive: memory stays a
 * chunk whatever the size. Its name comes from the X-File-Name header
 * (percent-encoded UTF-8, checked like a WebDAV name, with a book's
 * extension). Refused, and nothing kept: a name that is not a book's
 * (400), more than library_max_upload_bytes (413), bytes that are no
 * book the library reads (415, bookmeta.h's reason), the account's uploads
 * past dav_quota_bytes (507). A file whose partial MD5 the account already
 * sees in the library is not stored again (200 with that book); otherwise
 * it is made durable, linked into the folder, indexed at once (a scan of
 * the library, as `library add` does) and answered 201 with its book.
 *
 * An administrator shares an upload with every account (libupload_share).
 *
 * With Redis storage an upload needs library_upload_path (the folder
 * every instance shares); without it: 503.
 */
#ifndef KOSYNCD_LIBUPLOAD_H
#define KOSYNCD_LIBUPLOAD_H

#include <stdbool.h>

#include <uv.h>

#include "http.h"

struct config;
struct library;

/* The route, below the base path. */
#define LIBUPLOAD_PATH "/api/v1/library/upload"

/*
 * Whether req (its path as sent) is an upload, whose body is streamed
 * (the server's stream predicate). base is router_base's form of
 * base_path.
 */
bool libupload_wants_body(struct str base, const struct http_request *req);

/*
 * Answer the upload req of user (signed in, CSRF checked) into lib's
 * uploads folder. headers are the extra header lines of the web API's
 * answers (borrowed, static).
 */
void libupload_handle(uv_loop_t *loop, struct library *lib,
    const struct config *cfg, struct http_request *req, const char *user,
    const char *headers);

/*
 * An administrator's POST /api/v1/admin/library/<book_id>/share: the
 * upload book_id shared with every account (on) or its owner's alone
 * again (library_share_sync). 200 {"id", "shared"}, 404 no such upload.
 */
void libupload_share(uv_loop_t *loop, const struct library *lib,
    const struct config *cfg, struct http_request *req, struct str book_id,
    bool on, const char *headers);

/*
 * WebDAV's Books/ on Redis (dav_on_book, with library_upload_path set):
 * the file name of account user's Books/, fd its bytes (taken), is
 * copied on the thread pool into the account's uploads folder (streamed:
 * a temporary file, fsync, rename over the old copy) and indexed alone;
 * fd -1: it was deleted, its copy is removed and leaves the index. gone
 * (or NULL): a file of Books/ a MOVE took away (out of Books/, or renamed
 * to name): its copy is removed and leaves the index first, in the same
 * job. name may be NULL when gone is not. A name that is no book's is
 * ignored (its fd closed), and an account name that is no folder's.
 */
void libupload_dav_book(uv_loop_t *loop, const struct config *cfg,
    struct str user, const char *name, int fd, const char *gone);

#endif
