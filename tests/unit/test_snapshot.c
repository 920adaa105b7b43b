/*
 * test_snapshot.c: loading KOsync's database.json of every schema 0..6
 * (tests/data/kosync-schema*.json, including the seed's schema 1 example
 * and the quirks of docs/protocol.md §7.2/§9.23), our own snapshot round
 * trip, errors that name the offset, the same result parsed in chunks of any
 * size, atomic save, PEM backups, and device names (bounds at load).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "db.h"
#include "pem.h"
#include "snapshot.h"

/* The history setting the tests' changes apply with. */
static struct db_history hs;

#ifndef DATA
#define DATA "tests/data/"
#endif

struct loaded {
	struct db db;
	struct config cfg;
	struct snapshot_info info;
	struct buf raw;
};

static void
load(struct loaded *l, const char *file)
{
	struct buf err = BUF_INIT;
	int rc;

	db_init(&l->db);
	hs = (struct db_history){false, 0, 0};
	config_init(&l->cfg);
	buf_init(&l->raw);
	rc = snapshot_load(file, &l->raw, &l->db, &l->cfg, &l->info, &err);
	if (rc != 0)
		fail_msg("%s", err.data);
	buf_release(&err);
}

static void
unload(struct loaded *l)
{
	db_release(&l->db);
	config_release(&l->cfg);
	buf_release(&l->raw);
}

static const struct db_doc *
doc(const struct loaded *l, const char *user, const char *id)
{
	const struct db_user *u = db_user_find(&l->db, str_from(user));

	assert_non_null(u);
	return db_doc_find(u, str_from(id));
}

#define DOC1 "0123456789abcdef0123456789abcdef"

static void
test_snapshot__kosync_schema0(void **state)
{
	struct loaded l;
	const struct db_doc *d;

	(void)state;
	load(&l, DATA "kosync-schema0.json");
	assert_int_equal(l.info.schema, 0);
	assert_int_equal(l.info.users, 2);
	assert_int_equal(l.info.documents, 1);
	assert_int_equal(l.info.legacy_keys, 2);
	d = doc(&l, "alice", DOC1);
	assert_non_null(d);
	assert_true(d->percentage == 0.1);
	assert_int_equal(d->timestamp, 1700000003);
	assert_string_equal(db_doc_field(d, DB_F_DEVICE_ID), "K0B0");
	assert_string_equal(db_user_find(&l.db, str_from("alice"))->key,
	    "80becab8303c51d6e8a10054f862f9f9");
	assert_int_equal(db_user_find(&l.db, str_from("bob"))->docs.n, 0);
	unload(&l);
}

static void
test_snapshot__seed_schema1_bare_history(void **state)
{
	struct loaded l;
	const struct db_doc *d;

	(void)state;
	load(&l, DATA "kosync-schema1.json");
	assert_int_equal(l.info.schema, 1);
	d = doc(&l, "<username>", "<filehash>");
	assert_non_null(d);
	assert_true(d->percentage == 0.10);
	assert_int_equal(d->timestamp, 3);
	assert_non_null(d->history);
	assert_int_equal(d->history->n, 2);
	assert_true(d->history->e[0]->percentage == 0.02);
	assert_int_equal(d->history->e[1]->timestamp, 2);
	assert_string_equal(db_entry_progress(d->history->e[1]),
	    "/body/DocFragment[1]/body/section/p[110]/text().0");
	unload(&l);
}

static void
test_snapshot__every_kosync_schema(void **state)
{
	static const double pct[] = {
	    0.1, 0.1, 0.25, 0.5, 0.75, 0.9, 0.33333334};
	char file[64];
	struct loaded l;
	const struct db_doc *d;
	int s;

	(void)state;
	for (s = 0; s <= 6; s++) {
		snprintf(file, sizeof(file), DATA "kosync-schema%d.json", s);
		load(&l, file);
		assert_int_equal(l.info.schema, s);
		if (s != 1) {
			d = doc(&l, "alice", DOC1);
			assert_non_null(d);
			assert_true(d->percentage == pct[s]);
		}
		unload(&l);
	}
}

static void
test_snapshot__kosync_quirks(void **state)
{
	struct loaded l;
	const struct db_doc *d;

	(void)state;
	load(&l, DATA "kosync-schema2.json");
	d = doc(&l, "alice", DOC1);
	/* The zero-valued first entry KOsync writes is dropped. */
	assert_int_equal(d->history->n, 1);
	assert_int_equal(d->history->e[0]->timestamp, 1700000010);
	assert_true(l.cfg.store_history);
	unload(&l);

	load(&l, DATA "kosync-schema6.json");
	assert_int_equal(l.info.users, 3);
	assert_non_null(db_user_find(&l.db, str_from("")));
	assert_non_null(db_user_find(&l.db, str_from("carol")));
	d = doc(&l, "alice", DOC1);
	assert_string_equal(db_doc_field(d, DB_F_PRETTY_NAME), "Moby Dick");
	assert_string_equal(db_doc_field(d, DB_F_DEVICE), "Kobo <Libra>");
	assert_int_equal(d->history->n, 1);
	assert_null(doc(&l, "alice", DOC1)->devices);
	assert_true(l.cfg.enable_webui);
	unload(&l);
}

static char *
write_to_string(const struct db *db, const struct config *cfg, size_t *len)
{
	FILE *f = tmpfile();
	char *s;
	long n;

	assert_non_null(f);
	assert_int_equal(snapshot_write_fd(fileno(f), db, cfg, 42), 0);
	n = ftell(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return s;
}

/*
 * Device names (docs/database.md): "device_names" and "devices_forgotten"
 * load, entries out of bounds or of another type are skipped, and a
 * snapshot writes back what was loaded.
 */
static void
test_snapshot__device_names(void **state)
{
	static const char json[] =
	    "{\"schema\":7,\"users\":{\"ann\":{\"password\":\"k\","
	    "\"device_names\":{\"abc\":\"Bedside\",\"long\":"
	    "\"1234567890123456789012345678901234567890123456789012345678901234"
	    "5"
	    "\",\"num\":5,\"obj\":{\"a\":\"b\"},\"empty\":\"\"},"
	    "\"devices_forgotten\":{\"abc\":1700000000,\"old\":1700000001,"
	    "\"neg\":-1,\"str\":\"1\",\"frac\":1.5},"
	    "\"documents\":{}}}}";
	char path[] = "/tmp/test_snapshot.XXXXXX";
	const struct db_devname *e;
	const struct db_user *u;
	struct loaded l, again;
	size_t len;
	char *out;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(
	    fwrite(json, 1, sizeof(json) - 1, f), sizeof(json) - 1);
	assert_int_equal(fclose(f), 0);
	load(&l, path);
	u = db_user_find(&l.db, str_from("ann"));
	assert_non_null(u);
	assert_int_equal(u->ndevnames, 2);
	e = db_devname_find(u, str_from("abc"));
	assert_non_null(e);
	assert_string_equal(e->name, "Bedside");
	assert_int_equal(e->forgotten, 1700000000);
	e = db_devname_find(u, str_from("old"));
	assert_non_null(e);
	assert_string_equal(e->name, "");
	assert_int_equal(e->forgotten, 1700000001);

	out = write_to_string(&l.db, &l.cfg, &len);
	assert_non_null(strstr(out, "\"device_names\""));
	assert_non_null(strstr(out, "\"devices_forgotten\""));
	assert_null(strstr(out, "\"long\""));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(out, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	load(&again, path);
	u = db_user_find(&again.db, str_from("ann"));
	assert_non_null(u);
	assert_int_equal(u->ndevnames, 2);
	assert_int_equal(
	    db_devname_find(u, str_from("old"))->forgotten, 1700000001);
	assert_string_equal(
	    db_devname_find(u, str_from("abc"))->name, "Bedside");
	free(out);
	unload(&again);
	unload(&l);
	unlink(path);
}

static void
test_snapshot__round_trip(void **state)
{
	struct loaded l;
	struct db db2;
	struct config cfg2;
	struct snapshot_info info;
	struct buf err = BUF_INIT;
	struct db_put p;
	char *a, *b;
	size_t alen, blen;
	struct db_user *u;
	int i;

	(void)state;
	load(&l, DATA "kosync-schema6.json");
	/* Give one document metadata and another device's position. */
	u = db_user_find(&l.db, str_from("alice"));
	memset(&p, 0, sizeof(p));
	p.document = str_from(DOC1);
	p.percentage = 0.4;
	p.timestamp = 1700000070;
	p.progress = str_from("/p[5]");
	p.device = str_from("Kindle");
	p.device_id = str_from("KND");
	p.title = str_from("Moby \"Dick\"");
	p.authors = str_from("Herman Melville");
	db_put(&l.db, u, &p, &hs);
	u->admin = true;
	/* Device credentials: a used one, a revoked one; devices_only. */
	db_devcred_used(
	    db_devcred_add(u, str_from("k1"), str_from("Kobo \"L2\""),
	        str_from("$argon2id$x"), 1700000001),
	    1700000002, str_from("127.0.0.1"), str_from("KOReader/1"),
	    str_from("Kobo"), str_from("K1"));
	for (i = 0; i < DB_AUDIT_MAX + 2; i++)
		(void)db_devcred_audit(&u->devcreds[0], 1700000010 + 100 * i,
		    (uint8_t)(i % DB_AUDIT_WHATS), str_from("127.0.0.1"),
		    str_from("KOReader \"1\""),
		    i % 2 ? str_from("d\xc3\xa9") : STR_NULL);
	(void)db_devcred_add(
	    u, str_from("r2"), str_from("Boox"), STR_NULL, 1700000003);
	u->devices_only = true;
	/* Events out: the webhooks' text (with quotes) and the feed token. */
	db_user_set_events(u, false, str_from("[{\"id\":\"h1\"}]"));
	db_user_set_events(u, true, str_from("0123456789abcdef"));
	a = write_to_string(&l.db, &l.cfg, &alen);
	assert_non_null(strstr(a, "\"admin\": true"));
	assert_non_null(strstr(a, "\"device_credentials\""));
	assert_non_null(strstr(a, "\"schema\": 7,\n"));
	assert_non_null(strstr(a, "\"journal_seq\": 42"));
	assert_non_null(strstr(a, "\"title\": \"Moby \\\"Dick\\\"\""));

	db_init(&db2);
	hs = (struct db_history){false, 0, 0};
	config_init(&cfg2);
	assert_int_equal(snapshot_parse(a, alen, &db2, &cfg2, &info, &err), 0);
	assert_int_equal(info.schema, 7);
	assert_int_equal(info.journal_seq, 42);
	b = write_to_string(&db2, &cfg2, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	u = db_user_find(&db2, str_from("alice"));
	assert_true(u->admin);
	assert_true(u->devices_only);
	assert_string_equal(u->webhooks, "[{\"id\":\"h1\"}]");
	assert_string_equal(u->feed, "0123456789abcdef");
	assert_int_equal(u->ndevcreds, 2);
	assert_string_equal(u->devcreds[0].label, "Kobo \"L2\"");
	assert_string_equal(u->devcreds[0].key, "$argon2id$x");
	assert_int_equal(u->devcreds[0].used, 1700000002);
	assert_string_equal(u->devcreds[0].used_device_id, "K1");
	assert_null(u->devcreds[1].key);
	assert_int_equal(u->devcreds[1].created, 1700000003);
	/* The audit: the newest DB_AUDIT_MAX, in order, as written. */
	assert_int_equal(u->devcreds[0].naudit, DB_AUDIT_MAX);
	assert_int_equal(db_devcred_audit_at(&u->devcreds[0], 0)->time,
	    1700000010 + 100 * (DB_AUDIT_MAX + 1));
	assert_string_equal(
	    db_devcred_audit_at(&u->devcreds[0], 0)->document, "d\xc3\xa9");
	assert_null(db_devcred_audit_at(&u->devcreds[0], 1)->document);
	assert_int_equal(
	    db_devcred_audit_at(&u->devcreds[0], DB_AUDIT_MAX - 1)->time,
	    1700000010 + 100 * 2);
	assert_int_equal(u->devcreds[1].naudit, 0);
	assert_non_null(db_doc_find(u, str_from(DOC1))->devices);
	assert_int_equal(db_doc_find(u, str_from(DOC1))->devices->n, 1);
	free(a);
	free(b);
	db_release(&db2);
	config_release(&cfg2);
	buf_release(&err);
	unload(&l);
}

static void
test_snapshot__errors_name_offset(void **state)
{
	static const char *bad[] = {
	    "{\"schema\": 6, \"users\": {\"a\": {\"password\": \"x\"",
	    "[1, 2]",
	    "{\"schema\": 6, \"users\": {}} garbage",
	    /* yajl alone takes this for an object and a string to come */
	    "{\"users\": {}} \"abc",
	    "{\"config\": {\"listen_address\": \"not an address\"}}",
	};
	struct db db;
	struct config cfg;
	struct snapshot_info info;
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		db_init(&db);
		hs = (struct db_history){false, 0, 0};
		config_init(&cfg);
		buf_reset(&err);
		assert_int_equal(snapshot_parse(bad[i], strlen(bad[i]), &db,
		                     &cfg, &info, &err),
		    -1);
		if (i < 4)
			assert_non_null(strstr(err.data, "offset"));
		else
			assert_non_null(strstr(err.data, "listen_address"));
		db_release(&db);
		config_release(&cfg);
	}
	buf_release(&err);
}

/* parsed callback: upto only grows, and ends at the text's length. */
static void
note_parsed(void *arg, size_t upto)
{
	size_t *last = arg;

	assert_true(upto > *last);
	*last = upto;
}

static void
test_snapshot__chunks_same_result(void **state)
{
	static const char *files[] = {DATA "kosync-schema0.json",
	    DATA "kosync-schema1.json", DATA "kosync-schema3.json",
	    DATA "kosync-schema6.json"};
	static const size_t chunks[] = {1, 2, 7, 64, 4096};
	static const char *bad[] = {
	    "{\"schema\": 6, \"users\": {}} garbage",
	    "{\"users\": {}} \"abc",
	    "{\"schema\": 6, \"users\": {\"a\": {\"password\": \"x\"",
	    "{\"schema\": 6, \"users\": {\"a\": [}}",
	};
	struct loaded l;
	struct db db;
	struct config cfg;
	struct snapshot_info info;
	struct buf err = BUF_INIT, err1 = BUF_INIT;
	char *whole, *part;
	size_t wlen, plen, i, j, last;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		load(&l, files[i]);
		whole = write_to_string(&l.db, &l.cfg, &wlen);
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			db_init(&db);
			hs = (struct db_history){false, 0, 0};
			config_init(&cfg);
			last = 0;
			assert_int_equal(snapshot_parse_chunks(l.raw.data,
			                     l.raw.len, chunks[j], note_parsed,
			                     &last, &db, &cfg, &info, &err),
			    0);
			assert_int_equal(last, l.raw.len);
			part = write_to_string(&db, &cfg, &plen);
			assert_int_equal(plen, wlen);
			assert_memory_equal(part, whole, wlen);
			free(part);
			db_release(&db);
			config_release(&cfg);
		}
		free(whole);
		unload(&l);
	}
	/* Errors: the same message, the same offset, chunked or not. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			db_init(&db);
			hs = (struct db_history){false, 0, 0};
			config_init(&cfg);
			buf_reset(&err);
			buf_reset(&err1);
			assert_int_equal(snapshot_parse(bad[i], strlen(bad[i]),
			                     &db, &cfg, &info, &err1),
			    -1);
			db_release(&db);
			db_init(&db);
			hs = (struct db_history){false, 0, 0};
			assert_int_equal(
			    snapshot_parse_chunks(bad[i], strlen(bad[i]),
			        chunks[j], NULL, NULL, &db, &cfg, &info, &err),
			    -1);
			assert_string_equal(err.data, err1.data);
			db_release(&db);
			config_release(&cfg);
		}
	}
	buf_release(&err);
	buf_release(&err1);
}

static void
test_snapshot__save_and_backup(void **state)
{
	char dir[] = "/tmp/kosyncd-test-snap.XXXXXX", cmd[128];
	struct loaded l;
	struct buf err = BUF_INIT, text = BUF_INIT;
	struct stat st;
	struct pem_block blk;
	const char *perr;
	char *path = NULL, *path2 = NULL;
	FILE *f;
	char chunk[4096];
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	load(&l, DATA "kosync-schema6.json");
	assert_int_equal(snapshot_save(dir, &l.db, &l.cfg, 7, &st, &err), 0);
	assert_true(st.st_size > 100);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(
	    snapshot_backup(dir, l.raw.data, l.raw.len, 6, &path, &err), 0);
	assert_int_equal(
	    snapshot_backup(dir, l.raw.data, l.raw.len, 6, &path2, &err), 0);
	assert_string_not_equal(path, path2);
	f = fopen(path, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&text, chunk, n);
	fclose(f);
	memset(&blk, 0, sizeof(blk));
	assert_int_equal(pem_decode(text.data, text.len, &blk, &perr), 0);
	assert_string_equal(pem_header_get(&blk, "Schema"), "6");
	assert_string_equal(pem_header_get(&blk, "App"), "kosyncd");
	assert_string_equal(
	    pem_header_get(&blk, "Content-Type"), "application/json");
	assert_int_equal(blk.payload.len, l.raw.len);
	assert_memory_equal(blk.payload.data, l.raw.data, l.raw.len);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	pem_block_release(&blk);
	free(path);
	free(path2);
	buf_release(&text);
	buf_release(&err);
	unload(&l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_snapshot__numbers_read_as_strtod(void **state)
{
	static const char *forms[] = {"0", "1", "0.1", "0.4213", "0.33333334",
	    "0.000001", "123456789012345", "1234567890123456", "1e-3", "2.5E2",
	    "-0.5", "0.99999999999999999", "1790006348"};
	char text[256], num[64];
	struct db db;
	struct snapshot_info info;
	struct buf err = BUF_INIT;
	const struct db_doc *d;
	size_t i;
	int r;

	(void)state;
	srand(7);
	for (i = 0; i < 2000; i++) {
		if (i < sizeof(forms) / sizeof(forms[0]))
			snprintf(num, sizeof(num), "%s", forms[i]);
		else if (i % 2)
			snprintf(num, sizeof(num), "%.*f", (int)(i % 12),
			    (double)rand() / RAND_MAX);
		else
			snprintf(num, sizeof(num), "%.*g", 1 + (int)(i % 17),
			    (double)rand() / RAND_MAX);
		snprintf(text, sizeof(text),
		    "{\"users\": {\"u\": {\"documents\": {\"d\": "
		    "{\"percentage\": %s, \"timestamp\": 1790006348}}}}}",
		    num);
		db_init(&db);
		hs = (struct db_history){false, 0, 0};
		r = snapshot_parse(text, strlen(text), &db, NULL, &info, &err);
		assert_int_equal(r, 0);
		d = db_doc_find(
		    db_user_find(&db, str_from("u")), str_from("d"));
		assert_non_null(d);
		if (d->percentage != strtod(num, NULL))
			fail_msg("'%s' read as %.17g", num, d->percentage);
		assert_int_equal(d->timestamp, 1790006348);
		db_release(&db);
	}
	buf_release(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snapshot__kosync_schema0),
	    cmocka_unit_test(test_snapshot__seed_schema1_bare_history),
	    cmocka_unit_test(test_snapshot__every_kosync_schema),
	    cmocka_unit_test(test_snapshot__kosync_quirks),
	    cmocka_unit_test(test_snapshot__round_trip),
	    cmocka_unit_test(test_snapshot__device_names),
	    cmocka_unit_test(test_snapshot__errors_name_offset),
	    cmocka_unit_test(test_snapshot__chunks_same_result),
	    cmocka_unit_test(test_snapshot__save_and_backup),
	    cmocka_unit_test(test_snapshot__numbers_read_as_strtod),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
