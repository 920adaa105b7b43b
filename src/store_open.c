/*
 * store_open.c: the backends by name, for store_open (see store.h).
 *
 * "file" (database.json + journal, filestore.c and datadir.c),
 * "memory" (the same tables without files, for tests and throw-away
 * instances) and "redis" (store_redis.c). The one place that knows which
 * backends exist: store.c only dispatches through a backend's ops, so the
 * interface does not depend on what implements it.
 */
#include <string.h>

#include <uv.h>

#include "config.h"
#include "log.h"
#include "store_backend.h"

struct store *
store_open(uv_loop_t *loop, struct config *cfg)
{
	return store_open_backend(
	    loop, cfg, cfg->storage ? cfg->storage : "file");
}

struct store *
store_open_backend(uv_loop_t *loop, struct config *cfg, const char *storage)
{
	if (strcmp(storage, "file") == 0)
		return store_filestore_open(loop, cfg, true);
	if (strcmp(storage, "memory") == 0)
		return store_filestore_open(loop, cfg, false);
	if (strcmp(storage, "redis") == 0)
		return store_redis_open(loop, cfg);
	log_warnx("unknown storage backend '%s' (use file, memory or redis)",
	    storage);
	return NULL;
}
