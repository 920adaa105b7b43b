/*
 * base64.h: standard base64 (RFC 4648 section 4, the '+' '/' alphabet),
 * the one encoder and the one decoder.
 *
 * Two callers read base64 with different rules, chosen by flags: the
 * backups (pem.c) read it as Go's encoding/base64 StdEncoding writes it,
 * padded to a multiple of four characters with the unused bits of the last
 * group not checked; HTTP Basic credentials (auth.c) may leave the padding
 * out but must be canonical (unused bits zero). Nothing else is accepted:
 * no line breaks, no spaces, no URL-safe alphabet.
 *
 * Pure functions on memory and struct buf: no I/O, no state.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd than buf.h, and should interact only with other low-level
 * primitives, so that any module may use it.
 */
#ifndef KOSYNCD_BASE64_H
#define KOSYNCD_BASE64_H

#include <stddef.h>

#include "buf.h"

enum base64_flags {
	BASE64_PAD_OPTIONAL = 1 << 0, /* "Zg" as well as "Zg==" */
	BASE64_CANONICAL = 1 << 1,    /* unused bits of the last group zero */
};

/* The most bytes len characters of base64 decode to. */
#define BASE64_DECODED_MAX(len) ((len) / 4 * 3 + 3)

/* Append the padded base64 of len bytes of data to out. */
void base64_encode(struct buf *out, const void *data, size_t len);

/*
 * Decode len characters of in into out, which must hold
 * BASE64_DECODED_MAX(len) bytes, by the rules of flags (enum base64_flags).
 * At most two '=' end the text; without BASE64_PAD_OPTIONAL the text,
 * padding included, is a multiple of four characters. Returns the decoded
 * length, or -1 on a character outside the alphabet, misplaced padding or
 * an impossible length (out then holds garbage).
 */
long base64_decode_mem(const char *in, size_t len, char *out, unsigned flags);

/*
 * base64_decode_mem with flags 0 (padded, Go's StdEncoding), appending the
 * bytes to out. Returns 0, or -1 with out as it was.
 */
int base64_decode(struct buf *out, const char *text, size_t len);

#endif
