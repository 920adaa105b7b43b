/*
 * userlist.c: the user list of every backend (see userlist.h).
 *
 * The devices of a user are gathered from all its documents into one
 * array, sorted and written where each name's run starts: n log n in the
 * names, however many documents share a device.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "userlist.h"
#include "xmalloc.h"

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Write u's entry. docs (nd of them) are u's documents; names has room
 * for every device name they hold.
 */
static void
user_entry(struct json_out *o, const struct db_user *u,
    struct db_doc *const *docs, size_t nd, const char **names, bool admin)
{
	size_t n = 0, j, k;
	int64_t last = 0;

	for (j = 0; j < nd; j++) {
		if (docs[j]->timestamp > last)
			last = docs[j]->timestamp;
		names[n++] = db_doc_field(docs[j], DB_F_DEVICE);
		for (k = 0; docs[j]->devices != NULL && k < docs[j]->devices->n;
		     k++)
			names[n++] = db_entry_device(docs[j]->devices->e[k]);
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_strp);
	json_obj_begin(o);
	json_key(o, "username");
	json_strn(o, u->name, u->name_len);
	json_key(o, "documents");
	json_uint(o, nd);
	json_key(o, "last_sync");
	json_int(o, last);
	json_key(o, "devices");
	json_arr_begin(o);
	/* Sorted: each name once, where its run starts. */
	for (j = 0; j < n; j++)
		if (names[j][0] != '\0' &&
		    (j == 0 || strcmp(names[j - 1], names[j]) != 0))
			json_str(o, names[j]);
	json_arr_end(o);
	json_key(o, "bytes");
	json_uint(o, u->bytes);
	json_key(o, "history");
	json_uint(o, u->history);
	if (admin) {
		json_key(o, "admin");
		json_bool(o, true);
	}
	json_obj_end(o);
}

void
userlist_render(struct db_user *const *users, size_t nu,
    const struct store_page *page, userlist_admin_fn *is_admin, void *arg,
    struct buf *out)
{
	struct db_doc **docs;
	const char **names;
	struct json_out o;
	size_t i, j, nd, nn, lo, hi, shown = 0, scanned = 0;
	size_t start = out->len;

	json_out_init(&o, out, false);
	if (page != NULL) {
		json_obj_begin(&o);
		json_key(&o, "users");
	}
	json_arr_begin(&o);
	/* A page starts at the first name after the cursor's. */
	lo = 0;
	hi = nu;
	while (page != NULL && page->after && lo < hi) {
		i = lo + (hi - lo) / 2;
		if (store_page_after(page, 0,
		        (struct str){users[i]->name, users[i]->name_len}))
			hi = i;
		else
			lo = i + 1;
	}
	for (i = lo; i < nu; i++) {
		if (users[i]->creating)
			continue;
		if (page != NULL && page->limit > 0 &&
		    (shown == page->limit ||
		        (shown > 0 &&
		            (out->len - start >= STORE_PAGE_MAX_BYTES ||
		                scanned >= STORE_PAGE_MAX_SCAN))))
			break;
		shown++;
		scanned += users[i]->docs.n;
		docs = db_docs_sorted(users[i], &nd);
		nn = 0;
		for (j = 0; j < nd; j++)
			nn += 1 + (docs[j]->devices ? docs[j]->devices->n : 0);
		names = xmalloc((nn + 1) * sizeof(*names));
		user_entry(&o, users[i], docs, nd, names,
		    is_admin != NULL ? is_admin(arg, users[i])
		                     : users[i]->admin);
		free(names);
		free(docs);
	}
	json_arr_end(&o);
	if (page != NULL) {
		json_key(&o, "next");
		store_page_next(&o, STORE_PAGE_USERS, i < nu && shown > 0, 0,
		    shown > 0 ? (struct str){users[i - 1]->name,
		                    users[i - 1]->name_len}
		              : STR_NULL);
		json_obj_end(&o);
	}
}
