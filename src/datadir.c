/*
 * datadir.c: the data directory of the file backend (database.json,
 * the journal, the lock), store_flush and store_close of both backends.
 * Its loader (datadir_load) is the one way a data directory is read, by
 * a start and by the offline commands (datadir_offline.c). What a journal
 * record says is change.c's.
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
#include "davfs.h"
#include "fileio.h"
#include "filestore.h"
#include "journal.h"
#include "json.h"
#include "keyhash.h"
#include "log.h"
#include "policy.h"
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

/*
 * Replay found damage at offset off of files[i] (of n): count the intact
 * records after it, in that file (*here, from journal_scan) and in the
 * later files (*later). None at all means a torn tail, which may be cut;
 * any means acknowledged records follow the damage, which must not be.
 * Returns 0, or -1 with errno when a file cannot be read.
 */
static int
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
 * Loading
 *
 * The one way a data directory is read: by a start (datadir_open) and by
 * the offline commands (datadir_offline.c), which differ only where the
 * mode says (see enum datadir_load_mode in filestore.h).
 */

/* Damage stretches listed in a report, at most (the rest are counted). */
#define DAMAGE_LIST_MAX 20

/* One journal file's replay. */
struct load_file {
	struct datadir_load *l;
	const char *path;
	size_t listed; /* damage stretches reported for this file */
};

static int
load_record(void *arg, uint64_t seq, const char *payload, size_t len)
{
	struct load_file *r = arg;
	struct datadir_load *l = r->l;

	if (seq <= l->info.journal_seq)
		return 0;
	if (change_replay(l->db, &l->history, payload, len) != 0) {
		if (l->report == NULL) {
			log_warnx("journal '%s': record %llu not understood; "
			          "skipped",
			    r->path, (unsigned long long)seq);
		} else {
			buf_addf(l->report,
			    "journal '%s': record %llu not understood\n",
			    r->path, (unsigned long long)seq);
			l->damaged = true;
		}
	}
	l->replayed++;
	return 0;
}

/*
 * A stretch of damaged bytes: listed in the report, and under
 * DATADIR_LOAD_SALVAGE kept for the side file (the last l->salv).
 */
static int
load_damaged_bytes(void *arg, off_t off, const char *bytes, size_t len)
{
	struct load_file *r = arg;
	struct datadir_salvaged *s;

	if (r->listed++ < DAMAGE_LIST_MAX)
		buf_addf(r->l->report,
		    "%s: damaged bytes at offset %lld, %zu bytes\n", r->path,
		    (long long)off, len);
	if (r->l->nsalv == 0)
		return 0;
	s = &r->l->salv[r->l->nsalv - 1];
	buf_add(&s->bytes, bytes, len);
	return 0;
}

/*
 * A start found damage in files[i]: a torn tail (nothing intact after it)
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
 * An offline command found damage in files[i]. DATADIR_LOAD_CHECK says
 * where it is and what follows it; DATADIR_LOAD_STRICT fails when intact
 * records follow it; DATADIR_LOAD_SALVAGE replays them and keeps the
 * damaged bytes. 0, or -1 with the reason in err.
 */
static int
damage_report(struct datadir_load *l, size_t i,
    const struct journal_replay_result *res, struct load_file *r,
    struct buf *err)
{
	char *const *files = l->files;
	struct journal_scan_result here;
	uint64_t later;
	struct datadir_salvaged *s;

	l->damaged = true;
	if (datadir_after_damage(
	        files, l->nfiles, i, res->valid_end, &here, &later) != 0) {
		buf_addf(err, "cannot read journal '%s': %s", files[i],
		    strerror(errno));
		return -1;
	}
	if (here.records == 0 && later == 0) {
		buf_addf(l->report,
		    "%s: %s at offset %lld, nothing intact after it: a torn "
		    "tail (%lld bytes), dropped at the next start\n",
		    files[i], res->damage, (long long)res->valid_end,
		    (long long)(res->file_size - res->valid_end));
	} else {
		buf_addf(l->report,
		    "%s: %s at offset %lld, after record %llu; %" PRIu64
		    " intact records follow it in this file (the first at "
		    "offset %lld, record %" PRIu64 "), %" PRIu64
		    " in later journal files\n",
		    files[i], res->damage, (long long)res->valid_end,
		    (unsigned long long)res->last_seq, here.records,
		    (long long)here.first_record, here.first_seq, later);
		if (l->mode == DATADIR_LOAD_STRICT) {
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
	if (l->mode == DATADIR_LOAD_SALVAGE) {
		l->salv = xrealloc(l->salv, (l->nsalv + 1) * sizeof(*l->salv));
		s = &l->salv[l->nsalv++];
		s->journal = xstrdup(files[i]);
		buf_init(&s->bytes);
	}
	r->listed = 0;
	if (journal_scan(files[i], res->valid_end,
	        l->mode == DATADIR_LOAD_SALVAGE ? load_record : NULL,
	        load_damaged_bytes, r, &here) != 0) {
		buf_addf(err, "cannot read journal '%s': %s", files[i],
		    strerror(errno));
		return -1;
	}
	if (r->listed > DAMAGE_LIST_MAX)
		buf_addf(l->report, "%s: %zu more damaged stretches\n",
		    files[i], r->listed - DAMAGE_LIST_MAX);
	if (l->mode == DATADIR_LOAD_SALVAGE && here.records > 0) {
		if (here.last_seq > l->last_seq)
			l->last_seq = here.last_seq;
		buf_addf(l->report,
		    "%s: %" PRIu64 " intact records after the damage "
		    "replayed\n",
		    files[i], here.records);
	}
	if (l->mode == DATADIR_LOAD_CHECK && here.records + later > 0)
		buf_adds(l->report,
		    "kosyncd will not start on this journal: 'kosyncd "
		    "salvage' (with the server stopped) keeps every intact "
		    "record and saves the damaged bytes beside the journal\n");
	return 0;
}

/*
 * Take the directory's lock. A start waits a second for it; an offline
 * command does not wait, and check goes on without it. 0, or -1 with the
 * reason in err (a start's is logged here).
 */
static int
load_lock(struct datadir_load *l, struct buf *err)
{
	char *path = path_join(l->dir, LOCK_FILE);
	int rc = -1, tries;

	l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->lock_fd == -1) {
		buf_addf(err, "cannot open lock file '%s': %s", path,
		    strerror(errno));
		if (l->mode == DATADIR_LOAD_CHECK)
			goto held;
		goto out;
	}
	/*
	 * A compaction child of a kosyncd killed a moment ago may still hold
	 * the lock for as long as it takes to notice (it dies with its
	 * parent): a start gives it a second before concluding another
	 * server runs.
	 */
	for (tries = 0; flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0; tries++) {
		if (l->mode == DATADIR_LOAD_START && errno == EWOULDBLOCK &&
		    tries < LOCK_TRIES) {
			usleep(LOCK_WAIT_US);
			continue;
		}
		if (l->mode == DATADIR_LOAD_CHECK)
			goto held;
		if (l->mode != DATADIR_LOAD_START)
			buf_addf(err,
			    "kosyncd is running on '%s' (lock '%s' "
			    "is held); stop it first",
			    l->dir, path);
		else if (errno == EWOULDBLOCK)
			buf_addf(err,
			    "data directory '%s' is in use by another "
			    "kosyncd (lock '%s' is held); refusing to start",
			    l->dir, path);
		else
			buf_addf(
			    err, "cannot lock '%s': %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
held:
	buf_reset(err);
	buf_addf(l->report,
	    "kosyncd is running on '%s': checking the files as they are\n",
	    l->dir);
	rc = 0;
out:
	free(path);
	return rc;
}

/* database.json is loaded: say so, and set the history replay keeps. */
static void
load_loaded(struct datadir_load *l)
{
	const struct snapshot_info *info = &l->info;

	if (l->report == NULL) {
		if (!info->fresh)
			log_info("loaded '%s': schema %lld, %zu users, %zu "
			         "documents",
			    l->db_path, (long long)info->schema, info->users,
			    info->documents);
	} else {
		if (info->fresh)
			buf_addf(l->report, "%s: none (a new database)\n",
			    l->db_path);
		else
			buf_addf(l->report,
			    "%s: schema %lld, %zu users, %zu documents, covers "
			    "the journal up to record %llu\n",
			    l->db_path, (long long)info->schema, info->users,
			    info->documents,
			    (unsigned long long)info->journal_seq);
		if (info->legacy_keys > 0)
			buf_addf(l->report,
			    "%zu keys are not hashed yet (migrated at the "
			    "next start)\n",
			    info->legacy_keys);
	}
	/*
	 * Replay keeps history as the server would: the file's settings,
	 * unless a flag or the environment of this process says otherwise.
	 */
	l->history.keep =
	    config_source_of(l->over, "store_history") > CONFIG_SRC_FILE
	        ? l->over->store_history
	        : l->cfg->store_history;
	l->history.limit =
	    config_source_of(l->over, "history_limit") > CONFIG_SRC_FILE
	        ? l->over->history_limit
	        : l->cfg->history_limit;
	l->history.user_limit = l->over->user_max_history;
}

void
datadir_load_init(struct datadir_load *l, enum datadir_load_mode mode,
    const char *dir, struct db *db, struct config *cfg,
    const struct config *over, struct buf *report)
{
	memset(l, 0, sizeof(*l));
	l->mode = mode;
	l->dir = dir;
	l->db_path = path_join(dir, SNAPSHOT_FILE);
	l->db = db;
	l->cfg = cfg;
	l->over = over;
	l->report = report;
	l->lock_fd = -1;
	l->cut_at = -1;
}

int
datadir_load(struct datadir_load *l)
{
	struct journal_replay_result res;
	struct load_file r = {l, NULL, 0};
	struct buf err = BUF_INIT;
	struct stat st;
	size_t i;
	int rc = -1;

	if (l->mode != DATADIR_LOAD_START &&
	    (stat(l->dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		buf_addf(&err, "data directory '%s' does not exist", l->dir);
		goto out;
	}
	if (datadir_become_owner(l->dir) != 0) {
		if (l->mode != DATADIR_LOAD_START)
			buf_addf(&err, "not run as the owner of '%s'", l->dir);
		goto out;
	}
	if (load_lock(l, &err) != 0)
		goto out;
	if (l->mode == DATADIR_LOAD_START)
		snapshot_clean_temp(l->dir);
	if (snapshot_load(l->db_path, NULL, l->db, l->cfg, &l->info, &err) !=
	    0) {
		if (l->mode == DATADIR_LOAD_START)
			buf_adds(&err,
			    "; refusing to start (the file is left as it is)");
		l->damaged = true;
		goto out;
	}
	if (l->mode == DATADIR_LOAD_START && l->info.schema > SNAPSHOT_SCHEMA) {
		buf_addf(&err,
		    "'%s' has schema %lld, newer than this kosyncd knows (%d); "
		    "refusing to start",
		    l->db_path, (long long)l->info.schema, SNAPSHOT_SCHEMA);
		goto out;
	}
	load_loaded(l);
	l->last_seq = l->info.journal_seq;
	l->files = datadir_journals(l->dir, &l->nfiles);
	for (i = 0; i < l->nfiles; i++) {
		r.path = l->files[i];
		if (journal_replay(l->files[i], load_record, &r, &res) != 0) {
			buf_addf(&err, "cannot read journal '%s': %s",
			    l->files[i], strerror(errno));
			goto out;
		}
		if (res.records > 0 && res.last_seq > l->last_seq)
			l->last_seq = res.last_seq;
		if (l->report != NULL) {
			buf_addf(l->report, "%s: %llu records, %lld bytes",
			    l->files[i], (unsigned long long)res.records,
			    (long long)res.file_size);
			if (res.zero_tail > 0)
				buf_addf(l->report,
				    " (the last %lld of them zeros written "
				    "ahead)",
				    (long long)res.zero_tail);
			buf_adds(l->report, "\n");
		}
		if (res.damage == NULL) {
			/* Zeros written ahead: cut here, written again. */
			if (i + 1 == l->nfiles && res.zero_tail > 0)
				l->cut_at = res.valid_end;
			continue;
		}
		if (l->mode != DATADIR_LOAD_START) {
			if (damage_report(l, i, &res, &r, &err) != 0)
				goto out;
			continue;
		}
		if (damage_check(l->files, l->nfiles, i, &res) != 0)
			goto out;
		if (i + 1 == l->nfiles)
			l->cut_at = res.valid_end;
	}
	if (l->report != NULL)
		buf_addf(l->report,
		    "%llu journal records on top of the snapshot\n",
		    (unsigned long long)l->replayed);
	rc = 0;
out:
	if (rc != 0 && err.len > 0) {
		if (l->report != NULL)
			buf_addf(l->report, "%s\n", err.data);
		log_warnx("%s", err.data);
	}
	buf_release(&err);
	return rc;
}

void
datadir_load_release(struct datadir_load *l)
{
	size_t i;

	for (i = 0; i < l->nsalv; i++) {
		free(l->salv[i].journal);
		buf_release(&l->salv[i].bytes);
	}
	free(l->salv);
	if (l->files != NULL)
		datadir_journals_free(l->files, l->nfiles);
	if (l->lock_fd != -1)
		close(l->lock_fd);
	free(l->db_path);
	memset(l, 0, sizeof(*l));
	l->lock_fd = -1;
}

/*
 * After a start's load: open the last journal file (or a new one) for
 * appending, after cutting a torn tail. 0 or -1.
 */
static int
journal_start(struct filestore *js, const struct datadir_load *l)
{
	struct datadir *f = js->file;
	size_t i;

	if (l->replayed > 0)
		log_info("replayed %llu journal records",
		    (unsigned long long)l->replayed);
	f->applied_seq = l->last_seq;
	if (l->nfiles > 0) {
		/* Files the snapshot already covers are not needed. */
		for (i = 0; i + 1 < l->nfiles && l->replayed == 0; i++)
			if (unlink(l->files[i]) != 0)
				log_warn("cannot remove old journal '%s'",
				    l->files[i]);
		f->journal_path = xstrdup(l->files[l->nfiles - 1]);
	} else {
		f->journal_path = journal_name(f->dir, l->last_seq + 1);
	}
	f->journal = journal_open(js->loop, f->journal_path, l->cut_at,
	    l->last_seq + 1, (enum journal_fsync)js->cfg->fsync);
	return f->journal == NULL ? -1 : 0;
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

/* davfs_keep_fn: whether the account a WebDAV tree belongs to exists. */
static bool
account_exists(void *arg, struct str user)
{
	struct filestore *js = arg;

	return db_user_find(&js->db, user) != NULL;
}

/*
 * The WebDAV trees of accounts that no longer exist (deleted while no
 * server ran, or gone with a restore) are removed before anyone can
 * register an account of that name and find them.
 */
static void
sweep_files(struct filestore *js)
{
	int n = davfs_sweep(js->file->dir, account_exists, js);

	if (n > 0)
		log_info("removed the WebDAV files of %d deleted account%s", n,
		    n == 1 ? "" : "s");
	else if (n < 0)
		log_warn("cannot look for the WebDAV files of deleted accounts "
		         "in '%s/dav'",
		    js->file->dir);
}

void
datadir_user_files_remove(struct filestore *js, struct str user)
{
	if (davfs_root_remove(js->file->dir, user) != 0)
		log_warn("cannot remove the WebDAV files of '%.*s'",
		    (int)user.len, user.p);
}

int
datadir_open(struct filestore *js)
{
	struct datadir *f = xcalloc(1, sizeof(*f));
	struct buf err = BUF_INIT;
	struct datadir_load l;
	const struct snapshot_info *info = &l.info;
	int rc = -1;

	js->file = f;
	f->lock_fd = -1;
	f->dir = xstrdup(js->cfg->data_dir ? js->cfg->data_dir : "./data");
	f->db_path = path_join(f->dir, SNAPSHOT_FILE);
	datadir_load_init(
	    &l, DATADIR_LOAD_START, f->dir, &js->db, js->cfg, js->cfg, NULL);
	if (mkdir(f->dir, 0700) != 0 && errno != EEXIST) {
		log_warnx("cannot create data directory '%s': %s", f->dir,
		    strerror(errno));
		goto out;
	}
	if (datadir_load(&l) != 0)
		goto out;
	f->lock_fd = l.lock_fd;
	l.lock_fd = -1;
	/* The file's config section may have changed these. */
	datadir_history(js);
	f->snap_seq = info->journal_seq;
	if (!info->fresh && stat(f->db_path, &f->snap_st) == 0)
		f->snap_known = true;
	if (journal_start(js, &l) != 0)
		goto out;
	/*
	 * A new data directory gets its database.json at once (empty, with
	 * the "config" section a KOsync user edits), so that the file the
	 * documentation talks about is there from the first start.
	 */
	if (info->fresh && f->applied_seq == 0) {
		if (snapshot_save(
		        f->dir, &js->db, js->cfg, 0, &f->snap_st, &err) != 0) {
			log_warnx("%s", err.data);
			goto out;
		}
		f->snap_known = true;
		log_info("created '%s'", f->db_path);
	}
	if (!info->fresh &&
	    (info->schema < SNAPSHOT_SCHEMA || info->legacy_keys > 0)) {
		if (migrate(js, info) != 0)
			goto out;
		/* The new snapshot covers what the journal replayed. */
		if (f->applied_seq > info->journal_seq)
			journal_prune(f);
	}
	/* The file's value, even when a flag or the environment overrides
	 * it (then ignored): it must not wait for a later start. */
	if (config_file_value(js->cfg, "admins") != NULL &&
	    config_file_value(js->cfg, "admins")[0] != '\0' &&
	    retire_admins(js, info) != 0)
		goto out;
	sweep_files(js);
	rc = 0;
out:
	datadir_load_release(&l);
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
	policy_pulls_free(js->pulls);
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
