/*
 * pem.c: PEM blocks as Go's encoding/pem writes them (see pem.h); the
 * base64 inside is base64.c's.
 *
 * Encoding reproduces Go's pem.Encode byte for byte: the BEGIN line, the
 * headers sorted by name as "Name: value" lines and a blank line when there
 * are any, the standard base64 of the payload in lines of 64 characters,
 * the END line, each line ending in "\n".
 *
 * Decoding takes the first BEGIN line in the text and reads like Go's
 * pem.Decode: lines may end in CRLF and carry trailing spaces or tabs;
 * header lines are "Name: value" until the first line without a colon; the
 * body is base64 with any line breaks, spaces and tabs, up to the END line
 * of the same type. Unlike Go it refuses more than PEM_MAX_HEADERS headers
 * and over-long type and header lines, and never falls back to a later
 * block. Whether the type is the expected one is the caller's business.
 *
 * Pure functions: no I/O, no global state.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "pem.h"
#include "xmalloc.h"

#define PEM_LINE 64         /* base64 characters per line */
#define PEM_MAX_TYPE 64     /* bytes in a block type */
#define PEM_MAX_HEADER 1024 /* bytes in one header line */

/*
 * Encoding
 */

static int
header_cmp(const void *a, const void *b)
{
	const struct pem_header *const *ha = a, *const *hb = b;

	return strcmp((*ha)->name, (*hb)->name);
}

void
pem_encode(struct buf *out, const char *type, const struct pem_header *headers,
    size_t nheaders, const void *payload, size_t len)
{
	const struct pem_header *sorted[PEM_MAX_HEADERS];
	struct buf b64 = BUF_INIT;
	size_t i, n;

	assert(nheaders <= PEM_MAX_HEADERS);
	buf_addf(out, "-----BEGIN %s-----\n", type);
	for (i = 0; i < nheaders; i++) {
		assert(strchr(headers[i].name, ':') == NULL);
		assert(strchr(headers[i].value, '\n') == NULL);
		sorted[i] = &headers[i];
	}
	if (nheaders > 0) {
		qsort(sorted, nheaders, sizeof(const struct pem_header *),
		    header_cmp);
		for (i = 0; i < nheaders; i++)
			buf_addf(
			    out, "%s: %s\n", sorted[i]->name, sorted[i]->value);
		buf_addch(out, '\n');
	}
	base64_encode(&b64, payload, len);
	for (i = 0; i < b64.len; i += n) {
		n = b64.len - i < PEM_LINE ? b64.len - i : PEM_LINE;
		buf_add(out, b64.data + i, n);
		buf_addch(out, '\n');
	}
	buf_release(&b64);
	buf_addf(out, "-----END %s-----\n", type);
}

/*
 * Decoding
 */

/* A line of text without its terminator and trailing spaces and tabs. */
struct line {
	const char *p;
	size_t len;
	const char *next; /* the byte after the line's terminator */
};

static void
get_line(const char *p, const char *end, struct line *l)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl != NULL ? nl : end;

	l->next = nl != NULL ? nl + 1 : end;
	while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	l->p = p;
	l->len = (size_t)(e - p);
}

/* Find needle in [p, end). */
static const char *
find(const char *p, const char *end, const char *needle, size_t n)
{
	while ((size_t)(end - p) >= n) {
		const char *c = memchr(p, needle[0], (size_t)(end - p) - n + 1);

		if (c == NULL)
			return NULL;
		if (memcmp(c, needle, n) == 0)
			return c;
		p = c + 1;
	}
	return NULL;
}

static char *
trimmed_dup(const char *p, size_t len)
{
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return xmemdup0(p, len);
}

int
pem_decode(
    const char *text, size_t len, struct pem_block *blk, const char **err)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----",
	                  endpfx[] = "-----END ";
	const char *end = text + len, *p, *colon, *body_end, *q;
	struct buf b64 = BUF_INIT, endline = BUF_INIT;
	struct line l;
	size_t tlen;

	memset(blk, 0, sizeof(*blk));
	buf_init(&blk->payload);

	/* The BEGIN line: at the start of the text or of a line. */
	p = text;
	for (;;) {
		p = find(p, end, begin, sizeof(begin) - 1);
		if (p == NULL) {
			*err = "no PEM block found";
			goto fail;
		}
		if (p == text || p[-1] == '\n')
			break;
		p++;
	}
	get_line(p, end, &l);
	tlen = l.len - (sizeof(begin) - 1);
	if (l.len < sizeof(begin) - 1 + sizeof(dashes) - 1 ||
	    memcmp(l.p + l.len - (sizeof(dashes) - 1), dashes,
	        sizeof(dashes) - 1) != 0) {
		*err = "malformed BEGIN line";
		goto fail;
	}
	tlen -= sizeof(dashes) - 1;
	if (tlen == 0 || tlen > PEM_MAX_TYPE) {
		*err = "bad PEM block type";
		goto fail;
	}
	blk->type = xmemdup0(l.p + sizeof(begin) - 1, tlen);
	p = l.next;

	/* Headers: "Name: value" lines up to the first line with no colon. */
	for (;;) {
		get_line(p, end, &l);
		colon = l.len > 0 ? memchr(l.p, ':', l.len) : NULL;
		if (colon == NULL)
			break;
		if (l.len > PEM_MAX_HEADER) {
			*err = "PEM header line too long";
			goto fail;
		}
		/* A NUL would cut the name or value short as a C string. */
		if (memchr(l.p, '\0', l.len) != NULL) {
			*err = "NUL byte in a PEM header";
			goto fail;
		}
		if (blk->nheaders == PEM_MAX_HEADERS) {
			*err = "too many PEM headers";
			goto fail;
		}
		blk->headers[blk->nheaders].name =
		    trimmed_dup(l.p, (size_t)(colon - l.p));
		blk->headers[blk->nheaders].value =
		    trimmed_dup(colon + 1, l.len - (size_t)(colon - l.p) - 1);
		blk->nheaders++;
		p = l.next;
	}
	/* Headers end with a blank line (which is not part of the body). */
	if (blk->nheaders > 0 && l.len == 0)
		p = l.next;

	/* The END line of the same type, at the start of a line. */
	buf_addf(&endline, "%s%s%s", endpfx, blk->type, dashes);
	q = p;
	for (;;) {
		body_end = find(q, end, endline.data, endline.len);
		if (body_end == NULL) {
			*err = "no PEM END line";
			goto fail;
		}
		if (body_end == p || body_end[-1] == '\n')
			break;
		q = body_end + 1;
	}

	/* The body: base64 with line breaks, spaces and tabs. */
	for (q = p; q < body_end; q++)
		if (*q != '\n' && *q != '\r' && *q != ' ' && *q != '\t')
			buf_addch(&b64, *q);
	if (base64_decode(&blk->payload, b64.data, b64.len) == -1) {
		*err = "bad base64 in PEM block";
		goto fail;
	}
	buf_release(&b64);
	buf_release(&endline);
	return 0;
fail:
	buf_release(&b64);
	buf_release(&endline);
	pem_block_release(blk);
	return -1;
}

const char *
pem_header_get(const struct pem_block *blk, const char *name)
{
	size_t i;

	for (i = 0; i < blk->nheaders; i++)
		if (strcmp(blk->headers[i].name, name) == 0)
			return blk->headers[i].value;
	return NULL;
}

void
pem_block_release(struct pem_block *blk)
{
	size_t i;

	free(blk->type);
	for (i = 0; i < blk->nheaders; i++) {
		free(blk->headers[i].name);
		free(blk->headers[i].value);
	}
	buf_release(&blk->payload);
	memset(blk, 0, sizeof(*blk));
	buf_init(&blk->payload);
}
