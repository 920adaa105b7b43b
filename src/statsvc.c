/*
 * statsvc.c: each account's reading statistics in the server (statsvc.h).
 *
 * Invariants:
 *   - the account list, its snapshots' reference counts and every file of
 *     <data_dir>/stats/<name>.json are touched on the loop only; a worker
 *     reads a snapshot it holds a reference to (snapshots never change
 *     once made) and writes only <name>.data, and only the one read of
 *     its account that runs;
 *   - a read's result replaces the account's snapshot only once its data
 *     file is durable, so what is shown is what a restart shows;
 *   - a refused file changes nothing but the last upload and its reason;
 *   - at a start (statsvc_rescan) one account at a time is looked at: a
 *     worker only walks its WebDAV tree and opens files, the loop decides
 *     what to read again, and the reads are an upload's.
 *
 * The data file: "KSSTATS1", then little-endian integers: the file's
 * counts (struct statsdb), the books (strings as a 32-bit length and the
 * bytes), the page turns, and a CRC-32C of everything before it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "crc32c.h"
#include "davfs.h"
#include "davpath.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "redis_sync.h"
#include "statscalc.h"
#include "statsdb.h"
#include "statsvc.h"
#include "tzif.h"
#include "xmalloc.h"

#define SV_MAGIC "KSSTATS1"
#define SV_VMAGIC "KSVOCAB1"
#define SV_MAGIC_LEN 8
#define SV_MAX_TZ 64      /* bytes of a zone name */
#define SV_MAX_META 65536 /* bytes of a <name>.json: 50 uploads listed */

struct sv_md5 {
	const char *md5; /* borrowed from the book */
	uint32_t book;
};

/* What an accepted file held; shared by queries, never changed. */
struct sv_snap {
	unsigned refs; /* on the loop only */
	struct statsdb db;
	struct sv_md5 *by_md5; /* the books with an md5, sorted by it */
	size_t nby_md5;
};

/* An upload: when, how big, from what. */
struct sv_upload {
	int64_t time;
	uint64_t size;
	char *agent;
};

/* An upload in the account's list, and whether it was read whole. */
struct sv_hist {
	struct sv_upload up;
	bool accepted;
	bool vocab; /* vocabulary_builder.sqlite3, not statistics */
};

/* What an accepted vocabulary file held; shared, never changed. */
struct sv_vocab {
	unsigned refs; /* on the loop only */
	struct statsdb_vocab v;
};

struct sv_acct {
	struct sv_acct *next;
	char *user;
	char *base; /* "<data_dir>/stats/<encoded name>" */
	struct sv_snap *snap;
	char tz[SV_MAX_TZ + 1];
	int32_t day_start;
	struct sv_upload last;    /* the last upload read (time 0: none) */
	struct sv_upload figures; /* the upload snap came from */
	char *reason;             /* why last was refused; NULL: accepted */
	struct sv_job *reading;   /* the read that runs */
	int next_fd;              /* an upload waiting for it, or -1 */
	struct sv_upload waiting;
	/*
	 * The file waiting (statistics', vocabulary's) is one the account's
	 * list already has, read again at the start (statsvc_rescan): it is
	 * not listed twice.
	 */
	bool listed, vlisted;
	/*
	 * Deleted while its read runs: the struct stays (cleared) until the
	 * read ends, and a new account of the same name revives it, so
	 * reads of one name never overlap; gen tells a read of the account
	 * before from one of the account now.
	 */
	bool deleted;
	unsigned gen;
	long long rgen; /* statsvc_share: the Redis generation shown */
	int64_t goal_books, goal_minutes; /* 0: none */
	/* The vocabulary file: read in turn with the statistics' (reading). */
	struct sv_vocab *vocab;
	char *vreason; /* why the last vocabulary upload was refused */
	int vnext_fd;  /* an upload waiting, or -1 */
	struct sv_upload vwaiting;
	struct sv_hist hist[STATSVC_MAX_UPLOADS]; /* oldest first */
	size_t nhist;
};

enum sv_kind { SV_READ, SV_QUERY };

struct sv_job {
	uv_work_t work;
	struct statsvc *sv;
	enum sv_kind kind;
	struct sv_job *qnext; /* in statsvc's queue */
	uv_work_cb run;       /* on the pool */
	/* Back on the loop; cancelled: it never ran (the server stops). */
	void (*finish)(struct sv_job *job, bool cancelled);
	struct sv_acct *a;
	/* SV_READ */
	bool vocab;   /* a vocabulary file */
	bool listed;  /* a file read again, already listed (sv_acct) */
	unsigned gen; /* the account's when the read began */
	int fd;
	struct sv_upload up;
	struct sv_snap *snap;   /* the result, or NULL */
	struct sv_vocab *vsnap; /* the vocabulary's result, or NULL */
	struct buf reason;
	char *data_path;
	/* SV_QUERY: the account's state copied */
	struct sv_snap *qsnap;   /* referenced, or NULL */
	struct sv_vocab *qvocab; /* referenced, or NULL */
	struct statsvc_query q;
	struct statsvc_finished *fin; /* q.finished copied, sorted by md5 */
	char tz[SV_MAX_TZ + 1];
	int32_t day_start;
	struct sv_upload qlast, qfigures;
	char *qreason;
	/* statsvc_rescan: the account's files found (fd -1: none). */
	int sfd, vfd;
	struct stat sst, vst;
	/* statsvc_share: the generation known, what Redis had if newer. */
	long long rgen;
	char *quser;
	struct sv_acct *fresh;   /* not listed: its snap, settings, uploads */
	struct sv_snap *qheld;   /* the reference qsnap held before */
	struct sv_vocab *qvheld; /* the reference qvocab held before */
	int64_t goal_books, goal_minutes;
	struct sv_hist *qhist; /* copied */
	size_t nqhist;
	char *md5;    /* q.md5 copied */
	int64_t book; /* STATSVC_BOOK: the index of md5's book */
	struct buf out;
	int status;
	statsvc_answer_fn *cb;
	void *arg;
};

struct statsvc {
	uv_loop_t *loop;
	char *dir; /* <data_dir>/stats */
	struct sv_acct *accts;
	unsigned running; /* jobs on the pool: at most STATSVC_MAX_JOBS */
	unsigned pending; /* jobs queued or running */
	struct sv_job *qhead, *qtail; /* jobs waiting for the pool, FIFO */
	statsvc_read_fn *on_read;     /* statsvc_on_read */
	void *on_read_arg;
	const struct config *shared; /* statsvc_share: Redis, or NULL */
	/* statsvc_rescan: the accounts with a tree, the next to look at. */
	char *data_dir;
	char **scan;
	size_t nscan, iscan;
	struct sv_acct *scanned; /* whose files are read again, or NULL */
	bool closing;
};

/*
 * Accounts
 */

static void
upload_release(struct sv_upload *u)
{
	free(u->agent);
	memset(u, 0, sizeof(*u));
}

static void
upload_copy(struct sv_upload *to, const struct sv_upload *from)
{
	to->time = from->time;
	to->size = from->size;
	to->agent = from->agent ? xstrdup(from->agent) : NULL;
}

static void
hist_clear(struct sv_acct *a)
{
	size_t i;

	for (i = 0; i < a->nhist; i++)
		upload_release(&a->hist[i].up);
	a->nhist = 0;
}

/* Add an upload (copied) to a's list, forgetting the oldest when full. */
static void
hist_add(
    struct sv_acct *a, const struct sv_upload *up, bool accepted, bool vocab)
{
	if (a->nhist == STATSVC_MAX_UPLOADS) {
		upload_release(&a->hist[0].up);
		memmove(&a->hist[0], &a->hist[1],
		    (STATSVC_MAX_UPLOADS - 1) * sizeof(a->hist[0]));
		a->nhist--;
	}
	upload_copy(&a->hist[a->nhist].up, up);
	a->hist[a->nhist].vocab = vocab;
	a->hist[a->nhist++].accepted = accepted;
}

static void
snap_unref(struct sv_snap *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	statsdb_release(&s->db);
	free(s->by_md5);
	free(s);
}

static void
vocab_unref(struct sv_vocab *v)
{
	if (v == NULL || --v->refs > 0)
		return;
	statsdb_vocab_release(&v->v);
	free(v);
}

/* The account user, deleted ones included when deleted is true. */
static struct sv_acct *
acct_lookup(
    const struct statsvc *sv, const char *user, size_t len, bool deleted)
{
	struct sv_acct *a;

	for (a = sv->accts; a != NULL; a = a->next)
		if ((deleted || !a->deleted) && strlen(a->user) == len &&
		    memcmp(a->user, user, len) == 0)
			return a;
	return NULL;
}

static struct sv_acct *
acct_find(const struct statsvc *sv, const char *user, size_t len)
{
	return acct_lookup(sv, user, len, false);
}

/* The path of user's files in dir without their extension, into b. */
static void
acct_base(struct buf *b, const char *dir, const char *user, size_t len)
{
	buf_adds(b, dir);
	buf_addch(b, '/');
	/* As the WebDAV folder's name (davfs.c): one safe file name. */
	if (len > 0 && user[0] == '.') {
		buf_adds(b, "%2E");
		user++;
		len--;
	}
	davpath_encode(b, (struct str){user, len}, false);
}

/* The account, made (with the defaults) when missing. */
static struct sv_acct *
acct_get(struct statsvc *sv, const char *user, size_t len)
{
	struct sv_acct *a = acct_lookup(sv, user, len, true);
	struct buf b = BUF_INIT;
	size_t n;

	if (a != NULL) {
		a->deleted = false; /* a new account of a deleted one's name */
		return a;
	}
	a = xcalloc(1, sizeof(*a));
	a->user = xmalloc(len + 1);
	memcpy(a->user, user, len);
	a->user[len] = '\0';
	acct_base(&b, sv->dir, user, len);
	a->base = buf_detach(&b, &n);
	snprintf(a->tz, sizeof(a->tz), "UTC");
	a->next_fd = -1;
	a->vnext_fd = -1;
	a->next = sv->accts;
	sv->accts = a;
	return a;
}

static void
acct_free(struct sv_acct *a)
{
	snap_unref(a->snap);
	upload_release(&a->last);
	upload_release(&a->figures);
	upload_release(&a->waiting);
	hist_clear(a);
	if (a->next_fd != -1)
		close(a->next_fd);
	vocab_unref(a->vocab);
	upload_release(&a->vwaiting);
	if (a->vnext_fd != -1)
		close(a->vnext_fd);
	free(a->vreason);
	free(a->reason);
	free(a->user);
	free(a->base);
	free(a);
}

/* Unlink a from the list and free it (no job may refer to it). */
static void
acct_remove(struct statsvc *sv, struct sv_acct *a)
{
	struct sv_acct **p;

	for (p = &sv->accts; *p != NULL; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	acct_free(a);
}

/*
 * The meta file (<name>.json)
 */

static void agent_json(struct json_out *j, const char *agent);

static void
upload_json(struct json_out *j, const char *key, const struct sv_upload *u)
{
	json_key(j, key);
	if (u->time == 0) {
		json_null(j);
		return;
	}
	json_obj_begin(j);
	json_key(j, "time");
	json_int(j, u->time);
	json_key(j, "size");
	json_uint(j, u->size);
	json_key(j, "user_agent");
	if (u->agent)
		json_str(j, u->agent);
	else
		json_null(j);
	agent_json(j, u->agent);
	json_obj_end(j);
}

/*
 * "koreader" and "device" from a User-Agent of KOReader's form
 * "KOReader/<version> (<device>; ...)", null when it is not one.
 */
static void
agent_json(struct json_out *j, const char *agent)
{
	const char *v = NULL, *ve = NULL, *dv = NULL, *de = NULL;

	if (agent != NULL && strncmp(agent, "KOReader/", 9) == 0) {
		v = agent + 9;
		ve = v + strcspn(v, " ");
		if (ve[0] == ' ' && ve[1] == '(') {
			dv = ve + 2;
			de = dv + strcspn(dv, ";)");
		}
	}
	json_key(j, "koreader");
	if (v != NULL && ve > v)
		json_strn(j, v, (size_t)(ve - v));
	else
		json_null(j);
	json_key(j, "device");
	if (dv != NULL && de > dv)
		json_strn(j, dv, (size_t)(de - dv));
	else
		json_null(j);
}

/* "uploads": the list, newest first. */
static void
hist_json(struct json_out *j, const struct sv_hist *h, size_t n)
{
	size_t i;

	json_key(j, "uploads");
	json_arr_begin(j);
	for (i = n; i-- > 0;) {
		json_obj_begin(j);
		json_key(j, "time");
		json_int(j, h[i].up.time);
		json_key(j, "size");
		json_uint(j, h[i].up.size);
		json_key(j, "user_agent");
		if (h[i].up.agent)
			json_str(j, h[i].up.agent);
		else
			json_null(j);
		agent_json(j, h[i].up.agent);
		json_key(j, "file");
		json_str(
		    j, h[i].vocab ? STATSVC_VOCAB_NAME : STATSVC_FILE_NAME);
		json_key(j, "accepted");
		json_bool(j, h[i].accepted);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* a's settings and uploads as <name>.json holds them, into b. */
static void
meta_json(const struct sv_acct *a, struct buf *b)
{
	struct json_out j;

	json_out_init(&j, b, false);
	json_obj_begin(&j);
	json_key(&j, "user");
	json_str(&j, a->user);
	json_key(&j, "timezone");
	json_str(&j, a->tz);
	json_key(&j, "day_start");
	json_int(&j, a->day_start);
	upload_json(&j, "last_upload", &a->last);
	upload_json(&j, "figures_from", &a->figures);
	json_key(&j, "refused");
	if (a->reason)
		json_str(&j, a->reason);
	else
		json_null(&j);
	json_key(&j, "vocabulary_refused");
	if (a->vreason)
		json_str(&j, a->vreason);
	else
		json_null(&j);
	json_key(&j, "goals");
	json_obj_begin(&j);
	json_key(&j, "books_per_year");
	json_int(&j, a->goal_books);
	json_key(&j, "minutes_per_day");
	json_int(&j, a->goal_minutes);
	json_obj_end(&j);
	hist_json(&j, a->hist, a->nhist);
	json_obj_end(&j);
}

/* Write a's <name>.json durably. Returns 0, or -1 (logged). */
static int
meta_save(const struct sv_acct *a)
{
	struct buf b = BUF_INIT, path = BUF_INIT, tmp = BUF_INIT;
	struct fileio_bytes bytes;
	const char *op = "";
	int rc;

	meta_json(a, &b);
	buf_addf(&path, "%s.json", a->base);
	buf_addf(&tmp, "%s.json.tmp", a->base);
	bytes.data = b.data;
	bytes.len = b.len;
	rc =
	    fileio_replace(path.data, tmp.data, fileio_fill_bytes, &bytes, &op);
	if (rc == -1)
		log_warn(
		    "cannot save statistics settings '%s' (%s)", path.data, op);
	buf_release(&b);
	buf_release(&path);
	buf_release(&tmp);
	return rc;
}

static void
upload_parse(const struct json_value *v, struct sv_upload *u)
{
	double d;
	struct str s;

	if (v == NULL || v->type != JSON_OBJECT)
		return;
	if (json_number(json_get(v, "time"), false, &d) == 0)
		u->time = (int64_t)d;
	if (json_number(json_get(v, "size"), false, &d) == 0 && d >= 0)
		u->size = (uint64_t)d;
	s = json_get_str(v, "user_agent");
	if (s.p != NULL)
		u->agent = xstrdup(s.p);
}

/*
 * Little-endian encoding of the data file
 */

static void
put_u64(struct buf *b, uint64_t v)
{
	unsigned char c[8];
	int i;

	for (i = 0; i < 8; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, c, 8);
}

static void
put_str(struct buf *b, const char *s)
{
	uint64_t n = strlen(s);
	unsigned char c[4];
	int i;

	for (i = 0; i < 4; i++)
		c[i] = (unsigned char)(n >> (8 * i));
	buf_add(b, c, 4);
	buf_add(b, s, (size_t)n);
}

/* A reader of the data file's bytes; any overrun sets bad. */
struct cursor {
	const unsigned char *p;
	size_t left;
	bool bad;
};

static uint64_t
get_u64(struct cursor *c)
{
	uint64_t v = 0;
	int i;

	if (c->left < 8) {
		c->bad = true;
		return 0;
	}
	for (i = 0; i < 8; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += 8;
	c->left -= 8;
	return v;
}

static char *
get_str(struct cursor *c)
{
	uint32_t n = 0;
	char *s;
	int i;

	if (c->left < 4) {
		c->bad = true;
		return xstrdup("");
	}
	for (i = 0; i < 4; i++)
		n |= (uint32_t)c->p[i] << (8 * i);
	c->p += 4;
	c->left -= 4;
	if (n > STATSDB_MAX_TEXT || n > c->left) {
		c->bad = true;
		return xstrdup("");
	}
	s = xmalloc((size_t)n + 1);
	memcpy(s, c->p, n);
	s[n] = '\0';
	c->p += n;
	c->left -= n;
	return s;
}

/*
 * Set c to the body of a data file (after magic, before the checksum).
 * Returns 0, or -1 when the magic or the checksum is wrong.
 */
static int
cursor_open(struct cursor *c, const char *data, size_t len, const char *magic)
{
	if (len < SV_MAGIC_LEN + 8 || memcmp(data, magic, SV_MAGIC_LEN) != 0)
		return -1;
	c->p = (const unsigned char *)data + len - 8;
	c->left = 8;
	c->bad = false;
	if (get_u64(c) != crc32c(0, data, len - 8))
		return -1;
	c->p = (const unsigned char *)data + SV_MAGIC_LEN;
	c->left = len - 8 - SV_MAGIC_LEN;
	return 0;
}

/* The data file's bytes of db, checksum included. */
static void
snap_encode(const struct statsdb *db, struct buf *b)
{
	const struct statsdb_book *k;
	const struct statsdb_row *r;
	size_t i;

	buf_add(b, SV_MAGIC, SV_MAGIC_LEN);
	put_u64(b, (uint64_t)db->user_version);
	put_u64(b, db->book_rows);
	put_u64(b, db->turn_rows);
	put_u64(b, db->duplicates);
	put_u64(b, db->bad_time);
	put_u64(b, db->bad_rows);
	put_u64(b, db->orphans);
	put_u64(b, db->clamped);
	put_u64(b, db->nbooks);
	put_u64(b, db->nrows);
	for (i = 0; i < db->nbooks; i++) {
		k = &db->books[i];
		put_str(b, k->md5);
		put_str(b, k->title);
		put_str(b, k->authors);
		put_str(b, k->series);
		put_str(b, k->language);
		put_u64(b, (uint64_t)k->pages);
		put_u64(b, (uint64_t)k->last_open);
		put_u64(b, (uint64_t)k->highlights);
		put_u64(b, (uint64_t)k->notes);
	}
	for (i = 0; i < db->nrows; i++) {
		r = &db->rows[i];
		put_u64(b, r->book);
		put_u64(b, (uint64_t)r->page);
		put_u64(b, (uint64_t)r->start);
		put_u64(b, (uint64_t)r->duration);
		put_u64(b, (uint64_t)r->total_pages);
	}
	put_u64(b, crc32c(0, b->data, b->len));
}

/*
 * Decode a data file into *db (zeroed first). Returns 0, or -1 when it is
 * damaged (*db then empty).
 */
static int
snap_decode(const char *data, size_t len, struct statsdb *db)
{
	struct cursor c;
	uint64_t nb, nr;
	size_t i;

	memset(db, 0, sizeof(*db));
	if (cursor_open(&c, data, len, SV_MAGIC) == -1)
		return -1;
	db->user_version = (int64_t)get_u64(&c);
	db->book_rows = get_u64(&c);
	db->turn_rows = get_u64(&c);
	db->duplicates = get_u64(&c);
	db->bad_time = get_u64(&c);
	db->bad_rows = get_u64(&c);
	db->orphans = get_u64(&c);
	db->clamped = get_u64(&c);
	nb = get_u64(&c);
	nr = get_u64(&c);
	if (c.bad || nb > STATSDB_MAX_BOOKS || nr > STATSDB_MAX_ROWS ||
	    nr * 40 > c.left)
		return -1;
	db->books = xcalloc(nb ? nb : 1, sizeof(*db->books));
	db->nbooks = nb;
	for (i = 0; i < nb && !c.bad; i++) {
		db->books[i].md5 = get_str(&c);
		db->books[i].title = get_str(&c);
		db->books[i].authors = get_str(&c);
		db->books[i].series = get_str(&c);
		db->books[i].language = get_str(&c);
		db->books[i].pages = (int64_t)get_u64(&c);
		db->books[i].last_open = (int64_t)get_u64(&c);
		db->books[i].highlights = (int64_t)get_u64(&c);
		db->books[i].notes = (int64_t)get_u64(&c);
	}
	db->nbooks = i;
	if (c.bad || c.left != nr * 40) {
		statsdb_release(db);
		return -1;
	}
	db->rows = xcalloc(nr ? nr : 1, sizeof(*db->rows));
	db->nrows = nr;
	for (i = 0; i < nr; i++) {
		uint64_t book = get_u64(&c);

		if (book >= nb) {
			statsdb_release(db);
			return -1;
		}
		db->rows[i].book = (uint32_t)book;
		db->rows[i].page = (int64_t)get_u64(&c);
		db->rows[i].start = (int64_t)get_u64(&c);
		db->rows[i].duration = (int64_t)get_u64(&c);
		db->rows[i].total_pages = (int64_t)get_u64(&c);
	}
	return 0;
}

/* The vocabulary data file's bytes of v, checksum included. */
static void
vocab_encode(const struct statsdb_vocab *v, struct buf *b)
{
	size_t i;

	buf_add(b, SV_VMAGIC, SV_MAGIC_LEN);
	put_u64(b, (uint64_t)v->user_version);
	put_u64(b, v->word_rows);
	put_u64(b, v->bad_rows);
	put_u64(b, v->bad_time);
	put_u64(b, v->ntitles);
	put_u64(b, v->nwords);
	for (i = 0; i < v->ntitles; i++)
		put_str(b, v->titles[i]);
	for (i = 0; i < v->nwords; i++) {
		put_u64(b, v->words[i].title);
		put_u64(b, (uint64_t)v->words[i].create_time);
		put_u64(b, (uint64_t)v->words[i].due_time);
		put_u64(b, (uint64_t)v->words[i].review_count);
	}
	put_u64(b, crc32c(0, b->data, b->len));
}

/* Decode a vocabulary data file into *v; -1 when damaged (*v empty). */
static int
vocab_decode(const char *data, size_t len, struct statsdb_vocab *v)
{
	struct cursor c;
	uint64_t nt, nw, title;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (cursor_open(&c, data, len, SV_VMAGIC) == -1)
		return -1;
	v->user_version = (int64_t)get_u64(&c);
	v->word_rows = get_u64(&c);
	v->bad_rows = get_u64(&c);
	v->bad_time = get_u64(&c);
	nt = get_u64(&c);
	nw = get_u64(&c);
	if (c.bad || nt > STATSDB_MAX_BOOKS || nw > STATSDB_MAX_WORDS ||
	    nw * 32 > c.left)
		return -1;
	v->titles = xcalloc(nt ? nt : 1, sizeof(*v->titles));
	for (i = 0; i < nt && !c.bad; i++)
		v->titles[i] = get_str(&c);
	v->ntitles = i;
	if (c.bad || c.left != nw * 32) {
		statsdb_vocab_release(v);
		return -1;
	}
	v->words = xcalloc(nw ? nw : 1, sizeof(*v->words));
	v->nwords = nw;
	for (i = 0; i < nw; i++) {
		title = get_u64(&c);
		if (title >= nt && title != STATSDB_NO_TITLE) {
			statsdb_vocab_release(v);
			return -1;
		}
		v->words[i].title = (uint32_t)title;
		v->words[i].create_time = (int64_t)get_u64(&c);
		v->words[i].due_time = (int64_t)get_u64(&c);
		v->words[i].review_count = (int64_t)get_u64(&c);
	}
	return 0;
}

/* A vocabulary of the bytes of a <name>.vocab, or NULL when damaged. */
static struct sv_vocab *
vocab_load(const char *data, size_t len)
{
	struct sv_vocab *vs = xcalloc(1, sizeof(*vs));

	vs->refs = 1;
	if (vocab_decode(data, len, &vs->v) == -1) {
		free(vs);
		return NULL;
	}
	return vs;
}

static int
cmp_md5(const void *x, const void *y)
{
	return strcmp(
	    ((const struct sv_md5 *)x)->md5, ((const struct sv_md5 *)y)->md5);
}

/* A snapshot of db (taken over), with its md5 index. */
static struct sv_snap *
snap_new(struct statsdb *db)
{
	struct sv_snap *s = xcalloc(1, sizeof(*s));
	size_t i;

	s->refs = 1;
	s->db = *db;
	memset(db, 0, sizeof(*db));
	s->by_md5 =
	    xcalloc(s->db.nbooks ? s->db.nbooks : 1, sizeof(*s->by_md5));
	for (i = 0; i < s->db.nbooks; i++) {
		if (s->db.books[i].md5[0] == '\0')
			continue;
		s->by_md5[s->nby_md5].md5 = s->db.books[i].md5;
		s->by_md5[s->nby_md5++].book = (uint32_t)i;
	}
	qsort(s->by_md5, s->nby_md5, sizeof(*s->by_md5), cmp_md5);
	return s;
}

/* The whole of the file at path into *out; -1 when it cannot be read. */
static int
slurp(const char *path, size_t max, struct buf *out)
{
	char block[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1)
		return -1;
	while ((n = read(fd, block, sizeof(block))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || out->len + (size_t)n > max) {
			close(fd);
			return -1;
		}
		buf_add(out, block, (size_t)n);
	}
	close(fd);
	return 0;
}

static void
goals_parse(const struct json_value *v, struct sv_acct *a)
{
	double d;

	if (v == NULL || v->type != JSON_OBJECT)
		return;
	if (json_number(json_get(v, "books_per_year"), false, &d) == 0 &&
	    d >= 0 && d <= STATSVC_MAX_GOAL_BOOKS)
		a->goal_books = (int64_t)d;
	if (json_number(json_get(v, "minutes_per_day"), false, &d) == 0 &&
	    d >= 0 && d <= STATSVC_MAX_GOAL_MINUTES)
		a->goal_minutes = (int64_t)d;
}

/* The list of uploads, newest first in the file. */
static void
hist_parse(const struct json_value *v, struct sv_acct *a)
{
	const struct json_value *e, *acc;
	const struct json_value *items[STATSVC_MAX_UPLOADS];
	struct str file;
	size_t n = 0;

	if (v == NULL || v->type != JSON_ARRAY)
		return;
	for (e = v->child; e != NULL && n < STATSVC_MAX_UPLOADS; e = e->next)
		if (e->type == JSON_OBJECT)
			items[n++] = e;
	while (n-- > 0) {
		struct sv_upload up = {0, 0, NULL};

		upload_parse(items[n], &up);
		acc = json_get(items[n], "accepted");
		file = json_get_str(items[n], "file");
		hist_add(a, &up, acc != NULL && acc->type == JSON_TRUE,
		    file.p != NULL && strcmp(file.p, STATSVC_VOCAB_NAME) == 0);
		upload_release(&up);
	}
}

/* The settings and uploads of a <name>.json (parsed: v) into a. */
static void
meta_parse(const struct json_value *v, struct sv_acct *a)
{
	struct str s;
	double d;

	s = json_get_str(v, "timezone");
	if (s.p != NULL && s.len <= SV_MAX_TZ)
		memcpy(a->tz, s.p, s.len + 1);
	if (json_number(json_get(v, "day_start"), false, &d) == 0 && d >= 0 &&
	    d < 86400)
		a->day_start = (int32_t)d;
	upload_parse(json_get(v, "last_upload"), &a->last);
	upload_parse(json_get(v, "figures_from"), &a->figures);
	s = json_get_str(v, "refused");
	if (s.p != NULL)
		a->reason = xstrdup(s.p);
	s = json_get_str(v, "vocabulary_refused");
	if (s.p != NULL)
		a->vreason = xstrdup(s.p);
	goals_parse(json_get(v, "goals"), a);
	hist_parse(json_get(v, "uploads"), a);
}

/* Load the account whose meta file is dir/name. */
static void
load_one(struct statsvc *sv, const char *name)
{
	struct buf path = BUF_INIT, data = BUF_INIT;
	struct json_arena arena = JSON_ARENA_INIT;
	const struct json_value *v;
	struct sv_acct *a;
	struct statsdb db;
	struct str user;

	buf_addf(&path, "%s/%s", sv->dir, name);
	if (slurp(path.data, SV_MAX_META, &data) == -1 ||
	    (v = json_parse(data.data, data.len, json_arena_alloc, &arena,
	         NULL)) == NULL ||
	    v->type != JSON_OBJECT) {
		log_warnx(
		    "statistics: '%s' cannot be read, left out", path.data);
		goto out;
	}
	user = json_get_str(v, "user");
	if (user.p == NULL || user.len == 0) {
		log_warnx("statistics: '%s' names no account", path.data);
		goto out;
	}
	a = acct_get(sv, user.p, user.len);
	meta_parse(v, a);
	buf_reset(&path);
	buf_addf(&path, "%s.data", a->base);
	buf_reset(&data);
	if (slurp(path.data, (size_t)1 << 31, &data) == 0) {
		if (snap_decode(data.data, data.len, &db) == 0)
			a->snap = snap_new(&db);
		else
			log_warnx(
			    "statistics: '%s' is damaged, left out", path.data);
	}
	buf_reset(&path);
	buf_addf(&path, "%s.vocab", a->base);
	buf_reset(&data);
	if (slurp(path.data, (size_t)1 << 30, &data) == 0 &&
	    (a->vocab = vocab_load(data.data, data.len)) == NULL)
		log_warnx("statistics: '%s' is damaged, left out", path.data);
out:
	json_arena_release(&arena);
	buf_release(&path);
	buf_release(&data);
}

static void
load_all(struct statsvc *sv)
{
	DIR *d = opendir(sv->dir);
	struct dirent *e;
	size_t n;

	if (d == NULL) {
		log_warn("statistics: cannot open '%s'", sv->dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0)
			load_one(sv, e->d_name);
	}
	closedir(d);
}

/*
 * Shared through Redis (statsvc_share)
 *
 * Per account, the hash kosyncd:user:<name>:stats (under the account's
 * prefix: its deletion removes it): "data" the bytes of <name>.data,
 * "vocab" those of <name>.vocab, "meta" the text of <name>.json, "gen"
 * moved by every write of any.
 * The instance that read an upload writes both; every instance compares
 * "gen" with the one it shows when its figures are asked for, and loads
 * both when they differ (on the pool, with the query): no instance reads
 * an upload another has read, and a restart reads none.
 */

static void job_submit(struct statsvc *sv, struct sv_job *job);

/* Set HSET key field value and bump "gen" (one script): the new gen. */
static const char sv_shared_lua[] =
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "return redis.call('HINCRBY', KEYS[1], 'gen', 1)\n";

static void
shared_key(struct buf *k, const char *user)
{
	buf_reset(k);
	buf_adds(k, "kosyncd:user:");
	buf_adds(k, user);
	buf_adds(k, ":stats");
}

/* Write field of user's hash (len bytes): the new gen, or -1 (logged). */
static long long
shared_put(const struct statsvc *sv, const char *user, const char *field,
    const char *data, size_t len)
{
	struct buf k = BUF_INIT;
	const char *argv[6] = {"EVAL", sv_shared_lua, "1", NULL, field, data};
	size_t lens[6];
	redisReply *r;
	long long gen = -1;

	shared_key(&k, user);
	argv[3] = k.data;
	lens[0] = 4;
	lens[1] = strlen(sv_shared_lua);
	lens[2] = 1;
	lens[3] = k.len;
	lens[4] = strlen(field);
	lens[5] = len;
	r = redis_sync_cmd(sv->shared, "statistics", 6, argv, lens);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		gen = r->integer;
	else
		log_warnx("statistics: the %s of '%s' could not be shared "
		          "through redis",
		    field, user);
	freeReplyObject(r);
	buf_release(&k);
	return gen;
}

/*
 * On the pool: the data just read (b) goes to Redis too, as field ("data"
 * or "vocab").
 */
static void
shared_data_save(struct sv_job *job, const char *field, const struct buf *b)
{
	if (job->sv->shared != NULL)
		(void)shared_put(job->sv, job->a->user, field, b->data, b->len);
}

/* On the loop: a's settings and uploads go to Redis, a->rgen follows. */
static void
shared_meta_save(struct statsvc *sv, struct sv_acct *a)
{
	struct buf b = BUF_INIT;
	long long gen;

	if (sv->shared == NULL)
		return;
	meta_json(a, &b);
	gen = shared_put(sv, a->user, "meta", b.data, b.len);
	if (gen > 0)
		a->rgen = gen;
	buf_release(&b);
}

/*
 * On the pool: user's figures in Redis (snapshot, vocabulary, settings,
 * uploads) as
 * an account that is not listed (acct_free frees it), when their
 * generation is not known_gen; else NULL. Redis having none while some
 * were known (the account deleted through another instance) gives an
 * empty account of generation 0.
 */
static struct sv_acct *
shared_fetch(const struct statsvc *sv, const char *user, long long known_gen)
{
	struct json_arena arena = JSON_ARENA_INIT;
	const struct json_value *v;
	struct buf k = BUF_INIT;
	const char *argv[6] = {"HMGET", NULL, "gen", "meta", "data", "vocab"};
	size_t lens[6] = {5, 0, 3, 4, 4, 5};
	struct statsdb db;
	redisReply *r;
	const redisReply *g, *m, *d, *vr;
	struct sv_acct *f = NULL;
	long long gen;

	shared_key(&k, user);
	argv[1] = k.data;
	lens[1] = k.len;
	r = redis_sync_cmd(sv->shared, "statistics", 6, argv, lens);
	buf_release(&k);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		goto out;
	g = r->element[0];
	m = r->element[1];
	d = r->element[2];
	vr = r->element[3];
	gen = g->type == REDIS_REPLY_STRING ? strtoll(g->str, NULL, 10) : 0;
	if (gen == known_gen)
		goto out;
	f = xcalloc(1, sizeof(*f));
	f->user = xstrdup(user);
	f->next_fd = -1;
	f->vnext_fd = -1;
	f->rgen = gen;
	snprintf(f->tz, sizeof(f->tz), "UTC");
	if (m->type == REDIS_REPLY_STRING &&
	    (v = json_parse(m->str, m->len, json_arena_alloc, &arena, NULL)) !=
	        NULL &&
	    v->type == JSON_OBJECT)
		meta_parse(v, f);
	if (d->type == REDIS_REPLY_STRING &&
	    snap_decode(d->str, d->len, &db) == 0)
		f->snap = snap_new(&db);
	if (vr->type == REDIS_REPLY_STRING)
		f->vocab = vocab_load(vr->str, vr->len);
out:
	freeReplyObject(r);
	json_arena_release(&arena);
	return f;
}

/* Set the fields given when the hash has no "meta"; bump "gen". */
static const char sv_share_files_lua[] =
    "if redis.call('HEXISTS', KEYS[1], 'meta') == 1 then return 0 end\n"
    "for i = 1, #ARGV, 2 do\n"
    "  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[1], 'gen', 1)\n"
    "return 1\n";

int
statsvc_share_files(
    const struct config *cfg, const char *data_dir, struct str user)
{
	static const char *const ext[3] = {".json", ".data", ".vocab"};
	static const char *const field[3] = {"meta", "data", "vocab"};
	static const size_t max[3] = {
	    SV_MAX_META, (size_t)1 << 31, (size_t)1 << 30};
	struct buf dir = BUF_INIT, base = BUF_INIT, path = BUF_INIT,
	           k = BUF_INIT;
	struct buf data[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
	const char *argv[10];
	size_t lens[10];
	redisReply *r = NULL;
	int argc = 4, i, rc = -1;

	buf_adds(&dir, data_dir);
	buf_adds(&dir, "/stats");
	acct_base(&base, dir.data, user.p, user.len);
	for (i = 0; i < 3; i++) {
		buf_reset(&path);
		buf_adds(&path, base.data);
		buf_adds(&path, ext[i]);
		if (slurp(path.data, max[i], &data[i]) == 0)
			continue;
		if (errno != ENOENT)
			goto out;
		if (i == 0) { /* nothing read of the account's files */
			rc = 0;
			goto out;
		}
	}
	buf_adds(&k, "kosyncd:user:");
	buf_add(&k, user.p, user.len);
	buf_adds(&k, ":stats");
	argv[0] = "EVAL";
	argv[1] = sv_share_files_lua;
	argv[2] = "1";
	argv[3] = k.data;
	lens[0] = 4;
	lens[1] = strlen(sv_share_files_lua);
	lens[2] = 1;
	lens[3] = k.len;
	for (i = 0; i < 3; i++) {
		if (i > 0 && data[i].len == 0)
			continue;
		argv[argc] = field[i];
		lens[argc++] = strlen(field[i]);
		argv[argc] = data[i].data;
		lens[argc++] = data[i].len;
	}
	r = redis_sync_cmd(cfg, "statistics", argc, argv, lens);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		rc = (int)r->integer;
	else if (r != NULL)
		errno = EIO;
out:
	freeReplyObject(r);
	for (i = 0; i < 3; i++)
		buf_release(&data[i]);
	buf_release(&dir);
	buf_release(&base);
	buf_release(&path);
	buf_release(&k);
	return rc;
}

/* The query's copy of the uploads list (job->qhist) dropped. */
static void
job_hist_release(struct sv_job *job)
{
	size_t i;

	for (i = 0; i < job->nqhist; i++)
		upload_release(&job->qhist[i].up);
	free(job->qhist);
	job->qhist = NULL;
	job->nqhist = 0;
}

/* a's uploads list copied for the query (replacing any copy). */
static void
job_hist_copy(struct sv_job *job, const struct sv_acct *a)
{
	size_t i;

	job_hist_release(job);
	if (a->nhist == 0)
		return;
	job->qhist = xcalloc(a->nhist, sizeof(*job->qhist));
	for (i = 0; i < a->nhist; i++) {
		upload_copy(&job->qhist[i].up, &a->hist[i].up);
		job->qhist[i].accepted = a->hist[i].accepted;
		job->qhist[i].vocab = a->hist[i].vocab;
	}
	job->nqhist = a->nhist;
}

/* f's goals, uploads list and vocabulary refusal into a. */
static void
shared_copy_more(struct sv_acct *a, const struct sv_acct *f)
{
	size_t i;

	a->goal_books = f->goal_books;
	a->goal_minutes = f->goal_minutes;
	free(a->vreason);
	a->vreason = f->vreason ? xstrdup(f->vreason) : NULL;
	hist_clear(a);
	for (i = 0; i < f->nhist; i++)
		hist_add(
		    a, &f->hist[i].up, f->hist[i].accepted, f->hist[i].vocab);
}

/* f's settings, uploads and refusal into those of an account or a job. */
static void
shared_copy(char *tz, int32_t *day_start, struct sv_upload *last,
    struct sv_upload *figures, char **reason, const struct sv_acct *f)
{
	memcpy(tz, f->tz, SV_MAX_TZ + 1);
	*day_start = f->day_start;
	upload_release(last);
	upload_release(figures);
	upload_copy(last, &f->last);
	upload_copy(figures, &f->figures);
	free(*reason);
	*reason = f->reason ? xstrdup(f->reason) : NULL;
}

/*
 * On the pool, before a query: when Redis has another generation of the
 * account's figures than the one known, answer from them (job->fresh).
 */
static void
shared_refresh(struct sv_job *job)
{
	struct sv_acct *f;

	if (job->sv->shared == NULL || job->quser == NULL)
		return;
	f = shared_fetch(job->sv, job->quser, job->rgen);
	if (f == NULL)
		return;
	job->fresh = f;
	shared_copy(job->tz, &job->day_start, &job->qlast, &job->qfigures,
	    &job->qreason, f);
	job->goal_books = f->goal_books;
	job->goal_minutes = f->goal_minutes;
	if (job->q.view == STATSVC_OVERVIEW)
		job_hist_copy(job, f);
	/* Answer from f's; the references are dropped on the loop. */
	job->qheld = job->qsnap;
	job->qsnap = f->snap;
	if (job->q.view == STATSVC_VOCAB) {
		free(job->qreason);
		job->qreason = f->vreason ? xstrdup(f->vreason) : NULL;
	}
	job->qvheld = job->qvocab;
	job->qvocab = f->vocab;
}

/*
 * On the loop: f, fetched when the account showed generation known, becomes
 * its figures, unless they changed meanwhile (a read or a setting here).
 */
static void
shared_apply(struct statsvc *sv, struct sv_acct *f, long long known)
{
	struct sv_acct *a = acct_get(sv, f->user, strlen(f->user));

	if (a->rgen != known || a->reading != NULL)
		return;
	snap_unref(a->snap);
	a->snap = f->snap; /* NULL too: Redis has none */
	f->snap = NULL;
	vocab_unref(a->vocab);
	a->vocab = f->vocab;
	f->vocab = NULL;
	shared_copy(a->tz, &a->day_start, &a->last, &a->figures, &a->reason, f);
	shared_copy_more(a, f);
	a->rgen = f->rgen;
}

/* On the loop, after a query: what shared_refresh loaded is kept. */
static void
shared_install(struct sv_job *job)
{
	if (job->fresh != NULL)
		shared_apply(job->sv, job->fresh, job->rgen);
}

/*
 * On the pool, at the start: every account's figures in Redis (SCAN of
 * the hashes kosyncd:user:*:stats), as a list in job->fresh.
 */
static void
shared_load_work(uv_work_t *w)
{
	struct sv_job *job = w->data;
	const char *argv[8] = {"SCAN", NULL, "MATCH", "kosyncd:user:*:stats",
	    "COUNT", "1000", "TYPE", "hash"};
	size_t lens[8], i, n;
	char cursor[32] = "0";
	struct buf user = BUF_INIT;
	struct sv_acct *f;
	redisReply *r;
	const redisReply *keys;

	do {
		argv[1] = cursor;
		for (i = 0; i < 8; i++)
			lens[i] = strlen(argv[i]);
		r = redis_sync_cmd(
		    job->sv->shared, "statistics", 8, argv, lens);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		keys = r->element[1];
		for (i = 0; i < keys->elements; i++) {
			n = keys->element[i]->len;
			if (keys->element[i]->type != REDIS_REPLY_STRING ||
			    n <= 13 + 6)
				continue;
			buf_reset(&user);
			buf_add(&user, keys->element[i]->str + 13, n - 13 - 6);
			f = shared_fetch(job->sv, user.data, 0);
			if (f != NULL) {
				f->next = job->fresh;
				job->fresh = f;
			}
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	buf_release(&user);
}

static void
shared_load_finish(struct sv_job *job, bool cancelled)
{
	struct sv_acct *f, *a;
	size_t n = 0;

	while ((f = job->fresh) != NULL) {
		job->fresh = f->next;
		if (!cancelled && !job->sv->closing) {
			a = acct_get(job->sv, f->user, strlen(f->user));
			if (a->rgen == -1)
				a->rgen = 0; /* Redis's replace the files' */
			shared_apply(job->sv, f, 0);
			n++;
		}
		acct_free(f);
	}
	if (n > 0)
		log_info("statistics of %zu accounts loaded from redis", n);
}

void
statsvc_share(struct statsvc *sv, const struct config *cfg)
{
	struct sv_job *job = xcalloc(1, sizeof(*job));
	struct sv_acct *a;

	sv->shared = cfg;
	/* What the data directory held is checked against Redis when used. */
	for (a = sv->accts; a != NULL; a = a->next)
		a->rgen = -1;
	job->kind = SV_QUERY;
	job->run = shared_load_work;
	job->finish = shared_load_finish;
	buf_init(&job->out);
	job_submit(sv, job);
}

/*
 * Reads
 */

static void sv_release(struct statsvc *sv);
static void job_submit(struct statsvc *sv, struct sv_job *job);
static void job_pump(struct statsvc *sv);
static void read_start(struct statsvc *sv, struct sv_acct *a);
static void rescan_next(struct statsvc *sv);

/*
 * On the pool: write b durably as job's data file. Returns 0, or -1 with
 * the reason set.
 */
static int
data_write(struct sv_job *job, const struct buf *b)
{
	struct buf tmp = BUF_INIT;
	struct fileio_bytes bytes;
	const char *op = "";
	int rc;

	buf_addf(&tmp, "%s.tmp", job->data_path);
	bytes.data = b->data;
	bytes.len = b->len;
	rc = fileio_replace(
	    job->data_path, tmp.data, fileio_fill_bytes, &bytes, &op);
	if (rc == -1)
		buf_addf(&job->reason, "the server could not keep it (%s: %s)",
		    op, strerror(errno));
	buf_release(&tmp);
	return rc;
}

/* On the pool: read a vocabulary upload, write its data file. */
static void
vocab_work(struct sv_job *job)
{
	struct statsdb_vocab v;
	struct buf b = BUF_INIT;

	if (statsdb_vocab_read_fd(
	        job->fd, job->up.time, NULL, &v, &job->reason) == -1)
		return;
	vocab_encode(&v, &b);
	if (data_write(job, &b) == -1) {
		statsdb_vocab_release(&v);
	} else {
		job->vsnap = xcalloc(1, sizeof(*job->vsnap));
		job->vsnap->refs = 1;
		job->vsnap->v = v;
		shared_data_save(job, "vocab", &b);
	}
	buf_release(&b);
}

/* Back on the loop: a vocabulary read's result replaces a's. */
static void
vocab_finish(struct sv_job *job, struct sv_acct *a)
{
	if (!job->listed)
		hist_add(a, &job->up, job->vsnap != NULL, true);
	free(a->vreason);
	a->vreason = NULL;
	if (job->vsnap != NULL) {
		vocab_unref(a->vocab);
		a->vocab = job->vsnap;
		log_info("vocabulary of '%s' read: %zu words", a->user,
		    a->vocab->v.nwords);
	} else {
		a->vreason = xstrdup(job->reason.data);
		log_info("vocabulary of '%s' refused: %s", a->user, a->vreason);
	}
}

/* On the pool: read the upload, write the data file of what it holds. */
static void
read_work(uv_work_t *w)
{
	struct sv_job *job = w->data;
	struct statsdb db;
	struct buf b = BUF_INIT;

	if (job->vocab) {
		vocab_work(job);
		return;
	}
	if (statsdb_read_fd(job->fd, job->up.time, NULL, &db, &job->reason) ==
	    -1) {
		statsdb_release(&db);
		return;
	}
	snap_encode(&db, &b);
	if (data_write(job, &b) == -1) {
		statsdb_release(&db);
	} else {
		job->snap = snap_new(&db);
		shared_data_save(job, "data", &b);
	}
	buf_release(&b);
}

static void
read_finish(struct sv_job *job, bool cancelled)
{
	struct statsvc *sv = job->sv;
	struct sv_acct *a = job->a;
	bool again, scanned = a == sv->scanned;

	a->reading = NULL;
	if (cancelled || job->gen != a->gen || sv->closing) {
		/*
		 * The account was deleted meanwhile: so is what was written
		 * (no other read of the name ran since; a new account of the
		 * name has no figures yet).
		 */
		if (job->gen != a->gen &&
		    (job->vocab ? a->vocab == NULL : a->snap == NULL))
			unlink(job->data_path);
		snap_unref(job->snap);
		vocab_unref(job->vsnap);
	} else if (job->vocab) {
		vocab_finish(job, a);
		(void)meta_save(a);
		shared_meta_save(sv, a);
		if (sv->on_read != NULL)
			sv->on_read(sv->on_read_arg, a->user, strlen(a->user));
	} else {
		upload_release(&a->last);
		upload_copy(&a->last, &job->up);
		if (!job->listed)
			hist_add(a, &job->up, job->snap != NULL, false);
		free(a->reason);
		a->reason = NULL;
		if (job->snap != NULL) {
			snap_unref(a->snap);
			a->snap = job->snap;
			upload_release(&a->figures);
			upload_copy(&a->figures, &job->up);
			log_info("statistics of '%s' read: %zu books, %zu "
			         "page turns",
			    a->user, a->snap->db.nbooks, a->snap->db.nrows);
		} else {
			a->reason = xstrdup(job->reason.data);
			log_info("statistics of '%s' refused: %s", a->user,
			    a->reason);
		}
		(void)meta_save(a);
		shared_meta_save(sv, a);
		if (sv->on_read != NULL)
			sv->on_read(sv->on_read_arg, a->user, strlen(a->user));
	}
	close(job->fd);
	upload_release(&job->up);
	buf_release(&job->reason);
	free(job->data_path);
	again = !a->deleted && (a->next_fd != -1 || a->vnext_fd != -1) &&
	        !sv->closing;
	if (scanned && !again) {
		/* Its files were read again: the next account's turn. */
		sv->scanned = NULL;
		rescan_next(sv);
	}
	if (a->deleted)
		acct_remove(sv, a);
	else if (again)
		read_start(sv, a); /* an upload came while this one was read */
}

/*
 * Queue the read of a's waiting upload (none of a's runs): the
 * statistics' first, else the vocabulary's.
 */
static void
read_start(struct statsvc *sv, struct sv_acct *a)
{
	struct sv_job *job = xcalloc(1, sizeof(*job));
	struct buf p = BUF_INIT;
	size_t n;

	job->kind = SV_READ;
	job->run = read_work;
	job->finish = read_finish;
	job->a = a;
	job->vocab = a->next_fd == -1;
	job->listed = job->vocab ? a->vlisted : a->listed;
	*(job->vocab ? &a->vlisted : &a->listed) = false;
	if (job->vocab) {
		job->fd = a->vnext_fd;
		job->up = a->vwaiting;
		memset(&a->vwaiting, 0, sizeof(a->vwaiting));
		a->vnext_fd = -1;
	} else {
		job->fd = a->next_fd;
		job->up = a->waiting;
		memset(&a->waiting, 0, sizeof(a->waiting));
		a->next_fd = -1;
	}
	buf_init(&job->reason);
	buf_addf(&p, "%s.%s", a->base, job->vocab ? "vocab" : "data");
	job->data_path = buf_detach(&p, &n);
	a->reading = job;
	job->gen = a->gen;
	job_submit(sv, job);
}

void
statsvc_uploaded(struct statsvc *sv, const char *user, size_t user_len,
    const char *name, int fd, uint64_t size, const char *agent,
    size_t agent_len)
{
	struct sv_acct *a;
	struct sv_upload *w;
	int *next_fd;

	if (sv == NULL || sv->closing || name == NULL ||
	    (strcmp(name, STATSVC_FILE_NAME) != 0 &&
	        strcmp(name, STATSVC_VOCAB_NAME) != 0)) {
		close(fd);
		return;
	}
	a = acct_get(sv, user, user_len);
	if (strcmp(name, STATSVC_VOCAB_NAME) == 0) {
		w = &a->vwaiting;
		next_fd = &a->vnext_fd;
		a->vlisted = false;
	} else {
		w = &a->waiting;
		next_fd = &a->next_fd;
		a->listed = false;
	}
	/* Only the latest upload waiting is worth reading. */
	if (*next_fd != -1)
		close(*next_fd);
	upload_release(w);
	*next_fd = fd;
	w->time = (int64_t)time(NULL);
	w->size = size;
	if (agent != NULL) {
		if (agent_len > STATSVC_MAX_AGENT)
			agent_len = STATSVC_MAX_AGENT;
		w->agent = xmalloc(agent_len + 1);
		memcpy(w->agent, agent, agent_len);
		w->agent[agent_len] = '\0';
		/* Kept as text: a JSON string, never raw bytes. */
		if (!json_utf8_valid(w->agent, agent_len)) {
			free(w->agent);
			w->agent = NULL;
		}
	}
	if (a->reading == NULL)
		read_start(sv, a);
	/* Otherwise it is read when the one queued or running ends. */
}

/*
 * Derived data made again (statsvc_rescan)
 *
 * One account at a time: a job on the pool finds the newest of its files
 * in its WebDAV tree (the walk never runs on the loop), the loop compares
 * them with what the account shows and queues the reads of those it does
 * not show; the next account is looked at once those reads end.
 */

/*
 * Whether the file st must be read again: the account shows nothing of
 * its kind (has: figures, refused: a refusal), or it is not the upload
 * read last (known; time 0 when none is recorded): another size, or
 * changed after that upload was read.
 */
static bool
rescan_needed(const struct sv_upload *known, bool has, bool refused,
    const struct stat *st)
{
	if (!has && !refused)
		return true;
	if (known->time == 0)
		return false;
	return (uint64_t)st->st_size != known->size ||
	       (int64_t)st->st_mtime > known->time;
}

/* Whether the file st is the upload known (whose derived data was lost). */
static bool
rescan_is_known(const struct sv_upload *known, const struct stat *st)
{
	return known->time != 0 && (uint64_t)st->st_size == known->size &&
	       (int64_t)st->st_mtime <= known->time;
}

/* The vocabulary upload a's list has last (time 0: none). */
static const struct sv_upload *
vocab_last(const struct sv_acct *a)
{
	static const struct sv_upload none;
	size_t i;

	for (i = a->nhist; i-- > 0;)
		if (a->hist[i].vocab)
			return &a->hist[i].up;
	return &none;
}

/*
 * Make the file at fd (taken; -1: none) found in a's tree a's waiting
 * file of its kind when it must be read again. True when it was.
 */
static bool
rescan_queue(struct sv_acct *a, bool vocab, int fd, const struct stat *st)
{
	const struct sv_upload *known = vocab ? vocab_last(a) : &a->last;
	bool has = vocab ? a->vocab != NULL : a->snap != NULL;
	bool refused = (vocab ? a->vreason : a->reason) != NULL;
	struct sv_upload *w = vocab ? &a->vwaiting : &a->waiting;
	int *next_fd = vocab ? &a->vnext_fd : &a->next_fd;
	bool *listed = vocab ? &a->vlisted : &a->listed;

	if (fd == -1)
		return false;
	if (*next_fd != -1 || !rescan_needed(known, has, refused, st)) {
		close(fd);
		return false;
	}
	upload_release(w);
	*listed = rescan_is_known(known, st);
	if (*listed) {
		upload_copy(w, known);
	} else {
		w->time = (int64_t)st->st_mtime;
		w->size = (uint64_t)st->st_size;
	}
	*next_fd = fd;
	log_info("statistics: the %s of '%s' is read again (%s)",
	    vocab ? STATSVC_VOCAB_NAME : STATSVC_FILE_NAME, a->user,
	    has || refused ? "changed since it was read"
	                   : "nothing kept of it");
	return true;
}

/* On the pool: the newest files of the account job->quser's tree. */
static void
rescan_work(uv_work_t *w)
{
	struct sv_job *job = w->data;
	struct str user = {job->quser, strlen(job->quser)};
	int root = davfs_root_find(job->sv->data_dir, user);

	if (root == -1) {
		job->status = errno == ENOENT ? 0 : errno;
		return;
	}
	job->sfd = davfs_find_newest(
	    root, STATSVC_FILE_NAME, STATSVC_SCAN_ENTRIES, &job->sst);
	if (job->sfd == -1 && errno != ENOENT)
		job->status = errno;
	job->vfd = davfs_find_newest(
	    root, STATSVC_VOCAB_NAME, STATSVC_SCAN_ENTRIES, &job->vst);
	if (job->vfd == -1 && errno != ENOENT)
		job->status = errno;
	close(root);
}

/* Back on the loop: queue the reads the files found need, or go on. */
static void
rescan_finish(struct sv_job *job, bool cancelled)
{
	struct statsvc *sv = job->sv;
	struct sv_acct *a;
	bool queued = false;

	if (cancelled || sv->closing) {
		if (job->sfd != -1)
			close(job->sfd);
		if (job->vfd != -1)
			close(job->vfd);
		free(job->quser);
		return;
	}
	if (job->status != 0)
		log_warnx("statistics: the WebDAV tree of '%s' cannot be "
		          "searched: %s",
		    job->quser, strerror(job->status));
	if (job->sfd != -1 || job->vfd != -1) {
		a = acct_get(sv, job->quser, strlen(job->quser));
		if (a->reading != NULL) {
			/* An upload is being read: it is newer. */
			if (job->sfd != -1)
				close(job->sfd);
			if (job->vfd != -1)
				close(job->vfd);
		} else {
			queued = rescan_queue(a, false, job->sfd, &job->sst);
			queued = rescan_queue(a, true, job->vfd, &job->vst) ||
			         queued;
		}
		if (queued) {
			sv->scanned = a;
			read_start(sv, a);
		}
	}
	free(job->quser);
	if (!queued)
		rescan_next(sv);
}

/* Look at the next account's tree (statsvc_rescan), if any. */
static void
rescan_next(struct statsvc *sv)
{
	struct sv_job *job;

	if (sv->closing || sv->iscan >= sv->nscan)
		return;
	job = xcalloc(1, sizeof(*job));
	job->kind = SV_QUERY;
	job->quser = sv->scan[sv->iscan];
	sv->scan[sv->iscan++] = NULL;
	job->sfd = job->vfd = -1;
	job->run = rescan_work;
	job->finish = rescan_finish;
	buf_init(&job->out);
	job_submit(sv, job);
}

/* davfs_root_fn: list an account that has a tree. */
static void
rescan_add(void *arg, struct str user, int dirfd)
{
	struct statsvc *sv = arg;

	if (dirfd == -1)
		return;
	if ((sv->nscan & (sv->nscan - 1)) == 0)
		sv->scan = xrealloc(
		    sv->scan, (sv->nscan ? 2 * sv->nscan : 1) * sizeof(char *));
	sv->scan[sv->nscan++] = xmemdup0(user.p, user.len);
}

void
statsvc_rescan(struct statsvc *sv, const char *data_dir)
{
	if (sv->data_dir != NULL)
		return;
	sv->data_dir = xstrdup(data_dir);
	if (davfs_each_root(data_dir, rescan_add, sv) == -1)
		log_warn("statistics: cannot list the WebDAV trees of '%s'",
		    data_dir);
	rescan_next(sv);
}

/*
 * Accounts, settings, titles
 */

void
statsvc_forget(struct statsvc *sv, const char *user, size_t user_len)
{
	struct sv_acct *a;
	struct buf p = BUF_INIT;

	if (sv == NULL || (a = acct_find(sv, user, user_len)) == NULL)
		return;
	buf_addf(&p, "%s.json", a->base);
	if (unlink(p.data) == -1 && errno != ENOENT)
		log_warn("cannot remove '%s'", p.data);
	buf_reset(&p);
	buf_addf(&p, "%s.data", a->base);
	if (unlink(p.data) == -1 && errno != ENOENT)
		log_warn("cannot remove '%s'", p.data);
	buf_reset(&p);
	buf_addf(&p, "%s.vocab", a->base);
	if (unlink(p.data) == -1 && errno != ENOENT)
		log_warn("cannot remove '%s'", p.data);
	(void)fileio_fsync_dir(sv->dir);
	buf_release(&p);
	if (a->reading == NULL) {
		acct_remove(sv, a);
		return;
	}
	/* Cleared, kept until its read ends (see struct sv_acct). */
	a->deleted = true;
	a->gen++;
	snap_unref(a->snap);
	a->snap = NULL;
	upload_release(&a->last);
	upload_release(&a->figures);
	upload_release(&a->waiting);
	if (a->next_fd != -1)
		close(a->next_fd);
	a->next_fd = -1;
	free(a->reason);
	a->reason = NULL;
	snprintf(a->tz, sizeof(a->tz), "UTC");
	a->day_start = 0;
	a->goal_books = a->goal_minutes = 0;
	hist_clear(a);
	vocab_unref(a->vocab);
	a->vocab = NULL;
	upload_release(&a->vwaiting);
	if (a->vnext_fd != -1)
		close(a->vnext_fd);
	a->vnext_fd = -1;
	free(a->vreason);
	a->vreason = NULL;
}

void
statsvc_on_read(struct statsvc *sv, statsvc_read_fn *fn, void *arg)
{
	sv->on_read = fn;
	sv->on_read_arg = arg;
}

void
statsvc_each(
    struct statsvc *sv, void (*fn)(void *arg, const char *user), void *arg)
{
	const struct sv_acct *a;
	char **names;
	size_t n = 0, i;

	for (a = sv->accts; a != NULL; a = a->next)
		n++;
	names = xcalloc(n ? n : 1, sizeof(*names));
	n = 0;
	for (a = sv->accts; a != NULL; a = a->next)
		if (!a->deleted)
			names[n++] = xstrdup(a->user);
	for (i = 0; i < n; i++) {
		fn(arg, names[i]);
		free(names[i]);
	}
	free(names);
}

bool
statsvc_has_books(const struct statsvc *sv, const char *user, size_t user_len)
{
	const struct sv_acct *a = sv ? acct_find(sv, user, user_len) : NULL;

	return a != NULL && a->snap != NULL && a->snap->nby_md5 > 0;
}

bool
statsvc_title(const struct statsvc *sv, const char *user, size_t user_len,
    const char *md5, size_t md5_len, const char **title, const char **authors)
{
	const struct sv_acct *a = sv ? acct_find(sv, user, user_len) : NULL;
	const struct statsdb_book *k;
	size_t lo = 0, hi, mid;
	int c;

	if (a == NULL || a->snap == NULL)
		return false;
	hi = a->snap->nby_md5;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		k = &a->snap->db.books[a->snap->by_md5[mid].book];
		c = strncmp(k->md5, md5, md5_len);
		if (c == 0 && k->md5[md5_len] != '\0')
			c = 1;
		if (c == 0) {
			if (k->title[0] == '\0')
				return false;
			*title = k->title;
			*authors = k->authors;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The zone called name, or NULL with err set. */
static struct tz *
zone_load(const char *name, struct buf *err)
{
	return strcmp(name, "UTC") == 0 ? tz_utc() : tz_load(name, err);
}

int
statsvc_settings_set(struct statsvc *sv, const char *user, size_t user_len,
    const char *tzname, int32_t day_start, int64_t goal_books,
    int64_t goal_minutes, struct buf *err)
{
	struct sv_acct *a;
	struct tz *tz;
	char old_tz[SV_MAX_TZ + 1];
	int32_t old_start;
	int64_t old_books, old_minutes;

	if (strlen(tzname) > SV_MAX_TZ) {
		buf_adds(err, "unknown time zone");
		return -1;
	}
	tz = zone_load(tzname, err);
	if (tz == NULL)
		return -1;
	tz_free(tz);
	a = acct_get(sv, user, user_len);
	memcpy(old_tz, a->tz, sizeof(old_tz));
	old_start = a->day_start;
	old_books = a->goal_books;
	old_minutes = a->goal_minutes;
	snprintf(a->tz, sizeof(a->tz), "%s", tzname);
	a->day_start = day_start;
	if (goal_books >= 0)
		a->goal_books = goal_books;
	if (goal_minutes >= 0)
		a->goal_minutes = goal_minutes;
	if (meta_save(a) == -1) {
		memcpy(a->tz, old_tz, sizeof(old_tz));
		a->day_start = old_start;
		a->goal_books = old_books;
		a->goal_minutes = old_minutes;
		buf_adds(err, "the settings could not be saved");
		return -1;
	}
	shared_meta_save(sv, a);
	return 0;
}

/*
 * Queries
 */

static void
query_json(struct sv_job *job, struct json_out *j, const struct statscalc *c,
    const struct statscalc_opts *o)
{
	const struct statsdb *db = job->qsnap ? &job->qsnap->db : NULL;
	size_t i, k;

	json_obj_begin(j);
	json_key(j, "timezone");
	json_str(j, job->tz);
	json_key(j, "settings");
	statscalc_json_settings(j, o, job->tz);
	switch (job->q.view) {
	case STATSVC_OVERVIEW:
		json_key(j, "overview");
		if (db)
			statscalc_json_overview(j, c);
		else
			json_null(j);
		json_key(j, "books");
		json_int(j, db ? (int64_t)db->nbooks : 0);
		json_key(j, "file");
		if (db)
			statscalc_json_file(j, db);
		else
			json_null(j);
		upload_json(j, "last_upload", &job->qlast);
		upload_json(j, "figures_from", &job->qfigures);
		json_key(j, "refused");
		if (job->qreason)
			json_str(j, job->qreason);
		else
			json_null(j);
		json_key(j, "goals");
		statscalc_json_goals(j, c, o);
		hist_json(j, job->qhist, job->nqhist);
		break;
	case STATSVC_DAYS:
		json_key(j, "days");
		json_arr_begin(j);
		for (i = 0; db && i < c->ndays; i++)
			if (c->days[i].day >= job->q.from &&
			    c->days[i].day <= job->q.to)
				statscalc_json_day(j, &c->days[i]);
		json_arr_end(j);
		break;
	case STATSVC_BOOKS:
		json_key(j, "books");
		json_arr_begin(j);
		for (i = 0; db && i < c->nbooks; i++)
			statscalc_json_book(j, db, c, i);
		json_arr_end(j);
		break;
	case STATSVC_PERIODS:
		json_key(j, "punchcard");
		statscalc_json_punch(j, c);
		json_key(j, "months");
		statscalc_json_spans(j, c, o, false);
		json_key(j, "years");
		statscalc_json_spans(j, c, o, true);
		break;
	case STATSVC_BOOK:
		/* query_work found the book: job->book. */
		i = (size_t)job->book;
		json_key(j, "book");
		statscalc_json_book(j, db, c, i);
		json_key(j, "days");
		statscalc_json_bookdays(j, db, c, i);
		json_key(j, "sessions");
		json_arr_begin(j);
		for (k = 0; k < (size_t)c->books[i].sessions; k++)
			statscalc_json_session(
			    j, db, &c->sessions[c->books[i].session0 + k]);
		json_arr_end(j);
		break;
	case STATSVC_VOCAB:
		json_key(j, "vocabulary");
		if (job->qvocab)
			statscalc_json_vocab(j, &job->qvocab->v, o);
		else
			json_null(j);
		json_key(j, "refused");
		if (job->qreason)
			json_str(j, job->qreason);
		else
			json_null(j);
		break;
	case STATSVC_SESSIONS:
		json_key(j, "sessions");
		json_arr_begin(j);
		for (i = 0; db && i < c->nsessions; i++)
			statscalc_json_session(j, db, &c->sessions[i]);
		json_arr_end(j);
		break;
	}
	json_obj_end(j);
}

/* The book of md5 in db, or -1. */
static int64_t
book_find(const struct sv_snap *snap, const char *md5)
{
	struct sv_md5 key = {md5, 0};
	const struct sv_md5 *m;

	if (snap == NULL || md5 == NULL || md5[0] == '\0')
		return -1;
	m = bsearch(
	    &key, snap->by_md5, snap->nby_md5, sizeof(*snap->by_md5), cmp_md5);
	return m != NULL ? (int64_t)m->book : -1;
}

static int
cmp_finished(const void *x, const void *y)
{
	return strcmp(((const struct statsvc_finished *)x)->md5,
	    ((const struct statsvc_finished *)y)->md5);
}

/* statscalc_finished_fn on the query's sorted list of finished books. */
static bool
query_finished(void *ctx, const char *md5, int64_t *when)
{
	const struct sv_job *job = ctx;
	struct statsvc_finished key = {md5, 0};
	const struct statsvc_finished *f;

	if (md5[0] == '\0')
		return false;
	f = bsearch(
	    &key, job->fin, job->q.nfinished, sizeof(*job->fin), cmp_finished);
	if (f == NULL)
		return false;
	*when = f->when;
	return true;
}

/* On the pool: compute the figures, write the view. */
static void
query_work(uv_work_t *w)
{
	struct sv_job *job = w->data;
	static const struct statsdb empty;
	struct statscalc_opts o;
	struct statscalc c;
	struct json_out j;
	struct buf err = BUF_INIT;
	struct tz *tz;

	shared_refresh(job);
	tz = zone_load(job->tz, &err);
	if (tz == NULL) {
		/* tzdata changed since the zone was chosen. */
		job->status = 500;
		buf_addf(&job->out, "the time zone '%s' cannot be loaded: %s",
		    job->tz, err.data);
		buf_release(&err);
		return;
	}
	statscalc_opts_default(&o, job->q.now);
	o.tz = tz;
	o.day_start = job->day_start;
	o.goal_books = job->goal_books;
	o.goal_minutes = job->goal_minutes;
	if (job->q.finished != NULL) {
		o.finished = query_finished;
		o.finished_ctx = job;
	}
	if (job->q.view == STATSVC_BOOK &&
	    (job->book = book_find(job->qsnap, job->md5)) < 0) {
		job->status = 404;
		buf_adds(&job->out, "No book of that md5 in the statistics.");
		tz_free(tz);
		buf_release(&err);
		return;
	}
	statscalc_run(job->qsnap ? &job->qsnap->db : &empty, &o, &c);
	if (job->q.format == STATSVC_CSV) {
		if (job->q.view == STATSVC_SESSIONS)
			statscalc_csv_sessions(&job->out, &o,
			    job->qsnap ? &job->qsnap->db : &empty, &c);
		else
			statscalc_csv_days(
			    &job->out, &c, job->q.from, job->q.to);
	} else {
		json_out_init(&j, &job->out, false);
		query_json(job, &j, &c, &o);
	}
	job->status = 200;
	statscalc_release(&c);
	tz_free(tz);
	buf_release(&err);
}

static void
query_finish(struct sv_job *job, bool cancelled)
{
	size_t i;

	if (cancelled || job->sv->closing)
		job->cb(job->arg, 503, "the server is shutting down", 27);
	else
		job->cb(job->arg, job->status, job->out.data, job->out.len);
	if (!cancelled && !job->sv->closing)
		shared_install(job);
	if (job->fresh != NULL) {
		acct_free(job->fresh);
		job->qsnap = job->qheld;
		job->qvocab = job->qvheld;
	}
	free(job->quser);
	snap_unref(job->qsnap);
	vocab_unref(job->qvocab);
	upload_release(&job->qlast);
	upload_release(&job->qfigures);
	free(job->qreason);
	free(job->md5);
	job_hist_release(job);
	buf_release(&job->out);
	for (i = 0; i < job->q.nfinished; i++)
		free((char *)(uintptr_t)job->fin[i].md5);
	free(job->fin);
}

void
statsvc_query(struct statsvc *sv, const char *user, size_t user_len,
    const struct statsvc_query *q, statsvc_answer_fn *cb, void *arg)
{
	struct sv_job *job = xcalloc(1, sizeof(*job));
	const struct sv_acct *a = acct_find(sv, user, user_len);

	job->kind = SV_QUERY;
	job->q = *q;
	if (q->finished != NULL) {
		size_t i;

		job->fin =
		    xcalloc(q->nfinished ? q->nfinished : 1, sizeof(*job->fin));
		for (i = 0; i < q->nfinished; i++) {
			job->fin[i].md5 = xstrdup(q->finished[i].md5);
			job->fin[i].when = q->finished[i].when;
		}
		qsort(job->fin, q->nfinished, sizeof(*job->fin), cmp_finished);
		job->q.finished = job->fin;
	}
	job->cb = cb;
	job->arg = arg;
	buf_init(&job->out);
	snprintf(job->tz, sizeof(job->tz), "UTC");
	if (a != NULL) {
		memcpy(job->tz, a->tz, sizeof(job->tz));
		job->day_start = a->day_start;
		job->qsnap = a->snap;
		if (a->snap)
			a->snap->refs++;
		upload_copy(&job->qlast, &a->last);
		upload_copy(&job->qfigures, &a->figures);
		job->qreason = a->reason ? xstrdup(a->reason) : NULL;
		if (q->view == STATSVC_VOCAB) {
			free(job->qreason);
			job->qreason = a->vreason ? xstrdup(a->vreason) : NULL;
			job->qvocab = a->vocab;
			if (a->vocab)
				a->vocab->refs++;
		}
		job->goal_books = a->goal_books;
		job->goal_minutes = a->goal_minutes;
		if (q->view == STATSVC_OVERVIEW)
			job_hist_copy(job, a);
		job->rgen = a->rgen;
	}
	if (sv->shared != NULL)
		job->quser = xmemdup0(user, user_len);
	job->md5 = q->md5 ? xstrdup(q->md5) : NULL;
	job->q.md5 = job->md5;
	job->run = query_work;
	job->finish = query_finish;
	job_submit(sv, job);
}

/*
 * Life cycle
 */

static void
sv_release(struct statsvc *sv)
{
	struct sv_acct *a;
	size_t i;

	while ((a = sv->accts) != NULL) {
		sv->accts = a->next;
		acct_free(a);
	}
	for (i = sv->iscan; i < sv->nscan; i++)
		free(sv->scan[i]);
	free(sv->scan);
	free(sv->data_dir);
	free(sv->dir);
	free(sv);
}

/* A job ended: free it; free sv when it closed and this was the last. */
static void
job_end(struct sv_job *job)
{
	struct statsvc *sv = job->sv;

	free(job);
	sv->pending--;
	if (sv->closing) {
		if (sv->pending == 0)
			sv_release(sv);
		return;
	}
	job_pump(sv);
}

/* uv_after_work_cb of every job. */
static void
job_after(uv_work_t *w, int status)
{
	struct sv_job *job = w->data;

	(void)status;
	job->sv->running--;
	job->finish(job, false);
	job_end(job);
}

/* Start queued jobs while fewer than STATSVC_MAX_JOBS run. */
static void
job_pump(struct statsvc *sv)
{
	struct sv_job *job;

	while (sv->running < STATSVC_MAX_JOBS && sv->qhead != NULL) {
		job = sv->qhead;
		sv->qhead = job->qnext;
		if (sv->qhead == NULL)
			sv->qtail = NULL;
		sv->running++;
		if (uv_queue_work(sv->loop, &job->work, job->run, job_after) !=
		    0) {
			job->run(&job->work);
			job_after(&job->work, 0);
		}
	}
}

/* Queue job (its run and finish set) behind the others. */
static void
job_submit(struct statsvc *sv, struct sv_job *job)
{
	job->sv = sv;
	job->work.data = job;
	job->qnext = NULL;
	if (sv->qtail != NULL)
		sv->qtail->qnext = job;
	else
		sv->qhead = job;
	sv->qtail = job;
	sv->pending++;
	job_pump(sv);
}

struct statsvc *
statsvc_new(uv_loop_t *loop, const char *data_dir)
{
	struct statsvc *sv = xcalloc(1, sizeof(*sv));
	struct buf d = BUF_INIT;
	size_t n;

	sv->loop = loop;
	buf_addf(&d, "%s/stats", data_dir);
	sv->dir = buf_detach(&d, &n);
	/* With Redis storage nothing else makes the data directory. */
	(void)mkdir(data_dir, 0700);
	if (mkdir(sv->dir, 0700) == -1 && errno != EEXIST)
		log_warn("statistics: cannot make '%s'", sv->dir);
	load_all(sv);
	return sv;
}

void
statsvc_free(struct statsvc *sv)
{
	struct sv_job *job, *next;

	if (sv == NULL)
		return;
	sv->closing = true;
	/* Jobs not started never will; those running free sv at the end. */
	job = sv->qhead;
	sv->qhead = sv->qtail = NULL;
	if (job == NULL && sv->pending == 0) {
		sv_release(sv);
		return;
	}
	for (; job != NULL; job = next) {
		next = job->qnext;
		job->finish(job, true);
		job_end(job); /* the last one may free sv */
	}
}
