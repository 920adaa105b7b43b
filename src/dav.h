/*
 * dav.h: the WebDAV file space (RFC 4918, class 1) at <base_path>/dav/.
 *
 * Every account sees its own tree of files and folders there, stored in
 * <data_dir>/dav/<name>/ (davfs.h) or in Redis (davredis.h), signed in with
 * HTTP Basic and the account's password (checked like the sync protocol's key,
 * through the same failed-login limiter). This is what KOReader's Cloud storage
 * syncs statistics.sqlite3 and vocabulary_builder.sqlite3 to.
 * docs/webdav.md says what is served and its limits.
 *
 * Uploads (PUT) are streamed to a temporary object (a file beside their
 * target, or chunks in Redis), made durable off the loop and committed in
 * place before the answer.
 */
#ifndef KOSYNCD_DAV_H
#define KOSYNCD_DAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "http.h"

/*
 * Accounts whose usage figure (bytes and entries of the tree, kept instead
 * of walking it before every upload) is held at once; each holds its
 * tree's root descriptor (counted in the server's descriptor reserve).
 */
#define DAV_USAGE_FDS 32
/* Files and folders one account may hold (and one listing may show). */
#define DAV_MAX_ENTRIES 10000

struct config;
struct ratelimit;
struct store;

struct dav;

/* The handler for loop, store st, options cfg and limiter rl (borrowed). */
struct dav *dav_new(uv_loop_t *loop, struct store *st, const struct config *cfg,
    struct ratelimit *rl);
void dav_free(struct dav *dav);

/*
 * Told when a file named name was written whole into user's tree (a PUT,
 * or the Destination of a COPY or MOVE), after the answer: fd is the file
 * opened for reading, which the listener takes (and closes); size its
 * size; agent the request's User-Agent (agent_len bytes, NULL for none).
 * Only for names the listener asked for (dav_on_file).
 */
typedef void dav_file_fn(void *arg, const char *user, size_t user_len,
    const char *name, int fd, uint64_t size, const char *agent,
    size_t agent_len);

/*
 * Listen for files called one of names (a NULL-terminated array; borrowed,
 * lives as long as dav).
 */
void dav_on_file(
    struct dav *dav, const char *const *names, dav_file_fn *fn, void *arg);

/*
 * The listener of the top folder Books/ (LIBRARY_DAV_FOLDER) of an
 * account's tree, on the loop after the answer's change is made: name, a
 * file of Books/ written whole (a PUT, a COPY's or MOVE's Destination; fd
 * its bytes, the listener's) or deleted (fd -1), or NULL; gone, a file of
 * Books/ a MOVE took away (out of the folder, or renamed to name), or
 * NULL. Strings are borrowed for the call. The listener picks the names
 * it wants.
 */
typedef void dav_book_fn(void *arg, const char *user, size_t user_len,
    const char *name, int fd, const char *gone);
void dav_on_book(struct dav *dav, dav_book_fn *fn, void *arg);

/*
 * A folder at the top of every account's space served by a handler of
 * its own: the request and its decoded segments below the folder
 * (borrowed for the call).
 */
typedef void dav_folder_fn(
    void *ctx, struct http_request *req, const struct str *seg, size_t nseg);
/*
 * Hand <mount>/library and below to fn with ctx (the library's read-only
 * folder, davlib.h; ctx outlives dav).
 */
void dav_set_library(struct dav *dav, dav_folder_fn *fn, void *ctx);

/* True when path (as sent) lies under the WebDAV mount (<base>/dav). */
bool dav_owns(const struct dav *dav, struct str path);

/*
 * The stream predicate for the server (http_parse_set_stream): the
 * bodies of PUT requests under the mount are streamed to disk.
 */
bool dav_wants_body(void *ctx, const struct http_request *req);

/* Answer a request dav_owns (http_handler_fn; ctx is the struct dav). */
void dav_handle(struct http_request *req, void *ctx);

/*
 * Answer req with status and len bytes of the open file fd (taken: closed
 * once sent) from offset off, sent as the client reads them
 * (http_reply_source), with content type ctype and extra headers.
 */
void dav_reply_file(struct http_request *req, int status, const char *ctype,
    const char *headers, int fd, uint64_t off, uint64_t len);

/*
 * Parse a single "bytes=" range of Range h for a file of size bytes into
 * [*from, *to]. Returns 1 for a satisfiable range, 0 to send the whole
 * file (no usable Range), -1 for 416.
 */
int dav_range_parse(struct str h, uint64_t size, uint64_t *from, uint64_t *to);

/*
 * dav_reply_file for a reader of a tree (davstore.h), taken: closed once
 * sent. When dav's store blocks (Redis) it is read a chunk ahead on the
 * thread pool, as a GET's file is: bounded memory, never on the loop.
 */
struct davrd;
void dav_reply_reader(struct http_request *req, struct dav *dav, int status,
    const char *ctype, const char *headers, struct davrd *rd, uint64_t off,
    uint64_t len);

/*
 * Storage work of another handler on the trees (davweb.c): when dav's
 * store blocks (Redis), run(arg) on the thread pool as one of dav's
 * chunk jobs (at most DAV_MAX_CHUNK_JOBS at once; dav_free waits for
 * it), then done(arg, ok) on the loop; else both here at once (the
 * disk). ok is false when the server is shutting down meanwhile: answer
 * 503 and start nothing more on dav.
 */
void dav_offload(struct dav *dav, void (*run)(void *arg),
    void (*done)(void *arg, bool ok), void *arg);

#endif
