/*
 * snapshot_writer.c: database.json written (see snapshot.h): the tables
 * streamed as our newest schema in blocks of WRITE_BLOCK bytes, and the file
 * replaced whole through fileio_replace() (temporary file, fsync, rename,
 * fsync of the directory).
 *
 * The layout is KOsync's: 2-space indentation, users and their documents
 * sorted, KOsync's keys in KOsync's order, ours ("admin", "links",
 * "devices", "metadata") only when they hold something.
 *
 * Not here: reading (snapshot_reader.c), backups (snapshot_backup.c),
 * deciding when to write (datadir.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "fileio.h"
#include "json.h"
#include "policy.h"
#include "snapshot.h"

#define WRITE_BLOCK ((size_t)1024 * 1024)

struct writer {
	int fd;
	struct buf b;
	struct json_out o;
	int err; /* errno of the first failed write */
};

static void
w_flush(struct writer *w, bool force)
{
	if (w->b.len == 0 || (!force && w->b.len < WRITE_BLOCK))
		return;
	if (w->err == 0 && fileio_write_all(w->fd, w->b.data, w->b.len) != 0)
		w->err = errno;
	buf_reset(&w->b);
}

static void
w_entry(
    struct json_out *o, const struct db_entry *e, const char *doc, bool history)
{
	json_obj_begin(o);
	json_key(o, "progress");
	json_strn(o, db_entry_progress(e), e->len[0]);
	json_key(o, "percentage");
	json_double(o, e->percentage);
	json_key(o, "device");
	json_strn(o, db_entry_device(e), e->len[1]);
	json_key(o, "device_id");
	json_strn(o, db_entry_device_id(e), e->len[2]);
	if (history) {
		json_key(o, "document");
		json_str(o, doc);
	}
	json_key(o, "timestamp");
	json_int(o, e->timestamp);
	/* Held back by the account's policy (docs/policy.md). */
	if (history && e->held != 0) {
		json_key(o, "held");
		json_str(o, policy_held_name(e->held));
		if (e->held & DB_HELD_PROMOTED) {
			json_key(o, "promoted");
			json_bool(o, true);
		}
	}
	json_obj_end(o);
}

static void
w_doc(struct json_out *o, const struct db_doc *d)
{
	uint32_t i;

	json_keyn(o, db_doc_field(d, DB_F_ID), d->len[DB_F_ID]);
	json_obj_begin(o);
	json_key(o, "progress");
	json_strn(o, db_doc_field(d, DB_F_PROGRESS), d->len[DB_F_PROGRESS]);
	json_key(o, "percentage");
	json_double(o, d->percentage);
	json_key(o, "device");
	json_strn(o, db_doc_field(d, DB_F_DEVICE), d->len[DB_F_DEVICE]);
	json_key(o, "device_id");
	json_strn(o, db_doc_field(d, DB_F_DEVICE_ID), d->len[DB_F_DEVICE_ID]);
	json_key(o, "document");
	json_strn(o, db_doc_field(d, DB_F_ID), d->len[DB_F_ID]);
	json_key(o, "timestamp");
	json_int(o, d->timestamp);
	json_key(o, "pretty_name");
	json_strn(
	    o, db_doc_field(d, DB_F_PRETTY_NAME), d->len[DB_F_PRETTY_NAME]);
	if (d->len[DB_F_FILENAME] || d->len[DB_F_TITLE] ||
	    d->len[DB_F_AUTHORS]) {
		json_key(o, "metadata");
		json_obj_begin(o);
		if (d->len[DB_F_FILENAME]) {
			json_key(o, "filename");
			json_str(o, db_doc_field(d, DB_F_FILENAME));
		}
		if (d->len[DB_F_TITLE]) {
			json_key(o, "title");
			json_str(o, db_doc_field(d, DB_F_TITLE));
		}
		if (d->len[DB_F_AUTHORS]) {
			json_key(o, "authors");
			json_str(o, db_doc_field(d, DB_F_AUTHORS));
		}
		json_obj_end(o);
	}
	if (d->devices != NULL && d->devices->n > 0) {
		json_key(o, "devices");
		json_arr_begin(o);
		for (i = 0; i < d->devices->n; i++)
			w_entry(o, d->devices->e[i], NULL, false);
		json_arr_end(o);
	}
	json_obj_end(o);
}

/* A string member, when s is set. */
static void
w_opt(struct json_out *o, const char *key, const char *s)
{
	if (s == NULL)
		return;
	json_key(o, key);
	json_str(o, s);
}

/* A credential's audit, oldest first (read back in that order). */
static void
w_audit(struct json_out *o, const struct db_devcred *c)
{
	const struct db_audit *a;
	uint32_t i;

	if (c->naudit == 0)
		return;
	json_key(o, "audit");
	json_arr_begin(o);
	for (i = c->naudit; i-- > 0;) {
		a = db_devcred_audit_at(c, i);
		json_obj_begin(o);
		json_key(o, "time");
		json_int(o, a->time);
		json_key(o, "what");
		json_str(o, db_audit_what_name(a->what));
		w_opt(o, "address", a->address);
		w_opt(o, "agent", a->agent);
		w_opt(o, "document", a->document);
		json_obj_end(o);
	}
	json_arr_end(o);
}

/* The device credentials and the devices-only setting (docs/devices.md). */
/*
 * The account's device names (docs/database.md): "device_names" {key:
 * name} and "devices_forgotten" {key: time}, each only when not empty.
 */
static void
w_devnames(struct json_out *o, const struct db_user *u)
{
	uint32_t i, n;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = n = 0; i < u->ndevnames; i++) {
			if (pass == 0 ? u->devnames[i].name[0] == '\0'
			              : u->devnames[i].forgotten == 0)
				continue;
			if (n++ == 0) {
				json_key(o, pass == 0 ? "device_names"
				                      : "devices_forgotten");
				json_obj_begin(o);
			}
			json_key(o, u->devnames[i].key);
			if (pass == 0)
				json_str(o, u->devnames[i].name);
			else
				json_int(o, u->devnames[i].forgotten);
		}
		if (n > 0)
			json_obj_end(o);
	}
}

static void
w_devcreds(struct json_out *o, const struct db_user *u)
{
	const struct db_devcred *c;
	uint32_t i;

	if (u->devices_only) {
		json_key(o, "devices_only");
		json_bool(o, true);
	}
	if (u->ndevcreds == 0)
		return;
	json_key(o, "device_credentials");
	json_obj_begin(o);
	for (i = 0; i < u->ndevcreds; i++) {
		c = &u->devcreds[i];
		json_key(o, c->id);
		json_obj_begin(o);
		json_key(o, "label");
		json_str(o, c->label);
		/* Revoked: an empty key. */
		json_key(o, "key");
		json_str(o, c->key != NULL ? c->key : "");
		json_key(o, "created");
		json_int(o, c->created);
		if (c->used != 0) {
			json_key(o, "used");
			json_int(o, c->used);
			w_opt(o, "used_address", c->used_addr);
			w_opt(o, "used_agent", c->used_agent);
			w_opt(o, "used_device", c->used_device);
			w_opt(o, "used_device_id", c->used_device_id);
		}
		w_audit(o, c);
		json_obj_end(o);
	}
	json_obj_end(o);
}

static void
w_user(struct writer *w, const struct db_user *u)
{
	struct json_out *o = &w->o;
	struct db_doc **docs;
	size_t n, i;
	uint32_t j;

	json_keyn(o, u->name, u->name_len);
	json_obj_begin(o);
	json_key(o, "username");
	json_strn(o, u->name, u->name_len);
	json_key(o, "password");
	json_str(o, u->key ? u->key : "");
	if (u->admin) {
		json_key(o, "admin");
		json_bool(o, true);
	}
	w_devcreds(o, u);
	w_devnames(o, u);
	/* Events out (docs/webhooks.md). */
	w_opt(o, "webhooks", u->webhooks);
	w_opt(o, "feed", u->feed);
	if (u->policy != DB_POLICY_LATEST) {
		json_key(o, "progress_policy");
		json_str(o, policy_name(u->policy));
	}
	json_key(o, "documents");
	json_obj_begin(o);
	docs = db_docs_sorted(u, &n);
	for (i = 0; i < n; i++) {
		w_doc(o, docs[i]);
		w_flush(w, false);
	}
	json_obj_end(o);
	json_key(o, "history");
	json_obj_begin(o);
	for (i = 0; i < n; i++) {
		const struct db_doc *d = docs[i];

		if (d->history == NULL || d->history->n == 0)
			continue;
		json_keyn(o, db_doc_field(d, DB_F_ID), d->len[DB_F_ID]);
		json_obj_begin(o);
		json_key(o, "document_history");
		json_arr_begin(o);
		for (j = 0; j < d->history->n; j++)
			w_entry(o, d->history->e[j], db_doc_field(d, DB_F_ID),
			    true);
		json_arr_end(o);
		json_obj_end(o);
		w_flush(w, false);
	}
	json_obj_end(o);
	/* Merged documents (webui), only when there are some. */
	if (u->nlinks > 0) {
		json_key(o, "links");
		json_obj_begin(o);
		for (j = 0; j < u->nlinks; j++) {
			json_key(o, u->links[j].alias);
			json_str(o, u->links[j].canonical);
		}
		json_obj_end(o);
	}
	json_obj_end(o);
	free(docs);
}

int
snapshot_write_fd(
    int fd, const struct db *db, const struct config *cfg, uint64_t journal_seq)
{
	struct writer w;
	struct db_user **users;
	size_t n, i;

	w.fd = fd;
	w.err = 0;
	buf_init(&w.b);
	json_out_init(&w.o, &w.b, true);
	json_obj_begin(&w.o);
	json_key(&w.o, "schema");
	json_int(&w.o, SNAPSHOT_SCHEMA);
	json_key(&w.o, "journal_seq");
	json_uint(&w.o, journal_seq);
	json_key(&w.o, "config");
	if (cfg != NULL) {
		config_file_write(cfg, &w.o);
	} else {
		json_obj_begin(&w.o);
		json_obj_end(&w.o);
	}
	json_key(&w.o, "users");
	json_obj_begin(&w.o);
	users = db_users_sorted(db, &n);
	for (i = 0; i < n && w.err == 0; i++) {
		if (users[i]->creating)
			continue;
		w_user(&w, users[i]);
	}
	free(users);
	json_obj_end(&w.o);
	json_obj_end(&w.o);
	buf_addch(&w.b, '\n');
	w_flush(&w, true);
	buf_release(&w.b);
	if (w.err != 0) {
		errno = w.err;
		return -1;
	}
	return 0;
}

void
snapshot_clean_temp(const char *dir)
{
	char prefix[64];
	DIR *d;
	struct dirent *e;
	struct buf path = BUF_INIT;
	size_t plen;

	snprintf(prefix, sizeof(prefix), ".%s.tmp.", SNAPSHOT_FILE);
	plen = strlen(prefix);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, e->d_name);
		(void)unlink(path.data);
	}
	closedir(d);
	buf_release(&path);
}

struct save_db {
	const struct db *db;
	const struct config *cfg;
	uint64_t journal_seq;
};

static int
fill_db(int fd, const void *ctx)
{
	const struct save_db *c = ctx;

	return snapshot_write_fd(fd, c->db, c->cfg, c->journal_seq);
}

/*
 * Replace dir/database.json atomically with what fill writes (fileio.h;
 * the temporary file is one snapshot_clean_temp() knows). On success *st
 * (if not NULL) is the new file's stat.
 */
static int
replace(const char *dir, int (*fill)(int fd, const void *ctx), const void *ctx,
    struct stat *st, struct buf *err)
{
	struct buf tmp = BUF_INIT, dst = BUF_INIT;
	const char *op;
	int rc = -1;

	buf_addf(&tmp, "%s/.%s.tmp.%ld", dir, SNAPSHOT_FILE, (long)getpid());
	buf_addf(&dst, "%s/%s", dir, SNAPSHOT_FILE);
	if (fileio_replace(dst.data, tmp.data, fill, ctx, &op) != 0)
		goto fail;
	if (st != NULL && stat(dst.data, st) != 0) {
		op = "stat";
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	buf_addf(err, "cannot write snapshot '%s' (%s): %s", dst.data, op,
	    strerror(errno));
out:
	buf_release(&tmp);
	buf_release(&dst);
	return rc;
}

int
snapshot_save(const char *dir, const struct db *db, const struct config *cfg,
    uint64_t journal_seq, struct stat *st, struct buf *err)
{
	struct save_db c = {db, cfg, journal_seq};

	return replace(dir, fill_db, &c, st, err);
}

int
snapshot_replace(const char *dir, const char *json, size_t len, struct buf *err)
{
	struct fileio_bytes b = {json, len};

	return replace(dir, fileio_fill_bytes, &b, NULL, err);
}
