/*
 * store.c: dispatch from the store interface to the configured backend.
 *
 * Backends: "file" (database.json + journal, store_json.c) and "memory"
 * (the same tables without files, for tests and throw-away instances).
 */
#include <string.h>

#include "config.h"
#include "log.h"
#include "store_backend.h"

struct store *
store_open(uv_loop_t *loop, struct config *cfg)
{
	const char *name = cfg->storage ? cfg->storage : "file";

	if (strcmp(name, "file") == 0)
		return store_json_open(loop, cfg, true);
	if (strcmp(name, "memory") == 0)
		return store_json_open(loop, cfg, false);
	if (strcmp(name, "redis") == 0)
		return store_redis_open(loop, cfg);
	log_warnx(
	    "unknown storage backend '%s' (use file, memory or redis)", name);
	return NULL;
}

void
store_flush(struct store *st, void (*done)(void *arg), void *arg)
{
	st->ops->flush(st, done, arg);
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

void
store_user_create(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	st->ops->user_create(st, user, key, cb, arg);
}

void
store_user_auth(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	st->ops->user_auth(st, user, key, cb, arg);
}

void
store_user_delete(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	st->ops->user_delete(st, user, key, cb, arg);
}

void
store_user_set_key(struct store *st, struct str user, struct str key,
    struct str new_key, store_cb *cb, void *arg)
{
	st->ops->user_set_key(st, user, key, new_key, cb, arg);
}

void
store_progress_put(struct store *st, struct str user, struct str key,
    const struct store_push *push, store_cb *cb, void *arg)
{
	st->ops->progress_put(st, user, key, push, cb, arg);
}

void
store_progress_get(struct store *st, struct str user, struct str key,
    struct str document, store_cb *cb, void *arg)
{
	st->ops->progress_get(st, user, key, document, cb, arg);
}

/*
 * Administration: forwarded when the backend has the operation, otherwise
 * answered STORE_ERR_UNAVAILABLE.
 */

static void
unsupported(store_cb *cb, void *arg)
{
	struct store_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = STORE_ERR_UNAVAILABLE;
	cb(arg, &rep);
}

void
store_admin_user_set_key(struct store *st, struct str user, struct str new_key,
    store_cb *cb, void *arg)
{
	if (st->ops->admin_user_set_key == NULL)
		unsupported(cb, arg);
	else
		st->ops->admin_user_set_key(st, user, new_key, cb, arg);
}

void
store_admin_user_delete(
    struct store *st, struct str user, store_cb *cb, void *arg)
{
	if (st->ops->admin_user_delete == NULL)
		unsupported(cb, arg);
	else
		st->ops->admin_user_delete(st, user, cb, arg);
}

void
store_admin_user_list(struct store *st, store_text_cb *cb, void *arg)
{
	if (st->ops->admin_user_list == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_user_list(st, cb, arg);
}

void
store_admin_dump(struct store *st, store_text_cb *cb, void *arg)
{
	if (st->ops->admin_dump == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_dump(st, cb, arg);
}

void
store_admin_import(struct store *st, const char *text, size_t len,
    store_text_cb *cb, void *arg)
{
	if (st->ops->admin_import == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_import(st, text, len, cb, arg);
}

void
store_admin_compact(struct store *st, store_text_cb *cb, void *arg)
{
	if (st->ops->admin_compact == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_compact(st, cb, arg);
}

void
store_stats(struct store *st, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (st->ops->stats != NULL)
		st->ops->stats(st, out);
}
