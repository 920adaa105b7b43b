#!/usr/bin/env python3
"""mkbooks.py: book files for the tests of the library's readers, made here
field by field with the standard library only (zipfile, struct), never
copied from anywhere.

    tests/mkbooks.py books DIR      every sample book and hostile variant
    tests/mkbooks.py md5 DIR        files of every partial-MD5 size class
                                    and a line "name size partial_md5" each
    tests/mkbooks.py md5-table      the C table of test_partialmd5.c
    tests/mkbooks.py corpus DIR     seed inputs of the fuzz targets

The partial MD5 here is written from KOReader's description (1024-byte
samples at 0, 1 KiB, 4 KiB, ... 1 GiB, stopping at the end) with
hashlib, independently of src/partialmd5.c.
"""
import hashlib
import os
import sys

# The pattern of the partial-MD5 files: byte i of a file, for i below
# PATTERN_END; past it the file is a hole (zeros), so that files of a GiB
# and more cost nothing on disk.
PATTERN_END = 4 << 20


def pattern_byte(i):
    return (i * 131 + (i >> 12)) & 0xFF


def pattern(start, length):
    end = min(start + length, PATTERN_END)
    b = bytes(pattern_byte(i) for i in range(start, max(start, end)))
    return b + bytes(start + length - max(start, end) if start + length > PATTERN_END else 0)


def partial_md5_of(read_at, size):
    """KOReader's util.partialMD5 over read_at(offset, n) of a file of
    size bytes."""
    h = hashlib.md5()
    for i in range(-1, 11):
        off = 0 if i < 0 else 1024 << (2 * i)
        if off >= size:
            break
        h.update(read_at(off, min(1024, size - off)))
    return h.hexdigest()


def partial_md5_file(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        def read_at(off, n):
            f.seek(off)
            return f.read(n)
        return partial_md5_of(read_at, size)


# Sizes around every sample offset, under 1 KiB, several MB, and past
# 1 GiB (sparse).
MD5_SIZES = [0, 1, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 4097, 5120,
             5121, 16383, 16384, 16385, 66560, 262143, 262144, 262145,
             1048577, 4195327, 5 << 20, (16 << 20) + 1024, (64 << 20) + 512,
             (256 << 20) + 1, (1 << 30) - 1, 1 << 30, (1 << 30) + 1,
             (1 << 30) + 1024, (1 << 30) + 5000, 3 << 30]


def write_pattern_file(path, size):
    with open(path, "wb") as f:
        f.write(pattern(0, min(size, PATTERN_END)))
        f.truncate(size)


def pattern_md5(size):
    return partial_md5_of(lambda off, n: pattern(off, n), size)


def cmd_md5(outdir):
    os.makedirs(outdir, exist_ok=True)
    for size in MD5_SIZES:
        name = "size-%d.bin" % size
        path = os.path.join(outdir, name)
        write_pattern_file(path, size)
        print(name, size, partial_md5_file(path))


def cmd_md5_table():
    for size in MD5_SIZES:
        print('    {%dULL, "%s"},' % (size, pattern_md5(size)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "md5" and len(sys.argv) == 3:
        cmd_md5(sys.argv[2])
    elif cmd == "md5-table":
        cmd_md5_table()
    elif cmd == "books" and len(sys.argv) == 3:
        cmd_books(sys.argv[2])
    elif cmd == "corpus" and len(sys.argv) == 3:
        cmd_corpus(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
