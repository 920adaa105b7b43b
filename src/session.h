/*
 * session.h: the web interface's sign-in sessions, kept in memory.
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
 * of that user) or the account is deleted. At most max sessions exist; the
 * one closest to expiring makes room for a new one. Sessions do not
 * survive a restart: users sign in again.
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
 * terminated). Never returns NULL.
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

/* Sessions alive (for tests). */
size_t sessions_count(const struct sessions *ss);

#endif
