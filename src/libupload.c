/*
 * libupload.c: a book uploaded from the web interface (libupload.h).
 *
 * The steps, each answer on the loop:
 *   1. the header checks, the temporary file opened (O_EXCL) in the
 *      account's uploads folder;
 *   2. each piece of the body copied and written with uv_fs_write while
 *      the body is paused (HTTP_BODY_PAUSE): one piece in memory;
 *   3. on the thread pool: fsync, the partial MD5, the format read from
 *      the bytes (bookmeta_read), the account's quota;
 *   4. the index asked for a book the account sees with that partial MD5
 *      (there already: 200, the temporary file removed);
 *   5. on the thread pool: linked under its name (libplace_link) and
 *      indexed alone (library_index_sync); then the book, 201.
 * Every failure removes the temporary file: nothing half-written stays.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "bookmeta.h"
#include "buf.h"
#include "config.h"
#include "davpath.h"
#include "fileio.h"
#include "json.h"
#include "libplace.h"
#include "library.h"
#include "libupload.h"
#include "log.h"
#include "partialmd5.h"
#include "router.h"
#include "xmalloc.h"

struct upload {
	uv_loop_t *loop;
	struct library *lib;
	const struct config *cfg;
	struct http_request *req;
	const char *headers;
	char *user;
	char *name;
	struct buf dir, tmp, why;
	int fd;
	uint64_t got;
	/* The piece being written (step 2). */
	uv_fs_t fs;
	char *chunk;
	size_t cap, len, done; /* its room, its bytes, those written */
	bool writing, ended, write_failed;
	int end_status;
	/* Steps 3 and 5 on the thread pool. */
	uv_work_t work;
	int status; /* of the work: 0 fine, else the answer's */
	char pmd5[MD5_HEX_LEN + 1];
	bool existed; /* step 5 found the same bytes in the folder */
};

bool
libupload_wants_body(struct str base, const struct http_request *req)
{
	char *out;
	struct str route;
	bool yes;

	/* Normalising only shortens a path: most are out at once. */
	if (req->method != HTTP_M_POST ||
	    req->path.len < sizeof(LIBUPLOAD_PATH) - 1 ||
	    req->path.len > sizeof(LIBUPLOAD_PATH) + 4096)
		return false;
	out = xmalloc(req->path.len + 1);
	route = router_normalize(req->path, base, out);
	yes = str_eqs(route, LIBUPLOAD_PATH);
	free(out);
	return yes;
}

static void
up_free(struct upload *u)
{
	if (u->fd != -1)
		(void)close(u->fd);
	if (u->tmp.len > 0)
		(void)unlink(u->tmp.data);
	buf_release(&u->dir);
	buf_release(&u->tmp);
	buf_release(&u->why);
	free(u->chunk);
	free(u->user);
	free(u->name);
	free(u);
}

/* Answer an error and end the upload. */
static void
up_fail(struct upload *u, int status, const char *message)
{
	http_error(u->req, status, u->headers, message);
	up_free(u);
}

/* 201 or 200 with {"status": "added"|"exists", "book": ...}; ends it. */
static void
up_answer(struct upload *u, int status, const struct library_book *b)
{
	struct buf out = BUF_INIT;
	struct json_out j;

	json_out_init(&j, &out, false);
	json_obj_begin(&j);
	json_key(&j, "status");
	json_str(&j, status == 201 ? "added" : "exists");
	json_key(&j, "book");
	library_book_json(&j, b, u->user);
	json_obj_end(&j);
	http_reply_ex(u->req, status, NULL, u->headers, out.data, out.len);
	buf_release(&out);
	up_free(u);
}

/* Step 5's answer: the book just indexed. */
static void
up_indexed(void *arg, const struct library_page *page, const char *error)
{
	struct upload *u = arg;

	if (page == NULL) {
		up_fail(u, 500, error);
		return;
	}
	if (page->nbooks == 0) {
		up_fail(u, 500,
		    "The file was stored but the library did not index it.");
		return;
	}
	up_answer(u, u->existed ? 200 : 201, &page->books[0]);
}

/* The book of u's partial MD5 the user sees, to cb. */
static void
up_lookup(struct upload *u, library_page_fn *cb)
{
	struct library_query q;
	const char *docs[1] = {u->pmd5};

	memset(&q, 0, sizeof(q));
	q.docs = docs;
	q.ndocs = 1;
	q.limit = 1;
	library_query(u->lib, u->user, &q, cb, u);
}

/* Step 5, on the thread pool. */
static void
place_work(uv_work_t *w)
{
	struct upload *u = w->data;
	struct buf path = BUF_INIT;

	u->status = 0;
	if (libplace_find_same(u->dir.data, u->pmd5, &path) == 0) {
		u->existed = true;
	} else if (libplace_link(u->tmp.data, u->dir.data, u->name, &path) ==
	           -1) {
		u->status = 500;
		buf_reset(&u->why);
		buf_addf(
		    &u->why, "The file cannot be stored: %s.", strerror(errno));
	}
	buf_reset(&u->tmp); /* linked (or removed): not ours to remove */
	if (u->status == 0 && !u->existed) {
		const char *one = path.data;
		struct buf msg = BUF_INIT;

		u->status =
		    library_index_sync(u->cfg, &one, 1, &msg) == -1 ? 500 : 0;
		/* The error's sentence, or the counts (logged). */
		buf_reset(&u->why);
		buf_addf(&u->why,
		    u->status != 0 ? "The library cannot index it: %s." : "%s",
		    msg.data);
		buf_release(&msg);
	}
	buf_release(&path);
}

static void
place_done(uv_work_t *w, int status)
{
	struct upload *u = w->data;

	(void)status;
	if (u->status != 0) {
		up_fail(u, u->status, u->why.data);
		return;
	}
	if (!u->existed)
		log_info("library: upload indexed: %s", u->why.data);
	up_lookup(u, up_indexed);
}

/* Step 4's answer: the same bytes in the library already? */
static void
up_known(void *arg, const struct library_page *page, const char *error)
{
	struct upload *u = arg;

	if (page == NULL) {
		up_fail(u, 500, error);
		return;
	}
	if (page->nbooks > 0) {
		up_answer(u, 200, &page->books[0]);
		return;
	}
	u->work.data = u;
	if (uv_queue_work(u->loop, &u->work, place_work, place_done) != 0)
		up_fail(u, 500, "The upload cannot be stored now.");
}

/* Step 3, on the thread pool. */
static void
check_work(uv_work_t *w)
{
	struct upload *u = w->data;
	struct bookmeta_limits lim;
	struct bookmeta m;
	struct bookzip_src src;
	struct buf why = BUF_INIT;
	struct stat sb;
	uint64_t used;

	u->status = 500;
	buf_reset(&u->why);
	if (fsync(u->fd) == -1) {
		buf_addf(&u->why, "The upload cannot be written: %s.",
		    strerror(errno));
		return;
	}
	(void)close(u->fd);
	/* Written through a write-only descriptor: read it anew. */
	u->fd = open(u->tmp.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (u->fd == -1 || fstat(u->fd, &sb) == -1 ||
	    partialmd5_fd(u->fd, u->pmd5) == -1) {
		buf_addf(
		    &u->why, "The upload cannot be read: %s.", strerror(errno));
		return;
	}
	src.fd = u->fd;
	src.mem = NULL;
	src.size = (uint64_t)sb.st_size;
	bookmeta_limits_default(&lim);
	if (bookmeta_read(&src, u->name, &lim, &m, &why) == -1) {
		u->status = 415;
		buf_addf(&u->why, "Not a book the library reads: %s.",
		    why.len > 0 ? why.data : "unknown format");
	} else {
		used = libplace_usage(u->dir.data);
		if (used + (uint64_t)sb.st_size > u->cfg->dav_quota_bytes) {
			u->status = 507;
			buf_addf(&u->why,
			    "Your uploads would pass the quota of %llu bytes "
			    "(%llu used).",
			    (unsigned long long)u->cfg->dav_quota_bytes,
			    (unsigned long long)used);
		} else {
			u->status = 0;
		}
	}
	bookmeta_release(&m);
	buf_release(&why);
}

static void
check_done(uv_work_t *w, int status)
{
	struct upload *u = w->data;

	(void)status;
	if (u->status != 0) {
		up_fail(u, u->status, u->why.data);
		return;
	}
	up_lookup(u, up_known);
}

/* Answer 413, naming the limit. */
static void
up_too_large(
    struct http_request *req, const struct config *cfg, const char *headers)
{
	char msg[160];

	snprintf(msg, sizeof(msg),
	    "The file is larger than library_max_upload_bytes (%llu bytes).",
	    (unsigned long long)cfg->library_max_upload_bytes);
	http_error(req, 413, headers, msg);
}

/* The body is in (status 0) or was cut short: on to step 3, or fail. */
static void
up_body_done(struct upload *u, int status)
{
	if (status == 0 && u->write_failed)
		status = 500;
	if (status == 413) {
		up_too_large(u->req, u->cfg, u->headers);
		up_free(u);
		return;
	}
	if (status != 0) {
		up_fail(u, status,
		    status == 500 ? "The upload cannot be written."
		                  : "The upload did not arrive whole.");
		return;
	}
	if (u->got == 0) {
		up_fail(u, 400, "The upload is empty.");
		return;
	}
	u->work.data = u;
	if (uv_queue_work(u->loop, &u->work, check_work, check_done) != 0)
		up_fail(u, 500, "The upload cannot be checked now.");
}

static void up_written(uv_fs_t *fs);

/* Write what is left of the piece; false when it cannot be started. */
static bool
up_write_rest(struct upload *u)
{
	uv_buf_t b =
	    uv_buf_init(u->chunk + u->done, (unsigned)(u->len - u->done));

	u->fs.data = u;
	return uv_fs_write(u->loop, &u->fs, u->fd, &b, 1, -1, up_written) == 0;
}

static void
up_written(uv_fs_t *fs)
{
	struct upload *u = fs->data;
	bool failed = fs->result < 0;

	if (!failed)
		u->done += (size_t)fs->result;
	uv_fs_req_cleanup(fs);
	/* A short write: the rest, still paused. */
	if (!failed && fs->result > 0 && u->done < u->len) {
		if (up_write_rest(u))
			return;
		failed = true;
	}
	u->writing = false;
	if (failed || u->done < u->len)
		u->write_failed = true;
	if (u->ended) {
		up_body_done(u, u->end_status);
		return;
	}
	http_body_resume(u->req, u->write_failed ? 500 : 0);
}

/* http_body_fn: one piece, copied and written; the body waits for it. */
static int
up_piece(void *ctx, const char *data, size_t len)
{
	struct upload *u = ctx;

	u->got += len;
	if (u->got > u->cfg->library_max_upload_bytes)
		return 413;
	if (len == 0)
		return 0;
	if (len > u->cap) {
		free(u->chunk);
		u->chunk = xmalloc(len);
		u->cap = len;
	}
	memcpy(u->chunk, data, len);
	u->len = len;
	u->done = 0;
	if (!up_write_rest(u))
		return 500;
	u->writing = true;
	return HTTP_BODY_PAUSE;
}

static void
up_end(void *ctx, int status)
{
	struct upload *u = ctx;

	if (u->writing) {
		u->ended = true;
		u->end_status = status;
		return;
	}
	up_body_done(u, status);
}

/* The X-File-Name header, decoded and checked: NULL and why when bad. */
static char *
up_name(struct http_request *req, const char **why)
{
	const struct str *h = http_header_get(req, "x-file-name", NULL);
	char *name;
	long n;

	if (h == NULL || h->len == 0) {
		*why = "X-File-Name must give the file's name (percent-encoded "
		       "UTF-8).";
		return NULL;
	}
	if (h->len > 3 * (size_t)DAVPATH_MAX_NAME) {
		*why = "X-File-Name is too long.";
		return NULL;
	}
	name = xmalloc(h->len + 1);
	n = str_unescape(*h, name);
	if (n <= 0 || memchr(name, '\0', (size_t)n) != NULL) {
		free(name);
		*why = "X-File-Name is not validly percent-encoded.";
		return NULL;
	}
	name[n] = '\0';
	*why = davpath_name_why((struct str){name, (size_t)n});
	if (*why == NULL && name[0] == '.')
		*why = "A book's file name must not begin with '.'.";
	if (*why == NULL && !library_is_book_name(name))
		*why = "Not a book's file name: it must end in .epub, .kepub, "
		       ".pdf, .cbz, .fb2, .mobi, .azw3, .azw, .djvu, .djv or "
		       ".txt.";
	if (*why != NULL) {
		free(name);
		return NULL;
	}
	return name;
}

void
libupload_handle(uv_loop_t *loop, struct library *lib, const struct config *cfg,
    struct http_request *req, const char *user, const char *headers)
{
	struct upload *u;
	const char *why = NULL;
	unsigned char rnd[12];
	char hex[sizeof(rnd) * 2 + 1];
	uint64_t announced;
	char *name;

	if (lib == NULL) {
		http_error(req, 503, headers, "No library with this storage.");
		return;
	}
	if (strcmp(cfg->storage, "redis") == 0 &&
	    (cfg->library_upload_path == NULL ||
	        cfg->library_upload_path[0] == '\0')) {
		http_error(req, 503, headers,
		    "Uploads with Redis storage need library_upload_path (a "
		    "folder every instance shares).");
		return;
	}
	if ((name = up_name(req, &why)) == NULL) {
		http_error(req, 400, headers, why);
		return;
	}
	announced = req->body_stream ? req->body_length : req->body.len;
	if (announced != UINT64_MAX &&
	    announced > cfg->library_max_upload_bytes) {
		free(name);
		up_too_large(req, cfg, headers);
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->loop = loop;
	u->lib = lib;
	u->cfg = cfg;
	u->req = req;
	u->headers = headers;
	u->user = xstrdup(user);
	u->name = name;
	u->fd = -1;
	buf_init(&u->dir);
	buf_init(&u->tmp);
	buf_init(&u->why);
	libplace_dir(cfg, user, &u->dir);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	buf_addf(&u->tmp, "%s/.upload-%s", u->dir.data, hex);
	if (libplace_mkdirs(u->dir.data) == -1 ||
	    (u->fd = open(u->tmp.data,
	         O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) ==
	        -1) {
		buf_reset(&u->tmp);
		up_fail(u, 500, "The uploads folder cannot be written.");
		return;
	}
	if (!req->body_stream) {
		/* No body announced (a streamed one otherwise). */
		up_body_done(u, 0);
		return;
	}
	http_body_read(req, up_piece, up_end, u);
}

/* An administrator's share of an upload (libupload_share). */
struct share {
	uv_work_t work;
	const struct config *cfg;
	struct http_request *req;
	const char *headers;
	char id[33];
	bool on;
	int rc;
	struct buf out;
};

static void
share_work(uv_work_t *w)
{
	struct share *sh = w->data;

	sh->rc = library_share_sync(sh->cfg, sh->id, sh->on, &sh->out);
}

static void
share_done(uv_work_t *w, int status)
{
	struct share *sh = w->data;
	char body[96];

	(void)status;
	if (sh->rc == 1) {
		http_error(sh->req, 404, sh->headers, "No such upload.");
	} else if (sh->rc != 0) {
		http_error(sh->req, 500, sh->headers, sh->out.data);
	} else {
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"shared\":%s}",
		    sh->id, sh->on ? "true" : "false");
		http_reply_ex(
		    sh->req, 200, NULL, sh->headers, body, strlen(body));
	}
	buf_release(&sh->out);
	free(sh);
}

void
libupload_share(uv_loop_t *loop, const struct library *lib,
    const struct config *cfg, struct http_request *req, struct str book_id,
    bool on, const char *headers)
{
	struct share *sh;
	size_t i;

	if (lib == NULL) {
		http_error(req, 503, headers, "No library with this storage.");
		return;
	}
	for (i = 0; i < book_id.len; i++)
		if (!((book_id.p[i] >= '0' && book_id.p[i] <= '9') ||
		        (book_id.p[i] >= 'a' && book_id.p[i] <= 'f')))
			break;
	if (book_id.len != 32 || i != book_id.len) {
		http_error(req, 404, headers, "No such upload.");
		return;
	}
	sh = xcalloc(1, sizeof(*sh));
	sh->cfg = cfg;
	sh->req = req;
	sh->headers = headers;
	memcpy(sh->id, book_id.p, 32);
	sh->id[32] = '\0';
	sh->on = on;
	buf_init(&sh->out);
	sh->work.data = sh;
	if (uv_queue_work(loop, &sh->work, share_work, share_done) != 0) {
		buf_release(&sh->out);
		free(sh);
		http_error(req, 500, headers, "The share cannot be made now.");
	}
}

/* ---------------------------------------------------------------------
 * WebDAV's Books/ on Redis: a copy in the uploads folder.
 */

struct davbook {
	uv_work_t work;
	const struct config *cfg;
	char *user, *name; /* name NULL: only gone */
	int fd;            /* the file's bytes, or -1: removed from Books/ */
	char *gone;        /* a MOVE's source that left Books/, or NULL */
	int rc;
	struct buf msg;
};

/* fileio_replace's fill: the bytes of the descriptor at arg, in pieces. */
static int
davbook_fill(int fd, const void *arg)
{
	const struct davbook *b = arg;
	char chunk[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(b->fd, chunk, sizeof(chunk), off)) > 0) {
		if (fileio_write_all(fd, chunk, (size_t)n) == -1)
			return -1;
		off += n;
	}
	return n < 0 ? -1 : 0;
}

/* Remove the copy path; 0, or -1 with a message in b->msg. */
static int
davbook_unlink(struct davbook *b, const char *path)
{
	if (unlink(path) == -1 && errno != ENOENT) {
		buf_addf(
		    &b->msg, "cannot remove '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * On the thread pool: remove the copy of a MOVE's source, copy (or
 * remove) the file, then index both, the one gone first.
 */
static void
davbook_work(uv_work_t *w)
{
	struct davbook *b = w->data;
	struct buf dir = BUF_INIT, path = BUF_INIT, tmp = BUF_INIT,
	           gone = BUF_INIT;
	const char *op = "create", *paths[2];
	size_t n = 0;
	unsigned char rnd[8];
	char hex[2 * sizeof(rnd) + 1];

	libplace_dir(b->cfg, b->user, &dir);
	b->rc = 0;
	if (b->gone != NULL) {
		buf_addf(&gone, "%s/%s", dir.data, b->gone);
		b->rc = davbook_unlink(b, gone.data);
		paths[n++] = gone.data;
	}
	if (b->name == NULL || b->rc == -1)
		goto index;
	buf_addf(&path, "%s/%s", dir.data, b->name);
	paths[n++] = path.data;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	buf_addf(&tmp, "%s/.dav-%s", dir.data, hex);
	if (b->fd != -1) {
		if (libplace_mkdirs(dir.data) == -1 ||
		    fileio_replace(path.data, tmp.data, davbook_fill, b, &op) ==
		        -1) {
			b->rc = -1;
			buf_addf(&b->msg, "cannot %s '%s': %s", op, path.data,
			    strerror(errno));
		}
	} else {
		b->rc = davbook_unlink(b, path.data);
	}
index:
	if (b->rc == 0)
		b->rc = library_index_sync(b->cfg, paths, n, &b->msg);
	buf_release(&dir);
	buf_release(&path);
	buf_release(&tmp);
	buf_release(&gone);
}

static void
davbook_done(uv_work_t *w, int status)
{
	struct davbook *b = w->data;

	(void)status;
	if (b->rc == 0 && b->gone != NULL)
		log_info("library: Books/%s of %s moved%s%s: %s", b->gone,
		    b->user, b->name != NULL ? " to Books/" : " out",
		    b->name != NULL ? b->name : "", b->msg.data);
	else if (b->rc == 0)
		log_info("library: Books/%s of %s %s: %s", b->name, b->user,
		    b->fd != -1 ? "copied" : "removed", b->msg.data);
	else
		log_warnx("library: Books/%s of %s: %s",
		    b->name != NULL ? b->name : b->gone, b->user, b->msg.data);
	if (b->fd != -1)
		close(b->fd);
	free(b->user);
	free(b->name);
	free(b->gone);
	buf_release(&b->msg);
	free(b);
}

/* Whether name (or NULL) is a book's name of an uploads folder. */
static bool
davbook_name(const char *name)
{
	return name != NULL && name[0] != '.' && library_is_book_name(name);
}

void
libupload_dav_book(uv_loop_t *loop, const struct config *cfg, struct str user,
    const char *name, int fd, const char *gone)
{
	struct davbook *b;

	if (!davbook_name(name)) {
		if (fd != -1)
			close(fd);
		name = NULL;
		fd = -1;
	}
	if (!davbook_name(gone))
		gone = NULL;
	/* An account's folder of the uploads folder, a book's name. */
	if (!auth_username_valid(user) || user.p[0] == '.' ||
	    memchr(user.p, '/', user.len) != NULL ||
	    str_eq(user, STR_LIT("shared")) || (name == NULL && gone == NULL)) {
		if (fd != -1)
			close(fd);
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->cfg = cfg;
	b->user = xmemdup0(user.p, user.len);
	b->name = name != NULL ? xstrdup(name) : NULL;
	b->gone = gone != NULL ? xstrdup(gone) : NULL;
	b->fd = fd;
	buf_init(&b->msg);
	b->work.data = b;
	if (uv_queue_work(loop, &b->work, davbook_work, davbook_done) != 0) {
		log_warnx("library: Books/%s of %s not copied",
		    name != NULL ? name : gone, b->user);
		davbook_done(&b->work, 0);
	}
}
