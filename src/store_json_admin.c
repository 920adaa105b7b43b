/*
 * store_json_admin.c: administration of the file and memory backends
 * (store.h store_admin_*): the user list, the dump and the import.
 *
 * The list and the dump read the tables on the loop thread. The import
 * parses the file and hashes its keys on the thread pool (argon2 takes
 * ~17 ms a key), then merges on the loop: every change it decides on is a
 * journal record like a client's (create with the hashed key, put with the
 * imported timestamp), appended in one go and applied to the tables as each
 * becomes durable, in journal order, through json_store_apply (the very
 * function replay uses), so memory, journal and a later replay agree. A
 * user the import creates is reserved at once (invisible, like a
 * registration in flight), so a client registering the same name meanwhile
 * gets "taken" and never half an account.
 *
 * Not here: key changes and deletions (store_json.c), compaction and
 * statistics (store_file.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "json.h"
#include "keys.h"
#include "snapshot.h"
#include "store_json.h"
#include "xmalloc.h"

/*
 * The user list
 */

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add name to the set v (n entries, unsorted) unless it is there. */
static void
add_name(const char ***v, size_t *n, size_t *cap, const char *name)
{
	size_t i;

	if (name[0] == '\0')
		return;
	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = name;
}

void
json_store_admin_list(struct store *st, store_text_cb *cb, void *arg)
{
	struct json_store *js = (struct json_store *)st;
	struct db_user **users;
	struct db_doc **docs;
	const char **devs = NULL;
	size_t nu, nd, ndev, cap = 0, i, j, k;
	struct buf out = BUF_INIT;
	struct json_out o;
	int64_t last;

	json_out_init(&o, &out, false);
	json_arr_begin(&o);
	users = db_users_sorted(&js->db, &nu);
	for (i = 0; i < nu; i++) {
		if (users[i]->creating)
			continue;
		docs = db_docs_sorted(users[i], &nd);
		last = 0;
		ndev = 0;
		for (j = 0; j < nd; j++) {
			if (docs[j]->timestamp > last)
				last = docs[j]->timestamp;
			add_name(&devs, &ndev, &cap,
			    db_doc_field(docs[j], DB_F_DEVICE));
			for (k = 0; docs[j]->devices != NULL &&
			            k < docs[j]->devices->n;
			     k++)
				add_name(&devs, &ndev, &cap,
				    db_entry_device(docs[j]->devices->e[k]));
		}
		if (ndev > 1)
			qsort(devs, ndev, sizeof(*devs), cmp_strp);
		json_obj_begin(&o);
		json_key(&o, "username");
		json_strn(&o, users[i]->name, users[i]->name_len);
		json_key(&o, "documents");
		json_uint(&o, nd);
		json_key(&o, "last_sync");
		json_int(&o, last);
		json_key(&o, "devices");
		json_arr_begin(&o);
		for (j = 0; j < ndev; j++)
			json_str(&o, devs[j]);
		json_arr_end(&o);
		json_obj_end(&o);
		free(docs);
	}
	json_arr_end(&o);
	free(users);
	free(devs);
	cb(arg, STORE_OK, out.data, out.len);
	buf_release(&out);
}

/*
 * The dump: what a compaction would write, through a temporary file
 * (snapshot_write_fd streams to a descriptor).
 */

void
json_store_admin_dump(struct store *st, store_text_cb *cb, void *arg)
{
	struct json_store *js = (struct json_store *)st;
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
	struct json_store *js;
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

/* One record of the import, until it is durable. */
struct import_rec {
	struct import *imp;
	struct db_user *reserved; /* a create: the reserved user */
	uint64_t seq;
	size_t len;
	char rec[];
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
		if (u->key == NULL || u->key[0] == '\0' || keys_is_phc(u->key))
			continue;
		users[n] = u;
		keys[n] = u->key;
		u->key = NULL;
		n++;
	}
	if (n > 0 && keys_hash_many(keys, n, 2) != 0)
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

/* Every record settled: report and let a flush go on. */
static void
import_finish(struct import *imp)
{
	struct json_store *js = imp->js;
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
		json_obj_end(&o);
		imp->cb(imp->arg, STORE_OK, out.data, out.len);
	}
	buf_release(&out);
	import_free(imp);
	js->ops_live--;
	json_store_idle_check(js);
}

/*
 * A record is durable (err 0) or failed: apply it or undo its reservation,
 * and free it.
 */
static void
import_rec_settle(struct import_rec *r, int err)
{
	struct import *imp = r->imp;
	struct json_store *js = imp->js;

	if (err != 0) {
		imp->failed++;
		if (r->reserved != NULL && !r->reserved->removed)
			db_user_remove(&js->db, r->reserved);
	} else {
		(void)json_store_apply(&js->db, r->rec, r->len);
		if (r->reserved != NULL)
			r->reserved->creating = false;
		json_store_changed(js);
	}
	if (r->reserved != NULL)
		db_user_unref(r->reserved);
	free(r);
}

/* The journal's callback for a record: settle it; the last one reports. */
static void
import_rec_done(void *arg, int err)
{
	struct import_rec *r = arg;
	struct import *imp = r->imp;

	json_store_done(imp->js, r->seq, err);
	import_rec_settle(r, err);
	if (--imp->pending == 0)
		import_finish(imp);
}

/* Journal one record (the memory backend applies it at once). */
static void
import_append(struct import *imp, const struct buf *rec, struct db_user *res)
{
	struct json_store *js = imp->js;
	struct import_rec *r = xmalloc(sizeof(*r) + rec->len + 1);

	r->imp = imp;
	r->reserved = res;
	if (res != NULL)
		res->refs++;
	r->len = rec->len;
	memcpy(r->rec, rec->data, rec->len + 1);
	if (!js->persistent) {
		/* The memory backend: nothing to wait for. */
		import_rec_settle(r, 0);
		return;
	}
	imp->pending++;
	r->seq = json_store_append(js, r->rec, r->len, import_rec_done, r);
}

static struct str
doc_field(const struct db_doc *d, enum db_field f)
{
	return (struct str){db_doc_field(d, f), d->len[f]};
}

/* Decide what each imported user and document becomes; journal it. */
static void
import_merge(struct import *imp)
{
	struct json_store *js = imp->js;
	struct db_user **users, *u, *iu;
	struct db_doc **docs, *ours;
	struct db_put put;
	struct buf rec = BUF_INIT;
	struct str name;
	size_t nu, nd, i, j;
	bool fresh;

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
			buf_reset(&rec);
			json_store_record(&rec, "create", name,
			    str_from(iu->key != NULL ? iu->key : ""), NULL);
			import_append(imp, &rec, u);
		} else {
			imp->users_existing++;
		}
		docs = db_docs_sorted(iu, &nd);
		for (j = 0; j < nd; j++) {
			ours =
			    fresh ? NULL
			          : db_doc_find(u, doc_field(docs[j], DB_F_ID));
			if (ours != NULL &&
			    ours->timestamp >= docs[j]->timestamp) {
				imp->docs_skipped++;
				continue;
			}
			if (ours == NULL)
				imp->docs_added++;
			else
				imp->docs_updated++;
			memset(&put, 0, sizeof(put));
			put.document = doc_field(docs[j], DB_F_ID);
			put.percentage = docs[j]->percentage;
			put.timestamp = docs[j]->timestamp;
			put.progress = doc_field(docs[j], DB_F_PROGRESS);
			put.device = doc_field(docs[j], DB_F_DEVICE);
			put.device_id = doc_field(docs[j], DB_F_DEVICE_ID);
			if (docs[j]->len[DB_F_FILENAME] > 0)
				put.filename =
				    doc_field(docs[j], DB_F_FILENAME);
			if (docs[j]->len[DB_F_TITLE] > 0)
				put.title = doc_field(docs[j], DB_F_TITLE);
			if (docs[j]->len[DB_F_AUTHORS] > 0)
				put.authors = doc_field(docs[j], DB_F_AUTHORS);
			buf_reset(&rec);
			json_store_record(&rec, "put", name, STR_NULL, &put);
			import_append(imp, &rec, NULL);
		}
		free(docs);
	}
	free(users);
	buf_release(&rec);
	if (--imp->pending == 0)
		import_finish(imp);
}

static void
import_after(uv_work_t *w, int status)
{
	struct import *imp = w->data;
	struct json_store *js = imp->js;

	if (status != 0 || imp->parse_rc != 0 || js->closing) {
		if (imp->err.len == 0)
			buf_adds(&imp->err, js->closing ? "kosyncd is stopping"
			                                : "import cancelled");
		imp->cb(imp->arg,
		    js->closing ? STORE_ERR_UNAVAILABLE : STORE_ERR_IO,
		    imp->err.data, imp->err.len);
		import_free(imp);
		js->ops_live--;
		json_store_idle_check(js);
		return;
	}
	import_merge(imp);
}

void
json_store_admin_import(struct store *st, const char *text, size_t len,
    store_text_cb *cb, void *arg)
{
	struct json_store *js = (struct json_store *)st;
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
	db_init(&imp->db, true, 0);
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
