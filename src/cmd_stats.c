/*
 * cmd_stats.c: `kosyncd stats FILE`: read a KOReader statistics file the
 * way the server reads an upload (statsdb.c: hostile input) and print the
 * figures of statscalc.c as JSON on stdout.
 *
 * A refused file prints {"error": "refused", "reason": "..."} on stdout,
 * the reason on stderr, and exits 1. The command opens no store and needs
 * no server.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "json.h"
#include "statscalc.h"
#include "statsdb.h"
#include "tzif.h"

/* An integer option within [min, max]; *v is unchanged when absent. */
static int
int_option(const struct cmd_args *args, const char *name, int64_t min,
    int64_t max, int64_t *v)
{
	const char *s;
	char *end;
	long long n;

	if (!cmd_option(args, name, &s))
		return 0;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || *end || n < min || n > max)
		return -cmd_complain("--%s: not a number from %lld to %lld: "
		                     "'%s'",
		    name, (long long)min, (long long)max, s);
	*v = n;
	return 0;
}

static void
print_refusal(const char *reason)
{
	struct buf b = BUF_INIT;
	struct json_out j;

	json_out_init(&j, &b, false);
	json_obj_begin(&j);
	json_key(&j, "error");
	json_str(&j, "refused");
	json_key(&j, "reason");
	json_str(&j, reason);
	json_obj_end(&j);
	printf("%s\n", b.data);
	buf_release(&b);
}

static int
cmd_stats_exec(struct cmd_args *args)
{
	struct statscalc_opts o;
	struct statsdb db;
	struct statscalc c;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct json_out j;
	const char *zone = "UTC", *hhmm;
	struct tz *tz = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc = 1;

	if (int_option(args, "now", STATSDB_MIN_TIME, (int64_t)1 << 40, &now))
		return 1;
	statscalc_opts_default(&o, now);
	if (int_option(args, "max-sec", 1, 86400, &o.max_sec))
		return 1;
	/* UTC needs no tzdata (the container image has none). */
	if (!cmd_option(args, "tz", &zone))
		zone = "UTC";
	tz = strcmp(zone, "UTC") == 0 ? tz_utc() : tz_load(zone, &err);
	if (!tz) {
		cmd_complain("--tz: %s", err.data);
		goto out;
	}
	o.tz = tz;
	if (cmd_option(args, "day-start", &hhmm)) {
		o.day_start = statscalc_parse_hhmm(hhmm);
		if (o.day_start < 0) {
			cmd_complain(
			    "--day-start: not a time HH:MM: '%s'", hhmm);
			goto out;
		}
	}
	if (statsdb_read(args->argv[0], now, NULL, &db, &err) < 0) {
		print_refusal(err.data);
		cmd_complain("'%s' refused: %s", args->argv[0], err.data);
		statsdb_release(&db);
		goto out;
	}
	statscalc_run(&db, &o, &c);
	json_out_init(&j, &out, false);
	statscalc_json(&j, &db, &c, &o, zone);
	rc = fwrite(out.data, 1, out.len, stdout) == out.len &&
	             fputc('\n', stdout) != EOF
	         ? 0
	         : 1;
	statscalc_release(&c);
	statsdb_release(&db);
out:
	tz_free(tz);
	buf_release(&err);
	buf_release(&out);
	return rc;
}

static const struct cmd_option stats_options[] = {
    {"tz", true, "TZ", "The reader's time zone, an IANA name (default UTC)."},
    {"day-start", true, "HH:MM",
        "When a reading day begins (default 00:00), as KOReader's "
        "\"Daily timeline starts at\"."},
    {"now", true, "T",
        "The current time, Unix seconds (default: now): what today is."},
    {"max-sec", true, "N",
        "KOReader's maximum seconds per page for the capped time "
        "(default 120)."},
    {NULL, false, NULL, NULL},
};

const struct cmd_entry cmd_stats_entry = {
    .name = "stats",
    .args = "file",
    .help = "Print the figures of a KOReader statistics file as JSON.",
    .min_args = 1,
    .max_args = 1,
    .flags = CMD_NO_ENV,
    .options = stats_options,
    .exec = cmd_stats_exec,
};
