/*
 * webops.c: the web interface's operations on the file and memory
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
 * durable, as a struct change (change.c applies it, live and at replay), so
 * memory, journal and a later replay agree. A record carries
 * everything it needs (the restored position itself, not a reference to a
 * history entry that a push meanwhile may have shifted), so applying it
 * later, or again after a crash, gives the same state.
 *
 * No key is checked here: the web interface authenticated its session.
 * Not here: the protocol's operations (filestore.c), files (datadir.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "change.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "json.h"
#include "policy.h"
#include "table.h"
#include "webops.h"
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
	/* Held back by the account's policy (docs/policy.md). */
	if (e->held != 0) {
		json_key(o, "held");
		json_str(o, policy_held_name(e->held));
		json_key(o, "promoted");
		json_bool(o, (e->held & DB_HELD_PROMOTED) != 0);
	}
	json_obj_end(o);
}

/* The user u names, or NULL when there is none (yet, or any more). */
static struct db_user *
web_user(struct filestore *js, struct str user)
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

/* webops_select with u's links in li. */
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
webops_select(const struct db_user *u, const struct store_page *page,
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
webops_render(const struct db_user *u, struct str document, bool history,
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
filestore_web_documents(struct store *st, struct str user, struct str document,
    bool history, const struct store_page *page, store_text_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct db_user *u = web_user(js, user);
	struct buf out = BUF_INIT;

	if (u == NULL) {
		cb(arg, STORE_ERR_AUTH, NULL, 0);
		return;
	}
	webops_render(u, document, history, page, &out);
	cb(arg, STORE_OK, out.data, out.len);
	buf_release(&out);
}

/*
 * Changes
 */

struct web_op {
	struct filestore *js;
	struct db_user *u;  /* referenced */
	uint64_t res_bytes; /* reserved in u (web_admit) */
	store_cb *cb;
	void *arg;
	uint64_t seq;
	struct change c; /* its strings are copies in strings[] */
	char strings[];
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

static void
web_done(void *arg, int err)
{
	struct web_op *op = arg;
	struct filestore *js = op->js;
	struct db_user *u = op->u;
	enum store_result r = STORE_OK;

	if (js->persistent)
		datadir_done(js, op->seq, err);
	if (u != NULL)
		u->pend_bytes -= op->res_bytes;
	if (err != 0) {
		r = STORE_ERR_IO;
	} else if (u != NULL && u->removed) {
		r = STORE_ERR_AUTH;
	} else {
		change_apply_user(&js->db, u, &op->c);
		datadir_changed(js);
	}
	web_reply(op->cb, op->arg, r, r == STORE_OK ? op->c.put.timestamp : 0);
	if (u != NULL)
		db_user_unref(u);
	free(op);
	js->ops_live--;
	datadir_idle_check(js);
}

/* Journal op's change (the memory backend: none), then web_done. */
static void
web_submit(struct web_op *op)
{
	struct filestore *js = op->js;
	struct buf rec = BUF_INIT;

	js->ops_live++;
	if (!js->persistent) {
		web_done(op, 0);
		return;
	}
	(void)change_encode(&rec, &op->c);
	op->seq = datadir_append(js, rec.data, rec.len, web_done, op);
	buf_release(&rec);
}

bool
webops_allowed(const struct db_user *u, const struct store_web_change *ch)
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
webops_change_of(struct str user, const struct store_web_change *ch,
    int64_t now, const struct db_history *history, struct change *c)
{
	memset(c, 0, sizeof(*c));
	switch (ch->kind) {
	case STORE_WEB_RESTORE:
		c->kind = CHANGE_WEB_RESTORE;
		break;
	case STORE_WEB_RENAME:
		c->kind = CHANGE_WEB_RENAME;
		break;
	case STORE_WEB_DELETE:
		c->kind = CHANGE_WEB_DELETE;
		break;
	case STORE_WEB_LINK:
		c->kind = CHANGE_WEB_LINK;
		break;
	case STORE_WEB_UNLINK:
		c->kind = CHANGE_WEB_UNLINK;
		break;
	case STORE_WEB_ADMIN:
		c->kind = CHANGE_WEB_ADMIN;
		break;
	case STORE_WEB_PROMOTE:
		c->kind = CHANGE_WEB_PROMOTE;
		break;
	default:
		c->kind = CHANGE_WEB_CONFIG;
		break;
	}
	c->user = user;
	c->put.document = ch->document;
	c->put.percentage = ch->percentage;
	c->put.progress = ch->progress;
	c->put.timestamp = now;
	c->name = ch->name;
	c->alias = ch->alias;
	c->admin = ch->admin;
	c->history = *history;
}

int
webops_promote_of(
    const struct db_doc *d, const struct store_web_change *ch, struct change *c)
{
	const struct db_entry *e;
	uint32_t i;

	i = d != NULL && d->history != NULL ? d->history->n : 0;
	for (; i > 0; i--) {
		e = d->history->e[i - 1];
		if (e->held == 0 || (e->held & DB_HELD_PROMOTED) != 0 ||
		    e->timestamp != ch->at || e->percentage != ch->percentage ||
		    !str_eq((struct str){db_entry_device_id(e), e->len[2]},
		        ch->device_id.p != NULL ? ch->device_id : STR_LIT("")))
			continue;
		c->put.percentage = e->percentage;
		c->put.progress = (struct str){db_entry_progress(e), e->len[0]};
		c->put.device = (struct str){db_entry_device(e), e->len[1]};
		c->put.device_id =
		    (struct str){db_entry_device_id(e), e->len[2]};
		c->at = e->timestamp;
		return 0;
	}
	return -1;
}

/*
 * What ch would add to u's usage in bytes, at most (db.h DB_RECORD_BYTES);
 * 0 for the changes that only remove (delete, unlink) or touch no data.
 */
static int64_t
web_cost(const struct db_history *h, const struct db_user *u,
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
		p.device = STR_LIT(CHANGE_WEB_DEVICE);
		p.device_id = STR_LIT("");
		db_put_cost(u, &p, h, &c);
		n = c.bytes;
		if (!h->keep)
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
			db_put_cost(u, &p, h, &c);
			n += c.bytes;
		}
		return n;
	default:
		return 0;
	}
}

void
filestore_user_admin(struct store *st, struct str user, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	const struct db_user *u = web_user(js, user);

	web_reply(
	    cb, arg, u != NULL && u->admin ? STORE_OK : STORE_ERR_NOTFOUND, 0);
}

void
filestore_web_change(struct store *st, struct str user,
    const struct store_web_change *ch, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct db_user *u = NULL;
	struct change c;
	struct web_op *op;
	char *p;
	int64_t now = (int64_t)time(NULL);
	int64_t cost = 0;

	if (js->closing) {
		web_reply(cb, arg, STORE_ERR_UNAVAILABLE, 0);
		return;
	}
	if (ch->kind != STORE_WEB_CONFIG) {
		u = web_user(js, user);
		if (u == NULL || !webops_allowed(u, ch)) {
			web_reply(cb, arg, STORE_ERR_AUTH, 0);
			return;
		}
		/* Per-user limits (docs/security.md), as for a push. */
		cost = web_cost(&js->history, u, ch);
		if (cost > 0 && js->cfg->user_max_bytes != 0 &&
		    u->bytes + u->pend_bytes + (uint64_t)cost >
		        js->cfg->user_max_bytes) {
			web_reply(cb, arg, STORE_ERR_LIMIT, 0);
			return;
		}
	}
	webops_change_of(user, ch, now, &js->history, &c);
	if (ch->kind == STORE_WEB_PROMOTE &&
	    webops_promote_of(db_doc_find(u, ch->document), ch, &c) != 0) {
		web_reply(cb, arg, STORE_ERR_NOTFOUND, 0);
		return;
	}
	op = xcalloc(1, sizeof(*op) + str_packed_size(c.user) +
	                    str_packed_size(c.put.document) +
	                    str_packed_size(c.put.progress) +
	                    str_packed_size(c.put.device) +
	                    str_packed_size(c.put.device_id) +
	                    str_packed_size(c.name) + str_packed_size(c.alias));
	p = op->strings;
	op->js = js;
	op->u = u;
	op->cb = cb;
	op->arg = arg;
	op->c = c;
	op->c.user = str_pack(&p, c.user);
	op->c.put.document = str_pack(&p, c.put.document);
	op->c.put.progress = str_pack(&p, c.put.progress);
	op->c.put.device = str_pack(&p, c.put.device);
	op->c.put.device_id = str_pack(&p, c.put.device_id);
	op->c.name = str_pack(&p, c.name);
	op->c.alias = str_pack(&p, c.alias);
	if (u != NULL) {
		u->refs++;
		op->res_bytes = cost > 0 ? (uint64_t)cost : 0;
		u->pend_bytes += op->res_bytes;
	}
	web_submit(op);
}

/*
 * Events out (docs/webhooks.md): the account's webhooks and feed token,
 * replaced whole by a change of kind EVENTS (applied by web_done).
 */

void
filestore_events_set(struct store *st, struct str user, bool feed,
    struct str text, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct db_user *u;
	struct web_op *op;
	char *p;

	if (js->closing) {
		web_reply(cb, arg, STORE_ERR_UNAVAILABLE, 0);
		return;
	}
	if ((u = web_user(js, user)) == NULL) {
		web_reply(cb, arg, STORE_ERR_AUTH, 0);
		return;
	}
	if (text.len > STORE_MAX_EVENTS_TEXT) {
		web_reply(cb, arg, STORE_ERR_LIMIT, 0);
		return;
	}
	op = xcalloc(
	    1, sizeof(*op) + str_packed_size(user) + str_packed_size(text));
	p = op->strings;
	op->js = js;
	op->u = u;
	op->cb = cb;
	op->arg = arg;
	op->c.kind = CHANGE_EVENTS;
	op->c.history = js->history;
	op->c.user = str_pack(&p, user);
	op->c.events = str_pack(&p, text);
	op->c.admin = feed;
	op->c.put.timestamp = (int64_t)time(NULL);
	u->refs++;
	web_submit(op);
}

void
filestore_events_get(
    struct store *st, struct str user, store_events_fn *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct db_user *u = web_user(js, user);

	if (u == NULL) {
		cb(arg, STORE_ERR_AUTH, STR_NULL, STR_NULL);
		return;
	}
	cb(arg, STORE_OK, str_from(u->webhooks ? u->webhooks : ""),
	    str_from(u->feed ? u->feed : ""));
}

/*
 * The feed's owner: a walk over the accounts (a feed is polled every few
 * minutes at most; the walk compares a token with each account that has
 * one, about 10 ns each).
 */
void
filestore_feed_user(
    struct store *st, struct str token, store_text_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	const struct db_user *u, *found = NULL;
	uint32_t pos = 0;

	while (token.len > 0 && (u = table_next(&js->db.users, &pos)) != NULL) {
		if (u->feed == NULL || u->creating ||
		    strlen(u->feed) != token.len)
			continue;
		if (sodium_memcmp(u->feed, token.p, token.len) == 0)
			found = u;
	}
	if (found == NULL)
		cb(arg, STORE_ERR_NOTFOUND, NULL, 0);
	else
		cb(arg, STORE_OK, found->name, found->name_len);
}
