/*
 * fuzz_config.c: the configuration parsers, every source of config.h.
 *
 * Input: a mode byte, then
 *   0: a whole database.json for config_file_parse();
 *   1: a source byte (bit 0: flag, else environment), then "name=value"
 *      lines for config_set();
 *   2: NUL-separated arguments for config_parse_args() (argv[0] is
 *      "kosyncd"; parsing continues after the first non-flag);
 *   3: "NAME=value" lines for config_load_env();
 *   4: NUL-separated name, value pairs for config_file_set(); a name
 *      starting with 's' is a string value (the 's' is dropped), any other
 *      first byte a literal.
 * Every mode then runs config_validate() and config_show(), and writes the
 * "config" object with config_file_write(): that text, as the "config" of
 * a database.json, must load again with config_file_parse() and write back
 * the same bytes. A refusal must come with a message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "json.h"

#include "fuzz.h"

#define MAX_ARGS 64

/* The "config" object of cfg inside a database.json. */
static void
write_file(const struct config *cfg, struct buf *out)
{
	struct json_out o;

	json_out_init(&o, out, false);
	json_obj_begin(&o);
	json_key(&o, "config");
	config_file_write(cfg, &o);
	json_obj_end(&o);
}

static void
check_write_round_trip(const struct config *cfg)
{
	struct config again;
	struct buf t1 = BUF_INIT, t2 = BUF_INIT, err = BUF_INIT;

	write_file(cfg, &t1);
	config_init(&again);
	if (config_file_parse(&again, t1.data, t1.len, &err) != 0) {
		fprintf(stderr, "written config does not load: %s\n%s\n",
		    err.data, t1.data);
		abort();
	}
	write_file(&again, &t2);
	if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len) != 0) {
		fprintf(stderr, "config changes on a round trip:\n%s\n%s\n",
		    t1.data, t2.data);
		abort();
	}
	config_release(&again);
	buf_release(&t1);
	buf_release(&t2);
	buf_release(&err);
}

/* Split text at sep into at most max NUL-terminated strings. */
static size_t
split(char *text, size_t len, char sep, char **out, size_t max)
{
	size_t n = 0, i, start = 0;

	for (i = 0; i <= len && n < max; i++) {
		if (i == len || text[i] == sep) {
			text[i] = '\0';
			out[n++] = text + start;
			start = i + 1;
		}
	}
	return n;
}

static void
check_result(int rc, const struct buf *err)
{
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1)
		FUZZ_CHECK(err->len > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct buf err = BUF_INIT, out = BUF_INIT;
	char *text, *parts[MAX_ARGS + 2], *eq;
	size_t n, i;
	int optind, rc;
	bool help = false;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	text = fuzz_copy(data + 1, size - 1);
	size--;
	config_init(&cfg);

	switch (mode % 5) {
	case 0:
		check_result(config_file_parse(&cfg, text, size, &err), &err);
		break;
	case 1:
		if (size < 1)
			break;
		n = split(text + 1, size - 1, '\n', parts, MAX_ARGS);
		for (i = 0; i < n; i++) {
			if ((eq = strchr(parts[i], '=')) == NULL)
				continue;
			*eq = '\0';
			buf_reset(&err);
			/* The file's values come through config_file_set
			 * (modes 0 and 4), which refuses what a file may not
			 * set; config_set takes the other sources. */
			check_result(
			    config_set(&cfg, parts[i], eq + 1,
			        text[0] & 1 ? CONFIG_SRC_FLAG : CONFIG_SRC_ENV,
			        &err),
			    &err);
		}
		break;
	case 2:
		parts[0] = "kosyncd";
		n = split(text, size, '\0', parts + 1, MAX_ARGS) + 1;
		parts[n] = NULL;
		optind = 1;
		while (optind < (int)n) {
			buf_reset(&err);
			rc = config_parse_args(
			    &cfg, (int)n, parts, &optind, &help, &err);
			check_result(rc, &err);
			if (rc == -1)
				break;
			FUZZ_CHECK(optind >= 1 && optind <= (int)n);
			optind++; /* skip the operand that stopped it */
		}
		break;
	case 3:
		n = split(text, size, '\n', parts, MAX_ARGS);
		parts[n] = NULL;
		check_result(config_load_env(&cfg, parts, &err), &err);
		break;
	case 4:
		n = split(text, size, '\0', parts, MAX_ARGS);
		for (i = 0; i + 1 < n; i += 2) {
			buf_reset(&err);
			if (parts[i][0] == 's')
				rc = config_file_set(&cfg, parts[i] + 1,
				    str_from(parts[i + 1]), true, &err);
			else
				rc = config_file_set(&cfg,
				    parts[i][0] ? parts[i] + 1 : parts[i],
				    str_from(parts[i + 1]), false, &err);
			check_result(rc, &err);
		}
		break;
	}

	buf_reset(&err);
	check_result(config_validate(&cfg, &err), &err);
	config_show(&cfg, &out);
	check_write_round_trip(&cfg);

	config_release(&cfg);
	buf_release(&err);
	buf_release(&out);
	free(text);
	return 0;
}
