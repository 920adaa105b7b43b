/*
 * offline.c: an administration operation run by the server, or without one
 * (see offline.h).
 *
 * The control socket is asked first (control_client.h); when no server
 * answers, the store is opened as a start opens it (store_open: for storage
 * "file" the data directory's lock, its load, migration and journal replay, all
 * datadir.c's), on a private loop that lives as long as the operation.
 * The data directory's own operations (backup, restore, check, compact,
 * salvage), which must also work where a start would refuse or change
 * something, load it through the same datadir.c loader
 * (datadir_offline.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <uv.h>

#include "admin.h"
#include "cmd.h"
#include "config.h"
#include "control_client.h"
#include "offline.h"
#include "session.h"
#include "store.h"

struct offline {
	int status;
	struct buf *out;
	bool answered;
	bool flushed;
};

static void
offline_done(void *arg, int status, const char *body, size_t len)
{
	struct offline *o = arg;

	o->status = status;
	buf_add(o->out, body, len);
	o->answered = true;
}

static void
offline_flushed(void *arg)
{
	struct offline *o = arg;

	o->flushed = true;
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
offline_account(void *arg, struct str user)
{
	sessions_end_user(arg, user, STR_NULL, NULL, NULL);
}

/* Open the store on a private loop, run op, make it durable, close. */
static int
run_here(struct config *cfg, const char *op, const char *body, size_t len,
    int *status, struct buf *out)
{
	uv_loop_t loop;
	struct store *st;
	struct admin *a;
	struct sessions *ss;
	struct offline o;
	int rc = -1;

	if (uv_loop_init(&loop) != 0) {
		cmd_complain("cannot create an event loop");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.out = out;
	st = store_open(&loop, cfg);
	if (st == NULL) {
		cmd_complain("cannot open the store of '%s' (is a kosyncd "
		             "without a control socket running on it?)",
		    cfg->data_dir);
		goto out;
	}
	/* Sessions of the web interface kept in the store (Redis) end
	 * with a key change or deletion made here. */
	ss = sessions_open(st, (uint64_t)cfg->session_ttl_s * 1000, 1);
	store_listen_accounts(st, offline_account, ss);
	a = admin_new(st, cfg);
	admin_run(a, op, (struct str){body, len}, offline_done, &o);
	while (!o.answered && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	store_flush(st, offline_flushed, &o);
	while (!o.flushed && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	admin_free(a);
	store_listen_accounts(st, NULL, NULL);
	sessions_free(ss);
	if (!o.answered) {
		cmd_complain("the operation did not finish");
		goto out;
	}
	*status = o.status;
	rc = 0;
out:
	store_close(st);
	uv_walk(&loop, close_walk, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	return rc;
}

int
offline_run(struct config *cfg, const char *op, const char *body, size_t len,
    int *status, struct buf *out)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	int rc;

	control_socket_path(cfg, &path);
	rc = control_call(path.data, op, body, len, status, out, &err);
	if (rc == -1)
		cmd_complain("%s", err.data);
	buf_release(&path);
	buf_release(&err);
	if (rc != CONTROL_NO_SERVER)
		return rc;
	/* Redis needs no lock: every kosyncd on it sees a change at once. */
	if (strcmp(cfg->storage, "file") != 0 &&
	    strcmp(cfg->storage, "redis") != 0) {
		cmd_complain(
		    "storage \"%s\" keeps nothing to administer: a server "
		    "on it has no control socket, and there are no files",
		    cfg->storage);
		return -1;
	}
	return run_here(cfg, op, body, len, status, out);
}
