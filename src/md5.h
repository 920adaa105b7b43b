/*
 * md5.h: MD5 (RFC 1321), where kosyncd reproduces what KOReader computes:
 * the key it would have sent for an HTTP Basic password (the lowercase hex
 * MD5 of the password) and the document ids of a book file
 * (partialmd5.h). MD5 is not used for anything secret here. libsodium has
 * no MD5.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd, so that any module may use it.
 */
#ifndef KOSYNCD_MD5_H
#define KOSYNCD_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_LEN 16
#define MD5_HEX_LEN 32

struct md5 {
	uint32_t state[4];
	uint64_t nbytes;         /* message length so far */
	unsigned char block[64]; /* pending input, nbytes % 64 bytes */
};

void md5_init(struct md5 *m);
void md5_update(struct md5 *m, const void *data, size_t len);
/* Write the digest; m must be initialised again before further use. */
void md5_final(struct md5 *m, unsigned char out[MD5_DIGEST_LEN]);

/* md5_final as 32 lowercase hex digits plus NUL. */
void md5_final_hex(struct md5 *m, char out[MD5_HEX_LEN + 1]);

/* The digest of len bytes of data as 32 lowercase hex digits plus NUL. */
void md5_hex(const void *data, size_t len, char out[MD5_HEX_LEN + 1]);

#endif
