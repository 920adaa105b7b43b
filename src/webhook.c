/*
 * webhook.c: events out, delivered (see webhook.h and docs/webhooks.md).
 *
 * Per account with events (a record made on its first event, kept while
 * the process runs): the deliveries waiting, oldest first; whether one is
 * in flight or waiting for its retry (then the others wait: an account's
 * events arrive in order); a log per webhook; the last percentage seen of
 * its documents. Accounts ready to deliver while WEBHOOK_PARALLEL
 * deliveries are in flight wait in a queue of their own.
 *
 * A delivery is a small HTTP/1.1 client: the whole request is written at
 * once, the answer is read only up to its status line (at most
 * HOOK_STATUS_LINE_MAX bytes), then the connection is closed. One timer
 * bounds it all.
 *
 * Invariants: an item is in exactly one place (an account's queue or a
 * connection); a connection's account pointer is NULL once the module is
 * shutting down, and its close callbacks then free only the connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "config.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "table.h"
#include "webhook.h"
#include "xmalloc.h"

#ifndef KOSYNCD_VERSION
#define KOSYNCD_VERSION "unknown"
#endif

#define WH_EVENT_MAX 24 /* bytes of an event's name */
#define WH_ERROR_MAX 48 /* bytes of a log entry's error */

/* One delivery: an event's body for one webhook. */
struct wh_item {
	struct wh_item *next;
	char hook[HOOK_ID_LEN + 1];
	char url[HOOK_URL_MAX + 1];
	char secret[HOOK_SECRET_MAX + 1];
	char event[WH_EVENT_MAX];
	char delivery[33]; /* random hex, the X-Kosyncd-Delivery header */
	unsigned tries;    /* made so far */
	size_t len;
	char body[];
};

struct wh_log {
	int64_t time;
	char event[WH_EVENT_MAX];
	char error[WH_ERROR_MAX]; /* "" when answered */
	int status;               /* 0: no answer */
	uint32_t ms;
	uint8_t attempt;
};

/* The log of one webhook: a ring of its last WEBHOOK_LOG attempts. */
struct wh_hooklog {
	char id[HOOK_ID_LEN + 1]; /* "": slot free */
	struct wh_log e[WEBHOOK_LOG];
	unsigned n;    /* entries held */
	unsigned next; /* where the next one goes */
};

/* The last percentage seen of a document. */
struct wh_seen {
	uint32_t hash;
	double percentage;
	size_t len;
	char id[];
};

struct wh_account {
	struct webhook *wh;
	struct wh_item *head, *tail;
	unsigned queued;
	uint64_t dropped;
	bool busy;  /* a delivery in flight or a retry armed */
	bool ready; /* in wh's ready queue */
	struct wh_account *next_ready;
	uv_timer_t *retry; /* armed while a retry waits (own allocation) */
	/* Made at a webhook's first attempt (most accounts have none). */
	struct wh_hooklog *logs[HOOK_MAX_PER_USER];
	struct table seen; /* struct wh_seen by document id */
	uint32_t hash;
	size_t name_len;
	char name[];
};

/* One connection to a receiver. */
struct wh_conn {
	struct webhook *wh;
	struct wh_account *a; /* NULL once shutting down */
	struct wh_item *it;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_write_t write;
	struct buf req;
	uint64_t start;
	int closing; /* handles whose close callback is still due */
	bool done;
	size_t rlen;
	char rbuf[HOOK_STATUS_LINE_MAX];
};

struct webhook {
	uv_loop_t *loop;
	struct store *st;
	const struct config *cfg;
	struct table accounts; /* struct wh_account by name */
	struct wh_account *ready_head, *ready_tail;
	unsigned active; /* connections open */
	size_t nseen;    /* percentages remembered, all accounts */
	bool stopped;
	struct wh_conn *conns[WEBHOOK_PARALLEL]; /* open, for the shutdown */
	/* The server-wide webhook (webhook_url), when set. */
	bool has_server;
	struct hook server;
	struct wh_hooklog server_log;
};

/* The server-wide webhook's id (a user's have HOOK_ID_LEN characters). */
#define WH_SERVER_ID "server"

static bool
is_server(const char *id)
{
	return strcmp(id, WH_SERVER_ID) == 0;
}

static uint32_t
account_hash(const void *rec)
{
	return ((const struct wh_account *)rec)->hash;
}

static struct str
account_key(const void *rec)
{
	const struct wh_account *a = rec;

	return (struct str){a->name, a->name_len};
}

static const struct table_type account_type = {account_hash, account_key};

static uint32_t
seen_hash(const void *rec)
{
	return ((const struct wh_seen *)rec)->hash;
}

static struct str
seen_key(const void *rec)
{
	const struct wh_seen *s = rec;

	return (struct str){s->id, s->len};
}

static const struct table_type seen_type = {seen_hash, seen_key};

static void kick(struct wh_account *a);

/*
 * Accounts
 */

static struct wh_account *
account_get(struct webhook *wh, struct str user, bool make)
{
	uint32_t h = table_hash(user.p, user.len);
	struct wh_account *a =
	    table_find(&wh->accounts, &account_type, h, user);

	if (a != NULL || !make)
		return a;
	a = xcalloc(1, sizeof(*a) + user.len + 1);
	a->wh = wh;
	a->hash = h;
	a->name_len = user.len;
	memcpy(a->name, user.p, user.len);
	table_insert(&wh->accounts, &account_type, a);
	return a;
}

static void
seen_clear(struct wh_account *a)
{
	uint32_t pos = 0;
	struct wh_seen *s;

	a->wh->nseen -= a->seen.n;
	while ((s = table_next(&a->seen, &pos)) != NULL)
		free(s);
	table_release(&a->seen);
}

/* Forget every account's percentages (WEBHOOK_SEEN_TOTAL reached). */
static void
seen_clear_all(struct webhook *wh)
{
	struct wh_account *a;
	uint32_t pos = 0;

	while ((a = table_next(&wh->accounts, &pos)) != NULL)
		seen_clear(a);
}

/*
 * Remember doc's percentage p; answer the one remembered before (*had
 * false when there was none).
 */
static double
seen_swap(struct wh_account *a, struct str doc, double p, bool *had)
{
	uint32_t h = table_hash(doc.p, doc.len);
	struct wh_seen *s = table_find(&a->seen, &seen_type, h, doc);
	double old;

	*had = s != NULL;
	if (s != NULL) {
		old = s->percentage;
		s->percentage = p;
		return old;
	}
	if (a->seen.n >= WEBHOOK_SEEN_MAX)
		seen_clear(a);
	if (a->wh->nseen >= WEBHOOK_SEEN_TOTAL)
		seen_clear_all(a->wh);
	a->wh->nseen++;
	s = xmalloc(sizeof(*s) + doc.len + 1);
	s->hash = h;
	s->percentage = p;
	s->len = doc.len;
	memcpy(s->id, doc.p, doc.len);
	s->id[doc.len] = '\0';
	table_insert(&a->seen, &seen_type, s);
	return 0;
}

/*
 * The log of webhook id, or NULL; with make, one is made (in a free slot,
 * else in the slot of a webhook deleted through another instance, which
 * this one never heard of: the slot id's first byte picks).
 */
static struct wh_hooklog *
log_of(struct wh_account *a, const char *id, bool make)
{
	size_t i, free_slot = (unsigned char)id[0] % HOOK_MAX_PER_USER;

	for (i = 0; i < HOOK_MAX_PER_USER; i++) {
		if (a->logs[i] == NULL)
			free_slot = i;
		else if (strcmp(a->logs[i]->id, id) == 0)
			return a->logs[i];
	}
	if (!make)
		return NULL;
	if (a->logs[free_slot] == NULL)
		a->logs[free_slot] = xmalloc(sizeof(*a->logs[free_slot]));
	memset(a->logs[free_slot], 0, sizeof(*a->logs[free_slot]));
	snprintf(
	    a->logs[free_slot]->id, sizeof(a->logs[free_slot]->id), "%s", id);
	return a->logs[free_slot];
}

static void
log_add(struct wh_account *a, const struct wh_item *it, int status,
    const char *error, uint32_t ms)
{
	struct wh_hooklog *l = is_server(it->hook) ? &a->wh->server_log
	                                           : log_of(a, it->hook, true);
	struct wh_log *e;

	if (l == NULL)
		return;
	e = &l->e[l->next];
	l->next = (l->next + 1) % WEBHOOK_LOG;
	if (l->n < WEBHOOK_LOG)
		l->n++;
	e->time = (int64_t)time(NULL);
	snprintf(e->event, sizeof(e->event), "%s", it->event);
	snprintf(e->error, sizeof(e->error), "%s", error ? error : "");
	e->status = status;
	e->ms = ms;
	e->attempt = (uint8_t)it->tries;
}

/*
 * Queue
 */

static void
enqueue(struct wh_account *a, struct wh_item *it)
{
	struct wh_item *old;

	while (a->queued >= a->wh->cfg->webhook_queue && a->head != NULL) {
		old = a->head;
		a->head = old->next;
		if (a->head == NULL)
			a->tail = NULL;
		a->queued--;
		a->dropped++;
		log_add(a, old, 0, "dropped: queue full", 0);
		free(old);
	}
	it->next = NULL;
	if (a->tail != NULL)
		a->tail->next = it;
	else
		a->head = it;
	a->tail = it;
	a->queued++;
	kick(a);
}

/* A new delivery of body for h. */
static struct wh_item *
item_new(const struct hook *h, const char *event, const struct buf *body)
{
	struct wh_item *it = xcalloc(1, sizeof(*it) + body->len + 1);
	unsigned char r[16];

	snprintf(it->hook, sizeof(it->hook), "%s", h->id);
	snprintf(it->url, sizeof(it->url), "%s", h->url);
	snprintf(it->secret, sizeof(it->secret), "%s", h->secret);
	snprintf(it->event, sizeof(it->event), "%s", event);
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(it->delivery, sizeof(it->delivery), r, sizeof(r));
	it->len = body->len;
	memcpy(it->body, body->data, body->len);
	return it;
}

/*
 * Connections
 */

static void
conn_closed(uv_handle_t *h)
{
	struct wh_conn *c = h->data;

	if (--c->closing > 0)
		return;
	buf_release(&c->req);
	free(c->it);
	free(c);
}

static void
conn_close(struct wh_conn *c)
{
	size_t i;

	for (i = 0; i < WEBHOOK_PARALLEL; i++)
		if (c->wh->conns[i] == c)
			c->wh->conns[i] = NULL;
	c->wh->active--;
	c->closing = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void retry_fired(uv_timer_t *t);

/* Whether an attempt that got status (0: none) is worth another try. */
static bool
worth_retry(int status)
{
	return status == 0 || status >= 500 || status == 408 || status == 429;
}

/*
 * The attempt of c ended: status is the answer's (0: none), error says
 * why it failed (NULL: answered), final refuses any retry. Logs it, then
 * frees, requeues or gives up the item, and lets the account go on.
 */
static void
conn_done(struct wh_conn *c, int status, const char *error, bool final)
{
	struct wh_account *a = c->a;
	struct webhook *wh = c->wh;
	struct wh_item *it = c->it;
	uint64_t delay;
	unsigned i;

	if (c->done)
		return;
	c->done = true;
	conn_close(c);
	if (a == NULL)
		return;
	log_add(a, it, status, error, (uint32_t)(uv_now(wh->loop) - c->start));
	if (!final && it->tries < WEBHOOK_TRIES && worth_retry(status)) {
		/* Back to the head: the account's next event waits for it. */
		c->it = NULL;
		it->next = a->head;
		a->head = it;
		if (a->tail == NULL)
			a->tail = it;
		a->queued++;
		delay = wh->cfg->webhook_retry_ms;
		for (i = 1; i < it->tries; i++)
			delay *= 3;
		if (a->retry == NULL) {
			a->retry = xmalloc(sizeof(*a->retry));
			uv_timer_init(wh->loop, a->retry);
			a->retry->data = a;
		}
		uv_timer_start(a->retry, retry_fired, delay, 0);
	} else {
		if (!final && it->tries >= WEBHOOK_TRIES && worth_retry(status))
			log_debug("%s: webhook %s gave up after %u tries",
			    __func__, it->hook, it->tries);
		a->busy = false;
		kick(a);
	}
	/* A slot is free: the next account waiting for one. */
	while (wh->ready_head != NULL && wh->active < WEBHOOK_PARALLEL) {
		a = wh->ready_head;
		wh->ready_head = a->next_ready;
		if (wh->ready_head == NULL)
			wh->ready_tail = NULL;
		a->ready = false;
		kick(a);
	}
}

static void
conn_timeout(uv_timer_t *t)
{
	conn_done(t->data, 0, "timed out", false);
}

static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct wh_conn *c = h->data;

	(void)suggested;
	b->base = c->rbuf + c->rlen;
	b->len = sizeof(c->rbuf) - c->rlen;
}

static void
conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct wh_conn *c = s->data;
	int status = 0, r;

	(void)b;
	if (n == 0 || c->done)
		return;
	if (n < 0) {
		conn_done(c, 0,
		    n == UV_EOF ? "closed before answering"
		                : uv_strerror((int)n),
		    false);
		return;
	}
	c->rlen += (size_t)n;
	r = hookfmt_status_line(c->rbuf, c->rlen, &status);
	if (r == -2 && c->rlen < sizeof(c->rbuf))
		return;
	if (r < 0) {
		conn_done(c, 0, "not an HTTP answer", false);
		return;
	}
	conn_done(
	    c, status, status >= 200 && status < 300 ? NULL : "refused", false);
}

static void
conn_written(uv_write_t *w, int status)
{
	struct wh_conn *c = w->data;

	if (c->done)
		return;
	if (status < 0)
		conn_done(c, 0, uv_strerror(status), false);
}

static void
conn_connected(uv_connect_t *req, int status)
{
	struct wh_conn *c = req->data;
	uv_buf_t b;
	int r;

	if (c->done)
		return;
	if (status < 0) {
		conn_done(c, 0, uv_strerror(status), false);
		return;
	}
	b = uv_buf_init(c->req.data, (unsigned)c->req.len);
	c->write.data = c;
	if ((r = uv_write(
	         &c->write, (uv_stream_t *)&c->tcp, &b, 1, conn_written)) < 0 ||
	    (r = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read)) <
	        0)
		conn_done(c, 0, uv_strerror(r), false);
}

/* The request of c's item to u. */
static void
conn_request(struct wh_conn *c, const struct hook_url *u)
{
	struct wh_item *it = c->it;
	char sig[HOOK_SIG_HEX + 1];

	hookfmt_sign(it->body, it->len, it->secret, sig);
	buf_addf(&c->req,
	    "POST %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: kosyncd/" KOSYNCD_VERSION "\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "X-Kosyncd-Event: %s\r\n"
	    "X-Kosyncd-Delivery: %s\r\n"
	    "X-Kosyncd-Signature: sha256=%s\r\n"
	    "Connection: close\r\n\r\n",
	    u->path, u->host, it->len, it->event, it->delivery, sig);
	buf_add(&c->req, it->body, it->len);
}

/* Start delivering a's first item (a slot is free, a is not busy). */
static void
deliver(struct wh_account *a)
{
	struct webhook *wh = a->wh;
	struct wh_conn *c;
	struct hook_url u;
	const char *err;
	size_t i;
	int r;

	c = xcalloc(1, sizeof(*c));
	c->wh = wh;
	c->a = a;
	c->it = a->head;
	a->head = c->it->next;
	if (a->head == NULL)
		a->tail = NULL;
	a->queued--;
	c->it->next = NULL;
	c->it->tries++;
	buf_init(&c->req);
	a->busy = true;
	wh->active++;
	for (i = 0; i < WEBHOOK_PARALLEL; i++) {
		if (wh->conns[i] == NULL) {
			wh->conns[i] = c;
			break;
		}
	}
	uv_tcp_init(wh->loop, &c->tcp);
	uv_timer_init(wh->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->connect.data = c;
	c->start = uv_now(wh->loop);
	if (hookfmt_url_parse(str_from(c->it->url), &u, &err) != 0) {
		conn_done(c, 0, "bad URL", true);
		return;
	}
	if (!wh->cfg->webhook_allow_private && !is_server(c->it->hook) &&
	    hookfmt_addr_is_private(&u.addr)) {
		conn_done(c, 0, "private address refused", true);
		return;
	}
	conn_request(c, &u);
	uv_timer_start(&c->timer, conn_timeout, wh->cfg->webhook_timeout_ms, 0);
	r = uv_tcp_connect(&c->connect, &c->tcp,
	    (const struct sockaddr *)&u.addr, conn_connected);
	if (r < 0)
		conn_done(c, 0, uv_strerror(r), false);
}

/* Deliver a's next item when it can: now, or when a slot frees. */
static void
kick(struct wh_account *a)
{
	struct webhook *wh = a->wh;

	if (wh->stopped || a->busy || a->head == NULL || a->ready)
		return;
	if (wh->active >= WEBHOOK_PARALLEL) {
		a->ready = true;
		a->next_ready = NULL;
		if (wh->ready_tail != NULL)
			wh->ready_tail->next_ready = a;
		else
			wh->ready_head = a;
		wh->ready_tail = a;
		return;
	}
	deliver(a);
}

static void
retry_fired(uv_timer_t *t)
{
	struct wh_account *a = t->data;

	a->busy = false;
	kick(a);
}

/*
 * Events
 */

/* Queue body (event ev) for every webhook of l that asked for ev. */
static void
queue_event(struct webhook *wh, struct str user, const struct hook_list *l,
    unsigned ev, const struct buf *body)
{
	struct wh_account *a = NULL;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!(l->h[i].events & ev))
			continue;
		if (a == NULL)
			a = account_get(wh, user, true);
		enqueue(a, item_new(&l->h[i], hookfmt_event_name(ev), body));
	}
	if (wh->has_server && (wh->server.events & ev)) {
		if (a == NULL)
			a = account_get(wh, user, true);
		enqueue(a, item_new(&wh->server, hookfmt_event_name(ev), body));
	}
}

/* The events anyone wants of user's, whose webhooks are l. */
static unsigned
wanted(const struct webhook *wh, const struct hook_list *l)
{
	unsigned want = wh->has_server ? wh->server.events : 0;
	size_t i;

	for (i = 0; i < l->n; i++)
		want |= l->h[i].events;
	return want;
}

/* The body's first members: the event and the user. */
static void
body_begin(struct json_out *o, struct buf *b, unsigned ev, struct str user)
{
	buf_reset(b);
	json_out_init(o, b, false);
	json_obj_begin(o);
	json_key(o, "event");
	json_str(o, hookfmt_event_name(ev));
	json_key(o, "user");
	json_strn(o, user.p, user.len);
}

/* A push, waiting for the document's state. */
struct wh_push {
	struct webhook *wh;
	struct hook_list *hooks; /* made once the account has webhooks */
	size_t user_len, doc_len;
	char s[]; /* user, then document */
};

/* The string member key of d, "" when absent. */
static struct str
field(const struct json_value *d, const char *key)
{
	struct str s = json_get_str(d, key);

	return s.p != NULL ? s : (struct str){"", 0};
}

/* The document's fields a push's events carry. */
static void
body_position(struct json_out *o, const struct json_value *d)
{
	const struct json_value *v;
	struct str title = field(d, "pretty_name");
	double pct = 0;

	if (title.len == 0)
		title = field(d, "title");
	json_key(o, "document");
	json_strn(o, field(d, "document").p, field(d, "document").len);
	if (title.len > 0) {
		json_key(o, "title");
		json_strn(o, title.p, title.len);
	}
	v = json_get(d, "percentage");
	if (v != NULL)
		(void)json_number(v, false, &pct);
	json_key(o, "percentage");
	json_double(o, pct);
	json_key(o, "device");
	json_strn(o, field(d, "device").p, field(d, "device").len);
	v = json_get(d, "timestamp");
	json_key(o, "timestamp");
	json_int(o,
	    v != NULL && json_number(v, false, &pct) == 0 ? (int64_t)pct : 0);
}

/* store_text_cb: the pushed document's state (store_web_documents). */
static void
push_read(void *arg, enum store_result r, const char *text, size_t len)
{
	struct wh_push *p = arg;
	struct webhook *wh = p->wh;
	struct str user = {p->s, p->user_len};
	struct str doc = {p->s + p->user_len, p->doc_len};
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root, *d, *devs;
	struct wh_account *a;
	struct buf b = BUF_INIT;
	struct json_out o;
	double pct = 0, before;
	bool had;
	unsigned evs = HOOK_EV_PROGRESS, ev;

	if (r != STORE_OK || wh->stopped)
		goto out;
	root = json_parse(text, len, json_arena_alloc, &ar, NULL);
	if (root == NULL || root->type != JSON_ARRAY || root->child == NULL)
		goto out;
	d = root->child;
	if (json_get(d, "percentage") != NULL)
		(void)json_number(json_get(d, "percentage"), false, &pct);
	a = account_get(wh, user, true);
	before = seen_swap(a, doc, pct, &had);
	devs = json_get(d, "devices");
	/* started: no earlier position known, here or from another device */
	if (!had && (devs == NULL || devs->count == 0))
		evs |= HOOK_EV_STARTED;
	if (pct >= WEBHOOK_FINISHED && (!had || before < WEBHOOK_FINISHED))
		evs |= HOOK_EV_FINISHED;
	for (ev = HOOK_EV_PROGRESS; ev <= HOOK_EV_FINISHED; ev <<= 1) {
		if (!(evs & ev))
			continue;
		body_begin(&o, &b, ev, user);
		body_position(&o, d);
		json_obj_end(&o);
		queue_event(wh, user, p->hooks, ev, &b);
	}
out:
	buf_release(&b);
	json_arena_release(&ar);
	free(p->hooks);
	free(p);
}

/* store_events_fn: the account's webhooks, for a push. */
static void
push_hooks(void *arg, enum store_result r, struct str webhooks, struct str feed)
{
	struct wh_push *p = arg;
	struct store_page page;

	(void)feed;
	/* Most accounts have no webhooks: nothing more is allocated. */
	if ((r != STORE_OK || webhooks.len == 0) && !p->wh->has_server) {
		free(p);
		return;
	}
	p->hooks = xcalloc(1, sizeof(*p->hooks));
	if (r != STORE_OK ||
	    hookfmt_parse(webhooks.p, webhooks.len, p->hooks) != 0)
		memset(p->hooks, 0, sizeof(*p->hooks));
	if (!(wanted(p->wh, p->hooks) &
	        (HOOK_EV_PROGRESS | HOOK_EV_STARTED | HOOK_EV_FINISHED))) {
		free(p->hooks);
		free(p);
		return;
	}
	memset(&page, 0, sizeof(page));
	page.limit = 1;
	store_web_documents(p->wh->st, (struct str){p->s, p->user_len},
	    (struct str){p->s + p->user_len, p->doc_len}, false, &page,
	    push_read, p);
}

void
webhook_push(struct webhook *wh, struct str user, struct str document)
{
	struct wh_push *p;

	if (wh == NULL || wh->stopped)
		return;
	p = xmalloc(sizeof(*p) + user.len + document.len + 1);
	p->wh = wh;
	p->hooks = NULL;
	p->user_len = user.len;
	p->doc_len = document.len;
	memcpy(p->s, user.p, user.len);
	memcpy(p->s + user.len, document.p, document.len);
	p->s[user.len + document.len] = '\0';
	store_events_get(wh->st, user, push_hooks, p);
}

/* An event whose body is made, waiting for the account's webhooks. */
struct wh_made {
	struct webhook *wh;
	unsigned ev;
	struct buf body;
	size_t len;
	char user[];
};

static void
made_hooks(void *arg, enum store_result r, struct str webhooks, struct str feed)
{
	struct wh_made *m = arg;
	struct hook_list l;

	(void)feed;
	if (r != STORE_OK || hookfmt_parse(webhooks.p, webhooks.len, &l) != 0)
		memset(&l, 0, sizeof(l));
	if (!m->wh->stopped && (wanted(m->wh, &l) & m->ev))
		queue_event(
		    m->wh, (struct str){m->user, m->len}, &l, m->ev, &m->body);
	buf_release(&m->body);
	free(m);
}

/*
 * Start an event ev of user; *o receives the body's members after
 * "event" and "user" (end it with made_send).
 */
static struct wh_made *
made_new(struct webhook *wh, unsigned ev, struct str user, struct json_out *o)
{
	struct wh_made *m = xmalloc(sizeof(*m) + user.len + 1);

	m->wh = wh;
	m->ev = ev;
	m->len = user.len;
	memcpy(m->user, user.p, user.len);
	m->user[user.len] = '\0';
	buf_init(&m->body);
	body_begin(o, &m->body, ev, user);
	return m;
}

/* End m's body with the time and queue it once the webhooks are read. */
static void
made_send(struct wh_made *m, struct json_out *o)
{
	json_key(o, "timestamp");
	json_int(o, (int64_t)time(NULL));
	json_obj_end(o);
	store_events_get(
	    m->wh->st, (struct str){m->user, m->len}, made_hooks, m);
}

void
webhook_credential(struct webhook *wh, struct str user, const char *id,
    const char *label, struct str device)
{
	struct wh_made *m;
	struct json_out o;

	if (wh == NULL || wh->stopped)
		return;
	/* The body now: id and label are borrowed for this call only. */
	m = made_new(wh, HOOK_EV_CREDENTIAL, user, &o);
	json_key(&o, "credential");
	json_str(&o, label);
	json_key(&o, "credential_id");
	json_str(&o, id);
	if (device.p != NULL) {
		json_key(&o, "device");
		json_strn(&o, device.p, device.len);
	}
	made_send(m, &o);
}

void
webhook_statistics(struct webhook *wh, struct str user)
{
	struct json_out o;

	if (wh == NULL || wh->stopped)
		return;
	made_send(made_new(wh, HOOK_EV_STATISTICS, user, &o), &o);
}

void
webhook_test(struct webhook *wh, struct str user, const struct hook *h)
{
	struct hook_list l;
	struct buf b = BUF_INIT;
	struct json_out o;

	if (wh == NULL || wh->stopped)
		return;
	memset(&l, 0, sizeof(l));
	l.h[0] = *h;
	l.h[0].events = HOOK_EV_TEST;
	l.n = 1;
	body_begin(&o, &b, HOOK_EV_TEST, user);
	json_key(&o, "timestamp");
	json_int(&o, (int64_t)time(NULL));
	json_obj_end(&o);
	queue_event(wh, user, &l, HOOK_EV_TEST, &b);
	buf_release(&b);
}

/*
 * The web API's view
 */

static void
status_log(struct json_out *o, const struct wh_hooklog *l)
{
	const struct wh_log *e;
	unsigned i;

	json_key(o, "log");
	json_arr_begin(o);
	for (i = 0; l != NULL && i < l->n; i++) {
		e = &l->e[(l->next + WEBHOOK_LOG - 1 - i) % WEBHOOK_LOG];
		json_obj_begin(o);
		json_key(o, "time");
		json_int(o, e->time);
		json_key(o, "event");
		json_str(o, e->event);
		json_key(o, "status");
		json_int(o, e->status);
		json_key(o, "error");
		json_str(o, e->error);
		json_key(o, "ms");
		json_uint(o, e->ms);
		json_key(o, "attempt");
		json_uint(o, e->attempt);
		json_obj_end(o);
	}
	json_arr_end(o);
}

void
webhook_status(struct webhook *wh, struct str user, const struct hook_list *l,
    struct json_out *o)
{
	struct wh_account *a = wh != NULL ? account_get(wh, user, false) : NULL;
	unsigned bit;
	size_t i;

	json_key(o, "webhooks");
	json_arr_begin(o);
	for (i = 0; i < l->n; i++) {
		const struct hook *h = &l->h[i];

		json_obj_begin(o);
		json_key(o, "id");
		json_str(o, h->id);
		json_key(o, "url");
		json_str(o, h->url);
		json_key(o, "events");
		json_arr_begin(o);
		for (bit = 1; bit & HOOK_EV_ALL; bit <<= 1)
			if (h->events & bit)
				json_str(o, hookfmt_event_name(bit));
		json_arr_end(o);
		json_key(o, "created");
		json_int(o, h->created);
		status_log(o, a != NULL ? log_of(a, h->id, false) : NULL);
		json_obj_end(o);
	}
	json_arr_end(o);
	json_key(o, "queued");
	json_uint(o, a != NULL ? a->queued : 0);
	json_key(o, "dropped");
	json_uint(o, a != NULL ? a->dropped : 0);
}

void
webhook_server_status(struct webhook *wh, struct json_out *o)
{
	unsigned bit;

	json_key(o, "url");
	json_str(o, wh != NULL && wh->has_server ? wh->server.url : "");
	json_key(o, "events");
	json_arr_begin(o);
	for (bit = 1; wh != NULL && wh->has_server && (bit & HOOK_EV_ALL);
	     bit <<= 1)
		if (wh->server.events & bit)
			json_str(o, hookfmt_event_name(bit));
	json_arr_end(o);
	status_log(o, wh != NULL && wh->has_server ? &wh->server_log : NULL);
}

void
webhook_forget(struct webhook *wh, struct str user, const char *id)
{
	struct wh_account *a = wh != NULL ? account_get(wh, user, false) : NULL;
	struct wh_item **pp, *it;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < HOOK_MAX_PER_USER; i++) {
		if (a->logs[i] != NULL && strcmp(a->logs[i]->id, id) == 0) {
			free(a->logs[i]);
			a->logs[i] = NULL;
		}
	}
	a->tail = NULL;
	for (pp = &a->head; (it = *pp) != NULL;) {
		if (strcmp(it->hook, id) == 0) {
			*pp = it->next;
			a->queued--;
			free(it);
		} else {
			a->tail = it;
			pp = &it->next;
		}
	}
}

/*
 * Life cycle
 */

struct webhook *
webhook_new(uv_loop_t *loop, struct store *st, const struct config *cfg)
{
	struct webhook *wh = xcalloc(1, sizeof(*wh));

	wh->loop = loop;
	wh->st = st;
	wh->cfg = cfg;
	if (cfg->webhook_url != NULL && cfg->webhook_url[0] != '\0') {
		wh->has_server = true;
		snprintf(wh->server.id, sizeof(wh->server.id), WH_SERVER_ID);
		snprintf(wh->server.url, sizeof(wh->server.url), "%s",
		    cfg->webhook_url);
		snprintf(wh->server.secret, sizeof(wh->server.secret), "%s",
		    cfg->webhook_secret != NULL ? cfg->webhook_secret : "");
		wh->server.events = hookfmt_events_parse(str_from(
		    cfg->webhook_events != NULL ? cfg->webhook_events : ""));
	}
	return wh;
}

static void
retry_closed(uv_handle_t *h)
{
	free(h);
}

void
webhook_shutdown(struct webhook *wh)
{
	struct wh_account *a;
	uint32_t pos = 0;
	size_t i;

	if (wh == NULL || wh->stopped)
		return;
	wh->stopped = true;
	for (i = 0; i < WEBHOOK_PARALLEL; i++) {
		struct wh_conn *c = wh->conns[i];

		if (c == NULL)
			continue;
		c->a = NULL;
		c->done = true;
		conn_close(c);
	}
	while ((a = table_next(&wh->accounts, &pos)) != NULL) {
		if (a->retry != NULL) {
			uv_close((uv_handle_t *)a->retry, retry_closed);
			a->retry = NULL;
		}
	}
}

void
webhook_free(struct webhook *wh)
{
	struct wh_account *a;
	struct wh_item *it;
	uint32_t pos = 0;
	size_t i;

	if (wh == NULL)
		return;
	webhook_shutdown(wh);
	while ((a = table_next(&wh->accounts, &pos)) != NULL) {
		while ((it = a->head) != NULL) {
			a->head = it->next;
			free(it);
		}
		seen_clear(a);
		for (i = 0; i < HOOK_MAX_PER_USER; i++)
			free(a->logs[i]);
		free(a);
	}
	table_release(&wh->accounts);
	free(wh);
}
