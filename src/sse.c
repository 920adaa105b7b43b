/*
 * sse.c: live updates as Server-Sent Events (see sse.h).
 *
 * Users with events are a table.h table of small rings; waiting requests a
 * doubly linked list checked by one timer once a second. Publishing walks
 * the waiters of that user only (each user record links its waiters).
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sse.h"
#include "table.h"
#include "xmalloc.h"

#define SSE_TICK_MS 1000

struct sse_event {
	uint64_t id;
	int64_t timestamp;
	char *document;
	const char *kind; /* static */
};

struct sse_waiter;

struct sse_user {
	uint32_t hash;
	uint64_t last_used; /* newest event id, for eviction */
	struct sse_event ring[SSE_RING];
	unsigned n;    /* events in ring (at most SSE_RING) */
	unsigned head; /* index of the oldest */
	struct sse_waiter *waiters;
	size_t name_len;
	char name[];
};

struct sse_waiter {
	struct sse_waiter *prev, *next; /* all waiters */
	struct sse_waiter *unext;       /* waiters of the same user */
	struct sse_user *u;
	struct http_request *req;
	const char *extra;
	uint64_t last_id;
	uint64_t due; /* loop time to answer with no events */
};

struct sse {
	uv_loop_t *loop;
	uv_timer_t *timer;
	struct table users;
	struct sse_waiter *waiters;
	size_t nwaiters;
	uint64_t seq;
	bool closed;
	struct buf out;
};

static uint32_t
u_hash(const void *rec)
{
	return ((const struct sse_user *)rec)->hash;
}

static struct str
u_key(const void *rec)
{
	const struct sse_user *u = rec;

	return (struct str){u->name, u->name_len};
}

static const struct table_type user_type = {u_hash, u_key};

static void
user_free(struct sse_user *u)
{
	unsigned i;

	for (i = 0; i < SSE_RING; i++)
		free(u->ring[i].document);
	free(u);
}

static struct sse_user *
user_get(struct sse *s, struct str name, bool create)
{
	uint32_t h = table_hash(name.p, name.len);
	struct sse_user *u, *it, *old = NULL;
	uint32_t pos = 0;

	u = table_find(&s->users, &user_type, h, name);
	if (u != NULL || !create)
		return u;
	if (s->users.n >= SSE_MAX_USERS) {
		/* Forget the user quiet for longest that nobody waits for. */
		while ((it = table_next(&s->users, &pos)) != NULL)
			if (it->waiters == NULL &&
			    (old == NULL || it->last_used < old->last_used))
				old = it;
		if (old != NULL) {
			table_remove(
			    &s->users, &user_type, old->hash, u_key(old));
			user_free(old);
		}
	}
	u = xcalloc(1, sizeof(*u) + name.len + 1);
	u->hash = h;
	u->name_len = name.len;
	memcpy(u->name, name.p, name.len);
	table_insert(&s->users, &user_type, u);
	return u;
}

static void
timer_free(uv_handle_t *h)
{
	free(h);
}

static void on_tick(uv_timer_t *t);

struct sse *
sse_new(uv_loop_t *loop)
{
	struct sse *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	buf_init(&s->out);
	s->timer = xmalloc(sizeof(*s->timer));
	uv_timer_init(loop, s->timer);
	s->timer->data = s;
	uv_timer_start(s->timer, on_tick, SSE_TICK_MS, SSE_TICK_MS);
	uv_unref((uv_handle_t *)s->timer);
	return s;
}

void
sse_free(struct sse *s)
{
	struct sse_user *u;
	uint32_t pos = 0;

	if (s == NULL)
		return;
	while ((u = table_next(&s->users, &pos)) != NULL)
		user_free(u);
	table_release(&s->users);
	uv_close((uv_handle_t *)s->timer, timer_free);
	buf_release(&s->out);
	free(s);
}

/*
 * Answers
 */

/* Append the events of u after last_id to s->out. */
static void
add_events(struct sse *s, const struct sse_user *u, uint64_t last_id)
{
	struct json_out o;
	unsigned i;

	for (i = 0; u != NULL && i < u->n; i++) {
		const struct sse_event *e = &u->ring[(u->head + i) % SSE_RING];

		if (e->id <= last_id)
			continue;
		buf_addf(&s->out, "id: %llu\nevent: change\ndata: ",
		    (unsigned long long)e->id);
		json_out_init(&o, &s->out, false);
		json_obj_begin(&o);
		json_key(&o, "kind");
		json_str(&o, e->kind);
		json_key(&o, "document");
		json_str(&o, e->document);
		json_key(&o, "timestamp");
		json_int(&o, e->timestamp);
		json_obj_end(&o);
		buf_adds(&s->out, "\n\n");
	}
}

/* Answer req with the events of u after last_id. */
static void
answer(struct sse *s, struct http_request *req, const struct sse_user *u,
    uint64_t last_id, const char *extra)
{
	buf_reset(&s->out);
	buf_addf(&s->out, "retry: %d\n", SSE_RETRY_MS);
	add_events(s, u, last_id);
	/* An id with no data sets the client's Last-Event-ID only. */
	buf_addf(&s->out, "id: %llu\n\n", (unsigned long long)s->seq);
	http_reply_ex(req, 200, "text/event-stream; charset=utf-8", extra,
	    s->out.data, s->out.len);
}

static bool
has_news(const struct sse_user *u, uint64_t last_id)
{
	return u != NULL && u->n > 0 &&
	       u->ring[(u->head + u->n - 1) % SSE_RING].id > last_id;
}

static void
waiter_unlink(struct sse *s, struct sse_waiter *w)
{
	struct sse_waiter **pp;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		s->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	for (pp = &w->u->waiters; *pp != NULL; pp = &(*pp)->unext)
		if (*pp == w) {
			*pp = w->unext;
			break;
		}
	s->nwaiters--;
}

/* Unlink w, answer it and free it. */
static void
waiter_answer(struct sse *s, struct sse_waiter *w)
{
	waiter_unlink(s, w);
	answer(s, w->req, w->u, w->last_id, w->extra);
	free(w);
}

static void
on_tick(uv_timer_t *t)
{
	struct sse *s = t->data;
	struct sse_waiter *w, *next;
	uint64_t now = uv_now(s->loop);

	for (w = s->waiters; w != NULL; w = next) {
		next = w->next;
		if (w->due <= now)
			waiter_answer(s, w);
	}
}

void
sse_wait(struct sse *s, struct http_request *req, struct str user,
    uint64_t last_id, const char *extra_headers)
{
	struct sse_user *u;
	struct sse_waiter *w;

	/* A client from before a restart, or new: start from now. */
	if (last_id == 0 || last_id > s->seq)
		last_id = s->seq;
	u = user_get(s, user, false);
	if (s->closed || s->nwaiters >= SSE_MAX_WAITERS ||
	    has_news(u, last_id)) {
		answer(s, req, u, last_id, extra_headers);
		return;
	}
	u = user_get(s, user, true);
	w = xcalloc(1, sizeof(*w));
	w->u = u;
	w->req = req;
	w->extra = extra_headers;
	w->last_id = last_id;
	w->due = uv_now(s->loop) + SSE_HOLD_MS;
	w->next = s->waiters;
	if (w->next != NULL)
		w->next->prev = w;
	s->waiters = w;
	w->unext = u->waiters;
	u->waiters = w;
	s->nwaiters++;
}

void
sse_publish(struct sse *s, struct str user, struct str document,
    int64_t timestamp, const char *kind)
{
	struct sse_user *u = user_get(s, user, true);
	struct sse_event *e;
	struct sse_waiter *w, *next;

	if (u->n == SSE_RING) {
		e = &u->ring[u->head];
		free(e->document);
		e->document = NULL;
		u->head = (u->head + 1) % SSE_RING;
		u->n--;
	}
	e = &u->ring[(u->head + u->n) % SSE_RING];
	u->n++;
	e->id = ++s->seq;
	e->timestamp = timestamp;
	e->kind = kind;
	e->document = xmemdup0(document.p, document.len);
	u->last_used = e->id;
	/* Take the user's waiters off it first, then answer each. */
	w = u->waiters;
	u->waiters = NULL;
	for (; w != NULL; w = next) {
		next = w->unext;
		waiter_answer(s, w);
	}
}

void
sse_shutdown(struct sse *s)
{
	s->closed = true;
	while (s->waiters != NULL)
		waiter_answer(s, s->waiters);
}
