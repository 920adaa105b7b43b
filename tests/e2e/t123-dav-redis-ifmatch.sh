#!/usr/bin/env bash
# t123-dav-redis-ifmatch: on Redis an upload's If-Match and If-None-Match
# hold at its commit (docs/redis.md "WebDAV files"): the commit script
# compares the entry the precondition was checked against, atomically
# with the commit. A test hook (KOSYNCD_TEST_FAULT_DAV_COMMIT, fault.h)
# holds one commit a second between its check and its commit; another
# upload landing in that window makes it 412 and leaves the other's file.
# KOReader's forms of the ETag (W/, no quotes) still succeed.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_redis_start || { not_ok "redis started"; done_testing; }
ks_redis_cli FLUSHDB >/dev/null
start_redis() {
	KOSYNCD_TEST_FAULT_DAV_COMMIT=$1 ks_start --storage redis \
	    --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB"
}
# race PATH HEADER WANT: a PUT of "mine" with HEADER, held between its
# check and its commit, while a PUT of "theirs" (answered WANT) lands;
# the first one's answer into $KS_TMP/mine.code and mine.out.
race() {
	curl -s -o "$KS_TMP/mine.out" -w '%{http_code}' "${U[@]}" -T - \
	    -H "$2" "$KS_URL$1" <<<"mine" >"$KS_TMP/mine.code" &
	cpid=$!
	sleep 0.4
	req PUT "$1" "theirs" "${U[@]}"
	is "another upload lands between its check and its commit" "$STATUS" "$3"
	wait $cpid
}
etag_of() {
	curl -s -D - -o /dev/null "${U[@]}" "$KS_URL$1" | tr -d '\r' |
	    sed -n 's/^ETag: //Ip'
}
# The second commit waits between its check and its commit.
start_redis 2 || { not_ok "server started"; done_testing; }
register alice "$(md5 pw)"
is "registered" "$STATUS" 201
U=(-u alice:pw)

req PUT /dav/statistics.sqlite3 "one" "${U[@]}"
is "the first upload" "$STATUS" 201
tag=$(etag_of /dav/statistics.sqlite3)
race /dav/statistics.sqlite3 "If-Match: W/$tag" 204
is "the upload whose If-Match no longer holds: 412" "$(cat "$KS_TMP/mine.code")" 412
like "it says why" "$(cat "$KS_TMP/mine.out")" 'precondition failed'
req GET /dav/statistics.sqlite3 "" "${U[@]}"
is "the other upload's file stands" "$STATUS $BODY" "200 theirs"
versions=$(ks_redis_cli HGET kosyncd:user:alice:dav:v:root statistics.sqlite3 | wc -l)
is "one version kept (the refused upload kept none)" "$versions" 1

tag=$(etag_of /dav/statistics.sqlite3)
req PUT /dav/statistics.sqlite3 "w" "${U[@]}" -H "If-Match: W/$tag"
is "If-Match with KOReader's W/ form: 204" "$STATUS" 204
tag=$(etag_of /dav/statistics.sqlite3)
req PUT /dav/statistics.sqlite3 "bare" "${U[@]}" -H "If-Match: ${tag//\"/}"
is "If-Match without quotes: 204" "$STATUS" 204
req PUT /dav/statistics.sqlite3 "stale" "${U[@]}" -H "If-Match: $tag"
is "a stale If-Match: 412" "$STATUS" 412
req GET /dav/statistics.sqlite3 "" "${U[@]}"
is "and the file is unchanged" "$BODY" "bare"
ks_stop

# If-None-Match: * against a file made in the window.
start_redis 1 || { not_ok "server restarted"; done_testing; }
race /dav/new.txt "If-None-Match: *" 201
is "If-None-Match: * no longer holds: 412" "$(cat "$KS_TMP/mine.code")" 412
req GET /dav/new.txt "" "${U[@]}"
is "the other upload's file stands" "$STATUS $BODY" "200 theirs"
req PUT /dav/other.txt "x" "${U[@]}" -H "If-None-Match: *"
is "If-None-Match: * on a missing name: 201" "$STATUS" 201
req PUT /dav/other.txt "y" "${U[@]}" -H "If-None-Match: *"
is "and on an existing one: 412" "$STATUS" 412
ks_stop
done_testing
