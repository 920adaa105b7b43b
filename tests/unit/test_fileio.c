/*
 * test_fileio.c: the durable file writes. fileio_write_all through a pipe
 * in small pieces, fileio_write_new (contents, mode 0600, an existing name
 * refused and left alone), fileio_replace (the new contents, the old file
 * untouched and the temporary file gone when filling, syncing or renaming
 * fails, with the step named), fileio_fsync_dir and fileio_fsync_parent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "fault.h"
#include "fileio.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_fileio.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct buf cmd = BUF_INIT;

	(void)state;
	buf_addf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.data) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	buf_release(&cmd);
	fault_reset();
	return 0;
}

/* The contents of path in out (reset first); -1 when it cannot be read. */
static int
slurp(const char *path, struct buf *out)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf_reset(out);
	if (fd == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(out, chunk, (size_t)n);
	close(fd);
	return n == 0 ? 0 : -1;
}

static void
test_fileio__write_all_pipe(void **state)
{
	struct buf big = BUF_INIT, got = BUF_INIT;
	char chunk[4096];
	int p[2];
	size_t i;
	pid_t pid;
	ssize_t n;

	(void)state;
	/* More than a pipe holds: the reader drains it in another process. */
	for (i = 0; i < 300000; i++)
		buf_addch(&big, (char)('a' + i % 26));
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[0]);
		_exit(fileio_write_all(p[1], big.data, big.len) == 0 ? 0 : 1);
	}
	close(p[1]);
	while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
		buf_add(&got, chunk, (size_t)n);
	close(p[0]);
	assert_int_equal(got.len, big.len);
	assert_memory_equal(got.data, big.data, big.len);
	buf_release(&big);
	buf_release(&got);
}

static void
test_fileio__write_new(void **state)
{
	struct buf path = BUF_INIT, got = BUF_INIT;
	const char *op = NULL;
	struct stat st;

	(void)state;
	buf_addf(&path, "%s/new", dir);
	assert_int_equal(fileio_write_new(path.data, "hello", 5, &op), 0);
	assert_int_equal(slurp(path.data, &got), 0);
	assert_string_equal(got.data, "hello");
	assert_int_equal(stat(path.data, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* An existing name is refused at "create" and left as it was. */
	assert_int_equal(fileio_write_new(path.data, "other", 5, &op), -1);
	assert_int_equal(errno, EEXIST);
	assert_string_equal(op, "create");
	assert_int_equal(slurp(path.data, &got), 0);
	assert_string_equal(got.data, "hello");
	assert_int_equal(fileio_fsync_dir(dir), 0);
	assert_int_equal(fileio_fsync_parent(path.data), 0);
	assert_int_equal(fileio_fsync_parent("bare-name"), 0);
	buf_reset(&path);
	buf_addf(&path, "%s/missing/x", dir);
	assert_int_equal(fileio_fsync_parent(path.data), -1);
	assert_int_equal(errno, ENOENT);
	buf_release(&path);
	buf_release(&got);
}

struct text {
	const char *s;
	int fail; /* errno to fail with, 0 to write s */
};

static int
fill(int fd, const void *arg)
{
	const struct text *t = arg;

	if (t->fail != 0) {
		errno = t->fail;
		return -1;
	}
	return fileio_write_all(fd, t->s, strlen(t->s));
}

/* Replace dir/f with t; check the result, the step and what is on disk. */
static void
check_replace(const struct text *t, enum fault_point fp, int rc,
    const char *step, const char *after)
{
	struct buf path = BUF_INIT, tmp = BUF_INIT, got = BUF_INIT;
	const char *op = NULL;

	buf_addf(&path, "%s/f", dir);
	buf_addf(&tmp, "%s/f.tmp", dir);
	if (fp != FAULT_NPOINTS)
		fault_set(fp, 1, false, ENOSPC);
	assert_int_equal(fileio_replace(path.data, tmp.data, fill, t, &op), rc);
	fault_reset();
	if (rc != 0) {
		assert_string_equal(op, step);
		assert_int_equal(errno, t->fail != 0 ? t->fail : ENOSPC);
	}
	assert_int_equal(slurp(path.data, &got), 0);
	assert_string_equal(got.data, after);
	assert_int_equal(access(tmp.data, F_OK), -1);
	buf_release(&path);
	buf_release(&tmp);
	buf_release(&got);
}

static void
test_fileio__replace(void **state)
{
	const struct text one = {"one", 0}, two = {"two", 0};
	const struct text broken = {"three", EIO};

	(void)state;
	check_replace(&one, FAULT_NPOINTS, 0, NULL, "one");
	check_replace(&two, FAULT_NPOINTS, 0, NULL, "two");
	check_replace(&broken, FAULT_NPOINTS, -1, "write", "two");
	/* The fault points fileio.h names: fill, sync and rename. */
	check_replace(&one, FAULT_SNAPSHOT, -1, "write", "two");
	check_replace(&one, FAULT_RENAME, -1, "rename", "two");
	fault_set(FAULT_SNAPSHOT, 2, false, ENOSPC);
	{
		struct buf path = BUF_INIT, tmp = BUF_INIT;
		const char *op = NULL;

		buf_addf(&path, "%s/f", dir);
		buf_addf(&tmp, "%s/f.tmp", dir);
		assert_int_equal(
		    fileio_replace(path.data, tmp.data, fill, &one, &op), -1);
		assert_string_equal(op, "fsync");
		assert_int_equal(access(tmp.data, F_OK), -1);
		buf_release(&path);
		buf_release(&tmp);
	}
	fault_reset();
	check_replace(&one, FAULT_NPOINTS, 0, NULL, "one");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fileio__write_all_pipe),
	    cmocka_unit_test(test_fileio__write_new),
	    cmocka_unit_test(test_fileio__replace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
