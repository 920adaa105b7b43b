/*
 * test_library.c: the pure parts of the library index (library.c): the
 * book id's key (title and authors lowercased, white space collapsed),
 * the sort title and the author's sort name, the check of the paths a
 * Calibre database names, the LIKE pattern of a search word, the book
 * file names the scan reads, the MIME types, the split of a list column;
 * and a scan of a temporary folder through library_scan_sync and
 * library_query_sync (the ids deterministic across two data
 * directories); and the asynchronous faces on a loop (a scan, then a
 * query, library_docs by file-name MD5, a facet, the status, a file
 * opened, a book without a cover); a scan of more files than one batch
 * while another connection writes the index all along (no batch lost);
 * a start with no folder and no index (nothing made until the first
 * query, which is answered as an empty library), and connections making
 * one new index at once.
 *
 * UNIT_INCLUDES: src/library.c
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/library.c"

static void
test_library__book_id(void **state)
{
	struct bookmeta_list a = {NULL, 0}, b = {NULL, 0};
	char *va[] = {(char *)(uintptr_t) "Frank  HERBERT"};
	char *vb[] = {(char *)(uintptr_t) "frank herbert"};
	char x[MD5_HEX_LEN + 1], y[MD5_HEX_LEN + 1];
	struct buf k = BUF_INIT;

	(void)state;
	a.v = va;
	a.n = 1;
	b.v = vb;
	b.n = 1;
	book_id_of("", "Dune\tMessiah ", &a, x);
	book_id_of("", "dune messiah", &b, y);
	assert_string_equal(x, y);
	md5_hex("book\n\ndune messiah\nfrank herbert",
	    strlen("book\n\ndune messiah\nfrank herbert"), y);
	assert_string_equal(x, y);
	book_id_of("alice", "dune messiah", &b, y);
	assert_string_not_equal(x, y);
	norm_add(&k, "  A\n b  ");
	assert_string_equal(k.data, "a b");
	buf_release(&k);
}

static void
test_library__sort_names(void **state)
{
	struct buf o = BUF_INIT;

	(void)state;
	assert_string_equal(sort_title_of("The Dispossessed"), "Dispossessed");
	assert_string_equal(sort_title_of("an Apple"), "Apple");
	assert_string_equal(sort_title_of("A"), "A");
	assert_string_equal(sort_title_of("Theory"), "Theory");
	author_sort_of("Ursula K. Le Guin", &o);
	assert_string_equal(o.data, "Guin, Ursula K. Le");
	buf_reset(&o);
	author_sort_of("Herbert, Frank", &o);
	assert_string_equal(o.data, "Herbert, Frank");
	buf_reset(&o);
	author_sort_of("Plato", &o);
	assert_string_equal(o.data, "Plato");
	buf_release(&o);
}

static void
test_library__calibre_paths(void **state)
{
	static const struct {
		const char *p;
		bool ok;
	} t[] = {
	    {"Frank Herbert/Dune (1)", true},
	    {"a/b/c.epub", true},
	    {"..a/b", true},
	    {"", false},
	    {"/etc", false},
	    {"../x", false},
	    {"a/../../x", false},
	    {"a/./b", false},
	    {"a//b", false},
	    {"a/b/", false},
	    {"a\\b", false},
	    {"..", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (calibre_path_safe(t[i].p) != t[i].ok)
			fail_msg("'%s': want %d", t[i].p, t[i].ok);
}

static void
test_library__like(void **state)
{
	struct buf o = BUF_INIT;

	(void)state;
	like_pattern(&o, "100%_a\\b", 8);
	assert_string_equal(o.data, "%100\\%\\_a\\\\b%");
	buf_release(&o);
}

static void
test_library__names(void **state)
{
	size_t n;
	const char *const *v;

	(void)state;
	assert_true(library_is_book_name("a.EPUB"));
	assert_true(library_is_book_name("x.tar.fb2"));
	assert_true(library_is_book_name("b.kepub"));
	assert_false(library_is_book_name("cover.jpg"));
	assert_false(library_is_book_name("metadata.db"));
	assert_false(library_is_book_name("epub"));
	assert_string_equal(lib_mime("epub"), "application/epub+zip");
	assert_string_equal(lib_mime("cbz"), "application/vnd.comicbook+zip");
	assert_string_equal(lib_mime("nope"), "application/octet-stream");
	assert_string_equal(
	    library_source_name(LIBRARY_SRC_CALIBRE), "calibre");
	v = split_lines("a\nb\n\nc", &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[2], "");
	assert_string_equal(v[3], "c");
	for (size_t i = 0; i < n; i++)
		cfree(v[i]);
	cfree(v);
	assert_null(split_lines("", &n));
	assert_int_equal(n, 0);
}

struct got {
	char ids[4][64];
	size_t n;
	uint64_t total;
};

static void
got_page(void *arg, const struct library_page *page, const char *error)
{
	struct got *g = arg;
	size_t i;

	assert_null(error);
	g->total = page->total;
	for (i = 0; i < page->nbooks && i < 4; i++)
		snprintf(g->ids[i], sizeof(g->ids[i]), "%s/%s",
		    page->books[i].id, page->books[i].files[0].id);
	g->n = page->nbooks;
}

/* A tiny TXT book in dir/name (the title is the file name). */
static void
put_txt(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* cfg: the defaults, with library folder lib and data directory data. */
static void
lib_config(struct config *cfg, const char *lib, const char *data)
{
	config_init(cfg);
	free(cfg->library_paths);
	cfg->library_paths = xstrdup(lib);
	free(cfg->data_dir);
	cfg->data_dir = xstrdup(data);
}

/* library_share's list: names separated by ',' or blanks, whole names. */
static void
test_library__share_names(void **state)
{
	(void)state;
	assert_true(share_names("ann,bob", "bob", 3));
	assert_true(share_names(" ann , bob\t", "ann", 3));
	assert_false(share_names("ann,bob", "bo", 2));
	assert_false(share_names("ann,bob", "bobby", 5));
	assert_false(share_names("", "ann", 3));
	assert_false(share_names(",,", "", 0));
}

static void
test_library__scan_query(void **state)
{
	char tmpl[] = "/tmp/test_library.XXXXXX";
	char *root = mkdtemp(tmpl), lib[600], d1[600], d2[600], cmd[700];
	struct config cfg;
	struct buf out = BUF_INIT;
	struct library_query q;
	struct got g1, g2;

	(void)state;
	assert_non_null(root);
	snprintf(lib, sizeof(lib), "%s/books", root);
	snprintf(d1, sizeof(d1), "%s/d1", root);
	snprintf(d2, sizeof(d2), "%s/d2", root);
	assert_int_equal(mkdir(lib, 0700), 0);
	put_txt(lib, "Beta.txt", "b");
	put_txt(lib, "alpha.txt", "a");
	lib_config(&cfg, lib, d1);
	assert_int_equal(library_scan_sync(&cfg, &out), 0);
	memset(&q, 0, sizeof(q));
	memset(&g1, 0, sizeof(g1));
	assert_int_equal(library_query_sync(&cfg, NULL, &q, got_page, &g1), 0);
	assert_int_equal(g1.total, 2);
	free(cfg.data_dir);
	cfg.data_dir = xstrdup(d2);
	buf_reset(&out);
	assert_int_equal(library_scan_sync(&cfg, &out), 0);
	memset(&g2, 0, sizeof(g2));
	assert_int_equal(library_query_sync(&cfg, NULL, &q, got_page, &g2), 0);
	/* Two indexes of the same folder: the same ids, in the same order. */
	assert_int_equal(g2.n, 2);
	assert_string_equal(g1.ids[0], g2.ids[0]);
	assert_string_equal(g1.ids[1], g2.ids[1]);
	config_release(&cfg);
	buf_release(&out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* Another writer of the index (a second server's upload, `library add`). */
struct writer {
	char path[700];
	volatile int stop;
	unsigned long writes;
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	sqlite3 *db;

	if (sqlite3_open_v2(w->path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		return NULL;
	/*
	 * No busy wait: it tries every 100 us and writes whenever the scan
	 * leaves the lock free (a writer that never pauses would starve it).
	 */
	while (!w->stop) {
		if (sqlite3_exec(db,
		        "INSERT OR REPLACE INTO meta VALUES('test_writer', "
		        "random())",
		        NULL, NULL, NULL) == SQLITE_OK)
			w->writes++;
		usleep(100);
	}
	sqlite3_close(db);
	return NULL;
}

/*
 * A scan commits every SCAN_BATCH files. Another connection committing
 * between the batches must cost no file: each batch takes the write lock
 * when it begins, and no statement is left in progress at its COMMIT.
 */
static void
test_library__scan_batches_beside_a_writer(void **state)
{
	char tmpl[] = "/tmp/test_library.XXXXXX";
	char *root = mkdtemp(tmpl), lib[600], data[600], cmd[700];
	enum { NFILES = SCAN_BATCH * 2 + 100 };
	struct config cfg;
	struct buf out = BUF_INIT;
	struct library_query q;
	struct writer w;
	struct got g;
	pthread_t t;
	int i, round;

	(void)state;
	assert_non_null(root);
	snprintf(lib, sizeof(lib), "%s/books", root);
	snprintf(data, sizeof(data), "%s/data", root);
	assert_int_equal(mkdir(lib, 0700), 0);
	lib_config(&cfg, lib, data);
	/* The index exists (empty) before the writer opens it. */
	assert_int_equal(library_scan_sync(&cfg, &out), 0);
	for (i = 0; i < NFILES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "Book %04d.txt", i);
		put_txt(lib, name, name);
	}
	memset(&w, 0, sizeof(w));
	snprintf(
	    w.path, sizeof(w.path), "%s/library/%s", data, LIBRARY_INDEX_FILE);
	assert_int_equal(pthread_create(&t, NULL, writer_run, &w), 0);
	/* The first round reads every file, the second finds them unchanged. */
	memset(&q, 0, sizeof(q));
	for (round = 0; round < 2; round++) {
		buf_reset(&out);
		assert_int_equal(library_scan_sync(&cfg, &out), 0);
		assert_non_null(strstr(out.data, " 0 skipped"));
		memset(&g, 0, sizeof(g));
		assert_int_equal(
		    library_query_sync(&cfg, NULL, &q, got_page, &g), 0);
		assert_int_equal(g.total, NFILES);
	}
	w.stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(w.writes > 0);
	config_release(&cfg);
	buf_release(&out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* The asynchronous faces on a loop: what the OPDS and web code call. */
/*
 * work_uploads: the accounts' uploads alone (not the shared books),
 * newest first then by id, a page of limit after a position, "more"
 * while some follow; one account's with ?account.
 */
static void
uploads_page(sqlite3 *db, const char *account, unsigned limit, bool after,
    int64_t added, const char *id, struct buf *out)
{
	struct lib_job j;
	size_t i;

	memset(&j, 0, sizeof(j));
	j.user = (char *)(uintptr_t)account;
	j.uq.limit = limit;
	j.uq.after = after;
	j.uq.added = added;
	j.id = (char *)(uintptr_t)id;
	work_uploads(db, &j);
	assert_null(j.page.error);
	buf_reset(out);
	for (i = 0; i < j.page.page.nbooks; i++)
		buf_addf(out, "%s:%s%s ", j.page.books[i].id,
		    j.page.books[i].owner, j.page.books[i].shared ? "+" : "");
	buf_addf(out, "%s", j.more ? "more" : "end");
	page_result_release(&j.page);
}

static void
test_library__uploads(void **state)
{
	char tmpl[] = "/tmp/test_library.XXXXXX";
	char *root = mkdtemp(tmpl), cmd[600];
	struct buf err = BUF_INIT, out = BUF_INIT;
	sqlite3 *db;

	(void)state;
	assert_non_null(root);
	db = lib_db_open(root, "", &err);
	assert_non_null(db);
	assert_int_equal(
	    lib_exec(db, "INSERT INTO books(id, title, sort_title, authors, "
	                 "author_sort, added, updated, owner) VALUES "
	                 "('a1', 'A', 'A', '', '', 10, 10, 'ann'),"
	                 "('b1', 'B', 'B', '', '', 20, 20, 'bob'),"
	                 "('b2', 'C', 'C', '', '', 20, 20, 'bob'),"
	                 "('s1', 'S', 'S', '', '', 30, 30, '');"
	                 "INSERT INTO shares(book_id) VALUES ('b2');"),
	    0);
	uploads_page(db, "", 10, false, 0, NULL, &out);
	assert_string_equal(out.data, "b1:bob b2:bob+ a1:ann end");
	uploads_page(db, "", 1, false, 0, NULL, &out);
	assert_string_equal(out.data, "b1:bob more");
	uploads_page(db, "", 1, true, 20, "b1", &out);
	assert_string_equal(out.data, "b2:bob+ more");
	uploads_page(db, "", 1, true, 20, "b2", &out);
	assert_string_equal(out.data, "a1:ann end");
	uploads_page(db, "", 2, true, 10, "a1", &out);
	assert_string_equal(out.data, "end");
	uploads_page(db, "bob", 10, false, 0, NULL, &out);
	assert_string_equal(out.data, "b1:bob b2:bob+ end");
	uploads_page(db, "cy", 10, false, 0, NULL, &out);
	assert_string_equal(out.data, "end");
	sqlite3_close(db);
	buf_release(&err);
	buf_release(&out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

struct async {
	uv_loop_t *loop;
	struct library *lib;
	int answers;
	char book_id[64], file_id[64], title[64];
	bool doc_found, doc_missing;
	uint64_t facet_total, status_books;
	int file_status, cover_status;
	bool file_fd_ok;
	bool uploads_none;
};

static void
a_uploads(void *arg, const struct library_uploads_page *page, const char *error)
{
	struct async *a = arg;

	assert_null(error);
	/* Gamma.txt is a folder's book: no upload. */
	a->uploads_none = page->nbooks == 0 && !page->more;
	a->answers++;
}

static void
a_file(void *arg, int fd, const struct library_file *file,
    const struct library_book *book, int status, const char *error)
{
	struct async *a = arg;

	(void)error;
	a->file_status = status;
	a->file_fd_ok = fd >= 0 && file != NULL && book != NULL &&
	                strcmp(file->id, a->file_id) == 0;
	if (fd >= 0)
		close(fd);
	a->answers++;
}

static void
a_cover(void *arg, int status, const void *jpeg, size_t len, const char *etag,
    const char *error)
{
	struct async *a = arg;

	(void)jpeg;
	(void)len;
	(void)etag;
	(void)error;
	a->cover_status = status;
	a->answers++;
}

static void
a_docs(void *arg, const struct library_book *const *books, size_t n,
    const char *error)
{
	struct async *a = arg;

	assert_null(error);
	assert_int_equal(n, 2);
	a->doc_found =
	    books[0] != NULL && strcmp(books[0]->id, a->book_id) == 0;
	a->doc_missing = books[1] == NULL;
	a->answers++;
}

static void
a_facet(void *arg, const struct library_facet_page *page, const char *error)
{
	struct async *a = arg;

	assert_null(error);
	a->facet_total = page->total;
	a->answers++;
}

static void
a_status(void *arg, const struct library_status *st, const char *error)
{
	struct async *a = arg;

	assert_null(error);
	a->status_books = st->books;
	a->answers++;
}

static void
a_page(void *arg, const struct library_page *page, const char *error)
{
	struct async *a = arg;
	const char *docs[2];
	struct library_uploads_query uq;

	assert_null(error);
	assert_int_equal(page->total, 1);
	snprintf(a->book_id, sizeof(a->book_id), "%s", page->books[0].id);
	snprintf(
	    a->file_id, sizeof(a->file_id), "%s", page->books[0].files[0].id);
	snprintf(a->title, sizeof(a->title), "%s", page->books[0].title);
	docs[0] = page->books[0].files[0].filename_md5;
	docs[1] = "ffffffffffffffffffffffffffffffff";
	library_docs(a->lib, "alice", docs, 2, a_docs, a);
	library_facet(
	    a->lib, "alice", LIBRARY_FACET_LANGUAGES, 0, 10, a_facet, a);
	library_status(a->lib, a_status, a);
	library_file_open(a->lib, "alice", a->file_id, a_file, a);
	library_cover(a->lib, "alice", a->book_id, 100, 100, a_cover, a);
	memset(&uq, 0, sizeof(uq));
	uq.limit = 10;
	library_uploads(a->lib, &uq, a_uploads, a);
	a->answers++;
}

static void
a_scanned(void *arg, uint64_t books, uint64_t files)
{
	struct async *a = arg;
	struct library_query q;

	assert_int_equal(books, 1);
	assert_int_equal(files, 1);
	memset(&q, 0, sizeof(q));
	library_query(a->lib, "alice", &q, a_page, a);
}

static void
test_library__async(void **state)
{
	char tmpl[] = "/tmp/test_library.XXXXXX";
	char *root = mkdtemp(tmpl), lib[600], data[600], cmd[700];
	struct config cfg;
	struct async a;
	int i;

	(void)state;
	assert_non_null(root);
	snprintf(lib, sizeof(lib), "%s/books", root);
	snprintf(data, sizeof(data), "%s/data", root);
	assert_int_equal(mkdir(lib, 0700), 0);
	put_txt(lib, "Gamma.txt", "g");
	lib_config(&cfg, lib, data);
	memset(&a, 0, sizeof(a));
	a.loop = xcalloc(1, sizeof(*a.loop));
	assert_int_equal(uv_loop_init(a.loop), 0);
	a.lib = library_new(a.loop, &cfg);
	assert_non_null(a.lib);
	library_on_scanned(a.lib, a_scanned, &a);
	/* The scan, the page, then six answers. */
	for (i = 0; i < 500 && a.answers < 7; i++)
		uv_run(a.loop, UV_RUN_ONCE);
	assert_int_equal(a.answers, 7);
	assert_true(a.uploads_none);
	assert_string_equal(a.title, "Gamma");
	assert_true(a.doc_found);
	assert_true(a.doc_missing);
	assert_int_equal(a.facet_total, 0);
	assert_int_equal(a.status_books, 1);
	assert_int_equal(a.file_status, 200);
	assert_true(a.file_fd_ok);
	assert_int_equal(a.cover_status, 404);
	library_free(a.lib);
	uv_run(a.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(a.loop), 0);
	free(a.loop);
	config_release(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* A server with nothing of the library to look at (library_new idle). */
struct idle {
	unsigned scans, pages, statuses;
	uint64_t total;
	int64_t last_scan;
};

static void
idle_scanned(void *arg, uint64_t books, uint64_t files)
{
	struct idle *d = arg;

	(void)books;
	(void)files;
	d->scans++;
}

static void
idle_page(void *arg, const struct library_page *page, const char *error)
{
	struct idle *d = arg;

	assert_null(error);
	d->total = page->total;
	d->pages++;
}

static void
idle_status(void *arg, const struct library_status *st, const char *error)
{
	struct idle *d = arg;

	assert_null(error);
	d->last_scan = st->last_scan;
	d->statuses++;
}

/* Whether data's index exists. */
static bool
index_exists(const char *data)
{
	char path[700];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s/%s", data, LIBRARY_DIR,
	    LIBRARY_INDEX_FILE);
	return stat(path, &sb) == 0;
}

/*
 * No library folder, no upload path, no index: library_new opens, makes
 * and scans nothing; the first query starts the first scan and is
 * answered as an empty library, and the index exists from then on. The
 * next start, with that index, scans at once (no call needed).
 */
static void
test_library__idle_start(void **state)
{
	char tmpl[] = "/tmp/test_library.XXXXXX";
	char *root = mkdtemp(tmpl), data[600], cmd[700];
	struct config cfg;
	struct library_query q;
	struct library *lib;
	struct idle d;
	uv_loop_t loop;
	int i;

	(void)state;
	assert_non_null(root);
	snprintf(data, sizeof(data), "%s/data", root);
	config_init(&cfg);
	free(cfg.data_dir);
	cfg.data_dir = xstrdup(data);
	assert_int_equal(uv_loop_init(&loop), 0);
	memset(&d, 0, sizeof(d));
	lib = library_new(&loop, &cfg);
	assert_non_null(lib);
	library_on_scanned(lib, idle_scanned, &d);
	for (i = 0; i < 50; i++)
		(void)uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(d.scans, 0);
	assert_false(index_exists(data));
	memset(&q, 0, sizeof(q));
	library_query(lib, "alice", &q, idle_page, &d);
	for (i = 0; i < 500 && (d.pages < 1 || d.scans < 1); i++)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(d.pages, 1);
	assert_int_equal(d.total, 0);
	assert_int_equal(d.scans, 1);
	assert_true(index_exists(data));
	/* That first scan went through (it made the index beside the query). */
	library_status(lib, idle_status, &d);
	for (i = 0; i < 500 && d.statuses < 1; i++)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(d.statuses, 1);
	assert_true(d.last_scan > 0);
	library_free(lib);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* With the index there, the next start scans at once. */
	memset(&d, 0, sizeof(d));
	lib = library_new(&loop, &cfg);
	assert_non_null(lib);
	library_on_scanned(lib, idle_scanned, &d);
	for (i = 0; i < 500 && d.scans < 1; i++)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(d.scans, 1);
	library_free(lib);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	config_release(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* Workers asking an idle library for a connection, all at once. */
#define FIRST_OPENERS 4
struct opener {
	struct library *lib;
	pthread_barrier_t *go;
	bool ok;
};

static void *
opener_run(void *arg)
{
	struct opener *o = arg;
	sqlite3 *db;

	(void)pthread_barrier_wait(o->go);
	db = db_get(o->lib);
	o->ok = db != NULL;
	db_put(o->lib, db);
	return NULL;
}

/*
 * An idle library's first jobs make its index on whichever worker comes
 * first, maybe two at once: each gets its connection (db_get opens them
 * one at a time; two connections making one new index at once can fail).
 */
static void
test_library__first_opens_at_once(void **state)
{
	char tmpl[] = "/tmp/test_library.XXXXXX";
	char *root = mkdtemp(tmpl), data[600], cmd[700];
	struct opener o[FIRST_OPENERS];
	pthread_t t[FIRST_OPENERS];
	pthread_barrier_t go;
	struct config cfg;
	uv_loop_t loop;
	int round, i;

	(void)state;
	assert_non_null(root);
	config_init(&cfg);
	assert_int_equal(uv_loop_init(&loop), 0);
	for (round = 0; round < 100; round++) {
		snprintf(data, sizeof(data), "%s/d%d", root, round);
		free(cfg.data_dir);
		cfg.data_dir = xstrdup(data);
		o[0].lib = library_new(&loop, &cfg);
		assert_non_null(o[0].lib);
		assert_false(index_exists(data));
		assert_int_equal(
		    pthread_barrier_init(&go, NULL, FIRST_OPENERS), 0);
		for (i = 0; i < FIRST_OPENERS; i++) {
			o[i].lib = o[0].lib;
			o[i].go = &go;
			o[i].ok = false;
			assert_int_equal(
			    pthread_create(&t[i], NULL, opener_run, &o[i]), 0);
		}
		for (i = 0; i < FIRST_OPENERS; i++) {
			assert_int_equal(pthread_join(t[i], NULL), 0);
			assert_true(o[i].ok);
		}
		assert_int_equal(pthread_barrier_destroy(&go), 0);
		assert_true(index_exists(data));
		library_free(o[0].lib);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	assert_int_equal(uv_loop_close(&loop), 0);
	config_release(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_library__book_id),
	    cmocka_unit_test(test_library__sort_names),
	    cmocka_unit_test(test_library__calibre_paths),
	    cmocka_unit_test(test_library__like),
	    cmocka_unit_test(test_library__names),
	    cmocka_unit_test(test_library__share_names),
	    cmocka_unit_test(test_library__scan_query),
	    cmocka_unit_test(test_library__scan_batches_beside_a_writer),
	    cmocka_unit_test(test_library__uploads),
	    cmocka_unit_test(test_library__async),
	    cmocka_unit_test(test_library__idle_start),
	    cmocka_unit_test(test_library__first_opens_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
