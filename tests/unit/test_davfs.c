/*
 * test_davfs.c: an account's tree on disk (davfs.h) beyond a request:
 * versions of a file (numbering, keeping the newest, the bytes dropped),
 * the count of a tree (temporary files apart), and the backup of the trees
 * and their restore (each account's tree replaced, the others removed, no
 * stage left), the newest file of a name in a tree (links, folders and
 * reserved names skipped, the entries bounded) and a root opened only
 * when it exists.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "davfs.h"

/* Write text to dir/name, replacing it by rename as an upload does. */
static void
put(int dir, const char *name, const char *text)
{
	int fd = openat(dir, "t.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(renameat(dir, "t.tmp", dir, name), 0);
}

/* The content of path ("" when missing). */
static char *
slurp(const char *path)
{
	static char out[256];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(out, 1, sizeof(out) - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	return out;
}

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/test_davfs.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
rmtree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_davfs__versions(void **state)
{
	struct davfs_version v[DAVFS_MAX_VERSIONS];
	struct davfs_tally t;
	char *dir = tmpdir(), buf[16];
	uint64_t freed, freed_n;
	size_t n;
	bool kept;
	int fd, i;

	(void)state;
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	put(fd, "statistics.sqlite3", "v1");
	for (i = 2; i <= 7; i++) {
		assert_int_equal(davfs_version_keep(fd, "statistics.sqlite3", 3,
		                     &kept, &freed, &freed_n),
		    0);
		assert_true(kept);
		/* Three kept: from the fourth version made on, one goes. */
		assert_int_equal(freed_n, i >= 5 ? 1 : 0);
		assert_int_equal(freed, i >= 5 ? 2 : 0);
		snprintf(buf, sizeof(buf), "v%d", i);
		put(fd, "statistics.sqlite3", buf);
	}
	assert_int_equal(
	    davfs_versions(fd, "statistics.sqlite3", v, DAVFS_MAX_VERSIONS, &n),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].number, 6);
	assert_int_equal(v[2].number, 4);
	assert_int_equal(v[0].size, 2);
	/* Not the versions of another name, even a prefix of it. */
	assert_int_equal(
	    davfs_versions(fd, "statistics", v, DAVFS_MAX_VERSIONS, &n), 0);
	assert_int_equal(n, 0);
	/* Version 6 holds the sixth upload; 1 is gone. */
	i = davfs_version_open(fd, "statistics.sqlite3", 6);
	assert_true(i != -1);
	assert_int_equal(read(i, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "v6", 2);
	close(i);
	assert_int_equal(davfs_version_open(fd, "statistics.sqlite3", 1), -1);
	/* What the next replacement would free with 3 kept, and with 0. */
	assert_int_equal(davfs_version_dropped(fd, "statistics.sqlite3", 3), 2);
	assert_int_equal(davfs_version_dropped(fd, "statistics.sqlite3", 0), 6);
	/* The tree counts each version once; a temporary file apart. */
	put(fd, ".kosyncd-tmp-0123", "upload");
	assert_int_equal(davfs_survey(fd, &t), 0);
	assert_int_equal(t.bytes, 2 + 3 * 2);
	assert_int_equal(t.entries, 4);
	assert_int_equal(t.temps, 1);
	assert_int_equal(t.temp_bytes, 6);
	/* keep 0: no version made, every one removed. */
	assert_int_equal(davfs_version_keep(fd, "statistics.sqlite3", 0, &kept,
	                     &freed, &freed_n),
	    0);
	assert_false(kept);
	assert_int_equal(freed_n, 3);
	close(fd);
	rmtree(dir);
	free(dir);
}

static void
test_davfs__backup_restore(void **state)
{
	char *data = tmpdir(), *bak = tmpdir(), path[512];
	struct davfs_tally t;
	int a, b, c;

	(void)state;
	a = davfs_root_open(data, str_from("alice"));
	b = davfs_root_open(data, str_from("bob"));
	assert_true(a != -1 && b != -1);
	put(a, "f", "alice-old");
	assert_int_equal(mkdirat(a, "sub", 0700), 0);
	put(b, "g", "bob");
	snprintf(path, sizeof(path), "%s/files", bak);
	assert_int_equal(davfs_backup(data, path), 0);
	/* An existing folder is never written into. */
	assert_int_equal(davfs_backup(data, path), -1);

	/* Changes after the backup. */
	put(a, "f", "alice-new");
	c = davfs_root_open(data, str_from("carol"));
	put(c, "h", "carol");
	close(a);
	close(b);
	close(c);

	assert_int_equal(davfs_restore_stage(data, path), 0);
	assert_int_equal(davfs_restore_commit(data), 0);
	snprintf(path, sizeof(path), "%s/dav/alice/f", data);
	assert_string_equal(slurp(path), "alice-old");
	snprintf(path, sizeof(path), "%s/dav/bob/g", data);
	assert_string_equal(slurp(path), "bob");
	snprintf(path, sizeof(path), "%s/dav/carol", data);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/dav.restore", data);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(davfs_tree_usage(data, str_from("alice"), &t), 0);
	assert_int_equal(t.bytes, 9);
	assert_int_equal(t.entries, 2);
	assert_int_equal(davfs_tree_usage(data, str_from("carol"), &t), 0);
	assert_int_equal(t.entries, 0);

	/* A stage that cannot be made leaves nothing. */
	snprintf(path, sizeof(path), "%s/none", bak);
	assert_int_equal(davfs_restore_stage(data, path), -1);
	snprintf(path, sizeof(path), "%s/dav.restore", data);
	assert_int_equal(access(path, F_OK), -1);
	rmtree(data);
	rmtree(bak);
	free(data);
	free(bak);
}

/* Set dir/name's modification time to t (Unix seconds). */
static void
age(int dir, const char *name, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};

	assert_int_equal(utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* The content of fd (closed), read from its start. */
static char *
read_fd(int fd)
{
	static char out[64];
	ssize_t n = pread(fd, out, sizeof(out) - 1, 0);

	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
	return out;
}

static void
test_davfs__find_newest(void **state)
{
	char *data = tmpdir(), path[512];
	struct stat st;
	int a, sub, deep;

	(void)state;
	a = davfs_root_open(data, str_from("alice"));
	assert_true(a != -1);
	/* None yet; a root that does not exist is not made. */
	assert_int_equal(davfs_find_newest(a, "s", 100, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(davfs_root_find(data, str_from("bob")), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(path, sizeof(path), "%s/dav/bob", data);
	assert_int_equal(access(path, F_OK), -1);

	/* The newest of three, wherever it is. */
	assert_int_equal(mkdirat(a, "sub", 0700), 0);
	sub = openat(a, "sub", O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(sub, "deep", 0700), 0);
	deep = openat(sub, "deep", O_RDONLY | O_DIRECTORY);
	put(a, "s", "top");
	age(a, "s", 1000);
	put(sub, "s", "middle");
	age(sub, "s", 3000);
	put(deep, "s", "deep");
	age(deep, "s", 2000);
	assert_string_equal(
	    read_fd(davfs_find_newest(a, "s", 100, &st)), "middle");
	assert_int_equal(st.st_size, 6);
	assert_int_equal(st.st_mtime, 3000);

	/* A link, a folder of that name and a reserved name are skipped. */
	assert_int_equal(unlinkat(sub, "s", 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", a, "x"), 0);
	assert_int_equal(mkdirat(deep, "x", 0700), 0);
	put(deep, ".kosyncd-x", "reserved");
	age(deep, ".kosyncd-x", 5000);
	assert_int_equal(davfs_find_newest(a, "x", 100, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(
	    read_fd(davfs_find_newest(a, "s", 100, &st)), "deep");

	/* Past max_entries: E2BIG, nothing returned. */
	assert_int_equal(davfs_find_newest(a, "s", 2, &st), -1);
	assert_int_equal(errno, E2BIG);
	close(deep);
	close(sub);
	close(a);
	a = davfs_root_find(data, str_from("alice"));
	assert_true(a != -1);
	close(a);
	rmtree(data);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_davfs__versions),
	    cmocka_unit_test(test_davfs__backup_restore),
	    cmocka_unit_test(test_davfs__find_newest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
