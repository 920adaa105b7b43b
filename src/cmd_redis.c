/*
 * cmd_redis.c: `kosyncd import redis` and `kosyncd export redis`.
 *
 * import: every user and document in Redis (the official server's layout,
 * plus kosyncd's own keys) into the file store of data_dir; export: the
 * file store into Redis. Redis is reached through the redis_* options
 * (address, password, database), whatever `storage` says. Both merge:
 * users that exist already keep their key, documents are added when
 * unknown and replaced when the copied timestamp is newer, otherwise
 * skipped. Into the file store, each document's history and device
 * positions are merged as well, whatever happened to its current state
 * (filestore_admin.c). Both print the counts.
 *
 * The data directory is locked as by a server (the command refuses while
 * kosyncd serves it); Redis may be in use by servers meanwhile. The copy
 * is store_admin_dump() of one backend fed to store_admin_import() of the
 * other, so it goes through each backend's own rules (keys hashed at rest
 * in the file store; the journal; Redis scripts).
 *
 * Keys: the file store keeps argon2id hashes of keys, so exported users
 * have hashed keys in Redis, which kosyncd's redis backend reads but the
 * official server cannot (it compares keys verbatim).
 *
 * WebDAV files: the tree of each account of the dump goes along
 * (davmove.h), from <data_dir>/dav to Redis or back. Every tree is first
 * checked (names, sizes, the target's quota) before anything is written:
 * a refused tree stops the command with nothing changed. The copy then
 * follows the accounts' import; when it fails midway, the files copied so
 * far stay (each whole) and running the command again finishes it. Into
 * Redis, what the file store read of each account's statistics files
 * goes too (statsvc_share_files): instances on Redis never read them again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "cmd.h"
#include "config.h"
#include "davmove.h"
#include "davredis.h"
#include "davstore.h"
#include "json.h"
#include "log.h"
#include "statsvc.h"
#include "store.h"
#include "xmalloc.h"

struct xfer {
	uv_loop_t *loop;
	struct store *from;
	struct store *to;
	const char *from_name;
	const char *to_name;
	struct davmove_end dav_from, dav_to;
	struct json_arena users; /* the dump, for its accounts' names */
	const struct json_value *dump;
	int flushing;
	int rc;
};

static void *
xfer_alloc(void *ctx, size_t size)
{
	struct buf *blocks = ctx;
	void *p = xcalloc(1, size ? size : 1);

	buf_add(blocks, &p, sizeof(p));
	return p;
}

/* Print "FROM -> TO: name=value ..." from the import's JSON report. */
static void
xfer_report(const struct xfer *x, const char *text, size_t len)
{
	struct buf blocks = BUF_INIT, line = BUF_INIT;
	const struct json_value *v, *m;
	size_t i;

	v = json_parse(text, len, xfer_alloc, &blocks, NULL);
	buf_addf(&line, "%s -> %s:", x->from_name, x->to_name);
	if (v != NULL && v->type == JSON_OBJECT) {
		for (m = v->child; m != NULL; m = m->next)
			buf_addf(&line, " %s=%s", m->key.p,
			    m->text.p ? m->text.p : "?");
	} else {
		buf_adds(&line, " ");
		buf_add(&line, text, len);
	}
	printf("%s\n", line.data);
	fflush(stdout);
	for (i = 0; i + sizeof(void *) <= blocks.len; i += sizeof(void *)) {
		void *p;

		memcpy(&p, blocks.data + i, sizeof(p));
		free(p);
	}
	buf_release(&blocks);
	buf_release(&line);
}

static void
xfer_flushed(void *arg)
{
	struct xfer *x = arg;

	if (--x->flushing == 0)
		uv_stop(x->loop);
}

static void
xfer_finish(struct xfer *x, int rc)
{
	x->rc = rc;
	x->flushing = 2;
	store_flush(x->from, xfer_flushed, x);
	store_flush(x->to, xfer_flushed, x);
}

static const char *
xfer_result(enum store_result r)
{
	switch (r) {
	case STORE_ERR_UNAVAILABLE:
		return "unavailable";
	case STORE_ERR_IO:
		return "failed";
	default:
		return "refused";
	}
}

/*
 * Check (dry) or copy the WebDAV tree of every account of the dump that
 * the target can hold. Returns 0, or -1 after saying why.
 */
static int
xfer_dav(struct xfer *x, bool dry)
{
	const struct json_value *users, *u;
	struct davmove_tally t = {0};
	struct buf why = BUF_INIT;
	int rc = 0;

	users = x->dump != NULL ? json_get(x->dump, "users") : NULL;
	if (users != NULL && users->type != JSON_OBJECT)
		users = NULL;
	for (u = users != NULL ? users->child : NULL; u != NULL && rc == 0;
	     u = u->next) {
		/* Redis cannot hold such a name: the account is skipped. */
		if (x->dav_to.data_dir == NULL &&
		    memchr(u->key.p, ':', u->key.len) != NULL)
			continue;
		rc = davmove_tree(
		    &x->dav_from, &x->dav_to, u->key, dry, &t, &why);
		/* Instances on Redis do not read the files again. */
		if (rc == 0 && !dry && x->dav_to.data_dir == NULL &&
		    statsvc_share_files(
		        x->dav_to.cfg, x->dav_from.data_dir, u->key) == -1) {
			buf_reset(&why);
			buf_addf(&why,
			    "'%s': its statistics cannot be copied: %s",
			    u->key.p, strerror(errno));
			rc = -1;
		}
	}
	if (rc == -1 && dry)
		log_warnx("cannot copy the WebDAV files: %s; nothing was "
		          "changed",
		    why.data);
	else if (rc == -1)
		log_warnx("copying the WebDAV files stopped: %s; the files "
		          "copied so far are kept, run the command again to "
		          "finish",
		    why.data);
	else if (!dry)
		printf("%s -> %s: webdav trees=%llu files_copied=%llu "
		       "folders_made=%llu files_existing=%llu bytes=%llu\n",
		    x->from_name, x->to_name, (unsigned long long)t.trees,
		    (unsigned long long)t.files, (unsigned long long)t.folders,
		    (unsigned long long)t.existing,
		    (unsigned long long)t.bytes);
	fflush(stdout);
	buf_release(&why);
	return rc;
}

static void
xfer_imported(void *arg, enum store_result r, const char *text, size_t len)
{
	struct xfer *x = arg;

	if (r != STORE_OK) {
		log_warnx("cannot copy into %s: %s%s%.*s", x->to_name,
		    xfer_result(r), len ? ": " : "", (int)len,
		    text ? text : "");
		xfer_finish(x, 1);
		return;
	}
	xfer_report(x, text, len);
	xfer_finish(x, xfer_dav(x, false) == 0 ? 0 : 1);
}

static void
xfer_dumped(void *arg, enum store_result r, const char *text, size_t len)
{
	struct xfer *x = arg;

	if (r != STORE_OK) {
		log_warnx("cannot read %s: %s%s%.*s", x->from_name,
		    xfer_result(r), len ? ": " : "", (int)len,
		    text ? text : "");
		xfer_finish(x, 1);
		return;
	}
	x->dump = json_parse(text, len, json_arena_alloc, &x->users, NULL);
	if (x->dump == NULL) {
		log_warnx("cannot read the accounts of %s", x->from_name);
		xfer_finish(x, 1);
		return;
	}
	if (xfer_dav(x, true) == -1) {
		xfer_finish(x, 1);
		return;
	}
	store_admin_import(x->to, text, len, xfer_imported, x);
}

static void
xfer_close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
xfer_run(struct cmd_args *args, bool to_redis)
{
	struct config *cfg = args->cfg;
	struct store *file = NULL, *redis = NULL;
	struct davmove_end disk = {0}, rdav = {0};
	struct json_arena arena = JSON_ARENA_INIT;
	struct buf name = BUF_INIT;
	struct xfer x;

	memset(&x, 0, sizeof(x));
	x.users = arena;
	x.rc = 1;
	x.loop = uv_default_loop();
	file = store_open_backend(x.loop, cfg, "file");
	if (file == NULL)
		goto out;
	redis = store_open_backend(x.loop, cfg, "redis");
	if (redis == NULL)
		goto out;
	buf_addf(&name, "redis %s db %u", cfg->redis_address, cfg->redis_db);
	x.from = to_redis ? file : redis;
	x.to = to_redis ? redis : file;
	x.from_name = to_redis ? cfg->data_dir : name.data;
	x.to_name = to_redis ? name.data : cfg->data_dir;
	disk.s = davstore_disk_new(cfg->data_dir);
	disk.data_dir = cfg->data_dir;
	disk.cfg = cfg;
	rdav.s = davredis_new(cfg);
	rdav.cfg = cfg;
	x.dav_from = to_redis ? disk : rdav;
	x.dav_to = to_redis ? rdav : disk;
	store_admin_dump(x.from, xfer_dumped, &x);
	uv_run(x.loop, UV_RUN_DEFAULT);
out:
	store_close(redis);
	store_close(file);
	uv_walk(x.loop, xfer_close_walk, NULL);
	uv_run(x.loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(x.loop);
	davstore_free(disk.s);
	davstore_free(rdav.s);
	json_arena_release(&x.users);
	buf_release(&name);
	return x.rc;
}

static int
cmd_import_redis_exec(struct cmd_args *args)
{
	return xfer_run(args, false);
}

static int
cmd_export_redis_exec(struct cmd_args *args)
{
	return xfer_run(args, true);
}

const struct cmd_entry cmd_import_redis_entry = {
    .name = "import redis",
    .args = "",
    .help = "Copy users, progress and WebDAV files from Redis to files.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_import_redis_exec,
};

const struct cmd_entry cmd_export_redis_entry = {
    .name = "export redis",
    .args = "",
    .help = "Copy users, progress and WebDAV files from files to Redis.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_export_redis_exec,
};
