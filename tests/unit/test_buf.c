/*
 * test_buf.c: buf.h's invariants after every operation (data never NULL,
 * always NUL-terminated, an empty buffer allocates nothing), growth past
 * the first allocation, buf_addf past its first guess, consume, reset,
 * release and detach; and the slices: equality, case, prefix, hex digits,
 * dup and pack (STR_NULL stays NULL and takes no room); str_word_plain
 * against a byte at a time, every byte value at every place of a word.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* The invariants of buf.h, and contents equal to want (len bytes). */
static void
check(const struct buf *b, const char *want, size_t len)
{
	assert_non_null(b->data);
	assert_int_equal(b->len, len);
	assert_int_equal(b->data[b->len], '\0');
	assert_memory_equal(b->data, want, len);
	if (b->cap == 0)
		assert_ptr_equal(b->data, buf_empty);
	else
		assert_true(b->cap > b->len);
}

static void
test_buf__empty(void **state)
{
	struct buf a = BUF_INIT, b;

	(void)state;
	buf_init(&b);
	check(&a, "", 0);
	check(&b, "", 0);
	/* nothing added: still no allocation */
	buf_add(&a, "x", 0);
	buf_adds(&a, "");
	buf_addstr(&a, STR_NULL);
	check(&a, "", 0);
	assert_int_equal(a.cap, 0);
	buf_reset(&a);
	buf_consume(&a, 0);
	check(&a, "", 0);
	buf_release(&a);
	check(&a, "", 0);
}

static void
test_buf__add_and_grow(void **state)
{
	struct buf b = BUF_INIT;
	char want[5000];
	size_t i;

	(void)state;
	buf_adds(&b, "ab");
	buf_addch(&b, 'c');
	buf_addstr(&b, STR_LIT("de"));
	buf_add(&b, "f\0g", 3);
	check(&b, "abcdef\0g", 8);
	/* many times the first allocation, one byte at a time */
	buf_reset(&b);
	check(&b, "", 0);
	assert_true(b.cap > 0);
	for (i = 0; i < sizeof(want); i++) {
		want[i] = (char)('a' + i % 26);
		buf_addch(&b, want[i]);
	}
	check(&b, want, sizeof(want));
	/* buf_grow makes room without changing the contents */
	buf_grow(&b, 100000);
	assert_true(b.cap > b.len + 100000);
	check(&b, want, sizeof(want));
	buf_release(&b);
	check(&b, "", 0);
	assert_int_equal(b.cap, 0);
}

static void
test_buf__addf(void **state)
{
	struct buf b = BUF_INIT;
	char big[1000];

	(void)state;
	buf_addf(&b, "%d-%s", 42, "x");
	check(&b, "42-x", 4);
	/* longer than the room buf_addf first makes */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_addf(&b, "[%s]", big);
	assert_int_equal(b.len, 4 + 2 + sizeof(big) - 1);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data, "42-x[zzz", 8);
	assert_int_equal(b.data[b.len - 1], ']');
	buf_addf(&b, "%s", "");
	assert_int_equal(b.len, 4 + 2 + sizeof(big) - 1);
	buf_release(&b);
}

static void
test_buf__consume(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	buf_adds(&b, "hello world");
	buf_consume(&b, 6);
	check(&b, "world", 5);
	buf_consume(&b, 0);
	check(&b, "world", 5);
	buf_consume(&b, 5);
	check(&b, "", 0);
	buf_adds(&b, "again");
	check(&b, "again", 5);
	buf_release(&b);
}

static void
test_buf__detach(void **state)
{
	struct buf b = BUF_INIT;
	size_t len = 99;
	char *p;

	(void)state;
	/* an empty buffer detaches a fresh "" (never buf_empty) */
	p = buf_detach(&b, &len);
	assert_non_null(p);
	assert_ptr_not_equal(p, buf_empty);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	buf_adds(&b, "kept");
	p = buf_detach(&b, &len);
	assert_string_equal(p, "kept");
	assert_int_equal(len, 4);
	check(&b, "", 0);
	assert_int_equal(b.cap, 0);
	free(p);
	buf_adds(&b, "x");
	p = buf_detach(&b, NULL);
	assert_string_equal(p, "x");
	free(p);
}

static void
test_buf__str(void **state)
{
	struct str s = str_from("Hello");
	const char *digits = "0123456789abcdefABCDEF";
	char *d;
	int i;

	(void)state;
	assert_int_equal(s.len, 5);
	assert_int_equal(str_from(NULL).len, 0);
	assert_null(str_from(NULL).p);
	assert_true(str_eqs(s, "Hello"));
	assert_false(str_eqs(s, "Hell"));
	assert_false(str_eqs(s, "hello"));
	assert_true(str_eq(STR_NULL, str_from("")));
	assert_true(str_eq((struct str){"ab", 1}, STR_LIT("a")));
	assert_true(str_caseeqs(s, "hELLO"));
	assert_false(str_caseeqs(s, "hELL"));
	assert_true(str_caseeqs(STR_NULL, ""));
	assert_true(str_has_prefix(s, "He"));
	assert_true(str_has_prefix(s, ""));
	assert_true(str_has_prefix(s, "Hello"));
	assert_false(str_has_prefix(s, "Hello!"));
	assert_false(str_has_prefix(s, "he"));
	for (i = 0; digits[i] != '\0'; i++)
		assert_int_equal(str_hex_digit(digits[i]), i < 16 ? i : i - 6);
	assert_int_equal(str_hex_digit('g'), -1);
	assert_int_equal(str_hex_digit('G'), -1);
	assert_int_equal(str_hex_digit('/'), -1);
	assert_int_equal(str_hex_digit(':'), -1);
	assert_int_equal(str_hex_digit('\0'), -1);
	assert_int_equal(str_hex_digit((char)0xe0), -1);
	d = str_dup((struct str){"abc", 2});
	assert_string_equal(d, "ab");
	free(d);
	d = str_dup(STR_NULL);
	assert_string_equal(d, "");
	free(d);
}

static void
test_buf__pack(void **state)
{
	struct str a = STR_LIT("one"), b = STR_LIT(""), r[3];
	char block[16], *p = block;
	size_t need;

	(void)state;
	need =
	    str_packed_size(a) + str_packed_size(b) + str_packed_size(STR_NULL);
	assert_int_equal(need, 4 + 1 + 0);
	memset(block, 'x', sizeof(block));
	r[0] = str_pack(&p, a);
	r[1] = str_pack(&p, b);
	r[2] = str_pack(&p, STR_NULL);
	assert_int_equal(p - block, (ptrdiff_t)need);
	assert_ptr_equal(r[0].p, block);
	assert_true(str_eqs(r[0], "one"));
	assert_string_equal(r[0].p, "one");
	assert_ptr_equal(r[1].p, block + 4);
	assert_int_equal(r[1].len, 0);
	assert_string_equal(r[1].p, "");
	assert_null(r[2].p);
	assert_int_equal(r[2].len, 0);
	/* nothing past the room asked for was touched */
	assert_int_equal(block[need], 'x');
}

/* str_word_plain a byte at a time. */
static bool
word_plain_ref(const char *s, bool ascii)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < 8; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\' || (ascii && c >= 0x7f))
			return false;
	}
	return true;
}

/* Each byte value at each place of a word, among bytes that need no
 * escape (with ascii printable ASCII, without it 0x7f and bytes from 0x80
 * too), and with a second byte that does. */
static void
test_buf__word_plain(void **state)
{
	static const char *const fills[2] = {
	    "a\x7f\xc3\xa9 ~\xff\x80", "abc ~!#$"};
	char in[8];
	unsigned v, other;
	size_t at;
	int ascii;

	(void)state;
	for (ascii = 0; ascii <= 1; ascii++)
		for (at = 0; at < 8; at++)
			for (v = 0; v < 256; v++)
				for (other = 0; other < 3; other++) {
					memcpy(in, fills[ascii], 8);
					if (other > 0)
						in[(at + other * 3) % 8] =
						    other == 1 ? '"' : '\x1f';
					in[at] = (char)v;
					if (str_word_plain(in, ascii) !=
					    word_plain_ref(in, ascii))
						fail_msg(
						    "0x%02x at %zu, other %u, "
						    "ascii %d",
						    v, at, other, ascii);
				}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf__empty),
	    cmocka_unit_test(test_buf__add_and_grow),
	    cmocka_unit_test(test_buf__addf),
	    cmocka_unit_test(test_buf__consume),
	    cmocka_unit_test(test_buf__detach),
	    cmocka_unit_test(test_buf__str),
	    cmocka_unit_test(test_buf__pack),
	    cmocka_unit_test(test_buf__word_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
