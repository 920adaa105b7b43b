/*
 * userlist.h: the user list, as `kosyncd user list`, the admin API and the
 * web interface show it, rendered once for every backend.
 *
 * A backend hands it its tables' users (the file and memory backends their
 * live tables, the Redis backend the copy it loaded on a worker thread);
 * what the list says of each comes from those tables alone, except the
 * administrator flag, which the Redis backend keeps outside them.
 */
#ifndef KOSYNCD_USERLIST_H
#define KOSYNCD_USERLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"
#include "store.h"

/* Whether u is an administrator (arg: the backend's). */
typedef bool userlist_admin_fn(void *arg, const struct db_user *u);

/*
 * Append the list of users (nu of them, sorted by name, as
 * db_users_sorted gives them) to out: for each user not still being
 * created, {"username", "documents", "last_sync" (the newest document's
 * timestamp, 0 without any), "devices" (the names of the devices that
 * pushed any document, its current one and those of its device list,
 * sorted, each once, empty names left out), "bytes", "history", and
 * "admin": true for an administrator}. Without page, every user as an
 * array; with page, {"users": [the page], "next": cursor}: the users
 * after page's position, at most page->limit of them, ending early after
 * the one that brings the answer to STORE_PAGE_MAX_BYTES or the documents
 * read to STORE_PAGE_MAX_SCAN. is_admin(arg, u) is asked for the users
 * listed only; NULL reads u->admin.
 */
void userlist_render(struct db_user *const *users, size_t nu,
    const struct store_page *page, userlist_admin_fn *is_admin, void *arg,
    struct buf *out);

#endif
