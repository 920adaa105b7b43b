/*
 * webops.h: the web interface's reads and changes on the tables of
 * db.c, shared by the backends that implement store.h's store_web_*: the
 * file and memory backends apply them to their live tables (webops.c),
 * the Redis backend to a user's data loaded into a scratch table and
 * written back (redis_worker.c). One piece of code decides what a
 * restore, rename, deletion or merge does, whatever the storage.
 *
 * A change is a struct change (change.h: "web_restore", "web_rename",
 * "web_delete", "web_link", "web_unlink", "web_config", "web_admin") that
 * carries everything it needs (the restored position itself, the server
 * time), so applying it later or again gives the same state: the file
 * backend journals it as it is.
 */
#ifndef KOSYNCD_WEBOPS_H
#define KOSYNCD_WEBOPS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

struct db_user;

/*
 * Append to out what store_web_documents answers for u (see store.h): a
 * page of the documents, or only document (with a page of its history)
 * when document.p != NULL. page is not NULL and page->limit > 0.
 */
void webops_render(const struct db_user *u, struct str document, bool history,
    const struct store_page *page, struct buf *out);

/*
 * Up to k of u's documents that come after page's position (all from the
 * first, when !page->after), the first k in the lists' order (newest
 * first, then by id), sorted into out (k entries); merged-away records are
 * left out. One pass over the documents with a heap of k: O(n log k) time,
 * no memory but out. Returns how many were found.
 */
struct db_doc;
size_t webops_select(const struct db_user *u, const struct store_page *page,
    const struct db_doc **out, size_t k);

/*
 * Whether ch may be applied to u: the document exists (links followed);
 * LINK names an alias the user has (a record, or a link) that does not
 * resolve to the document already;
 * UNLINK an alias linked to it. CONFIG and ADMIN are always allowed.
 */
bool webops_allowed(const struct db_user *u, const struct store_web_change *ch);

/*
 * The change (change.h) that ch makes on user's data at server time now
 * with the history setting history; its strings are ch's and user's.
 */
struct change;
struct db_history;
void webops_change_of(struct str user, const struct store_web_change *ch,
    int64_t now, const struct db_history *history, struct change *c);
/*
 * PROMOTE: the held history entry of d (NULL: none) that ch names, not
 * promoted yet, into c's position, device and at (borrowing d's strings).
 * Returns 0, or -1 when there is none.
 */
struct db_doc;
int webops_promote_of(const struct db_doc *d, const struct store_web_change *ch,
    struct change *c);

#endif
