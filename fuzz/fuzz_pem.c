/*
 * fuzz_pem.c: the PEM decoder of KOsync backups and base64.
 *
 * Input: any text. pem_decode() either refuses it with a reason or gives a
 * block; a KOSYNC BACKUP block is encoded again with pem_encode() and must
 * decode to the same type, headers and payload. The input is also given to
 * base64_decode(); whatever decodes must encode and decode back to the
 * same bytes, and the input's bytes themselves must survive
 * base64_encode() + base64_decode().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "pem.h"

#include "fuzz.h"

static bool
buf_same(const struct buf *a, const void *p, size_t len)
{
	return a->len == len && (len == 0 || memcmp(a->data, p, len) == 0);
}

static void
check_base64_round_trip(const void *p, size_t len)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;

	base64_encode(&enc, p, len);
	FUZZ_CHECK(enc.len % 4 == 0);
	FUZZ_CHECK(base64_decode(&dec, enc.data, enc.len) == 0);
	FUZZ_CHECK(buf_same(&dec, p, len));
	buf_release(&enc);
	buf_release(&dec);
}

static bool
unique(const struct pem_block *blk, size_t k)
{
	size_t i;

	for (i = 0; i < blk->nheaders; i++)
		if (i != k &&
		    strcmp(blk->headers[i].name, blk->headers[k].name) == 0)
			return false;
	return true;
}

/* No blank or CR at the end: what a decoded line keeps. */
static bool
clean(const char *v)
{
	size_t n = strlen(v);

	return n == 0 ||
	       (v[n - 1] != '\r' && v[n - 1] != ' ' && v[n - 1] != '\t');
}

static void
check_pem_round_trip(const struct pem_block *blk)
{
	struct pem_block again;
	struct buf out = BUF_INIT;
	const char *err = NULL;
	size_t i;

	pem_encode(&out, blk->type, blk->headers, blk->nheaders,
	    blk->payload.data, blk->payload.len);
	memset(&again, 0, sizeof(again));
	if (pem_decode(out.data, out.len, &again, &err) != 0) {
		fprintf(stderr, "pem_encode output does not decode (%s):\n%s",
		    err, out.data);
		abort();
	}
	FUZZ_CHECK(strcmp(again.type, blk->type) == 0);
	FUZZ_CHECK(again.nheaders == blk->nheaders);
	for (i = 0; i < blk->nheaders; i++) {
		/* Values are compared when the name is unique (the encoder
		 * sorts, so which of two equal names comes first may change)
		 * and the value survived as a C string (a NUL in a line cuts
		 * it short, and what it leaves may end in a blank). */
		if (unique(blk, i) && clean(blk->headers[i].name) &&
		    clean(blk->headers[i].value))
			FUZZ_CHECK(
			    strcmp(pem_header_get(&again, blk->headers[i].name),
			        blk->headers[i].value) == 0);
	}
	FUZZ_CHECK(
	    buf_same(&again.payload, blk->payload.data, blk->payload.len));
	pem_block_release(&again);
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pem_block blk;
	struct buf dec = BUF_INIT;
	const char *err = NULL;
	size_t i;

	memset(&blk, 0, sizeof(blk));
	if (pem_decode((const char *)data, size, &blk, &err) == 0) {
		FUZZ_CHECK(blk.type != NULL);
		FUZZ_CHECK(blk.nheaders <= PEM_MAX_HEADERS);
		for (i = 0; i < blk.nheaders; i++) {
			FUZZ_CHECK(blk.headers[i].name != NULL);
			FUZZ_CHECK(blk.headers[i].value != NULL);
			FUZZ_CHECK(
			    pem_header_get(&blk, blk.headers[i].name) != NULL);
		}
		/* Our own type (a type with ':' in it would read as a header
		 * when the block is empty; no caller accepts such a type). */
		if (strcmp(blk.type, PEM_TYPE) == 0)
			check_pem_round_trip(&blk);
	} else {
		FUZZ_CHECK(err != NULL);
	}
	pem_block_release(&blk);

	if (base64_decode(&dec, (const char *)data, size) == 0)
		check_base64_round_trip(dec.data, dec.len);
	buf_release(&dec);
	check_base64_round_trip(data, size);
	return 0;
}
