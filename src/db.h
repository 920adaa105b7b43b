/*
 * db.h: the in-memory database of the file and memory stores.
 *
 * Users by name (a hash table); each user's documents by id (a hash table
 * per user). A document is one allocation with its strings inline:
 * percentage, timestamp, progress, device, device_id, metadata (filename,
 * title, authors, KOsync's pretty_name), plus two optional lists: the
 * history of previous states (oldest first, bounded by the history limit)
 * and the latest position of every other device that pushed it (the
 * document's own fields are the latest position overall, so the device that
 * pushed last is never stored twice).
 *
 * This module applies changes that are already decided: no credentials are
 * checked here, nothing is logged, nothing touches a file. filestore.c
 * decides, journals and then applies, a change of change.h at a time
 * (change.c calls this module); snapshot.h loads and writes these tables.
 *
 * Layer formats (src/LAYERS): it uses only the core primitives (buf.h,
 * table.h, xmalloc.h) and knows nothing of the configuration, the store
 * interface or the request handlers; it must not include their headers.
 */
#ifndef KOSYNCD_DB_H
#define KOSYNCD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "table.h"

#define DB_MAX_DEVICES 32 /* other devices remembered per document */

/*
 * An account's usage in bytes (docs/security.md, per-user limits): the
 * bytes of every string it stores (document ids, fields, metadata, history
 * and device entries, links) plus DB_RECORD_BYTES for the numbers of each
 * document, entry and link. The same measure in every backend that keeps
 * these tables, whatever the allocator adds.
 */
#define DB_RECORD_BYTES 16

/* A past state of a document, or another device's latest position. */
struct db_entry {
	double percentage;
	int64_t timestamp;
	uint16_t len[3]; /* progress, device, device_id */
	uint8_t held;    /* history: DB_HELD_* bits, 0 for a replaced state */
	char s[];        /* the three strings, each NUL-terminated */
};

/*
 * A history entry that the account's progress policy held back
 * (docs/policy.md): a push kept in the history that did not become the
 * current position, and why. PROMOTED: made current later (web_promote).
 */
#define DB_HELD_FURTHEST 1u /* behind the current position (furthest) */
#define DB_HELD_GUARD 2u    /* a stale replay (guard) */
#define DB_HELD_PROMOTED 4u

/* The progress policies of an account (docs/policy.md; policy.h). */
enum db_policy {
	DB_POLICY_LATEST = 0, /* every push becomes current (the reference) */
	DB_POLICY_FURTHEST,   /* a push behind the current one is held */
	DB_POLICY_GUARD,      /* a stale offline replay is held */
};

/* A growable array of entries (NULL when empty). */
struct db_list {
	uint32_t n;
	uint32_t cap;
	uint64_t bytes; /* usage of the entries (DB_RECORD_BYTES each) */
	struct db_entry *e[];
};

enum db_field {
	DB_F_ID = 0,
	DB_F_PROGRESS,
	DB_F_DEVICE,
	DB_F_DEVICE_ID,
	DB_F_FILENAME,
	DB_F_TITLE,
	DB_F_AUTHORS,
	DB_F_PRETTY_NAME,
	DB_NFIELDS
};

struct db_doc {
	double percentage;
	int64_t timestamp;
	struct db_list *history; /* previous states, oldest first */
	struct db_list *devices; /* other devices' latest positions */
	uint32_t hash;
	uint16_t len[DB_NFIELDS];
	char s[]; /* the fields in enum order, each NUL-terminated */
};

struct store_op;

/*
 * Merged documents: alias is linked to canonical, so pushes and pulls
 * under alias read and write canonical's record. alias's own record, if it
 * had one, stays stored but out of reach until the link is removed.
 */
struct db_link {
	char *alias;
	char *canonical;
};

/*
 * A device credential (docs/devices.md): a password of its own that signs
 * in as the account. Revoked ones stay listed (no key) until a new one
 * needs their room (DB_MAX_DEVCREDS).
 */
#define DB_MAX_DEVCREDS 50
#define DB_DEVCRED_ID_MAX 16 /* bytes of an id */
#define DB_DEVCRED_LABEL_MAX 100
/*
 * The audit of a credential: its newest DB_AUDIT_MAX uses (sign-ins and
 * syncs), a ring; an entry like the newest one (same kind, address,
 * client and document) less than DB_AUDIT_SAME_S after it is not added.
 */
#define DB_AUDIT_MAX 20
#define DB_AUDIT_SAME_S 60

/*
 * Device names (docs/web.md, the devices page): a display name the account
 * gave one of the devices its pushes name (its device_id when it sends one,
 * else its device name: the key), and when the account forgot it (0:
 * never). At most DB_DEVNAMES_MAX per account; a key is 1 to
 * DB_DEVNAME_KEY_MAX bytes, a name 1 to DB_DEVNAME_NAME_MAX.
 */
#define DB_DEVNAMES_MAX 100
#define DB_DEVNAME_KEY_MAX 128
#define DB_DEVNAME_NAME_MAX 64

struct db_devname {
	char *key;
	char *name;        /* "" : the device's own */
	int64_t forgotten; /* server time of the forget, 0: none */
};

struct db_audit {
	int64_t time;
	uint8_t what; /* the store's kind of use (store.h store_device_what) */
	char *address;
	char *agent;
	char *document; /* NULL: none */
};

struct db_devcred {
	char id[DB_DEVCRED_ID_MAX + 1];
	char *label;
	char *key; /* argon2id PHC string; NULL once revoked */
	int64_t created;
	/*
	 * Last use: kept in memory and in database.json (written by every
	 * snapshot), never journaled (a push must not cost a second record).
	 */
	int64_t used;
	char *used_addr;
	char *used_agent;
	char *used_device;
	char *used_device_id;
	/* The audit: naudit entries, the newest at audit[audit_head]. */
	struct db_audit *audit; /* DB_AUDIT_MAX once the first is added */
	uint8_t naudit, audit_head;
	/* Run-time state (never persisted). */
	bool has_ok; /* ok_digest is this credential's verified key */
	unsigned char ok_digest[32];
};

struct db_user {
	char *key; /* argon2id PHC string, or a legacy md5 key */
	struct db_devcred *devcreds; /* ndevcreds, oldest first */
	uint32_t ndevcreds;
	bool devices_only; /* the account key no longer signs in */
	uint8_t policy;    /* enum db_policy */
	/*
	 * Events out (docs/webhooks.md): the account's webhooks as the
	 * JSON text hookfmt.h reads, and its "now reading" feed's token;
	 * NULL: none.
	 */
	char *webhooks;
	char *feed;
	struct db_devname *devnames; /* ndevnames, unsorted */
	uint32_t ndevnames;
	struct table docs;     /* struct db_doc by id */
	struct db_link *links; /* nlinks, unsorted (a user has few) */
	uint32_t nlinks;
	/*
	 * Usage, kept up to date by every change made through this module
	 * (never persisted: loading rebuilds it). Documents: docs.n.
	 */
	uint64_t bytes;   /* see DB_RECORD_BYTES */
	uint64_t history; /* history entries of all its documents */
	bool admin; /* administers the web interface (a flag, never a name) */
	/* Run-time state of the store (never persisted). */
	struct store_op *wait_head; /* operations waiting for this user */
	struct store_op *wait_tail;
	uint64_t pend_bytes;  /* growth of changes not yet applied */
	uint32_t pend_docs;   /* new documents of changes not yet applied */
	unsigned refs;        /* operations holding this record */
	unsigned busy;        /* key change or deletion in flight */
	bool verifying;       /* an argon2 verification is running */
	bool creating;        /* registration not durable yet: invisible */
	bool removed;         /* deleted: no longer in the table */
	bool has_ok;          /* ok_digest is the verified key's digest */
	bool has_bad;         /* bad_digest failed verification */
	uint8_t bad_scope;    /* filestore.c: where bad_digest is refused */
	int64_t policy_since; /* when the policy last changed (guard) */
	unsigned char ok_digest[32];
	unsigned char bad_digest[32];
	uint32_t hash;
	uint32_t name_len;
	char name[];
};

struct db {
	struct table users;
	uint64_t ndocs;
};

/*
 * What a push keeps of the state it replaces: the history setting in force
 * for that change (change.h carries it with the change; the tables do not
 * keep one).
 */
struct db_history {
	bool keep;      /* store_history: the replaced state goes to history */
	unsigned limit; /* entries per document, 0 = unbounded */
	/*
	 * History entries per account (0 = unbounded): a push that would
	 * go past it drops the oldest entry of its own document instead
	 * (none to drop: the replaced state is not kept).
	 */
	uint64_t user_limit;
};

/* A document's new state, as pushed (or loaded). NULL p = absent. */
struct db_put {
	struct str document;
	double percentage;
	int64_t timestamp;
	struct str progress;
	struct str device;
	struct str device_id; /* absent: keep the stored one */
	struct str filename;  /* absent: keep the stored one */
	struct str title;
	struct str authors;
	struct str pretty_name;
	uint8_t held; /* history entries only: DB_HELD_* */
};

void db_init(struct db *db);
/* Free every user and document. */
void db_release(struct db *db);

struct db_user *db_user_find(const struct db *db, struct str name);
/* Add a user (name must be absent) with key (copied). */
struct db_user *db_user_add(struct db *db, struct str name, struct str key);
/* Replace the stored key (copied). */
void db_user_set_key(struct db_user *u, struct str key);
/*
 * Take u out of the table and free its documents and key. The record itself
 * stays allocated while u->refs > 0 (see db_user_unref); removed is set.
 */
void db_user_remove(struct db *db, struct db_user *u);
/* Drop one reference; frees a removed user when the last one goes. */
void db_user_unref(struct db_user *u);

struct db_doc *db_doc_find(const struct db_user *u, struct str id);
/* A field of a document, as a NUL-terminated string. */
const char *db_doc_field(const struct db_doc *d, enum db_field f);

/*
 * Apply a push: the previous state goes to the history (as hs says) and to
 * the device list (when it came from another device); absent optional
 * fields keep their stored values. Returns the document's new record.
 */
struct db_doc *db_put(struct db *db, struct db_user *u, const struct db_put *p,
    const struct db_history *hs);

/*
 * Loading: set a document to exactly p (absent fields are empty), replacing
 * any record of that id but keeping its lists. Returns the record.
 */
struct db_doc *db_doc_load(
    struct db *db, struct db_user *u, const struct db_put *p);
/*
 * A push the account's policy held back: p (its position, device and
 * server timestamp, with p->held set) joins d's history within hs's
 * limits (per document and per account, as db_put keeps a replaced
 * state), whether or not hs keeps history; d's current position does not
 * change.
 */
void db_doc_add_held(struct db_user *u, struct db_doc *d,
    const struct db_put *p, const struct db_history *hs);
/*
 * Mark the held entry of d that has timestamp ts, percentage and device_id
 * as promoted (the newest such one). Returns false when there is none.
 */
bool db_doc_promote(
    struct db_doc *d, int64_t ts, double percentage, struct str device_id);

/*
 * Append to a document's history (bounded by limit entries of the
 * document, 0: not bounded; the account's limit is not applied) or device list.
 * u is d's user, whose usage follows; NULL for scratch records that belong to
 * no counted user.
 */
void db_doc_add_history(struct db_user *u, struct db_doc *d,
    const struct db_put *p, unsigned limit);
void db_doc_add_device(
    struct db_user *u, struct db_doc *d, const struct db_put *p);

/*
 * Usage (see DB_RECORD_BYTES). A document's bytes include its lists;
 * both are O(1).
 */
uint64_t db_doc_bytes(const struct db_doc *d);
uint32_t db_doc_history(const struct db_doc *d);
/*
 * After a caller changed d's lists itself (store_merge.c): bring u's usage
 * up to date from d's bytes and history count before the change.
 */
void db_user_account(struct db_user *u, uint64_t bytes_before,
    uint32_t history_before, const struct db_doc *d);

/* What db_put(db, u, p, hs) would add to u's usage (negative: free). */
struct db_cost {
	int64_t documents;
	int64_t bytes;
};
void db_put_cost(const struct db_user *u, const struct db_put *p,
    const struct db_history *hs, struct db_cost *c);

/*
 * Links (merged documents). db_doc_find and db_put follow them; the
 * loading functions (db_doc_load) do not.
 */
/* The id that id is linked to, or id itself. */
struct str db_link_resolve(const struct db_user *u, struct str id);
/*
 * Link alias to canonical (itself resolved first); links that pointed at
 * alias then point at canonical too. Nothing happens when they resolve to
 * the same id.
 */
void db_link_set(struct db_user *u, struct str alias, struct str canonical);
/* Remove alias's link. Returns false when there was none. */
bool db_link_del(struct db_user *u, struct str alias);
/* Remove every link to canonical. */
void db_link_del_to(struct db_user *u, struct str canonical);
/* The record stored under exactly id, links not followed. */
struct db_doc *db_doc_find_exact(const struct db_user *u, struct str id);

/*
 * Device credentials. Ids are unique per user; the functions that take one
 * do nothing when it is unknown.
 */
struct db_devcred *db_devcred_find(const struct db_user *u, struct str id);
/* Live (not revoked) credentials of u. */
uint32_t db_devcred_live(const struct db_user *u);
/*
 * Add a credential (key: its PHC string; NULL p for a revoked one). When u
 * holds DB_MAX_DEVCREDS already, the oldest revoked one is dropped first;
 * when none is revoked nothing is added (the caller checks the bound).
 * Returns the credential or NULL.
 */
struct db_devcred *db_devcred_add(struct db_user *u, struct str id,
    struct str label, struct str key, int64_t created);
void db_devcred_rename(struct db_user *u, struct str id, struct str label);
void db_devcred_revoke(struct db_user *u, struct str id);
/* Record a use (strings copied; NULL p keeps the stored one). */
void db_devcred_used(struct db_devcred *c, int64_t when, struct str addr,
    struct str agent, struct str device, struct str device_id);
/*
 * Add an entry to c's audit (strings copied; NULL document: none), unless
 * it repeats the newest one within DB_AUDIT_SAME_S. Returns whether it was
 * added.
 */
bool db_devcred_audit(struct db_devcred *c, int64_t when, uint8_t what,
    struct str addr, struct str agent, struct str document);
/* c's audit entry i, 0 the newest (i < c->naudit). */
const struct db_audit *db_devcred_audit_at(
    const struct db_devcred *c, uint32_t i);
/*
 * The name of an audit entry's kind (store.h store_device_what: "auth",
 * "pull", "push", "webdav"), and back (-1: none of them).
 */
#define DB_AUDIT_WHATS 4
const char *db_audit_what_name(uint8_t what);
int db_audit_what_parse(struct str name);

/*
 * Replace u's webhooks (feed false) or feed token (feed true) by a copy of
 * text; NULL p or an empty text removes it.
 */
void db_user_set_events(struct db_user *u, bool feed, struct str text);

/* u's device name entry for key, or NULL. */
struct db_devname *db_devname_find(const struct db_user *u, struct str key);
/*
 * Set the display name of key's device (an empty name: its own) and, when
 * forgotten is not negative, its forget time (0: not forgotten). An entry
 * left with neither is removed. Returns -1 (nothing changed) when a new
 * entry would pass DB_DEVNAMES_MAX, else 0. name NULL p: keep the name.
 */
int db_devname_set(
    struct db_user *u, struct str key, struct str name, int64_t forgotten);

/* Remove document id of u and free it. Returns false when there is none. */
bool db_doc_remove(struct db *db, struct db_user *u, struct str id);

/* The strings of an entry. */
const char *db_entry_progress(const struct db_entry *e);
const char *db_entry_device(const struct db_entry *e);
const char *db_entry_device_id(const struct db_entry *e);

/* Sorted arrays for deterministic output (caller frees the array). */
struct db_user **db_users_sorted(const struct db *db, size_t *n);
struct db_doc **db_docs_sorted(const struct db_user *u, size_t *n);

#endif
