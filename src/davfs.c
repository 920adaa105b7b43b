/*
 * davfs.c: an account's WebDAV tree on disk (davfs.h).
 *
 * Invariants: every descriptor is opened relative to the account's root
 * with O_NOFOLLOW (and O_DIRECTORY for folders), so a symbolic link in
 * the tree, wherever it came from, is never followed; names reaching here
 * were checked by davpath.c (no '/', no "..", no reserved prefix). The
 * walks (usage, remove, copy) are bounded by the entries an account may
 * hold (the caller's max_entries) and by DAVPATH_MAX_DEPTH levels.
 *
 * Not responsible for what a path means or who may see it (dav.c).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "davfs.h"
#include "davpath.h"

#define DAVFS_PROPS DAVPATH_RESERVED "props-"
#define DAVFS_TMP DAVPATH_RESERVED "tmp-"
/* A temporary file unchanged this long was left by a crash. */
#define DAVFS_TMP_STALE_S ((time_t)24 * 3600)
#define DAVFS_COPY_CHUNK ((size_t)64 * 1024)

/* The account's folder name: its name with '/', '%', a leading '.' encoded. */
static void
root_name(struct buf *out, struct str user)
{
	buf_reset(out);
	if (user.len > 0 && user.p[0] == '.') {
		buf_adds(out, "%2E");
		user.p++;
		user.len--;
	}
	davpath_encode(out, user, false);
}

/* <data_dir>/dav, made (0700) when create and missing. -1 with errno. */
static int
dav_dir_open(const char *data_dir, bool create)
{
	struct buf path = BUF_INIT;
	int dfd = -1, saved;

	buf_adds(&path, data_dir);
	buf_adds(&path, "/dav");
	if (!create || mkdir(path.data, 0700) == 0 || errno == EEXIST)
		dfd = open(
		    path.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	buf_release(&path);
	errno = saved;
	return dfd;
}

int
davfs_root_open(const char *data_dir, struct str user)
{
	struct buf name = BUF_INIT;
	int fd = -1, dfd, saved;

	dfd = dav_dir_open(data_dir, true);
	if (dfd == -1)
		goto out;
	root_name(&name, user);
	if (mkdirat(dfd, name.data, 0700) == -1 && errno != EEXIST)
		goto out;
	fd = openat(
	    dfd, name.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
out:
	saved = errno;
	if (dfd != -1)
		close(dfd);
	buf_release(&name);
	errno = saved;
	return fd;
}

int
davfs_root_remove(const char *data_dir, struct str user)
{
	struct buf name = BUF_INIT;
	int dfd, rc = 0, saved;

	dfd = dav_dir_open(data_dir, false);
	if (dfd == -1)
		return errno == ENOENT ? 0 : -1;
	root_name(&name, user);
	if (davfs_remove(dfd, name.data) == -1 && errno != ENOENT)
		rc = -1;
	saved = errno;
	close(dfd);
	buf_release(&name);
	errno = saved;
	return rc;
}

int
davfs_open_dir(int dirfd, const struct str *names, size_t n)
{
	int fd, next;
	size_t i;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; fd != -1 && i < n; i++) {
		next = openat(fd, names[i].p,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next == -1 && errno == ENOTDIR) {
			struct stat st;

			/* A link to a folder says ENOTDIR too: ELOOP. */
			if (fstatat(fd, names[i].p, &st, AT_SYMLINK_NOFOLLOW) ==
			        0 &&
			    S_ISLNK(st.st_mode))
				errno = ELOOP;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

int
davfs_stat(int dirfd, const char *name, struct stat *st)
{
	return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW);
}

void
davfs_etag(const struct stat *st, struct buf *out)
{
	buf_addf(out, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
	    (unsigned long long)st->st_size,
	    (unsigned long long)st->st_mtim.tv_sec * 1000000000ull +
	        (unsigned long long)st->st_mtim.tv_nsec);
}

void
davfs_props_name(const char *name, struct buf *out)
{
	buf_reset(out);
	buf_adds(out, DAVFS_PROPS);
	buf_adds(out, name);
}

int
davfs_temp_open(int dirfd, struct buf *out)
{
	unsigned char r[12];
	size_t i;
	int fd, tries;

	for (tries = 0; tries < 8; tries++) {
		randombytes_buf(r, sizeof(r));
		buf_reset(out);
		buf_adds(out, DAVFS_TMP);
		for (i = 0; i < sizeof(r); i++)
			buf_addf(out, "%02x", r[i]);
		fd = openat(dirfd, out->data,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/*
 * A directory stream on the folder dirfd (borrowed; the stream has its
 * own descriptor). NULL with errno on failure.
 */
static DIR *
dir_open(int dirfd)
{
	DIR *d;
	int fd, saved;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return d;
}

/*
 * The next entry of d (a stream of dirfd) but "." and "..", with its
 * lstat in *st; entries that vanish meanwhile are skipped. NULL at the
 * end.
 */
static struct dirent *
dir_next(DIR *d, int dirfd, struct stat *st)
{
	struct dirent *e;

	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, e->d_name, st, AT_SYMLINK_NOFOLLOW) == 0)
			return e;
	}
	return NULL;
}

/* What davfs_usage counts while it walks. */
struct walk {
	uint64_t max_entries, entries, bytes;
	unsigned depth;
	time_t now;
};

static int
usage_dir(int dirfd, struct walk *w)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int rc = 0, saved;

	if (++w->depth > DAVPATH_MAX_DEPTH) {
		errno = E2BIG;
		return -1;
	}
	if ((d = dir_open(dirfd)) == NULL)
		return -1;
	while (rc == 0 && (e = dir_next(d, dirfd, &st)) != NULL) {
		/*
		 * Uploads' temporary files are not counted (dav.c counts
		 * the bytes of the uploads in progress itself); one that has
		 * not changed for a day was left by a crash (an upload in
		 * progress writes, or is cut off after idle_timeout_ms) and
		 * is removed.
		 */
		if (S_ISREG(st.st_mode) &&
		    strncmp(e->d_name, DAVFS_TMP, strlen(DAVFS_TMP)) == 0) {
			if (st.st_mtime < w->now - DAVFS_TMP_STALE_S)
				(void)unlinkat(dirfd, e->d_name, 0);
			continue;
		}
		if (++w->entries > w->max_entries) {
			errno = E2BIG;
			rc = -1;
			break;
		}
		if (S_ISREG(st.st_mode))
			w->bytes += (uint64_t)st.st_size;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, e->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub == -1)
				continue;
			rc = usage_dir(sub, w);
			saved = errno;
			close(sub);
			errno = saved;
		}
	}
	saved = errno;
	closedir(d);
	errno = saved;
	w->depth--;
	return rc;
}

int
davfs_usage(int dirfd, uint64_t max_entries, uint64_t *bytes, uint64_t *entries)
{
	struct walk w = {max_entries, 0, 0, 0, time(NULL)};
	int rc = usage_dir(dirfd, &w);

	*bytes = w.bytes;
	*entries = w.entries;
	return rc;
}

/* Remove everything inside the folder dirfd (borrowed). */
static int
remove_inside(int dirfd, unsigned depth)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int sub, rc = 0, saved;

	if (depth > DAVPATH_MAX_DEPTH) {
		errno = E2BIG;
		return -1;
	}
	if ((d = dir_open(dirfd)) == NULL)
		return -1;
	while (rc == 0 && (e = dir_next(d, dirfd, &st)) != NULL) {
		if (S_ISDIR(st.st_mode)) {
			sub = openat(dirfd, e->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub == -1) {
				rc = -1;
				break;
			}
			rc = remove_inside(sub, depth + 1);
			saved = errno;
			close(sub);
			errno = saved;
			if (rc == 0 &&
			    unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == -1)
				rc = -1;
		} else if (unlinkat(dirfd, e->d_name, 0) == -1) {
			rc = -1;
		}
	}
	saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

int
davfs_remove(int dirfd, const char *name)
{
	struct stat st;
	struct buf props = BUF_INIT;
	int sub, rc, saved;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		sub = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub == -1)
			return -1;
		rc = remove_inside(sub, 1);
		saved = errno;
		close(sub);
		errno = saved;
		if (rc == 0)
			rc = unlinkat(dirfd, name, AT_REMOVEDIR);
	} else {
		rc = unlinkat(dirfd, name, 0);
	}
	if (rc == 0) {
		davfs_props_name(name, &props);
		(void)unlinkat(dirfd, props.data, 0);
	}
	saved = errno;
	buf_release(&props);
	errno = saved;
	return rc;
}

/* Copy the file sname of sdir to a new file dname of ddir. */
static int
copy_file(int sdir, const char *sname, int ddir, const char *dname)
{
	char *chunk = NULL;
	ssize_t n, w, off;
	int in = -1, out = -1, rc = -1, saved;

	in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in == -1)
		goto done;
	out = openat(ddir, dname,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out == -1)
		goto done;
	chunk = malloc(DAVFS_COPY_CHUNK);
	if (chunk == NULL)
		goto done;
	for (;;) {
		n = read(in, chunk, DAVFS_COPY_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n == 0 ? 0 : -1;
			break;
		}
		for (off = 0; off < n; off += w) {
			w = write(out, chunk + off, (size_t)(n - off));
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				goto done;
		}
	}
done:
	saved = errno;
	free(chunk);
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	if (rc == -1 && out != -1)
		(void)unlinkat(ddir, dname, 0);
	errno = saved;
	return rc;
}

static int copy_entry(int sdir, const char *sname, int ddir, const char *dname,
    bool recursive, unsigned depth);

/* Copy the content of folder sdir into folder ddir (both borrowed). */
static int
copy_inside(int sdir, int ddir, unsigned depth)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int rc = 0, saved;

	if (depth > DAVPATH_MAX_DEPTH) {
		errno = E2BIG;
		return -1;
	}
	if ((d = dir_open(sdir)) == NULL)
		return -1;
	while (rc == 0 && (e = dir_next(d, sdir, &st)) != NULL) {
		/* Sidecars go with their resource. */
		if (strncmp(e->d_name, DAVFS_PROPS, strlen(DAVFS_PROPS)) == 0 ||
		    strncmp(e->d_name, DAVPATH_RESERVED,
		        strlen(DAVPATH_RESERVED)) == 0)
			continue;
		rc = copy_entry(sdir, e->d_name, ddir, e->d_name, true, depth);
	}
	saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

static int
copy_entry(int sdir, const char *sname, int ddir, const char *dname,
    bool recursive, unsigned depth)
{
	struct stat st;
	struct buf sp = BUF_INIT, dp = BUF_INIT;
	int s = -1, d = -1, rc = -1, saved;

	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (S_ISREG(st.st_mode)) {
		rc = copy_file(sdir, sname, ddir, dname);
	} else if (S_ISDIR(st.st_mode)) {
		if (mkdirat(ddir, dname, 0700) == -1)
			return -1;
		rc = 0;
		if (recursive) {
			s = openat(sdir, sname,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d = openat(ddir, dname,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = s == -1 || d == -1 ? -1
			                        : copy_inside(s, d, depth + 1);
		}
	} else {
		/* Links and devices are not copied (nor served). */
		return 0;
	}
	if (rc == 0) {
		davfs_props_name(sname, &sp);
		davfs_props_name(dname, &dp);
		(void)unlinkat(ddir, dp.data, 0);
		if (copy_file(sdir, sp.data, ddir, dp.data) == -1 &&
		    errno != ENOENT)
			rc = -1;
	}
	saved = errno;
	if (s != -1)
		close(s);
	if (d != -1)
		close(d);
	buf_release(&sp);
	buf_release(&dp);
	errno = saved;
	return rc;
}

int
davfs_copy(
    int sdir, const char *sname, int ddir, const char *dname, bool recursive)
{
	return copy_entry(sdir, sname, ddir, dname, recursive, 0);
}

int
davfs_move(int sdir, const char *sname, int ddir, const char *dname)
{
	struct buf sp = BUF_INIT, dp = BUF_INIT;
	int rc, saved;

	rc = renameat(sdir, sname, ddir, dname);
	if (rc == 0) {
		davfs_props_name(sname, &sp);
		davfs_props_name(dname, &dp);
		(void)unlinkat(ddir, dp.data, 0);
		(void)renameat(sdir, sp.data, ddir, dp.data);
	}
	saved = errno;
	buf_release(&sp);
	buf_release(&dp);
	errno = saved;
	return rc;
}

/* Decode a folder name root_name wrote into out. -1: not one of its names. */
static int
root_decode(const char *name, struct buf *out)
{
	size_t i, n = strlen(name);
	int hi, lo;

	buf_reset(out);
	for (i = 0; i < n; i++) {
		if (name[i] != '%') {
			buf_addch(out, name[i]);
			continue;
		}
		if (i + 2 >= n)
			return -1;
		hi = str_hex_digit(name[i + 1]);
		lo = hi < 0 ? -1 : str_hex_digit(name[i + 2]);
		if (lo < 0)
			return -1;
		buf_addch(out, hi * 16 + lo);
		i += 2;
	}
	return 0;
}

int
davfs_sweep(const char *data_dir, davfs_keep_fn *keep, void *arg)
{
	struct buf user = BUF_INIT;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dfd, removed = 0, saved;

	dfd = dav_dir_open(data_dir, false);
	if (dfd == -1)
		return errno == ENOENT ? 0 : -1;
	d = dir_open(dfd);
	if (d == NULL) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	while ((e = dir_next(d, dfd, &st)) != NULL) {
		if (root_decode(e->d_name, &user) == 0 &&
		    keep(arg, (struct str){user.data, user.len}))
			continue;
		if (davfs_remove(dfd, e->d_name) == 0)
			removed++;
	}
	saved = errno;
	closedir(d);
	close(dfd);
	buf_release(&user);
	errno = saved;
	return removed;
}
