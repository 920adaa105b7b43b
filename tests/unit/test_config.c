/*
 * test_config.c: the option table and its sources. Covers every type with
 * good and bad values and range edges, listen_address and base_path forms,
 * precedence of the four sources applied in every order, database.json
 * values (strict JSON types, null, NUL, unknown names, a whole file), the
 * environment, flags in every spelling, validation, config show, the
 * reference and the "config" object written back into database.json.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "json.h"

/* Names of every option, in table order (checked against config show). */
static const char *const all_options[] = {"listen_address",
    "disable_registration", "enable_debug_log", "store_history",
    "backup_encoding_type", "backup_on_startup", "enable_webui", "data_dir",
    "storage", "redis_address", "redis_password", "redis_db", "redis_hash_keys",
    "fsync", "compact_bytes", "base_path", "strict_accept", "history_limit",
    "user_max_documents", "user_max_history", "user_max_bytes",
    "dav_max_file_bytes", "dav_quota_bytes", "dav_versions", "max_header_bytes",
    "max_body_bytes", "max_connections", "max_connections_per_ip",
    "idle_timeout_ms", "request_timeout_ms", "shutdown_timeout_ms",
    "access_log", "argon2_concurrency", "auth_fail_per_user",
    "auth_fail_per_ip", "auth_fail_window_s", "register_per_ip",
    "register_window_s", "ratelimit_entries", "trusted_proxies",
    "metrics_listen", "admins", "cookie_secure", "session_ttl_s",
    "webhook_allow_private", "webhook_timeout_ms", "webhook_retry_ms",
    "webhook_queue", "webhook_url", "webhook_secret", "webhook_events",
    "library_paths", "library_upload_path", "library_rescan_interval_s",
    "library_share", "library_max_upload_bytes", NULL};

/* The value of option name as config show prints it (without source). */
static char *
shown(const struct config *cfg, const char *name)
{
	struct buf out = BUF_INIT;
	char *line, *eq, *hash, *res;
	size_t nl = strlen(name);

	config_show(cfg, &out);
	for (line = out.data; line != NULL && *line != '\0';) {
		char *end = strchr(line, '\n');

		if (strncmp(line, name, nl) == 0 && line[nl] == ' ') {
			eq = strstr(line, " = ");
			hash = strstr(line, "  # ");
			assert_non_null(eq);
			assert_non_null(hash);
			res = strndup(eq + 3, (size_t)(hash - eq - 3));
			buf_release(&out);
			return res;
		}
		line = end != NULL ? end + 1 : NULL;
	}
	buf_release(&out);
	fail_msg("option %s not shown", name);
	return NULL;
}

static void
assert_shown(const struct config *cfg, const char *name, const char *want)
{
	char *got = shown(cfg, name);

	assert_string_equal(got, want);
	free(got);
}

static void
test_config__defaults(void **state)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	config_init(&cfg);
	assert_string_equal(cfg.listen_address, ":8080");
	assert_string_equal(cfg.data_dir, "./data");
	assert_string_equal(cfg.storage, "file");
	assert_int_equal(cfg.fsync, CONFIG_FSYNC_ALWAYS);
	assert_int_equal(cfg.compact_bytes, 64 * 1024 * 1024);
	assert_string_equal(cfg.base_path, "");
	assert_false(cfg.strict_accept);
	assert_false(cfg.disable_registration);
	assert_false(cfg.enable_debug_log);
	assert_false(cfg.store_history);
	assert_string_equal(cfg.backup_encoding_type, "json");
	assert_int_equal(cfg.history_limit, 100);
	assert_int_equal(cfg.max_body_bytes, 65536);
	assert_int_equal(cfg.max_header_bytes, 16 * 1024);
	assert_int_equal(cfg.max_connections, 4096);
	assert_int_equal(cfg.max_connections_per_ip, 64);
	assert_int_equal(cfg.idle_timeout_ms, 60000);
	assert_int_equal(cfg.request_timeout_ms, 10000);
	assert_int_equal(cfg.shutdown_timeout_ms, 10000);
	assert_int_equal(cfg.argon2_concurrency, 2);
	for (i = 0; all_options[i] != NULL; i++)
		assert_int_equal(
		    config_source_of(&cfg, all_options[i]), CONFIG_SRC_DEFAULT);
	/* Every default passes the checks. */
	assert_int_equal(config_validate(&cfg, &err), 0);
	config_release(&cfg);
	buf_release(&err);
}

/* Every default, shown and set again as text, is accepted unchanged. */
static void
test_config__defaults_round_trip(void **state)
{
	struct config cfg, cfg2;
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	config_init(&cfg);
	config_init(&cfg2);
	for (i = 0; all_options[i] != NULL; i++) {
		char *v = shown(&cfg, all_options[i]);
		char *text = strdup(v);

		if (v[0] == '"') { /* strings are shown quoted */
			memmove(text, v + 1, strlen(v) - 2);
			text[strlen(v) - 2] = '\0';
		}
		assert_int_equal(config_set(&cfg2, all_options[i], text,
		                     CONFIG_SRC_FLAG, &err),
		    0);
		assert_shown(&cfg2, all_options[i], v);
		free(text);
		free(v);
	}
	config_release(&cfg);
	config_release(&cfg2);
	buf_release(&err);
}

struct set_case {
	const char *name;
	const char *value;
	int rc;
	const char *shown; /* when rc == 0 */
};

static const struct set_case set_cases[] = {
    /* bool */
    {"strict_accept", "true", 0, "true"},
    {"strict_accept", "false", 0, "false"},
    {"strict_accept", "TRUE", 0, "true"},
    {"strict_accept", "1", 0, "true"},
    {"strict_accept", "0", 0, "false"},
    {"strict_accept", "yes", 0, "true"},
    {"strict_accept", "no", 0, "false"},
    {"strict_accept", "on", 0, "true"},
    {"strict_accept", "Off", 0, "false"},
    {"strict_accept", "", -1, NULL},
    {"strict_accept", "2", -1, NULL},
    {"strict_accept", "truee", -1, NULL},
    {"strict_accept", " true", -1, NULL},
    /* unsigned (history_limit 0..1000000) */
    {"history_limit", "0", 0, "0"},
    {"history_limit", "1000000", 0, "1000000"},
    {"history_limit", "1000001", -1, NULL},
    {"history_limit", "-1", -1, NULL},
    {"history_limit", "+1", -1, NULL},
    {"history_limit", " 1", -1, NULL},
    {"history_limit", "1 ", -1, NULL},
    {"history_limit", "1x", -1, NULL},
    {"history_limit", "0x10", -1, NULL},
    {"history_limit", "1e3", -1, NULL},
    {"history_limit", "", -1, NULL},
    {"history_limit", "99999999999999999999999", -1, NULL},
    /* uint64 (max_body_bytes 1024..64 MiB) */
    {"max_body_bytes", "1023", -1, NULL},
    {"max_body_bytes", "1024", 0, "1024"},
    {"max_body_bytes", "67108864", 0, "67108864"},
    {"max_body_bytes", "67108865", -1, NULL},
    {"max_body_bytes", "18446744073709551616", -1, NULL},
    {"compact_bytes", "4096", 0, "4096"},
    {"compact_bytes", "4095", -1, NULL},
    {"max_connections", "0", -1, NULL},
    {"argon2_concurrency", "64", 0, "64"},
    {"argon2_concurrency", "65", -1, NULL},
    /* enum */
    {"fsync", "always", 0, "\"always\""},
    {"fsync", "everysec", 0, "\"everysec\""},
    {"fsync", "no", 0, "\"no\""},
    {"fsync", "Always", -1, NULL},
    {"fsync", "", -1, NULL},
    {"fsync", "sometimes", -1, NULL},
    /* strings with a fixed set of values */
    {"storage", "memory", 0, "\"memory\""},
    {"storage", "file", 0, "\"file\""},
    {"storage", "redis", 0, "\"redis\""},
    {"storage", "sqlite", -1, NULL},
    /* redis options (the redis backend's) */
    {"redis_address", "127.0.0.1:6380", 0, "\"127.0.0.1:6380\""},
    {"redis_address", "[::1]:6379", 0, "\"[::1]:6379\""},
    {"redis_address", "unix:/run/redis.sock", 0, "\"unix:/run/redis.sock\""},
    {"redis_address", "unix:", -1, NULL},
    {"redis_address", ":6379", -1, NULL},
    {"redis_address", "127.0.0.1:0", -1, NULL},
    {"redis_password", "s3cret", 0, "\"********\""},
    {"redis_password", "", 0, "\"\""},
    {"redis_db", "15", 0, "15"},
    {"redis_db", "65536", -1, NULL},
    {"backup_encoding_type", "msgpack", 0, "\"msgpack\""},
    {"backup_encoding_type", "json", 0, "\"json\""},
    {"backup_encoding_type", "xml", -1, NULL},
    /* listen_address */
    {"listen_address", ":8080", 0, "\":8080\""},
    {"listen_address", "", 0, "\":8080\""},
    {"listen_address", "127.0.0.1:0", 0, "\"127.0.0.1:0\""},
    {"listen_address", "0.0.0.0:65535", 0, "\"0.0.0.0:65535\""},
    {"listen_address", "[::1]:8080", 0, "\"[::1]:8080\""},
    {"listen_address", "[::]:80", 0, "\"[::]:80\""},
    {"listen_address", "*:80", 0, "\"*:80\""},
    {"listen_address", ":65536", -1, NULL},
    {"listen_address", "127.0.0.1", -1, NULL},
    {"listen_address", "8080", -1, NULL},
    {"listen_address", "localhost:8080", -1, NULL},
    {"listen_address", "::1:8080", -1, NULL},
    {"listen_address", "[::1]8080", -1, NULL},
    {"listen_address", "[::1:8080", -1, NULL},
    {"listen_address", "1.2.3.4:", -1, NULL},
    {"listen_address", "1.2.3.4:x", -1, NULL},
    {"listen_address", "1.2.3.4:-1", -1, NULL},
    /* base_path */
    {"base_path", "", 0, "\"\""},
    {"base_path", "/", 0, "\"\""},
    {"base_path", "/sync", 0, "\"/sync\""},
    {"base_path", "/sync/", 0, "\"/sync\""},
    {"base_path", "/a/b", 0, "\"/a/b\""},
    {"base_path", "/a-b_c.d~e", 0, "\"/a-b_c.d~e\""},
    {"base_path", "sync", -1, NULL},
    {"base_path", "/a//b", -1, NULL},
    {"base_path", "/a b", -1, NULL},
    {"base_path", "/a?b", -1, NULL},
    {"base_path", "/a#b", -1, NULL},
    {"base_path", "/a%20b", -1, NULL},
    {"base_path", "/caf\xc3\xa9", -1, NULL},
    /* data_dir */
    {"data_dir", "/var/lib/kosyncd", 0, "\"/var/lib/kosyncd\""},
    {"data_dir", "", -1, NULL},
    /* unknown */
    {"no_such_option", "1", -1, NULL},
    {"listen-address", ":1", -1, NULL},
    {"LISTEN_ADDRESS", ":1", -1, NULL},
};

/* The retired admins list: commas only, trimmed; a name is never split. */
static void
test_config__admins_entries(void **state)
{
	static const struct {
		const char *list, *want;
	} cases[] = {
	    {"Bob Smith", "[Bob Smith]"},
	    {"Bob Smith, alice ,ghost", "[Bob Smith][alice][ghost]"},
	    {" ,, \t,", ""},
	    {"", ""},
	    {"a,b c,\td\t", "[a][b c][d]"},
	};
	struct buf got = BUF_INIT;
	const char *p;
	struct str e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&got);
		p = cases[i].list;
		while (config_admins_next(&p, &e)) {
			buf_addch(&got, '[');
			buf_add(&got, e.p, e.len);
			buf_addch(&got, ']');
		}
		assert_string_equal(got.data, cases[i].want);
	}
	p = NULL;
	assert_false(config_admins_next(&p, &e));
	buf_release(&got);
}

static void
test_config__set(void **state)
{
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
		const struct set_case *c = &set_cases[i];
		struct config cfg;
		int rc;

		config_init(&cfg);
		buf_reset(&err);
		rc = config_set(&cfg, c->name, c->value, CONFIG_SRC_FLAG, &err);
		if (rc != c->rc)
			fail_msg("%s=%s: rc %d, want %d (%s)", c->name,
			    c->value, rc, c->rc, err.data);
		if (rc == 0) {
			assert_shown(&cfg, c->name, c->shown);
			assert_int_equal(
			    config_source_of(&cfg, c->name), CONFIG_SRC_FLAG);
			assert_int_equal(config_validate(&cfg, &err), 0);
		} else {
			/* The message names the option (and the value). */
			if (strstr(err.data, c->name) == NULL)
				fail_msg("%s=%s: message '%s'", c->name,
				    c->value, err.data);
		}
		config_release(&cfg);
	}
	buf_release(&err);
}

static void
test_config__messages(void **state)
{
	struct config cfg;
	struct buf err = BUF_INIT;

	(void)state;
	config_init(&cfg);
	assert_int_equal(
	    config_set(&cfg, "max_body_bytes", "12", CONFIG_SRC_FLAG, &err),
	    -1);
	assert_string_equal(err.data,
	    "invalid value '12' for option 'max_body_bytes' "
	    "(--max-body-bytes): out of range 1024..67108864");
	buf_reset(&err);
	assert_int_equal(
	    config_set(&cfg, "fsync", "sometimes", CONFIG_SRC_ENV, &err), -1);
	assert_string_equal(err.data,
	    "invalid value 'sometimes' for option 'fsync' (KOSYNCD_FSYNC): "
	    "expected always, everysec or no");
	buf_reset(&err);
	assert_int_equal(config_file_set(&cfg, "store_history",
	                     STR_LIT("maybe"), true, &err),
	    -1);
	assert_string_equal(err.data,
	    "invalid value 'maybe' for option 'store_history' in "
	    "database.json: expected JSON true or false");
	buf_reset(&err);
	assert_int_equal(
	    config_file_set(&cfg, "colour", STR_LIT("red"), true, &err), -1);
	assert_string_equal(
	    err.data, "unknown option 'colour' in database.json");
	buf_reset(&err);
	/* Untrusted bytes are escaped in messages. */
	assert_int_equal(
	    config_set(&cfg, "storage", "a\nb\"", CONFIG_SRC_FLAG, &err), -1);
	assert_non_null(strstr(err.data, "'a\\x0ab\\x22'"));
	config_release(&cfg);
	buf_release(&err);
}

/*
 * Apply history_limit from the four sources in every order: the value of
 * the strongest source wins and is the one remembered.
 */
static void
test_config__precedence(void **state)
{
	static const int perms[24][4] = {{0, 1, 2, 3}, {0, 1, 3, 2},
	    {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 2, 1},
	    {1, 0, 2, 3}, {1, 0, 3, 2}, {1, 2, 0, 3}, {1, 2, 3, 0},
	    {1, 3, 0, 2}, {1, 3, 2, 0}, {2, 0, 1, 3}, {2, 0, 3, 1},
	    {2, 1, 0, 3}, {2, 1, 3, 0}, {2, 3, 0, 1}, {2, 3, 1, 0},
	    {3, 0, 1, 2}, {3, 0, 2, 1}, {3, 1, 0, 2}, {3, 1, 2, 0},
	    {3, 2, 0, 1}, {3, 2, 1, 0}};
	static const char *const values[] = {"10", "11", "12", "13"};
	struct buf err = BUF_INIT;
	size_t p, subset;
	int k;

	(void)state;
	/* Every non-empty subset of sources, in every order. */
	for (subset = 1; subset < 16; subset++) {
		for (p = 0; p < 24; p++) {
			struct config cfg;
			int strongest = 0;
			char want[8];

			config_init(&cfg);
			for (k = 0; k < 4; k++) {
				int s = perms[p][k];
				enum config_source src = (enum config_source)s;

				if ((subset & (1u << s)) == 0)
					continue;
				if (src == CONFIG_SRC_FILE) {
					struct str v = str_from(values[s]);

					assert_int_equal(config_file_set(&cfg,
					                     "history_limit", v,
					                     false, &err),
					    0);
				} else {
					assert_int_equal(
					    config_set(&cfg, "history_limit",
					        values[s], src, &err),
					    0);
				}
				if (s > strongest)
					strongest = s;
			}
			snprintf(want, sizeof(want), "%s", values[strongest]);
			assert_shown(&cfg, "history_limit", want);
			assert_int_equal(
			    config_source_of(&cfg, "history_limit"), strongest);
			config_release(&cfg);
		}
	}
	buf_release(&err);
}

/* A bad value from a weaker source is refused even when it would lose. */
static void
test_config__weaker_still_checked(void **state)
{
	struct config cfg;
	struct buf err = BUF_INIT;

	(void)state;
	config_init(&cfg);
	assert_int_equal(
	    config_set(&cfg, "fsync", "no", CONFIG_SRC_FLAG, &err), 0);
	assert_int_equal(
	    config_file_set(&cfg, "fsync", STR_LIT("bad"), true, &err), -1);
	assert_int_equal(cfg.fsync, CONFIG_FSYNC_NO);
	config_release(&cfg);
	buf_release(&err);
}

struct file_case {
	const char *name;
	const char *value;
	bool is_string;
	int rc;
	const char *shown; /* when rc == 0; NULL: unchanged default */
};

static const struct file_case file_cases[] = {
    {"disable_registration", "true", false, 0, "true"},
    {"disable_registration", "false", false, 0, "false"},
    {"disable_registration", "true", true, -1, NULL},
    {"disable_registration", "1", false, -1, NULL},
    {"disable_registration", "null", false, 0, NULL},
    {"history_limit", "5", false, 0, "5"},
    {"history_limit", "5", true, -1, NULL},
    {"history_limit", "5.0", false, -1, NULL},
    {"history_limit", "-5", false, -1, NULL},
    {"history_limit", "5e1", false, -1, NULL},
    {"history_limit", "true", false, -1, NULL},
    {"listen_address", ":9000", true, 0, "\":9000\""},
    {"listen_address", "", true, 0, "\":8080\""},
    {"listen_address", "9000", false, -1, NULL},
    {"listen_address", "null", false, 0, NULL},
    {"listen_address", "null", true, -1, NULL},
    {"fsync", "everysec", true, 0, "\"everysec\""},
    {"fsync", "1", false, -1, NULL},
    {"backup_encoding_type", "msgpack", true, 0, "\"msgpack\""},
    {"storage", "memory", true, 0, "\"memory\""},
    {"base_path", "/kosync/", true, 0, "\"/kosync\""},
    {"data_dir", "/tmp", true, -1, NULL},
    {"redis_password", "x", true, -1, NULL},
    {"unknown_key", "1", false, -1, NULL},
};

static void
test_config__file_set(void **state)
{
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		const struct file_case *c = &file_cases[i];
		struct config cfg, def;
		char *d;
		int rc;

		config_init(&cfg);
		config_init(&def);
		buf_reset(&err);
		rc = config_file_set(
		    &cfg, c->name, str_from(c->value), c->is_string, &err);
		if (rc != c->rc)
			fail_msg("%s=%s (%s): rc %d, want %d (%s)", c->name,
			    c->value, c->is_string ? "string" : "literal", rc,
			    c->rc, err.data);
		if (rc == 0 && c->shown != NULL) {
			assert_shown(&cfg, c->name, c->shown);
			assert_int_equal(
			    config_source_of(&cfg, c->name), CONFIG_SRC_FILE);
		} else if (rc == 0) {
			d = shown(&def, c->name);
			assert_shown(&cfg, c->name, d);
			free(d);
			assert_int_equal(config_source_of(&cfg, c->name),
			    CONFIG_SRC_DEFAULT);
		} else {
			assert_non_null(strstr(err.data, "database.json"));
			assert_non_null(strstr(err.data, c->name));
		}
		config_release(&cfg);
		config_release(&def);
	}
	buf_release(&err);
}

static void
test_config__file_set_nul(void **state)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	struct str v = {"/a\0b", 4};

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_file_set(&cfg, "base_path", v, true, &err), -1);
	assert_non_null(strstr(err.data, "NUL"));
	config_release(&cfg);
	buf_release(&err);
}

struct parse_case {
	const char *text;
	int rc;
	const char *listen; /* listen_address shown after it, when rc == 0 */
	const char *msg;    /* part of the message, when rc == -1 */
};

static const struct parse_case parse_cases[] = {
    {"", 0, "\":8080\"", NULL},
    {"\n", 0, "\":8080\"", NULL},
    {"{}", 0, "\":8080\"", NULL},
    {"{\"schema\":6,\"config\":{\"listen_address\":\":9\"},\"users\":{}}", 0,
        "\":9\"", NULL},
    {"{\"users\":{\"config\":{\"listen_address\":\"x\"}},"
     "\"config\":{\"listen_address\":\"[::1]:7\"}}",
        0, "\"[::1]:7\"", NULL},
    /* Whatever follows "config" is not read (not even bad JSON). */
    {"{\"config\":{\"listen_address\":\":1\"}, garbage", 0, "\":1\"", NULL},
    {"{\"config\":null}", 0, "\":8080\"", NULL},
    {"{\"config\":{}}", 0, "\":8080\"", NULL},
    {"{\"config\":{\"listen_address\":\"\"}}", 0, "\":8080\"", NULL},
    {"{\"config\":[]}", -1, NULL, "not an object"},
    {"{\"config\":1}", -1, NULL, "not an object"},
    {"[1,2]", -1, NULL, "not a JSON object"},
    {"{\"config\":{\"listen_address\":[\":1\"]}}", -1, NULL,
        "expected a scalar"},
    {"{\"config\":{\"listen_address\":{}}}", -1, NULL, "expected a scalar"},
    {"{\"config\":{\"bogus\":1}}", -1, NULL,
        "unknown option 'bogus' in database.json"},
    {"{\"config\":{\"listen_address\":\"nope\"}}", -1, NULL,
        "invalid value 'nope' for option 'listen_address' in database.json"},
    {"{\"config\":{\"disable_registration\":\"true\"}}", -1, NULL,
        "expected JSON true or false"},
    {"{\"config\":{\"listen_address\":\":1\"", -1, NULL, "cannot parse"},
    {"{\"config\" {}}", -1, NULL, "cannot parse"},
    {"{\"config\":{\"listen_address\":\"\xff\"}}", -1, NULL, "cannot parse"},
};

static void
test_config__file_parse(void **state)
{
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct config cfg;
		int rc;

		config_init(&cfg);
		buf_reset(&err);
		rc = config_file_parse(&cfg, c->text, strlen(c->text), &err);
		if (rc != c->rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, c->rc,
			    err.data);
		if (rc == 0)
			assert_shown(&cfg, "listen_address", c->listen);
		else if (strstr(err.data, c->msg) == NULL)
			fail_msg("case %zu: message '%s', want '%s'", i,
			    err.data, c->msg);
		config_release(&cfg);
	}
	buf_release(&err);
}

/* A KOsync database.json applies all seven keys. */
static void
test_config__file_kosync(void **state)
{
	static const char text[] =
	    "{\n  \"schema\": 6,\n  \"config\": {\n"
	    "    \"listen_address\": \"127.0.0.1:8081\",\n"
	    "    \"disable_registration\": true,\n"
	    "    \"enable_debug_log\": true,\n"
	    "    \"store_history\": true,\n"
	    "    \"backup_encoding_type\": \"msgpack\",\n"
	    "    \"backup_on_startup\": true,\n"
	    "    \"enable_webui\": false\n  },\n  \"users\": {}\n}\n";
	struct config cfg;
	struct buf err = BUF_INIT;

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_file_parse(&cfg, text, strlen(text), &err), 0);
	assert_string_equal(cfg.listen_address, "127.0.0.1:8081");
	assert_true(cfg.disable_registration);
	assert_true(cfg.enable_debug_log);
	assert_true(cfg.store_history);
	assert_string_equal(cfg.backup_encoding_type, "msgpack");
	assert_true(cfg.backup_on_startup);
	/* KOsync's false turns kosyncd's default (on) off. */
	assert_false(cfg.enable_webui);
	config_release(&cfg);
	buf_release(&err);
}

static void
test_config__file_load(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[64];
	struct config cfg;
	struct buf err = BUF_INIT;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/database.json", dir);
	config_init(&cfg);
	/* Missing: nothing applied, no error. */
	assert_int_equal(config_file_load(&cfg, path, &err), 0);
	/* One byte: empty. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
	assert_int_equal(config_file_load(&cfg, path, &err), 0);
	/* A real file larger than one read. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"users\":{\"u\":{\"password\":\"", f);
	for (int i = 0; i < 100000; i++)
		fputc('a', f);
	fputs("\"}},\"config\":{\"store_history\":true}}", f);
	fclose(f);
	assert_int_equal(config_file_load(&cfg, path, &err), 0);
	assert_true(cfg.store_history);
	/* A directory cannot be read. */
	assert_int_equal(config_file_load(&cfg, dir, &err), -1);
	unlink(path);
	rmdir(dir);
	config_release(&cfg);
	buf_release(&err);
}

/* Copy a NULL-terminated list of literals into a char *[] (as environ). */
static void mutable(const char *const *in, char **out)
{
	while ((*out++ = (char *)(uintptr_t)*in++) != NULL)
		continue;
}

static void
test_config__env(void **state)
{
	static const char *const c_ok[] = {"PATH=/bin",
	    "KOSYNCD=/usr/bin/kosyncd", "KOSYNCD_LISTEN_ADDRESS=127.0.0.1:1",
	    "KOSYNCD_DISABLE_REGISTRATION=yes",
	    "KOSYNCD_BASE_PATH=", "KOSYNCD_TEST_SOMETHING=1",
	    "kosyncd_storage=x", NULL};
	static const char *const c_unknown[] = {
	    "KOSYNCD_LISTEN_ADRESS=:1", NULL};
	static const char *const c_lower[] = {
	    "KOSYNCD_listen_address=:1", NULL};
	static const char *const c_bad[] = {
	    "KOSYNCD_MAX_CONNECTIONS=lots", NULL};
	char *env_ok[8], *env_unknown[2], *env_lower[2], *env_bad[2];
	struct config cfg;
	struct buf err = BUF_INIT;

	(void)state;
	mutable(c_ok, env_ok);
	mutable(c_unknown, env_unknown);
	mutable(c_lower, env_lower);
	mutable(c_bad, env_bad);
	config_init(&cfg);
	assert_int_equal(config_load_env(&cfg, env_ok, &err), 0);
	assert_string_equal(cfg.listen_address, "127.0.0.1:1");
	assert_true(cfg.disable_registration);
	assert_int_equal(
	    config_source_of(&cfg, "listen_address"), CONFIG_SRC_ENV);
	assert_int_equal(config_source_of(&cfg, "base_path"), CONFIG_SRC_ENV);
	assert_int_equal(config_source_of(&cfg, "storage"), CONFIG_SRC_DEFAULT);

	assert_int_equal(config_load_env(&cfg, env_unknown, &err), -1);
	assert_string_equal(
	    err.data, "unknown environment variable 'KOSYNCD_LISTEN_ADRESS'");
	buf_reset(&err);
	assert_int_equal(config_load_env(&cfg, env_lower, &err), -1);
	buf_reset(&err);
	assert_int_equal(config_load_env(&cfg, env_bad, &err), -1);
	assert_string_equal(err.data,
	    "invalid value 'lots' for option 'max_connections' "
	    "(KOSYNCD_MAX_CONNECTIONS): expected a whole number");
	config_release(&cfg);
	buf_release(&err);
}

struct args_case {
	const char *argv[6];
	int rc;
	int optind; /* after the call */
	const char *name;
	const char *shown;
};

static const struct args_case args_cases[] = {
    {{"kosyncd", "--listen-address=:1", NULL}, 0, 2, "listen_address",
        "\":1\""},
    {{"kosyncd", "--listen-address", ":2", NULL}, 0, 3, "listen_address",
        "\":2\""},
    {{"kosyncd", "--listen_address", ":3", NULL}, 0, 3, "listen_address",
        "\":3\""},
    {{"kosyncd", "--listen_address=", NULL}, 0, 2, "listen_address",
        "\":8080\""},
    {{"kosyncd", "--data-dir", "/d", "serve", NULL}, 0, 3, "data_dir",
        "\"/d\""},
    {{"kosyncd", "--strict-accept", "serve", NULL}, 0, 2, "strict_accept",
        "true"},
    {{"kosyncd", "--strict-accept=false", NULL}, 0, 2, "strict_accept",
        "false"},
    {{"kosyncd", "--no-strict-accept", NULL}, 0, 2, "strict_accept", "false"},
    {{"kosyncd", "--history-limit", "7", "--", "--x", NULL}, 0, 4,
        "history_limit", "7"},
    {{"kosyncd", "serve", "--history-limit", "7", NULL}, 0, 1, "history_limit",
        "100"},
    {{"kosyncd", "--listen-address", NULL}, -1, 0, "--listen-address", NULL},
    {{"kosyncd", "--no-listen-address", NULL}, -1, 0, "--no-listen-address",
        NULL},
    {{"kosyncd", "--no-strict-accept=1", NULL}, -1, 0, "--no-strict-accept",
        NULL},
    {{"kosyncd", "--listen-adress=:1", NULL}, -1, 0, "listen-adress", NULL},
    {{"kosyncd", "-x", NULL}, -1, 0, "-x", NULL},
    {{"kosyncd", "--max-body-bytes=1", NULL}, -1, 0, "max_body_bytes", NULL},
};

static void
test_config__args(void **state)
{
	struct buf err = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(args_cases) / sizeof(args_cases[0]); i++) {
		const struct args_case *c = &args_cases[i];
		char *argv[6];
		struct config cfg;
		bool help = false;
		int argc, optind = 1, rc;

		for (argc = 0; c->argv[argc] != NULL; argc++)
			argv[argc] = (char *)(uintptr_t)c->argv[argc];
		argv[argc] = NULL;
		config_init(&cfg);
		buf_reset(&err);
		rc = config_parse_args(&cfg, argc, argv, &optind, &help, &err);
		if (rc != c->rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, c->rc,
			    err.data);
		assert_false(help);
		if (rc == 0) {
			assert_int_equal(optind, c->optind);
			assert_shown(&cfg, c->name, c->shown);
		} else if (strstr(err.data, c->name) == NULL) {
			fail_msg("case %zu: message '%s' lacks '%s'", i,
			    err.data, c->name);
		}
		config_release(&cfg);
	}
	buf_release(&err);
}

static void
test_config__args_help(void **state)
{
	static const char *const c_argv[] = {
	    "kosyncd", "-h", "--help", "--strict-accept", NULL};
	char *argv[5];
	struct config cfg;
	struct buf err = BUF_INIT;
	bool help = false;
	int optind = 1;

	(void)state;
	mutable(c_argv, argv);
	config_init(&cfg);
	assert_int_equal(
	    config_parse_args(&cfg, 4, argv, &optind, &help, &err), 0);
	assert_true(help);
	assert_int_equal(optind, 4);
	assert_true(cfg.strict_accept);
	config_release(&cfg);
	buf_release(&err);
}

static void
test_config__validate(void **state)
{
	struct config cfg;
	struct buf err = BUF_INIT;

	(void)state;
	config_init(&cfg);
	assert_int_equal(
	    config_set(&cfg, "max_connections", "10", CONFIG_SRC_FLAG, &err),
	    0);
	assert_int_equal(config_validate(&cfg, &err), -1);
	assert_non_null(strstr(err.data, "max_connections_per_ip"));
	buf_reset(&err);
	assert_int_equal(config_set(&cfg, "max_connections_per_ip", "10",
	                     CONFIG_SRC_FLAG, &err),
	    0);
	assert_int_equal(config_validate(&cfg, &err), 0);
	/* A field edited by hand to a bad value is caught. */
	free(cfg.base_path);
	cfg.base_path = strdup("no-slash");
	assert_int_equal(config_validate(&cfg, &err), -1);
	assert_non_null(strstr(err.data, "base_path"));
	config_release(&cfg);
	buf_release(&err);
}

static void
test_config__show(void **state)
{
	struct config cfg;
	struct buf out = BUF_INIT, err = BUF_INIT;
	size_t i, lines = 0;
	char *p;

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_file_set(&cfg, "store_history", STR_LIT("true"),
	                     false, &err),
	    0);
	assert_int_equal(
	    config_set(&cfg, "base_path", "/s", CONFIG_SRC_ENV, &err), 0);
	assert_int_equal(
	    config_set(&cfg, "strict_accept", "1", CONFIG_SRC_FLAG, &err), 0);
	config_show(&cfg, &out);
	for (p = out.data; *p != '\0'; p++)
		lines += *p == '\n';
	for (i = 0; all_options[i] != NULL; i++)
		continue;
	assert_int_equal(lines, i);
	assert_non_null(
	    strstr(out.data, "listen_address = \":8080\"  # default\n"));
	assert_non_null(
	    strstr(out.data, "store_history = true  # database.json\n"));
	assert_non_null(
	    strstr(out.data, "base_path = \"/s\"  # environment\n"));
	assert_non_null(strstr(out.data, "strict_accept = true  # flag\n"));
	assert_non_null(strstr(out.data, "fsync = \"always\"  # default\n"));
	assert_non_null(strstr(out.data, "history_limit = 100  # default\n"));
	/* Table order: the first line is listen_address. */
	assert_int_equal(strncmp(out.data, "listen_address = ", 17), 0);
	config_release(&cfg);
	buf_release(&out);
	buf_release(&err);
}

static void
test_config__usage_and_reference(void **state)
{
	struct buf usage = BUF_INIT, ref = BUF_INIT, want = BUF_INIT;
	size_t i;

	(void)state;
	config_usage(&usage);
	config_reference(&ref);
	for (i = 0; all_options[i] != NULL; i++) {
		const char *p;

		buf_reset(&want);
		buf_adds(&want, "--");
		for (p = all_options[i]; *p != '\0'; p++)
			buf_addch(&want, *p == '_' ? '-' : *p);
		if (strstr(usage.data, want.data) == NULL)
			fail_msg("usage lacks %s", want.data);
		buf_reset(&want);
		buf_addf(&want, "\n### %s\n", all_options[i]);
		if (strstr(ref.data, want.data) == NULL)
			fail_msg("reference lacks %s", all_options[i]);
	}
	/* Lines of --help fit in 80 columns. */
	for (char *line = usage.data; *line != '\0';) {
		char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

		if (len > 80)
			fail_msg("usage line too long: %.*s", (int)len, line);
		line += len + (nl != NULL);
	}
	buf_release(&usage);
	buf_release(&ref);
	buf_release(&want);
}

/* The "config" object written back into database.json. */
static void
test_config__file_write(void **state)
{
	struct config cfg;
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct json_out o;

	(void)state;
	config_init(&cfg);
	json_out_init(&o, &out, false);
	config_file_write(&cfg, &o);
	assert_string_equal(out.data,
	    "{\"listen_address\":\":8080\",\"disable_registration\":false,"
	    "\"enable_debug_log\":false,\"store_history\":false,"
	    "\"backup_encoding_type\":\"json\",\"backup_on_startup\":false,"
	    "\"enable_webui\":true}");

	/*
	 * The file says listen_address :9000, base_path /k/, history_limit 5
	 * and fsync everysec; the environment and flags override two of them
	 * and set others. The file is written back as it was (normalised).
	 */
	assert_int_equal(config_file_set(&cfg, "listen_address",
	                     STR_LIT(":9000"), true, &err),
	    0);
	assert_int_equal(
	    config_file_set(&cfg, "base_path", STR_LIT("/k/"), true, &err), 0);
	assert_int_equal(
	    config_file_set(&cfg, "history_limit", STR_LIT("5"), false, &err),
	    0);
	assert_int_equal(
	    config_file_set(&cfg, "fsync", STR_LIT("everysec"), true, &err), 0);
	assert_int_equal(config_set(&cfg, "listen_address", "127.0.0.1:1",
	                     CONFIG_SRC_FLAG, &err),
	    0);
	assert_int_equal(
	    config_set(&cfg, "history_limit", "9", CONFIG_SRC_ENV, &err), 0);
	assert_int_equal(
	    config_set(&cfg, "store_history", "true", CONFIG_SRC_ENV, &err), 0);
	assert_int_equal(
	    config_set(&cfg, "strict_accept", "true", CONFIG_SRC_FLAG, &err),
	    0);
	assert_string_equal(cfg.listen_address, "127.0.0.1:1");
	assert_int_equal(cfg.history_limit, 9);
	buf_reset(&out);
	json_out_init(&o, &out, false);
	config_file_write(&cfg, &o);
	assert_string_equal(out.data,
	    "{\"listen_address\":\":9000\",\"disable_registration\":false,"
	    "\"enable_debug_log\":false,\"store_history\":false,"
	    "\"backup_encoding_type\":\"json\",\"backup_on_startup\":false,"
	    "\"enable_webui\":true,\"fsync\":\"everysec\","
	    "\"base_path\":\"/k\",\"history_limit\":5}");

	/* What was written reads back to the same file values. */
	{
		struct config again;
		struct buf text = BUF_INIT, out2 = BUF_INIT;
		struct json_out o2;

		buf_addf(&text, "{\"config\":%s}", out.data);
		config_init(&again);
		assert_int_equal(
		    config_file_parse(&again, text.data, text.len, &err), 0);
		json_out_init(&o2, &out2, false);
		config_file_write(&again, &o2);
		assert_string_equal(out2.data, out.data);
		config_release(&again);
		buf_release(&text);
		buf_release(&out2);
	}
	config_release(&cfg);
	buf_release(&out);
	buf_release(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config__defaults),
	    cmocka_unit_test(test_config__defaults_round_trip),
	    cmocka_unit_test(test_config__admins_entries),
	    cmocka_unit_test(test_config__set),
	    cmocka_unit_test(test_config__messages),
	    cmocka_unit_test(test_config__precedence),
	    cmocka_unit_test(test_config__weaker_still_checked),
	    cmocka_unit_test(test_config__file_set),
	    cmocka_unit_test(test_config__file_set_nul),
	    cmocka_unit_test(test_config__file_parse),
	    cmocka_unit_test(test_config__file_kosync),
	    cmocka_unit_test(test_config__file_load),
	    cmocka_unit_test(test_config__env),
	    cmocka_unit_test(test_config__args),
	    cmocka_unit_test(test_config__args_help),
	    cmocka_unit_test(test_config__validate),
	    cmocka_unit_test(test_config__show),
	    cmocka_unit_test(test_config__usage_and_reference),
	    cmocka_unit_test(test_config__file_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
