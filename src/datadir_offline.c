/*
 * datadir_offline.c: offline operations on a data directory (see
 * datadir_offline.h): backup, restore, check, compact, salvage.
 *
 * Each loads the directory with datadir.c's loader, the one a start uses
 * (datadir_load, in the mode the operation needs), into private tables
 * and a private configuration (so the file's config section is written
 * back exactly as the file had it). Unlike a start, loading migrates
 * nothing and retires no option: check and salvage work on a directory a
 * start would refuse, and check changes nothing. Nothing here runs while
 * a kosyncd serves the directory.
 *
 * Damage in the journal with intact records after it (not a torn tail)
 * stops backup, restore and compact, as it stops a start: they would lose
 * those records. check describes it; salvage replays every intact record,
 * saves the damaged bytes beside the journal and compacts.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "datadir_offline.h"
#include "davfs.h"
#include "db.h"
#include "fileio.h"
#include "filestore.h"
#include "keyhash.h"
#include "log.h"
#include "pem.h"
#include "snapshot.h"
#include "xmalloc.h"

/* An offline command's data directory, loaded (datadir_load). */
struct offline {
	struct datadir_load l;
	struct db db;
	struct config cfg; /* what database.json says */
	struct buf report;
};

/* Make o safe to release, whatever happens next. */
static void
offline_init(
    const struct config *cfg, struct offline *o, enum datadir_load_mode mode)
{
	db_init(&o->db);
	config_init(&o->cfg);
	buf_init(&o->report);
	datadir_load_init(&o->l, mode, cfg->data_dir ? cfg->data_dir : "./data",
	    &o->db, &o->cfg, cfg, &o->report);
}

static void
offline_release(struct offline *o)
{
	datadir_load_release(&o->l);
	db_release(&o->db);
	config_release(&o->cfg);
	buf_release(&o->report);
}

/*
 * Load the data directory as mode says (datadir.c's loader, which a start
 * uses too): private tables and a private configuration, so the file's
 * config section is written back exactly as the file had it. Returns 0 or
 * -1 (logged, and in o->report).
 */
static int
offline_load(
    const struct config *cfg, struct offline *o, enum datadir_load_mode mode)
{
	offline_init(cfg, o, mode);
	return datadir_load(&o->l);
}

/* The current state as our newest schema, in memory. */
static int
render(struct offline *o, struct buf *out)
{
	FILE *f = tmpfile();
	char chunk[65536];
	size_t n;
	int rc = -1;

	if (f == NULL) {
		log_warn("cannot create a temporary file");
		return -1;
	}
	if (snapshot_write_fd(fileno(f), &o->db, &o->cfg, o->l.last_seq) != 0) {
		log_warn("cannot write a temporary file");
		goto out;
	}
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	rc = ferror(f) ? -1 : 0;
out:
	fclose(f);
	return rc;
}

int
datadir_offline_files_backup(const char *data_dir, const char *pem_path)
{
	struct buf dest = BUF_INIT;
	int rc;

	buf_addf(&dest, "%s" DATADIR_OFFLINE_FILES, pem_path);
	rc = davfs_backup(data_dir, dest.data);
	if (rc != 0)
		log_warn("cannot back up the WebDAV files to '%s'", dest.data);
	buf_release(&dest);
	return rc;
}

/*
 * Write the PEM backup of o's state (json) and its WebDAV files beside it;
 * *path_out (if not NULL) gets the PEM's path. 0 or -1 (logged).
 */
static int
backup_all(struct offline *o, const struct buf *json, char **path_out)
{
	struct buf err = BUF_INIT;
	char *path = NULL;
	int rc = -1;

	if (snapshot_backup(o->l.dir, json->data, json->len, SNAPSHOT_SCHEMA,
	        &path, &err) != 0) {
		log_warnx("%s", err.data);
		goto out;
	}
	if (datadir_offline_files_backup(o->l.dir, path) != 0) {
		(void)unlink(path);
		goto out;
	}
	rc = 0;
	if (path_out != NULL) {
		*path_out = path;
		path = NULL;
	}
out:
	free(path);
	buf_release(&err);
	return rc;
}

int
datadir_offline_backup(const struct config *cfg, char **path_out)
{
	struct offline o;
	struct buf json = BUF_INIT;
	int rc = -1;

	if (offline_load(cfg, &o, DATADIR_LOAD_STRICT) != 0)
		goto out;
	if (render(&o, &json) != 0)
		goto out;
	if (backup_all(&o, &json, path_out) != 0)
		goto out;
	rc = 0;
out:
	buf_release(&json);
	offline_release(&o);
	return rc;
}

/* Read and check a backup; its JSON payload goes to json. 0 or -1. */
static int
read_backup(const char *pem_path, struct buf *json)
{
	struct buf text = BUF_INIT, err = BUF_INIT;
	struct pem_block blk;
	struct db db;
	struct config cfg;
	struct snapshot_info info;
	const char *why, *ct;
	int rc = -1;

	memset(&blk, 0, sizeof(blk));
	db_init(&db);
	config_init(&cfg);
	if (snapshot_read(pem_path, &text, &err) != 0) {
		log_warnx("%s", err.data);
		goto out;
	}
	if (pem_decode(text.data, text.len, &blk, &why) != 0) {
		log_warnx(
		    "'%s' is not a KOSYNC BACKUP PEM file: %s", pem_path, why);
		goto out;
	}
	if (blk.type == NULL || strcmp(blk.type, PEM_TYPE) != 0) {
		log_warnx("'%s' is a PEM block of type '%s', not '%s'",
		    pem_path, blk.type ? blk.type : "", PEM_TYPE);
		goto out;
	}
	ct = pem_header_get(&blk, "Content-Type");
	if (ct != NULL && strstr(ct, "msgpack") != NULL) {
		log_warnx("'%s' is a KOsync backup in msgpack, which kosyncd "
		          "cannot read: restore it with KOsync (kosync "
		          "--restore '%s'), then start kosyncd on the "
		          "database.json KOsync wrote",
		    pem_path, pem_path);
		goto out;
	}
	if (ct == NULL || strcmp(ct, "application/json") != 0) {
		log_warnx("'%s' has Content-Type '%s'; only application/json "
		          "backups can be restored",
		    pem_path, ct ? ct : "(none)");
		goto out;
	}
	if (snapshot_parse(blk.payload.data, blk.payload.len, &db, &cfg, &info,
	        &err) != 0) {
		log_warnx("the database in '%s' cannot be read: %s", pem_path,
		    err.data);
		goto out;
	}
	if (info.schema > SNAPSHOT_SCHEMA) {
		log_warnx("the database in '%s' has schema %lld, newer than "
		          "this kosyncd knows (%d)",
		    pem_path, (long long)info.schema, SNAPSHOT_SCHEMA);
		goto out;
	}
	buf_add(json, blk.payload.data, blk.payload.len);
	rc = 0;
out:
	pem_block_release(&blk);
	db_release(&db);
	config_release(&cfg);
	buf_release(&text);
	buf_release(&err);
	return rc;
}

int
datadir_offline_restore(const struct config *cfg, const char *pem_path,
    char **saved_out, bool *files_out)
{
	struct offline o;
	struct buf json = BUF_INIT, cur = BUF_INIT, err = BUF_INIT;
	struct buf trees = BUF_INIT;
	struct stat st;
	bool files = false;
	char **journals;
	size_t n, i;
	int rc = -1;

	if (saved_out != NULL)
		*saved_out = NULL;
	if (files_out != NULL)
		*files_out = false;
	if (read_backup(pem_path, &json) != 0) {
		offline_init(cfg, &o, DATADIR_LOAD_STRICT);
		goto out;
	}
	if (offline_load(cfg, &o, DATADIR_LOAD_STRICT) != 0)
		goto out;
	/* Keep what is there now, so a restore can be undone. */
	if (!o.l.info.fresh || o.l.replayed > 0) {
		if (render(&o, &cur) != 0 ||
		    backup_all(&o, &cur, saved_out) != 0) {
			log_warnx(
			    "the current state is not saved; not restoring");
			goto out;
		}
	}
	/*
	 * The backup's WebDAV files (a folder beside it), copied first: a
	 * failure there changes nothing. Without that folder (a backup of
	 * an older kosyncd, or of KOsync) the files are left as they are.
	 */
	buf_addf(&trees, "%s" DATADIR_OFFLINE_FILES, pem_path);
	if (stat(trees.data, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (davfs_restore_stage(o.l.dir, trees.data) != 0) {
			log_warn("cannot copy the WebDAV files of '%s'; "
			         "not restoring",
			    trees.data);
			goto out;
		}
		files = true;
	}
	if (snapshot_replace(o.l.dir, json.data, json.len, &err) != 0) {
		log_warnx("%s", err.data);
		if (files)
			davfs_restore_abort(o.l.dir);
		goto out;
	}
	/* The journal belongs to the state just replaced. */
	journals = datadir_journals(o.l.dir, &n);
	for (i = 0; i < n; i++)
		if (unlink(journals[i]) != 0)
			log_warn("cannot remove journal '%s'", journals[i]);
	datadir_journals_free(journals, n);
	(void)fileio_fsync_dir(o.l.dir);
	/* Each account's tree in one step: its old one or the backup's. */
	if (files && davfs_restore_commit(o.l.dir) != 0)
		log_warn("not every account's WebDAV files were restored "
		         "(those not restored are as they were)");
	if (files_out != NULL)
		*files_out = files;
	rc = 0;
out:
	buf_release(&trees);
	buf_release(&json);
	buf_release(&cur);
	buf_release(&err);
	offline_release(&o);
	return rc;
}

/* What check_tree learns of the WebDAV trees. */
struct tree_check {
	const struct db *db;
	uint64_t quota;
	struct buf *out;
	uint64_t trees, bytes, entries;
	bool unreadable;
};

/* One line (or a few) per tree of <data_dir>/dav, for check. */
static void
check_tree(void *arg, struct str user, int dirfd)
{
	struct tree_check *c = arg;
	struct davfs_tally t;
	int n = (int)user.len;

	if (dirfd == -1) {
		buf_addf(c->out,
		    "webdav: '%.*s' is not an account's folder (removed at "
		    "the next start)\n",
		    n, user.p);
		return;
	}
	if (davfs_survey(dirfd, &t) != 0) {
		buf_addf(c->out, "webdav: '%.*s': cannot read the tree: %s\n",
		    n, user.p, strerror(errno));
		c->unreadable = true;
		return;
	}
	c->trees++;
	c->bytes += t.bytes;
	c->entries += t.entries;
	buf_addf(c->out,
	    "webdav: '%.*s': %llu bytes in %llu files and folders (quota "
	    "%llu)\n",
	    n, user.p, (unsigned long long)t.bytes,
	    (unsigned long long)t.entries, (unsigned long long)c->quota);
	if (c->db != NULL && db_user_find(c->db, user) == NULL)
		buf_addf(c->out,
		    "webdav: '%.*s': no such account (its files are removed "
		    "at the next start)\n",
		    n, user.p);
	if (t.bytes > c->quota)
		buf_addf(c->out,
		    "webdav: '%.*s': over the quota (uploads get 507 until "
		    "files are removed)\n",
		    n, user.p);
	if (t.temps > 0)
		buf_addf(c->out,
		    "webdav: '%.*s': %llu temporary files (%llu bytes) of "
		    "uploads in progress or cut off (a day old, they are "
		    "removed by the next upload into their folder)\n",
		    n, user.p, (unsigned long long)t.temps,
		    (unsigned long long)t.temp_bytes);
}

int
datadir_offline_check(const struct config *cfg, struct buf *out)
{
	struct offline o;
	struct tree_check c;
	int rc;

	rc = offline_load(cfg, &o, DATADIR_LOAD_CHECK);
	buf_add(out, o.report.data, o.report.len);
	if (rc == 0 && o.l.damaged)
		rc = -1;
	/* The WebDAV trees, read as they are (a server may be running). */
	memset(&c, 0, sizeof(c));
	c.db = rc == 0 ? &o.db : NULL; /* accounts known */
	c.quota = cfg->dav_quota_bytes;
	c.out = out;
	if (davfs_each_root(o.l.dir, check_tree, &c) != 0) {
		buf_addf(out, "webdav: cannot read '%s/dav': %s\n", o.l.dir,
		    strerror(errno));
		c.unreadable = true;
	}
	buf_addf(out, "webdav: %llu account trees, %llu bytes\n",
	    (unsigned long long)c.trees, (unsigned long long)c.bytes);
	if (c.unreadable)
		rc = -1;
	buf_adds(out, rc == 0 ? "ok\n" : "problems found\n");
	offline_release(&o);
	return rc;
}

/*
 * Write the loaded state as a new database.json (migrating it, with a
 * backup first, when it is older than our schema) and remove the journal.
 * Returns 0 or -1 (logged).
 */
static int
compact_loaded(struct offline *o)
{
	struct buf raw = BUF_INIT, err = BUF_INIT;
	char **keys = NULL;
	struct db_user **users = NULL, *u;
	char **files;
	size_t n = 0, i;
	uint32_t pos = 0;
	long ncpu;
	int rc = -1;

	if (!o->l.info.fresh &&
	    (o->l.info.schema < SNAPSHOT_SCHEMA || o->l.info.legacy_keys > 0)) {
		if (snapshot_read(o->l.db_path, &raw, &err) != 0 ||
		    snapshot_backup(o->l.dir, raw.data, raw.len,
		        o->l.info.schema, NULL, &err) != 0) {
			log_warnx("%s; not compacting", err.data);
			goto out;
		}
		users = xmalloc((o->db.users.n + 1) * sizeof(struct db_user *));
		keys = xmalloc((o->db.users.n + 1) * sizeof(*keys));
		while ((u = table_next(&o->db.users, &pos)) != NULL) {
			if (u->key[0] == '\0' || keyhash_is_phc(u->key))
				continue;
			users[n] = u;
			keys[n++] = u->key;
		}
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		if (keyhash_hash_many(keys, n, ncpu > 0 ? (unsigned)ncpu : 1) !=
		    0)
			log_warnx("cannot hash every key; some stay as they "
			          "were");
		for (i = 0; i < n; i++)
			users[i]->key = keys[i];
	}
	if (snapshot_save(
	        o->l.dir, &o->db, &o->cfg, o->l.last_seq, NULL, &err) != 0) {
		log_warnx("%s", err.data);
		goto out;
	}
	files = datadir_journals(o->l.dir, &n);
	for (i = 0; i < n; i++)
		if (unlink(files[i]) != 0)
			log_warn("cannot remove journal '%s'", files[i]);
	datadir_journals_free(files, n);
	(void)fileio_fsync_dir(o->l.dir);
	rc = 0;
out:
	free(users);
	free(keys);
	buf_release(&raw);
	buf_release(&err);
	return rc;
}

int
datadir_offline_compact(const struct config *cfg)
{
	struct offline o;
	int rc = -1;

	if (offline_load(cfg, &o, DATADIR_LOAD_STRICT) == 0)
		rc = compact_loaded(&o);
	offline_release(&o);
	return rc;
}

/*
 * Write len bytes to a new file at path (mode 0600: they may hold account
 * keys) and sync it. Returns 0 or -1 with the reason in err.
 */
static int
write_side_file(const char *path, const char *data, size_t len, struct buf *err)
{
	const char *op;

	if (fileio_write_new(path, data, len, &op) == 0)
		return 0;
	buf_addf(err, "cannot %s '%s': %s",
	    strcmp(op, "create") == 0 ? "create" : "write", path,
	    strerror(errno));
	return -1;
}

int
datadir_offline_salvage(const struct config *cfg, struct buf *out)
{
	struct offline o;
	struct buf path = BUF_INIT, err = BUF_INIT;
	struct datadir_salvaged *s;
	size_t i;
	int rc = -1;

	if (offline_load(cfg, &o, DATADIR_LOAD_SALVAGE) != 0)
		goto out;
	if (!o.l.damaged) {
		buf_adds(&o.report, "nothing to salvage; nothing changed\n");
		rc = 0;
		goto out;
	}
	/* The damaged bytes are safe on disk before the journal goes. */
	for (i = 0; i < o.l.nsalv; i++) {
		s = &o.l.salv[i];
		if (s->bytes.len == 0)
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s.damaged.%lld", s->journal,
		    (long long)time(NULL));
		if (write_side_file(
		        path.data, s->bytes.data, s->bytes.len, &err) != 0) {
			buf_addf(&o.report, "%s; nothing changed\n", err.data);
			log_warnx("%s", err.data);
			goto out;
		}
		buf_addf(&o.report,
		    "%s: the %zu damaged bytes are saved in '%s'\n", s->journal,
		    s->bytes.len, path.data);
	}
	(void)fileio_fsync_dir(o.l.dir);
	if (compact_loaded(&o) != 0) {
		buf_adds(&o.report, "cannot write database.json; the journal "
		                    "is left as it was\n");
		goto out;
	}
	buf_addf(&o.report,
	    "%s now holds every intact record (up to record %llu); the "
	    "journal was removed\n",
	    o.l.db_path, (unsigned long long)o.l.last_seq);
	rc = 0;
out:
	buf_add(out, o.report.data, o.report.len);
	buf_release(&path);
	buf_release(&err);
	offline_release(&o);
	return rc;
}
