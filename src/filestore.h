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
#include "store_backend.h"

struct journal_scan_result;

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
	bool persistent;      /* false: the memory backend */
	bool closing;         /* store_flush was called */
	uint64_t ops_live;    /* operations not yet answered */
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
 * Replay found damage at offset off of files[i] (of n): count the intact
 * records after it, in that file (*here, from journal_scan) and in the
 * later files (*later). None at all means a torn tail, which may be cut;
 * any means acknowledged records follow the damage, which must not be.
 * Returns 0, or -1 with errno when a file cannot be read.
 */
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

int datadir_after_damage(char *const *files, size_t n, size_t i, off_t off,
    struct journal_scan_result *here, uint64_t *later);

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

/* Open the data directory: lock, load, migrate, replay. 0 or -1. */
int datadir_open(struct filestore *js);
/* Called whenever an operation finished: drives store_flush. */
void datadir_idle_check(struct filestore *js);
/* After a change was applied: start a compaction when one is due. */
void datadir_changed(struct filestore *js);

void datadir_flush(struct store *st, void (*done)(void *arg), void *arg);
void datadir_close(struct store *st);
/* Free what store_json_open built (also on its failure paths). */
void datadir_free(struct filestore *js);

#endif
