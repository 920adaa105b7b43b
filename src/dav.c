/*
 * dav.c: the WebDAV file space (dav.h).
 *
 * One request: the path is decoded and checked (davpath.c), the Basic
 * credentials are verified by the store exactly as the protocol's key is
 * (md5 of the password, the verified-key cache, the failed-login limiter
 * of ratelimit.h), then the method runs on the account's tree through
 * the operations of davstore.h (the disk's davfs.c, or another backend),
 * reached only from its root. Everything a request
 * holds (descriptors, the temporary file of an upload) is released in
 * dav_done, the one way out, whatever happened.
 *
 * Invariants:
 *   - a file is replaced only by the commit of a complete, durable
 *     temporary object (davstore_up_commit; on disk a rename(2) in the
 *     same folder): a crash leaves the old or the new file, never a mix;
 *     the answer to a PUT comes after the commit and the folder's sync;
 *   - an upload never holds more than DAV_WRITE_CHUNK bytes and one
 *     piece of its body in memory (twice that on a blocking store: the
 *     chunk on the pool, and the next);
 *   - a strong ETag that the server sent itself always matches (If-Match
 *     is compared leniently: W/ and missing quotes are tolerated, as
 *     KOReader up to 2026.03 sends them);
 *   - names reserved by davpath.h (temporary files, property sidecars,
 *     versions) never appear in a listing and cannot be addressed;
 *   - on a blocking store (Redis) the root's opening and the target's
 *     lookup (dav_lookup) run on the thread pool before the method, and
 *     so do a PROPFIND's listing and properties (propfind_build), MKCOL
 *     (mkcol_step), the opening of a GET's file (get_open), an
 *     upload's commit (commit_step) and its abort (dav_abort), a
 *     PROPPATCH's changes (proppatch_change), and each chunk of a GET
 *     (file_fill_pool: read ahead, the answer waits for it) or PUT
 *     (put_piece: the body paused while it is written), at most
 *     DAV_MAX_CHUNK_JOBS at once (dav_chunk_start), with the web API's
 *     reads (dav_offload: davweb.c's usage and versions): nothing
 *     reaches Redis from the loop;
 *   - nothing that grows with the tree runs on the loop: DELETE, COPY,
 *     MOVE (the Destination's lookup included) and the count of an account's
 * usage run on the thread pool, and the quota works from a usage figure per
 * account (struct dav_usage) moved by each upload and MKCOL, counted again
 * after the other changes.
 *
 * Not responsible for the HTTP framing of streamed bodies (http.c,
 * server.c), nor for where the trees are kept (davstore.h: on disk with
 * --storage file, in Redis with --storage redis; --storage memory keeps
 * none and the space answers 501).
 */
#include <sys/stat.h>

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "auth.h"
#include "basicauth.h"
#include "config.h"
#include "dav.h"
#include "davfs.h"
#include "davpath.h"
#include "davredis.h"
#include "davstore.h"
#include "davxml.h"
#include "fault.h"
#include "library.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* Bytes of an upload gathered before one write(2). */
#define DAV_WRITE_CHUNK ((size_t)64 * 1024)
/*
 * Chunk reads and writes of a blocking store (Redis) on the thread pool
 * at once; more wait their turn (dav_chunk_start). libuv's pool has 4
 * threads, shared with argon2, fsync, the statistics and the WebDAV
 * requests' other steps: a Redis that hangs holds at most this many of
 * them (each call for at most its 2 s timeout), however many transfers
 * are under way.
 */
#define DAV_MAX_CHUNK_JOBS 2
/* Bytes of the dead properties kept for one resource. */
#define DAV_MAX_PROPS_BYTES ((size_t)64 * 1024)

#define DAV_CHALLENGE "WWW-Authenticate: Basic realm=\"kosyncd\"\r\n"
#define DAV_ALLOW                                                              \
	"Allow: OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, "        \
	"MKCOL, COPY, MOVE\r\n"
#define DAV_XML "application/xml; charset=utf-8"
#define DAV_CREATED "{\"code\":201,\"message\":\"Created.\"}"

/*
 * An account's usage figure: the bytes and entries of its tree, counted
 * once (on the thread pool) and then moved by each change made here.
 * fd holds the tree's root: while it is open its inode cannot be reused,
 * so a tree removed (account deleted) and made again under the name is
 * told apart (other inode, or st_nlink 0 for the old one).
 */
struct dav_usage {
	char *user; /* NULL: a free slot */
	struct davdir *root;
	bool known; /* bytes and entries are the tree's */
	uint64_t bytes, entries;
	uint64_t gen; /* moved by every change: a count begun before is stale */
	uint64_t used; /* dav->tick when last used: the oldest slot is reused */
};

struct dav {
	uv_loop_t *loop;
	struct store *st;
	struct davstore *files; /* where the trees are kept */
	const struct config *cfg;
	struct ratelimit *rl;
	dav_folder_fn *lib; /* the library's folder, or NULL (davlib.h) */
	void *lib_ctx;
	char *mount; /* "/dav" under the normalised base path */
	size_t mount_len;
	size_t mount_segs; /* segments of mount */
	/*
	 * Uploads whose fsync is on a worker thread. dav_free while some are
	 * (the server cut them off at shutdown) only sets closing: the last
	 * one frees dav, answering without the limiter, which is gone.
	 */
	unsigned pending;
	bool closing;
	/*
	 * Uploads in progress: what each has written counts against its
	 * account's quota, so concurrent uploads cannot pass it together.
	 */
	struct dav_req *uploads;
	/* dav_on_file: who is told of files named one of file_names. */
	const char *const *file_names;
	dav_file_fn *file_fn;
	void *file_arg;
	/* dav_on_book: who is told of the files of an account's Books/. */
	dav_book_fn *book_fn;
	void *book_arg;
	struct dav_usage usage[DAV_USAGE_FDS];
	uint64_t tick;
	/* Chunk jobs on the pool, and those waiting (dav_chunk_start). */
	unsigned chunk_jobs;
	struct dav_chunk *chunk_head, *chunk_tail;
};

/*
 * One chunk read (GET) or written (PUT) of a blocking store, on the
 * thread pool: run there, then done on the loop (it may free the job).
 */
struct dav_chunk {
	uv_work_t work;
	struct dav *dav;
	struct dav_chunk *next; /* waiting its turn */
	void *arg;
	void (*run)(struct dav_chunk *j);
	void (*done)(struct dav_chunk *j);
};

/* One request in flight (http_alloc memory, gone after the answer). */
struct dav_req {
	struct dav *dav;
	struct http_request *req;
	struct dav_req *up_prev, *up_next; /* in dav->uploads */
	struct davpath dp;
	const struct str *seg; /* the path below the mount */
	size_t nseg;
	struct auth_cred cred;
	struct davdir *root; /* the account's folder */
	struct davdir
	    *parent;      /* the folder holding the target (root if nseg 0) */
	const char *name; /* the target in parent; NULL for the root */
	struct stat st;
	/* PUT */
	struct davup *up; /* the upload's temporary object */
	struct buf wb;    /* gathered, not yet written */
	/* A blocking store's: the chunk being written on the pool. */
	struct dav_chunk wjob;
	struct buf jb;    /* what wjob writes (wb's, swapped) */
	int jerr;         /* its errno, 0 when written */
	bool writing;     /* wjob is on the pool or waiting its turn */
	bool end_pending; /* the body ended meanwhile: end_status */
	int end_status;
	uint64_t total, old_size, usage;
	/* The usage count before a PUT or MKCOL, then what runs next. */
	uint64_t entries, walk_gen;
	void (*next)(struct dav_req *r);
	/* dav_step: the storage's part, then the answer. */
	void (*step)(struct dav_req *r), (*answer)(struct dav_req *r);
	uv_work_t work;
	int werr;      /* errno of a failed write */
	bool sync_dir; /* the worker syncs parent (else the upload) */
	/* COPY, MOVE: the Destination's folder and name, what it does. */
	struct davdir *ddir;
	const char *dname;
	const struct str *dseg; /* the Destination's dn segments */
	size_t dn;
	bool overwrite;
	int work_rc, work_errno;
	/* dav_lookup's outcome (FOUND_*) and its errno. */
	int found, found_errno;
	struct davrd *rd; /* GET: the file opened, until the answer takes it */
	/* PUT: commit_step's outcome. */
	int commit_status;
	int64_t old_len;
	uint64_t freed, freed_n;
	int keep_errno; /* the version could not be kept (0: it was) */
	bool kept;
	bool guarded; /* the commit is davstore_up_guard's */
	/* PROPFIND: the request's body, the answer being built. */
	struct davxml xml;
	struct buf out;
	bool xml_set, depth_one, refused;
	int file_fd; /* the file for the dav_on_file listener, or -1 */
	uint64_t file_size;
	const char *file_name; /* which of file_names file_fd is */
	const char *file_gone; /* a MOVE's source that left Books/, or NULL */
	bool file_book;        /* file_fd is for the dav_on_book listener */
	bool uploading;        /* in dav->uploads */
	bool exists, recursive, replaced;
};

static void usage_forget(struct dav_req *r);
static void dav_destroy(struct dav *dav);
static void dav_work(struct dav_req *r, uv_work_cb fn, uv_after_work_cb after);
static void dav_step(struct dav_req *r, void (*step)(struct dav_req *r),
    void (*answer)(struct dav_req *r));
static bool dav_work_back(struct dav_req *r);

/*
 * Answers
 */

/* An upload dropped on the thread pool (a blocking store's). */
struct abort_job {
	uv_work_t work;
	struct dav *dav;
	struct davup *up;
};

static void
abort_work(uv_work_t *w)
{
	struct abort_job *j = w->data;

	davstore_up_abort(j->up);
}

static void
abort_done(uv_work_t *w, int status)
{
	struct abort_job *j = w->data;
	struct dav *dav = j->dav;

	(void)status;
	free(j);
	if (--dav->pending == 0 && dav->closing)
		dav_destroy(dav);
}

/*
 * Drop upload up: on a blocking store its temporary object is removed on
 * the thread pool (counted in pending), never on the loop.
 */
static void
dav_abort(struct dav *dav, struct davup *up)
{
	struct abort_job *j;

	if (up == NULL)
		return;
	if (!dav->files->blocking) {
		davstore_up_abort(up);
		return;
	}
	j = xmalloc(sizeof(*j));
	j->work.data = j;
	j->dav = dav;
	j->up = up;
	dav->pending++;
	if (uv_queue_work(dav->loop, &j->work, abort_work, abort_done) != 0) {
		/* Here then, dav not freed under the caller. */
		dav->pending--;
		davstore_up_abort(up);
		free(j);
	}
}

static void dav_chunk_queue(struct dav_chunk *j);

static void
chunk_work(uv_work_t *w)
{
	struct dav_chunk *j = w->data;

	j->run(j);
}

static void
chunk_after(uv_work_t *w, int status)
{
	struct dav_chunk *j = w->data;
	struct dav *dav = j->dav;
	struct dav_chunk *next;

	(void)status;
	dav->chunk_jobs--;
	j->done(j); /* j may be gone now; dav stays: counted in pending */
	/* done may have started one: the first waiting ones go first. */
	while ((next = dav->chunk_head) != NULL &&
	       dav->chunk_jobs < DAV_MAX_CHUNK_JOBS) {
		dav->chunk_head = next->next;
		if (dav->chunk_head == NULL)
			dav->chunk_tail = NULL;
		dav_chunk_queue(next);
	}
	if (--dav->pending == 0 && dav->closing)
		dav_destroy(dav);
}

/* Put j on the pool now. */
static void
dav_chunk_queue(struct dav_chunk *j)
{
	j->work.data = j;
	j->dav->chunk_jobs++;
	/* It fails only for a NULL callback: a programming error. */
	if (uv_queue_work(j->dav->loop, &j->work, chunk_work, chunk_after) != 0)
		fatalx("cannot queue a WebDAV chunk on the thread pool");
}

/*
 * Run j (its run on the thread pool, then its done on the loop, never
 * before this returns), counted in dav->pending: at once when fewer than
 * DAV_MAX_CHUNK_JOBS are on the pool, else after those before it.
 */
static void
dav_chunk_start(struct dav *dav, struct dav_chunk *j)
{
	j->dav = dav;
	j->next = NULL;
	dav->pending++;
	if (dav->chunk_jobs < DAV_MAX_CHUNK_JOBS && dav->chunk_head == NULL) {
		dav_chunk_queue(j);
		return;
	}
	if (dav->chunk_tail != NULL)
		dav->chunk_tail->next = j;
	else
		dav->chunk_head = j;
	dav->chunk_tail = j;
}

/* Release what r holds; its answer has been or is being given. */
static void
dav_release(struct dav_req *r)
{
	assert(!r->writing); /* the pool's job holds r->up and r->jb */
	if (r->uploading) {
		if (r->up_prev != NULL)
			r->up_prev->up_next = r->up_next;
		else
			r->dav->uploads = r->up_next;
		if (r->up_next != NULL)
			r->up_next->up_prev = r->up_prev;
		r->uploading = false;
	}
	dav_abort(r->dav, r->up);
	davstore_read_close(r->rd);
	r->rd = NULL;
	if (r->file_fd != -1)
		close(r->file_fd);
	r->file_fd = -1;
	davstore_dir_close(r->ddir);
	if (r->parent != r->root)
		davstore_dir_close(r->parent);
	davstore_dir_close(r->root);
	r->up = NULL;
	r->parent = r->root = r->ddir = NULL;
	buf_release(&r->wb);
	buf_release(&r->jb);
	if (r->xml_set)
		davxml_release(&r->xml);
	r->xml_set = false;
	buf_release(&r->out);
}

static void
dav_reply(struct dav_req *r, int status, const char *ctype, const char *extra,
    const char *body, size_t len)
{
	dav_release(r);
	http_reply_ex(r->req, status, ctype, extra, body, len);
}

static void
dav_fail(struct dav_req *r, int status, const char *message)
{
	struct buf body = BUF_INIT;

	http_error_format(&body, status, message);
	dav_reply(r, status, NULL, status == 401 ? DAV_CHALLENGE : NULL,
	    body.data, body.len);
	buf_release(&body);
}

/* 500 or 507 for a failed system call, logged with what failed. */
static void
dav_fail_errno(struct dav_req *r, int err, const char *what)
{
	if (err == ENOSPC || err == EDQUOT) {
		dav_fail(r, 507, "the server's disk is full");
		return;
	}
	if (err == ENOTCONN) { /* davredis.c: Redis cannot be reached */
		log_warnx(
		    "webdav: cannot %s: the file storage is unavailable", what);
		dav_fail(r, 503,
		    "the file storage is unavailable; nothing was changed, "
		    "try again");
		return;
	}
	errno = err;
	log_warn("webdav: cannot %s", what);
	dav_fail(r, 500, "the server could not complete the operation");
}

/*
 * Paths and headers
 */

/* The current entity tag of r's target, without quotes, into out. */
static void
etag_bare(const struct stat *st, struct buf *out)
{
	buf_reset(out);
	davfs_etag(st, out);
	/* Drop the quotes. */
	memmove(out->data, out->data + 1, out->len - 2);
	out->len -= 2;
	out->data[out->len] = '\0';
}

/*
 * True when the list of entity tags in h matches tag (bare): "*" matches
 * any existing resource; each element is compared with W/ and the quotes
 * taken off, so a tag we sent matches however a client echoes it.
 */
static bool
tag_list_matches(struct str h, const struct buf *tag)
{
	struct str t;
	size_t i = 0, start;

	while (i < h.len) {
		while (i < h.len &&
		       (h.p[i] == ' ' || h.p[i] == '\t' || h.p[i] == ','))
			i++;
		start = i;
		while (i < h.len && h.p[i] != ',')
			i++;
		t = (struct str){h.p + start, i - start};
		while (t.len > 0 &&
		       (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'))
			t.len--;
		if (t.len >= 2 && (t.p[0] == 'W' || t.p[0] == 'w') &&
		    t.p[1] == '/') {
			t.p += 2;
			t.len -= 2;
		}
		if (t.len >= 2 && t.p[0] == '"' && t.p[t.len - 1] == '"') {
			t.p++;
			t.len -= 2;
		}
		if (str_eqs(t, "*") ||
		    (t.len == tag->len && memcmp(t.p, tag->data, t.len) == 0))
			return true;
	}
	return false;
}

/*
 * Check If-Match and If-None-Match against the target as it is now.
 * Returns 0, or the status to answer (412; 304 for a GET or HEAD whose
 * If-None-Match matches).
 */
static int
dav_preconditions(struct dav_req *r)
{
	const struct str *im = http_header_get(r->req, "if-match", NULL);
	const struct str *inm = http_header_get(r->req, "if-none-match", NULL);
	struct buf tag = BUF_INIT;
	bool get =
	    r->req->method == HTTP_M_GET || r->req->method == HTTP_M_HEAD;
	int status = 0;

	if (r->exists)
		etag_bare(&r->st, &tag);
	if (im != NULL && (!r->exists || !tag_list_matches(*im, &tag)))
		status = 412;
	else if (inm != NULL && r->exists && tag_list_matches(*inm, &tag))
		status = get ? 304 : 412;
	buf_release(&tag);
	return status;
}

/* RFC 1123 date of t into out (at least 32 bytes). */
static void
http_date(time_t t, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static const char *
content_type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".sqlite3", "application/vnd.sqlite3"},
	    {".sqlite", "application/vnd.sqlite3"},
	    {".json", "application/json"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".md", "text/markdown; charset=utf-8"},
	    {".html", "text/html; charset=utf-8"},
	    {".xml", "application/xml"},
	    {".epub", "application/epub+zip"},
	    {".pdf", "application/pdf"},
	    {".cbz", "application/vnd.comicbook+zip"},
	    {".lua", "text/plain; charset=utf-8"},
	};
	size_t i, n = strlen(name), e;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/* What dav_lookup found of r's target (r->found). */
enum {
	FOUND_NOT_YET,  /* dav_lookup has not run */
	FOUND_ROOT_ERR, /* the root could not be stat'ed (r->found_errno) */
	FOUND_WAY_ERR,  /* a folder on the way could not be opened (same) */
	FOUND_STAT_ERR, /* the target could not be stat'ed (same) */
	FOUND_OK        /* r->parent, r->name, r->st and r->exists are set */
};

/*
 * The storage's part of dav_resolve: open the folder holding r's target
 * (the n first segments of seg) into r->parent and look the target up,
 * the outcome into r->found. Answers nothing, so that it may run on the
 * thread pool (dav_run, for a backend whose calls may wait).
 */
static void
dav_lookup(struct dav_req *r)
{
	r->exists = false;
	r->found = FOUND_OK;
	if (r->nseg == 0) {
		r->parent = r->root;
		r->name = NULL;
		if (davstore_stat(r->root, NULL, &r->st) == -1) {
			r->found = FOUND_ROOT_ERR;
			r->found_errno = errno;
			return;
		}
		r->exists = true;
		return;
	}
	r->parent = davstore_dir_open(r->root, r->seg, r->nseg - 1);
	if (r->parent == NULL) {
		r->found = FOUND_WAY_ERR;
		r->found_errno = errno;
		return;
	}
	r->name = r->seg[r->nseg - 1].p;
	if (davstore_stat(r->parent, r->name, &r->st) == 0) {
		r->exists = true;
	} else if (errno != ENOENT) {
		r->found = FOUND_STAT_ERR;
		r->found_errno = errno;
	}
}

/*
 * Open the folder holding r's target into r->parent and look the target
 * up (dav_lookup, unless dav_run did already). Returns 0, or -1 after
 * answering: missing_parent is the status for a missing folder on the
 * way (409 for what creates, 404 for what reads).
 */
static int
dav_resolve(struct dav_req *r, int missing_parent)
{
	int err;

	if (r->found == FOUND_NOT_YET)
		dav_lookup(r);
	err = r->found_errno;
	switch (r->found) {
	case FOUND_ROOT_ERR:
		dav_fail_errno(r, err, "stat an account's folder");
		return -1;
	case FOUND_WAY_ERR:
		if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
			dav_fail(r, missing_parent,
			    missing_parent == 409
			        ? "a folder on the way does not exist"
			        : "not found");
			return -1;
		}
		dav_fail_errno(r, err, "open a folder");
		return -1;
	case FOUND_STAT_ERR:
		dav_fail_errno(r, err, "stat a file");
		return -1;
	default:
		break;
	}
	/* Links and special files are neither served nor replaced. */
	if (r->exists && !S_ISREG(r->st.st_mode) && !S_ISDIR(r->st.st_mode)) {
		dav_fail(r, 403, "this name is not a file or a folder");
		return -1;
	}
	return 0;
}

/* dav_resolve for a target that must exist (404). Returns 0 or -1. */
static int
dav_find(struct dav_req *r)
{
	if (dav_resolve(r, 404) == -1)
		return -1;
	if (!r->exists) {
		dav_fail(r, 404, "not found");
		return -1;
	}
	return 0;
}

/* The href of the target (or of its child name) into out. */
static void
dav_href(const struct dav_req *r, const char *child, bool collection,
    struct buf *out)
{
	size_t i;

	buf_reset(out);
	buf_add(out, r->dav->mount, r->dav->mount_len);
	for (i = 0; i < r->nseg; i++) {
		buf_addch(out, '/');
		davpath_encode(out, r->seg[i], false);
	}
	if (child != NULL) {
		buf_addch(out, '/');
		davpath_encode(out, str_from(child), false);
	}
	if (collection)
		buf_addch(out, '/');
}

/*
 * Dead properties: a sidecar per resource, in its folder (davfs.h).
 * Format: for each property "ns\tname\tlength\n" then the value's bytes
 * and "\n". Read whole (at most DAV_MAX_PROPS_BYTES).
 */
struct dead {
	struct davxml_prop p[DAVXML_MAX_PROPS];
	size_t n;
};

static void
dead_release(struct dead *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->p[i].ns);
		free(d->p[i].name);
		free(d->p[i].value);
	}
	d->n = 0;
}

/* Load the properties of name in dir (name NULL for dir itself). */
static void
dead_load(struct davdir *dir, const char *name, struct dead *d)
{
	struct buf data = BUF_INIT;
	size_t i = 0;

	d->n = 0;
	if (davstore_props_load(dir, name, &data, DAV_MAX_PROPS_BYTES) == -1)
		buf_reset(&data);
	while (i < data.len && d->n < DAVXML_MAX_PROPS) {
		char *tab1, *tab2, *nl, *end;
		unsigned long long len;

		nl = memchr(data.data + i, '\n', data.len - i);
		tab1 = memchr(data.data + i, '\t', data.len - i);
		if (nl == NULL || tab1 == NULL || tab1 > nl)
			break;
		tab2 = memchr(tab1 + 1, '\t', (size_t)(nl - tab1 - 1));
		if (tab2 == NULL)
			break;
		len = strtoull(tab2 + 1, &end, 10);
		if (end != nl || len > data.len - (size_t)(nl + 1 - data.data))
			break;
		d->p[d->n].ns = str_dup((struct str){
		    data.data + i, (size_t)(tab1 - data.data) - i});
		d->p[d->n].name =
		    str_dup((struct str){tab1 + 1, (size_t)(tab2 - tab1 - 1)});
		d->p[d->n].value = str_dup((struct str){nl + 1, (size_t)len});
		d->p[d->n].remove = false;
		d->n++;
		i = (size_t)(nl + 1 - data.data) + (size_t)len + 1;
	}
	buf_release(&data);
}

/* Replace the properties of name in dir with d (none when empty). */
static int
dead_save(struct davdir *dir, const char *name, const struct dead *d)
{
	struct buf data = BUF_INIT;
	size_t i;
	int rc = -1, saved;

	for (i = 0; i < d->n; i++)
		buf_addf(&data, "%s\t%s\t%zu\n%s\n", d->p[i].ns, d->p[i].name,
		    strlen(d->p[i].value), d->p[i].value);
	if (data.len > DAV_MAX_PROPS_BYTES)
		errno = EFBIG;
	else
		rc = davstore_props_save(dir, name, data.data, data.len);
	saved = errno;
	buf_release(&data);
	errno = saved;
	return rc;
}

/*
 * PROPFIND
 */

/* The live properties, in the order allprop lists them. */
enum live {
	L_RESOURCETYPE,
	L_DISPLAYNAME,
	L_GETCONTENTLENGTH,
	L_GETCONTENTTYPE,
	L_GETETAG,
	L_GETLASTMODIFIED,
	L_CREATIONDATE,
	L__COUNT,
};
static const char *const live_names[L__COUNT] = {
    "resourcetype",
    "displayname",
    "getcontentlength",
    "getcontenttype",
    "getetag",
    "getlastmodified",
    "creationdate",
};

/* True when live property l exists on a resource (files have them all). */
static bool
live_exists(enum live l, bool dir)
{
	return !dir || (l != L_GETCONTENTLENGTH && l != L_GETCONTENTTYPE &&
	                   l != L_GETETAG);
}

/* Append live property l of one resource (value too unless names_only). */
static void
live_add(struct buf *o, enum live l, const char *name, const struct stat *st,
    bool names_only)
{
	bool dir = S_ISDIR(st->st_mode);
	char date[64];
	struct tm tm;

	if (names_only) {
		buf_addf(o, "<D:%s/>", live_names[l]);
		return;
	}
	switch (l) {
	case L_RESOURCETYPE:
		buf_adds(o, dir ? "<D:resourcetype><D:collection/>"
		                  "</D:resourcetype>"
		                : "<D:resourcetype/>");
		break;
	case L_DISPLAYNAME:
		buf_adds(o, "<D:displayname>");
		davxml_escape(o, name, strlen(name));
		buf_adds(o, "</D:displayname>");
		break;
	case L_GETCONTENTLENGTH:
		buf_addf(o, "<D:getcontentlength>%lld</D:getcontentlength>",
		    (long long)st->st_size);
		break;
	case L_GETCONTENTTYPE:
		buf_adds(o, "<D:getcontenttype>");
		buf_adds(o, content_type_of(name));
		buf_adds(o, "</D:getcontenttype>");
		break;
	case L_GETETAG:
		buf_adds(o, "<D:getetag>");
		{
			struct buf tag = BUF_INIT;

			/* Hex digits and quotes: nothing to escape. */
			davfs_etag(st, &tag);
			buf_add(o, tag.data, tag.len);
			buf_release(&tag);
		}
		buf_adds(o, "</D:getetag>");
		break;
	case L_GETLASTMODIFIED:
		http_date(st->st_mtim.tv_sec, date, sizeof(date));
		buf_addf(o, "<D:getlastmodified>%s</D:getlastmodified>", date);
		break;
	case L_CREATIONDATE:
		gmtime_r(&st->st_ctim.tv_sec, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_addf(o, "<D:creationdate>%s</D:creationdate>", date);
		break;
	case L__COUNT:
		break;
	}
}

/* Append a dead property: its element in its namespace, and its value. */
static void
dead_add(struct buf *o, const struct davxml_prop *p, bool names_only)
{
	if (p->ns[0] == '\0')
		buf_addf(o, "<%s xmlns=\"\"", p->name);
	else {
		buf_addf(o, "<P:%s xmlns:P=\"", p->name);
		davxml_escape(o, p->ns, strlen(p->ns));
		buf_addch(o, '"');
	}
	if (names_only || p->value == NULL || p->value[0] == '\0') {
		buf_adds(o, "/>");
		return;
	}
	buf_addch(o, '>');
	buf_adds(o, p->value);
	if (p->ns[0] == '\0')
		buf_addf(o, "</%s>", p->name);
	else
		buf_addf(o, "</P:%s>", p->name);
}

static void
propstat(struct buf *o, const struct buf *props, const char *status)
{
	buf_adds(o, "<D:propstat><D:prop>");
	buf_add(o, props->data, props->len);
	buf_addf(o, "</D:prop><D:status>HTTP/1.1 %s</D:status></D:propstat>",
	    status);
}

/*
 * One <D:response> for a resource: href, the properties asked for x (in
 * a 200 propstat, and those it lacks in a 404 one). in and side (NULL:
 * in itself) locate its dead properties.
 */
static void
response_add(struct buf *o, const char *href, const char *name,
    const struct stat *st, const struct davxml *x, struct davdir *in,
    const char *side)
{
	struct buf found = BUF_INIT, missing = BUF_INIT;
	struct dead d;
	bool dir = S_ISDIR(st->st_mode), hit;
	size_t i, j;
	int l;

	dead_load(in, side, &d);
	buf_adds(o, "<D:response><D:href>");
	davxml_escape(o, href, strlen(href));
	buf_adds(o, "</D:href>");
	if (x->kind != DAVXML_PROP) {
		for (l = 0; l < L__COUNT; l++)
			if (live_exists((enum live)l, dir))
				live_add(&found, (enum live)l, name, st,
				    x->kind == DAVXML_PROPNAME);
		for (i = 0; i < d.n; i++)
			dead_add(&found, &d.p[i], x->kind == DAVXML_PROPNAME);
	} else {
		for (i = 0; i < x->nprops; i++) {
			const struct davxml_prop *p = &x->props[i];

			hit = false;
			if (strcmp(p->ns, "DAV:") == 0) {
				for (l = 0; l < L__COUNT; l++) {
					if (strcmp(p->name, live_names[l]) !=
					        0 ||
					    !live_exists((enum live)l, dir))
						continue;
					live_add(&found, (enum live)l, name, st,
					    false);
					hit = true;
				}
			}
			for (j = 0; !hit && j < d.n; j++) {
				if (strcmp(p->ns, d.p[j].ns) == 0 &&
				    strcmp(p->name, d.p[j].name) == 0) {
					dead_add(&found, &d.p[j], false);
					hit = true;
				}
			}
			if (hit)
				continue;
			if (strcmp(p->ns, "DAV:") == 0) {
				buf_addf(&missing, "<D:%s/>", p->name);
			} else {
				struct davxml_prop q = *p;

				q.value = NULL;
				dead_add(&missing, &q, true);
			}
		}
	}
	if (found.len > 0 || missing.len == 0)
		propstat(o, &found, "200 OK");
	if (missing.len > 0)
		propstat(o, &missing, "404 Not Found");
	buf_adds(o, "</D:response>");
	dead_release(&d);
	buf_release(&found);
	buf_release(&missing);
}

/*
 * True for KOReader up to 2026.03 (before 2026.07): it compares the
 * collection's own entry with the folder path relative to the address,
 * so under a sub-path such as /dav/ it would list that entry as a bogus
 * sub-folder (KOREADER-CLOUD.md §1.3); it never needs the entry.
 */
static bool
old_koreader(const struct http_request *req)
{
	const struct str *ua = http_header_get(req, "user-agent", NULL);
	const char *p;
	unsigned long year, month;
	char *end;
	char tmp[32];
	size_t n;

	if (ua == NULL || !str_has_prefix(*ua, "KOReader/"))
		return false;
	n = ua->len - 9 < sizeof(tmp) - 1 ? ua->len - 9 : sizeof(tmp) - 1;
	memcpy(tmp, ua->p + 9, n);
	tmp[n] = '\0';
	p = tmp;
	if (*p == 'v')
		p++;
	year = strtoul(p, &end, 10);
	if (end == p || *end != '.')
		return false;
	month = strtoul(end + 1, &end, 10);
	return year < 2026 || (year == 2026 && month < 7);
}

/* A Depth 1 listing being written (davstore_entry_fn). */
struct listing {
	struct dav_req *r;
	struct davdir *dir;
	const struct davxml *x;
	struct buf *o, *href;
};

static void
listing_add(void *arg, const char *name, const struct stat *st)
{
	struct listing *l = arg;

	dav_href(l->r, name, S_ISDIR(st->st_mode), l->href);
	response_add(l->o, l->href->data, name, st, l->x, l->dir, name);
}

/*
 * Parse the request's body (davxml_parse: a PROPFIND's when propfind,
 * else a PROPPATCH's) into r->xml and find the target. Returns 0, or -1
 * after answering.
 */
static int
xml_find(struct dav_req *r, bool propfind)
{
	const char *why;

	if (davxml_parse(r->req->body.p, r->req->body.len, propfind, &r->xml,
	        &why) == -1) {
		davxml_release(&r->xml);
		dav_fail(r, 400, why);
		return -1;
	}
	r->xml_set = true;
	return dav_find(r);
}

/*
 * Write the multistatus of r's target (found: a file or folder) and, for
 * Depth 1, of each entry of a folder into r->out; r->work_rc -1 with
 * r->work_errno when the listing failed. Answers nothing: on a blocking
 * store it runs on the thread pool.
 */
static void
propfind_build(struct dav_req *r)
{
	struct buf href = BUF_INIT;
	struct listing l;
	struct davdir *d;
	bool dir = S_ISDIR(r->st.st_mode);
	int rc;

	r->work_rc = 0;
	buf_adds(&r->out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                  "<D:multistatus xmlns:D=\"DAV:\">");
	if (!(dir && r->depth_one && old_koreader(r->req))) {
		dav_href(r, NULL, dir, &href);
		response_add(&r->out, href.data,
		    r->name != NULL ? r->name : r->cred.user.p, &r->st, &r->xml,
		    r->parent, r->name);
	}
	if (dir && r->depth_one) {
		d = r->name == NULL
		        ? davstore_dir_open(r->root, NULL, 0)
		        : davstore_dir_open(r->parent, &r->seg[r->nseg - 1], 1);
		l = (struct listing){r, d, &r->xml, &r->out, &href};
		rc = d == NULL
		         ? -1
		         : davstore_list(d, DAV_MAX_ENTRIES, listing_add, &l);
		r->work_errno = errno;
		davstore_dir_close(d);
		if (rc == -1) {
			r->work_rc = -1;
			goto out;
		}
	}
	buf_adds(&r->out, "</D:multistatus>\n");
out:
	buf_release(&href);
}

/* Answer what propfind_build wrote. */
static void
propfind_answer(struct dav_req *r)
{
	struct buf o = r->out;

	buf_init(&r->out);
	if (r->work_rc == -1) {
		buf_release(&o);
		dav_fail_errno(r, r->work_errno, "list a folder");
		return;
	}
	dav_reply(r, 207, DAV_XML, NULL, o.data, o.len);
	buf_release(&o);
}

static void
dav_propfind(struct dav_req *r)
{
	const struct str *depth = http_header_get(r->req, "depth", NULL);

	if (depth == NULL || str_caseeqs(*depth, "infinity")) {
		dav_fail(r, 403,
		    "PROPFIND with Depth: infinity is not "
		    "supported; use Depth: 0 or 1");
		return;
	}
	if (!str_eqs(*depth, "0") && !str_eqs(*depth, "1")) {
		dav_fail(r, 400, "Depth must be 0 or 1");
		return;
	}
	r->depth_one = str_eqs(*depth, "1");
	if (xml_find(r, true) == -1)
		return;
	/* The properties and the listing: off the loop on a blocking store. */
	dav_step(r, propfind_build, propfind_answer);
}

/*
 * PROPPATCH: every change or none (RFC 4918 §9.2). Properties in the DAV:
 * namespace are the server's (403); the others are kept as given.
 */
/*
 * Load r's dead properties, apply the changes of r->xml and save them
 * (r->work_rc -1 with r->work_errno when saving failed; r->refused when
 * one change cannot be made: then nothing is saved). Answers nothing: on
 * a blocking store it runs on the thread pool.
 */
static void
proppatch_change(struct dav_req *r)
{
	const struct davxml *x = &r->xml;
	struct dead d;
	size_t i, j;

	r->work_rc = 0;
	if (r->refused)
		return;
	dead_load(r->parent, r->name, &d);
	for (i = 0; !r->refused && i < x->nprops; i++) {
		const struct davxml_prop *p = &x->props[i];

		for (j = 0; j < d.n; j++)
			if (strcmp(d.p[j].ns, p->ns) == 0 &&
			    strcmp(d.p[j].name, p->name) == 0)
				break;
		if (j < d.n) {
			free(d.p[j].ns);
			free(d.p[j].name);
			free(d.p[j].value);
			d.p[j] = d.p[--d.n];
		}
		if (p->remove)
			continue;
		if (d.n == DAVXML_MAX_PROPS) {
			r->refused = true;
			break;
		}
		d.p[d.n].ns = xstrdup(p->ns);
		d.p[d.n].name = xstrdup(p->name);
		d.p[d.n].value = xstrdup(p->value != NULL ? p->value : "");
		d.n++;
	}
	if (!r->refused && dead_save(r->parent, r->name, &d) == -1) {
		r->work_rc = -1;
		r->work_errno = errno;
	}
	dead_release(&d);
}

/* Answer what proppatch_change did. */
static void
proppatch_answer(struct dav_req *r)
{
	const struct davxml *x = &r->xml;
	struct buf o = BUF_INIT, href = BUF_INIT, one = BUF_INIT;
	size_t i;

	if (r->work_rc == -1) {
		if (r->work_errno == EFBIG)
			dav_fail(r, 507,
			    "too many dead properties on this "
			    "resource (64 KiB at most)");
		else
			dav_fail_errno(
			    r, r->work_errno, "save dead properties");
		return;
	}
	if (!r->refused)
		usage_forget(r); /* the sidecar's bytes count */
	dav_href(r, NULL, S_ISDIR(r->st.st_mode), &href);
	buf_adds(&o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	             "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>");
	davxml_escape(&o, href.data, href.len);
	buf_adds(&o, "</D:href>");
	for (i = 0; i < x->nprops; i++) {
		struct davxml_prop q = x->props[i];
		bool bad = strcmp(q.ns, "DAV:") == 0 ||
		           strpbrk(q.ns, "\t\n") != NULL ||
		           strpbrk(q.name, "\t\n") != NULL;

		q.value = NULL;
		buf_reset(&one);
		if (bad)
			buf_addf(&one, "<D:%s/>", q.name);
		else
			dead_add(&one, &q, true);
		propstat(&o, &one,
		    !r->refused ? "200 OK"
		    : bad       ? "403 Forbidden"
		                : "424 Failed Dependency");
	}
	buf_adds(&o, "</D:response></D:multistatus>\n");
	dav_reply(r, 207, DAV_XML, NULL, o.data, o.len);
	buf_release(&o);
	buf_release(&href);
	buf_release(&one);
}

static void
dav_proppatch(struct dav_req *r)
{
	const struct davxml *x = &r->xml;
	size_t i;

	if (xml_find(r, false) == -1)
		return;
	r->refused = false;
	for (i = 0; i < x->nprops; i++)
		if (strcmp(x->props[i].ns, "DAV:") == 0 ||
		    strpbrk(x->props[i].ns, "\t\n") != NULL ||
		    strpbrk(x->props[i].name, "\t\n") != NULL)
			r->refused = true;
	/* The properties' load and save: off the loop on a blocking store. */
	dav_step(r, proppatch_change, proppatch_answer);
}

/*
 * GET and HEAD
 */

int
dav_range_parse(struct str h, uint64_t size, uint64_t *from, uint64_t *to)
{
	char tmp[64], *p, *end;
	unsigned long long a, b;

	if (h.len >= sizeof(tmp) || !str_has_prefix(h, "bytes="))
		return 0;
	memcpy(tmp, h.p + 6, h.len - 6);
	tmp[h.len - 6] = '\0';
	if (strchr(tmp, ',') != NULL)
		return 0; /* several ranges: the whole file instead */
	p = tmp;
	if (*p == '-') {
		b = strtoull(p + 1, &end, 10);
		if (end == p + 1 || *end != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return 1;
	}
	a = strtoull(p, &end, 10);
	if (end == p || *end != '-')
		return 0;
	p = end + 1;
	if (*p == '\0') {
		b = size > 0 ? size - 1 : 0;
	} else {
		b = strtoull(p, &end, 10);
		if (*end != '\0' || b < a)
			return 0;
	}
	if (a >= size)
		return -1;
	*from = a;
	*to = b >= size ? size - 1 : b;
	return 1;
}

/*
 * A file being sent (http_reply_source): malloc'd, it outlives the
 * request. A blocking store's reader (dav set) is read a chunk ahead on
 * the thread pool (dav_chunk_start): the source answers HTTP_SOURCE_WAIT
 * until the chunk is in, then wakes the connection. The disk's is read
 * with pread(2) on the loop: a local file, a 64 KiB read at a time.
 */
struct file_src {
	int fd;           /* dav_reply_file's, or -1 */
	struct davrd *rd; /* else the tree's reader */
	uint64_t off;     /* of the next byte to read */
	uint64_t left;    /* bytes still to read (a blocking store's) */
	struct dav *dav;  /* a blocking store's: the chunks' pool jobs */
	struct dav_chunk job;
	char *chunk;     /* the chunk read, DAV_WRITE_CHUNK bytes */
	size_t len, pos; /* its bytes, those already sent */
	ssize_t got;     /* the job's read, -1 with err */
	int err;
	bool busy;    /* job on the pool or waiting its turn */
	bool dropped; /* the answer is over: free when the job is back */
	bool failed, eof;
	struct http_source *wake; /* the connection to wake */
};

static void
file_src_free(struct file_src *src)
{
	if (src->fd != -1)
		close(src->fd);
	davstore_read_close(src->rd);
	free(src->chunk);
	free(src);
}

/* On the thread pool: read the next chunk. */
static void
file_read_run(struct dav_chunk *j)
{
	struct file_src *src = j->arg;

	src->got = davstore_read(src->rd, src->off, src->chunk,
	    src->left < DAV_WRITE_CHUNK ? (size_t)src->left : DAV_WRITE_CHUNK);
	src->err = errno;
}

static void
file_read_done(struct dav_chunk *j)
{
	struct file_src *src = j->arg;

	src->busy = false;
	if (src->dropped) {
		file_src_free(src);
		return;
	}
	if (src->got < 0) {
		errno = src->err;
		log_warn("webdav: cannot read a file");
		src->failed = true;
	} else if (src->got == 0) {
		src->eof = true; /* shrank under us: the connection closes */
	} else {
		src->len = (size_t)src->got;
		src->pos = 0;
		src->off += (uint64_t)src->got;
		src->left -= (uint64_t)src->got;
	}
	http_source_wake(src->wake);
}

static void
file_read_start(struct file_src *src)
{
	src->busy = true;
	src->job.arg = src;
	src->job.run = file_read_run;
	src->job.done = file_read_done;
	dav_chunk_start(src->dav, &src->job);
}

/* http_source_fn of a blocking store's file: what the pool has read. */
static ssize_t
file_fill_pool(
    struct file_src *src, struct http_source *hs, char *buf, size_t cap)
{
	size_t n;

	src->wake = hs;
	if (src->pos < src->len) {
		n = src->len - src->pos;
		if (n > cap)
			n = cap;
		memcpy(buf, src->chunk + src->pos, n);
		src->pos += n;
		/* The next chunk is read while this one goes out. */
		if (src->pos == src->len && !src->busy && src->left > 0)
			file_read_start(src);
		return (ssize_t)n;
	}
	if (src->failed)
		return -1;
	if (src->eof || src->left == 0)
		return 0;
	if (!src->busy)
		file_read_start(src);
	return HTTP_SOURCE_WAIT;
}

static ssize_t
file_fill(void *ctx, struct http_source *hs, char *buf, size_t cap)
{
	struct file_src *src = ctx;
	ssize_t n;

	if (src->dav != NULL)
		return file_fill_pool(src, hs, buf, cap);
	if (src->rd != NULL)
		n = davstore_read(src->rd, src->off, buf, cap);
	else
		do
			n = pread(src->fd, buf, cap, (off_t)src->off);
		while (n == -1 && errno == EINTR);
	if (n == -1)
		log_warn("webdav: cannot read a file");
	if (n > 0)
		src->off += (uint64_t)n;
	return n; /* 0: the file shrank under us; the connection closes */
}

static void
file_done(void *ctx)
{
	struct file_src *src = ctx;

	if (src->busy)
		src->dropped = true; /* freed when the job is back */
	else
		file_src_free(src);
}

/*
 * Answer req with len bytes from off of fd or rd (one of them; taken),
 * read on the pool through dav's jobs when dav is not NULL.
 */
static void
reply_source(struct http_request *req, int status, const char *ctype,
    const char *headers, int fd, struct davrd *rd, struct dav *dav,
    uint64_t off, uint64_t len)
{
	struct file_src *src = xcalloc(1, sizeof(*src));

	src->fd = fd;
	src->rd = rd;
	src->off = off;
	src->left = len;
	src->dav = dav;
	if (dav != NULL)
		src->chunk = xmalloc(DAV_WRITE_CHUNK);
	http_reply_source(
	    req, status, ctype, headers, len, file_fill, file_done, src);
}

void
dav_reply_file(struct http_request *req, int status, const char *ctype,
    const char *headers, int fd, uint64_t off, uint64_t len)
{
	reply_source(req, status, ctype, headers, fd, NULL, NULL, off, len);
}

void
dav_reply_reader(struct http_request *req, struct dav *dav, int status,
    const char *ctype, const char *headers, struct davrd *rd, uint64_t off,
    uint64_t len)
{
	reply_source(req, status, ctype, headers, -1, rd,
	    dav->files != NULL && dav->files->blocking ? dav : NULL, off, len);
}

/* A dav_offload's work: a chunk job that runs its caller's. */
struct dav_task {
	struct dav_chunk job;
	void (*run)(void *arg);
	void (*done)(void *arg, bool ok);
	void *arg;
};

static void
task_run(struct dav_chunk *j)
{
	struct dav_task *t = j->arg;

	t->run(t->arg);
}

static void
task_done(struct dav_chunk *j)
{
	struct dav_task *t = j->arg;

	t->done(t->arg, !j->dav->closing);
	free(t);
}

void
dav_offload(struct dav *dav, void (*run)(void *arg),
    void (*done)(void *arg, bool ok), void *arg)
{
	struct dav_task *t;

	if (dav->files == NULL || !dav->files->blocking) {
		run(arg);
		done(arg, true);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->run = run;
	t->done = done;
	t->arg = arg;
	t->job.arg = t;
	t->job.run = task_run;
	t->job.done = task_done;
	dav_chunk_start(dav, &t->job);
}

/* The file opened (r->rd): answer with it, a range of it or 416. */
static void
get_send(struct dav_req *r)
{
	const struct str *range = http_header_get(r->req, "range", NULL);
	const struct str *ifr = http_header_get(r->req, "if-range", NULL);
	struct buf hdr = BUF_INIT, tag = BUF_INIT;
	uint64_t size, from = 0, to = 0, len;
	const char *ctype;
	char date[64];
	int status, rr = 0;
	struct davrd *rd = r->rd;

	size = (uint64_t)r->st.st_size;
	davfs_etag(&r->st, &tag);
	status = 200;
	if (range != NULL && (ifr == NULL || str_eqs(*ifr, tag.data)))
		rr = dav_range_parse(*range, size, &from, &to);
	if (rr == -1) {
		buf_addf(&hdr, "Content-Range: bytes */%" PRIu64 "\r\n", size);
		dav_reply(r, 416, NULL, hdr.data,
		    "{\"code\":416,\"message\":"
		    "\"range not satisfiable\"}",
		    47);
		goto out;
	}
	if (rr == 1)
		status = 206;
	else if (size > 0)
		to = size - 1;
	len = size == 0 ? 0 : to - from + 1;
	http_date(r->st.st_mtim.tv_sec, date, sizeof(date));
	buf_addf(&hdr,
	    "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n",
	    tag.data, date);
	if (status == 206)
		buf_addf(&hdr,
		    "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
		    "\r\n",
		    from, to, size);
	/* The file goes out as the client reads it (http_reply_source). */
	ctype = content_type_of(r->name);
	r->rd = NULL; /* the answer's now */
	dav_release(r);
	/* A blocking store's chunks are read on the pool. */
	reply_source(r->req, status, ctype, hdr.data, -1, rd,
	    r->dav->files->blocking ? r->dav : NULL, from, len);
out:
	buf_release(&hdr);
	buf_release(&tag);
}

/* Open r's file (on the thread pool for a blocking store). */
static void
get_open(struct dav_req *r)
{
	r->rd = davstore_read_open(r->parent, r->name, &r->st);
	r->work_errno = errno;
}

/* Answer what get_open opened. */
static void
get_opened(struct dav_req *r)
{
	if (r->rd == NULL) {
		dav_fail_errno(r, r->work_errno, "open a file");
		return;
	}
	get_send(r);
}

static void
dav_get(struct dav_req *r)
{
	struct buf hdr = BUF_INIT, tag = BUF_INIT;
	int status;

	if (dav_find(r) == -1)
		return;
	if (S_ISDIR(r->st.st_mode)) {
		static const char msg[] =
		    "This is a WebDAV folder: open it with a WebDAV client.\n";

		dav_reply(r, 200, "text/plain; charset=utf-8", NULL, msg,
		    sizeof(msg) - 1);
		return;
	}
	if ((status = dav_preconditions(r)) != 0) {
		if (status == 304) {
			davfs_etag(&r->st, &tag);
			buf_addf(&hdr, "ETag: %s\r\n", tag.data);
			dav_reply(r, 304, NULL, hdr.data, "", 0);
		} else {
			dav_fail(r, status, "precondition failed");
		}
		buf_release(&hdr);
		buf_release(&tag);
		return;
	}
	dav_step(r, get_open, get_opened);
}

/*
 * Usage figures
 */

/*
 * On the thread pool: when dir/name (written whole) is the name the
 * dav_on_file listener wants, open it for the listener (r->file_fd; a
 * backend not on disk copies it into a temporary file).
 */
/* Whether the nseg segments seg name a file of the account's Books/. */
static bool
in_books(const struct dav *dav, const struct str *seg, size_t nseg)
{
	return dav->book_fn != NULL && nseg == 2 &&
	       str_eq(seg[0], STR_LIT(LIBRARY_DAV_FOLDER));
}

static void
file_prepare(struct dav_req *r, struct davdir *dir, const char *name, bool book)
{
	const struct dav *dav = r->dav;
	const char *const *n = NULL;
	struct davrd *rd;
	struct stat st;

	if (name == NULL)
		return;
	if (!book && dav->file_fn != NULL) {
		for (n = dav->file_names; *n != NULL && strcmp(name, *n) != 0;
		     n++)
			;
	}
	if (!book && (n == NULL || *n == NULL))
		return;
	rd = davstore_read_open(dir, name, &st);
	if (rd == NULL)
		return;
	r->file_fd = davstore_read_fd(rd);
	r->file_size = (uint64_t)st.st_size;
	r->file_name = book ? name : *n;
	r->file_book = book;
	davstore_read_close(rd);
}

static void
usage_drop(struct dav_usage *u)
{
	if (u->user != NULL) {
		free(u->user);
		davstore_dir_close(u->root);
	}
	u->user = NULL;
	u->root = NULL;
	u->known = false;
	u->gen++;
}

/*
 * The figure of r's account, for its tree as r->root is now: NULL when
 * it has none (and take is false) or none can be had. With take, a slot
 * is made (the least recently used one reused), its figure not yet known.
 */
static struct dav_usage *
usage_find(struct dav_req *r, bool take)
{
	struct dav *dav = r->dav;
	struct str user = r->cred.user;
	struct dav_usage *u, *lru = NULL;
	size_t i;

	if (r->root == NULL || !dav->files->cache_usage)
		return NULL;
	for (i = 0; i < DAV_USAGE_FDS; i++) {
		u = &dav->usage[i];
		if (u->user == NULL || strlen(u->user) != user.len ||
		    memcmp(u->user, user.p, user.len) != 0)
			continue;
		if (davstore_same_tree(u->root, r->root)) {
			u->used = ++dav->tick;
			return u;
		}
		usage_drop(u); /* another tree now has the name */
		break;
	}
	if (!take)
		return NULL;
	for (i = 0; i < DAV_USAGE_FDS; i++) {
		u = &dav->usage[i];
		if (lru == NULL || u->user == NULL ||
		    (lru->user != NULL && u->used < lru->used))
			lru = u;
		if (u->user == NULL)
			break;
	}
	usage_drop(lru);
	lru->root = davstore_dir_open(r->root, NULL, 0);
	if (lru->root == NULL)
		return NULL;
	lru->user = xmemdup0(user.p, user.len);
	lru->used = ++dav->tick;
	return lru;
}

/* r changed its account's tree by bytes and entries. */
static void
usage_add(struct dav_req *r, int64_t bytes, int64_t entries)
{
	struct dav_usage *u = usage_find(r, false);

	if (u == NULL)
		return;
	u->gen++;
	if (!u->known)
		return;
	if ((bytes < 0 && (uint64_t)-bytes > u->bytes) ||
	    (entries < 0 && (uint64_t)-entries > u->entries)) {
		u->known = false; /* changed by hand meanwhile: count again */
		return;
	}
	u->bytes += (uint64_t)bytes;
	u->entries += (uint64_t)entries;
}

/* r changed its account's tree by what it cannot say: count again. */
static void
usage_forget(struct dav_req *r)
{
	struct dav_usage *u = usage_find(r, false);

	if (u != NULL) {
		u->known = false;
		u->gen++;
	}
}

/* On the thread pool: count r's account's tree. */
static void
usage_work(uv_work_t *w)
{
	struct dav_req *r = w->data;

	r->work_rc =
	    davstore_usage(r->root, DAV_MAX_ENTRIES, &r->usage, &r->entries);
	r->work_errno = errno;
}

static void
usage_done(uv_work_t *w, int status)
{
	struct dav_req *r = w->data;
	struct dav_usage *u;

	(void)status;
	if (!dav_work_back(r))
		return;
	if (r->work_rc == -1 && r->work_errno != E2BIG) {
		dav_fail_errno(r, r->work_errno, "measure an account's files");
		return;
	}
	u = usage_find(r, false);
	/* Kept unless a change came meanwhile (or the count stopped short). */
	if (u != NULL && r->work_rc == 0 && u->gen == r->walk_gen) {
		u->bytes = r->usage;
		u->entries = r->entries;
		u->known = true;
	}
	r->next(r);
}

/*
 * Put the usage of r's account into r->usage and r->entries, then run
 * next(r): at once from the figure, or after counting the tree on the
 * thread pool (the walk of up to DAV_MAX_ENTRIES entries never runs on
 * the loop).
 */
static void
usage_need(struct dav_req *r, void (*next)(struct dav_req *r))
{
	struct dav_usage *u = usage_find(r, true);

	r->next = next;
	if (u != NULL && u->known) {
		r->usage = u->bytes;
		r->entries = u->entries;
		next(r);
		return;
	}
	r->walk_gen = u != NULL ? u->gen : 0;
	dav_work(r, usage_work, usage_done);
}

/*
 * PUT
 */

static uint64_t
dav_quota(const struct dav *dav)
{
	return dav->cfg->dav_quota_bytes;
}

/* Whether the earlier versions of a file of that name are kept. */
static bool
dav_versioned(const char *name)
{
	return strcmp(name, "statistics.sqlite3") == 0 ||
	       strcmp(name, "vocabulary_builder.sqlite3") == 0;
}

/*
 * The bytes replacing r's existing target frees: the old file, or, when
 * it becomes a version, the versions that then go.
 */
static uint64_t
put_freed(const struct dav_req *r)
{
	unsigned keep = r->dav->cfg->dav_versions;
	uint64_t dropped;

	if (!dav_versioned(r->name) || !r->dav->files->versions)
		return (uint64_t)r->st.st_size;
	dropped = davstore_version_dropped(r->parent, r->name, keep);
	return keep == 0 ? (uint64_t)r->st.st_size + dropped : dropped;
}

/*
 * Bytes the account's other uploads in progress have received (their
 * temporary objects are not counted by davstore_usage).
 */
static uint64_t
put_others(const struct dav_req *r)
{
	const struct dav_req *o;
	uint64_t n = 0;

	for (o = r->dav->uploads; o != NULL; o = o->up_next)
		if (o != r && str_eq(o->cred.user, r->cred.user))
			n += o->total;
	return n;
}

/* The status that stops an upload whose write failed with err. */
static int
put_write_status(int err)
{
	return err == ENOSPC || err == EDQUOT ? 507 : 500;
}

static void put_end(void *ctx, int status);

/* On the thread pool: write the chunk gathered (a blocking store's). */
static void
put_write_run(struct dav_chunk *j)
{
	struct dav_req *r = j->arg;

	r->jerr = davstore_up_write(r->up, r->jb.data, r->jb.len) == -1
	              ? (errno != 0 ? errno : EIO)
	              : 0;
}

/*
 * The chunk is written: read the body on (or stop it: the write failed,
 * the server is closing), or end the upload when its body ended
 * meanwhile.
 */
static void
put_write_done(struct dav_chunk *j)
{
	struct dav_req *r = j->arg;
	int status = 0;

	r->writing = false;
	buf_reset(&r->jb);
	if (r->jerr != 0) {
		r->werr = r->jerr;
		status = put_write_status(r->jerr);
	} else if (r->dav->closing) {
		status = 503;
	}
	if (r->end_pending) {
		r->end_pending = false;
		put_end(r, r->end_status != 0 ? r->end_status : status);
		return;
	}
	http_body_resume(r->req, status);
}

/*
 * http_body_fn: one piece of the upload, gathered until DAV_WRITE_CHUNK
 * bytes are: then written here (the disk), or on the thread pool with
 * the body paused until it is (a blocking store: the loop never waits on
 * Redis). At most DAV_WRITE_CHUNK bytes and one piece are held.
 */
static int
put_piece(void *ctx, const char *data, size_t len)
{
	struct dav_req *r = ctx;
	struct buf tmp;

	r->total += len;
	if (r->total > r->dav->cfg->dav_max_file_bytes)
		return 413;
	if (r->usage + put_others(r) + r->total >
	    dav_quota(r->dav) + r->old_size)
		return 507;
	buf_add(&r->wb, data, len);
	if (r->wb.len < DAV_WRITE_CHUNK)
		return 0;
	if (!r->dav->files->blocking) {
		if (davstore_up_write(r->up, r->wb.data, r->wb.len) == -1) {
			r->werr = errno;
			return put_write_status(r->werr);
		}
		buf_reset(&r->wb);
		return 0;
	}
	tmp = r->jb;
	r->jb = r->wb;
	r->wb = tmp;
	r->writing = true;
	r->wjob.arg = r;
	r->wjob.run = put_write_run;
	r->wjob.done = put_write_done;
	dav_chunk_start(r->dav, &r->wjob);
	return HTTP_BODY_PAUSE;
}

/*
 * May the upload replace r's target as it is now? Not a folder (answered
 * with dir_status) and If-Match/If-None-Match hold (412). Returns 0, or -1
 * after answering.
 */
static int
put_check(struct dav_req *r, int dir_status)
{
	int pre;

	if (r->exists && S_ISDIR(r->st.st_mode)) {
		dav_fail(r, dir_status, "a folder of that name exists");
		return -1;
	}
	if ((pre = dav_preconditions(r)) != 0) {
		dav_fail(r, pre, "precondition failed: the file has changed");
		return -1;
	}
	return 0;
}

/*
 * On the thread pool: make the upload durable, or (sync_dir) its folder
 * (whose temporary objects left by a crash then go too).
 */
static void
put_fsync_work(uv_work_t *w)
{
	struct dav_req *r = w->data;

	/* The upload's last bytes first (never on the loop for Redis). */
	if (!r->sync_dir && r->wb.len > 0 &&
	    davstore_up_write(r->up, r->wb.data, r->wb.len) == -1) {
		r->work_rc = -1;
		r->work_errno = errno;
		r->werr = errno;
		return;
	}
	r->work_rc = r->sync_dir ? davstore_dir_sync(r->parent)
	                         : davstore_up_sync(r->up);
	r->work_errno = errno;
	if (r->sync_dir && r->work_rc == 0)
		file_prepare(
		    r, r->parent, r->name, in_books(r->dav, r->seg, r->nseg));
}

/*
 * Queue fn (then after) on the thread pool for r, counted in pending; run
 * both here when the pool refuses.
 */
static void
dav_work(struct dav_req *r, uv_work_cb fn, uv_after_work_cb after)
{
	r->work.data = r;
	r->dav->pending++;
	if (uv_queue_work(r->dav->loop, &r->work, fn, after) != 0) {
		fn(&r->work);
		after(&r->work, 0);
	}
}

/*
 * The start of every after-work callback: false when the server has
 * gone meanwhile (r is then answered and released, dav freed if last).
 */
static bool
dav_work_back(struct dav_req *r)
{
	struct dav *dav = r->dav;

	dav->pending--;
	if (!dav->closing)
		return true;
	dav_fail(r, 503, "the server is shutting down");
	if (dav->pending == 0)
		dav_destroy(dav);
	return false;
}

static void
step_work(uv_work_t *w)
{
	struct dav_req *r = w->data;

	r->step(r);
}

static void
step_done(uv_work_t *w, int status)
{
	struct dav_req *r = w->data;

	(void)status;
	if (!dav_work_back(r))
		return;
	r->answer(r);
}

/*
 * Run step, the storage's part of a request (it answers nothing), then
 * answer: on the thread pool for a blocking store (davstore.h), so that
 * the loop never waits on it; here for the disk's single small steps.
 */
static void
dav_step(struct dav_req *r, void (*step)(struct dav_req *r),
    void (*answer)(struct dav_req *r))
{
	if (!r->dav->files->blocking) {
		step(r);
		answer(r);
		return;
	}
	r->step = step;
	r->answer = answer;
	dav_work(r, step_work, step_done);
}

/*
 * Tell the dav_on_file or dav_on_book listener of the file file_prepare
 * opened, if any (the descriptor is the listener's), and the dav_on_book
 * listener of a MOVE's source that left Books/ (r->file_gone).
 */
static void
file_written(struct dav_req *r)
{
	const struct dav *dav = r->dav;
	const struct str *ua;
	int fd = r->file_fd;

	r->file_fd = -1;
	if (r->file_book || r->file_gone != NULL)
		dav->book_fn(dav->book_arg, r->cred.user.p, r->cred.user.len,
		    r->file_book ? r->file_name : NULL, r->file_book ? fd : -1,
		    r->file_gone);
	if (!r->file_book && fd != -1) {
		ua = http_header_get(r->req, "user-agent", NULL);
		dav->file_fn(dav->file_arg, r->cred.user.p, r->cred.user.len,
		    r->file_name, fd, r->file_size, ua ? ua->p : NULL,
		    ua ? ua->len : 0);
	}
}

static void
put_done(uv_work_t *w, int status)
{
	struct dav_req *r = w->data;
	struct buf hdr = BUF_INIT, tag = BUF_INIT;
	bool created = !r->exists;

	(void)status;
	if (!dav_work_back(r))
		return;
	if (r->work_rc == -1) {
		dav_fail_errno(r, r->work_errno, "fsync a folder");
		return;
	}
	davfs_etag(&r->st, &tag);
	buf_addf(&hdr, "ETag: %s\r\n", tag.data);
	file_written(r);
	if (created) {
		dav_reply(r, 201, NULL, hdr.data, DAV_CREATED,
		    sizeof(DAV_CREATED) - 1);
	} else {
		dav_reply(r, 204, NULL, hdr.data, "", 0);
	}
	buf_release(&hdr);
	buf_release(&tag);
}

/*
 * Check the target again (another upload may have replaced it meanwhile),
 * keep the file replaced as a version and put the upload in place (on
 * the thread pool for a blocking store): r->commit_status is the refusal
 * (409 a folder, 412 a precondition) or 0, then r->work_rc the commit's.
 */
static void
commit_step(struct dav_req *r)
{
	int pre;

	r->exists = davstore_stat(r->parent, r->name, &r->st) == 0;
	r->commit_status = 0;
	if (r->exists && S_ISDIR(r->st.st_mode)) {
		r->commit_status = 409;
		return;
	}
	if ((pre = dav_preconditions(r)) != 0) {
		r->commit_status = pre;
		return;
	}
	/*
	 * What was checked must still hold at the commit: on Redis the
	 * commit script compares the entry checked (davstore_up_guard).
	 */
	r->guarded = http_header_get(r->req, "if-match", NULL) != NULL ||
	             http_header_get(r->req, "if-none-match", NULL) != NULL;
	if (r->guarded)
		davstore_up_guard(r->up);
	if (fault_check(FAULT_DAV_COMMIT) != 0)
		(void)nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
	r->old_len = r->exists ? (int64_t)r->st.st_size : 0;
	r->kept = false;
	r->freed = r->freed_n = 0;
	r->keep_errno = 0;
	/* The file replaced stays as a version (a link: no copy). */
	if (r->exists && dav_versioned(r->name) &&
	    davstore_version_keep(r->parent, r->name, r->dav->cfg->dav_versions,
	        &r->kept, &r->freed, &r->freed_n) != 0)
		r->keep_errno = errno != 0 ? errno : EIO;
	r->work_rc = davstore_up_commit(r->up, r->name, &r->st);
	r->work_errno = errno;
	r->up = NULL;
}

/* Answer what commit_step did, or sync the folder. */
static void
commit_answer(struct dav_req *r)
{
	int64_t old = r->old_len;

	if (r->commit_status == 409) {
		dav_fail(r, 409, "a folder of that name exists");
		return;
	}
	if (r->commit_status != 0) {
		dav_fail(r, r->commit_status,
		    "precondition failed: the file has changed");
		return;
	}
	if (r->keep_errno != 0) {
		errno = r->keep_errno;
		log_warn("webdav: cannot keep the version of an upload");
	}
	if (r->work_rc == -1 && r->guarded && r->work_errno == ESTALE) {
		dav_fail(r, 412, "precondition failed: the file has changed");
		return;
	}
	if (r->work_rc == -1) {
		dav_fail_errno(r, r->work_errno, "put an upload in place");
		usage_forget(r);
		return;
	}
	/* The figure: the new file for the old, a version made, some gone. */
	usage_add(r,
	    (int64_t)r->st.st_size - old + (r->kept ? old : 0) -
	        (int64_t)r->freed,
	    (r->exists ? 0 : 1) + (r->kept ? 1 : 0) - (int64_t)r->freed_n);
	r->sync_dir = true;
	dav_work(r, put_fsync_work, put_done);
}

/* The upload is durable: commit it (commit_step), then sync its folder. */
static void
put_synced(uv_work_t *w, int status)
{
	struct dav_req *r = w->data;

	(void)status;
	if (!dav_work_back(r))
		return;
	if (r->work_rc == -1) {
		dav_fail_errno(r, r->work_errno,
		    r->werr != 0 ? "write an upload" : "fsync an upload");
		return;
	}
	dav_step(r, commit_step, commit_answer);
}

/* http_body_end_fn: the upload ended (status 0: whole). */
static void
put_end(void *ctx, int status)
{
	struct dav_req *r = ctx;
	char msg[160];

	if (r->writing) {
		/* A chunk is being written on the pool: end after it. */
		r->end_pending = true;
		r->end_status = status;
		return;
	}
	switch (status) {
	case 0:
		break;
	case 413:
		snprintf(msg, sizeof(msg),
		    "the file is larger than the server allows (%" PRIu64
		    " bytes, option dav_max_file_bytes)",
		    r->dav->cfg->dav_max_file_bytes);
		dav_fail(r, 413, msg);
		return;
	case 507:
		if (r->werr != 0) {
			dav_fail_errno(r, r->werr, "write an upload");
			return;
		}
		snprintf(msg, sizeof(msg),
		    "the upload would pass the account's storage quota "
		    "(%" PRIu64 " bytes, option dav_quota_bytes)",
		    dav_quota(r->dav));
		dav_fail(r, 507, msg);
		return;
	case 500:
		dav_fail_errno(r, r->werr, "write an upload");
		return;
	case 408:
		dav_fail(r, 408, "the upload stalled");
		return;
	case 503:
		dav_fail(r, 503, "the server is shutting down");
		return;
	default:
		dav_fail(r, status == 431 ? 431 : 400,
		    "the upload's body was malformed or incomplete");
		return;
	}
	r->sync_dir = false;
	dav_work(r, put_fsync_work, put_synced);
}

static void put_begin(struct dav_req *r);

/* What the upload's replacing the file frees (dav_step). */
static void
put_freed_step(struct dav_req *r)
{
	r->old_size = put_freed(r);
}

static void
put_freed_answer(struct dav_req *r)
{
	usage_need(r, put_begin);
}

static void
dav_put(struct dav_req *r)
{
	uint64_t announced;

	if (r->nseg == 0 || r->dp.slash) {
		dav_fail(r, 405, "PUT needs a file name, not a folder");
		return;
	}
	if (dav_resolve(r, 409) == -1)
		return;
	if (put_check(r, 405) == -1)
		return;
	announced = r->req->body_stream ? r->req->body_length
	                                : (uint64_t)r->req->body.len;
	if (announced != UINT64_MAX &&
	    announced > r->dav->cfg->dav_max_file_bytes) {
		put_end(r, 413);
		return;
	}
	/* What replacing a statistics file frees (its versions). */
	if (r->exists && dav_versioned(r->name)) {
		dav_step(r, put_freed_step, put_freed_answer);
		return;
	}
	r->old_size = r->exists ? put_freed(r) : 0;
	usage_need(r, put_begin);
}

/* The account's usage is known: check it, then take the body. */
static void
put_begin(struct dav_req *r)
{
	uint64_t announced;
	char msg[160];

	announced = r->req->body_stream ? r->req->body_length
	                                : (uint64_t)r->req->body.len;
	if (!r->exists && r->entries >= DAV_MAX_ENTRIES) {
		snprintf(msg, sizeof(msg),
		    "the account holds the most files and folders allowed (%d)",
		    DAV_MAX_ENTRIES);
		dav_fail(r, 507, msg);
		return;
	}
	if (announced != UINT64_MAX && r->usage + put_others(r) + announced >
	                                   dav_quota(r->dav) + r->old_size) {
		put_end(r, 507);
		return;
	}
	r->up = davstore_up_open(r->parent);
	if (r->up == NULL) {
		dav_fail_errno(r, errno, "create an upload's file");
		return;
	}
	r->uploading = true;
	r->up_prev = NULL;
	r->up_next = r->dav->uploads;
	if (r->up_next != NULL)
		r->up_next->up_prev = r;
	r->dav->uploads = r;
	if (!r->req->body_stream) {
		int st = r->req->body.len > 0
		             ? put_piece(r, r->req->body.p, r->req->body.len)
		             : 0;

		/* Paused: the chunk is on the pool, put_end waits for it. */
		put_end(r, st == HTTP_BODY_PAUSE ? 0 : st);
		return;
	}
	http_body_read(r->req, put_piece, put_end, r);
}

/*
 * DELETE, MKCOL, COPY, MOVE
 */

/* On the thread pool: the removal. */
static void
delete_work(uv_work_t *w)
{
	struct dav_req *r = w->data;

	r->work_rc = davstore_remove(r->parent, r->name);
	r->work_errno = errno;
}

static void
delete_done(uv_work_t *w, int status)
{
	struct dav_req *r = w->data;

	(void)status;
	if (!dav_work_back(r))
		return;
	usage_forget(r);
	if (r->work_rc == -1) {
		dav_fail_errno(r, r->work_errno, "delete");
		return;
	}
	/* A book of Books/ removed: the listener is told (fd -1). */
	if (in_books(r->dav, r->seg, r->nseg))
		r->dav->book_fn(r->dav->book_arg, r->cred.user.p,
		    r->cred.user.len, r->name, -1, NULL);
	dav_reply(r, 204, NULL, NULL, "", 0);
}

static void
dav_delete(struct dav_req *r)
{
	int pre;

	if (r->nseg == 0) {
		dav_fail(r, 403, "the account's root folder cannot be deleted");
		return;
	}
	if (dav_find(r) == -1)
		return;
	if ((pre = dav_preconditions(r)) != 0) {
		dav_fail(r, pre, "precondition failed");
		return;
	}
	/* A folder may hold DAV_MAX_ENTRIES entries: off the loop. */
	dav_work(r, delete_work, delete_done);
}

static void mkcol_begin(struct dav_req *r);

static void
dav_mkcol(struct dav_req *r)
{

	if (r->req->body.len > 0 || r->req->body_stream) {
		dav_fail(r, 415, "MKCOL takes no body");
		return;
	}
	if (r->nseg == 0) {
		dav_fail(r, 405, "the folder exists");
		return;
	}
	if (dav_resolve(r, 409) == -1)
		return;
	if (r->exists) {
		dav_fail(r, 405, "the name exists");
		return;
	}
	if (r->nseg >= DAVPATH_MAX_DEPTH - r->dav->mount_segs) {
		dav_fail(r, 403, "folders nest too deeply");
		return;
	}
	usage_need(r, mkcol_begin);
}

/* Make the folder (on the thread pool for a blocking store). */
static void
mkcol_step(struct dav_req *r)
{
	r->work_rc = davstore_mkcol(r->parent, r->name);
	r->work_errno = errno;
}

/* Answer what mkcol_step did. */
static void
mkcol_answer(struct dav_req *r)
{
	if (r->work_rc == -1) {
		dav_fail_errno(r, r->work_errno, "create a folder");
		return;
	}
	usage_add(r, 0, 1);
	dav_reply(r, 201, NULL, NULL, DAV_CREATED, sizeof(DAV_CREATED) - 1);
}

/* The account's usage is known: make the folder if it has room. */
static void
mkcol_begin(struct dav_req *r)
{
	if (r->entries >= DAV_MAX_ENTRIES) {
		dav_fail(r, 507,
		    "the account holds the most files and "
		    "folders allowed");
		return;
	}
	dav_step(r, mkcol_step, mkcol_answer);
}

/*
 * The Destination of a COPY or MOVE, below the mount, into dst (its
 * segments in buf, which holds the header's length). Returns 0, or -1
 * after answering.
 */
static int
dav_destination(struct dav_req *r, struct davpath *dst, char *buf, size_t *skip)
{
	const struct str *h = http_header_get(r->req, "destination", NULL);
	struct str path;
	const char *why, *p;
	size_t i;

	if (h == NULL) {
		dav_fail(r, 400, "COPY and MOVE need a Destination header");
		return -1;
	}
	path = *h;
	/* An absolute URL: its path (the host is not checked). */
	if ((p = memchr(path.p, ':', path.len)) != NULL &&
	    p + 2 < path.p + path.len && p[1] == '/' && p[2] == '/') {
		p += 3;
		while (p < path.p + path.len && *p != '/')
			p++;
		path.len -= (size_t)(p - path.p);
		path.p = p;
	}
	if ((p = memchr(path.p, '?', path.len)) != NULL)
		path.len = (size_t)(p - path.p);
	if (path.len == 0 || davpath_parse(path, buf, dst, &why) == -1) {
		dav_fail(r, 400, path.len == 0 ? "empty Destination" : why);
		return -1;
	}
	if (dst->nseg < r->dav->mount_segs) {
		dav_fail(r, 502, "the Destination is not in this WebDAV space");
		return -1;
	}
	for (i = 0; i < r->dav->mount_segs; i++) {
		if (!str_eq(dst->seg[i], r->dp.seg[i])) {
			dav_fail(r, 502,
			    "the Destination is not in this WebDAV space");
			return -1;
		}
	}
	*skip = r->dav->mount_segs;
	return 0;
}

/* The COPY or MOVE was made (or failed: r->work_rc, r->work_errno). */
static void
copied(struct dav_req *r)
{

	if (r->work_rc == -2) {
		dav_fail(
		    r, 507, "the copy would pass the account's storage quota");
		return;
	}
	if (r->work_rc == -1) {
		dav_fail_errno(r, r->work_errno,
		    r->req->method == HTTP_M_MOVE ? "move" : "copy");
		return;
	}
	/* A file of Books/ moved away (or renamed): its copy goes. */
	if (r->req->method == HTTP_M_MOVE &&
	    in_books(r->dav, r->seg, r->nseg) && !S_ISDIR(r->st.st_mode))
		r->file_gone = r->name;
	file_written(r);
	if (r->replaced)
		dav_reply(r, 204, NULL, NULL, "", 0);
	else
		dav_reply(
		    r, 201, NULL, NULL, DAV_CREATED, sizeof(DAV_CREATED) - 1);
}

/*
 * Whether copying r's source passes the account's quota (the walks of
 * the tree and of a folder copied).
 */
static bool
copy_too_big(struct dav_req *r)
{
	uint64_t bytes = 0, entries = 0, sbytes = 0, sentries = 0;
	struct davdir *sd;

	(void)davstore_usage(r->root, DAV_MAX_ENTRIES, &bytes, &entries);
	if (S_ISDIR(r->st.st_mode)) {
		sd = davstore_dir_open(r->parent, &r->seg[r->nseg - 1], 1);
		if (sd != NULL) {
			(void)davstore_usage(
			    sd, DAV_MAX_ENTRIES, &sbytes, &sentries);
			davstore_dir_close(sd);
		}
	} else {
		sbytes = (uint64_t)r->st.st_size;
	}
	return bytes + sbytes > dav_quota(r->dav) ||
	       entries + sentries + 1 > DAV_MAX_ENTRIES;
}

/*
 * On the thread pool: the quota's walks (COPY), the removal of a
 * Destination replaced, the copy or the move. work_rc -2: over the quota.
 */
static void
copy_work(uv_work_t *w)
{
	struct dav_req *r = w->data;
	bool move = r->req->method == HTTP_M_MOVE;
	struct stat dst_st;

	r->work_errno = 0;
	/* The Destination's folder and whether it is taken. */
	r->ddir = davstore_dir_open(r->root, r->dseg, r->dn - 1);
	if (r->ddir == NULL) {
		r->work_rc = -3;
		return;
	}
	r->dname = r->dseg[r->dn - 1].p;
	r->replaced = davstore_stat(r->ddir, r->dname, &dst_st) == 0;
	if (r->replaced && !r->overwrite) {
		r->work_rc = -4;
		return;
	}
	if (!move && copy_too_big(r)) {
		r->work_rc = -2;
		return;
	}
	if (r->replaced && davstore_remove(r->ddir, r->dname) == -1) {
		r->work_rc = -1;
		r->work_errno = errno;
		return;
	}
	if (move)
		r->work_rc =
		    davstore_move(r->parent, r->name, r->ddir, r->dname);
	else
		r->work_rc = davstore_copy(
		    r->parent, r->name, r->ddir, r->dname, r->recursive);
	r->work_errno = errno;
	if (r->work_rc == 0)
		file_prepare(
		    r, r->ddir, r->dname, in_books(r->dav, r->dseg, r->dn));
}

static void
copy_done(uv_work_t *w, int status)
{
	struct dav_req *r = w->data;

	(void)status;
	if (!dav_work_back(r))
		return;
	if (r->work_rc == -3) {
		dav_fail(r, 409,
		    "a folder on the Destination's way does not "
		    "exist");
		return;
	}
	if (r->work_rc == -4) {
		dav_fail(r, 412, "the Destination exists and Overwrite is F");
		return;
	}
	if (r->work_rc != -2)
		usage_forget(r);
	copied(r);
}

static void
dav_copymove(struct dav_req *r)
{
	bool move = r->req->method == HTTP_M_MOVE, overwrite = true;
	const struct str *ow = http_header_get(r->req, "overwrite", NULL);
	const struct str *depth = http_header_get(r->req, "depth", NULL);
	const struct str *dseg;
	struct davpath *dst;
	char *buf;
	size_t skip, dn, i;
	bool recursive = true;

	/* Both live with the request: the pool's copy_work reads them. */
	buf = http_alloc(r->req, DAVPATH_MAX_BYTES + 8);
	dst = http_alloc(r->req, sizeof(*dst));
	if (ow != NULL) {
		if (str_caseeqs(*ow, "F"))
			overwrite = false;
		else if (!str_caseeqs(*ow, "T")) {
			dav_fail(r, 400, "Overwrite must be T or F");
			return;
		}
	}
	if (depth != NULL) {
		if (str_eqs(*depth, "0") && !move)
			recursive = false;
		else if (!str_caseeqs(*depth, "infinity")) {
			dav_fail(r, 400,
			    move ? "MOVE takes Depth: infinity"
			         : "COPY takes Depth: 0 or infinity");
			return;
		}
	}
	if (http_header_get(r->req, "destination", NULL) != NULL &&
	    http_header_get(r->req, "destination", NULL)->len >
	        DAVPATH_MAX_BYTES) {
		dav_fail(r, 400, "the Destination is too long");
		return;
	}
	if (dav_destination(r, dst, buf, &skip) == -1)
		return;
	dseg = dst->seg + skip;
	dn = dst->nseg - skip;
	if (r->nseg == 0 || dn == 0) {
		dav_fail(r, 403,
		    "the account's root folder cannot be copied, "
		    "moved or replaced");
		return;
	}
	if (dav_find(r) == -1)
		return;
	/* The destination inside the source (or the source itself). */
	if (dn >= r->nseg) {
		for (i = 0; i < r->nseg; i++)
			if (!str_eq(dseg[i], r->seg[i]))
				break;
		if (i == r->nseg) {
			dav_fail(r, 403,
			    "the Destination is the source or lies "
			    "inside it");
			return;
		}
	}
	r->dseg = dseg;
	r->dn = dn;
	r->overwrite = overwrite;
	r->recursive = recursive;
	/*
	 * The Destination's lookup, the quota's walks, a Destination's
	 * removal, a copy of up to dav_max_file_bytes per file: off the loop
	 * (a move too, for the tree it may replace).
	 */
	dav_work(r, copy_work, copy_done);
}

/*
 * Dispatch
 */

static void
dav_options(struct dav_req *r)
{
	dav_reply(r, 200, "text/plain; charset=utf-8",
	    "DAV: 1\r\nMS-Author-Via: DAV\r\n" DAV_ALLOW, "", 0);
}

/* Run the method on the account's tree (its root open). */
static void
dav_dispatch(struct dav_req *r)
{
	switch (r->req->method) {
	case HTTP_M_GET:
	case HTTP_M_HEAD:
		dav_get(r);
		break;
	case HTTP_M_PUT:
		dav_put(r);
		break;
	case HTTP_M_DELETE:
		dav_delete(r);
		break;
	case HTTP_M_MKCOL:
		dav_mkcol(r);
		break;
	case HTTP_M_PROPFIND:
		dav_propfind(r);
		break;
	case HTTP_M_PROPPATCH:
		dav_proppatch(r);
		break;
	case HTTP_M_COPY:
	case HTTP_M_MOVE:
		dav_copymove(r);
		break;
	default:
		dav_reply(r, 405, NULL, DAV_ALLOW,
		    "{\"code\":405,\"message\":\"method not allowed\"}", 43);
		break;
	}
}

/* On the thread pool: open the account's root, look the target up. */
static void
lookup_step(struct dav_req *r)
{
	r->root = davstore_root_open(r->dav->files, r->cred.user);
	r->work_errno = errno;
	if (r->root != NULL)
		dav_lookup(r);
}

static void
lookup_answer(struct dav_req *r)
{
	if (r->root == NULL) {
		dav_fail_errno(
		    r, r->work_errno, "open an account's WebDAV folder");
		return;
	}
	dav_dispatch(r);
}

/*
 * The credentials were checked: run the method on the account's tree.
 * A backend whose calls may wait (Redis) opens the root and looks the
 * target up on the thread pool first, not on the loop.
 */
static void
dav_run(struct dav_req *r)
{
	dav_step(r, lookup_step, lookup_answer);
}

/* basicauth_fn: signed in (the tree is the account's), or refused. */
static void
dav_signed_in(void *arg, const char *user, int status, const char *why)
{
	struct dav_req *r = arg;

	if (user == NULL) {
		dav_fail(r, status, why);
		return;
	}
	r->cred.user = str_from(user);
	dav_run(r);
}

void
dav_handle(struct http_request *req, void *ctx)
{
	struct dav *dav = ctx;
	struct dav_req *r;
	const char *why;

	r = http_alloc(req, sizeof(*r));
	memset(r, 0, sizeof(*r));
	r->dav = dav;
	r->req = req;
	r->file_fd = -1;
	r->file_book = false;
	buf_init(&r->out);
	buf_init(&r->wb);
	buf_init(&r->jb);

	if (req->path.len > DAVPATH_MAX_BYTES) {
		dav_fail(r, 414, "the path is too long");
		return;
	}
	if (davpath_parse(req->path, http_alloc(req, req->path.len + 1), &r->dp,
	        &why) == -1) {
		dav_fail(r, 400, why);
		return;
	}
	/* dav_owns matched the mount as sent: its segments come first. */
	if (r->dp.nseg < dav->mount_segs) {
		dav_fail(r, 404, "not found");
		return;
	}
	r->seg = r->dp.seg + dav->mount_segs;
	r->nseg = r->dp.nseg - dav->mount_segs;
	/* The library's read-only folder: its own handler (davlib.h). */
	if (dav->lib != NULL && r->nseg >= 1 && str_eqs(r->seg[0], "library")) {
		dav->lib(dav->lib_ctx, req, r->seg + 1, r->nseg - 1);
		return;
	}
	if (req->method == HTTP_M_OPTIONS) {
		dav_options(r);
		return;
	}
	if (dav->files == NULL) {
		dav_fail(r, 501,
		    "WebDAV needs file storage (--storage file) or "
		    "Redis (--storage redis); --storage memory keeps no "
		    "files");
		return;
	}

	/* HTTP Basic only, through the failed-login limiter (basicauth.h). */
	basicauth_check(
	    req, dav->st, dav->rl, STORE_DEVICE_WEBDAV, dav_signed_in, r);
}

void
dav_set_library(struct dav *dav, dav_folder_fn *fn, void *ctx)
{
	dav->lib = fn;
	dav->lib_ctx = ctx;
}

void
dav_on_file(
    struct dav *dav, const char *const *names, dav_file_fn *fn, void *arg)
{
	dav->file_names = names;
	dav->file_fn = fn;
	dav->file_arg = arg;
}

void
dav_on_book(struct dav *dav, dav_book_fn *fn, void *arg)
{
	dav->book_fn = fn;
	dav->book_arg = arg;
}

bool
dav_owns(const struct dav *dav, struct str path)
{
	size_t i = 0, j = 0;

	/* Compare segment by segment, repeated '/' merged. */
	while (j < dav->mount_len) {
		if (dav->mount[j] == '/') {
			if (i >= path.len || path.p[i] != '/')
				return false;
			while (i < path.len && path.p[i] == '/')
				i++;
			j++;
			continue;
		}
		if (i >= path.len || path.p[i] != dav->mount[j])
			return false;
		i++;
		j++;
	}
	return i == path.len || path.p[i] == '/';
}

bool
dav_wants_body(void *ctx, const struct http_request *req)
{
	const struct dav *dav = ctx;

	return req->method == HTTP_M_PUT && dav_owns(dav, req->path);
}

/*
 * Life cycle
 */

struct dav *
dav_new(uv_loop_t *loop, struct store *st, const struct config *cfg,
    struct ratelimit *rl)
{
	struct dav *dav = xcalloc(1, sizeof(*dav));
	struct buf m = BUF_INIT;
	const char *b = cfg->base_path != NULL ? cfg->base_path : "";
	size_t i, len;

	dav->loop = loop;
	dav->st = st;
	dav->cfg = cfg;
	dav->rl = rl;
	if (strcmp(cfg->storage, "file") == 0)
		dav->files = davstore_disk_new(cfg->data_dir);
	else if (strcmp(cfg->storage, "redis") == 0)
		dav->files = davredis_new(cfg);
	/* "/<base segments>/dav", repeated '/' merged. */
	for (i = 0; b[i] != '\0'; i++) {
		if (b[i] == '/' && (i == 0 || b[i - 1] == '/'))
			continue;
		if (b[i] == '/' && b[i + 1] == '\0')
			continue;
		if (b[i] != '/' && (i == 0 || b[i - 1] == '/'))
			buf_addch(&m, '/');
		if (b[i] != '/')
			buf_addch(&m, b[i]);
	}
	buf_adds(&m, "/dav");
	dav->mount = buf_detach(&m, &len);
	dav->mount_len = len;
	for (i = 0; i < len; i++)
		if (dav->mount[i] == '/')
			dav->mount_segs++;
	return dav;
}

/* Free dav and what it holds; no request is in flight. */
static void
dav_destroy(struct dav *dav)
{
	size_t i;

	for (i = 0; i < DAV_USAGE_FDS; i++)
		usage_drop(&dav->usage[i]);
	davstore_free(dav->files);
	free(dav->mount);
	free(dav);
}

void
dav_free(struct dav *dav)
{
	if (dav == NULL)
		return;
	if (dav->pending > 0) {
		dav->closing = true;
		return;
	}
	dav_destroy(dav);
}
