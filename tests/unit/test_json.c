/*
 * test_json.c: the JSON reader (valid and invalid texts, UTF-8, NUL, depth,
 * trailing garbage, tree shape, json_get, json_number with Lua tonumber
 * semantics) and the writer (escaping, compact and pretty output, the
 * shortest round-trip doubles).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include <cmocka.h>

#include "json.h"

/* A trivial arena: blocks are remembered and freed at teardown. */
struct arena {
	void *blocks[4096];
	size_t n;
};

static struct arena arena;

static void *
arena_alloc(void *ctx, size_t size)
{
	struct arena *a = ctx;
	void *p = malloc(size);

	assert_non_null(p);
	assert_true(a->n < sizeof(a->blocks) / sizeof(a->blocks[0]));
	a->blocks[a->n++] = p;
	return p;
}

static void
arena_free(struct arena *a)
{
	while (a->n > 0)
		free(a->blocks[--a->n]);
}

static int
teardown(void **state)
{
	(void)state;
	arena_free(&arena);
	return 0;
}

static const struct json_value *
parse(const char *s)
{
	return json_parse(s, strlen(s), arena_alloc, &arena, NULL);
}

static void
test_json__parse_valid(void **state)
{
	static const char *ok[] = {
	    "{}",
	    "[]",
	    "0",
	    "-1.5e3",
	    "\"x\"",
	    "true",
	    "false",
	    "null",
	    " { \"a\" : [1, 2, {\"b\": null}] } ",
	    "{\"\\u00e9\":\"\\ud83d\\ude00\"}",
	    "\"caf\xc3\xa9\"",
	    "[[[[[[[[[[1]]]]]]]]]]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_non_null(parse(ok[i]));
}

static void
test_json__parse_invalid(void **state)
{
	static const char *bad[] = {
	    "",
	    " ",
	    "{",
	    "{\"a\":}",
	    "{\"a\" 1}",
	    "[1,]",
	    "{\"a\":1,}",
	    "01",
	    "{} {}",
	    "{}x",
	    "[1] 2",
	    "'a'",
	    "{a:1}",
	    "nul",
	    "\"\xff\"",
	    "\"\xc3\"",
	    "\"\xed\xa0\x80\"",
	    "\"a\tb\"",
	    "/*c*/{}",
	    "{}//c",
	    "NaN",
	    "Infinity",
	    "-",
	    "1.",
	    ".5",
	    "+1",
	};
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (json_parse(bad[i], strlen(bad[i]), arena_alloc, &arena,
		        &err) != NULL)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(err);
	}
}

static void
test_json__nul_rejected(void **state)
{
	const char *err = NULL;
	const char *t1 = "{\"a\":\"x\\u0000y\"}";
	const char *t2 = "{\"a\\u0000\":1}";
	const char t3[] = "{\"a\":\"x\0y\"}";

	(void)state;
	assert_null(json_parse(t1, strlen(t1), arena_alloc, &arena, &err));
	assert_string_equal(err, "NUL in string");
	assert_null(json_parse(t2, strlen(t2), arena_alloc, &arena, &err));
	assert_null(json_parse(t3, sizeof(t3) - 1, arena_alloc, &arena, &err));
}

/* \u escapes of surrogates: only a high one then a low one (a pair). */
static void
test_json__surrogates(void **state)
{
	static const char *const bad[] = {"{\"d\":\"\\ud800\"}",
	    "{\"d\":\"a\\uD800b\"}", "{\"d\":\"\\udc00\"}",
	    "{\"d\":\"\\ud800\\u0041\"}", "{\"d\":\"\\ud800\\ud800\"}",
	    "{\"\\udbff\":1}", "{\"d\":\"\\ud83d\\n\\ude00\"}", NULL};
	const struct json_value *v;
	const char *err = NULL;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		assert_null(json_parse(
		    bad[i], strlen(bad[i]), arena_alloc, &arena, &err));
		assert_string_equal(err, "invalid UTF-8 (a lone surrogate)");
	}
	/* A pair is U+1F600; an escaped backslash before "ud800" is text. */
	v = parse("{\"d\":\"\\ud83d\\ude00\",\"e\":\"\\\\ud800\"}");
	assert_non_null(v);
	assert_string_equal(json_get(v, "d")->text.p, "\xf0\x9f\x98\x80");
	assert_string_equal(json_get(v, "e")->text.p, "\\ud800");
	/*
	 * A "\u" without four hex digits near the end: refused, never read
	 * past the text (the walk jumped 6 bytes and passed the end).
	 */
	for (i = 0; i < 3; i++) {
		static const char tail[] = "{\"d\":\"a\\u12";
		char *t = malloc(sizeof(tail) - 1 - i);

		memcpy(t, tail, sizeof(tail) - 1 - i);
		assert_null(json_parse(
		    t, sizeof(tail) - 1 - i, arena_alloc, &arena, &err));
		free(t);
	}
	assert_null(json_parse("\"\\u\"", 4, arena_alloc, &arena, &err));
}

static void
test_json__utf8(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
	    {"", true},
	    {"abc", true},
	    {"caf\xc3\xa9", true},
	    {"\xe2\x82\xac", true},
	    {"\xf0\x9f\x98\x80", true},
	    {"\xef\xbf\xbf", true},
	    {"\xf4\x8f\xbf\xbf", true},
	    {"\xc3", false},
	    {"\xc0\x80", false},
	    {"\xc1\xbf", false},
	    {"\xe0\x80\x80", false},
	    {"\xed\xa0\x80", false},
	    {"\xf0\x80\x80\x80", false},
	    {"\xf4\x90\x80\x80", false},
	    {"\xf5\x80\x80\x80", false},
	    {"\xff", false},
	    {"\x80", false},
	    {"\xe2\x82", false},
	    {"\xe2\x82x", false},
	    /* Past a word of ASCII, and across the edge of one. */
	    {"01234567caf\xc3\xa9", true},
	    {"0123456\xe2\x82\xac"
	     "01234567",
	        true},
	    {"0123456789abcdef\xf0\x9f\x98\x80", true},
	    {"0123456789\xc3", false},
	    {"abcdefgh\x80", false},
	    {"abcdefg\xc3", false},
	    {"0123456789abcdef01234567\xed\xa0\x80", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (json_utf8_valid(t[i].s, strlen(t[i].s)) != t[i].ok)
			fail_msg("utf8 case %zu", i);
}

static void
test_json__depth_limit(void **state)
{
	char text[2 * (JSON_MAX_DEPTH + 1) + 1];
	const char *err = NULL;
	int i;

	(void)state;
	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		text[i] = '[';
		text[JSON_MAX_DEPTH + i] = ']';
	}
	text[2 * JSON_MAX_DEPTH] = '\0';
	assert_non_null(parse(text));
	for (i = 0; i <= JSON_MAX_DEPTH; i++) {
		text[i] = '[';
		text[JSON_MAX_DEPTH + 1 + i] = ']';
	}
	text[2 * (JSON_MAX_DEPTH + 1)] = '\0';
	assert_null(json_parse(text, strlen(text), arena_alloc, &arena, &err));
	assert_string_equal(err, "nesting too deep");
}

static void
test_json__tree_shape(void **state)
{
	const struct json_value *v, *c;

	(void)state;
	v = parse("{\"document\":\"abc\",\"percentage\":0.1,\"n\":null,"
	          "\"a\":[true,false],\"esc\":\"a\\\"b\\\\c\\/d\\n\","
	          "\"percentage\":0.25}");
	assert_non_null(v);
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->count, 6);
	c = json_get(v, "document");
	assert_int_equal(c->type, JSON_STRING);
	assert_string_equal(c->text.p, "abc");
	assert_int_equal(c->text.len, 3);
	/* last duplicate wins; numbers keep their text */
	c = json_get(v, "percentage");
	assert_int_equal(c->type, JSON_NUMBER);
	assert_string_equal(c->text.p, "0.25");
	assert_int_equal(json_get(v, "n")->type, JSON_NULL);
	c = json_get(v, "a");
	assert_int_equal(c->type, JSON_ARRAY);
	assert_int_equal(c->count, 2);
	assert_int_equal(c->child->type, JSON_TRUE);
	assert_int_equal(c->child->next->type, JSON_FALSE);
	assert_null(c->child->next->next);
	assert_string_equal(json_get(v, "esc")->text.p, "a\"b\\c/d\n");
	assert_null(json_get(v, "missing"));
	assert_null(json_get(c, "x"));
	assert_null(json_get(NULL, "x"));
}

static void
test_json__number(void **state)
{
	static const struct {
		const char *json;
		int rc;
		double want;
	} t[] = {
	    {"0.4213", 0, 0.4213},
	    {"0", 0, 0},
	    {"-2e-3", 0, -0.002},
	    {"1e999", -1, 0},
	    {"\"0.5\"", 0, 0.5},
	    {"\" 0.5 \"", 0, 0.5},
	    {"\"\\t1e-3\\n\"", 0, 0.001},
	    {"\"0x10\"", 0, 16},
	    {"\"+1\"", 0, 1},
	    {"\"-0.5\"", 0, -0.5},
	    {"\"\"", -1, 0},
	    {"\" \"", -1, 0},
	    {"\"abc\"", -1, 0},
	    {"\"1x\"", -1, 0},
	    {"\"0x\"", -1, 0},
	    {"\"1 2\"", -1, 0},
	    {"\"nan\"", -1, 0},
	    {"\"inf\"", -1, 0},
	    {"\"-Infinity\"", -1, 0},
	    {"\"1e999\"", -1, 0},
	    {"true", -1, 0},
	    {"null", -1, 0},
	    {"{}", -1, 0},
	    {"[1]", -1, 0},
	};
	const struct json_value *v;
	double d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = parse(t[i].json);
		assert_non_null(v);
		d = -42;
		if (json_number(v, true, &d) != t[i].rc)
			fail_msg("json_number(%s) != %d", t[i].json, t[i].rc);
		if (t[i].rc == 0 && d != t[i].want)
			fail_msg("json_number(%s) = %g", t[i].json, d);
	}
	/* strings refused when not asked for */
	assert_int_equal(json_number(parse("\"0.5\""), false, &d), -1);
	assert_int_equal(json_number(NULL, true, &d), -1);
}

static void
test_json__format_double(void **state)
{
	static const struct {
		double v;
		const char *want;
	} t[] = {
	    {0, "0"},
	    {1, "1"},
	    {-1, "-1"},
	    {56, "56"},
	    {0.1, "0.1"},
	    {0.4213, "0.4213"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {1.5, "1.5"},
	    {1e-7, "1e-07"},
	    {123456789012345.0, "123456789012345"},
	    {1e15, "1e+15"},
	    {1.0 / 3, "0.3333333333333333"},
	    {0.31879884821061, "0.31879884821061"},
	    {-0.5, "-0.5"},
	    {0.0001, "0.0001"},
	    {0.00012, "0.00012"},
	    {0.00001, "1e-05"},
	    {0.9999, "0.9999"},
	    {0.123456, "0.123456"},
	    {0.1234567, "0.1234567"},
	    {123456.75, "123456.75"},
	    {999999999.5, "999999999.5"},
	    {1e9 + 0.5, "1000000000.5"},
	    {-0.0, "-0"},
	    {NAN, "null"},
	    {INFINITY, "null"},
	    {-INFINITY, "null"},
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		json_format_double(&b, t[i].v);
		assert_string_equal(b.data, t[i].want);
		if (isfinite(t[i].v))
			assert_true(strtod(b.data, NULL) == t[i].v);
	}
	buf_release(&b);
}

/* Every 4-decimal value and a sweep of others print like %.15g would. */
static void
test_json__format_double_sweep(void **state)
{
	struct buf b = BUF_INIT;
	char want[40];
	double v;
	int i, prec;

	(void)state;
	for (i = -20000; i <= 20000; i++) {
		v = i / 10000.0;
		if (i % 7 == 0)
			v = i * 1.2345678912345e-3;
		if (i % 11 == 0)
			v = i / 3.0;
		buf_reset(&b);
		json_format_double(&b, v);
		for (prec = 15; prec <= 17; prec++) {
			snprintf(want, sizeof(want), "%.*g", prec, v);
			if (strtod(want, NULL) == v)
				break;
		}
		if (strcmp(b.data, want) != 0)
			fail_msg("%.17g: got %s, want %s", v, b.data, want);
	}
	buf_release(&b);
}

static void
test_json__escape(void **state)
{
	struct buf b = BUF_INIT;
	const char in[] = "a\"b\\c/d\n\t\r\b\f\x01\x1f\x7f\xc3\xa9";

	(void)state;
	json_escape(&b, in, sizeof(in) - 1);
	assert_string_equal(b.data,
	    "\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001f\x7f\xc3\xa9\"");
	buf_reset(&b);
	json_escape(&b, "", 0);
	assert_string_equal(b.data, "\"\"");
	buf_release(&b);
}

/* The escape of one byte, as the JSON text wants it. */
static void
escape_byte(struct buf *b, unsigned char c)
{
	switch (c) {
	case '"':
		buf_adds(b, "\\\"");
		break;
	case '\\':
		buf_adds(b, "\\\\");
		break;
	case '\b':
		buf_adds(b, "\\b");
		break;
	case '\f':
		buf_adds(b, "\\f");
		break;
	case '\n':
		buf_adds(b, "\\n");
		break;
	case '\r':
		buf_adds(b, "\\r");
		break;
	case '\t':
		buf_adds(b, "\\t");
		break;
	default:
		if (c < 0x20)
			buf_addf(b, "\\u%04x", c);
		else
			buf_addch(b, c);
	}
}

/*
 * json_escape reads eight bytes at a time up to a byte to escape: each
 * byte value, at each offset of strings of 1 to 40 bytes (in a word, at
 * its edges, in the tail), among bytes that need none (ASCII, 0x7f and
 * bytes above 0x80, which a word test could take for small ones).
 */
static void
test_json__escape_every_byte_and_offset(void **state)
{
	struct buf got = BUF_INIT, want = BUF_INIT;
	const char fill[] =
	    "abc\x7f\xc3\xa9 ~\xff\x80\xa2z0123456789ABCDEFGHIJKLMNOPQRS";
	char in[40];
	size_t len, at, i;
	unsigned v;

	(void)state;
	for (len = 1; len <= sizeof(in); len++) {
		for (at = 0; at < len; at++) {
			for (v = 0; v < 256; v++) {
				memcpy(in, fill, len);
				in[at] = (char)v;
				buf_reset(&got);
				buf_reset(&want);
				json_escape(&got, in, len);
				buf_addch(&want, '"');
				for (i = 0; i < len; i++)
					escape_byte(
					    &want, (unsigned char)in[i]);
				buf_addch(&want, '"');
				if (got.len != want.len ||
				    memcmp(got.data, want.data, got.len) != 0)
					fail_msg(
					    "len %zu, byte 0x%02x at %zu: %s",
					    len, v, at, got.data);
			}
		}
	}
	buf_release(&got);
	buf_release(&want);
}

/*
 * json_escape after what a buffer holds, at every fill of its room (the
 * fast way taken when the quoted string fits, escape_slow otherwise, and
 * from a byte to escape after a copied start): what was there stays.
 */
static void
test_json__escape_appends_at_every_fill(void **state)
{
	static const char *const in[] = {"abcdefghij", "abcdefghi\nj", "x"};
	static const char *const out[] = {
	    "\"abcdefghij\"", "\"abcdefghi\\nj\"", "\"x\""};
	struct buf b = BUF_INIT;
	size_t fill, k, i;

	(void)state;
	for (k = 0; k < sizeof(in) / sizeof(in[0]); k++) {
		for (fill = 0; fill < 140; fill++) {
			buf_reset(&b);
			for (i = 0; i < fill; i++)
				buf_addch(&b, 'p');
			json_escape(&b, in[k], strlen(in[k]));
			assert_int_equal(b.len, fill + strlen(out[k]));
			assert_int_equal(strlen(b.data), b.len);
			for (i = 0; i < fill; i++)
				assert_int_equal(b.data[i], 'p');
			assert_string_equal(b.data + fill, out[k]);
		}
	}
	buf_release(&b);
}

static void
build(struct json_out *o)
{
	json_obj_begin(o);
	json_key(o, "document");
	json_str(o, "d");
	json_key(o, "percentage");
	json_double(o, 0.5);
	json_key(o, "timestamp");
	json_int(o, -1790006348);
	json_key(o, "u");
	json_uint(o, UINT64_MAX);
	json_key(o, "a");
	json_arr_begin(o);
	json_bool(o, true);
	json_null(o);
	json_obj_begin(o);
	json_obj_end(o);
	json_arr_end(o);
	json_key(o, "e");
	json_arr_begin(o);
	json_arr_end(o);
	json_obj_end(o);
}

static void
test_json__writer(void **state)
{
	struct buf b = BUF_INIT;
	struct json_out o;

	(void)state;
	json_out_init(&o, &b, false);
	build(&o);
	assert_string_equal(b.data,
	    "{\"document\":\"d\",\"percentage\":0.5,\"timestamp\":-1790006348,"
	    "\"u\":18446744073709551615,\"a\":[true,null,{}],\"e\":[]}");
	/* the output reads back */
	assert_non_null(parse(b.data));
	buf_reset(&b);
	json_out_init(&o, &b, true);
	build(&o);
	assert_string_equal(b.data, "{\n"
	                            "  \"document\": \"d\",\n"
	                            "  \"percentage\": 0.5,\n"
	                            "  \"timestamp\": -1790006348,\n"
	                            "  \"u\": 18446744073709551615,\n"
	                            "  \"a\": [\n"
	                            "    true,\n"
	                            "    null,\n"
	                            "    {}\n"
	                            "  ],\n"
	                            "  \"e\": []\n"
	                            "}");
	buf_reset(&b);
	json_out_init(&o, &b, false);
	json_int(&o, INT64_MIN);
	assert_string_equal(b.data, "-9223372036854775808");
	buf_release(&b);
}

/* A bump allocator over a fixed block, as a request arena would be. */
struct bump {
	char *p;
	size_t left;
};

static void *
bump_alloc(void *ctx, size_t size)
{
	struct bump *b = ctx;
	void *p;

	size = (size + 15) & ~(size_t)15;
	assert_true(size <= b->left);
	p = b->p;
	b->p += size;
	b->left -= size;
	return p;
}

/*
 * A KOReader push parsed into a fixed arena, as a request's would be: the
 * tree holds the body's values, it fits in the arena (bump_alloc fails
 * the test otherwise) with room to spare, and every parse of the same body
 * takes the same bytes (nothing grows from one request to the next). The
 * time per parse is printed for information only: speed is bench/'s.
 */
static void
test_json__parse_push_in_arena(void **state)
{
	static _Alignas(16) char mem[16384];
	const char *body =
	    "{\"document\":\"59d481d168cca6267322f150c5f6a2a3\",\"progress\":"
	    "\"/body/DocFragment[11]/body/div/p[7]/text().123\",\"percentage\":"
	    "0.4213,\"device\":\"Kobo Libra 2\",\"device_id\":"
	    "\"4E9F6A3C1B2D4E5F8A7B6C5D4E3F2A1B\",\"metadata\":{\"filename\":"
	    "\"book.epub\",\"title\":\"A Book\",\"authors\":\"Some One\"}}";
	const struct json_value *v, *md;
	struct timespec t0, t1;
	size_t i, n = 2000, used = 0;
	struct bump bump;
	double ns, pct;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		bump.p = mem;
		bump.left = sizeof(mem);
		v = json_parse(body, strlen(body), bump_alloc, &bump, NULL);
		assert_non_null(v);
		if (i == 0)
			used = sizeof(mem) - bump.left;
		assert_int_equal(sizeof(mem) - bump.left, used);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* at most a quarter of the arena for a 300-byte body */
	assert_true(used > 0 && used <= sizeof(mem) / 4);
	assert_int_equal(v->type, JSON_OBJECT);
	assert_true(str_eqs(
	    json_get_str(v, "document"), "59d481d168cca6267322f150c5f6a2a3"));
	assert_true(str_eqs(json_get_str(v, "device"), "Kobo Libra 2"));
	assert_int_equal(
	    json_number(json_get(v, "percentage"), false, &pct), 0);
	assert_true(pct > 0.42129 && pct < 0.42131);
	md = json_get(v, "metadata");
	assert_non_null(md);
	assert_int_equal(md->type, JSON_OBJECT);
	assert_true(str_eqs(json_get_str(md, "title"), "A Book"));
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	     (double)(t1.tv_nsec - t0.tv_nsec);
	print_message("json_parse of a %zu-byte push: %.0f ns, %zu bytes\n",
	    strlen(body), ns / (double)n, used);
}

/* json_value_write gives back what was parsed, numbers as their text. */
static void
test_json__value_write(void **state)
{
	static const char *const texts[] = {
	    "{\"a\":[1,2.50,-3e+2,true,false,null],\"b\":{\"c\":\"x\\n\\\"\"}}",
	    "[]",
	    "{}",
	    "[{\"document\":\"d\",\"percentage\":0.1000000000000000055511}]",
	    "\"\\u00e9t\\u00e9\"",
	};
	struct buf b = BUF_INIT;
	struct json_out o;
	const struct json_value *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = parse(texts[i]);
		assert_non_null(v);
		buf_reset(&b);
		json_out_init(&o, &b, false);
		json_value_write(&o, v);
		if (i == 4)
			assert_string_equal(b.data, "\"\xc3\xa9t\xc3\xa9\"");
		else
			assert_string_equal(b.data, texts[i]);
	}
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_json__parse_valid, teardown),
	    cmocka_unit_test_teardown(test_json__parse_invalid, teardown),
	    cmocka_unit_test_teardown(test_json__nul_rejected, teardown),
	    cmocka_unit_test(test_json__utf8),
	    cmocka_unit_test_teardown(test_json__surrogates, teardown),
	    cmocka_unit_test_teardown(test_json__depth_limit, teardown),
	    cmocka_unit_test_teardown(test_json__tree_shape, teardown),
	    cmocka_unit_test_teardown(test_json__number, teardown),
	    cmocka_unit_test(test_json__format_double),
	    cmocka_unit_test(test_json__format_double_sweep),
	    cmocka_unit_test(test_json__escape),
	    cmocka_unit_test(test_json__escape_every_byte_and_offset),
	    cmocka_unit_test(test_json__escape_appends_at_every_fill),
	    cmocka_unit_test_teardown(test_json__writer, teardown),
	    cmocka_unit_test(test_json__parse_push_in_arena),
	    cmocka_unit_test_teardown(test_json__value_write, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
