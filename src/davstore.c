/*
 * davstore.c: the table of a WebDAV tree's operations (davstore.h) and
 * its first backend, the disk (davfs.h).
 *
 * The functions davstore_* only follow a handle to its backend's table.
 * The disk backend's folders are descriptors opened one checked name at a
 * time from the account's root with O_NOFOLLOW (davfs.c); an upload is a
 * temporary file beside its target, fsynced and renamed over it; a
 * reader is a descriptor read with pread(2), so a file replaced meanwhile
 * goes on being read whole from the version opened.
 *
 * Not responsible for what a path means, who may see it, quotas or
 * answers (dav.c).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "davfs.h"
#include "davpath.h"
#include "davstore.h"
#include "xmalloc.h"

/*
 * The table's functions
 */

void
davstore_free(struct davstore *s)
{
	if (s != NULL)
		s->ops->free(s);
}

struct davdir *
davstore_root_open(struct davstore *s, struct str user)
{
	return s->ops->root_open(s, user);
}

struct davdir *
davstore_dir_open(struct davdir *d, const struct str *names, size_t n)
{
	return d->s->ops->dir_open(d, names, n);
}

void
davstore_dir_close(struct davdir *d)
{
	if (d != NULL)
		d->s->ops->dir_close(d);
}

bool
davstore_same_tree(struct davdir *a, struct davdir *b)
{
	return a->s == b->s && a->s->ops->same_tree(a, b);
}

int
davstore_stat(struct davdir *d, const char *name, struct stat *st)
{
	return d->s->ops->stat(d, name, st);
}

int
davstore_list(struct davdir *d, size_t max, davstore_entry_fn *fn, void *arg)
{
	return d->s->ops->list(d, max, fn, arg);
}

int
davstore_props_load(
    struct davdir *d, const char *name, struct buf *out, size_t max)
{
	buf_reset(out);
	return d->s->ops->props_load(d, name, out, max);
}

int
davstore_props_save(
    struct davdir *d, const char *name, const char *data, size_t len)
{
	return d->s->ops->props_save(d, name, data, len);
}

int
davstore_mkcol(struct davdir *d, const char *name)
{
	return d->s->ops->mkcol(d, name);
}

struct davrd *
davstore_read_open(struct davdir *d, const char *name, struct stat *st)
{
	return d->s->ops->read_open(d, name, st);
}

ssize_t
davstore_read(struct davrd *f, uint64_t off, char *buf, size_t cap)
{
	return f->ops->read(f, off, buf, cap);
}

int
davstore_read_fd(struct davrd *f)
{
	return f->ops->read_fd(f);
}

void
davstore_read_close(struct davrd *f)
{
	if (f != NULL)
		f->ops->read_close(f);
}

struct davup *
davstore_up_open(struct davdir *d)
{
	return d->s->ops->up_open(d);
}

int
davstore_up_write(struct davup *u, const char *data, size_t len)
{
	return u->s->ops->up_write(u, data, len);
}

int
davstore_up_sync(struct davup *u)
{
	return u->s->ops->up_sync(u);
}

int
davstore_up_commit(struct davup *u, const char *name, struct stat *st)
{
	return u->s->ops->up_commit(u, name, st);
}

void
davstore_up_guard(struct davup *u)
{
	u->guard = true;
}

void
davstore_up_abort(struct davup *u)
{
	if (u != NULL)
		u->s->ops->up_abort(u);
}

int
davstore_dir_sync(struct davdir *d)
{
	return d->s->ops->dir_sync(d);
}

int
davstore_remove(struct davdir *d, const char *name)
{
	return d->s->ops->remove(d, name);
}

int
davstore_copy(struct davdir *sd, const char *sname, struct davdir *dd,
    const char *dname, bool recursive)
{
	return sd->s->ops->copy(sd, sname, dd, dname, recursive);
}

int
davstore_move(
    struct davdir *sd, const char *sname, struct davdir *dd, const char *dname)
{
	return sd->s->ops->move(sd, sname, dd, dname);
}

int
davstore_usage(
    struct davdir *d, uint64_t max_entries, uint64_t *bytes, uint64_t *entries)
{
	return d->s->ops->usage(d, max_entries, bytes, entries);
}

uint64_t
davstore_version_dropped(struct davdir *d, const char *name, unsigned keep)
{
	return d->s->ops->version_dropped(d, name, keep);
}

int
davstore_version_keep(struct davdir *d, const char *name, unsigned keep,
    bool *kept, uint64_t *freed, uint64_t *freed_n)
{
	return d->s->ops->version_keep(d, name, keep, kept, freed, freed_n);
}

int
davstore_versions(struct davdir *d, const char *name, struct davfs_version *out,
    size_t max, size_t *n)
{
	return d->s->ops->versions(d, name, out, max, n);
}

struct davrd *
davstore_version_open(
    struct davdir *d, const char *name, uint64_t number, struct stat *st)
{
	return d->s->ops->version_open(d, name, number, st);
}

/*
 * The disk backend
 */

struct disk_store {
	struct davstore base;
	char *data_dir;
};

struct disk_dir {
	struct davdir base;
	int fd;
};

struct disk_rd {
	struct davrd base;
	int fd;
};

struct disk_up {
	struct davup base;
	int dirfd; /* borrowed from the folder, which outlives the upload */
	int fd;
	struct buf tmp; /* the temporary file's name */
};

static struct davdir *
disk_dir_wrap(struct davstore *s, int fd)
{
	struct disk_dir *d;

	if (fd == -1)
		return NULL;
	d = xmalloc(sizeof(*d));
	d->base.s = s;
	d->fd = fd;
	return &d->base;
}

static int
disk_fd(struct davdir *d)
{
	return ((struct disk_dir *)d)->fd;
}

static struct davdir *
disk_root_open(struct davstore *s, struct str user)
{
	const struct disk_store *ds = (const struct disk_store *)s;

	return disk_dir_wrap(s, davfs_root_open(ds->data_dir, user));
}

static struct davdir *
disk_dir_open(struct davdir *d, const struct str *names, size_t n)
{
	return disk_dir_wrap(d->s, davfs_open_dir(disk_fd(d), names, n));
}

static void
disk_dir_close(struct davdir *d)
{
	close(disk_fd(d));
	free(d);
}

/* Same inode, and a's still linked (an account deleted unlinks its root). */
static bool
disk_same_tree(struct davdir *a, struct davdir *b)
{
	struct stat sa, sb;

	return fstat(disk_fd(a), &sa) == 0 && fstat(disk_fd(b), &sb) == 0 &&
	       sa.st_nlink > 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int
disk_stat(struct davdir *d, const char *name, struct stat *st)
{
	if (name == NULL)
		return fstat(disk_fd(d), st);
	return davfs_stat(disk_fd(d), name, st);
}

static int
disk_list(struct davdir *d, size_t max, davstore_entry_fn *fn, void *arg)
{
	DIR *dir;
	struct dirent *e;
	struct stat st;
	size_t n = 0;
	int fd, saved;

	fd = openat(disk_fd(d), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	while ((e = readdir(dir)) != NULL) {
		struct str nm = str_from(e->d_name);

		if (str_eqs(nm, ".") || str_eqs(nm, "..") ||
		    davpath_is_reserved(nm) ||
		    fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        -1 ||
		    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
			continue;
		if (++n > max)
			break;
		fn(arg, e->d_name, &st);
	}
	closedir(dir);
	return 0;
}

/* The sidecar of name in d (davfs_props_name; "" for d itself). */
static int
disk_props_load(struct davdir *d, const char *name, struct buf *out, size_t max)
{
	struct buf side = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	int fd;

	davfs_props_name(name != NULL ? name : "", &side);
	fd = openat(disk_fd(d), side.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	buf_release(&side);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out->len <= max)
		buf_add(out, chunk, (size_t)n);
	close(fd);
	return 0;
}

/* Replace the sidecar: a temporary file renamed over it. */
static int
disk_props_save(
    struct davdir *d, const char *name, const char *data, size_t len)
{
	struct buf side = BUF_INIT, tmp = BUF_INIT;
	int dirfd = disk_fd(d), fd = -1, rc = -1, saved;
	ssize_t w;

	davfs_props_name(name != NULL ? name : "", &side);
	if (len == 0) {
		rc = unlinkat(dirfd, side.data, 0) == -1 && errno != ENOENT ? -1
		                                                            : 0;
		goto out;
	}
	fd = davfs_temp_open(dirfd, &tmp);
	if (fd == -1)
		goto out;
	w = write(fd, data, len);
	if (w != (ssize_t)len) {
		if (w >= 0)
			errno = ENOSPC;
		goto out;
	}
	if (renameat(dirfd, tmp.data, dirfd, side.data) == -1)
		goto out;
	buf_reset(&tmp);
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (tmp.len > 0)
		(void)unlinkat(dirfd, tmp.data, 0);
	buf_release(&side);
	buf_release(&tmp);
	errno = saved;
	return rc;
}

static int
disk_mkcol(struct davdir *d, const char *name)
{
	return mkdirat(disk_fd(d), name, 0700);
}

/* A reader of the open file fd (taken); NULL when it is not a file. */
static struct davrd *
disk_rd_wrap(struct davstore *s, int fd, struct stat *st)
{
	struct disk_rd *f;
	int saved;

	if (fd == -1)
		return NULL;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		saved = errno;
		if (fstat(fd, st) == 0)
			saved = EISDIR;
		close(fd);
		errno = saved;
		return NULL;
	}
	f = xmalloc(sizeof(*f));
	f->base.ops = s->ops;
	f->fd = fd;
	return &f->base;
}

static struct davrd *
disk_read_open(struct davdir *d, const char *name, struct stat *st)
{
	return disk_rd_wrap(d->s,
	    openat(disk_fd(d), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), st);
}

static ssize_t
disk_read(struct davrd *f, uint64_t off, char *buf, size_t cap)
{
	ssize_t n;

	do
		n = pread(((struct disk_rd *)f)->fd, buf, cap, (off_t)off);
	while (n == -1 && errno == EINTR);
	return n;
}

static int
disk_read_fd(struct davrd *f)
{
	return fcntl(((struct disk_rd *)f)->fd, F_DUPFD_CLOEXEC, 0);
}

static void
disk_read_close(struct davrd *f)
{
	close(((struct disk_rd *)f)->fd);
	free(f);
}

static struct davup *
disk_up_open(struct davdir *d)
{
	struct disk_up *u = xmalloc(sizeof(*u));

	u->base.s = d->s;
	u->base.guard = false;
	u->dirfd = disk_fd(d);
	buf_init(&u->tmp);
	u->fd = davfs_temp_open(u->dirfd, &u->tmp);
	if (u->fd == -1) {
		int saved = errno;

		buf_release(&u->tmp);
		free(u);
		errno = saved;
		return NULL;
	}
	return &u->base;
}

static int
disk_up_write(struct davup *up, const char *data, size_t len)
{
	struct disk_up *u = (struct disk_up *)up;
	size_t off = 0;
	ssize_t w;

	while (off < len) {
		w = write(u->fd, data + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

static int
disk_up_sync(struct davup *up)
{
	return fsync(((struct disk_up *)up)->fd);
}

static void
disk_up_abort(struct davup *up)
{
	struct disk_up *u = (struct disk_up *)up;

	close(u->fd);
	if (u->tmp.len > 0)
		(void)unlinkat(u->dirfd, u->tmp.data, 0);
	buf_release(&u->tmp);
	free(u);
}

static int
disk_up_commit(struct davup *up, const char *name, struct stat *st)
{
	struct disk_up *u = (struct disk_up *)up;
	int rc = -1, saved;

	if (fstat(u->fd, st) == 0 &&
	    renameat(u->dirfd, u->tmp.data, u->dirfd, name) == 0) {
		buf_reset(&u->tmp);
		rc = 0;
	}
	saved = errno;
	disk_up_abort(up);
	errno = saved;
	return rc;
}

/* fsync the folder; its temporary files left by a crash go too. */
static int
disk_dir_sync(struct davdir *d)
{
	int rc = fsync(disk_fd(d)), saved = errno;

	davfs_temps_clean(disk_fd(d));
	errno = saved;
	return rc;
}

static int
disk_remove(struct davdir *d, const char *name)
{
	return davfs_remove(disk_fd(d), name);
}

static int
disk_copy(struct davdir *sd, const char *sname, struct davdir *dd,
    const char *dname, bool recursive)
{
	return davfs_copy(disk_fd(sd), sname, disk_fd(dd), dname, recursive);
}

static int
disk_move(
    struct davdir *sd, const char *sname, struct davdir *dd, const char *dname)
{
	return davfs_move(disk_fd(sd), sname, disk_fd(dd), dname);
}

static int
disk_usage(
    struct davdir *d, uint64_t max_entries, uint64_t *bytes, uint64_t *entries)
{
	return davfs_usage(disk_fd(d), max_entries, bytes, entries);
}

static uint64_t
disk_version_dropped(struct davdir *d, const char *name, unsigned keep)
{
	return davfs_version_dropped(disk_fd(d), name, keep);
}

static int
disk_version_keep(struct davdir *d, const char *name, unsigned keep, bool *kept,
    uint64_t *freed, uint64_t *freed_n)
{
	return davfs_version_keep(disk_fd(d), name, keep, kept, freed, freed_n);
}

static int
disk_versions(struct davdir *d, const char *name, struct davfs_version *out,
    size_t max, size_t *n)
{
	return davfs_versions(disk_fd(d), name, out, max, n);
}

static struct davrd *
disk_version_open(
    struct davdir *d, const char *name, uint64_t number, struct stat *st)
{
	return disk_rd_wrap(
	    d->s, davfs_version_open(disk_fd(d), name, number), st);
}

static void
disk_free(struct davstore *s)
{
	struct disk_store *ds = (struct disk_store *)s;

	free(ds->data_dir);
	free(ds);
}

static const struct davstore_ops disk_ops = {
    .root_open = disk_root_open,
    .dir_open = disk_dir_open,
    .dir_close = disk_dir_close,
    .same_tree = disk_same_tree,
    .stat = disk_stat,
    .list = disk_list,
    .props_load = disk_props_load,
    .props_save = disk_props_save,
    .mkcol = disk_mkcol,
    .read_open = disk_read_open,
    .read = disk_read,
    .read_close = disk_read_close,
    .read_fd = disk_read_fd,
    .up_open = disk_up_open,
    .up_write = disk_up_write,
    .up_sync = disk_up_sync,
    .up_commit = disk_up_commit,
    .up_abort = disk_up_abort,
    .dir_sync = disk_dir_sync,
    .remove = disk_remove,
    .copy = disk_copy,
    .move = disk_move,
    .usage = disk_usage,
    .version_dropped = disk_version_dropped,
    .version_keep = disk_version_keep,
    .versions = disk_versions,
    .version_open = disk_version_open,
    .free = disk_free,
};

struct davstore *
davstore_disk_new(const char *data_dir)
{
	struct disk_store *ds = xcalloc(1, sizeof(*ds));

	ds->base.ops = &disk_ops;
	ds->base.cache_usage = true;
	ds->base.versions = true;
	ds->base.blocking = false;
	ds->data_dir = xstrdup(data_dir);
	return &ds->base;
}
