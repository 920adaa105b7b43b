/*
 * webhook.h: events out: an account's webhooks receive its events
 * (docs/webhooks.md) as signed JSON POSTs over HTTP/1.1.
 *
 * The web interface tells this module of each confirmed push (after the
 * pusher was answered), of each statistics upload read, and of the test
 * button; it reads the account's webhooks from the store (store.h
 * store_events_get), decides which events the push makes (progress,
 * started, finished), and queues one delivery per webhook that asked for
 * the event. Deliveries go out on the loop, one at a time per account
 * and at most WEBHOOK_PARALLEL at once in all: connect (numeric address,
 * refused when private unless webhook_allow_private), send, read the
 * status line, close, all within webhook_timeout_ms. A 2xx answer is a
 * success; a connection failure, a timeout, a 5xx, 408 or 429 is tried
 * again after webhook_retry_ms, 3 times longer each time, WEBHOOK_TRIES
 * tries in all; any other answer is final. An account has at most
 * webhook_queue deliveries waiting: past it the oldest is dropped and
 * counted. Each webhook keeps a log of its last WEBHOOK_LOG attempts.
 *
 * Besides the accounts' own webhooks, the administrator may set one for
 * every account's events (webhook_url, webhook_secret, webhook_events):
 * its deliveries go through each account's queue like the account's own,
 * the private-address rule does not apply to it, and its log is one for
 * all accounts, shown to administrators only.
 *
 * Everything here is memory: deliveries waiting at a shutdown are lost,
 * and the logs start empty. With several instances on Redis the instance
 * that confirmed a push is the only one told of it, so an event is
 * delivered once.
 *
 * Not here: the formats (hookfmt.h), storage (store.h), the web API
 * (webui.c).
 */
#ifndef KOSYNCD_WEBHOOK_H
#define KOSYNCD_WEBHOOK_H

#include <uv.h>

#include "buf.h"
#include "hookfmt.h"

struct config;
struct json_out;
struct store;

#define WEBHOOK_TRIES 5     /* tries of one delivery at most */
#define WEBHOOK_LOG 20      /* attempts remembered per webhook */
#define WEBHOOK_PARALLEL 32 /* deliveries in flight at once, all accounts */
/*
 * Documents per account whose last percentage is remembered (started,
 * finished), and over all accounts; when full the account's memory, or
 * every account's, starts over.
 */
#define WEBHOOK_SEEN_MAX 1000
#define WEBHOOK_SEEN_TOTAL 100000
#define WEBHOOK_FINISHED 0.99 /* a percentage from which a book is finished */

struct webhook;

/* Deliver on loop, reading webhooks from st, with cfg's options (all
 * borrowed; they must outlive the result). */
struct webhook *webhook_new(
    uv_loop_t *loop, struct store *st, const struct config *cfg);
/* Stop: close every connection and timer; waiting deliveries are lost.
 * NULL is allowed; may be called more than once. */
void webhook_shutdown(struct webhook *wh);
/* Shut down and free (the handles finish closing on the loop). NULL is
 * allowed. */
void webhook_free(struct webhook *wh);

/* A push of user's document was confirmed (both borrowed). */
void webhook_push(struct webhook *wh, struct str user, struct str document);
/* A statistics upload of user was read. */
void webhook_statistics(struct webhook *wh, struct str user);
/*
 * user's device credential (id, label) signed in for the first time;
 * device: the pushing device's name, or NULL p.
 */
void webhook_credential(struct webhook *wh, struct str user, const char *id,
    const char *label, struct str device);
/* Queue a "test" event for user's webhook h (borrowed). */
void webhook_test(struct webhook *wh, struct str user, const struct hook *h);
/*
 * Write user's webhooks l as the web API shows them: "webhooks": [{"id",
 * "url", "events", "created", "log": [{"time", "event", "status" (0: no
 * answer), "error", "ms", "attempt"}, newest first]}], "queued" and
 * "dropped" (deliveries waiting now, dropped since the start). No secret.
 */
void webhook_status(struct webhook *wh, struct str user,
    const struct hook_list *l, struct json_out *o);
/*
 * Write the server-wide webhook (webhook_url) for administrators: "url"
 * ("" when none), "events" and "log" as above, all accounts together.
 */
void webhook_server_status(struct webhook *wh, struct json_out *o);
/* user's webhook id is gone: forget its log and its waiting deliveries. */
void webhook_forget(struct webhook *wh, struct str user, const char *id);

#endif
