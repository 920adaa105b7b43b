/*
 * redis_worker.h: the Redis backend's jobs on worker threads
 * (redis_worker.c), for the backend itself (store_redis.c): the
 * administration (store.h store_admin_*) and the web interface's reads and
 * changes (store_web_*). Not for other callers.
 */
#ifndef KOSYNCD_REDIS_WORKER_H
#define KOSYNCD_REDIS_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "buf.h"
#include "store.h"

struct config;
struct redisContext;

/*
 * A synchronous connection to the backend's Redis (address, password,
 * database of cfg), with a 10 s timeout per command, for a worker thread
 * (or another module's blocking calls): NULL with the reason in err.
 */
struct redisContext *redis_worker_connect(
    const struct config *cfg, struct buf *err);

/*
 * Administration (store.h store_admin_*; redis_worker.c). Each runs
 * on libuv's thread pool with a synchronous connection of its own, then
 * calls back on loop, and after that finished(ctx) when set (the backend
 * counts the jobs in flight for its flush).
 */
struct store_redis_admin {
	uv_loop_t *loop;
	const struct config *cfg;
	void (*finished)(void *ctx);
	void *ctx;
};

void redis_worker_dump(
    const struct store_redis_admin *ctx, store_text_cb *cb, void *arg);
void redis_worker_list(const struct store_redis_admin *ctx,
    const struct store_page *page, store_text_cb *cb, void *arg);
void redis_worker_import(const struct store_redis_admin *ctx, const char *text,
    size_t len, store_text_cb *cb, void *arg);
void redis_worker_set_key(const struct store_redis_admin *ctx, struct str user,
    struct str new_key, store_cb *cb, void *arg);
void redis_worker_delete(const struct store_redis_admin *ctx, struct str user,
    store_cb *cb, void *arg);
/* The web interface (store.h store_web_*) on Redis. */
void redis_worker_web_documents(const struct store_redis_admin *ctx,
    struct str user, struct str document, bool history,
    const struct store_page *page, store_text_cb *cb, void *arg);
void redis_worker_web_change(const struct store_redis_admin *ctx,
    struct str user, const struct store_web_change *ch, store_cb *cb,
    void *arg);

/*
 * The account's progress policy (docs/policy.md): set it to policy (a
 * name; NULL only reads it), then answer cb (set) or tcb (read, with
 * {"progress_policy": name}). STORE_ERR_AUTH: no such account.
 */
void redis_worker_policy(const struct store_redis_admin *ctx, struct str user,
    const char *policy, store_cb *cb, store_text_cb *tcb, void *arg);

#endif
