/*
 * store.c: dispatch from the store interface to the backend behind it
 * (through its struct store_ops), and the backend-independent helpers of
 * the interface (documents, pages, cursors).
 *
 * Not here: which backends exist and how each is opened (store_open.c).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db.h"
#include "json.h"
#include "store_backend.h"
#include "xmalloc.h"

void
store_flush(struct store *st, void (*done)(void *arg), void *arg)
{
	st->ops->flush(st, done, arg);
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

void
store_user_create(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	st->ops->user_create(st, user, key, cb, arg);
}

void
store_user_auth(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	st->ops->user_auth(st, user, key, cb, arg);
}

void
store_user_delete(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	st->ops->user_delete(st, user, key, cb, arg);
}

void
store_user_set_key(struct store *st, struct str user, struct str key,
    struct str new_key, store_cb *cb, void *arg)
{
	st->ops->user_set_key(st, user, key, new_key, cb, arg);
}

size_t
store_push_packed_size(const struct store_push *push)
{
	return str_packed_size(push->document) +
	       str_packed_size(push->progress) + str_packed_size(push->device) +
	       str_packed_size(push->device_id) +
	       str_packed_size(push->filename) + str_packed_size(push->title) +
	       str_packed_size(push->authors) + str_packed_size(push->peer) +
	       str_packed_size(push->agent);
}

struct store_push
store_push_pack(char **p, const struct store_push *push)
{
	struct store_push c;

	memset(&c, 0, sizeof(c));
	c.document = str_pack(p, push->document);
	c.percentage = push->percentage;
	c.client_ts = push->client_ts;
	c.peer = str_pack(p, push->peer);
	c.agent = str_pack(p, push->agent);
	c.progress = str_pack(p, push->progress);
	c.device = str_pack(p, push->device);
	c.device_id = str_pack(p, push->device_id);
	c.has_metadata = push->has_metadata;
	if (push->has_metadata) {
		c.filename = str_pack(p, push->filename);
		c.title = str_pack(p, push->title);
		c.authors = str_pack(p, push->authors);
	}
	return c;
}

/* A push on its way while a listener is set (store_listen). */
struct put_watch {
	struct store *st;
	store_cb *cb;
	void *arg;
	size_t user_len;
	size_t doc_len;
	char s[]; /* user, then document */
};

static void
put_watched(void *arg, const struct store_reply *r)
{
	struct put_watch *w = arg;
	struct store *st = w->st;
	enum store_result res = r->result;
	int64_t ts = r->timestamp;

	w->cb(w->arg, r);
	if (res == STORE_OK && st->listen_fn != NULL)
		st->listen_fn(st->listen_arg, (struct str){w->s, w->user_len},
		    (struct str){w->s + w->user_len, w->doc_len}, ts);
	free(w);
}

void
store_progress_put(struct store *st, struct str user, struct str key,
    const struct store_push *push, store_cb *cb, void *arg)
{
	struct put_watch *w;

	if (st->listen_fn == NULL) {
		st->ops->progress_put(st, user, key, push, cb, arg);
		return;
	}
	w = xmalloc(sizeof(*w) + user.len + push->document.len + 1);
	w->st = st;
	w->cb = cb;
	w->arg = arg;
	w->user_len = user.len;
	w->doc_len = push->document.len;
	if (user.len > 0)
		memcpy(w->s, user.p, user.len);
	if (push->document.len > 0)
		memcpy(w->s + user.len, push->document.p, push->document.len);
	w->s[user.len + push->document.len] = '\0';
	st->ops->progress_put(st, user, key, push, put_watched, w);
}

void
store_listen(struct store *st, store_listen_fn *fn, void *arg)
{
	st->listen_fn = fn;
	st->listen_arg = arg;
}

void
store_listen_accounts(struct store *st, store_account_fn *fn, void *arg)
{
	st->account_fn = fn;
	st->account_arg = arg;
}

void
store_account_changed(struct store *st, struct str user)
{
	if (st->account_fn != NULL)
		st->account_fn(st->account_arg, user);
}

void
store_progress_get(struct store *st, struct str user, struct str key,
    struct str document, store_cb *cb, void *arg)
{
	st->ops->progress_get(st, user, key, document, cb, arg);
}

/*
 * Administration: forwarded when the backend has the operation, otherwise
 * answered STORE_ERR_UNAVAILABLE.
 */

static void
unsupported(store_cb *cb, void *arg)
{
	struct store_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.result = STORE_ERR_UNAVAILABLE;
	cb(arg, &rep);
}

void
store_admin_user_set_key(struct store *st, struct str user, struct str new_key,
    store_cb *cb, void *arg)
{
	if (st->ops->admin_user_set_key == NULL)
		unsupported(cb, arg);
	else
		st->ops->admin_user_set_key(st, user, new_key, cb, arg);
}

void
store_admin_user_delete(
    struct store *st, struct str user, store_cb *cb, void *arg)
{
	if (st->ops->admin_user_delete == NULL)
		unsupported(cb, arg);
	else
		st->ops->admin_user_delete(st, user, cb, arg);
}

void
store_admin_user_list(struct store *st, const struct store_page *page,
    store_text_cb *cb, void *arg)
{
	if (st->ops->admin_user_list == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_user_list(st, page, cb, arg);
}

void
store_admin_dump(struct store *st, store_text_cb *cb, void *arg)
{
	if (st->ops->admin_dump == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_dump(st, cb, arg);
}

void
store_admin_import(struct store *st, const char *text, size_t len,
    store_text_cb *cb, void *arg)
{
	if (st->ops->admin_import == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_import(st, text, len, cb, arg);
}

void
store_admin_compact(struct store *st, store_text_cb *cb, void *arg)
{
	if (st->ops->admin_compact == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->admin_compact(st, cb, arg);
}

void
store_config_save(struct store *st, store_text_cb *cb, void *arg)
{
	if (st->ops->config_save != NULL)
		st->ops->config_save(st, cb, arg);
	else
		store_admin_compact(st, cb, arg);
}

void
store_web_documents(struct store *st, struct str user, struct str document,
    bool history, const struct store_page *page, store_text_cb *cb, void *arg)
{
	assert(page != NULL && page->limit > 0);
	if (st->ops->web_documents == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->web_documents(
		    st, user, document, history, page, cb, arg);
}

void
store_web_change(struct store *st, struct str user,
    const struct store_web_change *ch, store_cb *cb, void *arg)
{
	if (st->ops->web_change == NULL)
		unsupported(cb, arg);
	else
		st->ops->web_change(st, user, ch, cb, arg);
}

void
store_user_admin(struct store *st, struct str user, store_cb *cb, void *arg)
{
	if (st->ops->user_admin == NULL)
		unsupported(cb, arg);
	else
		st->ops->user_admin(st, user, cb, arg);
}

/* A backend without device credentials: user_auth, refusing them. */
struct signin {
	store_cb *cb;
	void *arg;
};

static void
signin_cb(void *arg, const struct store_reply *r)
{
	struct signin *s = arg;
	struct store_reply rep = *r;

	if (rep.result == STORE_OK && rep.devcred != NULL)
		rep.result = STORE_ERR_AUTH;
	rep.devcred = NULL;
	s->cb(s->arg, &rep);
	free(s);
}

void
store_user_signin(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg)
{
	struct signin *s;

	if (st->ops->user_signin != NULL) {
		st->ops->user_signin(st, user, key, cb, arg);
		return;
	}
	s = xmalloc(sizeof(*s));
	s->cb = cb;
	s->arg = arg;
	st->ops->user_auth(st, user, key, signin_cb, s);
}

void
store_device_change(struct store *st, struct str user,
    const struct store_device_change *ch, store_cb *cb, void *arg)
{
	if (ch->kind == STORE_PROGRESS_POLICY && st->ops->policy_set != NULL)
		st->ops->policy_set(st, user, ch->policy, cb, arg);
	else if ((ch->kind == STORE_DEVICE_NAME ||
	             ch->kind == STORE_DEVICE_FORGET) &&
	         st->ops->devname_set != NULL)
		st->ops->devname_set(st, user, ch, cb, arg);
	else if (st->ops->device_change == NULL)
		unsupported(cb, arg);
	else
		st->ops->device_change(st, user, ch, cb, arg);
}

void
store_device_list(
    struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	if (st->ops->device_list == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->device_list(st, user, cb, arg);
}

void
store_events_set(struct store *st, struct str user, bool feed, struct str text,
    store_cb *cb, void *arg)
{
	if (st->ops->events_set == NULL)
		unsupported(cb, arg);
	else
		st->ops->events_set(st, user, feed, text, cb, arg);
}

void
store_events_get(
    struct store *st, struct str user, store_events_fn *cb, void *arg)
{
	if (st->ops->events_get == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, STR_NULL, STR_NULL);
	else
		st->ops->events_get(st, user, cb, arg);
}

void
store_feed_user(
    struct store *st, struct str token, store_text_cb *cb, void *arg)
{
	if (st->ops->feed_user == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->feed_user(st, token, cb, arg);
}

void
store_device_used(struct store *st, struct str user, const char *id,
    const struct store_device_use *use)
{
	if (st->ops->device_used != NULL && id != NULL)
		st->ops->device_used(st, user, id, use);
}

void
store_device_audit(struct store *st, struct str user, struct str id,
    store_text_cb *cb, void *arg)
{
	if (st->ops->device_audit == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->device_audit(st, user, id, cb, arg);
}

/* The names are db.c's, which database.json's audit uses too. */
const char *
store_device_what_name(enum store_device_what what)
{
	return db_audit_what_name((uint8_t)what);
}

void
store_device_audit_entry(struct json_out *o, int64_t time,
    enum store_device_what what, struct str address, struct str agent,
    struct str document)
{
	json_obj_begin(o);
	json_key(o, "time");
	json_int(o, time);
	json_key(o, "what");
	json_str(o, store_device_what_name(what));
	json_key(o, "address");
	json_strn(o, address.p ? address.p : "", address.p ? address.len : 0);
	json_key(o, "agent");
	json_strn(o, agent.p ? agent.p : "", agent.p ? agent.len : 0);
	if (document.p != NULL) {
		json_key(o, "document");
		json_strn(o, document.p, document.len);
	}
	json_obj_end(o);
}

void
store_listen_first_use(struct store *st, store_first_use_fn *fn, void *arg)
{
	st->first_use_fn = fn;
	st->first_use_arg = arg;
}

void
store_device_first_use(struct store *st, struct str user, const char *id,
    const char *label, struct str device)
{
	if (st->first_use_fn != NULL)
		st->first_use_fn(st->first_use_arg, user, id, label, device);
}

void
store_device_note(struct store *st, struct str user, const char *id,
    enum store_device_what what, const char *peer, const struct str *agent,
    const struct store_push *push, struct str document)
{
	struct store_device_use use;

	if (id == NULL)
		return;
	memset(&use, 0, sizeof(use));
	use.when = (int64_t)time(NULL);
	use.what = what;
	use.document = document;
	use.address = str_from(peer);
	if (agent != NULL)
		use.agent =
		    (struct str){agent->p, agent->len < 200 ? agent->len : 200};
	if (push != NULL) {
		use.device = push->device;
		use.device_id = push->device_id;
		use.document = push->document;
	}
	store_device_used(st, user, id, &use);
}

void
store_policy_get(
    struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	if (st->ops->policy_get == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->policy_get(st, user, cb, arg);
}

void
store_device_names(
    struct store *st, struct str user, store_text_cb *cb, void *arg)
{
	if (st->ops->devnames_get == NULL)
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
	else
		st->ops->devnames_get(st, user, cb, arg);
}

void
store_progress_pulled(
    struct store *st, struct str user, struct str document, uint64_t client)
{
	if (st->ops->progress_pulled != NULL)
		st->ops->progress_pulled(st, user, document, client);
}

void
store_stats(struct store *st, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (st->ops->stats != NULL)
		st->ops->stats(st, out);
}

bool
store_is_shared(const struct store *st)
{
	return st != NULL && st->ops->command != NULL;
}

int
store_command(struct store *st, store_command_fn *fn, void *priv, int argc,
    const char **argv, const size_t *lens)
{
	if (st == NULL || st->ops->command == NULL)
		return -1;
	return st->ops->command(st, fn, priv, argc, argv, lens);
}

const char *
store_config_home(const struct store *st)
{
	return st != NULL ? st->ops->config_home : NULL;
}

/*
 * Cursors
 */

void
store_page_next(struct json_out *o, enum store_page_kind kind, bool more,
    int64_t ts, struct str id)
{
	static const char hex[] = "0123456789abcdef";
	char c[STORE_PAGE_CURSOR_MAX + 1];
	size_t n, i;
	int w;

	if (!more) {
		json_null(o);
		return;
	}
	if (kind == STORE_PAGE_USERS)
		w = snprintf(c, sizeof(c), "%c", (char)kind);
	else
		w = snprintf(c, sizeof(c), "%c%lld%s", (char)kind,
		    (long long)ts, kind != STORE_PAGE_HISTORY ? "." : "");
	n = w > 0 ? (size_t)w : 0;
	for (i = 0;
	     kind != STORE_PAGE_HISTORY && i < id.len && n + 2 < sizeof(c);
	     i++) {
		c[n++] = hex[(unsigned char)id.p[i] >> 4];
		c[n++] = hex[(unsigned char)id.p[i] & 15];
	}
	json_strn(o, c, n);
}

bool
store_page_after(const struct store_page *page, int64_t ts, struct str id)
{
	size_t n = id.len < page->id.len ? id.len : page->id.len;
	int c;

	if (!page->after)
		return true;
	if (ts != page->ts)
		return ts < page->ts;
	c = n > 0 ? memcmp(id.p, page->id.p, n) : 0;
	return c > 0 || (c == 0 && id.len > page->id.len);
}

int
store_page_parse(struct str cursor, enum store_page_kind kind, char *idbuf,
    size_t cap, struct store_page *page)
{
	const char *p = cursor.p, *end = cursor.p + cursor.len;
	long long v = 0;
	bool neg = false, digits = false;
	size_t n = 0;
	int hi, lo;

	if (cursor.len < 2 || cursor.len > STORE_PAGE_CURSOR_MAX ||
	    *p++ != (char)kind)
		return -1;
	if (kind != STORE_PAGE_USERS) {
		if (kind == STORE_PAGE_DOCS && p < end && *p == '-') {
			neg = true;
			p++;
		}
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*p - '0');
			digits = true;
		}
		if (!digits)
			return -1;
		if (kind == STORE_PAGE_HISTORY) {
			if (p != end)
				return -1;
		} else if (p == end || *p++ != '.') {
			return -1;
		}
	}
	if ((size_t)(end - p) % 2 != 0)
		return -1;
	for (; p < end; p += 2) {
		/* Lower-case digits only, as store_page_next writes them. */
		if ((p[0] >= 'A' && p[0] <= 'F') ||
		    (p[1] >= 'A' && p[1] <= 'F'))
			return -1;
		hi = str_hex_digit(p[0]);
		lo = str_hex_digit(p[1]);
		if (hi < 0 || lo < 0 || n + 1 >= cap)
			return -1;
		idbuf[n++] = (char)(hi << 4 | lo);
	}
	if (kind != STORE_PAGE_HISTORY && n == 0)
		return -1;
	idbuf[n] = '\0';
	page->after = true;
	page->ts = neg ? -(int64_t)v : (int64_t)v;
	page->id = (struct str){idbuf, n};
	return 0;
}

bool
store_document_valid(struct str d, bool stored)
{
	uint64_t w;
	size_t i;
	unsigned char ch;

	if (d.len == 0 || d.len > STORE_MAX_DOCUMENT)
		return false;
	if (!stored && d.len <= 2 && d.p[0] == '.' &&
	    (d.len == 1 || d.p[1] == '.'))
		return false;
	/*
	 * Eight bytes at a time up to a word with a byte below 0x20, ':', '/'
	 * or 0x7f (buf.h's word tests); the loop below finds it, or checks
	 * the tail.
	 */
	for (i = 0; i + 8 <= d.len; i += 8) {
		memcpy(&w, d.p + i, sizeof(w));
		if ((word_bytes_below(w, 0x20) | word_bytes_eq(w, ':') |
		        word_bytes_eq(w, '/') | word_bytes_eq(w, 0x7f)) &
		    WORD_HIGH_BITS)
			break;
	}
	for (; i < d.len; i++) {
		ch = (unsigned char)d.p[i];
		if (ch == ':' || ch == '/' || ch < 0x20 || ch == 0x7f)
			return false;
	}
	return json_utf8_valid(d.p, d.len);
}
