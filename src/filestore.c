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

#include "auth.h"
#include "change.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "json.h"
#include "keyhash.h"
#include "log.h"
#include "policy.h"
#include "store_backend.h"
#include "xmalloc.h"

/*
 * Which keys sign in: ANY (the protocol's sign-in check, reads and
 * pushes) the account key unless the account has devices_only on, and its
 * live device credentials; ACCOUNT (the account's own management: the
 * deletion and key change, the web interface's sign-in) the account key
 * only, whatever devices_only says.
 */
enum key_mode { KEY_ANY, KEY_ACCOUNT };

enum op_kind {
	OP_CREATE,
	OP_AUTH,
	OP_DELETE,
	OP_SET_KEY,
	OP_PUT,
	OP_GET,
	OP_DEVICE, /* store_device_change */
};

struct store_op {
	struct filestore *js;
	enum op_kind kind;
	struct str user;
	struct str key;
	struct str new_key;
	struct db_put put; /* OP_PUT; put.document for OP_GET */
	int64_t client_ts; /* OP_PUT: store_push's, for the policy */
	struct str peer;
	struct str agent;
	char *phc;    /* OP_CREATE, OP_SET_KEY: the hashed key */
	uint64_t seq; /* journal record of a change */
	store_cb *cb;
	void *arg;
	struct db_user *u;  /* referenced while set */
	uint64_t res_bytes; /* OP_PUT: reserved in u (limits_admit) */
	uint32_t res_docs;
	bool admin;     /* store_admin_*: no key to verify */
	bool web;       /* OP_AUTH: the web interface's sign-in (KEY_ACCOUNT) */
	bool note_pull; /* OP_GET: the reply asks for store_progress_pulled */
	struct store_device_change dev; /* OP_DEVICE */
	/* The device credential the key matched ("": the account key). */
	char devcred[DB_DEVCRED_ID_MAX + 1];
	struct store_op *next;
	unsigned char digest[KEYHASH_DIGEST_BYTES];
	char strings[]; /* the copies the slices above point into */
};

/*
 * A verification in flight for one user: the key against the account key
 * (target -1) and then each device credential not yet verified (target
 * its index; the credentials cannot change while u->verifying is set),
 * until one matches.
 */
struct verify {
	struct filestore *js;
	struct db_user *u;
	int target;
	enum key_mode mode;
	/*
	 * Every key that signs in was compared (the account key and every
	 * credential): a mismatch is then refused in every mode, otherwise
	 * only in this one (u->bad_scope), so that a key refused in one mode
	 * is not refused in another.
	 */
	bool full;
	unsigned char digest[KEYHASH_DIGEST_BYTES];
	size_t key_len;
	char key[]; /* kept for the next target */
};

static void op_start(struct store_op *op);

/*
 * Replies
 */

static void
reply_pull(store_cb *cb, void *arg, enum store_result r, int64_t ts,
    const struct db_doc *d, const char *devcred, bool note_pull)
{
	struct store_reply rep;
	struct store_doc doc;

	memset(&rep, 0, sizeof(rep));
	rep.result = r;
	rep.note_pull = note_pull;
	rep.timestamp = ts;
	rep.devcred = devcred != NULL && devcred[0] != '\0' ? devcred : NULL;
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

static void
reply_cred(store_cb *cb, void *arg, enum store_result r, int64_t ts,
    const struct db_doc *d, const char *devcred)
{
	reply_pull(cb, arg, r, ts, d, devcred, false);
}

static void
reply(store_cb *cb, void *arg, enum store_result r, int64_t ts,
    const struct db_doc *d)
{
	reply_cred(cb, arg, r, ts, d, NULL);
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
		op->client_ts = c.client_ts;
		op->peer = c.peer;
		op->agent = c.agent;
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

	reply_pull(op->cb, op->arg, r, ts, d,
	    r == STORE_OK ? op->devcred : NULL, r == STORE_OK && op->note_pull);
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

/*
 * What the cache (or a legacy key) says about a key with this digest: the
 * account key's digest first, then each verified device credential's, as
 * mode lets them sign in; *cred is the matching credential's id (NULL:
 * the account key). UNKNOWN while a key that could match is not verified
 * yet.
 */
static enum check
key_check(struct db_user *u, struct str key, const unsigned char *digest,
    enum key_mode mode, const char **cred)
{
	unsigned char stored[KEYHASH_DIGEST_BYTES];
	bool acct = mode == KEY_ACCOUNT || !u->devices_only, unknown = false;
	bool account_only = mode != KEY_ANY;
	uint32_t i;

	*cred = NULL;
	if (key.len == 0 || u->key == NULL)
		return CHECK_BAD;
	if (acct && u->has_ok && keyhash_digest_eq(u->ok_digest, digest))
		return CHECK_OK;
	for (i = 0; !account_only && i < u->ndevcreds; i++) {
		const struct db_devcred *c = &u->devcreds[i];

		if (c->key != NULL && c->has_ok &&
		    keyhash_digest_eq(c->ok_digest, digest)) {
			*cred = c->id;
			return CHECK_OK;
		}
	}
	if (u->has_bad && (u->bad_scope == 0 || u->bad_scope == mode + 1) &&
	    keyhash_digest_eq(u->bad_digest, digest))
		return CHECK_BAD;
	if (acct && !u->has_ok) {
		if (keyhash_is_phc(u->key)) {
			unknown = true;
		} else {
			/* A legacy (md5) key not yet migrated. */
			keyhash_digest(str_from(u->key), stored);
			if (keyhash_digest_eq(stored, digest)) {
				memcpy(
				    u->ok_digest, digest, KEYHASH_DIGEST_BYTES);
				u->has_ok = true;
				return CHECK_OK;
			}
		}
	}
	for (i = 0; !account_only && i < u->ndevcreds; i++)
		if (u->devcreds[i].key != NULL && !u->devcreds[i].has_ok)
			unknown = true;
	return unknown ? CHECK_UNKNOWN : CHECK_BAD;
}

/*
 * The next key a verification compares with after target: -1 the account
 * key, an index a device credential, -2 none left.
 */
static int
verify_next(const struct db_user *u, int target, enum key_mode mode)
{
	bool account_only = mode != KEY_ANY;
	uint32_t i;

	if (target < -1 && (mode == KEY_ACCOUNT || !u->devices_only) &&
	    !u->has_ok && keyhash_is_phc(u->key))
		return -1;
	for (i = (uint32_t)(target < 0 ? 0 : target + 1);
	     !account_only && i < u->ndevcreds; i++)
		if (u->devcreds[i].key != NULL && !u->devcreds[i].has_ok)
			return (int)i;
	return -2;
}

static void
verify_done(void *arg, enum keyhash_result res, char *phc)
{
	struct verify *v = arg;
	struct db_user *u = v->u;
	struct db_devcred *c;

	(void)phc;
	if (res == KEYHASH_MISMATCH && !u->removed) {
		v->target = verify_next(u, v->target, v->mode);
		if (v->target >= 0) {
			keyhash_verify(v->js->keys, u->devcreds[v->target].key,
			    (struct str){v->key, v->key_len}, verify_done, v);
			return;
		}
	}
	u->verifying = false;
	if (u->removed) {
		/* Nothing to remember (the waiters find no account). */
	} else if (res == KEYHASH_OK && v->target < 0) {
		memcpy(u->ok_digest, v->digest, KEYHASH_DIGEST_BYTES);
		u->has_ok = true;
	} else if (res == KEYHASH_OK) {
		c = &u->devcreds[v->target];
		memcpy(c->ok_digest, v->digest, KEYHASH_DIGEST_BYTES);
		c->has_ok = true;
	} else if (res == KEYHASH_MISMATCH) {
		u->bad_scope = v->full ? 0 : (uint8_t)(v->mode + 1);
		memcpy(u->bad_digest, v->digest, KEYHASH_DIGEST_BYTES);
		u->has_bad = true;
	}
	sodium_memzero(v->key, v->key_len);
	free(v);
	if (res == KEYHASH_FAILED)
		user_fail_waiters(u, STORE_ERR_UNAVAILABLE);
	else
		user_wake(u);
	db_user_unref(u);
}

static void
verify_start(struct filestore *js, struct db_user *u, struct str key,
    const unsigned char *digest, enum key_mode mode)
{
	struct verify *v;
	int target = verify_next(u, -2, mode);

	/* One verification at a time per user; others park meanwhile. */
	assert(!u->verifying && !u->busy);
	/* key_check said UNKNOWN: there is a key to compare with. */
	assert(target != -2);
	v = xmalloc(sizeof(*v) + key.len);
	v->js = js;
	v->u = u;
	v->target = target;
	v->mode = mode;
	v->full = mode == KEY_ANY && !u->devices_only;
	memcpy(v->digest, digest, KEYHASH_DIGEST_BYTES);
	v->key_len = key.len;
	memcpy(v->key, key.p, key.len);
	u->refs++;
	u->verifying = true;
	keyhash_verify(js->keys, target < 0 ? u->key : u->devcreds[target].key,
	    key, verify_done, v);
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

/* The change of a device credential operation. */
static void
device_change_of(const struct store_op *op, struct change *c)
{
	c->dev_id = str_from(op->devcred);
	c->name = op->dev.label;
	c->admin = op->dev.on;
	switch (op->dev.kind) {
	case STORE_DEVICE_ADD:
		c->kind = CHANGE_DEVICE_ADD;
		c->key = str_from(op->phc);
		c->put.timestamp = op->put.timestamp;
		break;
	case STORE_DEVICE_RENAME:
		c->kind = CHANGE_DEVICE_RENAME;
		break;
	case STORE_DEVICE_REVOKE:
		c->kind = CHANGE_DEVICE_REVOKE;
		break;
	case STORE_DEVICES_ONLY:
		c->kind = CHANGE_DEVICES_ONLY;
		break;
	case STORE_PROGRESS_POLICY:
		c->kind = CHANGE_POLICY;
		c->policy = op->dev.policy;
		break;
	case STORE_DEVICE_NAME:
		c->kind = CHANGE_DEVICE_NAME;
		c->dev_id = op->dev.id;
		break;
	case STORE_DEVICE_FORGET:
		c->kind = CHANGE_DEVICE_FORGET;
		c->dev_id = op->dev.id;
		c->at = op->put.timestamp;
		break;
	}
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
	case OP_DEVICE:
		device_change_of(op, c);
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
	assert(op->kind != OP_DEVICE || u->busy > 0);
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
		case OP_DEVICE:
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
	case OP_DEVICE:
		/* Guard knows the pulls from now on (docs/policy.md). */
		if (op->dev.kind == STORE_PROGRESS_POLICY)
			u->policy_since = (int64_t)time(NULL);
		/* A key refused before may be a credential's now. */
		u->has_bad = false;
		u->busy--;
		op_finish(op, STORE_OK, 0, NULL);
		user_wake(u);
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

/* A new credential's id, unique in u. */
static void
device_new_id(const struct db_user *u, char *out)
{
	do
		auth_device_new_id(out);
	while (db_devcred_find(u, str_from(out)) != NULL);
}

/* A device credential change: check it, then hash (ADD) or journal it. */
static void
device_act(struct store_op *op, struct db_user *u)
{
	struct filestore *js = op->js;
	struct db_devcred *c = NULL;

	if (op->dev.kind == STORE_DEVICE_RENAME ||
	    op->dev.kind == STORE_DEVICE_REVOKE) {
		c = db_devcred_find(u, op->dev.id);
		if (c == NULL || c->key == NULL) {
			op_finish(op, STORE_ERR_NOTFOUND, 0, NULL);
			return;
		}
		memcpy(op->devcred, c->id, sizeof(op->devcred));
	}
	/* A device name: room for a new one (applied by change.c). */
	if ((op->dev.kind == STORE_DEVICE_NAME ||
	        op->dev.kind == STORE_DEVICE_FORGET) &&
	    db_devname_find(u, op->dev.id) == NULL &&
	    u->ndevnames >= DB_DEVNAMES_MAX) {
		op_finish(op, STORE_ERR_LIMIT, 0, NULL);
		return;
	}
	if (op->dev.kind == STORE_DEVICE_FORGET)
		op->put.timestamp = (int64_t)time(NULL);
	if (op->dev.kind == STORE_DEVICE_ADD &&
	    db_devcred_live(u) >= STORE_MAX_DEVCREDS) {
		op_finish(op, STORE_ERR_LIMIT, 0, NULL);
		return;
	}
	op_hold(op, u);
	u->busy++;
	if (op->dev.kind != STORE_DEVICE_ADD) {
		change_write(op);
		return;
	}
	device_new_id(u, op->devcred);
	op->put.timestamp = (int64_t)time(NULL);
	keyhash_hash(js->keys, op->dev.key, hashed, op);
}

/* The pull table, made at its first use. */
static struct policy_pulls *
pulls_of(struct filestore *js)
{
	if (js->pulls == NULL)
		js->pulls = policy_pulls_new(js->started);
	return js->pulls;
}

/*
 * The account's progress policy on the push of op (policy.h): 0, or why
 * it is held back. Decided here and recorded with the push (put.held), so
 * that a replay of the journal never decides again. An account on latest
 * costs nothing more.
 */
static uint8_t
put_verdict(struct store_op *op, const struct db_user *u)
{
	const struct db_doc *d;
	struct policy_case pc;

	if (u->policy == DB_POLICY_LATEST)
		return 0;
	d = db_doc_find(u, op->put.document);
	if (d == NULL)
		return 0;
	memset(&pc, 0, sizeof(pc));
	pc.has_current = true;
	pc.cur_percentage = d->percentage;
	pc.cur_timestamp = d->timestamp;
	pc.percentage = op->put.percentage;
	pc.client_ts = op->client_ts;
	pc.pulled = true;
	if (u->policy == DB_POLICY_GUARD)
		pc.pulled =
		    d->timestamp <= u->policy_since ||
		    policy_pulled_since(pulls_of(op->js), op->user,
		        op->put.document, policy_client(op->peer, op->agent),
		        d->timestamp);
	return (uint8_t)policy_decide(u->policy, &pc);
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
		op->note_pull = u->policy == DB_POLICY_GUARD;
		op_finish(op, STORE_OK, 0, db_doc_find(u, op->put.document));
		break;
	case OP_PUT:
		if (!limits_admit(op, u)) {
			op_finish(op, STORE_ERR_LIMIT, 0, NULL);
			break;
		}
		op_hold(op, u);
		op->put.timestamp = (int64_t)time(NULL);
		op->put.held = put_verdict(op, u);
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
	case OP_DEVICE:
		device_act(op, u);
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
	const char *cred;
	enum key_mode mode;

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
	/* Only the account key deletes the account or changes its key. */
	mode = op->kind == OP_DELETE || op->kind == OP_SET_KEY || op->web
	           ? KEY_ACCOUNT
	           : KEY_ANY;
	switch (key_check(u, op->key, op->digest, mode, &cred)) {
	case CHECK_OK:
		if (cred != NULL)
			memcpy(op->devcred, cred, sizeof(op->devcred));
		op_act(op, u);
		break;
	case CHECK_BAD:
		op_finish(op, STORE_ERR_AUTH, 0, NULL);
		break;
	case CHECK_UNKNOWN:
		op_park(op, u);
		verify_start(js, u, op->key, op->digest, mode);
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
	const char *cred;

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
	switch (key_check(u, key, digest, KEY_ANY, &cred)) {
	case CHECK_OK:
		reply_pull(cb, arg, STORE_OK, 0,
		    kind == OP_GET ? db_doc_find(u, document) : NULL, cred,
		    kind == OP_GET && u->policy == DB_POLICY_GUARD);
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
js_user_signin(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct store_op *op;

	op = op_new(js, OP_AUTH, user, key, STR_NULL, NULL, STR_NULL, cb, arg);
	op->web = true;
	submit(js, op);
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

/*
 * Device credentials (store.h): the changes wait like a key change, so an
 * operation arriving meanwhile starts over and sees the credential gone
 * (revoked) or there (added).
 */

static void
js_device_change(struct store *st, struct str user,
    const struct store_device_change *ch, store_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct store_op *op;
	size_t n = str_packed_size(user) + str_packed_size(ch->id) +
	           str_packed_size(ch->label) + str_packed_size(ch->key);
	char *p;

	op = xcalloc(1, sizeof(*op) + n);
	p = op->strings;
	op->js = js;
	op->kind = OP_DEVICE;
	op->user = str_pack(&p, user);
	op->dev = *ch;
	op->dev.id = str_pack(&p, ch->id);
	op->dev.label = str_pack(&p, ch->label);
	op->dev.key = str_pack(&p, ch->key);
	op->cb = cb;
	op->arg = arg;
	op->admin = true;
	submit(js, op);
}

/* user's record for a listing, or NULL once STORE_ERR_AUTH is answered. */
static const struct db_user *
device_user(
    const struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	const struct filestore *js = (const struct filestore *)st;
	const struct db_user *u = db_user_find(&js->db, user);

	if (u != NULL && !u->creating)
		return u;
	cb(arg, STORE_ERR_AUTH, NULL, 0);
	return NULL;
}

static void
js_device_list(struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	const struct db_user *u = device_user(st, user, cb, arg);
	const struct db_devcred *c;
	struct buf b = BUF_INIT;
	struct json_out o;
	uint32_t i;

	if (u == NULL)
		return;
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "devices_only");
	json_bool(&o, u->devices_only);
	json_key(&o, "progress_policy");
	json_str(&o, policy_name(u->policy));
	json_key(&o, "devices");
	json_arr_begin(&o);
	for (i = 0; i < u->ndevcreds; i++) {
		c = &u->devcreds[i];
		json_obj_begin(&o);
		json_key(&o, "id");
		json_str(&o, c->id);
		json_key(&o, "label");
		json_str(&o, c->label);
		json_key(&o, "created");
		json_int(&o, c->created);
		json_key(&o, "revoked");
		json_bool(&o, c->key == NULL);
		json_key(&o, "used");
		json_int(&o, c->used);
		json_key(&o, "address");
		json_str(&o, c->used_addr ? c->used_addr : "");
		json_key(&o, "agent");
		json_str(&o, c->used_agent ? c->used_agent : "");
		json_key(&o, "device");
		json_str(&o, c->used_device ? c->used_device : "");
		json_key(&o, "device_id");
		json_str(&o, c->used_device_id ? c->used_device_id : "");
		json_obj_end(&o);
	}
	json_arr_end(&o);
	json_obj_end(&o);
	cb(arg, STORE_OK, b.data, b.len);
	buf_release(&b);
}

static void
js_device_used(struct store *st, struct str user, const char *id,
    const struct store_device_use *use)
{
	struct filestore *js = (struct filestore *)st;
	struct db_user *u = db_user_find(&js->db, user);
	struct db_devcred *c;
	bool first;

	if (u == NULL || (c = db_devcred_find(u, str_from(id))) == NULL)
		return;
	first = c->used == 0;
	db_devcred_used(c, use->when, use->address, use->agent, use->device,
	    use->device_id);
	(void)db_devcred_audit(c, use->when, (uint8_t)use->what, use->address,
	    use->agent, use->document);
	/* Events out: c may move with a later change, not during the call. */
	if (first)
		store_device_first_use(st, user, c->id, c->label, use->device);
}

/* store_device_audit: the ring of c, newest first. */
static void
js_device_audit(struct store *st, struct str user, struct str id,
    store_text_cb *cb, void *arg)
{
	const struct db_user *u = device_user(st, user, cb, arg);
	const struct db_devcred *c;
	const struct db_audit *a;
	struct buf b = BUF_INIT;
	struct json_out o;
	uint32_t i;

	if (u == NULL)
		return;
	if ((c = db_devcred_find(u, id)) == NULL) {
		cb(arg, STORE_ERR_NOTFOUND, NULL, 0);
		return;
	}
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "id");
	json_str(&o, c->id);
	json_key(&o, "label");
	json_str(&o, c->label);
	json_key(&o, "revoked");
	json_bool(&o, c->key == NULL);
	json_key(&o, "audit");
	json_arr_begin(&o);
	for (i = 0; i < c->naudit; i++) {
		a = db_devcred_audit_at(c, i);
		store_device_audit_entry(&o, a->time, a->what,
		    str_from(a->address), str_from(a->agent),
		    str_from(a->document));
	}
	json_arr_end(&o);
	json_obj_end(&o);
	cb(arg, STORE_OK, b.data, b.len);
	buf_release(&b);
}

static void
js_policy_get(struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	const struct db_user *u = db_user_find(&js->db, user);
	struct buf b = BUF_INIT;
	struct json_out o;

	if (u == NULL || u->creating) {
		cb(arg, STORE_ERR_AUTH, NULL, 0);
		return;
	}
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "progress_policy");
	json_str(&o, policy_name(u->policy));
	json_obj_end(&o);
	cb(arg, STORE_OK, b.data, b.len);
	buf_release(&b);
}

static void
js_devnames_get(struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	const struct db_user *u = device_user(st, user, cb, arg);
	struct buf b = BUF_INIT;
	struct json_out o;
	uint32_t i;

	if (u == NULL)
		return;
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "device_names");
	json_arr_begin(&o);
	for (i = 0; i < u->ndevnames; i++) {
		json_obj_begin(&o);
		json_key(&o, "device");
		json_str(&o, u->devnames[i].key);
		json_key(&o, "name");
		json_str(&o, u->devnames[i].name);
		json_key(&o, "forgotten");
		json_int(&o, u->devnames[i].forgotten);
		json_obj_end(&o);
	}
	json_arr_end(&o);
	json_obj_end(&o);
	cb(arg, STORE_OK, b.data, b.len);
	buf_release(&b);
}

static void
js_progress_pulled(
    struct store *st, struct str user, struct str document, uint64_t client)
{
	struct filestore *js = (struct filestore *)st;

	policy_pulls_note(
	    pulls_of(js), user, document, client, (int64_t)time(NULL));
}

static const struct store_ops filestore_ops = {
    .name = "json",
    .flush = datadir_flush,
    .close = datadir_close,
    .user_create = js_user_create,
    .user_auth = js_user_auth,
    .user_signin = js_user_signin,
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
    .device_change = js_device_change,
    .device_list = js_device_list,
    .device_used = js_device_used,
    .device_audit = js_device_audit,
    .events_set = filestore_events_set,
    .events_get = filestore_events_get,
    .feed_user = filestore_feed_user,
    .policy_get = js_policy_get,
    .devnames_get = js_devnames_get,
    .progress_pulled = js_progress_pulled,
};

struct store *
store_filestore_open(uv_loop_t *loop, struct config *cfg, bool persistent)
{
	struct filestore *js = xcalloc(1, sizeof(*js));

	js->base.ops = &filestore_ops;
	js->loop = loop;
	js->cfg = cfg;
	js->persistent = persistent;
	js->started = (int64_t)time(NULL);
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
