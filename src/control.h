/*
 * control.h: the control socket, and the small HTTP client the commands
 * use.
 *
 * A running server listens on <data_dir>/kosyncd.sock, a unix socket
 * created with mode 0600 (the data directory itself is 0700 when the store
 * creates it), and serves the administration operations there (admin.h),
 * never the sync protocol. Connecting needs write permission on the
 * socket, so only its owner (and root) can use it: that is the whole of
 * its access control. The socket exists while the server
 * runs: it is created after the data directory's lock is taken (so one
 * found at start is stale and replaced) and removed at shutdown.
 *
 * An admin command first tries the socket: an answer means the server is
 * running and did the work; no socket, or a refused connection, means it
 * is not, and the command works offline under the directory's lock.
 */
#ifndef KOSYNCD_CONTROL_H
#define KOSYNCD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <uv.h>

#include "buf.h"

#define CONTROL_SOCKET "kosyncd.sock"
#define CONTROL_TIMEOUT_MS 600000  /* 10 min: an import may hash a lot */
#define CONTROL_MAX_CONNECTIONS 16 /* admin commands at once */

/* control_call()'s result when no server listens on the socket. */
#define CONTROL_NO_SERVER 1

struct config;
struct store;
struct control;

/* Append cfg's socket path, <data_dir>/kosyncd.sock, to out. */
void control_socket_path(const struct config *cfg, struct buf *out);

/*
 * POST /admin/<op> with body (len bytes, may be 0) to the server listening
 * on the unix socket at path, and wait for its answer (at most
 * CONTROL_TIMEOUT_MS). Returns 0 with *status and the body in out;
 * CONTROL_NO_SERVER when the socket does not exist or refuses the
 * connection; -1 with a message in err otherwise.
 */
int control_call(const char *path, const char *op, const char *body, size_t len,
    int *status, struct buf *out, struct buf *err);

/*
 * GET target from the HTTP server at sa (with the KOReader Accept header),
 * waiting at most timeout_ms in all. Returns 0 with *status and the body
 * in out, or -1 with a message in err.
 */
int control_http_get(const struct sockaddr *sa, socklen_t salen,
    const char *target, int timeout_ms, int *status, struct buf *out,
    struct buf *err);

/*
 * Run the administration operation op (admin.h) with body: through the
 * running server's control socket, or, when none answers, by opening the
 * store on a private loop, running the operation, making it durable and
 * closing: for storage "file" that takes the data directory's lock and
 * loads and replays as a start would; for "redis" it works on Redis
 * directly, as every kosyncd on it does. Returns 0 with *status and the
 * answer in out, or -1 after printing why ("kosyncd: ..." on stderr).
 */
int control_run(struct config *cfg, const char *op, const char *body,
    size_t len, int *status, struct buf *out);

/* Whether something answers on cfg's control socket (a server runs). */
bool control_server_runs(const struct config *cfg);

/*
 * Server side: listen on cfg's socket on loop and serve the administration
 * operations on st there. Returns NULL after logging why (the server then
 * runs without it).
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
