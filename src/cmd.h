/*
 * cmd.h: kosyncd's commands, one table (tmux-style).
 *
 * Every command is a const struct cmd_entry defined in its own
 * cmd_<noun>.c file as cmd_<noun>_<verb>_entry and listed once in cmd.c's
 * table; adding a command is one file plus that line. cmd_main() reads the
 * command line (global flags, the command's name, its own options, its
 * arguments and more flags, in any order, as GNU getopt permutes them),
 * applies the KOSYNCD_* environment and calls the command's exec.
 *
 * A command's exec receives the configuration with built-in defaults,
 * environment and flags applied; database.json's "config" object is not
 * read yet (store_open() applies it, or config_file_load() for commands
 * that do not open the store). It returns the exit status, 0 or 1, and
 * prints its own errors as "kosyncd: message" on stderr.
 */
#ifndef KOSYNCD_CMD_H
#define KOSYNCD_CMD_H

#include <stdbool.h>

#include "buf.h"

struct config;

enum cmd_flags {
	CMD_HIDDEN = 1 << 0, /* not listed by help (e.g. config reference) */
	CMD_NO_ENV = 1 << 1, /* KOSYNCD_* is not read (version, help) */
};

/* An option of one command only, e.g. --stdin of "user passwd". */
struct cmd_option {
	const char *name; /* without "--": "stdin" */
	bool has_arg;     /* takes a value: --name=V or --name V */
	const char *arg;  /* its metavariable in the usage: "FILE" */
	const char *help;
};

#define CMD_MAX_OPTIONS 8

struct cmd_entry;

struct cmd_args {
	const struct cmd_entry *entry;
	int argc;    /* positional arguments after the command's name */
	char **argv; /* NULL-terminated; borrowed from main's argv */
	struct config *cfg;
	bool set[CMD_MAX_OPTIONS];          /* entry->options[i] was given */
	const char *value[CMD_MAX_OPTIONS]; /* and its value (has_arg) */
};

typedef int cmd_exec_fn(struct cmd_args *args);

struct cmd_entry {
	const char *name; /* one or two words: "serve", "config show" */
	const char *args; /* positional arguments, man-page form: "name" */
	const char *help; /* one sentence */
	int min_args;
	int max_args;                     /* -1: no maximum */
	unsigned flags;                   /* enum cmd_flags */
	const struct cmd_option *options; /* ends with name NULL; or NULL */
	cmd_exec_fn *exec;
};

/*
 * Run the command named on the command line (default: serve) and return
 * the process's exit status. envp is the environment (environ).
 */
int cmd_main(int argc, char **argv, char *const *envp);

/*
 * A command's message: "kosyncd: <msg>" on stderr, one line. Returns 1, the
 * exit status of a failed command, so a command can end with
 * `return cmd_complain(...)`.
 */
int cmd_complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Whether the command's own option name was given; *value (may be NULL)
 * receives its argument.
 */
bool cmd_option(
    const struct cmd_args *args, const char *name, const char **value);

/* Append the whole usage (commands and options), as for --help. */
void cmd_usage(struct buf *out);

#endif
