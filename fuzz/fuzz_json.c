/*
 * fuzz_json.c: the JSON body reader (json_parse) and the writer.
 *
 * Each input is parsed as a request body. A tree that comes back must obey
 * json.h: strings and number texts NUL-terminated with no NUL inside, valid
 * UTF-8, child counts right, depth within JSON_MAX_DEPTH, numbers readable
 * by json_number. The tree is then written back with struct json_out
 * (compact and pretty) and must parse again to the same shape: the writer
 * never produces invalid JSON. Every number met also goes through
 * json_format_double, which must read back to the same double, as must the
 * input's first 8 bytes taken as a double.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

#include "fuzz.h"

/* json_format_double(v) must read back as v (NaN and infinities: null). */
static void
check_double(double v)
{
	struct buf b = BUF_INIT;
	double back;
	char *end;

	json_format_double(&b, v);
	if (!isfinite(v)) {
		FUZZ_CHECK(b.len == 4 && memcmp(b.data, "null", 4) == 0);
	} else {
		back = strtod(b.data, &end);
		FUZZ_CHECK(end == b.data + b.len);
		FUZZ_CHECK(back == v);
		FUZZ_CHECK(signbit(back) == signbit(v));
	}
	buf_release(&b);
}

/* Check the invariants of v (at depth) and return its node count. */
static size_t
check_tree(const struct json_value *v, int depth, bool in_object)
{
	const struct json_value *c, *got;
	size_t n = 0, nodes = 1;
	double d;

	if (v->type == JSON_ARRAY || v->type == JSON_OBJECT)
		FUZZ_CHECK(depth <= JSON_MAX_DEPTH);
	if (in_object) {
		FUZZ_CHECK(v->key.p != NULL);
		FUZZ_CHECK(v->key.p[v->key.len] == '\0');
		FUZZ_CHECK(strlen(v->key.p) == v->key.len);
		FUZZ_CHECK(json_utf8_valid(v->key.p, v->key.len));
	}
	switch (v->type) {
	case JSON_STRING:
		FUZZ_CHECK(v->text.p != NULL);
		FUZZ_CHECK(v->text.p[v->text.len] == '\0');
		FUZZ_CHECK(strlen(v->text.p) == v->text.len);
		FUZZ_CHECK(json_utf8_valid(v->text.p, v->text.len));
		if (json_number(v, true, &d) == 0) {
			FUZZ_CHECK(isfinite(d));
			check_double(d);
		}
		FUZZ_CHECK(json_number(v, false, &d) == -1);
		break;
	case JSON_NUMBER:
		FUZZ_CHECK(v->text.p != NULL && v->text.len > 0);
		FUZZ_CHECK(v->text.p[v->text.len] == '\0');
		/* Huge exponents overflow to infinity and are refused. */
		if (json_number(v, false, &d) == 0) {
			FUZZ_CHECK(isfinite(d));
			check_double(d);
		}
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		for (c = v->child; c != NULL; c = c->next) {
			nodes +=
			    check_tree(c, depth + 1, v->type == JSON_OBJECT);
			n++;
			if (v->type == JSON_OBJECT) {
				/* The last member of that name wins. */
				got = json_get(v, c->key.p);
				FUZZ_CHECK(got != NULL);
				FUZZ_CHECK(str_eq(got->key, c->key));
			}
		}
		FUZZ_CHECK(n == v->count);
		break;
	case JSON_NULL:
	case JSON_FALSE:
	case JSON_TRUE:
		FUZZ_CHECK(v->child == NULL && v->count == 0);
		break;
	default:
		FUZZ_CHECK(!"unknown node type");
	}
	return nodes;
}

static void
write_tree(struct json_out *o, const struct json_value *v, bool in_object)
{
	const struct json_value *c;

	if (in_object)
		json_keyn(o, v->key.p, v->key.len);
	switch (v->type) {
	case JSON_NULL:
		json_null(o);
		break;
	case JSON_FALSE:
		json_bool(o, false);
		break;
	case JSON_TRUE:
		json_bool(o, true);
		break;
	case JSON_NUMBER:
		/* Numbers keep their text; write it through a string and back
		 * as a number only when it is one we can read. */
		{
			double d;

			if (json_number(v, false, &d) == 0)
				json_double(o, d);
			else
				json_null(o);
		}
		break;
	case JSON_STRING:
		json_strn(o, v->text.p, v->text.len);
		break;
	case JSON_ARRAY:
		json_arr_begin(o);
		for (c = v->child; c != NULL; c = c->next)
			write_tree(o, c, false);
		json_arr_end(o);
		break;
	case JSON_OBJECT:
		json_obj_begin(o);
		for (c = v->child; c != NULL; c = c->next)
			write_tree(o, c, true);
		json_obj_end(o);
		break;
	}
}

/* Same shape and the same strings (numbers may be respelled). */
static void
check_same(const struct json_value *a, const struct json_value *b)
{
	const struct json_value *x, *y;

	FUZZ_CHECK((a->key.p == NULL) == (b->key.p == NULL));
	if (a->key.p != NULL)
		FUZZ_CHECK(str_eq(a->key, b->key));
	if (a->type == JSON_NUMBER) {
		FUZZ_CHECK(b->type == JSON_NUMBER || b->type == JSON_NULL);
		return;
	}
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(a->count == b->count);
	if (a->type == JSON_STRING)
		FUZZ_CHECK(str_eq(a->text, b->text));
	for (x = a->child, y = b->child; x != NULL && y != NULL;
	     x = x->next, y = y->next)
		check_same(x, y);
	FUZZ_CHECK(x == NULL && y == NULL);
}

static void
round_trip(const struct json_value *root, bool pretty)
{
	struct fuzz_arena a = {NULL, 0, 0};
	struct buf b = BUF_INIT;
	struct json_out o;
	const struct json_value *again;
	const char *err = NULL;

	json_out_init(&o, &b, pretty);
	write_tree(&o, root, false);
	FUZZ_CHECK(o.depth == 0);
	again = json_parse(b.data, b.len, fuzz_alloc, &a, &err);
	if (again == NULL) {
		fprintf(stderr, "writer output does not parse (%s): %.*s\n",
		    err, (int)(b.len > 300 ? 300 : b.len), b.data);
		abort();
	}
	check_same(root, again);
	fuzz_arena_free(&a);
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_arena a = {NULL, 0, 0};
	const struct json_value *root;
	const char *err = NULL;
	double d;

	if (size >= sizeof(d)) {
		memcpy(&d, data, sizeof(d));
		check_double(d);
	}
	root = json_parse((const char *)data, size, fuzz_alloc, &a, &err);
	if (root == NULL) {
		FUZZ_CHECK(err != NULL);
	} else {
		FUZZ_CHECK(root->key.p == NULL);
		check_tree(root, 1, false);
		round_trip(root, false);
		round_trip(root, true);
		/* The reader's verdict on UTF-8 agrees with json_utf8_valid:
		 * a valid document is valid UTF-8 as a whole. */
		FUZZ_CHECK(json_utf8_valid((const char *)data, size));
	}
	fuzz_arena_free(&a);
	return 0;
}
