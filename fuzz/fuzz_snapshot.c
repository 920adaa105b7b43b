/*
 * fuzz_snapshot.c: the database.json loader (snapshot_parse: yajl SAX
 * straight into the tables of db.c, the "config" section through
 * config_file_set), then the writer.
 *
 * Input: the text of a database.json (KOsync's schemas 0-6 or ours). When
 * it loads, the tables are written back with snapshot_write_fd (to a
 * memfd), that text must load again, and writing the second load must give
 * the same bytes: the writer's output is always loadable and one round
 * trip loses nothing more. An input of odd length loads with a history
 * limit of 2, others unbounded. The input is also parsed in chunks of
 * 1 + size % 7 bytes (as snapshot_load feeds the parser), which must give
 * the same answer and, for the written text, the same tables.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "snapshot.h"

#include "fuzz.h"

/* Write db as a snapshot and return the text in out. */
static void
write_text(const struct db *db, const struct config *cfg, struct buf *out)
{
	char chunk[65536];
	ssize_t n;
	int fd;

	fd = memfd_create("fuzz_snapshot", MFD_CLOEXEC);
	FUZZ_CHECK(fd != -1);
	FUZZ_CHECK(snapshot_write_fd(fd, db, cfg, 42) == 0);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(out, chunk, (size_t)n);
	FUZZ_CHECK(n == 0);
	close(fd);
}

/*
 * Load text into a fresh db and cfg, chunk bytes at a time (0: at once);
 * 0 or -1 (then err says why).
 */
static int
load(const char *text, size_t len, size_t chunk, struct db *db,
    struct config *cfg, unsigned limit, struct snapshot_info *info,
    struct buf *err)
{
	config_init(cfg);
	db_init(db);
	return snapshot_parse_chunks(
	    text, len, chunk ? chunk : len, NULL, NULL, db, cfg, info, err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct db db, db2;
	struct config cfg, cfg2;
	struct snapshot_info info, info2;
	struct buf err = BUF_INIT, t1 = BUF_INIT, t2 = BUF_INIT;
	unsigned limit = size % 2 ? 2 : 0;
	size_t chunk = 1 + size % 7;
	int rc;

	rc = load(
	    (const char *)data, size, chunk, &db2, &cfg2, limit, &info2, &err);
	db_release(&db2);
	config_release(&cfg2);
	buf_reset(&err);
	if (load((const char *)data, size, 0, &db, &cfg, limit, &info, &err) ==
	    0) {
		FUZZ_CHECK(rc == 0);
		write_text(&db, &cfg, &t1);
		buf_reset(&err);
		if (load(t1.data, t1.len, chunk, &db2, &cfg2, limit, &info2,
		        &err) != 0) {
			fprintf(stderr,
			    "written snapshot does not load: %s\n%s", err.data,
			    t1.data);
			abort();
		}
		FUZZ_CHECK(info2.schema == SNAPSHOT_SCHEMA);
		FUZZ_CHECK(info2.journal_seq == 42);
		FUZZ_CHECK(info2.users == info.users);
		write_text(&db2, &cfg2, &t2);
		if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len) != 0) {
			fprintf(stderr,
			    "snapshot changes on a second round "
			    "trip:\n--- first\n%s--- second\n%s",
			    t1.data, t2.data);
			abort();
		}
		db_release(&db2);
		config_release(&cfg2);
	} else {
		FUZZ_CHECK(rc != 0);
		FUZZ_CHECK(err.len > 0);
	}
	db_release(&db);
	config_release(&cfg);
	buf_release(&err);
	buf_release(&t1);
	buf_release(&t2);
	return 0;
}
