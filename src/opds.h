/*
 * opds.h: the library as OPDS catalogs (docs/library.md): OPDS 1.2 Atom at
 * <base>/opds, which every KOReader reads, and OPDS 2.0 JSON at
 * <base>/opds/v2, with the same feeds:
 *
 *   /opds                 the root: a navigation feed of the others
 *   /opds/reading         Reading now: the account's books in progress
 *   /opds/new             Recently added, newest first (KOReader's "Sync
 *                         catalog" walks it and stops at the last href)
 *   /opds/all             every book by title; ?author= ?series= ?lang=
 *                         ?tag= filter, ?order=title|author|series|added
 *   /opds/uploads         the account's uploads
 *   /opds/search?q=       words in the title, an author or the series
 *   /opds/search.xml      the OpenSearch description ({searchTerms})
 *   /opds/authors /series /languages /tags   navigation feeds of values
 *   /opds/cover/<book>    the cover (JPEG), /opds/thumb/<book> a thumbnail
 *   /opds/file/<file>/<name>   a download: the stored bytes, unchanged
 *   /opds/pse/<file>/<n>  page n (from 0) of a CBZ, ?maxWidth=W scales it
 *                         (OPDS-PSE: a CBZ's entry carries the stream link
 *                         with its page count, and in Reading now the page
 *                         reached as pse:lastRead)
 *
 * Feeds are pages of OPDS_PAGE entries (?page=N, typed next/previous
 * links), carry an ETag (a hash of the body) and Last-Modified (the
 * library's or the account's progress's newest change), and honour
 * If-None-Match with 304. Every request signs in with HTTP Basic
 * (basicauth.h: the account password or a device credential, through the
 * failed-login limiter); without it, 401 with WWW-Authenticate.
 *
 * Not here: the index (library.h), the formats (opdsfmt.h).
 */
#ifndef KOSYNCD_OPDS_H
#define KOSYNCD_OPDS_H

#include <uv.h>

#include "http.h"

#define OPDS_PAGE 50         /* entries of a feed page */
#define OPDS_MAX_VALUE 256   /* bytes of a query value (q, author, ...) */
#define OPDS_MAX_PAGE 100000 /* the highest ?page= */
#define OPDS_PSE_CACHE 1024  /* CBZ page counts remembered */

struct config;
struct library;
struct ratelimit;
struct store;

struct opds;

/*
 * The catalog of lib for the accounts of st, signed in through rl, under
 * cfg's base_path, its page work on loop's thread pool (all borrowed;
 * they outlive it).
 */
struct opds *opds_new(uv_loop_t *loop, struct store *st, struct ratelimit *rl,
    struct library *lib, const struct config *cfg);
/* Free. NULL is allowed. */
void opds_free(struct opds *o);

/* Answer a request under /opds (http_handler_fn; ctx is the struct opds). */
void opds_handle(struct http_request *req, void *ctx);

#endif
