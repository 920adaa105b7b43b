/*
 * statsdb.c: read an uploaded KOReader statistics file as hostile input
 * (statsdb.h says what comes out).
 *
 * The defences, in the order they apply:
 * - the path is opened without following a symbolic link, must be a
 *   regular file of at most max_file_bytes starting with SQLite's magic;
 * - it is copied to a private temporary file (mode 0600, unlinked when the
 *   read ends), so nobody can change it under SQLite, and opened as
 *   "file:<copy>?immutable=1" read-only: no locks, no -wal or -shm files,
 *   though KOReader's header says WAL;
 * - the connection has SQLITE_DBCONFIG_DEFENSIVE, TRUSTED_SCHEMA off,
 *   extensions, triggers and views disabled, query_only, no mmap, a small
 *   page cache, and sqlite3_limit()s far below SQLite's defaults; SQLite's
 *   memory is bounded process-wide by STATSDB_HEAP_LIMIT, and the progress
 *   handler interrupts any statement once max_ms have passed since the
 *   read began;
 * - PRAGMA quick_check must answer "ok";
 * - book and page_stat_data must be ordinary tables (not views, not
 *   virtual tables) with the columns used, none of them generated;
 * - only "SELECT <columns> FROM main.<table>" statements of ours run:
 *   never the file's view page_stat, whose work is redone in statscalc.c;
 * - every value is checked: integers must be integers (a whole REAL is
 *   taken), text is cut at a NUL and at STATSDB_MAX_TEXT bytes and made
 *   valid UTF-8; counts are bounded by max_books and max_rows.
 *
 * Our own memory grows with the rows kept (32 bytes each) and the books.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "statsdb.h"
#include "xmalloc.h"

#define MAGIC "SQLite format 3"

struct reader {
	const struct statsdb_limits *lim;
	struct statsdb_limits dflt; /* lim when the caller gave none */
	const char *kind;           /* "statistics", for the reasons */
	struct timespec deadline;
	bool timed_out;
	sqlite3 *db;
	struct buf *reason;
};

void
statsdb_limits_default(struct statsdb_limits *lim)
{
	lim->max_file_bytes = STATSDB_MAX_FILE_BYTES;
	lim->max_books = STATSDB_MAX_BOOKS;
	lim->max_rows = STATSDB_MAX_ROWS;
	lim->max_ms = STATSDB_MAX_MS;
	lim->tmpdir = NULL;
}

void
statsdb_release(struct statsdb *db)
{
	size_t i;

	for (i = 0; i < db->nbooks; i++) {
		free(db->books[i].md5);
		free(db->books[i].title);
		free(db->books[i].authors);
		free(db->books[i].series);
		free(db->books[i].language);
	}
	free(db->books);
	free(db->rows);
	memset(db, 0, sizeof(*db));
}

static pthread_once_t heap_once = PTHREAD_ONCE_INIT;

/* Bound SQLite's heap, once for the process (the limit is global). */
static void
heap_limit_init(void)
{
	sqlite3_hard_heap_limit64(STATSDB_HEAP_LIMIT);
}

/*
 * Whether the read's deadline has passed. The clock is the calling
 * thread's CPU time: what the bound is for is the work a file makes the
 * server do, and on a loaded machine wall time would refuse good files.
 * (Nothing in a read waits without using CPU but the reads of a local
 * file.)
 */
static bool
past_deadline(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec &&
	           now.tv_nsec >= deadline->tv_nsec);
}

/* SQLite's progress handler: nonzero interrupts the statement. */
static int
on_progress(void *arg)
{
	struct reader *r = arg;

	if (past_deadline(&r->deadline)) {
		r->timed_out = true;
		return 1;
	}
	return 0;
}

/*
 * Set the reason from a failed SQLite call (the deadline explains an
 * interrupt better than SQLite does). Returns -1.
 */
static int
fail_sqlite(struct reader *r, const char *what)
{
	if (r->timed_out)
		buf_addf(r->reason, "reading took more than %lld ms of CPU",
		    (long long)r->lim->max_ms);
	else
		buf_addf(r->reason, "%s: %s", what,
		    r->db ? sqlite3_errmsg(r->db) : "cannot open");
	return -1;
}

/*
 * Copy the file open at in (from its first byte, whatever in's offset)
 * into a new private temporary file; its name goes to tmp (caller unlinks
 * it). Returns 0, or -1 with the reason set. in stays open.
 */
static int
copy_private(struct reader *r, int in, struct buf *tmp)
{
	const char *dir = r->lim->tmpdir;
	char block[65536];
	struct stat st;
	uint64_t total = 0;
	int out = -1, rc = -1;
	ssize_t n;

	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_adds(r->reason, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > r->lim->max_file_bytes) {
		buf_addf(r->reason,
		    "file of %lld bytes, more than the %llu "
		    "allowed",
		    (long long)st.st_size,
		    (unsigned long long)r->lim->max_file_bytes);
		goto out;
	}
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	buf_addf(tmp, "%s/kosyncd-stats-XXXXXX", dir);
	out = mkstemp(tmp->data);
	if (out < 0) {
		buf_addf(r->reason, "cannot make a private copy in '%s': %s",
		    dir, strerror(errno));
		buf_reset(tmp);
		goto out;
	}
	while ((n = pread(in, block, sizeof(block), (off_t)total)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_addf(r->reason, "cannot read the file: %s",
			    strerror(errno));
			goto out;
		}
		if (total == 0 &&
		    ((size_t)n < sizeof(MAGIC) ||
		        memcmp(block, MAGIC, sizeof(MAGIC)) != 0)) {
			buf_adds(r->reason, "not an SQLite database");
			goto out;
		}
		total += (uint64_t)n;
		if (total > r->lim->max_file_bytes) {
			buf_adds(
			    r->reason, "the file grew past the size allowed");
			goto out;
		}
		if (write(out, block, (size_t)n) != n) {
			buf_addf(r->reason, "cannot write the private copy: %s",
			    strerror(errno));
			goto out;
		}
	}
	if (total < 512) {
		buf_adds(r->reason, "not an SQLite database");
		goto out;
	}
	rc = 0;
out:
	if (out >= 0)
		close(out);
	return rc;
}

/* Append path to b percent-encoded for a file: URI. */
static void
uri_path(struct buf *b, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p)) {
			buf_addch(b, *p);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[*p >> 4]);
			buf_addch(b, hex[*p & 15]);
		}
	}
}

int
statsdb_open_hardened(const char *path, struct sqlite3 **out)
{
	static const struct {
		int op, value;
	} configs[] = {
	    {SQLITE_DBCONFIG_DEFENSIVE, 1},
	    {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
	    {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
	    {SQLITE_DBCONFIG_ENABLE_TRIGGER, 0},
	    {SQLITE_DBCONFIG_ENABLE_VIEW, 0},
	    {SQLITE_DBCONFIG_ENABLE_FKEY, 0},
	};
	static const struct {
		int id, value;
	} limits[] = {
	    {SQLITE_LIMIT_LENGTH, 1 << 20},
	    {SQLITE_LIMIT_SQL_LENGTH, 4096},
	    {SQLITE_LIMIT_COLUMN, 64},
	    {SQLITE_LIMIT_EXPR_DEPTH, 32},
	    {SQLITE_LIMIT_COMPOUND_SELECT, 4},
	    {SQLITE_LIMIT_VDBE_OP, 10000},
	    {SQLITE_LIMIT_FUNCTION_ARG, 8},
	    {SQLITE_LIMIT_ATTACHED, 0},
	    {SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 64},
	    {SQLITE_LIMIT_VARIABLE_NUMBER, 8},
	    {SQLITE_LIMIT_TRIGGER_DEPTH, 1},
	    {SQLITE_LIMIT_WORKER_THREADS, 0},
	};
	static const char pragmas[] = "PRAGMA query_only=1;"
	                              "PRAGMA mmap_size=0;"
	                              "PRAGMA cache_size=-4096;"
	                              "PRAGMA temp_store=MEMORY;";
	struct buf uri = BUF_INIT;
	size_t i;
	int rc;

	*out = NULL;
	buf_adds(&uri, "file:");
	uri_path(&uri, path);
	buf_adds(&uri, "?immutable=1");
	rc = sqlite3_open_v2(uri.data, out,
	    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
	        SQLITE_OPEN_PRIVATECACHE,
	    NULL);
	buf_release(&uri);
	if (rc != SQLITE_OK)
		return -1;
	for (i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		if (sqlite3_db_config(*out, configs[i].op, configs[i].value,
		        (int *)NULL) != SQLITE_OK)
			return -2;
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		sqlite3_limit(*out, limits[i].id, limits[i].value);
	if (sqlite3_exec(*out, pragmas, NULL, NULL, NULL) != SQLITE_OK)
		return -3;
	return 0;
}

/* Open the private copy with every defence on. Returns 0 or -1. */
static int
open_hardened(struct reader *r, const char *copy)
{
	switch (statsdb_open_hardened(copy, &r->db)) {
	case 0:
		break;
	case -1:
		return fail_sqlite(r, "cannot open the file");
	case -2:
		return fail_sqlite(r, "cannot configure SQLite");
	default:
		return fail_sqlite(r, "not a readable SQLite database");
	}
	sqlite3_progress_handler(r->db, 1000, on_progress, r);
	return 0;
}

/* Run PRAGMA quick_check; anything but "ok" refuses the file. */
static int
check_integrity(struct reader *r)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *text;
	size_t n;
	int rc;

	if (sqlite3_prepare_v2(r->db, "PRAGMA quick_check(1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return fail_sqlite(r, "not a readable SQLite database");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return fail_sqlite(r, "integrity check failed");
	}
	text = sqlite3_column_text(st, 0);
	if (!text || strcmp((const char *)text, "ok") != 0) {
		buf_adds(r->reason, "integrity check failed:");
		/* SQLite's report spans lines: keep the reason on one. */
		for (n = 0; text && text[n] && n < 200; n++)
			buf_addch(r->reason,
			    text[n] == '\n' || text[n] == '\r' ? ' ' : text[n]);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/*
 * Check that table is an ordinary table of the main schema with each of
 * the NULL-terminated cols, none generated. Returns 0, or -1 with the
 * reason set.
 */
static int
check_table(struct reader *r, const char *table, const char *const *cols)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *type, *sql;
	size_t i, found = 0, ncols = 0;
	int rc = -1, step;

	if (sqlite3_prepare_v2(r->db,
	        "SELECT type, sql FROM main.sqlite_schema WHERE name = ?1", -1,
	        &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC) != SQLITE_OK) {
		fail_sqlite(r, "cannot read the schema");
		goto out;
	}
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		buf_addf(r->reason, "no table %s: not a KOReader %s file",
		    table, r->kind);
		goto out;
	}
	if (step != SQLITE_ROW) {
		fail_sqlite(r, "cannot read the schema");
		goto out;
	}
	type = sqlite3_column_text(st, 0);
	sql = sqlite3_column_text(st, 1);
	if (!type || strcmp((const char *)type, "table") != 0) {
		buf_addf(r->reason, "%s is a %s, not a table", table,
		    type ? (const char *)type : "NULL");
		goto out;
	}
	if (!sql || strncasecmp((const char *)sql, "CREATE TABLE", 12) != 0) {
		buf_addf(r->reason, "%s is not an ordinary table", table);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(r->db,
	        "SELECT name, hidden FROM pragma_table_xinfo(?1, 'main')", -1,
	        &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC) != SQLITE_OK) {
		fail_sqlite(r, "cannot read the schema");
		goto out;
	}
	for (ncols = 0; cols[ncols]; ncols++)
		;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 0);

		for (i = 0; name && i < ncols; i++) {
			if (strcasecmp((const char *)name, cols[i]) != 0)
				continue;
			if (sqlite3_column_int(st, 1) != 0) {
				buf_addf(r->reason,
				    "%s.%s is a generated "
				    "column",
				    table, cols[i]);
				goto out;
			}
			found |= (size_t)1 << i;
		}
	}
	if (step != SQLITE_DONE) {
		fail_sqlite(r, "cannot read the schema");
		goto out;
	}
	for (i = 0; i < ncols; i++) {
		if (!(found & ((size_t)1 << i))) {
			buf_addf(
			    r->reason, "%s has no column %s", table, cols[i]);
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Read column i of st as an integer into *v: an INTEGER, or a REAL that is
 * a whole number in range. Returns false for NULL, text, blobs and others.
 */
static bool
column_int(sqlite3_stmt *st, int i, int64_t *v)
{
	double d;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		*v = sqlite3_column_int64(st, i);
		return true;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(st, i);
		if (!(d >= -9.0e15 && d <= 9.0e15) || d != (double)(int64_t)d)
			return false;
		*v = (int64_t)d;
		return true;
	default:
		return false;
	}
}

/*
 * The length of the valid UTF-8 sequence at s (n bytes left), or 0 when
 * the bytes there are not one (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF).
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

/*
 * A copy of column i of st as text fit to show: cut at the first NUL (old
 * PDF titles end in one) and at STATSDB_MAX_TEXT bytes on a character
 * boundary, each invalid byte replaced by '?'. NULL gives dflt.
 */
static char *
column_text(sqlite3_stmt *st, int i, const char *dflt)
{
	const unsigned char *s;
	struct buf b = BUF_INIT;
	size_t n, at = 0, len;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return xstrdup(dflt);
	s = sqlite3_column_text(st, i);
	if (!s)
		return xstrdup(dflt);
	n = (size_t)sqlite3_column_bytes(st, i);
	n = strnlen((const char *)s, n);
	while (at < n) {
		len = utf8_seq(s + at, n - at);
		if (b.len + (len ? len : 1) > STATSDB_MAX_TEXT)
			break;
		if (len) {
			buf_add(&b, s + at, len);
			at += len;
		} else {
			buf_addch(&b, '?');
			at++;
		}
	}
	return buf_detach(&b, NULL);
}

/*
 * Make the reason fit one line of a log or a web page: SQLite's messages
 * quote the file's schema, which may hold line breaks, control bytes and
 * invalid UTF-8. Those become ' ' and '?', and the line is cut at 300
 * bytes on a character boundary.
 */
static void
reason_clean(struct buf *reason, size_t from)
{
	struct buf b = BUF_INIT;
	const unsigned char *s = (const unsigned char *)reason->data + from;
	size_t n = reason->len - from, at = 0, len;

	buf_add(&b, reason->data, from);
	while (at < n && b.len - from < 300) {
		len = utf8_seq(s + at, n - at);
		if (len == 0) {
			buf_addch(&b, '?');
			at++;
		} else if (len == 1 && (s[at] < 0x20 || s[at] == 0x7f)) {
			buf_addch(&b, ' ');
			at++;
		} else {
			if (b.len - from + len > 300)
				break;
			buf_add(&b, s + at, len);
			at += len;
		}
	}
	buf_release(reason);
	*reason = b;
}

/* A book row of the file with its id, before books are unified. */
struct raw_book {
	int64_t id;
	struct statsdb_book b;
	size_t unified; /* index into statsdb.books */
};

/* The identity of a book: md5 when it has one, else title and authors. */
static int
book_identity_cmp(const struct statsdb_book *a, const struct statsdb_book *b)
{
	int c;

	if (*a->md5 || *b->md5) {
		if (!*a->md5 || !*b->md5)
			return *a->md5 ? -1 : 1;
		return strcasecmp(a->md5, b->md5);
	}
	c = strcmp(a->title, b->title);
	return c ? c : strcmp(a->authors, b->authors);
}

static int
raw_book_by_identity(const void *x, const void *y)
{
	const struct raw_book *a = *(const struct raw_book *const *)x;
	const struct raw_book *b = *(const struct raw_book *const *)y;
	int c = book_identity_cmp(&a->b, &b->b);

	if (c)
		return c;
	/* The latest opened first: its title and page count are kept. */
	if (a->b.last_open != b->b.last_open)
		return a->b.last_open > b->b.last_open ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
raw_book_by_id(const void *x, const void *y)
{
	const struct raw_book *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

static void
book_free(struct statsdb_book *b)
{
	free(b->md5);
	free(b->title);
	free(b->authors);
	free(b->series);
	free(b->language);
}

/*
 * Read the book table, unify the rows that are one book, and leave in
 * *raw (sorted by id) each row's index into db->books. Returns 0 or -1.
 */
static int
read_books(
    struct reader *r, struct statsdb *db, struct raw_book **rawp, size_t *nrawp)
{
	sqlite3_stmt *st = NULL;
	struct raw_book *raw = NULL, **order = NULL;
	size_t n = 0, cap = 0, i;
	int step, rc = -1;

	if (sqlite3_prepare_v2(r->db,
	        "SELECT id, md5, title, authors, series, language, pages, "
	        "last_open, highlights, notes FROM main.book",
	        -1, &st, NULL) != SQLITE_OK) {
		fail_sqlite(r, "cannot read the books");
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct raw_book *rb;
		int64_t v;

		db->book_rows++;
		if (!column_int(st, 0, &v)) {
			db->bad_rows++;
			continue;
		}
		if (n == r->lim->max_books) {
			buf_addf(r->reason, "more than %zu books",
			    r->lim->max_books);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			raw = xrealloc(raw, cap * sizeof(*raw));
		}
		rb = &raw[n++];
		memset(rb, 0, sizeof(*rb));
		rb->id = v;
		rb->b.md5 = column_text(st, 1, "");
		rb->b.title = column_text(st, 2, "");
		rb->b.authors = column_text(st, 3, "N/A");
		rb->b.series = column_text(st, 4, "N/A");
		rb->b.language = column_text(st, 5, "N/A");
		if (!column_int(st, 6, &rb->b.pages) || rb->b.pages < 0 ||
		    rb->b.pages > STATSDB_MAX_PAGE)
			rb->b.pages = 0;
		if (!column_int(st, 7, &rb->b.last_open))
			rb->b.last_open = 0;
		if (!column_int(st, 8, &rb->b.highlights))
			rb->b.highlights = 0;
		if (!column_int(st, 9, &rb->b.notes))
			rb->b.notes = 0;
	}
	if (step != SQLITE_DONE) {
		fail_sqlite(r, "cannot read the books");
		goto out;
	}
	order = xcalloc(n ? n : 1, sizeof(struct raw_book *));
	for (i = 0; i < n; i++)
		order[i] = &raw[i];
	qsort(order, n, sizeof(struct raw_book *), raw_book_by_identity);
	db->books = xcalloc(n ? n : 1, sizeof(*db->books));
	for (i = 0; i < n; i++) {
		struct statsdb_book *b = &order[i]->b;

		if (i > 0 && book_identity_cmp(
		                 &db->books[order[i - 1]->unified], b) == 0) {
			order[i]->unified = order[i - 1]->unified;
			continue;
		}
		order[i]->unified = db->nbooks;
		db->books[db->nbooks++] = *b;
		memset(b, 0, sizeof(*b)); /* moved */
	}
	if (n)
		qsort(raw, n, sizeof(*raw), raw_book_by_id);
	rc = 0;
out:
	sqlite3_finalize(st);
	free(order);
	for (i = 0; i < n; i++)
		book_free(&raw[i].b);
	*rawp = raw;
	*nrawp = n;
	return rc;
}

/* The book index of id_book, or -1 when no book has it. */
static int64_t
find_book(const struct raw_book *raw, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (raw[mid].id < id)
			lo = mid + 1;
		else if (raw[mid].id > id)
			hi = mid;
		else
			return (int64_t)raw[mid].unified;
	}
	return -1;
}

static int
row_cmp(const void *x, const void *y)
{
	const struct statsdb_row *a = x, *b = y;

	if (a->book != b->book)
		return a->book < b->book ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->page != b->page)
		return a->page < b->page ? -1 : 1;
	/* The longest first: it is the one kept. */
	return a->duration > b->duration ? -1 : a->duration < b->duration;
}

/*
 * Read page_stat_data: check each value, drop what cannot be a page turn,
 * then sort and deduplicate. Returns 0 or -1.
 */
static int
read_rows(struct reader *r, struct statsdb *db, const struct raw_book *raw,
    size_t nraw, int64_t now)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0, i, kept;
	int step;

	if (sqlite3_prepare_v2(r->db,
	        "SELECT id_book, page, start_time, duration, total_pages "
	        "FROM main.page_stat_data",
	        -1, &st, NULL) != SQLITE_OK)
		return fail_sqlite(r, "cannot read the page turns");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id, page, start, duration, total, book;
		struct statsdb_row *row;

		db->turn_rows++;
		if (!column_int(st, 0, &id) || !column_int(st, 1, &page) ||
		    !column_int(st, 2, &start) ||
		    !column_int(st, 3, &duration) ||
		    !column_int(st, 4, &total) || page < 1 ||
		    page > STATSDB_MAX_PAGE || duration < 0 || total < 0 ||
		    total > STATSDB_MAX_PAGE) {
			db->bad_rows++;
			continue;
		}
		if (start < STATSDB_MIN_TIME || start > now + 86400) {
			db->bad_time++;
			continue;
		}
		book = find_book(raw, nraw, id);
		if (book < 0) {
			db->orphans++;
			continue;
		}
		if (duration > STATSDB_MAX_DURATION) {
			duration = STATSDB_MAX_DURATION;
			db->clamped++;
		}
		if (db->nrows == r->lim->max_rows) {
			sqlite3_finalize(st);
			buf_addf(r->reason, "more than %zu page turns",
			    r->lim->max_rows);
			return -1;
		}
		if (db->nrows == cap) {
			cap = cap ? cap * 2 : 1024;
			db->rows = xrealloc(db->rows, cap * sizeof(*db->rows));
		}
		row = &db->rows[db->nrows++];
		row->book = (uint32_t)book;
		row->page = page;
		row->start = start;
		row->duration = duration;
		row->total_pages = total;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return fail_sqlite(r, "cannot read the page turns");
	if (db->nrows == 0)
		return 0;
	qsort(db->rows, db->nrows, sizeof(*db->rows), row_cmp);
	for (i = 1, kept = 1; i < db->nrows; i++) {
		const struct statsdb_row *p = &db->rows[kept - 1];
		const struct statsdb_row *c = &db->rows[i];

		if (c->book == p->book && c->start == p->start &&
		    c->page == p->page) {
			db->duplicates++;
			continue;
		}
		db->rows[kept++] = *c;
	}
	db->nrows = kept;
	return 0;
}

/* PRAGMA user_version into *version. */
static int
read_version(struct reader *r, int64_t *version)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return fail_sqlite(r, "cannot read the schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	else
		rc = fail_sqlite(r, "cannot read the schema version");
	sqlite3_finalize(st);
	return rc;
}

int
statsdb_read(const char *path, int64_t now, const struct statsdb_limits *lim,
    struct statsdb *db, struct buf *reason)
{
	int fd, rc;

	memset(db, 0, sizeof(*db));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		buf_addf(reason, "cannot open the file: %s", strerror(errno));
		return -1;
	}
	rc = statsdb_read_fd(fd, now, lim, db, reason);
	close(fd);
	return rc;
}

/*
 * Begin a read of the file at fd: limits (lim, or the defaults), the
 * CPU deadline, the private copy (its name in tmp), the hardened
 * connection and quick_check. Returns 0, or -1 with the reason set; in
 * both cases reader_end() follows.
 */
static int
reader_begin(struct reader *r, int fd, const struct statsdb_limits *lim,
    const char *kind, struct buf *reason, struct buf *tmp)
{
	memset(r, 0, sizeof(*r));
	if (!lim) {
		statsdb_limits_default(&r->dflt);
		lim = &r->dflt;
	}
	r->lim = lim;
	r->kind = kind;
	r->reason = reason;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &r->deadline);
	r->deadline.tv_sec += lim->max_ms / 1000;
	r->deadline.tv_nsec += (long)(lim->max_ms % 1000) * 1000000L;
	if (r->deadline.tv_nsec >= 1000000000L) {
		r->deadline.tv_sec++;
		r->deadline.tv_nsec -= 1000000000L;
	}
	if (!sqlite3_threadsafe()) {
		buf_adds(reason, "SQLite was built without thread support");
		return -1;
	}
	pthread_once(&heap_once, heap_limit_init);
	if (copy_private(r, fd, tmp) < 0 || open_hardened(r, tmp->data) < 0 ||
	    check_integrity(r) < 0)
		return -1;
	return 0;
}

/* Close the connection, remove the private copy. */
static void
reader_end(struct reader *r, struct buf *tmp)
{
	if (r->db)
		sqlite3_close(r->db);
	r->db = NULL;
	if (tmp->len)
		unlink(tmp->data);
	buf_release(tmp);
}

int
statsdb_read_fd(int fd, int64_t now, const struct statsdb_limits *lim,
    struct statsdb *db, struct buf *reason)
{
	static const char *const book_cols[] = {"id", "md5", "title", "authors",
	    "series", "language", "pages", "last_open", "highlights", "notes",
	    NULL};
	static const char *const row_cols[] = {
	    "id_book", "page", "start_time", "duration", "total_pages", NULL};
	struct reader r;
	struct buf tmp = BUF_INIT;
	struct raw_book *raw = NULL;
	size_t nraw = 0, from = reason->len;
	int rc = -1;

	memset(db, 0, sizeof(*db));
	if (reader_begin(&r, fd, lim, "statistics", reason, &tmp) < 0 ||
	    check_table(&r, "book", book_cols) < 0 ||
	    check_table(&r, "page_stat_data", row_cols) < 0 ||
	    read_version(&r, &db->user_version) < 0 ||
	    read_books(&r, db, &raw, &nraw) < 0 ||
	    read_rows(&r, db, raw, nraw, now) < 0)
		goto out;
	rc = 0;
out:
	free(raw);
	reader_end(&r, &tmp);
	if (rc < 0) {
		statsdb_release(db);
		reason_clean(reason, from);
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * The vocabulary builder's file.
 */

/* A title row: its id and where its name went in v->titles. */
struct raw_title {
	int64_t id;
	uint32_t index;
};

static int
raw_title_cmp(const void *x, const void *y)
{
	const struct raw_title *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

static int
read_titles(struct reader *r, struct statsdb_vocab *v, struct raw_title **rawp)
{
	sqlite3_stmt *st = NULL;
	struct raw_title *raw = NULL;
	size_t cap = 0;
	int64_t id;
	int step;

	*rawp = NULL;
	if (sqlite3_prepare_v2(r->db, "SELECT id, name FROM main.title", -1,
	        &st, NULL) != SQLITE_OK)
		return fail_sqlite(r, "cannot read the titles");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!column_int(st, 0, &id))
			continue;
		if (v->ntitles == r->lim->max_books) {
			sqlite3_finalize(st);
			buf_addf(r->reason, "more than %zu titles",
			    r->lim->max_books);
			*rawp = raw;
			return -1;
		}
		/* raw and v->titles grow together (v came zeroed). */
		if (raw == NULL || v->ntitles == cap) {
			cap = cap ? cap * 2 : 64;
			raw = xrealloc(raw, cap * sizeof(*raw));
			v->titles = xrealloc(v->titles, cap * sizeof(char *));
		}
		raw[v->ntitles].id = id;
		raw[v->ntitles].index = (uint32_t)v->ntitles;
		v->titles[v->ntitles++] = column_text(st, 1, "");
	}
	sqlite3_finalize(st);
	*rawp = raw;
	if (step != SQLITE_DONE)
		return fail_sqlite(r, "cannot read the titles");
	if (raw != NULL)
		qsort(raw, v->ntitles, sizeof(*raw), raw_title_cmp);
	return 0;
}

static int
read_words(struct reader *r, struct statsdb_vocab *v,
    const struct raw_title *raw, int64_t now)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int step;

	if (sqlite3_prepare_v2(r->db,
	        "SELECT title_id, create_time, due_time, review_count "
	        "FROM main.vocabulary",
	        -1, &st, NULL) != SQLITE_OK)
		return fail_sqlite(r, "cannot read the words");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct raw_title key = {0, 0}, *t = NULL;
		struct statsdb_word *w;
		int64_t created, due = 0, count = 0;

		v->word_rows++;
		if (!column_int(st, 1, &created) ||
		    (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		        !column_int(st, 2, &due)) ||
		    (sqlite3_column_type(st, 3) != SQLITE_NULL &&
		        !column_int(st, 3, &count)) ||
		    count < 0 || due < 0) {
			v->bad_rows++;
			continue;
		}
		if (created < STATSDB_MIN_TIME || created > now + 86400) {
			v->bad_time++;
			continue;
		}
		if (v->nwords == STATSDB_MAX_WORDS) {
			sqlite3_finalize(st);
			buf_addf(
			    r->reason, "more than %d words", STATSDB_MAX_WORDS);
			return -1;
		}
		if (v->nwords == cap) {
			cap = cap ? cap * 2 : 256;
			v->words = xrealloc(v->words, cap * sizeof(*v->words));
		}
		/* No titles: raw is NULL, which bsearch must not get. */
		if (raw != NULL && column_int(st, 0, &key.id))
			t = bsearch(
			    &key, raw, v->ntitles, sizeof(*raw), raw_title_cmp);
		w = &v->words[v->nwords++];
		w->title = t ? t->index : STATSDB_NO_TITLE;
		w->create_time = created;
		w->due_time = due;
		w->review_count = count;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return fail_sqlite(r, "cannot read the words");
	return 0;
}

int
statsdb_vocab_read_fd(int fd, int64_t now, const struct statsdb_limits *lim,
    struct statsdb_vocab *v, struct buf *reason)
{
	static const char *const word_cols[] = {
	    "title_id", "create_time", "due_time", "review_count", NULL};
	static const char *const title_cols[] = {"id", "name", NULL};
	struct reader r;
	struct buf tmp = BUF_INIT;
	struct raw_title *raw = NULL;
	size_t from = reason->len;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (reader_begin(&r, fd, lim, "vocabulary builder", reason, &tmp) < 0 ||
	    check_table(&r, "vocabulary", word_cols) < 0 ||
	    check_table(&r, "title", title_cols) < 0 ||
	    read_version(&r, &v->user_version) < 0 ||
	    read_titles(&r, v, &raw) < 0 || read_words(&r, v, raw, now) < 0)
		goto out;
	rc = 0;
out:
	free(raw);
	reader_end(&r, &tmp);
	if (rc < 0) {
		statsdb_vocab_release(v);
		reason_clean(reason, from);
	}
	return rc;
}

void
statsdb_vocab_release(struct statsdb_vocab *v)
{
	size_t i;

	for (i = 0; i < v->ntitles; i++)
		free(v->titles[i]);
	free(v->titles);
	free(v->words);
	memset(v, 0, sizeof(*v));
}
