/*
 * test_statsvc.c: what statsvc.c keeps of an account's statistics. The
 * data file: a snapshot encoded and decoded whole; every truncation, a
 * changed byte, a book index out of range and counts past the reader's
 * limits refused (with a valid checksum, so the checks behind it are
 * reached). The service on a temporary data directory: settings checked
 * (unknown zone, too long a name), saved and loaded again by a new
 * service, with the data file beside them; titles looked up by md5;
 * forgetting an account removes its files; a damaged data file is left
 * out at the start (logged). Which file found in a tree at a start is read
 * again, and which is the upload already listed.
 *
 * UNIT_INCLUDES: src/statsvc.c
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/statsvc.c"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_statsvc.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* A statsdb of two books (one without md5) and three page turns. */
static void
db_make(struct statsdb *db)
{
	static const char *const md5s[] = {"aaaa", ""};
	static const char *const titles[] = {"Alpha", "Beta"};
	size_t i;

	memset(db, 0, sizeof(*db));
	db->books = xcalloc(2, sizeof(*db->books));
	db->nbooks = 2;
	for (i = 0; i < 2; i++) {
		db->books[i].md5 = xstrdup(md5s[i]);
		db->books[i].title = xstrdup(titles[i]);
		db->books[i].authors = xstrdup("Ann\nBob");
		db->books[i].series = xstrdup("N/A");
		db->books[i].language = xstrdup("en");
		db->books[i].pages = 100 + (int64_t)i;
		db->books[i].last_open = 1700000000;
		db->books[i].highlights = 3;
		db->books[i].notes = 1;
	}
	db->rows = xcalloc(3, sizeof(*db->rows));
	db->nrows = 3;
	for (i = 0; i < 3; i++) {
		db->rows[i].book = (uint32_t)(i % 2);
		db->rows[i].page = (int64_t)i + 1;
		db->rows[i].start = 1700000000 + 60 * (int64_t)i;
		db->rows[i].duration = 60;
		db->rows[i].total_pages = 100;
	}
	db->user_version = STATSDB_SCHEMA_VERSION;
	db->book_rows = 3;
	db->turn_rows = 4;
	db->duplicates = 1;
}

/* Recompute the checksum at the end of b (after a change). */
static void
reseal(struct buf *b)
{
	uint64_t crc = crc32c(0, b->data, b->len - 8);
	int i;

	for (i = 0; i < 8; i++)
		b->data[b->len - 8 + (size_t)i] = (char)(crc >> (8 * i));
}

static void
test_statsvc__encode_decode(void **state)
{
	struct statsdb db, back;
	struct buf b = BUF_INIT, c = BUF_INIT;
	size_t n, i;

	(void)state;
	db_make(&db);
	snap_encode(&db, &b);
	assert_int_equal(snap_decode(b.data, b.len, &back), 0);
	assert_int_equal(back.nbooks, 2);
	assert_int_equal(back.nrows, 3);
	assert_int_equal(back.user_version, STATSDB_SCHEMA_VERSION);
	assert_int_equal(back.duplicates, 1);
	for (i = 0; i < 2; i++) {
		assert_string_equal(back.books[i].md5, db.books[i].md5);
		assert_string_equal(back.books[i].title, db.books[i].title);
		assert_string_equal(back.books[i].authors, "Ann\nBob");
		assert_int_equal(back.books[i].pages, db.books[i].pages);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(back.rows[i].book, db.rows[i].book);
		assert_int_equal(back.rows[i].start, db.rows[i].start);
		assert_int_equal(back.rows[i].duration, 60);
	}
	statsdb_release(&back);

	/* Every truncation is refused. */
	for (n = 0; n < b.len; n++) {
		assert_int_equal(snap_decode(b.data, n, &back), -1);
		assert_int_equal(back.nbooks, 0);
		assert_null(back.books);
	}
	/* A changed byte anywhere: the checksum. */
	for (n = 0; n < b.len; n += 7) {
		buf_reset(&c);
		buf_add(&c, b.data, b.len);
		c.data[n] ^= 0x20;
		assert_int_equal(snap_decode(c.data, c.len, &back), -1);
	}
	/* Sealed again: the checks behind the checksum. */
	buf_reset(&c);
	buf_add(&c, b.data, b.len);
	c.data[c.len - 8 - 40] = 5; /* the last row's book: out of range */
	reseal(&c);
	assert_int_equal(snap_decode(c.data, c.len, &back), -1);
	assert_null(back.rows);
	buf_reset(&c);
	buf_add(&c, b.data, b.len);
	c.data[SV_MAGIC_LEN + 8 * 8 + 3] = 1; /* 2^24 + 2 books */
	reseal(&c);
	assert_int_equal(snap_decode(c.data, c.len, &back), -1);
	buf_reset(&c);
	buf_add(&c, b.data, b.len);
	c.data[SV_MAGIC_LEN + 9 * 8] = 4; /* one more row than there is */
	reseal(&c);
	assert_int_equal(snap_decode(c.data, c.len, &back), -1);

	statsdb_release(&db);
	buf_release(&b);
	buf_release(&c);
}

/* Write a data file for user as a read would. */
static void
write_data(const char *user)
{
	struct statsdb db;
	struct buf b = BUF_INIT, p = BUF_INIT;
	const char *op;

	db_make(&db);
	snap_encode(&db, &b);
	buf_addf(&p, "%s/stats/%s.data", dir, user);
	assert_int_equal(fileio_write_new(p.data, b.data, b.len, &op), 0);
	statsdb_release(&db);
	buf_release(&b);
	buf_release(&p);
}

static bool
exists(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/stats/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void
test_statsvc__service(void **state)
{
	uv_loop_t loop;
	struct statsvc *sv;
	struct buf err = BUF_INIT;
	const char *title, *authors;
	char long_name[80];

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	sv = statsvc_new(&loop, dir);
	assert_false(statsvc_has_books(sv, "ann", 3));
	assert_int_equal(
	    statsvc_settings_set(sv, "ann", 3, "Mars/Olympus", 0, -1, -1, &err),
	    -1);
	assert_true(err.len > 0);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	buf_reset(&err);
	assert_int_equal(
	    statsvc_settings_set(sv, "ann", 3, long_name, 0, -1, -1, &err), -1);
	assert_int_equal(
	    statsvc_settings_set(sv, "ann", 3, "UTC", 4 * 3600, 12, 30, &err),
	    0);
	/* -1 leaves a goal as it is. */
	assert_int_equal(
	    statsvc_settings_set(sv, "ann", 3, "UTC", 4 * 3600, -1, 45, &err),
	    0);
	assert_true(exists("ann.json"));
	/* The list of uploads keeps the last STATSVC_MAX_UPLOADS. */
	{
		struct sv_acct *a = acct_find(sv, "ann", 3);
		struct sv_upload up = {0, 0, NULL};
		char agent[] = "KOReader/v2026.07 (Kobo; x)";
		int64_t i;

		for (i = 1; i <= STATSVC_MAX_UPLOADS + 3; i++) {
			up.time = 1700000000 + i;
			up.size = (uint64_t)i;
			up.agent = i % 2 ? agent : NULL;
			hist_add(a, &up, i % 3 != 0, i == 7);
		}
		assert_int_equal(a->nhist, STATSVC_MAX_UPLOADS);
		assert_int_equal(a->hist[0].up.size, 4);
		assert_int_equal(a->hist[STATSVC_MAX_UPLOADS - 1].up.size,
		    STATSVC_MAX_UPLOADS + 3);
		assert_int_equal(meta_save(a), 0);
	}
	/* ".x" is stored under an encoded name, never a hidden file. */
	assert_int_equal(
	    statsvc_settings_set(sv, ".x", 2, "UTC", 0, -1, -1, &err), 0);
	assert_true(exists("%2Ex.json"));
	statsvc_free(sv);

	/* A new service loads the settings and the data file beside them. */
	write_data("ann");
	sv = statsvc_new(&loop, dir);
	assert_non_null(acct_find(sv, "ann", 3));
	assert_int_equal(acct_find(sv, "ann", 3)->day_start, 4 * 3600);
	assert_string_equal(acct_find(sv, "ann", 3)->tz, "UTC");
	assert_int_equal(acct_find(sv, "ann", 3)->goal_books, 12);
	assert_int_equal(acct_find(sv, "ann", 3)->goal_minutes, 45);
	{
		const struct sv_acct *a = acct_find(sv, "ann", 3);

		/* Saved newest first, loaded back oldest first. */
		assert_int_equal(a->nhist, STATSVC_MAX_UPLOADS);
		assert_int_equal(a->hist[0].up.size, 4);
		assert_int_equal(a->hist[0].up.time, 1700000004);
		assert_null(a->hist[0].up.agent);
		assert_true(a->hist[0].accepted);
		assert_string_equal(
		    a->hist[1].up.agent, "KOReader/v2026.07 (Kobo; x)");
		assert_int_equal(a->hist[STATSVC_MAX_UPLOADS - 1].up.size,
		    STATSVC_MAX_UPLOADS + 3);
		/* Upload 5 was accepted, 6 refused. */
		assert_true(a->hist[1].accepted);
		assert_false(a->hist[2].accepted);
		/* Upload 7 was a vocabulary file. */
		assert_true(a->hist[3].vocab);
		assert_false(a->hist[4].vocab);
	}
	assert_non_null(acct_find(sv, ".x", 2));
	assert_true(statsvc_has_books(sv, "ann", 3));
	assert_true(statsvc_title(sv, "ann", 3, "aaaa", 4, &title, &authors));
	assert_string_equal(title, "Alpha");
	assert_string_equal(authors, "Ann\nBob");
	assert_false(statsvc_title(sv, "ann", 3, "aaa", 3, &title, &authors));
	assert_false(statsvc_title(sv, "ann", 3, "aaaab", 5, &title, &authors));
	assert_false(statsvc_title(sv, "ann", 3, "", 0, &title, &authors));
	assert_false(statsvc_title(sv, ".x", 2, "aaaa", 4, &title, &authors));
	statsvc_forget(sv, "ann", 3);
	assert_false(exists("ann.json"));
	assert_false(exists("ann.data"));
	assert_null(acct_find(sv, "ann", 3));
	statsvc_free(sv);

	/* A damaged data file is left out; the settings still load. */
	assert_int_equal(statsvc_settings_set(sv = statsvc_new(&loop, dir),
	                     "bo", 2, "UTC", 60, -1, -1, &err),
	    0);
	statsvc_free(sv);
	write_data("bo");
	{
		char p[128];
		int fd;

		snprintf(p, sizeof(p), "%s/stats/bo.data", dir);
		fd = open(p, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "X", 1, 20), 1);
		close(fd);
	}
	sv = statsvc_new(&loop, dir);
	assert_non_null(acct_find(sv, "bo", 2));
	assert_int_equal(acct_find(sv, "bo", 2)->day_start, 60);
	assert_false(statsvc_has_books(sv, "bo", 2));
	statsvc_free(sv);

	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	buf_release(&err);
}

/*
 * Which file found at a start is read again (rescan_needed) and which is
 * the upload already listed (rescan_is_known), by the record of the
 * upload read last.
 */
static void
test_statsvc__rescan_rules(void **state)
{
	static const struct {
		int64_t known_time;
		uint64_t known_size;
		bool has, refused;
		int64_t mtime;
		int64_t size;
		bool needed, known;
	} cases[] = {
	    /* Nothing kept of it: read (a restore, a lost stats folder). */
	    {0, 0, false, false, 100, 10, true, false},
	    /* Its data file lost, the upload listed: read, not listed again. */
	    {200, 10, false, false, 100, 10, true, true},
	    {200, 10, false, false, 200, 10, true, true},
	    /* The upload read last: nothing to do. */
	    {200, 10, true, false, 100, 10, false, true},
	    /* Refused last time, the same file: not read at each start. */
	    {200, 10, false, true, 100, 10, false, true},
	    /* Another size, or changed after it was read: read again. */
	    {200, 10, true, false, 100, 11, true, false},
	    {200, 10, true, false, 201, 10, true, false},
	    {200, 10, false, true, 201, 10, true, false},
	    /* Figures but no record of the upload: kept. */
	    {0, 0, true, false, 500, 10, false, false},
	};
	struct sv_upload known = {0, 0, NULL};
	struct stat st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&st, 0, sizeof(st));
		known.time = cases[i].known_time;
		known.size = cases[i].known_size;
		st.st_mtime = (time_t)cases[i].mtime;
		st.st_size = (off_t)cases[i].size;
		assert_int_equal(
		    rescan_needed(&known, cases[i].has, cases[i].refused, &st),
		    cases[i].needed);
		assert_int_equal(rescan_is_known(&known, &st), cases[i].known);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statsvc__encode_decode),
	    cmocka_unit_test(test_statsvc__rescan_rules),
	    cmocka_unit_test_setup_teardown(
	        test_statsvc__service, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
