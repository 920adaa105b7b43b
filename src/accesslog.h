/*
 * accesslog.h: the access log, one line per answered request.
 *
 * Lines are collected in a struct accesslog and written to stderr in
 * batches: by accesslog_flush (server.c calls it once per loop iteration,
 * just before the loop waits, and at shutdown), or at once by
 * accesslog_add when the batch reaches ACCESSLOG_MAX_BYTES or its oldest
 * line ACCESSLOG_MAX_MS, so that a busy loop makes one write for many
 * requests instead of one each and a long turn does not hold lines back.
 * The buffer is therefore bounded. A batch is one write(2) of whole lines
 * (repeated until all is written), under stderr's stdio lock so that
 * log.c's lines from other threads never land inside one; on a pipe, one
 * write(2) per PIPE_BUF bytes of whole lines, each atomic, so that no line
 * is split between two writes even when the pipe is non-blocking and full
 * or another process writes to it too (t161). stderr is used as it was
 * given, blocking or not (EAGAIN: poll until the reader makes room):
 * when its reader (journald, Docker, a pipe) is slower than the log, the
 * write waits for it, and the loop with it, for at most the time the
 * reader takes to accept one batch; nothing is dropped. A line is lost
 * only when stderr itself fails (its reader gone: EPIPE).
 *
 * The line format is log.c's:
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

/* A batch is written when it reaches this size ... */
#define ACCESSLOG_MAX_BYTES ((size_t)64 * 1024)
/* ... or its oldest line this age, if the loop has not written it yet. */
#define ACCESSLOG_MAX_MS 5

struct accesslog {
	struct buf lines;      /* lines not yet written */
	struct timespec first; /* when the oldest of them was added */
	char stamp[32];        /* "YYYY-mm-ddTHH:MM:SS" of stamp_sec */
	size_t stamp_len;
	time_t stamp_sec;
	/* Set by accesslog_init; a test may change them (0: no limit). */
	int fd;           /* where lines go: 2 (stderr) */
	size_t max_bytes; /* ACCESSLOG_MAX_BYTES */
	int max_ms;       /* ACCESSLOG_MAX_MS */
	/* accesslog_flush's: the fd it looked at, its piece (write_lines). */
	int piece_fd;
	size_t piece;
};

void accesslog_init(struct accesslog *al);
/*
 * Write the collected lines (see above); then accesslog_release frees the
 * buffer.
 */
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
