/*
 * filestore.c: the "file" and "memory" backends of store.h.
 *
 * Both keep every user and document in the tables of db.c; the file
 * backend also persists them (database.json + journal, see datadir.c),
 * the memory backend does not.
 *
 * Every operation runs the same steps on the loop thread:
 *   1. find the user; a registration not yet durable is invisible;
 *   2. verify the key: the cached digest of the key verified last answers
 *      at once; otherwise one argon2 verification runs on the thread pool
 *      (keyhash.c) while every other operation on that user waits for it;
 *   3. act: reads answer at once; a change (change.h) becomes a journal
 *      record and is applied to the tables only once durable, so a failed
 *      write leaves nothing visible. Key changes and deletions make the
 *      user busy: operations arriving meanwhile wait and then start
 *      over, so they see the new key or the missing account.
 * Registrations reserve the name at once (a "creating" user record), so two
 * registrations of one name are exclusive.
 *
 * Invariants: an operation parked on a user holds a reference to it; a user
 * with busy > 0 or verifying set has no operation acting on its key; applies
 * happen in journal order.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "change.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "keyhash.h"
#include "log.h"
#include "store_backend.h"
#include "xmalloc.h"

enum op_kind {
	OP_CREATE,
	OP_AUTH,
	OP_DELETE,
	OP_SET_KEY,
	OP_PUT,
	OP_GET,
};

struct store_op {
	struct filestore *js;
	enum op_kind kind;
	struct str user;
	struct str key;
	struct str new_key;
	struct db_put put; /* OP_PUT; put.document for OP_GET */
	char *phc;         /* OP_CREATE, OP_SET_KEY: the hashed key */
	uint64_t seq;      /* journal record of a change */
	store_cb *cb;
	void *arg;
	struct db_user *u;  /* referenced while set */
	uint64_t res_bytes; /* OP_PUT: reserved in u (limits_admit) */
	uint32_t res_docs;
	bool admin; /* store_admin_*: no key to verify */
	struct store_op *next;
	unsigned char digest[KEYHASH_DIGEST_BYTES];
	char strings[]; /* the copies the slices above point into */
};

/* A verification in flight for one user. */
struct verify {
	struct filestore *js;
	struct db_user *u;
	unsigned char digest[KEYHASH_DIGEST_BYTES];
};

static void op_start(struct store_op *op);

/*
 * Replies
 */

static void
reply(store_cb *cb, void *arg, enum store_result r, int64_t ts,
    const struct db_doc *d)
{
	struct store_reply rep;
	struct store_doc doc;

	memset(&rep, 0, sizeof(rep));
	rep.result = r;
	rep.timestamp = ts;
	if (d != NULL) {
		doc.document = db_doc_field(d, DB_F_ID);
		doc.percentage = d->percentage;
		doc.progress = db_doc_field(d, DB_F_PROGRESS);
		doc.device = db_doc_field(d, DB_F_DEVICE);
		doc.device_id = db_doc_field(d, DB_F_DEVICE_ID);
		doc.timestamp = d->timestamp;
		doc.metadata.filename = d->len[DB_F_FILENAME]
		                            ? db_doc_field(d, DB_F_FILENAME)
		                            : NULL;
		doc.metadata.title =
		    d->len[DB_F_TITLE] ? db_doc_field(d, DB_F_TITLE) : NULL;
		doc.metadata.authors =
		    d->len[DB_F_AUTHORS] ? db_doc_field(d, DB_F_AUTHORS) : NULL;
		rep.doc = &doc;
	}
	cb(arg, &rep);
}

/*
 * Operations
 */

static struct store_op *
op_new(struct filestore *js, enum op_kind kind, struct str user, struct str key,
    struct str new_key, const struct store_push *push, struct str document,
    store_cb *cb, void *arg)
{
	struct store_op *op;
	size_t n = str_packed_size(user) + str_packed_size(key) +
	           str_packed_size(new_key) + str_packed_size(document);
	char *p;

	if (push != NULL)
		n += store_push_packed_size(push);
	op = xcalloc(1, sizeof(*op) + n);
	p = op->strings;
	op->js = js;
	op->kind = kind;
	op->user = str_pack(&p, user);
	op->key = str_pack(&p, key);
	op->new_key = str_pack(&p, new_key);
	op->put.document = str_pack(&p, document);
	if (push != NULL) {
		struct store_push c = store_push_pack(&p, push);

		op->put.document = c.document;
		op->put.percentage = c.percentage;
		op->put.progress = c.progress;
		op->put.device = c.device;
		op->put.device_id = c.device_id;
		op->put.filename = c.filename;
		op->put.title = c.title;
		op->put.authors = c.authors;
	}
	op->cb = cb;
	op->arg = arg;
	keyhash_digest(op->key, op->digest);
	return op;
}

/* Answer the operation and free it. */
static void
op_finish(struct store_op *op, enum store_result r, int64_t ts,
    const struct db_doc *d)
{
	struct filestore *js = op->js;

	reply(op->cb, op->arg, r, ts, d);
	if (op->u != NULL)
		db_user_unref(op->u);
	if (op->phc != NULL) {
		sodium_memzero(op->phc, strlen(op->phc));
		free(op->phc);
	}
	free(op);
	js->ops_live--;
	datadir_idle_check(js);
}

static void
op_hold(struct store_op *op, struct db_user *u)
{
	if (op->u == u)
		return;
	if (op->u != NULL)
		db_user_unref(op->u);
	op->u = u;
	u->refs++;
	assert(u->refs > 0);
}

/* Park op on u until u is free again. */
static void
op_park(struct store_op *op, struct db_user *u)
{
	op_hold(op, u);
	/* A parked operation holds a reference to its user. */
	assert(op->u == u && u->refs > 0);
	op->next = NULL;
	if (u->wait_tail != NULL)
		u->wait_tail->next = op;
	else
		u->wait_head = op;
	u->wait_tail = op;
}

/* Start over every operation parked on u (they re-park as needed). */
static void
user_wake(struct db_user *u)
{
	struct store_op *op, *next;

	op = u->wait_head;
	u->wait_head = u->wait_tail = NULL;
	for (; op != NULL; op = next) {
		next = op->next;
		op->next = NULL;
		op_start(op);
	}
}

/* Fail every operation parked on u with r. */
static void
user_fail_waiters(struct db_user *u, enum store_result r)
{
	struct store_op *op, *next;

	op = u->wait_head;
	u->wait_head = u->wait_tail = NULL;
	for (; op != NULL; op = next) {
		next = op->next;
		op_finish(op, r, 0, NULL);
	}
}

enum check { CHECK_OK, CHECK_BAD, CHECK_UNKNOWN };

/* What the cache (or a legacy key) says about a key with this digest. */
static enum check
key_check(struct db_user *u, struct str key, const unsigned char *digest)
{
	unsigned char stored[KEYHASH_DIGEST_BYTES];

	if (key.len == 0 || u->key == NULL)
		return CHECK_BAD;
	if (u->has_ok)
		return keyhash_digest_eq(u->ok_digest, digest) ? CHECK_OK
		                                               : CHECK_BAD;
	if (u->has_bad && keyhash_digest_eq(u->bad_digest, digest))
		return CHECK_BAD;
	if (keyhash_is_phc(u->key))
		return CHECK_UNKNOWN;
	/* A legacy (md5) key not yet migrated: compare digests. */
	keyhash_digest(str_from(u->key), stored);
	if (!keyhash_digest_eq(stored, digest))
		return CHECK_BAD;
	memcpy(u->ok_digest, digest, KEYHASH_DIGEST_BYTES);
	u->has_ok = true;
	return CHECK_OK;
}

static void
verify_done(void *arg, enum keyhash_result res, char *phc)
{
	struct verify *v = arg;
	struct db_user *u = v->u;

	(void)phc;
	u->verifying = false;
	if (res == KEYHASH_OK) {
		memcpy(u->ok_digest, v->digest, KEYHASH_DIGEST_BYTES);
		u->has_ok = true;
	} else if (res == KEYHASH_MISMATCH) {
		memcpy(u->bad_digest, v->digest, KEYHASH_DIGEST_BYTES);
		u->has_bad = true;
	}
	free(v);
	if (res == KEYHASH_FAILED)
		user_fail_waiters(u, STORE_ERR_UNAVAILABLE);
	else
		user_wake(u);
	db_user_unref(u);
}

static void
verify_start(struct filestore *js, struct db_user *u, struct str key,
    const unsigned char *digest)
{
	struct verify *v;

	/* One verification at a time per user; others park meanwhile. */
	assert(!u->verifying && !u->busy);
	v = xmalloc(sizeof(*v));
	v->js = js;
	v->u = u;
	memcpy(v->digest, digest, KEYHASH_DIGEST_BYTES);
	u->refs++;
	u->verifying = true;
	keyhash_verify(js->keys, u->key, key, verify_done, v);
}

/*
 * Changes: write the record, then apply. The memory backend applies at
 * once; the file backend once the journal says the record is durable.
 */

static void change_done(struct store_op *op, int err);

static void
journaled(void *arg, int err)
{
	change_done(arg, err);
}

/* The change op makes (the journal record and what is applied). */
static void
op_change(const struct store_op *op, struct change *c)
{
	memset(c, 0, sizeof(*c));
	c->user = op->user;
	c->history = op->js->history;
	switch (op->kind) {
	case OP_CREATE:
		c->kind = CHANGE_CREATE;
		c->key = str_from(op->phc);
		break;
	case OP_SET_KEY:
		c->kind = CHANGE_KEY;
		c->key = str_from(op->phc);
		break;
	case OP_DELETE:
		c->kind = CHANGE_DELETE;
		break;
	case OP_PUT:
		c->kind = CHANGE_PUT;
		c->put = op->put;
		break;
	default:
		abort();
	}
}

static void
change_write(struct store_op *op)
{
	struct filestore *js = op->js;
	struct buf rec = BUF_INIT;
	struct change c;

	if (!js->persistent) {
		change_done(op, 0);
		return;
	}
	op_change(op, &c);
	(void)change_encode(&rec, &c);
	op->seq = datadir_append(js, rec.data, rec.len, journaled, op);
	buf_release(&rec);
}

static void change_settle(struct store_op *op, int err);

/*
 * Per-user limits (docs/security.md): whether the push of op fits u's
 * user_max_documents and user_max_bytes, counting the pushes journaled but
 * not applied yet. When it does, its growth is reserved in u until
 * change_settle releases it, so concurrent pushes cannot pass a limit
 * together. A push that does not grow the account always fits, so an
 * account over a limit (lowered since, or imported) can keep syncing what
 * it has. One lookup of the document, as the push itself makes.
 */
static bool
limits_admit(struct store_op *op, struct db_user *u)
{
	const struct config *cfg = op->js->cfg;
	struct db_cost c;

	if (cfg->user_max_documents == 0 && cfg->user_max_bytes == 0)
		return true;
	db_put_cost(u, &op->put, &op->js->history, &c);
	if (c.documents > 0 && cfg->user_max_documents != 0 &&
	    (uint64_t)u->docs.n + u->pend_docs + 1 > cfg->user_max_documents)
		return false;
	if (c.bytes > 0 && cfg->user_max_bytes != 0 &&
	    u->bytes + u->pend_bytes + (uint64_t)c.bytes > cfg->user_max_bytes)
		return false;
	op->res_docs = c.documents > 0;
	op->res_bytes = c.bytes > 0 ? (uint64_t)c.bytes : 0;
	u->pend_docs += op->res_docs;
	u->pend_bytes += op->res_bytes;
	return true;
}

static void
change_done(struct store_op *op, int err)
{
	struct filestore *js = op->js;
	struct db_user *u = op->u;

	if (js->persistent)
		datadir_done(js, op->seq, err);
	/* Waking waiters and finishing op may drop the last references. */
	u->refs++;
	change_settle(op, err);
	db_user_unref(u);
	if (err == 0)
		datadir_changed(js);
}

/*
 * The record is durable (err 0) or failed: apply the change to the tables
 * (change.c) and do the store's own bookkeeping around it (reservations,
 * the verified key, waiting operations).
 */
static void
change_settle(struct store_op *op, int err)
{
	struct filestore *js = op->js;
	struct db_user *u = op->u;
	struct change c;

	assert(u != NULL && u->refs > 0);
	assert(u->pend_docs >= op->res_docs && u->pend_bytes >= op->res_bytes);
	/* A key change or a deletion holds the user busy until applied. */
	assert(op->kind != OP_SET_KEY || u->busy > 0);
	assert(op->kind != OP_DELETE || u->busy > 0);
	u->pend_docs -= op->res_docs;
	u->pend_bytes -= op->res_bytes;
	op->res_docs = 0;
	op->res_bytes = 0;
	if (err != 0) {
		switch (op->kind) {
		case OP_CREATE:
			db_user_remove(&js->db, u);
			break;
		case OP_SET_KEY:
		case OP_DELETE:
			u->busy--;
			user_wake(u);
			break;
		default:
			break;
		}
		op_finish(op, STORE_ERR_IO, 0, NULL);
		return;
	}
	if (op->kind == OP_PUT && u->removed) {
		op_finish(op, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	op_change(op, &c);
	change_apply_user(&js->db, u, &c);
	switch (op->kind) {
	case OP_CREATE:
		u->creating = false;
		memcpy(u->ok_digest, op->digest, KEYHASH_DIGEST_BYTES);
		u->has_ok = true;
		if (js->persistent)
			datadir_user_files_remove(js, op->user);
		op_finish(op, STORE_OK, 0, NULL);
		break;
	case OP_SET_KEY:
		keyhash_digest(op->new_key, u->ok_digest);
		u->has_ok = true;
		u->has_bad = false;
		u->busy--;
		op_finish(op, STORE_OK, 0, NULL);
		user_wake(u);
		break;
	case OP_DELETE:
		u->busy--;
		if (js->persistent)
			datadir_user_files_remove(js, op->user);
		op_finish(op, STORE_OK, 0, NULL);
		/* Waiters start over and find no account. */
		user_wake(u);
		break;
	case OP_PUT:
		/* db_put stored exactly the timestamp the push carries. */
		op_finish(op, STORE_OK, op->put.timestamp, NULL);
		break;
	default:
		abort();
	}
}

static void
hashed(void *arg, enum keyhash_result res, char *phc)
{
	struct store_op *op = arg;
	struct db_user *u = op->u;

	assert(u != NULL && (op->kind == OP_CREATE || u->busy > 0));
	if (res != KEYHASH_OK) {
		if (op->kind == OP_CREATE) {
			db_user_remove(&op->js->db, u);
		} else {
			u->busy--;
			user_wake(u);
		}
		op_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	op->phc = phc;
	change_write(op);
}

/* The key is verified: do what op asks. */
static void
op_act(struct store_op *op, struct db_user *u)
{
	struct filestore *js = op->js;

	/* Nothing acts on the key of a busy user or of one being verified. */
	assert(u->busy == 0 && !u->verifying);
	switch (op->kind) {
	case OP_AUTH:
		op_finish(op, STORE_OK, 0, NULL);
		break;
	case OP_GET:
		op_finish(op, STORE_OK, 0, db_doc_find(u, op->put.document));
		break;
	case OP_PUT:
		if (!limits_admit(op, u)) {
			op_finish(op, STORE_ERR_LIMIT, 0, NULL);
			break;
		}
		op_hold(op, u);
		op->put.timestamp = (int64_t)time(NULL);
		change_write(op);
		break;
	case OP_DELETE:
		op_hold(op, u);
		u->busy++;
		change_write(op);
		break;
	case OP_SET_KEY:
		op_hold(op, u);
		u->busy++;
		keyhash_hash(js->keys, op->new_key, hashed, op);
		break;
	default:
		abort();
	}
}

static void
op_start(struct store_op *op)
{
	struct filestore *js = op->js;
	struct db_user *u;

	if (js->closing) {
		op_finish(op, STORE_ERR_UNAVAILABLE, 0, NULL);
		return;
	}
	u = db_user_find(&js->db, op->user);
	if (op->kind == OP_CREATE) {
		if (u != NULL) {
			op_finish(op, STORE_ERR_EXISTS, 0, NULL);
			return;
		}
		u = db_user_add(&js->db, op->user, STR_NULL);
		u->creating = true;
		op_hold(op, u);
		keyhash_hash(js->keys, op->key, hashed, op);
		return;
	}
	if (u == NULL || u->creating) {
		op_finish(op, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	if (u->busy || u->verifying) {
		op_park(op, u);
		return;
	}
	if (op->admin) {
		op_act(op, u);
		return;
	}
	switch (key_check(u, op->key, op->digest)) {
	case CHECK_OK:
		op_act(op, u);
		break;
	case CHECK_BAD:
		op_finish(op, STORE_ERR_AUTH, 0, NULL);
		break;
	case CHECK_UNKNOWN:
		op_park(op, u);
		verify_start(js, u, op->key, op->digest);
		break;
	}
}

/*
 * Fast path for reads: a cached key answers without allocating.
 * Returns true when the request was answered.
 */
static bool
fast_read(struct filestore *js, enum op_kind kind, struct str user,
    struct str key, struct str document, store_cb *cb, void *arg)
{
	struct db_user *u;
	unsigned char digest[KEYHASH_DIGEST_BYTES];

	if (js->closing)
		return false;
	u = db_user_find(&js->db, user);
	if (u == NULL || u->creating) {
		reply(cb, arg, STORE_ERR_AUTH, 0, NULL);
		return true;
	}
	if (u->busy || u->verifying)
		return false;
	keyhash_digest(key, digest);
	switch (key_check(u, key, digest)) {
	case CHECK_OK:
		reply(cb, arg, STORE_OK, 0,
		    kind == OP_GET ? db_doc_find(u, document) : NULL);
		return true;
	case CHECK_BAD:
		reply(cb, arg, STORE_ERR_AUTH, 0, NULL);
		return true;
	default:
		return false;
	}
}

static void
submit(struct filestore *js, struct store_op *op)
{
	js->ops_live++;
	op_start(op);
}

/*
 * The ops table
 */

static void
js_user_create(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;

	if (key.len == 0) {
		reply(cb, arg, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	submit(js, op_new(js, OP_CREATE, user, key, STR_NULL, NULL, STR_NULL,
	               cb, arg));
}

static void
js_user_auth(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;

	if (fast_read(js, OP_AUTH, user, key, STR_NULL, cb, arg))
		return;
	submit(js,
	    op_new(js, OP_AUTH, user, key, STR_NULL, NULL, STR_NULL, cb, arg));
}

static void
js_user_delete(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;

	submit(js, op_new(js, OP_DELETE, user, key, STR_NULL, NULL, STR_NULL,
	               cb, arg));
}

static void
js_user_set_key(struct store *st, struct str user, struct str key,
    struct str new_key, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;

	if (new_key.len == 0 || new_key.p == NULL) {
		reply(cb, arg, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	submit(js, op_new(js, OP_SET_KEY, user, key, new_key, NULL, STR_NULL,
	               cb, arg));
}

static void
js_progress_put(struct store *st, struct str user, struct str key,
    const struct store_push *push, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;

	submit(js,
	    op_new(js, OP_PUT, user, key, STR_NULL, push, STR_NULL, cb, arg));
}

static void
js_progress_get(struct store *st, struct str user, struct str key,
    struct str document, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;

	if (fast_read(js, OP_GET, user, key, document, cb, arg))
		return;
	submit(js,
	    op_new(js, OP_GET, user, key, STR_NULL, NULL, document, cb, arg));
}

/*
 * Administration: the same operations without a key to verify (they wait
 * for a key change or deletion in flight like any other). The key change
 * replaces the verified-key digest with the new key's, so the old key
 * stops working the moment the change is durable.
 */

static void
js_admin_user_set_key(struct store *st, struct str user, struct str new_key,
    store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct store_op *op;

	if (new_key.len == 0 || new_key.p == NULL) {
		reply(cb, arg, STORE_ERR_AUTH, 0, NULL);
		return;
	}
	op = op_new(
	    js, OP_SET_KEY, user, STR_NULL, new_key, NULL, STR_NULL, cb, arg);
	op->admin = true;
	submit(js, op);
}

static void
js_admin_user_delete(struct store *st, struct str user, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct store_op *op;

	op = op_new(
	    js, OP_DELETE, user, STR_NULL, STR_NULL, NULL, STR_NULL, cb, arg);
	op->admin = true;
	submit(js, op);
}

static const struct store_ops filestore_ops = {
    .name = "json",
    .flush = datadir_flush,
    .close = datadir_close,
    .user_create = js_user_create,
    .user_auth = js_user_auth,
    .user_delete = js_user_delete,
    .user_set_key = js_user_set_key,
    .progress_put = js_progress_put,
    .progress_get = js_progress_get,
    .admin_user_set_key = js_admin_user_set_key,
    .admin_user_delete = js_admin_user_delete,
    .admin_user_list = filestore_admin_list,
    .admin_dump = filestore_admin_dump,
    .admin_import = filestore_admin_import,
    .admin_compact = datadir_compact,
    .stats = datadir_stats,
    .web_documents = filestore_web_documents,
    .web_change = filestore_web_change,
    .user_admin = filestore_user_admin,
};

struct store *
store_filestore_open(uv_loop_t *loop, struct config *cfg, bool persistent)
{
	struct filestore *js = xcalloc(1, sizeof(*js));

	js->base.ops = &filestore_ops;
	js->loop = loop;
	js->cfg = cfg;
	js->persistent = persistent;
	db_init(&js->db);
	datadir_history(js);
	js->keys = keyhash_new(loop,
	    (unsigned)(cfg->argon2_concurrency ? cfg->argon2_concurrency : 2));
	if (persistent && datadir_open(js) != 0) {
		datadir_free(js);
		return NULL;
	}
	return &js->base;
}
