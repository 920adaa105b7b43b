/*
 * libplace.c: where uploaded books are written (libplace.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "fileio.h"
#include "libplace.h"
#include "library.h"
#include "partialmd5.h"

void
libplace_dir(const struct config *cfg, const char *user, struct buf *out)
{
	if (cfg->library_upload_path != NULL &&
	    cfg->library_upload_path[0] != '\0')
		buf_adds(out, cfg->library_upload_path);
	else
		buf_addf(out, "%s/%s/uploads", cfg->data_dir, LIBRARY_DIR);
	buf_addf(out, "/%s", user != NULL ? user : "shared");
}

int
libplace_mkdirs(const char *path)
{
	char *p = strdup(path), *s;
	int rc = 0, err = 0;

	if (p == NULL)
		return -1;
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			rc = -1;
			err = errno;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) == -1 && errno != EEXIST) {
		rc = -1;
		err = errno;
	}
	free(p);
	errno = err;
	return rc;
}

int
libplace_find_same(const char *dir, const char *pmd5, struct buf *out)
{
	char other[MD5_HEX_LEN + 1];
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = -1;

	if (d == NULL)
		return -1;
	while (rc == -1 && (de = readdir(d)) != NULL) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		buf_reset(out);
		buf_addf(out, "%s/%s", dir, de->d_name);
		fd = open(
		    out->data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd == -1)
			continue;
		if (partialmd5_fd(fd, other) == 0 && strcmp(other, pmd5) == 0)
			rc = 0;
		close(fd);
	}
	closedir(d);
	return rc;
}

int
libplace_link(
    const char *tmp, const char *dir, const char *name, struct buf *out)
{
	unsigned k;
	int err;

	for (k = 0;; k++) {
		buf_reset(out);
		if (k == 0)
			buf_addf(out, "%s/%s", dir, name);
		else
			buf_addf(out, "%s/%u-%s", dir, k, name);
		/* link() never replaces: a name taken meanwhile is EEXIST. */
		if (link(tmp, out->data) == 0)
			break;
		if (errno != EEXIST || k >= 10000) {
			err = errno;
			(void)unlink(tmp);
			errno = err;
			return -1;
		}
	}
	(void)unlink(tmp);
	(void)fileio_fsync_dir(dir);
	return 0;
}

uint64_t
libplace_usage(const char *dir)
{
	struct buf path = BUF_INIT;
	struct dirent *de;
	struct stat sb;
	uint64_t total = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, de->d_name);
		if (lstat(path.data, &sb) == 0 && S_ISREG(sb.st_mode))
			total += (uint64_t)sb.st_size;
	}
	closedir(d);
	buf_release(&path);
	return total;
}
