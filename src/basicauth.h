/*
 * basicauth.h: the HTTP Basic sign-in of a request (as KOReader's WebDAV
 * and OPDS clients send it: "Authorization: Basic base64(user:password)"),
 * checked against the account store with the account's password or a
 * device credential (the key is md5 of the password, auth.h), through the
 * one failed-login limiter (ratelimit.h): a wrong password counts there,
 * and a user or address over the limit is refused before the store is
 * asked.
 *
 * A device credential that signs in is noted in its audit
 * (store_device_note). The caller answers, with BASICAUTH_CHALLENGE on a
 * 401.
 *
 * Not here: the KOSync protocol's x-auth headers (api.c), the web
 * interface's sessions (session.h).
 */
#ifndef KOSYNCD_BASICAUTH_H
#define KOSYNCD_BASICAUTH_H

#include "http.h"
#include "store.h"

struct ratelimit;

#define BASICAUTH_CHALLENGE "WWW-Authenticate: Basic realm=\"kosyncd\"\r\n"

/*
 * The outcome: status 0 and user (NUL-terminated, in req's memory) when
 * signed in; otherwise status 401 (no, malformed or wrong credentials, or
 * too many failures) or 503 (the store is unavailable), user NULL and why
 * a sentence for the answer.
 */
typedef void basicauth_fn(
    void *arg, const char *user, int status, const char *why);

/*
 * Check req's Basic credentials against st through rl (borrowed; they
 * outlive the call), noting a device credential's use as what. cb runs
 * once, maybe before this returns.
 */
void basicauth_check(struct http_request *req, struct store *st,
    struct ratelimit *rl, enum store_device_what what, basicauth_fn *cb,
    void *arg);

#endif
