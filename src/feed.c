/*
 * feed.c: the "now reading" feed (see feed.h): the token's account, a
 * page of its documents from the store (store_web_documents, newest
 * first), rendered as JSON or Atom.
 *
 * Per-request state lives in http_alloc() memory; the store's callbacks
 * may run before the store call returns or later.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "davxml.h"
#include "feed.h"
#include "json.h"
#include "opdsfmt.h"
#include "store.h"

#define FEED_FINISHED 0.99 /* from here a book is finished, not "reading" */
#define FEED_HEADERS                                                           \
	"Cache-Control: private, max-age=60\r\n"                               \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"Referrer-Policy: no-referrer\r\n"

enum feed_kind { FEED_JSON, FEED_ATOM };

struct feed_call {
	struct http_request *req;
	struct store *st;
	enum feed_kind kind;
	char token[FEED_TOKEN_LEN + 1];
	char user[STORE_MAX_USERNAME + 1];
	size_t user_len;
};

/* One book as the feed shows it. */
struct feed_book {
	struct str title; /* len 0: unknown */
	struct str device;
	struct str document; /* for the Atom entry's id only (hashed) */
	double percentage;
	int64_t timestamp;
};

static void
feed_error(struct http_request *req, int status, const char *message)
{
	http_error(req, status, FEED_HEADERS, message);
}

/* The answer when the store said r (not STORE_OK): 503 or 404. */
static void
feed_refuse(struct http_request *req, enum store_result r)
{
	if (r == STORE_ERR_UNAVAILABLE)
		feed_error(req, 503, "Not available right now.");
	else
		feed_error(req, 404, "No such feed.");
}

static struct str
field(const struct json_value *d, const char *key)
{
	struct str s = json_get_str(d, key);

	return s.p != NULL ? s : (struct str){"", 0};
}

static double
number(const struct json_value *d, const char *key)
{
	const struct json_value *v = json_get(d, key);
	double n = 0;

	if (v == NULL || json_number(v, false, &n) != 0)
		return 0;
	return n;
}

/* An opaque id of what under the token: 16 hex digits, nothing readable. */
static void
feed_id(const struct feed_call *f, struct str what, char out[33])
{
	unsigned char h[16];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(
	    &st, (const unsigned char *)f->token, FEED_TOKEN_LEN);
	crypto_generichash_update(&st, (const unsigned char *)what.p, what.len);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 33, h, sizeof(h));
}

static void
xml_add(struct buf *b, struct str s)
{
	davxml_escape(b, s.p, s.len);
}

static void
render_json(struct buf *b, const struct feed_book *v, size_t n, int64_t updated)
{
	struct json_out o;
	size_t i;

	json_out_init(&o, b, false);
	json_obj_begin(&o);
	json_key(&o, "title");
	json_str(&o, "Now reading");
	json_key(&o, "updated");
	json_int(&o, updated);
	json_key(&o, "books");
	json_arr_begin(&o);
	for (i = 0; i < n; i++) {
		json_obj_begin(&o);
		if (v[i].title.len > 0) {
			json_key(&o, "title");
			json_strn(&o, v[i].title.p, v[i].title.len);
		}
		json_key(&o, "percentage");
		json_double(&o, v[i].percentage);
		json_key(&o, "device");
		json_strn(&o, v[i].device.p, v[i].device.len);
		json_key(&o, "timestamp");
		json_int(&o, v[i].timestamp);
		json_obj_end(&o);
	}
	json_arr_end(&o);
	json_obj_end(&o);
}

static void
render_atom(const struct feed_call *f, struct buf *b, const struct feed_book *v,
    size_t n, int64_t updated)
{
	char when[40], id[33];
	size_t i;

	feed_id(f, (struct str){"feed", 4}, id);
	opdsfmt_time(updated, false, when, sizeof(when));
	buf_addf(b,
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
	    "<title>Now reading</title>\n"
	    "<id>urn:kosyncd:feed:%s</id>\n"
	    "<updated>%s</updated>\n"
	    "<author><name>kosyncd</name></author>\n",
	    id, when);
	for (i = 0; i < n; i++) {
		feed_id(f, v[i].document, id);
		opdsfmt_time(v[i].timestamp, false, when, sizeof(when));
		buf_adds(b, "<entry>\n<title>");
		if (v[i].title.len > 0)
			xml_add(b, v[i].title);
		else
			buf_adds(b, "A book");
		buf_addf(b,
		    "</title>\n<id>urn:kosyncd:feed:%s</id>\n"
		    "<updated>%s</updated>\n<summary>%.0f %%",
		    id, when, v[i].percentage * 100);
		if (v[i].device.len > 0) {
			buf_adds(b, " on ");
			xml_add(b, v[i].device);
		}
		buf_adds(b, "</summary>\n</entry>\n");
	}
	buf_adds(b, "</feed>\n");
}

/* Whether the request's validators match etag or the time last. */
static bool
not_modified(const struct http_request *req, const char *etag, int64_t last)
{
	const struct str *inm = http_header_get(req, "if-none-match", NULL);
	const struct str *ims = http_header_get(req, "if-modified-since", NULL);
	char date[40];

	if (inm != NULL)
		return str_eqs(*inm, etag);
	if (ims == NULL)
		return false;
	opdsfmt_time(last, true, date, sizeof(date));
	return str_eqs(*ims, date);
}

void
feed_reply(struct http_request *req, const char *ctype, const char *headers,
    const char *body, size_t len, int64_t last)
{
	unsigned char h[8];
	char etag[24], date[40], *hdr;
	size_t n = strlen(headers) + 96;

	crypto_generichash(
	    h, sizeof(h), (const unsigned char *)body, len, NULL, 0);
	snprintf(etag, sizeof(etag), "\"%02x%02x%02x%02x%02x%02x%02x%02x\"",
	    h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
	opdsfmt_time(last, true, date, sizeof(date));
	hdr = http_alloc(req, n);
	snprintf(
	    hdr, n, "%sETag: %s\r\nLast-Modified: %s\r\n", headers, etag, date);
	if (not_modified(req, etag, last))
		http_reply_ex(req, 304, NULL, hdr, "", 0);
	else
		http_reply_ex(req, 200, ctype, hdr, body, len);
}

/* store_text_cb: the account's documents, newest first. */
static void
documents_read(void *arg, enum store_result r, const char *text, size_t len)
{
	struct feed_call *f = arg;
	struct http_request *req = f->req;
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root, *docs, *d;
	struct feed_book v[FEED_MAX_BOOKS];
	struct buf b = BUF_INIT;
	size_t n = 0;
	int64_t updated = 0;

	if (r != STORE_OK) {
		feed_refuse(req, r);
		return;
	}
	root = json_parse(text, len, json_arena_alloc, &a, NULL);
	docs = root != NULL ? json_get(root, "documents") : NULL;
	for (d = docs != NULL ? docs->child : NULL;
	     d != NULL && n < FEED_MAX_BOOKS; d = d->next) {
		struct feed_book *k = &v[n];

		k->percentage = number(d, "percentage");
		if (k->percentage >= FEED_FINISHED || k->percentage < 0)
			continue;
		k->title = field(d, "pretty_name");
		if (k->title.len == 0)
			k->title = field(d, "title");
		k->device = field(d, "device");
		k->document = field(d, "document");
		k->timestamp = (int64_t)number(d, "timestamp");
		if (k->timestamp > updated)
			updated = k->timestamp;
		n++;
	}
	if (f->kind == FEED_JSON)
		render_json(&b, v, n, updated);
	else
		render_atom(f, &b, v, n, updated);
	json_arena_release(&a);
	feed_reply(req,
	    f->kind == FEED_JSON ? "application/json; charset=utf-8"
	                         : "application/atom+xml; charset=utf-8",
	    FEED_HEADERS, b.data, b.len, updated);
	buf_release(&b);
}

/* store_text_cb: the token's account. */
static void
owner_found(void *arg, enum store_result r, const char *text, size_t len)
{
	struct feed_call *f = arg;
	struct store_page page;

	if (r != STORE_OK || len > STORE_MAX_USERNAME) {
		feed_refuse(f->req, r == STORE_OK ? STORE_ERR_NOTFOUND : r);
		return;
	}
	memcpy(f->user, text, len);
	f->user_len = len;
	memset(&page, 0, sizeof(page));
	page.limit = (size_t)FEED_MAX_BOOKS * 4;
	store_web_documents(f->st, (struct str){f->user, f->user_len}, STR_NULL,
	    false, &page, documents_read, f);
}

void
feed_serve(struct http_request *req, struct store *st)
{
	struct feed_call *f;
	struct str p = req->route;
	size_t i;

	/* "/feed/" 32 hex digits ".json" or ".atom" */
	if (p.len != 6 + FEED_TOKEN_LEN + 5 || memcmp(p.p, "/feed/", 6) != 0) {
		feed_error(req, 404, "No such feed.");
		return;
	}
	f = http_alloc(req, sizeof(*f));
	memset(f, 0, sizeof(*f));
	f->req = req;
	f->st = st;
	for (i = 0; i < FEED_TOKEN_LEN; i++) {
		char ch = p.p[6 + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			feed_error(req, 404, "No such feed.");
			return;
		}
		f->token[i] = ch;
	}
	if (memcmp(p.p + 6 + FEED_TOKEN_LEN, ".json", 5) == 0) {
		f->kind = FEED_JSON;
	} else if (memcmp(p.p + 6 + FEED_TOKEN_LEN, ".atom", 5) == 0) {
		f->kind = FEED_ATOM;
	} else {
		feed_error(req, 404, "No such feed.");
		return;
	}
	store_feed_user(
	    st, (struct str){f->token, FEED_TOKEN_LEN}, owner_found, f);
}
