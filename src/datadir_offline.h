/*
 * datadir_offline.h: offline operations on a file store's data directory, for
 * the admin commands (`kosyncd backup`, `restore`, `check`, `compact`,
 * `salvage`).
 *
 * Each takes the data directory's lock first, so it cannot race a running
 * kosyncd: while one runs they refuse with a message saying so (check
 * alone goes on, reading the files as they are). The current state is what
 * a start would see: database.json plus the journal replayed onto it.
 * Failures are logged (log_warnx) and reported as -1.
 */
#ifndef KOSYNCD_DATADIR_OFFLINE_H
#define KOSYNCD_DATADIR_OFFLINE_H

#include <stdbool.h>

#include "buf.h"

struct config;

/*
 * A backup's WebDAV files: the folder named as the PEM file plus this
 * (davfs_backup's layout: one folder per account as in <data_dir>/dav).
 */
#define DATADIR_OFFLINE_FILES ".dav"

/*
 * Write a PEM backup of the current state (our newest schema, JSON) into
 * the data directory, and every account's WebDAV files into the folder
 * beside it (DATADIR_OFFLINE_FILES); *path_out (if not NULL) gets the PEM
 * file's path, which the caller frees. Returns 0 or -1 (then neither is
 * left).
 */
int datadir_offline_backup(const struct config *cfg, char **path_out);

/*
 * Copy the WebDAV files of data_dir beside the backup pem_path (which a
 * running server wrote: the files are read while it serves them, each
 * whole). 0, or -1 (logged; no folder left).
 */
int datadir_offline_files_backup(const char *data_dir, const char *pem_path);

/*
 * Restore a PEM backup: ours, or KOsync's with a JSON payload (any schema
 * 0..7; it is migrated at the next start, with its own backup). The
 * current state is backed up first, its WebDAV files too (*saved_out, if
 * not NULL, gets that backup's path, or NULL when there was nothing to
 * save); then database.json is replaced atomically by the backup's
 * payload and the journal is removed. When the backup has its files
 * folder (DATADIR_OFFLINE_FILES), it is copied in first and each
 * account's tree then replaced in one step (its old tree or the
 * backup's, never a mix), trees the backup lacks removed; *files_out (if
 * not NULL) says whether it had one (without, the files stay as they
 * are). A KOsync msgpack backup is refused with advice (restore
 * it with KOsync, then point kosyncd at the database.json KOsync wrote).
 * Returns 0 or -1; on -1 nothing was changed.
 */
int datadir_offline_restore(const struct config *cfg, const char *pem_path,
    char **saved_out, bool *files_out);

/*
 * Check the data directory: database.json parses, the journal replays to
 * its end. Appends a report for a person to out (one fact per line).
 * Returns 0 when everything is sound, -1 otherwise.
 */
int datadir_offline_check(const struct config *cfg, struct buf *out);

/*
 * Compact: write the current state as a new database.json (migrating it,
 * with a backup first, when it is older than our schema) and remove the
 * journal. Returns 0 or -1.
 */
int datadir_offline_compact(const struct config *cfg);

/*
 * Salvage a journal damaged in the middle (which a start refuses): replay
 * every intact record (the ones after the damage too), save the damaged
 * bytes of each journal file to '<journal>.damaged.<unix time>' beside it,
 * then compact (a new database.json holding it all; the journal removed).
 * Appends a report for a person to out. With nothing damaged it changes
 * nothing. Returns 0 or -1 (then the journal is left as it was).
 */
int datadir_offline_salvage(const struct config *cfg, struct buf *out);

#endif
