/*
 * sse.h: live updates for the web interface as Server-Sent Events.
 *
 * The server answers every request with a Content-Length (http.h), so the
 * event stream is a sequence of finite responses: a request to the events
 * route waits here until its user has an event the client has not seen or
 * SSE_HOLD_MS passes, then gets a text/event-stream body with those events
 * ("retry:" keeps the browser's EventSource reconnecting at once). Every
 * answer carries an "id:", so the browser's Last-Event-ID on the next
 * request says exactly what it has seen and no event falls between two
 * requests. A request without Last-Event-ID starts from now.
 *
 * Events are {"document","timestamp","kind"} per change; each user keeps
 * its last SSE_RING events. Ids are one sequence for the whole process (a
 * restart starts again from 1: a client that sees a smaller id than it
 * sent reloads). Waiting requests never time out in the server (the
 * handler holds them); sse_shutdown answers them all at once so a
 * shutdown does not wait for them.
 */
#ifndef KOSYNCD_SSE_H
#define KOSYNCD_SSE_H

#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "http.h"

#define SSE_HOLD_MS 25000 /* below common proxy read timeouts (30-60 s) */
#define SSE_RING 32       /* events remembered per user */
#define SSE_RETRY_MS 300  /* the browser's reconnect delay */
#define SSE_MAX_USERS 4096
#define SSE_MAX_WAITERS 4096

struct sse;

/* Events on loop. Never returns NULL. */
struct sse *sse_new(uv_loop_t *loop);
/* Free; sse_shutdown must have run when requests were waiting. */
void sse_free(struct sse *s);

/*
 * Answer req with user's events after last_id (0: none seen, start from
 * now), at once when there are some, else when one arrives or after
 * SSE_HOLD_MS. extra_headers (static or living until the answer) are
 * added to the answer. Over SSE_MAX_WAITERS, answers at once with no
 * events.
 */
void sse_wait(struct sse *s, struct http_request *req, struct str user,
    uint64_t last_id, const char *extra_headers);

/* Record an event for user and answer the requests waiting for it. */
void sse_publish(struct sse *s, struct str user, struct str document,
    int64_t timestamp, const char *kind);

/* Answer every waiting request now and refuse to hold new ones. */
void sse_shutdown(struct sse *s);

#endif
