/*
 * accesslog.h: the access log, one line per answered request.
 *
 * Lines are collected in a struct accesslog and written to stderr by
 * accesslog_flush (server.c calls it once per loop iteration, just before
 * the loop waits), so that a busy loop makes one write for many requests
 * instead of one each. The line format is log.c's:
 *
 *   <UTC time> access: <client> <method> <path> <status> <bytes> <ms> <user>
 *
 * method and path escaped (log_escape; the path cut at 200 bytes), ms with
 * three decimals since the request's first byte, "-" for what is unknown.
 *
 * A transport piece: includes only core headers and http.h.
 */
#ifndef KOSYNCD_ACCESSLOG_H
#define KOSYNCD_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "http.h"

struct accesslog {
	struct buf lines; /* lines not yet written */
	char stamp[32];   /* "YYYY-mm-ddTHH:MM:SS" of stamp_sec */
	time_t stamp_sec;
};

void accesslog_init(struct accesslog *al);
/* Write the collected lines; then accesslog_release frees the buffer. */
void accesslog_flush(struct accesslog *al);
void accesslog_release(struct accesslog *al);

/*
 * Add the line of one answer: peer is the client, req the request (NULL
 * for a connection refused before any request; its method, path and
 * log_user are used), us the microseconds since its first byte. al NULL
 * (a connection whose server is gone) writes the line at once.
 */
void accesslog_add(struct accesslog *al, const char *peer,
    const struct http_request *req, int status, size_t bytes, uint64_t us);

#endif
