/*
 * admin.h: the administration operations behind the admin commands.
 *
 * One entry point, admin_run(), serves both ways a command reaches the
 * store: through the running server's control socket (admin_handle is the
 * HTTP handler of that socket: POST /admin/<op>, JSON in and out) and
 * offline, when the command opened the store itself on a private loop.
 * Either way the same store operations run, so a change is journaled and
 * takes effect exactly as a client's would.
 *
 * Operations (op, request body, success body):
 *   user-add     {"username","key"[,"admin":true]}
 *                                     201 {"username"[,"admin":true]}
 *   user-passwd  {"username","key"}   200 {"username"}
 *   user-del     {"username"}         200 {"username"}
 *   user-admin   {"username","admin":bool}
 *                                     200 {"username","admin":bool}
 *   user-list    -                    200 [{"username","documents",
 *                                          "last_sync","devices"
 *                                          [,"admin":true]}]
 *   export       -                    200 database.json text
 *   import       database.json text   200 {"users_added", ...}
 *   compact      -                    200 {"compacted", ...}
 *   backup       -                    200 {"file"}  (file storage)
 *   device-add   {"username","label"} 201 {"username","id","password"}
 *   device-list  {"username"}         200 store_device_list's JSON
 *   device-rename {"username","id","label"}  200 {"username","id"}
 *   device-revoke {"username","id"}   200 {"username","id"}
 *   devices-only {"username","on":bool}      200 {"username"}
 * "key" is what KOReader sends: the md5 hex of the password. user-add
 * takes the names a device could register (auth_username_registrable).
 * Administrators of the web interface are a flag on the account
 * (store_web_change STORE_WEB_ADMIN: journaled, gone with the account):
 * user-add with "admin" true sets it once the account exists, user-admin
 * sets or clears it (404 when there is no such account). Errors are
 * {"code":<status>,"message":...}: 400 bad request, 404 no such user or
 * operation (or device credential), 507 the account holds
 * STORE_MAX_DEVCREDS live credentials, 409 name taken, 500 not durable, 503 not
 * available (storage without it, or stopping).
 *
 * The control socket never serves the sync protocol, and the protocol's
 * listener never serves these.
 */
#ifndef KOSYNCD_ADMIN_H
#define KOSYNCD_ADMIN_H

#include <stddef.h>

#include "buf.h"
#include "http.h"

struct config;
struct store;

struct admin;

/* Called once per admin_run with the HTTP-like status and the body. */
typedef void admin_done_fn(void *arg, int status, const char *body, size_t len);

/*
 * Operations on st (borrowed, as is cfg; cfg->admins is written by
 * user-add with "admin"). Never returns NULL.
 */
struct admin *admin_new(struct store *st, struct config *cfg);
/* Free; no operation may be in flight. NULL is allowed. */
void admin_free(struct admin *a);

/*
 * Run op with body (borrowed for the call). done(arg, ...) is called
 * exactly once, on the loop, possibly before admin_run returns.
 */
void admin_run(struct admin *a, const char *op, struct str body,
    admin_done_fn *done, void *arg);

/* The control socket's HTTP handler; ctx is the struct admin. */
void admin_handle(struct http_request *req, void *ctx);

#endif
