/*
 * json.h: the one JSON reader and writer (on yajl).
 *
 * Reader: json_parse() builds a small tree of a request body (bounded by
 * the body limit) in memory that the caller provides; numbers keep their
 * text so 0.1 stays 0.1. It rejects invalid UTF-8, embedded NUL in strings,
 * nesting deeper than JSON_MAX_DEPTH and trailing garbage.
 *
 * Writer: struct json_out appends compact (or indented) JSON to a struct
 * buf, escaping strings, so no JSON is ever built with printf templates.
 * Doubles are written in the shortest form that reads back to the same
 * value (0.1 -> 0.1); NaN and infinities, which JSON cannot hold, are written
 * as null.
 *
 * Not here: the streaming load of database.json, which the file store does
 * with yajl's callbacks directly into its tables.
 *
 * Layer formats (src/LAYERS): it uses only the core primitives (buf.h,
 * xmalloc.h) and knows nothing of the configuration, the store interface or
 * the request handlers; it must not include their headers.
 */
#ifndef KOSYNCD_JSON_H
#define KOSYNCD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

#define JSON_MAX_DEPTH 32

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/*
 * A node of a parsed tree. key.p and text.p, when not NULL, are
 * NUL-terminated (strings cannot contain NUL: the reader rejects \u0000).
 */
struct json_value {
	enum json_type type;
	struct str key;  /* member name when the parent is an object */
	struct str text; /* string contents (unescaped) or number text */
	struct json_value *child; /* first element or member */
	struct json_value *next;  /* next sibling */
	size_t count;             /* number of children */
};

/* Allocator for the tree: must not return NULL. */
typedef void *json_alloc_fn(void *ctx, size_t size);

/*
 * Parse len bytes of text. Returns the root, or NULL when the text is not
 * one valid JSON value (then *err, if not NULL, points at a static
 * description). All memory comes from alloc(ctx, ...) and is released by
 * its owner.
 */
struct json_value *json_parse(const char *text, size_t len,
    json_alloc_fn *alloc, void *ctx, const char **err);

/*
 * Whether len bytes of s are well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF).
 */
bool json_utf8_valid(const char *s, size_t len);

/*
 * The member key of object obj, or NULL. When a key appears more than once
 * the last one wins (as in every mainstream JSON reader).
 */
const struct json_value *json_get(
    const struct json_value *obj, const char *key);

/*
 * The string member key of obj (unescaped text), or STR_NULL when it is
 * absent or not a string.
 */
struct str json_get_str(const struct json_value *obj, const char *key);

/*
 * An allocator for json_parse outside a request (admin commands, journal
 * replay): every block is remembered and freed together by
 * json_arena_release. Start from JSON_ARENA_INIT.
 */
struct json_arena {
	void **p;
	size_t n, cap;
};

#define JSON_ARENA_INIT                                                        \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* json_alloc_fn: ctx is a struct json_arena. Never returns NULL. */
void *json_arena_alloc(void *ctx, size_t size);
/* Free every block and return to JSON_ARENA_INIT. */
void json_arena_release(struct json_arena *a);

/*
 * Read a number from text (a JSON number or, when strings is true, a
 * numeric string such as "0.5" or " 1e-3 "). Numeric strings follow Lua's
 * tonumber(), which the reference server uses: surrounding white space,
 * a sign, decimal with exponent, or hexadecimal ("0x10"). Returns 0, or -1
 * when it is not a finite number (NaN and infinities are refused).
 */
int json_number(const struct json_value *v, bool strings, double *out);

struct json_out {
	struct buf *b;
	bool pretty;
	int depth;
	bool first[JSON_MAX_DEPTH + 1]; /* no member written yet at depth */
	bool after_key;
};

void json_out_init(struct json_out *o, struct buf *b, bool pretty);
void json_obj_begin(struct json_out *o);
void json_obj_end(struct json_out *o);
void json_arr_begin(struct json_out *o);
void json_arr_end(struct json_out *o);
void json_keyn(struct json_out *o, const char *key, size_t len);
/* Inline: a key is nearly always a literal, whose length is then known
 * without a strlen call. */
static inline void
json_key(struct json_out *o, const char *key)
{
	json_keyn(o, key, strlen(key));
}
void json_str(struct json_out *o, const char *s);
void json_strn(struct json_out *o, const char *s, size_t len);
void json_int(struct json_out *o, int64_t v);
void json_uint(struct json_out *o, uint64_t v);
void json_double(struct json_out *o, double v);
void json_bool(struct json_out *o, bool v);
void json_null(struct json_out *o);

/* A member of the object open in o: its key, then its value. */
void json_kv_str(struct json_out *o, const char *key, const char *v);
void json_kv_int(struct json_out *o, const char *key, int64_t v);
void json_kv_uint(struct json_out *o, const char *key, uint64_t v);
void json_kv_double(struct json_out *o, const char *key, double v);
void json_kv_bool(struct json_out *o, const char *key, bool v);

/* Append the shortest text that reads back as v ("0.1", "1", "1e-07"). */
/*
 * Write the parsed value v (json_parse) back out whole, numbers as their
 * text: to pass a tree on with a member changed.
 */
void json_value_write(struct json_out *o, const struct json_value *v);

void json_format_double(struct buf *b, double v);
/* Append s as a JSON string literal, quotes included. */
void json_escape(struct buf *b, const char *s, size_t len);

#endif
