/*
 * base64.c: standard base64 encoding and decoding (see base64.h).
 *
 * The decoder strips the padding first, then feeds six bits a character
 * into an accumulator and takes a byte out whenever eight are there, so a
 * group of two or three characters at the end gives one or two bytes
 * whether or not it was padded.
 */
#include <assert.h>
#include <stdint.h>

#include "base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(struct buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	char *o;
	uint32_t v;
	size_t i;

	buf_grow(out, (len + 2) / 3 * 4);
	o = out->data + out->len;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = b64_alphabet[(v >> 6) & 63];
		*o++ = '=';
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

/* The value of base64 digit c, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode_mem(const char *in, size_t len, char *out, unsigned flags)
{
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0, pad = 0;
	int v;

	assert(in != NULL || len == 0);
	/* At most two '=', only at the end, only to a multiple of 4. */
	while (len > 0 && in[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if ((pad > 0 || !(flags & BASE64_PAD_OPTIONAL)) && (len + pad) % 4 != 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	if ((flags & BASE64_CANONICAL) && (acc & ((1U << bits) - 1)) != 0)
		return -1;
	return (long)n;
}

int
base64_decode(struct buf *out, const char *text, size_t len)
{
	long n;

	buf_grow(out, BASE64_DECODED_MAX(len));
	n = base64_decode_mem(text, len, out->data + out->len, 0);
	if (n < 0) {
		out->data[out->len] = '\0';
		return -1;
	}
	out->len += (size_t)n;
	out->data[out->len] = '\0';
	return 0;
}
