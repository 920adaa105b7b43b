/*
 * buf.h: growable byte buffers and borrowed string slices.
 *
 * struct buf invariants (modelled on git's strbuf):
 *   - data is never NULL: an empty buffer points at a shared "" until the
 *     first write, so it can always be printed or compared;
 *   - data[len] == '\0' at all times, so data is a C string when the
 *     contents hold no NUL;
 *   - cap is private to buf.c.
 * Initialise with BUF_INIT or buf_init(); release with buf_release().
 *
 * struct str is a borrowed (pointer, length) slice; it owns nothing and is
 * valid only as long as what it points into.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd than xmalloc.h, and should interact only with other low-level
 * primitives, so that any module may use it.
 */
#ifndef KOSYNCD_BUF_H
#define KOSYNCD_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern char buf_empty[];

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT                                                               \
	{                                                                      \
		buf_empty, 0, 0                                                \
	}

struct str {
	const char *p;
	size_t len;
};

#define STR_NULL ((struct str){NULL, 0})
#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

void buf_init(struct buf *b);
/* Make room for at least extra more bytes without another allocation. */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, int c);
void buf_addstr(struct buf *b, struct str s);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Remove the first n bytes (n <= len), keeping the rest. */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keeping its allocation. */
void buf_reset(struct buf *b);
/* Free the allocation and return to BUF_INIT. */
void buf_release(struct buf *b);
/*
 * Hand the contents to the caller (who must free() them) and return to
 * BUF_INIT. The result is always a fresh heap allocation. *len may be NULL.
 */
char *buf_detach(struct buf *b, size_t *len);

/* Slices. */
struct str str_from(const char *s);
bool str_eq(struct str a, struct str b);
bool str_eqs(struct str a, const char *s);
bool str_caseeqs(struct str a, const char *s);
bool str_has_prefix(struct str a, const char *prefix);
/* The value of hex digit c (0-9, a-f, A-F), or -1 for any other byte. */
int str_hex_digit(char c);

/*
 * Percent-decode in into out (at least in.len bytes). '+' stays '+'.
 * Returns the decoded length, or -1 on a '%' not followed by two hex
 * digits.
 */
long str_unescape(struct str in, char *out);
/* Copy into a new NUL-terminated heap string (xmalloc). */
char *str_dup(struct str s);
/*
 * Packing several slices into one allocation: str_packed_size is the room
 * s needs (its bytes and a NUL; 0 for STR_NULL); str_pack copies s to *p,
 * NUL-terminates it, advances *p past it and returns the copy (STR_NULL
 * stays STR_NULL and takes no room).
 */
size_t str_packed_size(struct str s);
struct str str_pack(char **p, struct str s);

/*
 * Tests of eight bytes at once (a 64-bit word, loaded with memcpy): the
 * high bit of each byte that is c, or below n (n <= 0x80), among others
 * above it. Exact as to whether there is one (a borrow only carries out of
 * a byte that matched), so a word is tested as a whole:
 * (word_bytes_eq(w, c) | ...) & WORD_HIGH_BITS.
 */
#define WORD_ONES 0x0101010101010101ULL
#define WORD_HIGH_BITS 0x8080808080808080ULL

static inline uint64_t
word_bytes_eq(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (WORD_ONES * c);

	return (x - WORD_ONES) & ~x;
}

static inline uint64_t
word_bytes_below(uint64_t w, unsigned char n)
{
	return (w - WORD_ONES * n) & ~w;
}

/*
 * Whether the 8 bytes at s are all ones a quoted string carries as they
 * are: none below 0x20, no '"', no '\\', and with ascii none from 0x7f
 * up (json_escape, log_escape skip to the first word that is not).
 * Inline: the escapes call it per word of their hot loop.
 */
static inline bool
str_word_plain(const char *s, bool ascii)
{
	uint64_t w, t;

	memcpy(&w, s, sizeof(w));
	t = word_bytes_below(w, 0x20) | word_bytes_eq(w, '"') |
	    word_bytes_eq(w, '\\');
	if (ascii)
		t |= w | word_bytes_eq(w, 0x7f);
	return (t & WORD_HIGH_BITS) == 0;
}

#endif
