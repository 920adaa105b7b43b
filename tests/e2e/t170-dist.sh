#!/usr/bin/env bash
# t170-dist: the pieces of `make dist` and `make static ARCH=...` that run
# without the cross toolchains (make test-cross runs the rest).
#
# Covers: scripts/cross-dist packs the binary (here build/test/kosyncd),
# the man page, the systemd unit, README.md, LICENSE and docs/*.md, and
# nothing else, in kosyncd-VERSION-linux-ARCH/; the packed binary runs; the
# archive is the same bytes twice (owner 0, every file dated
# SOURCE_DATE_EPOCH); a wrong call writes nothing. `make static-bin`
# names each architecture's binary; an unknown ARCH, and a cross build
# before scripts/install-deps --cross, stop with a message that says what
# to do.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$KS_TMP/dist
export SOURCE_DATE_EPOCH=1700000000
name=kosyncd-9.9.9-linux-amd64

DIST_DIR=$OUT "$ROOT/scripts/cross-dist" amd64 "$ROOT/build/test/kosyncd" \
    9.9.9 >"$KS_TMP/out" 2>&1
is "cross-dist: exit 0" "$?" 0
is "cross-dist: prints the archive" "$(cat "$KS_TMP/out")" "$OUT/$name.tar.gz"
check "archive written" [ -f "$OUT/$name.tar.gz" ]

want=$( (cd "$ROOT" && printf '%s\n' kosyncd kosyncd.8 kosyncd.service \
    README.md LICENSE docs/*.md) | sed "s|^|$name/|" | sort)
got=$(tar -tzf "$OUT/$name.tar.gz" | grep -v '/$' | sort)
is "the files, nothing else" "$got" "$want"
is "only the top directory and docs/" \
    "$(tar -tzf "$OUT/$name.tar.gz" | grep '/$' | sort | tr '\n' ' ')" \
    "$name/ $name/docs/ "
# (SOURCE_DATE_EPOCH 1700000000 is 2023-11-14 22:13:20 UTC.)
is "owner 0/0, dated SOURCE_DATE_EPOCH" \
    "$(TZ=UTC tar -tvzf "$OUT/$name.tar.gz" --numeric-owner --full-time |
    awk '$2 != "0/0" || $4" "$5 != "2023-11-14 22:13:20"' | wc -l)" 0
mkdir -p "$KS_TMP/x"
tar -xzf "$OUT/$name.tar.gz" -C "$KS_TMP/x"
check "binary is executable" [ -x "$KS_TMP/x/$name/kosyncd" ]
like "binary runs" "$("$KS_TMP/x/$name/kosyncd" version)" '^kosyncd '
check "unit unchanged" cmp -s "$KS_TMP/x/$name/kosyncd.service" \
    "$ROOT/contrib/kosyncd.service"
check "man page unchanged" cmp -s "$KS_TMP/x/$name/kosyncd.8" \
    "$ROOT/docs/kosyncd.8"

sum1=$(sha256sum <"$OUT/$name.tar.gz")
sleep 1
DIST_DIR=$OUT "$ROOT/scripts/cross-dist" amd64 "$ROOT/build/test/kosyncd" \
    9.9.9 >/dev/null 2>&1
is "same bytes the second time" "$(sha256sum <"$OUT/$name.tar.gz")" "$sum1"

DIST_DIR=$KS_TMP/bad "$ROOT/scripts/cross-dist" amd64 9.9.9 \
    >/dev/null 2>"$KS_TMP/err"
is "cross-dist with two arguments: exit 2" "$?" 2
like "... says its usage" "$(cat "$KS_TMP/err")" '^usage: cross-dist'
check "... writes nothing" [ ! -e "$KS_TMP/bad" ]
DIST_DIR=$KS_TMP/bad "$ROOT/scripts/cross-dist" amd64 "$KS_TMP/none" 9.9.9 \
    >/dev/null 2>&1
check "cross-dist without the binary: fails" [ "$?" != 0 ]
check "... leaves no archive" \
    [ -z "$(find "$KS_TMP/bad" -name '*.tar.gz*' 2>/dev/null)" ]

for a in arm64 armhf armel; do
	is "static-bin ARCH=$a" \
	    "$(make -s --no-print-directory -C "$ROOT" static-bin ARCH=$a)" \
	    "build/$a/kosyncd"
done
out=$(make -s --no-print-directory -C "$ROOT" static-bin ARCH=mips 2>&1)
check "ARCH=mips: make fails" [ "$?" != 0 ]
like "... naming the architectures" "$out" 'ARCH=mips: one of amd64 arm64 armhf armel'
out=$(make -s --no-print-directory -C "$ROOT" static ARCH=armel \
    CROSS_ROOT="$KS_TMP/none" 2>&1)
check "cross build without install-deps --cross: make fails" [ "$?" != 0 ]
like "... saying what to run" "$out" \
    'run scripts/install-deps --cross armel first'

done_testing
