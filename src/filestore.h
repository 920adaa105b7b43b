/*
 * filestore.h: internals shared by the modules of the file and memory
 * backends (filestore.c: operations; datadir.c: the data directory,
 * journal, snapshots and compaction). Not for other callers.
 */
#ifndef KOSYNCD_FILESTORE_H
#define KOSYNCD_FILESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "buf.h"
#include "db.h"
#include "snapshot.h"
#include "store_backend.h"

struct config;
struct journal;
struct keyhash;

struct filestore {
	struct store base; /* first: the ops table */
	uv_loop_t *loop;
	struct config *cfg;
	struct db db;
	/* What a change keeps of replaced states now (datadir_history). */
	struct db_history history;
	struct keyhash *keys;
	/* Recent pulls for the guard policy (made at the first need). */
	struct policy_pulls *pulls;
	int64_t started;   /* when the store opened: pulls before are unknown */
	bool persistent;   /* false: the memory backend */
	bool closing;      /* store_flush was called */
	uint64_t ops_live; /* operations not yet answered */
	struct datadir *file; /* persistent only */
	/* store_flush in progress */
	void (*flush_done)(void *arg);
	void *flush_arg;
	int flush_stage;
};

/*
 * Append a journal record (file backend); done(arg, err) runs on the loop
 * once it is durable (err 0) or failed (an errno).
 */
uint64_t datadir_append(struct filestore *js, const char *rec, size_t len,
    void (*done)(void *arg, int err), void *arg);
/* Account for a record's outcome (before the change is applied). */
void datadir_done(struct filestore *js, uint64_t seq, int err);

/*
 * Remove the WebDAV files of account user (file backend), once its
 * creation or deletion is durable: an account starts with none, and its
 * files go with it. A failure is logged; the next start's sweep of trees
 * without an account (datadir_open) catches what is left.
 */
void datadir_user_files_remove(struct filestore *js, struct str user);

/*
 * Set js->history from the configuration (datadir.c: at the start, and
 * after loading database.json, whose config section may change it).
 */
void datadir_history(struct filestore *js);

/*
 * The journal files of dir (full paths), oldest first; free the array
 * with datadir_journals_free.
 */
char **datadir_journals(const char *dir, size_t *n);
void datadir_journals_free(char **v, size_t n);

/*
 * Started as root on a data directory that belongs to another user (the
 * service's), become that user (its uid, and the directory's group as the
 * only group) for good, before any file is written there: every file
 * kosyncd then creates (database.json, the journal, backups, the lock,
 * the control socket, side files) is the owner's, so the service can still
 * read and replace them. Switching once covers every path that creates a
 * file, which giving each file away (fchown) afterwards would not. Not
 * root, a directory owned by root, or none yet: nothing changes. Returns
 * 0, or -1 after logging that it cannot switch and whom to run as.
 */
int datadir_become_owner(const char *dir);

/*
 * Loading a data directory: the one way it is read, by a start
 * (datadir_open) and by the offline commands (datadir_offline.h). Each
 * takes the directory's lock, loads database.json and replays the journal
 * onto it; they differ in how they treat a held lock and damage in the
 * journal, and in whether they may change a file.
 */
enum datadir_load_mode {
	/*
	 * A start: wait a second for the lock; remove stale temporary
	 * files; refuse a schema newer than ours and damage with intact
	 * records after it; a torn tail of the last file, or the zeros
	 * written ahead of its records, is cut when the journal is opened
	 * (cut_at). A torn tail is said in the log.
	 */
	DATADIR_LOAD_START,
	/* Offline (backup, restore, compact): the lock or refuse; damage
	 * with intact records after it refuses, as it stops a start. */
	DATADIR_LOAD_STRICT,
	/* check: describe everything; a held lock (a server runs) is
	 * reported and the files are read as they are. */
	DATADIR_LOAD_CHECK,
	/* salvage: replay every intact record, keep the damaged bytes. */
	DATADIR_LOAD_SALVAGE,
};

/* The damaged bytes of one journal file, for its side file (salvage). */
struct datadir_salvaged {
	char *journal;
	struct buf bytes;
};

struct datadir_load {
	/* Set by datadir_load_init. */
	enum datadir_load_mode mode;
	const char *dir;    /* borrowed */
	char *db_path;      /* <dir>/database.json */
	struct db *db;      /* loaded into (borrowed) */
	struct config *cfg; /* gets database.json's config section */
	/* This process's options: a flag or the environment beats the
	 * file's history settings for the replay. */
	const struct config *over;
	/* Offline modes: facts for a person, one a line (NULL: log). */
	struct buf *report;
	/* Results of datadir_load. */
	int lock_fd; /* the lock, held (-1: none; a caller may take it) */
	struct snapshot_info info;
	struct db_history history; /* what the replay kept */
	uint64_t last_seq;         /* last journal record seen */
	uint64_t replayed;         /* records applied on top of the snapshot */
	char **files;              /* the journal files, oldest first */
	size_t nfiles;
	off_t cut_at; /* START: where the last file is cut when opened
	               * (a torn tail, or the zeros written ahead); -1 */
	bool damaged; /* something could not be read or understood */
	struct datadir_salvaged *salv; /* SALVAGE: one per damaged file */
	size_t nsalv;
};

/*
 * Prepare l to load dir in mode into db and cfg (over: this process's
 * options, which may be cfg itself); report gets the facts of the offline
 * modes. Release l with datadir_load_release, whatever happens.
 */
void datadir_load_init(struct datadir_load *l, enum datadir_load_mode mode,
    const char *dir, struct db *db, struct config *cfg,
    const struct config *over, struct buf *report);
/*
 * Lock, load database.json, replay the journal, as mode says. Returns 0,
 * or -1 after logging why (and, offline, saying it in the report). Only a
 * start changes a file here (stale temporary files).
 */
int datadir_load(struct datadir_load *l);
/* Free what datadir_load built and drop the lock unless it was taken. */
void datadir_load_release(struct datadir_load *l);

/*
 * Administration (store.h store_admin_*; filestore_admin.c). Compaction
 * and the file's figures are datadir.c's.
 */
void filestore_admin_list(struct store *st, const struct store_page *page,
    store_text_cb *cb, void *arg);
void filestore_admin_dump(struct store *st, store_text_cb *cb, void *arg);
void filestore_admin_import(struct store *st, const char *text, size_t len,
    store_text_cb *cb, void *arg);
void datadir_compact(struct store *st, store_text_cb *cb, void *arg);
void datadir_stats(struct store *st, struct store_stats *out);
/* The web interface (store.h store_web_*; webops.c, webops.h). */
void filestore_web_documents(struct store *st, struct str user,
    struct str document, bool history, const struct store_page *page,
    store_text_cb *cb, void *arg);
void filestore_user_admin(
    struct store *st, struct str user, store_cb *cb, void *arg);
void filestore_web_change(struct store *st, struct str user,
    const struct store_web_change *ch, store_cb *cb, void *arg);
/* Events out (store.h store_events_*), on the tables (webops.c). */
void filestore_events_set(struct store *st, struct str user, bool feed,
    struct str text, store_cb *cb, void *arg);
void filestore_events_get(
    struct store *st, struct str user, store_events_fn *cb, void *arg);
void filestore_feed_user(
    struct store *st, struct str token, store_text_cb *cb, void *arg);

/* Open the data directory: lock, load, migrate, replay. 0 or -1. */
int datadir_open(struct filestore *js);
/* Called whenever an operation finished: drives store_flush. */
void datadir_idle_check(struct filestore *js);
/* After a change was applied: start a compaction when one is due. */
void datadir_changed(struct filestore *js);

void datadir_flush(struct store *st, void (*done)(void *arg), void *arg);
void datadir_close(struct store *st);
/* Free what store_filestore_open built (also on its failure paths). */
void datadir_free(struct filestore *js);

#endif
