/*
 * libcursor.h: the text of a library page cursor (docs/library.md,
 * "Paging"): an opaque, bounded, URL-safe token that names where the next
 * page of a list starts, as a kind letter and a few text fields.
 *
 * The token is base64url (RFC 4648 section 5, no padding) of "1" (the
 * version), the kind, then each field followed by a NUL byte. What the
 * fields mean is the caller's (library.c: the order's sort key, the last
 * book's id and the position); this module only writes and reads them,
 * and refuses anything that is not such a token.
 *
 * Layer core (src/LAYERS): on buf.h and base64.h alone.
 */
#ifndef KOSYNCD_LIBCURSOR_H
#define KOSYNCD_LIBCURSOR_H

#include <stddef.h>

#include "buf.h"

/* Characters of a cursor at most (longer: not written, refused). */
#define LIBCURSOR_MAX 2048
/* Fields of a cursor at most. */
#define LIBCURSOR_MAX_FIELDS 6

struct libcursor {
	char kind; /* an ASCII letter */
	size_t nfields;
	/* NUL-terminated, pointing into raw; no field holds a NUL byte. */
	const char *field[LIBCURSOR_MAX_FIELDS];
	char raw[LIBCURSOR_MAX / 4 * 3 + 3];
};

/*
 * Append the cursor of kind (an ASCII letter) and the n fields
 * (1 to LIBCURSOR_MAX_FIELDS) to out. Returns 0, or -1 with out unchanged
 * when it would be longer than LIBCURSOR_MAX characters or the arguments
 * are not such a cursor's.
 */
int libcursor_encode(
    struct buf *out, char kind, const char *const *fields, size_t n);

/*
 * Read the len characters of text into c. Returns 0, or -1 when text is
 * no cursor (empty, too long, a character outside base64url, padding,
 * another version, no kind letter, no field, more than
 * LIBCURSOR_MAX_FIELDS fields or bytes after the last NUL); c is then all zero.
 */
int libcursor_decode(const char *text, size_t len, struct libcursor *c);

#endif
