#!/usr/bin/env bash
# t100-dav-koreader: the WebDAV file space as KOReader's Cloud storage uses
# it (KOREADER-CLOUD.md §1.2-§1.3): the exact PROPFIND, GET 404 then an
# unconditional PUT, GET + PUT with If-Match (quoted, W/, bare), a stale
# If-Match (412, file unchanged), If-None-Match: *, a chunked PUT (KOReader
# before 2023.06), Basic auth with '%' in the password, the self entry
# left out for KOReader up to 2026.03, no redirect on the folder URL with
# or without '/', '//' merged; then what must be refused: no or wrong
# credentials (401 + WWW-Authenticate), another account's tree, bad paths
# (400), a symbolic link planted in the tree, Depth: infinity (403), file
# size and quota limits (413, 507, nothing changed), other storages (501).
. "$(dirname "$0")/lib.sh"

PROPFIND_BODY='<?xml version="1.0"?><a:propfind xmlns:a="DAV:"><a:prop><a:resourcetype/><a:getcontentlength/><a:getlastmodified/></a:prop></a:propfind>'
UA_NEW='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
UA_OLD='KOReader/v2025.10 (Kindle; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.0.0'
# LuaSocket's headers on every KOReader request (a fresh connection each).
KO=(-A "$UA_NEW" -H 'Connection: close, TE' -H 'TE: trailers')

# dav METHOD PATH [CURL ARGS...]: one request as alice (unless -u is given
# again later in the arguments). Sets STATUS, BODY, HEADERS.
dav() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -s -S -m 30 --path-as-is -X "$method" -u "${DAV_USER:-alice:s3cret}" \
	    -D "$KS_TMP/dh" -o "$KS_TMP/db" -w '%{http_code}' "$@" "$KS_URL$path")
	BODY=$(tr -d "\\0" <"$KS_TMP/db")
	HEADERS=$(tr -d '\r' <"$KS_TMP/dh")
}
hdr() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | tail -n 1; }
propfind() {
	local path=$1
	shift
	dav PROPFIND "$path" -H 'Depth: 1' -H 'Content-Type: application/xml' \
	    --data-binary "$PROPFIND_BODY" "$@"
}

ks_start --storage file || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"alice","password":"'"$(md5 s3cret)"'"}'
is "alice registered" "$STATUS" 201
req POST /users/create '{"username":"bob","password":"'"$(md5 '50%off')"'"}'
is "bob registered" "$STATUS" 201

# Browsing: the exact PROPFIND, at the root, with and without '/'.
propfind /dav/ "${KO[@]}"
is "PROPFIND /dav/: 207" "$STATUS" 207
like "PROPFIND: D:-prefixed multistatus" "$BODY" '<D:multistatus xmlns:D="DAV:">'
like "PROPFIND: the root's own entry, absolute href" "$BODY" '<D:href>/dav/</D:href>'
like "PROPFIND: <D:collection/>" "$BODY" '<D:collection/>'
like "PROPFIND: application/xml" "$(hdr content-type)" 'application/xml'
propfind /dav -A "$UA_NEW"
is "PROPFIND /dav (no slash): 207, no redirect" "$STATUS" 207
dav MKCOL /dav/kosync
is "MKCOL /dav/kosync: 201" "$STATUS" 201
dav MKCOL /dav/kosync
is "MKCOL again: 405" "$STATUS" 405
dav MKCOL /dav/no/such
is "MKCOL without its parent: 409" "$STATUS" 409
propfind //dav//kosync// -A "$UA_NEW"
is "PROPFIND //dav//kosync//: 207" "$STATUS" 207
like "PROPFIND //: normalised href" "$BODY" '<D:href>/dav/kosync/</D:href>'
propfind /dav/ -A "$UA_OLD"
is "old KOReader: 207" "$STATUS" 207
unlike() { check "$1" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$3" "$2"; }
unlike "old KOReader: no self entry at a sub-path root" "$BODY" '<D:href>/dav/</D:href>'
like "old KOReader: the folder is listed" "$BODY" '<D:href>/dav/kosync/</D:href>'
dav MKCOL '/dav/My%20Books'
is "MKCOL of an encoded name: 201" "$STATUS" 201
propfind '/dav/My%20Books/' -A "$UA_OLD"
unlike "old KOReader: no self entry in an encoded folder" "$BODY" '<D:href>/dav/My%20Books/</D:href>'
propfind '/dav/My%20Books/' -A "$UA_NEW"
like "new KOReader: the self entry, encoded" "$BODY" '<D:href>/dav/My%20Books/</D:href>'
dav PROPFIND /dav/ -H 'Depth: infinity'
is "Depth: infinity: 403" "$STATUS" 403
dav PROPFIND /dav/
is "no Depth (infinity): 403" "$STATUS" 403

# One sync round: GET 404, then an unconditional PUT.
head -c 70000 /dev/urandom >"$KS_TMP/v1"
head -c 50000 /dev/urandom >"$KS_TMP/v2"
head -c 90000 /dev/urandom >"$KS_TMP/v3"
dav GET /dav/kosync/statistics.sqlite3 "${KO[@]}"
is "first GET: 404" "$STATUS" 404
dav PUT /dav/kosync/statistics.sqlite3 "${KO[@]}" --data-binary @"$KS_TMP/v1"
is "first PUT: 201" "$STATUS" 201
dav GET /dav/kosync/statistics.sqlite3 "${KO[@]}"
is "GET: 200" "$STATUS" 200
check "GET: the bytes PUT" cmp -s "$KS_TMP/db" "$KS_TMP/v1"
ETAG=$(hdr etag)
like "GET: a strong ETag" "$ETAG" '^"[0-9a-f-]+"$'
is "GET: Content-Length" "$(hdr content-length)" 70000
propfind /dav/kosync/ -A "$UA_NEW"
like "PROPFIND: the file's size" "$BODY" '<D:getcontentlength>70000</D:getcontentlength>'
like "PROPFIND: the file is not a collection" "$BODY" '<D:resourcetype/>'

# Second round: If-Match with the tag as KOReader <= 2026.03 sends it (W/).
dav PUT /dav/kosync/statistics.sqlite3 "${KO[@]}" -H "If-Match: W/$ETAG" --data-binary @"$KS_TMP/v2"
is "PUT If-Match: W/\"tag\": 204" "$STATUS" 204
NEW=$(hdr etag)
dav PUT /dav/kosync/statistics.sqlite3 -H "If-Match: $ETAG" --data-binary @"$KS_TMP/v3"
is "PUT with a stale If-Match: 412" "$STATUS" 412
dav GET /dav/kosync/statistics.sqlite3
check "after the 412 the file is unchanged" cmp -s "$KS_TMP/db" "$KS_TMP/v2"
is "the PUT's ETag is the GET's" "$(hdr etag)" "$NEW"
BARE=${NEW//\"/}
dav PUT /dav/kosync/statistics.sqlite3 -H "If-Match: $BARE" --data-binary @"$KS_TMP/v3"
is "PUT If-Match without quotes: 204" "$STATUS" 204
dav PUT /dav/kosync/statistics.sqlite3 -H 'If-None-Match: *' --data-binary @"$KS_TMP/v1"
is "PUT If-None-Match: * over a file: 412" "$STATUS" 412
dav PUT /dav/kosync/vocabulary_builder.sqlite3 -H 'If-None-Match: *' --data-binary @"$KS_TMP/v1"
is "PUT If-None-Match: * of a new file: 201" "$STATUS" 201

# Chunked (KOReader before 2023.06), and Range.
dav PUT /dav/kosync/statistics.sqlite3 -H 'Transfer-Encoding: chunked' --data-binary @"$KS_TMP/v1"
is "chunked PUT: 204" "$STATUS" 204
dav GET /dav/kosync/statistics.sqlite3
check "chunked PUT: the bytes" cmp -s "$KS_TMP/db" "$KS_TMP/v1"
dav GET /dav/kosync/statistics.sqlite3 -H 'Range: bytes=10-19'
is "Range: 206" "$STATUS" 206
is "Range: Content-Range" "$(hdr content-range)" "bytes 10-19/70000"
check "Range: the bytes" cmp -s "$KS_TMP/db" <(tail -c +11 "$KS_TMP/v1" | head -c 10)
dav HEAD /dav/kosync/statistics.sqlite3 -I
is "HEAD: 200" "$STATUS" 200
is "HEAD: Content-Length of the file" "$(hdr content-length)" 70000

# Two devices uploading at once: each PUT succeeds, the file is one of them.
dav PUT /dav/kosync/race --data-binary @"$KS_TMP/v1" &
P1=$!
DAV_USER=alice:s3cret STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u alice:s3cret \
    -T "$KS_TMP/v2" "$KS_URL/dav/kosync/race")
wait "$P1"
dav GET /dav/kosync/race
check "two PUTs at once: the file is one of them, whole" \
    bash -c 'cmp -s "$1" "$2" || cmp -s "$1" "$3"' _ "$KS_TMP/db" "$KS_TMP/v1" "$KS_TMP/v2"
dav DELETE /dav/kosync/race

# A name that needs percent-encoding (the Exporter's uploads).
dav PUT '/dav/kosync/My%20Notes%20%C3%A9t%C3%A9%20(1).md' --data-binary 'notes'
is "PUT of an encoded UTF-8 name: 201" "$STATUS" 201
propfind /dav/kosync/
like "PROPFIND: the name percent-encoded" "$BODY" '/dav/kosync/My%20Notes%20%C3%A9t%C3%A9%20%281%29.md'
check "on disk: the decoded name" test -f "$KS_DIR/dav/alice/kosync/My Notes été (1).md"

# Credentials.
STATUS=$(curl -s -o /dev/null -D "$KS_TMP/dh" -w '%{http_code}' -X PROPFIND -H 'Depth: 1' "$KS_URL/dav/")
is "no credentials: 401" "$STATUS" 401
HEADERS=$(tr -d '\r' <"$KS_TMP/dh")
is "401: WWW-Authenticate" "$(hdr www-authenticate)" 'Basic realm="kosyncd"'
DAV_USER=alice:wrong dav PROPFIND /dav/ -H 'Depth: 1'
is "wrong password: 401" "$STATUS" 401
DAV_USER='bob:50%off' propfind /dav/
is "bob, '%' in the password: 207" "$STATUS" 207
unlike "bob does not see alice's folder" "$BODY" 'kosync'
DAV_USER='bob:50%off' dav GET /dav/kosync/statistics.sqlite3
is "bob cannot read alice's file: 404" "$STATUS" 404
DAV_USER='bob:50%off' dav PUT /dav/kosync/x --data-binary 'x'
is "bob cannot write into alice's folder: 409" "$STATUS" 409

# Bad paths: 400, nothing reached.
for p in '/dav/%2e%2e/%2e%2e/etc/passwd' '/dav/../database.json' '/dav/a%2Fb' \
    '/dav/a%00b' '/dav/a%ZZ' '/dav/%C3%28' '/dav/.kosyncd-props-x' \
    "/dav/$(printf 'n%.0s' $(seq 1 300))"; do
	dav GET "$p"
	is "GET ${p:0:40}: 400" "$STATUS" 400
done
dav PUT '/dav/a%2F..%2Fx' --data-binary 'x'
is "PUT with an encoded '/': 400" "$STATUS" 400

# A symbolic link planted in the tree is never followed or listed.
mkdir -p "$KS_TMP/outside" && echo secret >"$KS_TMP/outside/f"
ln -s "$KS_TMP/outside" "$KS_DIR/dav/alice/link"
ln -s "$KS_TMP/outside/f" "$KS_DIR/dav/alice/flink"
dav GET /dav/link/f
is "GET through a folder link: 404" "$STATUS" 404
dav GET /dav/flink
is "GET of a file link: 403" "$STATUS" 403
dav PUT /dav/link/new --data-binary 'x'
is "PUT through a folder link: 409" "$STATUS" 409
check "nothing written outside" test ! -e "$KS_TMP/outside/new"
propfind /dav/
unlike "links are not listed" "$BODY" 'link'
dav DELETE /dav/kosync/vocabulary_builder.sqlite3
is "DELETE: 204" "$STATUS" 204
dav GET /dav/kosync/vocabulary_builder.sqlite3
is "deleted: 404" "$STATUS" 404
dav OPTIONS /dav/
is "OPTIONS: 200" "$STATUS" 200
is "OPTIONS: DAV: 1" "$(hdr dav)" 1
ks_stop

# Limits: 2 KiB per file, 4000 bytes per account.
KS_DIR=$KS_TMP/small
ks_start --storage file --dav-max-file-bytes 2048 --dav-quota-bytes 4000 ||
    { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"alice","password":"'"$(md5 s3cret)"'"}'
head -c 1500 /dev/urandom >"$KS_TMP/small1"
head -c 4096 /dev/urandom >"$KS_TMP/big"
dav PUT /dav/a --data-binary @"$KS_TMP/small1"
is "PUT within the limits: 201" "$STATUS" 201
# An upload in progress counts: another one cannot pass the quota with it.
# The upload stays in progress until the file "release" exists (a fixed
# sleep let it end first on a loaded machine); -N ends it at once then.
{ printf 'PUT /dav/held HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: 2000\r\n\r\n' \
    "$(printf alice:s3cret | base64)"; head -c 1500 /dev/zero
  for i in $(seq 1 300); do [ -e "$KS_TMP/release" ] && break; sleep 0.1; done; } |
    nc -N -w 40 127.0.0.1 "$KS_PORT" >/dev/null &
NC=$!
# Until the server has the upload's bytes (its temporary file has them).
for i in $(seq 1 400); do
	[ "$(find "$KS_DIR/dav" -name '.kosyncd-tmp-*' -size +0 | wc -l)" = 1 ] && break
	sleep 0.05
done
dav PUT /dav/cc --data-binary @"$KS_TMP/small1"
is "PUT past the quota with an upload in progress: 507" "$STATUS" 507
touch "$KS_TMP/release"
wait "$NC"
dav PUT /dav/cc --data-binary @"$KS_TMP/small1"
is "once that upload is gone: 201" "$STATUS" 201
dav DELETE /dav/cc
dav PUT /dav/a --data-binary @"$KS_TMP/big"
is "PUT over dav_max_file_bytes: 413" "$STATUS" 413
like "413: says which option" "$BODY" 'dav_max_file_bytes'
dav PUT /dav/a -H 'Transfer-Encoding: chunked' --data-binary @"$KS_TMP/big"
is "chunked PUT over dav_max_file_bytes: 413" "$STATUS" 413
dav GET /dav/a
check "after the 413s the file is unchanged" cmp -s "$KS_TMP/db" "$KS_TMP/small1"
dav PUT /dav/b --data-binary @"$KS_TMP/small1"
is "second file: 201" "$STATUS" 201
dav PUT /dav/c --data-binary @"$KS_TMP/small1"
is "over dav_quota_bytes: 507" "$STATUS" 507
like "507: says which option" "$BODY" 'dav_quota_bytes'
dav GET /dav/c
is "the refused file does not exist" "$STATUS" 404
leftover=$(find "$KS_DIR/dav" -name '.kosyncd-tmp-*' | wc -l)
is "no temporary file left behind" "$leftover" 0
ks_stop

# The same failed-login limiter as the sync protocol: 3 wrong WebDAV
# passwords lock the account for both.
KS_DIR=$KS_TMP/limit
ks_start --storage file --auth-fail-per-user 3 || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"alice","password":"'"$(md5 s3cret)"'"}'
for i in 1 2 3; do
	DAV_USER=alice:wrong dav PROPFIND /dav/ -H 'Depth: 0'
done
is "3 wrong passwords: 401" "$STATUS" 401
dav PROPFIND /dav/ -H 'Depth: 0'
is "then the right one over WebDAV: 401 (limited)" "$STATUS" 401
req GET /users/auth "" $(auth alice "$(md5 s3cret)")
is "and over the sync protocol: 401 (the same limiter)" "$STATUS" 401
ks_stop

KS_DIR=$KS_TMP/mem
ks_start --storage memory || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"alice","password":"'"$(md5 s3cret)"'"}'
dav PROPFIND /dav/ -H 'Depth: 1'
is "--storage memory: 501" "$STATUS" 501
like "501: says why" "$BODY" 'WebDAV needs file storage'
ks_stop

done_testing
