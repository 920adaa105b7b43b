#!/usr/bin/env bash
# t141-library-partialmd5: KOReader's partial MD5 of files of every size
# class through `kosyncd book`, against tests/mkbooks.py's own
# implementation on hashlib.
#
# Covers: an empty file, files under 1 KiB, on and on either side of each
# sample offset (1 KiB, 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB, 4 MiB, 16
# MiB, 64 MiB, 256 MiB, 1 GiB), several MB, and past 1 GiB (sparse files,
# up to 3 GiB: only the 12 samples are read); the same digest for a book
# whatever its name, and the file-name MD5 changing with the name only.
# The files are no books: each line says so (refused, exit 1) and still
# carries both MD5s.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
D=$KS_TMP/md5
"$MK" md5 "$D" >"$KS_TMP/want"
is "mkbooks made the files" "$(wc -l <"$KS_TMP/want")" 31

names=()
while read -r name size md5; do
	names+=("$D/$name")
done <"$KS_TMP/want"
start=$(date +%s)
run book "${names[@]}"
end=$(date +%s)
is "not books: exit 1" "$RC" 1
check "31 files, 3 GiB in all, read in under 10 s" test $((end - start)) -lt 10
got=$(printf '%s\n' "$OUT" | python3 -c '
import json, os, sys
for line in sys.stdin:
    d = json.loads(line)
    print(os.path.basename(d["file"]), d["size"], d["partial_md5"])')
is "every partial MD5 as hashlib's" "$got" "$(cat "$KS_TMP/want")"
like "each line says why" "$(printf '%s\n' "$OUT" | head -n 1)" \
    '"error":"refused","reason":"an empty file"'

# The same bytes under two names: one partial MD5, two file-name MD5s.
python3 "$MK" books "$KS_TMP/b" >/dev/null
cp "$KS_TMP/b/epub3.epub" "$KS_TMP/b/Other Name.epub"
run book "$KS_TMP/b/epub3.epub" "$KS_TMP/b/Other Name.epub"
is "renamed copy: exit 0" "$RC" 0
is "renamed copy: the same partial MD5, each name its own MD5" \
    "$(printf '%s\n' "$OUT" | python3 -c '
import hashlib, json, os, sys
a, b = (json.loads(l) for l in sys.stdin)
print(a["partial_md5"] == b["partial_md5"],
      a["filename_md5"] == hashlib.md5(b"epub3.epub").hexdigest(),
      b["filename_md5"] == hashlib.md5(b"Other Name.epub").hexdigest())')" \
    "True True True"

done_testing
