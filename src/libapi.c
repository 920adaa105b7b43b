/*
 * libapi.c: the library's JSON API for the web interface (libapi.h).
 *
 * Every answer is JSON with Cache-Control: no-store, except a cover (a
 * JPEG with its ETag, kept privately by the browser for a day and asked
 * again after it) and a file (the stored bytes, unchanged, as an
 * attachment named "Author - Title.ext"). Errors are
 * {"code":N,"message":"..."}. A book or file another account uploaded is
 * simply not found (404), as the index answers.
 *
 * Per-request state lives in http_alloc() memory, which stays valid until
 * the request is answered, however late the index answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dav.h"
#include "json.h"
#include "libapi.h"
#include "library.h"

#define LIBAPI_HEADERS                                                         \
	"Cache-Control: no-store\r\n"                                          \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"Referrer-Policy: no-referrer\r\n"                                     \
	"X-Frame-Options: DENY\r\n"
#define LIBAPI_COVER_HEADERS                                                   \
	"Cache-Control: private, max-age=86400\r\n"                            \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"Referrer-Policy: no-referrer\r\n"
/* The largest cover side asked with ?size (the index rounds it up). */
#define LIBAPI_MAX_COVER 1200

/* One request waiting for the index (http_alloc memory). */
struct lcall {
	struct http_request *req;
	enum libapi_op op;
	uint64_t offset;
};

static void
reply_json(struct http_request *req, int status, const struct buf *b)
{
	http_reply_ex(req, status, NULL, LIBAPI_HEADERS, b->data, b->len);
}

static void
fail(struct http_request *req, int status, const char *message)
{
	http_error(req, status, LIBAPI_HEADERS, message);
}

/*
 * Read the unsigned number ?name (at most max) into *out; absent leaves
 * *out as it is. false when it is there but not such a number.
 */
static bool
arg_number(
    struct http_request *req, const char *name, uint64_t max, uint64_t *out)
{
	bool bad = false;
	struct str v = http_query_get(req, name, &bad);
	uint64_t n = 0;
	size_t i;

	if (bad)
		return false;
	if (v.p == NULL)
		return true;
	if (v.len == 0 || v.len > 19)
		return false;
	for (i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	if (n > max)
		return false;
	*out = n;
	return true;
}

/*
 * ?name as a NUL-terminated string, NULL when absent or empty; *bad set
 * when it is not valid UTF-8 or percent-encoding.
 */
static const char *
arg_text(struct http_request *req, const char *name, bool *bad)
{
	struct str v = http_query_get(req, name, bad);

	if (v.p == NULL || v.len == 0)
		return NULL;
	if (!json_utf8_valid(v.p, v.len) || memchr(v.p, '\0', v.len) != NULL) {
		*bad = true;
		return NULL;
	}
	return v.p;
}

/* A document id of ?docs: 32 hex digits, as partial MD5s are. */
static bool
doc_id_valid(const char *s, size_t len)
{
	size_t i;

	if (len != 32)
		return false;
	for (i = 0; i < len; i++)
		if (str_hex_digit(s[i]) < 0)
			return false;
	return true;
}

/*
 * Split ?docs (ids separated by ',') into q->docs, in http_alloc memory.
 * false when one is not an id or there are more than LIBAPI_MAX_DOCS.
 */
static bool
arg_docs(struct http_request *req, const char *list, struct library_query *q)
{
	const char **ids;
	const char *p = list;
	size_t n = 0;

	ids = http_alloc(req, LIBAPI_MAX_DOCS * sizeof(*ids));
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *id;

		if (n == LIBAPI_MAX_DOCS || !doc_id_valid(p, len))
			return false;
		id = http_alloc(req, len + 1);
		memcpy(id, p, len);
		id[len] = '\0';
		ids[n++] = id;
		p += len + (end != NULL);
	}
	q->docs = ids;
	q->ndocs = n;
	return n > 0;
}

/*
 * Answers from the index
 */

/* library_page_fn: a page of books, or the one book of LIBAPI_BOOK. */
static void
books_done(void *arg, const struct library_page *page, const char *error)
{
	struct lcall *c = arg;
	struct buf b = BUF_INIT;
	struct json_out o;
	size_t i;

	if (page == NULL) {
		fail(
		    c->req, 500, error ? error : "The library cannot be read.");
		return;
	}
	if (c->op == LIBAPI_BOOK && page->nbooks == 0) {
		fail(c->req, 404, "Not found.");
		return;
	}
	json_out_init(&o, &b, false);
	if (c->op == LIBAPI_BOOK) {
		library_book_json(&o, &page->books[0]);
	} else {
		json_obj_begin(&o);
		json_key(&o, "books");
		json_arr_begin(&o);
		for (i = 0; i < page->nbooks; i++)
			library_book_json(&o, &page->books[i]);
		json_arr_end(&o);
		json_key(&o, "total");
		json_uint(&o, page->total);
		json_key(&o, "offset");
		json_uint(&o, c->offset);
		json_key(&o, "last_modified");
		json_int(&o, page->last_modified);
		json_obj_end(&o);
	}
	reply_json(c->req, 200, &b);
	buf_release(&b);
}

/* library_facet_fn: the values of a facet. */
static void
facet_done(void *arg, const struct library_facet_page *page, const char *error)
{
	struct lcall *c = arg;
	struct buf b = BUF_INIT;
	struct json_out o;
	size_t i;

	if (page == NULL) {
		fail(
		    c->req, 500, error ? error : "The library cannot be read.");
		return;
	}
	json_out_init(&o, &b, false);
	json_obj_begin(&o);
	json_key(&o, "values");
	json_arr_begin(&o);
	for (i = 0; i < page->nvalues; i++) {
		json_obj_begin(&o);
		json_key(&o, "value");
		json_str(&o, page->values[i].value);
		json_key(&o, "count");
		json_uint(&o, page->values[i].count);
		json_obj_end(&o);
	}
	json_arr_end(&o);
	json_key(&o, "total");
	json_uint(&o, page->total);
	json_key(&o, "offset");
	json_uint(&o, c->offset);
	json_obj_end(&o);
	reply_json(c->req, 200, &b);
	buf_release(&b);
}

/* library_cover_fn: the thumbnail, or 304 when the browser has it. */
static void
cover_done(void *arg, int status, const void *jpeg, size_t len,
    const char *etag, const char *error)
{
	struct lcall *c = arg;
	const struct str *inm = http_header_get(c->req, "if-none-match", NULL);
	struct buf h = BUF_INIT;

	if (status != 200) {
		fail(c->req, status == 404 ? 404 : 500,
		    status == 404 ? "No cover."
		    : error       ? error
		                  : "The cover cannot be read.");
		return;
	}
	buf_addf(&h, "ETag: %s\r\n" LIBAPI_COVER_HEADERS, etag);
	if (inm != NULL && str_eqs(*inm, etag))
		http_reply_ex(c->req, 304, "image/jpeg", h.data, "", 0);
	else
		http_reply_ex(c->req, 200, "image/jpeg", h.data, jpeg, len);
	buf_release(&h);
}

/*
 * Append s to b as a part of a quoted file name: the characters a quoted
 * string or a file system cannot take (quotes, '\\', '/', controls)
 * become '_'.
 */
static void
name_add(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		buf_addch(b, ch < 0x20 || ch == 0x7f || ch == '"' ||
		                     ch == '\\' || ch == '/'
		                 ? '_'
		                 : (char)ch);
	}
}

/*
 * The download's name: "Author - Title.ext" (the first author; the title
 * alone without one; the file's own name without a title), at most
 * LIBAPI_MAX_FILENAME bytes, cut on a UTF-8 character boundary.
 */
static void
download_name(struct buf *out, const struct library_file *f,
    const struct library_book *bk)
{
	const char *dot;
	size_t keep;

	if (bk == NULL || bk->title[0] == '\0') {
		name_add(out, f->name);
		dot = NULL;
	} else {
		if (bk->nauthors > 0 && bk->authors[0][0] != '\0') {
			name_add(out, bk->authors[0]);
			buf_add(out, " - ", 3);
		}
		name_add(out, bk->title);
		dot = strrchr(f->name, '.');
	}
	keep = out->len;
	if (dot != NULL && strlen(dot) < 16)
		keep = LIBAPI_MAX_FILENAME - strlen(dot);
	if (out->len > keep) {
		while (
		    keep > 0 && ((unsigned char)out->data[keep] & 0xc0) == 0x80)
			keep--;
		out->len = keep;
		out->data[keep] = '\0';
	}
	if (dot != NULL && strlen(dot) < 16)
		name_add(out, dot);
}

/* library_file_fn: the file's bytes, as stored. */
static void
file_done(void *arg, int fd, const struct library_file *f,
    const struct library_book *bk, int status, const char *error)
{
	struct lcall *c = arg;
	struct buf name = BUF_INIT, h = BUF_INIT;
	char *hdr;

	if (fd < 0) {
		fail(c->req, status == 404 ? 404 : 500,
		    status == 404 ? "Not found."
		    : error       ? error
		                  : "The file cannot be read.");
		return;
	}
	download_name(&name, f, bk);
	buf_addf(&h,
	    "Content-Disposition: attachment; filename=\"%s\"\r\n"
	    "Cache-Control: private, no-cache\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n",
	    name.data);
	hdr = http_alloc(c->req, h.len + 1);
	memcpy(hdr, h.data, h.len + 1);
	dav_reply_file(c->req, 200, f->mime, hdr, fd, 0, f->size);
	buf_release(&name);
	buf_release(&h);
}

/* library_status_fn: the administrator's view. */
static void
status_done(void *arg, const struct library_status *st, const char *error)
{
	struct lcall *c = arg;
	struct buf b = BUF_INIT;
	struct json_out o;

	if (st == NULL) {
		fail(
		    c->req, 500, error ? error : "The library cannot be read.");
		return;
	}
	json_out_init(&o, &b, false);
	library_status_json(&o, st);
	reply_json(c->req, 200, &b);
	buf_release(&b);
}

/*
 * Requests
 */

/* ?order: title (the default), author, series or added. */
static bool
arg_order(struct http_request *req, enum library_order *out)
{
	static const char *const names[] = {
	    "title", "author", "series", "added"};
	bool bad = false;
	const char *v = arg_text(req, "order", &bad);
	size_t i;

	if (bad)
		return false;
	*out = LIBRARY_BY_TITLE;
	if (v == NULL)
		return true;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = (enum library_order)i;
			return true;
		}
	}
	return false;
}

/* GET library: ?order, the filters, ?offset and ?limit. */
static void
serve_books(struct library *lib, struct lcall *c, const char *user)
{
	struct http_request *req = c->req;
	struct library_query q;
	uint64_t limit = LIBAPI_PAGE_DEFAULT;
	const char *docs;
	bool bad = false, has_docs = false;

	memset(&q, 0, sizeof(q));
	if (!arg_order(req, &q.order)) {
		fail(req, 400, "order must be title, author, series or added.");
		return;
	}
	if (!arg_number(req, "offset", UINT32_MAX, &c->offset) ||
	    !arg_number(req, "limit", LIBRARY_MAX_PAGE, &limit) || limit == 0) {
		fail(req, 400,
		    "offset must be a number, limit one from 1 to 200.");
		return;
	}
	q.offset = c->offset;
	q.limit = (unsigned)limit;
	q.author = arg_text(req, "author", &bad);
	q.series = arg_text(req, "series", &bad);
	q.language = arg_text(req, "language", &bad);
	q.tag = arg_text(req, "tag", &bad);
	q.search = arg_text(req, "search", &bad);
	q.uploads_only = str_eqs(http_query_get(req, "uploads", &bad), "1");
	if (!bad && http_query_get(req, "docs", &bad).p != NULL) {
		has_docs = true;
		docs = arg_text(req, "docs", &bad);
		if (docs != NULL && !arg_docs(req, docs, &q))
			bad = true;
	}
	if (bad) {
		fail(req, 400,
		    "A filter is not valid UTF-8, or docs is not a list of "
		    "at most 200 document ids.");
		return;
	}
	if (has_docs && q.ndocs == 0) {
		/* docs= and nothing in it: no document, no book. */
		struct library_page empty = {NULL, 0, 0, 0};

		books_done(c, &empty, NULL);
		return;
	}
	library_query(lib, user, &q, books_done, c);
}

/* A book id: 32 hex digits (library.h). */
static bool
book_id_valid(const char *id)
{
	return doc_id_valid(id, strlen(id));
}

void
libapi_serve(struct library *lib, struct http_request *req, enum libapi_op op,
    const char *user, const char *param)
{
	struct lcall *c;
	struct library_query q;
	uint64_t n = 0, limit = LIBAPI_PAGE_DEFAULT;
	static const char *const facets[] = {
	    "authors", "series", "languages", "tags"};
	size_t i;

	if (lib == NULL) {
		/*
		 * The lists are empty, saying why ("available"), so a page
		 * that lists books needs no second question; the rest is 404.
		 */
		if (op == LIBAPI_BOOKS || op == LIBAPI_FACET) {
			static const char none[] =
			    "{\"books\":[],\"values\":[],\"total\":0,"
			    "\"offset\":0,\"available\":false}";

			http_reply_ex(req, 200, NULL, LIBAPI_HEADERS, none,
			    sizeof(none) - 1);
			return;
		}
		fail(req, 404, "There is no library with this storage.");
		return;
	}
	c = http_alloc(req, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->op = op;
	switch (op) {
	case LIBAPI_BOOKS:
		serve_books(lib, c, user);
		return;
	case LIBAPI_FACET:
		for (i = 0; i < sizeof(facets) / sizeof(facets[0]); i++)
			if (strcmp(param, facets[i]) == 0)
				break;
		if (i == sizeof(facets) / sizeof(facets[0])) {
			fail(req, 404, "Not found.");
			return;
		}
		if (!arg_number(req, "offset", UINT32_MAX, &c->offset) ||
		    !arg_number(req, "limit", LIBRARY_MAX_PAGE, &limit) ||
		    limit == 0) {
			fail(req, 400,
			    "offset must be a number, limit one from 1 to "
			    "200.");
			return;
		}
		library_facet(lib, user, (enum library_facet_kind)i, c->offset,
		    (unsigned)limit, facet_done, c);
		return;
	case LIBAPI_BOOK:
		if (!book_id_valid(param)) {
			fail(req, 404, "Not found.");
			return;
		}
		memset(&q, 0, sizeof(q));
		q.book_id = param;
		q.limit = 1;
		library_query(lib, user, &q, books_done, c);
		return;
	case LIBAPI_COVER:
		n = 240;
		if (!book_id_valid(param)) {
			fail(req, 404, "Not found.");
			return;
		}
		if (!arg_number(req, "size", LIBAPI_MAX_COVER, &n) || n == 0) {
			fail(req, 400, "size must be a number from 1 to 1200.");
			return;
		}
		library_cover(lib, user, param, (int)n, (int)n, cover_done, c);
		return;
	case LIBAPI_FILE:
		if (param[0] == '\0' || strlen(param) > 64) {
			fail(req, 404, "Not found.");
			return;
		}
		library_file_open(lib, user, param, file_done, c);
		return;
	case LIBAPI_STATUS:
		library_status(lib, status_done, c);
		return;
	case LIBAPI_SCAN:
		library_scan_now(lib);
		http_reply_ex(
		    req, 202, NULL, LIBAPI_HEADERS, "{\"scanning\":true}", 17);
		return;
	}
	fail(req, 404, "Not found.");
}
