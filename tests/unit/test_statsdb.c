/*
 * test_statsdb.c: the statistics file reader through its interface: each
 * limit of struct statsdb_limits refuses with its reason (books, page
 * turns, file size, time), the private copy is removed, four threads
 * reading the same file at once get the same result, and the fuzzer's
 * regression input (a schema whose SQL holds line breaks) gets a one-line
 * reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "json.h"
#include "statsdb.h"

#define NOW 1774814400

static char dir[64];
static char file[128];

/* A statistics file of nbooks books and nrows page turns (KOReader's
 * tables, without the view: the reader never needs it). */
static void
make_file(int nbooks, int nrows)
{
	sqlite3 *db;
	char sql[256];
	int i;

	unlink(file);
	assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                     "CREATE TABLE book (id integer PRIMARY KEY "
	                     "autoincrement, title text, authors text, notes "
	                     "integer, last_open integer, highlights integer, "
	                     "pages integer, series text, language text, md5 "
	                     "text, total_read_time integer, total_read_pages "
	                     "integer);"
	                     "CREATE TABLE page_stat_data (id_book integer, "
	                     "page integer, start_time integer, duration "
	                     "integer, total_pages integer, UNIQUE (id_book, "
	                     "page, start_time));"
	                     "BEGIN;",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 1; i <= nbooks; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO book (title, authors, md5, pages) VALUES "
		    "('T%d', 'A', '%032d', 100)",
		    i, i);
		assert_int_equal(
		    sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	for (i = 0; i < nrows; i++) {
		snprintf(sql, sizeof(sql),
		    "INSERT INTO page_stat_data VALUES (%d, %d, %d, 30, 100)",
		    i % nbooks + 1, i % 100 + 1, 1774000000 + i * 40);
		assert_int_equal(
		    sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	assert_int_equal(
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Whether the private copies' directory is empty. */
static bool
dir_empty(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "kosyncd-stats-", 14) == 0)
			n++;
	closedir(d);
	return n == 0;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_statsdb.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/statistics.sqlite3", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(file);
	rmdir(dir);
	return 0;
}

static void
test_statsdb__limits(void **state)
{
	static const struct {
		size_t books, rows;
		uint64_t bytes;
		int64_t ms;
		const char *reason; /* NULL: read */
	} cases[] = {
	    {0, 0, 0, 0, NULL},
	    {2, 0, 0, 0, "more than 2 books"},
	    {0, 99, 0, 0, "more than 99 page turns"},
	    {0, 0, 4096, 0, "file of "},
	    {0, 0, 0, -1, "reading took more than 0 ms of CPU"},
	};
	struct statsdb_limits lim;
	struct statsdb db;
	struct buf reason = BUF_INIT;
	size_t i;

	(void)state;
	make_file(3, 300);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		statsdb_limits_default(&lim);
		lim.tmpdir = dir;
		if (cases[i].books)
			lim.max_books = cases[i].books;
		if (cases[i].rows)
			lim.max_rows = cases[i].rows;
		if (cases[i].bytes)
			lim.max_file_bytes = cases[i].bytes;
		if (cases[i].ms)
			lim.max_ms = 0;
		rc = statsdb_read(file, NOW, &lim, &db, &reason);
		if (!cases[i].reason) {
			assert_int_equal(rc, 0);
			assert_int_equal(db.nbooks, 3);
			assert_int_equal(db.nrows, 300);
		} else {
			assert_int_equal(rc, -1);
			if (strncmp(reason.data, cases[i].reason,
			        strlen(cases[i].reason)) != 0)
				fail_msg("case %zu: '%s'", i, reason.data);
			assert_int_equal(db.nrows, 0);
		}
		assert_true(dir_empty());
		statsdb_release(&db);
		buf_reset(&reason);
	}
	buf_release(&reason);
}

struct job {
	struct statsdb db;
	int rc;
};

static void *
read_job(void *arg)
{
	struct job *j = arg;
	struct statsdb_limits lim;
	struct buf reason = BUF_INIT;

	statsdb_limits_default(&lim);
	lim.tmpdir = dir;
	j->rc = statsdb_read(file, NOW, &lim, &j->db, &reason);
	buf_release(&reason);
	return NULL;
}

static void
test_statsdb__threads(void **state)
{
	pthread_t t[4];
	struct job jobs[4];
	size_t i;

	(void)state;
	make_file(5, 2000);
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 4; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, read_job, &jobs[i]), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(jobs[i].rc, 0);
		assert_int_equal(jobs[i].db.nrows, 2000);
		assert_memory_equal(jobs[i].db.rows, jobs[0].db.rows,
		    2000 * sizeof(*jobs[0].db.rows));
	}
	for (i = 0; i < 4; i++)
		statsdb_release(&jobs[i].db);
	assert_true(dir_empty());
}

static void
test_statsdb__regress_reason_one_line(void **state)
{
	struct statsdb db;
	struct buf reason = BUF_INIT;

	(void)state;
	buf_adds(&reason, "prefix kept: ");
	assert_int_equal(statsdb_read("fuzz/corpus/statsdb/"
	                              "regress-reason-newline",
	                     NOW, NULL, &db, &reason),
	    -1);
	assert_true(
	    strncmp(reason.data, "prefix kept: not a readable", 27) == 0);
	assert_null(strchr(reason.data, '\n'));
	assert_true(json_utf8_valid(reason.data, reason.len));
	assert_true(reason.len <= 13 + 300);
	statsdb_release(&db);
	buf_release(&reason);
}

/*
 * The fuzzer's find: a vocabulary file whose words point to titles when
 * the title table is empty (bsearch was given NULL).
 */
static void
test_statsdb__regress_vocab_no_titles(void **state)
{
	struct statsdb_vocab v;
	struct buf reason = BUF_INIT;
	int fd =
	    open("fuzz/corpus/vocabdb/regress-no-titles", O_RDONLY | O_CLOEXEC);
	size_t i;

	(void)state;
	assert_true(fd >= 0);
	if (statsdb_vocab_read_fd(fd, NOW, NULL, &v, &reason) == 0) {
		assert_int_equal(v.ntitles, 0);
		for (i = 0; i < v.nwords; i++)
			assert_int_equal(v.words[i].title, STATSDB_NO_TITLE);
	} else {
		assert_null(strchr(reason.data, '\n'));
	}
	close(fd);
	statsdb_vocab_release(&v);
	buf_release(&reason);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statsdb__limits),
	    cmocka_unit_test(test_statsdb__threads),
	    cmocka_unit_test(test_statsdb__regress_reason_one_line),
	    cmocka_unit_test(test_statsdb__regress_vocab_no_titles),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
