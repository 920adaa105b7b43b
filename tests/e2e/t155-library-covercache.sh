#!/usr/bin/env bash
# t155-library-covercache: the cover thumbnails' cache under
# <data_dir>/library/covers/ (library.c cover_sweep).
#
# Covers: a thumbnail is cached once per book and size; a book removed
# from its folder loses its thumbnails at the next scan, the other
# books keep theirs; a book whose file changed (re-read: its cover may
# have changed) loses the old ones and a request makes a new one; files
# not of the cache's shape and leftovers of unknown books go at
# `kosyncd library scan`; with a small bound (the test-only
# KOSYNCD_TEST_COVER_CACHE_BYTES) the cache stays under it however many
# thumbnails are asked for, the last one made is kept, and an evicted
# thumbnail is made again on request (200, the same ETag).
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
B=$KS_TMP/books
L=$KS_TMP/lib
JAR=$KS_TMP/jar
C=$KS_DIR/library/covers
"$MK" books "$B" >/dev/null
mkdir -p "$L"
cp "$B/epub2.epub" "$B/epub3.epub" "$B/comic.cbz" "$B/book.fb2" "$L/"

jv() { printf '%s' "$BODY" | json "$1"; }
scans() { grep -c 'library: scanned' "$KS_ERR.new"; }
wait_scans() {
	for i in $(seq 1 100); do
		[ "$(scans)" -ge "$1" ] && break
		sleep 0.1
	done
}
# ids: the ids of the books with a cover, by title
ids() {
	web GET "/api/v1/library?limit=50" "" -b "$JAR"
	jv '" ".join(b["id"] for b in d["books"] if b["has_cover"])'
}
id_of() {
	web GET "/api/v1/library?limit=50" "" -b "$JAR"
	jv "[b['id'] for b in d['books'] if b['files'][0]['name'] == '$1'][0]"
}
# cover ID SIDE: ask for a thumbnail; sets STATUS and HEADERS.
cover() {
	STATUS=$(curl -s -S -m 20 -b "$JAR" -D "$KS_TMP/cover-h" -o /dev/null \
	    -w '%{http_code}' "$KS_URL/api/v1/library/$1/cover?size=$2x$2")
	HEADERS=$(tr -d '\r' <"$KS_TMP/cover-h")
}
cached() { ls "$C" 2>/dev/null | grep -c "^$1-" ; }
bytes() { python3 -c "import os, sys; d = sys.argv[1]; print(sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)))" "$C"; }

ks_start --storage file --enable-webui --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
register alice "$(md5 s3cret)"
web POST /api/v1/login '{"username":"alice","password":"s3cret"}' -c "$JAR"
wait_scans 1
IDS=$(ids)
check "books with covers: at least 3 ($IDS)" test "$(wc -w <<<"$IDS")" -ge 3
for id in $IDS; do
	cover "$id" 100
	cover "$id" 200
done
is "cover: 200" "$STATUS" 200
n=$(wc -w <<<"$IDS")
is "two thumbnails a book cached" "$(ls "$C" | grep -c '\.jpg$')" $((n * 2))
cover "${IDS%% *}" 100
is "asked again: no new file" "$(ls "$C" | grep -c '\.jpg$')" $((n * 2))

GONE=$(id_of epub2.epub)
CHG=$(id_of comic.cbz)
is "epub2's thumbnails cached" "$(cached "$GONE")" 2
is "comic's thumbnails cached" "$(cached "$CHG")" 2
OLD=$(ls "$C" | grep "^$CHG-" | sort)
rm "$L/epub2.epub"
wait_scans 2
sleep 0.5
is "a book removed: its thumbnails gone" "$(cached "$GONE")" 0
is "the others kept" "$(ls "$C" | grep -c '\.jpg$')" $(((n - 1) * 2))
sleep 1.1
cp "$B/comic.cbz" "$L/comic.cbz.new"
mv "$L/comic.cbz.new" "$L/comic.cbz"
touch "$L/comic.cbz"
wait_scans 3
sleep 0.5
CHG2=$(id_of comic.cbz)
is "a changed book: its old thumbnails gone" "$(ls "$C" | grep -cF "$OLD")" 0
cover "$CHG2" 100
is "a changed book: its cover made again" "$STATUS" 200
is "a changed book: one new thumbnail" "$(cached "$CHG2")" 1
ks_stop

# Leftovers: a stranger's file, an unknown book's thumbnail, a stale temp.
: >"$C/notes.txt"
printf 'x' >"$C/0123456789abcdef0123456789abcdef-100-1.jpg"
printf 'x' >"$C/0123456789abcdef0123456789abcdef-100-1.jpg.tmp1"
touch -d '2 hours ago' "$C/0123456789abcdef0123456789abcdef-100-1.jpg.tmp1"
before=$(ls "$C" | wc -l)
KS_RUN_ARGS=(--library-paths "$L")
run library scan
is "scan: exit 0" "$RC" 0
is "library scan: the leftovers removed" "$(ls "$C" | wc -l)" $((before - 3))
is "library scan: the thumbnails kept" "$(ls "$C" | grep -c '\.jpg$')" $((before - 3))

# A bound: each thumbnail at most a few KiB here; 3 of the biggest fit.
SIZES=(100 200 400 800)
big=$(for f in "$C"/*; do stat -c %s "$f"; done | sort -n | tail -n 1)
LIMIT=$((big * 3))
export KOSYNCD_TEST_COVER_CACHE_BYTES=$LIMIT
rm -f "$C"/*
ks_start --storage file --enable-webui --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
web POST /api/v1/login '{"username":"alice","password":"s3cret"}' -c "$JAR"
wait_scans 1
IDS=$(ids)
over=0
made=0
for s in "${SIZES[@]}"; do
	for id in $IDS; do
		cover "$id" "$s"
		[ "$STATUS" = 200 ] && made=$((made + 1))
		[ "$(bytes)" -gt "$LIMIT" ] && over=$((over + 1))
		LAST="$id-$s-"
	done
done
is "bound: every thumbnail made ($made)" "$made" $(($(wc -w <<<"$IDS") * 4))
is "bound: the cache never over $LIMIT bytes" "$over" 0
check "bound: the last one kept" test -n "$(ls "$C" | grep "^$LAST")"
FIRST=${IDS%% *}
check "bound: the first ones evicted" test -z "$(ls "$C" | grep "^$FIRST-100-")"
cover "$FIRST" 100
is "an evicted one made again" "$STATUS" 200
ETAG=$(printf '%s\n' "$HEADERS" | sed -n 's/^ETag: //p')
cover "$FIRST" 100
is "and cached again (same ETag)" "$(printf '%s\n' "$HEADERS" | sed -n 's/^ETag: //p')" "$ETAG"
ks_stop
unset KOSYNCD_TEST_COVER_CACHE_BYTES

done_testing
