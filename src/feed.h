/*
 * feed.h: an account's "now reading" feed (docs/webhooks.md), at a secret
 * address: GET <base>/feed/<token>.json and <base>/feed/<token>.atom.
 *
 * The token (32 hex digits, made, rotated and removed by the account from
 * the web interface; store.h store_feed_user) is the only credential. The
 * feed lists the account's books in progress (below 99 %), newest first,
 * at most FEED_MAX_BOOKS: the title when known, the percentage, the
 * device and the time; nothing else (no user name, no document id). An
 * unknown token, like any malformed address, is a JSON 404.
 *
 * Answers carry an ETag (a hash of the body) and Last-Modified (the
 * newest position's time), honour If-None-Match and If-Modified-Since
 * with 304, and may be kept 60 s by the client only (Cache-Control:
 * private).
 *
 * Not here: the token's storage (store.h), the web API that manages it
 * (webui.c).
 */
#ifndef KOSYNCD_FEED_H
#define KOSYNCD_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct store;

#define FEED_MAX_BOOKS 50 /* books of a feed at most (the newest) */
#define FEED_TOKEN_LEN 32 /* hex digits of a token */

/*
 * Answer req with the len bytes of body (ctype) after headers (complete
 * lines), with its validators: an ETag (a hash of the body) and
 * Last-Modified last; 304 when If-None-Match or If-Modified-Since match.
 * The OPDS catalogs (opds.c) answer their feeds so too.
 */
void feed_reply(struct http_request *req, const char *ctype,
    const char *headers, const char *body, size_t len, int64_t last);

/* Answer req (its route under /feed) from st (borrowed). */
void feed_serve(struct http_request *req, struct store *st);

#endif
