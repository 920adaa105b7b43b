/*
 * config.h: kosyncd's configuration, one option table for every source.
 *
 * struct config is a plain value: every option is a field. config.c holds
 * the option table (name, type, default, range, help) that drives the
 * defaults, the "config" section of database.json, the KOSYNCD_*
 * environment variables, the command-line flags, `kosyncd config show` and
 * the configuration reference in docs/.
 *
 * Precedence: built-in default < database.json < environment < flags. Each
 * option remembers the source of its value, and a source never overrides a
 * value from a stronger one, so the sources can be applied in any order (the
 * file is read after the flags because the flags name the data directory).
 */
#ifndef KOSYNCD_CONFIG_H
#define KOSYNCD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct json_out;

enum config_source {
	CONFIG_SRC_DEFAULT = 0,
	CONFIG_SRC_FILE,
	CONFIG_SRC_ENV,
	CONFIG_SRC_FLAG,
};

enum config_fsync {
	CONFIG_FSYNC_ALWAYS = 0,
	CONFIG_FSYNC_EVERYSEC,
	CONFIG_FSYNC_NO,
};

#define CONFIG_MAX_OPTIONS 64

struct config {
	/* Where and how to store. */
	char *data_dir;         /* default "./data" */
	char *storage;          /* "file" (default) or "memory" */
	int fsync;              /* enum config_fsync */
	uint64_t compact_bytes; /* journal size that triggers compaction */

	/* KOsync's keys (database.json "config" section). */
	char *listen_address; /* default ":8080" */
	bool disable_registration;
	bool enable_debug_log;
	bool store_history;
	char *backup_encoding_type; /* KOsync; kept, only "json" is written */
	bool backup_on_startup;
	bool enable_webui; /* KOsync; kept for the web interface */

	/* Protocol. */
	char *base_path; /* extra prefix the routes are served under */
	bool strict_accept;
	unsigned history_limit; /* entries per document, 0 = unbounded */

	/* Limits (see server.h for the reasons behind the defaults). */
	uint64_t max_header_bytes;
	uint64_t max_body_bytes;
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	uint64_t idle_timeout_ms;
	uint64_t request_timeout_ms;
	uint64_t argon2_concurrency;

	/* Private to config.c: the source of each option's value. */
	unsigned char source_[CONFIG_MAX_OPTIONS];
};

/* Fill cfg with the built-in defaults. */
void config_init(struct config *cfg);
/* Free the strings cfg owns. */
void config_release(struct config *cfg);

/*
 * Set option name (its table name, e.g. "listen_address") from text with
 * the given source. Ignored (returns 0) when the current value came from a
 * stronger source. Returns -1 with a message in err naming the option and
 * the value when the name is unknown or the value is invalid or out of
 * range.
 */
int config_set(struct config *cfg, const char *name, const char *value,
    enum config_source src, struct buf *err);

/*
 * Apply one scalar of database.json's "config" section. is_string tells a
 * JSON string from a bare literal (number, true, false). KOsync's keys that
 * kosyncd does not use are accepted and kept. Same result as config_set.
 */
int config_file_set(struct config *cfg, const char *name, struct str value,
    bool is_string, struct buf *err);

/* Apply every KOSYNCD_<OPTION> variable of envp. */
int config_load_env(struct config *cfg, char *const *envp, struct buf *err);

/*
 * Apply --option=value / --option value flags (option names with '-' or
 * '_') from argv starting at *optind, stopping at the first non-flag
 * argument, which *optind then points to. "--help" sets *help.
 */
int config_parse_args(struct config *cfg, int argc, char **argv, int *optind,
    bool *help, struct buf *err);

/* Check relations between options (e.g. base_path form). */
int config_validate(const struct config *cfg, struct buf *err);

/* Append the options and their help to out, as for --help. */
void config_usage(struct buf *out);
/* Append "name = value  (source)" for every option, as config show. */
void config_show(const struct config *cfg, struct buf *out);

/*
 * Write the "config" object of database.json: KOsync's keys always, ours
 * when the file set them. A value from the environment or a flag is never
 * persisted: the file keeps what the file said.
 */
void config_file_write(const struct config *cfg, struct json_out *out);

#endif
