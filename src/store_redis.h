/*
 * store_redis.h: helpers of the Redis backend shared with its commands.
 *
 * The backend itself is opened through store_open() (store_backend.h
 * declares store_redis_open); see store_redis.c for the key layout.
 */
#ifndef KOSYNCD_STORE_REDIS_H
#define KOSYNCD_STORE_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include <uv.h>

#include "store.h"

struct config;

/* Append s to b with the glob characters of SCAN MATCH escaped. */
void store_redis_glob_escape(struct buf *b, struct str s);

/*
 * A percentage as the Redis backend writes it: %.14g as the official
 * server, or the fewest digits (up to 17) that read back as v when %.14g
 * would round it.
 */
void store_redis_format_percentage(char *out, size_t size, double v);

/*
 * Administration (store.h store_admin_*; store_redis_admin.c). Each runs
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

void store_redis_admin_dump(
    const struct store_redis_admin *ctx, store_text_cb *cb, void *arg);
void store_redis_admin_list(const struct store_redis_admin *ctx,
    const struct store_page *page, store_text_cb *cb, void *arg);
void store_redis_admin_import(const struct store_redis_admin *ctx,
    const char *text, size_t len, store_text_cb *cb, void *arg);
void store_redis_admin_set_key(const struct store_redis_admin *ctx,
    struct str user, struct str new_key, store_cb *cb, void *arg);
void store_redis_admin_delete(const struct store_redis_admin *ctx,
    struct str user, store_cb *cb, void *arg);
/* The web interface (store.h store_web_*) on Redis. */
void store_redis_admin_web_documents(const struct store_redis_admin *ctx,
    struct str user, struct str document, bool history,
    const struct store_page *page, store_text_cb *cb, void *arg);
void store_redis_admin_web_change(const struct store_redis_admin *ctx,
    struct str user, const struct store_web_change *ch, store_cb *cb,
    void *arg);

#endif
