/*
 * bookmeta_mobi.c: MOBI and AZW3 (PalmDB "BOOKMOBI") headers and EXTH
 * records (bookmeta.h).
 *
 * Read: the 78-byte PalmDB header, its record list (offsets that must
 * grow and stay inside the file), and record 0 (at most
 * BOOKMETA_MOBI_MAX_HEADER bytes) with the PalmDOC header, the MOBI header
 * and the EXTH block after it. Every length and offset taken from the file
 * is checked against what was read before it is used; the EXTH records are
 * walked at most as far as their own count and their block's length both
 * allow.
 */
#include <stdlib.h>
#include <string.h>

#include "bookmeta.h"
#include "xmalloc.h"

#define PDB_HEADER 78
#define MOBI_MAX_EXTH 4096 /* EXTH records looked at */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Bytes [off, off + n) of rec (len bytes) exist. */
static bool
has(size_t len, size_t off, size_t n)
{
	return off <= len && n <= len - off;
}

int
bookmeta_mobi_parse(const struct bookzip_src *src,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why)
{
	unsigned char hdr[PDB_HEADER];
	unsigned char *list = NULL, *rec = NULL;
	uint64_t rec0, rec0_end, off, prev = 0, cover_idx = UINT64_MAX;
	size_t n, i, len, hl, exth, exth_len, count, fn_off, fn_len;
	uint32_t first_image, type, rlen, enc;
	unsigned flags;
	ssize_t got;
	int rc = -1;

	(void)lim;
	if (bookzip_src_read(src, 0, hdr, sizeof(hdr)) != PDB_HEADER) {
		buf_adds(why, "a truncated MOBI header");
		return -1;
	}
	n = (size_t)hdr[76] << 8 | hdr[77];
	if (n == 0 || PDB_HEADER + 8 * (uint64_t)n > src->size) {
		buf_adds(why, "a MOBI file with a damaged record list");
		return -1;
	}
	list = xmalloc(8 * n);
	if (bookzip_src_read(src, PDB_HEADER, list, 8 * n) != (ssize_t)(8 * n))
		goto damaged;
	for (i = 0; i < n; i++) {
		off = be32(list + 8 * i);
		if (off < PDB_HEADER + 8 * (uint64_t)n || off > src->size ||
		    off < prev)
			goto damaged;
		prev = off;
	}
	rec0 = be32(list);
	rec0_end = n > 1 ? be32(list + 8) : src->size;
	len = (size_t)(rec0_end - rec0 < BOOKMETA_MOBI_MAX_HEADER
	                   ? rec0_end - rec0
	                   : BOOKMETA_MOBI_MAX_HEADER);
	rec = xmalloc(len + 1);
	got = bookzip_src_read(src, rec0, rec, len);
	if (got < 0 || (size_t)got != len || !has(len, 16, 8) ||
	    memcmp(rec + 16, "MOBI", 4) != 0)
		goto damaged;
	hl = be32(rec + 20);
	if (hl < 8 || !has(len, 16, hl))
		goto damaged;
	/* fields of the MOBI header, where its length has them */
	enc = has(16 + hl, 28, 4) ? be32(rec + 28) : 1252;
	flags = enc == 1252 ? BOOKMETA_TEXT_CP1252 : 0;
	if (has(16 + hl, 36, 4) && be32(rec + 36) >= 8 &&
	    m->format == BOOKMETA_MOBI)
		m->format = BOOKMETA_AZW3;
	first_image = has(16 + hl, 108, 4) ? be32(rec + 108) : UINT32_MAX;
	if (has(16 + hl, 128, 4) && (be32(rec + 128) & 0x40) &&
	    has(len, 16 + hl, 12) && memcmp(rec + 16 + hl, "EXTH", 4) == 0) {
		exth = 16 + hl;
		exth_len = be32(rec + exth + 4);
		count = be32(rec + exth + 8);
		if (!has(len, exth, exth_len))
			exth_len = len - exth;
		off = exth + 12;
		for (i = 0; i < count && i < MOBI_MAX_EXTH; i++) {
			const char *d;

			if (!has(exth + exth_len, (size_t)off, 8))
				break;
			type = be32(rec + off);
			rlen = be32(rec + off + 4);
			if (rlen < 8 ||
			    !has(exth + exth_len, (size_t)off, rlen))
				break;
			d = (const char *)rec + off + 8;
			rlen -= 8;
			switch (type) {
			case 100:
				bookmeta_add(&m->authors, d, rlen, flags);
				break;
			case 101:
				bookmeta_set(&m->publisher, d, rlen, flags);
				break;
			case 103:
				bookmeta_set(&m->description, d, rlen,
				    flags | BOOKMETA_TEXT_HTML |
				        BOOKMETA_TEXT_LINES);
				break;
			case 104:
				bookmeta_add_id(m, "isbn", d, rlen);
				break;
			case 105:
				bookmeta_add(&m->subjects, d, rlen, flags);
				break;
			case 113:
				bookmeta_add_id(m, "asin", d, rlen);
				break;
			case 201:
				if (rlen == 4 && first_image != UINT32_MAX)
					cover_idx =
					    (uint64_t)first_image +
					    be32((const unsigned char *)d);
				break;
			case 503:
				bookmeta_set(&m->title, d, rlen, flags);
				break;
			case 524:
				bookmeta_set(&m->language, d, rlen, flags);
				break;
			default:
				break;
			}
			off += rlen + 8;
		}
	}
	/* the full name, when EXTH had no title */
	if (m->title == NULL && has(16 + hl, 84, 8)) {
		fn_off = be32(rec + 84);
		fn_len = be32(rec + 88);
		if (has(len, fn_off, fn_len))
			bookmeta_set(&m->title, (const char *)rec + fn_off,
			    fn_len, flags);
	}
	if (cover_idx < n) {
		off = be32(list + 8 * cover_idx);
		prev = cover_idx + 1 < n ? be32(list + 8 * (cover_idx + 1))
		                         : src->size;
		if (prev > off) {
			m->cover = BOOKMETA_COVER_RANGE;
			m->cover_offset = off;
			m->cover_length = prev - off;
		}
	}
	rc = 0;
	goto out;
damaged:
	buf_adds(why, "a damaged or truncated MOBI header");
out:
	free(list);
	free(rec);
	return rc;
}
