/*
 * cmd.c: the command table and the command line.
 *
 * The table below lists every command once; each lives in its own
 * cmd_*.c file. cmd_main() finds the command, sorts the rest of the
 * command line into configuration flags (config.c), the command's own
 * options and its positional arguments, applies the environment, and runs
 * the command. Usage errors print a message and the command's synopsis on
 * stderr and exit 1; --help prints the usage on stdout and exits 0.
 *
 * Not here: what a command does (its cmd_*.c file), what an option means
 * (config.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

extern const struct cmd_entry cmd_backup_entry;
extern const struct cmd_entry cmd_book_entry;
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_compact_entry;
extern const struct cmd_entry cmd_config_reference_entry;
extern const struct cmd_entry cmd_config_show_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_export_redis_entry;
extern const struct cmd_entry cmd_healthcheck_entry;
extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_import_kosync_entry;
extern const struct cmd_entry cmd_import_redis_entry;
extern const struct cmd_entry cmd_restore_entry;
extern const struct cmd_entry cmd_salvage_entry;
extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_stats_entry;
extern const struct cmd_entry cmd_library_scan_entry;
extern const struct cmd_entry cmd_library_list_entry;
extern const struct cmd_entry cmd_library_add_entry;
extern const struct cmd_entry cmd_library_share_entry;
extern const struct cmd_entry cmd_library_status_entry;
extern const struct cmd_entry cmd_device_add_entry;
extern const struct cmd_entry cmd_device_list_entry;
extern const struct cmd_entry cmd_device_audit_entry;
extern const struct cmd_entry cmd_device_rename_entry;
extern const struct cmd_entry cmd_device_revoke_entry;
extern const struct cmd_entry cmd_user_add_entry;
extern const struct cmd_entry cmd_user_admin_entry;
extern const struct cmd_entry cmd_user_del_entry;
extern const struct cmd_entry cmd_user_devices_only_entry;
extern const struct cmd_entry cmd_user_policy_entry;
extern const struct cmd_entry cmd_user_list_entry;
extern const struct cmd_entry cmd_user_passwd_entry;
extern const struct cmd_entry cmd_version_entry;

/* Every command, in the order help lists them. */
static const struct cmd_entry *const cmd_table[] = {
    &cmd_serve_entry,
    &cmd_user_add_entry,
    &cmd_user_passwd_entry,
    &cmd_user_del_entry,
    &cmd_user_list_entry,
    &cmd_user_admin_entry,
    &cmd_user_devices_only_entry,
    &cmd_user_policy_entry,
    &cmd_device_add_entry,
    &cmd_device_list_entry,
    &cmd_device_audit_entry,
    &cmd_device_rename_entry,
    &cmd_device_revoke_entry,
    &cmd_backup_entry,
    &cmd_restore_entry,
    &cmd_check_entry,
    &cmd_salvage_entry,
    &cmd_compact_entry,
    /* "export redis" before "export", whose argument it would become. */
    &cmd_export_redis_entry,
    &cmd_export_entry,
    &cmd_import_kosync_entry,
    &cmd_import_redis_entry,
    &cmd_config_show_entry,
    &cmd_config_reference_entry,
    &cmd_stats_entry,
    &cmd_library_scan_entry,
    &cmd_library_list_entry,
    &cmd_library_add_entry,
    &cmd_library_share_entry,
    &cmd_library_status_entry,
    &cmd_book_entry,
    &cmd_healthcheck_entry,
    &cmd_version_entry,
    &cmd_help_entry,
    NULL,
};

static int cmd_help_exec(struct cmd_args *args);

const struct cmd_entry cmd_help_entry = {
    .name = "help",
    .args = "[command]",
    .help = "Print the usage of kosyncd or of one command.",
    .min_args = 0,
    .max_args = 2,
    .flags = CMD_NO_ENV,
    .exec = cmd_help_exec,
};

/* ---------------------------------------------------------------------
 * Usage text
 */

/* Append "kosyncd config show [--stdin] [options] args" for e. */
static void
add_synopsis(struct buf *out, const struct cmd_entry *e)
{
	const struct cmd_option *o;

	if (e == &cmd_serve_entry)
		buf_adds(out, "kosyncd [serve]");
	else
		buf_addf(out, "kosyncd %s", e->name);
	for (o = e->options; o != NULL && o->name != NULL; o++) {
		buf_addf(out, " [--%s", o->name);
		if (o->has_arg)
			buf_addf(out, " %s", o->arg != NULL ? o->arg : "VALUE");
		buf_adds(out, "]");
	}
	if ((e->flags & CMD_NO_ENV) == 0)
		buf_adds(out, " [--option value ...]");
	if (e->args != NULL && e->args[0] != '\0')
		buf_addf(out, " %s", e->args);
}

/* Append the synopsis of every command and the list of commands. */
static void
add_commands(struct buf *out)
{
	const struct cmd_entry *const *e;
	bool first = true;

	for (e = cmd_table; *e != NULL; e++) {
		if (((*e)->flags & CMD_HIDDEN) != 0)
			continue;
		buf_adds(out, first ? "usage: " : "       ");
		add_synopsis(out, *e);
		buf_addch(out, '\n');
		first = false;
	}
	buf_adds(out, "\nCommands:\n");
	for (e = cmd_table; *e != NULL; e++) {
		if (((*e)->flags & CMD_HIDDEN) != 0)
			continue;
		buf_addf(out, "     %-14s %s\n", (*e)->name, (*e)->help);
	}
}

void
cmd_usage(struct buf *out)
{
	add_commands(out);
	buf_adds(out,
	    "\nOptions (each is also KOSYNCD_<NAME> in the environment and "
	    "<name> in\nthe \"config\" object of database.json; flags win "
	    "over the environment,\nwhich wins over the file):\n");
	config_usage(out);
}

/* Append the usage of one command. */
static void
cmd_usage_one(struct buf *out, const struct cmd_entry *e)
{
	buf_adds(out, "usage: ");
	add_synopsis(out, e);
	buf_addf(out, "\n\n%s\n", e->help);
	if (e->options != NULL && e->options[0].name != NULL) {
		const struct cmd_option *o;

		buf_adds(out, "\nOptions of this command:\n");
		for (o = e->options; o->name != NULL; o++)
			buf_addf(out, "     --%s%s%s\n             %s\n",
			    o->name, o->has_arg ? " " : "",
			    o->has_arg ? (o->arg != NULL ? o->arg : "VALUE")
			               : "",
			    o->help);
	}
	if ((e->flags & CMD_NO_ENV) == 0)
		buf_adds(out, "\nSee kosyncd --help for the configuration "
		              "options.\n");
}

/* Print "kosyncd: msg" and the synopsis of e (or the whole usage). */
static int
usage_error(const struct cmd_entry *e, const char *msg)
{
	struct buf out = BUF_INIT;

	buf_addf(&out, "kosyncd: %s\n", msg);
	if (e != NULL) {
		buf_adds(&out, "usage: ");
		add_synopsis(&out, e);
		buf_addch(&out, '\n');
	} else {
		add_commands(&out);
		buf_adds(&out, "\nSee kosyncd --help for the options.\n");
	}
	fwrite(out.data, 1, out.len, stderr);
	buf_release(&out);
	return 1;
}

/* ---------------------------------------------------------------------
 * Finding the command
 */

/* Number of words of name (one or two). */
static int
name_words(const char *name)
{
	return strchr(name, ' ') != NULL ? 2 : 1;
}

/* Whether entry name's word w (0 or 1) is word. */
static bool
name_word_is(const char *name, int w, const char *word)
{
	const char *sp = strchr(name, ' ');
	size_t len;

	if (w == 1) {
		if (sp == NULL)
			return false;
		return strcmp(sp + 1, word) == 0;
	}
	len = sp != NULL ? (size_t)(sp - name) : strlen(name);
	return strlen(word) == len && strncmp(name, word, len) == 0;
}

/*
 * The entry named by words[0] (and words[1]), or NULL. *used receives how
 * many words the name took; *partial is set when words[0] starts a
 * two-word name but no second word matched.
 */
static const struct cmd_entry *
cmd_find(char **words, int nwords, int *used, bool *partial)
{
	const struct cmd_entry *const *e;

	*partial = false;
	for (e = cmd_table; *e != NULL; e++) {
		if (!name_word_is((*e)->name, 0, words[0]))
			continue;
		if (name_words((*e)->name) == 1) {
			*used = 1;
			return *e;
		}
		*partial = true;
		if (nwords > 1 && name_word_is((*e)->name, 1, words[1])) {
			*used = 2;
			return *e;
		}
	}
	return NULL;
}

/*
 * The command's own option matching argv[*i] ("--name" or "--name=v"),
 * or -1.
 */
static int
find_cmd_option(const struct cmd_entry *e, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg) - 2;
	int i;

	for (i = 0; e->options != NULL && e->options[i].name != NULL; i++)
		if (strlen(e->options[i].name) == len &&
		    strncmp(e->options[i].name, arg + 2, len) == 0)
			return i;
	return -1;
}

bool
cmd_option(const struct cmd_args *args, const char *name, const char **value)
{
	const struct cmd_entry *e = args->entry;
	int i;

	for (i = 0; e->options != NULL && e->options[i].name != NULL; i++) {
		if (strcmp(e->options[i].name, name) == 0) {
			if (value != NULL)
				*value = args->value[i];
			return args->set[i];
		}
	}
	return false;
}

/* ---------------------------------------------------------------------
 * The command line
 */

/*
 * Sort argv[*i...] into the command's options, configuration flags and
 * positional arguments (appended to pos). Returns 0, or -1 after printing
 * the usage error.
 */
static int
parse_rest(const struct cmd_entry *e, int argc, char **argv, int i,
    struct cmd_args *a, char **pos, bool *help)
{
	struct buf err = BUF_INIT;
	const char *arg;
	bool dashdash = false;
	int k, rc = -1;

	while (i < argc) {
		arg = argv[i];
		if (dashdash || arg[0] != '-' || arg[1] == '\0') {
			pos[a->argc++] = argv[i++];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			dashdash = true;
			i++;
		} else if (strcmp(arg, "--help") == 0 ||
		           strcmp(arg, "-h") == 0) {
			*help = true;
			i++;
		} else if (strncmp(arg, "--", 2) == 0 &&
		           (k = find_cmd_option(e, arg)) != -1) {
			const char *eq = strchr(arg, '=');

			i++;
			a->set[k] = true;
			if (e->options[k].has_arg && eq != NULL) {
				a->value[k] = eq + 1;
			} else if (e->options[k].has_arg && i < argc) {
				a->value[k] = argv[i++];
			} else if (e->options[k].has_arg || eq != NULL) {
				buf_addf(&err, "option '--%s' %s",
				    e->options[k].name,
				    e->options[k].has_arg ? "requires a value"
				                          : "takes no value");
				goto fail;
			}
		} else if (strncmp(arg, "--", 2) == 0) {
			if (config_parse_arg(a->cfg, argc, argv, &i, &err) ==
			    -1)
				goto fail;
		} else {
			buf_adds(&err, "unknown option '");
			log_escape(&err, str_from(arg), 100);
			buf_adds(&err, "'");
			goto fail;
		}
	}
	rc = 0;
	goto out;
fail:
	usage_error(e, err.data);
out:
	buf_release(&err);
	return rc;
}

int
cmd_main(int argc, char **argv, char *const *envp)
{
	const struct cmd_entry *e = NULL;
	struct cmd_args a;
	struct config cfg;
	struct buf err = BUF_INIT, out = BUF_INIT;
	char **pos = NULL;
	bool help = false, partial = false;
	int i = 1, used = 0, rc = 1;

	config_init(&cfg);
	memset(&a, 0, sizeof(a));
	a.cfg = &cfg;
	pos = xcalloc((size_t)argc + 1, sizeof(*pos));

	/* Flags before the command's name. */
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--help") == 0 ||
		           strcmp(argv[i], "-h") == 0) {
			help = true;
			i++;
		} else if (strcmp(argv[i], "--version") == 0) {
			e = &cmd_version_entry;
			i++;
		} else if (strncmp(argv[i], "--", 2) == 0) {
			if (config_parse_arg(&cfg, argc, argv, &i, &err) ==
			    -1) {
				usage_error(&cmd_serve_entry, err.data);
				goto out;
			}
		} else {
			buf_adds(&err, "unknown option '");
			log_escape(&err, str_from(argv[i]), 100);
			buf_adds(&err, "'");
			usage_error(&cmd_serve_entry, err.data);
			goto out;
		}
	}

	/* The command's name (none: serve, or help after --help). */
	if (e == NULL && i < argc) {
		e = cmd_find(argv + i, argc - i, &used, &partial);
		if (e == NULL) {
			buf_addf(&err, "%s command '",
			    partial ? "incomplete" : "unknown");
			log_escape(&err, str_from(argv[i]), 100);
			buf_adds(&err, "'");
			usage_error(NULL, err.data);
			goto out;
		}
		i += used;
	}
	if (e == NULL)
		e = help ? &cmd_help_entry : &cmd_serve_entry;
	a.entry = e;

	if (parse_rest(e, argc, argv, i, &a, pos, &help) == -1)
		goto out;
	a.argv = pos;
	if (help) {
		if (e == &cmd_help_entry)
			cmd_usage(&out);
		else
			cmd_usage_one(&out, e);
		fwrite(out.data, 1, out.len, stdout);
		rc = 0;
		goto out;
	}
	if (a.argc < e->min_args ||
	    (e->max_args >= 0 && a.argc > e->max_args)) {
		usage_error(e, a.argc < e->min_args ? "missing argument"
		                                    : "too many arguments");
		goto out;
	}
	if ((e->flags & CMD_NO_ENV) == 0 &&
	    config_load_env(&cfg, envp, &err) == -1) {
		fprintf(stderr, "kosyncd: %s\n", err.data);
		goto out;
	}
	rc = e->exec(&a);
out:
	fflush(stdout);
	config_release(&cfg);
	free(pos);
	buf_release(&err);
	buf_release(&out);
	return rc;
}

/* help [command [subcommand]]: the usage of kosyncd or of one command. */
static int
cmd_help_exec(struct cmd_args *args)
{
	const struct cmd_entry *e;
	struct buf out = BUF_INIT, err = BUF_INIT;
	bool partial;
	int used, rc = 0;

	if (args->argc == 0) {
		cmd_usage(&out);
	} else {
		e = cmd_find(args->argv, args->argc, &used, &partial);
		if (e == NULL && partial && args->argc == 1) {
			/* "help config": every "config ..." command. */
			const struct cmd_entry *const *t;

			for (t = cmd_table; *t != NULL; t++) {
				if (((*t)->flags & CMD_HIDDEN) == 0 &&
				    name_word_is(
				        (*t)->name, 0, args->argv[0])) {
					cmd_usage_one(&out, *t);
					buf_addch(&out, '\n');
				}
			}
			goto print;
		}
		if (e == NULL || used != args->argc) {
			buf_adds(&err, "unknown command '");
			log_escape(&err, str_from(args->argv[0]), 100);
			buf_adds(&err, "'");
			usage_error(NULL, err.data);
			rc = 1;
			goto out;
		}
		cmd_usage_one(&out, e);
	}
print:
	fwrite(out.data, 1, out.len, stdout);
out:
	buf_release(&out);
	buf_release(&err);
	return rc;
}

int
cmd_complain(const char *fmt, ...)
{
	va_list ap;

	fputs("kosyncd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}
