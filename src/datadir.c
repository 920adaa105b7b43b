/*
 * datadir.c: the data directory of the file backend (database.json,
 * the journal, the lock), store_flush and store_close of both backends.
 * What a journal record says is change.c's.
 */
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "change.h"
#include "config.h"
#include "fileio.h"
#include "filestore.h"
#include "journal.h"
#include "json.h"
#include "keyhash.h"
#include "log.h"
#include "snapshot.h"
#include "xmalloc.h"

enum flush_stage {
	FLUSH_NONE = 0,
	FLUSH_KEYS,  /* waiting for running argon2 jobs */
	FLUSH_OPS,   /* waiting for operations in flight */
	FLUSH_FILES, /* journal drain, final snapshot */
	FLUSH_DONE,
};

/*
 * The history setting changes apply with (change.h): the configuration's,
 * which the data directory's database.json may set.
 */
void
datadir_history(struct filestore *js)
{
	js->history.keep = js->cfg->store_history;
	js->history.limit = js->cfg->history_limit;
	js->history.user_limit = js->cfg->user_max_history;
}

/*
 * Data directory (file backend)
 *
 * Files: database.json (the snapshot; it names the last journal record it
 * covers in "journal_seq"), journal.<first seq, 20 digits> (one or two at
 * a time: the current one and, while a compaction runs, the one before),
 * kosyncd.lock (flock held while running), PEM backups.
 *
 * Compaction: rotate the journal to a new file, wait until every record of
 * the old file has been answered, then fork; the child writes the snapshot
 * from its copy-on-write image of the tables (atomically) and exits; the
 * parent keeps serving, reaps the child from a timer and, when it
 * succeeded, deletes the old journal file. The snapshot covers the journal
 * up to the last record applied before the fork, so replay skips those.
 */

#define JOURNAL_PREFIX "journal."
#define LOCK_FILE "kosyncd.lock"
#define REAP_INTERVAL_MS 20
#define COMPACT_RETRY_SECS 10
#define LOCK_TRIES 20
#define LOCK_WAIT_US (50 * 1000)

struct datadir {
	char *dir;
	char *db_path;
	int lock_fd;
	struct journal *journal;
	char *journal_path;   /* the current file */
	char *old_journal;    /* the file a running compaction covers */
	uint64_t appended;    /* records handed to the journal */
	uint64_t completed;   /* records answered (durable or failed) */
	uint64_t applied_seq; /* last record applied to the tables */
	uint64_t snap_seq;    /* what database.json covers */
	struct stat snap_st;  /* database.json as we last wrote or read it */
	bool snap_known;
	bool foreign; /* database.json changed under us */
	bool compacting;
	uint64_t rotate_mark; /* compaction forks once completed reaches it */
	pid_t child;
	uint64_t child_seq;
	time_t compact_failed_at;
	uv_timer_t timer;
	bool timer_init;
	/* Figures for store_stats, and who waits for a compaction. */
	uint64_t compactions;
	uint64_t compactions_failed;
	store_text_cb *compact_cb;
	void *compact_arg;
};

static char *
path_join(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/%s", dir, name);
	return buf_detach(&b, NULL);
}

static char *
journal_name(const char *dir, uint64_t first_seq)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/" JOURNAL_PREFIX "%020llu", dir,
	    (unsigned long long)first_seq);
	return buf_detach(&b, NULL);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The journal files of dir, sorted (oldest first). */
char **
datadir_journals(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;
	const char *p;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, JOURNAL_PREFIX,
		        sizeof(JOURNAL_PREFIX) - 1) != 0)
			continue;
		p = e->d_name + sizeof(JOURNAL_PREFIX) - 1;
		if (strlen(p) != 20 || strspn(p, "0123456789") != 20)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = path_join(dir, e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

void
datadir_journals_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
lock_dir(struct datadir *f)
{
	char *path = path_join(f->dir, LOCK_FILE);
	int rc = -1, tries;

	f->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f->lock_fd == -1) {
		log_warnx(
		    "cannot open lock file '%s': %s", path, strerror(errno));
		goto out;
	}
	/*
	 * A compaction child of a kosyncd killed a moment ago may still hold
	 * the lock for as long as it takes to notice (it dies with its
	 * parent): give it a second before concluding another server runs.
	 */
	for (tries = 0; flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0; tries++) {
		if (errno == EWOULDBLOCK && tries < LOCK_TRIES) {
			usleep(LOCK_WAIT_US);
			continue;
		}
		if (errno == EWOULDBLOCK)
			log_warnx("data directory '%s' is in use by another "
			          "kosyncd (lock '%s' is held); refusing to "
			          "start",
			    f->dir, path);
		else
			log_warnx(
			    "cannot lock '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

struct replay_ctx {
	struct db *db;
	const struct db_history *history; /* in force for this process */
	uint64_t skip_to; /* records up to this seq are in the snapshot */
	uint64_t applied;
	const char *path;
};

static int
replay_one(void *arg, uint64_t seq, const char *payload, size_t len)
{
	struct replay_ctx *c = arg;

	if (seq <= c->skip_to)
		return 0;
	if (change_replay(c->db, c->history, payload, len) != 0)
		log_warnx("journal '%s': record %llu not understood; skipped",
		    c->path, (unsigned long long)seq);
	c->applied++;
	return 0;
}

int
datadir_become_owner(const char *dir)
{
	struct stat st;
	gid_t gid;
	uid_t uid;

	if (geteuid() != 0 || stat(dir, &st) != 0 || st.st_uid == 0)
		return 0;
	uid = st.st_uid;
	gid = st.st_gid;
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		log_warnx("data directory '%s' belongs to uid %lu, and this "
		          "root process cannot become it (%s): run kosyncd as "
		          "that user (runuser -u USER -- kosyncd ...)",
		    dir, (unsigned long)uid, strerror(errno));
		return -1;
	}
	/*
	 * Dropping root clears the dumpable flag; the process holds nothing
	 * its new owner may not read, and the sanitizers need it.
	 */
	(void)prctl(PR_SET_DUMPABLE, 1);
	log_info("running as uid %lu, gid %lu: the owner of '%s'",
	    (unsigned long)uid, (unsigned long)gid, dir);
	return 0;
}

int
datadir_after_damage(char *const *files, size_t n, size_t i, off_t off,
    struct journal_scan_result *here, uint64_t *later)
{
	struct journal_scan_result r;
	size_t j;

	*later = 0;
	if (journal_scan(files[i], off, NULL, NULL, NULL, here) != 0)
		return -1;
	for (j = i + 1; j < n; j++) {
		if (journal_scan(files[j], 0, NULL, NULL, NULL, &r) != 0)
			return -1;
		*later += r.records;
	}
	return 0;
}

/*
 * Replay found damage in files[i]: a torn tail (nothing intact after it)
 * is cut when the file is the last one, as a crash in the middle of a write
 * leaves it. Intact records after the damage were acknowledged to their
 * clients: refuse to start rather than lose them, and say what to run.
 * Returns 0 (the tail may be cut) or -1 (logged).
 */
static int
damage_check(char *const *files, size_t n, size_t i,
    const struct journal_replay_result *res)
{
	struct journal_scan_result here;
	uint64_t later;

	if (datadir_after_damage(files, n, i, res->valid_end, &here, &later) !=
	    0) {
		log_warnx(
		    "cannot read journal '%s': %s", files[i], strerror(errno));
		return -1;
	}
	if (here.records == 0 && later == 0) {
		log_warnx("journal '%s': %s at offset %lld, nothing intact "
		          "after it (a torn tail); dropping the %lld bytes "
		          "from there",
		    files[i], res->damage, (long long)res->valid_end,
		    (long long)(res->file_size - res->valid_end));
		return 0;
	}
	log_warnx("journal '%s': %s at offset %lld, and %" PRIu64 " intact "
	          "records follow it; refusing to start (nothing was "
	          "changed): 'kosyncd check' shows the damage, 'kosyncd "
	          "salvage' keeps every intact record and saves the damaged "
	          "bytes in a file beside the journal",
	    files[i], res->damage, (long long)res->valid_end,
	    here.records + later);
	return -1;
}

/*
 * Replay every journal file; open the last one (or a new one) for
 * appending, after cutting a torn tail. Damage with intact records after
 * it stops the start. 0 or -1.
 */
static int
journal_start(struct filestore *js, uint64_t snap_seq)
{
	struct datadir *f = js->file;
	struct journal_replay_result res;
	struct replay_ctx c = {&js->db, &js->history, snap_seq, 0, NULL};
	char **files;
	size_t n, i;
	uint64_t last = snap_seq;
	off_t valid_end = -1;
	int rc = -1;

	files = datadir_journals(f->dir, &n);
	for (i = 0; i < n; i++) {
		c.path = files[i];
		if (journal_replay(files[i], replay_one, &c, &res) != 0) {
			log_warnx("cannot read journal '%s': %s", files[i],
			    strerror(errno));
			goto out;
		}
		if (res.records > 0 && res.last_seq > last)
			last = res.last_seq;
		if (res.damage != NULL) {
			if (damage_check(files, n, i, &res) != 0)
				goto out;
			if (i + 1 == n)
				valid_end = res.valid_end;
		}
	}
	if (c.applied > 0)
		log_info("replayed %llu journal records",
		    (unsigned long long)c.applied);
	f->applied_seq = last;
	if (n > 0) {
		/* Files the snapshot already covers are not needed. */
		for (i = 0; i + 1 < n && c.applied == 0; i++)
			if (unlink(files[i]) != 0)
				log_warn(
				    "cannot remove old journal '%s'", files[i]);
		f->journal_path = xstrdup(files[n - 1]);
	} else {
		f->journal_path = journal_name(f->dir, last + 1);
	}
	f->journal = journal_open(js->loop, f->journal_path, valid_end,
	    last + 1, (enum journal_fsync)js->cfg->fsync);
	if (f->journal == NULL)
		goto out;
	rc = 0;
out:
	datadir_journals_free(files, n);
	return rc;
}

/* Delete every journal file but the current one. */
static void
journal_prune(struct datadir *f)
{
	char **files;
	size_t n, i;

	files = datadir_journals(f->dir, &n);
	for (i = 0; i < n; i++)
		if (strcmp(files[i], f->journal_path) != 0 &&
		    unlink(files[i]) != 0)
			log_warn("cannot remove old journal '%s'", files[i]);
	datadir_journals_free(files, n);
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Whether database.json is still what we wrote or read; warns if not. */
static bool
snapshot_is_ours(struct datadir *f)
{
	struct stat st;
	bool ours;

	if (f->foreign)
		return false;
	if (stat(f->db_path, &st) != 0)
		ours = !f->snap_known && errno == ENOENT;
	else
		ours = f->snap_known && same_file(&st, &f->snap_st);
	if (!ours) {
		f->foreign = true;
		log_warnx("'%s' was changed by something other than this "
		          "kosyncd while it runs: it will NOT be overwritten; "
		          "changes keep going to the journal '%s'; stop "
		          "kosyncd to have them merged into the edited file "
		          "at the next start",
		    f->db_path, f->journal_path);
	}
	return ours;
}

/*
 * Migrate a loaded database to our newest schema: back up the file as it
 * was first, then hash the legacy keys, then write the new snapshot.
 */
static int
migrate(struct filestore *js, const struct snapshot_info *info)
{
	struct datadir *f = js->file;
	struct buf err = BUF_INIT;
	char **keys = NULL;
	struct db_user **users = NULL;
	size_t n = 0, i;
	uint32_t pos = 0;
	struct db_user *u;
	char *bak = NULL;
	struct buf raw = BUF_INIT;
	long ncpu;
	int rc = -1;

	if (!info->fresh) {
		/* The backup is the file exactly as it is (we hold the lock).
		 */
		if (snapshot_read(f->db_path, &raw, &err) != 0 ||
		    snapshot_backup(f->dir, raw.data, raw.len, info->schema,
		        &bak, &err) != 0) {
			log_warnx(
			    "%s; not migrating '%s'", err.data, f->db_path);
			goto out;
		}
		log_info("migrating '%s' from schema %lld to %d; backup in "
		         "'%s'",
		    f->db_path, (long long)info->schema, SNAPSHOT_SCHEMA, bak);
	}
	if (info->legacy_keys > 0) {
		users = xmalloc(js->db.users.n * sizeof(struct db_user *) + 1);
		keys = xmalloc(js->db.users.n * sizeof(*keys) + 1);
		while ((u = table_next(&js->db.users, &pos)) != NULL) {
			if (keyhash_is_phc(u->key) || u->key[0] == '\0')
				continue;
			users[n] = u;
			keys[n] = u->key;
			u->key = NULL;
			n++;
		}
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		if (keyhash_hash_many(keys, n, ncpu > 0 ? (unsigned)ncpu : 1) !=
		    0)
			log_warnx("cannot hash every key; some stay as they "
			          "were");
		for (i = 0; i < n; i++)
			users[i]->key = keys[i];
	}
	if (snapshot_save(f->dir, &js->db, js->cfg, f->applied_seq, &f->snap_st,
	        &err) != 0) {
		log_warnx("%s", err.data);
		goto out;
	}
	f->snap_known = true;
	f->snap_seq = f->applied_seq;
	rc = 0;
out:
	free(users);
	free(keys);
	free(bak);
	buf_release(&raw);
	buf_release(&err);
	return rc;
}

/*
 * Carry the retired option admins, as database.json gave it, over to the
 * accounts' administrator flags (config_admins_next: commas only, a name
 * is never split), empty the option and write the snapshot at once, so
 * this happens only once: a name registered later never becomes an
 * administrator because it was listed. Returns 0, or -1 when the snapshot
 * cannot be written (start-up stops; nothing changed on disk).
 */
static int
retire_admins(struct filestore *js, const struct snapshot_info *info)
{
	struct datadir *f = js->file;
	struct buf err = BUF_INIT, name = BUF_INIT;
	const char *p = config_file_value(js->cfg, "admins");
	struct db_user *u;
	struct str e;
	int rc = -1;

	while (config_admins_next(&p, &e)) {
		buf_reset(&name);
		log_escape(&name, e, 64);
		u = db_user_find(&js->db, e);
		if (u != NULL) {
			u->admin = true;
			log_info("admins: '%s' is an administrator (a flag on "
			         "the account now)",
			    name.data);
		} else {
			log_warnx("admins: '%s' names no account: not an "
			          "administrator (kosyncd user admin NAME on, "
			          "once the account exists)",
			    name.data);
		}
	}
	if (config_set(js->cfg, "admins", "", CONFIG_SRC_FILE, &err) != 0 ||
	    snapshot_save(f->dir, &js->db, js->cfg, f->applied_seq, &f->snap_st,
	        &err) != 0) {
		log_warnx("cannot retire the option admins: %s", err.data);
		goto out;
	}
	f->snap_known = true;
	f->snap_seq = f->applied_seq;
	if (f->applied_seq > info->journal_seq)
		journal_prune(f);
	log_info("the option admins is retired: administrators are a flag on "
	         "their account (kosyncd user admin)");
	rc = 0;
out:
	buf_release(&err);
	buf_release(&name);
	return rc;
}

int
datadir_open(struct filestore *js)
{
	struct datadir *f = xcalloc(1, sizeof(*f));
	struct buf err = BUF_INIT;
	struct snapshot_info info;
	int rc = -1;

	js->file = f;
	f->lock_fd = -1;
	f->dir = xstrdup(js->cfg->data_dir ? js->cfg->data_dir : "./data");
	f->db_path = path_join(f->dir, SNAPSHOT_FILE);
	if (mkdir(f->dir, 0700) != 0 && errno != EEXIST) {
		log_warnx("cannot create data directory '%s': %s", f->dir,
		    strerror(errno));
		goto out;
	}
	if (datadir_become_owner(f->dir) != 0)
		goto out;
	if (lock_dir(f) != 0)
		goto out;
	snapshot_clean_temp(f->dir);
	if (snapshot_load(f->db_path, NULL, &js->db, js->cfg, &info, &err) !=
	    0) {
		log_warnx("%s; refusing to start (the file is left as it is)",
		    err.data);
		goto out;
	}
	if (info.schema > SNAPSHOT_SCHEMA) {
		log_warnx("'%s' has schema %lld, newer than this kosyncd "
		          "knows (%d); refusing to start",
		    f->db_path, (long long)info.schema, SNAPSHOT_SCHEMA);
		goto out;
	}
	/* The file's config section may have changed these. */
	datadir_history(js);
	f->snap_seq = info.journal_seq;
	if (!info.fresh) {
		if (stat(f->db_path, &f->snap_st) == 0)
			f->snap_known = true;
		log_info("loaded '%s': schema %lld, %zu users, %zu documents",
		    f->db_path, (long long)info.schema, info.users,
		    info.documents);
	}
	if (journal_start(js, info.journal_seq) != 0)
		goto out;
	/*
	 * A new data directory gets its database.json at once (empty, with
	 * the "config" section a KOsync user edits), so that the file the
	 * documentation talks about is there from the first start.
	 */
	if (info.fresh && f->applied_seq == 0) {
		if (snapshot_save(
		        f->dir, &js->db, js->cfg, 0, &f->snap_st, &err) != 0) {
			log_warnx("%s", err.data);
			goto out;
		}
		f->snap_known = true;
		log_info("created '%s'", f->db_path);
	}
	if (!info.fresh &&
	    (info.schema < SNAPSHOT_SCHEMA || info.legacy_keys > 0)) {
		if (migrate(js, &info) != 0)
			goto out;
		/* The new snapshot covers what the journal replayed. */
		if (f->applied_seq > info.journal_seq)
			journal_prune(f);
	}
	/* The file's value, even when a flag or the environment overrides
	 * it (then ignored): it must not wait for a later start. */
	if (config_file_value(js->cfg, "admins") != NULL &&
	    config_file_value(js->cfg, "admins")[0] != '\0' &&
	    retire_admins(js, &info) != 0)
		goto out;
	rc = 0;
out:
	buf_release(&err);
	return rc;
}

uint64_t
datadir_append(struct filestore *js, const char *rec, size_t len,
    void (*done)(void *arg, int err), void *arg)
{
	js->file->appended++;
	return journal_append(js->file->journal, rec, len, done, arg);
}

void
datadir_done(struct filestore *js, uint64_t seq, int err)
{
	js->file->completed++;
	if (err == 0)
		js->file->applied_seq = seq;
}

/*
 * Compaction
 */

static void compact_fork(struct filestore *js);

/* Tell an administrator waiting for a compaction how it ended. */
static void
compact_notify(struct filestore *js, bool ok)
{
	struct datadir *f = js->file;
	store_text_cb *cb = f->compact_cb;
	struct buf out = BUF_INIT;

	if (cb == NULL)
		return;
	f->compact_cb = NULL;
	if (ok)
		buf_addf(&out, "{\"compacted\":true,\"journal_seq\":%llu}",
		    (unsigned long long)f->snap_seq);
	else
		buf_adds(&out, "compaction failed (see the server's log)");
	cb(f->compact_arg, ok ? STORE_OK : STORE_ERR_IO, out.data, out.len);
	buf_release(&out);
}

static void
compact_finish(struct filestore *js, int status)
{
	struct datadir *f = js->file;
	struct stat st;

	f->child = 0;
	f->compacting = false;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		f->compactions++;
	else
		f->compactions_failed++;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (stat(f->db_path, &st) == 0) {
			f->snap_st = st;
			f->snap_known = true;
		}
		f->snap_seq = f->child_seq;
		journal_prune(f);
		log_debug("compacted: snapshot covers journal record %llu",
		    (unsigned long long)f->child_seq);
	} else {
		f->compact_failed_at = time(NULL);
		log_warnx("compaction failed; '%s' is unchanged and the "
		          "journal is kept (retrying in %d s)",
		    f->db_path, COMPACT_RETRY_SECS);
	}
	free(f->old_journal);
	f->old_journal = NULL;
	compact_notify(js, WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
reap_cb(uv_timer_t *t)
{
	struct filestore *js = t->data;
	struct datadir *f = js->file;
	int status;
	pid_t r;

	if (f->child <= 0)
		return;
	r = waitpid(f->child, &status, WNOHANG);
	if (r == 0)
		return;
	uv_timer_stop(&f->timer);
	if (r < 0)
		status = 1 << 8;
	compact_finish(js, status);
}

static void
compact_fork(struct filestore *js)
{
	struct datadir *f = js->file;
	struct buf err = BUF_INIT;
	pid_t pid, parent;

	f->child_seq = f->applied_seq;
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		/* A snapshot nobody will account for is useless: die with us.
		 */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (snapshot_save(f->dir, &js->db, js->cfg, f->child_seq, NULL,
		        &err) != 0) {
			log_warnx("%s", err.data);
			_exit(1);
		}
		_exit(0);
	}
	if (pid < 0) {
		log_warn("cannot fork to compact");
		compact_finish(js, 1 << 8);
		return;
	}
	f->child = pid;
	if (!f->timer_init) {
		uv_timer_init(js->loop, &f->timer);
		f->timer.data = js;
		f->timer_init = true;
	}
	uv_timer_start(&f->timer, reap_cb, REAP_INTERVAL_MS, REAP_INTERVAL_MS);
}

/* Rotate the journal and set f->compacting. Returns 0, or -1 when not. */
static int
compact_start(struct filestore *js)
{
	struct datadir *f = js->file;
	char *next;

	if (!snapshot_is_ours(f))
		return -1;
	next = journal_name(f->dir, journal_next_seq(f->journal));
	if (strcmp(next, f->journal_path) == 0) {
		/* The current file holds no record yet: nothing to rotate. */
		free(next);
		f->compacting = true;
		f->rotate_mark = f->appended;
		return 0;
	}
	if (journal_rotate(f->journal, next) != 0) {
		log_warn("cannot start journal '%s'", next);
		free(next);
		f->compact_failed_at = time(NULL);
		return -1;
	}
	f->old_journal = f->journal_path;
	f->journal_path = next;
	f->compacting = true;
	f->rotate_mark = f->appended;
	return 0;
}

void
datadir_changed(struct filestore *js)
{
	struct datadir *f = js->file;

	if (f == NULL || js->closing)
		return;
	if (f->compacting) {
		if (f->child == 0 && f->completed >= f->rotate_mark)
			compact_fork(js);
		return;
	}
	if (f->foreign || journal_size(f->journal) < js->cfg->compact_bytes)
		return;
	if (f->compact_failed_at != 0 &&
	    time(NULL) - f->compact_failed_at < COMPACT_RETRY_SECS)
		return;
	if (compact_start(js) == 0 && f->completed >= f->rotate_mark)
		compact_fork(js);
}

/* Shutdown: wait for a running child, then write the final snapshot. */
static void
compact_final(struct filestore *js)
{
	struct datadir *f = js->file;
	struct buf err = BUF_INIT;
	int status;

	if (f->child > 0) {
		while (waitpid(f->child, &status, 0) < 0 && errno == EINTR)
			;
		if (f->timer_init)
			uv_timer_stop(&f->timer);
		compact_finish(js, status);
	}
	f->compacting = false;
	if (f->applied_seq == f->snap_seq && f->old_journal == NULL)
		return; /* nothing new since the last snapshot */
	if (f->foreign || !snapshot_is_ours(f)) {
		log_warnx("'%s' was edited while kosyncd ran: left as it is; "
		          "the changes since are in the journal and are "
		          "replayed onto it at the next start",
		    f->db_path);
		return;
	}
	if (snapshot_save(f->dir, &js->db, js->cfg, f->applied_seq, &f->snap_st,
	        &err) != 0) {
		log_warnx("%s; the journal is kept and replays at the next "
		          "start",
		    err.data);
		buf_release(&err);
		return;
	}
	f->snap_known = true;
	f->snap_seq = f->applied_seq;
	buf_release(&err);
}

static void
file_free(struct datadir *f)
{
	if (f == NULL)
		return;
	if (f->lock_fd != -1)
		close(f->lock_fd);
	free(f->dir);
	free(f->db_path);
	free(f->journal_path);
	free(f->old_journal);
	free(f);
}

/*
 * Flush and close
 */

static void flush_step(struct filestore *js);

static void
timer_closed(uv_handle_t *h)
{
	struct filestore *js = h->data;

	js->file->timer_init = false;
	js->flush_stage = FLUSH_DONE;
	flush_step(js);
}

/* Every record is durable: final snapshot, then close the files. */
static void
journal_drained(void *arg)
{
	struct filestore *js = arg;
	struct datadir *f = js->file;
	bool covered;
	char **files;
	size_t n, i;

	compact_final(js);
	covered = f->snap_seq == f->applied_seq && !f->foreign;
	journal_close(f->journal);
	f->journal = NULL;
	if (covered) {
		/* The snapshot holds everything: no journal is needed. */
		files = datadir_journals(f->dir, &n);
		for (i = 0; i < n; i++)
			if (unlink(files[i]) != 0)
				log_warn(
				    "cannot remove journal '%s'", files[i]);
		datadir_journals_free(files, n);
		(void)fileio_fsync_dir(f->dir);
	}
	if (f->timer_init) {
		uv_close((uv_handle_t *)&f->timer, timer_closed);
		return;
	}
	js->flush_stage = FLUSH_DONE;
	flush_step(js);
}

static void
keyhash_drained(void *arg)
{
	struct filestore *js = arg;

	js->flush_stage = FLUSH_OPS;
	flush_step(js);
}

static void
flush_step(struct filestore *js)
{
	void (*done)(void *);

	switch (js->flush_stage) {
	case FLUSH_OPS:
		if (js->ops_live != 0)
			return;
		js->flush_stage = FLUSH_FILES;
		/* FALLTHROUGH */
	case FLUSH_FILES:
		if (js->file != NULL && js->file->journal != NULL) {
			journal_drain(js->file->journal, journal_drained, js);
			return;
		}
		js->flush_stage = FLUSH_DONE;
		/* FALLTHROUGH */
	case FLUSH_DONE:
		done = js->flush_done;
		js->flush_done = NULL;
		if (done != NULL)
			done(js->flush_arg);
		break;
	default:
		break;
	}
}

void
datadir_idle_check(struct filestore *js)
{
	if (js->flush_stage == FLUSH_OPS && js->ops_live == 0)
		flush_step(js);
}

void
datadir_flush(struct store *st, void (*done)(void *arg), void *arg)
{
	struct filestore *js = (struct filestore *)st;

	js->closing = true;
	js->flush_done = done;
	js->flush_arg = arg;
	js->flush_stage = FLUSH_KEYS;
	keyhash_drain(js->keys, keyhash_drained, js);
}

void
datadir_free(struct filestore *js)
{
	if (js == NULL)
		return;
	db_release(&js->db);
	keyhash_free(js->keys);
	if (js->file != NULL && js->file->journal != NULL)
		journal_close(js->file->journal);
	file_free(js->file);
	free(js);
}

void
datadir_close(struct store *st)
{
	datadir_free((struct filestore *)st);
}

/*
 * Administration: compaction on demand, and the figures for /metrics.
 */

void
datadir_compact(struct store *st, store_text_cb *cb, void *arg)
{
	struct filestore *js = (struct filestore *)st;
	struct datadir *f = js->file;
	static const char none[] = "{\"compacted\":false}";

	if (f == NULL) {
		cb(arg, STORE_OK, none, sizeof(none) - 1); /* memory */
		return;
	}
	if (js->closing || f->compact_cb != NULL) {
		cb(arg, STORE_ERR_UNAVAILABLE, NULL, 0);
		return;
	}
	if (f->foreign || !snapshot_is_ours(f)) {
		static const char why[] =
		    "database.json was changed by something else while "
		    "kosyncd runs; it is not overwritten (stop kosyncd)";

		cb(arg, STORE_ERR_IO, why, sizeof(why) - 1);
		return;
	}
	f->compact_cb = cb;
	f->compact_arg = arg;
	if (!f->compacting && f->applied_seq == f->snap_seq &&
	    f->old_journal == NULL) {
		/* database.json already holds everything. */
		compact_notify(js, true);
		return;
	}
	if (!f->compacting && compact_start(js) != 0) {
		compact_notify(js, false);
		return;
	}
	if (f->child == 0 && f->completed >= f->rotate_mark)
		compact_fork(js);
}

void
datadir_stats(struct store *st, struct store_stats *out)
{
	struct filestore *js = (struct filestore *)st;
	struct datadir *f = js->file;

	out->users = js->db.users.n;
	out->documents = js->db.ndocs;
	if (f == NULL)
		return;
	if (f->journal != NULL) {
		struct journal_stats js_stats;
		int i;

		out->journal_bytes = journal_size(f->journal);
		journal_stats(f->journal, &js_stats);
		out->fsync_known = true;
		out->fsyncs = js_stats.fsyncs;
		out->fsync_ns = js_stats.fsync_ns;
		for (i = 0;
		     i < STORE_FSYNC_BUCKETS && i < JOURNAL_FSYNC_BUCKETS; i++)
			out->fsync_bucket[i] = js_stats.fsync_bucket[i];
	}
	out->compactions = f->compactions;
	out->compactions_failed = f->compactions_failed;
}
