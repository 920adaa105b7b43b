/*
 * md5.c: MD5 message digest, written from the description in RFC 1321
 * (sections 3.1 to 3.5): pad to 56 mod 64 bytes, append the bit length
 * little-endian, run four rounds of sixteen operations over each 64-byte
 * block, output the state little-endian.
 */
#include <string.h>

#include "md5.h"

/* Per-operation shift amounts, by round (RFC 1321 §3.4, S11..S44). */
static const unsigned char md5_shift[4][4] = {
    {7, 12, 17, 22},
    {5, 9, 14, 20},
    {4, 11, 16, 23},
    {6, 10, 15, 21},
};

/* T[i] = floor(abs(sin(i + 1)) * 2^32), RFC 1321 §3.4. */
static const uint32_t md5_t[64] = {
    0xd76aa478,
    0xe8c7b756,
    0x242070db,
    0xc1bdceee,
    0xf57c0faf,
    0x4787c62a,
    0xa8304613,
    0xfd469501,
    0x698098d8,
    0x8b44f7af,
    0xffff5bb1,
    0x895cd7be,
    0x6b901122,
    0xfd987193,
    0xa679438e,
    0x49b40821,
    0xf61e2562,
    0xc040b340,
    0x265e5a51,
    0xe9b6c7aa,
    0xd62f105d,
    0x02441453,
    0xd8a1e681,
    0xe7d3fbc8,
    0x21e1cde6,
    0xc33707d6,
    0xf4d50d87,
    0x455a14ed,
    0xa9e3e905,
    0xfcefa3f8,
    0x676f02d9,
    0x8d2a4c8a,
    0xfffa3942,
    0x8771f681,
    0x6d9d6122,
    0xfde5380c,
    0xa4beea44,
    0x4bdecfa9,
    0xf6bb4b60,
    0xbebfbc70,
    0x289b7ec6,
    0xeaa127fa,
    0xd4ef3085,
    0x04881d05,
    0xd9d4d039,
    0xe6db99e5,
    0x1fa27cf8,
    0xc4ac5665,
    0xf4292244,
    0x432aff97,
    0xab9423a7,
    0xfc93a039,
    0x655b59c3,
    0x8f0ccc92,
    0xffeff47d,
    0x85845dd1,
    0x6fa87e4f,
    0xfe2ce6e0,
    0xa3014314,
    0x4e0811a1,
    0xf7537e82,
    0xbd3af235,
    0x2ad7d2bb,
    0xeb86d391,
};

static uint32_t
rotl(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* Process one 64-byte block (RFC 1321 §3.4). */
static void
md5_block(uint32_t st[4], const unsigned char *p)
{
	uint32_t x[16], a, b, c, d, f, tmp;
	unsigned i, k, r;
	const unsigned char *q;

	/* The block as sixteen little-endian words (RFC 1321 §3.4). */
	for (i = 0, q = p; i < 16; i++, q += 4)
		x[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 |
		       (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
	a = st[0];
	b = st[1];
	c = st[2];
	d = st[3];
	for (i = 0; i < 64; i++) {
		r = i / 16;
		switch (r) {
		case 0: /* F(X,Y,Z) = XY v not(X) Z */
			f = (b & c) | (~b & d);
			k = i;
			break;
		case 1: /* G(X,Y,Z) = XZ v Y not(Z) */
			f = (b & d) | (c & ~d);
			k = (5 * i + 1) % 16;
			break;
		case 2: /* H(X,Y,Z) = X xor Y xor Z */
			f = b ^ c ^ d;
			k = (3 * i + 5) % 16;
			break;
		default: /* I(X,Y,Z) = Y xor (X v not(Z)) */
			f = c ^ (b | ~d);
			k = (7 * i) % 16;
			break;
		}
		tmp = d;
		d = c;
		c = b;
		b = b + rotl(a + f + md5_t[i] + x[k], md5_shift[r][i % 4]);
		a = tmp;
	}
	st[0] += a;
	st[1] += b;
	st[2] += c;
	st[3] += d;
}

void
md5_init(struct md5 *m)
{
	/* Initial chaining values, RFC 1321 §3.3. */
	m->state[0] = 0x67452301;
	m->state[1] = 0xefcdab89;
	m->state[2] = 0x98badcfe;
	m->state[3] = 0x10325476;
	m->nbytes = 0;
}

void
md5_update(struct md5 *m, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t have = (size_t)(m->nbytes % 64), n;

	m->nbytes += len;
	if (have > 0) {
		n = 64 - have < len ? 64 - have : len;
		memcpy(m->block + have, p, n);
		p += n;
		len -= n;
		if (have + n < 64)
			return;
		md5_block(m->state, m->block);
	}
	while (len >= 64) {
		md5_block(m->state, p);
		p += 64;
		len -= 64;
	}
	if (len > 0)
		memcpy(m->block, p, len);
}

void
md5_final(struct md5 *m, unsigned char out[MD5_DIGEST_LEN])
{
	static const unsigned char pad[64] = {0x80};
	unsigned char lenle[8];
	uint64_t bits = m->nbytes * 8;
	size_t have = (size_t)(m->nbytes % 64);
	unsigned i;

	for (i = 0; i < 8; i++)
		lenle[i] = (unsigned char)(bits >> (8 * i));
	/* Pad with 0x80 then zeros up to 56 mod 64 (RFC 1321 §3.1, §3.2). */
	md5_update(m, pad, have < 56 ? 56 - have : 120 - have);
	md5_update(m, lenle, 8);
	for (i = 0; i < 16; i++)
		out[i] = (unsigned char)(m->state[i / 4] >> (8 * (i % 4)));
}

void
md5_final_hex(struct md5 *m, char out[MD5_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[MD5_DIGEST_LEN];
	size_t i;

	md5_final(m, d);
	for (i = 0; i < MD5_DIGEST_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[MD5_HEX_LEN] = '\0';
}

void
md5_hex(const void *data, size_t len, char out[MD5_HEX_LEN + 1])
{
	struct md5 m;

	md5_init(&m);
	md5_update(&m, data, len);
	md5_final_hex(&m, out);
}
