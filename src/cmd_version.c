/*
 * cmd_version.c: `kosyncd version` (also `kosyncd --version`).
 */
#include <stdio.h>

#include "cmd.h"

#ifndef KOSYNCD_VERSION
#define KOSYNCD_VERSION "unknown"
#endif

/* Print "kosyncd VERSION" on stdout. */
static int
cmd_version_exec(struct cmd_args *args)
{
	(void)args;
	if (printf("kosyncd %s\n", KOSYNCD_VERSION) < 0)
		return 1;
	return 0;
}

const struct cmd_entry cmd_version_entry = {
    .name = "version",
    .args = "",
    .help = "Print the version of kosyncd.",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_NO_ENV,
    .exec = cmd_version_exec,
};
