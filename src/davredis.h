/*
 * davredis.h: the WebDAV trees kept in Redis (a davstore.h backend), for
 * --storage redis: every instance on the same Redis serves the same
 * trees. docs/redis.md gives the keys, docs/webdav.md what differs from
 * the disk.
 */
#ifndef KOSYNCD_DAVREDIS_H
#define KOSYNCD_DAVREDIS_H

struct config;
struct davstore;

/*
 * The backend on the Redis of cfg (borrowed, lives as long as the
 * backend). Connections are made when first needed, one per thread.
 */
struct davstore *davredis_new(const struct config *cfg);

#endif
