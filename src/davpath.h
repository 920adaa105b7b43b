/*
 * davpath.h: WebDAV request paths, decoded and checked, and hrefs.
 *
 * A path as sent ("/dav/My%20Books//stats.sqlite3") becomes a list of
 * decoded segments ("dav", "My Books", "stats.sqlite3") that are safe to
 * use as file names one at a time under an account's folder: each is
 * valid UTF-8 of 1 to DAVPATH_MAX_NAME bytes, never "." or "..", with no
 * '/', no NUL and no other control byte, and does not begin with the
 * server's reserved prefix (DAVPATH_RESERVED: its temporary files and
 * property sidecars). Percent escapes are decoded once ("%2541" is "%41");
 * '+' is a plus; repeated '/' are merged.
 *
 * Pure: no I/O, nothing about accounts or HTTP. davfs.c opens the
 * segments; dav.c decides what they mean.
 */
#ifndef KOSYNCD_DAVPATH_H
#define KOSYNCD_DAVPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Bytes of one decoded name (NAME_MAX of Linux file systems). */
#define DAVPATH_MAX_NAME 255
/* Segments of one path: the mount, the account's folders and the name. */
#define DAVPATH_MAX_DEPTH 32
/* Bytes of a path as sent (before decoding). */
#define DAVPATH_MAX_BYTES 4096
/* Names that begin so belong to the server and are never served. */
#define DAVPATH_RESERVED ".kosyncd-"

struct davpath {
	struct str seg[DAVPATH_MAX_DEPTH]; /* decoded, into the caller's out */
	size_t nseg;
	bool slash; /* the path ended in '/' */
};

/*
 * Decode path (percent-encoded, as sent, without the query) into dp; the
 * segments point into out, which must hold path.len bytes, and each is
 * followed by a NUL there (usable as a C string). Returns 0, or
 * -1 with *why set to a sentence for a 400 answer.
 */
int davpath_parse(
    struct str path, char *out, struct davpath *dp, const char **why);

/*
 * Why name (one decoded segment, as a file name) breaks the rules above:
 * a sentence, or NULL when it is a valid name. For names that come from
 * elsewhere than a request (an import's trees).
 */
const char *davpath_name_why(struct str name);

/* True when name is a name the server reserves (see DAVPATH_RESERVED). */
bool davpath_is_reserved(struct str name);

/*
 * Append s percent-encoded for an href: every byte but A-Z a-z 0-9 and
 * "-._~" is written as %XX (uppercase), '/' too unless keep_slash.
 */
void davpath_encode(struct buf *out, struct str s, bool keep_slash);

#endif
