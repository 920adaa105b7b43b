/*
 * offline.h: an administration operation (admin.h) run without a server,
 * for the admin commands that found none on the control socket
 * (control_run, control_client.h).
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
 * Run op with body (len bytes) on the store of cfg, opened as a start
 * opens it (store_open) on a private loop: run the operation, make it
 * durable, close. Returns 0 with *status and the answer in out, or -1
 * after printing why ("kosyncd: ..." on stderr).
 */
int offline_run(struct config *cfg, const char *op, const char *body,
    size_t len, int *status, struct buf *out);

#endif
