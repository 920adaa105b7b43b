/*
 * store_env.h: a store on a temporary data directory, for unit tests.
 *
 *	struct store_env e;
 *
 *	store_env_init(&e, "admin");      loop, configuration, /tmp directory
 *	store_env_set(&e, "store_history", "true");
 *	store_env_open(&e);               e.st, on e.loop
 *	...                               operations, then uv_run(&e.loop, ...)
 *	store_env_close(&e, true);        final snapshot (false: only the
 *	                                  journal, as after a crash)
 *	store_env_release(&e);            configuration, loop, directory
 *
 * Every step fails the test (cmocka) when it does not work. The functions
 * are static inline so that a test uses what it needs and nothing else.
 */
#ifndef KOSYNCD_TEST_STORE_ENV_H
#define KOSYNCD_TEST_STORE_ENV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "buf.h"
#include "config.h"
#include "store.h"

struct store_env {
	uv_loop_t loop;
	struct config cfg;
	struct store *st; /* NULL while closed */
	char dir[64];     /* the data directory, removed at release */
};

/* Set option key to value (as a command-line flag would); fails if refused. */
static inline void
store_env_set(struct store_env *e, const char *key, const char *value)
{
	struct buf err = BUF_INIT;

	if (config_set(&e->cfg, key, value, CONFIG_SRC_FLAG, &err) != 0)
		fail_msg("config_set %s=%s: %s", key, value, err.data);
	buf_release(&err);
}

/*
 * A loop, a default configuration and a new directory
 * /tmp/kosyncd-test-<name>.XXXXXX as its data_dir. The store is not open.
 */
static inline void
store_env_init(struct store_env *e, const char *name)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(uv_loop_init(&e->loop), 0);
	config_init(&e->cfg);
	snprintf(e->dir, sizeof(e->dir), "/tmp/kosyncd-test-%s.XXXXXX", name);
	assert_non_null(mkdtemp(e->dir));
	store_env_set(e, "data_dir", e->dir);
}

/* Open the store of e's configuration (loading or replaying the directory). */
static inline void
store_env_open(struct store_env *e)
{
	e->st = store_open(&e->loop, &e->cfg);
	assert_non_null(e->st);
}

static inline void
store_env_flushed(void *arg)
{
	*(int *)arg = 1;
}

/*
 * Close the store, after a final snapshot when flush is set (without one,
 * the next open replays the journal), and run the loop until it is done.
 */
static inline void
store_env_close(struct store_env *e, bool flush)
{
	int done = 0;

	if (flush) {
		store_flush(e->st, store_env_flushed, &done);
		uv_run(&e->loop, UV_RUN_DEFAULT);
		assert_int_equal(done, 1);
	}
	store_close(e->st);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	e->st = NULL;
}

/*
 * Release the configuration and the loop (no handle may be left), and
 * remove the directory.
 */
static inline void
store_env_release(struct store_env *e)
{
	char cmd[128];

	assert_null(e->st);
	config_release(&e->cfg);
	assert_int_equal(uv_loop_close(&e->loop), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
}

#endif
