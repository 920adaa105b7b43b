/*
 * offline.h: an administration operation (admin.h) for the admin
 * commands: done by the server running on the data directory, or, when
 * none answers on its control socket (control_client.h), offline.
 *
 * For storage "file" this takes the data directory's lock, so it cannot
 * race a server: one starting meanwhile waits a second, then refuses.
 * Redis needs no lock: every kosyncd on it sees a change at once.
 */
#ifndef KOSYNCD_OFFLINE_H
#define KOSYNCD_OFFLINE_H

#include <stddef.h>

#include "buf.h"

struct config;

/*
 * Run the administration operation op (admin.h) with body (len bytes):
 * through the running server's control socket (control_call), or, when
 * none answers, here: the store of cfg opened as a start opens it
 * (store_open) on a private loop, the operation run, made durable and the
 * store closed. For storage "file" that takes the data directory's lock
 * and loads it with datadir.c's loader; for "redis" it works on Redis
 * directly, as every kosyncd on it does. Returns 0 with *status and the
 * answer in out, or -1 after printing why ("kosyncd: ..." on stderr).
 */
int offline_run(struct config *cfg, const char *op, const char *body,
    size_t len, int *status, struct buf *out);

#endif
