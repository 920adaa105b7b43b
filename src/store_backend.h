/*
 * store_backend.h: what a storage backend implements (see store.h).
 *
 * A backend allocates a structure that begins with struct store, whose ops
 * point at its functions; store.c forwards every store_*() call through
 * them. Callers of store.h see struct store as opaque; only backends
 * (and store.c, which dispatches, and store_open.c, which opens them)
 * include this header.
 */
#ifndef KOSYNCD_STORE_BACKEND_H
#define KOSYNCD_STORE_BACKEND_H

#include <stdbool.h>

#include <uv.h>

#include "store.h"

struct store_ops {
	const char *name;
	void (*flush)(struct store *st, void (*done)(void *arg), void *arg);
	void (*close)(struct store *st);
	void (*user_create)(struct store *st, struct str user, struct str key,
	    store_cb *cb, void *arg);
	void (*user_auth)(struct store *st, struct str user, struct str key,
	    store_cb *cb, void *arg);
	/* store_user_signin; NULL: user_auth refusing device credentials */
	void (*user_signin)(struct store *st, struct str user, struct str key,
	    store_cb *cb, void *arg);
	void (*user_delete)(struct store *st, struct str user, struct str key,
	    store_cb *cb, void *arg);
	void (*user_set_key)(struct store *st, struct str user, struct str key,
	    struct str new_key, store_cb *cb, void *arg);
	void (*progress_put)(struct store *st, struct str user, struct str key,
	    const struct store_push *push, store_cb *cb, void *arg);
	void (*progress_get)(struct store *st, struct str user, struct str key,
	    struct str document, store_cb *cb, void *arg);
	/* Administration (store.h); NULL: not supported. */
	void (*admin_user_set_key)(struct store *st, struct str user,
	    struct str new_key, store_cb *cb, void *arg);
	void (*admin_user_delete)(
	    struct store *st, struct str user, store_cb *cb, void *arg);
	void (*admin_user_list)(struct store *st, const struct store_page *page,
	    store_text_cb *cb, void *arg);
	void (*admin_dump)(struct store *st, store_text_cb *cb, void *arg);
	void (*admin_import)(struct store *st, const char *text, size_t len,
	    store_text_cb *cb, void *arg);
	void (*admin_compact)(struct store *st, store_text_cb *cb, void *arg);
	/* NULL: admin_compact saves the configuration. */
	void (*config_save)(struct store *st, store_text_cb *cb, void *arg);
	void (*stats)(struct store *st, struct store_stats *out);
	/* The web interface (store.h store_web_*); NULL: not supported. */
	void (*web_documents)(struct store *st, struct str user,
	    struct str document, bool history, const struct store_page *page,
	    store_text_cb *cb, void *arg);
	void (*web_change)(struct store *st, struct str user,
	    const struct store_web_change *ch, store_cb *cb, void *arg);
	void (*user_admin)(
	    struct store *st, struct str user, store_cb *cb, void *arg);
	void (*device_change)(struct store *st, struct str user,
	    const struct store_device_change *ch, store_cb *cb, void *arg);
	void (*device_list)(
	    struct store *st, struct str user, store_text_cb *cb, void *arg);
	void (*device_used)(struct store *st, struct str user, const char *id,
	    const struct store_device_use *use);
	void (*device_audit)(struct store *st, struct str user, struct str id,
	    store_text_cb *cb, void *arg);
	/* Events out (store.h store_events_*); NULL: not supported. */
	void (*events_set)(struct store *st, struct str user, bool feed,
	    struct str text, store_cb *cb, void *arg);
	void (*events_get)(
	    struct store *st, struct str user, store_events_fn *cb, void *arg);
	void (*feed_user)(
	    struct store *st, struct str token, store_text_cb *cb, void *arg);
	/*
	 * The progress policy: set (store_device_change PROGRESS_POLICY goes
	 * here when there is one) and read (store_policy_get).
	 */
	void (*policy_set)(struct store *st, struct str user, unsigned policy,
	    store_cb *cb, void *arg);
	void (*policy_get)(
	    struct store *st, struct str user, store_text_cb *cb, void *arg);
	/*
	 * Device names: set (store_device_change DEVICE_NAME and
	 * DEVICE_FORGET go here when there is one) and read
	 * (store_device_names).
	 */
	void (*devname_set)(struct store *st, struct str user,
	    const struct store_device_change *ch, store_cb *cb, void *arg);
	void (*devnames_get)(
	    struct store *st, struct str user, store_text_cb *cb, void *arg);
	/* store_progress_pulled; NULL: pulls are not tracked */
	void (*progress_pulled)(struct store *st, struct str user,
	    struct str document, uint64_t client);
	/* The shared server (store.h store_command); NULL: none. */
	int (*command)(struct store *st, store_command_fn *fn, void *priv,
	    int argc, const char **argv, const size_t *lens);
	/* store_config_home; NULL: database.json. */
	const char *config_home;
};

struct store {
	const struct store_ops *ops;
	/* store_listen (store.c); zero in a freshly allocated backend. */
	store_listen_fn *listen_fn;
	void *listen_arg;
	/* store_listen_accounts (store.c); zero when freshly allocated. */
	store_account_fn *account_fn;
	void *account_arg;
	/* store_listen_first_use (store.c); zero when freshly allocated. */
	store_first_use_fn *first_use_fn;
	void *first_use_arg;
};

/*
 * The in-memory tables with (persistent) or without (memory backend) the
 * data directory: database.json, its journal and the lock. Returns NULL
 * after logging why.
 */
struct store *store_filestore_open(
    uv_loop_t *loop, struct config *cfg, bool persistent);

/*
 * The Redis backend (store_redis.c): connects to cfg->redis_address in
 * the background; operations answer STORE_ERR_UNAVAILABLE while Redis is
 * unreachable. Returns NULL after logging why (a bad address).
 */
struct store *store_redis_open(uv_loop_t *loop, struct config *cfg);

#endif
