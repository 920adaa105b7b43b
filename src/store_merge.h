/*
 * store_merge.h: the rules by which an imported document's history and
 * device positions are merged into ours, on the tables of db.c, shared by
 * the file store's import (filestore_admin.c, journaled as "import_lists"
 * records) and the Redis store's (redis_worker.c):
 *
 * - a device position is taken when it is newer than ours for that device,
 *   unless it is the device of the document's current state (that one is
 *   never stored twice); at most DB_MAX_DEVICES are kept, the oldest
 *   dropped;
 * - history entries we do not have (all five fields compared) are merged
 *   in by timestamp, our own order kept (ours first on a tie), only with
 *   store_history, and only the newest history_limit of the result kept.
 *
 * Merging the same lists twice changes nothing the second time.
 */
#ifndef KOSYNCD_STORE_MERGE_H
#define KOSYNCD_STORE_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* A stored state as a position to merge (strings never NULL). */
struct db_put store_merge_entry(const struct db_entry *e);

/*
 * The lists of the imported document from as the merge takes them: its
 * history (only when hs keeps history: sorted by timestamp, at most the
 * newest history_limit) and its device positions, as arrays the caller
 * frees (borrowing from's strings).
 */
void store_merge_lists_of(const struct db_history *hs,
    const struct db_doc *from, struct db_put **h, size_t *nh,
    struct db_put **dv, size_t *nd);

/*
 * Merge history h (nh, any order) and device positions dv (nd) into d by
 * the rules above. Returns whether that changes d; with apply false d is
 * left as it is (a dry run). u is d's user, whose usage follows the change
 * (NULL: none).
 */
bool store_merge_lists(const struct db_history *hs, struct db_user *u,
    struct db_doc *d, const struct db_put *h, size_t nh,
    const struct db_put *dv, size_t nd, bool apply);

#endif
