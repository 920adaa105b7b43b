/*
 * statsdb.h: read a KOReader statistics.sqlite3 file that someone
 * uploaded, treating it as hostile.
 *
 * statsdb_read() copies the file to a private temporary file, opens the
 * copy read-only and immutable with SQLite's defences on (defensive mode,
 * untrusted schema, no extensions, triggers or views, small sqlite3_limit()s,
 * a time bound through the progress handler), runs PRAGMA quick_check,
 * checks that book and page_stat_data are plain tables with the columns
 * KOReader writes, and reads only those two tables with its own SQL. What
 * it returns is the file's books, one per identity (md5, or title and
 * authors when a book has no md5), and its page turns, deduplicated on
 * (book, page, start_time) with the longest duration kept, without those
 * whose start_time is before 2007 or more than a day after now.
 *
 * It is synchronous and keeps no state between calls: each call has its
 * own connection and memory, so calls may run on several threads at once
 * (the server calls it on a worker thread, never on the event loop). The
 * one process-wide setting is SQLite's hard heap limit, set once
 * (STATSDB_HEAP_LIMIT).
 *
 * Not here: what the figures are (statscalc.h), where the file comes from
 * and where the result goes.
 */
#ifndef KOSYNCD_STATSDB_H
#define KOSYNCD_STATSDB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Defaults of struct statsdb_limits (docs/security.md, "Statistics files"). */
#define STATSDB_MAX_FILE_BYTES                                                 \
	((uint64_t)128 << 20)      /* KOsync: 64, KoInsight: 10 */
#define STATSDB_MAX_BOOKS 100000   /* a library of a lifetime, many times */
#define STATSDB_MAX_ROWS 2000000   /* ~90 years at an hour a day */
#define STATSDB_MAX_MS 10000       /* CPU for quick_check and reading, in all */
#define STATSDB_MAX_TEXT 1024      /* bytes kept of a title, authors, ... */
#define STATSDB_MAX_DURATION 86400 /* a page turn longer than this is cut */
#define STATSDB_MAX_PAGE 1000000000 /* a page or page count above: bad row */
/* SQLite's memory, all connections of the process together (set once). */
#define STATSDB_HEAP_LIMIT ((int64_t)256 << 20)
/* Page turns before this (2007-01-01T00:00:00Z) are a reset clock. */
#define STATSDB_MIN_TIME 1167609600
/* KOReader's schema version of the files it has written since v2022.11. */
#define STATSDB_SCHEMA_VERSION 20221111

struct statsdb_limits {
	uint64_t max_file_bytes;
	size_t max_books;
	size_t max_rows;
	int64_t max_ms;
	const char *tmpdir; /* for the private copy; NULL: $TMPDIR or /tmp */
};

/* A book: strings are valid UTF-8, NUL-free, at most STATSDB_MAX_TEXT. */
struct statsdb_book {
	char *md5;     /* "" when the file has none */
	char *title;   /* "" when NULL */
	char *authors; /* several separated by '\n'; "N/A" when unknown */
	char *series;
	char *language;
	int64_t pages; /* page count in the book's latest layout; 0 unknown */
	int64_t last_open;
	int64_t highlights;
	int64_t notes;
};

/* A page turn (a row of page_stat_data). */
struct statsdb_row {
	uint32_t book;       /* index into statsdb.books */
	int64_t page;        /* 1-based, in the layout of total_pages */
	int64_t start;       /* Unix seconds */
	int64_t duration;    /* seconds, 0..STATSDB_MAX_DURATION */
	int64_t total_pages; /* the layout's page count then; 0 unknown */
};

struct statsdb {
	struct statsdb_book *books;
	size_t nbooks;
	struct statsdb_row *rows; /* sorted by book, start, page */
	size_t nrows;
	int64_t user_version;
	/* What was left out or changed, and why. */
	size_t book_rows;  /* rows of the book table */
	size_t turn_rows;  /* rows of page_stat_data */
	size_t duplicates; /* same (book, page, start_time) */
	size_t bad_time;   /* start_time before 2007 or after tomorrow */
	size_t bad_rows;   /* NULL or non-integer values, bad page */
	size_t orphans;    /* id_book names no book */
	size_t clamped;    /* duration cut to STATSDB_MAX_DURATION */
};

/* The defaults above (tmpdir NULL). */
void statsdb_limits_default(struct statsdb_limits *lim);

/*
 * Read the statistics file at path into *db (zeroed first). now is the
 * current Unix time (page turns after now + 1 day are dropped). Returns 0,
 * or -1 when the file is refused: then *db is empty and reason receives
 * one line saying why ("not an SQLite database", "page_stat_data is a
 * view, not a table", "integrity check failed: ...", "reading took more
 * than 10000 ms of CPU", ...). lim may be NULL for the defaults. Release *db
 * with statsdb_release() in both cases.
 */
int statsdb_read(const char *path, int64_t now,
    const struct statsdb_limits *lim, struct statsdb *db, struct buf *reason);

/*
 * statsdb_read() of the file open at fd (borrowed, left open; read from
 * its first byte with pread, so its offset does not matter): for a file
 * the caller opened itself, such as an upload just renamed into place.
 */
int statsdb_read_fd(int fd, int64_t now, const struct statsdb_limits *lim,
    struct statsdb *db, struct buf *reason);

void statsdb_release(struct statsdb *db);

struct sqlite3;

/*
 * Open the SQLite file at path read-only as "file:<path>?immutable=1",
 * with the defences above (defensive, untrusted schema, no extensions,
 * triggers, views or foreign keys, query_only, no mmap, a small cache,
 * the low sqlite3_limit()s); the library reads Calibre's metadata.db so.
 * Returns 0 with *out open; -1 (cannot open), -2 (cannot configure) or
 * -3 (not a readable database), *out then to be closed by the caller.
 */
int statsdb_open_hardened(const char *path, struct sqlite3 **out);

/*
 * KOReader's vocabulary builder (vocabulary_builder.sqlite3, schema
 * 20240905): the same defences as statsdb_read_fd, the tables vocabulary
 * and title, read with our own SQL; the words' text is not kept, only
 * what the figures need.
 */
#define STATSDB_MAX_WORDS 500000 /* about 40 years at 30 words a day */
#define STATSDB_VOCAB_VERSION 20240905
#define STATSDB_NO_TITLE UINT32_MAX

struct statsdb_word {
	uint32_t title;      /* index into statsdb_vocab.titles, or NO_TITLE */
	int64_t create_time; /* Unix seconds */
	int64_t due_time;    /* next review; 0 unknown */
	int64_t review_count;
};

struct statsdb_vocab {
	int64_t user_version;
	char **titles; /* book titles, UTF-8, at most STATSDB_MAX_TEXT */
	size_t ntitles;
	struct statsdb_word *words; /* in no particular order */
	size_t nwords;
	size_t word_rows; /* rows of vocabulary */
	size_t bad_rows;  /* dropped: a time or count not an integer */
	size_t bad_time;  /* dropped: created before 2007 or after tomorrow */
};

/*
 * Read the vocabulary file open at fd (from its first byte; fd stays
 * open). Returns 0 with *v filled (release it with statsdb_vocab_release),
 * or -1 with a one-line reason appended (*v then empty). lim: NULL for
 * the defaults; its max_books bounds the titles, STATSDB_MAX_WORDS the
 * words.
 */
int statsdb_vocab_read_fd(int fd, int64_t now, const struct statsdb_limits *lim,
    struct statsdb_vocab *v, struct buf *reason);

void statsdb_vocab_release(struct statsdb_vocab *v);

#endif
