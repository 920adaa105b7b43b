/*
 * partialmd5.c: KOReader's partial MD5 of a file and the MD5 of its name
 * (partialmd5.h).
 *
 * The samples are read with pread() and short reads are continued, so a
 * sample is exactly what KOReader's file:read(1024) returns at that
 * offset: 1024 bytes, or fewer when the file ends inside it. An offset at
 * or past the end ends the hash (KOReader's read returns nil there), even
 * for an empty file, whose partial MD5 is the MD5 of nothing.
 */
#include <string.h>

#include "fileio.h"
#include "partialmd5.h"

int
partialmd5_fd(int fd, char out[MD5_HEX_LEN + 1])
{
	unsigned char sample[PARTIALMD5_SAMPLE];
	struct md5 m;
	off_t off;
	ssize_t n;
	int i;

	out[0] = '\0';
	md5_init(&m);
	for (i = 0; i < PARTIALMD5_SAMPLES; i++) {
		/* 0, then 1024 << 2(i-1): 1 KiB, 4 KiB, ... 1 GiB */
		off = i == 0 ? 0 : (off_t)PARTIALMD5_SAMPLE << (2 * (i - 1));
		n = fileio_pread_full(fd, sample, sizeof(sample), off);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		md5_update(&m, sample, (size_t)n);
	}
	md5_final_hex(&m, out);
	return 0;
}

void
partialmd5_filename(const char *path, char out[MD5_HEX_LEN + 1])
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	md5_hex(base, strlen(base), out);
}
