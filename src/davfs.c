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
#include <sys/syscall.h>

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
#include "fileio.h"
#include "xmalloc.h"

#define DAVFS_PROPS DAVPATH_RESERVED "props-"
#define DAVFS_TMP DAVPATH_RESERVED "tmp-"
/* Versions: DAVFS_VER <name> "." <number> (davfs_version_keep). */
#define DAVFS_VER DAVPATH_RESERVED "v-"
/* A temporary file unchanged this long was left by a crash. */
#define DAVFS_TMP_STALE_S ((time_t)24 * 3600)
#define DAVFS_COPY_CHUNK ((size_t)64 * 1024)
/* A restore's copy of the trees, beside <data_dir>/dav (davfs_restore_*). */
#define DAVFS_STAGE "dav.restore"
/* linux/fs.h's RENAME_EXCHANGE, for renameat2 (Linux 3.15). */
#define DAVFS_RENAME_EXCHANGE (1 << 1)

/* How copy_entry copies. */
enum copy_flags {
	COPY_RECURSIVE = 1 << 0, /* a folder with its content */
	COPY_SKIP_GONE = 1 << 1, /* an entry removed meanwhile is skipped */
	COPY_SYNC = 1 << 2,      /* every file and folder fsynced */
	COPY_VERSIONS = 1 << 3,  /* the versions too (backups) */
};

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

/* The root folder of user, made when create and missing. -1 with errno. */
static int
root_open(const char *data_dir, struct str user, bool create)
{
	struct buf name = BUF_INIT;
	int fd = -1, dfd, saved;

	dfd = dav_dir_open(data_dir, create);
	if (dfd == -1)
		goto out;
	root_name(&name, user);
	if (create && mkdirat(dfd, name.data, 0700) == -1 && errno != EEXIST)
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
davfs_root_open(const char *data_dir, struct str user)
{
	return root_open(data_dir, user, true);
}

int
davfs_root_find(const char *data_dir, struct str user)
{
	return root_open(data_dir, user, false);
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

/* close(fd), errno left as it was (the error being returned). */
static void
close_keep_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

/*
 * A directory stream on the folder dirfd (borrowed; the stream has its
 * own descriptor). NULL with errno on failure.
 */
static DIR *
dir_open(int dirfd)
{
	DIR *d;
	int fd;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close_keep_errno(fd);
	return d;
}

/* The folder name in dirfd, not through a symbolic link; -1 with errno. */
static int
sub_open(int dirfd, const char *name)
{
	return openat(
	    dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

/* What davfs_usage counts (and davfs_find_newest finds) while it walks. */
struct walk {
	uint64_t max_entries;
	struct davfs_tally t;
	unsigned depth;
	time_t now;
	bool clean;       /* remove the stale temporary files */
	const char *find; /* davfs_find_newest: the name, or NULL */
	int found;        /* the newest file called find so far, or -1 */
	struct stat found_st;
};

/*
 * The file name in dirfd (lstat st) is called w->find: keep it open when
 * it is newer than the one found before.
 */
static void
walk_found(int dirfd, const char *name, const struct stat *st, struct walk *w)
{
	struct stat fst;
	int fd;

	if (w->found != -1 && st->st_mtime <= w->found_st.st_mtime)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return;
	if (fstat(fd, &fst) == -1 || !S_ISREG(fst.st_mode)) {
		close(fd);
		return;
	}
	if (w->found != -1)
		close(w->found);
	w->found = fd;
	w->found_st = fst;
}

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
			if (w->clean &&
			    st.st_mtime < w->now - DAVFS_TMP_STALE_S) {
				(void)unlinkat(dirfd, e->d_name, 0);
				continue;
			}
			w->t.temps++;
			w->t.temp_bytes += (uint64_t)st.st_size;
			continue;
		}
		if (++w->t.entries > w->max_entries) {
			errno = E2BIG;
			rc = -1;
			break;
		}
		if (S_ISREG(st.st_mode))
			w->t.bytes += (uint64_t)st.st_size;
		if (S_ISREG(st.st_mode) && w->find != NULL &&
		    strcmp(e->d_name, w->find) == 0)
			walk_found(dirfd, e->d_name, &st, w);
		if (S_ISDIR(st.st_mode)) {
			int sub = sub_open(dirfd, e->d_name);

			if (sub == -1)
				continue;
			rc = usage_dir(sub, w);
			close_keep_errno(sub);
		}
	}
	saved = errno;
	closedir(d);
	errno = saved;
	w->depth--;
	return rc;
}

void
davfs_temps_clean(int dirfd)
{
	struct dirent *e;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;

	if ((d = dir_open(dirfd)) == NULL)
		return;
	while ((e = dir_next(d, dirfd, &st)) != NULL)
		if (S_ISREG(st.st_mode) &&
		    strncmp(e->d_name, DAVFS_TMP, strlen(DAVFS_TMP)) == 0 &&
		    st.st_mtime < now - DAVFS_TMP_STALE_S)
			(void)unlinkat(dirfd, e->d_name, 0);
	closedir(d);
}

int
davfs_usage(int dirfd, uint64_t max_entries, uint64_t *bytes, uint64_t *entries)
{
	struct walk w = {
	    max_entries, {0, 0, 0, 0}, 0, time(NULL), true, NULL, -1, {0}};
	int rc = usage_dir(dirfd, &w);

	*bytes = w.t.bytes;
	*entries = w.t.entries;
	return rc;
}

int
davfs_survey(int dirfd, struct davfs_tally *t)
{
	struct walk w = {
	    UINT64_MAX, {0, 0, 0, 0}, 0, time(NULL), false, NULL, -1, {0}};
	int rc = usage_dir(dirfd, &w);

	*t = w.t;
	return rc;
}

int
davfs_find_newest(
    int dirfd, const char *name, uint64_t max_entries, struct stat *st)
{
	struct walk w = {
	    max_entries, {0, 0, 0, 0}, 0, time(NULL), false, name, -1, {0}};
	int saved;

	if (usage_dir(dirfd, &w) == -1) {
		saved = errno;
		if (w.found != -1)
			close(w.found);
		errno = saved;
		return -1;
	}
	if (w.found == -1) {
		errno = ENOENT;
		return -1;
	}
	*st = w.found_st;
	return w.found;
}

/* davfs_find_odd below dirfd, path the folder's so far. */
static int
find_odd(int dirfd, unsigned depth, uint64_t *left, struct buf *path)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	size_t plen = path->len;
	int sub, rc = 0, saved;

	if (depth > DAVPATH_MAX_DEPTH) {
		errno = E2BIG;
		return -1;
	}
	if ((d = dir_open(dirfd)) == NULL)
		return -1;
	while (rc == 0 && (e = dir_next(d, dirfd, &st)) != NULL) {
		if (davpath_is_reserved(str_from(e->d_name)) &&
		    S_ISREG(st.st_mode))
			continue;
		if ((*left)-- == 0) {
			errno = E2BIG;
			rc = -1;
			break;
		}
		path->len = plen;
		path->data[plen] = '\0';
		buf_addch(path, '/');
		buf_adds(path, e->d_name);
		if (S_ISREG(st.st_mode))
			continue;
		if (!S_ISDIR(st.st_mode)) {
			rc = 1;
			break;
		}
		if ((sub = sub_open(dirfd, e->d_name)) == -1) {
			rc = -1;
			break;
		}
		rc = find_odd(sub, depth + 1, left, path);
		close_keep_errno(sub);
	}
	saved = errno;
	closedir(d);
	if (rc == 0) {
		path->len = plen;
		path->data[plen] = '\0';
	}
	errno = saved;
	return rc;
}

int
davfs_find_odd(int dirfd, uint64_t max_entries, struct buf *path)
{
	uint64_t left = max_entries;

	buf_reset(path);
	return find_odd(dirfd, 0, &left, path);
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
			if ((sub = sub_open(dirfd, e->d_name)) == -1) {
				rc = -1;
				break;
			}
			rc = remove_inside(sub, depth + 1);
			close_keep_errno(sub);
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
		if ((sub = sub_open(dirfd, name)) == -1)
			return -1;
		rc = remove_inside(sub, 1);
		close_keep_errno(sub);
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

/*
 * Copy the file sname of sdir to a new file dname of ddir (fsynced with
 * COPY_SYNC in flags).
 */
static int
copy_file(
    int sdir, const char *sname, int ddir, const char *dname, unsigned flags)
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
	if (rc == 0 && (flags & COPY_SYNC) && fsync(out) == -1)
		rc = -1;
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
    unsigned flags, unsigned depth);

/*
 * Copy the content of folder sdir into folder ddir (both borrowed), but
 * the reserved names (temporary files; sidecars go with their resource).
 */
static int
copy_inside(int sdir, int ddir, unsigned flags, unsigned depth)
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
		if ((flags & COPY_VERSIONS) && S_ISREG(st.st_mode) &&
		    strncmp(e->d_name, DAVFS_VER, strlen(DAVFS_VER)) == 0) {
			rc = copy_file(sdir, e->d_name, ddir, e->d_name, flags);
			if (rc == -1 && errno == ENOENT &&
			    (flags & COPY_SKIP_GONE))
				rc = 0;
			continue;
		}
		/* Sidecars go with their resource. */
		if (strncmp(e->d_name, DAVFS_PROPS, strlen(DAVFS_PROPS)) == 0 ||
		    strncmp(e->d_name, DAVPATH_RESERVED,
		        strlen(DAVPATH_RESERVED)) == 0)
			continue;
		rc = copy_entry(sdir, e->d_name, ddir, e->d_name, flags, depth);
		if (rc == -1 && errno == ENOENT && (flags & COPY_SKIP_GONE))
			rc = 0;
	}
	if (rc == 0 && (flags & COPY_SYNC) && fsync(ddir) == -1)
		rc = -1;
	saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

static int
copy_entry(int sdir, const char *sname, int ddir, const char *dname,
    unsigned flags, unsigned depth)
{
	struct stat st;
	struct buf sp = BUF_INIT, dp = BUF_INIT;
	int s = -1, d = -1, rc = -1, saved;

	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (S_ISREG(st.st_mode)) {
		rc = copy_file(sdir, sname, ddir, dname, flags);
	} else if (S_ISDIR(st.st_mode)) {
		if (mkdirat(ddir, dname, 0700) == -1)
			return -1;
		rc = 0;
		if (flags & COPY_RECURSIVE) {
			s = openat(sdir, sname,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d = openat(ddir, dname,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = s == -1 || d == -1
			         ? -1
			         : copy_inside(s, d, flags, depth + 1);
		}
	} else {
		/* Links and devices are not copied (nor served). */
		return 0;
	}
	if (rc == 0) {
		davfs_props_name(sname, &sp);
		davfs_props_name(dname, &dp);
		(void)unlinkat(ddir, dp.data, 0);
		if (copy_file(sdir, sp.data, ddir, dp.data, flags) == -1 &&
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
	return copy_entry(
	    sdir, sname, ddir, dname, recursive ? COPY_RECURSIVE : 0, 0);
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
	size_t n = strlen(name);
	long len;

	buf_reset(out);
	buf_grow(out, n + 1);
	len = str_unescape((struct str){name, n}, out->data);
	if (len < 0)
		return -1;
	out->len = (size_t)len;
	out->data[out->len] = '\0';
	return 0;
}

/*
 * A stream of <data_dir>/dav, its descriptor in *dfd. NULL with errno
 * (ENOENT: there is none) and *dfd -1.
 */
static DIR *
roots_open(const char *data_dir, int *dfd)
{
	DIR *d;
	int saved;

	*dfd = dav_dir_open(data_dir, false);
	if (*dfd == -1)
		return NULL;
	d = dir_open(*dfd);
	if (d == NULL) {
		saved = errno;
		close(*dfd);
		*dfd = -1;
		errno = saved;
	}
	return d;
}

int
davfs_sweep(const char *data_dir, davfs_keep_fn *keep, void *arg)
{
	struct buf user = BUF_INIT;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dfd, removed = 0, saved;

	if ((d = roots_open(data_dir, &dfd)) == NULL)
		return errno == ENOENT ? 0 : -1;
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

/*
 * The administration of the trees as a whole: check, user list, backup,
 * restore (offline, or beside a running server: only reads then)
 */

int
davfs_each_root(const char *data_dir, davfs_root_fn *fn, void *arg)
{
	struct buf user = BUF_INIT;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dfd, sub, rc = 0, saved;

	if ((d = roots_open(data_dir, &dfd)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = dir_next(d, dfd, &st)) != NULL) {
		bool ours = S_ISDIR(st.st_mode) && e->d_name[0] != '.' &&
		            root_decode(e->d_name, &user) == 0;

		sub =
		    !ours
		        ? -1
		        : openat(dfd, e->d_name,
		              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (!ours) {
			buf_reset(&user);
			buf_adds(&user, e->d_name);
		}
		fn(arg, (struct str){user.data, user.len}, sub);
		if (sub != -1)
			close(sub);
	}
	saved = errno;
	closedir(d);
	close(dfd);
	buf_release(&user);
	errno = saved;
	return rc;
}

int
davfs_tree_usage(const char *data_dir, struct str user, struct davfs_tally *t)
{
	struct buf name = BUF_INIT;
	int dfd, fd = -1, rc = 0, saved;

	memset(t, 0, sizeof(*t));
	dfd = dav_dir_open(data_dir, false);
	if (dfd != -1) {
		root_name(&name, user);
		fd = openat(dfd, name.data,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1)
		rc = errno == ENOENT ? 0 : -1;
	else
		rc = davfs_survey(fd, t);
	saved = errno;
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	buf_release(&name);
	errno = saved;
	return rc;
}

/* Remove the folder path and everything in it; 0 also when missing. */
static int
remove_path(const char *path)
{
	int fd, rc, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	rc = remove_inside(fd, 1);
	saved = errno;
	close(fd);
	if (rc == 0)
		rc = rmdir(path);
	else
		errno = saved;
	return rc;
}

int
davfs_backup(const char *data_dir, const char *dest)
{
	int src = -1, dfd = -1, rc = -1, saved;

	if (mkdir(dest, 0700) == -1)
		return -1;
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1)
		goto out;
	src = dav_dir_open(data_dir, false);
	if (src == -1 && errno != ENOENT)
		goto out;
	/*
	 * A server may be changing the trees: each file is copied from the
	 * one open version (uploads replace a file whole, by rename), and
	 * what is removed meanwhile is left out.
	 */
	if (src != -1)
		rc = copy_inside(src, dfd,
		    COPY_RECURSIVE | COPY_SKIP_GONE | COPY_SYNC | COPY_VERSIONS,
		    0);
	else
		rc = fsync(dfd);
	if (rc == 0)
		rc = fileio_fsync_parent(dest);
out:
	saved = errno;
	if (src != -1)
		close(src);
	if (dfd != -1)
		close(dfd);
	if (rc != 0)
		(void)remove_path(dest);
	errno = saved;
	return rc;
}

/* <data_dir>/DAVFS_STAGE's path into out. */
static void
stage_path(const char *data_dir, struct buf *out)
{
	buf_reset(out);
	buf_addf(out, "%s/%s", data_dir, DAVFS_STAGE);
}

void
davfs_restore_abort(const char *data_dir)
{
	struct buf path = BUF_INIT;

	stage_path(data_dir, &path);
	(void)remove_path(path.data);
	buf_release(&path);
}

int
davfs_restore_stage(const char *data_dir, const char *src)
{
	struct buf path = BUF_INIT;
	int sfd = -1, dfd = -1, rc = -1, saved;

	stage_path(data_dir, &path);
	if (remove_path(path.data) == -1 || mkdir(path.data, 0700) == -1)
		goto out;
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	dfd = open(path.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd == -1 || dfd == -1)
		goto out;
	rc = copy_inside(
	    sfd, dfd, COPY_RECURSIVE | COPY_SYNC | COPY_VERSIONS, 0);
	if (rc == 0)
		rc = fileio_fsync_dir(data_dir);
out:
	saved = errno;
	if (sfd != -1)
		close(sfd);
	if (dfd != -1)
		close(dfd);
	if (rc != 0)
		(void)remove_path(path.data);
	buf_release(&path);
	errno = saved;
	return rc;
}

/* The names of folder fd's entries (but "." and ".."), NULL-terminated. */
static char **
dir_names(int fd, size_t *n)
{
	struct dirent *e;
	struct stat st;
	char **names = NULL;
	size_t cap = 0;
	DIR *d;

	*n = 0;
	if ((d = dir_open(fd)) == NULL)
		return NULL;
	while ((e = dir_next(d, fd, &st)) != NULL) {
		if (*n + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (names == NULL)
		names = xcalloc(1, sizeof(*names));
	names[*n] = NULL;
	return names;
}

static void
dir_names_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Put the staged tree name in place of <dav>/name in one step: the two
 * are exchanged (the old one then removed with the stage). Where the
 * file system cannot exchange, the old is removed first.
 */
static int
swap_in(int stage, int dav, const char *name)
{
	if (syscall(SYS_renameat2, stage, name, dav, name,
	        DAVFS_RENAME_EXCHANGE) == 0)
		return 0;
	if (errno == ENOENT)
		return renameat(stage, name, dav, name);
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (davfs_remove(dav, name) == -1 && errno != ENOENT)
		return -1;
	return renameat(stage, name, dav, name);
}

int
davfs_restore_commit(const char *data_dir)
{
	struct buf path = BUF_INIT;
	char **staged = NULL, **current = NULL;
	size_t ns = 0, nc = 0, i, j;
	int stage = -1, dav = -1, rc = -1, saved;

	stage_path(data_dir, &path);
	stage =
	    open(path.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	dav = dav_dir_open(data_dir, true);
	if (stage == -1 || dav == -1)
		goto out;
	if ((staged = dir_names(stage, &ns)) == NULL ||
	    (current = dir_names(dav, &nc)) == NULL)
		goto out;
	rc = 0;
	for (i = 0; i < ns; i++)
		if (swap_in(stage, dav, staged[i]) == -1)
			rc = -1;
	/* The trees the backup did not have (no files then) go. */
	for (i = 0; i < nc; i++) {
		for (j = 0; j < ns && strcmp(current[i], staged[j]) != 0; j++)
			;
		if (j == ns && davfs_remove(dav, current[i]) == -1 &&
		    errno != ENOENT)
			rc = -1;
	}
	if (fsync(dav) == -1)
		rc = -1;
out:
	saved = errno;
	if (stage != -1)
		close(stage);
	if (dav != -1)
		close(dav);
	/* The stage now holds the old trees. */
	(void)remove_path(path.data);
	dir_names_free(staged, ns);
	dir_names_free(current, nc);
	buf_release(&path);
	errno = saved;
	return rc;
}

/*
 * Versions of a file
 */

/*
 * The number of the version file fname of name, or 0 when fname is not
 * one of name's versions.
 */
static uint64_t
version_number(const char *fname, const char *name)
{
	size_t pl = strlen(DAVFS_VER), nl = strlen(name);
	uint64_t v = 0;
	const char *p;

	if (strncmp(fname, DAVFS_VER, pl) != 0 ||
	    strncmp(fname + pl, name, nl) != 0 || fname[pl + nl] != '.')
		return 0;
	for (p = fname + pl + nl + 1; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return *p == '\0' && p != fname + pl + nl + 1 ? v : 0;
}

/* The name of version v of name, into out. */
static void
version_name(const char *name, uint64_t v, struct buf *out)
{
	buf_reset(out);
	buf_addf(out, "%s%s.%llu", DAVFS_VER, name, (unsigned long long)v);
}

/* Newest first. */
static int
version_cmp(const void *a, const void *b)
{
	const struct davfs_version *x = a, *y = b;

	return x->number < y->number ? 1 : x->number > y->number ? -1 : 0;
}

int
davfs_versions(int dirfd, const char *name, struct davfs_version *out,
    size_t max, size_t *n)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	uint64_t v;
	size_t i, oldest;

	*n = 0;
	if ((d = dir_open(dirfd)) == NULL)
		return -1;
	while ((e = dir_next(d, dirfd, &st)) != NULL) {
		if (!S_ISREG(st.st_mode) ||
		    (v = version_number(e->d_name, name)) == 0)
			continue;
		if (*n < max) {
			i = (*n)++;
		} else {
			/* Full: the newest max are kept. */
			for (oldest = 0, i = 1; i < max; i++)
				if (out[i].number < out[oldest].number)
					oldest = i;
			if (max == 0 || out[oldest].number > v)
				continue;
			i = oldest;
		}
		out[i].number = v;
		out[i].size = (uint64_t)st.st_size;
		out[i].mtime = st.st_mtime;
	}
	closedir(d);
	qsort(out, *n, sizeof(*out), version_cmp);
	return 0;
}

int
davfs_version_keep(int dirfd, const char *name, unsigned keep, bool *kept,
    uint64_t *freed, uint64_t *freed_n)
{
	struct davfs_version v[DAVFS_MAX_VERSIONS + 1];
	struct buf vname = BUF_INIT;
	size_t n, i;
	int rc = -1, saved;

	*kept = false;
	*freed = *freed_n = 0;
	if (keep > DAVFS_MAX_VERSIONS)
		keep = DAVFS_MAX_VERSIONS;
	if (davfs_versions(dirfd, name, v, DAVFS_MAX_VERSIONS + 1, &n) == -1)
		return -1;
	if (keep > 0) {
		version_name(name, n > 0 ? v[0].number + 1 : 1, &vname);
		if (linkat(dirfd, name, dirfd, vname.data, 0) == -1)
			goto out;
		*kept = true;
	}
	/* With the new one, keep in all: the oldest go. */
	for (i = keep > 0 ? keep - 1 : 0; i < n; i++) {
		version_name(name, v[i].number, &vname);
		if (unlinkat(dirfd, vname.data, 0) == 0) {
			*freed += v[i].size;
			(*freed_n)++;
		}
	}
	rc = 0;
out:
	saved = errno;
	buf_release(&vname);
	errno = saved;
	return rc;
}

uint64_t
davfs_version_dropped(int dirfd, const char *name, unsigned keep)
{
	struct davfs_version v[DAVFS_MAX_VERSIONS + 1];
	uint64_t bytes = 0;
	size_t n, i;

	if (keep > DAVFS_MAX_VERSIONS)
		keep = DAVFS_MAX_VERSIONS;
	if (davfs_versions(dirfd, name, v, DAVFS_MAX_VERSIONS + 1, &n) == -1)
		return 0;
	for (i = keep > 0 ? keep - 1 : 0; i < n; i++)
		bytes += v[i].size;
	return bytes;
}

int
davfs_version_open(int dirfd, const char *name, uint64_t number)
{
	struct buf vname = BUF_INIT;
	int fd, saved;

	version_name(name, number, &vname);
	fd = openat(dirfd, vname.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	buf_release(&vname);
	errno = saved;
	return fd;
}
