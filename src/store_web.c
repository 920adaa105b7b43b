/*
 * store_web.c: the web interface's operations on the file and memory
 * backends (store.h store_web_*).
 *
 * Reads walk the tables on the loop thread. A change is decided on the
 * loop, written as one journal record ("web_restore", "web_rename",
 * "web_delete", "web_link", "web_unlink", "web_config", "web_admin": an
 * account's administrator flag) and applied to the tables only once that
 * record is durable, through store_web_apply, the very function replay
 * uses, so memory, journal and a later replay agree. A record carries
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

#include "db.h"
#include "json.h"
#include "store_json.h"
#include "store_web.h"
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

static void
w_list(struct json_out *o, const char *name, const struct db_list *l)
{
	uint32_t i;

	json_key(o, name);
	json_arr_begin(o);
	for (i = 0; l != NULL && i < l->n; i++)
		w_entry(o, l->e[i]);
	json_arr_end(o);
}

static void
w_doc(struct json_out *o, const struct db_user *u, const struct db_doc *d,
    bool history)
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
	w_list(o, "devices", d->devices);
	if (history)
		w_list(o, "history", d->history);
	json_key(o, "links");
	json_arr_begin(o);
	for (i = 0; i < u->nlinks; i++)
		if (strcmp(u->links[i].canonical, d->s) == 0)
			json_str(o, u->links[i].alias);
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

/* The user u names, or NULL when there is none (yet, or any more). */
static struct db_user *
web_user(struct json_store *js, struct str user)
{
	struct db_user *u = db_user_find(&js->db, user);

	if (u == NULL || u->creating || u->removed)
		return NULL;
	return u;
}

void
store_web_render(
    const struct db_user *u, struct str document, bool history, struct buf *out)
{
	struct json_out o;

	json_out_init(&o, out, false);
	json_arr_begin(&o);
	if (document.p != NULL) {
		const struct db_doc *d = db_doc_find(u, document);

		if (d != NULL)
			w_doc(&o, u, d, history);
	} else {
		size_t n, i;
		struct db_doc **docs = db_docs_sorted(u, &n);

		qsort(docs, n, sizeof(struct db_doc *), cmp_newest);
		for (i = 0; i < n; i++) {
			/* The record of a merged-away id is out of reach. */
			if (u->nlinks > 0 &&
			    db_link_resolve(u, str_from(docs[i]->s)).p !=
			        docs[i]->s)
				continue;
			w_doc(&o, u, docs[i], history);
		}
		free(docs);
	}
	json_arr_end(&o);
}

void
json_store_web_documents(struct store *st, struct str user, struct str document,
    bool history, store_text_cb *cb, void *arg)
{
	struct json_store *js = (struct json_store *)st;
	struct db_user *u = web_user(js, user);
	struct buf out = BUF_INIT;

	if (u == NULL) {
		cb(arg, STORE_ERR_AUTH, NULL, 0);
		return;
	}
	store_web_render(u, document, history, &out);
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
		db_doc_add_history(d, &prev, db->history_limit);
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
	struct db_user *u; /* referenced */
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
	if (u != NULL)
		u->refs++;
	js->ops_live++;
	if (!js->persistent) {
		web_done(op, 0);
		return;
	}
	op->seq = json_store_append(js, op->rec, op->len, web_done, op);
}
