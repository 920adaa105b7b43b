/*
 * opds.c: the OPDS catalogs (see opds.h): the route, the sign-in, then a
 * question to the library index (library.h) whose answer becomes a
 * struct opdsfmt_feed, written as Atom or JSON (opdsfmt.h).
 *
 * Per-request state lives in http_alloc() memory: the call, the strings
 * of the feed (kept with keep()), the entries. The library's callbacks
 * come on the loop after the call that asked returns; the strings they
 * hand over are borrowed for the callback, so the feed is written inside
 * it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "basicauth.h"
#include "config.h"
#include "dav.h"
#include "davpath.h"
#include "feed.h"
#include "json.h"
#include "libcursor.h"
#include "library.h"
#include "opds.h"
#include "opdsfmt.h"
#include "opdspse.h"
#include "router.h"
#include "store.h"
#include "xmalloc.h"

#define OPDS_FINISHED 0.99 /* from here a book is read, not "reading" */
#define OPDS_COVER_W 1200  /* the cover as KOReader's "Book cover" shows */
#define OPDS_COVER_H 1600
#define OPDS_THUMB_W 200
#define OPDS_THUMB_H 300
#define LIBRARY_FILE_ID_MAX 48 /* a partial MD5 and a suffix */
#define OPDS_HEADERS                                                           \
	"Cache-Control: private, no-cache\r\n"                                 \
	"X-Content-Type-Options: nosniff\r\n"

/* A CBZ's page count, known from a count on the thread pool. */
struct opds_pages {
	char file[LIBRARY_FILE_ID_MAX + 1]; /* "" : free */
	long count;                         /* -1: not a readable archive */
};

struct opds {
	uv_loop_t *loop;
	struct opds_pages pages[OPDS_PSE_CACHE];
	size_t pages_next; /* the slot replaced next */
	struct store *st;
	struct ratelimit *rl;
	struct library *lib;
	char *base; /* router_base's form of base_path: "" or "/x" */
};

enum opds_feed {
	OPDS_ROOT,
	OPDS_READING,
	OPDS_NEW,
	OPDS_ALL,
	OPDS_UPLOADS,
	OPDS_SEARCH,
	OPDS_AUTHORS,
	OPDS_SERIES,
	OPDS_LANGUAGES,
	OPDS_TAGS,
	OPDS_OSD,
	OPDS_COVER,
	OPDS_THUMB,
	OPDS_FILE,
	OPDS_PSE,
};

/* The feeds by path segment; facet: the library_facet of a value list. */
static const struct opds_route {
	const char *name;
	const char *title;
	enum opds_feed feed;
	int facet; /* enum library_facet_kind, or -1 */
} opds_routes[] = {
    {"reading", "Reading now", OPDS_READING, -1},
    {"new", "Recently added", OPDS_NEW, -1},
    {"all", "All books", OPDS_ALL, -1},
    {"authors", "Authors", OPDS_AUTHORS, LIBRARY_FACET_AUTHORS},
    {"series", "Series", OPDS_SERIES, LIBRARY_FACET_SERIES},
    {"languages", "Languages", OPDS_LANGUAGES, LIBRARY_FACET_LANGUAGES},
    {"tags", "Tags", OPDS_TAGS, LIBRARY_FACET_TAGS},
    {"uploads", "My uploads", OPDS_UPLOADS, -1},
    {"search", "Search", OPDS_SEARCH, -1},
    {"search.xml", NULL, OPDS_OSD, -1},
    {"cover", NULL, OPDS_COVER, -1},
    {"thumb", NULL, OPDS_THUMB, -1},
    {"file", NULL, OPDS_FILE, -1},
    {"pse", NULL, OPDS_PSE, -1},
};

#define NOPDS_ROUTES (sizeof(opds_routes) / sizeof(opds_routes[0]))

/* What the root lists, in order: the first rows of opds_routes. */
#define OPDS_NROOT 8

/* The orders ?order= names, as the "Sort" facets offer them. */
static const struct opds_order {
	const char *name, *title;
	enum library_order order;
} opds_orders[] = {
    {"title", "Title", LIBRARY_BY_TITLE},
    {"author", "Author", LIBRARY_BY_AUTHOR},
    {"series", "Series", LIBRARY_BY_SERIES},
    {"added", "Newest", LIBRARY_BY_ADDED},
};

#define NOPDS_ORDERS (sizeof(opds_orders) / sizeof(opds_orders[0]))

struct opds_call {
	struct http_request *req;
	struct opds *o;
	bool v2;
	const struct opds_route *route; /* NULL: the root */
	char *arg;                      /* the segment after cover/thumb/file */
	const char *user;
	long pse_page; /* OPDS_PSE: the page asked for */
	int pse_width; /* OPDS_PSE: ?maxWidth=, 0 for none */
	void (*rerun)(struct opds_call *); /* the feed asked again */
	bool counted;                      /* its CBZs were counted once */
	size_t counting;                   /* counts still running */
	/* The query: filters, order, page (1-based). */
	char q[OPDS_MAX_VALUE + 1];
	char author[OPDS_MAX_VALUE + 1];
	char series[OPDS_MAX_VALUE + 1];
	char lang[OPDS_MAX_VALUE + 1];
	char tag[OPDS_MAX_VALUE + 1];
	const struct opds_order *order;
	uint64_t page;
	/* ?cursor=: a feed of books from there (its page follows from it). */
	char cursor[LIBCURSOR_MAX + 1];
	/* Reading now: the documents in progress, newest first. */
	const char **docs;
	double *percent;
	const char **device;
	size_t ndocs;
	int64_t docs_newest;
};

/* --- Answers ------------------------------------------------------------ */

static void
opds_error(struct opds_call *c, int status, const char *message)
{
	http_error(c->req, status,
	    status == 401 ? BASICAUTH_CHALLENGE OPDS_HEADERS : OPDS_HEADERS,
	    message);
}

/* A copy of b's text in the request's memory; b is emptied. */
static const char *
keep(struct opds_call *c, struct buf *b)
{
	char *s = http_alloc(c->req, b->len + 1);

	memcpy(s, b->data, b->len + 1);
	buf_reset(b);
	return s;
}

/* A NUL-terminated copy of s in the request's memory. */
static const char *
keep_str(struct opds_call *c, struct str s)
{
	char *p = http_alloc(c->req, s.len + 1);

	memcpy(p, s.p, s.len);
	p[s.len] = '\0';
	return p;
}

/* Answer with body b (ctype), its ETag and Last-Modified last (feed.h). */
static void
opds_send(struct opds_call *c, const char *ctype, struct buf *b, int64_t last)
{
	feed_reply(c->req, ctype, OPDS_HEADERS, b->data, b->len, last);
}

/* Write feed f as the call asks (Atom or JSON) and send it. */
static void
opds_send_feed(struct opds_call *c, const struct opdsfmt_feed *f)
{
	struct buf b = BUF_INIT;

	if (c->v2) {
		opdsfmt_json(&b, f);
		opds_send(c, OPDSFMT_JSON, &b, f->updated);
	} else {
		opdsfmt_atom(&b, f);
		opds_send(c, f->acquisition ? OPDSFMT_ACQ : OPDSFMT_NAV, &b,
		    f->updated);
	}
	buf_release(&b);
}

/* --- Hrefs -------------------------------------------------------------- */

/* Append "<base>/opds" (and "/v2" for v2 feeds when feed) to b. */
static void
href_root(struct buf *b, const struct opds_call *c, bool feed)
{
	buf_adds(b, c->o->base);
	buf_adds(b, feed && c->v2 ? "/opds/v2" : "/opds");
}

static void
href_param(struct buf *b, bool *first, const char *key, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	buf_addch(b, *first ? '?' : '&');
	*first = false;
	buf_adds(b, key);
	buf_addch(b, '=');
	opdsfmt_href(b, value);
}

/*
 * The href of feed name with the call's filters (when filters), order
 * (NULL: the call's) and page (1: none) or cursor (NULL or "": none),
 * kept in request memory.
 */
static const char *
href_feed_at(struct opds_call *c, const char *name, bool filters,
    const struct opds_order *order, uint64_t page, const char *cursor)
{
	struct buf b = BUF_INIT;
	bool first = true;
	char num[24];
	const char *s;

	href_root(&b, c, true);
	if (name != NULL) {
		buf_addch(&b, '/');
		buf_adds(&b, name);
	}
	if (filters) {
		href_param(&b, &first, c->v2 ? "query" : "q", c->q);
		href_param(&b, &first, "author", c->author);
		href_param(&b, &first, "series", c->series);
		href_param(&b, &first, "lang", c->lang);
		href_param(&b, &first, "tag", c->tag);
	}
	if (order == NULL)
		order = c->order;
	if (order != NULL)
		href_param(&b, &first, "order", order->name);
	if (cursor != NULL && cursor[0] != '\0') {
		href_param(&b, &first, "cursor", cursor);
	} else if (page > 1) {
		snprintf(num, sizeof(num), "%" PRIu64, page);
		href_param(&b, &first, "page", num);
	}
	s = keep(c, &b);
	buf_release(&b);
	return s;
}

static const char *
href_feed(struct opds_call *c, const char *name, bool filters,
    const struct opds_order *order, uint64_t page)
{
	return href_feed_at(c, name, filters, order, page, NULL);
}

/* --- Entries ------------------------------------------------------------ */

/*
 * Append the download name of f (book k), percent-encoded for an href:
 * the name Content-Disposition gives, decoded, then encoded as a path
 * segment, so that a client naming the file by the URL gets it too.
 */
static void
file_href_name(
    struct buf *b, const struct library_book *k, const struct library_file *f)
{
	struct buf name = BUF_INIT;
	char *raw;
	long n;

	opdsfmt_filename(
	    &name, k->authors, k->nauthors, k->title, library_file_ext(f));
	raw = xmalloc(name.len + 1);
	n = str_unescape((struct str){name.data, name.len}, raw);
	if (n > 0)
		davpath_encode(b, (struct str){raw, (size_t)n}, false);
	free(raw);
	buf_release(&name);
}

/* The page count of a CBZ file id known to o, or -2 when unknown. */
static long
pages_get(const struct opds *o, const char *file)
{
	size_t i;

	for (i = 0; i < OPDS_PSE_CACHE; i++)
		if (strcmp(o->pages[i].file, file) == 0)
			return o->pages[i].count;
	return -2;
}

static void
pages_put(struct opds *o, const char *file, long count)
{
	struct opds_pages *p = &o->pages[o->pages_next];

	if (strlen(file) > LIBRARY_FILE_ID_MAX || pages_get(o, file) != -2)
		return;
	o->pages_next = (o->pages_next + 1) % OPDS_PSE_CACHE;
	snprintf(p->file, sizeof(p->file), "%s", file);
	p->count = count;
}

static bool
is_cbz(const struct library_file *f)
{
	return strcmp(f->format, "cbz") == 0;
}

/*
 * The PSE stream link of f into l when f is a CBZ whose pages are
 * counted (pct: the progress, -1 for none, as pse:lastRead). Returns
 * whether it was made.
 */
static bool
pse_link(struct opds_call *c, const struct library_file *f, double pct,
    struct opdsfmt_link *l)
{
	struct buf b = BUF_INIT;
	long n;

	if (!is_cbz(f) || (n = pages_get(c->o, f->id)) <= 0)
		return false;
	l->rel = OPDSFMT_REL_PSE;
	l->type = "image/jpeg";
	l->count = -1;
	l->pse_count = n;
	if (pct > 0)
		l->pse_last_read = (int64_t)(pct * (double)(n - 1) + 0.5);
	href_root(&b, c, false);
	buf_adds(&b, "/pse/");
	opdsfmt_href(&b, f->id);
	buf_adds(&b, "/{pageNumber}?maxWidth={maxWidth}");
	l->href = keep(c, &b);
	buf_release(&b);
	return true;
}

/* Fill e from book (borrowed; e's strings point into it or request memory). */
static void
book_entry(struct opds_call *c, const struct library_book *k,
    const char *progress, double pct, struct opdsfmt_entry *e)
{
	struct opdsfmt_link *l;
	struct buf b = BUF_INIT;
	size_t i, n = 0;

	memset(e, 0, sizeof(*e));
	buf_addf(&b, "urn:kosyncd:book:%s", k->id);
	e->id = keep(c, &b);
	e->title = k->title;
	e->authors = k->authors;
	e->nauthors = k->nauthors;
	if (progress != NULL) {
		buf_adds(&b, progress);
		if (k->description[0] != '\0')
			buf_addf(&b, "\n\n%s", k->description);
		e->content = keep(c, &b);
	} else {
		e->content = k->description;
	}
	e->language = k->language;
	e->publisher = k->publisher;
	for (i = 0; i < k->nidents && e->identifier == NULL; i++) {
		if (strcmp(k->idents[i].scheme, "isbn") == 0 ||
		    strcmp(k->idents[i].scheme, "uuid") == 0) {
			buf_addf(&b, "urn:%s:%s", k->idents[i].scheme,
			    k->idents[i].value);
			e->identifier = keep(c, &b);
		}
	}
	e->series = k->series;
	e->series_index = k->series_index;
	e->has_series_index = k->has_series_index;
	e->tags = k->tags;
	e->ntags = k->ntags;
	e->updated = k->updated;
	l = http_alloc(c->req, (2 * k->nfiles + 2) * sizeof(*l));
	memset(l, 0, (2 * k->nfiles + 2) * sizeof(*l));
	for (i = 0; i < k->nfiles; i++, n++) {
		const struct library_file *f = &k->files[i];

		l[n].rel = OPDSFMT_REL_OPEN;
		l[n].type = f->mime;
		l[n].title = f->format;
		l[n].length = f->size;
		l[n].count = -1;
		/* The URL ends in the same name Content-Disposition gives. */
		href_root(&b, c, false);
		buf_adds(&b, "/file/");
		opdsfmt_href(&b, f->id);
		buf_addch(&b, '/');
		file_href_name(&b, k, f);
		l[n].href = keep(c, &b);
		if (pse_link(c, f, pct, &l[n + 1]))
			n++;
	}
	if (k->has_cover) {
		l[n].rel = OPDSFMT_REL_IMAGE;
		l[n].type = "image/jpeg";
		l[n].count = -1;
		href_root(&b, c, false);
		buf_adds(&b, "/cover/");
		opdsfmt_href(&b, k->id);
		l[n++].href = keep(c, &b);
		l[n].rel = OPDSFMT_REL_THUMB;
		l[n].type = "image/jpeg";
		l[n].count = -1;
		href_root(&b, c, false);
		buf_adds(&b, "/thumb/");
		opdsfmt_href(&b, k->id);
		l[n++].href = keep(c, &b);
	}
	e->links = l;
	e->nlinks = n;
	buf_release(&b);
}

/* The common parts of a feed of the call: id, title, self, start, up. */
static void
feed_init(struct opds_call *c, struct opdsfmt_feed *f, const char *title)
{
	struct buf b = BUF_INIT;

	memset(f, 0, sizeof(*f));
	buf_addf(&b, "urn:kosyncd:opds:%s%s", c->v2 ? "v2:" : "",
	    c->route != NULL ? c->route->name : "root");
	f->id = keep(c, &b);
	buf_release(&b);
	f->title = title;
	f->self = href_feed_at(c, c->route != NULL ? c->route->name : NULL,
	    true, NULL, c->page, c->cursor);
	f->start = href_feed(c, NULL, false, NULL, 1);
	if (c->route != NULL)
		f->up = f->start;
	if (c->v2) {
		struct buf s = BUF_INIT;

		href_root(&s, c, true);
		buf_adds(&s, "/search{?query}");
		f->search = keep(c, &s);
		buf_release(&s);
	} else {
		f->search = href_feed(c, "search.xml", false, NULL, 1);
	}
}

/*
 * The typed paging links of f for total entries, when entries follow
 * the page (more): next by the cursor next when there is one (a deep
 * page costs no more than the first), else by page number, as first,
 * last and previous are.
 */
static void
feed_pages(struct opds_call *c, struct opdsfmt_feed *f, uint64_t total,
    bool more, const char *next)
{
	const char *name = c->route->name;
	uint64_t pages = total == 0 ? 1 : (total + OPDS_PAGE - 1) / OPDS_PAGE;

	f->total = total;
	f->per_page = OPDS_PAGE;
	f->offset = (c->page - 1) * OPDS_PAGE;
	f->first = href_feed(c, name, true, NULL, 1);
	f->last = href_feed(c, name, true, NULL, pages);
	if (c->page > 1)
		f->previous = href_feed(c, name, true, NULL, c->page - 1);
	if (more)
		f->next = href_feed_at(c, name, true, NULL, c->page + 1, next);
}

/* --- Feeds of books ----------------------------------------------------- */

/* The "Sort" facets of an acquisition feed, the active one marked. */
static void
feed_sort_facets(
    struct opds_call *c, struct opdsfmt_feed *f, enum library_order active)
{
	struct opdsfmt_link *l = http_alloc(c->req, NOPDS_ORDERS * sizeof(*l));
	size_t i;

	memset(l, 0, NOPDS_ORDERS * sizeof(*l));
	for (i = 0; i < NOPDS_ORDERS; i++) {
		l[i].rel = OPDSFMT_REL_FACET;
		l[i].type = c->v2 ? OPDSFMT_JSON : OPDSFMT_ACQ;
		l[i].href =
		    href_feed(c, c->route->name, true, &opds_orders[i], 1);
		l[i].title = opds_orders[i].title;
		l[i].facet_group = "Sort";
		l[i].count = -1;
		l[i].active = opds_orders[i].order == active;
	}
	f->facets = l;
	f->nfacets = NOPDS_ORDERS;
}

/* --- PSE: counting and serving a CBZ's pages --------------------------- */

struct pse_job {
	uv_work_t work;
	struct opds_call *c;
	char file[LIBRARY_FILE_ID_MAX + 1];
	int fd;
	long count; /* a count job: the result */
	/* A page job: the page and its type, or status and why. */
	struct buf out, why;
	const char *ctype;
	int rc;
};

/* One count ended: when it was the last, the feed is asked again. */
static void
count_done(struct opds_call *c)
{
	if (--c->counting > 0)
		return;
	c->counted = true;
	c->rerun(c);
}

/* On the thread pool: count the pages of the archive open on j->fd. */
static void
count_work(uv_work_t *w)
{
	struct pse_job *j = w->data;
	struct bookzip_src src = {j->fd, NULL, 0};
	struct stat st;
	struct buf why = BUF_INIT;

	j->count = -1;
	if (fstat(j->fd, &st) == 0) {
		src.size = (uint64_t)st.st_size;
		j->count = opdspse_count(&src, &why);
	}
	close(j->fd);
	buf_release(&why);
}

static void
count_after(uv_work_t *w, int status)
{
	struct pse_job *j = w->data;
	struct opds_call *c = j->c;

	pages_put(c->o, j->file, status == 0 ? j->count : -1);
	free(j);
	count_done(c);
}

/* library_file_fn: a CBZ to count, opened. */
static void
count_opened(void *arg, int fd, const struct library_file *file,
    const struct library_book *book, int status, const char *error)
{
	struct pse_job *j = arg;

	(void)file;
	(void)book;
	(void)status;
	(void)error;
	if (fd < 0) {
		pages_put(j->c->o, j->file, -1);
		count_done(j->c);
		free(j);
		return;
	}
	j->fd = fd;
	j->work.data = j;
	if (uv_queue_work(j->c->o->loop, &j->work, count_work, count_after) !=
	    0) {
		close(fd);
		pages_put(j->c->o, j->file, -1);
		count_done(j->c);
		free(j);
	}
}

/*
 * Count the pages of the CBZs of books (or of the n pointers of pbooks)
 * not yet counted, once per request. Returns true when counts were
 * started: the feed is asked again (c->rerun) once they are done.
 */
static bool
count_pages(struct opds_call *c, const struct library_book *books,
    const struct library_book *const *pbooks, size_t n)
{
	size_t i, f;

	if (c->counted)
		return false;
	c->counted = true;
	c->counting = 1; /* held until every count is asked for */
	for (i = 0; i < n; i++) {
		const struct library_book *k =
		    books != NULL ? &books[i] : pbooks[i];

		for (f = 0; k != NULL && f < k->nfiles; f++) {
			struct pse_job *j;

			if (!is_cbz(&k->files[f]) ||
			    pages_get(c->o, k->files[f].id) != -2 ||
			    strlen(k->files[f].id) > LIBRARY_FILE_ID_MAX)
				continue;
			j = xcalloc(1, sizeof(*j));
			j->c = c;
			snprintf(
			    j->file, sizeof(j->file), "%s", k->files[f].id);
			c->counting++;
			library_file_open(
			    c->o->lib, c->user, j->file, count_opened, j);
		}
	}
	if (c->counting == 1) {
		c->counting = 0;
		return false;
	}
	c->counted = false; /* count_done sets it, then asks again */
	c->counting--;
	return true;
}

/* On the thread pool: page j->c->pse_page of the archive on j->fd. */
static void
page_work(uv_work_t *w)
{
	struct pse_job *j = w->data;
	struct bookzip_src src = {j->fd, NULL, 0};
	struct stat st;

	j->rc = -1;
	if (fstat(j->fd, &st) == 0) {
		src.size = (uint64_t)st.st_size;
		j->rc = opdspse_page(&src, j->c->pse_page, j->c->pse_width,
		    &j->out, &j->ctype, &j->why);
	}
	close(j->fd);
}

static void
page_after(uv_work_t *w, int status)
{
	struct pse_job *j = w->data;
	struct opds_call *c = j->c;
	char tag[LIBRARY_FILE_ID_MAX + 64], *hdr;
	const struct str *inm = http_header_get(c->req, "if-none-match", NULL);
	size_t n;

	if (status != 0 || j->rc == -1)
		opds_error(c, 500, "The page could not be read.");
	else if (j->rc == 1)
		opds_error(c, 404, "No such page.");
	else {
		snprintf(tag, sizeof(tag), "\"%s-%ld-%d\"", j->file,
		    c->pse_page, c->pse_width);
		n = sizeof(OPDS_HEADERS) + sizeof(tag) + 16;
		hdr = http_alloc(c->req, n);
		snprintf(hdr, n, OPDS_HEADERS "ETag: %s\r\n", tag);
		if (inm != NULL && str_eqs(*inm, tag))
			http_reply_ex(c->req, 304, NULL, hdr, "", 0);
		else
			http_reply_ex(c->req, 200, j->ctype, hdr, j->out.data,
			    j->out.len);
	}
	buf_release(&j->out);
	buf_release(&j->why);
	free(j);
}

/* library_file_fn: the CBZ of a page, opened. */
static void
pse_opened(void *arg, int fd, const struct library_file *file,
    const struct library_book *book, int status, const char *error)
{
	struct opds_call *c = arg;
	struct pse_job *j;

	(void)book;
	if (fd < 0 || !is_cbz(file)) {
		if (fd >= 0)
			close(fd);
		opds_error(c, fd >= 0 || status == 404 ? 404 : 500,
		    fd >= 0 || status == 404 ? "No such page."
		    : error != NULL          ? error
		                             : "library error");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->c = c;
	j->fd = fd;
	snprintf(j->file, sizeof(j->file), "%s", file->id);
	buf_init(&j->out);
	buf_init(&j->why);
	j->work.data = j;
	if (uv_queue_work(c->o->loop, &j->work, page_work, page_after) != 0) {
		close(fd);
		free(j);
		opds_error(c, 503, "Busy; try again.");
	}
}

/* library_page_fn: a page of books, as the call's feed. */
static void
books_read(void *arg, const struct library_page *page, const char *error)
{
	struct opds_call *c = arg;
	struct opdsfmt_entry *e;
	struct opdsfmt_feed f;
	struct buf t = BUF_INIT;
	size_t i;

	if (page == NULL) {
		opds_error(c, 500, error != NULL ? error : "library error");
		return;
	}
	if (count_pages(c, page->books, NULL, page->nbooks))
		return; /* asked again once the CBZs are counted */
	e = http_alloc(c->req, (page->nbooks + 1) * sizeof(*e));
	for (i = 0; i < page->nbooks; i++)
		book_entry(c, &page->books[i], NULL, -1, &e[i]);
	if (c->route->feed == OPDS_SEARCH) {
		buf_addf(&t, "Search: %s", c->q);
	} else if (c->author[0] != '\0' || c->series[0] != '\0' ||
	           c->lang[0] != '\0' || c->tag[0] != '\0') {
		buf_addf(&t, "%s%s%s%s", c->author, c->series, c->lang, c->tag);
	} else {
		buf_adds(&t, c->route->title);
	}
	feed_init(c, &f, keep(c, &t));
	buf_release(&t);
	f.acquisition = true;
	f.updated = page->last_modified;
	f.entries = e;
	f.nentries = page->nbooks;
	feed_pages(c, &f, page->total, page->more, page->next);
	f.offset = page->start;
	if (c->route->feed != OPDS_NEW)
		feed_sort_facets(c, &f,
		    c->order != NULL       ? c->order->order
		    : c->series[0] != '\0' ? LIBRARY_BY_SERIES
		                           : LIBRARY_BY_TITLE);
	opds_send_feed(c, &f);
}

static void
feed_books(struct opds_call *c)
{
	struct library_query q;

	memset(&q, 0, sizeof(q));
	q.order = c->order != NULL ? c->order->order : LIBRARY_BY_TITLE;
	if (c->order == NULL && c->series[0] != '\0')
		q.order = LIBRARY_BY_SERIES; /* a series in its order */
	if (c->route->feed == OPDS_NEW)
		q.order = LIBRARY_BY_ADDED;
	q.author = c->author[0] != '\0' ? c->author : NULL;
	q.series = c->series[0] != '\0' ? c->series : NULL;
	q.language = c->lang[0] != '\0' ? c->lang : NULL;
	q.tag = c->tag[0] != '\0' ? c->tag : NULL;
	q.search = c->q[0] != '\0' ? c->q : NULL;
	q.uploads_only = c->route->feed == OPDS_UPLOADS;
	q.offset = (c->page - 1) * OPDS_PAGE;
	if (c->cursor[0] != '\0') {
		uint64_t pos;

		if (library_cursor_check(c->cursor, q.order, &pos) != NULL) {
			opds_error(c, 400,
			    "The cursor is not one of this feed's: start again "
			    "from its first page.");
			return;
		}
		q.cursor = c->cursor;
		c->page = pos / OPDS_PAGE + 1;
	}
	q.limit = OPDS_PAGE;
	c->rerun = feed_books;
	library_query(c->o->lib, c->user, &q, books_read, c);
}

/* --- Reading now -------------------------------------------------------- */

/* library_docs_fn: the books of the documents in progress. */
static void
reading_books(void *arg, const struct library_book *const *books, size_t n,
    const char *error)
{
	struct opds_call *c = arg;
	struct opdsfmt_entry *e;
	struct opdsfmt_feed f;
	struct buf p = BUF_INIT;
	size_t i, j, k = 0;
	int64_t last = c->docs_newest;

	if (books == NULL) {
		opds_error(c, 500, error != NULL ? error : "library error");
		return;
	}
	if (count_pages(c, NULL, books, n))
		return; /* asked again once the CBZs are counted */
	e = http_alloc(c->req, (n + 1) * sizeof(*e));
	for (i = 0; i < n && k < OPDS_PAGE; i++) {
		if (books[i] == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (books[j] != NULL &&
			    strcmp(books[j]->id, books[i]->id) == 0)
				break;
		if (j < i)
			continue; /* two files of one book: the newest */
		buf_addf(&p, "%.0f %% read", c->percent[i] * 100);
		if (c->device[i] != NULL && c->device[i][0] != '\0')
			buf_addf(&p, " on %s", c->device[i]);
		buf_addch(&p, '.');
		book_entry(c, books[i], keep(c, &p), c->percent[i], &e[k++]);
		if (books[i]->updated > last)
			last = books[i]->updated;
	}
	buf_release(&p);
	feed_init(c, &f, c->route->title);
	f.acquisition = true;
	f.updated = last;
	f.entries = e;
	f.nentries = k;
	opds_send_feed(c, &f);
}

/* store_text_cb: the account's documents, newest first. */
static void
reading_docs(void *arg, enum store_result r, const char *text, size_t len)
{
	struct opds_call *c = arg;
	struct json_arena a = JSON_ARENA_INIT;
	const struct json_value *root, *d, *v;
	size_t n = 0;

	if (r != STORE_OK) {
		opds_error(c, r == STORE_ERR_UNAVAILABLE ? 503 : 500,
		    "The account's progress could not be read.");
		return;
	}
	c->docs = http_alloc(c->req, LIBRARY_MAX_DOCS * sizeof(*c->docs));
	c->percent = http_alloc(c->req, LIBRARY_MAX_DOCS * sizeof(double));
	c->device = http_alloc(c->req, LIBRARY_MAX_DOCS * sizeof(*c->device));
	root = json_parse(text, len, json_arena_alloc, &a, NULL);
	v = root != NULL ? json_get(root, "documents") : NULL;
	for (d = v != NULL ? v->child : NULL; d != NULL && n < LIBRARY_MAX_DOCS;
	     d = d->next) {
		struct str doc = json_get_str(d, "document");
		struct str dev = json_get_str(d, "device");
		double pct = 0, ts = 0;

		v = json_get(d, "percentage");
		if (doc.p == NULL || v == NULL ||
		    json_number(v, false, &pct) != 0 || pct < 0 ||
		    pct >= OPDS_FINISHED)
			continue;
		v = json_get(d, "timestamp");
		if (v != NULL && json_number(v, false, &ts) == 0 &&
		    (int64_t)ts > c->docs_newest)
			c->docs_newest = (int64_t)ts;
		c->docs[n] = keep_str(c, doc);
		c->device[n] = dev.p != NULL ? keep_str(c, dev) : NULL;
		c->percent[n] = pct;
		n++;
	}
	json_arena_release(&a);
	c->ndocs = n;
	library_docs(c->o->lib, c->user, c->docs, n, reading_books, c);
}

static void
feed_reading(struct opds_call *c)
{
	struct store_page page;

	memset(&page, 0, sizeof(page));
	page.limit = LIBRARY_MAX_DOCS;
	c->rerun = feed_reading;
	c->ndocs = 0;
	c->docs_newest = 0;
	store_web_documents(c->o->st, str_from(c->user), STR_NULL, false, &page,
	    reading_docs, c);
}

/* --- Navigation --------------------------------------------------------- */

/* The filter a value list's entry sets, by the list. */
static const char *
facet_param(enum opds_feed feed)
{
	switch (feed) {
	case OPDS_AUTHORS:
		return "author";
	case OPDS_SERIES:
		return "series";
	case OPDS_LANGUAGES:
		return "lang";
	default:
		return "tag";
	}
}

/* library_facet_fn: a page of values, each a sub-catalog of its books. */
static void
values_read(void *arg, const struct library_facet_page *page, const char *error)
{
	struct opds_call *c = arg;
	struct opdsfmt_entry *e;
	struct opdsfmt_link *l;
	struct opdsfmt_feed f;
	struct buf b = BUF_INIT;
	size_t i;
	bool first;

	if (page == NULL) {
		opds_error(c, 500, error != NULL ? error : "library error");
		return;
	}
	e = http_alloc(c->req, (page->nvalues + 1) * sizeof(*e));
	l = http_alloc(c->req, (page->nvalues + 1) * sizeof(*l));
	memset(e, 0, (page->nvalues + 1) * sizeof(*e));
	memset(l, 0, (page->nvalues + 1) * sizeof(*l));
	for (i = 0; i < page->nvalues; i++) {
		const struct library_facet_value *v = &page->values[i];

		buf_addf(&b, "urn:kosyncd:opds:%s:", c->route->name);
		opdsfmt_href(&b, v->value);
		e[i].id = keep(c, &b);
		e[i].title = v->value;
		buf_addf(&b, "%" PRIu64 " book%s", v->count,
		    v->count == 1 ? "" : "s");
		e[i].content = keep(c, &b);
		e[i].updated = page->last_modified;
		href_root(&b, c, true);
		buf_adds(&b, "/all");
		first = true;
		href_param(&b, &first, facet_param(c->route->feed), v->value);
		l[i].href = keep(c, &b);
		l[i].rel = OPDSFMT_REL_SUB;
		l[i].type = c->v2 ? OPDSFMT_JSON : OPDSFMT_ACQ;
		l[i].count = (int64_t)v->count;
		e[i].links = &l[i];
		e[i].nlinks = 1;
	}
	buf_release(&b);
	feed_init(c, &f, c->route->title);
	f.updated = page->last_modified;
	f.entries = e;
	f.nentries = page->nvalues;
	feed_pages(c, &f, page->total,
	    c->page < (page->total + OPDS_PAGE - 1) / OPDS_PAGE, NULL);
	opds_send_feed(c, &f);
}

/* library_page_fn: the library's count and time, for the root. */
static void
root_read(void *arg, const struct library_page *page, const char *error)
{
	struct opds_call *c = arg;
	const size_t n = OPDS_NROOT;
	struct opdsfmt_entry *e = http_alloc(c->req, n * sizeof(*e));
	struct opdsfmt_link *l = http_alloc(c->req, n * sizeof(*l));
	struct opdsfmt_feed f;
	struct buf b = BUF_INIT;
	size_t i;

	if (page == NULL) {
		opds_error(c, 500, error != NULL ? error : "library error");
		return;
	}
	memset(e, 0, n * sizeof(*e));
	memset(l, 0, n * sizeof(*l));
	for (i = 0; i < n; i++) {
		const struct opds_route *r = &opds_routes[i];

		buf_addf(&b, "urn:kosyncd:opds:%s", r->name);
		e[i].id = keep(c, &b);
		e[i].title = r->title;
		e[i].updated = page->last_modified;
		l[i].rel =
		    r->feed == OPDS_NEW ? OPDSFMT_REL_NEW : OPDSFMT_REL_SUB;
		l[i].type = c->v2           ? OPDSFMT_JSON
		            : r->facet >= 0 ? OPDSFMT_NAV
		                            : OPDSFMT_ACQ;
		l[i].href = href_feed(c, r->name, false, NULL, 1);
		l[i].count = r->feed == OPDS_ALL ? (int64_t)page->total : -1;
		e[i].links = &l[i];
		e[i].nlinks = 1;
	}
	buf_release(&b);
	feed_init(c, &f, "Library");
	/* The root lists Reading now: it changes with the progress too. */
	f.updated = page->last_modified;
	f.entries = e;
	f.nentries = n;
	opds_send_feed(c, &f);
}

/* The OpenSearch description: an absolute template, {searchTerms} only. */
static void
feed_osd(struct opds_call *c)
{
	const struct str *host = http_header_get(c->req, "host", NULL);
	struct buf t = BUF_INIT, b = BUF_INIT;
	size_t i;

	if (host != NULL && host->len < 256) {
		buf_adds(&t, c->req->is_https ? "https://" : "http://");
		for (i = 0; i < host->len; i++) {
			char ch = host->p[i];

			/* A host name, an address or a port: nothing else. */
			if ((ch >= 'a' && ch <= 'z') ||
			    (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || strchr(".-:[]", ch))
				buf_addch(&t, ch);
		}
	}
	href_root(&t, c, false);
	buf_adds(&t, "/search?q={searchTerms}");
	opdsfmt_osd(&b, "kosyncd library", t.data);
	opds_send(c, OPDSFMT_OSD, &b, 0);
	buf_release(&t);
	buf_release(&b);
}

/* --- Covers and files --------------------------------------------------- */

/* library_cover_fn */
static void
cover_read(void *arg, int status, const void *jpeg, size_t len,
    const char *etag, const char *error)
{
	struct opds_call *c = arg;
	const struct str *inm = http_header_get(c->req, "if-none-match", NULL);
	char *hdr;
	size_t n;

	if (status != 200) {
		opds_error(c, status == 404 ? 404 : 500,
		    status == 404   ? "No such cover."
		    : error != NULL ? error
		                    : "library error");
		return;
	}
	n = sizeof(OPDS_HEADERS) + strlen(etag) + 16;
	hdr = http_alloc(c->req, n);
	snprintf(hdr, n, OPDS_HEADERS "ETag: %s\r\n", etag);
	if (inm != NULL && str_eqs(*inm, etag))
		http_reply_ex(c->req, 304, NULL, hdr, "", 0);
	else
		http_reply_ex(c->req, 200, "image/jpeg", hdr, jpeg, len);
}

/* library_file_fn: the download, whole or a range of it. */
static void
file_opened(void *arg, int fd, const struct library_file *file,
    const struct library_book *book, int status, const char *error)
{
	struct opds_call *c = arg;
	const struct str *range = http_header_get(c->req, "range", NULL);
	const struct str *ifr = http_header_get(c->req, "if-range", NULL);
	const struct str *inm = http_header_get(c->req, "if-none-match", NULL);
	struct buf h = BUF_INIT, tag = BUF_INIT;
	char date[40];
	uint64_t from = 0, to = 0;
	int rr = 0;

	if (fd < 0) {
		opds_error(c, status == 404 ? 404 : 500,
		    status == 404   ? "No such file."
		    : error != NULL ? error
		                    : "library error");
		return;
	}
	buf_addf(&tag, "\"%s-%" PRIu64 "-%" PRId64 "\"", file->partial_md5,
	    file->size, file->mtime);
	opdsfmt_time(file->mtime, true, date, sizeof(date));
	buf_adds(&h, "Content-Disposition: attachment; filename=\"");
	opdsfmt_filename(&h, book->authors, book->nauthors, book->title,
	    library_file_ext(file));
	buf_addf(&h,
	    "\"\r\nETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n"
	    "X-Content-Type-Options: nosniff\r\n",
	    tag.data, date);
	if (inm != NULL && str_eqs(*inm, tag.data)) {
		close(fd);
		http_reply_ex(c->req, 304, NULL, keep(c, &h), "", 0);
		goto out;
	}
	if (range != NULL && (ifr == NULL || str_eqs(*ifr, tag.data)))
		rr = dav_range_parse(*range, file->size, &from, &to);
	if (rr < 0) {
		close(fd);
		buf_addf(
		    &h, "Content-Range: bytes */%" PRIu64 "\r\n", file->size);
		http_error(c->req, 416, keep(c, &h), "Range not satisfiable.");
		goto out;
	}
	if (rr == 1) {
		buf_addf(&h,
		    "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
		    "\r\n",
		    from, to, file->size);
		dav_reply_file(c->req, 206, file->mime, keep(c, &h), fd, from,
		    to - from + 1);
	} else {
		dav_reply_file(
		    c->req, 200, file->mime, keep(c, &h), fd, 0, file->size);
	}
out:
	buf_release(&h);
	buf_release(&tag);
}

/* --- The request -------------------------------------------------------- */

/* basicauth_fn: signed in, or refused. */
static void
signed_in(void *arg, const char *user, int status, const char *why)
{
	struct opds_call *c = arg;
	enum opds_feed feed = c->route != NULL ? c->route->feed : OPDS_ROOT;
	struct library_query q;

	if (user == NULL) {
		opds_error(c, status, why);
		return;
	}
	c->user = user;
	switch (feed) {
	case OPDS_ROOT:
		memset(&q, 0, sizeof(q));
		q.limit = 1;
		library_query(c->o->lib, c->user, &q, root_read, c);
		break;
	case OPDS_READING:
		feed_reading(c);
		break;
	case OPDS_AUTHORS:
	case OPDS_SERIES:
	case OPDS_LANGUAGES:
	case OPDS_TAGS:
		c->cursor[0] = '\0'; /* value lists page by number alone */
		library_facet(c->o->lib, c->user,
		    (enum library_facet_kind)c->route->facet,
		    (c->page - 1) * OPDS_PAGE, OPDS_PAGE, values_read, c);
		break;
	case OPDS_OSD:
		feed_osd(c);
		break;
	case OPDS_COVER:
	case OPDS_THUMB:
		library_cover(c->o->lib, c->user, c->arg,
		    feed == OPDS_COVER ? OPDS_COVER_W : OPDS_THUMB_W,
		    feed == OPDS_COVER ? OPDS_COVER_H : OPDS_THUMB_H,
		    cover_read, c);
		break;
	case OPDS_FILE:
		library_file_open(c->o->lib, c->user, c->arg, file_opened, c);
		break;
	case OPDS_PSE:
		library_file_open(c->o->lib, c->user, c->arg, pse_opened, c);
		break;
	default:
		feed_books(c);
		break;
	}
}

/* A page number of a PSE path: 1 to 6 digits; -1 when it is not. */
static long
page_number(const char *p, size_t len)
{
	long n = 0;
	size_t i;

	if (len == 0 || len > 6)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	return n;
}

/*
 * Read the query value key into out (OPDS_MAX_VALUE + 1 bytes). Returns
 * 0 (absent: out is ""), -1 when it is malformed or too long.
 */
static int
query_value(const struct http_request *req, const char *key, char *out)
{
	long n = opdsfmt_query(
	    req->query.p, req->query.len, key, out, OPDS_MAX_VALUE + 1);

	if (n == -1)
		out[0] = '\0';
	return n < -1 ? -1 : 0;
}

/* Read the call's query; -1 with *why set when a value is bad. */
static int
read_query(struct opds_call *c, const char **why)
{
	struct http_request *req = c->req;
	char v[OPDS_MAX_VALUE + 1], *end;
	unsigned long long page;
	size_t i;

	*why = "A query value is malformed or too long.";
	if (query_value(req, "q", c->q) == -1 ||
	    query_value(req, "author", c->author) == -1 ||
	    query_value(req, "series", c->series) == -1 ||
	    query_value(req, "lang", c->lang) == -1 ||
	    query_value(req, "tag", c->tag) == -1)
		return -1;
	if (c->q[0] == '\0' && query_value(req, "query", c->q) == -1)
		return -1;
	if (query_value(req, "order", v) == -1)
		return -1;
	if (v[0] != '\0') {
		for (i = 0; i < NOPDS_ORDERS; i++)
			if (strcmp(v, opds_orders[i].name) == 0)
				c->order = &opds_orders[i];
		if (c->order == NULL) {
			*why = "The order is one of title, author, series, "
			       "added.";
			return -1;
		}
	}
	if (query_value(req, "maxWidth", v) == -1)
		return -1;
	if (v[0] != '\0') {
		long w = page_number(v, strlen(v));

		if (w < 0) {
			*why = "maxWidth is a number of pixels.";
			return -1;
		}
		c->pse_width = (int)w;
	}
	if (opdsfmt_query(req->query.p, req->query.len, "cursor", c->cursor,
	        sizeof(c->cursor)) < -1) {
		*why = "The cursor is malformed or too long.";
		return -1;
	}
	c->page = 1;
	if (query_value(req, "page", v) == -1)
		return -1;
	if (v[0] != '\0') {
		page = strtoull(v, &end, 10);
		if (*end != '\0' || v[0] < '1' || v[0] > '9' || page < 1 ||
		    page > OPDS_MAX_PAGE) {
			*why = "The page is a number from 1.";
			return -1;
		}
		c->page = page;
	}
	return 0;
}

/* Decode the percent-encoded segment s into request memory; NULL if bad. */
static char *
segment(struct opds_call *c, struct str s)
{
	char *out = http_alloc(c->req, s.len + 1);
	long n = str_unescape(s, out);

	if (n <= 0 || memchr(out, '\0', (size_t)n) != NULL ||
	    memchr(out, '/', (size_t)n) != NULL)
		return NULL;
	out[n] = '\0';
	return out;
}

void
opds_handle(struct http_request *req, void *ctx)
{
	struct opds *o = ctx;
	struct opds_call *c;
	struct str p = req->route, name, rest;
	const char *slash, *why;
	size_t i;

	c = http_alloc(req, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->o = o;
	c->page = 1;
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD) {
		http_error(req, 405, "Allow: GET, HEAD\r\n" OPDS_HEADERS,
		    "The catalog is read-only: GET or HEAD.");
		return;
	}
	/* "/opds" ["/v2"] ["/" name ["/" arg ["/" file name]]] */
	p.p += 5;
	p.len -= 5;
	if (p.len >= 3 && memcmp(p.p, "/v2", 3) == 0 &&
	    (p.len == 3 || p.p[3] == '/')) {
		c->v2 = true;
		p.p += 3;
		p.len -= 3;
	}
	if (p.len > 0) {
		p.p++;
		p.len--;
		slash = memchr(p.p, '/', p.len);
		name = (struct str){
		    p.p, slash != NULL ? (size_t)(slash - p.p) : p.len};
		rest = slash != NULL
		           ? (struct str){slash + 1, p.len - name.len - 1}
		           : STR_NULL;
		for (i = 0; i < NOPDS_ROUTES; i++)
			if (str_eqs(name, opds_routes[i].name))
				c->route = &opds_routes[i];
		if (c->route == NULL) {
			opds_error(c, 404, "No such catalog page.");
			return;
		}
		if (c->route->feed >= OPDS_COVER) {
			/* cover/<book>, thumb/<book>, file/<file>[/<name>] */
			if (rest.p == NULL || rest.len == 0) {
				opds_error(c, 404, "No such catalog page.");
				return;
			}
			slash = memchr(rest.p, '/', rest.len);
			if ((slash != NULL) != (c->route->feed == OPDS_PSE) &&
			    c->route->feed != OPDS_FILE) {
				opds_error(c, 404, "No such catalog page.");
				return;
			}
			if (c->route->feed == OPDS_PSE &&
			    (c->pse_page = page_number(slash + 1,
			         rest.len - (size_t)(slash + 1 - rest.p))) <
			        0) {
				opds_error(c, 404, "No such page.");
				return;
			}
			if (slash != NULL)
				rest.len = (size_t)(slash - rest.p);
			c->arg = segment(c, rest);
			if (c->arg == NULL || strlen(c->arg) > 64) {
				opds_error(c, 404, "No such catalog page.");
				return;
			}
		} else if (rest.p != NULL) {
			opds_error(c, 404, "No such catalog page.");
			return;
		}
	}
	if (read_query(c, &why) == -1) {
		opds_error(c, 400, why);
		return;
	}
	if (c->route != NULL && c->route->feed == OPDS_SEARCH &&
	    c->q[0] == '\0') {
		opds_error(c, 400, "Search with ?q=words.");
		return;
	}
	basicauth_check(req, o->st, o->rl, STORE_DEVICE_WEBDAV, signed_in, c);
}

struct opds *
opds_new(uv_loop_t *loop, struct store *st, struct ratelimit *rl,
    struct library *lib, const struct config *cfg)
{
	struct opds *o = xcalloc(1, sizeof(*o));
	size_t n = cfg->base_path != NULL ? strlen(cfg->base_path) : 0;

	o->loop = loop;
	o->st = st;
	o->rl = rl;
	o->lib = lib;
	o->base = xmalloc(n + 2);
	router_base(cfg->base_path, o->base);
	return o;
}

void
opds_free(struct opds *o)
{
	if (o == NULL)
		return;
	free(o->base);
	free(o);
}
