/*
 * store_file.c: the data directory of the file backend (database.json,
 * the journal, the lock), store_flush and store_close of both backends,
 * and the journal records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "store_json.h"
#include "xmalloc.h"

enum flush_stage {
	FLUSH_NONE = 0,
	FLUSH_KEYS,  /* waiting for running argon2 jobs */
	FLUSH_OPS,   /* waiting for operations in flight */
	FLUSH_FILES, /* journal drain, final snapshot */
	FLUSH_DONE,
};

/*
 * Journal records
 */

void
json_store_record(struct buf *out, const char *op, struct str user,
    struct str key, const struct db_put *put)
{
	struct json_out o;

	json_out_init(&o, out, false);
	json_obj_begin(&o);
	json_key(&o, "op");
	json_str(&o, op);
	json_key(&o, "user");
	json_strn(&o, user.p, user.len);
	if (key.p != NULL) {
		json_key(&o, "key");
		json_strn(&o, key.p, key.len);
	}
	if (put != NULL) {
		json_key(&o, "doc");
		json_strn(&o, put->document.p, put->document.len);
		json_key(&o, "percentage");
		json_double(&o, put->percentage);
		json_key(&o, "timestamp");
		json_int(&o, put->timestamp);
#define FIELD(name, s)                                                         \
	if ((s).p != NULL) {                                                   \
		json_key(&o, name);                                            \
		json_strn(&o, (s).p, (s).len);                                 \
	}
		FIELD("progress", put->progress);
		FIELD("device", put->device);
		FIELD("device_id", put->device_id);
		FIELD("filename", put->filename);
		FIELD("title", put->title);
		FIELD("authors", put->authors);
#undef FIELD
	}
	json_obj_end(&o);
}

struct arena {
	void **p;
	size_t n, cap;
};

static void *
arena_alloc(void *ctx, size_t size)
{
	struct arena *a = ctx;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->p = xrealloc(a->p, a->cap * sizeof(*a->p));
	}
	return a->p[a->n++] = xmalloc(size);
}

static void
arena_free(struct arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
}

static struct str
member(const struct json_value *obj, const char *key)
{
	const struct json_value *v = json_get(obj, key);

	if (v == NULL || v->type != JSON_STRING)
		return STR_NULL;
	return v->text;
}

int
json_store_apply(struct db *db, const char *rec, size_t len)
{
	struct arena a = {NULL, 0, 0};
	const struct json_value *root, *v;
	struct str op, user, key;
	struct db_user *u;
	struct db_put put;
	double num;
	int rc = -1;

	root = json_parse(rec, len, arena_alloc, &a, NULL);
	if (root == NULL || root->type != JSON_OBJECT)
		goto out;
	op = member(root, "op");
	user = member(root, "user");
	key = member(root, "key");
	if (op.p == NULL || user.p == NULL)
		goto out;
	u = db_user_find(db, user);
	if (str_eqs(op, "create") || str_eqs(op, "key")) {
		if (key.p == NULL)
			goto out;
		if (u != NULL)
			db_user_set_key(u, key);
		else if (str_eqs(op, "create"))
			db_user_add(db, user, key);
	} else if (str_eqs(op, "delete")) {
		if (u != NULL)
			db_user_remove(db, u);
	} else if (str_eqs(op, "put")) {
		memset(&put, 0, sizeof(put));
		put.document = member(root, "doc");
		if (put.document.p == NULL)
			goto out;
		if ((v = json_get(root, "percentage")) == NULL ||
		    json_number(v, false, &num) != 0)
			goto out;
		put.percentage = num;
		if ((v = json_get(root, "timestamp")) == NULL ||
		    json_number(v, false, &num) != 0)
			goto out;
		put.timestamp = (int64_t)num;
		put.progress = member(root, "progress");
		put.device = member(root, "device");
		put.device_id = member(root, "device_id");
		put.filename = member(root, "filename");
		put.title = member(root, "title");
		put.authors = member(root, "authors");
		if (u != NULL)
			db_put(db, u, &put);
	} else {
		goto out;
	}
	rc = 0;
out:
	arena_free(&a);
	return rc;
}

/*
 * Data directory (file backend)
 */

int
json_store_file_open(struct json_store *js)
{
	/* Until the journal is in: the file backend keeps memory only. */
	js->persistent = false;
	return 0;
}

void
json_store_append(struct json_store *js, const char *rec, size_t len,
    void (*done)(void *arg, int err), void *arg)
{
	(void)js;
	(void)rec;
	(void)len;
	done(arg, EIO);
}

void
json_store_changed(struct json_store *js)
{
	(void)js;
}

/*
 * Flush and close
 */

static void flush_step(struct json_store *js);

static void
keys_drained(void *arg)
{
	struct json_store *js = arg;

	js->flush_stage = FLUSH_OPS;
	flush_step(js);
}

static void
flush_step(struct json_store *js)
{
	void (*done)(void *);

	switch (js->flush_stage) {
	case FLUSH_OPS:
		if (js->ops_live != 0)
			return;
		js->flush_stage = FLUSH_FILES;
		/* FALLTHROUGH */
	case FLUSH_FILES:
		js->flush_stage = FLUSH_DONE;
		/* FALLTHROUGH */
	case FLUSH_DONE:
		done = js->flush_done;
		js->flush_done = NULL;
		if (done != NULL)
			done(js->flush_arg);
		break;
	default:
		break;
	}
}

void
json_store_idle_check(struct json_store *js)
{
	if (js->flush_stage == FLUSH_OPS && js->ops_live == 0)
		flush_step(js);
}

void
json_store_flush(struct store *st, void (*done)(void *arg), void *arg)
{
	struct json_store *js = (struct json_store *)st;

	js->closing = true;
	js->flush_done = done;
	js->flush_arg = arg;
	js->flush_stage = FLUSH_KEYS;
	keys_drain(js->keys, keys_drained, js);
}

void
json_store_free(struct json_store *js)
{
	if (js == NULL)
		return;
	db_release(&js->db);
	keys_free(js->keys);
	free(js);
}

void
json_store_close(struct store *st)
{
	json_store_free((struct json_store *)st);
}
