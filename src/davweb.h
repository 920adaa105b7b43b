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

/*
 * Answer req for user (borrowed): the list when number is a NULL slice,
 * else that version's bytes. headers are the extra headers of every
 * answer (webui.c's).
 */
void davweb_versions(struct http_request *req, const struct config *cfg,
    struct str user, struct str path, struct str number, const char *headers);

/*
 * Answer req with user's usage (its tree counted here, on the loop: at
 * most a few milliseconds for the DAV_MAX_ENTRIES entries an account may
 * hold, as a listing of them; with Redis, one script, davredis.h).
 */
void davweb_usage(struct http_request *req, const struct config *cfg,
    struct str user, const char *headers);

#endif
