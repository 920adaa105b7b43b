/*
 * datadir_offline.c: offline operations on a data directory (see
 * datadir_offline.h): backup, restore, check, compact.
 *
 * They share one loader: take the lock, load database.json into private
 * tables and a private configuration (so the file's config section is
 * written back exactly as the file had it), replay the journal. Nothing
 * here runs while a kosyncd serves the directory.
 *
 * Damage in the journal with intact records after it (not a torn tail)
 * stops backup, restore and compact, as it stops a start: they would lose
 * those records. check describes it; salvage replays every intact record,
 * saves the damaged bytes beside the journal and compacts.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "change.h"
#include "config.h"
#include "datadir_offline.h"
#include "db.h"
#include "fileio.h"
#include "filestore.h"
#include "journal.h"
#include "keyhash.h"
#include "log.h"
#include "pem.h"
#include "snapshot.h"
#include "xmalloc.h"

/* How offline_load treats damage in the middle of the journal. */
enum load_mode {
	LOAD_CHECK,   /* describe it; the lock may be held (a server runs) */
	LOAD_STRICT,  /* refuse, as a start does */
	LOAD_SALVAGE, /* replay every intact record, keep the damaged bytes */
};

/* The damaged bytes of one journal file, for its side file. */
struct salvaged {
	char *journal;
	struct buf bytes;
};

/* Damage stretches listed in a report, at most (the rest are counted). */
#define DAMAGE_LIST_MAX 20

struct offline {
	const char *dir;
	char *db_path;
	int lock_fd;
	bool locked;
	struct db db;
	struct db_history history; /* replay's, as the server's (below) */
	struct config cfg;         /* what database.json says */
	struct snapshot_info info;
	uint64_t last_seq; /* last journal record seen */
	uint64_t replayed; /* records applied on top of the snapshot */
	size_t journals;
	struct buf report;
	bool damaged;
	struct salvaged *salv; /* LOAD_SALVAGE: one per damaged file */
	size_t nsalv;
};

struct replay {
	struct offline *o;
	const char *path;
	size_t listed; /* damage stretches reported for this file */
};

static int
replay_rec(void *arg, uint64_t seq, const char *payload, size_t len)
{
	struct replay *r = arg;

	if (seq <= r->o->info.journal_seq)
		return 0;
	if (change_replay(&r->o->db, &r->o->history, payload, len) != 0) {
		buf_addf(&r->o->report,
		    "journal '%s': record %llu not understood\n", r->path,
		    (unsigned long long)seq);
		r->o->damaged = true;
	}
	r->o->replayed++;
	return 0;
}

/*
 * A stretch of damaged bytes: listed in the report, and under
 * LOAD_SALVAGE kept for the side file (the last o->salv).
 */
static int
damage_rec(void *arg, off_t off, const char *bytes, size_t len)
{
	struct replay *r = arg;
	struct salvaged *s;

	if (r->listed++ < DAMAGE_LIST_MAX)
		buf_addf(&r->o->report,
		    "%s: damaged bytes at offset %lld, %zu bytes\n", r->path,
		    (long long)off, len);
	if (r->o->nsalv == 0)
		return 0;
	s = &r->o->salv[r->o->nsalv - 1];
	buf_add(&s->bytes, bytes, len);
	return 0;
}

static void
offline_release(struct offline *o)
{
	size_t i;

	for (i = 0; i < o->nsalv; i++) {
		free(o->salv[i].journal);
		buf_release(&o->salv[i].bytes);
	}
	free(o->salv);
	db_release(&o->db);
	config_release(&o->cfg);
	if (o->lock_fd != -1)
		close(o->lock_fd);
	free(o->db_path);
	buf_release(&o->report);
}

/*
 * Replay found damage in files[i]. LOAD_CHECK says where it is and what
 * follows it; LOAD_STRICT fails when intact records follow it; LOAD_SALVAGE
 * replays them and keeps the damaged bytes. 0, or -1 with the reason in
 * err.
 */
static int
offline_damage(struct offline *o, enum load_mode mode, char *const *files,
    size_t n, size_t i, const struct journal_replay_result *res,
    struct replay *r, struct buf *err)
{
	struct journal_scan_result here;
	uint64_t later;
	struct salvaged *s;

	o->damaged = true;
	if (datadir_after_damage(files, n, i, res->valid_end, &here, &later) !=
	    0) {
		buf_addf(err, "cannot read journal '%s': %s", files[i],
		    strerror(errno));
		return -1;
	}
	if (here.records == 0 && later == 0) {
		buf_addf(&o->report,
		    "%s: %s at offset %lld, nothing intact after it: a torn "
		    "tail (%lld bytes), dropped at the next start\n",
		    files[i], res->damage, (long long)res->valid_end,
		    (long long)(res->file_size - res->valid_end));
	} else {
		buf_addf(&o->report,
		    "%s: %s at offset %lld, after record %llu; %" PRIu64
		    " intact records follow it in this file (the first at "
		    "offset %lld, record %" PRIu64 "), %" PRIu64
		    " in later journal files\n",
		    files[i], res->damage, (long long)res->valid_end,
		    (unsigned long long)res->last_seq, here.records,
		    (long long)here.first_record, here.first_seq, later);
		if (mode == LOAD_STRICT) {
			buf_addf(err,
			    "journal '%s' is damaged at offset %lld and "
			    "%" PRIu64 " intact records follow it: run "
			    "'kosyncd salvage' first ('kosyncd check' shows "
			    "the damage)",
			    files[i], (long long)res->valid_end,
			    here.records + later);
			return -1;
		}
	}
	if (mode == LOAD_SALVAGE) {
		o->salv = xrealloc(o->salv, (o->nsalv + 1) * sizeof(*o->salv));
		s = &o->salv[o->nsalv++];
		s->journal = xstrdup(files[i]);
		buf_init(&s->bytes);
	}
	r->listed = 0;
	if (journal_scan(files[i], res->valid_end,
	        mode == LOAD_SALVAGE ? replay_rec : NULL, damage_rec, r,
	        &here) != 0) {
		buf_addf(err, "cannot read journal '%s': %s", files[i],
		    strerror(errno));
		return -1;
	}
	if (r->listed > DAMAGE_LIST_MAX)
		buf_addf(&o->report, "%s: %zu more damaged stretches\n",
		    files[i], r->listed - DAMAGE_LIST_MAX);
	if (mode == LOAD_SALVAGE && here.records > 0) {
		if (here.last_seq > o->last_seq)
			o->last_seq = here.last_seq;
		buf_addf(&o->report,
		    "%s: %" PRIu64 " intact records after the damage "
		    "replayed\n",
		    files[i], here.records);
	}
	if (mode == LOAD_CHECK && here.records + later > 0)
		buf_adds(&o->report,
		    "kosyncd will not start on this journal: 'kosyncd "
		    "salvage' (with the server stopped) keeps every intact "
		    "record and saves the damaged bytes beside the journal\n");
	return 0;
}

/*
 * Load the data directory. Under LOAD_CHECK a held lock is reported and
 * the files are read as they are; otherwise it is an error. Returns 0 or
 * -1 (logged, and in o->report).
 */
static int
offline_load(const struct config *cfg, struct offline *o, enum load_mode mode)
{
	struct journal_replay_result res;
	struct replay r = {0};
	struct buf err = BUF_INIT, path = BUF_INIT;
	struct stat st;
	char **files;
	size_t n, i;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	o->lock_fd = -1;
	o->dir = cfg->data_dir ? cfg->data_dir : "./data";
	buf_init(&o->report);
	buf_addf(&path, "%s/%s", o->dir, SNAPSHOT_FILE);
	o->db_path = buf_detach(&path, NULL);
	db_init(&o->db);
	config_init(&o->cfg);
	if (stat(o->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		buf_addf(&err, "data directory '%s' does not exist", o->dir);
		goto out;
	}
	if (datadir_become_owner(o->dir) != 0) {
		buf_addf(&err, "not run as the owner of '%s'", o->dir);
		goto out;
	}
	buf_addf(&path, "%s/kosyncd.lock", o->dir);
	o->lock_fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (o->lock_fd != -1 && flock(o->lock_fd, LOCK_EX | LOCK_NB) == 0) {
		o->locked = true;
	} else if (mode != LOAD_CHECK) {
		if (o->lock_fd == -1)
			buf_addf(&err, "cannot open lock file '%s': %s",
			    path.data, strerror(errno));
		else
			buf_addf(&err,
			    "kosyncd is running on '%s' (lock '%s' "
			    "is held); stop it first",
			    o->dir, path.data);
		goto out;
	} else {
		buf_addf(&o->report,
		    "kosyncd is running on '%s': checking "
		    "the files as they are\n",
		    o->dir);
	}
	if (snapshot_load(o->db_path, NULL, &o->db, &o->cfg, &o->info, &err) !=
	    0) {
		o->damaged = true;
		goto out;
	}
	if (o->info.fresh)
		buf_addf(&o->report, "%s: none (a new database)\n", o->db_path);
	else
		buf_addf(&o->report,
		    "%s: schema %lld, %zu users, %zu documents, covers the "
		    "journal up to record %llu\n",
		    o->db_path, (long long)o->info.schema, o->info.users,
		    o->info.documents, (unsigned long long)o->info.journal_seq);
	if (o->info.legacy_keys > 0)
		buf_addf(&o->report,
		    "%zu keys are not hashed yet (migrated at the next "
		    "start)\n",
		    o->info.legacy_keys);
	/*
	 * Replay keeps history as the server would: the file's settings,
	 * unless a flag or the environment of this command says otherwise.
	 */
	o->history.keep =
	    config_source_of(cfg, "store_history") > CONFIG_SRC_FILE
	        ? cfg->store_history
	        : o->cfg.store_history;
	o->history.limit =
	    config_source_of(cfg, "history_limit") > CONFIG_SRC_FILE
	        ? cfg->history_limit
	        : o->cfg.history_limit;
	o->last_seq = o->info.journal_seq;
	files = datadir_journals(o->dir, &n);
	o->journals = n;
	r.o = o;
	for (i = 0; i < n; i++) {
		r.path = files[i];
		if (journal_replay(files[i], replay_rec, &r, &res) != 0) {
			buf_addf(&err, "cannot read journal '%s': %s", files[i],
			    strerror(errno));
			datadir_journals_free(files, n);
			goto out;
		}
		if (res.last_seq > o->last_seq)
			o->last_seq = res.last_seq;
		buf_addf(&o->report, "%s: %llu records, %lld bytes\n", files[i],
		    (unsigned long long)res.records, (long long)res.file_size);
		if (res.damage != NULL &&
		    offline_damage(o, mode, files, n, i, &res, &r, &err) != 0) {
			datadir_journals_free(files, n);
			goto out;
		}
	}
	datadir_journals_free(files, n);
	buf_addf(&o->report, "%llu journal records on top of the snapshot\n",
	    (unsigned long long)o->replayed);
	rc = 0;
out:
	if (rc != 0) {
		buf_addf(&o->report, "%s\n", err.data);
		log_warnx("%s", err.data);
	}
	buf_release(&err);
	buf_release(&path);
	return rc;
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
	if (snapshot_write_fd(fileno(f), &o->db, &o->cfg, o->last_seq) != 0) {
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
datadir_offline_backup(const struct config *cfg, char **path_out)
{
	struct offline o;
	struct buf json = BUF_INIT, err = BUF_INIT;
	int rc = -1;

	if (offline_load(cfg, &o, LOAD_STRICT) != 0)
		goto out;
	if (render(&o, &json) != 0)
		goto out;
	if (snapshot_backup(o.dir, json.data, json.len, SNAPSHOT_SCHEMA,
	        path_out, &err) != 0) {
		log_warnx("%s", err.data);
		goto out;
	}
	rc = 0;
out:
	buf_release(&json);
	buf_release(&err);
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
datadir_offline_restore(
    const struct config *cfg, const char *pem_path, char **saved_out)
{
	struct offline o;
	struct buf json = BUF_INIT, cur = BUF_INIT, err = BUF_INIT;
	char **files;
	size_t n, i;
	int rc = -1;

	if (saved_out != NULL)
		*saved_out = NULL;
	if (read_backup(pem_path, &json) != 0) {
		memset(&o, 0, sizeof(o));
		o.lock_fd = -1;
		buf_init(&o.report);
		db_init(&o.db);
		config_init(&o.cfg);
		goto out;
	}
	if (offline_load(cfg, &o, LOAD_STRICT) != 0)
		goto out;
	/* Keep what is there now, so a restore can be undone. */
	if (!o.info.fresh || o.replayed > 0) {
		if (render(&o, &cur) != 0 ||
		    snapshot_backup(o.dir, cur.data, cur.len, SNAPSHOT_SCHEMA,
		        saved_out, &err) != 0) {
			log_warnx("%s; not restoring", err.data);
			goto out;
		}
	}
	if (snapshot_replace(o.dir, json.data, json.len, &err) != 0) {
		log_warnx("%s", err.data);
		goto out;
	}
	/* The journal belongs to the state just replaced. */
	files = datadir_journals(o.dir, &n);
	for (i = 0; i < n; i++)
		if (unlink(files[i]) != 0)
			log_warn("cannot remove journal '%s'", files[i]);
	datadir_journals_free(files, n);
	(void)fileio_fsync_dir(o.dir);
	rc = 0;
out:
	buf_release(&json);
	buf_release(&cur);
	buf_release(&err);
	offline_release(&o);
	return rc;
}

int
datadir_offline_check(const struct config *cfg, struct buf *out)
{
	struct offline o;
	int rc;

	rc = offline_load(cfg, &o, LOAD_CHECK);
	buf_add(out, o.report.data, o.report.len);
	if (rc == 0 && o.damaged)
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

	if (!o->info.fresh &&
	    (o->info.schema < SNAPSHOT_SCHEMA || o->info.legacy_keys > 0)) {
		if (snapshot_read(o->db_path, &raw, &err) != 0 ||
		    snapshot_backup(o->dir, raw.data, raw.len, o->info.schema,
		        NULL, &err) != 0) {
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
	if (snapshot_save(o->dir, &o->db, &o->cfg, o->last_seq, NULL, &err) !=
	    0) {
		log_warnx("%s", err.data);
		goto out;
	}
	files = datadir_journals(o->dir, &n);
	for (i = 0; i < n; i++)
		if (unlink(files[i]) != 0)
			log_warn("cannot remove journal '%s'", files[i]);
	datadir_journals_free(files, n);
	(void)fileio_fsync_dir(o->dir);
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

	if (offline_load(cfg, &o, LOAD_STRICT) == 0)
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
	struct salvaged *s;
	size_t i;
	int rc = -1;

	if (offline_load(cfg, &o, LOAD_SALVAGE) != 0)
		goto out;
	if (!o.damaged) {
		buf_adds(&o.report, "nothing to salvage; nothing changed\n");
		rc = 0;
		goto out;
	}
	/* The damaged bytes are safe on disk before the journal goes. */
	for (i = 0; i < o.nsalv; i++) {
		s = &o.salv[i];
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
	(void)fileio_fsync_dir(o.dir);
	if (compact_loaded(&o) != 0) {
		buf_adds(&o.report, "cannot write database.json; the journal "
		                    "is left as it was\n");
		goto out;
	}
	buf_addf(&o.report,
	    "%s now holds every intact record (up to record %llu); the "
	    "journal was removed\n",
	    o.db_path, (unsigned long long)o.last_seq);
	rc = 0;
out:
	buf_add(out, o.report.data, o.report.len);
	buf_release(&path);
	buf_release(&err);
	offline_release(&o);
	return rc;
}
