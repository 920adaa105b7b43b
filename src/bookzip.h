/*
 * bookzip.h: a book's bytes (a file descriptor or memory) and the zip
 * archives among them (EPUB, CBZ), read with minizip under limits.
 *
 * bookzip_open() walks the central directory once: it refuses an archive
 * that minizip cannot read, one with more than max_entries entries, and
 * one with an entry whose name is unsafe (empty, absolute, with a "..",
 * "." or empty segment, a backslash or a control byte), since a name is
 * all a later reader would need to write outside a folder. It keeps each
 * entry's name, sizes and position. bookzip_read() inflates one entry into
 * memory, refusing it before inflating when its declared size is above
 * the caller's bound or its ratio (uncompressed to compressed) above
 * max_ratio (a zip bomb), and while inflating when it grows past its
 * declared size or the bound (a header that lies), when its CRC is wrong
 * or it is encrypted.
 *
 * Nothing is ever written to disk. A struct bookzip is used by one thread
 * at a time.
 *
 * Layer formats (src/LAYERS): on buf.h.
 */
#ifndef KOSYNCD_BOOKZIP_H
#define KOSYNCD_BOOKZIP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/*
 * A book's bytes: the file open on fd (mem NULL), or the size bytes at
 * mem (fd unused; the fuzzers and the tests). Borrowed by the readers.
 */
struct bookzip_src {
	int fd;
	const unsigned char *mem;
	uint64_t size;
};

/*
 * Read up to len bytes at off into p. Returns the count (less than len only
 * at the end of the bytes), or -1 with errno when the file's read failed.
 */
ssize_t bookzip_src_read(
    const struct bookzip_src *src, uint64_t off, void *p, size_t len);

/* An entry of an archive. */
struct bookzip_entry {
	char *name;        /* NUL-terminated, checked as above */
	uint64_t size;     /* declared uncompressed size */
	uint64_t csize;    /* compressed size */
	uint64_t pos, num; /* minizip's position of the entry */
};

struct bookzip {
	void *unz; /* minizip's unzFile */
	struct bookzip_src src;
	uint64_t pos; /* the io functions' offset */
	struct bookzip_entry *entries;
	size_t n;
	uint32_t max_ratio;
};

/*
 * Open the archive in src (borrowed: it must outlive z). Returns 0, or -1
 * with a one-line reason in why (z then needs no bookzip_close).
 */
int bookzip_open(struct bookzip *z, const struct bookzip_src *src,
    uint32_t max_entries, uint32_t max_ratio, struct buf *why);

/* The index of the entry named name, or -1. */
long bookzip_find(const struct bookzip *z, const char *name);

/*
 * Inflate entry i into out (replacing its contents), at most max bytes.
 * Returns 0, or -1 with a one-line reason in why (out then holds
 * nothing useful).
 */
int bookzip_read(
    struct bookzip *z, size_t i, size_t max, struct buf *out, struct buf *why);

/* Close the archive and free its entries; a zeroed z is fine. */
void bookzip_close(struct bookzip *z);

#endif
