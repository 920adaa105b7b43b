/*
 * config_table.h: the option table of config.c, shared with the two other
 * parts of the configuration module: config_file.c (database.json's
 * "config" object, read and written back) and config_reference.c (the
 * option table written out for people: --help, config show and the
 * reference).
 *
 * Private to those three files: the rest of the program sees only
 * config.h. An entry of config_options[] describes one option; the
 * helpers below are the ones all three parts need (find an option, name
 * it as a flag or an environment variable, write its value or default as
 * text, set it from text with a source).
 */
#ifndef KOSYNCD_CONFIG_TABLE_H
#define KOSYNCD_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

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
