/*
 * session.h: the web interface's sign-in sessions, in memory, or in Redis
 * when the store is the Redis backend (shared by every instance).
 *
 * A session is created when a user signs in with the password KOReader
 * knows. Its token (32 random bytes from libsodium, base64url, 43
 * characters) travels in a cookie; the table keeps only a keyed BLAKE2b
 * digest of it, so neither memory nor a timing difference in the lookup
 * gives a token away. Each session also has a CSRF token of the same
 * strength that the page must echo in a header on every state-changing
 * request (compared with sodium_memcmp).
 *
 * Sessions end when they expire (a fixed lifetime from sign-in), when the
 * user signs out, when the account's password changes (every other session
 * of that user; all of them when it changed outside the web interface, see
 * store_listen_accounts) or the account is deleted. At most max sessions
 * exist, at most SESSION_MAX_PER_USER of one user (a new one ends that
 * user's oldest); a sign-in never ends another user's session: when the
 * table is full of other users' live sessions it is refused (SESSION_FULL),
 * so one account signing in again and again cannot sign everyone else
 * out. Sessions do not survive a restart: users sign in again.
 *
 * Shared sessions (sessions_open() on the Redis backend; see session.c for
 * the keys): several kosyncd instances on one Redis serve the same users,
 * so a session lives in Redis, as an unkeyed BLAKE2b digest of its token
 * (the same in every instance) with the session lifetime as its expiry,
 * listed in a per-user sorted set. Every lookup asks Redis (one round
 * trip, a script that also checks that the account still exists): a
 * sign-out, a password change or an account deletion through any instance
 * is seen by all at once, and they survive a restart of kosyncd. At most
 * SESSION_MAX_PER_USER sessions per user exist there (the oldest goes).
 *
 * The asynchronous calls (sessions_lookup, sessions_start, sessions_end,
 * sessions_end_user) work on both: in memory they call back before they
 * return; on Redis later on the loop, or with SESSION_UNAVAILABLE when
 * Redis cannot be reached. The synchronous calls (session_create, ...)
 * are the in-memory table's only (tests use them with their own clock).
 *
 * Times are milliseconds of a monotonic clock passed in by the caller.
 * Not responsible for cookies or headers (webui.c).
 */
#ifndef KOSYNCD_SESSION_H
#define KOSYNCD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SESSION_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */
#define SESSION_DIGEST_BYTES 32
#define SESSION_MAX_PER_USER 100 /* sessions of one user (the oldest goes) */

struct store;

struct session {
	unsigned char digest[SESSION_DIGEST_BYTES]; /* of the cookie token */
	char csrf[SESSION_TOKEN_LEN + 1];
	uint64_t expires; /* monotonic ms */
	uint32_t hash;
	char *user;
};

struct sessions;

/* A table of at most max sessions living ttl_ms each. Never NULL. */
struct sessions *sessions_new(uint64_t ttl_ms, size_t max);
/* Free every session. NULL is allowed. */
void sessions_free(struct sessions *ss);

/*
 * A new session for user; its cookie token is written to token (NUL-
 * terminated). Ends user's oldest session when it has
 * SESSION_MAX_PER_USER. Returns NULL (token untouched) when the table is
 * full of live sessions of other users.
 */
struct session *session_create(struct sessions *ss, struct str user,
    uint64_t now, char token[SESSION_TOKEN_LEN + 1]);

/* The live session whose cookie token is token, or NULL. */
struct session *session_find(
    struct sessions *ss, struct str token, uint64_t now);

/* Whether csrf is the session's CSRF token (constant time). */
bool session_csrf_ok(const struct session *s, struct str csrf);

/* End session s (s is freed). */
void session_destroy(struct sessions *ss, struct session *s);

/* End every session of user except keep (NULL: all). */
void session_destroy_user(
    struct sessions *ss, struct str user, const struct session *keep);

/* Sessions alive (for tests; in memory only). */
size_t sessions_count(const struct sessions *ss);

/*
 * Sessions for the store st: shared in Redis when st is the Redis backend
 * (st borrowed; must outlive the table), otherwise sessions_new(ttl_ms,
 * max). Never NULL.
 */
struct sessions *sessions_open(struct store *st, uint64_t ttl_ms, size_t max);

/* Whether the sessions live in Redis. */
bool sessions_shared(const struct sessions *ss);

enum session_result {
	SESSION_OK,
	SESSION_NONE,        /* no such (live) session, or no such user */
	SESSION_UNAVAILABLE, /* Redis cannot be reached */
	SESSION_FULL,        /* sessions_start: too many users signed in */
};

/*
 * Callbacks of the asynchronous calls. s (SESSION_OK only) and token are
 * borrowed for the call; s->expires is 0 for a shared session.
 */
typedef void session_fn(
    void *arg, enum session_result r, const struct session *s);
typedef void session_token_fn(void *arg, enum session_result r,
    const struct session *s, const char *token);
typedef void session_done_fn(void *arg, enum session_result r);

/* The live session whose cookie token is token (SESSION_NONE if none). */
void sessions_lookup(
    struct sessions *ss, struct str token, session_fn *fn, void *arg);

/*
 * A new session for user, with its cookie token. SESSION_NONE when, in
 * Redis, the account no longer exists (or is being deleted); SESSION_FULL
 * when, in memory, the table is full of other users' live sessions.
 */
void sessions_start(
    struct sessions *ss, struct str user, session_token_fn *fn, void *arg);

/* End the session whose token is token (none: SESSION_OK too). fn may be
 * NULL. */
void sessions_end(
    struct sessions *ss, struct str token, session_done_fn *fn, void *arg);

/*
 * End every session of user except the one whose token is keep (a NULL
 * slice: all). fn may be NULL.
 */
void sessions_end_user(struct sessions *ss, struct str user, struct str keep,
    session_done_fn *fn, void *arg);

#endif
