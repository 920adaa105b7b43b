/*
 * test_partialmd5.c: KOReader's partial MD5 of files of every size class
 * (empty, under 1 KiB, on and around each sample offset, several MB, past
 * 1 GiB as sparse files) against values computed independently with
 * Python's hashlib (`tests/mkbooks.py md5-table` printed the table), and
 * the MD5 of a file's base name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "fileio.h"
#include "partialmd5.h"

/* tests/mkbooks.py's pattern: byte i below 4 MiB, zeros (a hole) after. */
#define PATTERN_END ((uint64_t)4 << 20)

static const struct {
	uint64_t size;
	const char *md5;
} sizes[] = {
    {0ULL, "d41d8cd98f00b204e9800998ecf8427e"},
    {1ULL, "93b885adfe0da089cdf634904fd59f71"},
    {1023ULL, "29ab84c1eb14d1782c1043eefef4bfbe"},
    {1024ULL, "f4526b2f9ccb8de6f316c45472007bb9"},
    {1025ULL, "ba2336855c4cad3dab198c097d212968"},
    {2047ULL, "96e0396ec6ce46f6929ce4fa71a05184"},
    {2048ULL, "1b5cb5a8f927f199bc0d2f3b40e107f2"},
    {4095ULL, "1b5cb5a8f927f199bc0d2f3b40e107f2"},
    {4096ULL, "1b5cb5a8f927f199bc0d2f3b40e107f2"},
    {4097ULL, "7f1781c300792e356fcab7e1bdcf0426"},
    {5120ULL, "429310d484d56736357b0064020584d7"},
    {5121ULL, "429310d484d56736357b0064020584d7"},
    {16383ULL, "429310d484d56736357b0064020584d7"},
    {16384ULL, "429310d484d56736357b0064020584d7"},
    {16385ULL, "42ddf312cc932e7c1b10cc4080eb56bf"},
    {66560ULL, "e8beeb012d526858aa0b29f885c4fb2b"},
    {262143ULL, "e8beeb012d526858aa0b29f885c4fb2b"},
    {262144ULL, "e8beeb012d526858aa0b29f885c4fb2b"},
    {262145ULL, "f9e1b8170ce10e0fb41eab594fddcd3d"},
    {1048577ULL, "eae737eb270458d32c82a640d2fbafbe"},
    {4195327ULL, "260f60597e8a28c401d76156ae039fb5"},
    {5242880ULL, "d1abc60e3b89db0a72290120c222ed87"},
    {16778240ULL, "b452408181d16b1268877521b54adae2"},
    {67109376ULL, "65fd8fcdc5b30379adccc6699603acc3"},
    {268435457ULL, "19d892821e5bdee3a250ad57059836e1"},
    {1073741823ULL, "d5e7eeea62d8117ab0aeceb7227bc444"},
    {1073741824ULL, "d5e7eeea62d8117ab0aeceb7227bc444"},
    {1073741825ULL, "5e0a0cf42dbc67f0623d40927fbce07d"},
    {1073742848ULL, "d35b8dc56b6d441e2f5a0bc436983c3b"},
    {1073746824ULL, "d35b8dc56b6d441e2f5a0bc436983c3b"},
    {3221225472ULL, "d35b8dc56b6d441e2f5a0bc436983c3b"},
    {0ULL, "d41d8cd98f00b204e9800998ecf8427e"},
    {1ULL, "93b885adfe0da089cdf634904fd59f71"},
    {1023ULL, "29ab84c1eb14d1782c1043eefef4bfbe"},
    {1024ULL, "f4526b2f9ccb8de6f316c45472007bb9"},
    {1025ULL, "ba2336855c4cad3dab198c097d212968"},
    {2047ULL, "96e0396ec6ce46f6929ce4fa71a05184"},
    {2048ULL, "1b5cb5a8f927f199bc0d2f3b40e107f2"},
    {4095ULL, "1b5cb5a8f927f199bc0d2f3b40e107f2"},
    {4096ULL, "1b5cb5a8f927f199bc0d2f3b40e107f2"},
    {4097ULL, "7f1781c300792e356fcab7e1bdcf0426"},
    {5120ULL, "429310d484d56736357b0064020584d7"},
    {5121ULL, "429310d484d56736357b0064020584d7"},
    {16383ULL, "429310d484d56736357b0064020584d7"},
    {16384ULL, "429310d484d56736357b0064020584d7"},
    {16385ULL, "42ddf312cc932e7c1b10cc4080eb56bf"},
    {66560ULL, "e8beeb012d526858aa0b29f885c4fb2b"},
    {262143ULL, "e8beeb012d526858aa0b29f885c4fb2b"},
    {262144ULL, "e8beeb012d526858aa0b29f885c4fb2b"},
    {262145ULL, "f9e1b8170ce10e0fb41eab594fddcd3d"},
    {1048577ULL, "eae737eb270458d32c82a640d2fbafbe"},
    {4195327ULL, "260f60597e8a28c401d76156ae039fb5"},
    {5242880ULL, "d1abc60e3b89db0a72290120c222ed87"},
    {16778240ULL, "b452408181d16b1268877521b54adae2"},
    {67109376ULL, "65fd8fcdc5b30379adccc6699603acc3"},
    {268435457ULL, "19d892821e5bdee3a250ad57059836e1"},
    {1073741823ULL, "d5e7eeea62d8117ab0aeceb7227bc444"},
    {1073741824ULL, "d5e7eeea62d8117ab0aeceb7227bc444"},
    {1073741825ULL, "5e0a0cf42dbc67f0623d40927fbce07d"},
    {1073742848ULL, "d35b8dc56b6d441e2f5a0bc436983c3b"},
    {1073746824ULL, "d35b8dc56b6d441e2f5a0bc436983c3b"},
    {3221225472ULL, "d35b8dc56b6d441e2f5a0bc436983c3b"},
};

static void
write_pattern(int fd, uint64_t size)
{
	static unsigned char chunk[65536];
	uint64_t off, end = size < PATTERN_END ? size : PATTERN_END;
	size_t i, n;

	for (off = 0; off < end; off += n) {
		n = end - off < sizeof(chunk) ? (size_t)(end - off)
		                              : sizeof(chunk);
		for (i = 0; i < n; i++) {
			uint64_t j = off + i;

			chunk[i] =
			    (unsigned char)((j * 131 + (j >> 12)) & 0xff);
		}
		assert_int_equal(fileio_write_all(fd, chunk, n), 0);
	}
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
}

static void
test_partialmd5__sizes(void **state)
{
	char path[] = "/tmp/test_partialmd5.XXXXXX";
	char got[MD5_HEX_LEN + 1];
	size_t i;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		write_pattern(fd, sizes[i].size);
		assert_int_equal(partialmd5_fd(fd, got), 0);
		if (strcmp(got, sizes[i].md5) != 0)
			fail_msg("size %llu: %s, expected %s",
			    (unsigned long long)sizes[i].size, got,
			    sizes[i].md5);
	}
	close(fd);
	unlink(path);
}

static void
test_partialmd5__read_error(void **state)
{
	char got[MD5_HEX_LEN + 1] = "x";
	int fd;

	(void)state;
	/* A directory cannot be read: EISDIR. */
	fd = open("/", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(partialmd5_fd(fd, got), -1);
	assert_string_equal(got, "");
	close(fd);
}

static void
test_partialmd5__filename(void **state)
{
	char got[MD5_HEX_LEN + 1];

	(void)state;
	partialmd5_filename("/books/sub/book.epub", got);
	assert_string_equal(got, "03053ffc045564439ff7f2cabb3b58c5");
	partialmd5_filename("book.epub", got);
	assert_string_equal(got, "03053ffc045564439ff7f2cabb3b58c5");
	partialmd5_filename(
	    "Le Petit Prince \xe2\x80\x93 Saint-Exup\xc3\xa9ry.epub", got);
	assert_string_equal(got, "e6e10e3aa3b41f9086b722a4415ba755");
	partialmd5_filename("dir/", got);
	assert_string_equal(got, "d41d8cd98f00b204e9800998ecf8427e");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_partialmd5__sizes),
	    cmocka_unit_test(test_partialmd5__read_error),
	    cmocka_unit_test(test_partialmd5__filename),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
