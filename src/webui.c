/*
 * webui.c: the web interface: embedded files, sign-in, and the JSON API
 * under /api/v1/ (see webui.h, docs/web.md and docs/api.md).
 *
 * Every API answer is JSON with Cache-Control: no-store; errors are
 * {"code":N,"message":"..."} with N the HTTP status. Order of checks for
 * an API request: route (404, 405), session cookie (401), CSRF token and
 * Origin on anything but GET (403), administrator (403: the account's
 * flag, store_user_admin, asked each time), body (400), then the store. A
 * document of someone else is simply not found (404): a session only ever
 * reaches its own user's data.
 *
 * Per-request state lives in http_alloc() memory. Store callbacks may run
 * before the store call returns or later; either way the request is
 * answered exactly once. So may the session's: sessions live in memory, or
 * in Redis with the Redis backend (session.h), where looking one up, signing
 * in or out, and ending a user's sessions after a password change or an
 * account deletion take a round trip, and act for every instance on that
 * Redis; when Redis cannot be reached the answer is 503.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "davweb.h"
#include "feed.h"
#include "json.h"
#include "libfile.h"
#include "libupload.h"
#include "libweb.h"
#include "log.h"
#include "md5.h"
#include "policy.h"
#include "ratelimit.h"
#include "router.h"
#include "session.h"
#include "pubsub.h"
#include "sse.h"
#include "statscalc.h"
#include "statsdb.h"
#include "statsvc.h"
#include "tzif.h"
#include "store.h"
#include "webhook.h"
#include "webui.h"
#include "xmalloc.h"

#define WEB_COOKIE "kosyncd_session"
#define WEB_MAX_SESSIONS 10000
#define WEB_MAX_PASSWORD 1024 /* bytes of a typed password */
#define WEB_FEED_TOKEN_LEN FEED_TOKEN_LEN
#define W_STR2(x) #x
#define W_STR(x) W_STR2(x)

/* Headers of every answer from here. */
#define WEB_SECURITY                                                           \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"Referrer-Policy: no-referrer\r\n"                                     \
	"X-Frame-Options: DENY\r\n"
#define WEB_API_HEADERS "Cache-Control: no-store\r\n" WEB_SECURITY
#define WEB_CSP                                                                \
	"Content-Security-Policy: default-src 'none'; script-src 'self'; "     \
	"style-src 'self'; img-src 'self' data:; connect-src 'self'; "         \
	"manifest-src 'self'; "                                                \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n"

struct webui {
	uv_loop_t *loop;
	struct store *st;
	struct config *cfg;
	const char *base; /* the front's base path ("" for none), borrowed */
	size_t base_len;
	struct sessions *sessions;
	struct sse *sse;
	struct pubsub *sh;     /* several instances on Redis, or NULL */
	struct ratelimit *rl;  /* the server's one limiter (borrowed) */
	struct statsvc *stats; /* reading statistics, or NULL (borrowed) */
	struct library *lib;   /* the library index, or NULL (borrowed) */
	struct dav *dav;       /* the WebDAV files (borrowed) */
	struct webhook *hooks; /* events out (owned) */
	char (*etags)[20];     /* per asset: "\"<16 hex>\"" */
	struct buf out;
	struct buf scratch;
	size_t exports; /* exports in flight (WEB_EXPORT_MAX_RUNNING) */
};

/* An export in flight (h_export): what it has written so far. */
struct wexport {
	struct buf out;        /* the file, growing page by page */
	struct json_out o;     /* JSON: the writer on out */
	struct json_arena mem; /* the current page's parse */
	bool csv;
};

/* One API request in flight (http_alloc memory). */
struct wcall {
	struct webui *w;
	struct http_request *req;
	const struct json_value *body;
	struct str token; /* the session cookie, as sent */
	struct str user;  /* the session's user (copied) */
	struct str param; /* decoded route parameter */
	struct str name;  /* a user name from the body */
	char key[MD5_HEX_LEN + 1];
	char key2[MD5_HEX_LEN + 1];
	struct store_web_change ch;
	bool flag;
	const struct route *wr; /* the route */
	bool rekey;             /* an administrator sets a password */
	bool signed_in;         /* sess is the request's session */
	bool admin;             /* W_ADMIN, W_ADMIN_ASK: an administrator */
	struct session sess;    /* user points to http_alloc memory */
	struct store_page page; /* a list's page (?limit, ?cursor) */
	char page_id[STORE_MAX_USERNAME + 1]; /* the cursor's id */
	int status;          /* w_session_json: the answer's status */
	const char *extra;   /* and its extra headers */
	struct wexport *exp; /* GET export: the file so far (malloc) */
	const char *ctype;   /* stats_answer: a download's type, or NULL */
};

static void *w_json_alloc(void *ctx, size_t size);

/*
 * Answers
 */

static int
w_error(struct wcall *c, int status, const char *message)
{
	http_error(c->req, status, WEB_API_HEADERS, message);
	return 0;
}

static struct json_out
w_begin(struct wcall *c)
{
	struct json_out o;

	buf_reset(&c->w->out);
	json_out_init(&o, &c->w->out, false);
	json_obj_begin(&o);
	return o;
}

static int
w_finish(struct wcall *c, struct json_out *o, int status, const char *extra)
{
	json_obj_end(o);
	http_reply_ex(c->req, status, NULL, extra ? extra : WEB_API_HEADERS,
	    c->w->out.data, c->w->out.len);
	return 0;
}

static int
w_store_error(struct wcall *c, enum store_result r)
{
	switch (r) {
	case STORE_ERR_IO:
		return w_error(c, 500, "The change could not be saved.");
	case STORE_ERR_UNAVAILABLE:
		return w_error(
		    c, 503, "Not available with this storage right now.");
	case STORE_ERR_LIMIT:
		return w_error(
		    c, 507, "Storage limit of this account reached.");
	default:
		return w_error(c, 404, "Not found.");
	}
}

/*
 * Cookies, sessions, administrators
 */

/* The value of cookie name in the Cookie header, or a NULL slice. */
static struct str
cookie_get(const struct http_request *req, const char *name)
{
	const struct str *h = http_header_get(req, "cookie", NULL);
	size_t n = strlen(name), i = 0;

	if (h == NULL)
		return STR_NULL;
	while (i < h->len) {
		size_t start;

		while (i < h->len && (h->p[i] == ' ' || h->p[i] == ';'))
			i++;
		start = i;
		while (i < h->len && h->p[i] != ';')
			i++;
		if (i - start > n && memcmp(h->p + start, name, n) == 0 &&
		    h->p[start + n] == '=')
			return (struct str){
			    h->p + start + n + 1, i - start - n - 1};
	}
	return STR_NULL;
}

/* The Set-Cookie header line for token (NULL: remove the cookie). */
static const char *
cookie_header(struct wcall *c, const char *token)
{
	struct webui *w = c->w;
	size_t len =
	    160 + SESSION_TOKEN_LEN + w->base_len + sizeof(WEB_API_HEADERS);
	char *h = http_alloc(c->req, len);
	bool secure = w->cfg->cookie_secure || c->req->is_https;

	snprintf(h, len,
	    "Set-Cookie: " WEB_COOKIE "=%s; Path=%s; Max-Age=%llu; "
	    "HttpOnly; SameSite=Strict%s\r\n" WEB_API_HEADERS,
	    token ? token : "", w->base_len ? w->base : "/",
	    token ? (unsigned long long)w->cfg->session_ttl_s : 0ULL,
	    secure ? "; Secure" : "");
	return h;
}

/*
 * A state-changing request must come from our own page: the CSRF token
 * of its session in X-CSRF-Token, and, when the browser says where it
 * comes from, an Origin whose host is the Host it asked.
 */
static bool
csrf_ok(struct wcall *c, const struct session *s)
{
	const struct str *tok = http_header_get(c->req, "x-csrf-token", NULL);
	const struct str *origin = http_header_get(c->req, "origin", NULL);
	const struct str *host = http_header_get(c->req, "host", NULL);
	const char *p;
	size_t n;

	if (tok == NULL || !session_csrf_ok(s, *tok))
		return false;
	if (origin == NULL)
		return true;
	p = memchr(origin->p, ':', origin->len);
	if (p == NULL || host == NULL ||
	    (size_t)(origin->p + origin->len - p) < 3 || p[1] != '/' ||
	    p[2] != '/')
		return false;
	p += 3;
	n = (size_t)(origin->p + origin->len - p);
	return n == host->len && memcmp(p, host->p, n) == 0;
}

/*
 * A password changed but the user's sessions could not be ended (Redis
 * went away in between): they live on until they expire or sign out.
 */
static void
warn_sessions_left(struct str user)
{
	struct buf b = BUF_INIT;

	log_escape(&b, user, 64);
	log_warnx("web: the password of '%s' changed, but its sessions could "
	          "not be ended (Redis cannot be reached)",
	    b.data);
	buf_release(&b);
}

/* The session user's data is gone: end its sessions, answer 401. */
static int
w_gone(struct wcall *c)
{
	sessions_end_user(c->w->sessions, c->user, STR_NULL, NULL, NULL);
	return w_error(c, 401, "Not signed in.");
}

/*
 * Input
 */

static struct str
body_string(const struct wcall *c, const char *name, size_t max)
{
	const struct json_value *v = json_get(c->body, name);

	if (v == NULL || v->type != JSON_STRING || v->text.len > max ||
	    !json_utf8_valid(v->text.p, v->text.len))
		return STR_NULL;
	return v->text;
}

/* md5 hex of a typed password, as KOReader makes its key. */
static struct str
password_key(struct str pw, char out[MD5_HEX_LEN + 1])
{
	md5_hex(pw.p, pw.len, out);
	return (struct str){out, MD5_HEX_LEN};
}

/* A document id as the web interface takes it: stored ones included. */
static bool
document_valid(struct str d)
{
	return store_document_valid(d, true);
}

/* The value of name in the query string q, as sent, or a NULL slice. */
static struct str
query_raw(struct str q, const char *name)
{
	size_t n = strlen(name), i = 0, start;

	while (i < q.len) {
		start = i;
		while (i < q.len && q.p[i] != '&')
			i++;
		if (i - start > n && memcmp(q.p + start, name, n) == 0 &&
		    q.p[start + n] == '=')
			return (struct str){
			    q.p + start + n + 1, i - start - n - 1};
		if (i - start == n && memcmp(q.p + start, name, n) == 0)
			return (struct str){q.p + i, 0};
		i++;
	}
	return STR_NULL;
}

/*
 * The value of name in the request's query string, percent-decoded into
 * http_alloc memory; a NULL slice when it is absent or not valid (then
 * *bad is set).
 */
static struct str
query_get(struct wcall *c, const char *name, bool *bad)
{
	struct str v = query_raw(c->req->query, name);
	char *out;
	long n;

	if (v.p == NULL)
		return STR_NULL;
	out = http_alloc(c->req, v.len + 1);
	n = str_unescape(v, out);
	if (n < 0) {
		*bad = true;
		return STR_NULL;
	}
	out[n] = '\0';
	return (struct str){out, (size_t)n};
}

/*
 * Read ?limit=N (1..STORE_PAGE_MAX, default STORE_PAGE_DEFAULT) and
 * ?cursor=C (a "next" of the same list) into c->page. Answers 400 and
 * returns false when either is not valid.
 */
static bool
page_args(struct wcall *c, enum store_page_kind kind)
{
	bool bad_limit = false, bad_cursor = false;
	struct str limit = query_get(c, "limit", &bad_limit);
	struct str cursor = query_get(c, "cursor", &bad_cursor);
	size_t i, v = 0;

	memset(&c->page, 0, sizeof(c->page));
	c->page.limit = STORE_PAGE_DEFAULT;
	if (limit.p != NULL || bad_limit) {
		for (i = 0; i < limit.len && i < 4; i++) {
			if (limit.p[i] < '0' || limit.p[i] > '9')
				break;
			v = v * 10 + (size_t)(limit.p[i] - '0');
		}
		if (bad_limit || limit.len == 0 || i != limit.len || v < 1 ||
		    v > STORE_PAGE_MAX) {
			w_error(c, 400,
			    "limit must be a number from 1 to " W_STR(
			        STORE_PAGE_MAX) ".");
			return false;
		}
		c->page.limit = v;
	}
	if (bad_cursor ||
	    (cursor.p != NULL && store_page_parse(cursor, kind, c->page_id,
	                             sizeof(c->page_id), &c->page) != 0)) {
		w_error(c, 400, "cursor must be a next of this list.");
		return false;
	}
	return true;
}

/*
 * Sign-in and session
 */

/* store_cb of w_session_json: the answer, with the administrator flag. */
static void
session_admin_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	struct json_out o = w_begin(c);

	json_key(&o, "username");
	json_strn(&o, c->sess.user, strlen(c->sess.user));
	/* Unknown (Redis away) says no: the admin routes ask again. */
	json_key(&o, "admin");
	json_bool(&o, r->result == STORE_OK);
	json_key(&o, "csrf");
	json_str(&o, c->sess.csrf);
	/* Whether this storage has a library (the Books page, libweb.h). */
	json_key(&o, "library");
	json_bool(&o, c->w->lib != NULL);
	w_finish(c, &o, c->status, c->extra);
}

/*
 * Answer s (borrowed for the call) with status and the extra headers
 * extra (http_alloc memory or static), once the store has said whether
 * its user is an administrator.
 */
static void
w_session_json(
    struct wcall *c, const struct session *s, int status, const char *extra)
{
	size_t len = strlen(s->user);
	char *user = http_alloc(c->req, len + 1);

	memcpy(user, s->user, len + 1);
	if (&c->sess != s)
		memcpy(c->sess.csrf, s->csrf, sizeof(c->sess.csrf));
	c->sess.user = user;
	c->status = status;
	c->extra = extra;
	store_user_admin(
	    c->w->st, (struct str){user, len}, session_admin_cb, c);
}

static void
login_started(void *arg, enum session_result r, const struct session *s,
    const char *token)
{
	struct wcall *c = arg;

	if (r == SESSION_UNAVAILABLE) {
		w_store_error(c, STORE_ERR_UNAVAILABLE);
		return;
	}
	/* Full of other users' sessions: none of them is ended for this. */
	if (r == SESSION_FULL) {
		w_error(
		    c, 503, "Too many people are signed in; try again later.");
		return;
	}
	/* The account went away since the store verified the password. */
	if (r != SESSION_OK) {
		w_error(c, 401, "Wrong username or password.");
		return;
	}
	w_session_json(c, s, 200, cookie_header(c, token));
}

static void
login_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	struct webui *w = c->w;
	uint64_t now = ratelimit_now_ms();

	if (r->result == STORE_ERR_AUTH || r->result == STORE_ERR_NOTFOUND) {
		ratelimit_auth_failed(w->rl, c->name, c->req->peer, now);
		w_error(c, 401, "Wrong username or password.");
		return;
	}
	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	ratelimit_auth_ok(w->rl, c->name, c->req->peer, now);
	sessions_start(w->sessions, c->name, login_started, c);
}

static int
h_login(void *call)
{
	struct wcall *c = call;
	struct str pw;

	c->name = body_string(c, "username", STORE_MAX_USERNAME);
	pw = body_string(c, "password", WEB_MAX_PASSWORD);
	if (c->name.p == NULL || pw.p == NULL || !auth_username_valid(c->name))
		return w_error(c, 400, "Enter your username and password.");
	c->req->log_user = c->name;
	if (!ratelimit_auth_allowed(
	        c->w->rl, c->name, c->req->peer, ratelimit_now_ms()))
		return w_error(
		    c, 429, "Too many failed sign-ins; try again later.");
	/* The account password only (docs/devices.md). */
	store_user_signin(
	    c->w->st, c->name, password_key(pw, c->key), login_cb, c);
	return 0;
}

static void
logout_done(void *arg, enum session_result r)
{
	struct wcall *c = arg;
	struct json_out o;

	if (r == SESSION_UNAVAILABLE) {
		w_store_error(c, STORE_ERR_UNAVAILABLE);
		return;
	}
	o = w_begin(c);
	json_key(&o, "signed_out");
	json_bool(&o, true);
	w_finish(c, &o, 200, cookie_header(c, NULL));
}

static int
h_logout(void *call)
{
	struct wcall *c = call;
	if (c->signed_in)
		sessions_end(c->w->sessions, c->token, logout_done, c);
	else
		logout_done(c, SESSION_OK);
	return 0;
}

/* Who is signed in: the session, or {"username":null} (not an error). */
static int
h_session(void *call)
{
	struct wcall *c = call;
	struct json_out o;

	if (c->signed_in) {
		w_session_json(c, &c->sess, 200, NULL);
		return 0;
	}
	o = w_begin(c);
	json_key(&o, "username");
	json_null(&o);
	return w_finish(c, &o, 200, NULL);
}

/*
 * Documents
 */

/*
 * Write the document object d, its title and authors taken from the
 * reading statistics (by its id, the book's md5) where it has none of its
 * own; "title_from": "statistics" says so. The stored record is untouched.
 */
static void
doc_with_title(struct wcall *c, struct json_out *o, const struct json_value *d)
{
	const struct json_value *m;
	struct str id = json_get_str(d, "document");
	const char *title = NULL, *authors = NULL;
	bool joined = false;

	if (id.p == NULL || !statsvc_title(c->w->stats, c->user.p, c->user.len,
	                        id.p, id.len, &title, &authors)) {
		json_value_write(o, d);
		return;
	}
	json_obj_begin(o);
	for (m = d->child; m != NULL; m = m->next) {
		json_keyn(o, m->key.p, m->key.len);
		if (m->type == JSON_STRING && m->text.len == 0 &&
		    str_eqs(m->key, "title")) {
			json_str(o, title);
			joined = true;
		} else if (m->type == JSON_STRING && m->text.len == 0 &&
		           str_eqs(m->key, "authors") &&
		           strcmp(authors, "N/A") != 0) {
			const char *p;

			/* KOReader separates several authors with '\n'. */
			buf_reset(&c->w->scratch);
			for (p = authors; *p != '\0'; p++) {
				if (*p == '\n')
					buf_adds(&c->w->scratch, ", ");
				else
					buf_addch(&c->w->scratch, *p);
			}
			json_str(o, c->w->scratch.data);
		} else {
			json_value_write(o, m);
		}
	}
	if (joined) {
		json_key(o, "title_from");
		json_str(o, "statistics");
	}
	json_obj_end(o);
}

/*
 * Answer the store's text of documents (one, an array, or an object whose
 * "documents" is an array), with the titles of the reading statistics joined
 * (doc_with_title) when the account has any: only then is it parsed.
 */
static void
reply_documents(struct wcall *c, const char *text, size_t len)
{
	const struct json_value *v, *m, *d;
	struct json_out o;

	if (c->w->stats == NULL ||
	    !statsvc_has_books(c->w->stats, c->user.p, c->user.len) ||
	    (v = json_parse(text, len, w_json_alloc, c->req, NULL)) == NULL) {
		http_reply_ex(c->req, 200, NULL, WEB_API_HEADERS, text, len);
		return;
	}
	buf_reset(&c->w->out);
	json_out_init(&o, &c->w->out, false);
	if (v->type == JSON_ARRAY) {
		json_arr_begin(&o);
		for (d = v->child; d != NULL; d = d->next)
			doc_with_title(c, &o, d);
		json_arr_end(&o);
	} else if (v->type == JSON_OBJECT && json_get(v, "document") != NULL) {
		doc_with_title(c, &o, v);
	} else if (v->type == JSON_OBJECT) {
		json_obj_begin(&o);
		for (m = v->child; m != NULL; m = m->next) {
			json_keyn(&o, m->key.p, m->key.len);
			if (m->type != JSON_ARRAY ||
			    !str_eqs(m->key, "documents")) {
				json_value_write(&o, m);
				continue;
			}
			json_arr_begin(&o);
			for (d = m->child; d != NULL; d = d->next)
				doc_with_title(c, &o, d);
			json_arr_end(&o);
		}
		json_obj_end(&o);
	} else {
		json_value_write(&o, v);
	}
	http_reply_ex(
	    c->req, 200, NULL, WEB_API_HEADERS, c->w->out.data, c->w->out.len);
}

static void
documents_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct wcall *c = arg;

	if (r == STORE_ERR_AUTH) {
		w_gone(c);
		return;
	}
	if (r != STORE_OK) {
		w_store_error(c, r);
		return;
	}
	reply_documents(c, text, len);
}

/*
 * A page of the library (?limit, ?cursor); ?history=1 adds each document's
 * latest history (the sync doctor's view).
 */
static int
h_documents(void *call)
{
	struct wcall *c = call;
	bool bad = false;
	bool history = str_eqs(query_get(c, "history", &bad), "1");

	if (!page_args(c, STORE_PAGE_DOCS))
		return 0;
	store_web_documents(
	    c->w->st, c->user, STR_NULL, history, &c->page, documents_cb, c);
	return 0;
}

static void
document_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct wcall *c = arg;

	if (r == STORE_ERR_AUTH) {
		w_gone(c);
		return;
	}
	if (r != STORE_OK) {
		w_store_error(c, r);
		return;
	}
	/* "[{...}]" holds the document; "[]" means there is none. */
	if (len < 4) {
		w_error(c, 404, "Not found.");
		return;
	}
	reply_documents(c, text + 1, len - 2);
}

/* One document with a page of its history (?limit, ?cursor). */
static int
h_document(void *call)
{
	struct wcall *c = call;
	if (!page_args(c, STORE_PAGE_HISTORY))
		return 0;
	store_web_documents(
	    c->w->st, c->user, c->param, true, &c->page, document_cb, c);
	return 0;
}

static void
change_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	static const char *const kinds[] = {
	    [STORE_WEB_RESTORE] = "restore",
	    [STORE_WEB_RENAME] = "rename",
	    [STORE_WEB_DELETE] = "delete",
	    [STORE_WEB_CONFIG] = "config",
	    [STORE_WEB_LINK] = "merge",
	    [STORE_WEB_UNLINK] = "unmerge",
	    [STORE_WEB_ADMIN] = "admin",
	    [STORE_WEB_PROMOTE] = "promote",
	};
	struct json_out o;

	if (r->result == STORE_ERR_NOTFOUND &&
	    c->ch.kind == STORE_WEB_PROMOTE) {
		w_error(c, 404, "No such held-back push of this document.");
		return;
	}
	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	sse_publish(
	    c->w->sse, c->user, c->param, r->timestamp, kinds[c->ch.kind]);
	pubsub_publish_event(
	    c->w->sh, c->user, c->param, r->timestamp, kinds[c->ch.kind]);
	o = w_begin(c);
	json_key(&o, "document");
	json_strn(&o, c->param.p, c->param.len);
	if (c->ch.kind == STORE_WEB_RESTORE ||
	    c->ch.kind == STORE_WEB_PROMOTE) {
		json_key(&o, "timestamp");
		json_int(&o, r->timestamp);
	}
	json_key(&o, kinds[c->ch.kind]);
	json_bool(&o, true);
	w_finish(c, &o, 200, NULL);
}

static int
h_restore(void *call)
{
	struct wcall *c = call;
	const struct json_value *v = json_get(c->body, "percentage");

	c->ch.kind = STORE_WEB_RESTORE;
	c->ch.document = c->param;
	c->ch.progress = body_string(c, "progress", STORE_MAX_FIELD);
	if (v == NULL || v->type != JSON_NUMBER ||
	    json_number(v, false, &c->ch.percentage) != 0 ||
	    c->ch.progress.p == NULL)
		return w_error(
		    c, 400, "A restore needs percentage and progress.");
	store_web_change(c->w->st, c->user, &c->ch, change_cb, c);
	return 0;
}

/*
 * POST {"timestamp", "percentage", "device_id"}: the held-back push of
 * the document's history with these becomes current (docs/policy.md).
 */
static int
h_promote(void *call)
{
	struct wcall *c = call;
	const struct json_value *ts = json_get(c->body, "timestamp");
	const struct json_value *pc = json_get(c->body, "percentage");
	double t;

	c->ch.kind = STORE_WEB_PROMOTE;
	c->ch.document = c->param;
	c->ch.device_id = body_string(c, "device_id", STORE_MAX_FIELD);
	if (ts == NULL || ts->type != JSON_NUMBER ||
	    json_number(ts, false, &t) != 0 || !(t > -9.2e18 && t < 9.2e18) ||
	    pc == NULL || pc->type != JSON_NUMBER ||
	    json_number(pc, false, &c->ch.percentage) != 0)
		return w_error(c, 400,
		    "A promotion needs the held push's timestamp and "
		    "percentage (numbers) and its device_id.");
	c->ch.at = (int64_t)t;
	store_web_change(c->w->st, c->user, &c->ch, change_cb, c);
	return 0;
}

static int
h_rename(void *call)
{
	struct wcall *c = call;
	c->ch.kind = STORE_WEB_RENAME;
	c->ch.document = c->param;
	c->ch.name = body_string(c, "name", STORE_MAX_METADATA);
	if (c->ch.name.p == NULL)
		return w_error(c, 400, "A name is at most 1024 bytes of text.");
	store_web_change(c->w->st, c->user, &c->ch, change_cb, c);
	return 0;
}

/* Merge {"alias"} into the document, or separate it again. */
static int
h_link(struct wcall *c, enum store_web_kind kind)
{
	c->ch.kind = kind;
	c->ch.document = c->param;
	c->ch.alias = body_string(c, "alias", STORE_MAX_DOCUMENT);
	if (c->ch.alias.p == NULL || !document_valid(c->ch.alias))
		return w_error(c, 400, "alias must be a document id.");
	store_web_change(c->w->st, c->user, &c->ch, change_cb, c);
	return 0;
}

static int
h_merge(void *call)
{
	struct wcall *c = call;
	return h_link(c, STORE_WEB_LINK);
}

static int
h_unmerge(void *call)
{
	struct wcall *c = call;
	return h_link(c, STORE_WEB_UNLINK);
}

static int
h_doc_delete(void *call)
{
	struct wcall *c = call;
	c->ch.kind = STORE_WEB_DELETE;
	c->ch.document = c->param;
	store_web_change(c->w->st, c->user, &c->ch, change_cb, c);
	return 0;
}

/*
 * Export: the account's own data as a download
 */

/* Whether a CSV field must be quoted: a separator, quote or line break. */
static bool
csv_needs_quotes(struct str v)
{
	size_t i;

	for (i = 0; i < v.len; i++) {
		if (v.p[i] == ',' || v.p[i] == '"' || v.p[i] == '\n' ||
		    v.p[i] == '\r')
			return true;
	}
	return false;
}

/*
 * Append v to b as one CSV field (RFC 4180). A text that a spreadsheet
 * would run as a formula (starting with = + - @, a tab or a carriage
 * return) gets a leading "'" so that it stays text; numbers are written
 * by csv_num.
 */
static void
csv_field(struct buf *b, struct str v)
{
	bool formula = v.len > 0 && strchr("=+-@\t\r", v.p[0]) != NULL;
	size_t i;

	if (!formula && !csv_needs_quotes(v)) {
		buf_add(b, v.p, v.len);
		return;
	}
	buf_addch(b, '"');
	if (formula)
		buf_addch(b, '\'');
	for (i = 0; i < v.len; i++) {
		if (v.p[i] == '"')
			buf_addch(b, '"');
		buf_addch(b, v.p[i]);
	}
	buf_addch(b, '"');
}

/* The number member key of obj as its JSON text ("" when absent). */
static struct str
csv_num(const struct json_value *obj, const char *key)
{
	const struct json_value *v = json_get(obj, key);

	return v != NULL && v->type == JSON_NUMBER ? v->text : STR_LIT("");
}

#define EXPORT_CSV_HEAD                                                        \
	"document,title,authors,filename,your_title,kind,percentage,"          \
	"progress,device,device_id,timestamp,time_utc\r\n"

/* Append the unix time ts (a JSON number's text) as ISO 8601 UTC. */
static void
csv_time(struct buf *b, struct str ts)
{
	char when[32] = "", num[24], *end;
	long long t = 0;
	struct tm tm;
	time_t tt;

	if (ts.len > 0 && ts.len < sizeof(num)) {
		memcpy(num, ts.p, ts.len);
		num[ts.len] = '\0';
		t = strtoll(num, &end, 10);
		if (*end != '\0')
			t = 0;
	}
	tt = (time_t)t;
	if (t > 0 && gmtime_r(&tt, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_adds(b, when);
}

/*
 * One CSV row (EXPORT_CSV_HEAD's columns): the names of document d, then
 * kind and the position e (d itself for the current one).
 */
static void
csv_row(struct buf *b, const struct json_value *d, const char *kind,
    const struct json_value *e)
{
	static const char *const names[] = {
	    "document", "title", "authors", "filename", "pretty_name"};
	static const char *const pos[] = {"progress", "device", "device_id"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		csv_field(b, json_get_str(d, names[i]));
		buf_addch(b, ',');
	}
	buf_addf(b, "%s,", kind);
	buf_addstr(b, csv_num(e, "percentage"));
	for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		buf_addch(b, ',');
		csv_field(b, json_get_str(e, pos[i]));
	}
	buf_addch(b, ',');
	buf_addstr(b, csv_num(e, "timestamp"));
	buf_addch(b, ',');
	csv_time(b, csv_num(e, "timestamp"));
	buf_adds(b, "\r\n");
}

/*
 * One CSV row per position of document d: kind "current", then "device"
 * (each device's latest) and "history" (oldest first).
 */
static void
csv_document(struct buf *b, const struct json_value *d)
{
	static const char *const lists[] = {"devices", "history"};
	static const char *const kinds[] = {"device", "history"};
	const struct json_value *l, *e;
	size_t i;

	csv_row(b, d, "current", d);
	for (i = 0; i < 2; i++) {
		l = json_get(d, lists[i]);
		if (l == NULL || l->type != JSON_ARRAY)
			continue;
		for (e = l->child; e != NULL; e = e->next)
			csv_row(b, d, kinds[i], e);
	}
}

/* End an export: free what it holds (the answer was given). */
static void
export_free(struct wcall *c)
{
	if (c->exp == NULL)
		return;
	json_arena_release(&c->exp->mem);
	buf_release(&c->exp->out);
	free(c->exp);
	c->exp = NULL;
	c->w->exports--;
}

/* Answer the finished export as a download named after the user. */
static void
export_send(struct wcall *c)
{
	struct wexport *x = c->exp;
	char day[16] = "export", *hdr;
	size_t i, len = c->user.len + 256 + sizeof(WEB_API_HEADERS);
	time_t now = time(NULL);
	struct tm tm;
	struct buf name = BUF_INIT;

	if (gmtime_r(&now, &tm) != NULL)
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	/* The file name keeps letters, digits, '.', '-' and '_' only. */
	for (i = 0; i < c->user.len; i++) {
		char ch = c->user.p[i];
		bool plain = (ch >= 'a' && ch <= 'z') ||
		             (ch >= 'A' && ch <= 'Z') ||
		             (ch >= '0' && ch <= '9') || ch == '.' ||
		             ch == '-' || ch == '_';

		buf_addch(&name, plain ? ch : '_');
	}
	hdr = http_alloc(c->req, len);
	snprintf(hdr, len,
	    "Content-Disposition: attachment; "
	    "filename=\"kosyncd-%s-%s.%s\"\r\n" WEB_API_HEADERS,
	    name.data, day, x->csv ? "csv" : "json");
	buf_release(&name);
	http_reply_ex(c->req, 200,
	    x->csv ? "text/csv; charset=utf-8"
	           : "application/json; charset=utf-8",
	    hdr, x->out.data, x->out.len);
	export_free(c);
}

/*
 * store_text_cb of h_export: one page of the documents (with their
 * history) added to the file; the next page asked for, or the file sent.
 * Over WEB_EXPORT_MAX_BYTES the export stops with 413.
 */
static void
export_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct wcall *c = arg;
	struct wexport *x = c->exp;
	const struct json_value *v, *list, *d, *next;

	json_arena_release(&x->mem);
	if (r != STORE_OK) {
		export_free(c);
		if (r == STORE_ERR_AUTH)
			w_gone(c);
		else
			w_store_error(c, r);
		return;
	}
	v = json_parse(text, len, json_arena_alloc, &x->mem, NULL);
	list = v != NULL ? json_get(v, "documents") : NULL;
	next = v != NULL ? json_get(v, "next") : NULL;
	if (list == NULL || list->type != JSON_ARRAY) {
		export_free(c);
		w_error(c, 500, "The store gave an answer that is not valid.");
		return;
	}
	for (d = list->child; d != NULL; d = d->next) {
		if (x->csv)
			csv_document(&x->out, d);
		else
			doc_with_title(c, &x->o, d);
	}
	if (x->out.len > WEB_EXPORT_MAX_BYTES) {
		export_free(c);
		w_error(c, 413,
		    "The export is larger than the server allows "
		    "(" W_STR(WEB_EXPORT_MAX_MIB) " MiB).");
		return;
	}
	if (next != NULL && next->type == JSON_STRING &&
	    store_page_parse(next->text, STORE_PAGE_DOCS, c->page_id,
	        sizeof(c->page_id), &c->page) == 0) {
		c->page.limit = STORE_PAGE_MAX;
		store_web_documents(
		    c->w->st, c->user, STR_NULL, true, &c->page, export_cb, c);
		return;
	}
	if (!x->csv) {
		json_arr_end(&x->o);
		json_obj_end(&x->o);
	}
	export_send(c);
}

/*
 * GET export?format=json|csv: every document of the account with its
 * positions per device and its newest history (STORE_LIST_HISTORY each),
 * as a download (docs/api.md). WEB_EXPORT_MAX_RUNNING at a time.
 */
static int
h_export(void *call)
{
	struct wcall *c = call;
	bool bad = false;
	struct str format = query_get(c, "format", &bad);
	bool csv = str_eqs(format, "csv");

	if (bad || (format.p != NULL && !csv && !str_eqs(format, "json")))
		return w_error(c, 400, "format must be json or csv.");
	if (c->w->exports >= WEB_EXPORT_MAX_RUNNING)
		return w_error(c, 429, "Too many exports at once; try again.");
	c->w->exports++;
	c->exp = xcalloc(1, sizeof(*c->exp));
	buf_init(&c->exp->out);
	c->exp->csv = csv;
	if (csv) {
		buf_adds(&c->exp->out, EXPORT_CSV_HEAD);
	} else {
		json_out_init(&c->exp->o, &c->exp->out, false);
		json_obj_begin(&c->exp->o);
		json_key(&c->exp->o, "username");
		json_strn(&c->exp->o, c->user.p, c->user.len);
		json_key(&c->exp->o, "exported");
		json_int(&c->exp->o, (int64_t)time(NULL));
		json_key(&c->exp->o, "documents");
		json_arr_begin(&c->exp->o);
	}
	memset(&c->page, 0, sizeof(c->page));
	c->page.limit = STORE_PAGE_MAX;
	store_web_documents(
	    c->w->st, c->user, STR_NULL, true, &c->page, export_cb, c);
	return 0;
}

static int
h_events(void *call)
{
	struct wcall *c = call;
	const struct str *h = http_header_get(c->req, "last-event-id", NULL);
	unsigned long long id = 0;
	char tmp[24];

	if (h != NULL && h->len > 0 && h->len < sizeof(tmp)) {
		memcpy(tmp, h->p, h->len);
		tmp[h->len] = '\0';
		id = strtoull(tmp, NULL, 10);
	}
	sse_wait(c->w->sse, c->req, c->user, id, WEB_API_HEADERS);
	return 0;
}

/*
 * Account
 */

static void
password_done(void *arg, enum session_result r)
{
	struct wcall *c = arg;
	struct json_out o;

	if (r == SESSION_UNAVAILABLE)
		warn_sessions_left(c->user);
	o = w_begin(c);
	json_key(&o, "updated");
	json_bool(&o, true);
	w_finish(c, &o, 200, NULL);
}

static void
password_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	uint64_t now = ratelimit_now_ms();

	if (r->result == STORE_ERR_AUTH) {
		ratelimit_auth_failed(c->w->rl, c->user, c->req->peer, now);
		w_error(c, 403, "The current password is wrong.");
		return;
	}
	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	/* Every other session of the user ends with the old password. */
	sessions_end_user(c->w->sessions, c->user, c->token, password_done, c);
}

static int
h_password(void *call)
{
	struct wcall *c = call;
	struct str cur = body_string(c, "current", WEB_MAX_PASSWORD);
	struct str pw = body_string(c, "password", WEB_MAX_PASSWORD);

	if (cur.p == NULL || pw.p == NULL || pw.len == 0)
		return w_error(c, 400, "Enter the current and a new password.");
	if (!ratelimit_auth_allowed(
	        c->w->rl, c->user, c->req->peer, ratelimit_now_ms()))
		return w_error(c, 429, "Too many wrong passwords; try later.");
	store_user_set_key(c->w->st, c->user, password_key(cur, c->key),
	    password_key(pw, c->key2), password_cb, c);
	return 0;
}

/*
 * The account is gone. On Redis its sessions are dead already (a lookup
 * checks that the account exists); ending them only tidies up.
 */
static void
account_deleted(void *arg, enum session_result r)
{
	struct wcall *c = arg;
	struct json_out o;

	(void)r;
	o = w_begin(c);
	json_key(&o, "deleted");
	json_bool(&o, true);
	w_finish(c, &o, 200, cookie_header(c, NULL));
}

static void
account_delete_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;

	if (r->result == STORE_ERR_AUTH) {
		ratelimit_auth_failed(
		    c->w->rl, c->user, c->req->peer, ratelimit_now_ms());
		w_error(c, 403, "The password is wrong.");
		return;
	}
	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	statsvc_forget(c->w->stats, c->user.p, c->user.len);
	sessions_end_user(
	    c->w->sessions, c->user, STR_NULL, account_deleted, c);
}

static int
h_account_delete(void *call)
{
	struct wcall *c = call;
	struct str pw = body_string(c, "password", WEB_MAX_PASSWORD);

	if (pw.p == NULL)
		return w_error(c, 400, "Enter your password to confirm.");
	if (!ratelimit_auth_allowed(
	        c->w->rl, c->user, c->req->peer, ratelimit_now_ms()))
		return w_error(c, 429, "Too many wrong passwords; try later.");
	store_user_delete(
	    c->w->st, c->user, password_key(pw, c->key), account_delete_cb, c);
	return 0;
}

/*
 * Administration
 */

static void
users_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct wcall *c = arg;

	if (r != STORE_OK) {
		w_store_error(c, r);
		return;
	}
	http_reply_ex(c->req, 200, NULL, WEB_API_HEADERS, text, len);
}

/* A page of the user list (?limit, ?cursor). */
static int
h_users(void *call)
{
	struct wcall *c = call;
	if (!page_args(c, STORE_PAGE_USERS))
		return 0;
	store_admin_user_list(c->w->st, &c->page, users_cb, c);
	return 0;
}

static void
user_done(void *arg, enum session_result r)
{
	struct wcall *c = arg;
	struct json_out o;

	/* After a deletion the sessions are dead anyway (see above). */
	if (r == SESSION_UNAVAILABLE && c->rekey)
		warn_sessions_left(c->name);
	o = w_begin(c);
	json_key(&o, "username");
	json_strn(&o, c->name.p, c->name.len);
	w_finish(c, &o, c->flag ? 201 : 200, NULL);
}

static void
user_done_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;

	if (r->result == STORE_ERR_EXISTS) {
		w_error(c, 409, "That username is taken.");
		return;
	}
	if (r->result == STORE_ERR_AUTH && !c->flag) {
		w_error(c, 404, "No such user.");
		return;
	}
	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	if (c->req->method == HTTP_M_DELETE)
		statsvc_forget(c->w->stats, c->name.p, c->name.len);
	/* A new password or a deleted account ends that user's sessions. */
	if (!c->flag)
		sessions_end_user(
		    c->w->sessions, c->name, STR_NULL, user_done, c);
	else
		user_done(c, SESSION_OK);
}

static int
h_user_create(void *call)
{
	struct wcall *c = call;
	struct str pw = body_string(c, "password", WEB_MAX_PASSWORD);

	c->name = body_string(c, "username", STORE_MAX_USERNAME);
	if (c->name.p == NULL || pw.p == NULL || pw.len == 0 ||
	    !auth_username_registrable(c->name))
		return w_error(c, 400,
		    "A username (no ':', no space at either end, accented "
		    "letters precomposed) and a password are needed.");
	c->flag = true;
	store_user_create(
	    c->w->st, c->name, password_key(pw, c->key), user_done_cb, c);
	return 0;
}

static int
h_user_password(void *call)
{
	struct wcall *c = call;
	struct str pw = body_string(c, "password", WEB_MAX_PASSWORD);

	c->name = c->param;
	c->rekey = true;
	if (pw.p == NULL || pw.len == 0)
		return w_error(c, 400, "Enter a new password.");
	store_admin_user_set_key(
	    c->w->st, c->name, password_key(pw, c->key), user_done_cb, c);
	return 0;
}

static int
h_user_delete(void *call)
{
	struct wcall *c = call;
	c->name = c->param;
	store_admin_user_delete(c->w->st, c->name, user_done_cb, c);
	return 0;
}

static void
settings_json(struct wcall *c)
{
	const struct config *cfg = c->w->cfg;
	enum config_source src = config_source_of(cfg, "disable_registration");
	const char *home = store_config_home(c->w->st);
	struct json_out o = w_begin(c);

	json_key(&o, "registration");
	json_bool(&o, !cfg->disable_registration);
	json_key(&o, "registration_source");
	/* Redis keeps what database.json would (kosyncd:config). */
	json_str(&o, src == CONFIG_SRC_FILE && home != NULL
	                 ? home
	                 : config_source_name(src));
	json_key(&o, "store_history");
	json_bool(&o, cfg->store_history);
	w_finish(c, &o, 200, NULL);
}

static int
h_settings(void *call)
{
	struct wcall *c = call;
	settings_json(c);
	return 0;
}

static void
settings_saved(void *arg, enum store_result r, const char *text, size_t len)
{
	struct wcall *c = arg;

	(void)text;
	(void)len;
	if (r != STORE_OK) {
		w_error(c, 500,
		    "Changed for this run, but the setting could not be "
		    "saved.");
		return;
	}
	settings_json(c);
}

static void
settings_journaled(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	struct buf err = BUF_INIT;

	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	config_set(c->w->cfg, "disable_registration",
	    c->flag ? "false" : "true", CONFIG_SRC_FILE, &err);
	buf_release(&err);
	store_config_save(c->w->st, settings_saved, c);
}

/* GET /api/v1/files/usage: the account's WebDAV files and limits. */
static int
h_files_usage(void *call)
{
	struct wcall *c = call;

	davweb_usage(c->req, c->w->dav, c->w->cfg, c->user, WEB_API_HEADERS);
	return 0;
}

/* GET /api/v1/admin/users/:user/files: an account's files (WebDAV). */
static int
h_user_files(void *call)
{
	struct wcall *c = call;

	if (!auth_username_valid(c->param))
		return w_error(c, 404, "Not found.");
	davweb_usage(c->req, c->w->dav, c->w->cfg, c->param, WEB_API_HEADERS);
	return 0;
}

/* GET /api/v1/files/versions[/:n]?path=: the versions of a file. */
static int
h_versions(void *call)
{
	struct wcall *c = call;
	bool bad = false;
	struct str path = query_get(c, "path", &bad);

	if (bad)
		return w_error(c, 400, "The path is not valid.");
	davweb_versions(c->req, c->w->dav, c->w->cfg, c->user, path, c->param,
	    WEB_API_HEADERS);
	return 0;
}

static int
h_settings_put(void *call)
{
	struct wcall *c = call;
	const struct json_value *v = json_get(c->body, "registration");
	enum config_source src =
	    config_source_of(c->w->cfg, "disable_registration");

	if (v == NULL || (v->type != JSON_TRUE && v->type != JSON_FALSE))
		return w_error(c, 400, "registration must be true or false.");
	if (src == CONFIG_SRC_ENV || src == CONFIG_SRC_FLAG)
		return w_error(c, 409,
		    "Registration is set on the command line or in the "
		    "environment; change it there.");
	c->flag = v->type == JSON_TRUE;
	c->ch.kind = STORE_WEB_CONFIG;
	store_web_change(c->w->st, c->user, &c->ch, settings_journaled, c);
	return 0;
}

/*
 * Routes
 */

/*
 * Reading statistics (statsvc.h)
 */

/* statsvc_answer_fn: the figures, or why not. */
static void
stats_answer(void *arg, int status, const char *text, size_t len)
{
	struct wcall *c = arg;
	char *msg;

	if (status == 200) {
		http_reply_ex(c->req, 200, c->ctype,
		    c->extra ? c->extra : WEB_API_HEADERS, text, len);
		return;
	}
	msg = http_alloc(c->req, len + 1);
	memcpy(msg, text, len);
	msg[len] = '\0';
	w_error(c, status, msg);
}

/* The figures need the statistics service (file storage). */
static bool
stats_available(struct wcall *c)
{
	if (c->w->stats != NULL)
		return true;
	w_error(
	    c, 501, "Reading statistics need file storage (--storage file).");
	return false;
}

static void
stats_query_ex(struct wcall *c, enum statsvc_view view, int64_t from,
    int64_t to, enum statsvc_format format, const char *md5)
{
	struct statsvc_query q;

	memset(&q, 0, sizeof(q));
	q.view = view;
	q.from = from;
	q.to = to;
	q.now = (int64_t)time(NULL);
	q.format = format;
	q.md5 = md5;
	statsvc_query(c->w->stats, c->user.p, c->user.len, &q, stats_answer, c);
}

static void
stats_query(struct wcall *c, enum statsvc_view view, int64_t from, int64_t to)
{
	stats_query_ex(c, view, from, to, STATSVC_JSON, NULL);
}

/*
 * The documents of the overview's first page (the most recently synced,
 * STORE_PAGE_MAX): those at 99 % or more are finished books, for
 * books_finished, by their id and every id merged into them.
 */
static void
stats_docs_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	static const struct statsvc_finished none = {"", 0};
	struct wcall *c = arg;
	const struct json_value *v, *list, *d, *l;
	struct statsvc_finished *fin = NULL;
	struct statsvc_query q;
	size_t n = 0, cap = 0, extra;
	double pct, ts;

	memset(&q, 0, sizeof(q));
	q.view = STATSVC_OVERVIEW;
	q.now = (int64_t)time(NULL);
	if (r == STORE_ERR_AUTH) {
		w_gone(c);
		return;
	}
	v = r == STORE_OK ? json_parse(text, len, w_json_alloc, c->req, NULL)
	                  : NULL;
	list = v != NULL ? json_get(v, "documents") : NULL;
	d = list != NULL && list->type == JSON_ARRAY ? list->child : NULL;
	for (; d != NULL; d = d->next) {
		if (json_number(json_get(d, "percentage"), false, &pct) != 0 ||
		    pct < 0.99 ||
		    json_number(json_get(d, "timestamp"), false, &ts) != 0)
			continue;
		l = json_get(d, "links");
		extra = 1 + (l != NULL ? l->count : 0);
		if (fin == NULL || n + extra > cap) {
			cap = 2 * cap + extra;
			fin = xrealloc(fin, cap * sizeof(*fin));
		}
		fin[n].md5 = json_get_str(d, "document").p;
		fin[n++].when = (int64_t)ts;
		if (fin[n - 1].md5 == NULL)
			n--;
		for (l = l != NULL ? l->child : NULL; l != NULL; l = l->next) {
			if (l->type != JSON_STRING)
				continue;
			fin[n].md5 = l->text.p;
			fin[n++].when = (int64_t)ts;
		}
	}
	/* Without the documents (an error): not known, rather than 0. */
	if (list != NULL) {
		q.finished = fin != NULL ? fin : &none;
		q.nfinished = n;
	}
	statsvc_query(c->w->stats, c->user.p, c->user.len, &q, stats_answer, c);
	free(fin);
}

static int
h_stats(void *call)
{
	struct wcall *c = call;

	if (!stats_available(c))
		return 0;
	c->page.limit = STORE_PAGE_MAX;
	c->page.after = false;
	store_web_documents(
	    c->w->st, c->user, STR_NULL, false, &c->page, stats_docs_cb, c);
	return 0;
}

static int
h_stats_books(void *call)
{
	struct wcall *c = call;

	if (stats_available(c))
		stats_query(c, STATSVC_BOOKS, 0, 0);
	return 0;
}

/*
 * The day number of "YYYY-MM-DD" (a date that exists), or false. An
 * absent value leaves *day as it is.
 */
static bool
date_arg(struct str s, int64_t *day)
{
	int64_t y = 0, back;
	unsigned m = 0, d = 0, bm, bd;
	size_t i;

	if (s.p == NULL)
		return true;
	if (s.len != 10 || s.p[4] != '-' || s.p[7] != '-')
		return false;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		if (i < 4)
			y = y * 10 + (s.p[i] - '0');
		else if (i < 7)
			m = m * 10 + (unsigned)(s.p[i] - '0');
		else
			d = d * 10 + (unsigned)(s.p[i] - '0');
	}
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	*day = tz_days_from_civil(y, m, d);
	tz_civil_from_days(*day, &back, &bm, &bd);
	return back == y && bm == m && bd == d;
}

/*
 * ?from=YYYY-MM-DD&to=YYYY-MM-DD (both included, each optional) into
 * *from and *to; false when answered with a 400.
 */
static bool
stats_range(struct wcall *c, int64_t *from, int64_t *to)
{
	bool bad = false;

	*from = INT64_MIN;
	*to = INT64_MAX;
	if (!date_arg(query_get(c, "from", &bad), from) || bad ||
	    !date_arg(query_get(c, "to", &bad), to) || bad) {
		w_error(c, 400, "from and to must be dates YYYY-MM-DD.");
		return false;
	}
	if (*from > *to) {
		w_error(c, 400, "from must not be after to.");
		return false;
	}
	return true;
}

/* Per-day figures, ?from=YYYY-MM-DD&to=YYYY-MM-DD (both included). */
static int
h_stats_days(void *call)
{
	struct wcall *c = call;
	int64_t from, to;

	if (stats_available(c) && stats_range(c, &from, &to))
		stats_query(c, STATSVC_DAYS, from, to);
	return 0;
}

/* The vocabulary builder's figures. */
static int
h_stats_vocab(void *call)
{
	struct wcall *c = call;

	if (stats_available(c))
		stats_query(c, STATSVC_VOCAB, 0, 0);
	return 0;
}

/* The punch-card, the months and the years. */
static int
h_stats_periods(void *call)
{
	struct wcall *c = call;

	if (stats_available(c))
		stats_query(c, STATSVC_PERIODS, 0, 0);
	return 0;
}

/* One book by its md5: figures, days (speed, burn-down), sessions. */
static int
h_stats_book(void *call)
{
	struct wcall *c = call;
	char *md5;

	if (!stats_available(c))
		return 0;
	if (c->param.len == 0 || c->param.len > STATSDB_MAX_TEXT ||
	    memchr(c->param.p, '\0', c->param.len) != NULL)
		return w_error(
		    c, 404, "No book of that md5 in the statistics.");
	md5 = http_alloc(c->req, c->param.len + 1);
	memcpy(md5, c->param.p, c->param.len);
	md5[c->param.len] = '\0';
	stats_query_ex(c, STATSVC_BOOK, 0, 0, STATSVC_JSON, md5);
	return 0;
}

#define STATS_DOWNLOAD(name)                                                   \
	"Content-Disposition: attachment; filename=\"" name                    \
	"\"\r\n" WEB_API_HEADERS

/*
 * Downloads: the days (?from, ?to as /stats/days) and the sessions, as
 * CSV or JSON; the route's last letters say which.
 */
static int
h_stats_export(void *call)
{
	struct wcall *c = call;
	const char *path = c->wr->pattern;
	bool csv = strcmp(path + strlen(path) - 4, ".csv") == 0;
	bool days = strstr(path, "/days.") != NULL;
	int64_t from = INT64_MIN, to = INT64_MAX;

	if (!stats_available(c) || (days && !stats_range(c, &from, &to)))
		return 0;
	if (csv) {
		c->ctype = "text/csv; charset=utf-8";
		c->extra = days ? STATS_DOWNLOAD("reading-days.csv")
		                : STATS_DOWNLOAD("reading-sessions.csv");
	} else {
		c->extra = days ? STATS_DOWNLOAD("reading-days.json")
		                : STATS_DOWNLOAD("reading-sessions.json");
	}
	stats_query_ex(c, days ? STATSVC_DAYS : STATSVC_SESSIONS, from, to,
	    csv ? STATSVC_CSV : STATSVC_JSON, NULL);
	return 0;
}

/*
 * goals.name of the body: a whole number 0..max into *out (-1 when the
 * member is left out); false when it is something else.
 */
static bool
goal_arg(
    const struct json_value *goals, const char *name, int64_t max, int64_t *out)
{
	const struct json_value *v = json_get(goals, name);
	double d;

	*out = -1;
	if (v == NULL)
		return true;
	if (v->type == JSON_NULL) {
		*out = 0;
		return true;
	}
	if (v->type != JSON_NUMBER || json_number(v, false, &d) != 0 || d < 0 ||
	    d > (double)max || d != (double)(int64_t)d)
		return false;
	*out = (int64_t)d;
	return true;
}

/*
 * {"timezone": IANA name, "day_start": "HH:MM", "goals":
 * {"books_per_year": n, "minutes_per_day": n}}: all optional.
 */
static int
h_stats_settings(void *call)
{
	struct wcall *c = call;
	struct str tzs = body_string(c, "timezone", 64);
	struct str hm = body_string(c, "day_start", 5);
	const struct json_value *v, *goals = json_get(c->body, "goals");
	struct buf err = BUF_INIT;
	char *msg;
	int32_t start = 0;
	int64_t books = -1, minutes = -1;
	int rc;

	if (!stats_available(c))
		return 0;
	v = json_get(c->body, "timezone");
	if (v != NULL && (tzs.p == NULL || tzs.len == 0))
		return w_error(c, 400,
		    "timezone must be an IANA time zone "
		    "name, such as Europe/Berlin.");
	v = json_get(c->body, "day_start");
	if (v != NULL &&
	    (hm.p == NULL || (start = statscalc_parse_hhmm(hm.p)) < 0))
		return w_error(
		    c, 400, "day_start must be a time HH:MM, such as 04:00.");
	if (goals != NULL && (goals->type != JSON_OBJECT ||
	                         !goal_arg(goals, "books_per_year",
	                             STATSVC_MAX_GOAL_BOOKS, &books) ||
	                         !goal_arg(goals, "minutes_per_day",
	                             STATSVC_MAX_GOAL_MINUTES, &minutes)))
		return w_error(c, 400,
		    "goals: books_per_year (0 to " W_STR(STATSVC_MAX_GOAL_BOOKS) ") and minutes_per_day (0 to " W_STR(
		        STATSVC_MAX_GOAL_MINUTES) ") must be whole numbers.");
	if (tzs.p == NULL)
		tzs = (struct str){"UTC", 3};
	rc = statsvc_settings_set(c->w->stats, c->user.p, c->user.len, tzs.p,
	    start, books, minutes, &err);
	if (rc == -1) {
		msg = http_alloc(c->req, err.len + 32);
		snprintf(msg, err.len + 32, "timezone: %s", err.data);
		buf_release(&err);
		return w_error(c, 400, msg);
	}
	buf_release(&err);
	return h_stats(c);
}

enum {
	W_SESSION = 1 << 0,   /* needs a signed-in session */
	W_CSRF = 1 << 1,      /* state-changing: CSRF token and Origin */
	W_ADMIN = 1 << 2,     /* administrators only */
	W_BODY = 1 << 3,      /* a JSON object body */
	W_DOC = 1 << 4,       /* the parameter is a document id */
	W_LOOKUP = 1 << 5,    /* uses the session when there is one */
	W_ADMIN_ASK = 1 << 6, /* c->admin: whether the user administers */
};

/*
 * Device credentials (docs/devices.md): the signed-in user's own.
 */

static void
device_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	struct json_out o;

	sodium_memzero(c->key, sizeof(c->key));
	if (r->result == STORE_ERR_NOTFOUND)
		w_error(c, 404, "No such device credential.");
	else if (r->result == STORE_ERR_LIMIT)
		w_error(c, 400,
		    "This account has 50 device credentials; revoke one "
		    "first.");
	else if (r->result == STORE_ERR_AUTH)
		w_gone(c);
	else if (r->result != STORE_OK)
		w_store_error(c, r->result);
	if (r->result != STORE_OK)
		return;
	o = w_begin(c);
	if (r->devcred != NULL) {
		json_key(&o, "id");
		json_str(&o, r->devcred);
	}
	/* A new credential's password: answered this once. */
	if (c->key2[0] != '\0') {
		json_key(&o, "password");
		json_str(&o, c->key2);
		sodium_memzero(c->key2, sizeof(c->key2));
	}
	if (c->flag) {
		json_key(&o, "devices_only");
		json_bool(&o, c->ch.admin);
	}
	w_finish(c, &o, c->status, NULL);
}

/* GET: {"devices_only", "devices": [...]} (store_device_list). */
static int
h_devices(void *call)
{
	struct wcall *c = call;

	store_device_list(c->w->st, c->user, documents_cb, c);
	return 0;
}

static void
device_audit_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct wcall *c = arg;

	if (r == STORE_ERR_NOTFOUND)
		w_error(c, 404, "No such device credential.");
	else if (r != STORE_OK)
		documents_cb(arg, r, text, len);
	else
		http_reply_ex(c->req, 200, NULL, WEB_API_HEADERS, text, len);
}

/*
 * GET /:id/audit: {"id", "label", "revoked", "audit": [...]}, the
 * credential's last sign-ins and syncs (store_device_audit).
 */
static int
h_device_audit(void *call)
{
	struct wcall *c = call;

	if (!auth_device_id_valid(c->param))
		return w_error(c, 404, "No such device credential.");
	store_device_audit(c->w->st, c->user, c->param, device_audit_cb, c);
	return 0;
}

/*
 * POST {"label"}: a new credential, 201 {"id", "password"}; PUT /:id
 * {"label"}: rename; DELETE /:id: revoke.
 */
static int
h_device_change(struct wcall *c, enum store_device_kind kind)
{
	struct store_device_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.kind = kind;
	ch.id = c->param;
	c->status = 200;
	if (kind != STORE_DEVICE_ADD && !auth_device_id_valid(ch.id))
		return w_error(c, 404, "No such device credential.");
	if (kind != STORE_DEVICE_REVOKE) {
		ch.label = body_string(c, "label", 100);
		if (!auth_device_label_valid(ch.label))
			return w_error(c, 400,
			    "A label is 1 to 100 bytes of text, no control "
			    "character.");
	}
	if (kind == STORE_DEVICE_ADD) {
		/* key2 holds the new password until the answer. */
		c->status = 201;
		auth_device_password(c->key2);
		md5_hex(c->key2, AUTH_DEVICE_PASSWORD_LEN, c->key);
		ch.key = (struct str){c->key, MD5_HEX_LEN};
	}
	store_device_change(c->w->st, c->user, &ch, device_cb, c);
	return 0;
}

static int
h_device_add(void *call)
{
	return h_device_change(call, STORE_DEVICE_ADD);
}

static int
h_device_rename(void *call)
{
	return h_device_change(call, STORE_DEVICE_RENAME);
}

static int
h_device_revoke(void *call)
{
	return h_device_change(call, STORE_DEVICE_REVOKE);
}

/* PUT {"on": bool}: sign in to sync with device credentials only. */
static int
h_devices_only(void *call)
{
	struct wcall *c = call;
	const struct json_value *v = json_get(c->body, "on");
	struct store_device_change ch;

	if (v == NULL || (v->type != JSON_TRUE && v->type != JSON_FALSE))
		return w_error(c, 400, "on must be true or false.");
	memset(&ch, 0, sizeof(ch));
	ch.kind = STORE_DEVICES_ONLY;
	ch.on = v->type == JSON_TRUE;
	c->flag = true;
	c->ch.admin = ch.on;
	c->status = 200;
	store_device_change(c->w->st, c->user, &ch, device_cb, c);
	return 0;
}

static void
policy_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	struct json_out o;

	if (r->result == STORE_ERR_AUTH) {
		w_gone(c);
		return;
	}
	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	o = w_begin(c);
	json_key(&o, "progress_policy");
	json_str(&o, policy_name((unsigned)c->ch.at));
	w_finish(c, &o, 200, NULL);
}

/* GET: {"progress_policy"} (store_policy_get). */
static int
h_policy_get(void *call)
{
	struct wcall *c = call;

	store_policy_get(c->w->st, c->user, documents_cb, c);
	return 0;
}

/*
 * PUT {"policy": "latest"|"furthest"|"guard"}: the account's progress
 * policy (docs/policy.md).
 */
static int
h_policy(void *call)
{
	struct wcall *c = call;
	struct store_device_change ch;
	int p = policy_parse(body_string(c, "policy", 16));

	if (p < 0)
		return w_error(c, 400,
		    "policy must be \"latest\", \"furthest\" or \"guard\".");
	memset(&ch, 0, sizeof(ch));
	ch.kind = STORE_PROGRESS_POLICY;
	ch.policy = (uint8_t)p;
	c->ch.at = p; /* for the answer */
	store_device_change(c->w->st, c->user, &ch, policy_cb, c);
	return 0;
}

/*
 * Device names (docs/api.md): a display name for a device the account's
 * pushes name, and forgetting one (the devices page hides it until it
 * pushes again). The key is its device_id, else its device name.
 */

/* 1 to max bytes of UTF-8 text without a control character. */
static bool
devname_text_valid(struct str s, size_t max)
{
	size_t i;

	if (s.p == NULL || s.len == 0 || s.len > max ||
	    !json_utf8_valid(s.p, s.len))
		return false;
	for (i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			return false;
	return true;
}

static void
devname_cb(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;
	struct json_out o;

	if (r->result == STORE_ERR_LIMIT)
		w_error(c, 400,
		    "This account has names for 100 devices; give one its own "
		    "name back first.");
	else if (r->result == STORE_ERR_AUTH)
		w_gone(c);
	else if (r->result != STORE_OK)
		w_store_error(c, r->result);
	if (r->result != STORE_OK)
		return;
	o = w_begin(c);
	json_key(&o, "device");
	json_strn(&o, c->param.p, c->param.len);
	w_finish(c, &o, 200, NULL);
}

/* GET: {"device_names": [{"device", "name", "forgotten"}]}. */
static int
h_devnames(void *call)
{
	struct wcall *c = call;

	store_device_names(c->w->st, c->user, documents_cb, c);
	return 0;
}

/*
 * PUT /:key {"name"} (empty: the device's own name) or POST /:key/forget.
 */
static int
h_devname_change(struct wcall *c, enum store_device_kind kind)
{
	struct store_device_change ch;

	if (!devname_text_valid(c->param, DB_DEVNAME_KEY_MAX))
		return w_error(c, 400,
		    "A device is named by 1 to 128 bytes of text, no control "
		    "character.");
	memset(&ch, 0, sizeof(ch));
	ch.kind = kind;
	ch.id = c->param;
	if (kind == STORE_DEVICE_NAME) {
		ch.label = body_string(c, "name", DB_DEVNAME_NAME_MAX);
		if (ch.label.p == NULL ||
		    (ch.label.len > 0 &&
		        !devname_text_valid(ch.label, DB_DEVNAME_NAME_MAX)))
			return w_error(c, 400,
			    "name is 0 to 64 bytes of text, no control "
			    "character.");
	}
	store_device_change(c->w->st, c->user, &ch, devname_cb, c);
	return 0;
}

static int
h_devname_set(void *call)
{
	return h_devname_change(call, STORE_DEVICE_NAME);
}

static int
h_devname_forget(void *call)
{
	return h_devname_change(call, STORE_DEVICE_FORGET);
}

/*
 * Events out (docs/webhooks.md): the account's webhooks and its "now
 * reading" feed. A change reads the account's webhooks (store_events_get),
 * changes the list and stores it whole (store_events_set).
 */

enum ev_op { EV_LIST, EV_ADD, EV_DELETE, EV_TEST, EV_FEED, EV_FEED_SET };

/* An events request in flight (http_alloc memory). */
struct ecall {
	struct wcall *c;
	enum ev_op op;
	bool on;     /* EV_FEED_SET: enable (a token when none) or disable */
	bool rotate; /* EV_FEED_SET: a new token */
	struct hook_list l;
	struct hook h; /* EV_ADD: the new one */
	char feed[WEB_FEED_TOKEN_LEN + 1];
	struct buf text;
};

/* The feed's part of an answer: "feed": {"enabled", "json", "atom"}. */
static void
ev_feed_json(struct ecall *e, struct json_out *o, struct str token)
{
	struct webui *w = e->c->w;
	char *path;
	size_t n = w->base_len + token.len + 16;

	json_key(o, "feed");
	json_obj_begin(o);
	json_key(o, "enabled");
	json_bool(o, token.len > 0);
	if (token.len > 0) {
		path = http_alloc(e->c->req, n);
		snprintf(path, n, "%.*s/feed/%.*s.json", (int)w->base_len,
		    w->base, (int)token.len, token.p);
		json_key(o, "json");
		json_str(o, path);
		snprintf(path, n, "%.*s/feed/%.*s.atom", (int)w->base_len,
		    w->base, (int)token.len, token.p);
		json_key(o, "atom");
		json_str(o, path);
	}
	json_obj_end(o);
}

/* store_cb: the change is durable; answer. */
static void
ev_saved(void *arg, const struct store_reply *r)
{
	struct ecall *e = arg;
	struct wcall *c = e->c;
	struct json_out o;

	buf_release(&e->text);
	if (r->result != STORE_OK) {
		w_store_error(c, r->result);
		return;
	}
	o = w_begin(c);
	switch (e->op) {
	case EV_ADD:
		json_key(&o, "id");
		json_str(&o, e->h.id);
		/* The secret is shown this once. */
		json_key(&o, "secret");
		json_str(&o, e->h.secret);
		w_finish(c, &o, 201, NULL);
		return;
	case EV_DELETE:
		webhook_forget(c->w->hooks, c->user, e->h.id);
		json_key(&o, "deleted");
		json_bool(&o, true);
		break;
	default:
		ev_feed_json(e, &o, str_from(e->feed));
		break;
	}
	w_finish(c, &o, 200, NULL);
}

/* Store e's list (EV_ADD, EV_DELETE) or feed token (EV_FEED_SET). */
static void
ev_save(struct ecall *e, bool feed)
{
	struct wcall *c = e->c;

	buf_init(&e->text);
	if (feed)
		buf_adds(&e->text, e->feed);
	else if (e->l.n > 0)
		hookfmt_write(&e->text, &e->l);
	store_events_set(c->w->st, c->user, feed,
	    (struct str){e->text.data, e->text.len}, ev_saved, e);
}

/* The index of webhook id in e's list, or -1. */
static int
ev_find(const struct ecall *e, struct str id)
{
	size_t i;

	for (i = 0; i < e->l.n; i++)
		if (str_eqs(id, e->l.h[i].id))
			return (int)i;
	return -1;
}

/* A new feed token: WEB_FEED_TOKEN_LEN hex digits. */
static void
ev_new_token(char out[WEB_FEED_TOKEN_LEN + 1])
{
	unsigned char r[WEB_FEED_TOKEN_LEN / 2];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(out, WEB_FEED_TOKEN_LEN + 1, r, sizeof(r));
}

/* A new webhook id: HOOK_ID_LEN letters and digits. */
static void
ev_new_id(char out[HOOK_ID_LEN + 1])
{
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char r[HOOK_ID_LEN];
	size_t i;

	randombytes_buf(r, sizeof(r));
	for (i = 0; i < HOOK_ID_LEN; i++)
		out[i] = alphabet[r[i] % 32];
	out[HOOK_ID_LEN] = '\0';
}

/* store_events_fn: the account's settings; do what e asks. */
static void
ev_read(void *arg, enum store_result r, struct str webhooks, struct str feed)
{
	struct ecall *e = arg;
	struct wcall *c = e->c;
	struct json_out o;
	int i;

	if (r != STORE_OK) {
		w_store_error(c, r);
		return;
	}
	if (hookfmt_parse(webhooks.p, webhooks.len, &e->l) != 0)
		log_warnx("webhooks of '%.*s' unreadable: shown as none",
		    (int)c->user.len, c->user.p);
	if (feed.len <= WEB_FEED_TOKEN_LEN) {
		memcpy(e->feed, feed.p != NULL ? feed.p : "", feed.len);
		e->feed[feed.len] = '\0';
	}
	switch (e->op) {
	case EV_LIST:
		o = w_begin(c);
		webhook_status(c->w->hooks, c->user, &e->l, &o);
		json_key(&o, "allow_private");
		json_bool(&o, c->w->cfg->webhook_allow_private);
		w_finish(c, &o, 200, NULL);
		return;
	case EV_FEED:
		o = w_begin(c);
		ev_feed_json(e, &o, str_from(e->feed));
		w_finish(c, &o, 200, NULL);
		return;
	case EV_FEED_SET:
		if (!e->on)
			e->feed[0] = '\0';
		else if (e->rotate || e->feed[0] == '\0')
			ev_new_token(e->feed);
		ev_save(e, true);
		return;
	case EV_ADD:
		if (e->l.n >= HOOK_MAX_PER_USER) {
			w_error(c, 409,
			    "An account has at most " W_STR(
			        HOOK_MAX_PER_USER) " webhooks.");
			return;
		}
		do
			ev_new_id(e->h.id);
		while (ev_find(e, str_from(e->h.id)) >= 0);
		e->l.h[e->l.n++] = e->h;
		ev_save(e, false);
		return;
	case EV_DELETE:
	case EV_TEST:
		if ((i = ev_find(e, c->param)) < 0) {
			w_error(c, 404, "No such webhook.");
			return;
		}
		e->h = e->l.h[i];
		if (e->op == EV_TEST) {
			webhook_test(c->w->hooks, c->user, &e->h);
			o = w_begin(c);
			json_key(&o, "queued");
			json_bool(&o, true);
			w_finish(c, &o, 202, NULL);
			return;
		}
		e->l.h[i] = e->l.h[--e->l.n];
		ev_save(e, false);
		return;
	}
}

static int
ev_start(struct wcall *c, enum ev_op op, struct ecall **out)
{
	struct ecall *e = http_alloc(c->req, sizeof(*e));

	memset(e, 0, sizeof(*e));
	e->c = c;
	e->op = op;
	if (out != NULL) {
		*out = e;
		return 0;
	}
	store_events_get(c->w->st, c->user, ev_read, e);
	return 0;
}

/* GET: the webhooks with their logs (webhook_status), no secret. */
static int
h_webhooks(void *call)
{
	return ev_start(call, EV_LIST, NULL);
}

/*
 * The events a body's "events" names (an array of names), or 0 when it
 * is missing, empty or names something else.
 */
static unsigned
body_events(const struct wcall *c)
{
	const struct json_value *v = json_get(c->body, "events"), *e;
	unsigned evs = 0, bit;

	if (v == NULL || v->type != JSON_ARRAY)
		return 0;
	for (e = v->child; e != NULL; e = e->next) {
		if (e->type != JSON_STRING ||
		    (bit = hookfmt_event_bit(e->text)) == 0)
			return 0;
		evs |= bit;
	}
	return evs;
}

/* Whether s is a secret one may choose: printable ASCII, bounded. */
static bool
secret_valid(struct str s)
{
	size_t i;

	if (s.len < HOOK_SECRET_MIN || s.len > HOOK_SECRET_MAX)
		return false;
	for (i = 0; i < s.len; i++)
		if (s.p[i] < '!' || s.p[i] > '~')
			return false;
	return true;
}

/*
 * POST {"url", "events": [names], "secret" (optional)}: 201 {"id",
 * "secret"} (made when not given: 32 hex digits; shown this once).
 */
static int
h_webhook_add(void *call)
{
	struct wcall *c = call;
	struct ecall *e;
	struct hook_url u;
	struct str url = body_string(c, "url", HOOK_URL_MAX);
	struct str secret = body_string(c, "secret", HOOK_SECRET_MAX);
	const struct json_value *sv = json_get(c->body, "secret");
	const char *err;
	unsigned char r[16];

	if (url.p == NULL)
		return w_error(c, 400,
		    "url must be a string of at most " W_STR(
		        HOOK_URL_MAX) " bytes.");
	if (hookfmt_url_parse(url, &u, &err) != 0)
		return w_error(c, 400, err);
	if (!c->w->cfg->webhook_allow_private &&
	    hookfmt_addr_is_private(&u.addr))
		return w_error(c, 400,
		    "The URL points at a private, loopback or reserved "
		    "address, which this server does not call "
		    "(webhook_allow_private).");
	(void)ev_start(c, EV_ADD, &e);
	e->h.events = body_events(c);
	if (e->h.events == 0)
		return w_error(c, 400,
		    "events must list one or more of progress, started, "
		    "finished, statistics_uploaded, credential_first_use.");
	if (sv != NULL && (secret.p == NULL || !secret_valid(secret)))
		return w_error(c, 400,
		    "A secret is " W_STR(HOOK_SECRET_MIN) " to " W_STR(
		        HOOK_SECRET_MAX) " printable ASCII characters.");
	memcpy(e->h.url, url.p, url.len);
	if (sv != NULL && secret.p != NULL) {
		memcpy(e->h.secret, secret.p, secret.len);
	} else {
		randombytes_buf(r, sizeof(r));
		sodium_bin2hex(e->h.secret, sizeof(e->h.secret), r, sizeof(r));
	}
	e->h.created = (int64_t)time(NULL);
	store_events_get(c->w->st, c->user, ev_read, e);
	return 0;
}

/* DELETE /:id: the webhook, its log and its waiting deliveries. */
static int
h_webhook_delete(void *call)
{
	return ev_start(call, EV_DELETE, NULL);
}

/* POST /:id/test: a "test" event, 202 (its outcome shows in the log). */
static int
h_webhook_test(void *call)
{
	return ev_start(call, EV_TEST, NULL);
}

/* GET (administrators): the server-wide webhook and its log. */
static int
h_admin_webhook(void *call)
{
	struct wcall *c = call;
	struct json_out o = w_begin(c);

	webhook_server_status(c->w->hooks, &o);
	return w_finish(c, &o, 200, NULL);
}

/* GET: {"feed": {"enabled", "json", "atom"}} (the addresses of the feed). */
static int
h_feed(void *call)
{
	return ev_start(call, EV_FEED, NULL);
}

/* PUT {"enabled": bool}: turn the feed on (a token when none) or off. */
static int
h_feed_set(void *call)
{
	struct wcall *c = call;
	const struct json_value *v = json_get(c->body, "enabled");
	struct ecall *e;

	if (v == NULL || (v->type != JSON_TRUE && v->type != JSON_FALSE))
		return w_error(c, 400, "enabled must be true or false.");
	(void)ev_start(c, EV_FEED_SET, &e);
	e->on = v->type == JSON_TRUE;
	store_events_get(c->w->st, c->user, ev_read, e);
	return 0;
}

/* POST: a new token: the feed's old addresses stop working at once. */
static int
h_feed_rotate(void *call)
{
	struct wcall *c = call;
	struct ecall *e;

	(void)ev_start(c, EV_FEED_SET, &e);
	e->on = true;
	e->rotate = true;
	store_events_get(c->w->st, c->user, ev_read, e);
	return 0;
}

/* The library's requests: libweb.c answers them. */
static int
w_library(struct wcall *c, enum libweb_op op)
{
	libweb_handle(c->w->lib, c->req, op, c->sess.user, c->admin, c->param,
	    WEB_API_HEADERS);
	return 0;
}
static int
h_library(void *call)
{
	return w_library(call, LIBWEB_LIST);
}
static int
h_library_book(void *call)
{
	return w_library(call, LIBWEB_BOOK);
}
static int
h_library_cover(void *call)
{
	return w_library(call, LIBWEB_COVER);
}
static int
h_library_facet(void *call)
{
	return w_library(call, LIBWEB_FACET);
}
static int
h_library_admin(void *call)
{
	return w_library(call, LIBWEB_ADMIN);
}
static int
h_library_scan(void *call)
{
	return w_library(call, LIBWEB_SCAN);
}

/* GET /api/v1/admin/library/uploads (?limit, ?cursor, ?account). */
static int
h_library_uploads(void *call)
{
	struct wcall *c = call;
	bool bad = false;
	struct str account = query_get(c, "account", &bad);

	if (!page_args(c, STORE_PAGE_UPLOADS))
		return 0;
	if (bad || (account.p != NULL &&
	               (account.len == 0 || account.len > STORE_MAX_USERNAME ||
	                   strlen(account.p) != account.len)))
		return w_error(c, 400, "account must be a username.");
	libweb_uploads(c->w->lib, c->req, &c->page, account.p, WEB_API_HEADERS);
	return 0;
}

/* POST /api/v1/library/upload: a book of the user's (libupload.h). */
static int
h_library_upload(void *call)
{
	struct wcall *c = call;

	libupload_handle(c->w->loop, c->w->lib, c->w->cfg, c->req, c->sess.user,
	    WEB_API_HEADERS);
	return 0;
}

/* POST /api/v1/admin/library/:id/share {"shared": bool} (libupload.h). */
static int
h_library_share(void *call)
{
	struct wcall *c = call;
	const struct json_value *v = json_get(c->body, "shared");

	if (v == NULL || (v->type != JSON_TRUE && v->type != JSON_FALSE))
		return w_error(c, 400, "shared must be true or false.");
	libupload_share(c->w->loop, c->w->lib, c->w->cfg, c->req, c->param,
	    v->type == JSON_TRUE, WEB_API_HEADERS);
	return 0;
}

/* GET /api/v1/library/files/:file: a book's file (libfile.h). */
static int
h_library_file(void *call)
{
	struct wcall *c = call;

	libfile_serve(c->w->lib, c->req, c->user.p, c->param.p);
	return 0;
}

/*
 * The JSON API's routes (router.h): the handlers take the struct wcall;
 * the flags are the W_* above.
 */
static const struct route wroutes[] = {
    {HTTP_M_POST, "/api/v1/login", h_login, W_BODY},
    {HTTP_M_POST, "/api/v1/logout", h_logout, W_LOOKUP},
    {HTTP_M_GET, "/api/v1/session", h_session, W_LOOKUP},
    {HTTP_M_GET, "/api/v1/documents", h_documents, W_SESSION},
    {HTTP_M_GET, "/api/v1/documents/:doc", h_document, W_SESSION | W_DOC},
    {HTTP_M_DELETE, "/api/v1/documents/:doc", h_doc_delete,
        W_SESSION | W_CSRF | W_DOC},
    {HTTP_M_POST, "/api/v1/documents/:doc/restore", h_restore,
        W_SESSION | W_CSRF | W_DOC | W_BODY},
    {HTTP_M_POST, "/api/v1/documents/:doc/promote", h_promote,
        W_SESSION | W_CSRF | W_DOC | W_BODY},
    {HTTP_M_PUT, "/api/v1/documents/:doc/name", h_rename,
        W_SESSION | W_CSRF | W_DOC | W_BODY},
    {HTTP_M_POST, "/api/v1/documents/:doc/merge", h_merge,
        W_SESSION | W_CSRF | W_DOC | W_BODY},
    {HTTP_M_POST, "/api/v1/documents/:doc/unmerge", h_unmerge,
        W_SESSION | W_CSRF | W_DOC | W_BODY},
    {HTTP_M_GET, "/api/v1/events", h_events, W_SESSION},
    {HTTP_M_GET, "/api/v1/export", h_export, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats", h_stats, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/days", h_stats_days, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/books", h_stats_books, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/books/:md5", h_stats_book, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/periods", h_stats_periods, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/vocabulary", h_stats_vocab, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/export/days.csv", h_stats_export, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/export/days.json", h_stats_export, W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/export/sessions.csv", h_stats_export,
        W_SESSION},
    {HTTP_M_GET, "/api/v1/stats/export/sessions.json", h_stats_export,
        W_SESSION},
    {HTTP_M_PUT, "/api/v1/stats/settings", h_stats_settings,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_GET, "/api/v1/files/usage", h_files_usage, W_SESSION},
    {HTTP_M_GET, "/api/v1/files/versions", h_versions, W_SESSION},
    {HTTP_M_GET, "/api/v1/files/versions/:n", h_versions, W_SESSION},
    {HTTP_M_PUT, "/api/v1/account/password", h_password,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_DELETE, "/api/v1/account", h_account_delete,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_GET, "/api/v1/devices", h_devices, W_SESSION},
    {HTTP_M_POST, "/api/v1/devices", h_device_add, W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_PUT, "/api/v1/devices/:id", h_device_rename,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_DELETE, "/api/v1/devices/:id", h_device_revoke, W_SESSION | W_CSRF},
    {HTTP_M_GET, "/api/v1/devices/:id/audit", h_device_audit, W_SESSION},
    {HTTP_M_PUT, "/api/v1/account/devices-only", h_devices_only,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_GET, "/api/v1/webhooks", h_webhooks, W_SESSION},
    {HTTP_M_POST, "/api/v1/webhooks", h_webhook_add,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_DELETE, "/api/v1/webhooks/:id", h_webhook_delete,
        W_SESSION | W_CSRF},
    {HTTP_M_POST, "/api/v1/webhooks/:id/test", h_webhook_test,
        W_SESSION | W_CSRF},
    {HTTP_M_GET, "/api/v1/feed", h_feed, W_SESSION},
    {HTTP_M_PUT, "/api/v1/feed", h_feed_set, W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_POST, "/api/v1/feed/rotate", h_feed_rotate, W_SESSION | W_CSRF},
    {HTTP_M_GET, "/api/v1/account/policy", h_policy_get, W_SESSION},
    {HTTP_M_GET, "/api/v1/device-names", h_devnames, W_SESSION},
    {HTTP_M_PUT, "/api/v1/device-names/:key", h_devname_set,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_POST, "/api/v1/device-names/:key/forget", h_devname_forget,
        W_SESSION | W_CSRF},
    {HTTP_M_PUT, "/api/v1/account/policy", h_policy,
        W_SESSION | W_CSRF | W_BODY},
    {HTTP_M_GET, "/api/v1/library/files/:file", h_library_file, W_SESSION},
    {HTTP_M_GET, "/api/v1/admin/users", h_users, W_SESSION | W_ADMIN},
    {HTTP_M_POST, "/api/v1/admin/users", h_user_create,
        W_SESSION | W_CSRF | W_ADMIN | W_BODY},
    {HTTP_M_PUT, "/api/v1/admin/users/:user/password", h_user_password,
        W_SESSION | W_CSRF | W_ADMIN | W_BODY},
    {HTTP_M_GET, "/api/v1/admin/users/:user/files", h_user_files,
        W_SESSION | W_ADMIN},
    {HTTP_M_DELETE, "/api/v1/admin/users/:user", h_user_delete,
        W_SESSION | W_CSRF | W_ADMIN},
    {HTTP_M_GET, "/api/v1/admin/settings", h_settings, W_SESSION | W_ADMIN},
    {HTTP_M_GET, "/api/v1/admin/webhook", h_admin_webhook, W_SESSION | W_ADMIN},
    {HTTP_M_PUT, "/api/v1/admin/settings", h_settings_put,
        W_SESSION | W_CSRF | W_ADMIN | W_BODY},
    {HTTP_M_GET, "/api/v1/library", h_library, W_SESSION | W_ADMIN_ASK},
    {HTTP_M_POST, LIBUPLOAD_PATH, h_library_upload, W_SESSION | W_CSRF},
    {HTTP_M_GET, "/api/v1/library/facets/:kind", h_library_facet, W_SESSION},
    {HTTP_M_GET, "/api/v1/library/:id", h_library_book,
        W_SESSION | W_ADMIN_ASK},
    {HTTP_M_GET, "/api/v1/library/:id/cover", h_library_cover, W_SESSION},
    {HTTP_M_GET, "/api/v1/admin/library", h_library_admin, W_SESSION | W_ADMIN},
    {HTTP_M_GET, "/api/v1/admin/library/uploads", h_library_uploads,
        W_SESSION | W_ADMIN},
    {HTTP_M_POST, "/api/v1/admin/library/:id/share", h_library_share,
        W_SESSION | W_CSRF | W_ADMIN | W_BODY},
    {HTTP_M_POST, "/api/v1/admin/library/scan", h_library_scan,
        W_SESSION | W_CSRF | W_ADMIN},
};

#define NWROUTES (sizeof(wroutes) / sizeof(wroutes[0]))

static void *
w_json_alloc(void *ctx, size_t size)
{
	return http_alloc(ctx, size);
}

static void dispatch_run(struct wcall *c);

/* store_cb: whether the session's user is an administrator. */
static void
admin_checked(void *arg, const struct store_reply *r)
{
	struct wcall *c = arg;

	if (r->result == STORE_ERR_UNAVAILABLE) {
		w_store_error(c, STORE_ERR_UNAVAILABLE);
		return;
	}
	c->admin = r->result == STORE_OK;
	if (!c->admin && (c->wr->flags & W_ADMIN)) {
		w_error(c, 403, "Administrators only.");
		return;
	}
	dispatch_run(c);
}

/* The checks after the session's (see the top of this file), then the
 * handler. */
static void
dispatch_checked(struct wcall *c)
{
	const struct route *wr = c->wr;

	if ((wr->flags & W_SESSION) && !c->signed_in) {
		w_error(c, 401, "Not signed in.");
		return;
	}
	if ((wr->flags & W_CSRF) && !csrf_ok(c, &c->sess)) {
		w_error(c, 403, "Missing or wrong CSRF token.");
		return;
	}
	if (wr->flags & (W_ADMIN | W_ADMIN_ASK)) {
		/* The account's flag, asked every time: nothing goes stale. */
		store_user_admin(c->w->st, c->user, admin_checked, c);
		return;
	}
	dispatch_run(c);
}

/* The body, then the handler. */
static void
dispatch_run(struct wcall *c)
{
	const struct route *wr = c->wr;
	struct http_request *req = c->req;

	if (wr->flags & W_BODY) {
		const struct str *ctype;

		/*
		 * Only application/json: a cross-site form cannot send it
		 * without a CORS preflight, which is never granted (this
		 * also keeps sign-in itself from being forged).
		 */
		ctype = http_header_get(req, "content-type", NULL);
		if (ctype == NULL ||
		    !str_has_prefix(*ctype, "application/json")) {
			w_error(c, 415, "The body must be application/json.");
			return;
		}
		if (req->body.len > 0)
			c->body = json_parse(req->body.p, req->body.len,
			    w_json_alloc, req, NULL);
		if (c->body == NULL || c->body->type != JSON_OBJECT) {
			w_error(c, 400, "The body must be a JSON object.");
			return;
		}
	}
	wr->handler(c);
}

/* session_fn: the request's session is known (in memory: at once). */
static void
dispatch_session(void *arg, enum session_result r, const struct session *s)
{
	struct wcall *c = arg;
	char *user;
	size_t len;

	if (r == SESSION_UNAVAILABLE) {
		w_store_error(c, STORE_ERR_UNAVAILABLE);
		return;
	}
	if (r == SESSION_OK) {
		/* s is borrowed for this call: keep a copy. */
		c->sess = *s;
		len = strlen(s->user);
		user = http_alloc(c->req, len + 1);
		memcpy(user, s->user, len + 1);
		c->sess.user = user;
		c->user = (struct str){user, len};
		c->req->log_user = c->user;
		c->signed_in = true;
	}
	dispatch_checked(c);
}

void
webui_handle_api(struct http_request *req, void *ctx)
{
	struct webui *w = ctx;
	struct wcall *c = http_alloc(req, sizeof(*c));
	struct router_match m;
	const struct route *wr;
	char allow[64], *hdr;

	memset(c, 0, sizeof(*c));
	c->w = w;
	c->req = req;
	switch (router_find(wroutes, NWROUTES, req->method, req->route, &m)) {
	case ROUTER_NOT_FOUND:
		w_error(c, 404, "Not found.");
		return;
	case ROUTER_BAD_METHOD:
		router_allow_list(m.allow, allow, sizeof(allow));
		hdr = http_alloc(req, sizeof(allow) + 16);
		snprintf(hdr, sizeof(allow) + 16, "Allow: %s\r\n", allow);
		http_error(req, 405, hdr, "Method not allowed.");
		return;
	case ROUTER_FOUND:
		break;
	}
	wr = m.route;
	c->wr = wr;
	c->token = cookie_get(req, WEB_COOKIE);
	if (m.param.p != NULL) {
		char *p = http_alloc(req, m.param.len + 1);
		long n = str_unescape(m.param, p);

		if (n < 0)
			n = 0;
		p[n] = '\0';
		c->param = (struct str){p, (size_t)n};
		/*
		 * A document id may come after a ':' (never part of one): the
		 * page writes "." and ".." so, which a browser would resolve
		 * in the URL (web/app.js docPath).
		 */
		if ((wr->flags & W_DOC) && n > 0 && p[0] == ':') {
			c->param.p++;
			c->param.len--;
		}
		if ((wr->flags & W_DOC) && !document_valid(c->param)) {
			w_error(c, 404, "Not found.");
			return;
		}
	}
	if ((wr->flags & (W_SESSION | W_LOOKUP)) && c->token.p != NULL)
		sessions_lookup(w->sessions, c->token, dispatch_session, c);
	else
		dispatch_checked(c);
}

/*
 * Files
 */

static void
serve_asset(struct webui *w, struct http_request *req, size_t i)
{
	const struct str *inm = http_header_get(req, "if-none-match", NULL);
	char *hdr;
	size_t len = 64 + sizeof(WEB_SECURITY WEB_CSP);

	hdr = http_alloc(req, len);
	snprintf(hdr, len,
	    "Cache-Control: no-cache\r\nETag: %s\r\n" WEB_SECURITY WEB_CSP,
	    w->etags[i]);
	if (inm != NULL && str_eqs(*inm, w->etags[i])) {
		http_reply_ex(req, 304, web_assets[i].type, hdr, "", 0);
		return;
	}
	http_reply_ex(req, 200, web_assets[i].type, hdr,
	    (const char *)web_assets[i].data, web_assets[i].len);
}

/* 302 to the page, "<base_path>/". */
static void
redirect(struct webui *w, struct http_request *req)
{
	size_t len = w->base_len + 32 + sizeof(WEB_SECURITY);
	char *hdr = http_alloc(req, len);

	snprintf(hdr, len, "Location: %s/\r\n" WEB_SECURITY, w->base);
	http_reply_ex(req, 302, "text/plain; charset=utf-8", hdr, "", 0);
}

static void
not_found(struct http_request *req)
{
	http_error(req, 404, WEB_API_HEADERS, "Not found.");
}

static bool
under(struct str path, const char *dir)
{
	size_t n = strlen(dir);

	return str_eqs(path, dir) ||
	       (str_has_prefix(path, dir) && path.len > n && path.p[n] == '/');
}

void
webui_handle_files(struct http_request *req, void *ctx)
{
	struct webui *w = ctx;
	struct str path = req->route;
	bool get = req->method == HTTP_M_GET || req->method == HTTP_M_HEAD;
	size_t i;

	if (under(path, "/feed")) {
		if (get)
			feed_serve(req, w->st);
		else
			not_found(req);
		return;
	}
	if (str_eqs(path, "/")) {
		/* The page must end in "/" so that its relative links work. */
		if (req->path.len == 0 ||
		    req->path.p[req->path.len - 1] != '/') {
			redirect(w, req);
			return;
		}
	} else if (under(path, "/web")) {
		/* The address before the page moved to "/". */
		if (get)
			redirect(w, req);
		else
			not_found(req);
		return;
	} else if (!get) {
		not_found(req);
		return;
	}
	for (i = 0; i < web_nassets; i++) {
		if (str_eqs(path, web_assets[i].path)) {
			serve_asset(w, req, i);
			return;
		}
	}
	not_found(req);
}

/*
 * Life cycle
 */

static void
push_cb(void *arg, struct str user, struct str document, int64_t timestamp)
{
	struct webui *w = arg;

	sse_publish(w->sse, user, document, timestamp, "push");
	pubsub_publish_event(w->sh, user, document, timestamp, "push");
	webhook_push(w->hooks, user, document);
}

/* store_first_use_fn: a device credential signed in for the first time. */
static void
first_use_cb(void *arg, struct str user, const char *id, const char *label,
    struct str device)
{
	struct webui *w = arg;

	webhook_credential(w->hooks, user, id, label, device);
}

/* An account whose statistics may have outlived it (stats_check). */
struct stats_gone {
	struct webui *w;
	char user[STORE_MAX_USERNAME + 1];
};

static void
stats_gone_cb(void *arg, enum store_result r, const char *text, size_t len)
{
	struct stats_gone *g = arg;

	(void)text;
	(void)len;
	/* STORE_ERR_AUTH: there is no such account (any more). */
	if (r == STORE_ERR_AUTH && g->w->stats != NULL)
		statsvc_forget(g->w->stats, g->user, strlen(g->user));
	free(g);
}

/*
 * Forget user's reading statistics when the account no longer exists:
 * deleted through the protocol or the control socket (account_cb), or
 * while the server was not running (webui_set_stats). The store is asked
 * for a document that cannot exist, which fails with STORE_ERR_AUTH only
 * when the account is missing.
 */
static void
stats_check(void *arg, const char *user)
{
	struct webui *w = arg;
	struct stats_gone *g;
	struct store_page page;
	size_t len = strlen(user);

	if (w->stats == NULL || len > STORE_MAX_USERNAME)
		return;
	g = xcalloc(1, sizeof(*g));
	g->w = w;
	memcpy(g->user, user, len);
	memset(&page, 0, sizeof(page));
	page.limit = 1;
	store_web_documents(w->st, (struct str){g->user, len},
	    (struct str){"", 0}, false, &page, stats_gone_cb, g);
}

/*
 * store_account_fn: a key changed or an account deleted through the
 * protocol or the administration commands: end the user's sessions (and
 * when it was a deletion, forget its statistics).
 */
static void
account_cb(void *arg, struct str user)
{
	struct webui *w = arg;
	char name[STORE_MAX_USERNAME + 1];

	sessions_end_user(w->sessions, user, STR_NULL, NULL, NULL);
	if (w->stats != NULL && user.len <= STORE_MAX_USERNAME) {
		memcpy(name, user.p, user.len);
		name[user.len] = '\0';
		stats_check(w, name);
	}
}

/* pubsub_event_fn: a change made through another instance. */
static void
remote_event_cb(void *arg, struct str user, struct str document,
    int64_t timestamp, const char *kind)
{
	struct webui *w = arg;

	sse_publish(w->sse, user, document, timestamp, kind);
}

struct webui *
webui_new(uv_loop_t *loop, struct store *st, struct config *cfg,
    struct ratelimit *rl, struct str base)
{
	struct webui *w = xcalloc(1, sizeof(*w));
	unsigned char h[8];
	size_t i;

	w->loop = loop;
	w->st = st;
	w->cfg = cfg;
	w->base = base.p;
	w->base_len = base.len;
	buf_init(&w->out);
	buf_init(&w->scratch);

	w->etags = xcalloc(web_nassets ? web_nassets : 1, sizeof(*w->etags));
	for (i = 0; i < web_nassets; i++) {
		crypto_generichash(h, sizeof(h), web_assets[i].data,
		    web_assets[i].len, NULL, 0);
		snprintf(w->etags[i], sizeof(w->etags[i]),
		    "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", h[0], h[1], h[2],
		    h[3], h[4], h[5], h[6], h[7]);
	}
	w->sessions = sessions_open(
	    st, (uint64_t)cfg->session_ttl_s * 1000, WEB_MAX_SESSIONS);
	w->sse = sse_new(loop);
	w->hooks = webhook_new(loop, st, cfg);
	w->rl = rl;
	if (cfg->enable_webui) {
		store_listen(st, push_cb, w);
		store_listen_accounts(st, account_cb, w);
		store_listen_first_use(st, first_use_cb, w);
	}
	return w;
}

void
webui_set_shared(struct webui *w, struct pubsub *sh)
{
	w->sh = sh;
	pubsub_events(sh, remote_event_cb, w);
}

/* statsvc_read_fn: an upload was read; the user's open pages reload. */
static void
stats_read_cb(void *arg, const char *user, size_t len)
{
	struct webui *w = arg;

	sse_publish(w->sse, (struct str){user, len}, (struct str){"", 0},
	    (int64_t)time(NULL), "stats");
	webhook_statistics(w->hooks, (struct str){user, len});
}

void
webui_set_library(struct webui *w, struct library *lib)
{
	w->lib = lib;
}

void
webui_set_dav(struct webui *w, struct dav *dav)
{
	w->dav = dav;
}

void
webui_set_stats(struct webui *w, struct statsvc *sv)
{
	w->stats = sv;
	if (sv == NULL)
		return;
	statsvc_each(sv, stats_check, w);
	if (w->cfg->enable_webui)
		statsvc_on_read(sv, stats_read_cb, w);
}

void
webui_shutdown(struct webui *w)
{
	if (w == NULL)
		return;
	sse_shutdown(w->sse);
	webhook_shutdown(w->hooks);
}

void
webui_free(struct webui *w)
{
	if (w == NULL)
		return;
	store_listen(w->st, NULL, NULL);
	store_listen_accounts(w->st, NULL, NULL);
	store_listen_first_use(w->st, NULL, NULL);
	sse_free(w->sse);
	webhook_free(w->hooks);
	sessions_free(w->sessions);
	free(w->etags);
	buf_release(&w->out);
	buf_release(&w->scratch);
	free(w);
}
