/*
 * pubsub.c: rate-limit events between instances through Redis Pub/Sub
 * (see pubsub.h).
 *
 * The subscriber connection is ours (a connection in subscriber mode can
 * send nothing else); publishing uses the store's. Its life is
 * redis_conn.h's: DOWN (retry with back-off), CONNECTING (AUTH when there
 * is a password, then SUBSCRIBE; dropped after REDIS_CONN_TIMEOUT_MS
 * without the subscription's confirmation), READY. A lost connection is
 * noticed by hiredis (the socket closes or fails) and hiredis's TCP
 * keep-alive; one warning is logged per outage, and an info line when it
 * is back.
 *
 * Invariants: conn.ac is the current connection or NULL; a hiredis
 * callback whose context is not conn.ac is stale and ignored; after
 * pubsub_free() (closing) nothing reconnects and the structure is freed by
 * the timer's close callback.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sodium.h>

#include "config.h"
#include "log.h"
#include "ratelimit.h"
#include "redis_conn.h"
#include "pubsub.h"
#include "store.h"
#include "xmalloc.h"

#define SH_TICK_MS 100
#define SH_INSTANCE_LEN 16 /* hex digits of the instance id */
#define SH_PEER_MAX 64     /* as http_request.peer */
#define SH_USER_MAX 255    /* STORE_MAX_USERNAME */

struct sh_limiter {
	struct pubsub *sh;
	struct ratelimit *rl;
	const char *scope;
};

struct pubsub {
	struct store *st;
	const struct config *cfg;
	struct redis_conn conn; /* failing: no more warnings */
	bool closing;
	uv_timer_t timer;
	char channel[48];
	char instance[SH_INSTANCE_LEN + 1];
	struct sh_limiter lim[PUBSUB_MAX_LIMITERS];
	int nlim;
	pubsub_event_fn *event_fn;
	void *event_arg;
	struct buf msg;
};

/*
 * The connection
 */

/* redis_conn_lost_fn: worded as the store's messages (one per outage). */
static void
sh_lost(struct redis_conn *c, const char *why, bool was_ready, bool was_failing)
{
	const struct pubsub *sh = c->owner;

	if (sh->closing || was_failing)
		log_debug("redis: subscriber connection: %s", why);
	else if (was_ready)
		log_warnx("redis: lost the connection to %s: %s (rate limits "
		          "are not shared until it is back)",
		    sh->cfg->redis_address, why);
	else
		log_warnx("redis: cannot connect to %s: %s (rate limits are "
		          "not shared until it can)",
		    sh->cfg->redis_address, why);
}

static void sh_receive(struct pubsub *sh, const char *p, size_t len);

/* Every reply in subscriber mode: the confirmation, then messages. */
static void
/* cppcheck-suppress constParameter ; hiredis callback type */
sh_message_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pubsub *sh = priv;
	const redisReply *reply = r;
	const redisReply *kind;

	if (reply == NULL || ac != sh->conn.ac || sh->closing)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_conn_drop(&sh->conn, reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	kind = reply->element[0];
	if (strcmp(kind->str, "subscribe") == 0) {
		if (sh->conn.failing)
			log_info("redis: rate limits are shared again");
		redis_conn_ready(&sh->conn);
		return;
	}
	if (strcmp(kind->str, "message") == 0 &&
	    reply->element[2]->type == REDIS_REPLY_STRING)
		sh_receive(sh, reply->element[2]->str, reply->element[2]->len);
}

static void
sh_subscribe(struct pubsub *sh)
{
	const char *argv[2] = {"SUBSCRIBE", sh->channel};
	size_t lens[2] = {9, strlen(sh->channel)};

	if (redisAsyncCommandArgv(
	        sh->conn.ac, sh_message_cb, sh, 2, argv, lens) != REDIS_OK)
		redis_conn_drop(&sh->conn, "cannot subscribe");
}

static void
/* cppcheck-suppress constParameter ; hiredis callback type */
sh_auth_cb(redisAsyncContext *ac, void *r, void *priv)
{
	struct pubsub *sh = priv;
	const redisReply *reply = r;

	if (reply == NULL || ac != sh->conn.ac || sh->closing)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_conn_drop(&sh->conn, reply->str);
		return;
	}
	sh_subscribe(sh);
}

/* redis_conn_attached_fn: AUTH when there is a password, then SUBSCRIBE. */
static void
sh_attached(struct redis_conn *c)
{
	struct pubsub *sh = c->owner;

	if (sh->cfg->redis_password != NULL &&
	    sh->cfg->redis_password[0] != '\0') {
		const char *argv[2] = {"AUTH", sh->cfg->redis_password};
		size_t lens[2] = {4, strlen(sh->cfg->redis_password)};

		if (redisAsyncCommandArgv(
		        c->ac, sh_auth_cb, sh, 2, argv, lens) != REDIS_OK)
			redis_conn_drop(c, "cannot send AUTH");
		return;
	}
	sh_subscribe(sh);
}

static void
sh_tick(uv_timer_t *t)
{
	struct pubsub *sh = t->data;

	if (!sh->closing)
		redis_conn_tick(&sh->conn, true);
}

/*
 * Messages
 */

const char *const pubsub_event_kinds[] = {
    "push", "restore", "rename", "delete", "config", "merge", "unmerge", NULL};

/*
 * Split the n words of p (up to end) that each end in a space into f and
 * flen; returns what follows them, or NULL when there are fewer.
 */
static const char *
sh_fields(const char *p, const char *end, const char **f, size_t *flen, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		f[i] = p;
		while (p < end && *p != ' ')
			p++;
		if (p == end)
			return NULL;
		flen[i] = (size_t)(p - f[i]);
		p++;
	}
	return p;
}

/* "<kind> <timestamp> <document hex> <user>" after "1 <instance> sse ". */
static void
sh_receive_event(struct pubsub *sh, const char *p, const char *end)
{
	const char *f[3], *kind = NULL;
	size_t flen[3], i, dlen;
	char ts[24], *tend;
	unsigned char doc[STORE_MAX_DOCUMENT];
	long long t;

	if ((p = sh_fields(p, end, f, flen, 3)) == NULL)
		return;
	for (i = 0; pubsub_event_kinds[i] != NULL; i++)
		if (strlen(pubsub_event_kinds[i]) == flen[0] &&
		    memcmp(pubsub_event_kinds[i], f[0], flen[0]) == 0)
			kind = pubsub_event_kinds[i];
	if (kind == NULL || flen[1] == 0 || flen[1] >= sizeof(ts) ||
	    (size_t)(end - p) > SH_USER_MAX || sh->event_fn == NULL)
		return;
	memcpy(ts, f[1], flen[1]);
	ts[flen[1]] = '\0';
	t = strtoll(ts, &tend, 10);
	if (*tend != '\0' ||
	    sodium_hex2bin(
	        doc, sizeof(doc), f[2], flen[2], NULL, &dlen, NULL) != 0 ||
	    dlen != flen[2] / 2)
		return;
	sh->event_fn(sh->event_arg, (struct str){p, (size_t)(end - p)},
	    (struct str){(const char *)doc, dlen}, (int64_t)t, kind);
}

/* "1 <instance> <scope> <f|r> <peer> <user>" from the channel. */
static void
sh_receive(struct pubsub *sh, const char *p, size_t len)
{
	const char *end = p + len, *f[5];
	size_t flen[5];
	char peer[SH_PEER_MAX];
	struct str user;
	enum ratelimit_event ev;
	int i;

	if ((p = sh_fields(p, end, f, flen, 5)) == NULL)
		return;
	user = (struct str){p, (size_t)(end - p)};
	if (flen[0] == 1 && f[0][0] == '1' && flen[1] == SH_INSTANCE_LEN &&
	    flen[2] == 3 && memcmp(f[2], "sse", 3) == 0) {
		if (memcmp(f[1], sh->instance, SH_INSTANCE_LEN) != 0)
			sh_receive_event(sh, f[3], end);
		return;
	}
	if (flen[0] != 1 || f[0][0] != '1' || flen[1] != SH_INSTANCE_LEN ||
	    flen[3] != 1 || flen[4] == 0 || flen[4] >= sizeof(peer) ||
	    user.len > SH_USER_MAX)
		return;
	/* Our own: counted when it happened. */
	if (memcmp(f[1], sh->instance, SH_INSTANCE_LEN) == 0)
		return;
	if (f[3][0] == 'f')
		ev = RATELIMIT_EV_AUTH_FAILED;
	else if (f[3][0] == 'r')
		ev = RATELIMIT_EV_REGISTER;
	else
		return;
	memcpy(peer, f[4], flen[4]);
	peer[flen[4]] = '\0';
	for (i = 0; i < sh->nlim; i++) {
		const struct sh_limiter *l = &sh->lim[i];

		if (strlen(l->scope) == flen[2] &&
		    memcmp(l->scope, f[2], flen[2]) == 0)
			ratelimit_apply(
			    l->rl, ev, user, peer, ratelimit_now_ms());
	}
}

static void
sh_published(void *priv, const redisReply *reply)
{
	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_debug("redis: PUBLISH: %s", reply->str);
}

/* Publish sh->msg followed by user on the channel. */
static void
sh_publish(struct pubsub *sh, struct str user)
{
	const char *argv[3];
	size_t lens[3];

	if (user.len > 0)
		buf_add(&sh->msg, user.p, user.len);
	argv[0] = "PUBLISH";
	lens[0] = 7;
	argv[1] = sh->channel;
	lens[1] = strlen(sh->channel);
	argv[2] = sh->msg.data;
	lens[2] = sh->msg.len;
	(void)store_command(sh->st, sh_published, NULL, 3, argv, lens);
}

/* ratelimit_event_fn: tell the other instances. */
static void
sh_event(void *arg, enum ratelimit_event ev, struct str user, const char *peer)
{
	struct sh_limiter *l = arg;
	struct pubsub *sh = l->sh;

	if (sh->closing || peer == NULL || peer[0] == '\0' ||
	    strlen(peer) >= SH_PEER_MAX || strchr(peer, ' ') != NULL ||
	    user.len > SH_USER_MAX)
		return;
	buf_reset(&sh->msg);
	buf_addf(&sh->msg, "1 %s %s %c %s ", sh->instance, l->scope,
	    ev == RATELIMIT_EV_AUTH_FAILED ? 'f' : 'r', peer);
	/* Redis unreachable: this instance alone counted it. */
	sh_publish(sh, user);
}

void
pubsub_events(struct pubsub *sh, pubsub_event_fn *fn, void *arg)
{
	if (sh == NULL)
		return;
	sh->event_fn = fn;
	sh->event_arg = arg;
}

void
pubsub_publish_event(struct pubsub *sh, struct str user, struct str document,
    int64_t timestamp, const char *kind)
{
	char hex[2 * STORE_MAX_DOCUMENT + 1];

	if (sh == NULL || sh->closing || user.len > SH_USER_MAX ||
	    document.len == 0 || document.len > STORE_MAX_DOCUMENT)
		return;
	sodium_bin2hex(
	    hex, sizeof(hex), (const unsigned char *)document.p, document.len);
	buf_reset(&sh->msg);
	buf_addf(&sh->msg, "1 %s sse %s %lld %s ", sh->instance, kind,
	    (long long)timestamp, hex);
	/* Redis unreachable: only pages on this instance hear of it. */
	sh_publish(sh, user);
}

/*
 * Life cycle
 */

struct pubsub *
pubsub_new(uv_loop_t *loop, struct store *st, const struct config *cfg)
{
	struct pubsub *sh;
	unsigned char id[SH_INSTANCE_LEN / 2];

	if (!store_is_shared(st) || cfg->redis_address == NULL)
		return NULL;
	sh = xcalloc(1, sizeof(*sh));
	if (redis_conn_init(&sh->conn, loop, cfg->redis_address, true,
	        sh_attached, sh_lost, sh) != 0) {
		/* The store parsed it already; cannot happen. */
		free(sh);
		return NULL;
	}
	sh->st = st;
	sh->cfg = cfg;
	buf_init(&sh->msg);
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(sh->instance, sizeof(sh->instance), id, sizeof(id));
	snprintf(sh->channel, sizeof(sh->channel), "kosyncd:ratelimit:%u",
	    cfg->redis_db);
	uv_timer_init(loop, &sh->timer);
	sh->timer.data = sh;
	uv_timer_start(&sh->timer, sh_tick, SH_TICK_MS, SH_TICK_MS);
	uv_unref((uv_handle_t *)&sh->timer);
	redis_conn_connect(&sh->conn);
	return sh;
}

void
pubsub_ratelimit(struct pubsub *sh, struct ratelimit *rl, const char *scope)
{
	struct sh_limiter *l;

	if (sh == NULL || sh->nlim >= PUBSUB_MAX_LIMITERS)
		return;
	l = &sh->lim[sh->nlim++];
	l->sh = sh;
	l->rl = rl;
	l->scope = scope;
	ratelimit_set_listener(rl, sh_event, l);
}

bool
pubsub_listening(const struct pubsub *sh)
{
	return sh != NULL && sh->conn.state == REDIS_CONN_READY;
}

static void
sh_timer_closed(uv_handle_t *h)
{
	struct pubsub *sh = h->data;

	redis_conn_release(&sh->conn);
	buf_release(&sh->msg);
	free(sh);
}

void
pubsub_free(struct pubsub *sh)
{
	int i;

	if (sh == NULL)
		return;
	for (i = 0; i < sh->nlim; i++)
		ratelimit_set_listener(sh->lim[i].rl, NULL, NULL);
	sh->closing = true;
	redis_conn_drop(&sh->conn, "closed");
	uv_close((uv_handle_t *)&sh->timer, sh_timer_closed);
}
