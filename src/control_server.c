/*
 * control_server.c: the control socket, the server's side (see
 * control_server.h).
 *
 * A second struct server (server.c) listening on the unix socket with
 * admin_handle as its handler, so the control socket gets the same parser,
 * limits and deadlines as the protocol's listener.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "admin.h"
#include "control_client.h"
#include "control_server.h"
#include "log.h"
#include "server.h"
#include "xmalloc.h"

/* Bodies the control socket accepts: an import carries a whole database. */
#define CONTROL_MAX_BODY ((size_t)1024 * 1024 * 1024)

struct control {
	struct server *srv;
	struct admin *admin;
	char *path;
	void (*done)(void *arg);
	void *done_arg;
};

struct control *
control_start(uv_loop_t *loop, struct config *cfg, struct store *st)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct server_limits limits;
	struct buf path = BUF_INIT;

	control_socket_path(cfg, &path);
	ctl->path = buf_detach(&path, NULL);
	ctl->admin = admin_new(st, cfg);
	server_limits_default(&limits);
	limits.max_body_bytes = CONTROL_MAX_BODY;
	limits.request_timeout_ms = CONTROL_TIMEOUT_MS;
	limits.max_connections = CONTROL_MAX_CONNECTIONS;
	limits.max_connections_per_ip = CONTROL_MAX_CONNECTIONS;
	ctl->srv = server_new(loop, &limits, admin_handle, ctl->admin);
	/* We hold the data directory's lock: a socket there is stale. */
	if (unlink(ctl->path) != 0 && errno != ENOENT)
		log_warn("cannot remove stale '%s'", ctl->path);
	if (server_listen_unix(ctl->srv, ctl->path) == -1) {
		control_free(ctl);
		return NULL;
	}
	return ctl;
}

static void
control_drained(void *arg)
{
	struct control *ctl = arg;

	if (ctl->path != NULL && unlink(ctl->path) != 0 && errno != ENOENT)
		log_warn("cannot remove '%s'", ctl->path);
	if (ctl->done != NULL)
		ctl->done(ctl->done_arg);
}

void
control_shutdown(struct control *ctl, void (*done)(void *arg), void *arg)
{
	if (ctl == NULL) {
		done(arg);
		return;
	}
	ctl->done = done;
	ctl->done_arg = arg;
	server_shutdown(ctl->srv, control_drained, ctl);
}

void
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return;
	server_free(ctl->srv);
	admin_free(ctl->admin);
	free(ctl->path);
	free(ctl);
}
