#!/usr/bin/env bash
# t108-dav-redis: the WebDAV space with --storage redis (docs/webdav.md,
# docs/redis.md "WebDAV files"): litmus's basic, copymove, props and http
# suites with 0 failures; the files live under the account's keys (chunks,
# a folder's hash); an empty upload, a Range, a replaced file keeping its
# dead properties; the web API's usage of the files; the last 5 versions
# of a statistics file kept, listed and served by the web API; deleting the account removes its tree; --storage memory
# still answers 501.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_redis_start || { not_ok "redis started"; done_testing; }
ks_start_backend redis --enable-webui || { not_ok "server started"; done_testing; }
register litmus "$(md5 'li tm%us')"
is "user registered" "$STATUS" 201

if command -v litmus >/dev/null; then
	for suite in basic copymove props http; do
		(cd "$KS_TMP" && TESTS=$suite timeout 120 litmus "$KS_URL/dav/" litmus \
		    'li tm%us') >"$KS_TMP/litmus-$suite" 2>&1
		summary=$(grep "summary for \`$suite'" "$KS_TMP/litmus-$suite")
		like "litmus $suite on redis: ran" "$summary" 'tests run'
		like "litmus $suite on redis: 0 failed" "$summary" ' 0 failed'
		if ! grep -q ' 0 failed' <<<"$summary"; then
			grep -E 'FAIL|WARN' "$KS_TMP/litmus-$suite" | head -n 20 | sed 's/^/#   /'
		fi
	done
else
	ok "# SKIP litmus is not installed"
fi

K=$(md5 pw)
register bob "$K"
U=(-u bob:pw)
head -c 200000 /dev/urandom >"$KS_TMP/f.bin"
req PUT /dav/f.bin "" "${U[@]}" --data-binary "@$KS_TMP/f.bin"
is "PUT of 200,000 bytes: 201" "$STATUS" 201
is "in 4 chunks of 64 KiB" \
    "$(ks_redis_cli --scan --pattern 'kosyncd:user:bob:dav:c:*' | wc -l)" 4
like "the root folder's hash holds the file" \
    "$(ks_redis_cli HGET kosyncd:user:bob:dav:d:root f.bin)" '^f [0-9a-f]+ 200000 '
curl -s "${U[@]}" "$KS_URL/dav/f.bin" -o "$KS_TMP/back.bin"
check "GET gives the same bytes" cmp -s "$KS_TMP/back.bin" "$KS_TMP/f.bin"
curl -s "${U[@]}" -r 65530-65545 "$KS_URL/dav/f.bin" -o "$KS_TMP/range.bin"
check "a Range across two chunks" cmp -s "$KS_TMP/range.bin" \
    <(tail -c +65531 "$KS_TMP/f.bin" | head -c 16)
req PUT /dav/empty.txt "" "${U[@]}" --data-binary ""
is "an empty file: 201" "$STATUS" 201
req GET /dav/empty.txt "" "${U[@]}"
is "read back empty" "$STATUS:${#BODY}" "200:0"
web POST /api/v1/login '{"username":"bob","password":"pw"}' -c "$KS_TMP/jar"
web GET /api/v1/files/usage "" -b "$KS_TMP/jar"
is "the web API counts the files in Redis" \
    "$(json 'd["bytes"], d["entries"], d["max_entries"]' <<<"$BODY")" "200000 2 10000"
# Versions of a statistics file (dav_versions, 5 by default).
for i in 1 2 3 4 5 6 7; do
	req PUT /dav/statistics.sqlite3 "content $i" "${U[@]}"
done
is "the last upload of statistics.sqlite3" "$STATUS" 204
web GET "/api/v1/files/versions?path=/statistics.sqlite3" "" -b "$KS_TMP/jar"
is "the 5 newest versions are kept, newest first" \
    "$(json '[v["number"] for v in d["versions"]], [v["size"] for v in d["versions"]][0]' <<<"$BODY")" \
    "[6, 5, 4, 3, 2] 9"
web GET "/api/v1/files/versions/2?path=/statistics.sqlite3" "" -b "$KS_TMP/jar"
is "version 2 downloads the second upload" "$STATUS $BODY" "200 content 2"
web GET "/api/v1/files/versions/1?path=/statistics.sqlite3" "" -b "$KS_TMP/jar"
is "version 1 was dropped" "$STATUS" 404
req GET /dav/statistics.sqlite3 "" "${U[@]}"
is "the current file" "$BODY" "content 7"
web GET /api/v1/files/usage "" -b "$KS_TMP/jar"
is "versions count in the usage" \
    "$(json 'd["bytes"], d["entries"]' <<<"$BODY")" "200054 8"
req PROPFIND /dav/ "" "${U[@]}" -H 'Depth: 1'
is "versions are not listed over WebDAV" "$(grep -o '<D:response>' <<<"$BODY" | wc -l)" 4
req PROPPATCH /dav/f.bin '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>blue</Z:color></D:prop></D:set></D:propertyupdate>' "${U[@]}"
is "PROPPATCH: 207" "$STATUS" 207
old=$(ks_redis_cli HGET kosyncd:user:bob:dav:d:root f.bin | cut -d' ' -f2)
req PUT /dav/f.bin "small" "${U[@]}"
is "PUT over it: 204" "$STATUS" 204
new=$(ks_redis_cli HGET kosyncd:user:bob:dav:d:root f.bin | cut -d' ' -f2)
ttl=$(ks_redis_cli TTL "kosyncd:user:bob:dav:c:$old:0")
check "the old chunks expire within 5 minutes ($ttl)" test "$ttl" -gt 0 -a "$ttl" -le 300
is "the new chunk does not" "$(ks_redis_cli TTL "kosyncd:user:bob:dav:c:$new:0")" -1
req PROPFIND /dav/f.bin '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:z"/><D:getcontentlength/></D:prop></D:propfind>' "${U[@]}" -H 'Depth: 0'
like "the replaced file kept its dead property" "$BODY" '>blue<'
like "and has its new length" "$BODY" '<D:getcontentlength>5</D:getcontentlength>'

req DELETE /users/me "" $(auth bob "$K")
is "the account deleted" "$STATUS" 200
sleep 0.5
is "its tree went with it" \
    "$(ks_redis_cli --scan --pattern 'kosyncd:user:bob:dav:*' | wc -l)" 0
register bob "$K"
req PROPFIND /dav/ "" "${U[@]}" -H 'Depth: 1'
is "a new account of the name: an empty tree" \
    "$(grep -o '<D:response>' <<<"$BODY" | wc -l)" 1
ks_stop

ks_start --storage memory || { not_ok "memory server started"; done_testing; }
register m "$K"
req PROPFIND /dav/ "" -u m:pw -H 'Depth: 1'
is "--storage memory: 501" "$STATUS" 501
ks_stop
done_testing
