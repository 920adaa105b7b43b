/*
 * libcursor.c: a library page cursor's text (libcursor.h).
 *
 * base64.c writes and reads the standard alphabet; the cursor swaps '+'
 * and '/' for '-' and '_' and drops the padding, so it needs no
 * percent-encoding in a URL, and a token holding '+', '/' or '=' is
 * refused rather than read two ways.
 */
#include <string.h>

#include "base64.h"
#include "libcursor.h"

#define LIBCURSOR_VERSION '1'

static bool
is_letter(char k)
{
	return (k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z');
}

int
libcursor_encode(
    struct buf *out, char kind, const char *const *fields, size_t n)
{
	struct buf raw = BUF_INIT;
	size_t i, start = out->len;
	int rc = -1;

	if (!is_letter(kind) || n == 0 || n > LIBCURSOR_MAX_FIELDS)
		return -1;
	buf_addch(&raw, LIBCURSOR_VERSION);
	buf_addch(&raw, kind);
	for (i = 0; i < n; i++) {
		buf_adds(&raw, fields[i]);
		buf_addch(&raw, '\0');
	}
	/* Unpadded base64 of len bytes: ceil(len * 4 / 3) characters. */
	if ((raw.len * 4 + 2) / 3 <= LIBCURSOR_MAX) {
		base64_encode(out, raw.data, raw.len);
		while (out->len > start && out->data[out->len - 1] == '=')
			out->len--;
		out->data[out->len] = '\0';
		for (i = start; i < out->len; i++) {
			if (out->data[i] == '+')
				out->data[i] = '-';
			else if (out->data[i] == '/')
				out->data[i] = '_';
		}
		rc = 0;
	}
	buf_release(&raw);
	return rc;
}

int
libcursor_decode(const char *text, size_t len, struct libcursor *c)
{
	char std[LIBCURSOR_MAX];
	size_t i, start;
	long n;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len > LIBCURSOR_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char ch = text[i];

		if (ch == '-')
			ch = '+';
		else if (ch == '_')
			ch = '/';
		else if (ch == '+' || ch == '/' || ch == '=')
			return -1;
		std[i] = ch;
	}
	n = base64_decode_mem(
	    std, len, c->raw, BASE64_PAD_OPTIONAL | BASE64_CANONICAL);
	if (n < 3 || c->raw[0] != LIBCURSOR_VERSION || !is_letter(c->raw[1]) ||
	    c->raw[n - 1] != '\0')
		goto bad;
	c->kind = c->raw[1];
	for (start = 2; start < (size_t)n;
	     start += strlen(c->raw + start) + 1) {
		if (c->nfields == LIBCURSOR_MAX_FIELDS)
			goto bad;
		c->field[c->nfields++] = c->raw + start;
	}
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	return -1;
}
