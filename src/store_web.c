/*
 * store_web.c: the web interface's operations on the file and memory
 * backends (store.h store_web_*).
 *
 * Reads walk the tables on the loop thread, a page at a time (store.h
 * struct store_page): one pass over the user's documents with a heap of
 * the page's size picks the page, so a read costs O(n log k) for n
 * documents and a page of k, never a sort of the whole account, and its
 * answer is bounded in bytes. A change is decided on the loop, written as
 * one journal record ("web_restore", "web_rename", "web_delete",
 * "web_link", "web_unlink", "web_config", "web_admin": an account's
 * administrator flag) and applied to the tables only once that record is
 * durable, through store_web_apply, the very function replay uses, so
 * memory, journal and a later replay agree. A record carries
 * everything it needs (the restored position itself, not a reference to a
 * history entry that a push meanwhile may have shifted), so applying it
 * later, or again after a crash, gives the same state.
 *
 * No key is checked here: the web interface authenticated its session.
 * Not here: the protocol's operations (store_json.c), files (store_file.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "json.h"
#include "store_json.h"
#include "store_web.h"
#include "table.h"
#include "xmalloc.h"

/*
 * Reads
 */

static void
w_entry(struct json_out *o, const struct db_entry *e)
{
	json_obj_begin(o);
	json_key(o, "percentage");
	json_double(o, e->percentage);
	json_key(o, "progress");
	json_str(o, db_entry_progress(e));
	json_key(o, "device");
	json_str(o, db_entry_device(e));
	json_key(o, "device_id");
	json_str(o, db_entry_device_id(e));
	json_key(o, "timestamp");
	json_int(o, e->timestamp);
	json_obj_end(o);
}

/* The user u names, or NULL when there is none (yet, or any more). */
static struct db_user *
web_user(struct json_store *js, struct str user)
{
	struct db_user *u = db_user_find(&js->db, user);

	if (u == NULL || u->creating || u->removed)
		return NULL;
	return u;
}

/* Entries [from, to) of l. */
static void
w_list(struct json_out *o, const char *name, const struct db_list *l,
    uint32_t from, uint32_t to)
{
	uint32_t i;

	json_key(o, name);
	json_arr_begin(o);
	for (i = from; l != NULL && i < to && i < l->n; i++)
		w_entry(o, l->e[i]);
	json_arr_end(o);
}

/*
 * The most bytes e can take in an answer: every byte of its strings may
 * be escaped as \u00XX.
 */
static size_t
w_entry_bound(const struct db_entry *e)
{
	return 6 * ((size_t)e->len[0] + e->len[1] + e->len[2]) + 128;
}

/*
 * Where the history entries of d that end before to start: at most limit
 * of them, fewer when their worst-case bytes would pass budget (at least
 * one, when there is one).
 */
static uint32_t
w_history_from(const struct db_doc *d, uint32_t to, size_t limit, size_t budget)
{
	size_t bytes = 0;
	uint32_t from;

	for (from = to; from > 0 && to - from < limit; from--) {
		bytes += w_entry_bound(d->history->e[from - 1]);
		if (from < to && bytes > budget)
			break;
	}
	return from;
}

/*
 * u's links sorted by alias and by canonical id for the lookups of one
 * page: O(log n) each, where db.c walks the list (a user has few, but one
 * may have merged thousands of ids, and a page looks up every document).
 * Equal canonical ids keep the list's order.
 */
struct link_index {
	const struct db_link **alias;
	const struct db_link **canon;
	uint32_t n;
};

static int
cmp_alias(const void *a, const void *b)
{
	return strcmp((*(const struct db_link *const *)a)->alias,
	    (*(const struct db_link *const *)b)->alias);
}

static int
cmp_canon(const void *a, const void *b)
{
	const struct db_link *x = *(const struct db_link *const *)a;
	const struct db_link *y = *(const struct db_link *const *)b;
	int c = strcmp(x->canonical, y->canonical);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

static void
link_index_init(struct link_index *li, const struct db_user *u)
{
	uint32_t i;

	li->n = u->nlinks;
	li->alias = li->canon = NULL;
	if (li->n == 0)
		return;
	li->alias = xmalloc(li->n * sizeof(const struct db_link *));
	li->canon = xmalloc(li->n * sizeof(const struct db_link *));
	for (i = 0; i < li->n; i++)
		li->alias[i] = li->canon[i] = &u->links[i];
	qsort(li->alias, li->n, sizeof(const struct db_link *), cmp_alias);
	qsort(li->canon, li->n, sizeof(const struct db_link *), cmp_canon);
}

static void
link_index_release(struct link_index *li)
{
	free(li->alias);
	free(li->canon);
}

/* Whether id is an alias (its own record is out of reach). */
static bool
link_index_is_alias(const struct link_index *li, const char *id)
{
	uint32_t lo = 0, hi = li->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(id, li->alias[mid]->alias);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/* The first position in li->canon whose canonical id is not below id. */
static uint32_t
link_index_canon(const struct link_index *li, const char *id)
{
	uint32_t lo = 0, hi = li->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(li->canon[mid]->canonical, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The document d of u. With history, its entries [from, to) and, when
 * history_next, "history_next": the cursor of the entries before from,
 * seen the entries from to the newest (null when from is 0).
 */
static void
w_doc(struct json_out *o, const struct link_index *li, const struct db_doc *d,
    bool history, uint32_t from, uint32_t to, bool history_next)
{
	static const struct {
		const char *name;
		enum db_field f;
	} fields[] = {
	    {"document", DB_F_ID},
	    {"progress", DB_F_PROGRESS},
	    {"device", DB_F_DEVICE},
	    {"device_id", DB_F_DEVICE_ID},
	    {"filename", DB_F_FILENAME},
	    {"title", DB_F_TITLE},
	    {"authors", DB_F_AUTHORS},
	    {"pretty_name", DB_F_PRETTY_NAME},
	};
	uint32_t n = d->history != NULL ? d->history->n : 0;
	size_t i;

	json_obj_begin(o);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_key(o, fields[i].name);
		json_strn(o, db_doc_field(d, fields[i].f), d->len[fields[i].f]);
	}
	json_key(o, "percentage");
	json_double(o, d->percentage);
	json_key(o, "timestamp");
	json_int(o, d->timestamp);
	w_list(o, "devices", d->devices, 0, UINT32_MAX);
	if (history)
		w_list(o, "history", d->history, from, to);
	if (history_next) {
		json_key(o, "history_next");
		store_page_next(o, STORE_PAGE_HISTORY, from > 0,
		    (int64_t)(n - from), STR_NULL);
	}
	json_key(o, "links");
	json_arr_begin(o);
	for (i = link_index_canon(li, d->s);
	     i < li->n && strcmp(li->canon[i]->canonical, d->s) == 0; i++)
		json_str(o, li->canon[i]->alias);
	json_arr_end(o);
	json_obj_end(o);
}

/* Newest first; equal timestamps by id, so the order is stable. */
static int
cmp_newest(const void *a, const void *b)
{
	const struct db_doc *x = *(const struct db_doc *const *)a;
	const struct db_doc *y = *(const struct db_doc *const *)b;

	if (x->timestamp != y->timestamp)
		return x->timestamp > y->timestamp ? -1 : 1;
	return strcmp(x->s, y->s);
}

/* Sift heap[i] down a max-heap (in cmp_newest order) of n. */
static void
heap_down(const struct db_doc **heap, size_t n, size_t i)
{
	const struct db_doc *t;
	size_t c;

	for (; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && cmp_newest(&heap[c + 1], &heap[c]) > 0)
			c++;
		if (cmp_newest(&heap[c], &heap[i]) <= 0)
			break;
		t = heap[i];
		heap[i] = heap[c];
		heap[c] = t;
	}
}

/* store_web_select with u's links in li. */
static size_t
w_select(const struct db_user *u, const struct link_index *li,
    const struct store_page *page, const struct db_doc **out, size_t k)
{
	const struct db_doc *d;
	uint32_t pos = 0;
	size_t n = 0, i;

	while ((d = table_next(&u->docs, &pos)) != NULL) {
		/* The record of a merged-away id is out of reach. */
		if (li->n > 0 && link_index_is_alias(li, d->s))
			continue;
		if (!store_page_after(page, d->timestamp,
		        (struct str){d->s, d->len[DB_F_ID]}))
			continue;
		if (n < k) {
			/* Sift up. */
			out[n] = d;
			for (i = n++; i > 0 && cmp_newest(&out[(i - 1) / 2],
			                           &out[i]) < 0;
			     i = (i - 1) / 2) {
				d = out[i];
				out[i] = out[(i - 1) / 2];
				out[(i - 1) / 2] = d;
			}
		} else if (k > 0 && cmp_newest(&d, &out[0]) < 0) {
			out[0] = d;
			heap_down(out, n, 0);
		}
	}
	qsort(out, n, sizeof(const struct db_doc *), cmp_newest);
	return n;
}

size_t
store_web_select(const struct db_user *u, const struct store_page *page,
    const struct db_doc **out, size_t k)
{
	struct link_index li;
	size_t n;

	link_index_init(&li, u);
	n = w_select(u, &li, page, out, k);
	link_index_release(&li);
	return n;
}

/* A page of the document list (see store.h store_web_documents). */
static void
w_page(const struct db_user *u, bool history, const struct store_page *page,
    struct buf *out)
{
	struct json_out o;
	struct link_index li;
	const struct db_doc **docs, *d;
	size_t n, i, limit = page->limit, start = out->len;
	uint32_t hn;

	link_index_init(&li, u);
	docs = xmalloc((limit + 1) * sizeof(const struct db_doc *));
	n = w_select(u, &li, page, docs, limit + 1);
	json_out_init(&o, out, false);
	json_obj_begin(&o);
	json_key(&o, "documents");
	json_arr_begin(&o);
	for (i = 0; i < n && i < limit; i++) {
		/* Bounded bytes: stop once a page holds enough. */
		if (i > 0 && out->len - start >= STORE_PAGE_MAX_BYTES)
			break;
		d = docs[i];
		hn = d->history != NULL ? d->history->n : 0;
		w_doc(&o, &li, d, history,
		    history ? w_history_from(d, hn, STORE_LIST_HISTORY,
		                  STORE_LIST_HISTORY_BYTES)
		            : 0,
		    hn, false);
	}
	json_arr_end(&o);
	json_key(&o, "next");
	d = i > 0 ? docs[i - 1] : NULL;
	store_page_next(&o, STORE_PAGE_DOCS, i < n && d != NULL,
	    d != NULL ? d->timestamp : 0,
	    d != NULL ? (struct str){d->s, d->len[DB_F_ID]} : STR_NULL);
	json_obj_end(&o);
	free(docs);
	link_index_release(&li);
}

/*
 * The one document d as an array, with the page of its history that page
 * names: up to page->limit entries before the page->ts newest ones, fewer
 * when their bytes would pass STORE_PAGE_MAX_BYTES.
 */
static void
w_one(const struct db_user *u, const struct db_doc *d,
    const struct store_page *page, struct buf *out)
{
	struct json_out o;
	struct link_index li;
	uint32_t n = d->history != NULL ? d->history->n : 0, from, to;

	to = page->after && page->ts >= 0
	         ? (page->ts < (int64_t)n ? n - (uint32_t)page->ts : 0)
	         : n;
	from = w_history_from(d, to, page->limit, STORE_PAGE_MAX_BYTES);
	link_index_init(&li, u);
	json_out_init(&o, out, false);
	json_arr_begin(&o);
	w_doc(&o, &li, d, true, from, to, true);
	json_arr_end(&o);
	link_index_release(&li);
}

void
store_web_render(const struct db_user *u, struct str document, bool history,
    const struct store_page *page, struct buf *out)
{
	const struct db_doc *d;

	if (document.p == NULL) {
		w_page(u, history, page, out);
		return;
	}
	d = db_doc_find(u, document);
	if (d == NULL)
		buf_adds(out, "[]");
	else
		w_one(u, d, page, out);
}

void
json_store_web_documents(struct store *st, struct str user, struct str document,
    bool history, const struct store_page *page, store_text_cb *cb, void *arg)
{
	struct json_store *js = (struct json_store *)st;
	struct db_user *u = web_user(js, user);
	struct buf out = BUF_INIT;

	if (u == NULL) {
		cb(arg, STORE_ERR_AUTH, NULL, 0);
		return;
	}
	store_web_render(u, document, history, page, &out);
	cb(arg, STORE_OK, out.data, out.len);
	buf_release(&out);
}

/*
 * Applying a change (live and replay)
 */

static void
web_restore(struct db *db, struct db_user *u, struct str doc, double pct,
    struct str progress, int64_t ts)
{
	struct db_doc *old = db_doc_find(u, doc), *d;
	struct db_put p, prev;
	char *copy;
	size_t n0, n1, n2;

	if (old == NULL)
		return;
	/* The replaced state, copied: db_put frees the old record. */
	n0 = old->len[DB_F_PROGRESS];
	n1 = old->len[DB_F_DEVICE];
	n2 = old->len[DB_F_DEVICE_ID];
	copy = xmalloc(n0 + n1 + n2 + 3);
	memcpy(copy, db_doc_field(old, DB_F_PROGRESS), n0 + 1);
	memcpy(copy + n0 + 1, db_doc_field(old, DB_F_DEVICE), n1 + 1);
	memcpy(copy + n0 + n1 + 2, db_doc_field(old, DB_F_DEVICE_ID), n2 + 1);
	memset(&prev, 0, sizeof(prev));
	prev.document = doc;
	prev.percentage = old->percentage;
	prev.timestamp = old->timestamp;
	prev.progress = (struct str){copy, n0};
	prev.device = (struct str){copy + n0 + 1, n1};
	prev.device_id = (struct str){copy + n0 + n1 + 2, n2};

	memset(&p, 0, sizeof(p));
	p.document = doc;
	p.percentage = pct;
	p.timestamp = ts;
	p.progress = progress.p != NULL ? progress : STR_LIT("");
	p.device = STR_LIT(STORE_WEB_DEVICE);
	p.device_id = STR_LIT("");
	d = db_put(db, u, &p);
	/* So that a restore can be undone even without store_history. */
	if (!db->store_history)
		db_doc_add_history(u, d, &prev, db->history_limit);
	free(copy);
}

static void
web_rename(struct db *db, struct db_user *u, struct str doc, struct str name)
{
	struct db_doc *d = db_doc_find(u, doc);
	struct db_put p;

	if (d == NULL)
		return;
	memset(&p, 0, sizeof(p));
#define F(f) ((struct str){db_doc_field(d, f), d->len[f]})
	p.document = F(DB_F_ID);
	p.percentage = d->percentage;
	p.timestamp = d->timestamp;
	p.progress = F(DB_F_PROGRESS);
	p.device = F(DB_F_DEVICE);
	p.device_id = F(DB_F_DEVICE_ID);
	p.filename = F(DB_F_FILENAME);
	p.title = F(DB_F_TITLE);
	p.authors = F(DB_F_AUTHORS);
#undef F
	p.pretty_name = name.p != NULL ? name : STR_LIT("");
	db_doc_load(db, u, &p);
}

/*
 * Merge alias into doc: when alias's own record is newer, doc takes its
 * position (as a push would: the replaced state goes to the history and
 * the device list), then alias is linked to doc.
 */
static void
web_link(struct db *db, struct db_user *u, struct str doc, struct str alias)
{
	struct db_doc *a = db_doc_find(u, alias), *d = db_doc_find(u, doc);
	struct db_put p;

	if (d == NULL || a == d)
		return;
	if (a != NULL && a->timestamp > d->timestamp) {
		memset(&p, 0, sizeof(p));
#define F(f) ((struct str){db_doc_field(a, f), a->len[f]})
		p.percentage = a->percentage;
		p.timestamp = a->timestamp;
		p.progress = F(DB_F_PROGRESS);
		p.device = F(DB_F_DEVICE);
		p.device_id = F(DB_F_DEVICE_ID);
#undef F
		p.document =
		    (struct str){db_doc_field(d, DB_F_ID), d->len[DB_F_ID]};
		db_put(db, u, &p);
	}
	db_link_set(u, alias, doc);
}

int
store_web_apply(struct db *db, struct db_user *u, struct str op,
    const struct json_value *rec)
{
	struct str doc = json_get_str(rec, "doc");

	if (str_eqs(op, "web_config"))
		return 0;
	if (str_eqs(op, "web_admin")) {
		const struct json_value *v = json_get(rec, "admin");

		if (v == NULL ||
		    (v->type != JSON_TRUE && v->type != JSON_FALSE))
			return -1;
		if (u != NULL)
			u->admin = v->type == JSON_TRUE;
		return 0;
	}
	if (!str_eqs(op, "web_restore") && !str_eqs(op, "web_rename") &&
	    !str_eqs(op, "web_delete") && !str_eqs(op, "web_link") &&
	    !str_eqs(op, "web_unlink"))
		return -1;
	if (doc.p == NULL)
		return -1;
	if (str_eqs(op, "web_link") || str_eqs(op, "web_unlink")) {
		if (json_get_str(rec, "alias").p == NULL)
			return -1;
		if (u != NULL && str_eqs(op, "web_link"))
			web_link(db, u, doc, json_get_str(rec, "alias"));
		else if (u != NULL)
			db_link_del(u, json_get_str(rec, "alias"));
		return 0;
	}
	if (str_eqs(op, "web_restore")) {
		const struct json_value *v;
		double pct, ts;

		if ((v = json_get(rec, "percentage")) == NULL ||
		    json_number(v, false, &pct) != 0)
			return -1;
		if ((v = json_get(rec, "timestamp")) == NULL ||
		    json_number(v, false, &ts) != 0)
			return -1;
		if (u != NULL)
			web_restore(db, u, doc, pct,
			    json_get_str(rec, "progress"),
			    ts > -9.2e18 && ts < 9.2e18 ? (int64_t)ts : 0);
	} else if (str_eqs(op, "web_rename")) {
		if (u != NULL)
			web_rename(db, u, doc, json_get_str(rec, "name"));
	} else if (u != NULL) {
		/* doc may point into a link: remove the record first. */
		doc = db_link_resolve(u, doc);
		db_doc_remove(db, u, doc);
		db_link_del_to(u, doc);
	}
	return 0;
}

/*
 * Changes
 */

struct web_op {
	struct json_store *js;
	struct db_user *u;  /* referenced */
	uint64_t res_bytes; /* reserved in u (web_admit) */
	store_cb *cb;
	void *arg;
	uint64_t seq;
	int64_t timestamp;
	size_t len;
	char rec[]; /* the journal record */
};

static void
web_reply(store_cb *cb, void *arg, enum store_result r, int64_t ts)
{
	struct store_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = r;
	rep.timestamp = ts;
	cb(arg, &rep);
}

/* Parse-tree memory of one record: a list of blocks. */
struct chunk {
	struct chunk *next;
	max_align_t data[];
};

static void *
chunk_alloc(void *ctx, size_t size)
{
	struct chunk **head = ctx, *c = xmalloc(sizeof(*c) + size);

	c->next = *head;
	*head = c;
	return c->data;
}

static void
chunks_free(struct chunk *c)
{
	struct chunk *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

static void
web_done(void *arg, int err)
{
	struct web_op *op = arg;
	struct json_store *js = op->js;
	struct db_user *u = op->u;
	const struct json_value *root;
	enum store_result r = STORE_OK;
	struct chunk *chunks = NULL;

	if (js->persistent)
		json_store_done(js, op->seq, err);
	if (u != NULL)
		u->pend_bytes -= op->res_bytes;
	if (err != 0) {
		r = STORE_ERR_IO;
	} else if (u != NULL && u->removed) {
		r = STORE_ERR_AUTH;
	} else {
		root = json_parse(op->rec, op->len, chunk_alloc, &chunks, NULL);
		if (root == NULL || store_web_apply(&js->db, u,
		                        json_get_str(root, "op"), root) != 0)
			r = STORE_ERR_IO;
		chunks_free(chunks);
		json_store_changed(js);
	}
	web_reply(op->cb, op->arg, r, r == STORE_OK ? op->timestamp : 0);
	if (u != NULL)
		db_user_unref(u);
	free(op);
	js->ops_live--;
	json_store_idle_check(js);
}

bool
store_web_allowed(const struct db_user *u, const struct store_web_change *ch)
{
	struct str doc;

	if (ch->kind == STORE_WEB_CONFIG || ch->kind == STORE_WEB_ADMIN)
		return true;
	if (db_doc_find(u, ch->document) == NULL)
		return false;
	if (ch->kind != STORE_WEB_LINK && ch->kind != STORE_WEB_UNLINK)
		return true;
	if (ch->alias.p == NULL || ch->alias.len == 0)
		return false;
	doc = db_link_resolve(u, ch->document);
	/* A merge takes a document the user has (docs/api.md: 404). */
	if (ch->kind == STORE_WEB_LINK)
		return db_doc_find(u, ch->alias) != NULL &&
		       !str_eq(db_link_resolve(u, ch->alias), doc);
	return !str_eq(db_link_resolve(u, ch->alias), ch->alias) &&
	       str_eq(db_link_resolve(u, ch->alias), doc);
}

void
store_web_record(struct str user, const struct store_web_change *ch,
    int64_t now, struct buf *rec)
{
	struct json_out o;
	const char *name;

	switch (ch->kind) {
	case STORE_WEB_RESTORE:
		name = "web_restore";
		break;
	case STORE_WEB_RENAME:
		name = "web_rename";
		break;
	case STORE_WEB_DELETE:
		name = "web_delete";
		break;
	case STORE_WEB_LINK:
		name = "web_link";
		break;
	case STORE_WEB_UNLINK:
		name = "web_unlink";
		break;
	case STORE_WEB_ADMIN:
		name = "web_admin";
		break;
	default:
		name = "web_config";
		break;
	}
	json_out_init(&o, rec, false);
	json_obj_begin(&o);
	json_key(&o, "op");
	json_str(&o, name);
	json_key(&o, "user");
	json_strn(&o, user.p != NULL ? user.p : "", user.len);
	if (ch->kind == STORE_WEB_ADMIN) {
		json_key(&o, "admin");
		json_bool(&o, ch->admin);
	} else if (ch->kind != STORE_WEB_CONFIG) {
		json_key(&o, "doc");
		json_strn(&o, ch->document.p, ch->document.len);
	}
	if (ch->kind == STORE_WEB_RESTORE) {
		json_key(&o, "percentage");
		json_double(&o, ch->percentage);
		json_key(&o, "progress");
		json_strn(&o, ch->progress.p != NULL ? ch->progress.p : "",
		    ch->progress.len);
		json_key(&o, "timestamp");
		json_int(&o, now);
	} else if (ch->kind == STORE_WEB_RENAME) {
		json_key(&o, "name");
		json_strn(
		    &o, ch->name.p != NULL ? ch->name.p : "", ch->name.len);
	} else if (ch->kind == STORE_WEB_LINK || ch->kind == STORE_WEB_UNLINK) {
		json_key(&o, "alias");
		json_strn(&o, ch->alias.p, ch->alias.len);
	}
	json_obj_end(&o);
}

/*
 * What ch would add to u's usage in bytes, at most (db.h DB_RECORD_BYTES);
 * 0 for the changes that only remove (delete, unlink) or touch no data.
 */
static int64_t
web_cost(const struct db *db, const struct db_user *u,
    const struct store_web_change *ch)
{
	const struct db_doc *d = db_doc_find(u, ch->document), *a;
	struct db_cost c;
	struct db_put p;
	int64_t n = 0;

	if (d == NULL)
		return 0;
	memset(&p, 0, sizeof(p));
	p.document = ch->document;
	switch (ch->kind) {
	case STORE_WEB_RESTORE:
		p.progress =
		    ch->progress.p != NULL ? ch->progress : STR_LIT("");
		p.device = STR_LIT(STORE_WEB_DEVICE);
		p.device_id = STR_LIT("");
		db_put_cost(db, u, &p, &c);
		n = c.bytes;
		if (!db->store_history)
			n +=
			    (int64_t)(d->len[DB_F_PROGRESS] +
			              d->len[DB_F_DEVICE] +
			              d->len[DB_F_DEVICE_ID] + DB_RECORD_BYTES);
		return n;
	case STORE_WEB_RENAME:
		return (int64_t)ch->name.len -
		       (int64_t)d->len[DB_F_PRETTY_NAME];
	case STORE_WEB_LINK:
		n = (int64_t)(ch->alias.len + d->len[DB_F_ID] +
		              DB_RECORD_BYTES);
		a = db_doc_find(u, ch->alias);
		if (a != NULL && a->timestamp > d->timestamp) {
			p.progress =
			    (struct str){db_doc_field(a, DB_F_PROGRESS),
			        a->len[DB_F_PROGRESS]};
			p.device = (struct str){
			    db_doc_field(a, DB_F_DEVICE), a->len[DB_F_DEVICE]};
			p.device_id =
			    (struct str){db_doc_field(a, DB_F_DEVICE_ID),
			        a->len[DB_F_DEVICE_ID]};
			db_put_cost(db, u, &p, &c);
			n += c.bytes;
		}
		return n;
	default:
		return 0;
	}
}

void
json_store_user_admin(
    struct store *st, struct str user, store_cb *cb, void *arg)
{
	struct json_store *js = (struct json_store *)st;
	const struct db_user *u = web_user(js, user);

	web_reply(
	    cb, arg, u != NULL && u->admin ? STORE_OK : STORE_ERR_NOTFOUND, 0);
}

void
json_store_web_change(struct store *st, struct str user,
    const struct store_web_change *ch, store_cb *cb, void *arg)
{
	struct json_store *js = (struct json_store *)st;
	struct db_user *u = NULL;
	struct buf rec = BUF_INIT;
	struct web_op *op;
	int64_t now = (int64_t)time(NULL);
	int64_t cost = 0;

	if (js->closing) {
		web_reply(cb, arg, STORE_ERR_UNAVAILABLE, 0);
		return;
	}
	if (ch->kind != STORE_WEB_CONFIG) {
		u = web_user(js, user);
		if (u == NULL || !store_web_allowed(u, ch)) {
			web_reply(cb, arg, STORE_ERR_AUTH, 0);
			return;
		}
		/* Per-user limits (docs/security.md), as for a push. */
		cost = web_cost(&js->db, u, ch);
		if (cost > 0 && js->cfg->user_max_bytes != 0 &&
		    u->bytes + u->pend_bytes + (uint64_t)cost >
		        js->cfg->user_max_bytes) {
			web_reply(cb, arg, STORE_ERR_LIMIT, 0);
			return;
		}
	}
	store_web_record(user, ch, now, &rec);
	op = xcalloc(1, sizeof(*op) + rec.len + 1);
	op->js = js;
	op->u = u;
	op->cb = cb;
	op->arg = arg;
	op->timestamp = now;
	op->len = rec.len;
	memcpy(op->rec, rec.data, rec.len);
	buf_release(&rec);
	if (u != NULL) {
		u->refs++;
		op->res_bytes = cost > 0 ? (uint64_t)cost : 0;
		u->pend_bytes += op->res_bytes;
	}
	js->ops_live++;
	if (!js->persistent) {
		web_done(op, 0);
		return;
	}
	op->seq = json_store_append(js, op->rec, op->len, web_done, op);
}
