/*
 * davredis.h: the WebDAV trees kept in Redis (a davstore.h backend), for
 * --storage redis: every instance on the same Redis serves the same
 * trees. docs/redis.md gives the keys, docs/webdav.md what differs from
 * the disk.
 */
#ifndef KOSYNCD_DAVREDIS_H
#define KOSYNCD_DAVREDIS_H

#include "buf.h"

struct config;
struct davstore;

/*
 * The backend on the Redis of cfg (borrowed, lives as long as the
 * backend). Connections are made when first needed, one per thread.
 */
struct davstore *davredis_new(const struct config *cfg);

/*
 * Whether account user has a tree on the Redis of cfg (its root exists),
 * changing nothing (davstore_root_open would make it): 1 or 0, or -1
 * with errno when Redis cannot be asked.
 */
int davredis_tree_find(const struct config *cfg, struct str user);

#endif
