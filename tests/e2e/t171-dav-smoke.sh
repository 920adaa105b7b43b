#!/usr/bin/env bash
# t171-dav-smoke: a short pass over the WebDAV space and the reading
# statistics as a KOReader device uses them, without any timing: the
# WebDAV/statistics check that scripts/cross-test runs against the arm64,
# armhf and armel binaries under qemu (where t100's timed quota race cannot
# hold), and a quick one natively.
#
# Covers: MKCOL, PROPFIND (207, the file listed with its length), GET of a
# missing file (404), PUT (201, then 204), GET of the same bytes, a stale
# If-Match (412, file unchanged), the upload read into the statistics
# (one book, its pages) through the web API, DELETE (204, then 404).
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
A=$KS_TMP/a.sqlite3
B=$KS_TMP/b.sqlite3
JAR=$KS_TMP/jar
UA='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
F=/dav/koreader/statistics.sqlite3
. "$(dirname "$0")/statslib.sh"

# dav METHOD PATH [CURL ARGS...]: one request as alice; sets STATUS, BODY
# (the answer saved in $KS_TMP/db) and ETAG.
dav() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -s -S -m $((30 * KS_SLOW)) -X "$method" -u alice:s3cret \
	    -A "$UA" -D "$KS_TMP/dh" -o "$KS_TMP/db" -w '%{http_code}' "$@" \
	    "$KS_URL$path")
	BODY=$(tr -d '\0' <"$KS_TMP/db")
	ETAG=$(tr -d '\r' <"$KS_TMP/dh" | sed -n 's/^etag: *//Ip' | tail -n 1)
}

"$MK" build "$A" - <<JSON
{"books": [{"key": "b", "title": "Smoke", "authors": "A", "pages": 40,
   "md5": "cccccccccccccccccccccccccccccccc"}],
 "runs": [{"book": "b", "start": "2026-03-02T18:00:00Z", "first": 1,
   "count": 12, "duration": 60, "total_pages": 40}]}
JSON
"$MK" build "$B" - <<JSON
{"books": [], "runs": []}
JSON
check "the files were built" test -s "$A" -a -s "$B"

ks_start --storage file --enable-webui || { not_ok "server started"; done_testing; }
register alice "$(md5 s3cret)"
is "alice registered" "$STATUS" 201

dav MKCOL /dav/koreader
is "MKCOL: 201" "$STATUS" 201
dav GET "$F"
is "GET before any upload: 404" "$STATUS" 404
dav PUT "$F" --data-binary "@$A"
is "PUT: 201" "$STATUS" 201
dav GET "$F"
is "GET: 200" "$STATUS" 200
check "GET: the same bytes" cmp -s "$KS_TMP/db" "$A"
etag=$ETAG
dav PROPFIND /dav/koreader/ -H 'Depth: 1' -H 'Content-Type: application/xml' \
    --data-binary '<?xml version="1.0"?><a:propfind xmlns:a="DAV:"><a:prop><a:getcontentlength/></a:prop></a:propfind>'
is "PROPFIND: 207" "$STATUS" 207
like "PROPFIND: the file, with its length" "$BODY" \
    "statistics.sqlite3</D:href>.*<D:getcontentlength>$(stat -c %s "$A")<"
dav PUT "$F" --data-binary "@$A" -H "If-Match: $etag"
is "PUT with its ETag: 204" "$STATUS" 204
dav PUT "$F" --data-binary "@$B" -H 'If-Match: "stale"'
is "PUT with a stale If-Match: 412" "$STATUS" 412
dav GET "$F"
check "... the file unchanged" cmp -s "$KS_TMP/db" "$A"

signin alice s3cret "$JAR"
for i in $(seq 1 $((100 * KS_SLOW))); do
	web GET /api/v1/stats "" -b "$JAR"
	[ "$STATUS" = 200 ] && [ "$(jv 'd["books"]')" = 1 ] && break
	sleep 0.1
done
is "statistics: one book" "$(jv 'd["books"]')" 1

dav DELETE "$F"
is "DELETE: 204" "$STATUS" 204
dav GET "$F"
is "deleted: 404" "$STATUS" 404
ks_stop
done_testing
