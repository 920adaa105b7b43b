/*
 * pem.h: KOsync-style PEM backups ("-----BEGIN KOSYNC BACKUP-----").
 *
 * A backup is one PEM block of type KOSYNC BACKUP: header lines
 * "Key: value" (App, Content-Type, Created-At, Schema, written in sorted
 * order as Go's encoding/pem does), a blank line, the payload in standard
 * base64 in lines of 64 characters, and the END line. kosyncd writes the
 * database JSON as the payload (Content-Type: application/json); it reads
 * its own backups and KOsync's JSON backups. KOsync's msgpack payloads are
 * recognised by their Content-Type and refused by the caller with advice.
 *
 * Pure functions: no I/O, so the decoder can be fuzzed.
 *
 * Layer formats (src/LAYERS): it uses only the core primitives (base64.h,
 * buf.h, xmalloc.h) and knows nothing of the configuration, the store
 * interface or the request handlers; it must not include their headers.
 */
#ifndef KOSYNCD_PEM_H
#define KOSYNCD_PEM_H

#include <stddef.h>

#include "buf.h"

#define PEM_TYPE "KOSYNC BACKUP"
#define PEM_MAX_HEADERS 16

struct pem_header {
	char *name;
	char *value;
};

struct pem_block {
	char *type; /* "KOSYNC BACKUP" */
	struct pem_header headers[PEM_MAX_HEADERS];
	size_t nheaders;
	struct buf payload; /* decoded bytes */
};

/*
 * Append a PEM block of type with the given headers (written sorted by
 * name) and payload to out.
 */
void pem_encode(struct buf *out, const char *type,
    const struct pem_header *headers, size_t nheaders, const void *payload,
    size_t len);

/*
 * Decode the first PEM block in text into *blk (which the caller releases
 * with pem_block_release). Returns 0, or -1 with *err pointing at a static
 * description.
 */
int pem_decode(
    const char *text, size_t len, struct pem_block *blk, const char **err);

/* The value of header name in blk, or NULL. */
const char *pem_header_get(const struct pem_block *blk, const char *name);

void pem_block_release(struct pem_block *blk);

#endif
