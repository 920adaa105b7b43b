/*
 * fuzz_book.h: what the book fuzz targets check of a struct bookmeta and
 * of a refusal (header-only, like fuzz.h).
 *
 * Every string is valid UTF-8 with no control character but the
 * description's '\n', no blank at either end, within its bound; lists
 * within BOOKMETA_MAX_LIST, without repeats; identifiers paired; a cover
 * of the kind it says; a refusal's reason one non-empty line.
 */
#ifndef KOSYNCD_FUZZ_BOOK_H
#define KOSYNCD_FUZZ_BOOK_H

#include "bookmeta.h"
#include "json.h"

#include "fuzz.h"

static void
fuzz_book_text(const char *s, size_t max, bool lines)
{
	size_t i, n;

	if (s == NULL)
		return;
	n = strlen(s);
	FUZZ_CHECK(n > 0 && n <= max);
	FUZZ_CHECK(json_utf8_valid(s, n));
	FUZZ_CHECK(s[0] != ' ' && s[n - 1] != ' ' && s[0] != '\n' &&
	           s[n - 1] != '\n');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		FUZZ_CHECK(c >= 0x20 || (lines && c == '\n'));
		FUZZ_CHECK(c != 0x7f);
	}
}

static void
fuzz_book_list(const struct bookmeta_list *l, bool unique)
{
	size_t i, j;

	FUZZ_CHECK(l->n <= BOOKMETA_MAX_LIST);
	for (i = 0; i < l->n; i++) {
		fuzz_book_text(l->v[i], BOOKMETA_MAX_TEXT, false);
		for (j = 0; unique && j < i; j++)
			FUZZ_CHECK(strcmp(l->v[i], l->v[j]) != 0);
	}
}

static void
fuzz_book_check(const struct bookmeta *m, int rc, const struct buf *why)
{
	size_t i;

	if (rc != 0) {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(why->len > 0 && memchr(why->data, '\n', why->len) ==
		                               NULL);
		return;
	}
	fuzz_book_text(m->title, BOOKMETA_MAX_TEXT, false);
	fuzz_book_list(&m->authors, true);
	fuzz_book_list(&m->subjects, true);
	fuzz_book_text(m->series, BOOKMETA_MAX_TEXT, false);
	fuzz_book_text(m->language, BOOKMETA_MAX_TEXT, false);
	fuzz_book_text(m->publisher, BOOKMETA_MAX_TEXT, false);
	fuzz_book_text(m->description, BOOKMETA_MAX_DESCRIPTION, true);
	FUZZ_CHECK(m->id_schemes.n == m->id_values.n);
	fuzz_book_list(&m->id_values, false);
	for (i = 0; i < m->id_schemes.n; i++)
		FUZZ_CHECK(strlen(m->id_schemes.v[i]) <= 32);
	if (m->has_series_index)
		FUZZ_CHECK(m->series_index >= 0 && m->series_index <= 100000);
	switch (m->cover) {
	case BOOKMETA_COVER_NONE:
		break;
	case BOOKMETA_COVER_ENTRY:
		FUZZ_CHECK(m->cover_entry != NULL && m->cover_entry[0] != '\0');
		FUZZ_CHECK(strstr(m->cover_entry, "..") == NULL ||
		           strstr(m->cover_entry, "../") == NULL);
		FUZZ_CHECK(m->cover_entry[0] != '/');
		break;
	case BOOKMETA_COVER_RANGE:
		FUZZ_CHECK(m->cover_length > 0);
		break;
	case BOOKMETA_COVER_DATA:
		FUZZ_CHECK(m->cover_data.len > 0);
		break;
	}
}

/*
 * Run parse (one of bookmeta.h's parsers on a bookzip_src) over the size
 * bytes at data as a book of format f, and check what it gives; returns
 * its result, with m to release by the caller.
 */
static int
fuzz_book_run(const uint8_t *data, size_t size, enum bookmeta_format f,
    int (*parse)(const struct bookzip_src *, const struct bookmeta_limits *,
        struct bookmeta *, struct buf *),
    const struct bookmeta_limits *lim, struct bookmeta *m)
{
	struct buf why = BUF_INIT;
	struct bookzip_src src = {-1, data, size};
	int rc;

	bookmeta_init(m);
	m->format = f;
	rc = parse(&src, lim, m, &why);
	fuzz_book_check(m, rc, &why);
	buf_release(&why);
	return rc;
}

#endif
