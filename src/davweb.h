/*
 * davweb.h: the web API's view of an account's WebDAV files (docs/api.md):
 * the versions kept of its statistics files (davstore.h: on disk or in
 * Redis).
 *
 * GET /api/v1/files/usage: the account's files against its limits, 200
 * {"bytes","entries","quota_bytes","max_file_bytes","max_entries"}.
 * GET /api/v1/files/versions?path=P lists the versions of the file P (its
 * path below /dav/, decoded, e.g. "/kosync/statistics.sqlite3"), newest
 * first: 200 {"path":P,"versions":[{"number","size","uploaded"}]}.
 * GET /api/v1/files/versions/N?path=P sends version N's bytes. Errors are
 * JSON: 400 (a path WebDAV would refuse, a bad number), 404 (no such
 * folder or version), 501 (--storage memory), 503 (Redis unreachable).
 *
 * Not responsible for the session (webui.c checks it first): user is the
 * signed-in account, and only its tree is reached (davfs.h).
 */
#ifndef KOSYNCD_DAVWEB_H
#define KOSYNCD_DAVWEB_H

#include "buf.h"
#include "http.h"

struct config;
struct dav;

/*
 * Answer req for user (copied): the list when number is a NULL slice,
 * else that version's bytes. headers are the extra headers of every
 * answer (webui.c's; they must outlive the request). With Redis the
 * folder, the list and each chunk of the version are read on the thread
 * pool through dav's jobs (dav_offload, dav_reply_reader), never on the
 * loop; 503 when the server shuts down meanwhile.
 */
void davweb_versions(struct http_request *req, struct dav *dav,
    const struct config *cfg, struct str user, struct str path,
    struct str number, const char *headers);

/*
 * Answer req with user's usage: on disk its tree counted here, on the
 * loop (at most a few milliseconds for the DAV_MAX_ENTRIES entries an
 * account may hold, as a listing of them); with Redis one script
 * (davredis.h) on the thread pool (dav_offload).
 */
void davweb_usage(struct http_request *req, struct dav *dav,
    const struct config *cfg, struct str user, const char *headers);

#endif
