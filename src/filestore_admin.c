/*
 * filestore_admin.c: administration of the file and memory backends
 * (store.h store_admin_*): the user list, the dump and the import.
 *
 * The list and the dump read the tables on the loop thread. The import
 * parses the file and hashes its keys on the thread pool (argon2 takes
 * ~17 ms a key), then merges on the loop: every change it decides on is a
 * struct change like a client's (create with the hashed key, put with the
 * imported timestamp) or, for a document's history and device positions,
 * an "import_lists" change: each is encoded and journaled, all in one go,
 * and applied from the struct (change_apply, where a replay's decoding
 * ends too) as its record becomes durable, in journal order, so memory,
 * journal and a later replay agree. A
 * user the import creates is reserved at once (invisible, like a
 * registration in flight), so a client registering the same name meanwhile
 * gets "taken" and never half an account.
 *
 * Not here: key changes and deletions (filestore.c), compaction and
 * statistics (datadir.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "change.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "json.h"
#include "keyhash.h"
#include "snapshot.h"
#include "store_merge.h"
#include "userlist.h"
#include "webops.h"
#include "xmalloc.h"

/*
 * The user list (userlist.c renders it)
 */

void
filestore_admin_list(struct store *st, const struct store_page *page,
    store_text_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct db_user **users;
	struct buf out = BUF_INIT;
	size_t nu;

	users = db_users_sorted(&js->db, &nu);
	userlist_render(users, nu, page, NULL, NULL, &out);
	free(users);
	cb(arg, STORE_OK, out.data, out.len);
	buf_release(&out);
}

/*
 * The dump: what a compaction would write, through a temporary file
 * (snapshot_write_fd streams to a descriptor).
 */

void
filestore_admin_dump(struct store *st, store_text_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct buf out = BUF_INIT;
	char chunk[65536];
	FILE *tmp;
	size_t n;

	tmp = tmpfile();
	if (tmp == NULL ||
	    snapshot_write_fd(fileno(tmp), &js->db, js->cfg, 0) ||
	    fseek(tmp, 0, SEEK_SET) != 0) {
		if (tmp != NULL)
			fclose(tmp);
		buf_addf(&out, "cannot write the dump to a temporary file: %s",
		    strerror(errno));
		cb(arg, STORE_ERR_IO, out.data, out.len);
		buf_release(&out);
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), tmp)) > 0)
		buf_add(&out, chunk, n);
	fclose(tmp);
	cb(arg, STORE_OK, out.data, out.len);
	buf_release(&out);
}

/*
 * The import
 */

struct import {
	struct filestore *js;
	uv_work_t work;
	store_text_cb *cb;
	void *arg;
	char *text; /* the file (copied) */
	size_t len;
	struct db db; /* what it holds, parsed on the pool */
	struct buf err;
	int parse_rc;
	uint64_t pending; /* records not yet durable */
	uint64_t failed;  /* records that could not be made durable */
	uint64_t users_added, users_existing, users_skipped;
	uint64_t docs_added, docs_updated, docs_skipped;
};

/*
 * One change of the import, until its record is durable. Its strings
 * point into imp->db, which lives until every record is settled; lists
 * (an IMPORT_LISTS change's entries, one array) is its own.
 */
struct import_rec {
	struct import *imp;
	struct db_user *reserved; /* a create: the reserved user */
	uint64_t seq;
	struct change c;
	struct db_put *lists;
};

/* On the pool: parse, then hash the keys that are not hashed yet. */
static void
import_work(uv_work_t *w)
{
	struct import *imp = w->data;
	struct snapshot_info info;
	struct db_user *u;
	struct db_user **users = NULL;
	char **keys = NULL;
	uint32_t pos = 0;
	size_t n = 0, i;

	imp->parse_rc = snapshot_parse(
	    imp->text, imp->len, &imp->db, NULL, &info, &imp->err);
	if (imp->parse_rc != 0 || imp->db.users.n == 0)
		return;
	users = xmalloc(imp->db.users.n * sizeof(struct db_user *));
	keys = xmalloc(imp->db.users.n * sizeof(char *));
	while ((u = table_next(&imp->db.users, &pos)) != NULL) {
		if (u->key == NULL || u->key[0] == '\0' ||
		    keyhash_is_phc(u->key))
			continue;
		users[n] = u;
		keys[n] = u->key;
		u->key = NULL;
		n++;
	}
	if (n > 0 && keyhash_hash_many(keys, n, 2) != 0)
		imp->parse_rc = -1;
	for (i = 0; i < n; i++)
		users[i]->key = keys[i];
	if (imp->parse_rc != 0)
		buf_adds(&imp->err, "cannot hash the imported keys");
	free(users);
	free(keys);
}

static void
import_free(struct import *imp)
{
	db_release(&imp->db);
	buf_release(&imp->err);
	free(imp->text);
	free(imp);
}

/*
 * The users over a per-user limit (docs/security.md): an import is not
 * limited (nothing of the administrator's data is dropped), it says how
 * many accounts it left over one. A walk over the users, once per import.
 */
static uint64_t
users_over_limit(const struct filestore *js)
{
	const struct config *cfg = js->cfg;
	const struct db_user *u;
	uint32_t pos = 0;
	uint64_t n = 0;

	while ((u = table_next(&js->db.users, &pos)) != NULL)
		if ((cfg->user_max_documents != 0 &&
		        u->docs.n > cfg->user_max_documents) ||
		    (cfg->user_max_bytes != 0 &&
		        u->bytes > cfg->user_max_bytes) ||
		    (cfg->user_max_history != 0 &&
		        u->history > cfg->user_max_history))
			n++;
	return n;
}

/* Every record settled: report and let a flush go on. */
static void
import_finish(struct import *imp)
{
	struct filestore *js = imp->js;
	struct buf out = BUF_INIT;
	struct json_out o;

	if (imp->failed > 0) {
		buf_addf(&out,
		    "%llu of the import's changes could not be made durable "
		    "(see the server's log); the others were applied",
		    (unsigned long long)imp->failed);
		imp->cb(imp->arg, STORE_ERR_IO, out.data, out.len);
	} else {
		json_out_init(&o, &out, false);
		json_obj_begin(&o);
		json_key(&o, "users_added");
		json_uint(&o, imp->users_added);
		json_key(&o, "users_existing");
		json_uint(&o, imp->users_existing);
		json_key(&o, "users_skipped");
		json_uint(&o, imp->users_skipped);
		json_key(&o, "documents_added");
		json_uint(&o, imp->docs_added);
		json_key(&o, "documents_updated");
		json_uint(&o, imp->docs_updated);
		json_key(&o, "documents_skipped");
		json_uint(&o, imp->docs_skipped);
		json_key(&o, "users_over_limit");
		json_uint(&o, users_over_limit(js));
		json_obj_end(&o);
		imp->cb(imp->arg, STORE_OK, out.data, out.len);
	}
	buf_release(&out);
	import_free(imp);
	js->ops_live--;
	datadir_idle_check(js);
}

/*
 * A credential the import added (c, applied): its last use and audit as
 * the imported file has them, in memory like any use (the next snapshot
 * writes them; docs/devices.md).
 */
static void
import_devcred_use(const struct import *imp, const struct change *c)
{
	const struct db_user *iu = db_user_find(&imp->db, c->user);
	const struct db_user *u = db_user_find(&imp->js->db, c->user);
	const struct db_devcred *from;
	const struct db_audit *a;
	struct db_devcred *to;
	uint32_t i;

	if (iu == NULL || u == NULL ||
	    (from = db_devcred_find(iu, c->dev_id)) == NULL ||
	    (to = db_devcred_find(u, c->dev_id)) == NULL)
		return;
	if (from->used != 0)
		db_devcred_used(to, from->used, str_from(from->used_addr),
		    str_from(from->used_agent), str_from(from->used_device),
		    str_from(from->used_device_id));
	for (i = from->naudit; i-- > 0;) {
		a = db_devcred_audit_at(from, i);
		(void)db_devcred_audit(to, a->time, a->what,
		    str_from(a->address), str_from(a->agent),
		    str_from(a->document));
	}
}

/*
 * A record is durable (err 0) or failed: apply it or undo its reservation,
 * and free it.
 */
static void
import_rec_settle(struct import_rec *r, int err)
{
	struct import *imp = r->imp;
	struct filestore *js = imp->js;

	if (err != 0) {
		imp->failed++;
		if (r->reserved != NULL && !r->reserved->removed)
			db_user_remove(&js->db, r->reserved);
	} else {
		change_apply(&js->db, &r->c);
		if (r->c.kind == CHANGE_DEVICE_ADD)
			import_devcred_use(imp, &r->c);
		if (r->reserved != NULL)
			r->reserved->creating = false;
		datadir_changed(js);
	}
	if (r->reserved != NULL)
		db_user_unref(r->reserved);
	free(r->lists);
	free(r);
}

/* The journal's callback for a record: settle it; the last one reports. */
static void
import_rec_done(void *arg, int err)
{
	struct import_rec *r = arg;
	struct import *imp = r->imp;

	datadir_done(imp->js, r->seq, err);
	import_rec_settle(r, err);
	if (--imp->pending == 0)
		import_finish(imp);
}

/*
 * Journal the change c (taken over, its lists too) and apply it once
 * durable, as a client's change is (the memory backend applies it at
 * once). Returns how many of c's history entries its record holds
 * (change_encode): a long history takes several records.
 */
static size_t
import_append(struct import *imp, struct change *c, struct db_user *res)
{
	struct filestore *js = imp->js;
	struct import_rec *r = xcalloc(1, sizeof(*r));
	struct buf rec = BUF_INIT;
	size_t n;

	/* As change_decode gives it: a put carries its own history. */
	if (c->kind != CHANGE_PUT)
		c->history = js->history;
	n = change_encode(&rec, c);
	r->imp = imp;
	r->reserved = res;
	if (res != NULL)
		res->refs++;
	r->c = *c;
	if (c->kind == CHANGE_IMPORT_LISTS) {
		/* The record's entries only, in one array it owns. */
		r->c.n_history = n;
		r->lists = xmalloc((n + c->n_devices + 1) * sizeof(*r->lists));
		memcpy(r->lists, c->lists_history, n * sizeof(*r->lists));
		memcpy(r->lists + n, c->lists_devices,
		    c->n_devices * sizeof(*r->lists));
		r->c.lists_history = r->lists;
		r->c.lists_devices = r->lists + n;
	}
	if (!js->persistent) {
		/* The memory backend: nothing to wait for. */
		import_rec_settle(r, 0);
	} else {
		imp->pending++;
		r->seq =
		    datadir_append(js, rec.data, rec.len, import_rec_done, r);
	}
	buf_release(&rec);
	return n;
}

static struct str
doc_field(const struct db_doc *d, enum db_field f)
{
	return (struct str){db_doc_field(d, f), d->len[f]};
}

/*
 * History and device positions
 *
 * An imported document's history and device positions are merged into
 * ours (by the rules of store_merge.h) through "import_lists" journal
 * records (change.h CHANGE_IMPORT_LISTS), applied live and at replay
 * against the tables as they are then. Applying a record twice changes
 * nothing the second time.
 */

/*
 * Journal the merge of history h (nh) and device positions dv (nd) into
 * user's document doc, a long history split over several records (the
 * devices go with the first).
 */
static void
lists_append(struct import *imp, struct str user, struct str doc,
    const struct db_put *h, size_t nh, const struct db_put *dv, size_t nd)
{
	struct change c;
	size_t i = 0;
	bool first = true;

	while (first || i < nh) {
		memset(&c, 0, sizeof(c));
		c.kind = CHANGE_IMPORT_LISTS;
		c.user = user;
		c.put.document = doc;
		c.lists_history = h + i;
		c.n_history = nh - i;
		c.lists_devices = dv;
		c.n_devices = first ? nd : 0;
		i += import_append(imp, &c, NULL);
		first = false;
	}
}

/*
 * The lists of the imported document from, to be merged into ours (NULL: the
 * document is new, or replaced by a record before): journaled unless they
 * would change nothing.
 */
static void
import_lists(struct import *imp, struct str user, const struct db_doc *from,
    struct db_doc *ours)
{
	struct db_put *h, *dv;
	size_t nh, nd;

	store_merge_lists_of(&imp->js->history, from, &h, &nh, &dv, &nd);
	if ((nh > 0 || nd > 0) &&
	    (ours == NULL || store_merge_lists(&imp->js->history, NULL, ours, h,
	                         nh, dv, nd, false)))
		lists_append(
		    imp, user, doc_field(from, DB_F_ID), h, nh, dv, nd);
	free(h);
	free(dv);
}

/*
 * What the web interface kept with an imported user, through the very
 * records it journals itself: a document's own title (pretty_name) when
 * the imported state won, or ours has none; a merge whose alias is not
 * merged here yet.
 */
static void
import_web(struct import *imp, struct str name, const struct db_user *iu,
    struct db_doc *const *docs, size_t nd, const bool *won)
{
	struct db_user *u = db_user_find(&imp->js->db, name);
	struct store_web_change ch;
	struct change c;
	const struct db_doc *ours;
	int64_t now = (int64_t)time(NULL);
	size_t j;

	for (j = 0; j < nd; j++) {
		if (docs[j]->len[DB_F_PRETTY_NAME] == 0)
			continue;
		ours = u != NULL
		           ? db_doc_find_exact(u, doc_field(docs[j], DB_F_ID))
		           : NULL;
		if (!won[j] && ours != NULL && ours->len[DB_F_PRETTY_NAME] > 0)
			continue;
		memset(&ch, 0, sizeof(ch));
		ch.kind = STORE_WEB_RENAME;
		ch.document = doc_field(docs[j], DB_F_ID);
		ch.name = doc_field(docs[j], DB_F_PRETTY_NAME);
		webops_change_of(name, &ch, now, &imp->js->history, &c);
		(void)import_append(imp, &c, NULL);
	}
	for (j = 0; j < iu->nlinks; j++) {
		struct str alias = str_from(iu->links[j].alias);

		if (u != NULL && !str_eq(db_link_resolve(u, alias), alias))
			continue; /* merged here already */
		memset(&ch, 0, sizeof(ch));
		ch.kind = STORE_WEB_LINK;
		ch.document = str_from(iu->links[j].canonical);
		ch.alias = alias;
		webops_change_of(name, &ch, now, &imp->js->history, &c);
		(void)import_append(imp, &c, NULL);
	}
}

/*
 * The device credentials and devices-only setting of iu, an account the
 * import adds (one that exists keeps its own, as it keeps its key): a
 * device_add record each (then device_revoke for a revoked one), as the
 * commands would journal them. Only argon2id keys are taken (a device's
 * key is never stored otherwise); the last use and the audit follow once
 * it is applied (import_devcred_use), never journaled.
 */
static void
import_devcreds(struct import *imp, struct str name, const struct db_user *iu)
{
	const struct db_devcred *d;
	struct change c;
	uint32_t i;

	for (i = 0; i < iu->ndevcreds; i++) {
		d = &iu->devcreds[i];
		if (d->key != NULL && !keyhash_is_phc(d->key))
			continue;
		memset(&c, 0, sizeof(c));
		c.kind = CHANGE_DEVICE_ADD;
		c.user = name;
		c.dev_id = str_from(d->id);
		c.name = str_from(d->label);
		c.key = str_from(d->key != NULL ? d->key : "");
		c.put.timestamp = d->created;
		(void)import_append(imp, &c, NULL);
		if (d->key == NULL) {
			c.kind = CHANGE_DEVICE_REVOKE;
			(void)import_append(imp, &c, NULL);
		}
	}
	if (iu->devices_only) {
		memset(&c, 0, sizeof(c));
		c.kind = CHANGE_DEVICES_ONLY;
		c.user = name;
		c.admin = true;
		(void)import_append(imp, &c, NULL);
	}
}

/*
 * The device names of iu, an account the import adds: a device_name
 * record for each given name and a device_forget for each forget mark, as
 * the web interface journals them.
 */
static void
import_devnames(struct import *imp, struct str name, const struct db_user *iu)
{
	const struct db_devname *e;
	struct change c;
	uint32_t i;

	for (i = 0; i < iu->ndevnames; i++) {
		e = &iu->devnames[i];
		memset(&c, 0, sizeof(c));
		c.user = name;
		c.dev_id = str_from(e->key);
		if (e->name[0] != '\0') {
			c.kind = CHANGE_DEVICE_NAME;
			c.name = str_from(e->name);
			(void)import_append(imp, &c, NULL);
		}
		if (e->forgotten > 0) {
			c.kind = CHANGE_DEVICE_FORGET;
			c.at = e->forgotten;
			(void)import_append(imp, &c, NULL);
		}
	}
}

/* Decide what each imported user and document becomes; journal it. */
static void
import_merge(struct import *imp)
{
	struct filestore *js = imp->js;
	struct db_user **users, *u, *iu;
	struct db_doc **docs, *ours;
	struct change c;
	struct str name;
	size_t nu, nd, i, j;
	bool fresh, *won;

	users = db_users_sorted(&imp->db, &nu);
	imp->pending = 1; /* held until every record is appended */
	for (i = 0; i < nu; i++) {
		iu = users[i];
		name = (struct str){iu->name, iu->name_len};
		if (name.len == 0 || memchr(name.p, ':', name.len) != NULL ||
		    name.len > STORE_MAX_USERNAME) {
			imp->users_skipped++;
			continue;
		}
		u = db_user_find(&js->db, name);
		fresh = u == NULL;
		if (fresh) {
			imp->users_added++;
			u = db_user_add(&js->db, name, STR_NULL);
			u->creating = true;
			memset(&c, 0, sizeof(c));
			c.kind = CHANGE_CREATE;
			c.user = name;
			c.key = str_from(iu->key != NULL ? iu->key : "");
			(void)import_append(imp, &c, u);
			import_devcreds(imp, name, iu);
			import_devnames(imp, name, iu);
		} else {
			imp->users_existing++;
		}
		docs = db_docs_sorted(iu, &nd);
		won = xcalloc(nd + 1, sizeof(bool));
		for (j = 0; j < nd; j++) {
			ours =
			    fresh ? NULL
			          : db_doc_find(u, doc_field(docs[j], DB_F_ID));
			if (ours != NULL &&
			    ours->timestamp >= docs[j]->timestamp) {
				imp->docs_skipped++;
				import_lists(imp, name, docs[j], ours);
				continue;
			}
			won[j] = true;
			if (ours == NULL)
				imp->docs_added++;
			else
				imp->docs_updated++;
			memset(&c, 0, sizeof(c));
			c.kind = CHANGE_PUT;
			c.user = name;
			c.put.document = doc_field(docs[j], DB_F_ID);
			c.put.percentage = docs[j]->percentage;
			c.put.timestamp = docs[j]->timestamp;
			c.put.progress = doc_field(docs[j], DB_F_PROGRESS);
			c.put.device = doc_field(docs[j], DB_F_DEVICE);
			c.put.device_id = doc_field(docs[j], DB_F_DEVICE_ID);
			if (docs[j]->len[DB_F_FILENAME] > 0)
				c.put.filename =
				    doc_field(docs[j], DB_F_FILENAME);
			if (docs[j]->len[DB_F_TITLE] > 0)
				c.put.title = doc_field(docs[j], DB_F_TITLE);
			if (docs[j]->len[DB_F_AUTHORS] > 0)
				c.put.authors =
				    doc_field(docs[j], DB_F_AUTHORS);
			/*
			 * The history setting in force, without the
			 * account's limit: an import drops nothing
			 * (docs/security.md).
			 */
			c.history = js->history;
			c.history.user_limit = 0;
			(void)import_append(imp, &c, NULL);
			import_lists(imp, name, docs[j], NULL);
		}
		import_web(imp, name, iu, docs, nd, won);
		free(won);
		free(docs);
	}
	free(users);
	if (--imp->pending == 0)
		import_finish(imp);
}

static void
import_after(uv_work_t *w, int status)
{
	struct import *imp = w->data;
	struct filestore *js = imp->js;

	if (status != 0 || imp->parse_rc != 0 || js->closing) {
		if (imp->err.len == 0)
			buf_adds(&imp->err, js->closing ? "kosyncd is stopping"
			                                : "import cancelled");
		imp->cb(imp->arg,
		    js->closing ? STORE_ERR_UNAVAILABLE : STORE_ERR_IO,
		    imp->err.data, imp->err.len);
		import_free(imp);
		js->ops_live--;
		datadir_idle_check(js);
		return;
	}
	import_merge(imp);
}

void
filestore_admin_import(struct store *st, const char *text, size_t len,
    store_text_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct import *imp;

	if (js->closing) {
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
		return;
	}
	imp = xcalloc(1, sizeof(*imp));
	imp->js = js;
	imp->cb = cb;
	imp->arg = arg;
	imp->text = xmemdup0(text, len);
	imp->len = len;
	db_init(&imp->db);
	buf_init(&imp->err);
	imp->work.data = imp;
	js->ops_live++;
	if (uv_queue_work(js->loop, &imp->work, import_work, import_after) !=
	    0) {
		import_free(imp);
		js->ops_live--;
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	}
}
