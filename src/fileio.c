/*
 * fileio.c: writing files durably (see fileio.h).
 *
 * Every function leaves errno as the failed call set it, restoring it
 * across the clean-up (close, unlink) that follows a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "fileio.h"

int
fileio_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, c + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

int
fileio_fsync_dir(const char *dir)
{
	int fd, rc, e;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int
fileio_fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int rc, e;

	if (slash != NULL && slash != path &&
	    (dir = strndup(path, (size_t)(slash - path))) == NULL)
		return -1;
	rc = fileio_fsync_dir(slash == NULL ? "." : slash == path ? "/" : dir);
	e = errno;
	free(dir);
	errno = e;
	return rc;
}

int
fileio_fill_bytes(int fd, const void *arg)
{
	const struct fileio_bytes *b = arg;

	return fileio_write_all(fd, b->data, b->len);
}

/* Close fd and remove path after a failure, keeping errno. */
static void
discard(int fd, const char *path)
{
	int e = errno;

	if (fd != -1)
		close(fd);
	(void)unlink(path);
	errno = e;
}

int
fileio_write_new(
    const char *path, const char *data, size_t len, const char **op)
{
	int fd;

	*op = "create";
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	*op = "write";
	if (fileio_write_all(fd, data, len) != 0)
		goto fail;
	*op = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	*op = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	discard(fd, path);
	return -1;
}

int
fileio_replace(const char *path, const char *tmp,
    int (*fill)(int fd, const void *arg), const void *arg, const char **op)
{
	int fd;

	*op = "create";
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	/* Test builds can fail each step (fault.h); errno is then set. */
	*op = "write";
	if ((errno = fault_check(FAULT_SNAPSHOT)) != 0 || fill(fd, arg) != 0)
		goto fail;
	*op = "fsync";
	if ((errno = fault_check(FAULT_SNAPSHOT)) != 0 || fsync(fd) != 0)
		goto fail;
	*op = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	*op = "rename";
	if ((errno = fault_check(FAULT_RENAME)) != 0 || rename(tmp, path) != 0)
		goto fail;
	*op = "fsync directory";
	if (fileio_fsync_parent(path) != 0)
		return -1;
	return 0;
fail:
	discard(fd, tmp);
	return -1;
}

ssize_t
fileio_pread_full(int fd, void *p, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (char *)p + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
