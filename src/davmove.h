/*
 * davmove.h: an account's WebDAV tree copied from one storage to another
 * (the file store's disk and Redis), for `kosyncd import redis` and
 * `kosyncd export redis`.
 *
 * The copy goes through the davstore.h table of each side, file by file
 * in 64 KiB chunks (a file is never held whole in memory), with the dead
 * properties of every file and folder and the kept versions of the
 * statistics files. The tree read is input: every name is checked with
 * davpath's rules (davpath_name_why), files larger than
 * dav_max_file_bytes, trees deeper than a request may reach or with more
 * than DAV_MAX_ENTRIES entries, and a tree that would pass the target's
 * dav_quota_bytes are refused with a sentence saying where. A first pass
 * (dry) checks everything and changes nothing; the copy itself merges:
 * a folder is made when missing, a file is copied when the target lacks
 * it or has an older one (by modification time), else left as it is, so
 * running the copy again after a failure finishes it and then changes
 * nothing. Each file arrives whole or not at all (davstore's upload).
 *
 * Not here: which accounts exist (the caller asks its store), the
 * accounts' other data (store_admin_import).
 */
#ifndef KOSYNCD_DAVMOVE_H
#define KOSYNCD_DAVMOVE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

struct config;
struct davstore;

/* One side of a copy. */
struct davmove_end {
	struct davstore *s;       /* borrowed */
	const char *data_dir;     /* the disk's data directory, NULL: Redis */
	const struct config *cfg; /* its Redis, and the target's limits */
};

/* What a copy found or did (added to by each call). */
struct davmove_tally {
	uint64_t trees;    /* accounts with a tree in the source */
	uint64_t files;    /* files copied (kept versions not counted) */
	uint64_t folders;  /* folders made */
	uint64_t existing; /* files the target had as new or newer */
	uint64_t bytes;    /* bytes written, kept versions included */
};

/*
 * Whether account user has a tree on e (changing nothing): 1, 0, or -1
 * with errno.
 */
int davmove_has_tree(const struct davmove_end *e, struct str user);

/*
 * Copy account user's tree from from to to (both borrowed); with dry,
 * only check it, changing nothing on either side. Returns 0 (the tally
 * added to; also when from has no tree), or -1 with a sentence naming the
 * account and the entry in why (a refused input, or a storage that
 * failed: then the files copied so far stay, each whole).
 */
int davmove_tree(const struct davmove_end *from, const struct davmove_end *to,
    struct str user, bool dry, struct davmove_tally *t, struct buf *why);

#endif
