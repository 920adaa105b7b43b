/*
 * bookmeta_pdf.c: a PDF's /Info dictionary (bookmeta.h), with a lexer of
 * our own over bounded reads.
 *
 * The trailer is found in the last BOOKMETA_PDF_TAIL bytes (the last
 * "trailer" keyword; a PDF 1.5 cross-reference stream has none, and then
 * the object at startxref, whose dictionary is the trailer). /Info names
 * an object; its offset comes from the classic cross-reference table at
 * startxref (and the /Prev tables before it), or else from a search for
 * "N G obj" in the tail and in the first BOOKMETA_PDF_OBJECT bytes. Each
 * object read is at most BOOKMETA_PDF_OBJECT bytes, and no more than
 * BOOKMETA_PDF_MAX_REFS references (Info, a Title given by reference,
 * ...) and as many /Prev tables are followed.
 *
 * PDF 1.5 files keep their cross-reference in a stream (/Type /XRef, rows
 * of /W field widths over the /Index subsections, usually FlateDecode with
 * the PNG Up predictor) and most objects inside object streams (/Type
 * /ObjStm: /N pairs "number offset", the objects from /First on). Both
 * are inflated with zlib into at most BOOKMETA_PDF_STREAM bytes (a
 * deflate bomb stops there and the object is not read), an object stream
 * holding at most BOOKMETA_PDF_MAX_OBJSTM objects. An object stream is
 * always found directly in the file (never in another one), so no chain
 * of them loops. An encrypted PDF's strings are encrypted too: it keeps
 * the title of its file name, and m->note says why.
 *
 * Strings are literal ("(...)" with its escapes) or hex ("<...>"), then
 * UTF-16BE when they start with the BOM FE FF, UTF-8 after EF BB BF,
 * PDFDocEncoding otherwise.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "bookmeta.h"
#include "xmalloc.h"

/* Nesting of dictionaries and arrays the lexer follows. */
#define PDF_MAX_NEST 32
/* Bytes kept of one string before it is decoded. */
#define PDF_MAX_STRING ((size_t)4 * BOOKMETA_MAX_TEXT)
/* Subsections of a cross-reference table looked through. */
#define PDF_MAX_SUBSECTIONS 4096

struct lex {
	const unsigned char *p, *end;
};

enum pval_kind { PV_NONE, PV_STRING, PV_REF, PV_DICT, PV_INT, PV_OTHER };

struct pval {
	enum pval_kind kind;
	struct buf str;  /* PV_STRING: the raw bytes */
	long num, gen;   /* PV_REF; num is PV_INT's value */
	struct lex dict; /* PV_DICT: from "<<" to the buffer's end */
};

/* Where the cross-reference puts an object. */
struct xref_entry {
	bool in_stream; /* in object stream stm, at index idx */
	uint64_t off;   /* !in_stream: its offset in the file */
	long stm, idx;
};

struct pdf {
	const struct bookzip_src *src;
	int refs; /* references followed so far */
	uint64_t xref;
	bool have_xref;
};

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' ||
	       c == '\0';
}

static bool
is_delim(unsigned char c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' ||
	       c == ']' || c == '{' || c == '}' || c == '/' || c == '%';
}

static void
skip_space(struct lex *l)
{
	while (l->p < l->end) {
		if (is_space(*l->p)) {
			l->p++;
		} else if (*l->p == '%') {
			while (l->p < l->end && *l->p != '\n' && *l->p != '\r')
				l->p++;
		} else {
			break;
		}
	}
}

/* A non-negative integer; false when there is none or it does not fit a
 * long (32 bits on armhf and armel). */
static bool
lex_uint(struct lex *l, long *v)
{
	int64_t n = 0;

	skip_space(l);
	if (l->p >= l->end || *l->p < '0' || *l->p > '9')
		return false;
	while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		if (n > INT64_C(100000000000))
			return false;
		n = n * 10 + (*l->p++ - '0');
	}
	if (n > LONG_MAX)
		return false;
	*v = (long)n;
	return true;
}

static bool
lex_keyword(struct lex *l, const char *kw)
{
	size_t n = strlen(kw);

	skip_space(l);
	if ((size_t)(l->end - l->p) < n || memcmp(l->p, kw, n) != 0)
		return false;
	if ((size_t)(l->end - l->p) > n && !is_space(l->p[n]) &&
	    !is_delim(l->p[n]))
		return false;
	l->p += n;
	return true;
}

/* A literal string after its '(' into out (at most PDF_MAX_STRING). */
static bool
lex_literal(struct lex *l, struct buf *out)
{
	int depth = 1, i, v;
	unsigned char c;

	while (l->p < l->end) {
		c = *l->p++;
		if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (--depth == 0)
				return true;
		} else if (c == '\\') {
			if (l->p >= l->end)
				return false;
			c = *l->p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case '\r':
				if (l->p < l->end && *l->p == '\n')
					l->p++;
				continue;
			case '\n':
				continue;
			default:
				if (c >= '0' && c <= '7') {
					v = c - '0';
					for (i = 0;
					     i < 2 && l->p < l->end &&
					     *l->p >= '0' && *l->p <= '7';
					     i++)
						v = v * 8 + (*l->p++ - '0');
					c = (unsigned char)v;
				}
			}
		} else if (c == '\r') {
			if (l->p < l->end && *l->p == '\n')
				l->p++;
			c = '\n';
		}
		if (out->len < PDF_MAX_STRING)
			buf_addch(out, c);
	}
	return false;
}

/* A hex string after its '<' into out. */
static bool
lex_hex(struct lex *l, struct buf *out)
{
	int hi = -1, d;
	unsigned char c;

	while (l->p < l->end) {
		c = *l->p++;
		if (c == '>') {
			if (hi >= 0 && out->len < PDF_MAX_STRING)
				buf_addch(out, hi << 4);
			return true;
		}
		if (is_space(c))
			continue;
		d = str_hex_digit((char)c);
		if (d < 0)
			return false;
		if (hi < 0) {
			hi = d;
		} else {
			if (out->len < PDF_MAX_STRING)
				buf_addch(out, (hi << 4) | d);
			hi = -1;
		}
	}
	return false;
}

/*
 * One value; what it is goes into v (when v is not NULL). An integer is
 * checked for "G R" after it. False on a syntax error.
 */
static bool
lex_value(struct lex *l, struct pval *v, int nest)
{
	const unsigned char *start;
	struct lex save;
	long a, b;

	skip_space(l);
	if (l->p >= l->end || nest > PDF_MAX_NEST)
		return false;
	if (v != NULL)
		v->kind = PV_OTHER;
	start = l->p;
	if (*l->p == '(') {
		l->p++;
		if (v != NULL) {
			v->kind = PV_STRING;
			buf_reset(&v->str);
		}
		if (v != NULL)
			return lex_literal(l, &v->str);
		{
			struct buf tmp = BUF_INIT;
			bool ok = lex_literal(l, &tmp);

			buf_release(&tmp);
			return ok;
		}
	}
	if (l->end - l->p >= 2 && l->p[0] == '<' && l->p[1] == '<') {
		l->p += 2;
		if (v != NULL) {
			v->kind = PV_DICT;
			v->dict.p = start;
			v->dict.end = l->end;
		}
		for (;;) {
			skip_space(l);
			if (l->end - l->p >= 2 && l->p[0] == '>' &&
			    l->p[1] == '>') {
				l->p += 2;
				return true;
			}
			if (!lex_value(l, NULL, nest + 1))
				return false;
		}
	}
	if (*l->p == '<') {
		struct buf tmp = BUF_INIT;
		bool ok;

		l->p++;
		if (v != NULL) {
			v->kind = PV_STRING;
			buf_reset(&v->str);
			return lex_hex(l, &v->str);
		}
		ok = lex_hex(l, &tmp);
		buf_release(&tmp);
		return ok;
	}
	if (*l->p == '[') {
		l->p++;
		for (;;) {
			skip_space(l);
			if (l->p < l->end && *l->p == ']') {
				l->p++;
				return true;
			}
			if (!lex_value(l, NULL, nest + 1))
				return false;
		}
	}
	if (*l->p == '/') {
		l->p++;
		while (l->p < l->end && !is_space(*l->p) && !is_delim(*l->p))
			l->p++;
		return true;
	}
	if (*l->p >= '0' && *l->p <= '9') {
		save = *l;
		if (lex_uint(l, &a)) {
			struct lex after = *l;

			if (lex_uint(l, &b) && lex_keyword(l, "R")) {
				if (v != NULL) {
					v->kind = PV_REF;
					v->num = a;
					v->gen = b;
				}
				return true;
			}
			*l = after;
			if (l->p < l->end && *l->p == '.') {
				l->p++;
				while (l->p < l->end && *l->p >= '0' &&
				       *l->p <= '9')
					l->p++;
			} else if (v != NULL) {
				v->kind = PV_INT;
				v->num = a;
			}
			return true;
		}
		*l = save;
	}
	/* Numbers with signs or points, true, false, null. */
	if (*l->p == ')' || *l->p == '>' || *l->p == ']' || *l->p == '}')
		return false;
	while (l->p < l->end && !is_space(*l->p) && !is_delim(*l->p))
		l->p++;
	return l->p > start;
}

/*
 * Put at on the value of /key in the dictionary at d ("<<"); false when
 * absent or the dictionary does not parse.
 */
static bool
dict_find(const struct lex *d, const char *key, struct lex *at)
{
	struct lex l = *d;
	const unsigned char *name;
	size_t klen = strlen(key), n;

	skip_space(&l);
	if (l.end - l.p < 2 || l.p[0] != '<' || l.p[1] != '<')
		return false;
	l.p += 2;
	for (;;) {
		skip_space(&l);
		if (l.p >= l.end ||
		    (l.end - l.p >= 2 && l.p[0] == '>' && l.p[1] == '>'))
			return false;
		if (*l.p != '/')
			return false;
		name = ++l.p;
		while (l.p < l.end && !is_space(*l.p) && !is_delim(*l.p))
			l.p++;
		n = (size_t)(l.p - name);
		if (n == klen && memcmp(name, key, n) == 0) {
			skip_space(&l);
			*at = l;
			return true;
		}
		if (!lex_value(&l, NULL, 1))
			return false;
	}
}

/* The value of /key in the dictionary at d, as dict_find(). */
static bool
dict_get(const struct lex *d, const char *key, struct pval *v)
{
	struct lex at;

	return dict_find(d, key, &at) && lex_value(&at, v, 1);
}

/* Whether /key in d is the name /name (or an array starting with it). */
static bool
dict_is_name(const struct lex *d, const char *key, const char *name)
{
	struct lex at;
	size_t n = strlen(name);

	if (!dict_find(d, key, &at))
		return false;
	if (at.p < at.end && *at.p == '[') {
		at.p++;
		skip_space(&at);
	}
	if (at.p >= at.end || *at.p != '/' || (size_t)(at.end - at.p) < n + 1 ||
	    memcmp(at.p + 1, name, n) != 0)
		return false;
	return (size_t)(at.end - at.p) == n + 1 || is_space(at.p[n + 1]) ||
	       is_delim(at.p[n + 1]);
}

/* A direct non-negative integer /key of d, or false. */
static bool
dict_int(const struct lex *d, const char *key, long *n)
{
	struct pval v;
	bool ok;

	memset(&v, 0, sizeof(v));
	buf_init(&v.str);
	ok = dict_get(d, key, &v) && v.kind == PV_INT;
	if (ok)
		*n = v.num;
	buf_release(&v.str);
	return ok;
}

/*
 * The integers of the array /key of d into a (at most max); the count, or
 * -1 when absent or not an array of non-negative integers.
 */
static int
dict_ints(const struct lex *d, const char *key, long *a, int max)
{
	struct lex at;
	int n = 0;

	if (!dict_find(d, key, &at) || at.p >= at.end || *at.p != '[')
		return -1;
	at.p++;
	for (;;) {
		skip_space(&at);
		if (at.p < at.end && *at.p == ']')
			return n;
		if (n >= max || !lex_uint(&at, &a[n]))
			return -1;
		n++;
	}
}

/* ---------------------------------------------------------------------
 * Objects
 */

/* Read up to max bytes at off into b; false when nothing could be read. */
static bool
read_at(const struct bookzip_src *src, uint64_t off, size_t max, struct buf *b)
{
	ssize_t n;

	buf_reset(b);
	if (off >= src->size)
		return false;
	buf_grow(b, max);
	n = bookzip_src_read(src, off, b->data, max);
	if (n <= 0)
		return false;
	b->len = (size_t)n;
	b->data[n] = '\0';
	return true;
}

/*
 * The data of the stream whose object (its dictionary at d, l just past
 * it) starts at file offset obj_off, b holding the object's first bytes:
 * FlateDecode inflated (or none), then a PNG predictor undone, into out,
 * at most BOOKMETA_PDF_STREAM bytes. False when it cannot be read, uses
 * another filter, or inflates past the bound.
 */
static bool
stream_data(struct pdf *pdf, uint64_t obj_off, const struct buf *b,
    const struct lex *d, struct lex l, struct buf *out)
{
	struct buf raw = BUF_INIT;
	struct lex parms;
	struct pval v;
	z_stream z;
	long len, pred = 1, cols = 1;
	size_t cap = BOOKMETA_PDF_STREAM, row, i, j, rows;
	unsigned char *p, *prev;
	int zr;
	bool ok = false;

	buf_reset(out);
	if (!lex_keyword(&l, "stream"))
		return false;
	/* "stream" then CRLF or LF: the data may start with blanks */
	if (l.p < l.end && *l.p == '\r')
		l.p++;
	if (l.p < l.end && *l.p == '\n')
		l.p++;
	if (dict_int(d, "Length", &len) && (size_t)len < cap)
		cap = (size_t)len;
	if (!read_at(pdf->src,
	        obj_off + (uint64_t)(l.p - (const unsigned char *)b->data), cap,
	        &raw))
		goto out;
	if (!dict_find(d, "Filter", &l)) {
		buf_add(out, raw.data, raw.len);
	} else if (dict_is_name(d, "Filter", "FlateDecode")) {
		memset(&z, 0, sizeof(z));
		if (inflateInit(&z) != Z_OK)
			goto out;
		buf_grow(out, BOOKMETA_PDF_STREAM);
		z.next_in = (unsigned char *)raw.data;
		z.avail_in = (uInt)raw.len;
		z.next_out = (unsigned char *)out->data;
		z.avail_out = BOOKMETA_PDF_STREAM;
		zr = inflate(&z, Z_FINISH);
		out->len = BOOKMETA_PDF_STREAM - z.avail_out;
		out->data[out->len] = '\0';
		inflateEnd(&z);
		/* past the bound (a deflate bomb), or broken data */
		if (zr != Z_STREAM_END &&
		    !(zr == Z_BUF_ERROR && z.avail_in == 0 && z.avail_out > 0))
			goto out;
	} else {
		goto out; /* a filter not read here */
	}
	/* /DecodeParms << /Predictor 10..15 /Columns n >>: PNG rows */
	memset(&v, 0, sizeof(v));
	buf_init(&v.str);
	if (dict_get(d, "DecodeParms", &v) && v.kind == PV_DICT) {
		parms = v.dict;
		(void)dict_int(&parms, "Predictor", &pred);
		(void)dict_int(&parms, "Columns", &cols);
	}
	buf_release(&v.str);
	if (pred >= 10) {
		if (cols < 1 || (size_t)cols >= BOOKMETA_PDF_STREAM)
			goto out;
		row = (size_t)cols;
		rows = out->len / (row + 1);
		p = (unsigned char *)out->data;
		for (i = 0; i < rows; i++) {
			unsigned char *src = p + i * (row + 1) + 1;
			unsigned filter = src[-1];

			prev = i > 0 ? p + (i - 1) * row : NULL;
			for (j = 0; j < row; j++) {
				unsigned up = prev != NULL ? prev[j] : 0;
				unsigned left = j > 0 ? p[i * row + j - 1] : 0;
				unsigned ul =
				    prev != NULL && j > 0 ? prev[j - 1] : 0;
				unsigned add = 0;

				if (filter == 1) {
					add = left;
				} else if (filter == 2) {
					add = up;
				} else if (filter == 3) {
					add = (left + up) / 2;
				} else if (filter == 4) {
					int pa = abs((int)up - (int)ul);
					int pb = abs((int)left - (int)ul);
					int pc =
					    abs((int)(left + up) - 2 * (int)ul);

					add = pa <= pb && pa <= pc ? left
					      : pb <= pc           ? up
					                           : ul;
				} else if (filter != 0) {
					goto out;
				}
				/* rows move down one byte each: in place */
				p[i * row + j] = (unsigned char)(src[j] + add);
			}
		}
		out->len = rows * row;
		out->data[out->len] = '\0';
	} else if (pred != 1) {
		goto out;
	}
	ok = true;
out:
	buf_release(&raw);
	return ok;
}

/*
 * Read the object at off into b with l after its "N G obj" and d on its
 * dictionary; false when there is none there.
 */
static bool
read_dict_object(
    struct pdf *pdf, uint64_t off, struct buf *b, struct lex *d, struct lex *l)
{
	struct pval v;
	long n, g;
	bool ok;

	if (!read_at(pdf->src, off, BOOKMETA_PDF_OBJECT, b))
		return false;
	l->p = (const unsigned char *)b->data;
	l->end = l->p + b->len;
	if (!lex_uint(l, &n) || !lex_uint(l, &g) || !lex_keyword(l, "obj"))
		return false;
	memset(&v, 0, sizeof(v));
	buf_init(&v.str);
	ok = lex_value(l, &v, 1) && v.kind == PV_DICT;
	buf_release(&v.str);
	if (ok) {
		*d = v.dict;
		d->end = l->p;
	}
	return ok;
}

/* A big-endian field of w bytes at p. */
static uint64_t
field(const unsigned char *p, long w)
{
	uint64_t v = 0;
	long i;

	for (i = 0; i < w; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Object num in the cross-reference stream at off: 1 with *e, 0 when it
 * is not there (*prev the /Prev offset, or UINT64_MAX), -1 when the stream
 * cannot be read.
 */
static int
xref_stream_lookup(struct pdf *pdf, uint64_t off, long num,
    struct xref_entry *e, uint64_t *prev)
{
	struct buf b = BUF_INIT, data = BUF_INIT;
	struct lex d, l;
	long w[3],
	    *index = xmalloc((size_t)2 * PDF_MAX_SUBSECTIONS * sizeof(long));
	long size, pv;
	const unsigned char *r;
	uint64_t base = 0, rowlen, type;
	int nw, ni, i, rc = -1;

	*prev = UINT64_MAX;
	if (!read_dict_object(pdf, off, &b, &d, &l) ||
	    !dict_is_name(&d, "Type", "XRef"))
		goto out;
	nw = dict_ints(&d, "W", w, 3);
	if (nw != 3 || w[0] > 8 || w[1] > 8 || w[2] > 8 ||
	    w[0] + w[1] + w[2] == 0)
		goto out;
	ni = dict_ints(&d, "Index", index, 2 * PDF_MAX_SUBSECTIONS);
	if (ni < 0) {
		if (!dict_int(&d, "Size", &size))
			goto out;
		index[0] = 0;
		index[1] = size;
		ni = 2;
	}
	if (dict_int(&d, "Prev", &pv))
		*prev = (uint64_t)pv;
	if (!stream_data(pdf, off, &b, &d, l, &data))
		goto out;
	rowlen = (uint64_t)(w[0] + w[1] + w[2]);
	rc = 0;
	for (i = 0; i + 1 < ni; i += 2) {
		if (num >= index[i] && num - index[i] < index[i + 1]) {
			base += (uint64_t)(num - index[i]);
			if ((base + 1) * rowlen > data.len)
				break;
			r = (const unsigned char *)data.data + base * rowlen;
			type = w[0] == 0 ? 1 : field(r, w[0]);
			if (type == 1) {
				e->in_stream = false;
				e->off = field(r + w[0], w[1]);
				rc = 1;
			} else if (type == 2) {
				e->in_stream = true;
				e->stm = (long)(field(r + w[0], w[1]) &
				                (uint64_t)LONG_MAX);
				e->idx = (long)(field(r + w[0] + w[1], w[2]) &
				                (uint64_t)LONG_MAX);
				rc = 1;
			}
			break;
		}
		base += (uint64_t)index[i + 1];
		if (base * rowlen > data.len)
			break;
	}
out:
	free(index);
	buf_release(&b);
	buf_release(&data);
	return rc;
}

/*
 * Where object num is, from the cross-reference at off (a table or a
 * stream) and those its /Prev names; false when it is not there.
 */
static bool
xref_lookup(struct pdf *pdf, uint64_t off, long num, struct xref_entry *e)
{
	struct buf b = BUF_INIT, entry = BUF_INIT;
	struct lex l, d;
	struct pval v;
	long start, count, o, g;
	int tables, sub, rc;
	uint64_t prev;
	bool found = false;

	memset(&v, 0, sizeof(v));
	buf_init(&v.str);
	for (tables = 0; tables <= BOOKMETA_PDF_MAX_REFS && !found; tables++) {
		if (!read_at(pdf->src, off, 64, &b))
			break;
		l.p = (const unsigned char *)b.data;
		l.end = l.p + b.len;
		if (!lex_keyword(&l, "xref")) {
			rc = xref_stream_lookup(pdf, off, num, e, &prev);
			found = rc == 1;
			if (rc != 0 || prev == UINT64_MAX)
				break;
			off = prev;
			continue;
		}
		off += (uint64_t)(l.p - (const unsigned char *)b.data);
		for (sub = 0; sub < PDF_MAX_SUBSECTIONS; sub++) {
			if (!read_at(pdf->src, off, 64, &b))
				break;
			l.p = (const unsigned char *)b.data;
			l.end = l.p + b.len;
			if (!lex_uint(&l, &start) || !lex_uint(&l, &count))
				break;
			skip_space(&l);
			off += (uint64_t)(l.p - (const unsigned char *)b.data);
			if (num >= start && num - start < count) {
				/* entries are 20 bytes: "oooooooooo ggggg
				 * n\r\n" */
				if (read_at(pdf->src,
				        off + (uint64_t)(num - start) * 20, 20,
				        &entry)) {
					l.p = (const unsigned char *)entry.data;
					l.end = l.p + entry.len;
					if (lex_uint(&l, &o) &&
					    lex_uint(&l, &g) &&
					    lex_keyword(&l, "n")) {
						e->in_stream = false;
						e->off = (uint64_t)o;
						found = true;
					}
				}
				break;
			}
			off += (uint64_t)count * 20;
		}
		if (found)
			break;
		/* the trailer after the table: its /Prev */
		if (!read_at(pdf->src, off, BOOKMETA_PDF_OBJECT, &b))
			break;
		l.p = (const unsigned char *)b.data;
		l.end = l.p + b.len;
		while (l.p < l.end && !lex_keyword(&l, "trailer"))
			l.p++;
		d = l;
		if (l.p >= l.end)
			break;
		/* a hybrid file: the objects in streams are in /XRefStm */
		if (dict_int(&d, "XRefStm", &o) &&
		    xref_stream_lookup(pdf, (uint64_t)o, num, e, &prev) == 1) {
			found = true;
			break;
		}
		if (!dict_get(&d, "Prev", &v) || v.kind != PV_INT)
			break;
		off = (uint64_t)v.num;
	}
	buf_release(&v.str);
	buf_release(&b);
	buf_release(&entry);
	return found;
}

/*
 * Object num, index idx of the object stream stm, into b with l on its
 * value. The stream itself must be in the file (not in another stream).
 */
static bool
read_in_stream(
    struct pdf *pdf, long stm, long idx, long num, struct buf *b, struct lex *l)
{
	struct xref_entry e = {.off = UINT64_MAX};
	struct buf obj = BUF_INIT, data = BUF_INIT;
	struct lex d, h;
	long n, first, on, oo, i, at = -1;
	bool ok = false;

	if (!xref_lookup(pdf, pdf->xref, stm, &e) || e.in_stream ||
	    !read_dict_object(pdf, e.off, &obj, &d, l) ||
	    !dict_is_name(&d, "Type", "ObjStm") || !dict_int(&d, "N", &n) ||
	    !dict_int(&d, "First", &first) || n > BOOKMETA_PDF_MAX_OBJSTM ||
	    !stream_data(pdf, e.off, &obj, &d, *l, &data) ||
	    (size_t)first >= data.len)
		goto out;
	/* the header: n pairs "number offset"; idx names the pair */
	h.p = (const unsigned char *)data.data;
	h.end = h.p + first;
	for (i = 0; i < n; i++) {
		if (!lex_uint(&h, &on) || !lex_uint(&h, &oo))
			break;
		if (on == num && (at < 0 || i == idx))
			at = oo;
	}
	if (at < 0 || (size_t)at >= data.len - (size_t)first)
		goto out;
	buf_reset(b);
	n = (long)(data.len - (size_t)first - (size_t)at);
	buf_add(b, data.data + first + at,
	    (size_t)n < BOOKMETA_PDF_OBJECT ? (size_t)n : BOOKMETA_PDF_OBJECT);
	l->p = (const unsigned char *)b->data;
	l->end = l->p + b->len;
	ok = true;
out:
	buf_release(&obj);
	buf_release(&data);
	return ok;
}

/* Where "num gen obj" starts in the n bytes at p, or NULL. */
static const unsigned char *
find_obj(const unsigned char *p, size_t n, long num, long gen)
{
	char pat[48];
	const unsigned char *q = p, *hit;
	int len = snprintf(pat, sizeof(pat), "%ld %ld obj", num, gen);

	while ((hit = bookmeta_find(
	            q, n - (size_t)(q - p), pat, (size_t)len)) != NULL) {
		if (hit == p || is_space(hit[-1]))
			return hit;
		q = hit + 1;
	}
	return NULL;
}

/*
 * Read object num gen into b, with l on its value. False when it cannot
 * be found or the reference budget is spent.
 */
static bool
read_object(struct pdf *pdf, long num, long gen, const struct buf *tail,
    struct buf *b, struct lex *l)
{
	struct xref_entry e = {.off = UINT64_MAX};
	long n, g;
	const unsigned char *hit;

	if (pdf->refs++ >= BOOKMETA_PDF_MAX_REFS)
		return false;
	if (pdf->have_xref && xref_lookup(pdf, pdf->xref, num, &e)) {
		if (e.in_stream)
			return read_in_stream(pdf, e.stm, e.idx, num, b, l);
		if (read_at(pdf->src, e.off, BOOKMETA_PDF_OBJECT, b)) {
			l->p = (const unsigned char *)b->data;
			l->end = l->p + b->len;
			if (lex_uint(l, &n) && lex_uint(l, &g) && n == num &&
			    g == gen && lex_keyword(l, "obj"))
				return true;
		}
	}
	/* no usable table: look for it in the tail, then the head */
	hit = find_obj((const unsigned char *)tail->data, tail->len, num, gen);
	if (hit != NULL) {
		buf_reset(b);
		buf_add(b, hit,
		    tail->len -
		        (size_t)(hit - (const unsigned char *)tail->data));
	} else if (read_at(pdf->src, 0, BOOKMETA_PDF_OBJECT, b) &&
	           (hit = find_obj((const unsigned char *)b->data, b->len, num,
	                gen)) != NULL) {
		buf_consume(b, (size_t)(hit - (const unsigned char *)b->data));
	} else {
		return false;
	}
	l->p = (const unsigned char *)b->data;
	l->end = l->p + b->len;
	return lex_uint(l, &n) && lex_uint(l, &g) && lex_keyword(l, "obj");
}

/* ---------------------------------------------------------------------
 * Strings
 */

/* PDFDocEncoding from 0x80 to 0xa0 (the rest is Latin-1). */
/* clang-format off */
static const uint16_t pdfdoc_80[33] = {
    0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x0192, 0x2044,
    0x2039, 0x203a, 0x2212, 0x2030, 0x201e, 0x201c, 0x201d, 0x2018,
    0x2019, 0x201a, 0x2122, 0xfb01, 0xfb02, 0x0141, 0x0152, 0x0160,
    0x0178, 0x017d, 0x0131, 0x0142, 0x0153, 0x0161, 0x017e, 0xfffd,
    0x20ac,
};
/* clang-format on */

static void
put_utf8(struct buf *o, uint32_t c)
{
	char e[4];

	buf_add(o, e, bookmeta_utf8_put(c, e));
}

/* A PDF text string's bytes as UTF-8 (cleaned later by bookmeta_text). */
static void
pdf_text(const struct buf *s, struct buf *o)
{
	const unsigned char *p = (const unsigned char *)s->data;
	size_t i, n = s->len;
	uint32_t c, lo;

	buf_reset(o);
	if (n >= 2 && p[0] == 0xfe && p[1] == 0xff) {
		for (i = 2; i + 1 < n; i += 2) {
			c = (uint32_t)p[i] << 8 | p[i + 1];
			if (c >= 0xd800 && c <= 0xdbff && i + 3 < n) {
				lo = (uint32_t)p[i + 2] << 8 | p[i + 3];
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					c = 0x10000 + ((c - 0xd800) << 10) +
					    (lo - 0xdc00);
					i += 2;
				} else {
					c = 0xfffd;
				}
			} else if (c >= 0xd800 && c <= 0xdfff) {
				c = 0xfffd;
			}
			put_utf8(o, c);
		}
		return;
	}
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		buf_add(o, p + 3, n - 3);
		return;
	}
	for (i = 0; i < n; i++) {
		c = p[i];
		if (c >= 0x80 && c <= 0xa0)
			c = pdfdoc_80[c - 0x80];
		put_utf8(o, c);
	}
}

/*
 * The string value of /key in the Info dictionary d, following one
 * reference; false when there is none.
 */
static bool
info_string(struct pdf *pdf, const struct lex *d, const char *key,
    const struct buf *tail, struct buf *text)
{
	struct pval v;
	struct buf obj = BUF_INIT;
	struct lex l;
	bool ok = false;

	memset(&v, 0, sizeof(v));
	buf_init(&v.str);
	if (dict_get(d, key, &v) && v.kind == PV_REF &&
	    read_object(pdf, v.num, v.gen, tail, &obj, &l))
		(void)lex_value(&l, &v, 1);
	if (v.kind == PV_STRING) {
		pdf_text(&v.str, text);
		ok = true;
	}
	buf_release(&v.str);
	buf_release(&obj);
	return ok;
}

static void
read_info(struct pdf *pdf, const struct lex *info, const struct buf *tail,
    struct bookmeta *m)
{
	struct buf t = BUF_INIT;
	const char *p, *end;

	if (info_string(pdf, info, "Title", tail, &t))
		bookmeta_set(&m->title, t.data, t.len, 0);
	if (info_string(pdf, info, "Author", tail, &t))
		bookmeta_add(&m->authors, t.data, t.len, 0);
	if (info_string(pdf, info, "Subject", tail, &t))
		bookmeta_set(
		    &m->description, t.data, t.len, BOOKMETA_TEXT_LINES);
	if (info_string(pdf, info, "Keywords", tail, &t)) {
		for (p = t.data; p < t.data + t.len; p = end + 1) {
			end = p + strcspn(p, ",;");
			bookmeta_add(&m->subjects, p, (size_t)(end - p), 0);
			if (*end == '\0')
				break;
		}
	}
	buf_release(&t);
}

int
bookmeta_pdf_parse(const struct bookzip_src *src,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why)
{
	struct pdf pdf;
	struct buf tail = BUF_INIT, obj = BUF_INIT;
	struct lex l, trailer;
	struct pval v;
	const unsigned char *t, *hit, *last;
	uint64_t start;
	long x, gen;

	(void)lim;
	memset(&pdf, 0, sizeof(pdf));
	memset(&v, 0, sizeof(v));
	buf_init(&v.str);
	pdf.src = src;
	start =
	    src->size > BOOKMETA_PDF_TAIL ? src->size - BOOKMETA_PDF_TAIL : 0;
	if (!read_at(src, start, BOOKMETA_PDF_TAIL, &tail)) {
		buf_adds(why, "cannot read the end of the PDF");
		return -1;
	}
	t = (const unsigned char *)tail.data;
	/* startxref: the last one */
	last = NULL;
	for (hit = t; (hit = bookmeta_find(hit, tail.len - (size_t)(hit - t),
	                   "startxref", 9)) != NULL;
	     hit += 9)
		last = hit;
	if (last == NULL) {
		buf_adds(why, "a PDF without startxref (truncated?)");
		buf_release(&tail);
		return -1;
	}
	l.p = last + 9;
	l.end = t + tail.len;
	if (lex_uint(&l, &x) && (uint64_t)x < src->size) {
		pdf.xref = (uint64_t)x;
		pdf.have_xref = true;
	}
	/* the trailer: the last "trailer" keyword, or the xref stream */
	last = NULL;
	for (hit = t; (hit = bookmeta_find(hit, tail.len - (size_t)(hit - t),
	                   "trailer", 7)) != NULL;
	     hit += 7)
		last = hit;
	if (last != NULL) {
		trailer.p = last + 7;
		trailer.end = t + tail.len;
	} else if (pdf.have_xref &&
	           read_at(src, pdf.xref, BOOKMETA_PDF_OBJECT, &obj)) {
		trailer.p = (const unsigned char *)obj.data;
		trailer.end = trailer.p + obj.len;
		if (!lex_uint(&trailer, &x) || !lex_uint(&trailer, &gen) ||
		    !lex_keyword(&trailer, "obj"))
			trailer.p = trailer.end;
	} else {
		trailer.p = trailer.end = t;
	}
	skip_space(&trailer);
	if (dict_get(&trailer, "Encrypt", &v)) {
		/* encrypted strings: keep the file name's title */
		m->note = "an encrypted PDF (its /Info is not decrypted)";
	} else if (dict_get(&trailer, "Info", &v)) {
		struct buf ibuf = BUF_INIT;
		struct lex info;

		if (v.kind == PV_DICT) {
			info = v.dict;
			read_info(&pdf, &info, &tail, m);
		} else if (v.kind == PV_REF && read_object(&pdf, v.num, v.gen,
		                                   &tail, &ibuf, &info)) {
			skip_space(&info);
			read_info(&pdf, &info, &tail, m);
		} else {
			m->note = "the PDF's /Info object cannot be read";
		}
		buf_release(&ibuf);
	}
	buf_release(&v.str);
	buf_release(&tail);
	buf_release(&obj);
	return 0;
}
