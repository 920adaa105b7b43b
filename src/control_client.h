/*
 * control_client.h: the commands' side of the control socket, and the
 * small HTTP client they use.
 *
 * A running server listens on <data_dir>/kosyncd.sock (control_server.h)
 * and serves the administration operations there (admin.h), never the
 * sync protocol. An admin command first tries the socket: an answer means
 * the server is running and did the work; no socket, or a refused
 * connection, means it is not, and the command works offline under the
 * directory's lock (offline.h runs both ways).
 *
 * A low-level client: blocking, one request per connection, every wait
 * bounded; it knows nothing of the operations it carries.
 */
#ifndef KOSYNCD_CONTROL_CLIENT_H
#define KOSYNCD_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"

#define CONTROL_SOCKET "kosyncd.sock"
#define CONTROL_TIMEOUT_MS 600000 /* 10 min: an import may hash a lot */

/* control_call()'s result when no server listens on the socket. */
#define CONTROL_NO_SERVER 1

struct config;

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

/* Whether something answers on cfg's control socket (a server runs). */
bool control_server_runs(const struct config *cfg);

#endif
