/*
 * davmove.c: an account's WebDAV tree copied between storages (davmove.h).
 *
 * One walk serves the check and the copy: each folder of the source is
 * listed (its entries copied out of the listing first, since a backend's
 * listing callback must not call back into it), each name checked, then
 * each entry compared with the target's: with dry nothing is written and
 * the bytes the copy would add are summed for the quota. A file is
 * streamed from a davstore reader into a davstore upload, 64 KiB at a
 * time; its kept versions first, oldest first, each made a version by
 * the next one's commit as an upload would (davstore_version_keep), so
 * the target holds them in the same order.
 *
 * Invariants: nothing is written with dry; a file is only written through
 * an upload (whole or not at all); names are checked before any use.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dav.h"
#include "davfs.h"
#include "davmove.h"
#include "davpath.h"
#include "davredis.h"
#include "davstore.h"
#include "statsvc.h"
#include "xmalloc.h"

/* Bytes read and written at a time: a file is never held whole. */
#define DAVMOVE_CHUNK ((size_t)64 * 1024)
/* Bytes of one entry's dead properties (as dav.c bounds them). */
#define DAVMOVE_MAX_PROPS ((size_t)64 * 1024)

struct mv {
	const struct davmove_end *from, *to;
	bool dry;
	struct davmove_tally *t;
	struct buf *why;
	struct buf path;    /* of the entry at hand, for messages */
	struct str user;    /* the account */
	uint64_t entries;   /* walked */
	uint64_t add_bytes; /* what the copy writes (dry: would write) */
};

struct ent {
	char *name;
	struct stat st;
};

struct ents {
	struct ent *v;
	size_t n, cap;
};

int
davmove_has_tree(const struct davmove_end *e, struct str user)
{
	int fd;

	if (e->data_dir == NULL)
		return davredis_tree_find(e->cfg, user);
	fd = davfs_root_find(e->data_dir, user);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ENOENT ? 0 : -1;
}

/* Say why the copy stops: "'user': 'path': ...". Returns -1. */
static int mv_fail(struct mv *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
mv_fail(struct mv *m, const char *fmt, ...)
{
	va_list ap;

	buf_reset(m->why);
	buf_addch(m->why, '\'');
	buf_add(m->why, m->user.p, m->user.len);
	buf_adds(m->why, "': '");
	buf_adds(m->why, m->path.len > 0 ? m->path.data : "/");
	buf_adds(m->why, "': ");
	va_start(ap, fmt);
	buf_vaddf(m->why, fmt, ap);
	va_end(ap);
	return -1;
}

/* mv_fail with errno's text. */
static int
mv_fail_errno(struct mv *m, const char *what)
{
	return mv_fail(m, "%s: %s", what, strerror(errno != 0 ? errno : EIO));
}

static void
ents_add(void *arg, const char *name, const struct stat *st)
{
	struct ents *es = arg;

	if (es->n == es->cap) {
		es->cap = es->cap ? es->cap * 2 : 16;
		es->v = xrealloc(es->v, es->cap * sizeof(*es->v));
	}
	es->v[es->n].name = xstrdup(name);
	es->v[es->n].st = *st;
	es->n++;
}

static void
ents_release(struct ents *es)
{
	size_t i;

	for (i = 0; i < es->n; i++)
		free(es->v[i].name);
	free(es->v);
	es->v = NULL;
	es->n = es->cap = 0;
}

/* Cut b back to its first len bytes (len <= b->len). */
static void
path_cut(struct buf *b, size_t len)
{
	b->len = len;
	b->data[len] = '\0';
}

static bool
versioned(const char *name)
{
	return strcmp(name, STATSVC_FILE_NAME) == 0 ||
	       strcmp(name, STATSVC_VOCAB_NAME) == 0;
}

/* Copy the dead properties of name (NULL: the folder) from sd to dd. */
static int
props_copy(struct mv *m, struct davdir *sd, struct davdir *dd, const char *name)
{
	struct buf b = BUF_INIT;
	int rc = 0;

	if (davstore_props_load(sd, name, &b, DAVMOVE_MAX_PROPS + 1) == -1)
		rc = mv_fail_errno(m, "its properties cannot be read");
	else if (b.len > DAVMOVE_MAX_PROPS)
		rc = mv_fail(m, "its properties are larger than %zu bytes",
		    DAVMOVE_MAX_PROPS);
	else if (!m->dry && b.len > 0 && dd != NULL &&
	         davstore_props_save(dd, name, b.data, b.len) == -1)
		rc = mv_fail_errno(m, "its properties cannot be written");
	buf_release(&b);
	return rc;
}

/*
 * Stream rd (size bytes) into a new upload of name in dd. kept: the
 * target has a file of that name, which the commit makes a version when
 * name is versioned.
 */
static int
stream(struct mv *m, struct davrd *rd, uint64_t size, struct davdir *dd,
    const char *name, bool kept)
{
	const struct config *cfg = m->to->cfg;
	struct davup *u;
	struct stat st;
	char *chunk;
	uint64_t off = 0, freed, freed_n;
	ssize_t n;
	bool k;
	int rc = -1;

	if ((u = davstore_up_open(dd)) == NULL)
		return mv_fail_errno(m, "cannot start the copy");
	chunk = xmalloc(DAVMOVE_CHUNK);
	for (;;) {
		n = davstore_read(rd, off, chunk, DAVMOVE_CHUNK);
		if (n < 0) {
			mv_fail_errno(m, "cannot be read");
			goto abort;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
		if (off > size || off > cfg->dav_max_file_bytes) {
			mv_fail(m, "%s", "grew while it was copied");
			goto abort;
		}
		if (davstore_up_write(u, chunk, (size_t)n) == -1) {
			mv_fail_errno(m, "cannot be written");
			goto abort;
		}
	}
	if (off != size) {
		mv_fail(m, "%s", "shrank while it was copied");
		goto abort;
	}
	if (davstore_up_sync(u) == -1) {
		mv_fail_errno(m, "cannot be made durable");
		goto abort;
	}
	if (kept && versioned(name) &&
	    davstore_version_keep(
	        dd, name, cfg->dav_versions, &k, &freed, &freed_n) == -1) {
		mv_fail_errno(m, "its version cannot be kept");
		goto abort;
	}
	rc = davstore_up_commit(u, name, &st);
	u = NULL;
	if (rc == -1)
		mv_fail_errno(m, "cannot be put in place");
	else
		m->t->bytes += size;
abort:
	if (u != NULL)
		davstore_up_abort(u);
	free(chunk);
	return rc;
}

/*
 * The file e of sd, to dd (NULL when the target has no folder there: dry
 * only). Its versions go first when the target lacks the file.
 */
static int
file_copy(struct mv *m, struct davdir *sd, struct davdir *dd,
    const struct ent *e, bool have)
{
	struct davfs_version v[DAVFS_MAX_VERSIONS];
	const struct config *cfg = m->to->cfg;
	struct davrd *rd;
	struct stat st;
	size_t nv = 0, i;
	uint64_t add = (uint64_t)e->st.st_size;

	if ((uint64_t)e->st.st_size > cfg->dav_max_file_bytes)
		return mv_fail(m, "%s", "larger than dav_max_file_bytes");
	if (!have && versioned(e->name) &&
	    davstore_versions(sd, e->name, v, DAVFS_MAX_VERSIONS, &nv) == -1)
		return mv_fail_errno(m, "its versions cannot be read");
	if (nv > cfg->dav_versions)
		nv = cfg->dav_versions; /* the newest the target keeps */
	for (i = 0; i < nv; i++) {
		if (v[i].size > cfg->dav_max_file_bytes)
			return mv_fail(m, "%s",
			    "a kept version is larger than dav_max_file_bytes");
		add += v[i].size;
	}
	m->add_bytes += add;
	if (props_copy(m, sd, NULL, e->name) == -1)
		return -1;
	if (m->dry)
		return 0;
	/* Oldest first: each commit makes the one before it a version. */
	for (i = nv; i-- > 0;) {
		rd = davstore_version_open(sd, e->name, v[i].number, &st);
		if (rd == NULL)
			return mv_fail_errno(
			    m, "a kept version cannot be read");
		if (stream(m, rd, (uint64_t)st.st_size, dd, e->name, have) ==
		    -1) {
			davstore_read_close(rd);
			return -1;
		}
		davstore_read_close(rd);
		have = true;
	}
	if ((rd = davstore_read_open(sd, e->name, &st)) == NULL)
		return mv_fail_errno(m, "cannot be opened");
	if ((uint64_t)st.st_size > cfg->dav_max_file_bytes) {
		davstore_read_close(rd);
		return mv_fail(m, "%s", "larger than dav_max_file_bytes");
	}
	if (stream(m, rd, (uint64_t)st.st_size, dd, e->name, have) == -1) {
		davstore_read_close(rd);
		return -1;
	}
	davstore_read_close(rd);
	m->t->files++;
	return props_copy(m, sd, dd, e->name);
}

static int walk(struct mv *m, struct davdir *sd, struct davdir *dd, int depth);

/* The folder e of sd, to dd (NULL: the target has none there, dry). */
static int
folder_copy(struct mv *m, struct davdir *sd, struct davdir *dd,
    const struct ent *e, bool have, int depth)
{
	struct str nm = str_from(e->name);
	struct davdir *ssub = NULL, *dsub = NULL;
	int rc = -1;

	if (depth + 1 >= DAVPATH_MAX_DEPTH - 1)
		return mv_fail(m, "%s", "folders nested too deep");
	if (!m->dry && !have) {
		if (davstore_mkcol(dd, e->name) == -1)
			return mv_fail_errno(m, "cannot be made");
		m->t->folders++;
	}
	if ((ssub = davstore_dir_open(sd, &nm, 1)) == NULL) {
		mv_fail_errno(m, "cannot be opened");
		goto out;
	}
	if ((have || !m->dry) &&
	    (dsub = davstore_dir_open(dd, &nm, 1)) == NULL) {
		mv_fail_errno(m, "cannot be opened on the target");
		goto out;
	}
	if (props_copy(m, sd, have ? NULL : dd, e->name) == -1)
		goto out;
	rc = walk(m, ssub, dsub, depth + 1);
out:
	davstore_dir_close(ssub);
	davstore_dir_close(dsub);
	return rc;
}

/* Check, and unless dry copy, folder sd into dd (NULL: none, dry). */
static int
walk(struct mv *m, struct davdir *sd, struct davdir *dd, int depth)
{
	struct ents es = {0};
	struct stat tst;
	size_t i, plen = m->path.len;
	bool have;
	int rc = 0;

	if (davstore_list(sd, DAV_MAX_ENTRIES + 1, ents_add, &es) == -1) {
		ents_release(&es);
		return mv_fail_errno(m, "cannot be listed");
	}
	for (i = 0; i < es.n && rc == 0; i++) {
		const struct ent *e = &es.v[i];
		const char *bad = davpath_name_why(str_from(e->name));

		path_cut(&m->path, plen);
		buf_addch(&m->path, '/');
		buf_adds(&m->path, e->name);
		if (bad != NULL) {
			rc = mv_fail(m, "refused: %s", bad);
			break;
		}
		if (++m->entries > DAV_MAX_ENTRIES) {
			rc = mv_fail(m, "%s",
			    "more files and folders than a tree may hold");
			break;
		}
		have = dd != NULL && davstore_stat(dd, e->name, &tst) == 0;
		if (have && S_ISDIR(tst.st_mode) != S_ISDIR(e->st.st_mode)) {
			rc = mv_fail(m, "%s",
			    S_ISDIR(tst.st_mode)
			        ? "a folder on the target, a file in the copy"
			        : "a file on the target, a folder in the copy");
			break;
		}
		if (S_ISDIR(e->st.st_mode)) {
			rc = folder_copy(m, sd, dd, e, have, depth);
		} else if (have &&
		           (tst.st_mtim.tv_sec > e->st.st_mtim.tv_sec ||
		               (tst.st_mtim.tv_sec == e->st.st_mtim.tv_sec &&
		                   tst.st_mtim.tv_nsec >=
		                       e->st.st_mtim.tv_nsec))) {
			m->t->existing++;
		} else {
			rc = file_copy(m, sd, dd, e, have);
		}
	}
	path_cut(&m->path, plen);
	ents_release(&es);
	if (rc == 0 && !m->dry && dd != NULL && davstore_dir_sync(dd) == -1)
		rc = mv_fail_errno(m, "cannot be made durable");
	return rc;
}

/* The quota: what the target holds plus what the copy adds. */
static int
quota_check(struct mv *m, struct davdir *dd)
{
	const struct config *cfg = m->to->cfg;
	uint64_t bytes = 0, entries = 0;

	if (dd != NULL && davstore_usage(dd, (uint64_t)DAV_MAX_ENTRIES * 10,
	                      &bytes, &entries) == -1)
		return mv_fail_errno(m, "the target's tree cannot be counted");
	bytes += m->add_bytes;
	if (bytes <= cfg->dav_quota_bytes)
		return 0;
	return mv_fail(m,
	    "the tree would take %llu bytes on the target, over "
	    "dav_quota_bytes (%llu)",
	    (unsigned long long)bytes,
	    (unsigned long long)cfg->dav_quota_bytes);
}

/*
 * On disk, what the listing leaves out (links and the like: never
 * followed) is refused, so that a tree is copied whole or not at all.
 */
static int
odd_check(struct mv *m)
{
	int fd, rc;

	if ((fd = davfs_root_find(m->from->data_dir, m->user)) == -1)
		return mv_fail_errno(m, "the tree cannot be opened");
	rc = davfs_find_odd(fd, (uint64_t)DAV_MAX_ENTRIES * 10, &m->path);
	close(fd);
	if (rc == 1)
		return mv_fail(m, "%s",
		    "refused: neither a file nor a folder (a symbolic "
		    "link?)");
	if (rc == -1)
		return mv_fail_errno(m, "the tree cannot be read");
	return 0;
}

int
davmove_tree(const struct davmove_end *from, const struct davmove_end *to,
    struct str user, bool dry, struct davmove_tally *t, struct buf *why)
{
	struct davdir *sd = NULL, *dd = NULL;
	struct mv m;
	int has, rc = -1;

	memset(&m, 0, sizeof(m));
	m.from = from;
	m.to = to;
	m.dry = dry;
	m.t = t;
	m.why = why;
	m.user = user;
	buf_init(&m.path);
	if ((has = davmove_has_tree(from, user)) <= 0) {
		if (has == 0)
			return 0;
		return mv_fail_errno(&m, "the tree cannot be read");
	}
	if (dry && from->data_dir != NULL && odd_check(&m) == -1)
		return -1;
	if ((has = davmove_has_tree(to, user)) == -1)
		return mv_fail_errno(&m, "the target cannot be read");
	if ((sd = davstore_root_open(from->s, user)) == NULL) {
		mv_fail_errno(&m, "the tree cannot be opened");
		goto out;
	}
	if ((has || !dry) && (dd = davstore_root_open(to->s, user)) == NULL) {
		mv_fail_errno(&m, "the target's tree cannot be opened");
		goto out;
	}
	if (props_copy(&m, sd, has ? NULL : dd, NULL) == -1 ||
	    walk(&m, sd, dd, 0) == -1 || (dry && quota_check(&m, dd) == -1))
		goto out;
	t->trees++;
	rc = 0;
out:
	davstore_dir_close(sd);
	davstore_dir_close(dd);
	buf_release(&m.path);
	return rc;
}
