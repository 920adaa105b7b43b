/*
 * redis_format.h: how the Redis backend writes values into Redis, shared
 * by its loop side (store_redis.c) and its worker jobs (redis_worker.c).
 *
 * Layer formats (src/LAYERS): it uses only the core primitives (buf.h) and
 * knows nothing of the configuration, the store interface or the request
 * handlers; it must not include their headers.
 */
#ifndef KOSYNCD_REDIS_FORMAT_H
#define KOSYNCD_REDIS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Append s to b with the glob characters of SCAN MATCH escaped. */
void store_redis_glob_escape(struct buf *b, struct str s);

/*
 * A percentage as the Redis backend writes it: %.14g as the official
 * server, or the fewest digits (up to 17) that read back as v when %.14g
 * would round it.
 */
void store_redis_format_percentage(char *out, size_t size, double v);

/*
 * A device name's value in kosyncd:user:<name>:devnames (docs/redis.md):
 * "<forgotten> <name>", forgotten the Unix time of the forget or 0, name
 * "" for the device's own. The parser reads v (len bytes) into *forgotten
 * and *name (pointing into v); it returns -1 when v is not of that form.
 */
int store_redis_devname_parse(
    const char *v, size_t len, int64_t *forgotten, struct str *name);

#endif
