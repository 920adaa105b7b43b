/*
 * cmd_store.c: `kosyncd backup`, `restore`, `check`, `salvage`, `compact`,
 * `export` and `import kosync`: the data as a whole.
 *
 * While a server runs on the data directory, backup, compact, export and
 * import are done by it, through the control socket; otherwise they work
 * offline under the directory's lock (datadir_offline.h, or the store opened on
 * a private loop by offline_run). restore and salvage are offline only:
 * they replace database.json, which a running server would never notice. check
 * reads the files as they are and works either way.
 *
 * Not here: the operations themselves (admin.c, datadir_offline.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "control_client.h"
#include "offline.h"
#include "datadir_offline.h"
#include "fileio.h"
#include "json.h"
#include "snapshot.h"
#include "xmalloc.h"

/* The commands below need the file storage's data directory. */
static int
need_file(const struct config *cfg, const char *what)
{
	if (strcmp(cfg->storage, "file") == 0)
		return 0;
	cmd_complain("%s works on storage \"file\" only (storage is \"%s\")",
	    what, cfg->storage);
	return -1;
}

/* A member of the JSON object text as a string ("" when absent). */
static char *
answer_member(const struct buf *out, const char *key)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root, *v;
	char *r;

	root = json_parse(out->data, out->len, json_arena_alloc, &ar, NULL);
	v = root != NULL ? json_get(root, key) : NULL;
	if (v == NULL || v->text.p == NULL)
		r = xstrdup("");
	else
		r = xstrdup(v->text.p);
	json_arena_release(&ar);
	return r;
}

/* Report an answer that is not success (its "message"). Returns 1. */
static int
answer_error(int status, const struct buf *out)
{
	char *msg = answer_member(out, "message");

	if (msg[0] != '\0')
		cmd_complain("%s", msg);
	else
		cmd_complain("the operation failed (status %d)", status);
	free(msg);
	return 1;
}

/*
 * Run op through the control socket or offline (offline_run); 0 with the
 * answer in out, or 1 after saying why.
 */
static int
run(struct cmd_args *args, const char *op, const char *body, size_t len,
    struct buf *out)
{
	int status;

	if (offline_run(args->cfg, op, body, len, &status, out) != 0)
		return 1;
	if (status / 100 != 2)
		return answer_error(status, out);
	return 0;
}

/*
 * Run op through the control socket only. Returns 0 (answered, 2xx), 1
 * (answered with an error, said), or CONTROL_NO_SERVER + 1 (no server).
 */
static int
run_online(struct cmd_args *args, const char *op, struct buf *out)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	int status, rc;

	control_socket_path(args->cfg, &path);
	rc = control_call(path.data, op, NULL, 0, &status, out, &err);
	if (rc == -1)
		cmd_complain("%s", err.data);
	buf_release(&path);
	buf_release(&err);
	if (rc == CONTROL_NO_SERVER)
		return CONTROL_NO_SERVER + 1;
	if (rc == -1)
		return 1;
	if (status / 100 != 2)
		return answer_error(status, out);
	return 0;
}

/* backup: a PEM backup of the current state in the data directory. */
static int
cmd_backup_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	char *path = NULL;
	int rc;

	if (need_file(args->cfg, "backup") != 0)
		return 1;
	rc = run_online(args, "backup", &out);
	if (rc == 0) {
		/* The server wrote the PEM file; the files are copied here. */
		path = answer_member(&out, "file");
		if (datadir_offline_files_backup(
		        args->cfg->data_dir ? args->cfg->data_dir : "./data",
		        path) != 0) {
			(void)unlink(path);
			cmd_complain("no backup written");
			rc = 1;
		}
	} else if (rc == CONTROL_NO_SERVER + 1) {
		rc = datadir_offline_backup(args->cfg, &path) == 0 ? 0 : 1;
		if (rc != 0)
			cmd_complain("no backup written");
	}
	if (rc == 0)
		printf("%s\n", path);
	free(path);
	buf_release(&out);
	return rc;
}

/* restore FILE: offline only. */
static int
cmd_restore_exec(struct cmd_args *args)
{
	char *saved = NULL;
	bool files = false;
	int rc = 1;

	if (need_file(args->cfg, "restore") != 0)
		return 1;
	if (control_server_runs(args->cfg))
		return cmd_complain("kosyncd is running on '%s'; stop it first "
		                    "(restore replaces database.json)",
		    args->cfg->data_dir);
	if (datadir_offline_restore(args->cfg, args->argv[0], &saved, &files) !=
	    0) {
		cmd_complain(
		    "'%s' not restored; nothing was changed", args->argv[0]);
		goto out;
	}
	if (saved != NULL)
		printf("kosyncd: the previous state is saved in '%s'\n", saved);
	printf("kosyncd: restored '%s'\n", args->argv[0]);
	if (!files)
		printf(
		    "kosyncd: it has no WebDAV files ('%s" DATADIR_OFFLINE_FILES
		    "'); the files are left as they are\n",
		    args->argv[0]);
	rc = 0;
out:
	free(saved);
	return rc;
}

/* check: exit 0 when database.json and the journal are sound. */
static int
cmd_check_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	int rc;

	if (need_file(args->cfg, "check") != 0)
		return 1;
	rc = datadir_offline_check(args->cfg, &out) == 0 ? 0 : 1;
	fwrite(out.data, 1, out.len, stdout);
	buf_release(&out);
	return rc;
}

/*
 * salvage: keep every intact journal record after damage in the middle,
 * with the damaged bytes saved beside the journal.
 */
static int
cmd_salvage_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	int rc;

	if (need_file(args->cfg, "salvage") != 0)
		return 1;
	rc = datadir_offline_salvage(args->cfg, &out) == 0 ? 0 : 1;
	fwrite(out.data, 1, out.len, stdout);
	if (rc != 0)
		cmd_complain("not salvaged");
	buf_release(&out);
	return rc;
}

/* compact: a new database.json and an empty journal. */
static int
cmd_compact_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	int rc;

	if (need_file(args->cfg, "compact") != 0)
		return 1;
	rc = run_online(args, "compact", &out);
	if (rc == CONTROL_NO_SERVER + 1)
		rc = datadir_offline_compact(args->cfg) == 0 ? 0 : 1;
	if (rc == 0)
		printf("kosyncd: compacted\n");
	else
		cmd_complain("not compacted");
	buf_release(&out);
	return rc;
}

/*
 * Write len bytes to path, created with mode 0600 (it holds the account
 * keys, hashed), replaced whole: a temporary file beside it, renamed
 * (fileio_replace()).
 */
static int
write_file(const char *path, const char *data, size_t len)
{
	struct fileio_bytes b = {data, len};
	struct buf tmp = BUF_INIT;
	const char *op;
	int rc = 0;

	buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	if (fileio_replace(path, tmp.data, fileio_fill_bytes, &b, &op) != 0) {
		rc = -1;
		if (strcmp(op, "create") == 0)
			cmd_complain("cannot create '%s': %s", tmp.data,
			    strerror(errno));
		else if (strcmp(op, "rename") == 0)
			cmd_complain("cannot rename '%s' to '%s': %s", tmp.data,
			    path, strerror(errno));
		else if (strcmp(op, "fsync directory") == 0)
			cmd_complain("cannot sync the directory of '%s': %s",
			    path, strerror(errno));
		else
			cmd_complain(
			    "cannot write '%s': %s", tmp.data, strerror(errno));
	}
	buf_release(&tmp);
	return rc;
}

/* export [FILE]: database.json text to FILE or standard output. */
static int
cmd_export_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	int rc = 1;

	if (run(args, "export", NULL, 0, &out) != 0)
		goto out;
	if (args->argc == 0 || strcmp(args->argv[0], "-") == 0) {
		if (fwrite(out.data, 1, out.len, stdout) != out.len ||
		    fflush(stdout) != 0) {
			cmd_complain("cannot write to standard output");
			goto out;
		}
	} else if (write_file(args->argv[0], out.data, out.len) != 0) {
		goto out;
	}
	rc = 0;
out:
	buf_release(&out);
	return rc;
}

/* The number member key of the report. */
static unsigned long long
count(const struct buf *out, const char *key)
{
	char *v = answer_member(out, key);
	unsigned long long n = strtoull(v, NULL, 10);

	free(v);
	return n;
}

/* import kosync FILE: merge a KOsync database.json. */
static int
cmd_import_kosync_exec(struct cmd_args *args)
{
	struct buf text = BUF_INIT, err = BUF_INIT, out = BUF_INIT;
	int rc = 1;

	if (snapshot_read(args->argv[0], &text, &err) != 0) {
		cmd_complain("%s", err.data);
		goto out;
	}
	if (run(args, "import", text.data, text.len, &out) != 0) {
		cmd_complain("'%s' not imported", args->argv[0]);
		goto out;
	}
	printf("kosyncd: imported '%s'\n"
	       "users: %llu added, %llu already here (their password is "
	       "kept), %llu skipped (invalid name)\n"
	       "documents: %llu added, %llu updated (newer), %llu skipped "
	       "(ours is as new or newer)\n",
	    args->argv[0], count(&out, "users_added"),
	    count(&out, "users_existing"), count(&out, "users_skipped"),
	    count(&out, "documents_added"), count(&out, "documents_updated"),
	    count(&out, "documents_skipped"));
	if (count(&out, "users_over_limit") > 0)
		printf("warning: %llu users are over a per-user limit "
		       "(user_max_*; see `kosyncd user list`): what they push "
		       "that adds data is refused until it is raised\n",
		    count(&out, "users_over_limit"));
	rc = 0;
out:
	buf_release(&text);
	buf_release(&err);
	buf_release(&out);
	return rc;
}

const struct cmd_entry cmd_backup_entry = {
    .name = "backup",
    .args = "",
    .help = "Write a PEM backup of the data into the data directory.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_backup_exec,
};

const struct cmd_entry cmd_restore_entry = {
    .name = "restore",
    .args = "file",
    .help = "Restore a PEM backup (with the server stopped).",
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_restore_exec,
};

const struct cmd_entry cmd_check_entry = {
    .name = "check",
    .args = "",
    .help = "Verify database.json and the journal; exit 1 on damage.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_check_exec,
};

const struct cmd_entry cmd_salvage_entry = {
    .name = "salvage",
    .args = "",
    .help = "Keep every intact record of a damaged journal.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_salvage_exec,
};

const struct cmd_entry cmd_compact_entry = {
    .name = "compact",
    .args = "",
    .help = "Write a new database.json and start an empty journal.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_compact_exec,
};

const struct cmd_entry cmd_export_entry = {
    .name = "export",
    .args = "[file]",
    .help = "Print the whole database as database.json (or into file).",
    .min_args = 0,
    .max_args = 1,
    .exec = cmd_export_exec,
};

const struct cmd_entry cmd_import_kosync_entry = {
    .name = "import kosync",
    .args = "file",
    .help = "Merge a KOsync database.json (the newer position wins).",
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_import_kosync_exec,
};
