/*
 * buf.c: growable byte buffers and string slices (see buf.h for the
 * invariants every function here keeps).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "xmalloc.h"

char buf_empty[1];

void
buf_init(struct buf *b)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;
	size_t cap;

	if (want <= b->cap)
		return;
	/*
	 * buf.h: data never NULL; an unallocated buffer is the empty one.
	 * Checked past the fast path (buf_add and buf_addch test for room
	 * themselves and call here only when there is none).
	 */
	assert(b->data != NULL && (b->cap != 0 || b->len == 0));
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap *= 2;
	if (b->cap == 0) {
		b->data = xmalloc(cap);
		b->data[0] = '\0';
	} else {
		b->data = xrealloc(b->data, cap);
	}
	b->cap = cap;
}

/* buf_add and buf_addch past the room they have (add_grow, addch_grow):
 * out of their fast paths, which then need no registers saved (the call
 * there is a tail call). */
static void __attribute__((noinline))
add_grow(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_add(struct buf *b, const void *data, size_t len)
{
	size_t at = b->len;
	char *d;

	assert(data != NULL || len == 0);
	if (len == 0)
		return;
	/* buf_grow's own test (cap >= len + 1, or 0). */
	if (b->cap - at <= len) {
		add_grow(b, data, len);
		return;
	}
	d = b->data;
	b->len = at + len;
	d[at + len] = '\0';
	memcpy(d + at, data, len);
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((noinline)) addch_grow(struct buf *b, int c)
{
	buf_grow(b, 1);
	b->data[b->len++] = (char)c;
	b->data[b->len] = '\0';
}

void
buf_addch(struct buf *b, int c)
{
	size_t len = b->len;
	char *d;

	if (b->cap - len < 2) {
		addch_grow(b, c);
		return;
	}
	d = b->data;
	d[len] = (char)c;
	d[len + 1] = '\0';
	b->len = len + 1;
}

void
buf_addstr(struct buf *b, struct str s)
{
	buf_add(b, s.p, s.len);
}

void
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	buf_grow(b, 64);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		if (n < 0) {
			b->data[b->len] = '\0';
			return;
		}
	}
	b->len += (size_t)n;
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
buf_consume(struct buf *b, size_t n)
{
	assert(n <= b->len);
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

void
buf_release(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b);
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (b->cap == 0)
		p = xstrdup("");
	else
		p = b->data;
	if (len != NULL)
		*len = b->len;
	buf_init(b);
	return p;
}

struct str
str_from(const char *s)
{
	struct str r = {s, s ? strlen(s) : 0};

	return r;
}

bool
str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
str_eqs(struct str a, const char *s)
{
	return str_eq(a, str_from(s));
}

bool
str_caseeqs(struct str a, const char *s)
{
	size_t n = strlen(s);

	return a.len == n && (n == 0 || strncasecmp(a.p, s, n) == 0);
}

bool
str_has_prefix(struct str a, const char *prefix)
{
	size_t n = strlen(prefix);

	return a.len >= n && memcmp(a.p, prefix, n) == 0;
}

int
str_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
str_dup(struct str s)
{
	return xmemdup0(s.p ? s.p : "", s.len);
}

size_t
str_packed_size(struct str s)
{
	return s.p ? s.len + 1 : 0;
}

struct str
str_pack(char **p, struct str s)
{
	struct str r;

	if (s.p == NULL)
		return STR_NULL;
	if (s.len)
		memcpy(*p, s.p, s.len);
	(*p)[s.len] = '\0';
	r.p = *p;
	r.len = s.len;
	*p += s.len + 1;
	return r;
}

long
str_unescape(struct str in, char *out)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < in.len; i++) {
		if (in.p[i] != '%') {
			out[n++] = in.p[i];
			continue;
		}
		if (in.len - i < 3)
			return -1;
		hi = str_hex_digit(in.p[i + 1]);
		lo = str_hex_digit(in.p[i + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	return (long)n;
}
