/*
 * db.c: the in-memory database (see db.h).
 *
 * Layout choices, for a few hundred bytes per document: a document is one
 * malloc block holding its numbers, two list pointers and its strings
 * inline, with 16-bit lengths (STORE_MAX_FIELD fits); changing a document
 * allocates a new block and swaps the table slot. History and device lists
 * exist only once used.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "xmalloc.h"

static uint32_t
user_hash(const void *rec)
{
	return ((const struct db_user *)rec)->hash;
}

static struct str
user_key(const void *rec)
{
	const struct db_user *u = rec;

	return (struct str){u->name, u->name_len};
}

static uint32_t
doc_hash(const void *rec)
{
	return ((const struct db_doc *)rec)->hash;
}

static struct str
doc_key(const void *rec)
{
	const struct db_doc *d = rec;

	return (struct str){d->s, d->len[DB_F_ID]};
}

static const struct table_type user_type = {user_hash, user_key};
static const struct table_type doc_type = {doc_hash, doc_key};

static size_t
clamp16(size_t n)
{
	return n > UINT16_MAX ? UINT16_MAX : n;
}

/*
 * Lists
 */

static struct db_entry *
entry_new(double percentage, int64_t timestamp, struct str progress,
    struct str device, struct str device_id)
{
	struct str f[3] = {progress, device, device_id};
	struct db_entry *e;
	size_t total = 0, i;
	char *p;

	for (i = 0; i < 3; i++) {
		f[i].len = clamp16(f[i].len);
		total += f[i].len + 1;
	}
	e = xmalloc(sizeof(*e) + total);
	e->percentage = percentage;
	e->timestamp = timestamp;
	e->held = 0;
	p = e->s;
	for (i = 0; i < 3; i++) {
		e->len[i] = (uint16_t)f[i].len;
		if (f[i].len)
			memcpy(p, f[i].p, f[i].len);
		p[f[i].len] = '\0';
		p += f[i].len + 1;
	}
	return e;
}

const char *
db_entry_progress(const struct db_entry *e)
{
	return e->s;
}

const char *
db_entry_device(const struct db_entry *e)
{
	return e->s + e->len[0] + 1;
}

const char *
db_entry_device_id(const struct db_entry *e)
{
	return e->s + e->len[0] + 1 + e->len[1] + 1;
}

static uint64_t
entry_bytes(const struct db_entry *e)
{
	return (uint64_t)e->len[0] + e->len[1] + e->len[2] + DB_RECORD_BYTES;
}

static struct db_list *
list_push(struct db_list *l, struct db_entry *e)
{
	uint32_t cap;
	bool fresh = l == NULL;

	assert(e != NULL && (fresh || l->n <= l->cap));
	if (fresh || l->n == l->cap) {
		cap = fresh ? 2 : l->cap * 2;
		l = xrealloc(l, sizeof(*l) + cap * sizeof(struct db_entry *));
		if (fresh) {
			l->n = 0;
			l->bytes = 0;
		}
		l->cap = cap;
	}
	l->e[l->n++] = e;
	l->bytes += entry_bytes(e);
	return l;
}

/* Remove entry i, keeping the order of the rest. */
static void
list_del(struct db_list *l, uint32_t i)
{
	assert(l != NULL && i < l->n && l->bytes >= entry_bytes(l->e[i]));
	l->bytes -= entry_bytes(l->e[i]);
	free(l->e[i]);
	memmove(
	    &l->e[i], &l->e[i + 1], (l->n - i - 1) * sizeof(struct db_entry *));
	l->n--;
}

static void
list_free(struct db_list *l)
{
	uint32_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->e[i]);
	free(l);
}

/*
 * Documents
 */

const char *
db_doc_field(const struct db_doc *d, enum db_field f)
{
	const char *p = d->s;
	int i;

	for (i = 0; i < (int)f; i++)
		p += d->len[i] + 1;
	return p;
}

static struct str
doc_str(const struct db_doc *d, enum db_field f)
{
	return (struct str){db_doc_field(d, f), d->len[f]};
}

static struct db_doc *
doc_new(uint32_t hash, const struct str f[DB_NFIELDS])
{
	struct db_doc *d;
	size_t total = 0, len;
	char *p;
	int i;

	for (i = 0; i < DB_NFIELDS; i++)
		total += clamp16(f[i].len) + 1;
	d = xmalloc(sizeof(*d) + total);
	d->history = NULL;
	d->devices = NULL;
	d->hash = hash;
	p = d->s;
	for (i = 0; i < DB_NFIELDS; i++) {
		len = clamp16(f[i].len);
		d->len[i] = (uint16_t)len;
		if (len)
			memcpy(p, f[i].p, len);
		p[len] = '\0';
		p += len + 1;
	}
	return d;
}

/* The record's own usage, without its lists. */
static uint64_t
doc_rec_bytes(const struct str f[DB_NFIELDS])
{
	uint64_t n = DB_RECORD_BYTES;
	int i;

	for (i = 0; i < DB_NFIELDS; i++)
		n += clamp16(f[i].len);
	return n;
}

uint64_t
db_doc_bytes(const struct db_doc *d)
{
	uint64_t n = DB_RECORD_BYTES;
	int i;

	for (i = 0; i < DB_NFIELDS; i++)
		n += d->len[i];
	if (d->history != NULL)
		n += d->history->bytes;
	if (d->devices != NULL)
		n += d->devices->bytes;
	return n;
}

uint32_t
db_doc_history(const struct db_doc *d)
{
	return d->history != NULL ? d->history->n : 0;
}

void
db_user_account(struct db_user *u, uint64_t bytes_before,
    uint32_t history_before, const struct db_doc *d)
{
	if (u == NULL)
		return;
	u->bytes = u->bytes - bytes_before + db_doc_bytes(d);
	u->history = u->history - history_before + db_doc_history(d);
}

static void
doc_free(struct db_doc *d)
{
	list_free(d->history);
	list_free(d->devices);
	free(d);
}

struct db_doc *
db_doc_find_exact(const struct db_user *u, struct str id)
{
	return table_find(&u->docs, &doc_type, table_hash(id.p, id.len), id);
}

struct db_doc *
db_doc_find(const struct db_user *u, struct str id)
{
	return db_doc_find_exact(u, db_link_resolve(u, id));
}

/*
 * Links
 */

struct str
db_link_resolve(const struct db_user *u, struct str id)
{
	uint32_t i;

	for (i = 0; i < u->nlinks; i++)
		if (str_eqs(id, u->links[i].alias))
			return str_from(u->links[i].canonical);
	return id;
}

static uint64_t
link_bytes(const struct db_link *l)
{
	return strlen(l->alias) + strlen(l->canonical) + DB_RECORD_BYTES;
}

static uint64_t
links_bytes(const struct db_user *u)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < u->nlinks; i++)
		n += link_bytes(&u->links[i]);
	return n;
}

bool
db_link_del(struct db_user *u, struct str alias)
{
	uint32_t i;

	for (i = 0; i < u->nlinks; i++) {
		if (!str_eqs(alias, u->links[i].alias))
			continue;
		u->bytes -= link_bytes(&u->links[i]);
		free(u->links[i].alias);
		free(u->links[i].canonical);
		/*
		 * The last link takes its place, field by field: clang's
		 * analyzer does not see a struct copied from a computed index
		 * overwrite the freed pointers (false reports of freed memory
		 * used or freed again).
		 */
		u->nlinks--;
		u->links[i].alias = u->links[u->nlinks].alias;
		u->links[i].canonical = u->links[u->nlinks].canonical;
		if (u->nlinks == 0) {
			free(u->links);
			u->links = NULL;
		}
		return true;
	}
	return false;
}

void
db_link_del_to(struct db_user *u, struct str canonical)
{
	/*
	 * canonical may point into a link freed here (db_link_resolve returns
	 * such ids): compare with a copy.
	 */
	char *copy = str_dup(canonical);
	uint32_t i = 0;

	canonical.p = copy;
	while (i < u->nlinks) {
		if (str_eqs(canonical, u->links[i].canonical))
			db_link_del(u, str_from(u->links[i].alias));
		else
			i++;
	}
	free(copy);
}

void
db_link_set(struct db_user *u, struct str alias, struct str canonical)
{
	char *to = NULL;
	uint64_t before;
	uint32_t i;

	canonical = db_link_resolve(u, canonical);
	if (str_eq(alias, canonical))
		return;
	to = xmemdup0(canonical.p, canonical.len);
	db_link_del(u, alias);
	before = links_bytes(u);
	for (i = 0; i < u->nlinks; i++) {
		if (!str_eqs(alias, u->links[i].canonical))
			continue;
		free(u->links[i].canonical);
		u->links[i].canonical = xstrdup(to);
	}
	u->links = xrealloc(u->links, (u->nlinks + 1) * sizeof(*u->links));
	u->links[u->nlinks].alias = xmemdup0(alias.p, alias.len);
	u->links[u->nlinks].canonical = to;
	u->nlinks++;
	u->bytes = u->bytes - before + links_bytes(u);
}

static void
links_free(struct db_user *u)
{
	while (u->nlinks > 0)
		db_link_del(u, str_from(u->links[0].alias));
}

/* A str that is empty (not absent) when s.p is NULL. */
static struct str
or_empty(struct str s)
{
	return s.p ? s : (struct str){"", 0};
}

static struct str
or_kept(struct str s, const struct db_doc *old, enum db_field f)
{
	if (s.p != NULL)
		return s;
	if (old != NULL)
		return doc_str(old, f);
	return (struct str){"", 0};
}

/* Devices are told apart by device_id, or by name when they sent none. */
static bool
same_device(
    struct str dev_a, struct str id_a, struct str dev_b, struct str id_b)
{
	if (id_a.len || id_b.len)
		return str_eq(id_a, id_b);
	return str_eq(dev_a, dev_b);
}

static struct db_entry *
entry_of_doc(const struct db_doc *d)
{
	return entry_new(d->percentage, d->timestamp, doc_str(d, DB_F_PROGRESS),
	    doc_str(d, DB_F_DEVICE), doc_str(d, DB_F_DEVICE_ID));
}

static struct str
entry_str(const struct db_entry *e, int i)
{
	const char *p = i == 0   ? db_entry_progress(e)
	                : i == 1 ? db_entry_device(e)
	                         : db_entry_device_id(e);

	return (struct str){p, e->len[i]};
}

/* Remove the device list's entry for (device, device_id), if any. */
static void
devices_forget(struct db_list *l, struct str device, struct str device_id)
{
	uint32_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		if (same_device(entry_str(l->e[i], 1), entry_str(l->e[i], 2),
		        device, device_id)) {
			list_del(l, i);
			return;
		}
}

static struct db_list *
devices_set(struct db_list *l, struct db_entry *e)
{
	uint32_t i, oldest;

	devices_forget(l, entry_str(e, 1), entry_str(e, 2));
	if (l != NULL && l->n >= DB_MAX_DEVICES) {
		oldest = 0;
		for (i = 1; i < l->n; i++)
			if (l->e[i]->timestamp < l->e[oldest]->timestamp)
				oldest = i;
		list_del(l, oldest);
	}
	return list_push(l, e);
}

/*
 * Append e to the history l, which holds at most limit entries (0: any
 * number). account is the number of history entries of the whole account
 * before the change and cap the account's limit (0: none): at the cap, the
 * oldest entry of l goes to make room, and when l has none e is dropped.
 */
static struct db_list *
history_add(struct db_list *l, struct db_entry *e, unsigned limit,
    uint64_t account, uint64_t cap)
{
	if (limit != 0 && l != NULL) {
		while (l->n >= limit && l->n > 0) {
			list_del(l, 0);
			account--;
		}
	}
	if (cap != 0 && account >= cap) {
		if (l == NULL || l->n == 0) {
			free(e);
			return l;
		}
		list_del(l, 0);
	}
	return list_push(l, e);
}

/* Put d in u's table in place of old (NULL: a new id). */
static void
doc_store(
    struct db *db, struct db_user *u, struct db_doc *old, struct db_doc *d)
{
	void **slot;

	if (old == NULL) {
		table_insert(&u->docs, &doc_type, d);
		db->ndocs++;
		return;
	}
	slot = table_slot(&u->docs, &doc_type, d->hash, doc_str(d, DB_F_ID));
	assert(slot != NULL && *slot == old);
	*slot = d;
	free(old); /* its lists now belong to d */
}

/*
 * The fields of the document p makes of old (NULL for a new one), with id
 * its id: the position as pushed, the metadata p leaves out kept from old.
 * f's slices point into p and old.
 */
static void
put_fields(struct str f[DB_NFIELDS], struct str id, const struct db_put *p,
    const struct db_doc *old)
{
	f[DB_F_ID] = id;
	f[DB_F_PROGRESS] = or_empty(p->progress);
	f[DB_F_DEVICE] = or_empty(p->device);
	f[DB_F_DEVICE_ID] = or_kept(p->device_id, old, DB_F_DEVICE_ID);
	f[DB_F_FILENAME] = or_kept(p->filename, old, DB_F_FILENAME);
	f[DB_F_TITLE] = or_kept(p->title, old, DB_F_TITLE);
	f[DB_F_AUTHORS] = or_kept(p->authors, old, DB_F_AUTHORS);
	f[DB_F_PRETTY_NAME] = or_kept(p->pretty_name, old, DB_F_PRETTY_NAME);
}

struct db_doc *
db_put(struct db *db, struct db_user *u, const struct db_put *p,
    const struct db_history *hs)
{
	struct db_doc *old, *d;
	struct str f[DB_NFIELDS];
	struct str id = db_link_resolve(u, p->document);
	uint32_t h = table_hash(id.p, id.len);

	uint64_t bytes = 0;
	uint32_t hist = 0;

	/* The caller checked the account is still there (db_user_remove). */
	assert(!u->removed && u->key != NULL);
	old = table_find(&u->docs, &doc_type, h, id);
	if (old != NULL) {
		bytes = db_doc_bytes(old);
		hist = db_doc_history(old);
	}
	put_fields(f, id, p, old);
	d = doc_new(h, f);
	d->percentage = p->percentage;
	d->timestamp = p->timestamp;
	if (old != NULL) {
		d->history = old->history;
		d->devices = old->devices;
		if (hs->keep)
			d->history = history_add(d->history, entry_of_doc(old),
			    hs->limit, u->history, hs->user_limit);
		if (!same_device(doc_str(old, DB_F_DEVICE),
		        doc_str(old, DB_F_DEVICE_ID), f[DB_F_DEVICE],
		        f[DB_F_DEVICE_ID]))
			d->devices = devices_set(d->devices, entry_of_doc(old));
		devices_forget(d->devices, f[DB_F_DEVICE], f[DB_F_DEVICE_ID]);
	}
	doc_store(db, u, old, d);
	db_user_account(u, bytes, hist, d);
	return d;
}

struct db_doc *
db_doc_load(struct db *db, struct db_user *u, const struct db_put *p)
{
	struct db_doc *old, *d;
	struct str f[DB_NFIELDS];
	uint32_t h = table_hash(p->document.p, p->document.len);
	uint64_t bytes = 0;
	uint32_t hist = 0;

	old = table_find(&u->docs, &doc_type, h, p->document);
	if (old != NULL) {
		bytes = db_doc_bytes(old);
		hist = db_doc_history(old);
	}
	f[DB_F_ID] = p->document;
	f[DB_F_PROGRESS] = or_empty(p->progress);
	f[DB_F_DEVICE] = or_empty(p->device);
	f[DB_F_DEVICE_ID] = or_empty(p->device_id);
	f[DB_F_FILENAME] = or_empty(p->filename);
	f[DB_F_TITLE] = or_empty(p->title);
	f[DB_F_AUTHORS] = or_empty(p->authors);
	f[DB_F_PRETTY_NAME] = or_empty(p->pretty_name);
	d = doc_new(h, f);
	d->percentage = p->percentage;
	d->timestamp = p->timestamp;
	if (old != NULL) {
		d->history = old->history;
		d->devices = old->devices;
	}
	doc_store(db, u, old, d);
	db_user_account(u, bytes, hist, d);
	return d;
}

void
db_doc_add_history(
    struct db_user *u, struct db_doc *d, const struct db_put *p, unsigned limit)
{
	uint64_t bytes = db_doc_bytes(d);
	uint32_t hist = db_doc_history(d);
	struct db_entry *e;

	e = entry_new(p->percentage, p->timestamp, or_empty(p->progress),
	    or_empty(p->device), or_empty(p->device_id));
	e->held = p->held;
	d->history = history_add(d->history, e, limit, 0, 0);
	db_user_account(u, bytes, hist, d);
}

void
db_doc_add_held(struct db_user *u, struct db_doc *d, const struct db_put *p,
    const struct db_history *hs)
{
	uint64_t bytes = db_doc_bytes(d);
	uint32_t hist = db_doc_history(d);
	struct db_entry *e;

	assert(p->held != 0);
	e = entry_new(p->percentage, p->timestamp, or_empty(p->progress),
	    or_empty(p->device), or_empty(p->device_id));
	e->held = p->held;
	d->history =
	    history_add(d->history, e, hs->limit, u->history, hs->user_limit);
	db_user_account(u, bytes, hist, d);
}

bool
db_doc_promote(
    struct db_doc *d, int64_t ts, double percentage, struct str device_id)
{
	struct db_entry *e;
	uint32_t i;

	for (i = d->history != NULL ? d->history->n : 0; i > 0; i--) {
		e = d->history->e[i - 1];
		if (e->held != 0 && e->timestamp == ts &&
		    e->percentage == percentage &&
		    str_eq((struct str){db_entry_device_id(e), e->len[2]},
		        or_empty(device_id))) {
			e->held |= DB_HELD_PROMOTED;
			return true;
		}
	}
	return false;
}

void
db_doc_add_device(struct db_user *u, struct db_doc *d, const struct db_put *p)
{
	uint64_t bytes = db_doc_bytes(d);
	uint32_t hist = db_doc_history(d);

	d->devices = devices_set(d->devices,
	    entry_new(p->percentage, p->timestamp, or_empty(p->progress),
	        or_empty(p->device), or_empty(p->device_id)));
	db_user_account(u, bytes, hist, d);
}

/* The usage of an entry made of p's position fields. */
static uint64_t
put_entry_bytes(struct str progress, struct str device, struct str device_id)
{
	return clamp16(progress.len) + clamp16(device.len) +
	       clamp16(device_id.len) + DB_RECORD_BYTES;
}

void
db_put_cost(const struct db_user *u, const struct db_put *p,
    const struct db_history *hs, struct db_cost *c)
{
	struct str id = db_link_resolve(u, p->document);
	const struct db_doc *old = db_doc_find_exact(u, id);
	const struct db_list *l;
	struct str f[DB_NFIELDS];
	uint64_t old_entry;
	uint32_t i;

	put_fields(f, id, p, old);
	c->documents = old == NULL;
	c->bytes = (int64_t)doc_rec_bytes(f);
	if (old == NULL)
		return;
	/* Mirrors db_put: the old record goes to the lists. */
	c->bytes -= (int64_t)(db_doc_bytes(old) -
	                      (old->history != NULL ? old->history->bytes : 0) -
	                      (old->devices != NULL ? old->devices->bytes : 0));
	old_entry = put_entry_bytes(doc_str(old, DB_F_PROGRESS),
	    doc_str(old, DB_F_DEVICE), doc_str(old, DB_F_DEVICE_ID));
	l = old->history;
	if (hs->keep) {
		uint64_t account = u->history;

		c->bytes += (int64_t)old_entry;
		if (hs->limit != 0 && l != NULL) {
			for (i = 0; i + hs->limit <= l->n; i++) {
				c->bytes -= (int64_t)entry_bytes(l->e[i]);
				account--;
			}
		} else {
			i = 0;
		}
		if (hs->user_limit != 0 && account >= hs->user_limit) {
			if (l != NULL && i < l->n)
				c->bytes -= (int64_t)entry_bytes(l->e[i]);
			else
				c->bytes -= (int64_t)old_entry;
		}
	}
	/* The device list: an upper bound (what it might drop is not). */
	l = old->devices;
	if (!same_device(doc_str(old, DB_F_DEVICE),
	        doc_str(old, DB_F_DEVICE_ID), f[DB_F_DEVICE],
	        f[DB_F_DEVICE_ID]))
		c->bytes += (int64_t)old_entry;
	for (i = 0; l != NULL && i < l->n; i++)
		if (same_device(entry_str(l->e[i], 1), entry_str(l->e[i], 2),
		        f[DB_F_DEVICE], f[DB_F_DEVICE_ID])) {
			c->bytes -= (int64_t)entry_bytes(l->e[i]);
			break;
		}
}

bool
db_doc_remove(struct db *db, struct db_user *u, struct str id)
{
	struct db_doc *d;

	d = table_remove(&u->docs, &doc_type, table_hash(id.p, id.len), id);
	if (d == NULL)
		return false;
	u->bytes -= db_doc_bytes(d);
	u->history -= db_doc_history(d);
	doc_free(d);
	db->ndocs--;
	return true;
}

/*
 * Users
 */

void
db_init(struct db *db)
{
	memset(db, 0, sizeof(*db));
}

static void
user_free_docs(struct db *db, struct db_user *u)
{
	uint32_t pos = 0;
	struct db_doc *d;

	while ((d = table_next(&u->docs, &pos)) != NULL) {
		doc_free(d);
		db->ndocs--;
	}
	table_release(&u->docs);
	links_free(u);
	u->bytes = 0;
	u->history = 0;
}

static void
devcred_free(struct db_devcred *c)
{
	uint32_t i;

	for (i = 0; c->audit != NULL && i < DB_AUDIT_MAX; i++) {
		free(c->audit[i].address);
		free(c->audit[i].agent);
		free(c->audit[i].document);
	}
	free(c->audit);
	free(c->label);
	free(c->key);
	free(c->used_addr);
	free(c->used_agent);
	free(c->used_device);
	free(c->used_device_id);
}

static void
devcreds_free(struct db_user *u)
{
	uint32_t i;

	for (i = 0; i < u->ndevcreds; i++)
		devcred_free(&u->devcreds[i]);
	free(u->devcreds);
	u->devcreds = NULL;
	u->ndevcreds = 0;
	u->devices_only = false;
}

struct db_devcred *
db_devcred_find(const struct db_user *u, struct str id)
{
	uint32_t i;

	for (i = 0; i < u->ndevcreds; i++)
		if (str_eqs(id, u->devcreds[i].id))
			return &u->devcreds[i];
	return NULL;
}

uint32_t
db_devcred_live(const struct db_user *u)
{
	uint32_t i, n = 0;

	for (i = 0; i < u->ndevcreds; i++)
		n += u->devcreds[i].key != NULL;
	return n;
}

struct db_devcred *
db_devcred_add(struct db_user *u, struct str id, struct str label,
    struct str key, int64_t created)
{
	struct db_devcred *c;
	uint32_t i;

	if (id.len == 0 || id.len > DB_DEVCRED_ID_MAX ||
	    db_devcred_find(u, id) != NULL)
		return NULL;
	if (u->ndevcreds >= DB_MAX_DEVCREDS) {
		for (i = 0; i < u->ndevcreds && u->devcreds[i].key != NULL; i++)
			;
		if (i == u->ndevcreds)
			return NULL;
		devcred_free(&u->devcreds[i]);
		memmove(&u->devcreds[i], &u->devcreds[i + 1],
		    (u->ndevcreds - i - 1) * sizeof(*u->devcreds));
		u->ndevcreds--;
	}
	u->devcreds =
	    xrealloc(u->devcreds, (u->ndevcreds + 1) * sizeof(*u->devcreds));
	c = &u->devcreds[u->ndevcreds++];
	memset(c, 0, sizeof(*c));
	memcpy(c->id, id.p, id.len);
	c->label = xmemdup0(label.p ? label.p : "", label.len);
	c->key = key.p != NULL ? xmemdup0(key.p, key.len) : NULL;
	c->created = created;
	return c;
}

void
db_devcred_rename(struct db_user *u, struct str id, struct str label)
{
	struct db_devcred *c = db_devcred_find(u, id);

	if (c == NULL)
		return;
	free(c->label);
	c->label = xmemdup0(label.p ? label.p : "", label.len);
}

void
db_devcred_revoke(struct db_user *u, struct str id)
{
	struct db_devcred *c = db_devcred_find(u, id);

	if (c == NULL || c->key == NULL)
		return;
	free(c->key);
	c->key = NULL;
	c->has_ok = false;
}

static void
set_str(char **dst, struct str s)
{
	if (s.p == NULL || (*dst != NULL && strlen(*dst) == s.len &&
	                       memcmp(*dst, s.p, s.len) == 0))
		return;
	free(*dst);
	*dst = xmemdup0(s.p, s.len);
}

void
db_devcred_used(struct db_devcred *c, int64_t when, struct str addr,
    struct str agent, struct str device, struct str device_id)
{
	c->used = when;
	set_str(&c->used_addr, addr);
	set_str(&c->used_agent, agent);
	set_str(&c->used_device, device);
	set_str(&c->used_device_id, device_id);
}

static bool
str_is(const char *s, struct str t)
{
	if (s == NULL || t.p == NULL)
		return s == NULL && t.p == NULL;
	return strlen(s) == t.len && memcmp(s, t.p, t.len) == 0;
}

bool
db_devcred_audit(struct db_devcred *c, int64_t when, uint8_t what,
    struct str addr, struct str agent, struct str document)
{
	struct db_audit *a;

	if (c->audit == NULL)
		c->audit = xcalloc(DB_AUDIT_MAX, sizeof(*c->audit));
	if (c->naudit > 0) {
		a = &c->audit[c->audit_head];
		if (a->what == what && str_is(a->address, addr) &&
		    str_is(a->agent, agent) && str_is(a->document, document) &&
		    when >= a->time && when - a->time < DB_AUDIT_SAME_S)
			return false;
		c->audit_head = (uint8_t)((c->audit_head + 1) % DB_AUDIT_MAX);
	}
	a = &c->audit[c->audit_head];
	free(a->address);
	free(a->agent);
	free(a->document);
	a->time = when;
	a->what = what;
	a->address = addr.p ? xmemdup0(addr.p, addr.len) : NULL;
	a->agent = agent.p ? xmemdup0(agent.p, agent.len) : NULL;
	a->document = document.p ? xmemdup0(document.p, document.len) : NULL;
	if (c->naudit < DB_AUDIT_MAX)
		c->naudit++;
	return true;
}

static const char *const audit_whats[DB_AUDIT_WHATS] = {
    "auth", "pull", "push", "webdav"};

const char *
db_audit_what_name(uint8_t what)
{
	return audit_whats[what < DB_AUDIT_WHATS ? what : 0];
}

int
db_audit_what_parse(struct str name)
{
	int i;

	for (i = 0; i < DB_AUDIT_WHATS; i++)
		if (str_eqs(name, audit_whats[i]))
			return i;
	return -1;
}

const struct db_audit *
db_devcred_audit_at(const struct db_devcred *c, uint32_t i)
{
	assert(i < c->naudit);
	return &c->audit[(c->audit_head + DB_AUDIT_MAX - i) % DB_AUDIT_MAX];
}

/* Forget u's settings for events out. */
static void
events_free(struct db_user *u)
{
	free(u->webhooks);
	free(u->feed);
	u->webhooks = NULL;
	u->feed = NULL;
}

void
db_user_set_events(struct db_user *u, bool feed, struct str text)
{
	char **slot = feed ? &u->feed : &u->webhooks;

	free(*slot);
	*slot =
	    text.p != NULL && text.len > 0 ? xmemdup0(text.p, text.len) : NULL;
}

/* Forget u's device names. */
static void
devnames_free(struct db_user *u)
{
	uint32_t i;

	for (i = 0; i < u->ndevnames; i++) {
		free(u->devnames[i].key);
		free(u->devnames[i].name);
	}
	free(u->devnames);
	u->devnames = NULL;
	u->ndevnames = 0;
}

struct db_devname *
db_devname_find(const struct db_user *u, struct str key)
{
	uint32_t i;

	for (i = 0; i < u->ndevnames; i++)
		if (str_eqs(key, u->devnames[i].key))
			return &u->devnames[i];
	return NULL;
}

int
db_devname_set(
    struct db_user *u, struct str key, struct str name, int64_t forgotten)
{
	struct db_devname *e = db_devname_find(u, key);

	if (e == NULL) {
		if (u->ndevnames >= DB_DEVNAMES_MAX)
			return -1;
		u->devnames = xrealloc(
		    u->devnames, (u->ndevnames + 1) * sizeof(*u->devnames));
		e = &u->devnames[u->ndevnames++];
		e->key = xmemdup0(key.p, key.len);
		e->name = xstrdup("");
		e->forgotten = 0;
	}
	if (name.p != NULL) {
		free(e->name);
		e->name = xmemdup0(name.p, name.len);
	}
	if (forgotten >= 0)
		e->forgotten = forgotten;
	if (e->name[0] == '\0' && e->forgotten == 0) {
		free(e->key);
		free(e->name);
		*e = u->devnames[--u->ndevnames];
	}
	return 0;
}

void
db_release(struct db *db)
{
	uint32_t pos = 0;
	struct db_user *u;

	while ((u = table_next(&db->users, &pos)) != NULL) {
		user_free_docs(db, u);
		devcreds_free(u);
		events_free(u);
		devnames_free(u);
		free(u->key);
		free(u);
	}
	table_release(&db->users);
}

struct db_user *
db_user_find(const struct db *db, struct str name)
{
	return table_find(
	    &db->users, &user_type, table_hash(name.p, name.len), name);
}

struct db_user *
db_user_add(struct db *db, struct str name, struct str key)
{
	struct db_user *u;

	/* The name must be absent (db.h). */
	assert(db_user_find(db, name) == NULL);
	u = xcalloc(1, sizeof(*u) + name.len + 1);
	if (name.len)
		memcpy(u->name, name.p, name.len);
	u->name[name.len] = '\0';
	u->name_len = (uint32_t)name.len;
	u->hash = table_hash(name.p, name.len);
	u->key = xmemdup0(key.p ? key.p : "", key.len);
	table_insert(&db->users, &user_type, u);
	return u;
}

void
db_user_set_key(struct db_user *u, struct str key)
{
	free(u->key);
	u->key = xmemdup0(key.p ? key.p : "", key.len);
}

void
db_user_remove(struct db *db, struct db_user *u)
{
	void *rec;

	assert(!u->removed);
	rec = table_remove(&db->users, &user_type, u->hash,
	    (struct str){u->name, u->name_len});
	assert(rec == u);
	(void)rec;
	user_free_docs(db, u);
	devcreds_free(u);
	events_free(u);
	devnames_free(u);
	free(u->key);
	u->key = NULL;
	u->removed = true;
	if (u->refs == 0)
		free(u);
}

void
db_user_unref(struct db_user *u)
{
	assert(u->refs > 0);
	if (--u->refs == 0 && u->removed)
		free(u);
}

static int
cmp_user(const void *a, const void *b)
{
	const struct db_user *x = *(const struct db_user *const *)a;
	const struct db_user *y = *(const struct db_user *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int
cmp_doc(const void *a, const void *b)
{
	const struct db_doc *x = *(const struct db_doc *const *)a;
	const struct db_doc *y = *(const struct db_doc *const *)b;
	size_t xl = x->len[DB_F_ID], yl = y->len[DB_F_ID];
	int c = memcmp(x->s, y->s, xl < yl ? xl : yl);

	if (c != 0)
		return c;
	return xl < yl ? -1 : xl > yl;
}

struct db_user **
db_users_sorted(const struct db *db, size_t *n)
{
	struct db_user **v =
	    xmalloc((db->users.n + 1) * sizeof(struct db_user *));
	uint32_t pos = 0;
	size_t i = 0;
	struct db_user *u;

	while ((u = table_next(&db->users, &pos)) != NULL)
		v[i++] = u;
	qsort(v, i, sizeof(struct db_user *), cmp_user);
	*n = i;
	return v;
}

struct db_doc **
db_docs_sorted(const struct db_user *u, size_t *n)
{
	struct db_doc **v = xmalloc((u->docs.n + 1) * sizeof(struct db_doc *));
	uint32_t pos = 0;
	size_t i = 0;
	struct db_doc *d;

	while ((d = table_next(&u->docs, &pos)) != NULL)
		v[i++] = d;
	qsort(v, i, sizeof(struct db_doc *), cmp_doc);
	*n = i;
	return v;
}
