/*
 * cmd_config.c: `kosyncd config show` and the hidden `kosyncd config
 * reference`.
 *
 * config show prints every option's effective value and its source. It
 * reads database.json's "config" object itself (config_file_load(), a
 * streaming read that stops after that object) instead of opening the
 * store, so it takes no lock, replays no journal and works while the
 * server runs. With storage "memory" no file is read, as the server would
 * not read one either.
 *
 * config reference prints docs/configuration.md; a test checks that the
 * committed file equals its output.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"

/* Apply data_dir/database.json's "config" unless storage is memory. */
static int
load_file(struct config *cfg)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	int rc = 0;

	if (strcmp(cfg->storage, "file") != 0)
		return 0;
	buf_addf(&path, "%s/%s", cfg->data_dir, CONFIG_DATABASE_FILE);
	if (config_file_load(cfg, path.data, &err) == -1) {
		fprintf(stderr, "kosyncd: %s: %s\n", path.data, err.data);
		rc = -1;
	}
	buf_release(&path);
	buf_release(&err);
	return rc;
}

/* Print "name = value  # source" for every option. */
static int
cmd_config_show_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	int rc = 1;

	if (load_file(args->cfg) == -1)
		goto out;
	if (config_validate(args->cfg, &err) == -1) {
		fprintf(stderr, "kosyncd: %s\n", err.data);
		goto out;
	}
	config_show(args->cfg, &out);
	if (fwrite(out.data, 1, out.len, stdout) != out.len)
		goto out;
	rc = 0;
out:
	buf_release(&out);
	buf_release(&err);
	return rc;
}

const struct cmd_entry cmd_config_show_entry = {
    .name = "config show",
    .args = "",
    .help = "Print every option's value and where it came from.",
    .min_args = 0,
    .max_args = 0,
    .exec = cmd_config_show_exec,
};

/* Print the Markdown reference of every option. */
static int
cmd_config_reference_exec(struct cmd_args *args)
{
	struct buf out = BUF_INIT;
	int rc = 0;

	(void)args;
	config_reference(&out);
	if (fwrite(out.data, 1, out.len, stdout) != out.len)
		rc = 1;
	buf_release(&out);
	return rc;
}

const struct cmd_entry cmd_config_reference_entry = {
    .name = "config reference",
    .args = "",
    .help = "Print the configuration reference (docs/configuration.md).",
    .min_args = 0,
    .max_args = 0,
    .flags = CMD_HIDDEN | CMD_NO_ENV,
    .exec = cmd_config_reference_exec,
};
