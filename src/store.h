/*
 * store.h: the storage interface every backend implements.
 *
 * The API layer calls store_*() and never knows which backend is live.
 * Operations are asynchronous: each takes a callback that receives the
 * result on the loop thread, either before the call returns (memory hits)
 * or later (after argon2 verification on the thread pool, after the journal
 * record is durable, after a Redis round trip). A write's callback reporting
 * STORE_OK means the change is durable under the fsync policy; any other
 * result means nothing changed.
 *
 * Every operation on an account takes the credentials (user, key) and
 * verifies them itself, in the same atomic step as the change, so a deleted
 * or re-keyed account can never be revived by a late write.
 *
 * Strings passed in are borrowed for the duration of the call only; the
 * store copies what it keeps. Pointers in a struct store_reply are borrowed
 * and valid only during the callback.
 */
#ifndef KOSYNCD_STORE_H
#define KOSYNCD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "bounds.h" /* STORE_MAX_*, STORE_USER_MAX_* */
#include "buf.h"

struct config;

/*
 * The document-id rule, the one every path uses (the protocol's pushes and
 * pulls, the web interface): 1 to STORE_MAX_DOCUMENT bytes of valid UTF-8
 * (no lone surrogate), no ':', no '/', no control character (below 0x20,
 * 0x7f), and not "." or ".." (a browser resolves those in a URL, so the
 * web page could not name them). stored: also accept "." and "..", which
 * older versions stored, so that such documents can still be shown and
 * deleted.
 */
bool store_document_valid(struct str d, bool stored);

enum store_result {
	STORE_OK = 0,
	STORE_ERR_AUTH,        /* unknown user or wrong key */
	STORE_ERR_EXISTS,      /* registration: name taken */
	STORE_ERR_NOTFOUND,    /* account vanished after verification */
	STORE_ERR_IO,          /* could not make the change durable */
	STORE_ERR_UNAVAILABLE, /* backend unreachable (Redis) */
	STORE_ERR_LIMIT,       /* a per-user limit would be passed */
};

/* Document metadata as KOReader sends it; NULL fields are absent. */
struct store_metadata {
	const char *filename;
	const char *title;
	const char *authors;
};

/* A stored progress record (borrowed, valid during the callback). */
struct store_doc {
	const char *document;
	double percentage;
	const char *progress;
	const char *device;
	const char *device_id; /* "" when no push ever carried one */
	int64_t timestamp;     /* server time of the push, Unix seconds */
	struct store_metadata metadata;
};

/*
 * A progress push as received. A field with p == NULL was absent (or JSON
 * null): for device_id and the metadata fields that keeps the stored value.
 */
struct store_push {
	struct str document;
	double percentage;
	struct str progress;
	struct str device;
	struct str device_id;
	bool has_metadata;
	struct str filename;
	struct str title;
	struct str authors;
	/*
	 * For the account's progress policy (docs/policy.md): the push's own
	 * "timestamp" (seconds; 0 when it sent none) and who pushed, its
	 * address and User-Agent (NULL p: none), made a fingerprint
	 * (policy_client of policy.h) only when the policy needs it.
	 */
	int64_t client_ts;
	struct str peer;
	struct str agent;
};

/*
 * A push copied into one allocation (str_pack of buf.h), for a backend
 * that keeps it past the call: the room its strings need, and the copy,
 * its strings placed at *p (advanced past them).
 */
size_t store_push_packed_size(const struct store_push *push);
struct store_push store_push_pack(char **p, const struct store_push *push);

struct store_reply {
	enum store_result result;
	int64_t timestamp;           /* progress_put: the stored timestamp */
	const struct store_doc *doc; /* progress_get: NULL when unknown */
	/*
	 * user_auth, progress_put, progress_get: the id of the device
	 * credential the key matched (NULL: the account key);
	 * store_device_change ADD: the new credential's id.
	 */
	const char *devcred;
	/*
	 * progress_get: the account's policy wants to know who pulls
	 * (guard): the caller reports the pull with store_progress_pulled.
	 */
	bool note_pull;
};

typedef void store_cb(void *arg, const struct store_reply *reply);

struct store;

/*
 * Open the backend named by cfg->storage ("file" or "memory") on loop.
 * The file backend loads database.json and replays its journal; while it
 * loads it applies the file's "config" section to cfg through
 * config_file_set(). Returns NULL after logging why.
 */
struct store *store_open(uv_loop_t *loop, struct config *cfg);

/*
 * Open the backend named storage ("file", "memory" or "redis") with cfg's
 * other settings, whatever cfg->storage says: for the commands that move
 * data between two backends. Returns NULL after logging why.
 */
struct store *store_open_backend(
    uv_loop_t *loop, struct config *cfg, const char *storage);

/*
 * Finish pending writes, write a final snapshot when the backend has one,
 * then call done(arg) on the loop. Used at shutdown.
 */
void store_flush(struct store *st, void (*done)(void *arg), void *arg);

/* Release everything. Pending callbacks are not called. NULL is allowed. */
void store_close(struct store *st);

/* Register user with key. STORE_ERR_EXISTS when the name is taken. */
void store_user_create(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg);
/* Verify credentials: STORE_OK or STORE_ERR_AUTH. */
void store_user_auth(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg);
/*
 * The web interface's sign-in: the account key only (never a device
 * credential), whether or not the account has devices_only on.
 */
void store_user_signin(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg);
/* Delete the account and all its data. */
void store_user_delete(
    struct store *st, struct str user, struct str key, store_cb *cb, void *arg);
/* Replace the key. The old key stops working at once. */
void store_user_set_key(struct store *st, struct str user, struct str key,
    struct str new_key, store_cb *cb, void *arg);
/* Store a push (last write wins); reply->timestamp is the server time. */
void store_progress_put(struct store *st, struct str user, struct str key,
    const struct store_push *push, store_cb *cb, void *arg);
/* Read a document's record; reply->doc is NULL when there is none. */
void store_progress_get(struct store *st, struct str user, struct str key,
    struct str document, store_cb *cb, void *arg);
/*
 * After a progress_get whose reply asked for it (note_pull): client
 * (policy_client) pulled user's document now. In memory, best effort
 * (docs/policy.md); nothing for a backend that does not track pulls.
 */
void store_progress_pulled(
    struct store *st, struct str user, struct str document, uint64_t client);

/*
 * Administration (the admin commands, admin.c). No credentials are
 * checked: these serve the owner of the data directory, through the
 * control socket or offline. Every change is journaled like any other
 * (durable before the callback reports STORE_OK) and takes effect for
 * clients at once: a key change or deletion replaces or drops that user's
 * verified-key cache in the same step. A backend that does not implement
 * one answers STORE_ERR_UNAVAILABLE.
 *
 * A registration by the administrator is store_user_create(): it checks no
 * credentials either, and registration being switched off is the API's
 * policy, not the store's.
 */

/* Called with a result and, on STORE_OK, text (borrowed for the call). */
typedef void store_text_cb(
    void *arg, enum store_result r, const char *text, size_t len);

/*
 * user's progress policy as JSON {"progress_policy": "latest"|"furthest"|
 * "guard"} (docs/policy.md; set with store_device_change
 * STORE_PROGRESS_POLICY). STORE_ERR_AUTH: no such user.
 */
void store_policy_get(
    struct store *st, struct str user, store_text_cb *cb, void *arg);
/*
 * user's device names (db.h db_devname; set with store_device_change
 * STORE_DEVICE_NAME and STORE_DEVICE_FORGET) as JSON {"device_names":
 * [{"device": key, "name": "" or the display name, "forgotten": 0 or the
 * time}]}. STORE_ERR_AUTH: no such user.
 */
void store_device_names(
    struct store *st, struct str user, store_text_cb *cb, void *arg);

/* Replace user's key without knowing the old one. STORE_ERR_AUTH: none. */
void store_admin_user_set_key(struct store *st, struct str user,
    struct str new_key, store_cb *cb, void *arg);
/* Delete user and all its data. STORE_ERR_AUTH when there is no user. */
void store_admin_user_delete(
    struct store *st, struct str user, store_cb *cb, void *arg);
/*
 * Every user as a JSON array, sorted by name, of {"username", "documents"
 * (count), "last_sync" (newest document timestamp, 0 for none), "devices"
 * (the names of the devices that pushed, sorted), "bytes", "history"
 * (the usage the per-user limits count: db.h DB_RECORD_BYTES, history
 * entries of all documents)}. With page (not NULL), a page of them (see
 * store_page below) as {"users": [...], "next": cursor or null}. Every
 * backend renders it with userlist.h.
 */
struct store_page;
void store_admin_user_list(struct store *st, const struct store_page *page,
    store_text_cb *cb, void *arg);
/*
 * The whole database as database.json text (KOsync's layout, our schema;
 * see docs/database.md), as a compaction would write it.
 */
void store_admin_dump(struct store *st, store_text_cb *cb, void *arg);
/*
 * Merge a KOsync (or kosyncd) database.json text: users that do not exist
 * are added with their key (hashed at rest); documents are added when
 * unknown and replaced when the imported timestamp is newer, otherwise
 * skipped; existing users keep their key. Whatever happens to a document's
 * current state, its imported device positions (when newer) and history
 * entries (those missing, with store_history) are merged in; see
 * docs/migrating.md. The text reply is a JSON report
 * {"users_added", "users_existing", "documents_added",
 * "documents_updated", "documents_skipped"}. A file that does not parse
 * answers STORE_ERR_IO with the parser's message as the text.
 */
void store_admin_import(struct store *st, const char *text, size_t len,
    store_text_cb *cb, void *arg);
/*
 * Compact now (file storage): a new database.json, then a fresh journal.
 * The callback runs once the snapshot is written (or failed: STORE_ERR_IO).
 */
void store_admin_compact(struct store *st, store_text_cb *cb, void *arg);

/*
 * Make the configuration kept with the data durable: the options a running
 * server changes for its operator (disable_registration, admins) as they
 * are now in the store's config, source "file". The file backends write a
 * snapshot (database.json carries them; same as store_admin_compact); the
 * Redis backend writes them to the hash kosyncd:config, which every
 * instance on that Redis reads back within a second.
 */
void store_config_save(struct store *st, store_text_cb *cb, void *arg);

/*
 * The web interface (webui.c). Its caller authenticated the user with a
 * session of its own, so no key is checked here (as for store_admin_*).
 * Every change is journaled and durable before its callback reports
 * STORE_OK. A backend without them answers STORE_ERR_UNAVAILABLE.
 */

/*
 * Paging of the lists that grow with the data (the documents, a document's
 * history, the user list): at most limit entries from a stable order,
 * starting after the position a previous page ended at, so that a walk
 * over every page sees each entry exactly once while nothing changes. A
 * page's answer also stops early once it holds STORE_PAGE_MAX_BYTES (after
 * at least one entry), so its size is bounded whatever the fields hold.
 * The answer names where the next page starts ("next", an opaque cursor;
 * null at the end): store_page_next() writes it, store_page_parse()
 * reads it back.
 */
#define STORE_PAGE_DEFAULT 100 /* entries of a page when none is asked */
#define STORE_PAGE_MAX 500     /* entries of a page at most */
/* A page ends after the entry that brings its answer to this many bytes. */
#define STORE_PAGE_MAX_BYTES ((size_t)1024 * 1024)
/*
 * A page of the user list ends after the user that brings the documents
 * it read (each user's are counted and their devices named) to this many:
 * the loop time of a page, whatever the users hold.
 */
#define STORE_PAGE_MAX_SCAN 100000
/*
 * The history of each document in a list (?history=1): its newest
 * STORE_LIST_HISTORY entries, fewer when their worst-case size (every
 * byte escaped) would pass STORE_LIST_HISTORY_BYTES.
 */
#define STORE_LIST_HISTORY 100
#define STORE_LIST_HISTORY_BYTES ((size_t)256 * 1024)

struct store_page {
	size_t limit; /* entries, 1..STORE_PAGE_MAX */
	bool after;   /* false: the first page */
	/*
	 * Documents (newest first, then by id): the last one's timestamp
	 * and id. Users (by name): the last name, in id. A history (newest
	 * first): the number of entries already seen, in ts.
	 */
	int64_t ts;
	struct str id; /* borrowed for the call */
};

/* Cursors: a kind letter, then the position (see struct store_page). */
enum store_page_kind {
	STORE_PAGE_DOCS = 'd',    /* "d<timestamp>.<hex of the id>" */
	STORE_PAGE_USERS = 'u',   /* "u<hex of the name>" */
	STORE_PAGE_HISTORY = 'h', /* "h<entries seen>" */
	/* The library's uploads (libweb.h): "b<added>.<hex of the book id>" */
	STORE_PAGE_UPLOADS = 'b',
};
/* Longest cursor: the kind, 20 digits with sign, '.', 255 bytes in hex. */
#define STORE_PAGE_CURSOR_MAX (1 + 21 + 1 + 2 * 255)

/*
 * Write the JSON value "next" names: the cursor of the page after one that
 * ended at (ts, id) (id unused for HISTORY, ts for USERS), or, with
 * more false, null.
 */
struct json_out;
void store_page_next(struct json_out *o, enum store_page_kind kind, bool more,
    int64_t ts, struct str id);
/*
 * Whether (ts, id) comes after page's position: always on a first page;
 * else a smaller ts, or the same ts and a greater id (bytes, then length).
 * Documents pass their timestamp and id, users 0 and their name.
 */
bool store_page_after(const struct store_page *page, int64_t ts, struct str id);
/*
 * Read cursor (as store_page_next wrote it, kind kind) into page->after,
 * ts and id; id is decoded into idbuf (cap bytes, at least 256) and
 * borrows it. Returns 0, or -1 when cursor is not such a cursor.
 */
int store_page_parse(struct str cursor, enum store_page_kind kind, char *idbuf,
    size_t cap, struct store_page *page);

/*
 * user's documents as the JSON object {"documents": [...], "next": cursor
 * or null}: a page (see above) of the documents, newest first, each
 * {"document", "percentage", "progress", "device", "device_id",
 * "timestamp", "filename", "title", "authors", "pretty_name", "devices":
 * [{"percentage", "progress", "device", "device_id", "timestamp"}]} plus,
 * with history, "history" (the newest entries, see STORE_LIST_HISTORY;
 * oldest first, same shape as a device). With a document (document.p != NULL)
 * the JSON array of only that one with a page of its history (page counts
 * history entries back from the newest; "history" stays oldest first) and
 * "history_next"; an unknown one is an empty array. STORE_ERR_AUTH: no
 * such user.
 */
void store_web_documents(struct store *st, struct str user, struct str document,
    bool history, const struct store_page *page, store_text_cb *cb, void *arg);

enum store_web_kind {
	STORE_WEB_RESTORE, /* make an earlier position the current one */
	STORE_WEB_RENAME,  /* set the user's own title ("" removes it) */
	STORE_WEB_DELETE,  /* forget the document */
	STORE_WEB_CONFIG,  /* a configuration change: journaled, no data */
	STORE_WEB_LINK,    /* merge: alias reads and writes document */
	STORE_WEB_UNLINK,  /* undo a merge: alias is its own document again */
	STORE_WEB_ADMIN,   /* the user's administrator flag becomes admin */
	STORE_WEB_PROMOTE, /* a push the policy held back becomes current */
};

/*
 * A change made from the web interface. RESTORE: percentage and progress
 * become the current position with a fresh server timestamp, pushed by
 * device "kosyncd web" (change.h) with an empty device_id; the replaced state
 * goes to the history (even when store_history is off) and to the device list.
 * The document lists show a merged document once, under its own id, with
 * "links" (the ids linked to it).
 */
struct store_web_change {
	enum store_web_kind kind;
	struct str document;
	double percentage; /* RESTORE */
	struct str progress;
	struct str name; /* RENAME */
	/*
	 * LINK, UNLINK: another document id. After LINK, pushes and pulls
	 * under alias act on document's record (a pull still answers with
	 * the id asked); when alias's own record is newer, document takes
	 * its position first (the replaced one goes to the history).
	 * alias's record stays stored and comes back on UNLINK.
	 */
	struct str alias;
	bool admin; /* ADMIN: on or off (no document) */
	/*
	 * PROMOTE: the held history entry of document with this timestamp,
	 * percentage and device_id (as the history lists it) becomes the
	 * current position with a fresh server timestamp and its own device
	 * (docs/policy.md); the replaced state goes to the history.
	 * STORE_ERR_NOTFOUND: no such held entry (or one promoted already).
	 */
	int64_t at;
	struct str device_id;
};

/*
 * Apply ch to user's data. STORE_ERR_AUTH: no such user (or, except for
 * CONFIG and ADMIN, no such document). reply->timestamp is the restored
 * position's. ADMIN is the only way an account becomes an administrator:
 * it needs the account to exist, and the flag goes with the account (an
 * account deleted and registered again is no administrator).
 */
void store_web_change(struct store *st, struct str user,
    const struct store_web_change *ch, store_cb *cb, void *arg);

/*
 * Whether user is an administrator of the web interface: STORE_OK when
 * the account exists and is flagged (store_web_change ADMIN),
 * STORE_ERR_NOTFOUND when it is not (or does not exist),
 * STORE_ERR_UNAVAILABLE when the backend cannot tell now. In memory it
 * answers before it returns; on Redis one round trip.
 */
void store_user_admin(
    struct store *st, struct str user, store_cb *cb, void *arg);

/*
 * Device credentials (docs/devices.md): passwords of their own that sign
 * in as the account on the protocol and WebDAV (user_auth, progress_put,
 * progress_get accept their key as the account's; a key change or
 * deletion of the account asks for the account key). As for the web and
 * administration operations, no key is checked here.
 */
enum store_device_kind {
	STORE_DEVICE_ADD,      /* a new credential: label, key */
	STORE_DEVICE_RENAME,   /* id's label becomes label */
	STORE_DEVICE_REVOKE,   /* id stops signing in at once */
	STORE_DEVICES_ONLY,    /* the account key signs in (off) or not (on) */
	STORE_PROGRESS_POLICY, /* the account's progress policy becomes
	                          policy (docs/policy.md) */
	STORE_DEVICE_NAME,     /* the device id (a pushing device's key,
	                          db.h db_devname) is shown as label ("":
	                          its own name) */
	STORE_DEVICE_FORGET,   /* the device id is forgotten now */
};

struct store_device_change {
	enum store_device_kind kind;
	struct str id;    /* RENAME, REVOKE */
	struct str label; /* ADD, RENAME: 1 to DB_DEVCRED_LABEL_MAX bytes */
	struct str key;   /* ADD: md5 of the password, as KOReader sends it */
	bool on;          /* DEVICES_ONLY */
	uint8_t policy;   /* PROGRESS_POLICY: enum db_policy */
};

/*
 * Apply ch to user's credentials. STORE_ERR_AUTH: no such user;
 * STORE_ERR_NOTFOUND: no such credential (or a revoked one renamed or
 * revoked); STORE_ERR_LIMIT: ADD with STORE_MAX_DEVCREDS live ones, or
 * a NAME or FORGET of a new device with DB_DEVNAMES_MAX names.
 * reply->devcred is an ADD's new id.
 */
#define STORE_MAX_DEVCREDS 50
void store_device_change(struct store *st, struct str user,
    const struct store_device_change *ch, store_cb *cb, void *arg);
/*
 * user's credentials as JSON {"devices_only": bool, "progress_policy":
 * "latest", "furthest" or "guard", "devices": [{"id",
 * "label", "created", "revoked", "used" (0: never), "address", "agent",
 * "device", "device_id"}]}, oldest first. STORE_ERR_AUTH: no such user.
 */
void store_device_list(
    struct store *st, struct str user, store_text_cb *cb, void *arg);

/* What a device credential was used for (its audit). */
enum store_device_what {
	STORE_DEVICE_AUTH,   /* the protocol's sign-in check */
	STORE_DEVICE_PULL,   /* a pull */
	STORE_DEVICE_PUSH,   /* a push */
	STORE_DEVICE_WEBDAV, /* a WebDAV request */
	STORE_DEVICE__COUNT
};
/* "auth", "pull", "push", "webdav". */
const char *store_device_what_name(enum store_device_what what);

/* A use of a device credential, as the front end saw it. */
struct store_device_use {
	int64_t when;
	enum store_device_what what;
	struct str address;   /* client address */
	struct str agent;     /* User-Agent; NULL p: keep */
	struct str device;    /* a push's device; NULL p: keep */
	struct str device_id; /* a push's device_id; NULL p: keep */
	struct str document;  /* a pull's or push's document; NULL p: none */
};
/*
 * Record a use of user's credential id (from a reply's devcred): its last
 * use and an entry of its audit (at most STORE_DEVICE_AUDIT_MAX, newest
 * first; a use like the newest entry within a minute adds none). Best
 * effort, never fails the request: memory only until the next snapshot
 * (file), one write at most once a minute per credential and instance
 * while the use stays the same (Redis).
 */
#define STORE_DEVICE_AUDIT_MAX 20
void store_device_used(struct store *st, struct str user, const char *id,
    const struct store_device_use *use);
/*
 * The same from a request: now, what for, the client address peer, its
 * User-Agent (NULL: none), push's device, device_id and document (NULL:
 * not a push) or, for a pull, its document (NULL p: none). Nothing when
 * id is NULL (the account key signed in).
 */
void store_device_note(struct store *st, struct str user, const char *id,
    enum store_device_what what, const char *peer, const struct str *agent,
    const struct store_push *push, struct str document);
/*
 * Write one audit entry as o's next value, as every backend answers and
 * the Redis backend stores it: {"time", "what", "address", "agent"} and
 * "document" when document.p is not NULL (address, agent: "" for none).
 */
struct json_out;
void store_device_audit_entry(struct json_out *o, int64_t time,
    enum store_device_what what, struct str address, struct str agent,
    struct str document);
/*
 * The audit of user's credential id as JSON {"id", "label", "revoked",
 * "audit": [{"time", "what", "address", "agent", "document"}]}, newest
 * first ("document" only for a pull or push). STORE_ERR_AUTH: no such
 * user; STORE_ERR_NOTFOUND: no such credential.
 */
void store_device_audit(struct store *st, struct str user, struct str id,
    store_text_cb *cb, void *arg);

/*
 * Events out (docs/webhooks.md): an account's webhooks (the JSON text
 * hookfmt.h reads and writes, at most STORE_MAX_EVENTS_TEXT bytes) and
 * the token of its "now reading" feed, kept with its data and deleted
 * with it. As for the web operations, no key is checked here.
 *
 * store_events_set replaces one of the two (feed: the token; an empty
 * text removes it), journaled and durable before STORE_OK;
 * STORE_ERR_AUTH: no such user; STORE_ERR_LIMIT: a text over
 * STORE_MAX_EVENTS_TEXT. store_events_get answers both (borrowed
 * for the call; empty when unset). store_feed_user answers the name of
 * the account whose feed token is token (compared in constant time),
 * STORE_ERR_NOTFOUND when there is none. A backend without them answers
 * STORE_ERR_UNAVAILABLE.
 */
#define STORE_MAX_EVENTS_TEXT 16384
void store_events_set(struct store *st, struct str user, bool feed,
    struct str text, store_cb *cb, void *arg);
typedef void store_events_fn(
    void *arg, enum store_result r, struct str webhooks, struct str feed);
void store_events_get(
    struct store *st, struct str user, store_events_fn *cb, void *arg);
void store_feed_user(
    struct store *st, struct str token, store_text_cb *cb, void *arg);

/*
 * Told when a device credential signs in for the first time (its last use
 * was never recorded before; events out, docs/webhooks.md): user, the
 * credential's id and label, and the pushing device's name when the use
 * was a push (NULL p otherwise), all borrowed for the call. Backends
 * report it with store_device_first_use. One listener per store; NULL
 * removes it.
 */
typedef void store_first_use_fn(void *arg, struct str user, const char *id,
    const char *label, struct str device);
void store_listen_first_use(
    struct store *st, store_first_use_fn *fn, void *arg);
void store_device_first_use(struct store *st, struct str user, const char *id,
    const char *label, struct str device);

/*
 * Told about every progress push the store confirmed (on the loop, after
 * the pusher's own callback): user and document are borrowed for the call.
 * One listener per store; NULL removes it.
 */
typedef void store_listen_fn(
    void *arg, struct str user, struct str document, int64_t timestamp);
void store_listen(struct store *st, store_listen_fn *fn, void *arg);

/*
 * Told when an account's key was changed or the account deleted other than
 * through the web interface (the protocol, the administration commands),
 * reported by the caller of the change once it succeeded
 * (store_account_changed): the web interface then ends the
 * user's sessions, so a password changed on a device, or an account
 * deleted and registered again, leaves no web session behind. One
 * listener per store; NULL removes it.
 */
typedef void store_account_fn(void *arg, struct str user);
void store_listen_accounts(struct store *st, store_account_fn *fn, void *arg);
void store_account_changed(struct store *st, struct str user);

#define STORE_FSYNC_BUCKETS 10

/* Figures for /metrics; fields a backend does not know stay zero. */
struct store_stats {
	uint64_t users;
	uint64_t documents;
	uint64_t journal_bytes;
	uint64_t compactions;
	uint64_t compactions_failed;
	bool fsync_known; /* the fsync fields below are measured */
	uint64_t fsyncs;
	uint64_t fsync_ns;
	/*
	 * fsyncs that took at most 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 100,
	 * 1000 ms (cumulative counts)
	 */
	uint64_t fsync_bucket[STORE_FSYNC_BUCKETS];
	/* Redis: the connection (the fields below are measured) */
	bool redis_known;
	bool redis_up;               /* connected and ready */
	uint64_t redis_reconnects;   /* connections made after the first */
	uint64_t redis_failures;     /* connections lost or never made */
	uint64_t redis_down_seconds; /* since when down (0 while up) */
};

/* Fill out (zeroed first). Runs on the loop; never blocks. */
void store_stats(struct store *st, struct store_stats *out);

/*
 * The shared server: a backend whose data several instances share (Redis)
 * also carries the state those instances must agree on besides the data:
 * the web sessions (session.c) and the Pub/Sub of limits and events
 * (pubsub.c). Those modules ask whether there is one and send it commands;
 * they never ask which backend is live.
 */

/* Whether st keeps its data on a server that other instances share. */
bool store_is_shared(const struct store *st);

/*
 * Send one command (argc arguments, each (argv[i], lens[i])) on the
 * store's own connection to its shared server, which speaks the Redis
 * protocol. fn(priv, reply) runs later on the loop with the server's
 * reply (possibly an error reply), or with NULL when the connection was
 * lost first; it is not called once the store is closed. Returns 0, or -1
 * at once (fn never called) when st has no shared server or it is not
 * connected. A flush waits for commands in flight.
 */
struct redisReply;
typedef void store_command_fn(void *priv, const struct redisReply *reply);
int store_command(struct store *st, store_command_fn *fn, void *priv, int argc,
    const char **argv, const size_t *lens);

/*
 * Where the settings that database.json would hold are kept when the
 * backend keeps them elsewhere ("redis": the kosyncd:config key), for the
 * web interface to name their source; NULL: database.json (or nowhere).
 */
const char *store_config_home(const struct store *st);

#endif
