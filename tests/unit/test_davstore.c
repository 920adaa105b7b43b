/*
 * test_davstore.c: the operations of a WebDAV tree (davstore.h) on the
 * disk backend: an upload committed all at once (a reader opened before
 * keeps the old bytes), an aborted one leaving the old file and nothing
 * else, listings without the server's own names, dead properties, copy,
 * move, removal and the usage count; and the pure parts of the Redis
 * backend (davredis.c): its entries parsed into metadata, odd ones
 * refused.
 *
 * UNIT_INCLUDES: src/davredis.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/davredis.c"

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/test_davstore.XXXXXX";
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

/* Upload text as name of d through the interface. */
static void
upload(struct davdir *d, const char *name, const char *text)
{
	struct davup *u = davstore_up_open(d);
	struct stat st;

	assert_non_null(u);
	assert_int_equal(davstore_up_write(u, text, strlen(text)), 0);
	assert_int_equal(davstore_up_sync(u), 0);
	assert_int_equal(davstore_up_commit(u, name, &st), 0);
	assert_int_equal(st.st_size, (off_t)strlen(text));
	assert_int_equal(davstore_dir_sync(d), 0);
}

/* The bytes of name in d ("" when it cannot be read). */
static char *
content(struct davdir *d, const char *name)
{
	static char out[256];
	struct davrd *f;
	struct stat st;
	ssize_t n;

	out[0] = '\0';
	f = davstore_read_open(d, name, &st);
	if (f == NULL)
		return out;
	n = davstore_read(f, 0, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	davstore_read_close(f);
	return out;
}

static void
count(void *arg, const char *name, const struct stat *st)
{
	(void)name;
	(void)st;
	(*(int *)arg)++;
}

static void
test_davstore__upload(void **state)
{
	char *dir = tmpdir();
	struct davstore *s = davstore_disk_new(dir);
	struct davdir *root = davstore_root_open(s, str_from("alice"));
	struct davrd *old;
	struct davup *u;
	struct stat st;
	char buf[16];
	int n = 0;

	(void)state;
	assert_non_null(root);
	upload(root, "f.txt", "old");
	old = davstore_read_open(root, "f.txt", &st);
	assert_non_null(old);
	upload(root, "f.txt", "newer");
	assert_string_equal(content(root, "f.txt"), "newer");
	/* A reader opened before the commit reads what it opened. */
	assert_int_equal(davstore_read(old, 0, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "old", 3);
	assert_int_equal(davstore_read(old, 1, buf, sizeof(buf)), 2);
	davstore_read_close(old);
	/* An aborted upload leaves the file and no temporary one. */
	u = davstore_up_open(root);
	assert_non_null(u);
	assert_int_equal(davstore_up_write(u, "xxxxxxxx", 8), 0);
	davstore_up_abort(u);
	assert_string_equal(content(root, "f.txt"), "newer");
	assert_int_equal(davstore_list(root, 100, count, &n), 0);
	assert_int_equal(n, 1);
	davstore_dir_close(root);
	davstore_free(s);
	rmtree(dir);
	free(dir);
}

static void
test_davstore__tree(void **state)
{
	char *dir = tmpdir();
	struct davstore *s = davstore_disk_new(dir);
	struct davdir *root = davstore_root_open(s, str_from("bob"));
	struct davdir *sub, *again;
	struct str name = str_from("sub");
	struct buf props = BUF_INIT;
	uint64_t bytes = 0, entries = 0;
	struct stat st;
	int n = 0;

	(void)state;
	assert_int_equal(davstore_mkcol(root, "sub"), 0);
	assert_int_equal(davstore_mkcol(root, "sub"), -1);
	assert_int_equal(errno, EEXIST);
	sub = davstore_dir_open(root, &name, 1);
	assert_non_null(sub);
	upload(sub, "a", "12345");
	assert_int_equal(davstore_props_save(sub, "a", "p\tq\t1\nv\n", 8), 0);
	assert_int_equal(davstore_props_load(sub, "a", &props, 1024), 0);
	assert_int_equal(props.len, 8);
	/* The properties' sidecar is not listed. */
	assert_int_equal(davstore_list(sub, 100, count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(davstore_copy(sub, "a", root, "b", true), 0);
	assert_string_equal(content(root, "b"), "12345");
	assert_int_equal(davstore_props_load(root, "b", &props, 1024), 0);
	assert_int_equal(props.len, 8);
	assert_int_equal(davstore_move(root, "b", sub, "c"), 0);
	assert_int_equal(davstore_stat(root, "b", &st), -1);
	assert_string_equal(content(sub, "c"), "12345");
	assert_int_equal(davstore_usage(root, 100, &bytes, &entries), 0);
	assert_true(entries >= 3); /* sub, a, c (and sidecars on disk) */
	assert_true(bytes >= 10);
	assert_int_equal(davstore_usage(root, 2, &bytes, &entries), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(davstore_remove(root, "sub"), 0);
	assert_int_equal(davstore_stat(root, "sub", &st), -1);
	assert_int_equal(errno, ENOENT);
	/* A handle of the same tree, and one of another. */
	again = davstore_root_open(s, str_from("bob"));
	assert_true(davstore_same_tree(root, again));
	davstore_dir_close(again);
	again = davstore_root_open(s, str_from("carol"));
	assert_false(davstore_same_tree(root, again));
	davstore_dir_close(again);
	davstore_dir_close(sub);
	davstore_dir_close(root);
	davstore_free(s);
	buf_release(&props);
	rmtree(dir);
	free(dir);
}

static void
test_davstore__redis_entries(void **state)
{
	char id[DAVREDIS_ID];
	const char *f = "f 0a1b 200000 1700000000123456789 1700000000 4";
	const char *d = "d 99 1700000000000000001 1699999999";
	uint64_t chunks = 0;
	struct stat st, st2;

	(void)state;
	assert_int_equal(rd_entry_parse(f, strlen(f), &st, id, &chunks), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(id, "0a1b");
	assert_int_equal(st.st_size, 200000);
	assert_int_equal(st.st_mtim.tv_sec, 1700000000);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_int_equal(st.st_ctim.tv_sec, 1700000000);
	assert_int_equal(chunks, 4);
	assert_int_equal(rd_entry_parse(d, strlen(d), &st2, id, NULL), 0);
	assert_true(S_ISDIR(st2.st_mode));
	assert_string_equal(id, "99");
	assert_int_equal(st2.st_ctim.tv_sec, 1699999999);
	/* The entity tag's number follows the id. */
	assert_true(st.st_ino != st2.st_ino);
	assert_int_equal(rd_id_hash("0a1b"), (uint64_t)st.st_ino);
	/* Not ours: refused. */
	assert_int_equal(rd_entry_parse("x 1 2 3", 7, &st, id, NULL), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(rd_entry_parse("f 1 2", 5, &st, id, NULL), -1);
	assert_int_equal(rd_entry_parse("d", 1, &st, id, NULL), -1);
	assert_int_equal(rd_entry_parse("", 0, &st, id, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_davstore__upload),
	    cmocka_unit_test(test_davstore__tree),
	    cmocka_unit_test(test_davstore__redis_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
