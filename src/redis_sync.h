/*
 * redis_sync.h: blocking Redis commands from any thread, on a connection
 * of that thread's own (made when first needed, with the backend's
 * address, password and database), for the modules that keep bulk data
 * in Redis beside the store (davredis.c, statsvc.c).
 *
 * A failed connection or command drops the thread's connection; for
 * REDIS_SYNC_RETRY_MS after that none is tried again, so a Redis that is
 * down or hung costs a thread one failed attempt a second at most.
 * Each command waits at most REDIS_SYNC_TIMEOUT_MS.
 */
#ifndef KOSYNCD_REDIS_SYNC_H
#define KOSYNCD_REDIS_SYNC_H

#include <stddef.h>

struct config;
struct redisReply;

/* A command slower than this fails (callers may be on the loop). */
#define REDIS_SYNC_TIMEOUT_MS 2000
/* After a failed connection, no other is tried for this long. */
#define REDIS_SYNC_RETRY_MS 1000

/*
 * Run argv (argc arguments of lens bytes) on this thread's connection to
 * cfg's Redis: the reply (the caller frees it), or NULL with errno
 * ENOTCONN (no connection, or it failed: dropped) or EIO (an error
 * reply; both are logged with what, e.g. "webdav").
 */
struct redisReply *redis_sync_cmd(const struct config *cfg, const char *what,
    int argc, const char **argv, const size_t *lens);

#endif
