/*
 * change.h: what the file and memory backends persist. Every change to
 * their tables is one struct change, whoever makes it (the protocol, the
 * web interface, the import, the administration commands, and the Redis
 * backend's web operations on their scratch tables):
 *
 *   live:   build a struct change -> change_encode -> journal -> change_apply
 *   replay: journal record -> change_decode -> change_apply
 *
 * The record is compact JSON, {"op": op, "user": user, ...}; its bytes are
 * the journal's format (old data directories replay unchanged), so what
 * change_encode writes never changes for a kind that exists.
 *
 * A change carries the history setting in force (struct db_history): a push
 * records it ("history", "user_history"), so that a replay by a process
 * configured otherwise (an offline command without the server's flags)
 * keeps exactly the history the server kept; the other kinds, and pushes
 * recorded before the setting was, apply with the replaying process's.
 */
#ifndef KOSYNCD_CHANGE_H
#define KOSYNCD_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"

struct json_arena;
struct json_value;

enum change_kind {
	CHANGE_CREATE,       /* "create": user, key (a new account) */
	CHANGE_KEY,          /* "key": user, key (a new key) */
	CHANGE_DELETE,       /* "delete": user */
	CHANGE_PUT,          /* "put": user, put, history; put.held when
	                        the account's policy held it back */
	CHANGE_IMPORT_LISTS, /* "import_lists": put.document, lists */
	CHANGE_WEB_RESTORE,  /* "web_restore": put.document, put.percentage,
	                        put.progress, put.timestamp (server time) */
	CHANGE_WEB_RENAME,   /* "web_rename": put.document, name */
	CHANGE_WEB_DELETE,   /* "web_delete": put.document */
	CHANGE_WEB_LINK,     /* "web_link": put.document, alias */
	CHANGE_WEB_UNLINK,   /* "web_unlink": put.document, alias */
	CHANGE_WEB_CONFIG,   /* "web_config": nothing (kept for old journals) */
	CHANGE_WEB_ADMIN,    /* "web_admin": admin */
	CHANGE_DEVICE_ADD,   /* "device_add": dev_id, name (label), key,
	                        put.timestamp (created) */
	CHANGE_DEVICE_RENAME, /* "device_rename": dev_id, name (label) */
	CHANGE_DEVICE_REVOKE, /* "device_revoke": dev_id */
	CHANGE_DEVICES_ONLY,  /* "devices_only": admin (on or off) */
	CHANGE_EVENTS,      /* "events": events; admin: the feed's token (true)
	                       or the webhooks (false) */
	CHANGE_POLICY,      /* "policy": policy (docs/policy.md) */
	CHANGE_WEB_PROMOTE, /* "web_promote": put.document, the held
	                       push (put.percentage, progress, device,
	                       device_id; at: its timestamp) and
	                       put.timestamp (server time) */
	CHANGE_DEVICE_NAME, /* "device_name": dev_id (the device's key,
	                       db.h db_devname), name ("": its own) */
	CHANGE_DEVICE_FORGET, /* "device_forget": dev_id (key), at (when) */
};

/*
 * The device a position restored from the web interface is pushed by
 * (CHANGE_WEB_RESTORE, with an empty device_id), so that the device list
 * and the history say where it came from.
 */
#define CHANGE_WEB_DEVICE "kosyncd web"

/* The longest "import_lists" record change_encode starts another entry in. */
#define CHANGE_LISTS_RECORD_MAX (256 * 1024ul)

struct change {
	enum change_kind kind;
	struct str user;
	struct str key; /* CREATE, KEY: the key as stored (PHC string) */
	/*
	 * PUT: the document's new state (absent optional fields keep the
	 * stored ones). Every other kind with a document names it in
	 * put.document; WEB_RESTORE's position is put's too.
	 */
	struct db_put put;
	/*
	 * What a push keeps of the replaced state: recorded with PUT (and
	 * decoded from it when the record has it); the others apply with it
	 * too (restore, merge, import_lists) but never record it.
	 */
	struct db_history history;
	struct str name;   /* WEB_RENAME: the document's own title; DEVICE_ADD,
	                      DEVICE_RENAME: the credential's label;
	                      DEVICE_NAME: the display name */
	struct str alias;  /* WEB_LINK, WEB_UNLINK */
	bool admin;        /* WEB_ADMIN, DEVICES_ONLY: on or off */
	struct str dev_id; /* DEVICE_*: the credential's id; DEVICE_NAME,
	                      DEVICE_FORGET: the device's key */
	struct str events; /* EVENTS: the new text ("": none) */
	uint8_t policy;    /* POLICY: enum db_policy */
	int64_t at;        /* WEB_PROMOTE: the held entry's timestamp;
	                      DEVICE_FORGET: the time of the forget */
	/* IMPORT_LISTS: history entries and device positions to merge. */
	const struct db_put *lists_history;
	size_t n_history;
	const struct db_put *lists_devices;
	size_t n_devices;
};

/* The record's "op" of a kind. */
const char *change_op(enum change_kind kind);

/*
 * Append the journal record of c to out. For IMPORT_LISTS the history
 * entries stop once the record reaches CHANGE_LISTS_RECORD_MAX bytes (a
 * long history takes several records; the devices go with the first):
 * returns how many of c->lists_history it holds, 0 for the other kinds.
 */
size_t change_encode(struct buf *out, const struct change *c);

/*
 * Read the journal record rec (parsed) into c, whose strings then point
 * into rec and whose lists into a (freed by json_arena_release). now is
 * the history setting of the process that applies it: every kind but a
 * PUT that recorded its own takes it. Returns 0, or -1 when the record
 * cannot be understood.
 */
int change_decode(struct change *c, const struct json_value *rec,
    const struct db_history *now, struct json_arena *a);

/*
 * Apply c to db. A change to a user that is gone (or a document that is
 * gone) changes nothing: a journal may name them after they went.
 */
void change_apply(struct db *db, const struct change *c);
/*
 * The same, on c's user u as the caller already found it (NULL: none),
 * so that a live change does not look it up again. CREATE adds the user
 * when u is NULL, and sets the key of a reserved one.
 */
struct db_user;
void change_apply_user(
    struct db *db, struct db_user *u, const struct change *c);

/*
 * Replay: parse the record rec (len bytes), decode and apply it. Returns
 * 0, or -1 when the record cannot be understood (db is then unchanged).
 */
int change_replay(
    struct db *db, const struct db_history *now, const char *rec, size_t len);

#endif
