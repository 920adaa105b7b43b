/*
 * davstore.h: where the WebDAV trees are kept, behind one table of
 * operations (dav.c calls nothing else to reach a tree).
 *
 * A backend (struct davstore) keeps one tree per account. A request opens
 * its account's root (davstore_root_open) and the folders on its path
 * (davstore_dir_open), each an opaque struct davdir; files and folders
 * are then named by one checked name (davpath.h) in a folder. Metadata
 * comes back as a struct stat: st_mode (S_IFREG or S_IFDIR), st_size,
 * st_mtim, st_ctim and st_ino (part of the entity tag, davfs_etag: it
 * changes with every upload), whatever the backend.
 *
 * The first backend is the disk (davstore_disk_new: davfs.h under
 * <data_dir>/dav). Operations marked "pool" may take long (a walk of the
 * tree, an fsync) and run on libuv's thread pool; the others are single
 * small steps that the caller may make on the loop, unless the store is
 * blocking (its calls wait on the network: dav.c then makes every call
 * but davstore_up_open, davstore_read_close and the closes on the pool
 * too, each chunk read or written included, so that the loop never
 * waits on it). Every
 * int function returns 0 or -1 with errno set (ENOENT, ENOTDIR, EEXIST, ENOSPC,
 * EFBIG, EIO for a backend that failed); handles are freed with their close.
 */
#ifndef KOSYNCD_DAVSTORE_H
#define KOSYNCD_DAVSTORE_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "davfs.h"

struct davstore;
struct davdir;
struct davrd;
struct davup;

/* One entry of a folder's listing (davstore_list). */
typedef void davstore_entry_fn(
    void *arg, const char *name, const struct stat *st);

/* The backend's table; every handle leads back to it. */
struct davstore_ops {
	struct davdir *(*root_open)(struct davstore *s, struct str user);
	struct davdir *(*dir_open)(
	    struct davdir *d, const struct str *names, size_t n);
	void (*dir_close)(struct davdir *d);
	bool (*same_tree)(struct davdir *a, struct davdir *b);
	int (*stat)(struct davdir *d, const char *name, struct stat *st);
	int (*list)(
	    struct davdir *d, size_t max, davstore_entry_fn *fn, void *arg);
	int (*props_load)(
	    struct davdir *d, const char *name, struct buf *out, size_t max);
	int (*props_save)(
	    struct davdir *d, const char *name, const char *data, size_t len);
	int (*mkcol)(struct davdir *d, const char *name);
	struct davrd *(*read_open)(
	    struct davdir *d, const char *name, struct stat *st);
	ssize_t (*read)(struct davrd *f, uint64_t off, char *buf, size_t cap);
	void (*read_close)(struct davrd *f);
	int (*read_fd)(struct davrd *f);
	struct davup *(*up_open)(struct davdir *d);
	int (*up_write)(struct davup *u, const char *data, size_t len);
	int (*up_sync)(struct davup *u);
	int (*up_commit)(struct davup *u, const char *name, struct stat *st);
	void (*up_abort)(struct davup *u);
	int (*dir_sync)(struct davdir *d);
	int (*remove)(struct davdir *d, const char *name);
	int (*copy)(struct davdir *sd, const char *sname, struct davdir *dd,
	    const char *dname, bool recursive);
	int (*move)(struct davdir *sd, const char *sname, struct davdir *dd,
	    const char *dname);
	int (*usage)(struct davdir *d, uint64_t max_entries, uint64_t *bytes,
	    uint64_t *entries);
	uint64_t (*version_dropped)(
	    struct davdir *d, const char *name, unsigned keep);
	int (*version_keep)(struct davdir *d, const char *name, unsigned keep,
	    bool *kept, uint64_t *freed, uint64_t *freed_n);
	int (*versions)(struct davdir *d, const char *name,
	    struct davfs_version *out, size_t max, size_t *n);
	struct davrd *(*version_open)(struct davdir *d, const char *name,
	    uint64_t number, struct stat *st);
	void (*free)(struct davstore *s);
};

/* The common head of every backend's store, folder, reader and upload. */
struct davstore {
	const struct davstore_ops *ops;
	/*
	 * Whether a usage figure may be kept between requests (the tree
	 * changes only through this process); else davstore_usage is asked
	 * each time (a backend shared by several processes keeps its own).
	 */
	bool cache_usage;
	/* Whether davstore_version_keep keeps versions (else a no-op). */
	bool versions;
	/*
	 * Whether its calls may wait on the network (Redis): dav.c then
	 * makes them on the thread pool, never on the loop.
	 */
	bool blocking;
};
struct davdir {
	struct davstore *s;
};
/* A reader may outlive its store (a download in progress). */
struct davrd {
	const struct davstore_ops *ops;
};
struct davup {
	struct davstore *s;
	bool guard; /* davstore_up_guard */
};

/* The disk backend: the trees of <data_dir>/dav (davfs.h). */
struct davstore *davstore_disk_new(const char *data_dir);

/* Free the backend (NULL does nothing); every handle is closed. */
void davstore_free(struct davstore *s);

/*
 * Open account user's root folder (made when missing): NULL with errno.
 */
struct davdir *davstore_root_open(struct davstore *s, struct str user);

/*
 * Open the folder reached from d through the n names (n 0: d itself
 * again, a handle of its own). NULL with errno: ENOENT or ENOTDIR when a
 * name is missing or not a folder, ELOOP for a link.
 */
struct davdir *davstore_dir_open(
    struct davdir *d, const struct str *names, size_t n);
void davstore_dir_close(struct davdir *d);

/* True when a and b are the same tree, not one made again under the name. */
bool davstore_same_tree(struct davdir *a, struct davdir *b);

/* Metadata of name in d (NULL: d itself). ENOENT when missing. */
int davstore_stat(struct davdir *d, const char *name, struct stat *st);

/*
 * Call fn for each file and folder of d (never the reserved names),
 * metadata included, at most max of them.
 */
int davstore_list(
    struct davdir *d, size_t max, davstore_entry_fn *fn, void *arg);

/*
 * The dead properties of name in d (NULL: d itself), as the bytes
 * dav.c wrote (davstore_props_save), into out (reset first; empty when
 * none), at most max bytes read.
 */
int davstore_props_load(
    struct davdir *d, const char *name, struct buf *out, size_t max);
/* Replace them with len bytes of data (0: none kept). */
int davstore_props_save(
    struct davdir *d, const char *name, const char *data, size_t len);

/* Make the folder name in d (EEXIST when the name is taken). */
int davstore_mkcol(struct davdir *d, const char *name);

/*
 * Open the file name of d for reading, its metadata into *st (of the
 * version opened: later uploads do not change what is read). NULL with
 * errno. davstore_read reads up to cap bytes at off (0 past the end, -1
 * with errno); davstore_read_fd is a descriptor of the same bytes, taken
 * by the caller (the reader stays open), or -1.
 */
struct davrd *davstore_read_open(
    struct davdir *d, const char *name, struct stat *st);
ssize_t davstore_read(struct davrd *f, uint64_t off, char *buf, size_t cap);
int davstore_read_fd(struct davrd *f);
void davstore_read_close(struct davrd *f);

/*
 * An upload into d: written to a temporary object (davstore_up_write, in
 * order), made durable (davstore_up_sync, pool), then put in place of
 * name all at once (davstore_up_commit: the new content or the old,
 * never a mix; the new file's metadata into *st; the upload is then
 * closed whatever the result) and the folder made durable
 * (davstore_dir_sync, pool). davstore_up_abort drops an upload and its
 * temporary object.
 */
struct davup *davstore_up_open(struct davdir *d);
int davstore_up_write(struct davup *u, const char *data, size_t len);
int davstore_up_sync(struct davup *u);
int davstore_up_commit(struct davup *u, const char *name, struct stat *st);
/*
 * Make u's commit conditional: it puts u in place of name only if name is
 * still as the last davstore_stat of it in the upload's folder found it
 * (the same file, or still missing), checked atomically with the commit;
 * else the commit fails with ESTALE and nothing changes. What the caller
 * decided from that stat (If-Match) then holds at the commit. The disk's
 * stat and commit run on the loop in one step (dav.c), nothing between
 * them: it ignores the guard.
 */
void davstore_up_guard(struct davup *u);
void davstore_up_abort(struct davup *u);
int davstore_dir_sync(struct davdir *d);

/* Remove name of d, a folder with everything in it (pool). */
int davstore_remove(struct davdir *d, const char *name);

/*
 * Copy (a folder with or without its content) or move name of sd to
 * dname of dd, which must not exist, with its properties (pool).
 */
int davstore_copy(struct davdir *sd, const char *sname, struct davdir *dd,
    const char *dname, bool recursive);
int davstore_move(
    struct davdir *sd, const char *sname, struct davdir *dd, const char *dname);

/*
 * Bytes and entries of the tree under d (pool); E2BIG past max_entries.
 */
int davstore_usage(
    struct davdir *d, uint64_t max_entries, uint64_t *bytes, uint64_t *entries);

/*
 * Versions (davfs.h davfs_version_keep): what replacing name of d with
 * keep versions frees, and making the current file a version.
 */
uint64_t davstore_version_dropped(
    struct davdir *d, const char *name, unsigned keep);
int davstore_version_keep(struct davdir *d, const char *name, unsigned keep,
    bool *kept, uint64_t *freed, uint64_t *freed_n);

/*
 * The versions of name in d, newest first, at most max into out, their
 * count into *n (davfs_versions); and version number opened for reading
 * (NULL with errno ENOENT when there is none such).
 */
int davstore_versions(struct davdir *d, const char *name,
    struct davfs_version *out, size_t max, size_t *n);
struct davrd *davstore_version_open(
    struct davdir *d, const char *name, uint64_t number, struct stat *st);

#endif
