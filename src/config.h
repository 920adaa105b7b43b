/*
 * config.h: kosyncd's configuration, one option table for every source.
 *
 * struct config is a plain value: every option is a field. config.c holds
 * the option table (name, type, default, range, help) that drives the
 * defaults, the "config" section of database.json, the KOSYNCD_*
 * environment variables, the command-line flags, `kosyncd config show` and
 * the configuration reference in docs/ (`kosyncd config reference`).
 * The module has three files: config.c (the table, the checks, the
 * environment and the flags), config_file.c (database.json's "config"
 * object, read and written back) and config_reference.c (--help, config
 * show and the reference); config.h is the face of all three, and its
 * last section (the option table) is theirs alone.
 *
 * Precedence: built-in default < database.json < environment < flags. Each
 * option remembers the source of its value, and a source never overrides a
 * value from a stronger one, so the sources can be applied in any order (the
 * file is read after the flags because the flags name the data directory).
 *
 * Error messages (in the struct buf err of each function) name the option
 * and the offending value, say where it came from when that was
 * database.json, and carry no "kosyncd:" prefix; the caller adds its own.
 * This module prints nothing itself.
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

/* The file inside data_dir that holds the snapshot and the "config". */
#define CONFIG_DATABASE_FILE "database.json"

struct config {
	/* Where and how to store. */
	char *data_dir;         /* default "./data" */
	char *storage;          /* "file" (default), "memory" or "redis" */
	char *redis_address;    /* "host:port" or "unix:/path" */
	char *redis_password;   /* "" for none */
	unsigned redis_db;      /* SELECT index (the official server: 1) */
	bool redis_hash_keys;   /* store new keys as argon2id PHC strings */
	int fsync;              /* enum config_fsync */
	uint64_t compact_bytes; /* journal size that triggers compaction */

	/* KOsync's keys (database.json "config" section). */
	char *listen_address; /* default ":8080"; "" in the file means that */
	char *metrics_listen; /* "" (off) or an address for GET /metrics */
	bool disable_registration;
	bool enable_debug_log;
	bool store_history;
	char *backup_encoding_type; /* KOsync; kept, only "json" is written */
	bool backup_on_startup;
	bool enable_webui; /* KOsync; kept for the web interface */

	/* Protocol. */
	char *base_path; /* "" or "/a/b": extra prefix the routes live under */
	bool strict_accept;
	unsigned history_limit; /* entries per document, 0 = unbounded */

	/* Per-user limits (store.h STORE_USER_MAX_*); 0 = unbounded. */
	uint64_t user_max_documents;
	uint64_t user_max_history;
	uint64_t user_max_bytes;

	/* The WebDAV file space's limits (dav.h). */
	uint64_t dav_max_file_bytes;
	uint64_t dav_quota_bytes;
	unsigned dav_versions;

	/* Events out (webhook.h, docs/webhooks.md). */
	bool webhook_allow_private;
	uint64_t webhook_timeout_ms;
	uint64_t webhook_retry_ms;
	unsigned webhook_queue;
	char *webhook_url;    /* the server-wide webhook ("": none) */
	char *webhook_secret; /* its secret */
	char *webhook_events; /* its events, comma-separated names */

	/* Limits (see server.h for the reasons behind the defaults). */
	uint64_t max_header_bytes;
	uint64_t max_body_bytes;
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	uint64_t idle_timeout_ms;
	uint64_t request_timeout_ms;
	uint64_t shutdown_timeout_ms;
	bool access_log; /* one line per answered request on stderr */
	uint64_t argon2_concurrency;

	/* Brute-force limits and proxies (ratelimit.h, proxy.h). */
	unsigned auth_fail_per_user; /* 0: no limit */
	unsigned auth_fail_per_ip;   /* 0: no limit */
	unsigned auth_fail_window_s;
	unsigned register_per_ip; /* 0: no limit */
	unsigned register_window_s;
	unsigned ratelimit_entries;
	char *trusted_proxies; /* "" or addresses/CIDRs */

	/* The web interface (webui.h). */
	char *admins;       /* "" or user names, commas or blanks between */
	bool cookie_secure; /* session cookie always Secure */
	unsigned session_ttl_s;

	/* The library (library.h). */
	char *library_paths;       /* "" or folders separated by ':' */
	char *library_upload_path; /* "" means <data_dir>/library/uploads */
	unsigned library_rescan_interval_s;
	uint64_t library_max_upload_bytes;
	char *library_share; /* accounts seeing library_paths; "" all */

	/* Private to config.c: the source of each option's value. */
	unsigned char source_[CONFIG_MAX_OPTIONS];
	/*
	 * Private to config.c: the value database.json gave each option (as
	 * normalised text, NULL when the file did not set it), kept even when
	 * a stronger source overrides it so that config_file_write() writes
	 * the file back as it was.
	 */
	char *file_[CONFIG_MAX_OPTIONS];
};

/* Fill cfg with the built-in defaults (every source is "default"). */
void config_init(struct config *cfg);
/* Free the strings cfg owns. cfg must be config_init()ed again to reuse. */
void config_release(struct config *cfg);

/*
 * Set option name (its table name, e.g. "listen_address") from text with
 * the given source. Ignored (returns 0) when the current value came from a
 * stronger source, but the value is still checked. Returns -1 with a
 * message in err naming the option and the value when the name is unknown
 * or the value is invalid or out of range.
 *
 * Text forms: bool "true|false|1|0|yes|no|on|off" (any case); numbers in
 * decimal; enums one of their words; strings as they are.
 */
int config_set(struct config *cfg, const char *name, const char *value,
    enum config_source src, struct buf *err);

/*
 * Apply one scalar of database.json's "config" section (source
 * CONFIG_SRC_FILE). value is the unescaped string contents when is_string,
 * otherwise the literal's text ("true", "false", "null", a number). JSON
 * is strict here: a bool must be true or false, a number a non-negative
 * whole number, a string a string; null leaves the option alone (as KOsync
 * does). Unknown names are refused. Same result as config_set, with
 * "database.json" in the message.
 */
int config_file_set(struct config *cfg, const char *name, struct str value,
    bool is_string, struct buf *err);

/*
 * Apply the "config" object of a whole database.json text (len bytes) with
 * config_file_set(), ignoring everything else in it. Text of at most one
 * byte counts as an empty database (KOsync's rule). A non-scalar member of
 * "config" is refused. Returns 0, or -1 with a message in err. A pure
 * function of its input (fuzzable).
 */
int config_file_parse(
    struct config *cfg, const char *text, size_t len, struct buf *err);

/*
 * Read path (a database.json) and apply its "config" object as
 * config_file_parse() does. A missing file is not an error (nothing is
 * applied). Returns 0, or -1 with a message in err.
 */
int config_file_load(struct config *cfg, const char *path, struct buf *err);

/*
 * Apply every KOSYNCD_<OPTION> variable of envp (a NULL-terminated
 * "NAME=value" array such as environ). A KOSYNCD_ variable that names no
 * option is an error, except those starting with KOSYNCD_TEST_, which are
 * reserved for the test suite.
 */
int config_load_env(struct config *cfg, char *const *envp, struct buf *err);

/*
 * Apply the one flag at argv[*optind] and advance *optind past it (and
 * past its value when that is the next argument). Forms: "--name=value",
 * "--name value" (names with '-' or '_'); a bool also takes "--name"
 * (true) and "--no-name" (false) but never a separate value argument.
 * Returns 0, or -1 with a message in err (unknown option, missing or bad
 * value). argv[*optind] must start with "--" and not be "--" itself.
 */
int config_parse_arg(
    struct config *cfg, int argc, char **argv, int *optind, struct buf *err);

/*
 * Apply flags from argv starting at *optind, stopping at the first
 * argument that is not a flag, which *optind then points to ("--" is
 * skipped and ends the flags). "--help" and "-h" set *help.
 */
int config_parse_args(struct config *cfg, int argc, char **argv, int *optind,
    bool *help, struct buf *err);

/* Check relations between options. Returns 0, or -1 with err. */
int config_validate(const struct config *cfg, struct buf *err);

/*
 * Append option name's current value as text, in the form config_set
 * reads ("true", "42", a string as it is). Returns -1 when name is unknown.
 */
int config_value(const struct config *cfg, const char *name, struct buf *out);

/* The source of option name's value (CONFIG_SRC_DEFAULT when unknown). */
enum config_source config_source_of(const struct config *cfg, const char *name);
/* "default", "database.json", "environment" or "flag". */
const char *config_source_name(enum config_source src);

/* Append the options and their help to out, as for --help. */
void config_usage(struct buf *out);
/* Append "name = value  # source" for every option, as config show. */
void config_show(const struct config *cfg, struct buf *out);
/* Append the Markdown reference of every option (docs/configuration.md). */
void config_reference(struct buf *out);

/*
 * Write the "config" object of database.json (from '{' to '}'; the caller
 * writes the "config" key): KOsync's keys always, ours when the file set
 * them. A value from the environment or a flag is never persisted: the
 * file keeps what the file said, and a KOsync key the file did not have
 * gets its built-in default.
 */
void config_file_write(const struct config *cfg, struct json_out *out);

/*
 * The retired option admins (names once split on commas and blanks, which
 * made "Bob Smith" an administrator named Bob and one named Smith): the
 * next entry of the list at *p, split on commas only and trimmed of
 * blanks, so a name with a blank inside stays whole; *p moves past it.
 * Returns false at the end. Used once, to carry the entries that exactly
 * name an existing account over to the account's administrator flag.
 */
bool config_admins_next(const char **p, struct str *entry);

/*
 * The value database.json gave option name (even when a stronger source
 * overrides it), or NULL when the file did not set it (or no such option).
 */
const char *config_file_value(const struct config *cfg, const char *name);

/* ---------------------------------------------------------------------
 * The option table: private to the module's three files (config.c holds
 * it; config_file.c and config_reference.c read it). Nothing else of the
 * program uses what follows.
 */

enum config_type {
	CONFIG_T_BOOL,   /* bool */
	CONFIG_T_UINT,   /* unsigned */
	CONFIG_T_U64,    /* uint64_t */
	CONFIG_T_ENUM,   /* int, index into choices */
	CONFIG_T_STRING, /* char *, restricted to choices when they are set */
};

enum config_opt_flags {
	CONFIG_OPT_KOSYNC = 1 << 0, /* a KOsync key: always in database.json */
	CONFIG_OPT_NOFILE = 1 << 1, /* cannot be set in database.json */
	CONFIG_OPT_SECRET = 1 << 2, /* config show masks the value */
};

/*
 * A string option's check: normalise v in place or return -1 with the
 * reason in why.
 */
typedef int config_check_fn(struct buf *v, struct buf *why);

struct config_option {
	const char *name;   /* as in database.json; the flag uses '-' */
	size_t offset;      /* of the field in struct config */
	uint64_t def;       /* default of bool, number and enum options */
	const char *defstr; /* default of string options */
	uint64_t min, max;  /* range of number options */
	const char *const *choices; /* enum words; allowed strings */
	config_check_fn *check;     /* string options: form check */
	const char *arg;            /* metavariable in --help */
	const char *help;           /* one sentence for --help */
	const char *doc;            /* more prose for the reference */
	enum config_type type;
	unsigned flags; /* enum config_opt_flags */
};
/* The table (config.c), KOsync's keys first, and its length. */
extern const struct config_option config_options[];
extern const size_t config_noptions;

/* Index of the option called name (len bytes, '_' form), or -1. */
int config_option_index(const char *name, size_t len);

/*
 * Check text for option index i and, unless a stronger source set it,
 * store it into cfg; a value from the file is also remembered for
 * config_file_write(). Returns 0, or -1 with a message in err.
 */
int config_set_index(struct config *cfg, int i, const char *text,
    enum config_source src, struct buf *err);

/* A decimal number of digits only (no sign, blank or exponent): 0 or -1. */
int config_parse_u64(const char *s, uint64_t *out);

/* Append "--listen-address" for option o. */
void config_add_flag_name(struct buf *out, const struct config_option *o);
/* Append "KOSYNCD_LISTEN_ADDRESS" for option o. */
void config_add_env_name(struct buf *out, const struct config_option *o);
/* Append "a, b or c" for a NULL-terminated word list, each in quote. */
void config_add_choices(
    struct buf *out, const char *const *w, const char *quote);
/* Append option o's current value in cfg as text (unquoted). */
void config_add_value(
    struct buf *out, const struct config *cfg, const struct config_option *o);
/* Append option o's default as text (unquoted). */
void config_add_default(struct buf *out, const struct config_option *o);
/* Append "invalid value 'v' for option 'o' (--o): " to err. */
void config_add_bad_value(struct buf *err, const struct config_option *o,
    const char *v, enum config_source src);

#endif
