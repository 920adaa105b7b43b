/*
 * json.c: the JSON reader (a tree built from yajl's SAX callbacks) and the
 * JSON writer (our own emitter into a struct buf).
 *
 * Reader invariants: every allocation, yajl's own included, comes from the
 * caller's allocator, so a parse costs no malloc and is released with the
 * request; the tree keeps document order; every string and number text is
 * copied and NUL-terminated. yajl validates UTF-8 and the grammar; we add
 * the depth limit, the ban on NUL in strings, strict UTF-8 (no overlong
 * forms, surrogates or code points past U+10FFFF) and the ban on \u
 * escapes of lone surrogates (which yajl turns into '?'). Trailing garbage and
 * multiple top-level values are refused (yajl's defaults).
 *
 * Writer invariants: output is valid JSON whatever the input strings hold
 * (control characters, '"' and '\\' are escaped; '/' is not); doubles are
 * written in the shortest form that reads back to the same value.
 *
 * Not here: the streaming load of database.json (the store does it with
 * yajl directly) and any knowledge of the protocol's fields.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json.h"
#include "xmalloc.h"

/*
 * Reader
 */

struct json_parser {
	json_alloc_fn *alloc;
	void *ctx;
	struct json_value *root;
	struct json_frame {
		struct json_value *node;
		struct json_value *last; /* last child, for O(1) append */
	} stack[JSON_MAX_DEPTH];
	int depth; /* open containers */
	struct str key;
	const char *err;
	/* yajl's own memory, freed before json_parse returns: on the stack */
	unsigned char *scratch;
	size_t scratch_used;
	/*
	 * Where the root value ended, when yajl_parse (not the final
	 * yajl_complete_parse) saw its end: yajl lets an unterminated string
	 * after it pass as "more input to come", so json_parse checks that
	 * only white space follows.
	 */
	yajl_handle h;
	bool finishing;
	bool ended;
	size_t end;
};

/* Room for yajl's handle, lexer, stack and its two 2 KiB buffers. */
#define JSON_SCRATCH 6144

/*
 * yajl's allocations are all released by yajl_free() before json_parse()
 * returns, so they come from a scratch area on json_parse's stack, and
 * from the caller's allocator only if that runs out. Each block carries its
 * size in a header so realloc can copy; free does nothing.
 */
struct json_block {
	size_t size;
	size_t pad; /* keeps the payload 16-byte aligned */
};

static void *
json_yajl_malloc(void *ctx, size_t size)
{
	struct json_parser *jp = ctx;
	struct json_block *b;
	size_t need = (sizeof(*b) + size + 15) & ~(size_t)15;

	if (need <= JSON_SCRATCH - jp->scratch_used) {
		b = (struct json_block *)(void *)(jp->scratch +
		                                  jp->scratch_used);
		jp->scratch_used += need;
	} else {
		b = jp->alloc(jp->ctx, sizeof(*b) + size);
	}
	b->size = size;
	return b + 1;
}

static void *
json_yajl_realloc(void *ctx, void *ptr, size_t size)
{
	struct json_block *old;
	void *p;

	if (ptr == NULL)
		return json_yajl_malloc(ctx, size);
	old = (struct json_block *)ptr - 1;
	if (size <= old->size)
		return ptr;
	p = json_yajl_malloc(ctx, size);
	memcpy(p, ptr, old->size);
	return p;
}

static void
json_yajl_free(void *ctx, void *ptr)
{
	(void)ctx;
	(void)ptr;
}

/* A copy of s[0..len) in the caller's memory, NUL-terminated. */
static struct str
json_copy(struct json_parser *jp, const void *s, size_t len)
{
	char *p = jp->alloc(jp->ctx, len + 1);
	struct str r;

	memcpy(p, s, len);
	p[len] = '\0';
	r.p = p;
	r.len = len;
	return r;
}

/* The root value is complete: remember where (see struct json_parser). */
static void
json_root_done(struct json_parser *jp)
{
	if (jp->finishing)
		return;
	jp->ended = true;
	jp->end = yajl_get_bytes_consumed(jp->h);
}

/*
 * A new node of type t, linked as the last child of the open container (or
 * made the root). Returns NULL when the depth limit would be passed by a
 * container.
 */
static struct json_value *
json_node(struct json_parser *jp, enum json_type t)
{
	struct json_value *v = jp->alloc(jp->ctx, sizeof(*v));
	struct json_frame *f;

	memset(v, 0, sizeof(*v));
	v->type = t;
	if (jp->depth == 0) {
		jp->root = v;
	} else {
		f = &jp->stack[jp->depth - 1];
		if (f->node->type == JSON_OBJECT) {
			v->key = jp->key;
			jp->key = STR_NULL;
		}
		if (f->last == NULL)
			f->node->child = v;
		else
			f->last->next = v;
		f->last = v;
		f->node->count++;
	}
	if (t == JSON_OBJECT || t == JSON_ARRAY) {
		if (jp->depth == JSON_MAX_DEPTH) {
			jp->err = "nesting too deep";
			return NULL;
		}
		jp->stack[jp->depth].node = v;
		jp->stack[jp->depth].last = NULL;
		jp->depth++;
	} else if (jp->depth == 0) {
		json_root_done(jp);
	}
	return v;
}

static int
json_cb_null(void *ctx)
{
	return json_node(ctx, JSON_NULL) != NULL;
}

static int
json_cb_boolean(void *ctx, int val)
{
	return json_node(ctx, val ? JSON_TRUE : JSON_FALSE) != NULL;
}

static int
json_cb_number(void *ctx, const char *s, size_t len)
{
	struct json_parser *jp = ctx;
	struct json_value *v = json_node(jp, JSON_NUMBER);

	v->text = json_copy(jp, s, len);
	return 1;
}

/*
 * yajl checks only the shape of UTF-8 sequences; refuse what it lets
 * through (overlong forms, surrogates, code points past U+10FFFF) and NUL,
 * so every string in a tree is valid UTF-8 and a C string.
 */
static int
json_check_string(struct json_parser *jp, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len) != NULL) {
		jp->err = "NUL in string";
		return -1;
	}
	if (!json_utf8_valid((const char *)s, len)) {
		jp->err = "invalid UTF-8";
		return -1;
	}
	return 0;
}

static int
json_cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct json_parser *jp = ctx;
	struct json_value *v;

	if (json_check_string(jp, s, len) == -1)
		return 0;
	v = json_node(jp, JSON_STRING);
	v->text = json_copy(jp, s, len);
	return 1;
}

static int
json_cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct json_parser *jp = ctx;

	if (json_check_string(jp, s, len) == -1)
		return 0;
	jp->key = json_copy(jp, s, len);
	return 1;
}

static int
json_cb_start_map(void *ctx)
{
	return json_node(ctx, JSON_OBJECT) != NULL;
}

static int
json_cb_start_array(void *ctx)
{
	return json_node(ctx, JSON_ARRAY) != NULL;
}

static int
json_cb_end(void *ctx)
{
	struct json_parser *jp = ctx;

	jp->depth--;
	if (jp->depth == 0)
		json_root_done(jp);
	return 1;
}

static const yajl_callbacks json_callbacks = {
    .yajl_null = json_cb_null,
    .yajl_boolean = json_cb_boolean,
    .yajl_number = json_cb_number,
    .yajl_string = json_cb_string,
    .yajl_start_map = json_cb_start_map,
    .yajl_map_key = json_cb_map_key,
    .yajl_end_map = json_cb_end,
    .yajl_start_array = json_cb_start_array,
    .yajl_end_array = json_cb_end,
};

/* The value of 4 hex digits at p (len bytes available), or -1. */
static long
json_hex4(const char *p, size_t len)
{
	long v = 0;
	int i, d;

	if (len < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = p[i] - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * Whether every \u escape for a UTF-16 surrogate in text is a high one
 * followed at once by a low one. yajl writes '?' for a lone high surrogate
 * (and a wrong code point for a high one before anything else), so a
 * document id "\ud800" would be stored as "?": refuse them here instead.
 * A backslash only occurs in a string, where it starts an escape, so the
 * escapes can be walked without following the grammar (yajl does that).
 */
static bool
json_surrogates_ok(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	long cp, lo;

	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p < 2)
			return true; /* yajl finds the string unterminated */
		if (p[1] != 'u') {
			p += 2;
			continue;
		}
		cp = json_hex4(p + 2, (size_t)(end - p - 2));
		if (cp < 0) {
			/*
			 * Not four hex digits (yajl refuses it): step over
			 * "\u" only, so p never passes end.
			 */
			p += 2;
			continue;
		}
		p += 6;
		if (cp < 0xd800 || cp > 0xdfff)
			continue;
		if (cp >= 0xdc00 || end - p < 6 || p[0] != '\\' || p[1] != 'u')
			return false;
		lo = json_hex4(p + 2, (size_t)(end - p - 2));
		if (lo < 0xdc00 || lo > 0xdfff)
			return false;
		p += 6;
	}
	return true;
}

struct json_value *
json_parse(const char *text, size_t len, json_alloc_fn *alloc, void *ctx,
    const char **err)
{
	_Alignas(16) unsigned char scratch[JSON_SCRATCH];
	struct json_parser jp;
	yajl_alloc_funcs afs;
	yajl_handle h;
	yajl_status st;
	char c;

	/* Most bodies have no escape at all: one memchr. */
	if (memchr(text, '\\', len) != NULL && !json_surrogates_ok(text, len)) {
		if (err != NULL)
			*err = "invalid UTF-8 (a lone surrogate)";
		return NULL;
	}
	memset(&jp, 0, sizeof(jp));
	jp.alloc = alloc;
	jp.ctx = ctx;
	jp.scratch = scratch;
	afs.malloc = json_yajl_malloc;
	afs.realloc = json_yajl_realloc;
	afs.free = json_yajl_free;
	afs.ctx = &jp;
	h = yajl_alloc(&json_callbacks, &afs, &jp);
	jp.h = h;
	/* The defaults are what we want: strings validated, no comments, no
	 * trailing garbage, one value. */
	st = yajl_parse(h, (const unsigned char *)text, len);
	jp.finishing = true;
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	/* yajl takes '{}"' for '{}' and the start of a string to come. */
	while (st == yajl_status_ok && jp.ended && jp.end < len) {
		c = text[jp.end++];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			jp.err = "trailing garbage";
			st = yajl_status_error;
		}
	}
	if (st != yajl_status_ok || jp.root == NULL) {
		if (err != NULL)
			*err = jp.err != NULL ? jp.err : "invalid JSON";
		return NULL;
	}
	return jp.root;
}

bool
json_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;
	unsigned char c, lo, hi;
	size_t n, i;
	uint64_t w;

	while (p < end) {
		/* ASCII eight bytes at a time: no byte with its high bit. */
		if (end - p >= 8) {
			memcpy(&w, p, sizeof(w));
			if ((w & WORD_HIGH_BITS) == 0) {
				p += 8;
				continue;
			}
		}
		c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		/* The allowed range of the second byte (RFC 3629 §4). */
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n || p[1] < lo || p[1] > hi)
			return false;
		for (i = 2; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

const struct json_value *
json_get(const struct json_value *obj, const char *key)
{
	const struct json_value *v, *found = NULL;
	size_t n = strlen(key);

	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	for (v = obj->child; v != NULL; v = v->next)
		if (v->key.len == n && memcmp(v->key.p, key, n) == 0)
			found = v;
	return found;
}

int
json_number(const struct json_value *v, bool strings, double *out)
{
	const char *p, *end;
	char *endp;
	double d;

	if (v == NULL || v->text.p == NULL)
		return -1;
	if (v->type != JSON_NUMBER && !(strings && v->type == JSON_STRING))
		return -1;
	p = v->text.p;
	/*
	 * strtod covers what Lua's tonumber() accepts: leading white space,
	 * a sign, decimal with exponent, hexadecimal. It also reads "inf"
	 * and "nan", which isfinite() then refuses.
	 */
	errno = 0;
	d = strtod(p, &endp);
	end = endp;
	if (end == p)
		return -1;
	while (end < v->text.p + v->text.len && isspace((unsigned char)*end))
		end++;
	if (end != v->text.p + v->text.len || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/*
 * Writer
 */

void
json_out_init(struct json_out *o, struct buf *b, bool pretty)
{
	o->b = b;
	o->pretty = pretty;
	o->depth = 0;
	o->first[0] = true;
	o->after_key = false;
}

static void
json_indent(struct json_out *o, int depth)
{
	int i;

	buf_addch(o->b, '\n');
	for (i = 0; i < depth; i++)
		buf_add(o->b, "  ", 2);
}

/* What goes before a member or an element: a comma, a newline,
 * indentation (json_sep's way when no key was just written). */
static void __attribute__((noinline)) json_sep_item(struct json_out *o)
{
	if (o->depth == 0)
		return;
	if (!o->first[o->depth])
		buf_addch(o->b, ',');
	o->first[o->depth] = false;
	if (o->pretty)
		json_indent(o, o->depth);
}

/*
 * Whatever goes before a value or a key. Inline: a value after its key,
 * half the calls, needs nothing.
 */
static inline void
json_sep(struct json_out *o)
{
	if (o->after_key) {
		o->after_key = false;
		return;
	}
	json_sep_item(o);
}

static void
json_open(struct json_out *o, char c)
{
	json_sep(o);
	buf_addch(o->b, c);
	assert(o->depth < JSON_MAX_DEPTH);
	o->depth++;
	o->first[o->depth] = true;
}

static void
json_close(struct json_out *o, char c)
{
	assert(o->depth > 0);
	if (o->pretty && !o->first[o->depth])
		json_indent(o, o->depth - 1);
	o->depth--;
	buf_addch(o->b, c);
}

void
json_obj_begin(struct json_out *o)
{
	json_open(o, '{');
}

void
json_obj_end(struct json_out *o)
{
	json_close(o, '}');
}

void
json_arr_begin(struct json_out *o)
{
	json_open(o, '[');
}

void
json_arr_end(struct json_out *o)
{
	json_close(o, ']');
}

void
json_keyn(struct json_out *o, const char *key, size_t len)
{
	json_sep(o);
	json_escape(o->b, key, len);
	if (o->pretty)
		buf_add(o->b, ": ", 2);
	else
		buf_addch(o->b, ':');
	o->after_key = true;
}

void
json_strn(struct json_out *o, const char *s, size_t len)
{
	json_sep(o);
	json_escape(o->b, s, len);
}

void
json_str(struct json_out *o, const char *s)
{
	json_strn(o, s, strlen(s));
}

/* Append v in decimal, with a leading '-' when neg. */
static void
json_add_u64(struct buf *b, uint64_t v, bool neg)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (neg)
		tmp[--i] = '-';
	buf_add(b, tmp + i, sizeof(tmp) - i);
}

void
json_int(struct json_out *o, int64_t v)
{
	json_sep(o);
	if (v < 0)
		json_add_u64(o->b, (uint64_t)0 - (uint64_t)v, true);
	else
		json_add_u64(o->b, (uint64_t)v, false);
}

void
json_uint(struct json_out *o, uint64_t v)
{
	json_sep(o);
	json_add_u64(o->b, v, false);
}

void
json_double(struct json_out *o, double v)
{
	json_sep(o);
	json_format_double(o->b, v);
}

void
json_bool(struct json_out *o, bool v)
{
	json_sep(o);
	if (v)
		buf_add(o->b, "true", 4);
	else
		buf_add(o->b, "false", 5);
}

void
json_kv_str(struct json_out *o, const char *key, const char *v)
{
	json_key(o, key);
	json_str(o, v);
}

void
json_kv_int(struct json_out *o, const char *key, int64_t v)
{
	json_key(o, key);
	json_int(o, v);
}

void
json_kv_uint(struct json_out *o, const char *key, uint64_t v)
{
	json_key(o, key);
	json_uint(o, v);
}

void
json_kv_double(struct json_out *o, const char *key, double v)
{
	json_key(o, key);
	json_double(o, v);
}

void
json_kv_bool(struct json_out *o, const char *key, bool v)
{
	json_key(o, key);
	json_bool(o, v);
}

void
json_null(struct json_out *o)
{
	json_sep(o);
	buf_add(o->b, "null", 4);
}

/*
 * The common case without printf: v is the double nearest to a decimal
 * with at most 6 fraction digits (KOReader's percentages have 4), between
 * 1e-4 and 1e9, where %g would print it without an exponent. m / 10^k,
 * both exact doubles, is correctly rounded like strtod, so the equality
 * proves the digits read back as v; trying k upwards gives the shortest.
 */
static bool
json_format_decimal(struct buf *b, double v)
{
	static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
	static const uint64_t u10[] = {
	    1, 10, 100, 1000, 10000, 100000, 1000000};
	double a = fabs(v), m;
	uint64_t mu, frac;
	char digits[8];
	int k, i;

	if (!(a >= 1e-4 && a < 1e9))
		return false;
	for (k = 1; k <= 6; k++) {
		m = nearbyint(a * p10[k]);
		if (m / p10[k] != a)
			continue;
		mu = (uint64_t)m;
		json_add_u64(b, mu / u10[k], v < 0);
		buf_addch(b, '.');
		frac = mu % u10[k];
		for (i = k - 1; i >= 0; i--) {
			digits[i] = (char)('0' + frac % 10);
			frac /= 10;
		}
		buf_add(b, digits, (size_t)k);
		return true;
	}
	return false;
}

void
json_format_double(struct buf *b, double v)
{
	char tmp[40];
	int prec, n = 0;

	if (!isfinite(v)) {
		buf_add(b, "null", 4);
		return;
	}
	/* Integers below 1e15 are exact in a double: no %g needed. */
	if (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
		if (v < 0)
			json_add_u64(b, (uint64_t)-v, true);
		else
			json_add_u64(b, (uint64_t)v, false);
		return;
	}
	if (json_format_decimal(b, v))
		return;
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (prec == 17 || strtod(tmp, NULL) == v)
			break;
	}
	buf_add(b, tmp, (size_t)n);
}

/* json_escape past its fast way: a byte to escape, or no room yet. */
static void __attribute__((noinline))
escape_slow(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0, slow = 0;
	unsigned char c;
	char esc[6];

	buf_addch(b, '"');
	for (i = 0; i < len; i++) {
		/* Eight bytes at a time up to the word that holds one to
		 * escape; that word (or the tail) a byte at a time. */
		if (i >= slow) {
			while (i + 8 <= len && str_word_plain(s + i, false))
				i += 8;
			if (i == len)
				break;
			slow = i + 8;
		}
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
			continue;
		}
		buf_add(b, esc, 2);
	}
	buf_add(b, s + run, len - run);
	buf_addch(b, '"');
}

/*
 * The common case first: room for the string quoted and nothing in it to
 * escape, copied as it is scanned (eight bytes at a time) with no call;
 * b->len moves only at the end, so escape_slow starts afresh from any
 * byte that needs it.
 */
void
json_escape(struct buf *b, const char *s, size_t len)
{
	size_t i = 0, at = b->len;
	unsigned char c;
	char *d;

	if (b->cap - at < 3 || len > b->cap - at - 3) {
		escape_slow(b, s, len);
		return;
	}
	d = b->data + at + 1;
	for (; i + 8 <= len && str_word_plain(s + i, false); i += 8)
		memcpy(d + i, s + i, 8);
	for (; i < len; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\') {
			escape_slow(b, s, len);
			return;
		}
		d[i] = (char)c;
	}
	d[-1] = '"';
	d[len] = '"';
	d[len + 1] = '\0';
	b->len = at + len + 2;
}

struct str
json_get_str(const struct json_value *obj, const char *key)
{
	const struct json_value *v = json_get(obj, key);

	if (v == NULL || v->type != JSON_STRING)
		return STR_NULL;
	return v->text;
}

void *
json_arena_alloc(void *ctx, size_t size)
{
	struct json_arena *a = ctx;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->p = xrealloc(a->p, a->cap * sizeof(*a->p));
	}
	return a->p[a->n++] = xmalloc(size);
}

void
json_arena_release(struct json_arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	a->p = NULL;
	a->n = 0;
	a->cap = 0;
}

void
json_value_write(struct json_out *o, const struct json_value *v)
{
	const struct json_value *c;

	switch (v->type) {
	case JSON_NULL:
		json_null(o);
		break;
	case JSON_FALSE:
	case JSON_TRUE:
		json_bool(o, v->type == JSON_TRUE);
		break;
	case JSON_NUMBER:
		/* The parser checked the text: written back as it came. */
		json_sep(o);
		buf_add(o->b, v->text.p, v->text.len);
		break;
	case JSON_STRING:
		json_strn(o, v->text.p, v->text.len);
		break;
	case JSON_ARRAY:
		json_arr_begin(o);
		for (c = v->child; c != NULL; c = c->next)
			json_value_write(o, c);
		json_arr_end(o);
		break;
	case JSON_OBJECT:
		json_obj_begin(o);
		for (c = v->child; c != NULL; c = c->next) {
			json_keyn(o, c->key.p, c->key.len);
			json_value_write(o, c);
		}
		json_obj_end(o);
		break;
	}
}
