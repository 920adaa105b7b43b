/*
 * change.c: the one place that says what a change of the file and memory
 * backends is on disk (change_encode, change_decode) and what it does to
 * the tables of db.c (change_apply). See change.h.
 */
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "json.h"
#include "policy.h"
#include "store_merge.h"
#include "xmalloc.h"

static const char *const change_ops[] = {
    [CHANGE_CREATE] = "create",
    [CHANGE_KEY] = "key",
    [CHANGE_DELETE] = "delete",
    [CHANGE_PUT] = "put",
    [CHANGE_IMPORT_LISTS] = "import_lists",
    [CHANGE_WEB_RESTORE] = "web_restore",
    [CHANGE_WEB_RENAME] = "web_rename",
    [CHANGE_WEB_DELETE] = "web_delete",
    [CHANGE_WEB_LINK] = "web_link",
    [CHANGE_WEB_UNLINK] = "web_unlink",
    [CHANGE_WEB_CONFIG] = "web_config",
    [CHANGE_WEB_ADMIN] = "web_admin",
    [CHANGE_DEVICE_ADD] = "device_add",
    [CHANGE_DEVICE_RENAME] = "device_rename",
    [CHANGE_DEVICE_REVOKE] = "device_revoke",
    [CHANGE_DEVICES_ONLY] = "devices_only",
    [CHANGE_EVENTS] = "events",
    [CHANGE_POLICY] = "policy",
    [CHANGE_WEB_PROMOTE] = "web_promote",
    [CHANGE_DEVICE_NAME] = "device_name",
    [CHANGE_DEVICE_FORGET] = "device_forget",
};

#define NKINDS (sizeof(change_ops) / sizeof(change_ops[0]))

const char *
change_op(enum change_kind kind)
{
	return (size_t)kind < NKINDS ? change_ops[kind] : NULL;
}

/* Out of int64_t's range the cast is undefined. */
static int64_t
clamp_ts(double num)
{
	return num > -9.2e18 && num < 9.2e18 ? (int64_t)num : 0;
}

static struct str
or_empty(struct str s)
{
	return s.p != NULL ? s : STR_LIT("");
}

/*
 * Encoding
 */

/* An entry of an "import_lists" record. */
static void
lists_entry(struct json_out *o, const struct db_put *p)
{
	json_obj_begin(o);
	json_key(o, "percentage");
	json_double(o, p->percentage);
	json_key(o, "progress");
	json_strn(o, p->progress.p, p->progress.len);
	json_key(o, "device");
	json_strn(o, p->device.p, p->device.len);
	json_key(o, "device_id");
	json_strn(o, p->device_id.p, p->device_id.len);
	json_key(o, "timestamp");
	json_int(o, p->timestamp);
	json_obj_end(o);
}

static void
encode_put(struct json_out *o, const struct change *c)
{
	const struct db_put *put = &c->put;

	json_key(o, "doc");
	json_strn(o, put->document.p, put->document.len);
	json_key(o, "percentage");
	json_double(o, put->percentage);
	json_key(o, "timestamp");
	json_int(o, put->timestamp);
#define FIELD(name, s)                                                         \
	if ((s).p != NULL) {                                                   \
		json_key(o, name);                                             \
		json_strn(o, (s).p, (s).len);                                  \
	}
	FIELD("progress", put->progress);
	FIELD("device", put->device);
	FIELD("device_id", put->device_id);
	FIELD("filename", put->filename);
	FIELD("title", put->title);
	FIELD("authors", put->authors);
#undef FIELD
	/* What db keeps of the replaced state: limit, 0 all, -1 none. */
	json_key(o, "history");
	json_int(o, c->history.keep ? (int64_t)c->history.limit : -1);
	/* The per-account limit applied, for an identical replay. */
	if (c->history.user_limit != 0) {
		json_key(o, "user_history");
		json_int(o, (int64_t)c->history.user_limit);
	}
	/* Held back by the account's policy (a push without it is not). */
	if (put->held != 0) {
		json_key(o, "held");
		json_int(o, put->held);
	}
}

/* A "web_promote" record: the held push and the time it became current. */
static void
encode_promote(struct json_out *o, const struct change *c)
{
	json_key(o, "percentage");
	json_double(o, c->put.percentage);
	json_key(o, "progress");
	json_strn(o, or_empty(c->put.progress).p, c->put.progress.len);
	json_key(o, "device");
	json_strn(o, or_empty(c->put.device).p, c->put.device.len);
	json_key(o, "device_id");
	json_strn(o, or_empty(c->put.device_id).p, c->put.device_id.len);
	json_key(o, "at");
	json_int(o, c->at);
	json_key(o, "timestamp");
	json_int(o, c->put.timestamp);
}

static size_t
encode_lists(
    struct json_out *o, struct buf *out, size_t start, const struct change *c)
{
	size_t i = 0, j;

	if (c->n_devices > 0) {
		json_key(o, "devices");
		json_arr_begin(o);
		for (j = 0; j < c->n_devices; j++)
			lists_entry(o, &c->lists_devices[j]);
		json_arr_end(o);
	}
	if (c->n_history > 0) {
		json_key(o, "history");
		json_arr_begin(o);
		while (i < c->n_history &&
		       out->len - start < CHANGE_LISTS_RECORD_MAX)
			lists_entry(o, &c->lists_history[i++]);
		json_arr_end(o);
	}
	return i;
}

/* The fields of a device credential's record. */
static void
encode_devcred(struct json_out *o, const struct change *c)
{
	json_key(o, "id");
	json_strn(o, or_empty(c->dev_id).p, c->dev_id.len);
	if (c->kind == CHANGE_DEVICE_REVOKE)
		return;
	json_key(o, "label");
	json_strn(o, or_empty(c->name).p, c->name.len);
	if (c->kind != CHANGE_DEVICE_ADD)
		return;
	json_key(o, "key");
	json_strn(o, or_empty(c->key).p, c->key.len);
	json_key(o, "created");
	json_int(o, c->put.timestamp);
}

/* A "device_name" or "device_forget" record (db.h db_devname). */
static void
encode_devname(struct json_out *o, const struct change *c)
{
	json_key(o, "device");
	json_strn(o, or_empty(c->dev_id).p, c->dev_id.len);
	if (c->kind == CHANGE_DEVICE_NAME) {
		json_key(o, "name");
		json_strn(o, or_empty(c->name).p, c->name.len);
	} else {
		json_key(o, "at");
		json_int(o, c->at);
	}
}

size_t
change_encode(struct buf *out, const struct change *c)
{
	struct json_out o;
	size_t start = out->len, n = 0;

	json_out_init(&o, out, false);
	json_obj_begin(&o);
	json_key(&o, "op");
	json_str(&o, change_op(c->kind));
	json_key(&o, "user");
	json_strn(&o, c->user.p != NULL ? c->user.p : "", c->user.len);
	switch (c->kind) {
	case CHANGE_CREATE:
	case CHANGE_KEY:
		json_key(&o, "key");
		json_strn(&o, c->key.p != NULL ? c->key.p : "", c->key.len);
		break;
	case CHANGE_DELETE:
	case CHANGE_WEB_CONFIG:
		break;
	case CHANGE_PUT:
		encode_put(&o, c);
		break;
	case CHANGE_WEB_ADMIN:
	case CHANGE_DEVICES_ONLY:
		json_key(&o, c->kind == CHANGE_WEB_ADMIN ? "admin" : "on");
		json_bool(&o, c->admin);
		break;
	case CHANGE_DEVICE_ADD:
	case CHANGE_DEVICE_RENAME:
	case CHANGE_DEVICE_REVOKE:
		encode_devcred(&o, c);
		break;
	case CHANGE_EVENTS:
		json_key(&o, c->admin ? "feed" : "webhooks");
		json_strn(&o, or_empty(c->events).p, c->events.len);
		break;
	case CHANGE_POLICY:
		json_key(&o, "policy");
		json_str(&o, policy_name(c->policy));
		break;
	case CHANGE_DEVICE_NAME:
	case CHANGE_DEVICE_FORGET:
		encode_devname(&o, c);
		break;
	default:
		json_key(&o, "doc");
		json_strn(&o, c->put.document.p, c->put.document.len);
		break;
	}
	switch (c->kind) {
	case CHANGE_IMPORT_LISTS:
		n = encode_lists(&o, out, start, c);
		break;
	case CHANGE_WEB_PROMOTE:
		encode_promote(&o, c);
		break;
	case CHANGE_WEB_RESTORE:
		json_key(&o, "percentage");
		json_double(&o, c->put.percentage);
		json_key(&o, "progress");
		json_strn(&o, or_empty(c->put.progress).p, c->put.progress.len);
		json_key(&o, "timestamp");
		json_int(&o, c->put.timestamp);
		break;
	case CHANGE_WEB_RENAME:
		json_key(&o, "name");
		json_strn(&o, or_empty(c->name).p, c->name.len);
		break;
	case CHANGE_WEB_LINK:
	case CHANGE_WEB_UNLINK:
		json_key(&o, "alias");
		json_strn(&o, c->alias.p, c->alias.len);
		break;
	default:
		break;
	}
	json_obj_end(&o);
	return n;
}

/*
 * Decoding
 */

/* A number member of rec (-1: absent or not a number). */
static int
get_number(const struct json_value *rec, const char *key, double *out)
{
	const struct json_value *v = json_get(rec, key);

	return v != NULL && json_number(v, false, out) == 0 ? 0 : -1;
}

/*
 * The position fields of object o into p: percentage and timestamp (both
 * needed), progress, device, device_id (NULL when absent). 0 or -1.
 */
static int
decode_position(const struct json_value *o, struct db_put *p)
{
	double num;

	if (get_number(o, "percentage", &num) != 0)
		return -1;
	p->percentage = num;
	if (get_number(o, "timestamp", &num) != 0)
		return -1;
	p->timestamp = clamp_ts(num);
	p->progress = json_get_str(o, "progress");
	p->device = json_get_str(o, "device");
	p->device_id = json_get_str(o, "device_id");
	return 0;
}

/* The entries of an "import_lists" record's array v (NULL: none). */
static int
lists_decode(const struct json_value *v, struct json_arena *a,
    const struct db_put **out, size_t *n)
{
	const struct json_value *e;
	struct db_put *p, *all;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (v->type != JSON_ARRAY)
		return -1;
	all = json_arena_alloc(a, (v->count + 1) * sizeof(*all));
	memset(all, 0, (v->count + 1) * sizeof(*all));
	*out = all;
	for (e = v->child; e != NULL; e = e->next) {
		p = &all[(*n)++];
		if (e->type != JSON_OBJECT || decode_position(e, p) != 0)
			return -1;
		p->progress = or_empty(p->progress);
		p->device = or_empty(p->device);
		p->device_id = or_empty(p->device_id);
	}
	return 0;
}

/*
 * The history setting a "put" record carries over now's (a record written
 * before there was one: now's, without a per-account limit).
 */
static void
put_history(struct change *c, const struct json_value *rec,
    const struct db_history *now)
{
	const struct json_value *history = json_get(rec, "history");
	const struct json_value *user_history = json_get(rec, "user_history");
	double h;

	c->history = *now;
	if (history != NULL && json_number(history, true, &h) == 0 && h >= -1 &&
	    h <= UINT32_MAX) {
		c->history.keep = h >= 0;
		/* -1 keeps no replaced state; a held push (docs/policy.md)
		 * is kept within now's limit, as the server kept it. */
		c->history.limit = h >= 0 ? (unsigned)h : now->limit;
	}
	/* Absent: no per-account limit (or a record from before it). */
	c->history.user_limit = 0;
	if (history != NULL && user_history != NULL &&
	    json_number(user_history, true, &h) == 0 && h >= 0 && h <= 1e15)
		c->history.user_limit = (uint64_t)h;
}

static int
decode_kind(struct str op, enum change_kind *kind)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (str_eqs(op, change_ops[i])) {
			*kind = (enum change_kind)i;
			return 0;
		}
	return -1;
}

static int
decode_devcred(struct change *c, const struct json_value *rec)
{
	double num;

	c->dev_id = json_get_str(rec, "id");
	if (c->dev_id.p == NULL)
		return -1;
	if (c->kind == CHANGE_DEVICE_REVOKE)
		return 0;
	c->name = json_get_str(rec, "label");
	if (c->name.p == NULL)
		return -1;
	if (c->kind == CHANGE_DEVICE_RENAME)
		return 0;
	c->key = json_get_str(rec, "key");
	if (c->key.p == NULL || get_number(rec, "created", &num) != 0)
		return -1;
	c->put.timestamp = clamp_ts(num);
	return 0;
}

int
change_decode(struct change *c, const struct json_value *rec,
    const struct db_history *now, struct json_arena *a)
{
	const struct json_value *v;
	struct str op;
	double num;
	int n;

	memset(c, 0, sizeof(*c));
	if (rec == NULL || rec->type != JSON_OBJECT)
		return -1;
	op = json_get_str(rec, "op");
	c->user = json_get_str(rec, "user");
	if (op.p == NULL || c->user.p == NULL || decode_kind(op, &c->kind) != 0)
		return -1;
	c->history = *now;
	switch (c->kind) {
	case CHANGE_CREATE:
	case CHANGE_KEY:
		c->key = json_get_str(rec, "key");
		return c->key.p != NULL ? 0 : -1;
	case CHANGE_DELETE:
	case CHANGE_WEB_CONFIG:
		return 0;
	case CHANGE_WEB_ADMIN:
	case CHANGE_DEVICES_ONLY:
		v = json_get(rec, c->kind == CHANGE_WEB_ADMIN ? "admin" : "on");
		if (v == NULL ||
		    (v->type != JSON_TRUE && v->type != JSON_FALSE))
			return -1;
		c->admin = v->type == JSON_TRUE;
		return 0;
	case CHANGE_DEVICE_ADD:
	case CHANGE_DEVICE_RENAME:
	case CHANGE_DEVICE_REVOKE:
		return decode_devcred(c, rec);
	case CHANGE_EVENTS:
		c->admin = json_get(rec, "feed") != NULL;
		c->events = json_get_str(rec, c->admin ? "feed" : "webhooks");
		return c->events.p == NULL ? -1 : 0;
	case CHANGE_POLICY:
		n = policy_parse(json_get_str(rec, "policy"));
		if (n < 0)
			return -1;
		c->policy = (uint8_t)n;
		return 0;
	case CHANGE_DEVICE_NAME:
	case CHANGE_DEVICE_FORGET:
		c->dev_id = json_get_str(rec, "device");
		if (c->dev_id.p == NULL || c->dev_id.len == 0)
			return -1;
		if (c->kind == CHANGE_DEVICE_NAME) {
			c->name = json_get_str(rec, "name");
			return c->name.p != NULL ? 0 : -1;
		}
		if (get_number(rec, "at", &num) != 0 || num <= 0)
			return -1;
		c->at = clamp_ts(num);
		return 0;
	default:
		break;
	}
	/* The kinds about a document. */
	c->put.document = json_get_str(rec, "doc");
	if (c->put.document.p == NULL)
		return -1;
	switch (c->kind) {
	case CHANGE_PUT:
		if (decode_position(rec, &c->put) != 0)
			return -1;
		c->put.filename = json_get_str(rec, "filename");
		c->put.title = json_get_str(rec, "title");
		c->put.authors = json_get_str(rec, "authors");
		put_history(c, rec, now);
		if (get_number(rec, "held", &num) == 0) {
			if (num < 0 || num > 255)
				return -1;
			c->put.held = (uint8_t)num;
		}
		return 0;
	case CHANGE_WEB_PROMOTE:
		if (decode_position(rec, &c->put) != 0 ||
		    get_number(rec, "at", &num) != 0)
			return -1;
		c->at = clamp_ts(num);
		return 0;
	case CHANGE_IMPORT_LISTS:
		if (lists_decode(json_get(rec, "history"), a, &c->lists_history,
		        &c->n_history) != 0 ||
		    lists_decode(json_get(rec, "devices"), a, &c->lists_devices,
		        &c->n_devices) != 0)
			return -1;
		return 0;
	case CHANGE_WEB_RESTORE:
		/* Only percentage, progress and timestamp are its. */
		return decode_position(rec, &c->put);
	case CHANGE_WEB_RENAME:
		c->name = json_get_str(rec, "name");
		return 0;
	case CHANGE_WEB_LINK:
	case CHANGE_WEB_UNLINK:
		c->alias = json_get_str(rec, "alias");
		return c->alias.p != NULL ? 0 : -1;
	default:
		return 0; /* CHANGE_WEB_DELETE */
	}
}

/*
 * Applying
 */

/*
 * Restore a past position: as a push from the web interface (the replaced
 * state goes to the history as h says), and to the history even when h
 * keeps none, so that a restore can be undone. A promotion (WEB_PROMOTE)
 * is the same with the held push's device, and marks that entry promoted.
 */
static void
apply_restore(struct db *db, struct db_user *u, const struct change *c)
{
	struct str doc = c->put.document;
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
	p.percentage = c->put.percentage;
	p.timestamp = c->put.timestamp;
	p.progress = or_empty(c->put.progress);
	p.device = STR_LIT(CHANGE_WEB_DEVICE);
	p.device_id = STR_LIT("");
	if (c->kind == CHANGE_WEB_PROMOTE) {
		/* The held push, as its device sent it, marked in place. */
		(void)db_doc_promote(
		    old, c->at, c->put.percentage, c->put.device_id);
		p.device = or_empty(c->put.device);
		p.device_id = or_empty(c->put.device_id);
	}
	d = db_put(db, u, &p, &c->history);
	if (!c->history.keep)
		db_doc_add_history(u, d, &prev, c->history.limit);
	free(copy);
}

/* Set a document's own title (pretty_name), nothing else. */
static void
apply_rename(struct db *db, struct db_user *u, const struct change *c)
{
	struct db_doc *d = db_doc_find(u, c->put.document);
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
	p.pretty_name = or_empty(c->name);
	db_doc_load(db, u, &p);
}

/*
 * Merge alias into doc: when alias's own record is newer, doc takes its
 * position (as a push would: the replaced state goes to the history and
 * the device list), then alias is linked to doc.
 */
static void
apply_link(struct db *db, struct db_user *u, const struct change *c)
{
	struct db_doc *a = db_doc_find(u, c->alias);
	struct db_doc *d = db_doc_find(u, c->put.document);
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
		db_put(db, u, &p, &c->history);
	}
	db_link_set(u, c->alias, c->put.document);
}

void
change_apply_user(struct db *db, struct db_user *u, const struct change *c)
{
	struct db_doc *d;
	struct str doc;

	if (c->kind == CHANGE_CREATE && u == NULL) {
		db_user_add(db, c->user, c->key);
		return;
	}
	if (u == NULL)
		return;
	switch (c->kind) {
	case CHANGE_CREATE:
	case CHANGE_KEY:
		db_user_set_key(u, c->key);
		break;
	case CHANGE_DELETE:
		db_user_remove(db, u);
		break;
	case CHANGE_PUT:
		d = c->put.held != 0 ? db_doc_find(u, c->put.document) : NULL;
		if (d != NULL)
			db_doc_add_held(u, d, &c->put, &c->history);
		else
			db_put(db, u, &c->put, &c->history);
		break;
	case CHANGE_POLICY:
		u->policy = c->policy;
		break;
	case CHANGE_DEVICE_NAME:
		/* Past DB_DEVNAMES_MAX (checked before) nothing is added. */
		(void)db_devname_set(u, c->dev_id, or_empty(c->name), -1);
		break;
	case CHANGE_DEVICE_FORGET:
		(void)db_devname_set(u, c->dev_id, STR_NULL, c->at);
		break;
	case CHANGE_IMPORT_LISTS:
		d = db_doc_find(u, c->put.document);
		if (d != NULL)
			(void)store_merge_lists(&c->history, u, d,
			    c->lists_history, c->n_history, c->lists_devices,
			    c->n_devices, true);
		break;
	case CHANGE_WEB_RESTORE:
	case CHANGE_WEB_PROMOTE:
		apply_restore(db, u, c);
		break;
	case CHANGE_WEB_RENAME:
		apply_rename(db, u, c);
		break;
	case CHANGE_WEB_DELETE:
		/* doc may point into a link: remove the record first. */
		doc = db_link_resolve(u, c->put.document);
		db_doc_remove(db, u, doc);
		db_link_del_to(u, doc);
		break;
	case CHANGE_WEB_LINK:
		apply_link(db, u, c);
		break;
	case CHANGE_WEB_UNLINK:
		db_link_del(u, c->alias);
		break;
	case CHANGE_WEB_ADMIN:
		u->admin = c->admin;
		break;
	case CHANGE_DEVICE_ADD:
		(void)db_devcred_add(
		    u, c->dev_id, c->name, c->key, c->put.timestamp);
		break;
	case CHANGE_DEVICE_RENAME:
		db_devcred_rename(u, c->dev_id, c->name);
		break;
	case CHANGE_DEVICE_REVOKE:
		db_devcred_revoke(u, c->dev_id);
		break;
	case CHANGE_DEVICES_ONLY:
		u->devices_only = c->admin;
		break;
	case CHANGE_EVENTS:
		db_user_set_events(u, c->admin, c->events);
		break;
	case CHANGE_WEB_CONFIG:
		break;
	}
}

void
change_apply(struct db *db, const struct change *c)
{
	change_apply_user(db, db_user_find(db, c->user), c);
}

int
change_replay(
    struct db *db, const struct db_history *now, const char *rec, size_t len)
{
	struct json_arena a = JSON_ARENA_INIT;
	struct change c;
	int rc = -1;

	if (change_decode(&c, json_parse(rec, len, json_arena_alloc, &a, NULL),
	        now, &a) == 0) {
		change_apply(db, &c);
		rc = 0;
	}
	json_arena_release(&a);
	return rc;
}
