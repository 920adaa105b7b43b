/*
 * bookzip.c: a book's bytes and its zip archive on minizip (bookzip.h).
 *
 * minizip reads through io functions of ours (zlib_filefunc64_def) over a
 * struct bookzip_src, so an archive in memory (the fuzzers) and a file
 * (pread, the file offset untouched) go through the same code. Entries
 * are read by the position recorded during bookzip_open()'s walk.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <minizip/unzip.h>

#include "bookzip.h"
#include "fileio.h"
#include "xmalloc.h"

/* Entries of this size or less are never called bombs. */
#define BOOKZIP_RATIO_FLOOR ((uint64_t)64 * 1024)
/* Longest entry name (zip allows 65535). */
#define BOOKZIP_MAX_NAME 1024

ssize_t
bookzip_src_read(
    const struct bookzip_src *src, uint64_t off, void *p, size_t len)
{
	if (off >= src->size)
		return 0;
	if (len > src->size - off)
		len = (size_t)(src->size - off);
	if (src->mem != NULL) {
		memcpy(p, src->mem + off, len);
		return (ssize_t)len;
	}
	if (off > (uint64_t)INT64_MAX)
		return 0;
	return fileio_pread_full(src->fd, p, len, (off_t)off);
}

/* minizip's io functions; opaque is the struct bookzip. */

static voidpf ZCALLBACK
io_open(voidpf opaque, const void *name, int mode)
{
	(void)name;
	(void)mode;
	return opaque;
}

static uLong ZCALLBACK
io_read(voidpf opaque, voidpf stream, void *p, uLong size)
{
	struct bookzip *z = opaque;
	ssize_t n;

	(void)stream;
	n = bookzip_src_read(&z->src, z->pos, p, size);
	if (n < 0)
		return 0;
	z->pos += (uint64_t)n;
	return (uLong)n;
}

static uLong ZCALLBACK
io_write(voidpf opaque, voidpf stream, const void *p, uLong size)
{
	(void)opaque;
	(void)stream;
	(void)p;
	(void)size;
	return 0;
}

static ZPOS64_T ZCALLBACK
io_tell(voidpf opaque, voidpf stream)
{
	struct bookzip *z = opaque;

	(void)stream;
	return z->pos;
}

static long ZCALLBACK
io_seek(voidpf opaque, voidpf stream, ZPOS64_T off, int origin)
{
	struct bookzip *z = opaque;
	uint64_t base;

	(void)stream;
	switch (origin) {
	case ZLIB_FILEFUNC_SEEK_SET:
		base = 0;
		break;
	case ZLIB_FILEFUNC_SEEK_CUR:
		base = z->pos;
		break;
	case ZLIB_FILEFUNC_SEEK_END:
		base = z->src.size;
		break;
	default:
		return -1;
	}
	if (off > z->src.size || base > z->src.size - off)
		return -1;
	z->pos = base + off;
	return 0;
}

static int ZCALLBACK
io_close(voidpf opaque, voidpf stream)
{
	(void)opaque;
	(void)stream;
	return 0;
}

static int ZCALLBACK
io_error(voidpf opaque, voidpf stream)
{
	(void)opaque;
	(void)stream;
	return 0;
}

/* Whether an entry name could lead out of a folder. */
static bool
name_is_unsafe(const char *name)
{
	const char *seg = name, *p;
	size_t len;

	if (name[0] == '\0' || name[0] == '/')
		return true;
	for (p = name;; p++) {
		if (*p != '\0' && (unsigned char)*p < 0x20)
			return true;
		if (*p == '\\')
			return true;
		if (*p == '/' || *p == '\0') {
			len = (size_t)(p - seg);
			if (len == 0 || (len == 1 && seg[0] == '.') ||
			    (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return true;
			if (*p == '\0')
				return false;
			seg = p + 1;
		}
	}
}

int
bookzip_open(struct bookzip *z, const struct bookzip_src *src,
    uint32_t max_entries, uint32_t max_ratio, struct buf *why)
{
	zlib_filefunc64_def io;
	unz_global_info64 gi;
	unz_file_info64 fi;
	unz64_file_pos fp;
	char name[BOOKZIP_MAX_NAME + 1];
	size_t cap = 0;
	int rc;

	memset(z, 0, sizeof(*z));
	z->src = *src;
	z->max_ratio = max_ratio;
	memset(&io, 0, sizeof(io));
	io.zopen64_file = io_open;
	io.zread_file = io_read;
	io.zwrite_file = io_write;
	io.ztell64_file = io_tell;
	io.zseek64_file = io_seek;
	io.zclose_file = io_close;
	io.zerror_file = io_error;
	io.opaque = z;
	z->unz = unzOpen2_64("", &io);
	if (z->unz == NULL) {
		buf_adds(why, "not a readable zip archive");
		return -1;
	}
	if (unzGetGlobalInfo64(z->unz, &gi) != UNZ_OK) {
		buf_adds(why, "not a readable zip archive");
		goto fail;
	}
	if (gi.number_entry > max_entries) {
		buf_addf(why,
		    "too many entries in the archive (%llu, at most "
		    "%lu)",
		    (unsigned long long)gi.number_entry,
		    (unsigned long)max_entries);
		goto fail;
	}
	for (rc = unzGoToFirstFile(z->unz); rc == UNZ_OK;
	     rc = unzGoToNextFile(z->unz)) {
		struct bookzip_entry *e;

		if (z->n == max_entries) {
			buf_addf(why,
			    "too many entries in the archive (at most "
			    "%lu)",
			    (unsigned long)max_entries);
			goto fail;
		}
		if (unzGetCurrentFileInfo64(z->unz, &fi, name, sizeof(name),
		        NULL, 0, NULL, 0) != UNZ_OK ||
		    unzGetFilePos64(z->unz, &fp) != UNZ_OK) {
			buf_adds(why, "a damaged entry in the archive");
			goto fail;
		}
		if (fi.size_filename > BOOKZIP_MAX_NAME ||
		    strlen(name) != fi.size_filename) {
			buf_adds(why,
			    "an entry name in the archive is too long "
			    "or holds a NUL byte");
			goto fail;
		}
		/* A folder's name ends with '/': check what precedes it. */
		if (fi.size_filename > 1 && name[fi.size_filename - 1] == '/')
			name[fi.size_filename - 1] = '\0';
		if (name_is_unsafe(name)) {
			buf_adds(why, "an entry of the archive has an unsafe "
			              "path (absolute, '..' or a backslash)");
			goto fail;
		}
		if (z->n == cap) {
			cap = cap ? 2 * cap : 64;
			z->entries = xrealloc(z->entries, cap * sizeof(*e));
		}
		e = &z->entries[z->n++];
		e->name = xstrdup(name);
		e->size = fi.uncompressed_size;
		e->csize = fi.compressed_size;
		e->pos = fp.pos_in_zip_directory;
		e->num = fp.num_of_file;
	}
	if (rc != UNZ_END_OF_LIST_OF_FILE) {
		buf_adds(why, "a damaged central directory in the archive");
		goto fail;
	}
	return 0;
fail:
	bookzip_close(z);
	return -1;
}

long
bookzip_find(const struct bookzip *z, const char *name)
{
	size_t i;

	for (i = 0; i < z->n; i++)
		if (strcmp(z->entries[i].name, name) == 0)
			return (long)i;
	return -1;
}

int
bookzip_read(
    struct bookzip *z, size_t i, size_t max, struct buf *out, struct buf *why)
{
	const struct bookzip_entry *e = &z->entries[i];
	unz64_file_pos fp;
	unz_file_info64 fi;
	char chunk[16384];
	int n, rc;

	buf_reset(out);
	if (e->size > max) {
		buf_addf(why, "'%s' is too large (%llu bytes, at most %zu)",
		    e->name, (unsigned long long)e->size, max);
		return -1;
	}
	if (e->size > BOOKZIP_RATIO_FLOOR &&
	    (e->csize == 0 || e->size / e->csize >= z->max_ratio)) {
		buf_addf(why, "'%s' expands %llu bytes to %llu (a zip bomb?)",
		    e->name, (unsigned long long)e->csize,
		    (unsigned long long)e->size);
		return -1;
	}
	fp.pos_in_zip_directory = e->pos;
	fp.num_of_file = e->num;
	if (unzGoToFilePos64(z->unz, &fp) != UNZ_OK ||
	    unzGetCurrentFileInfo64(z->unz, &fi, NULL, 0, NULL, 0, NULL, 0) !=
	        UNZ_OK) {
		buf_addf(why, "'%s': damaged entry", e->name);
		return -1;
	}
	if (fi.flag & 1) {
		buf_addf(why, "'%s' is encrypted", e->name);
		return -1;
	}
	if (fi.compression_method != 0 && fi.compression_method != Z_DEFLATED) {
		buf_addf(why, "'%s': compression method %lu is not supported",
		    e->name, (unsigned long)fi.compression_method);
		return -1;
	}
	if (unzOpenCurrentFile(z->unz) != UNZ_OK) {
		buf_addf(why, "'%s': damaged entry", e->name);
		return -1;
	}
	for (;;) {
		n = unzReadCurrentFile(z->unz, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if (out->len + (size_t)n > max ||
		    out->len + (size_t)n > e->size) {
			buf_addf(why,
			    "'%s' inflates past its declared size (a zip "
			    "bomb?)",
			    e->name);
			unzCloseCurrentFile(z->unz);
			return -1;
		}
		buf_add(out, chunk, (size_t)n);
	}
	rc = unzCloseCurrentFile(z->unz);
	if (n < 0 || rc != UNZ_OK || out->len != e->size) {
		buf_addf(why, "'%s': damaged entry (%s)", e->name,
		    n < 0 || out->len != e->size ? "truncated or corrupt data"
		                                 : "CRC mismatch");
		return -1;
	}
	return 0;
}

void
bookzip_close(struct bookzip *z)
{
	size_t i;

	if (z->unz != NULL)
		unzClose(z->unz);
	for (i = 0; i < z->n; i++)
		free(z->entries[i].name);
	free(z->entries);
	memset(z, 0, sizeof(*z));
}
