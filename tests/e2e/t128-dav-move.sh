#!/usr/bin/env bash
# t128-dav-move: `kosyncd export redis` and `kosyncd import redis` carry
# each account's WebDAV tree (davmove.h; docs/redis.md): a file store ->
# Redis -> file store round trip of a tree with a statistics.sqlite3 (and
# a kept version of it), a 3 MiB binary file in nested folders and a dead
# property. Every file comes back with the same sha256, the folders and
# the property too; the version is listed on each side; the statistics
# dashboard shows the same figures on Redis and on the new file store; the
# counts are printed; a second run copies nothing; a tree without an
# account is not carried; a 100 MB file goes both ways with the commands'
# memory bounded.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_redis_start || { not_ok "redis started"; done_testing; }
R=(--redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
MK=$(dirname "$0")/../mkstats.py
A=$KS_TMP/statistics.sqlite3
A0=$KS_TMP/older.sqlite3
BIN=$KS_TMP/blob.bin
JAR=$KS_TMP/jar
UA='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
. "$(dirname "$0")/statslib.sh"
D1=$(date -u -d 'yesterday' +%F)

"$MK" build "$A0" - <<JSON
{"books": [
  {"key": "o", "title": "Older", "authors": "O", "pages": 10,
   "md5": "44444444444444444444444444444444", "last_open": 1766000000}],
 "runs": [
  {"book": "o", "start": "${D1}T05:00:00Z", "first": 1, "count": 2,
   "duration": 30, "total_pages": 10}]}
JSON
"$MK" build "$A" - <<JSON
{"books": [
  {"key": "s", "title": "Shared", "authors": "Ann", "pages": 300,
   "md5": "11111111111111111111111111111111", "last_open": 1767000000}],
 "runs": [
  {"book": "s", "start": "${D1}T20:00:00Z", "first": 1, "count": 20,
   "duration": 45, "gap": 5, "total_pages": 300}]}
JSON
head -c 3145728 /dev/urandom >"$BIN"
check "the files were built" test -s "$A" -a -s "$A0"

# figures: the overview and the books, as one line.
figures() {
	web GET /api/v1/stats "" -b "$JAR"
	local o
	o=$(jv 'd["overview"], d["books"]')
	web GET /api/v1/stats/books "" -b "$JAR"
	printf '%s | %s\n' "$o" "$(jv 'd["books"]')"
}
# sums: the sha256 of every file, fetched over WebDAV.
sums() {
	local p
	for p in koreader/statistics.sqlite3 a/b/c/blob.bin a/note.txt; do
		printf '%s %s\n' "$p" "$(curl -s -S -u alice:s3cret "$KS_URL/dav/$p" | sha256sum | cut -d' ' -f1)"
	done
}
want_sums() {
	printf '%s %s\n' koreader/statistics.sqlite3 "$(sha256sum <"$A" | cut -d' ' -f1)" \
	    a/b/c/blob.bin "$(sha256sum <"$BIN" | cut -d' ' -f1)" \
	    a/note.txt "$(printf 'hello' | sha256sum | cut -d' ' -f1)"
}
prop() {
	curl -s -S -X PROPFIND -u alice:s3cret -H 'Depth: 0' \
	    --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:z"/></D:prop></D:propfind>' \
	    "$KS_URL/dav/a/b/c/blob.bin"
}
versions() {
	web GET "/api/v1/files/versions?path=/koreader/statistics.sqlite3" "" -b "$JAR"
	jv '[v["size"] for v in d["versions"]]'
}

# The source: a file store with a tree.
ks_start --storage file --enable-webui || { not_ok "server started"; done_testing; }
register alice "$(md5 s3cret)"
register bob "$(md5 pw)"
signin alice s3cret "$JAR"
for d in koreader a a/b a/b/c; do
	curl -s -o /dev/null -X MKCOL -u alice:s3cret "$KS_URL/dav/$d"
done
dav_put "$A0" "$UA" koreader/statistics.sqlite3
is "the older statistics uploaded" "$STATUS" 201
dav_put "$A" "$UA" koreader/statistics.sqlite3
is "statistics uploaded over it" "$STATUS" 204
dav_put "$BIN" curl a/b/c/blob.bin
is "binary uploaded" "$STATUS" 201
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -u alice:s3cret --data-binary hello "$KS_URL/dav/a/note.txt")
is "note uploaded" "$STATUS" 201
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X PROPPATCH -u alice:s3cret \
    --data-binary '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>blue</Z:color></D:prop></D:set></D:propertyupdate>' \
    "$KS_URL/dav/a/b/c/blob.bin")
is "dead property set" "$STATUS" 207
wait_json /api/v1/stats/books 'any(b["title"] == "Shared" for b in d["books"])'
WANT=$(figures)
like "the figures of the upload" "$WANT" 'Shared'
is "source: the sums" "$(sums)" "$(want_sums)"
like "source: the dead property" "$(prop)" '>blue<'
is "source: one version kept" "$(versions)" "[$(stat -c %s "$A0")]"
ks_stop
# A tree left without an account is not carried.
mkdir -p "$KS_DIR/dav/ghost"
echo boo >"$KS_DIR/dav/ghost/f.txt"

# File store -> Redis.
run export redis "${R[@]}"
is "export redis: exit 0" "$RC" 0
like "export redis: the files counted" "$OUT" \
    'webdav trees=1 files_copied=3 folders_made=4 files_existing=0 bytes=[0-9]+$'
is "export redis: nothing on stderr but info" "$(grep -v ' info: ' <<<"$ERR")" ""
is "the ghost's tree is not in Redis" "$(ks_redis_cli EXISTS kosyncd:user:ghost:dav:d:root)" 0
is "bob (no files) has no tree in Redis" "$(ks_redis_cli EXISTS kosyncd:user:bob:dav:d:root)" 0

SRC=$KS_DIR
KS_DIR=$KS_TMP/redis-inst
ks_start --storage redis "${R[@]}" --enable-webui || { not_ok "redis server started"; done_testing; }
signin alice s3cret "$JAR"
is "redis: the sums" "$(sums)" "$(want_sums)"
like "redis: the dead property" "$(prop)" '>blue<'
is "redis: the version" "$(versions)" "[$(stat -c %s "$A0")]"
wait_json /api/v1/stats/books 'any(b["title"] == "Shared" for b in d["books"])'
is "redis: the same figures" "$(figures)" "$WANT"
ks_stop

# Again: nothing is copied twice.
KS_DIR=$SRC
run export redis "${R[@]}"
is "export again: exit 0" "$RC" 0
like "export again: nothing copied" "$OUT" \
    'webdav trees=1 files_copied=0 folders_made=0 files_existing=3 bytes=0$'

# Redis -> a new file store.
KS_DIR=$KS_TMP/target
mkdir -p "$KS_DIR"
run import redis "${R[@]}"
is "import redis: exit 0" "$RC" 0
like "import redis: the files counted" "$OUT" \
    'webdav trees=1 files_copied=3 folders_made=4 files_existing=0 bytes=[0-9]+$'
run import redis "${R[@]}"
like "import again: nothing copied" "$OUT" \
    'webdav trees=1 files_copied=0 folders_made=0 files_existing=3 bytes=0$'
ks_start --storage file --enable-webui || { not_ok "target server started"; done_testing; }
signin alice s3cret "$JAR"
is "target: the sums" "$(sums)" "$(want_sums)"
like "target: the dead property" "$(prop)" '>blue<'
is "target: the version" "$(versions)" "[$(stat -c %s "$A0")]"
wait_json /api/v1/stats/books 'any(b["title"] == "Shared" for b in d["books"])'
is "target: the same figures (read again from the file)" "$(figures)" "$WANT"
ks_stop

# A 100 MB file both ways: the commands' peak RSS grows by a few MB at
# most (ASan's quarantine off, so that freed chunks are not kept).
# peak ARGS...: run ARGS with the command's peak RSS (kB) in PEAK.
peak() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
	    /usr/bin/time -f '%M' -o "$KS_TMP/rss" "$@" >"$KS_TMP/out" 2>"$KS_TMP/err"
	RC=$?
	OUT=$(cat "$KS_TMP/out")
	PEAK=$(tail -n 1 "$KS_TMP/rss")
}
ks_redis_cli FLUSHDB >/dev/null
KS_DIR=$SRC
peak "$KOSYNCD" --data-dir "$KS_DIR" export redis "${R[@]}"
SMALL=$PEAK
head -c 104857600 /dev/urandom >"$KS_DIR/dav/alice/big.bin"
ks_redis_cli FLUSHDB >/dev/null
peak "$KOSYNCD" --data-dir "$KS_DIR" export redis "${R[@]}"
is "100 MB export: exit 0" "$RC" 0
check "100 MB export: peak RSS grew by less than 16 MB ($SMALL -> $PEAK kB)" \
    test "$PEAK" -lt $((SMALL + 16384))
KS_DIR=$KS_TMP/big
mkdir -p "$KS_DIR"
peak "$KOSYNCD" --data-dir "$KS_DIR" import redis "${R[@]}"
is "100 MB import: exit 0" "$RC" 0
check "100 MB import: peak RSS grew by less than 16 MB ($SMALL -> $PEAK kB)" \
    test "$PEAK" -lt $((SMALL + 16384))
is "100 MB: the same bytes" "$(sha256sum <"$KS_DIR/dav/alice/big.bin")" \
    "$(sha256sum <"$SRC/dav/alice/big.bin")"

done_testing
