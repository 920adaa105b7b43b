/*
 * fuzz_vocabdb.c: reading an uploaded vocabulary builder file (statsdb.c,
 * statsdb_vocab_read_fd) and computing its figures (statscalc.c).
 *
 * Input: the bytes of a file, written to a private temporary file that is
 * read as the server reads an upload (its own private copy, SQLite's
 * defences, a 2 s time bound). A refusal has a one-line reason and leaves
 * nothing; a file read gives titles of valid UTF-8 within
 * STATSDB_MAX_TEXT bytes and words of known titles (or none), created
 * from 2007 to tomorrow, with counts and due times not negative. The
 * figures are then written in UTC and in Europe/Berlin with the day
 * starting at 04:00: valid UTF-8 that parses, words per book and per
 * month adding up to the words.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "statscalc.h"
#include "statsdb.h"
#include "tzif.h"

#include "fuzz.h"

#define NOW 1774814400

static char path[64];
static struct tz *berlin;

/* Remove the input file when the fuzzer exits. */
static void
remove_input(void)
{
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct buf err = BUF_INIT;
	int fd;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/fuzz-vocabdb-XXXXXX");
	fd = mkstemp(path);
	FUZZ_CHECK(fd >= 0);
	close(fd);
	atexit(remove_input);
	berlin = tz_load("Europe/Berlin", &err);
	FUZZ_CHECK(berlin != NULL);
	buf_release(&err);
	return 0;
}

static void
check_vocab(const struct statsdb_vocab *v)
{
	size_t i;

	for (i = 0; i < v->ntitles; i++) {
		FUZZ_CHECK(v->titles[i] != NULL);
		FUZZ_CHECK(strlen(v->titles[i]) <= STATSDB_MAX_TEXT);
		FUZZ_CHECK(json_utf8_valid(v->titles[i], strlen(v->titles[i])));
	}
	FUZZ_CHECK(v->nwords <= STATSDB_MAX_WORDS);
	for (i = 0; i < v->nwords; i++) {
		const struct statsdb_word *w = &v->words[i];

		FUZZ_CHECK(
		    w->title < v->ntitles || w->title == STATSDB_NO_TITLE);
		FUZZ_CHECK(w->create_time >= STATSDB_MIN_TIME &&
		           w->create_time <= NOW + 86400);
		FUZZ_CHECK(w->due_time >= 0 && w->review_count >= 0);
	}
}

/* The sum of member key of each object of the array v. */
static double
sum_of(const struct json_value *v, const char *key)
{
	const struct json_value *e;
	double sum = 0, d;

	FUZZ_CHECK(v != NULL && v->type == JSON_ARRAY);
	for (e = v->child; e != NULL; e = e->next) {
		FUZZ_CHECK(json_number(json_get(e, key), false, &d) == 0);
		sum += d;
	}
	return sum;
}

static void
check_figures(const struct statsdb_vocab *v, const struct tz *tz, int32_t shift)
{
	struct statscalc_opts o;
	struct json_arena arena = JSON_ARENA_INIT;
	const struct json_value *root;
	struct buf out = BUF_INIT;
	struct json_out j;

	statscalc_opts_default(&o, NOW);
	o.tz = tz;
	o.day_start = shift;
	json_out_init(&j, &out, false);
	statscalc_json_vocab(&j, v, &o);
	FUZZ_CHECK(json_utf8_valid(out.data, out.len));
	root = json_parse(out.data, out.len, json_arena_alloc, &arena, NULL);
	FUZZ_CHECK(root != NULL);
	FUZZ_CHECK(
	    sum_of(json_get(root, "books"), "words") == (double)v->nwords);
	FUZZ_CHECK(
	    sum_of(json_get(root, "months"), "words") == (double)v->nwords);
	json_arena_release(&arena);
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct statsdb_limits lim;
	struct statsdb_vocab v;
	struct buf reason = BUF_INIT;
	FILE *f;
	int fd;

	f = fopen(path, "wb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data, 1, size, f) == size);
	FUZZ_CHECK(fclose(f) == 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	statsdb_limits_default(&lim);
	lim.max_ms = 2000;
	if (statsdb_vocab_read_fd(fd, NOW, &lim, &v, &reason) < 0) {
		FUZZ_CHECK(reason.len > 0);
		FUZZ_CHECK(strchr(reason.data, '\n') == NULL);
		FUZZ_CHECK(v.ntitles == 0 && v.nwords == 0);
	} else {
		FUZZ_CHECK(reason.len == 0);
		check_vocab(&v);
		check_figures(&v, NULL, 0);
		check_figures(&v, berlin, 4 * 3600);
	}
	close(fd);
	statsdb_vocab_release(&v);
	buf_release(&reason);
	return 0;
}
