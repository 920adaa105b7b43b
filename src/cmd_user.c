/*
 * cmd_user.c: `kosyncd user add|passwd|del|list|admin|devices-only|policy` and
 * `kosyncd device add|list|audit|rename|revoke` (docs/devices.md).
 *
 * Accounts without a device: the administrator types the password (or
 * pipes it with --stdin), and the command stores what KOReader would send
 * for it, the md5 hex of the password, which the store hashes at rest. The
 * work goes through offline_run(): to the running server over its control
 * socket, so the account works for clients the moment the command returns,
 * or offline under the data directory's lock.
 *
 * Not here: the operations themselves (admin.c, the store).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cmd.h"
#include "config.h"
#include "davfs.h"
#include "json.h"
#include "md5.h"
#include "offline.h"
#include "policy.h"
#include "xmalloc.h"

#define PASSWORD_MAX 1024

/*
 * Read one line from fd into pw (without its newline). Returns its length,
 * or -1 (too long, or nothing could be read).
 */
static ssize_t
read_line(int fd, char *pw, size_t size)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (n == 0)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (n + 1 >= size)
			return -1;
		pw[n++] = c;
	}
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	pw[n] = '\0';
	return (ssize_t)n;
}

/* Prompt on the terminal fd with echo off; see read_line. */
static ssize_t
prompt(int fd, const char *text, char *pw, size_t size)
{
	struct termios old, quiet;
	ssize_t n;
	bool restore = false;

	if (write(fd, text, strlen(text)) < 0)
		return -1;
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = true;
	}
	n = read_line(fd, pw, size);
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		return -1;
	return n;
}

/*
 * The key for the password read from stdin (with --stdin) or typed twice
 * on /dev/tty: 32 lowercase hex digits of its md5 into key. 0 or 1 (the
 * exit status, after saying why).
 */
static int
get_key(struct cmd_args *args, char key[MD5_HEX_LEN + 1])
{
	char pw[PASSWORD_MAX], again[PASSWORD_MAX];
	ssize_t n, m;
	int fd, rc = 1;

	if (cmd_option(args, "stdin", NULL)) {
		n = read_line(STDIN_FILENO, pw, sizeof(pw));
		if (n < 0) {
			cmd_complain("no password on standard input");
			goto out;
		}
	} else {
		fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd == -1)
			return cmd_complain(
			    "no terminal to ask for the password "
			    "on; use --stdin");
		n = prompt(fd, "Password: ", pw, sizeof(pw));
		m = n < 0
		        ? -1
		        : prompt(fd, "Retype password: ", again, sizeof(again));
		close(fd);
		if (n < 0 || m < 0) {
			cmd_complain("no password given");
			goto out;
		}
		if (n != m || sodium_memcmp(pw, again, (size_t)n) != 0) {
			cmd_complain("the passwords differ");
			goto out;
		}
	}
	/* KOReader sends nothing for a password of blanks only. */
	if (strspn(pw, " \t") == (size_t)n) {
		cmd_complain("the password is empty");
		goto out;
	}
	md5_hex(pw, (size_t)n, key);
	rc = 0;
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(again, sizeof(again));
	return rc;
}

/* {"username":name[,"key":key][,"admin":admin]} (admin: when flag) */
static void
user_body(
    struct buf *b, const char *name, const char *key, bool flag, bool admin)
{
	struct json_out o;

	json_out_init(&o, b, false);
	json_obj_begin(&o);
	json_key(&o, "username");
	json_str(&o, name);
	if (key != NULL) {
		json_key(&o, "key");
		json_str(&o, key);
	}
	if (flag) {
		json_key(&o, "admin");
		json_bool(&o, admin);
	}
	json_obj_end(&o);
}

/*
 * Report an answer that is not success: its "message" when it has one.
 * Returns 1.
 */
static int
answer_error(int status, const struct buf *out)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root, *msg;

	root = json_parse(out->data, out->len, json_arena_alloc, &ar, NULL);
	msg = root != NULL ? json_get(root, "message") : NULL;
	if (msg != NULL && msg->type == JSON_STRING)
		cmd_complain("%s", msg->text.p);
	else
		cmd_complain("the operation failed (status %d)", status);
	json_arena_release(&ar);
	return 1;
}

/* Run op for the user named argv[0], with a key when one is asked for. */
static int
user_op(struct cmd_args *args, const char *op, bool with_key, const char *done)
{
	char key[MD5_HEX_LEN + 1];
	struct buf body = BUF_INIT, out = BUF_INIT;
	const char *name = args->argv[0];
	int status, rc = 1;
	bool admin;

	if (with_key && get_key(args, key) != 0)
		return 1;
	admin = strcmp(op, "user-add") == 0 && cmd_option(args, "admin", NULL);
	user_body(&body, name, with_key ? key : NULL, admin, admin);
	sodium_memzero(key, sizeof(key));
	if (offline_run(args->cfg, op, body.data, body.len, &status, &out) != 0)
		goto out;
	if (status / 100 != 2) {
		answer_error(status, &out);
		goto out;
	}
	printf("kosyncd: user '%s' %s%s\n", name, done,
	    admin ? " (an administrator of the web interface)" : "");
	rc = 0;
out:
	sodium_memzero(body.data, body.len);
	buf_release(&body);
	buf_release(&out);
	return rc;
}

static int
cmd_user_add_exec(struct cmd_args *args)
{
	return user_op(args, "user-add", true, "added");
}

static int
cmd_user_passwd_exec(struct cmd_args *args)
{
	return user_op(args, "user-passwd", true, "has a new password");
}

static int
cmd_user_del_exec(struct cmd_args *args)
{
	return user_op(args, "user-del", false, "deleted with all its data");
}

/* `user admin NAME on|off`: the account's administrator flag. */
static int
cmd_user_admin_exec(struct cmd_args *args)
{
	struct buf body = BUF_INIT, out = BUF_INIT;
	const char *name = args->argv[0], *how = args->argv[1];
	int status, rc = 1;
	bool on = strcmp(how, "on") == 0;

	if (!on && strcmp(how, "off") != 0)
		return cmd_complain("say on or off, not '%s'", how);
	user_body(&body, name, NULL, true, on);
	if (offline_run(args->cfg, "user-admin", body.data, body.len, &status,
	        &out) != 0)
		goto out;
	if (status / 100 != 2) {
		answer_error(status, &out);
		goto out;
	}
	printf("kosyncd: user '%s' %s an administrator of the web interface\n",
	    name, on ? "is now" : "is no longer");
	rc = 0;
out:
	buf_release(&body);
	buf_release(&out);
	return rc;
}

/*
 * Device credentials
 */

static void format_time(char *out, size_t size, double t);

/*
 * Run op with the body {"username": argv[0]} plus k1: v1 and k2: v2 when
 * given (NULL: not), plus "on": on when on >= 0; on success print the
 * answer with print. 0 or 1.
 */
static int
device_op(struct cmd_args *args, const char *op, const char *k1, const char *v1,
    const char *k2, const char *v2, int on,
    int (*print)(struct cmd_args *args, const struct buf *out))
{
	struct buf body = BUF_INIT, out = BUF_INIT;
	struct json_out o;
	int status, rc = 1;

	json_out_init(&o, &body, false);
	json_obj_begin(&o);
	json_key(&o, "username");
	json_str(&o, args->argv[0]);
	if (k1 != NULL) {
		json_key(&o, k1);
		json_str(&o, v1);
	}
	if (k2 != NULL) {
		json_key(&o, k2);
		json_str(&o, v2);
	}
	if (on >= 0) {
		json_key(&o, "on");
		json_bool(&o, on > 0);
	}
	json_obj_end(&o);
	if (offline_run(args->cfg, op, body.data, body.len, &status, &out) != 0)
		goto out;
	if (status / 100 != 2) {
		answer_error(status, &out);
		goto out;
	}
	rc = print(args, &out);
out:
	sodium_memzero(out.data, out.len);
	buf_release(&out);
	buf_release(&body);
	return rc;
}

/* A member string of the answer out, or "?". */
static const char *
member(const struct json_value *root, const char *key)
{
	const struct json_value *v = root ? json_get(root, key) : NULL;

	return v != NULL && v->type == JSON_STRING ? v->text.p : "?";
}

static int
print_added(struct cmd_args *args, const struct buf *out)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root;
	const char *pw;

	root = json_parse(out->data, out->len, json_arena_alloc, &ar, NULL);
	pw = member(root, "password");
	printf("kosyncd: device credential %s for user '%s' (%s)\n",
	    member(root, "id"), args->argv[0], args->argv[1]);
	if (strlen(pw) == 16)
		printf("password: %.4s %.4s %.4s %.4s\n", pw, pw + 4, pw + 8,
		    pw + 12);
	printf("Type the 16 letters without spaces as the password in "
	       "KOReader (Progress sync and Cloud storage), with the user "
	       "name '%s'. It is not shown again.\n",
	    args->argv[0]);
	json_arena_release(&ar);
	return 0;
}

static int
cmd_device_add_exec(struct cmd_args *args)
{
	return device_op(args, "device-add", "label", args->argv[1], NULL, NULL,
	    -1, print_added);
}

/*
 * The answer out for a table: with --json printed as it is (1); else
 * parsed into ar, *root and its array *list named name (0), or -1 after
 * saying it is not one.
 */
static int
answer_list(struct cmd_args *args, const struct buf *out, const char *name,
    struct json_arena *ar, const struct json_value **root,
    const struct json_value **list)
{
	if (cmd_option(args, "json", NULL)) {
		fwrite(out->data, 1, out->len, stdout);
		fputc('\n', stdout);
		return 1;
	}
	*root = json_parse(out->data, out->len, json_arena_alloc, ar, NULL);
	*list = *root != NULL ? json_get(*root, name) : NULL;
	if (*list == NULL || (*list)->type != JSON_ARRAY) {
		json_arena_release(ar);
		cmd_complain("the server's answer is not a list");
		return -1;
	}
	return 0;
}

static int
print_devices(struct cmd_args *args, const struct buf *out)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root, *list, *d, *v;
	char created[32], used[32];
	double num;
	int rc = answer_list(args, out, "devices", &ar, &root, &list);

	if (rc != 0)
		return rc < 0;
	v = json_get(root, "devices_only");
	printf("devices only: %s\n",
	    v != NULL && v->type == JSON_TRUE ? "on" : "off");
	if (json_get(root, "progress_policy") != NULL)
		printf(
		    "progress policy: %s\n", member(root, "progress_policy"));
	printf("%-8s  %-7s  %-16s  %-16s  %-15s  %s\n", "ID", "STATE",
	    "CREATED (UTC)", "LAST USED (UTC)", "FROM", "LABEL (DEVICE)");
	for (d = list->child; d != NULL; d = d->next) {
		num = 0;
		if ((v = json_get(d, "created")) != NULL)
			(void)json_number(v, false, &num);
		format_time(created, sizeof(created), num);
		num = 0;
		if ((v = json_get(d, "used")) != NULL)
			(void)json_number(v, false, &num);
		format_time(used, sizeof(used), num);
		v = json_get(d, "revoked");
		printf("%-8s  %-7s  %-16s  %-16s  %-15s  %s", member(d, "id"),
		    v != NULL && v->type == JSON_TRUE ? "revoked" : "live",
		    created, used,
		    *member(d, "address") ? member(d, "address") : "-",
		    member(d, "label"));
		if (*member(d, "device"))
			printf(" (%s)", member(d, "device"));
		fputc('\n', stdout);
	}
	json_arena_release(&ar);
	return 0;
}

static int
cmd_device_list_exec(struct cmd_args *args)
{
	return device_op(
	    args, "device-list", NULL, NULL, NULL, NULL, -1, print_devices);
}

static int
print_audit(struct cmd_args *args, const struct buf *out)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root, *list, *d, *v;
	char when[32];
	double num;
	int rc = answer_list(args, out, "audit", &ar, &root, &list);

	if (rc != 0)
		return rc < 0;
	v = json_get(root, "revoked");
	printf("device credential %s of user '%s': %s%s\n", args->argv[1],
	    args->argv[0], member(root, "label"),
	    v != NULL && v->type == JSON_TRUE ? " (revoked)" : "");
	printf("%-16s  %-6s  %-15s  %s\n", "TIME (UTC)", "WHAT", "FROM",
	    "CLIENT (DOCUMENT)");
	for (d = list->child; d != NULL; d = d->next) {
		num = 0;
		if ((v = json_get(d, "time")) != NULL)
			(void)json_number(v, false, &num);
		format_time(when, sizeof(when), num);
		printf("%-16s  %-6s  %-15s  %s", when, member(d, "what"),
		    member(d, "address"), member(d, "agent"));
		if (json_get(d, "document") != NULL)
			printf(" (%s)", member(d, "document"));
		fputc('\n', stdout);
	}
	json_arena_release(&ar);
	return 0;
}

static int
cmd_device_audit_exec(struct cmd_args *args)
{
	return device_op(args, "device-audit", "id", args->argv[1], NULL, NULL,
	    -1, print_audit);
}

static int
print_done(struct cmd_args *args, const struct buf *out)
{
	(void)out;
	if (strcmp(args->entry->name, "device rename") == 0)
		printf("kosyncd: device credential %s of user '%s' is now "
		       "'%s'\n",
		    args->argv[1], args->argv[0], args->argv[2]);
	else if (strcmp(args->entry->name, "device revoke") == 0)
		printf("kosyncd: device credential %s of user '%s' is "
		       "revoked\n",
		    args->argv[1], args->argv[0]);
	else
		printf("kosyncd: user '%s' signs in on the sync protocol and "
		       "WebDAV with %s\n",
		    args->argv[0],
		    strcmp(args->argv[1], "on") == 0
		        ? "device credentials only"
		        : "its password or a device credential");
	return 0;
}

static int
cmd_device_rename_exec(struct cmd_args *args)
{
	return device_op(args, "device-rename", "id", args->argv[1], "label",
	    args->argv[2], -1, print_done);
}

static int
cmd_device_revoke_exec(struct cmd_args *args)
{
	return device_op(args, "device-revoke", "id", args->argv[1], NULL, NULL,
	    -1, print_done);
}

static int
cmd_user_devices_only_exec(struct cmd_args *args)
{
	const char *how = args->argv[1];

	if (strcmp(how, "on") != 0 && strcmp(how, "off") != 0)
		return cmd_complain("say on or off, not '%s'", how);
	return device_op(args, "devices-only", NULL, NULL, NULL, NULL,
	    strcmp(how, "on") == 0, print_done);
}

static int
print_policy(struct cmd_args *args, const struct buf *out)
{
	(void)out;
	printf("kosyncd: user '%s' has the progress policy %s\n", args->argv[0],
	    args->argv[1]);
	return 0;
}

/* `kosyncd user policy NAME latest|furthest|guard` (docs/policy.md). */
static int
cmd_user_policy_exec(struct cmd_args *args)
{
	if (policy_parse(str_from(args->argv[1])) < 0)
		return cmd_complain(
		    "say latest, furthest or guard, not '%s'", args->argv[1]);
	return device_op(args, "device-policy", "policy", args->argv[1], NULL,
	    NULL, -1, print_policy);
}

/* "2026-11-26 12:00" (UTC) or "-". */
static void
format_time(char *out, size_t size, double t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, size, "-");
}

/*
 * The bytes of user's WebDAV files (file storage: read from the data
 * directory, running server or not) into out, or "-".
 */
static void
format_files(char *out, size_t size, const struct config *cfg, const char *user)
{
	struct davfs_tally t;

	if (strcmp(cfg->storage, "file") != 0 ||
	    davfs_tree_usage(cfg->data_dir ? cfg->data_dir : "./data",
	        (struct str){user, strlen(user)}, &t) != 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%llu", (unsigned long long)t.bytes);
}

static int
print_users(const struct config *cfg, const struct buf *out)
{
	struct json_arena ar = JSON_ARENA_INIT;
	const struct json_value *root, *u, *v, *d;
	char when[32], files[24];
	double num;
	int rc = 1;

	root = json_parse(out->data, out->len, json_arena_alloc, &ar, NULL);
	if (root == NULL || root->type != JSON_ARRAY) {
		cmd_complain("the server's answer is not a list of users");
		goto out;
	}
	printf("%-24s %9s %11s %8s %11s  %-16s  %s\n", "USER", "DOCUMENTS",
	    "BYTES", "HISTORY", "FILES", "LAST SYNC (UTC)", "DEVICES");
	for (u = root->child; u != NULL; u = u->next) {
		v = json_get(u, "username");
		format_files(files, sizeof(files), cfg,
		    v != NULL && v->type == JSON_STRING ? v->text.p : "");
		d = json_get(u, "admin");
		printf("%s%-*s", d != NULL && d->type == JSON_TRUE ? "*" : "",
		    d != NULL && d->type == JSON_TRUE ? 23 : 24,
		    v != NULL && v->type == JSON_STRING ? v->text.p : "?");
		v = json_get(u, "documents");
		printf(" %9s",
		    v != NULL && v->type == JSON_NUMBER ? v->text.p : "0");
		v = json_get(u, "bytes");
		printf(" %11s",
		    v != NULL && v->type == JSON_NUMBER ? v->text.p : "-");
		v = json_get(u, "history");
		printf(" %8s",
		    v != NULL && v->type == JSON_NUMBER ? v->text.p : "-");
		printf(" %11s", files);
		v = json_get(u, "last_sync");
		num = 0;
		if (v != NULL)
			(void)json_number(v, false, &num);
		format_time(when, sizeof(when), num);
		printf("  %-16s  ", when);
		v = json_get(u, "devices");
		if (v == NULL || v->child == NULL)
			fputs("-", stdout);
		for (d = v != NULL ? v->child : NULL; d != NULL; d = d->next)
			printf("%s%s", d->text.p != NULL ? d->text.p : "",
			    d->next != NULL ? ", " : "");
		fputc('\n', stdout);
	}
	rc = 0;
out:
	json_arena_release(&ar);
	return rc;
}

static int
cmd_user_list_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	int status, rc = 1;

	if (offline_run(args->cfg, "user-list", NULL, 0, &status, &out) != 0)
		goto out;
	if (status != 200) {
		answer_error(status, &out);
		goto out;
	}
	if (cmd_option(args, "json", NULL)) {
		fwrite(out.data, 1, out.len, stdout);
		fputc('\n', stdout);
		rc = 0;
	} else {
		rc = print_users(args->cfg, &out);
	}
out:
	buf_release(&out);
	return rc;
}

static const struct cmd_option add_options[] = {
    {"stdin", false, NULL,
        "Read the password from the first line of standard input."},
    {"admin", false, NULL,
        "Also make the user an administrator of the web interface (a flag "
        "on the account; see user admin)."},
    {NULL, false, NULL, NULL},
};

static const struct cmd_option passwd_options[] = {
    {"stdin", false, NULL,
        "Read the password from the first line of standard input."},
    {NULL, false, NULL, NULL},
};

static const struct cmd_option list_options[] = {
    {"json", false, NULL, "Print the list as JSON."},
    {NULL, false, NULL, NULL},
};

const struct cmd_entry cmd_user_add_entry = {
    .name = "user add",
    .args = "name",
    .help = "Create an account (the password is asked for).",
    .min_args = 1,
    .max_args = 1,
    .options = add_options,
    .exec = cmd_user_add_exec,
};

const struct cmd_entry cmd_user_passwd_entry = {
    .name = "user passwd",
    .args = "name",
    .help = "Set an account's password (the old one stops at once).",
    .min_args = 1,
    .max_args = 1,
    .options = passwd_options,
    .exec = cmd_user_passwd_exec,
};

const struct cmd_entry cmd_user_del_entry = {
    .name = "user del",
    .args = "name",
    .help = "Delete an account and all its reading positions.",
    .min_args = 1,
    .max_args = 1,
    .exec = cmd_user_del_exec,
};

const struct cmd_entry cmd_user_admin_entry = {
    .name = "user admin",
    .args = "name on|off",
    .help = "Make an account an administrator of the web UI, or not.",
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_user_admin_exec,
};

const struct cmd_entry cmd_user_list_entry = {
    .name = "user list",
    .args = "",
    .help = "List the accounts: documents, last sync, devices.",
    .min_args = 0,
    .max_args = 0,
    .options = list_options,
    .exec = cmd_user_list_exec,
};

const struct cmd_entry cmd_user_devices_only_entry = {
    .name = "user devices-only",
    .args = "name on|off",
    .help = "Sync with device credentials only, or not.",
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_user_devices_only_exec,
};

const struct cmd_entry cmd_user_policy_entry = {
    .name = "user policy",
    .args = "name latest|furthest|guard",
    .help = "Which push becomes an account's position (docs/policy.md).",
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_user_policy_exec,
};

const struct cmd_entry cmd_device_add_entry = {
    .name = "device add",
    .args = "user label",
    .help = "Give an account a device credential (password shown once).",
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_device_add_exec,
};

const struct cmd_entry cmd_device_list_entry = {
    .name = "device list",
    .args = "user",
    .help = "List an account's device credentials, their last use.",
    .min_args = 1,
    .max_args = 1,
    .options = list_options,
    .exec = cmd_device_list_exec,
};

const struct cmd_entry cmd_device_audit_entry = {
    .name = "device audit",
    .args = "user id",
    .help = "Show a device credential's last sign-ins and syncs.",
    .min_args = 2,
    .max_args = 2,
    .options = list_options,
    .exec = cmd_device_audit_exec,
};

const struct cmd_entry cmd_device_rename_entry = {
    .name = "device rename",
    .args = "user id label",
    .help = "Give a device credential another label.",
    .min_args = 3,
    .max_args = 3,
    .exec = cmd_device_rename_exec,
};

const struct cmd_entry cmd_device_revoke_entry = {
    .name = "device revoke",
    .args = "user id",
    .help = "Revoke a device credential (refused at once).",
    .min_args = 2,
    .max_args = 2,
    .exec = cmd_device_revoke_exec,
};
