/*
 * statsvc.h: each account's reading statistics in the server: the
 * statistics.sqlite3 (and vocabulary_builder.sqlite3) files uploaded over
 * WebDAV read in the background, what was read kept and served.
 *
 * An upload (dav.c calls statsvc_uploaded) schedules a read on libuv's
 * thread pool (statsdb.h: hostile input); the upload does not wait. At
 * most one read per account runs at a time (a later upload waits for it,
 * and only the latest waiting one is read); reads and the computations of
 * figures share STATSVC_MAX_JOBS threads of the pool. A file read whole
 * replaces the account's figures; a refused one keeps the previous figures and
 * its reason is shown to the account.
 *
 * Storage, in <data_dir>/stats/: per account "<name>.json" (settings,
 * the last upload, the reason of a refusal; small, written on the loop
 * with fileio_replace) and "<name>.data" (what the last accepted file
 * held, its books and page turns, written by the worker that read it),
 * "<name>.vocab" the same for the vocabulary (its words' books, times and
 * review counts; never the words).
 * Both are loaded at the start, so a restart does not read the uploads
 * again; what is missing or older than the file in the WebDAV tree (a
 * restore) is read again from it (statsvc_rescan). The figures themselves
 * (days, streaks, books) are computed from it on the thread pool for each
 * request, in the account's time zone.
 *
 * Not here: the WebDAV space (dav.h), the HTTP API (webui.c), what the
 * figures are (statscalc.h).
 */
#ifndef KOSYNCD_STATSVC_H
#define KOSYNCD_STATSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"

/*
 * Jobs on libuv's thread pool at once (reads of uploads and computations
 * of figures, all accounts together; the others wait in order): the pool
 * has 4 threads, the rest stay free for WebDAV's fsyncs and copies
 * (docs/security.md).
 */
#define STATSVC_MAX_JOBS 2
/* Bytes kept of an upload's User-Agent. */
#define STATSVC_MAX_AGENT 256
/* Uploads listed per account (the oldest is forgotten). */
#define STATSVC_MAX_UPLOADS 50
/* Reading goals: books per year, minutes per day, at most. */
#define STATSVC_MAX_GOAL_BOOKS 10000
#define STATSVC_MAX_GOAL_MINUTES 1440
/*
 * Entries of an account's WebDAV tree walked to find its files at the
 * start (statsvc_rescan): ten times the files and folders a tree may hold
 * (dav.h), for the dead properties and versions kept beside them; on the
 * thread pool, one account at a time.
 */
#define STATSVC_SCAN_ENTRIES 100000
/* The file names that are read, in any folder of the account's tree. */
#define STATSVC_FILE_NAME "statistics.sqlite3"
#define STATSVC_VOCAB_NAME "vocabulary_builder.sqlite3"

struct statsvc;

/*
 * The service for the data directory data_dir (borrowed; it and its
 * "stats" folder are made when missing). Loads every account's files; a
 * file that cannot be read is logged and left out. Never fails but for
 * memory.
 */
struct statsvc *statsvc_new(uv_loop_t *loop, const char *data_dir);

struct config;

/*
 * Keep the figures and the vocabulary in the Redis of cfg too (--storage redis;
 * cfg borrowed, lives as long as sv): every instance on that Redis shows what
 * any of them read, and a restart reads no upload again. An instance loads an
 * account's figures from Redis when they are asked for and Redis has newer ones
 * than it shows. docs/redis.md gives the key.
 */
void statsvc_share(struct statsvc *sv, const struct config *cfg);

/*
 * Copy what the file storage under data_dir (borrowed) keeps of user's
 * statistics (<name>.json, .data, .vocab) into the Redis of cfg as
 * statsvc_share keeps them, unless Redis has some for user already (then
 * they are kept): for `kosyncd export redis`, since instances on Redis do
 * not read the WebDAV files again. Blocking. 1 copied, 0 nothing to copy
 * or kept, -1 with errno.
 */
int statsvc_share_files(
    const struct config *cfg, const char *data_dir, struct str user);

/*
 * Read again, in the background, the files of the WebDAV trees under
 * data_dir (borrowed) whose derived data sv does not show: none kept
 * (a restore, a lost stats folder), or kept from another file (a file
 * bigger or smaller than the upload read last, or changed after it). For
 * each account the newest file of each name is looked at, one account
 * at a time, its reads queued as an upload's are; each is logged. Call
 * once, at the start (file storage).
 */
void statsvc_rescan(struct statsvc *sv, const char *data_dir);

/*
 * Free sv. Reads and queries still on the thread pool finish first:
 * their results are dropped and the last one frees sv.
 */
void statsvc_free(struct statsvc *sv);

/*
 * A file called name (STATSVC_FILE_NAME or STATSVC_VOCAB_NAME; others are
 * ignored) of user was uploaded (or copied or moved) and is open at fd,
 * which sv takes (it closes it). size is its size, agent the upload's
 * User-Agent (NULL or len bytes, not NUL-terminated). One read per
 * account runs at a time, the statistics' first; of each kind only the
 * latest waiting upload is read.
 */
void statsvc_uploaded(struct statsvc *sv, const char *user, size_t user_len,
    const char *name, int fd, uint64_t size, const char *agent,
    size_t agent_len);

/* The account user was deleted: forget its figures, remove its files. */
void statsvc_forget(struct statsvc *sv, const char *user, size_t user_len);

/*
 * Call fn(arg, user) for every account sv keeps statistics of (the names
 * are copied first: fn may call statsvc_forget).
 */
void statsvc_each(
    struct statsvc *sv, void (*fn)(void *arg, const char *user), void *arg);

/*
 * Told on the loop when an upload of user has been read (accepted or
 * refused): the web interface tells the user's open pages. One listener.
 */
typedef void statsvc_read_fn(void *arg, const char *user, size_t user_len);
void statsvc_on_read(struct statsvc *sv, statsvc_read_fn *fn, void *arg);

/* Whether user has figures (an accepted statistics file). */
bool statsvc_has_books(
    const struct statsvc *sv, const char *user, size_t user_len);

/*
 * The title and authors of the book whose md5 is md5 in user's figures
 * (borrowed, valid until the next upload is read); false when none.
 */
bool statsvc_title(const struct statsvc *sv, const char *user, size_t user_len,
    const char *md5, size_t md5_len, const char **title, const char **authors);

/*
 * Set user's time zone (an IANA name found in tzdata, or "UTC"), day
 * start (seconds after midnight, 0..86399; a whole minute) and reading
 * goals (books per year, minutes per day: 0 none, -1 unchanged; at most
 * STATSVC_MAX_GOAL_*). Returns 0, or -1 with a message in err (an unknown
 * zone, or a failed write).
 */
int statsvc_settings_set(struct statsvc *sv, const char *user, size_t user_len,
    const char *tzname, int32_t day_start, int64_t goal_books,
    int64_t goal_minutes, struct buf *err);

enum statsvc_view {
	STATSVC_OVERVIEW, /* figures for today ... year, streaks, uploads */
	STATSVC_DAYS,     /* per-day figures from .from to .to */
	STATSVC_BOOKS,    /* per-book figures */
	STATSVC_PERIODS,  /* the punch-card, the months and the years */
	STATSVC_BOOK,     /* one book (.md5): figures, days, sessions */
	STATSVC_SESSIONS, /* every session of every book */
	STATSVC_VOCAB,    /* the vocabulary builder's figures */
};

enum statsvc_format {
	STATSVC_JSON,
	STATSVC_CSV, /* STATSVC_DAYS and STATSVC_SESSIONS: RFC 4180 text */
};

/* A book read to its end (progress >= 99 %), by md5, and when. */
struct statsvc_finished {
	const char *md5;
	int64_t when; /* the last sync of that progress, Unix seconds */
};

struct statsvc_query {
	enum statsvc_view view;
	int64_t from, to; /* STATSVC_DAYS: local day numbers, both included */
	int64_t now;      /* what today is, Unix seconds */
	/*
	 * The books finished (copied), for the overview's books_finished;
	 * NULL: not known (null in the answer).
	 */
	const struct statsvc_finished *finished;
	size_t nfinished;
	const char *md5; /* STATSVC_BOOK: the book (copied) */
	enum statsvc_format format;
};

/*
 * The answer: status 200 and the JSON (or CSV) text (docs/api.md), or
 * another status with a message (404: no book of that md5). text is
 * borrowed for the call.
 */
typedef void statsvc_answer_fn(
    void *arg, int status, const char *text, size_t len);

/*
 * Compute a view of user's figures on the thread pool and answer with cb
 * (on the loop, never before this returns). An account with no figures
 * gets empty ones.
 */
void statsvc_query(struct statsvc *sv, const char *user, size_t user_len,
    const struct statsvc_query *q, statsvc_answer_fn *cb, void *arg);

#endif
