/*
 * library.h: the library index: the books of the administrator's folders,
 * of Calibre libraries and of the accounts' uploads, with their metadata
 * and the ids KOReader syncs progress under (docs/library.md).
 *
 * The index is SQLite at <data_dir>/library/index.sqlite3. Every SQLite
 * call, every read of a book file and every walk of a folder runs on
 * libuv's thread pool, at most LIBRARY_MAX_JOBS at once (the others wait
 * in order); the answers come back on the loop through callbacks, never
 * before the call that asked returns. The loop never touches the index.
 *
 * Ids are deterministic, so several instances scanning the same shared
 * folders into their own index serve the same hrefs:
 *   - a book's id is the MD5 (32 hex digits) of "book\n" + owner + "\n" +
 *     its title and authors, lowercased and with white space collapsed (a
 *     Calibre book: of "calibre\n" + the book's uuid); the files of one
 *     title by the same authors (an EPUB and a PDF of it) are one book;
 *   - a file's id is its partial MD5 (partialmd5.h); a second file with the
 *     same partial MD5 gets "-" and the first 8 hex digits of the MD5 of
 *     its path in its folder appended.
 *
 * Visibility: the books of library_paths (folders and Calibre libraries)
 * are every account's (owner ""), or, when library_share names accounts,
 * theirs; an upload is its account's (owner set), or every account's
 * once an administrator shared it (library_share_sync).
 *
 * Strings handed to callbacks are borrowed for the call.
 *
 * Not here: reading a book file (bookmeta.h), thumbnails (cover.h), the
 * HTTP faces (libweb.c, opds*.c).
 */
#ifndef KOSYNCD_LIBRARY_H
#define KOSYNCD_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Jobs on the thread pool at once (scans and queries together). */
#define LIBRARY_MAX_JOBS 2
/* Books in one page of library_query, values of one library_facet. */
#define LIBRARY_MAX_PAGE 200
/* Document ids in one query's filter or one library_docs call. */
#define LIBRARY_MAX_DOCS 200
/* Files a scan looks at, all folders together (more are skipped). */
#define LIBRARY_MAX_FILES 1000000
/* Folders nested below a library folder that a scan enters. */
#define LIBRARY_MAX_DEPTH 32
/* Skipped files kept with their reasons (the first ones of a scan). */
#define LIBRARY_MAX_SKIPPED 1000
/*
 * Folders watched with inotify (one watch each, the kernel's
 * max_user_watches is shared by every process of the user); more, and the
 * folders are rescanned every library_rescan_interval_s instead.
 */
#define LIBRARY_MAX_WATCHES 4096
/*
 * Bytes of cover thumbnails kept under <data_dir>/library/covers/; past
 * it, the oldest written are removed down to three quarters of it. A
 * book's thumbnails go as soon as a scan sees it leave the index or
 * change (its cover with it).
 */
#define LIBRARY_MAX_COVER_CACHE ((uint64_t)256 << 20)
/* Milliseconds without a change before a changed folder is rescanned. */
#define LIBRARY_DEBOUNCE_MS 2000
/* Bytes of a Calibre library's metadata.db read (more: refused). */
#define LIBRARY_MAX_CALIBRE_DB ((uint64_t)1 << 30)
/* Folders of library_paths. */
#define LIBRARY_MAX_PATHS 32
/*
 * The folder of an account's WebDAV space (storage "file") whose books
 * are that account's uploads.
 */
#define LIBRARY_DAV_FOLDER "Books"
/* The index file under data_dir. */
#define LIBRARY_DIR "library"
#define LIBRARY_INDEX_FILE "index.sqlite3"

struct library;
struct config;
struct buf;

enum library_source {
	LIBRARY_SRC_FOLDER = 0,
	LIBRARY_SRC_CALIBRE = 1,
	LIBRARY_SRC_UPLOAD = 2,
};

/*
 * Whether name's extension is one of a book the scan reads (".epub",
 * ".kepub", ".pdf", ".cbz", ".fb2", ".mobi", ".azw3", ".azw", ".djvu",
 * ".djv", ".txt"; any case).
 */
bool library_is_book_name(const char *name);

/* "folder", "calibre", "upload". */
const char *library_source_name(enum library_source s);

struct library_file {
	const char *id;          /* partial MD5, maybe with a suffix */
	const char *format;      /* bookmeta_format_name: "epub", ... */
	const char *mime;        /* "application/epub+zip", ... */
	uint64_t size;           /* bytes */
	int64_t mtime;           /* Unix seconds */
	const char *partial_md5; /* 32 hex digits */
	const char *filename_md5;
	const char *name; /* base name, "Dune.epub" */
	enum library_source source;
};

struct library_ident {
	const char *scheme; /* "isbn", "uuid", ... or "" */
	const char *value;
};

struct library_book {
	const char *id;
	const char *title;
	const char *sort_title; /* the title without a leading article */
	const char *const *authors;
	size_t nauthors;
	const char *author_sort; /* "Herbert, Frank" or the first author */
	const char *series;      /* "" when none */
	double series_index;
	bool has_series_index;
	const char *language;    /* "" when unknown */
	const char *publisher;   /* "" when unknown */
	const char *description; /* plain text, paragraphs split by '\n' */
	const char *const *tags;
	size_t ntags;
	const struct library_ident *idents;
	size_t nidents;
	int64_t added;   /* Unix seconds: when first indexed */
	int64_t updated; /* Unix seconds: its last metadata or file change */
	bool has_cover;
	const char *owner; /* the uploading account, "" for the library's */
	bool shared;       /* an upload an administrator shared (shares) */
	const struct library_file *files;
	size_t nfiles;
};

enum library_order {
	LIBRARY_BY_TITLE = 0,
	LIBRARY_BY_AUTHOR,
	LIBRARY_BY_SERIES, /* series by name, then by index; none last */
	LIBRARY_BY_ADDED,  /* newest first */
};

struct library_query {
	enum library_order order;
	/* Filters; NULL (or false, 0) for none. Exact values, as facets say. */
	const char *author;
	const char *series;
	const char *language;
	const char *tag;
	const char *search; /* words in the title, an author or the series */
	bool uploads_only;  /* the user's own uploads */
	const char *book_id;
	/* Only books with a file of these partial or file-name MD5s. */
	const char *const *docs;
	size_t ndocs; /* at most LIBRARY_MAX_DOCS */
	uint64_t offset;
	/*
	 * A page's next (library_page): the books after it, found on the
	 * order's index however deep (offset is then not used). It must be
	 * of q's order: library_cursor_check says whether it is.
	 */
	const char *cursor;
	unsigned limit; /* 1..LIBRARY_MAX_PAGE; 0 means 50 */
};

struct library_page {
	const struct library_book *books;
	size_t nbooks;
	uint64_t total; /* books matching, all pages */
	/*
	 * The newest change of the library the user sees (a book's updated
	 * time, or a removal): Last-Modified and the ETag's basis.
	 */
	int64_t last_modified;
	/*
	 * Books before this page: the query's offset, or its cursor's
	 * position (as counted when the cursor was made).
	 */
	uint64_t start;
	bool more; /* books follow this page */
	/*
	 * When more: the cursor of the next page (at most LIBCURSOR_MAX
	 * characters, URL-safe), or "" when the last book's sort key is too
	 * long for one (then page by offset). NULL otherwise.
	 */
	const char *next;
};

/*
 * Whether text is a cursor of order (a library_page's next): NULL, with
 * its position in *pos (when pos is not NULL), or why not ("not a
 * cursor", "a cursor of another order").
 */
const char *library_cursor_check(
    const char *text, enum library_order order, uint64_t *pos);

/* The answer of a query: page, or NULL and a one-line error. */
typedef void library_page_fn(
    void *arg, const struct library_page *page, const char *error);

/*
 * A page of the books visible to user (NULL or "": only the shared ones)
 * that match q (copied: it may go once this returns).
 */
void library_query(struct library *lib, const char *user,
    const struct library_query *q, library_page_fn *cb, void *arg);

/*
 * Every account's uploads for an administrator (library_uploads): newest
 * first (added, then id), limit of them (1..LIBRARY_MAX_UPLOADS_PAGE)
 * after the position (added, id) a previous page ended at (after false:
 * the first page); account non-NULL: that account's alone.
 */
#define LIBRARY_MAX_UPLOADS_PAGE 500
struct library_uploads_query {
	const char *account;
	unsigned limit;
	bool after;
	int64_t added;
	const char *id;
};

struct library_uploads_page {
	const struct library_book *books; /* with their files */
	size_t nbooks;
	bool more; /* uploads follow the last one */
};

typedef void library_uploads_fn(
    void *arg, const struct library_uploads_page *page, const char *error);

/*
 * A page of the uploads q asks for (copied), on the thread pool: the
 * books of the accounts' uploads folders (owner set), shared or not.
 */
void library_uploads(struct library *lib, const struct library_uploads_query *q,
    library_uploads_fn *cb, void *arg);

enum library_facet_kind {
	LIBRARY_FACET_AUTHORS = 0, /* by sort name */
	LIBRARY_FACET_SERIES,      /* by name */
	LIBRARY_FACET_LANGUAGES,
	LIBRARY_FACET_TAGS,
};

struct library_facet_value {
	const char *value;
	uint64_t count; /* visible books with it */
};

struct library_facet_page {
	const struct library_facet_value *values;
	size_t nvalues;
	uint64_t total; /* values in all */
	int64_t last_modified;
};

typedef void library_facet_fn(
    void *arg, const struct library_facet_page *page, const char *error);

/* The values of one facet of the books visible to user, in order. */
void library_facet(struct library *lib, const char *user,
    enum library_facet_kind kind, uint64_t offset, unsigned limit,
    library_facet_fn *cb, void *arg);

/*
 * The file file_id, visible to user: fd open read-only on it (O_NOFOLLOW,
 * checked still inside its folder; the callback takes it and closes it),
 * its record and its book. On failure fd is -1, file and book NULL, and
 * status 404 (not visible, unknown, gone) or 500 with a message.
 */
/*
 * The extension a download of file keeps, without its dot: the file
 * name's ("epub", "kepub", "fb2.zip"), or its format's name when the file
 * name has none. Points into file's strings.
 */
const char *library_file_ext(const struct library_file *file);

typedef void library_file_fn(void *arg, int fd, const struct library_file *file,
    const struct library_book *book, int status, const char *error);
void library_file_open(struct library *lib, const char *user,
    const char *file_id, library_file_fn *cb, void *arg);

/*
 * A JPEG thumbnail of book_id's cover that fits max_w x max_h (rounded up
 * to one of a few fixed sizes; cached under <data_dir>/library/covers/),
 * with an ETag (a quoted string). status 200, 404 (no such book, or no
 * cover) or 500.
 */
typedef void library_cover_fn(void *arg, int status, const void *jpeg,
    size_t len, const char *etag, const char *error);
void library_cover(struct library *lib, const char *user, const char *book_id,
    int max_w, int max_h, library_cover_fn *cb, void *arg);

/*
 * For each of n progress document ids (partial or file-name MD5s; at most
 * LIBRARY_MAX_DOCS, copied), the book visible to user it joins, or NULL:
 * books[i] answers doc_ids[i].
 */
typedef void library_docs_fn(void *arg, const struct library_book *const *books,
    size_t n, const char *error);
void library_docs(struct library *lib, const char *user,
    const char *const *doc_ids, size_t n, library_docs_fn *cb, void *arg);

struct library_skip {
	const char *path;   /* as found in its folder */
	const char *reason; /* one line */
};

struct library_source_info {
	const char *path;
	enum library_source kind;
	bool available; /* found and readable at the last scan */
	uint64_t books, files;
};

struct library_status {
	const struct library_source_info *sources;
	size_t nsources;
	const char *upload_path; /* where uploads land; "" when none */
	bool scanning;
	uint64_t books, files;
	int64_t last_scan;       /* Unix seconds the last scan ended; 0 never */
	uint64_t last_scan_ms;   /* how long it took */
	uint64_t last_scan_read; /* files read (new or changed) */
	const struct library_skip *skipped;
	size_t nskipped;
	uint64_t skipped_total; /* may be more than nskipped */
	const char *watch;      /* "inotify", "periodic" or "off" */
};

typedef void library_status_fn(
    void *arg, const struct library_status *st, const char *error);
void library_status(struct library *lib, library_status_fn *cb, void *arg);

/*
 * Scan every folder again, in the background (one scan at a time: asked
 * during a scan, one more follows it).
 */
void library_scan_now(struct library *lib);

/*
 * Whether lib's index is open and scanned or being scanned: false only
 * while an idle start (library_new) has been asked for nothing yet.
 */
bool library_is_open(const struct library *lib);

/*
 * Called on the loop when a scan ends, with its counts; one listener
 * (the control socket's `library scan --wait`, tests).
 */
typedef void library_scanned_fn(void *arg, uint64_t books, uint64_t files);
void library_on_scanned(struct library *lib, library_scanned_fn *fn, void *arg);

/*
 * The library of cfg (borrowed; lives as long as lib): its index under
 * cfg->data_dir (made when missing), its folders cfg->library_paths. The
 * first scan starts at once, in the background. NULL on failure (logged).
 *
 * When cfg names no library folder and no upload path and the index does
 * not exist yet, nothing is opened, made or scanned now: the first of
 * the calls above that needs the index (a query, a file, the status, a
 * scan...) starts the first scan and is queued behind it, as a call made
 * just after the start of a server with an index is.
 */
struct library *library_new(uv_loop_t *loop, const struct config *cfg);

/*
 * Free lib. Jobs still on the thread pool finish first; their answers are
 * dropped (their callbacks are not called).
 */
void library_free(struct library *lib);

/* ---------------------------------------------------------------------
 * Synchronous faces, for the offline commands (no loop, no server) and
 * the worker threads: each opens the index itself.
 */

/*
 * Scan cfg's folders into the index now, on the calling thread; a
 * summary into out (one line). Returns 0, or -1 with a message in out.
 */
int library_scan_sync(const struct config *cfg, struct buf *out);

/*
 * Index (or index again) the files paths of the uploads folder, each
 * <upload path>/<account or "shared">/<name> as libplace_link wrote it,
 * on the calling thread, without walking the rest of the library; a
 * summary into out (one line, as library_scan_sync's; a path that is no
 * such file counts as skipped; a file gone is removed from the index).
 * Returns 0, or -1 with a message in out.
 */
int library_index_sync(const struct config *cfg, const char *const *paths,
    size_t n, struct buf *out);

/*
 * library_query on the calling thread: cb is called before this returns.
 * Returns 0, or -1 when the index cannot be opened (cb told the error).
 */
int library_query_sync(const struct config *cfg, const char *user,
    const struct library_query *q, library_page_fn *cb, void *arg);

/* library_status on the calling thread (cb called before it returns). */
int library_status_sync(
    const struct config *cfg, library_status_fn *cb, void *arg);

/*
 * Share the upload book_id with every account (on), or make it its
 * owner's alone again (off), on the calling thread: the index's table of
 * shares, which the scans keep. Returns 0 (a sentence in out), 1 when
 * book_id is no upload of the index, or -1 with a message in out.
 */
int library_share_sync(
    const struct config *cfg, const char *book_id, bool on, struct buf *out);

struct json_out;

/*
 * Write st as a JSON object into j: "sources" [{"path", "kind",
 * "available", "books", "files"}], "upload_path", "scanning", "books",
 * "files", "last_scan", "last_scan_ms", "last_scan_read", "watch",
 * "skipped_total", "skipped" [{"path", "reason"}].
 */
void library_status_json(struct json_out *j, const struct library_status *st);

/*
 * Write b as a JSON object into j: "id", "title", "authors", "series",
 * "series_index" (when it has one), "language", "publisher",
 * "description", "tags", "identifiers" [{"scheme","value"}], "added",
 * "updated", "has_cover", "owner", "shared", "files" [{"id", "format",
 * "mime", "size", "mtime", "partial_md5", "filename_md5", "name",
 * "source"}] (docs/library.md). viewer NULL is an administrator's view:
 * "owner" always ("" for the books of library_paths and of shared/) and
 * "shared"; an account's view has "owner" only on its own uploads and no
 * "shared" (another account's name is never shown to it).
 */
void library_book_json(
    struct json_out *j, const struct library_book *b, const char *viewer);

#endif
