/*
 * library.c: the library index (library.h).
 *
 * Invariants:
 *   - the loop side (struct library: the job queue, the scanning flags)
 *     is touched on the loop only; a job's work runs on the thread pool
 *     with a connection of its own to the index, taken from a small pool
 *     under a mutex, and hands its answer back in the job;
 *   - one scan at a time writes the index (SQLite's WAL lets the queries
 *     read meanwhile); a scan commits every SCAN_BATCH files, so a crash
 *     loses at most a batch of work, never the index;
 *   - a server with no library folder, no upload path and no index yet
 *     does not touch SQLite until the library is asked for (lib_is_idle):
 *     the first job then starts the first scan (the first worker to
 *     open the index makes it);
 *   - a file whose size, modification time and inode are those of its row
 *     is not read again; a folder that cannot be opened keeps its rows (an
 *     unmounted disk does not empty the library).
 *
 * The tables: books (one row per book, lists joined by '\n' for the
 * answers), book_authors and book_tags (the same lists, for the filters and
 * the facets), files (one row per file, by path), skipped (the last scan's
 * refused files) and meta (the last scan's figures, the last removal).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bookmeta.h"
#include "buf.h"
#include "config.h"
#include "cover.h"
#include "fault.h"
#include "json.h"
#include "libcursor.h"
#include "library.h"
#include "log.h"
#include "md5.h"
#include "partialmd5.h"
#include "statsdb.h"
#include "xmalloc.h"

#define SCAN_BATCH 500    /* files per transaction of a scan */
#define LIB_DB_POOL 4     /* connections kept open for the jobs */
#define LIB_BUSY_MS 10000 /* waiting for the scan's write lock */

/* ---------------------------------------------------------------------
 * The sources: library_paths and the uploads folder.
 */

struct lib_root {
	char *path;               /* as configured */
	enum library_source kind; /* folder (or calibre), upload */
	bool dav; /* the WebDAV tree: only <account>/Books/ is read */
};

struct lib_roots {
	struct lib_root *v;
	size_t n;
	char *upload_path;
	atomic_bool stop; /* set by library_free: a scan stops early */
};

/* Split cfg's library_paths and add the uploads folder. */
static void
roots_from_config(const struct config *cfg, struct lib_roots *r)
{
	const char *p = cfg->library_paths != NULL ? cfg->library_paths : "";
	struct buf up = BUF_INIT;

	r->v = xcalloc(LIBRARY_MAX_PATHS + 2, sizeof(*r->v));
	r->n = 0;
	atomic_init(&r->stop, false);
	while (*p != '\0' && r->n < LIBRARY_MAX_PATHS) {
		const char *end = strchr(p, ':');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len > 0) {
			r->v[r->n].path = xmemdup0(p, len);
			r->v[r->n].kind = LIBRARY_SRC_FOLDER;
			r->n++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (cfg->library_upload_path != NULL &&
	    cfg->library_upload_path[0] != '\0')
		buf_adds(&up, cfg->library_upload_path);
	else
		buf_addf(&up, "%s/%s/uploads", cfg->data_dir, LIBRARY_DIR);
	r->upload_path = buf_detach(&up, NULL);
	r->v[r->n].path = xstrdup(r->upload_path);
	r->v[r->n].kind = LIBRARY_SRC_UPLOAD;
	r->n++;
	/* The accounts' Books/ folders of WebDAV, on disk with "file". */
	if (cfg->storage != NULL && strcmp(cfg->storage, "file") == 0) {
		buf_addf(&up, "%s/dav", cfg->data_dir);
		r->v[r->n].path = buf_detach(&up, NULL);
		r->v[r->n].kind = LIBRARY_SRC_UPLOAD;
		r->v[r->n].dav = true;
		r->n++;
	}
}

static void
roots_release(struct lib_roots *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].path);
	free(r->v);
	free(r->upload_path);
	memset(r, 0, sizeof(*r));
}

const char *
library_source_name(enum library_source s)
{
	switch (s) {
	case LIBRARY_SRC_CALIBRE:
		return "calibre";
	case LIBRARY_SRC_UPLOAD:
		return "upload";
	case LIBRARY_SRC_FOLDER:
		break;
	}
	return "folder";
}

/* The MIME type of a bookmeta format name. */
static const char *
lib_mime(const char *format)
{
	static const struct {
		const char *format, *mime;
	} map[] = {
	    {"epub", "application/epub+zip"},
	    {"pdf", "application/pdf"},
	    {"cbz", "application/vnd.comicbook+zip"},
	    {"fb2", "application/x-fictionbook+xml"},
	    {"mobi", "application/x-mobipocket-ebook"},
	    {"azw3", "application/vnd.amazon.mobi8-ebook"},
	    {"djvu", "image/vnd.djvu"},
	    {"txt", "text/plain"},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].format, format) == 0)
			return map[i].mime;
	return "application/octet-stream";
}

/* Whether name ends in ".fb2.zip" (an FB2 in a zip: bookmeta.h). */
static bool
lib_is_fb2_zip(const char *name)
{
	size_t n = strlen(name);

	return n > 8 && strcasecmp(name + n - 8, ".fb2.zip") == 0;
}

/*
 * The MIME type of a file of the format bookmeta told, named name: an
 * .fb2.zip is read as "fb2" but served as the zip it is.
 */
static const char *
lib_file_mime(const char *format, const char *name)
{
	if (lib_is_fb2_zip(name))
		return "application/x-zip-compressed-fb2";
	return lib_mime(format);
}

const char *
library_file_ext(const struct library_file *file)
{
	const char *dot;

	if (lib_is_fb2_zip(file->name))
		return file->name + strlen(file->name) - 7;
	dot = strrchr(file->name, '.');
	return dot != NULL && dot[1] != '\0' ? dot + 1 : file->format;
}

/* Whether name's extension is one of a book the scan reads. */
bool
library_is_book_name(const char *name)
{
	static const char *const exts[] = {".epub", ".kepub", ".pdf", ".cbz",
	    ".fb2", ".mobi", ".azw3", ".azw", ".djvu", ".djv", ".txt", NULL};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot == NULL)
		return false;
	if (lib_is_fb2_zip(name))
		return true;
	for (i = 0; exts[i] != NULL; i++)
		if (strcasecmp(dot, exts[i]) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------------
 * The index: opening it, its schema.
 */

static const char lib_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS books("
    " id TEXT PRIMARY KEY, title TEXT NOT NULL, sort_title TEXT NOT NULL,"
    " authors TEXT NOT NULL, author_sort TEXT NOT NULL,"
    " series TEXT NOT NULL DEFAULT '', series_index REAL,"
    " language TEXT NOT NULL DEFAULT '', publisher TEXT NOT NULL DEFAULT '',"
    " description TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '',"
    " idents TEXT NOT NULL DEFAULT '', added INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, cover_path TEXT NOT NULL DEFAULT '',"
    " cover_kind INTEGER NOT NULL DEFAULT 0,"
    " owner TEXT NOT NULL DEFAULT '', source INTEGER NOT NULL DEFAULT 0);"
    /*
     * The orders of library_query, tie-breakers included, so that a
     * page deep in the list walks an index instead of sorting.
     */
    "CREATE INDEX IF NOT EXISTS books_by_title ON books(sort_title COLLATE "
    " NOCASE, id);"
    "CREATE INDEX IF NOT EXISTS books_by_author ON books(author_sort "
    " COLLATE NOCASE, sort_title COLLATE NOCASE, id);"
    /* Newest first: -added, so the tie-breakers run ascending with it. */
    "DROP INDEX IF EXISTS books_by_added;"
    "CREATE INDEX IF NOT EXISTS books_by_newest ON books(-added, sort_title "
    " COLLATE NOCASE, id);"
    "CREATE INDEX IF NOT EXISTS books_owner ON books(owner, updated);"
    /*
     * A page's count of the books a user sees walks this narrow index
     * (owner and id are all the visibility test reads), not the table.
     */
    "CREATE INDEX IF NOT EXISTS books_owner_id ON books(owner, id);"
    "CREATE TABLE IF NOT EXISTS book_authors(book_id TEXT NOT NULL,"
    " name TEXT NOT NULL, sort TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS book_authors_book ON book_authors(book_id);"
    "CREATE INDEX IF NOT EXISTS book_authors_name ON book_authors(name);"
    "CREATE TABLE IF NOT EXISTS book_tags(book_id TEXT NOT NULL,"
    " tag TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS book_tags_book ON book_tags(book_id);"
    "CREATE INDEX IF NOT EXISTS book_tags_tag ON book_tags(tag);"
    "CREATE TABLE IF NOT EXISTS files("
    " path TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " book_id TEXT NOT NULL, root TEXT NOT NULL, name TEXT NOT NULL,"
    " format TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,"
    " partial_md5 TEXT NOT NULL, filename_md5 TEXT NOT NULL,"
    " source INTEGER NOT NULL, owner TEXT NOT NULL DEFAULT '',"
    " seen INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS files_book ON files(book_id);"
    "CREATE INDEX IF NOT EXISTS files_pmd5 ON files(partial_md5);"
    "CREATE INDEX IF NOT EXISTS files_fmd5 ON files(filename_md5);"
    "CREATE INDEX IF NOT EXISTS files_inode ON files(inode);"
    "CREATE TABLE IF NOT EXISTS skipped(path TEXT PRIMARY KEY,"
    " reason TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
    /* The uploads an administrator shared with every account. */
    "CREATE TABLE IF NOT EXISTS shares(book_id TEXT PRIMARY KEY);";

/*
 * Open (and make) the index of data_dir. Returns the connection, or NULL
 * with a message in err.
 */
/*
 * Visibility, in SQL: a book (or file) row is the user's (?N) to see when
 *   owner=lib_shared(?N) OR owner=?N OR LIB_SHARED_ID(its book id)
 * lib_shared(user) is '' (the administrator's books) when library_share
 * is empty or names user, else NULL (which equals nothing); an upload an
 * administrator shared is in the table shares.
 */
#define LIB_SHARED_ID(col) col " IN (SELECT book_id FROM shares)"
/*
 * A book without a series index sorts as this one (before every real
 * index, as SQL's NULL did), so that the series order's key is a number.
 */
#define LIB_NO_INDEX "-1e308"
#define LIB_NO_INDEX_VALUE (-1e308)

/* Whether name is one of list's (names separated by ',' or blanks). */
static bool
share_names(const char *list, const char *name, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n > 0 && n == len && memcmp(p, name, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* The SQL function lib_shared(user): see LIB_SHARED_ID. */
static void
lib_shared_fn(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	const char *list = sqlite3_user_data(ctx);
	const char *user = (const char *)sqlite3_value_text(v[0]);
	int len = sqlite3_value_bytes(v[0]);

	(void)argc;
	if (list == NULL || list[strspn(list, ", \t")] == '\0' ||
	    user == NULL || user[0] == '\0' ||
	    share_names(list, user, (size_t)len))
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
}

static sqlite3 *
lib_db_open(const char *data_dir, const char *share, struct buf *err)
{
	struct buf path = BUF_INIT;
	sqlite3 *db = NULL;
	char *msg = NULL;

	if (mkdir(data_dir, 0700) == -1 && errno != EEXIST) {
		buf_addf(
		    err, "cannot make '%s': %s", data_dir, strerror(errno));
		goto fail;
	}
	buf_addf(&path, "%s/%s", data_dir, LIBRARY_DIR);
	if (mkdir(path.data, 0700) == -1 && errno != EEXIST) {
		buf_addf(
		    err, "cannot make '%s': %s", path.data, strerror(errno));
		goto fail;
	}
	buf_addf(&path, "/%s", LIBRARY_INDEX_FILE);
	if (sqlite3_open_v2(path.data, &db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE,
	        NULL) != SQLITE_OK) {
		buf_addf(err, "cannot open '%s': %s", path.data,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, LIB_BUSY_MS);
	/* The share list is the config's: it outlives the connection. */
	if (sqlite3_create_function(db, "lib_shared", 1,
	        SQLITE_UTF8 | SQLITE_DETERMINISTIC, (void *)(uintptr_t)share,
	        lib_shared_fn, NULL, NULL) != SQLITE_OK) {
		buf_addf(err, "cannot set up '%s': %s", path.data,
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (sqlite3_exec(db, lib_schema, NULL, NULL, &msg) != SQLITE_OK) {
		buf_addf(err, "cannot set up '%s': %s", path.data,
		    msg != NULL ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	buf_release(&path);
	return db;
fail:
	sqlite3_close(db);
	buf_release(&path);
	return NULL;
}

/* Run one statement without results; 0 or -1. */
static int
lib_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx(
		    "library index: %s: %s", sql, msg != NULL ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static sqlite3_stmt *
lib_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx(
		    "library index: cannot prepare: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

static void
meta_set(sqlite3 *db, const char *key, int64_t value)
{
	sqlite3_stmt *st =
	    lib_prepare(db, "INSERT OR REPLACE INTO meta VALUES(?1, ?2)");

	if (st == NULL)
		return;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("library index: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

static int64_t
meta_get(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st =
	    lib_prepare(db, "SELECT value FROM meta WHERE key=?1");
	int64_t v = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* ---------------------------------------------------------------------
 * The scan (on a worker, or the offline command's thread).
 */

struct scan {
	sqlite3 *db;
	const struct lib_roots *roots;
	struct bookmeta_limits lim;
	int64_t gen; /* this scan's number, in files.seen */
	int64_t now;
	uint64_t files_seen, files_read, skipped, removed;
	struct buf *dirs; /* NULL, or the folders walked, each NUL-ended */
	size_t ndirs;
	unsigned in_batch;
	/* The root being walked. */
	const char *root; /* as configured */
	char *root_real;  /* realpath of it */
	enum library_source kind;
	char owner[256]; /* an upload's account, from its first folder */
	bool dav;        /* the root is the WebDAV tree */
	sqlite3_stmt *by_path, *by_inode, *move, *touch, *put_file, *put_book,
	    *id_used, *put_author, *put_tag, *del_lists, *del_tags, *move_book,
	    *put_skip;
};

/* Record a refused file (the first LIBRARY_MAX_SKIPPED of a scan). */
static void
scan_skip(struct scan *s, const char *path, const char *reason)
{
	s->skipped++;
	if (s->skipped > LIBRARY_MAX_SKIPPED || s->put_skip == NULL)
		return;
	sqlite3_reset(s->put_skip);
	sqlite3_bind_text(s->put_skip, 1, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s->put_skip, 2, reason, -1, SQLITE_TRANSIENT);
	(void)sqlite3_step(s->put_skip);
}

/* Lowercase ASCII, white space collapsed: the key of a book's id. */
static void
norm_add(struct buf *b, const char *s)
{
	bool space = false;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ' || c == '\t' || c == '\n') {
			space = b->len > 0;
			continue;
		}
		if (space)
			buf_addch(b, ' ');
		space = false;
		buf_addch(b, c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
}

/* The id of a book of owner with title and authors (library.h). */
static void
book_id_of(const char *owner, const char *title,
    const struct bookmeta_list *authors, char out[MD5_HEX_LEN + 1])
{
	struct buf k = BUF_INIT;
	size_t i;

	buf_addf(&k, "book\n%s\n", owner);
	norm_add(&k, title);
	buf_addch(&k, '\n');
	for (i = 0; i < authors->n; i++) {
		if (i > 0)
			buf_adds(&k, ", ");
		norm_add(&k, authors->v[i]);
	}
	md5_hex(k.data, k.len, out);
	buf_release(&k);
}

/* The title without a leading English article, for sorting. */
static const char *
sort_title_of(const char *title)
{
	static const char *const articles[] = {"The ", "A ", "An ", NULL};
	size_t i;

	for (i = 0; articles[i] != NULL; i++) {
		size_t n = strlen(articles[i]);

		if (strncasecmp(title, articles[i], n) == 0 && title[n] != '\0')
			return title + n;
	}
	return title;
}

/* "Last, First" of an author's name "First Last". */
static void
author_sort_of(const char *name, struct buf *out)
{
	const char *sp = strrchr(name, ' ');

	if (strchr(name, ',') != NULL || sp == NULL) {
		buf_adds(out, name);
		return;
	}
	buf_addf(out, "%s, %.*s", sp + 1, (int)(sp - name), name);
}

static void
join_list(struct buf *out, const struct bookmeta_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (i > 0)
			buf_addch(out, '\n');
		buf_adds(out, l->v[i]);
	}
}

/*
 * Write the book of m (owner s->owner) and its lists: a new book is added
 * at now; a known one gets m's metadata and updated = now.
 */
static void
scan_put_book(struct scan *s, const char *book_id, const struct bookmeta *m,
    const char *asort_given, const char *cover_path, int cover_kind)
{
	struct buf authors = BUF_INIT, tags = BUF_INIT, idents = BUF_INIT,
	           asort = BUF_INIT, one = BUF_INIT;
	sqlite3_stmt *st = s->put_book;
	size_t i;

	join_list(&authors, &m->authors);
	join_list(&tags, &m->subjects);
	for (i = 0; i < m->id_schemes.n && i < m->id_values.n; i++)
		buf_addf(&idents, "%s%s\t%s", i > 0 ? "\n" : "",
		    m->id_schemes.v[i], m->id_values.v[i]);
	if (asort_given != NULL)
		buf_adds(&asort, asort_given);
	else if (m->authors.n > 0)
		author_sort_of(m->authors.v[0], &asort);
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, book_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, m->title, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, sort_title_of(m->title), -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, authors.data, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, asort.data, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(
	    st, 6, m->series != NULL ? m->series : "", -1, SQLITE_TRANSIENT);
	if (m->has_series_index)
		sqlite3_bind_double(st, 7, m->series_index);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_text(st, 8, m->language != NULL ? m->language : "", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, m->publisher != NULL ? m->publisher : "", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, m->description != NULL ? m->description : "",
	    -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 11, tags.data, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 12, idents.data, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 13, s->now);
	sqlite3_bind_text(st, 14, cover_path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 15, cover_kind);
	sqlite3_bind_text(st, 16, s->owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 17, (int)s->kind);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("library index: %s", sqlite3_errmsg(s->db));

	sqlite3_reset(s->del_lists);
	sqlite3_bind_text(s->del_lists, 1, book_id, -1, SQLITE_TRANSIENT);
	(void)sqlite3_step(s->del_lists);
	sqlite3_reset(s->del_tags);
	sqlite3_bind_text(s->del_tags, 1, book_id, -1, SQLITE_TRANSIENT);
	(void)sqlite3_step(s->del_tags);
	for (i = 0; i < m->authors.n; i++) {
		buf_reset(&one);
		author_sort_of(m->authors.v[i], &one);
		sqlite3_reset(s->put_author);
		sqlite3_bind_text(
		    s->put_author, 1, book_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(
		    s->put_author, 2, m->authors.v[i], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(
		    s->put_author, 3, one.data, -1, SQLITE_TRANSIENT);
		(void)sqlite3_step(s->put_author);
	}
	for (i = 0; i < m->subjects.n; i++) {
		sqlite3_reset(s->put_tag);
		sqlite3_bind_text(s->put_tag, 1, book_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(
		    s->put_tag, 2, m->subjects.v[i], -1, SQLITE_TRANSIENT);
		(void)sqlite3_step(s->put_tag);
	}
	buf_release(&authors);
	buf_release(&tags);
	buf_release(&idents);
	buf_release(&asort);
	buf_release(&one);
}

/*
 * The file id for partial MD5 pmd5 at path (rel: its path in its folder):
 * pmd5 itself unless another path has it.
 */
static void
scan_file_id(struct scan *s, const char *pmd5, const char *path,
    const char *rel, struct buf *id)
{
	char h[MD5_HEX_LEN + 1];

	buf_reset(id);
	buf_adds(id, pmd5);
	sqlite3_reset(s->id_used);
	sqlite3_bind_text(s->id_used, 1, pmd5, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s->id_used, 2, path, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s->id_used) != SQLITE_ROW)
		return;
	md5_hex(rel, strlen(rel), h);
	buf_addf(id, "-%.8s", h);
}

/*
 * Write the row of the file at path (rel: below the root; name: its base
 * name; fsb: its fstat) with its MD5s, of book book_id, in format.
 */
static void
scan_put_file(struct scan *s, const char *path, const char *rel,
    const char *name, const struct stat *fsb, const char *pmd5,
    const char *fmd5, const char *book_id, const char *format)
{
	struct buf id = BUF_INIT;
	sqlite3_stmt *st;

	scan_file_id(s, pmd5, path, rel, &id);
	st = s->put_file;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, id.data, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, book_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, s->root, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, format, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, (int64_t)fsb->st_size);
	sqlite3_bind_int64(st, 8, (int64_t)fsb->st_mtim.tv_sec);
	sqlite3_bind_int64(st, 9, (int64_t)fsb->st_mtim.tv_nsec);
	sqlite3_bind_int64(st, 10, (int64_t)fsb->st_ino);
	sqlite3_bind_text(st, 11, pmd5, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 12, fmd5, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 13, (int)s->kind);
	sqlite3_bind_text(st, 14, s->owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 15, s->gen);
	if (sqlite3_step(st) != SQLITE_DONE)
		scan_skip(s, rel, sqlite3_errmsg(s->db));
	buf_release(&id);
}

/*
 * Read the book file at path (rel: below the root; name: its base name;
 * sb: its lstat) into the index. A refused file is recorded and its old
 * row, if any, removed.
 */
static void
scan_read_file(struct scan *s, const char *path, const char *rel,
    const char *name, const struct stat *sb)
{
	struct bookmeta m;
	struct buf why = BUF_INIT;
	char pmd5[MD5_HEX_LEN + 1], fmd5[MD5_HEX_LEN + 1];
	char book_id[MD5_HEX_LEN + 1];
	struct bookzip_src src;
	struct stat fsb;
	int fd;

	bookmeta_init(&m);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &fsb) == -1) {
		scan_skip(s, rel, strerror(errno));
		goto out;
	}
	if (!S_ISREG(fsb.st_mode) || fsb.st_ino != sb->st_ino) {
		scan_skip(s, rel, "not a regular file");
		goto out;
	}
	if (partialmd5_fd(fd, pmd5) == -1) {
		scan_skip(s, rel, strerror(errno));
		goto out;
	}
	partialmd5_filename(name, fmd5);
	src = (struct bookzip_src){.fd = fd, .size = (uint64_t)fsb.st_size};
	if (bookmeta_read(&src, name, &s->lim, &m, &why) == -1) {
		scan_skip(s, rel, why.data);
		goto out;
	}
	s->files_read++;
	book_id_of(s->owner, m.title, &m.authors, book_id);
	scan_put_book(s, book_id, &m, NULL,
	    m.cover != BOOKMETA_COVER_NONE ? path : "",
	    m.cover != BOOKMETA_COVER_NONE ? 1 : 0);
	scan_put_file(s, path, rel, name, &fsb, pmd5, fmd5, book_id,
	    bookmeta_format_name(m.format));
out:
	if (fd != -1)
		close(fd);
	bookmeta_release(&m);
	buf_release(&why);
}

/* Whether the file at path (lstat sb) is in the index unchanged: mark it. */
static bool
scan_unchanged(struct scan *s, const char *path, const struct stat *sb)
{
	sqlite3_stmt *st = s->by_path;
	bool same = false;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		same = sqlite3_column_int64(st, 0) == (int64_t)sb->st_size &&
		       sqlite3_column_int64(st, 1) ==
		           (int64_t)sb->st_mtim.tv_sec &&
		       sqlite3_column_int64(st, 2) ==
		           (int64_t)sb->st_mtim.tv_nsec &&
		       sqlite3_column_int64(st, 3) == (int64_t)sb->st_ino;
	sqlite3_reset(st);
	if (!same)
		return false;
	sqlite3_reset(s->touch);
	sqlite3_bind_int64(s->touch, 1, s->gen);
	sqlite3_bind_text(s->touch, 2, path, -1, SQLITE_TRANSIENT);
	(void)sqlite3_step(s->touch);
	return true;
}

/*
 * Whether the file at path is a known file moved or renamed (same inode,
 * size and time, its old path gone): its row follows it unread.
 */
static bool
scan_moved(
    struct scan *s, const char *path, const char *name, const struct stat *sb)
{
	sqlite3_stmt *st = s->by_inode;
	char *old = NULL;
	char fmd5[MD5_HEX_LEN + 1];
	struct stat osb;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, (int64_t)sb->st_ino);
	sqlite3_bind_int64(st, 2, (int64_t)sb->st_size);
	sqlite3_bind_int64(st, 3, (int64_t)sb->st_mtim.tv_sec);
	sqlite3_bind_int64(st, 4, (int64_t)sb->st_mtim.tv_nsec);
	sqlite3_bind_text(st, 5, s->root, -1, SQLITE_TRANSIENT);
	while (old == NULL && sqlite3_step(st) == SQLITE_ROW) {
		const char *p = col_text(st, 0);

		if (lstat(p, &osb) == -1 && errno == ENOENT)
			old = xstrdup(p);
	}
	sqlite3_reset(st);
	if (old == NULL)
		return false;
	partialmd5_filename(name, fmd5);
	sqlite3_reset(s->move);
	sqlite3_bind_text(s->move, 1, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s->move, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s->move, 3, fmd5, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->move, 4, s->gen);
	sqlite3_bind_text(s->move, 5, old, -1, SQLITE_TRANSIENT);
	(void)sqlite3_step(s->move);
	sqlite3_reset(s->move_book);
	sqlite3_bind_text(s->move_book, 1, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->move_book, 2, s->now);
	(void)sqlite3_step(s->move_book);
	free(old);
	return true;
}

/*
 * Every prepared statement of the scan: reset (done, so that a COMMIT
 * finds none in progress) or finalized and cleared.
 */
static void
scan_stmts_done(struct scan *s, bool finalize)
{
	sqlite3_stmt **stmts[] = {&s->by_path, &s->by_inode, &s->move,
	    &s->touch, &s->put_file, &s->put_book, &s->id_used, &s->put_author,
	    &s->put_tag, &s->del_lists, &s->del_tags, &s->move_book,
	    &s->put_skip};
	size_t i;

	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_stmt **p = stmts[i];

		if (!finalize) {
			sqlite3_reset(*p);
			continue;
		}
		sqlite3_finalize(*p);
		*p = NULL;
	}
}

/*
 * Commit the batch so far and open the next. No statement of the scan may
 * be in progress (a look-up left on its row, a write that met a lock), or
 * the COMMIT fails; the next batch takes the write lock at once
 * (IMMEDIATE), so that no write of it meets another writer's commit
 * (SQLITE_BUSY_SNAPSHOT, which waiting does not cure) and is lost.
 */
static void
scan_batch(struct scan *s)
{
	if (++s->in_batch < SCAN_BATCH)
		return;
	s->in_batch = 0;
	scan_stmts_done(s, false);
	(void)lib_exec(s->db, "COMMIT; BEGIN IMMEDIATE");
}

/*
 * The owner of an upload folder's <name>/ (the WebDAV tree's names are
 * percent-encoded; "shared" of the uploads folder is every account's).
 * Returns 0, or -1 for a name that is no account's.
 */
static int
scan_owner(struct scan *s, const char *name)
{
	size_t len = strlen(name);
	long n;

	if (len >= sizeof(s->owner))
		return -1;
	if (!s->dav) {
		memcpy(s->owner, name, len + 1);
		if (strcmp(s->owner, "shared") == 0)
			s->owner[0] = '\0';
		return 0;
	}
	n = str_unescape((struct str){name, len}, s->owner);
	if (n <= 0)
		return -1;
	s->owner[n] = '\0';
	return strlen(s->owner) == (size_t)n ? 0 : -1;
}

/*
 * Walk the folder path (rel: its path below the root, "" for the root),
 * depth folders down.
 */
static void
scan_dir(struct scan *s, const char *path, const char *rel, unsigned depth)
{
	struct buf sub = BUF_INIT, subrel = BUF_INIT;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		scan_skip(s, *rel != '\0' ? rel : ".", strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	if (s->dirs != NULL && s->ndirs++ < LIBRARY_MAX_WATCHES)
		buf_add(s->dirs, path, strlen(path) + 1);
	while (!atomic_load(&s->roots->stop) && (de = readdir(d)) != NULL) {
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		buf_reset(&sub);
		buf_addf(&sub, "%s/%s", path, de->d_name);
		buf_reset(&subrel);
		buf_addf(&subrel, "%s%s%s", rel, *rel != '\0' ? "/" : "",
		    de->d_name);
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			scan_skip(s, subrel.data, strerror(errno));
			continue;
		}
		if (S_ISLNK(sb.st_mode)) {
			char *real = realpath(sub.data, NULL);
			size_t rl = strlen(s->root_real);

			if (real == NULL ||
			    strncmp(real, s->root_real, rl) != 0 ||
			    (real[rl] != '/' && real[rl] != '\0'))
				scan_skip(s, subrel.data,
				    "symlink out of the library folder "
				    "refused");
			free(real);
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			if (depth + 1 > LIBRARY_MAX_DEPTH) {
				scan_skip(
				    s, subrel.data, "folder nested too deep");
				continue;
			}
			if (s->kind == LIBRARY_SRC_UPLOAD && depth == 0 &&
			    scan_owner(s, de->d_name) == -1)
				continue;
			/* In an account's WebDAV tree, only Books/. */
			if (s->dav && depth == 1 &&
			    strcmp(de->d_name, LIBRARY_DAV_FOLDER) != 0)
				continue;
			scan_dir(s, sub.data, subrel.data, depth + 1);
			continue;
		}
		if (!S_ISREG(sb.st_mode) || !library_is_book_name(de->d_name))
			continue;
		/* Uploads lie in <account>/ or shared/, never loose. */
		if (s->kind == LIBRARY_SRC_UPLOAD &&
		    (depth == 0 || (s->dav && depth == 1)))
			continue;
		if (++s->files_seen > LIBRARY_MAX_FILES) {
			scan_skip(
			    s, subrel.data, "too many files in the library");
			continue;
		}
		if (!scan_unchanged(s, sub.data, &sb) &&
		    !scan_moved(s, sub.data, de->d_name, &sb))
			scan_read_file(
			    s, sub.data, subrel.data, de->d_name, &sb);
		scan_batch(s);
	}
	closedir(d);
	buf_release(&sub);
	buf_release(&subrel);
}

static void
scan_finalize(struct scan *s)
{
	scan_stmts_done(s, true);
}

static int
scan_prepare(struct scan *s)
{
	s->by_path = lib_prepare(s->db,
	    "SELECT size, mtime, mtime_ns, inode FROM files WHERE path=?1");
	s->by_inode = lib_prepare(s->db,
	    "SELECT path FROM files WHERE inode=?1 AND size=?2 AND mtime=?3 "
	    "AND mtime_ns=?4 AND root=?5");
	s->move = lib_prepare(s->db,
	    "UPDATE files SET path=?1, name=?2, filename_md5=?3, seen=?4 "
	    "WHERE path=?5");
	s->move_book =
	    lib_prepare(s->db, "UPDATE books SET updated=?2 WHERE id IN "
	                       "(SELECT book_id FROM files WHERE path=?1)");
	s->touch = lib_prepare(s->db, "UPDATE files SET seen=?1 WHERE path=?2");
	s->put_file = lib_prepare(s->db,
	    "INSERT OR REPLACE INTO files(path, id, book_id, root, name, "
	    "format, size, mtime, mtime_ns, inode, partial_md5, filename_md5, "
	    "source, owner, seen) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12, ?13, ?14, ?15)");
	s->put_book = lib_prepare(s->db,
	    "INSERT INTO books(id, title, sort_title, authors, author_sort, "
	    "series, series_index, language, publisher, description, tags, "
	    "idents, added, updated, cover_path, cover_kind, owner, source) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?13, "
	    "?14, ?15, ?16, ?17) ON CONFLICT(id) DO UPDATE SET "
	    "title=excluded.title, sort_title=excluded.sort_title, "
	    "authors=excluded.authors, author_sort=excluded.author_sort, "
	    "series=excluded.series, series_index=excluded.series_index, "
	    "language=excluded.language, publisher=excluded.publisher, "
	    "description=excluded.description, tags=excluded.tags, "
	    "idents=excluded.idents, updated=excluded.updated, "
	    "cover_path=CASE WHEN excluded.cover_kind<>0 THEN "
	    "excluded.cover_path ELSE cover_path END, "
	    "cover_kind=max(cover_kind, excluded.cover_kind)");
	s->id_used =
	    lib_prepare(s->db, "SELECT 1 FROM files WHERE id=?1 AND path<>?2");
	s->put_author = lib_prepare(s->db,
	    "INSERT INTO book_authors(book_id, name, sort) VALUES(?1, ?2, ?3)");
	s->put_tag = lib_prepare(
	    s->db, "INSERT INTO book_tags(book_id, tag) VALUES(?1, ?2)");
	s->del_lists =
	    lib_prepare(s->db, "DELETE FROM book_authors WHERE book_id=?1");
	s->del_tags =
	    lib_prepare(s->db, "DELETE FROM book_tags WHERE book_id=?1");
	s->put_skip = lib_prepare(s->db,
	    "INSERT OR REPLACE INTO skipped(path, reason) VALUES(?1, ?2)");
	if (s->by_path == NULL || s->by_inode == NULL || s->move == NULL ||
	    s->touch == NULL || s->put_file == NULL || s->put_book == NULL ||
	    s->id_used == NULL || s->put_author == NULL || s->put_tag == NULL ||
	    s->del_lists == NULL || s->del_tags == NULL ||
	    s->move_book == NULL || s->put_skip == NULL) {
		scan_finalize(s);
		return -1;
	}
	return 0;
}

/*
 * Remove the rows of files not seen by this scan (in the folders that
 * could be walked, and of folders no longer configured), then the books
 * left without a file and their lists.
 */
static void
scan_remove_unseen(struct scan *s, const bool *walked)
{
	sqlite3_stmt *st;
	struct buf sql = BUF_INIT;
	size_t i;
	int changes = 0;

	for (i = 0; i < s->roots->n; i++) {
		if (!walked[i])
			continue;
		st = lib_prepare(
		    s->db, "DELETE FROM files WHERE root=?1 AND seen<>?2");
		if (st == NULL)
			continue;
		sqlite3_bind_text(
		    st, 1, s->roots->v[i].path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, s->gen);
		if (sqlite3_step(st) == SQLITE_DONE)
			changes += sqlite3_changes(s->db);
		sqlite3_finalize(st);
	}
	buf_adds(&sql, "DELETE FROM files WHERE root NOT IN (");
	for (i = 0; i < s->roots->n; i++)
		buf_addf(&sql, "%s?%zu", i > 0 ? ", " : "", i + 1);
	buf_adds(&sql, ")");
	st = lib_prepare(s->db, sql.data);
	if (st != NULL) {
		for (i = 0; i < s->roots->n; i++)
			sqlite3_bind_text(st, (int)i + 1, s->roots->v[i].path,
			    -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE)
			changes += sqlite3_changes(s->db);
		sqlite3_finalize(st);
	}
	buf_release(&sql);
	(void)lib_exec(s->db,
	    "DELETE FROM books WHERE id NOT IN (SELECT book_id FROM files);"
	    "DELETE FROM book_authors WHERE book_id NOT IN "
	    "(SELECT id FROM books);"
	    "DELETE FROM book_tags WHERE book_id NOT IN (SELECT id FROM "
	    "books)");
	s->removed = (uint64_t)changes;
	if (changes > 0)
		meta_set(s->db, "removed", s->now);
}

/* ---------------------------------------------------------------------
 * A Calibre library: its metadata.db, read as hostile input.
 */

static bool fd_inside(int fd, const char *root);

/* Whether rel (a path from metadata.db) stays below its folder. */
static bool
calibre_path_safe(const char *rel)
{
	const char *p = rel;

	if (*rel == '\0' || *rel == '/' || strchr(rel, '\\') != NULL)
		return false;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/' && *++p == '\0')
			return false; /* a trailing '/' */
	}
	return true;
}

/* The statements of a Calibre read, one per table of a book. */
enum {
	CAL_AUTHORS,
	CAL_SERIES,
	CAL_TAGS,
	CAL_LANG,
	CAL_PUBLISHER,
	CAL_COMMENT,
	CAL_IDENTS,
	CAL_DATA,
	CAL_N,
};

static const char *const calibre_sql[CAL_N] = {
    [CAL_AUTHORS] = "SELECT a.name, a.sort FROM main.books_authors_link l "
                    "JOIN main.authors a ON a.id=l.author WHERE l.book=?1 "
                    "ORDER BY l.id",
    [CAL_SERIES] = "SELECT s.name FROM main.books_series_link l JOIN "
                   "main.series s ON s.id=l.series WHERE l.book=?1",
    [CAL_TAGS] = "SELECT t.name FROM main.books_tags_link l JOIN main.tags "
                 "t ON t.id=l.tag WHERE l.book=?1 ORDER BY t.name",
    [CAL_LANG] = "SELECT g.lang_code FROM main.books_languages_link l JOIN "
                 "main.languages g ON g.id=l.lang_code WHERE l.book=?1 "
                 "ORDER BY l.item_order",
    [CAL_PUBLISHER] = "SELECT p.name FROM main.books_publishers_link l "
                      "JOIN main.publishers p ON p.id=l.publisher WHERE "
                      "l.book=?1",
    [CAL_COMMENT] = "SELECT text FROM main.comments WHERE book=?1",
    [CAL_IDENTS] = "SELECT type, val FROM main.identifiers WHERE book=?1 "
                   "ORDER BY type",
    [CAL_DATA] = "SELECT format, name FROM main.data WHERE book=?1 "
                 "ORDER BY format",
};

/* The text of column i of a Calibre row, and its length. */
static const char *
cal_text(sqlite3_stmt *st, int i, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	*len = t != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
	return t != NULL ? t : "";
}

/*
 * One book of the Calibre library (row: id, title, path, uuid, has_cover,
 * series_index, author_sort): its metadata from the other tables, its
 * files from data, each with its partial MD5.
 */
static void
calibre_book(struct scan *s, sqlite3_stmt *row, sqlite3_stmt *const *q)
{
	struct bookmeta m;
	struct buf dir = BUF_INIT, file = BUF_INIT, rel = BUF_INIT,
	           key = BUF_INIT, fname = BUF_INIT, asort = BUF_INIT;
	char book_id[MD5_HEX_LEN + 1];
	int64_t id = sqlite3_column_int64(row, 0);
	const char *t;
	size_t len;
	int i;

	bookmeta_init(&m);
	t = cal_text(row, 2, &len);
	if (!calibre_path_safe(t) || len > PATH_MAX / 2) {
		buf_addf(&rel, "metadata.db: book %lld", (long long)id);
		scan_skip(s, rel.data, "unsafe path");
		goto out;
	}
	buf_add(&dir, t, len);
	t = cal_text(row, 1, &len);
	bookmeta_set(&m.title, t, len, 0);
	if (m.title == NULL)
		bookmeta_set(&m.title, "Unknown", 7, 0);
	t = cal_text(row, 6, &len);
	bookmeta_text(&asort, t, len, BOOKMETA_MAX_TEXT, 0);
	for (i = 0; i < CAL_N; i++) {
		if (q[i] == NULL)
			continue;
		sqlite3_reset(q[i]);
		sqlite3_bind_int64(q[i], 1, id);
	}
	while (q[CAL_AUTHORS] != NULL &&
	       sqlite3_step(q[CAL_AUTHORS]) == SQLITE_ROW) {
		t = cal_text(q[CAL_AUTHORS], 0, &len);
		bookmeta_add(&m.authors, t, len, 0);
	}
	if (q[CAL_SERIES] != NULL &&
	    sqlite3_step(q[CAL_SERIES]) == SQLITE_ROW) {
		t = cal_text(q[CAL_SERIES], 0, &len);
		bookmeta_set(&m.series, t, len, 0);
		if (m.series != NULL &&
		    sqlite3_column_type(row, 5) != SQLITE_NULL) {
			m.series_index = sqlite3_column_double(row, 5);
			m.has_series_index = true;
		}
	}
	while (q[CAL_TAGS] != NULL && sqlite3_step(q[CAL_TAGS]) == SQLITE_ROW) {
		t = cal_text(q[CAL_TAGS], 0, &len);
		bookmeta_add(&m.subjects, t, len, 0);
	}
	if (q[CAL_LANG] != NULL && sqlite3_step(q[CAL_LANG]) == SQLITE_ROW) {
		t = cal_text(q[CAL_LANG], 0, &len);
		bookmeta_set(&m.language, t, len, 0);
	}
	if (q[CAL_PUBLISHER] != NULL &&
	    sqlite3_step(q[CAL_PUBLISHER]) == SQLITE_ROW) {
		t = cal_text(q[CAL_PUBLISHER], 0, &len);
		bookmeta_set(&m.publisher, t, len, 0);
	}
	if (q[CAL_COMMENT] != NULL &&
	    sqlite3_step(q[CAL_COMMENT]) == SQLITE_ROW) {
		struct buf d = BUF_INIT;

		t = cal_text(q[CAL_COMMENT], 0, &len);
		bookmeta_text(&d, t, len, BOOKMETA_MAX_DESCRIPTION,
		    BOOKMETA_TEXT_HTML | BOOKMETA_TEXT_LINES);
		if (d.len > 0)
			m.description = buf_detach(&d, NULL);
		buf_release(&d);
	}
	while (q[CAL_IDENTS] != NULL &&
	       sqlite3_step(q[CAL_IDENTS]) == SQLITE_ROW) {
		struct buf scheme = BUF_INIT;

		t = cal_text(q[CAL_IDENTS], 0, &len);
		bookmeta_text(&scheme, t, len, 64, 0);
		t = cal_text(q[CAL_IDENTS], 1, &len);
		bookmeta_add_id(&m, scheme.data, t, len);
		buf_release(&scheme);
	}
	/* The id: Calibre's uuid, else its book number. */
	t = cal_text(row, 3, &len);
	buf_adds(&key, "calibre\n");
	if (len > 0)
		buf_add(&key, t, len);
	else
		buf_addf(&key, "%s\n%lld", s->root, (long long)id);
	md5_hex(key.data, key.len, book_id);
	buf_reset(&file);
	buf_addf(&file, "%s/%s/cover.jpg", s->root_real, dir.data);
	scan_put_book(s, book_id, &m, asort.len > 0 ? asort.data : NULL,
	    sqlite3_column_int(row, 4) != 0 ? file.data : "",
	    sqlite3_column_int(row, 4) != 0 ? 2 : 0);
	while (q[CAL_DATA] != NULL && sqlite3_step(q[CAL_DATA]) == SQLITE_ROW) {
		char fmt[16], pmd5[MD5_HEX_LEN + 1], fmd5[MD5_HEX_LEN + 1];
		const char *name;
		struct stat sb;
		size_t k;
		int fd;

		t = cal_text(q[CAL_DATA], 0, &len);
		if (len == 0 || len >= sizeof(fmt))
			continue;
		for (k = 0; k < len; k++)
			fmt[k] = (char)(t[k] >= 'A' && t[k] <= 'Z' ? t[k] + 32
			                                           : t[k]);
		fmt[len] = '\0';
		name = cal_text(q[CAL_DATA], 1, &len);
		buf_reset(&fname);
		buf_addf(&fname, "%.*s.%s", (int)len, name, fmt);
		buf_reset(&rel);
		buf_addf(&rel, "%s/%s", dir.data, fname.data);
		if (!calibre_path_safe(rel.data) ||
		    strchr(fname.data, '/') != NULL) {
			scan_skip(s, rel.data, "unsafe path");
			continue;
		}
		if (!library_is_book_name(fname.data))
			continue;
		buf_reset(&file);
		buf_addf(&file, "%s/%s", s->root_real, rel.data);
		if (++s->files_seen > LIBRARY_MAX_FILES) {
			scan_skip(s, rel.data, "too many files in the library");
			continue;
		}
		if (lstat(file.data, &sb) == -1) {
			scan_skip(s, rel.data, strerror(errno));
			continue;
		}
		if (!S_ISREG(sb.st_mode)) {
			scan_skip(s, rel.data, "not a regular file");
			continue;
		}
		if (scan_unchanged(s, file.data, &sb))
			continue;
		fd = open(
		    file.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd == -1 || !fd_inside(fd, s->root_real) ||
		    partialmd5_fd(fd, pmd5) == -1) {
			scan_skip(s, rel.data,
			    fd == -1 ? strerror(errno) : "cannot be read");
			if (fd != -1)
				close(fd);
			continue;
		}
		close(fd);
		partialmd5_filename(fname.data, fmd5);
		s->files_read++;
		scan_put_file(s, file.data, rel.data, fname.data, &sb, pmd5,
		    fmd5, book_id, strcmp(fmt, "kepub") == 0 ? "epub" : fmt);
		scan_batch(s);
	}
out:
	bookmeta_release(&m);
	buf_release(&dir);
	buf_release(&file);
	buf_release(&rel);
	buf_release(&key);
	buf_release(&fname);
	buf_release(&asort);
}

/*
 * Scan the Calibre library at s->root_real through its metadata.db.
 * Returns 0, or -1 when the database cannot be read (recorded).
 */
static int
scan_calibre(struct scan *s)
{
	struct buf path = BUF_INIT;
	sqlite3 *cdb = NULL;
	sqlite3_stmt *books = NULL, *q[CAL_N];
	struct stat sb;
	int i, rc = -1, n = 0;

	memset(q, 0, sizeof(q));
	buf_addf(&path, "%s/metadata.db", s->root_real);
	if (lstat(path.data, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > LIBRARY_MAX_CALIBRE_DB) {
		scan_skip(
		    s, "metadata.db", "not a regular file of at most 1 GiB");
		goto out;
	}
	if (statsdb_open_hardened(path.data, &cdb) != 0) {
		scan_skip(s, "metadata.db", "not a readable SQLite database");
		goto out;
	}
	if (sqlite3_prepare_v2(cdb,
	        "SELECT id, title, path, uuid, has_cover, series_index, "
	        "author_sort FROM main.books ORDER BY id",
	        -1, &books, NULL) != SQLITE_OK) {
		scan_skip(s, "metadata.db", "no books table");
		goto out;
	}
	for (i = 0; i < CAL_N; i++)
		if (sqlite3_prepare_v2(cdb, calibre_sql[i], -1, &q[i], NULL) !=
		    SQLITE_OK)
			q[i] = NULL;
	while (!atomic_load(&s->roots->stop) &&
	       sqlite3_step(books) == SQLITE_ROW) {
		if (++n > (int)LIBRARY_MAX_FILES)
			break;
		calibre_book(s, books, q);
	}
	rc = 0;
out:
	for (i = 0; i < CAL_N; i++)
		sqlite3_finalize(q[i]);
	sqlite3_finalize(books);
	sqlite3_close(cdb);
	buf_release(&path);
	return rc;
}

/*
 * Scan roots into db, on the calling thread. A summary line into out.
 * Returns 0, or -1 with a message in out.
 */
/* The one line a scan (or library_index_sync) ends with, into out. */
static void
scan_summary(const struct scan *s, uint64_t ms, struct buf *out)
{
	buf_addf(out,
	    "scanned %llu files (%llu read, %llu removed, %llu skipped) in "
	    "%llu ms",
	    (unsigned long long)s->files_seen,
	    (unsigned long long)s->files_read, (unsigned long long)s->removed,
	    (unsigned long long)s->skipped, (unsigned long long)ms);
}

static int
scan_run(sqlite3 *db, const struct lib_roots *roots, struct buf *out,
    struct buf *dirs, size_t *ndirs)
{
	struct scan s;
	struct timespec t0, t1;
	bool walked[LIBRARY_MAX_PATHS + 2] = {false};
	size_t i;
	uint64_t ms;

	memset(&s, 0, sizeof(s));
	s.db = db;
	s.roots = roots;
	s.dirs = dirs;
	bookmeta_limits_default(&s.lim);
	s.now = (int64_t)time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (lib_exec(db, "BEGIN IMMEDIATE") == -1) {
		buf_adds(out, "cannot lock the library index");
		return -1;
	}
	s.gen = meta_get(db, "scan_gen") + 1;
	meta_set(db, "scan_gen", s.gen);
	(void)lib_exec(db, "DELETE FROM skipped");
	if (scan_prepare(&s) == -1) {
		(void)lib_exec(db, "ROLLBACK");
		buf_adds(out, "cannot prepare the library index");
		return -1;
	}
	for (i = 0; i < roots->n; i++) {
		const struct lib_root *r = &roots->v[i];
		struct stat sb;

		walked[i] = false;
		s.root = r->path;
		s.kind = r->kind;
		s.dav = r->dav;
		s.owner[0] = '\0';
		/*
		 * Made when missing (the WebDAV tree too, as dav.c would
		 * make it), so that inotify watches them from the start.
		 */
		if (r->kind == LIBRARY_SRC_UPLOAD &&
		    mkdir(r->path, 0700) == -1 && errno != EEXIST)
			log_warn("cannot make '%s'", r->path);
		s.root_real = realpath(r->path, NULL);
		if (s.root_real == NULL || stat(s.root_real, &sb) == -1 ||
		    !S_ISDIR(sb.st_mode)) {
			/* No WebDAV tree yet: nothing to read. */
			if (r->dav && s.root_real == NULL && errno == ENOENT) {
				walked[i] = true;
				continue;
			}
			scan_skip(&s, r->path,
			    s.root_real == NULL ? strerror(errno)
			                        : "not a folder");
			free(s.root_real);
			s.root_real = NULL;
			continue;
		}
		{
			struct buf mdb = BUF_INIT;

			buf_addf(&mdb, "%s/metadata.db", s.root_real);
			if (r->kind == LIBRARY_SRC_FOLDER &&
			    lstat(mdb.data, &sb) == 0)
				s.kind = LIBRARY_SRC_CALIBRE;
			buf_release(&mdb);
		}
		if (s.kind == LIBRARY_SRC_CALIBRE) {
			walked[i] = scan_calibre(&s) == 0;
		} else {
			walked[i] = true;
			scan_dir(&s, s.root_real, "", 0);
		}
		free(s.root_real);
		s.root_real = NULL;
	}
	scan_finalize(&s);
	if (ndirs != NULL)
		*ndirs = s.ndirs;
	/* Stopped half-way: nothing was seen whole, nothing is removed. */
	if (!atomic_load(&roots->stop))
		scan_remove_unseen(&s, walked);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
	     (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
	meta_set(db, "last_scan", (int64_t)time(NULL));
	meta_set(db, "last_scan_ms", (int64_t)ms);
	meta_set(db, "last_scan_read", (int64_t)s.files_read);
	meta_set(db, "skipped_total", (int64_t)s.skipped);
	if (lib_exec(db, "COMMIT") == -1) {
		(void)lib_exec(db, "ROLLBACK");
		buf_adds(out, "cannot commit the library index");
		return -1;
	}
	scan_summary(&s, ms, out);
	return 0;
}

/* ---------------------------------------------------------------------
 * The cover thumbnails' cache: <data_dir>/library/covers/<book id>-
 * <side>-<updated>.jpg, made by work_cover.
 */

/* The cache's bound (a test build takes a smaller one from the env). */
static uint64_t
cover_cache_limit(void)
{
#ifdef KOSYNCD_TESTING
	const char *e = getenv("KOSYNCD_TEST_COVER_CACHE_BYTES");

	if (e != NULL && *e != '\0')
		return strtoull(e, NULL, 10);
#endif
	return LIBRARY_MAX_COVER_CACHE;
}

/*
 * A thumbnail's file name, <32 hex id>-<side>-<updated>.jpg: the id
 * (into id) and the book's "updated" then; false for any other name.
 */
static bool
cover_name_parse(const char *name, char id[33], long long *updated)
{
	const char *p = name;
	char *end;
	size_t n = strspn(p, "0123456789abcdef");

	if (n != 32 || p[n] != '-')
		return false;
	memcpy(id, p, 32);
	id[32] = '\0';
	p += n + 1;
	n = strspn(p, "0123456789");
	if (n == 0 || n > 4 || p[n] != '-')
		return false;
	p += n + 1;
	n = strspn(p, "0123456789");
	if (n == 0 || n > 18)
		return false;
	errno = 0;
	*updated = strtoll(p, &end, 10);
	return errno == 0 && end == p + n && strcmp(end, ".jpg") == 0;
}

struct cover_file {
	char name[80];
	int64_t mtime;
	uint64_t size;
};

static int
cover_file_cmp(const void *a, const void *b)
{
	const struct cover_file *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Remove the thumbnails of books no longer in the index, or of an older
 * state of their book (its "updated" changed: the file, and so maybe its
 * cover, changed), and temporary files left by a crash; then, past limit
 * bytes, the oldest written down to three quarters of limit. Returns
 * the bytes left. Runs on a worker; a thumbnail removed under a reader
 * is made again.
 */
static uint64_t
cover_sweep(sqlite3 *db, const char *data_dir, uint64_t limit)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	sqlite3_stmt *st = lib_prepare(
	    db, "SELECT updated, cover_kind FROM books WHERE id=?1");
	struct cover_file *keep = NULL;
	size_t nkeep = 0, cap = 0, i;
	uint64_t total = 0;
	DIR *d;
	struct dirent *e;

	buf_addf(&dir, "%s/%s/covers", data_dir, LIBRARY_DIR);
	d = opendir(dir.data);
	if (d == NULL || st == NULL)
		goto out;
	while ((e = readdir(d)) != NULL) {
		char id[33];
		long long updated;
		bool stale = true;
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.data, e->d_name);
		if (strlen(e->d_name) < sizeof(keep->name) - 1 &&
		    cover_name_parse(e->d_name, id, &updated)) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW &&
			    sqlite3_column_int64(st, 0) == updated &&
			    sqlite3_column_int(st, 1) != 0)
				stale = false;
		} else if (strstr(e->d_name, ".jpg.tmp") != NULL &&
		           lstat(path.data, &sb) == 0 &&
		           time(NULL) - sb.st_mtime < 600)
			continue; /* being written */
		if (stale || lstat(path.data, &sb) == -1 ||
		    !S_ISREG(sb.st_mode)) {
			(void)unlink(path.data);
			continue;
		}
		if (nkeep == cap) {
			cap = cap * 2 + 64;
			keep = xrealloc(keep, cap * sizeof(*keep));
		}
		memcpy(keep[nkeep].name, e->d_name, strlen(e->d_name) + 1);
		keep[nkeep].mtime = (int64_t)sb.st_mtime;
		keep[nkeep].size = (uint64_t)sb.st_size;
		total += keep[nkeep].size;
		nkeep++;
	}
	if (total > limit) {
		qsort(keep, nkeep, sizeof(*keep), cover_file_cmp);
		for (i = 0; i < nkeep && total > limit / 4 * 3; i++) {
			buf_reset(&path);
			buf_addf(&path, "%s/%s", dir.data, keep[i].name);
			if (unlink(path.data) == 0 || errno == ENOENT)
				total -= keep[i].size;
		}
	}
out:
	if (d != NULL)
		closedir(d);
	sqlite3_finalize(st);
	free(keep);
	buf_release(&dir);
	buf_release(&path);
	return total;
}

int
library_scan_sync(const struct config *cfg, struct buf *out)
{
	struct lib_roots roots;
	sqlite3 *db;
	int rc;

	db = lib_db_open(cfg->data_dir, cfg->library_share, out);
	if (db == NULL)
		return -1;
	roots_from_config(cfg, &roots);
	rc = scan_run(db, &roots, out, NULL, NULL);
	if (rc == 0)
		(void)cover_sweep(db, cfg->data_dir, cover_cache_limit());
	roots_release(&roots);
	sqlite3_close(db);
	return rc;
}

/* The file at path is gone: its row goes (its book with the last one). */
static void
index_gone(struct scan *s, const char *path)
{
	sqlite3_stmt *st =
	    lib_prepare(s->db, "DELETE FROM files WHERE path=?1");

	if (st == NULL)
		return;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		s->removed += (uint64_t)sqlite3_changes(s->db);
	sqlite3_finalize(st);
}

/*
 * Index the file path of the uploads folder (<upload path>/<account or
 * shared>/<name>) into the open transaction of s (its root set).
 */
static void
index_one(struct scan *s, const char *upload_path, const char *path)
{
	size_t ul = strlen(upload_path);
	const char *rel, *slash;
	struct buf real = BUF_INIT, owner = BUF_INIT;
	struct stat sb;

	if (strncmp(path, upload_path, ul) != 0 || path[ul] != '/') {
		scan_skip(s, path, "not in the uploads folder");
		return;
	}
	rel = path + ul + 1;
	slash = strchr(rel, '/');
	if (slash == NULL || slash == rel || rel[0] == '.' ||
	    strchr(slash + 1, '/') != NULL || slash[1] == '.' ||
	    !library_is_book_name(slash + 1)) {
		scan_skip(s, rel, "not a book of an uploads folder");
		return;
	}
	buf_add(&owner, rel, (size_t)(slash - rel));
	buf_addf(&real, "%s/%s", s->root_real, rel);
	if (scan_owner(s, owner.data) == -1)
		scan_skip(s, rel, "not an account's folder");
	else if (lstat(real.data, &sb) == -1) {
		if (errno == ENOENT)
			index_gone(s, real.data);
		else
			scan_skip(s, rel, strerror(errno));
	} else if (!S_ISREG(sb.st_mode))
		scan_skip(s, rel, "not a regular file");
	else if (!scan_unchanged(s, real.data, &sb) &&
	         !scan_moved(s, real.data, slash + 1, &sb))
		scan_read_file(s, real.data, rel, slash + 1, &sb);
	s->files_seen++;
	buf_release(&real);
	buf_release(&owner);
}

int
library_index_sync(const struct config *cfg, const char *const *paths, size_t n,
    struct buf *out)
{
	struct lib_roots roots;
	struct scan s;
	struct timespec t0, t1;
	sqlite3 *db;
	size_t i;
	uint64_t ms;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	db = lib_db_open(cfg->data_dir, cfg->library_share, out);
	if (db == NULL)
		return -1;
	roots_from_config(cfg, &roots);
	s.db = db;
	s.roots = &roots;
	bookmeta_limits_default(&s.lim);
	s.now = (int64_t)time(NULL);
	s.kind = LIBRARY_SRC_UPLOAD;
	s.root = roots.upload_path;
	s.root_real = realpath(roots.upload_path, NULL);
	if (s.root_real == NULL) {
		buf_addf(out, "cannot read '%s': %s", roots.upload_path,
		    strerror(errno));
		goto out;
	}
	if (lib_exec(db, "BEGIN IMMEDIATE") == -1) {
		buf_adds(out, "cannot lock the library index");
		goto out;
	}
	/* This scan's number: the next full scan keeps what is seen here. */
	s.gen = meta_get(db, "scan_gen");
	if (scan_prepare(&s) == -1) {
		(void)lib_exec(db, "ROLLBACK");
		buf_adds(out, "cannot prepare the library index");
		goto out;
	}
	for (i = 0; i < n; i++)
		index_one(&s, roots.upload_path, paths[i]);
	scan_finalize(&s);
	/* A file read again may have left its old book without a file. */
	if (s.files_read > 0 || s.removed > 0)
		(void)lib_exec(db,
		    "DELETE FROM books WHERE id NOT IN (SELECT book_id FROM "
		    "files);"
		    "DELETE FROM book_authors WHERE book_id NOT IN "
		    "(SELECT id FROM books);"
		    "DELETE FROM book_tags WHERE book_id NOT IN (SELECT id "
		    "FROM books)");
	if (lib_exec(db, "COMMIT") == -1) {
		(void)lib_exec(db, "ROLLBACK");
		buf_adds(out, "cannot commit the library index");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
	     (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
	scan_summary(&s, ms, out);
	rc = 0;
out:
	free(s.root_real);
	roots_release(&roots);
	sqlite3_close(db);
	return rc;
}

/* ---------------------------------------------------------------------
 * Reading books out of the index (on a worker).
 */

/* Free what a const pointer of an answer (made here) points to. */
static void
cfree(const void *p)
{
	free((void *)(uintptr_t)p);
}

/* A book and what it holds, owned (freed by book_release). */
static void
book_release(struct library_book *b)
{
	size_t i;

	cfree(b->id);
	cfree(b->title);
	cfree(b->sort_title);
	for (i = 0; i < b->nauthors; i++)
		cfree(b->authors[i]);
	cfree(b->authors);
	cfree(b->author_sort);
	cfree(b->series);
	cfree(b->language);
	cfree(b->publisher);
	cfree(b->description);
	for (i = 0; i < b->ntags; i++)
		cfree(b->tags[i]);
	cfree(b->tags);
	for (i = 0; i < b->nidents; i++) {
		cfree(b->idents[i].scheme);
		cfree(b->idents[i].value);
	}
	cfree(b->idents);
	cfree(b->owner);
	for (i = 0; i < b->nfiles; i++) {
		const struct library_file *f = &b->files[i];

		cfree(f->id);
		cfree(f->format);
		cfree(f->partial_md5);
		cfree(f->filename_md5);
		cfree(f->name);
	}
	cfree(b->files);
	memset(b, 0, sizeof(*b));
}

/* Split s at '\n' into an owned array. */
static const char *const *
split_lines(const char *s, size_t *n)
{
	char **v;
	size_t cap = 1, i = 0;
	const char *p;

	*n = 0;
	if (*s == '\0')
		return NULL;
	for (p = s; *p != '\0'; p++)
		cap += *p == '\n';
	v = xcalloc(cap, sizeof(*v));
	for (p = s; i < cap; i++) {
		const char *end = strchr(p, '\n');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		v[i] = xmemdup0(p, len);
		if (end == NULL) {
			i++;
			break;
		}
		p = end + 1;
	}
	*n = i;
	return (const char *const *)v;
}

#define BOOK_COLUMNS                                                           \
	"b.id, b.title, b.sort_title, b.authors, b.author_sort, b.series, "    \
	"b.series_index, b.language, b.publisher, b.description, b.tags, "     \
	"b.idents, b.added, b.updated, b.cover_kind, b.owner, "                \
	"b.id IN (SELECT book_id FROM shares)"

/* The statement book_from_row reads a book's files with. */
static sqlite3_stmt *
book_files_stmt(sqlite3 *db)
{
	return lib_prepare(db,
	    "SELECT id, format, size, mtime, partial_md5, filename_md5, name, "
	    "source FROM files WHERE book_id=?1 ORDER BY format, id");
}

/*
 * Fill b from a row of BOOK_COLUMNS, and its files through fs (from
 * book_files_stmt: prepared once for a page).
 */
static void
book_from_row(sqlite3_stmt *fs, sqlite3_stmt *st, struct library_book *b)
{
	const char *const *idl;
	size_t n, i;
	struct library_ident *ids;
	struct library_file *files = NULL;
	size_t nf = 0, capf = 0;

	memset(b, 0, sizeof(*b));
	b->id = xstrdup(col_text(st, 0));
	b->title = xstrdup(col_text(st, 1));
	b->sort_title = xstrdup(col_text(st, 2));
	b->authors = split_lines(col_text(st, 3), &b->nauthors);
	b->author_sort = xstrdup(col_text(st, 4));
	b->series = xstrdup(col_text(st, 5));
	b->has_series_index = sqlite3_column_type(st, 6) != SQLITE_NULL;
	b->series_index = sqlite3_column_double(st, 6);
	b->language = xstrdup(col_text(st, 7));
	b->publisher = xstrdup(col_text(st, 8));
	b->description = xstrdup(col_text(st, 9));
	b->tags = split_lines(col_text(st, 10), &b->ntags);
	idl = split_lines(col_text(st, 11), &n);
	ids = xcalloc(n + 1, sizeof(*ids));
	for (i = 0; i < n; i++) {
		const char *tab = strchr(idl[i], '\t');

		ids[i].scheme = tab != NULL
		                    ? xmemdup0(idl[i], (size_t)(tab - idl[i]))
		                    : xstrdup("");
		ids[i].value = xstrdup(tab != NULL ? tab + 1 : idl[i]);
		cfree(idl[i]);
	}
	cfree(idl);
	b->idents = ids;
	b->nidents = n;
	b->added = sqlite3_column_int64(st, 12);
	b->updated = sqlite3_column_int64(st, 13);
	b->has_cover = sqlite3_column_int(st, 14) != 0;
	b->owner = xstrdup(col_text(st, 15));
	b->shared = sqlite3_column_int(st, 16) != 0;

	if (fs == NULL)
		return;
	sqlite3_reset(fs);
	sqlite3_bind_text(fs, 1, b->id, -1, SQLITE_STATIC);
	while (sqlite3_step(fs) == SQLITE_ROW) {
		struct library_file *f;

		if (nf == capf) {
			capf = capf * 2 + 2;
			files = xrealloc(files, capf * sizeof(*files));
		}
		f = &files[nf++];
		f->id = xstrdup(col_text(fs, 0));
		f->format = xstrdup(col_text(fs, 1));
		f->size = (uint64_t)sqlite3_column_int64(fs, 2);
		f->mtime = sqlite3_column_int64(fs, 3);
		f->partial_md5 = xstrdup(col_text(fs, 4));
		f->filename_md5 = xstrdup(col_text(fs, 5));
		f->name = xstrdup(col_text(fs, 6));
		f->mime = lib_file_mime(f->format, f->name);
		f->source = (enum library_source)sqlite3_column_int(fs, 7);
	}
	sqlite3_reset(fs);
	b->files = files;
	b->nfiles = nf;
}

/* The newest change visible to user (bind ?1 is the user). */
static int64_t
last_modified(sqlite3 *db, const char *user)
{
	/*
	 * Three seeks, each on an index (books_owner, the shares): as one
	 * max() over "owner=... OR id IN shares", SQLite read every row.
	 */
	sqlite3_stmt *st = lib_prepare(db,
	    "SELECT max(coalesce((SELECT updated FROM books WHERE "
	    "owner=lib_shared(?1) ORDER BY updated DESC LIMIT 1), 0), "
	    "coalesce((SELECT max(updated) FROM books WHERE " LIB_SHARED_ID(
	        "id") "), 0), "
	              "coalesce((SELECT updated FROM books WHERE owner=?1 "
	              "ORDER BY updated DESC LIMIT 1), 0))");
	int64_t t = 0, r;

	if (st != NULL) {
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			t = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	r = meta_get(db, "removed");
	return r > t ? r : t;
}

/* Text bindings of a query being built, in order. */
struct binds {
	const char *v[LIBRARY_MAX_DOCS * 2 + 32];
	int n;
};

static void
bind_add(struct buf *sql, struct binds *b, const char *v)
{
	if ((size_t)b->n >= sizeof(b->v) / sizeof(b->v[0]))
		return;
	b->v[b->n++] = v;
	buf_addf(sql, "?%d", b->n);
}

/* Append s as a LIKE pattern "%s%" (escaped with '\\') into out. */
static void
like_pattern(struct buf *out, const char *s, size_t len)
{
	size_t i;

	buf_addch(out, '%');
	for (i = 0; i < len; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			buf_addch(out, '\\');
		buf_addch(out, s[i]);
	}
	buf_addch(out, '%');
}

#define LIB_MAX_WORDS 8 /* words of a search */

/* The WHERE clause of q for user, into sql with its bindings. */
static void
query_where(const struct library_query *q, const char *user, struct buf *sql,
    struct binds *b, struct buf *words)
{
	size_t i;

	/*
	 * The unary + keeps SQLite from choosing the owner index here:
	 * the order's index is the one that makes a deep page cheap.
	 */
	buf_adds(sql, " WHERE (+b.owner=lib_shared(");
	bind_add(sql, b, user);
	buf_adds(sql, ") OR +b.owner=");
	bind_add(sql, b, user);
	buf_adds(sql, " OR " LIB_SHARED_ID("b.id") ")");
	if (q->uploads_only) {
		buf_adds(sql, " AND b.owner=");
		bind_add(sql, b, user);
	}
	if (q->book_id != NULL) {
		buf_adds(sql, " AND b.id=");
		bind_add(sql, b, q->book_id);
	}
	if (q->author != NULL) {
		buf_adds(sql, " AND b.id IN (SELECT book_id FROM book_authors "
		              "WHERE name=");
		bind_add(sql, b, q->author);
		buf_adds(sql, ")");
	}
	if (q->tag != NULL) {
		buf_adds(sql,
		    " AND b.id IN (SELECT book_id FROM book_tags WHERE tag=");
		bind_add(sql, b, q->tag);
		buf_adds(sql, ")");
	}
	if (q->series != NULL) {
		buf_adds(sql, " AND b.series=");
		bind_add(sql, b, q->series);
	}
	if (q->language != NULL) {
		buf_adds(sql, " AND b.language=");
		bind_add(sql, b, q->language);
	}
	if (q->search != NULL) {
		const char *p = q->search;
		size_t offs[LIB_MAX_WORDS], nw = 0;

		/* Each word is a pattern in words, NUL-separated. */
		while (*p != '\0' && nw < LIB_MAX_WORDS) {
			size_t len;

			while (*p == ' ')
				p++;
			len = strcspn(p, " ");
			if (len == 0)
				break;
			offs[nw++] = words->len;
			like_pattern(words, p, len);
			buf_addch(words, '\0');
			p += len;
		}
		for (i = 0; i < nw; i++) {
			const char *w = words->data + offs[i];

			buf_adds(sql, " AND (b.title LIKE ");
			bind_add(sql, b, w);
			buf_adds(sql, " ESCAPE '\\' OR b.authors LIKE ");
			bind_add(sql, b, w);
			buf_adds(sql, " ESCAPE '\\' OR b.series LIKE ");
			bind_add(sql, b, w);
			buf_adds(sql, " ESCAPE '\\')");
		}
	}
	if (q->ndocs > 0) {
		buf_adds(sql, " AND b.id IN (SELECT book_id FROM files WHERE "
		              "partial_md5 IN (");
		for (i = 0; i < q->ndocs && i < LIBRARY_MAX_DOCS; i++) {
			if (i > 0)
				buf_adds(sql, ", ");
			bind_add(sql, b, q->docs[i]);
		}
		buf_adds(sql, ") OR filename_md5 IN (");
		for (i = 0; i < q->ndocs && i < LIBRARY_MAX_DOCS; i++) {
			if (i > 0)
				buf_adds(sql, ", ");
			bind_add(sql, b, q->docs[i]);
		}
		buf_adds(sql, "))");
	}
}

static void
binds_apply(sqlite3_stmt *st, const struct binds *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		sqlite3_bind_text(st, i + 1, b->v[i], -1, SQLITE_STATIC);
}

struct page_result {
	struct library_page page;
	struct library_book *books;
	char *next;
	char *error;
};

/* --- Cursors: where the next page of an order starts -------------------
 *
 * A cursor (libcursor.h) holds the position (books before it, as counted
 * when it was made), the last book's sort key and its id; the next page
 * is the books after that key, found on the order's index
 * (books_by_title, books_by_author, books_by_newest) without walking the
 * books before it. Each order is a total order ending in the id, so no
 * two books share a key and a walk gives each once. Series order has no
 * index of its own (a series is short: its books are filtered first).
 */

/* The ORDER BY of each order; cursor_where compares the same terms. */
static const char *const order_sql[] = {
    [LIBRARY_BY_TITLE] = "b.sort_title COLLATE NOCASE, b.id",
    [LIBRARY_BY_AUTHOR] = "b.author_sort COLLATE NOCASE, "
                          "b.sort_title COLLATE NOCASE, b.id",
    [LIBRARY_BY_SERIES] = "b.series='', b.series COLLATE NOCASE, "
                          "ifnull(b.series_index, " LIB_NO_INDEX "), "
                          "b.sort_title COLLATE NOCASE, b.id",
    [LIBRARY_BY_ADDED] = "-b.added, b.sort_title COLLATE NOCASE, b.id",
};

/* The cursor's kind letter of each order. */
static const char cursor_kinds[] = {
    [LIBRARY_BY_TITLE] = 't',
    [LIBRARY_BY_AUTHOR] = 'a',
    [LIBRARY_BY_SERIES] = 's',
    [LIBRARY_BY_ADDED] = 'n',
};

/* A decoded cursor: fields borrow c. */
struct cursor_key {
	struct libcursor c;
	uint64_t pos;
	const char *text;  /* author_sort (author), series (series) */
	const char *title; /* sort_title */
	const char *id;
	int64_t added;
	double series_index; /* LIB_NO_INDEX's value when none */
};

/* A whole number of text, as cursor_write wrote it; -1 when not one. */
static int
cursor_int(const char *s, bool sign, int64_t max, int64_t *out)
{
	bool neg = sign && *s == '-';
	int64_t v = 0;

	s += neg;
	if (*s < '0' || *s > '9' || (*s == '0' && s[1] != '\0'))
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (*s != '\0')
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static bool
is_book_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 32;
}

/*
 * Read text as a cursor of order into k. Returns NULL, or why it is not
 * one (k then unusable).
 */
static const char *
cursor_read(const char *text, enum library_order order, struct cursor_key *k)
{
	static const size_t nfields[] = {
	    [LIBRARY_BY_TITLE] = 3,
	    [LIBRARY_BY_AUTHOR] = 4,
	    [LIBRARY_BY_SERIES] = 5,
	    [LIBRARY_BY_ADDED] = 4,
	};
	const char *const *f;
	int64_t pos;
	char *end;

	memset(k, 0, sizeof(*k));
	if (libcursor_decode(text, strlen(text), &k->c) != 0)
		return "not a cursor";
	f = k->c.field;
	if (k->c.kind != cursor_kinds[order] || k->c.nfields != nfields[order])
		return "a cursor of another order";
	if (cursor_int(f[0], false, (int64_t)1 << 40, &pos) != 0 ||
	    !is_book_id(f[k->c.nfields - 1]))
		return "not a cursor";
	k->pos = (uint64_t)pos;
	k->id = f[k->c.nfields - 1];
	k->title = f[k->c.nfields - 2];
	switch (order) {
	case LIBRARY_BY_AUTHOR:
		k->text = f[1];
		break;
	case LIBRARY_BY_SERIES:
		k->text = f[1];
		errno = 0;
		k->series_index = strtod(f[2], &end);
		if ((f[2][0] != '-' && (f[2][0] < '0' || f[2][0] > '9')) ||
		    *end != '\0' || errno != 0 || !isfinite(k->series_index))
			return "not a cursor";
		break;
	case LIBRARY_BY_ADDED:
		if (cursor_int(f[1], true, INT64_MAX, &k->added) != 0)
			return "not a cursor";
		break;
	case LIBRARY_BY_TITLE:
		break;
	}
	return NULL;
}

const char *
library_cursor_check(const char *text, enum library_order order, uint64_t *pos)
{
	struct cursor_key k;
	const char *why;

	if ((unsigned)order >= 4)
		return "not a cursor";
	why = cursor_read(text, order, &k);
	if (why == NULL && pos != NULL)
		*pos = k.pos;
	return why;
}

/*
 * Append the cursor after book k of order, pos books from the start, to
 * out; nothing when it would be too long (library_page's next then "").
 */
static void
cursor_write(struct buf *out, enum library_order order,
    const struct library_book *k, uint64_t pos)
{
	char num[2][40];
	const char *f[5];
	size_t n = 0;

	snprintf(num[0], sizeof(num[0]), "%" PRIu64, pos);
	f[n++] = num[0];
	switch (order) {
	case LIBRARY_BY_AUTHOR:
		f[n++] = k->author_sort;
		break;
	case LIBRARY_BY_SERIES:
		f[n++] = k->series;
		snprintf(num[1], sizeof(num[1]), "%.17g",
		    k->has_series_index ? k->series_index : LIB_NO_INDEX_VALUE);
		f[n++] = num[1];
		break;
	case LIBRARY_BY_ADDED:
		snprintf(num[1], sizeof(num[1]), "%" PRId64, k->added);
		f[n++] = num[1];
		break;
	case LIBRARY_BY_TITLE:
		break;
	}
	f[n++] = k->sort_title;
	f[n++] = k->id;
	(void)libcursor_encode(out, cursor_kinds[order], f, n);
}

/*
 * Append the condition "after the cursor" of order to sql, its values
 * numbered after the first nbound (cursor_bind binds them). The first
 * term alone comes first: SQLite starts the index's range from it (it
 * does not from the row value, whose terms carry a collation).
 */
static void
cursor_where(struct buf *sql, enum library_order order, int nbound)
{
	int a = nbound + 1, t = nbound + 2, i = nbound + 3, x = nbound + 4;

	switch (order) {
	case LIBRARY_BY_TITLE:
		buf_addf(sql,
		    " AND b.sort_title COLLATE NOCASE>=?%d AND (b.sort_title "
		    "COLLATE NOCASE, b.id)>(?%d, ?%d)",
		    t, t, i);
		break;
	case LIBRARY_BY_AUTHOR:
		buf_addf(sql,
		    " AND b.author_sort COLLATE NOCASE>=?%d AND (b.author_sort "
		    "COLLATE NOCASE, b.sort_title COLLATE NOCASE, b.id)>(?%d, "
		    "?%d, ?%d)",
		    a, a, t, i);
		break;
	case LIBRARY_BY_SERIES:
		buf_addf(sql,
		    " AND (b.series='', b.series COLLATE NOCASE, "
		    "ifnull(b.series_index, " LIB_NO_INDEX "), b.sort_title "
		    "COLLATE NOCASE, b.id)>(?%d='', ?%d, ?%d, ?%d, ?%d)",
		    a, a, x, t, i);
		break;
	case LIBRARY_BY_ADDED:
		/*
		 * The time added is this index's own (each instance on one
		 * Redis scans at its own time): that of the cursor's book
		 * here, the cursor's only when the book is gone, so a cursor
		 * made by another instance walks on where it stopped.
		 */
		buf_addf(sql,
		    " AND -b.added>=coalesce((SELECT -added FROM books WHERE "
		    "id=?%d), ?%d) AND (-b.added, b.sort_title COLLATE NOCASE, "
		    "b.id)>(coalesce((SELECT -added FROM books WHERE id=?%d), "
		    "?%d), ?%d, ?%d)",
		    i, x, i, x, t, i);
		break;
	}
}

static void
cursor_bind(sqlite3_stmt *st, enum library_order order,
    const struct cursor_key *k, int nbound)
{
	sqlite3_bind_text(
	    st, nbound + 1, k->text != NULL ? k->text : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, nbound + 2, k->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, nbound + 3, k->id, -1, SQLITE_STATIC);
	if (order == LIBRARY_BY_ADDED)
		sqlite3_bind_int64(st, nbound + 4,
		    k->added == INT64_MIN ? INT64_MAX : -k->added);
	else
		sqlite3_bind_double(st, nbound + 4, k->series_index);
}

/*
 * The books of st's rows (their files through fs) into r's page, at most
 * limit of them. Returns whether a row was left over (a page after).
 */
static bool
page_rows(
    sqlite3_stmt *st, sqlite3_stmt *fs, struct page_result *r, unsigned limit)
{
	size_t cap = 0;
	bool more = false;

	while (sqlite3_step(st) == SQLITE_ROW) {
		if (r->page.nbooks == limit) {
			more = true;
			break;
		}
		if (r->page.nbooks == cap) {
			cap = cap * 2 + 8;
			r->books = xrealloc(r->books, cap * sizeof(*r->books));
		}
		book_from_row(fs, st, &r->books[r->page.nbooks++]);
	}
	r->page.books = r->books;
	return more;
}

/* Run q for user on db into r. */
static void
query_run(sqlite3 *db, const char *user, const struct library_query *q,
    struct page_result *r)
{
	struct buf sql = BUF_INIT, where = BUF_INIT, words = BUF_INIT;
	struct binds *b = xcalloc(1, sizeof(*b));
	sqlite3_stmt *st = NULL, *fs;
	unsigned limit = q->limit == 0 ? 50 : q->limit;
	enum library_order order =
	    (unsigned)q->order < 4 ? q->order : LIBRARY_BY_TITLE;
	struct cursor_key after;

	if (limit > LIBRARY_MAX_PAGE)
		limit = LIBRARY_MAX_PAGE;
	if (q->cursor != NULL &&
	    cursor_read(q->cursor, order, &after) != NULL) {
		r->error = xstrdup("the cursor is not one of this order");
		free(b);
		return;
	}
	query_where(q, user, &where, b, &words);
	buf_addf(&sql, "SELECT count(*) FROM books b%s", where.data);
	st = lib_prepare(db, sql.data);
	if (st == NULL)
		goto fail;
	binds_apply(st, b);
	if (sqlite3_step(st) == SQLITE_ROW)
		r->page.total = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	buf_reset(&sql);
	/* One row more than the page: whether a next page exists. */
	buf_addf(&sql, "SELECT " BOOK_COLUMNS " FROM books b%s", where.data);
	if (q->cursor != NULL)
		cursor_where(&sql, order, b->n);
	buf_addf(&sql, " ORDER BY %s LIMIT %u", order_sql[order], limit + 1);
	if (q->cursor == NULL)
		buf_addf(&sql, " OFFSET %llu", (unsigned long long)q->offset);
	st = lib_prepare(db, sql.data);
	fs = book_files_stmt(db);
	if (st == NULL || fs == NULL) {
		sqlite3_finalize(st);
		sqlite3_finalize(fs);
		goto fail;
	}
	binds_apply(st, b);
	if (q->cursor != NULL)
		cursor_bind(st, order, &after, b->n);
	r->page.more = page_rows(st, fs, r, limit);
	sqlite3_finalize(st);
	sqlite3_finalize(fs);
	r->page.start = q->cursor != NULL ? after.pos : q->offset;
	if (r->page.more) {
		struct buf next = BUF_INIT;

		cursor_write(&next, order, &r->books[r->page.nbooks - 1],
		    r->page.start + r->page.nbooks);
		r->next = buf_detach(&next, NULL);
		r->page.next = r->next;
	}
	r->page.last_modified = last_modified(db, user);
	goto out;
fail:
	r->error = xstrdup("the library index cannot be read");
out:
	free(b);
	buf_release(&sql);
	buf_release(&where);
	buf_release(&words);
}

static void
page_result_release(struct page_result *r)
{
	size_t i;

	for (i = 0; i < r->page.nbooks; i++)
		book_release(&r->books[i]);
	free(r->books);
	free(r->next);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

int
library_query_sync(const struct config *cfg, const char *user,
    const struct library_query *q, library_page_fn *cb, void *arg)
{
	struct page_result r;
	struct buf err = BUF_INIT;
	sqlite3 *db;

	memset(&r, 0, sizeof(r));
	db = lib_db_open(cfg->data_dir, cfg->library_share, &err);
	if (db == NULL) {
		cb(arg, NULL, err.data);
		buf_release(&err);
		return -1;
	}
	query_run(db, user != NULL ? user : "", q, &r);
	cb(arg, r.error != NULL ? NULL : &r.page, r.error);
	page_result_release(&r);
	sqlite3_close(db);
	return 0;
}

/* An object {k1: v1, k2: v2} as the next value in j. */
static void
json_pair(struct json_out *j, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	json_obj_begin(j);
	json_kv_str(j, k1, v1);
	json_kv_str(j, k2, v2);
	json_obj_end(j);
}

static void
json_list(struct json_out *j, const char *key, const char *const *v, size_t n)
{
	size_t i;

	json_key(j, key);
	json_arr_begin(j);
	for (i = 0; i < n; i++)
		json_str(j, v[i]);
	json_arr_end(j);
}

void
library_book_json(
    struct json_out *j, const struct library_book *b, const char *viewer)
{
	size_t i;

	json_obj_begin(j);
	json_kv_str(j, "id", b->id);
	json_kv_str(j, "title", b->title);
	json_list(j, "authors", b->authors, b->nauthors);
	json_kv_str(j, "series", b->series);
	if (b->has_series_index) {
		json_kv_double(j, "series_index", b->series_index);
	}
	json_kv_str(j, "language", b->language);
	json_kv_str(j, "publisher", b->publisher);
	json_kv_str(j, "description", b->description);
	json_list(j, "tags", b->tags, b->ntags);
	json_key(j, "identifiers");
	json_arr_begin(j);
	for (i = 0; i < b->nidents; i++)
		json_pair(j, "scheme", b->idents[i].scheme, "value",
		    b->idents[i].value);
	json_arr_end(j);
	json_kv_int(j, "added", b->added);
	json_kv_int(j, "updated", b->updated);
	json_kv_bool(j, "has_cover", b->has_cover);
	if (viewer == NULL) {
		json_kv_str(j, "owner", b->owner);
		json_kv_bool(j, "shared", b->shared);
	} else if (b->owner[0] != '\0' && strcmp(b->owner, viewer) == 0) {
		json_kv_str(j, "owner", b->owner);
	}
	json_key(j, "files");
	json_arr_begin(j);
	for (i = 0; i < b->nfiles; i++) {
		const struct library_file *f = &b->files[i];

		json_obj_begin(j);
		json_kv_str(j, "id", f->id);
		json_kv_str(j, "format", f->format);
		json_kv_str(j, "mime", f->mime);
		json_kv_uint(j, "size", f->size);
		json_kv_int(j, "mtime", f->mtime);
		json_key(j, "partial_md5");
		json_str(j, f->partial_md5);
		json_key(j, "filename_md5");
		json_str(j, f->filename_md5);
		json_kv_str(j, "name", f->name);
		json_kv_str(j, "source", library_source_name(f->source));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

/* ---------------------------------------------------------------------
 * Jobs on the thread pool.
 */

enum lib_job_kind {
	JOB_SCAN,
	JOB_QUERY,
	JOB_FACET,
	JOB_FILE,
	JOB_COVER,
	JOB_DOCS,
	JOB_STATUS,
	JOB_UPLOADS,
};

struct lib_job {
	uv_work_t work;
	struct library *lib;
	struct lib_job *next; /* waiting */
	enum lib_job_kind kind;
	union {
		library_page_fn *page;
		library_facet_fn *facet;
		library_file_fn *file;
		library_cover_fn *cover;
		library_docs_fn *docs;
		library_status_fn *status;
		library_uploads_fn *uploads;
	} cb;
	void *arg;
	char *user;
	/* Inputs. */
	struct library_query q;
	char **strs; /* the query's copied strings, freed with the job */
	size_t nstrs;
	enum library_facet_kind facet;
	char *id; /* file or book id */
	int max_w, max_h;
	bool scanning;
	const char *watch;
	struct library_uploads_query uq; /* JOB_UPLOADS' (id in id) */
	/* Results. */
	struct page_result page; /* JOB_QUERY's, JOB_UPLOADS' */
	bool more;
	struct library_facet_value *values;
	struct library_facet_page fpage;
	int fd, status;
	struct library_book *book; /* JOB_FILE's, JOB_DOCS' books */
	struct library_book **books;
	size_t nbooks;
	struct buf out; /* a thumbnail, or a scan's summary */
	char etag[40];
	struct library_status st;
	struct buf dirs; /* JOB_SCAN: the folders it walked */
	size_t ndirs;
	char *error;
};

struct library {
	uv_loop_t *loop;
	char *data_dir;
	const char *share; /* library_share (the config's) */
	struct lib_roots roots;
	uv_mutex_t mu; /* dbs */
	sqlite3 *dbs[LIB_DB_POOL];
	size_t ndbs;
	struct lib_job *wait_head, *wait_tail;
	unsigned running;
	bool freed;
	/*
	 * The index has been opened and the first scan asked for: at once by
	 * library_new, or at the first job when library_new found nothing to
	 * look at (lib_is_idle).
	 */
	bool opened;
	bool scanning, scan_again;
	library_scanned_fn *on_scanned;
	void *on_scanned_arg;
	/* Watching the folders: inotify, or a periodic rescan. */
	uv_fs_event_t **watches;
	size_t nwatches;
	uv_timer_t *debounce; /* a change seen: scan when it fires */
	uv_timer_t *periodic; /* the rescans without inotify */
	unsigned rescan_s;
	const char *watch; /* "inotify", "periodic", "off" */
	/* The cover thumbnails' bytes (about: written since a sweep). */
	uint64_t cover_limit;
	atomic_uint_fast64_t cover_bytes;
};

/*
 * A connection to the index for a worker (NULL, logged, on failure). A
 * new one is opened under the mutex: two workers making a new index at
 * once can fail ("database is locked": setting up its schema does not
 * always wait for the other), and the pool is empty only for the first
 * jobs.
 */
static sqlite3 *
db_get(struct library *lib)
{
	sqlite3 *db = NULL;
	struct buf err = BUF_INIT;

	uv_mutex_lock(&lib->mu);
	if (lib->ndbs > 0)
		db = lib->dbs[--lib->ndbs];
	else
		db = lib_db_open(lib->data_dir, lib->share, &err);
	uv_mutex_unlock(&lib->mu);
	if (db == NULL)
		log_warnx("library: %s", err.data);
	buf_release(&err);
	return db;
}

static void
db_put(struct library *lib, sqlite3 *db)
{
	if (db == NULL)
		return;
	uv_mutex_lock(&lib->mu);
	if (lib->ndbs < LIB_DB_POOL) {
		lib->dbs[lib->ndbs++] = db;
		db = NULL;
	}
	uv_mutex_unlock(&lib->mu);
	sqlite3_close(db);
}

static char *
job_str(struct lib_job *j, const char *s)
{
	if (s == NULL)
		return NULL;
	j->strs = xrealloc(j->strs, (j->nstrs + 1) * sizeof(*j->strs));
	return j->strs[j->nstrs++] = xstrdup(s);
}

static struct lib_job *
job_new(
    struct library *lib, enum lib_job_kind kind, const char *user, void *arg)
{
	struct lib_job *j = xcalloc(1, sizeof(*j));

	j->lib = lib;
	j->kind = kind;
	j->arg = arg;
	j->user = xstrdup(user != NULL ? user : "");
	j->fd = -1;
	buf_init(&j->out);
	buf_init(&j->dirs);
	return j;
}

static void
status_release(struct library_status *st)
{
	size_t i;

	for (i = 0; i < st->nskipped; i++) {
		cfree(st->skipped[i].path);
		cfree(st->skipped[i].reason);
	}
	cfree(st->skipped);
	cfree(st->sources);
	memset(st, 0, sizeof(*st));
}

static void
job_free(struct lib_job *j)
{
	size_t i;

	for (i = 0; i < j->nstrs; i++)
		free(j->strs[i]);
	free(j->strs);
	cfree(j->q.docs);
	free(j->user);
	free(j->id);
	page_result_release(&j->page);
	for (i = 0; i < j->fpage.nvalues; i++)
		cfree(j->values[i].value);
	free(j->values);
	if (j->fd != -1)
		close(j->fd);
	if (j->book != NULL) {
		book_release(j->book);
		free(j->book);
	}
	for (i = 0; i < j->nbooks; i++) {
		if (j->books[i] != NULL) {
			book_release(j->books[i]);
			free(j->books[i]);
		}
	}
	free(j->books);
	buf_release(&j->out);
	buf_release(&j->dirs);
	status_release(&j->st);
	free(j->error);
	free(j);
}

static void job_work(uv_work_t *w);
static void job_after(uv_work_t *w, int status);

/* Start waiting jobs while fewer than LIBRARY_MAX_JOBS run. */
static void
jobs_pump(struct library *lib)
{
	while (lib->running < LIBRARY_MAX_JOBS && lib->wait_head != NULL) {
		struct lib_job *j = lib->wait_head;

		lib->wait_head = j->next;
		if (lib->wait_head == NULL)
			lib->wait_tail = NULL;
		j->next = NULL;
		j->work.data = j;
		if (uv_queue_work(lib->loop, &j->work, job_work, job_after) !=
		    0) {
			log_warnx("library: cannot queue a job");
			job_free(j);
			continue;
		}
		lib->running++;
	}
}

/*
 * Queue j. The first job of a library that library_new left unopened
 * starts the first scan before it (which watches the folders from then
 * on); the index is made by the first of their workers to open it
 * (db_get).
 */
static void
job_submit(struct lib_job *j)
{
	struct library *lib = j->lib;

	if (!lib->opened)
		library_scan_now(lib);
	if (lib->wait_tail != NULL)
		lib->wait_tail->next = j;
	else
		lib->wait_head = j;
	lib->wait_tail = j;
	jobs_pump(lib);
}

/* ---------------------------------------------------------------------
 * The jobs' work.
 */

static void
work_facet(sqlite3 *db, struct lib_job *j)
{
	static const char *const sqls[] = {
	    [LIBRARY_FACET_AUTHORS] =
	        "SELECT a.name, count(DISTINCT b.id), min(a.sort) AS k FROM "
	        "book_authors a JOIN books b ON b.id=a.book_id WHERE "
	        "(b.owner=lib_shared(?1) OR b.owner=?1 OR " LIB_SHARED_ID(
	            "b.id") ") GROUP BY a.name",
	    [LIBRARY_FACET_SERIES] =
	        "SELECT b.series, count(*), b.series AS k FROM books b WHERE "
	        "b.series<>'' AND (b.owner=lib_shared(?1) OR b.owner=?1 "
	        "OR " LIB_SHARED_ID("b.id") ") GROUP BY b.series",
	    [LIBRARY_FACET_LANGUAGES] =
	        "SELECT b.language, count(*), b.language AS k FROM books b "
	        "WHERE b.language<>'' AND (b.owner=lib_shared(?1) OR "
	        "b.owner=?1 OR " LIB_SHARED_ID("b.id") ") GROUP BY "
	                                               "b.language",
	    [LIBRARY_FACET_TAGS] =
	        "SELECT t.tag, count(DISTINCT b.id), t.tag AS k FROM book_tags "
	        "t JOIN books b ON b.id=t.book_id WHERE "
	        "(b.owner=lib_shared(?1) OR "
	        "b.owner=?1 OR " LIB_SHARED_ID("b.id") ") GROUP BY t.tag",
	};
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	unsigned limit = j->q.limit == 0 ? 50 : j->q.limit;
	size_t cap = 0;

	if (limit > LIBRARY_MAX_PAGE)
		limit = LIBRARY_MAX_PAGE;
	buf_addf(&sql, "SELECT count(*) FROM (%s)", sqls[j->facet]);
	st = lib_prepare(db, sql.data);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, j->user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		j->fpage.total = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	buf_reset(&sql);
	buf_addf(&sql, "%s ORDER BY k COLLATE NOCASE, 1 LIMIT %u OFFSET %llu",
	    sqls[j->facet], limit, (unsigned long long)j->q.offset);
	st = lib_prepare(db, sql.data);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, j->user, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (j->fpage.nvalues == cap) {
			cap = cap * 2 + 8;
			j->values =
			    xrealloc(j->values, cap * sizeof(*j->values));
		}
		j->values[j->fpage.nvalues].value = xstrdup(col_text(st, 0));
		j->values[j->fpage.nvalues].count =
		    (uint64_t)sqlite3_column_int64(st, 1);
		j->fpage.nvalues++;
	}
	sqlite3_finalize(st);
	j->fpage.values = j->values;
	j->fpage.last_modified = last_modified(db, j->user);
	buf_release(&sql);
	return;
fail:
	buf_release(&sql);
	j->error = xstrdup("the library index cannot be read");
}

/*
 * The book id visible to user, loaded into a new book; NULL when none.
 */
static struct library_book *
book_load(sqlite3 *db, const char *user, const char *id)
{
	struct library_book *b = NULL;
	sqlite3_stmt *st = lib_prepare(db,
	    "SELECT " BOOK_COLUMNS " FROM books b WHERE b.id=?1 AND "
	    "(b.owner=lib_shared(?2) OR b.owner=?2 OR " LIB_SHARED_ID(
	        "b.id") ")");

	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_stmt *fs = book_files_stmt(db);

		b = xcalloc(1, sizeof(*b));
		book_from_row(fs, st, b);
		sqlite3_finalize(fs);
	}
	sqlite3_finalize(st);
	return b;
}

/* Whether the file open at fd lies inside the folder root. */
static bool
fd_inside(int fd, const char *root)
{
	char link[64], *real_root;
	char target[PATH_MAX];
	ssize_t n;
	size_t rl;
	bool in;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	real_root = realpath(root, NULL);
	if (real_root == NULL)
		return false;
	rl = strlen(real_root);
	in = strncmp(target, real_root, rl) == 0 && target[rl] == '/';
	free(real_root);
	return in;
}

static void
work_file(sqlite3 *db, struct lib_job *j)
{
	sqlite3_stmt *st = lib_prepare(db,
	    "SELECT path, root, book_id FROM files WHERE id=?1 AND "
	    "(owner=lib_shared(?2) OR owner=?2 OR " LIB_SHARED_ID(
	        "book_id") ")");
	char *path = NULL, *root = NULL, *book_id = NULL;
	struct stat sb;
	size_t i;

	j->status = 404;
	if (st == NULL) {
		j->status = 500;
		j->error = xstrdup("the library index cannot be read");
		return;
	}
	sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		path = xstrdup(col_text(st, 0));
		root = xstrdup(col_text(st, 1));
		book_id = xstrdup(col_text(st, 2));
	}
	sqlite3_finalize(st);
	if (path == NULL) {
		j->error = xstrdup("no such file");
		goto out;
	}
	j->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (j->fd == -1 || fstat(j->fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    !fd_inside(j->fd, root)) {
		j->error = xstrdup("the file is gone");
		goto out;
	}
	j->book = book_load(db, j->user, book_id);
	if (j->book == NULL) {
		j->error = xstrdup("no such file");
		goto out;
	}
	for (i = 0; i < j->book->nfiles; i++)
		if (strcmp(j->book->files[i].id, j->id) == 0)
			break;
	if (i == j->book->nfiles) {
		j->error = xstrdup("no such file");
		goto out;
	}
	j->status = 200;
out:
	if (j->status != 200 && j->fd != -1) {
		close(j->fd);
		j->fd = -1;
	}
	free(path);
	free(root);
	free(book_id);
}

/* The fixed thumbnail sizes: a request is rounded up to one. */
static const int cover_sides[] = {100, 200, 400, 800};

static void
work_cover(sqlite3 *db, struct lib_job *j)
{
	sqlite3_stmt *st = lib_prepare(db,
	    "SELECT cover_path, cover_kind, updated FROM books WHERE id=?1 "
	    "AND (owner=lib_shared(?2) OR owner=?2 OR " LIB_SHARED_ID(
	        "id") ")");
	char *cpath = NULL;
	int kind = 0, side = cover_sides[3], fd = -1;
	int64_t updated = 0;
	struct buf cache = BUF_INIT, img = BUF_INIT, why = BUF_INIT,
	           tmp = BUF_INIT;
	struct bookmeta m;
	struct bookzip_src src;
	struct stat sb;
	size_t i;
	int want = j->max_w > j->max_h ? j->max_w : j->max_h;

	bookmeta_init(&m);
	j->status = 404;
	if (st == NULL) {
		j->status = 500;
		j->error = xstrdup("the library index cannot be read");
		return;
	}
	sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cpath = xstrdup(col_text(st, 0));
		kind = sqlite3_column_int(st, 1);
		updated = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (cpath == NULL || kind == 0) {
		j->error = xstrdup(cpath == NULL ? "no such book" : "no cover");
		goto out;
	}
	for (i = 0; i < sizeof(cover_sides) / sizeof(cover_sides[0]); i++)
		if (want <= cover_sides[i]) {
			side = cover_sides[i];
			break;
		}
	snprintf(j->etag, sizeof(j->etag), "\"%.12s-%d-%lld\"", j->id, side,
	    (long long)updated);
	buf_addf(&cache, "%s/%s/covers", j->lib->data_dir, LIBRARY_DIR);
	(void)mkdir(cache.data, 0700);
	buf_addf(&cache, "/%s-%d-%lld.jpg", j->id, side, (long long)updated);
	fd = open(cache.data, O_RDONLY | O_CLOEXEC);
	if (fd != -1 && fstat(fd, &sb) == 0 && sb.st_size > 0 &&
	    (uint64_t)sb.st_size <= COVER_MAX_OUTPUT) {
		buf_grow(&j->out, (size_t)sb.st_size);
		if (read(fd, j->out.data, (size_t)sb.st_size) == sb.st_size) {
			j->out.len = (size_t)sb.st_size;
			j->out.data[j->out.len] = '\0';
			j->status = 200;
			goto out;
		}
		buf_reset(&j->out);
	}
	if (fd != -1)
		close(fd);
	fd = open(cpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		j->error = xstrdup("no cover");
		goto out;
	}
	src = (struct bookzip_src){.fd = fd, .size = (uint64_t)sb.st_size};
	if (kind == 2) {
		/* An image file (Calibre's cover.jpg). */
		if ((uint64_t)sb.st_size > BOOKMETA_MAX_COVER_BYTES) {
			j->error = xstrdup("cover too large");
			goto out;
		}
		buf_grow(&img, (size_t)sb.st_size);
		if (bookzip_src_read(&src, 0, img.data, (size_t)sb.st_size) !=
		    (ssize_t)sb.st_size) {
			j->error = xstrdup("cover unreadable");
			goto out;
		}
		img.len = (size_t)sb.st_size;
	} else {
		struct bookmeta_limits lim;

		bookmeta_limits_default(&lim);
		if (bookmeta_read(&src, cpath, &lim, &m, &why) == -1 ||
		    bookmeta_cover_bytes(&src, &m, &lim, &img, &why) != 1) {
			j->error = xstrdup("no cover");
			goto out;
		}
	}
	if (cover_thumbnail(
	        img.data, img.len, side * 2 / 3, side, &j->out, &why) == -1) {
		j->error = xstrdup(why.data);
		goto out;
	}
	j->status = 200;
	buf_addf(&tmp, "%s.tmp%lu", cache.data, (unsigned long)uv_os_getpid());
	close(fd);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd != -1 &&
	    write(fd, j->out.data, j->out.len) == (ssize_t)j->out.len &&
	    rename(tmp.data, cache.data) == 0) {
		close(fd);
		fd = -1;
		if (atomic_fetch_add(&j->lib->cover_bytes, j->out.len) +
		        j->out.len >
		    j->lib->cover_limit)
			atomic_store(&j->lib->cover_bytes,
			    cover_sweep(
			        db, j->lib->data_dir, j->lib->cover_limit));
	} else
		(void)unlink(tmp.data);
out:
	if (fd != -1)
		close(fd);
	free(cpath);
	bookmeta_release(&m);
	buf_release(&cache);
	buf_release(&img);
	buf_release(&why);
	buf_release(&tmp);
}

static void
work_docs(sqlite3 *db, struct lib_job *j)
{
	sqlite3_stmt *st = lib_prepare(db,
	    "SELECT book_id FROM files WHERE (partial_md5=?1 OR "
	    "filename_md5=?1) AND (owner=lib_shared(?2) OR owner=?2 "
	    "OR " LIB_SHARED_ID("book_id") ") LIMIT 1");
	size_t i;

	j->books = xcalloc(j->nbooks + 1, sizeof(struct library_book *));
	if (st == NULL) {
		j->error = xstrdup("the library index cannot be read");
		return;
	}
	for (i = 0; i < j->nbooks; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, j->strs[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, j->user, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			char *id = xstrdup(col_text(st, 0));

			sqlite3_reset(st);
			j->books[i] = book_load(db, j->user, id);
			free(id);
		}
	}
	sqlite3_finalize(st);
}

/* The books and files of the whole index. */
static void
scan_counts(sqlite3 *db, uint64_t *books, uint64_t *files)
{
	sqlite3_stmt *st =
	    lib_prepare(db, "SELECT (SELECT count(*) FROM "
	                    "books), (SELECT count(*) FROM files)");

	*books = *files = 0;
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		*books = (uint64_t)sqlite3_column_int64(st, 0);
		*files = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
}

/* Fill out (released by status_release) from db and roots. */
static void
status_read(
    sqlite3 *db, const struct lib_roots *roots, struct library_status *out)
{
	struct library_source_info *src;
	struct library_skip *sk = NULL;
	sqlite3_stmt *st;
	size_t i, cap = 0;

	src = xcalloc(roots->n + 1, sizeof(*src));
	for (i = 0; i < roots->n; i++) {
		struct stat sb;
		struct buf mdb = BUF_INIT;

		src[i].path = roots->v[i].path;
		src[i].kind = roots->v[i].kind;
		buf_addf(&mdb, "%s/metadata.db", roots->v[i].path);
		if (src[i].kind == LIBRARY_SRC_FOLDER &&
		    stat(mdb.data, &sb) == 0)
			src[i].kind = LIBRARY_SRC_CALIBRE;
		buf_release(&mdb);
		src[i].available = stat(roots->v[i].path, &sb) == 0 &&
		                   S_ISDIR(sb.st_mode) &&
		                   access(roots->v[i].path, R_OK | X_OK) == 0;
		st = lib_prepare(db, "SELECT count(*), count(DISTINCT book_id) "
		                     "FROM files WHERE root=?1");
		if (st == NULL)
			continue;
		sqlite3_bind_text(st, 1, roots->v[i].path, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			src[i].files = (uint64_t)sqlite3_column_int64(st, 0);
			src[i].books = (uint64_t)sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
	}
	out->sources = src;
	out->nsources = roots->n;
	out->upload_path = roots->upload_path;
	scan_counts(db, &out->books, &out->files);
	out->last_scan = meta_get(db, "last_scan");
	out->last_scan_ms = (uint64_t)meta_get(db, "last_scan_ms");
	out->last_scan_read = (uint64_t)meta_get(db, "last_scan_read");
	out->skipped_total = (uint64_t)meta_get(db, "skipped_total");
	st = lib_prepare(db, "SELECT path, reason FROM skipped ORDER BY path");
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		if (out->nskipped == cap) {
			cap = cap * 2 + 16;
			sk = xrealloc(sk, cap * sizeof(*sk));
		}
		sk[out->nskipped].path = xstrdup(col_text(st, 0));
		sk[out->nskipped].reason = xstrdup(col_text(st, 1));
		out->nskipped++;
	}
	sqlite3_finalize(st);
	out->skipped = sk;
}

static void
work_status(sqlite3 *db, struct lib_job *j)
{
	status_read(db, &j->lib->roots, &j->st);
	j->st.scanning = j->scanning;
	j->st.watch = j->watch;
}

/* JOB_UPLOADS: a page of the accounts' uploads, one more to tell "more". */
static void
work_uploads(sqlite3 *db, struct lib_job *j)
{
	struct page_result *r = &j->page;
	unsigned limit = j->uq.limit;
	sqlite3_stmt *st = lib_prepare(db,
	    "SELECT " BOOK_COLUMNS " FROM books b WHERE b.owner<>'' AND "
	    "(?1='' OR b.owner=?1) AND (?2=0 OR b.added<?3 OR "
	    "(b.added=?3 AND b.id>?4)) ORDER BY b.added DESC, b.id LIMIT ?5");
	sqlite3_stmt *fs = book_files_stmt(db);

	if (st == NULL || fs == NULL) {
		sqlite3_finalize(st);
		sqlite3_finalize(fs);
		r->error = xstrdup("the library index cannot be read");
		return;
	}
	sqlite3_bind_text(st, 1, j->user, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, j->uq.after ? 1 : 0);
	sqlite3_bind_int64(st, 3, j->uq.added);
	sqlite3_bind_text(st, 4, j->id != NULL ? j->id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)limit + 1);
	j->more = page_rows(st, fs, r, limit);
	sqlite3_finalize(st);
	sqlite3_finalize(fs);
}

static void
job_work(uv_work_t *w)
{
	struct lib_job *j = w->data;
	sqlite3 *db = db_get(j->lib);

	if (db == NULL) {
		j->status = 500;
		j->error = xstrdup("the library index cannot be opened");
		return;
	}
	switch (j->kind) {
	case JOB_SCAN:
		if (scan_run(
		        db, &j->lib->roots, &j->out, &j->dirs, &j->ndirs) == -1)
			j->error = xstrdup(j->out.data);
		else {
			scan_counts(db, &j->st.books, &j->st.files);
			atomic_store(&j->lib->cover_bytes,
			    cover_sweep(
			        db, j->lib->data_dir, j->lib->cover_limit));
		}
		break;
	case JOB_QUERY:
		query_run(db, j->user, &j->q, &j->page);
		break;
	case JOB_FACET:
		work_facet(db, j);
		break;
	case JOB_FILE:
		work_file(db, j);
		break;
	case JOB_COVER:
		work_cover(db, j);
		break;
	case JOB_DOCS:
		work_docs(db, j);
		break;
	case JOB_STATUS:
		work_status(db, j);
		break;
	case JOB_UPLOADS:
		work_uploads(db, j);
		break;
	}
	db_put(j->lib, db);
}

static void lib_destroy(struct library *lib);

static void
handle_free(uv_handle_t *h)
{
	free(h);
}

/* Stop watching every folder. */
static void
watch_stop(struct library *lib)
{
	size_t i;

	for (i = 0; i < lib->nwatches; i++)
		uv_close((uv_handle_t *)lib->watches[i], handle_free);
	free(lib->watches);
	lib->watches = NULL;
	lib->nwatches = 0;
}

static void
watch_debounced(uv_timer_t *t)
{
	library_scan_now(t->data);
}

/* A change in a watched folder: scan once they stop for a moment. */
static void
watch_event(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct library *lib = h->data;

	(void)name;
	(void)events;
	(void)status;
	uv_timer_start(lib->debounce, watch_debounced, LIBRARY_DEBOUNCE_MS, 0);
}

/*
 * Watch the ndirs folders in dirs (each NUL-ended) with inotify; past
 * LIBRARY_MAX_WATCHES folders, or when a watch cannot be added, rescan
 * every rescan_s seconds instead.
 */
static void
watch_update(struct library *lib, const struct buf *dirs, size_t ndirs)
{
	const char *p = dirs->data;
	size_t i;
	bool ok = ndirs <= LIBRARY_MAX_WATCHES;

	watch_stop(lib);
	if (ok) {
		lib->watches = xcalloc(ndirs + 1, sizeof(uv_fs_event_t *));
		for (i = 0; i < ndirs && ok; i++, p += strlen(p) + 1) {
			uv_fs_event_t *h = xcalloc(1, sizeof(*h));

			if (uv_fs_event_init(lib->loop, h) != 0) {
				free(h);
				ok = false;
				break;
			}
			h->data = lib;
			lib->watches[lib->nwatches++] = h;
			if (fault_check(FAULT_LIBRARY_WATCH) != 0 ||
			    uv_fs_event_start(h, watch_event, p, 0) != 0)
				ok = false;
		}
	}
	if (ok) {
		lib->watch = "inotify";
		uv_timer_stop(lib->periodic);
		return;
	}
	watch_stop(lib);
	if (lib->rescan_s == 0) {
		lib->watch = "off";
		return;
	}
	if (strcmp(lib->watch, "periodic") != 0)
		log_info("library: %zu folders, not watched: a rescan every "
		         "%u s",
		    ndirs, lib->rescan_s);
	lib->watch = "periodic";
	if (!uv_is_active((uv_handle_t *)lib->periodic))
		uv_timer_start(lib->periodic, watch_debounced,
		    (uint64_t)lib->rescan_s * 1000,
		    (uint64_t)lib->rescan_s * 1000);
}

static void
job_after(uv_work_t *w, int status)
{
	struct lib_job *j = w->data;
	struct library *lib = j->lib;

	(void)status;
	lib->running--;
	if (lib->freed) {
		job_free(j);
		if (lib->running == 0)
			lib_destroy(lib);
		return;
	}
	switch (j->kind) {
	case JOB_SCAN:
		lib->scanning = false;
		if (j->error != NULL) {
			log_warnx("library: %s", j->error);
		} else {
			log_info("library: %s", j->out.data);
			watch_update(lib, &j->dirs, j->ndirs);
		}
		if (lib->on_scanned != NULL)
			lib->on_scanned(
			    lib->on_scanned_arg, j->st.books, j->st.files);
		if (lib->scan_again) {
			lib->scan_again = false;
			library_scan_now(lib);
		}
		break;
	case JOB_QUERY:
		j->cb.page(j->arg, j->page.error != NULL ? NULL : &j->page.page,
		    j->page.error);
		break;
	case JOB_FACET:
		j->cb.facet(
		    j->arg, j->error != NULL ? NULL : &j->fpage, j->error);
		break;
	case JOB_FILE: {
		int fd = j->fd;
		const struct library_file *f = NULL;
		size_t i;

		j->fd = -1;
		if (j->book != NULL && fd != -1)
			for (i = 0; i < j->book->nfiles; i++)
				if (strcmp(j->book->files[i].id, j->id) == 0)
					f = &j->book->files[i];
		j->cb.file(j->arg, fd, f, fd != -1 ? j->book : NULL, j->status,
		    j->error);
		break;
	}
	case JOB_COVER:
		j->cb.cover(j->arg, j->status, j->out.data, j->out.len, j->etag,
		    j->error);
		break;
	case JOB_DOCS:
		j->cb.docs(j->arg, (const struct library_book *const *)j->books,
		    j->nbooks, j->error);
		break;
	case JOB_STATUS:
		j->cb.status(
		    j->arg, j->error != NULL ? NULL : &j->st, j->error);
		break;
	case JOB_UPLOADS: {
		struct library_uploads_page up = {
		    j->page.books, j->page.page.nbooks, j->more};
		const char *err = j->error != NULL ? j->error : j->page.error;

		j->cb.uploads(j->arg, err != NULL ? NULL : &up, err);
		break;
	}
	}
	job_free(j);
	jobs_pump(lib);
}

int
library_status_sync(const struct config *cfg, library_status_fn *cb, void *arg)
{
	struct library_status st;
	struct lib_roots roots;
	struct buf err = BUF_INIT;
	sqlite3 *db;

	db = lib_db_open(cfg->data_dir, cfg->library_share, &err);
	if (db == NULL) {
		cb(arg, NULL, err.data);
		buf_release(&err);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	roots_from_config(cfg, &roots);
	status_read(db, &roots, &st);
	st.watch = "off";
	cb(arg, &st, NULL);
	status_release(&st);
	roots_release(&roots);
	sqlite3_close(db);
	return 0;
}

void
library_status_json(struct json_out *j, const struct library_status *st)
{
	size_t i;

	json_obj_begin(j);
	json_key(j, "sources");
	json_arr_begin(j);
	for (i = 0; i < st->nsources; i++) {
		const struct library_source_info *s = &st->sources[i];

		json_obj_begin(j);
		json_kv_str(j, "path", s->path);
		json_kv_str(j, "kind", library_source_name(s->kind));
		json_kv_bool(j, "available", s->available);
		json_kv_uint(j, "books", s->books);
		json_kv_uint(j, "files", s->files);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kv_str(j, "upload_path", st->upload_path);
	json_kv_bool(j, "scanning", st->scanning);
	json_kv_uint(j, "books", st->books);
	json_kv_uint(j, "files", st->files);
	json_kv_int(j, "last_scan", st->last_scan);
	json_kv_uint(j, "last_scan_ms", st->last_scan_ms);
	json_kv_uint(j, "last_scan_read", st->last_scan_read);
	json_kv_str(j, "watch", st->watch);
	json_kv_uint(j, "skipped_total", st->skipped_total);
	json_key(j, "skipped");
	json_arr_begin(j);
	for (i = 0; i < st->nskipped; i++)
		json_pair(j, "path", st->skipped[i].path, "reason",
		    st->skipped[i].reason);
	json_arr_end(j);
	json_obj_end(j);
}

/* ---------------------------------------------------------------------
 * The API (on the loop).
 */

void
library_query(struct library *lib, const char *user,
    const struct library_query *q, library_page_fn *cb, void *arg)
{
	struct lib_job *j = job_new(lib, JOB_QUERY, user, arg);
	size_t i, n = q->ndocs;
	const char **docs;

	if (n > LIBRARY_MAX_DOCS)
		n = LIBRARY_MAX_DOCS;
	j->q = *q;
	j->q.author = job_str(j, q->author);
	j->q.series = job_str(j, q->series);
	j->q.language = job_str(j, q->language);
	j->q.tag = job_str(j, q->tag);
	j->q.search = job_str(j, q->search);
	j->q.book_id = job_str(j, q->book_id);
	j->q.cursor = job_str(j, q->cursor);
	docs = xcalloc(n + 1, sizeof(*docs));
	for (i = 0; i < n; i++)
		docs[i] = job_str(j, q->docs[i]);
	j->q.docs = docs;
	j->q.ndocs = n;
	j->cb.page = cb;
	job_submit(j);
}

void
library_facet(struct library *lib, const char *user,
    enum library_facet_kind kind, uint64_t offset, unsigned limit,
    library_facet_fn *cb, void *arg)
{
	struct lib_job *j = job_new(lib, JOB_FACET, user, arg);

	j->facet =
	    (unsigned)kind <= LIBRARY_FACET_TAGS ? kind : LIBRARY_FACET_AUTHORS;
	j->q.offset = offset;
	j->q.limit = limit;
	j->cb.facet = cb;
	job_submit(j);
}

void
library_file_open(struct library *lib, const char *user, const char *file_id,
    library_file_fn *cb, void *arg)
{
	struct lib_job *j = job_new(lib, JOB_FILE, user, arg);

	j->id = xstrdup(file_id);
	j->cb.file = cb;
	job_submit(j);
}

void
library_cover(struct library *lib, const char *user, const char *book_id,
    int max_w, int max_h, library_cover_fn *cb, void *arg)
{
	struct lib_job *j = job_new(lib, JOB_COVER, user, arg);
	size_t i;

	/* The id names a cache file: hex digits only. */
	j->id = xstrdup(book_id);
	for (i = 0; j->id[i] != '\0'; i++)
		if (!((j->id[i] >= '0' && j->id[i] <= '9') ||
		        (j->id[i] >= 'a' && j->id[i] <= 'f')) ||
		    i >= MD5_HEX_LEN)
			j->id[0] = '\0';
	j->max_w = max_w;
	j->max_h = max_h;
	j->cb.cover = cb;
	job_submit(j);
}

void
library_docs(struct library *lib, const char *user, const char *const *doc_ids,
    size_t n, library_docs_fn *cb, void *arg)
{
	struct lib_job *j = job_new(lib, JOB_DOCS, user, arg);
	size_t i;

	if (n > LIBRARY_MAX_DOCS)
		n = LIBRARY_MAX_DOCS;
	for (i = 0; i < n; i++)
		(void)job_str(j, doc_ids[i]);
	j->nbooks = n;
	j->cb.docs = cb;
	job_submit(j);
}

void
library_uploads(struct library *lib, const struct library_uploads_query *q,
    library_uploads_fn *cb, void *arg)
{
	struct lib_job *j = job_new(lib, JOB_UPLOADS, q->account, arg);

	j->uq = *q;
	j->uq.account = NULL;
	if (j->uq.limit == 0 || j->uq.limit > LIBRARY_MAX_UPLOADS_PAGE)
		j->uq.limit = LIBRARY_MAX_UPLOADS_PAGE;
	j->id = q->after && q->id != NULL ? xstrdup(q->id) : NULL;
	j->uq.id = NULL;
	j->cb.uploads = cb;
	job_submit(j);
}

void
library_status(struct library *lib, library_status_fn *cb, void *arg)
{
	struct lib_job *j = job_new(lib, JOB_STATUS, NULL, arg);

	j->scanning = lib->scanning;
	j->watch = lib->watch;
	j->cb.status = cb;
	job_submit(j);
}

void
library_scan_now(struct library *lib)
{
	lib->opened = true;
	if (lib->scanning) {
		lib->scan_again = true;
		return;
	}
	lib->scanning = true;
	job_submit(job_new(lib, JOB_SCAN, NULL, NULL));
}

bool
library_is_open(const struct library *lib)
{
	return lib->opened;
}

void
library_on_scanned(struct library *lib, library_scanned_fn *fn, void *arg)
{
	lib->on_scanned = fn;
	lib->on_scanned_arg = arg;
}

/*
 * Whether cfg gives a start nothing of the library to look at: no
 * library_paths, no library_upload_path, and no index in the data
 * directory yet. Such a start leaves SQLite alone (its code is most of
 * what the library costs an idle server) until the library is asked for.
 */
static bool
lib_is_idle(const struct config *cfg)
{
	struct buf path = BUF_INIT;
	struct stat sb;
	bool idle;

	if ((cfg->library_paths != NULL && cfg->library_paths[0] != '\0') ||
	    (cfg->library_upload_path != NULL &&
	        cfg->library_upload_path[0] != '\0'))
		return false;
	buf_addf(
	    &path, "%s/%s/%s", cfg->data_dir, LIBRARY_DIR, LIBRARY_INDEX_FILE);
	idle = stat(path.data, &sb) == -1 && errno == ENOENT;
	buf_release(&path);
	return idle;
}

struct library *
library_new(uv_loop_t *loop, const struct config *cfg)
{
	struct library *lib = xcalloc(1, sizeof(*lib));
	struct buf err = BUF_INIT;
	bool idle = lib_is_idle(cfg);
	sqlite3 *db = NULL;

	lib->loop = loop;
	lib->data_dir = xstrdup(cfg->data_dir);
	lib->share = cfg->library_share;
	roots_from_config(cfg, &lib->roots);
	if (uv_mutex_init(&lib->mu) != 0)
		fatalx("cannot make a mutex");
	/* Made here once, so that a broken index shows at the start. */
	if (!idle &&
	    (db = lib_db_open(lib->data_dir, lib->share, &err)) == NULL) {
		log_warnx("library: %s", err.data);
		buf_release(&err);
		uv_mutex_destroy(&lib->mu);
		roots_release(&lib->roots);
		free(lib->data_dir);
		free(lib);
		return NULL;
	}
	if (db != NULL)
		lib->dbs[lib->ndbs++] = db;
	lib->watch = "off";
	lib->rescan_s = cfg->library_rescan_interval_s;
	lib->cover_limit = cover_cache_limit();
	atomic_init(&lib->cover_bytes, 0);
	lib->debounce = xcalloc(1, sizeof(*lib->debounce));
	lib->periodic = xcalloc(1, sizeof(*lib->periodic));
	uv_timer_init(loop, lib->debounce);
	uv_timer_init(loop, lib->periodic);
	lib->debounce->data = lib;
	lib->periodic->data = lib;
	if (idle)
		log_debug("no library folder and no index yet: opened when "
		          "first asked for");
	else
		library_scan_now(lib);
	return lib;
}

static void
lib_destroy(struct library *lib)
{
	size_t i;

	for (i = 0; i < lib->ndbs; i++)
		sqlite3_close(lib->dbs[i]);
	uv_mutex_destroy(&lib->mu);
	roots_release(&lib->roots);
	free(lib->data_dir);
	free(lib);
}

void
library_free(struct library *lib)
{
	struct lib_job *j;

	if (lib == NULL)
		return;
	while ((j = lib->wait_head) != NULL) {
		lib->wait_head = j->next;
		job_free(j);
	}
	lib->wait_tail = NULL;
	lib->freed = true;
	atomic_store(&lib->roots.stop, true);
	watch_stop(lib);
	uv_close((uv_handle_t *)lib->debounce, handle_free);
	uv_close((uv_handle_t *)lib->periodic, handle_free);
	if (lib->running == 0)
		lib_destroy(lib);
}

int
library_share_sync(
    const struct config *cfg, const char *book_id, bool on, struct buf *out)
{
	sqlite3 *db = lib_db_open(cfg->data_dir, cfg->library_share, out);
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);
	int rc = -1;

	if (db == NULL)
		return -1;
	st = lib_prepare(db, "SELECT 1 FROM books WHERE id=?1 AND owner<>''");
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, book_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : 1;
	sqlite3_finalize(st);
	if (rc == 1) {
		buf_addf(out, "no upload '%s' in the library", book_id);
		goto out;
	}
	rc = -1;
	st = lib_prepare(db, on ? "INSERT OR IGNORE INTO shares(book_id) "
	                          "VALUES(?1)"
	                        : "DELETE FROM shares WHERE book_id=?1");
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, book_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_finalize(st);
		goto out;
	}
	sqlite3_finalize(st);
	/* The catalogs changed for every account: Last-Modified moves on. */
	st = lib_prepare(db, "UPDATE books SET updated=max(updated, ?2) "
	                     "WHERE id=?1");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, book_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		(void)sqlite3_step(st);
		sqlite3_finalize(st);
	}
	meta_set(db, "removed", now);
	buf_addf(out, "%s %s", book_id,
	    on ? "shared with every account" : "its owner's alone");
	rc = 0;
out:
	if (rc == -1 && out->len == 0)
		buf_addf(out, "the library index: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}
