/*
 * crc32c.c: CRC-32C in software, slice-by-8 (see crc32c.h).
 *
 * Slice-by-8: table[0] is the classic byte-at-a-time table of the reflected
 * polynomial; table[k][b] is the CRC of byte b followed by k zero bytes, so
 * eight input bytes are folded with eight independent look-ups per step.
 * The tables are built once, on first use, under pthread_once.
 *
 * Input is read byte by byte into the 64-bit word, so the code is correct on
 * any byte order and needs no aligned loads.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "crc32c.h"

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_table_init(void)
{
	uint32_t c;
	int i, k, n;

	for (n = 0; n < 256; n++) {
		c = (uint32_t)n;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[0][n] = c;
	}
	for (n = 0; n < 256; n++) {
		c = crc_table[0][n];
		for (i = 1; i < 8; i++) {
			c = crc_table[0][c & 0xff] ^ (c >> 8);
			crc_table[i][n] = c;
		}
	}
}

uint32_t
crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t c, lo, hi;

	pthread_once(&crc_once, crc_table_init);
	c = ~crc;
	while (len >= 8) {
		lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		             (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		     (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		    crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		    crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}
