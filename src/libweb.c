/*
 * libweb.c: the library's JSON API of the web interface (libweb.h).
 *
 * Each request's state lives in http_alloc memory (valid until the
 * answer); the library answers on the loop, and the answer is written
 * then. Query parameters are checked here: a bad one is a 400, never a
 * query of the index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "libcursor.h"
#include "libweb.h"
#include "library.h"
#include "store.h"

#define LIBWEB_DEFAULT_LIMIT 50
#define LIBWEB_COVER_W 200 /* a cover's box when ?size is not given */
#define LIBWEB_COVER_H 300

struct lwcall {
	struct http_request *req;
	const char *headers;
	enum libweb_op op;
	const char *viewer; /* library_book_json's: NULL for an administrator */
	uint64_t offset;
	unsigned limit;
};

static void
lw_error(struct lwcall *c, int status, const char *message)
{
	http_error(c->req, status, c->headers, message);
}

/* Answer the JSON in out (200 or status). */
static void
lw_reply(struct lwcall *c, int status, const struct buf *out)
{
	http_reply_ex(c->req, status, NULL, c->headers, out->data, out->len);
}

/*
 * The value of name in the query string, decoded into http_alloc memory:
 * 1 found, 0 absent, -1 not validly encoded.
 */
static int
lw_param(struct http_request *req, const char *name, const char **out)
{
	struct str q = req->query;
	size_t n = strlen(name), i = 0;

	*out = NULL;
	while (i < q.len) {
		size_t start = i, klen;
		const char *eq;

		while (i < q.len && q.p[i] != '&')
			i++;
		eq = memchr(q.p + start, '=', i - start);
		klen = eq != NULL ? (size_t)(eq - q.p - start) : i - start;
		if (klen == n && memcmp(q.p + start, name, n) == 0) {
			struct str v = {eq != NULL ? eq + 1 : q.p + i,
			    eq != NULL ? (size_t)(q.p + i - eq - 1) : 0};
			char *d = http_alloc(req, v.len + 1);
			long dl = str_unescape(v, d);

			if (dl < 0)
				return -1;
			d[dl] = '\0';
			/* A NUL inside would cut the value short. */
			if (strlen(d) != (size_t)dl)
				return -1;
			*out = d;
			return 1;
		}
		i++;
	}
	return 0;
}

/* A whole number in [0, max] from text; -1 when it is none. */
static int
lw_number(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ?offset and ?limit into c; false (answered 400) when bad. */
static bool
lw_paging(struct lwcall *c)
{
	const char *v;
	uint64_t n;

	c->offset = 0;
	c->limit = LIBWEB_DEFAULT_LIMIT;
	if (lw_param(c->req, "offset", &v) != 0 &&
	    lw_number(v, (uint64_t)1 << 40, &c->offset) == -1) {
		lw_error(c, 400, "offset must be a whole number.");
		return false;
	}
	if (lw_param(c->req, "limit", &v) != 0) {
		if (lw_number(v, LIBRARY_MAX_PAGE, &n) == -1 || n == 0) {
			lw_error(c, 400, "limit must be 1 to 200.");
			return false;
		}
		c->limit = (unsigned)n;
	}
	return true;
}

/* Open the answer's object in j with "total" and "last_modified". */
static void
lw_begin(struct json_out *j, struct buf *out, uint64_t total, int64_t lm)
{
	json_out_init(j, out, false);
	json_obj_begin(j);
	json_key(j, "total");
	json_uint(j, total);
	json_key(j, "last_modified");
	json_int(j, lm);
}

static void
lw_page(void *arg, const struct library_page *page, const char *error)
{
	struct lwcall *c = arg;
	struct buf out = BUF_INIT;
	struct json_out j;
	size_t i;

	if (page == NULL) {
		lw_error(c, 500, error);
		return;
	}
	if (c->op == LIBWEB_BOOK) {
		if (page->nbooks == 0) {
			lw_error(c, 404, "No such book.");
			return;
		}
		json_out_init(&j, &out, false);
		json_obj_begin(&j);
		json_key(&j, "book");
		library_book_json(&j, &page->books[0], c->viewer);
		json_obj_end(&j);
		lw_reply(c, 200, &out);
		buf_release(&out);
		return;
	}
	lw_begin(&j, &out, page->total, page->last_modified);
	json_key(&j, "offset");
	json_uint(&j, page->start);
	json_key(&j, "limit");
	json_uint(&j, c->limit);
	/* The cursor of the next page; null at the end or when too long. */
	json_key(&j, "next");
	if (page->next != NULL && page->next[0] != '\0')
		json_str(&j, page->next);
	else
		json_null(&j);
	json_key(&j, "books");
	json_arr_begin(&j);
	for (i = 0; i < page->nbooks; i++)
		library_book_json(&j, &page->books[i], c->viewer);
	json_arr_end(&j);
	json_obj_end(&j);
	lw_reply(c, 200, &out);
	buf_release(&out);
}

/* Split ?docs (ids separated by ','; at most LIBRARY_MAX_DOCS). */
static int
lw_docs(struct lwcall *c, const char *v, struct library_query *q)
{
	const char **docs, *cp;
	char *s, *p;
	size_t n = 1;

	for (cp = v; *cp != '\0'; cp++)
		n += *cp == ',';
	if (n > LIBRARY_MAX_DOCS)
		return -1;
	docs = http_alloc(c->req, n * sizeof(*docs));
	s = http_alloc(c->req, strlen(v) + 1);
	memcpy(s, v, strlen(v) + 1);
	q->ndocs = 0;
	for (p = s;;) {
		char *comma = strchr(p, ',');

		if (comma != NULL)
			*comma = '\0';
		if (*p != '\0')
			docs[q->ndocs++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	q->docs = docs;
	return 0;
}

static void
lw_list(struct library *lib, struct lwcall *c, const char *user)
{
	static const struct {
		const char *name;
		enum library_order order;
	} orders[] = {
	    {"title", LIBRARY_BY_TITLE},
	    {"author", LIBRARY_BY_AUTHOR},
	    {"series", LIBRARY_BY_SERIES},
	    {"added", LIBRARY_BY_ADDED},
	};
	struct library_query q;
	const char *v;
	size_t i;

	memset(&q, 0, sizeof(q));
	if (!lw_paging(c))
		return;
	q.offset = c->offset;
	q.limit = c->limit;
	if (lw_param(c->req, "order", &v) == -1)
		v = "";
	if (v != NULL) {
		for (i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
			if (strcmp(v, orders[i].name) == 0)
				break;
		if (i == sizeof(orders) / sizeof(orders[0])) {
			lw_error(c, 400,
			    "order must be title, author, series or added.");
			return;
		}
		q.order = orders[i].order;
	}
	if (lw_param(c->req, "author", &q.author) == -1 ||
	    lw_param(c->req, "series", &q.series) == -1 ||
	    lw_param(c->req, "language", &q.language) == -1 ||
	    lw_param(c->req, "tag", &q.tag) == -1 ||
	    lw_param(c->req, "q", &q.search) == -1 ||
	    lw_param(c->req, "uploads", &v) == -1) {
		lw_error(c, 400, "A query parameter is not validly encoded.");
		return;
	}
	q.uploads_only = v != NULL && strcmp(v, "1") == 0;
	if (lw_param(c->req, "docs", &v) == -1 ||
	    (v != NULL && lw_docs(c, v, &q) == -1)) {
		lw_error(c, 400, "docs: at most 200 ids, separated by ','.");
		return;
	}
	if (lw_param(c->req, "cursor", &v) == -1 ||
	    (v != NULL &&
	        (strlen(v) > LIBCURSOR_MAX ||
	            library_cursor_check(v, q.order, NULL) != NULL))) {
		lw_error(c, 400, "cursor must be a next of this list.");
		return;
	}
	q.cursor = v;
	library_query(lib, user, &q, lw_page, c);
}

static void
lw_cover(void *arg, int status, const void *jpeg, size_t len, const char *etag,
    const char *error)
{
	struct lwcall *c = arg;
	const struct str *inm = http_header_get(c->req, "if-none-match", NULL);
	char *hdr;
	size_t hl;

	if (status != 200) {
		lw_error(c, status, status == 404 ? "No cover." : error);
		return;
	}
	hl = strlen(etag) + 80;
	hdr = http_alloc(c->req, hl);
	snprintf(
	    hdr, hl, "Cache-Control: private, no-cache\r\nETag: %s\r\n", etag);
	if (inm != NULL && str_eqs(*inm, etag)) {
		http_reply_ex(c->req, 304, "image/jpeg", hdr, "", 0);
		return;
	}
	http_reply_ex(c->req, 200, "image/jpeg", hdr, jpeg, len);
}

static void
lw_facet(void *arg, const struct library_facet_page *page, const char *error)
{
	struct lwcall *c = arg;
	struct buf out = BUF_INIT;
	struct json_out j;
	size_t i;

	if (page == NULL) {
		lw_error(c, 500, error);
		return;
	}
	lw_begin(&j, &out, page->total, page->last_modified);
	json_key(&j, "values");
	json_arr_begin(&j);
	for (i = 0; i < page->nvalues; i++) {
		json_obj_begin(&j);
		json_key(&j, "value");
		json_str(&j, page->values[i].value);
		json_key(&j, "count");
		json_uint(&j, page->values[i].count);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	lw_reply(c, 200, &out);
	buf_release(&out);
}

static void
lw_status(void *arg, const struct library_status *st, const char *error)
{
	struct lwcall *c = arg;
	struct buf out = BUF_INIT;
	struct json_out j;

	if (st == NULL) {
		lw_error(c, 500, error);
		return;
	}
	json_out_init(&j, &out, false);
	library_status_json(&j, st);
	lw_reply(c, 200, &out);
	buf_release(&out);
}

/* "WxH", each 1 to 4096, into *w and *h; -1 when it is not that. */
static int
lw_size(const char *s, int *w, int *h)
{
	char *end;
	long a, b;

	if (*s < '0' || *s > '9')
		return -1;
	a = strtol(s, &end, 10);
	if (*end != 'x' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtol(end + 1, &end, 10);
	if (*end != '\0' || a < 1 || b < 1 || a > 4096 || b > 4096)
		return -1;
	*w = (int)a;
	*h = (int)b;
	return 0;
}

/* A book id: 32 lowercase hex digits. */
static bool
lw_is_id(struct str s)
{
	size_t i;

	if (s.len != 32)
		return false;
	for (i = 0; i < s.len; i++)
		if (!((s.p[i] >= '0' && s.p[i] <= '9') ||
		        (s.p[i] >= 'a' && s.p[i] <= 'f')))
			return false;
	return true;
}

void
libweb_handle(struct library *lib, struct http_request *req, enum libweb_op op,
    const char *user, bool admin, struct str param, const char *headers)
{
	struct lwcall *c = http_alloc(req, sizeof(*c));
	struct library_query q;
	const char *v;
	int w = LIBWEB_COVER_W, h = LIBWEB_COVER_H;
	char *id;

	memset(c, 0, sizeof(*c));
	c->req = req;
	c->headers = headers;
	c->op = op;
	c->viewer = admin ? NULL : user;
	if (lib == NULL) {
		lw_error(c, 503, "No library with this storage.");
		return;
	}
	if ((op == LIBWEB_BOOK || op == LIBWEB_COVER) && !lw_is_id(param)) {
		lw_error(c, 404, "No such book.");
		return;
	}
	id = http_alloc(req, param.len + 1);
	memcpy(id, param.p != NULL ? param.p : "", param.len);
	id[param.len] = '\0';
	switch (op) {
	case LIBWEB_LIST:
		lw_list(lib, c, user);
		break;
	case LIBWEB_BOOK:
		memset(&q, 0, sizeof(q));
		q.book_id = id;
		q.limit = 1;
		library_query(lib, user, &q, lw_page, c);
		break;
	case LIBWEB_COVER:
		if (lw_param(req, "size", &v) != 0 &&
		    (v == NULL || lw_size(v, &w, &h) == -1)) {
			lw_error(c, 400, "size must be WxH, each 1 to 4096.");
			return;
		}
		library_cover(lib, user, id, w, h, lw_cover, c);
		break;
	case LIBWEB_FACET: {
		static const char *const kinds[] = {
		    "authors", "series", "languages", "tags"};
		size_t k;

		for (k = 0; k < 4 && strcmp(id, kinds[k]) != 0; k++)
			;
		if (k == 4) {
			lw_error(c, 404, "Not found.");
			return;
		}
		if (!lw_paging(c))
			return;
		library_facet(lib, user, (enum library_facet_kind)k, c->offset,
		    c->limit, lw_facet, c);
		break;
	}
	case LIBWEB_ADMIN:
		library_status(lib, lw_status, c);
		break;
	case LIBWEB_SCAN:
		library_scan_now(lib);
		http_reply_ex(
		    req, 202, NULL, headers, "{\"scanning\":true}", 17);
		break;
	}
}

/* One upload of GET /api/v1/admin/library/uploads (libweb.h). */
static void
lw_upload_json(struct json_out *j, const struct library_book *b)
{
	uint64_t size = 0;
	size_t i;

	json_obj_begin(j);
	json_kv_str(j, "id", b->id);
	json_kv_str(j, "title", b->title);
	json_key(j, "authors");
	json_arr_begin(j);
	for (i = 0; i < b->nauthors; i++)
		json_str(j, b->authors[i]);
	json_arr_end(j);
	json_kv_str(j, "owner", b->owner);
	json_kv_bool(j, "shared", b->shared);
	json_key(j, "formats");
	json_arr_begin(j);
	for (i = 0; i < b->nfiles; i++) {
		json_str(j, b->files[i].format);
		size += b->files[i].size;
	}
	json_arr_end(j);
	json_kv_uint(j, "size", size);
	json_kv_int(j, "added", b->added);
	json_obj_end(j);
}

static void
lw_uploads(
    void *arg, const struct library_uploads_page *page, const char *error)
{
	struct lwcall *c = arg;
	struct buf out = BUF_INIT;
	struct json_out j;
	size_t i;
	bool more;

	if (page == NULL) {
		lw_error(c, 500, error);
		return;
	}
	more = page->more;
	json_out_init(&j, &out, false);
	json_obj_begin(&j);
	json_key(&j, "uploads");
	json_arr_begin(&j);
	for (i = 0; i < page->nbooks; i++) {
		/* A page's bytes are bounded as the other lists' are. */
		if (i > 0 && out.len >= STORE_PAGE_MAX_BYTES) {
			more = true;
			break;
		}
		lw_upload_json(&j, &page->books[i]);
	}
	json_arr_end(&j);
	json_key(&j, "next");
	store_page_next(&j, STORE_PAGE_UPLOADS, more && i > 0,
	    i > 0 ? page->books[i - 1].added : 0,
	    i > 0 ? str_from(page->books[i - 1].id) : STR_NULL);
	json_obj_end(&j);
	lw_reply(c, 200, &out);
	buf_release(&out);
}

void
libweb_uploads(struct library *lib, struct http_request *req,
    const struct store_page *page, const char *account, const char *headers)
{
	struct lwcall *c = http_alloc(req, sizeof(*c));
	struct library_uploads_query q;

	memset(c, 0, sizeof(*c));
	c->req = req;
	c->headers = headers;
	if (lib == NULL) {
		lw_error(c, 503, "No library with this storage.");
		return;
	}
	memset(&q, 0, sizeof(q));
	q.account = account;
	q.limit = (unsigned)page->limit;
	q.after = page->after;
	q.added = page->ts;
	q.id = page->after ? page->id.p : NULL;
	library_uploads(lib, &q, lw_uploads, c);
}
