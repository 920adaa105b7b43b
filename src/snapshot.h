/*
 * snapshot.h: database.json, read and written.
 *
 * Reading is a yajl SAX parse straight into the tables of db.c (no parse
 * tree: peak memory is the file plus the tables). It accepts KOsync's
 * database.json of every schema 0..6 and ours (7 and up), with KOsync's
 * quirks: "history" null, missing, a map of {"document_history": [...]} or
 * (schema <= 1) a map of bare arrays; "documents" missing; float32
 * percentages; "pretty_name"; a user with an empty name; unknown keys
 * anywhere (skipped with their values). The scalars of the "config" section
 * go to config_file_set().
 *
 * Writing produces our newest schema (SNAPSHOT_SCHEMA), pretty-printed with
 * 2-space indentation as KOsync writes it, users and documents sorted, and
 * replaces database.json atomically: temp file in the same directory,
 * write, fsync, close, rename, fsync of the directory.
 *
 * The module has three files: snapshot_reader.c, snapshot_writer.c and
 * snapshot_backup.c (the PEM backups); this header is the face of all
 * three. Files are written the one way fileio.h writes them.
 *
 * Not here: deciding when to write (datadir.c), the journal.
 */
#ifndef KOSYNCD_SNAPSHOT_H
#define KOSYNCD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "buf.h"

struct config;
struct db;

#define SNAPSHOT_SCHEMA 7 /* ours; KOsync's newest is 6 */
#define SNAPSHOT_KOSYNC_SCHEMA 6
#define SNAPSHOT_FILE "database.json"

struct snapshot_info {
	int64_t schema;       /* 0 when the file has none */
	uint64_t journal_seq; /* last journal record the file covers */
	size_t users;
	size_t documents;
	size_t legacy_keys; /* users whose key is not an argon2id hash */
	bool fresh;         /* no file, or one of at most 1 byte */
};

/*
 * Parse len bytes of database.json text into db (which should be empty),
 * applying the config section to cfg (cfg may be NULL: config ignored).
 * Returns 0, or -1 with a message in err naming the offset of the problem
 * (the caller adds the file name).
 */
int snapshot_parse(const char *text, size_t len, struct db *db,
    struct config *cfg, struct snapshot_info *info, struct buf *err);

/*
 * snapshot_parse feeding the parser chunk bytes at a time, and calling
 * parsed(arg, upto) (when not NULL) after each chunk: the first upto bytes
 * of text will not be read again (unless the parse then fails). The
 * result is the same whatever chunk is.
 */
int snapshot_parse_chunks(const char *text, size_t len, size_t chunk,
    void (*parsed)(void *arg, size_t upto), void *arg, struct db *db,
    struct config *cfg, struct snapshot_info *info, struct buf *err);

/* Read the whole file at path into out. 0, or -1 with a message in err. */
int snapshot_read(const char *path, struct buf *out, struct buf *err);

/*
 * Parse the file at path (mapped, not copied; the pages parsed leave the
 * resident set as the parse goes) and, when raw is not NULL, copy its
 * bytes there. A missing file or one of at most one
 * byte is a fresh, empty database (info->fresh). Returns 0 or -1 with a
 * message in err naming the file.
 */
int snapshot_load(const char *path, struct buf *raw, struct db *db,
    struct config *cfg, struct snapshot_info *info, struct buf *err);

/*
 * Write db as our newest schema to fd (streamed in blocks), recording that
 * it covers the journal up to journal_seq. cfg may be NULL (then the config
 * section is empty). Returns 0 or -1 with errno.
 */
int snapshot_write_fd(int fd, const struct db *db, const struct config *cfg,
    uint64_t journal_seq);

/*
 * Replace dir/database.json atomically with a snapshot of db. On success
 * *st (if not NULL) is the new file's stat. Returns 0 or -1 with a message
 * in err; on failure database.json is untouched and the temp file removed.
 */
int snapshot_save(const char *dir, const struct db *db,
    const struct config *cfg, uint64_t journal_seq, struct stat *st,
    struct buf *err);

/* Replace dir/database.json atomically with the given bytes (restore). */
int snapshot_replace(
    const char *dir, const char *json, size_t len, struct buf *err);

/*
 * Write a PEM backup (KOSYNC BACKUP; App: kosyncd, Content-Type:
 * application/json, Created-At: RFC 3339, Schema: schema) of the database
 * JSON text in dir, under a name that never collides
 * (database_<schema>_<UTC time>_<pid>[_<n>].bak), mode 0600, fsynced along
 * with the directory. *path_out (if not NULL) gets the file's path (caller
 * frees). Returns 0 or -1 with a message in err.
 */
int snapshot_backup(const char *dir, const char *json, size_t len,
    int64_t schema, char **path_out, struct buf *err);

/*
 * Remove the temp files a snapshot writer killed mid-write left in dir
 * (call with the data directory locked).
 */
void snapshot_clean_temp(const char *dir);

#endif
