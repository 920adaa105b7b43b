/*
 * control_server.h: the control socket, the server's side.
 *
 * A running server listens on <data_dir>/kosyncd.sock
 * (control_socket_path, control_client.h), a unix socket created with
 * mode 0600 (the data directory itself is 0700 when the store creates
 * it), and serves the administration operations there (admin.h), never
 * the sync protocol. Connecting needs write permission on the socket, so
 * only its owner (and root) can use it: that is the whole of its access
 * control. The socket exists while the server runs: it is created after
 * the data directory's lock is taken (so one found at start is stale and
 * replaced) and removed at shutdown.
 */
#ifndef KOSYNCD_CONTROL_SERVER_H
#define KOSYNCD_CONTROL_SERVER_H

#include <uv.h>

#define CONTROL_MAX_CONNECTIONS 16 /* admin commands at once */

struct config;
struct store;
struct control;

/*
 * Listen on cfg's socket on loop and serve the administration operations
 * on st there. Returns NULL after logging why (the server then runs
 * without it).
 */
struct control *control_start(
    uv_loop_t *loop, struct config *cfg, struct store *st);

/*
 * Stop accepting, let operations in flight finish, remove the socket file,
 * then call done(arg). NULL is allowed (done is called at once).
 */
void control_shutdown(struct control *ctl, void (*done)(void *arg), void *arg);

/* Free (after control_shutdown's done, or after start-up failed). */
void control_free(struct control *ctl);

#endif
