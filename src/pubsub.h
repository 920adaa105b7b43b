/*
 * pubsub.h: what several kosyncd instances on one Redis tell each other.
 *
 * With storage = redis, several kosyncd processes may serve the same users
 * behind a load balancer. The web interface's sessions live in Redis
 * itself (session.h). The brute-force limits (ratelimit.h) decide in
 * memory, synchronously, on the protocol's hot path; to make every
 * instance count every instance's failures, each failed authentication
 * and each registration an instance counts is published on a Redis
 * channel, and every other instance counts it too (ratelimit_apply).
 * A limit of N failures per user name (or address) then holds over all
 * instances together, with the same back-off.
 *
 * The channel is kosyncd:ratelimit:<redis_db> (Pub/Sub ignores database
 * numbers; the number keeps two deployments on one Redis apart). A message
 * is "1 <instance> <scope> <event> <peer> <user>": the sender's random
 * instance id (an instance ignores its own messages, which it counted
 * already), the limiter ("auth": the server's one failed-login limiter),
 * "f" (failed authentication) or "r" (registration), the client address
 * as the limiter got it, and the user name (may be empty; the rest of the
 * message).
 *
 * Publishing goes through the store's connection (store_command).
 * Receiving needs a connection in subscriber mode, made here the way the
 * Redis store makes its own (redis_address, AUTH with redis_password,
 * reconnection with back-off). While Redis cannot be reached, each
 * instance counts only what it sees itself (as a single instance does);
 * what was published meanwhile is lost, and an instance that starts late
 * knows nothing of earlier failures.
 *
 * The web interface's live updates (sse.h) travel the same way: an
 * instance publishes each change it made (a push, a restore, ...) as
 * "1 <instance> sse <kind> <timestamp> <document in hex> <user>", and every
 * other instance hands it to its own event stream, so a page open on one
 * instance hears of a push made through another.
 *
 * Not here: the limits themselves (ratelimit.c), sessions (session.c).
 */
#ifndef KOSYNCD_PUBSUB_H
#define KOSYNCD_PUBSUB_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"

struct config;
struct ratelimit;
struct store;

struct pubsub;

/*
 * Start sharing on loop for the Redis store st with options from cfg
 * (all borrowed, must outlive the result). NULL when st is not the Redis
 * backend: a single instance has nothing to share.
 */
struct pubsub *pubsub_new(
    uv_loop_t *loop, struct store *st, const struct config *cfg);

/*
 * Share rl's failures and registrations under scope ("auth"; at
 * most PUBSUB_MAX_LIMITERS, each name at most 15 bytes; scope must be a
 * string constant). rl must outlive sh, or pubsub_free must come first.
 * sh NULL: nothing happens.
 */
#define PUBSUB_MAX_LIMITERS 4
void pubsub_ratelimit(
    struct pubsub *sh, struct ratelimit *rl, const char *scope);

/*
 * Live updates: fn(arg, ...) for every change another instance publishes
 * (kind is one of pubsub_event_kinds, a static string). One receiver;
 * sh NULL: nothing happens.
 */
typedef void pubsub_event_fn(void *arg, struct str user, struct str document,
    int64_t timestamp, const char *kind);
void pubsub_events(struct pubsub *sh, pubsub_event_fn *fn, void *arg);
/* Tell the other instances of a change made here. sh NULL: nothing. */
void pubsub_publish_event(struct pubsub *sh, struct str user,
    struct str document, int64_t timestamp, const char *kind);
/* The kinds an event may have (NULL-terminated). */
extern const char *const pubsub_event_kinds[];

/* Whether the subscriber connection is up (for tests and logs). */
bool pubsub_listening(const struct pubsub *sh);

/*
 * Stop: the limiters forget their listener, the connection closes, the
 * memory goes once the loop has run the close callbacks. NULL is allowed.
 */
void pubsub_free(struct pubsub *sh);

#endif
