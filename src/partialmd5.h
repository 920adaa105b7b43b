/*
 * partialmd5.h: the two document ids KOReader computes for a book file.
 *
 * The partial MD5 (KOReader's util.partialMD5) hashes 1024-byte samples of
 * the file at offsets 0, 1 KiB, 4 KiB, 16 KiB, ... 1 GiB (1024 * 4^i for
 * i = -1..10, the first offset wrapping to 0 in LuaJIT's shift), stopping at
 * the first offset at or past the end; a sample that meets the end is
 * shorter. It is the document id of progress sync in "binary" matching
 * mode and the statistics' book.md5, so it joins a library file to its
 * progress and its statistics. The file-name MD5 is the document id of
 * progress sync in "filename" mode: the MD5 of the file's base name.
 *
 * Reads at most 12 KiB whatever the file's size. No state.
 *
 * Layer core (src/LAYERS): on md5.h and fileio.h.
 */
#ifndef KOSYNCD_PARTIALMD5_H
#define KOSYNCD_PARTIALMD5_H

#include "md5.h"

#define PARTIALMD5_SAMPLE 1024 /* bytes per sample */
#define PARTIALMD5_SAMPLES 12  /* offsets 0, 1 KiB, then 4^i KiB to 1 GiB */

/*
 * The partial MD5 of the file open on fd (read with pread, so the file
 * offset is unchanged), as 32 lowercase hex digits and a NUL in out.
 * Returns 0, or -1 with errno set when a read failed (out is then "").
 */
int partialmd5_fd(int fd, char out[MD5_HEX_LEN + 1]);

/*
 * The MD5 of the base name of path (what follows its last '/'), as 32
 * lowercase hex digits and a NUL in out.
 */
void partialmd5_filename(const char *path, char out[MD5_HEX_LEN + 1]);

#endif
