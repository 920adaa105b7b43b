/*
 * snapshot_reader.c: database.json read (yajl SAX straight into the tables
 * of db.c; see snapshot.h).
 *
 * The reader is a state machine over the path from the root: a stack of
 * states, one per open container, and the last member name. A member the
 * reader does not know is skipped with all it contains. Documents, history
 * entries and device positions are collected in scratch records and
 * committed when their object ends; a user's history is attached to its
 * documents when the user's object ends, whatever the member order.
 *
 * Not here: writing the file (snapshot_writer.c), backups
 * (snapshot_backup.c), the "config" object's values (config_file_set()).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>

#include "config.h"
#include "db.h"
#include "json.h"
#include "keyhash.h"
#include "policy.h"
#include "snapshot.h"
#include "xmalloc.h"

#define MAX_DEPTH 16

enum st {
	S_TOP,
	S_ROOT,
	S_CONFIG,
	S_USERS,
	S_USER,
	S_DOCS,
	S_DOC,
	S_META,
	S_DEVLIST,
	S_DEVENT,
	S_HIST,
	S_HWRAP,
	S_HLIST,
	S_HENT,
	S_LINKS,
	S_DCS, /* "device_credentials": {id: {...}} */
	S_DC,
	S_DCAUD,   /* a credential's "audit": [...] */
	S_DCAUDE,  /* one entry of it */
	S_DNAMES,  /* "device_names": {key: name} */
	S_DFORGOT, /* "devices_forgotten": {key: time} */
};

/* The string members of a device credential, in database.json. */
static const char *const dc_names[] = {"label", "key", "used_address",
    "used_agent", "used_device", "used_device_id"};
#define DC_NFIELDS (sizeof(dc_names) / sizeof(dc_names[0]))

/* The string members of an audit entry. */
static const char *const da_names[] = {"address", "agent", "document"};
#define DA_NFIELDS (sizeof(da_names) / sizeof(da_names[0]))

/* An audit entry being read. */
struct dascratch {
	int64_t time;
	int what;
	struct buf s[DA_NFIELDS];
	bool has[DA_NFIELDS];
};

/* A device credential being read (its audit: the newest DB_AUDIT_MAX). */
struct dcscratch {
	struct buf id;
	struct buf s[DC_NFIELDS];
	bool has[DC_NFIELDS];
	int64_t created;
	int64_t used;
	struct dascratch aud[DB_AUDIT_MAX];
	size_t naud, aud_next; /* entries, where the next one goes */
};

/* The member names the reader knows, classified once per key. */
enum kid {
	K_OTHER = 0,
	K_SCHEMA,
	K_JOURNAL_SEQ,
	K_CONFIG,
	K_USERS,
	K_PASSWORD,
	K_DOCUMENTS,
	K_HISTORY,
	K_METADATA,
	K_DEVICES,
	K_DOCUMENT_HISTORY,
	K_PERCENTAGE,
	K_TIMESTAMP,
	K_PROGRESS,
	K_DEVICE,
	K_DEVICE_ID,
	K_FILENAME,
	K_TITLE,
	K_AUTHORS,
	K_PRETTY_NAME,
	K_LINKS,
	K_ADMIN,
	K_NKIDS
};

static const char *const kid_names[K_NKIDS] = {"", "schema", "journal_seq",
    "config", "users", "password", "documents", "history", "metadata",
    "devices", "document_history", "percentage", "timestamp", "progress",
    "device", "device_id", "filename", "title", "authors", "pretty_name",
    "links", "admin"};

/* Is the key s (of len bytes) the name of kid k? */
static bool
named(const unsigned char *s, size_t len, enum kid k)
{
	return strlen(kid_names[k]) == len && memcmp(kid_names[k], s, len) == 0;
}

/*
 * Classify a member name: dispatch on its first byte so that a key costs
 * one or two comparisons (this runs for every member of a large file).
 */
static enum kid
classify(const unsigned char *s, size_t len)
{
	static const enum kid by_first[][4] = {
	    ['a'] = {K_AUTHORS, K_ADMIN},
	    ['c'] = {K_CONFIG},
	    ['d'] = {K_DEVICE, K_DEVICE_ID, K_DEVICES, K_DOCUMENTS},
	    ['f'] = {K_FILENAME},
	    ['h'] = {K_HISTORY},
	    ['j'] = {K_JOURNAL_SEQ},
	    ['l'] = {K_LINKS},
	    ['m'] = {K_METADATA},
	    ['p'] = {K_PERCENTAGE, K_PROGRESS, K_PASSWORD, K_PRETTY_NAME},
	    ['s'] = {K_SCHEMA},
	    ['t'] = {K_TIMESTAMP, K_TITLE},
	    ['u'] = {K_USERS},
	};
	const enum kid *c;
	int i;

	if (len == 0 || s[0] >= sizeof(by_first) / sizeof(by_first[0]))
		return K_OTHER;
	c = by_first[s[0]];
	for (i = 0; i < 4 && c[i] != K_OTHER; i++)
		if (named(s, len, c[i]))
			return c[i];
	/* "document_history" shares its first letter with four others. */
	if (s[0] == 'd' && named(s, len, K_DOCUMENT_HISTORY))
		return K_DOCUMENT_HISTORY;
	return K_OTHER;
}

/* The fields of a document or an entry being read. */
struct scratch {
	struct buf s[DB_NFIELDS];
	bool has[DB_NFIELDS];
	double percentage;
	int64_t timestamp;
	uint8_t held; /* a history entry's DB_HELD_* (docs/policy.md) */
};

/* An entry read before its document exists (history, device positions). */
struct pending {
	struct pending *next;
	const char *doc;
	size_t doc_len;
	struct db_put p;
	char strings[];
};

struct loader {
	struct db *db;
	struct config *cfg;
	struct snapshot_info *info;
	struct buf *err;
	bool failed; /* err is set */
	enum st stack[MAX_DEPTH];
	int depth;
	int skip; /* depth of a skipped container, 0 when none */
	/*
	 * Where the root object ended, when yajl_parse saw its end: yajl
	 * takes a trailing unterminated string for "more input to come", so
	 * snapshot_parse checks that only white space follows (as json.c).
	 */
	yajl_handle h;
	size_t base; /* offset of the chunk yajl_parse is reading */
	bool ended;
	size_t end;
	struct buf key; /* last member name */
	enum kid kid;   /* what it is */
	struct db_user *user;
	struct buf doc_id;  /* document being read */
	struct buf hist_id; /* history list being read */
	struct scratch doc, ent;
	struct pending *devices; /* of the document being read */
	struct pending *history; /* of the user being read */
	struct dcscratch dc;
};

static enum st
top(const struct loader *l)
{
	return l->stack[l->depth - 1];
}

static int
push(struct loader *l, enum st s)
{
	if (l->depth == MAX_DEPTH) {
		l->skip = 1;
		return 1;
	}
	l->stack[l->depth++] = s;
	return 1;
}

static void
scratch_reset(struct scratch *sc)
{
	int i;

	for (i = 0; i < DB_NFIELDS; i++) {
		buf_reset(&sc->s[i]);
		sc->has[i] = false;
	}
	sc->percentage = 0;
	sc->timestamp = 0;
	sc->held = 0;
}

static void
scratch_release(struct scratch *sc)
{
	int i;

	for (i = 0; i < DB_NFIELDS; i++)
		buf_release(&sc->s[i]);
}

static struct str
sfield(const struct scratch *sc, enum db_field f)
{
	if (!sc->has[f])
		return STR_NULL;
	return (struct str){sc->s[f].data, sc->s[f].len};
}

static void
scratch_put(const struct scratch *sc, struct str id, struct db_put *p)
{
	memset(p, 0, sizeof(*p));
	p->document = id;
	p->percentage = sc->percentage;
	p->timestamp = sc->timestamp;
	p->progress = sfield(sc, DB_F_PROGRESS);
	p->device = sfield(sc, DB_F_DEVICE);
	p->device_id = sfield(sc, DB_F_DEVICE_ID);
	p->filename = sfield(sc, DB_F_FILENAME);
	p->title = sfield(sc, DB_F_TITLE);
	p->authors = sfield(sc, DB_F_AUTHORS);
	p->pretty_name = sfield(sc, DB_F_PRETTY_NAME);
	p->held = sc->held;
}

static struct str
pcopy(char **p, struct str s)
{
	struct str r = {*p, s.len};

	if (s.p == NULL)
		return STR_NULL;
	if (s.len)
		memcpy(*p, s.p, s.len);
	(*p)[s.len] = '\0';
	*p += s.len + 1;
	return r;
}

/* Queue an entry (history or device) for document id. */
static void
pending_add(struct pending **list, struct str id, const struct scratch *sc)
{
	struct db_put p;
	struct pending *e;
	size_t n = id.len + 1;
	char *q;
	int i;

	scratch_put(sc, id, &p);
	for (i = 0; i < DB_NFIELDS; i++)
		n += sc->s[i].len + 1;
	e = xmalloc(sizeof(*e) + n);
	q = e->strings;
	e->p = p;
	e->p.document = pcopy(&q, id);
	e->doc = e->p.document.p;
	e->doc_len = id.len;
	e->p.progress = pcopy(&q, p.progress);
	e->p.device = pcopy(&q, p.device);
	e->p.device_id = pcopy(&q, p.device_id);
	e->p.filename = e->p.title = e->p.authors = STR_NULL;
	e->p.pretty_name = STR_NULL;
	e->next = *list;
	*list = e;
}

/* Reverse a list built by prepending, to get file order back. */
static struct pending *
pending_reverse(struct pending *l)
{
	struct pending *r = NULL, *next;

	for (; l != NULL; l = next) {
		next = l->next;
		l->next = r;
		r = l;
	}
	return r;
}

static void
pending_free(struct pending *l)
{
	struct pending *next;

	for (; l != NULL; l = next) {
		next = l->next;
		free(l);
	}
}

static bool
is_zero_entry(const struct db_put *p)
{
	return p->percentage == 0 && p->timestamp == 0 &&
	       (p->progress.p == NULL || p->progress.len == 0) &&
	       (p->device.p == NULL || p->device.len == 0) &&
	       (p->device_id.p == NULL || p->device_id.len == 0);
}

static void
user_end(struct loader *l)
{
	struct pending *e;
	struct db_doc *d;

	l->history = pending_reverse(l->history);
	for (e = l->history; e != NULL; e = e->next) {
		/* KOsync's first push left a zero-valued entry: drop it. */
		if (is_zero_entry(&e->p))
			continue;
		d = db_doc_find(l->user, (struct str){e->doc, e->doc_len});
		if (d != NULL)
			db_doc_add_history(l->user, d, &e->p, 0);
	}
	pending_free(l->history);
	l->history = NULL;
	l->user = NULL;
}

static void
doc_end(struct loader *l)
{
	struct db_put p;
	struct db_doc *d;
	struct pending *e;

	scratch_put(&l->doc, (struct str){l->doc_id.data, l->doc_id.len}, &p);
	d = db_doc_load(l->db, l->user, &p);
	l->devices = pending_reverse(l->devices);
	for (e = l->devices; e != NULL; e = e->next)
		db_doc_add_device(l->user, d, &e->p);
	pending_free(l->devices);
	l->devices = NULL;
	l->info->documents++;
}

/*
 * yajl callbacks
 */

static int
fail(struct loader *l, const char *msg)
{
	if (!l->failed) {
		buf_adds(l->err, msg);
		l->failed = true;
	}
	return 0;
}

/* A scalar inside a skipped value, or a skipped scalar: true. */
static bool
skipping(struct loader *l)
{
	return l->skip > 0;
}

/*
 * A user's "progress_policy" (docs/policy.md): a name policy.h knows;
 * another value is latest, as a KOsync file without the member is.
 */
static void
user_policy(struct loader *l, struct str name)
{
	int p = policy_parse(name);

	l->user->policy = p > 0 ? (uint8_t)p : DB_POLICY_LATEST;
}

/*
 * A history entry's "held" ("furthest" or "guard") and "promoted" (true)
 * into sc: whether the member was one of them.
 */
static bool
held_member(struct loader *l, struct scratch *sc, const char *s, size_t len,
    bool is_string)
{
	struct str key = {l->key.data, l->key.len};
	struct str v = {s != NULL ? s : "", len};

	if (str_eqs(key, "held")) {
		if (is_string && str_eqs(v, "furthest"))
			sc->held |= DB_HELD_FURTHEST;
		else if (is_string && str_eqs(v, "guard"))
			sc->held |= DB_HELD_GUARD;
		return true;
	}
	if (str_eqs(key, "promoted")) {
		if (!is_string && str_eqs(v, "true"))
			sc->held |= DB_HELD_PROMOTED;
		return true;
	}
	return false;
}

/* The document field a member names (DB_F_ID: none). */
static enum db_field
field_of(enum kid k, bool meta)
{
	switch (k) {
	case K_PROGRESS:
		return meta ? DB_F_ID : DB_F_PROGRESS;
	case K_DEVICE:
		return meta ? DB_F_ID : DB_F_DEVICE;
	case K_DEVICE_ID:
		return meta ? DB_F_ID : DB_F_DEVICE_ID;
	case K_PRETTY_NAME:
		return meta ? DB_F_ID : DB_F_PRETTY_NAME;
	case K_FILENAME:
		return meta ? DB_F_FILENAME : DB_F_ID;
	case K_TITLE:
		return meta ? DB_F_TITLE : DB_F_ID;
	case K_AUTHORS:
		return meta ? DB_F_AUTHORS : DB_F_ID;
	default:
		return DB_F_ID;
	}
}

static struct scratch *
cur_scratch(struct loader *l)
{
	switch (top(l)) {
	case S_DOC:
	case S_META:
		return &l->doc;
	case S_DEVENT:
	case S_HENT:
		return &l->ent;
	default:
		return NULL;
	}
}

/*
 * The common number forms ("0.4213", "1790006348", "-3") without strtod:
 * at most 15 significant digits and no exponent, so the digits are an
 * exact integer m and m / 10^k is one correctly rounded division of exact
 * operands, the same double strtod returns. Anything else: false.
 */
static bool
fast_number(const char *s, size_t len, double *out)
{
	static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
	    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
	const char *p = s, *end = s + len;
	uint64_t m = 0;
	int digits = 0, frac = -1;
	bool neg = false;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	for (; p < end; p++) {
		if (*p >= '0' && *p <= '9') {
			if (++digits > 15)
				return false;
			m = m * 10 + (uint64_t)(*p - '0');
			if (frac >= 0)
				frac++;
		} else if (*p == '.' && frac < 0) {
			frac = 0;
		} else {
			return false;
		}
	}
	if (digits == 0 || frac == 0)
		return false;
	*out = (double)m / pow10[frac > 0 ? frac : 0];
	if (neg)
		*out = -*out;
	return true;
}

/* A member of a device credential (kosyncd's; see docs/database.md). */
static int
dc_scalar(
    struct loader *l, const char *s, size_t len, bool is_string, bool is_number)
{
	struct str key = {l->key.data, l->key.len};
	char tmp[32];
	int64_t v;
	size_t i;

	if (is_number) {
		if (len >= sizeof(tmp))
			return 1;
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		v = strtoll(tmp, NULL, 10);
		if (str_eqs(key, "created"))
			l->dc.created = v;
		else if (str_eqs(key, "used"))
			l->dc.used = v;
		return 1;
	}
	if (!is_string)
		return 1;
	for (i = 0; i < DC_NFIELDS; i++)
		if (str_eqs(key, dc_names[i])) {
			buf_reset(&l->dc.s[i]);
			buf_add(&l->dc.s[i], s, len);
			l->dc.has[i] = true;
		}
	return 1;
}

/* A member of an audit entry. */
static int
da_scalar(
    struct loader *l, const char *s, size_t len, bool is_string, bool is_number)
{
	struct dascratch *a = &l->dc.aud[l->dc.aud_next];
	struct str key = {l->key.data, l->key.len};
	char tmp[32];
	size_t i;

	if (is_number && str_eqs(key, "time") && len < sizeof(tmp)) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		a->time = strtoll(tmp, NULL, 10);
	}
	if (!is_string)
		return 1;
	if (str_eqs(key, "what"))
		a->what = db_audit_what_parse((struct str){s, len});
	for (i = 0; i < DA_NFIELDS; i++)
		if (str_eqs(key, da_names[i])) {
			buf_reset(&a->s[i]);
			buf_add(&a->s[i], s, len);
			a->has[i] = true;
		}
	return 1;
}

static void
da_reset(struct dascratch *a)
{
	size_t i;

	a->time = 0;
	a->what = -1;
	for (i = 0; i < DA_NFIELDS; i++) {
		buf_reset(&a->s[i]);
		a->has[i] = false;
	}
}

/* An audit entry ended: keep it (one of an unknown kind is skipped). */
static void
da_end(struct loader *l)
{
	struct dcscratch *dc = &l->dc;

	if (dc->aud[dc->aud_next].what < 0)
		return;
	dc->aud_next = (dc->aud_next + 1) % DB_AUDIT_MAX;
	if (dc->naud < DB_AUDIT_MAX)
		dc->naud++;
}

static struct str
da_field(const struct dascratch *a, size_t i)
{
	return a->has[i] ? (struct str){a->s[i].data, a->s[i].len} : STR_NULL;
}

static struct str
dc_field(const struct dcscratch *dc, size_t i)
{
	return dc->has[i] ? (struct str){dc->s[i].data, dc->s[i].len}
	                  : STR_NULL;
}

/* A device credential's object ended: add it to the user. */
static void
dc_end(struct loader *l)
{
	struct dcscratch *dc = &l->dc;
	struct db_devcred *c;
	struct str key = dc_field(dc, 1);
	const struct dascratch *a;
	size_t i;

	/* An empty key is a revoked credential. */
	if (key.p != NULL && key.len == 0)
		key = STR_NULL;
	c = db_devcred_add(l->user, (struct str){dc->id.data, dc->id.len},
	    dc_field(dc, 0), key, dc->created);

	if (c != NULL && dc->used != 0)
		db_devcred_used(c, dc->used, dc_field(dc, 2), dc_field(dc, 3),
		    dc_field(dc, 4), dc_field(dc, 5));
	/* The audit, oldest first. */
	for (i = 0; c != NULL && i < dc->naud; i++) {
		a = &dc->aud[(dc->aud_next + DB_AUDIT_MAX - dc->naud + i) %
		             DB_AUDIT_MAX];
		(void)db_devcred_audit(c, a->time, (uint8_t)a->what,
		    da_field(a, 0), da_field(a, 1), da_field(a, 2));
	}
}

/*
 * A member of "device_names" (a string) or "devices_forgotten" (a
 * number): the user's device name entry. An entry out of bounds (db.h
 * db_devname) or of another type is skipped, as are those past
 * DB_DEVNAMES_MAX.
 */
static void
devname_scalar(
    struct loader *l, const char *s, size_t len, bool is_string, bool is_number)
{
	struct str key = {l->key.data, l->key.len};
	char tmp[32], *end;
	long long t;

	if (key.len == 0 || key.len > DB_DEVNAME_KEY_MAX || s == NULL)
		return;
	if (top(l) == S_DNAMES) {
		if (is_string && len > 0 && len <= DB_DEVNAME_NAME_MAX)
			(void)db_devname_set(
			    l->user, key, (struct str){s, len}, -1);
		return;
	}
	if (!is_number || len >= sizeof(tmp))
		return;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	t = strtoll(tmp, &end, 10);
	if (errno == 0 && *end == '\0' && t > 0)
		(void)db_devname_set(l->user, key, STR_NULL, (int64_t)t);
}

static int
on_scalar(
    struct loader *l, const char *s, size_t len, bool is_string, bool is_number)
{
	struct scratch *sc;
	enum db_field f;
	char tmp[64], *end;
	double d;

	if (skipping(l) || l->depth == 0)
		return l->depth == 0 ? fail(l, "not a JSON object") : 1;
	switch (top(l)) {
	case S_ROOT:
		if (!is_number)
			return 1;
		if (len >= sizeof(tmp))
			return fail(l, "number too long");
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		if (l->kid == K_SCHEMA)
			l->info->schema = strtoll(tmp, NULL, 10);
		else if (l->kid == K_JOURNAL_SEQ)
			l->info->journal_seq = strtoull(tmp, NULL, 10);
		return 1;
	case S_CONFIG:
		if (l->cfg == NULL || s == NULL)
			return 1;
		if (config_file_set(l->cfg, l->key.data, (struct str){s, len},
		        is_string, l->err) != 0) {
			l->failed = true;
			return 0;
		}
		return 1;
	case S_USER:
		if (l->kid == K_PASSWORD && is_string)
			db_user_set_key(l->user, (struct str){s, len});
		/* Administrator (kosyncd's; KOsync ignores the member). */
		else if (l->kid == K_ADMIN && !is_string && !is_number &&
		         s != NULL)
			l->user->admin = len == 4 && memcmp(s, "true", 4) == 0;
		else if (!is_string && !is_number && s != NULL &&
		         str_eqs((struct str){l->key.data, l->key.len},
		             "devices_only"))
			l->user->devices_only =
			    len == 4 && memcmp(s, "true", 4) == 0;
		/* Events out (docs/webhooks.md): texts as written. */
		else if (is_string &&
		         (str_eqs((struct str){l->key.data, l->key.len},
		              "webhooks") ||
		             str_eqs((struct str){l->key.data, l->key.len},
		                 "feed")))
			db_user_set_events(l->user, l->key.data[0] == 'f',
			    (struct str){s, len});
		else if (is_string &&
		         str_eqs((struct str){l->key.data, l->key.len},
		             "progress_policy"))
			user_policy(l, (struct str){s, len});
		return 1;
	case S_DC:
		return dc_scalar(l, s, len, is_string, is_number);
	case S_DCAUDE:
		return da_scalar(l, s, len, is_string, is_number);
	case S_DNAMES:
	case S_DFORGOT:
		devname_scalar(l, s, len, is_string, is_number);
		return 1;
	case S_DCS:
	case S_DCAUD:
		return 1;
	case S_LINKS:
		/* Merged documents (webui): "alias": "canonical". */
		if (is_string && len > 0 && l->key.len > 0)
			db_link_set(l->user,
			    (struct str){l->key.data, l->key.len},
			    (struct str){s, len});
		return 1;
	default:
		break;
	}
	if ((sc = cur_scratch(l)) == NULL)
		return 1;
	if (l->kid == K_OTHER && held_member(l, sc, s, len, is_string))
		return 1;
	if (l->kid == K_PERCENTAGE && s != NULL) {
		if (len >= sizeof(tmp))
			return 1;
		if (fast_number(s, len, &d)) {
			sc->percentage = d;
			return 1;
		}
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		d = strtod(tmp, &end);
		/* 1e999 overflows to infinity, which would be written as null
		 * and read back as 0: read it as 0 at once. */
		if (end != tmp)
			sc->percentage = isfinite(d) ? d : 0;
		return 1;
	}
	if (l->kid == K_TIMESTAMP && s != NULL) {
		if (len >= sizeof(tmp))
			return 1;
		if (fast_number(s, len, &d)) {
			sc->timestamp = (int64_t)d;
			return 1;
		}
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		d = strtod(tmp, &end);
		/* Out of int64_t's range (or NaN) the cast is undefined. */
		if (end != tmp)
			sc->timestamp =
			    d > -9.2e18 && d < 9.2e18 ? (int64_t)d : 0;
		return 1;
	}
	f = field_of(l->kid, top(l) == S_META);
	if (f == DB_F_ID || !is_string)
		return 1;
	if (top(l) != S_DOC && top(l) != S_META && f > DB_F_DEVICE_ID)
		return 1;
	buf_reset(&sc->s[f]);
	buf_add(&sc->s[f], s, len);
	sc->has[f] = true;
	return 1;
}

static int
cb_null(void *ctx)
{
	return on_scalar(ctx, NULL, 0, false, false);
}

static int
cb_boolean(void *ctx, int v)
{
	return v ? on_scalar(ctx, "true", 4, false, false)
	         : on_scalar(ctx, "false", 5, false, false);
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	return on_scalar(ctx, s, len, false, true);
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	return on_scalar(ctx, (const char *)s, len, true, false);
}

static int
cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct loader *l = ctx;

	if (skipping(l))
		return 1;
	buf_reset(&l->key);
	buf_add(&l->key, s, len);
	l->kid = classify(s, len);
	return 1;
}

static bool
key_is(const struct loader *l, enum kid k)
{
	return l->kid == k;
}

static int
cb_start_map(void *ctx)
{
	struct loader *l = ctx;
	struct str name;
	size_t i;

	if (skipping(l)) {
		l->skip++;
		return 1;
	}
	if (l->depth == 0)
		return push(l, S_ROOT);
	switch (top(l)) {
	case S_ROOT:
		if (key_is(l, K_CONFIG))
			return push(l, S_CONFIG);
		if (key_is(l, K_USERS))
			return push(l, S_USERS);
		break;
	case S_USERS:
		name = (struct str){l->key.data, l->key.len};
		l->user = db_user_find(l->db, name);
		if (l->user == NULL) {
			l->user = db_user_add(l->db, name, STR_NULL);
			l->info->users++;
		}
		return push(l, S_USER);
	case S_USER:
		if (key_is(l, K_DOCUMENTS))
			return push(l, S_DOCS);
		if (key_is(l, K_HISTORY))
			return push(l, S_HIST);
		if (key_is(l, K_LINKS))
			return push(l, S_LINKS);
		if (str_eqs((struct str){l->key.data, l->key.len},
		        "device_credentials"))
			return push(l, S_DCS);
		if (str_eqs(
		        (struct str){l->key.data, l->key.len}, "device_names"))
			return push(l, S_DNAMES);
		if (str_eqs((struct str){l->key.data, l->key.len},
		        "devices_forgotten"))
			return push(l, S_DFORGOT);
		break;
	case S_DCS:
		buf_reset(&l->dc.id);
		buf_add(&l->dc.id, l->key.data, l->key.len);
		for (i = 0; i < DC_NFIELDS; i++) {
			buf_reset(&l->dc.s[i]);
			l->dc.has[i] = false;
		}
		l->dc.created = l->dc.used = 0;
		l->dc.naud = l->dc.aud_next = 0;
		return push(l, S_DC);
	case S_DCAUD:
		da_reset(&l->dc.aud[l->dc.aud_next]);
		return push(l, S_DCAUDE);
	case S_DOCS:
		buf_reset(&l->doc_id);
		buf_add(&l->doc_id, l->key.data, l->key.len);
		scratch_reset(&l->doc);
		return push(l, S_DOC);
	case S_DOC:
		if (key_is(l, K_METADATA))
			return push(l, S_META);
		break;
	case S_DEVLIST:
		scratch_reset(&l->ent);
		return push(l, S_DEVENT);
	case S_HIST:
		buf_reset(&l->hist_id);
		buf_add(&l->hist_id, l->key.data, l->key.len);
		return push(l, S_HWRAP);
	case S_HLIST:
		scratch_reset(&l->ent);
		return push(l, S_HENT);
	default:
		break;
	}
	l->skip = 1;
	return 1;
}

static int
cb_start_array(void *ctx)
{
	struct loader *l = ctx;

	if (skipping(l)) {
		l->skip++;
		return 1;
	}
	if (l->depth == 0)
		return fail(l, "not a JSON object");
	switch (top(l)) {
	case S_DOC:
		if (key_is(l, K_DEVICES))
			return push(l, S_DEVLIST);
		break;
	case S_HIST:
		/* Schema <= 1: a bare array per document. */
		buf_reset(&l->hist_id);
		buf_add(&l->hist_id, l->key.data, l->key.len);
		return push(l, S_HLIST);
	case S_HWRAP:
		if (key_is(l, K_DOCUMENT_HISTORY))
			return push(l, S_HLIST);
		break;
	case S_DC:
		if (str_eqs((struct str){l->key.data, l->key.len}, "audit"))
			return push(l, S_DCAUD);
		break;
	default:
		break;
	}
	l->skip = 1;
	return 1;
}

static int
cb_end(void *ctx)
{
	struct loader *l = ctx;

	if (skipping(l)) {
		l->skip--;
		return 1;
	}
	switch (top(l)) {
	case S_USER:
		user_end(l);
		break;
	case S_DOC:
		doc_end(l);
		break;
	case S_DC:
		dc_end(l);
		break;
	case S_DCAUDE:
		da_end(l);
		break;
	case S_DEVENT:
		pending_add(&l->devices,
		    (struct str){l->doc_id.data, l->doc_id.len}, &l->ent);
		break;
	case S_HENT:
		pending_add(&l->history,
		    (struct str){l->hist_id.data, l->hist_id.len}, &l->ent);
		break;
	default:
		break;
	}
	l->depth--;
	if (l->depth == 0 && l->h != NULL && !l->ended) {
		l->ended = true;
		l->end = l->base + yajl_get_bytes_consumed(l->h);
	}
	return 1;
}

static const yajl_callbacks callbacks = {
    cb_null,
    cb_boolean,
    NULL,
    NULL,
    cb_number,
    cb_string,
    cb_start_map,
    cb_map_key,
    cb_end,
    cb_start_array,
    cb_end,
};

int
snapshot_parse(const char *text, size_t len, struct db *db, struct config *cfg,
    struct snapshot_info *info, struct buf *err)
{
	return snapshot_parse_chunks(
	    text, len, len, NULL, NULL, db, cfg, info, err);
}

int
snapshot_parse_chunks(const char *text, size_t len, size_t chunk,
    void (*parsed)(void *arg, size_t upto), void *arg, struct db *db,
    struct config *cfg, struct snapshot_info *info, struct buf *err)
{
	struct loader l;
	yajl_handle h;
	yajl_status s;
	unsigned char *msg;
	size_t off, n;
	int rc = -1, i;
	uint32_t pos = 0;
	struct db_user *u;

	memset(&l, 0, sizeof(l));
	memset(info, 0, sizeof(*info));
	l.db = db;
	l.cfg = cfg;
	l.info = info;
	l.err = err;
	buf_init(&l.key);
	buf_init(&l.doc_id);
	buf_init(&l.hist_id);
	buf_init(&l.dc.id);
	for (i = 0; i < (int)DC_NFIELDS; i++)
		buf_init(&l.dc.s[i]);
	for (i = 0; i < DB_AUDIT_MAX * (int)DA_NFIELDS; i++)
		buf_init(&l.dc.aud[i / DA_NFIELDS].s[i % DA_NFIELDS]);
	for (i = 0; i < DB_NFIELDS; i++) {
		buf_init(&l.doc.s[i]);
		buf_init(&l.ent.s[i]);
	}
	h = yajl_alloc(&callbacks, NULL, &l);
	l.h = h;
	if (chunk == 0)
		chunk = 1;
	s = yajl_status_ok;
	off = 0;
	for (l.base = 0; s == yajl_status_ok && l.base < len; l.base += n) {
		n = len - l.base < chunk ? len - l.base : chunk;
		s = yajl_parse(h, (const unsigned char *)text + l.base, n);
		off = l.base + yajl_get_bytes_consumed(h);
		if (parsed != NULL)
			parsed(arg, l.base + n);
	}
	l.h = NULL;
	if (s == yajl_status_ok) {
		s = yajl_complete_parse(h);
		off = len; /* the text ended too early */
	}
	for (; s == yajl_status_ok && l.ended && l.end < len; l.end++) {
		char c = text[l.end];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			buf_adds(err, "trailing garbage");
			l.failed = true;
			off = l.end;
			s = yajl_status_error;
		}
	}
	if (s != yajl_status_ok) {
		if (!l.failed) {
			msg = yajl_get_error(h, 0, NULL, 0);
			n = strlen((const char *)msg);
			while (
			    n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				n--;
			buf_add(err, msg, n);
			yajl_free_error(h, msg);
		}
		buf_addf(err, " at offset %zu", off);
		goto out;
	}
	rc = 0;
out:
	yajl_free(h);
	pending_free(l.devices);
	pending_free(l.history);
	buf_release(&l.key);
	buf_release(&l.doc_id);
	buf_release(&l.hist_id);
	scratch_release(&l.doc);
	scratch_release(&l.ent);
	buf_release(&l.dc.id);
	for (i = 0; i < (int)DC_NFIELDS; i++)
		buf_release(&l.dc.s[i]);
	for (i = 0; i < DB_AUDIT_MAX * (int)DA_NFIELDS; i++)
		buf_release(&l.dc.aud[i / DA_NFIELDS].s[i % DA_NFIELDS]);
	if (rc == 0) {
		while ((u = table_next(&db->users, &pos)) != NULL)
			if (u->key[0] != '\0' && !keyhash_is_phc(u->key))
				info->legacy_keys++;
	}
	return rc;
}

int
snapshot_read(const char *path, struct buf *out, struct buf *err)
{
	int fd;
	ssize_t n;
	struct stat st;

	buf_reset(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		buf_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		buf_grow(out, (size_t)st.st_size);
	for (;;) {
		buf_grow(out, 65536);
		n = read(fd, out->data + out->len, 65536);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_addf(
			    err, "cannot read '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	close(fd);
	return 0;
}

/*
 * What snapshot_load has parsed of its mapping is given back as it goes:
 * the pages stay in the page cache, but leave the process's resident set,
 * so loading a large file costs its tables, not the tables plus the file.
 */
#define SNAPSHOT_LOAD_CHUNK ((size_t)4 * 1024 * 1024)

struct release {
	char *map;
	size_t done; /* bytes from map given back (page-aligned) */
};

static void
release_parsed(void *arg, size_t upto)
{
	struct release *r = arg;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t end = upto / page * page;

	if (end > r->done) {
		(void)madvise(r->map + r->done, end - r->done, MADV_DONTNEED);
		r->done = end;
	}
}

int
snapshot_load(const char *path, struct buf *raw, struct db *db,
    struct config *cfg, struct snapshot_info *info, struct buf *err)
{
	int fd, rc = -1;
	struct stat st;
	struct buf why = BUF_INIT;
	struct release rel;
	void *map;
	size_t len;

	memset(info, 0, sizeof(*info));
	if (raw != NULL)
		buf_reset(raw);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT) {
			info->fresh = true;
			return 0;
		}
		buf_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		buf_addf(err, "cannot stat '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_size <= 1) {
		/* KOsync's rule: an (almost) empty file is a new database. */
		close(fd);
		info->fresh = true;
		return 0;
	}
	len = (size_t)st.st_size;
	/* Parse straight from the page cache: no copy of the file. */
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	(void)madvise(map, len, MADV_SEQUENTIAL);
	rel.map = map;
	rel.done = 0;
	if (snapshot_parse_chunks(map, len, SNAPSHOT_LOAD_CHUNK, release_parsed,
	        &rel, db, cfg, info, &why) != 0) {
		buf_addf(err, "cannot load '%s': %s", path, why.data);
		goto out;
	}
	if (raw != NULL)
		buf_add(raw, map, len);
	rc = 0;
out:
	munmap(map, len);
	buf_release(&why);
	return rc;
}
