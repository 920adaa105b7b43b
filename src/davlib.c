/*
 * davlib.c: the library's read-only WebDAV folder (see davlib.h): sign
 * in, list the books the account sees (library_query, pages of
 * LIBRARY_MAX_PAGE, the names made and copied as they come), then answer
 * PROPFIND from the list, or find the file of a GET by its name and send
 * it (library_file_open).
 *
 * The list lives in malloc'd memory owned by the call and freed with its
 * answer (list_free); the rest in http_alloc() memory.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basicauth.h"
#include "config.h"
#include "dav.h"
#include "davlib.h"
#include "davpath.h"
#include "davxml.h"
#include "library.h"
#include "opdsfmt.h"
#include "router.h"
#include "xmalloc.h"

#define DAVLIB_HEADERS "X-Content-Type-Options: nosniff\r\n"
#define DAVLIB_ALLOW "Allow: OPTIONS, GET, HEAD, PROPFIND\r\n"

struct davlib {
	struct store *st;
	struct ratelimit *rl;
	struct library *lib;
	char *href; /* "<base>/dav/library/" */
};

/* A file of the folder. */
struct davlib_file {
	char *name; /* "Author - Title.epub" */
	char *id;   /* the library's file id */
	char *mime;
	char *etag; /* partial MD5 */
	uint64_t size;
	int64_t mtime;
};

struct davlib_call {
	struct http_request *req;
	struct davlib *d;
	const char *user;
	char *name; /* the file asked for; NULL: the folder */
	bool depth1;
	struct davlib_file *files;
	size_t n, cap;
	uint64_t offset;
};

static void
list_free(struct davlib_call *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->files[i].name);
		free(c->files[i].id);
		free(c->files[i].mime);
		free(c->files[i].etag);
	}
	free(c->files);
	c->files = NULL;
	c->n = c->cap = 0;
}

static void
davlib_fail(struct davlib_call *c, int status, const char *message)
{
	list_free(c);
	http_error(c->req, status,
	    status == 401   ? BASICAUTH_CHALLENGE DAVLIB_HEADERS
	    : status == 405 ? DAVLIB_ALLOW DAVLIB_HEADERS
	                    : DAVLIB_HEADERS,
	    message);
}

/* The name of book k's file f in the folder: the download's, with no '/'. */
static char *
file_name(const struct library_book *k, const struct library_file *f)
{
	struct buf b = BUF_INIT;
	char *raw = NULL;
	long n, i;

	opdsfmt_filename(
	    &b, k->authors, k->nauthors, k->title, library_file_ext(f));
	raw = xmalloc(b.len + 1);
	n = str_unescape((struct str){b.data, b.len}, raw);
	if (n < 0)
		n = 0;
	raw[n] = '\0';
	for (i = 0; i < n; i++)
		if (raw[i] == '/')
			raw[i] = '_';
	buf_release(&b);
	return raw;
}

static int
by_name(const void *a, const void *b)
{
	const struct davlib_file *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	/* Two files of one name: the same order every time, by id. */
	return d != 0 ? d : strcmp(x->id, y->id);
}

/* Sort the list by name and give a repeated name " (2)", " (3)", ... */
static void
names_unique(struct davlib_call *c)
{
	size_t i, first = 0, k = 1;

	if (c->n == 0)
		return; /* no list at all (qsort wants one, even empty) */
	qsort(c->files, c->n, sizeof(*c->files), by_name);
	for (i = 1; i < c->n; i++) {
		struct davlib_file *f = &c->files[i];
		struct buf b = BUF_INIT;
		const char *dot;

		/* The first of a run keeps its name: the others compare to it.
		 */
		if (strcmp(f->name, c->files[first].name) != 0) {
			first = i;
			k = 1;
			continue;
		}
		k++;
		dot = strrchr(f->name, '.');
		if (dot == NULL)
			dot = f->name + strlen(f->name);
		buf_add(&b, f->name, (size_t)(dot - f->name));
		buf_addf(&b, " (%zu)%s", k, dot);
		free(f->name);
		f->name = buf_detach(&b, NULL);
	}
	qsort(c->files, c->n, sizeof(*c->files), by_name);
}

/* Append one <D:response> for a file (f) or the folder (f NULL). */
static void
prop_response(struct buf *b, const struct davlib *d,
    const struct davlib_file *f, int64_t folder_time)
{
	char date[40];

	buf_adds(b, "<D:response><D:href>");
	buf_adds(b, d->href);
	if (f != NULL)
		davpath_encode(b, str_from(f->name), false);
	buf_adds(b, "</D:href><D:propstat><D:prop><D:displayname>");
	davxml_escape(b, f != NULL ? f->name : "library",
	    strlen(f != NULL ? f->name : "library"));
	buf_adds(b, "</D:displayname>");
	opdsfmt_time(
	    f != NULL ? f->mtime : folder_time, true, date, sizeof(date));
	if (f == NULL) {
		buf_addf(b,
		    "<D:resourcetype><D:collection/></D:resourcetype>"
		    "<D:getlastmodified>%s</D:getlastmodified>",
		    date);
	} else {
		buf_addf(b,
		    "<D:resourcetype/>"
		    "<D:getcontentlength>%" PRIu64 "</D:getcontentlength>"
		    "<D:getlastmodified>%s</D:getlastmodified>"
		    "<D:getetag>\"%s\"</D:getetag><D:getcontenttype>",
		    f->size, date, f->etag);
		davxml_escape(b, f->mime, strlen(f->mime));
		buf_adds(b, "</D:getcontenttype>");
	}
	buf_adds(b, "</D:prop><D:status>HTTP/1.1 200 OK</D:status>"
	            "</D:propstat></D:response>\n");
}

/* The file of the folder named name, or NULL. */
static const struct davlib_file *
find(const struct davlib_call *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->files[i].name, name) == 0)
			return &c->files[i];
	return NULL;
}

/* library_file_fn: a GET's file, opened. */
static void
get_opened(void *arg, int fd, const struct library_file *file,
    const struct library_book *book, int status, const char *error)
{
	struct davlib_call *c = arg;
	const struct str *range = http_header_get(c->req, "range", NULL);
	struct buf h = BUF_INIT;
	char date[40], *hdr;
	uint64_t from = 0, to = 0;
	int rr = 0;

	(void)book;
	if (fd < 0) {
		davlib_fail(c, status == 404 ? 404 : 500,
		    error != NULL ? error : "the file is gone");
		return;
	}
	opdsfmt_time(file->mtime, true, date, sizeof(date));
	buf_addf(&h,
	    DAVLIB_HEADERS "ETag: \"%s\"\r\nLast-Modified: %s\r\n"
	                   "Accept-Ranges: bytes\r\n",
	    file->partial_md5, date);
	if (range != NULL)
		rr = dav_range_parse(*range, file->size, &from, &to);
	if (rr < 0) {
		close(fd);
		buf_addf(
		    &h, "Content-Range: bytes */%" PRIu64 "\r\n", file->size);
		hdr = http_alloc(c->req, h.len + 1);
		memcpy(hdr, h.data, h.len + 1);
		http_error(c->req, 416, hdr, "Range not satisfiable.");
	} else {
		if (rr == 1)
			buf_addf(&h,
			    "Content-Range: bytes %" PRIu64 "-%" PRIu64
			    "/%" PRIu64 "\r\n",
			    from, to, file->size);
		else
			to = file->size - 1;
		hdr = http_alloc(c->req, h.len + 1);
		memcpy(hdr, h.data, h.len + 1);
		dav_reply_file(c->req, rr == 1 ? 206 : 200, file->mime, hdr, fd,
		    from, file->size == 0 ? 0 : to - from + 1);
	}
	buf_release(&h);
}

/* The whole list is here: answer. */
static void
listed(struct davlib_call *c, int64_t newest)
{
	const struct davlib_file *f = NULL;
	struct buf b = BUF_INIT;
	size_t i;
	char *id;

	names_unique(c);
	if (c->name != NULL && (f = find(c, c->name)) == NULL) {
		davlib_fail(c, 404, "no such file in the library");
		return;
	}
	if (c->req->method != HTTP_M_PROPFIND) {
		if (f == NULL) {
			davlib_fail(c, 405,
			    "the library folder is listed with PROPFIND");
			return;
		}
		id = http_alloc(c->req, strlen(f->id) + 1);
		memcpy(id, f->id, strlen(f->id) + 1);
		list_free(c);
		library_file_open(c->d->lib, c->user, id, get_opened, c);
		return;
	}
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	             "<D:multistatus xmlns:D=\"DAV:\">\n");
	if (f != NULL) {
		prop_response(&b, c->d, f, 0);
	} else {
		prop_response(&b, c->d, NULL, newest);
		for (i = 0; c->depth1 && i < c->n; i++)
			prop_response(&b, c->d, &c->files[i], 0);
	}
	buf_adds(&b, "</D:multistatus>\n");
	list_free(c);
	http_reply_ex(c->req, 207, "application/xml; charset=utf-8",
	    DAVLIB_HEADERS, b.data, b.len);
	buf_release(&b);
}

static void list_next(struct davlib_call *c);

/* library_page_fn: a page of the books; its files join the list. */
static void
page_read(void *arg, const struct library_page *page, const char *error)
{
	struct davlib_call *c = arg;
	size_t i, j;

	if (page == NULL) {
		davlib_fail(c, 500, error != NULL ? error : "library error");
		return;
	}
	for (i = 0; i < page->nbooks; i++) {
		const struct library_book *k = &page->books[i];

		for (j = 0; j < k->nfiles; j++) {
			struct davlib_file *f;

			if (c->n == c->cap) {
				c->cap = c->cap == 0 ? 64 : 2 * c->cap;
				c->files = xrealloc(
				    c->files, c->cap * sizeof(*c->files));
			}
			f = &c->files[c->n++];
			f->name = file_name(k, &k->files[j]);
			f->id = xstrdup(k->files[j].id);
			f->mime = xstrdup(k->files[j].mime);
			f->etag = xstrdup(k->files[j].partial_md5);
			f->size = k->files[j].size;
			f->mtime = k->files[j].mtime;
		}
	}
	c->offset += page->nbooks;
	if (page->nbooks > 0 && c->offset < page->total &&
	    c->offset < DAVLIB_MAX_BOOKS) {
		list_next(c);
		return;
	}
	listed(c, page->last_modified);
}

static void
list_next(struct davlib_call *c)
{
	struct library_query q;

	memset(&q, 0, sizeof(q));
	q.order = LIBRARY_BY_TITLE;
	q.offset = c->offset;
	q.limit = LIBRARY_MAX_PAGE;
	library_query(c->d->lib, c->user, &q, page_read, c);
}

/* basicauth_fn */
static void
signed_in(void *arg, const char *user, int status, const char *why)
{
	struct davlib_call *c = arg;

	if (user == NULL) {
		davlib_fail(c, status, why);
		return;
	}
	c->user = user;
	list_next(c);
}

void
davlib_handle(
    void *ctx, struct http_request *req, const struct str *seg, size_t nseg)
{
	struct davlib *d = ctx;
	struct davlib_call *c = http_alloc(req, sizeof(*c));
	const struct str *depth;

	memset(c, 0, sizeof(*c));
	c->req = req;
	c->d = d;
	if (req->method == HTTP_M_OPTIONS) {
		http_reply_ex(req, 200, "text/plain",
		    "DAV: 1\r\n" DAVLIB_ALLOW DAVLIB_HEADERS, "", 0);
		return;
	}
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD &&
	    req->method != HTTP_M_PROPFIND) {
		davlib_fail(c, 403,
		    "the library is read-only here: add books to a library "
		    "folder or upload them");
		return;
	}
	if (nseg > 1) {
		davlib_fail(c, 404, "no such file in the library");
		return;
	}
	if (nseg == 1) {
		c->name = http_alloc(req, seg[0].len + 1);
		memcpy(c->name, seg[0].p, seg[0].len);
		c->name[seg[0].len] = '\0';
	}
	depth = http_header_get(req, "depth", NULL);
	c->depth1 = depth == NULL || !str_eqs(*depth, "0");
	basicauth_check(req, d->st, d->rl, STORE_DEVICE_WEBDAV, signed_in, c);
}

struct davlib *
davlib_new(struct store *st, struct ratelimit *rl, struct library *lib,
    const struct config *cfg)
{
	struct davlib *d = xcalloc(1, sizeof(*d));
	size_t n = cfg->base_path != NULL ? strlen(cfg->base_path) : 0;
	char *base = xmalloc(n + 2);
	struct buf b = BUF_INIT;

	d->st = st;
	d->rl = rl;
	d->lib = lib;
	router_base(cfg->base_path, base);
	buf_addf(&b, "%s/dav/library/", base);
	d->href = buf_detach(&b, NULL);
	free(base);
	return d;
}

void
davlib_free(struct davlib *d)
{
	if (d == NULL)
		return;
	free(d->href);
	free(d);
}
