/*
 * davfs.h: an account's WebDAV tree on disk, reached only from its root.
 *
 * Each account's files live in <data_dir>/dav/<name>/ (the account name
 * percent-encoded into one safe file name). Everything below is opened
 * relative to that folder's descriptor, one checked name (davpath.h) at a
 * time, with O_NOFOLLOW: a symbolic link is never followed, so nothing
 * outside the tree can be reached even if one is planted there. Files the
 * server keeps beside the user's (temporary uploads, dead properties)
 * have the reserved prefix and are never listed.
 *
 * These are plain blocking system calls on small metadata; the caller
 * runs fsync off the loop. Functions return 0 or a descriptor, or -1 with
 * errno set.
 */
#ifndef KOSYNCD_DAVFS_H
#define KOSYNCD_DAVFS_H

#include <sys/stat.h>

#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "buf.h"

/*
 * Open (creating it, mode 0700, and <data_dir>/dav, when missing) the root
 * folder of account user. Returns its descriptor or -1.
 */
int davfs_root_open(const char *data_dir, struct str user);

/* Open the root folder of account user when it has one (else ENOENT). */
int davfs_root_find(const char *data_dir, struct str user);

/*
 * Remove account user's whole tree (its files go with the account: a new
 * account of the same name starts empty). 0 also when it has none.
 */
int davfs_root_remove(const char *data_dir, struct str user);

/*
 * Remove the tree of every account of <data_dir>/dav for which keep(arg,
 * name) is false (and any entry that is not an account's folder): trees
 * left by accounts deleted while no server ran, or by a restore. Returns
 * the number removed, or -1 with errno.
 */
typedef bool davfs_keep_fn(void *arg, struct str user);
int davfs_sweep(const char *data_dir, davfs_keep_fn *keep, void *arg);

/*
 * Open the folder reached from dirfd through the n NUL-terminated names
 * of names (n may be 0: a new descriptor of dirfd itself). ENOENT or
 * ENOTDIR when a name is missing or not a folder, ELOOP for a link.
 */
int davfs_open_dir(int dirfd, const struct str *names, size_t n);

/* lstat of name in dirfd (never follows a link). */
int davfs_stat(int dirfd, const char *name, struct stat *st);

/*
 * The strong entity tag of a file as the server sends it ("\"...\"", with
 * the quotes), from its inode, size and modification time, into out.
 */
void davfs_etag(const struct stat *st, struct buf *out);

/*
 * Count the bytes and the entries (files and folders) of the tree under
 * dirfd into *bytes and *entries. Stops with E2BIG past max_entries.
 * Temporary files of uploads are not counted; those unchanged for a day
 * (left by a crash) are removed on the way.
 */
int davfs_usage(
    int dirfd, uint64_t max_entries, uint64_t *bytes, uint64_t *entries);

/* What davfs_survey finds in a tree. */
struct davfs_tally {
	uint64_t bytes;      /* of the files (dead properties included) */
	uint64_t entries;    /* files and folders */
	uint64_t temps;      /* temporary files of uploads */
	uint64_t temp_bytes; /* their bytes */
};

/*
 * Count the tree under dirfd into *t, changing nothing (for check and
 * user list; no bound on the entries).
 */
int davfs_survey(int dirfd, struct davfs_tally *t);

/*
 * davfs_survey of account user's tree; all zeros when it has none.
 */
int davfs_tree_usage(
    const char *data_dir, struct str user, struct davfs_tally *t);

/*
 * Call fn(arg, user, dirfd) for each entry of <data_dir>/dav: user is the
 * account's name and dirfd its tree (borrowed, valid during the call), or
 * dirfd is -1 and user the raw entry name when the entry is not an
 * account's folder. 0 (also without <data_dir>/dav), or -1 with errno.
 */
typedef void davfs_root_fn(void *arg, struct str user, int dirfd);
int davfs_each_root(const char *data_dir, davfs_root_fn *fn, void *arg);

/*
 * Backups of the trees (davfs_backup), restored atomically per account
 * (davfs_restore_stage, then davfs_restore_commit):
 *
 * davfs_backup copies <data_dir>/dav into the new folder dest, which
 * then has its layout (one folder per account, named as in
 * <data_dir>/dav, the files and their dead-property sidecars; no
 * temporary file), every file and folder fsynced. A server may be running:
 * each file is copied whole from one version, entries removed meanwhile
 * are left out. On failure dest is removed.
 *
 * davfs_restore_stage copies the folder src (a davfs_backup) to
 * <data_dir>/dav.restore, fsynced; on failure nothing is left.
 * davfs_restore_commit then puts each of its trees in place of the
 * account's (one renameat2 exchange each: an account has its old tree or
 * the backup's, never a mix), removes the trees the backup does not have,
 * and removes the stage (with the old trees). davfs_restore_abort removes
 * a stage. Call these with the data directory locked. 0, or -1 with errno.
 */
int davfs_backup(const char *data_dir, const char *dest);
int davfs_restore_stage(const char *data_dir, const char *src);
int davfs_restore_commit(const char *data_dir);
void davfs_restore_abort(const char *data_dir);

/*
 * Remove the temporary files of uploads in dirfd (not below) unchanged
 * for a day: left by a crash (an upload in progress writes, or is cut off
 * after idle_timeout_ms).
 */
void davfs_temps_clean(int dirfd);

/*
 * Open (read-only) the most recently changed regular file called name
 * (not a reserved name) anywhere in the tree under dirfd (links are never
 * followed), its fstat in *st. Returns the descriptor, or -1: ENOENT when
 * there is none, E2BIG past max_entries entries (counted as davfs_usage
 * does) or DAVPATH_MAX_DEPTH levels. Changes nothing.
 */
int davfs_find_newest(
    int dirfd, const char *name, uint64_t max_entries, struct stat *st);

/*
 * Find the first entry of the tree under dirfd that is neither a file
 * nor a folder (a symbolic link, a device, a socket...), which the
 * server never serves: 1 with its path below dirfd ("/a/link") in path,
 * 0 when there is none, -1 with errno (E2BIG past max_entries entries or
 * DAVPATH_MAX_DEPTH levels). The reserved files are not looked at.
 * Changes nothing (for an import, which refuses such a tree).
 */
int davfs_find_odd(int dirfd, uint64_t max_entries, struct buf *path);

/*
 * Remove name from dirfd: a file, or a folder with everything in it, and
 * the dead properties kept for it.
 */
int davfs_remove(int dirfd, const char *name);

/*
 * Copy name of sdir to dname of ddir (which must not exist): a file, or a
 * folder with (recursive) or without its content, with its properties.
 */
int davfs_copy(
    int sdir, const char *sname, int ddir, const char *dname, bool recursive);

/*
 * Rename name of sdir to dname of ddir (which must not exist), with its
 * properties.
 */
int davfs_move(int sdir, const char *sname, int ddir, const char *dname);

/* The name of the sidecar that holds name's dead properties, into out. */
void davfs_props_name(const char *name, struct buf *out);

/*
 * Create a temporary file in dirfd for an upload: its name (reserved
 * prefix, random) goes into out. Returns the open descriptor or -1.
 */
int davfs_temp_open(int dirfd, struct buf *out);

/*
 * Versions of a file: before an upload replaces name, the old file is
 * linked (no copy) to a hidden name beside it (reserved prefix, never
 * listed), numbered from 1 up; the newest keep are kept. Each version is
 * an ordinary file of the tree: its bytes and its entry count in
 * davfs_usage (once: it is the old file itself, which no longer is the
 * current one).
 */
#define DAVFS_MAX_VERSIONS DAV_VERSIONS_MAX

struct davfs_version {
	uint64_t number; /* 1, 2, ...: higher is newer */
	uint64_t size;
	time_t mtime; /* when that version was uploaded */
};

/*
 * The versions of name in dirfd, newest first, at most max of them (the
 * newest) into out, their count into *n. 0 or -1 with errno.
 */
int davfs_versions(int dirfd, const char *name, struct davfs_version *out,
    size_t max, size_t *n);

/*
 * Make the current file name (which must exist) a version, before it is
 * replaced, and remove the versions past the newest keep (at most
 * DAVFS_MAX_VERSIONS); keep 0 only removes them all. *kept says whether
 * a version was made, *freed and *freed_n the bytes and versions
 * removed. 0 or -1 with errno.
 */
int davfs_version_keep(int dirfd, const char *name, unsigned keep, bool *kept,
    uint64_t *freed, uint64_t *freed_n);

/*
 * The bytes davfs_version_keep(dirfd, name, keep) would remove (the
 * versions it drops): what replacing name frees for the quota.
 */
uint64_t davfs_version_dropped(int dirfd, const char *name, unsigned keep);

/* Open version number of name for reading: a descriptor, or -1. */
int davfs_version_open(int dirfd, const char *name, uint64_t number);

#endif
