#!/usr/bin/env bash
# t124-davweb-redis: the web API's view of the WebDAV files with --storage
# redis does its Redis calls on the thread pool (davweb.c, dav_offload),
# never on the loop: Redis stopped (SIGSTOP) while /api/v1/files/usage
# waits on it, then in the middle of a 16 MB version's download:
# /healthcheck and a page's file answer within 300 ms meanwhile, and after
# SIGCONT the usage, the list of versions and the version's bytes are
# right. A test hook (KOSYNCD_TEST_FAULT_DAV_WEB, fault.h) holds the
# usage's storage work a second before it starts, after the sign-in's
# session lookup (Redis too): the window to stop Redis in.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_allow_stderr 'webdav: '
ks_allow_stderr 'redis: lost the connection'
# hiredis allocates each 64 KiB reply anew: keep ASan's quarantine small
# (as t109 does).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
ks_redis_start || { not_ok "redis started"; done_testing; }
ks_redis_cli FLUSHDB >/dev/null
KOSYNCD_TEST_FAULT_DAV_WEB=1 ks_start --storage redis \
    --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB" \
    --enable-webui --dav-max-file-bytes 40000000 ||
    { not_ok "server started"; done_testing; }
register bob "$(md5 pw)"
is "registered" "$STATUS" 201
U=(-u bob:pw)
head -c 16000000 /dev/urandom >"$KS_TMP/v1"
SUM=$(sha256sum <"$KS_TMP/v1" | cut -d' ' -f1)
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "${U[@]}" -T "$KS_TMP/v1" \
    "$KS_URL/dav/statistics.sqlite3")
is "a 16 MB statistics.sqlite3" "$STATUS" 201
req PUT /dav/statistics.sqlite3 "two" "${U[@]}"
is "replaced: the 16 MB one is kept as version 1" "$STATUS" 204
web POST /api/v1/login '{"username":"bob","password":"pw"}' -c "$KS_TMP/jar"
is "signed in to the web interface" "$STATUS" 200
COOKIE=$(sed 's/^#HttpOnly_//' "$KS_TMP/jar" |
    awk '$1 !~ /^#/ && NF >= 7 { printf "%s=%s; ", $6, $7 }')

# The usage: its storage work held a second (the hook), Redis stopped
# meanwhile, then its Redis call waits on the pool until SIGCONT.
curl -s -m 20 -b "$KS_TMP/jar" -o "$KS_TMP/usage.out" -w '%{http_code}' \
    "$KS_URL/api/v1/files/usage" >"$KS_TMP/usage.code" &
cpid=$!
sleep 0.3
kill -STOP "$KS_REDIS_PID"
ks_fast "Redis stopped, the usage held: /healthcheck" /healthcheck
sleep 0.9 # the usage now waits on Redis
ks_fast "Redis stopped, the usage waiting on it: /healthcheck" /healthcheck
ks_fast "and a page's file" /assets/app.js
kill -CONT "$KS_REDIS_PID"
wait $cpid
is "after SIGCONT the usage answers" "$(cat "$KS_TMP/usage.code")" 200
is "with the right figures" \
    "$(json 'd["bytes"], d["entries"]' <"$KS_TMP/usage.out")" "16000003 2"

web GET "/api/v1/files/versions?path=/statistics.sqlite3" "" -b "$KS_TMP/jar"
is "the list of versions" \
    "$(json '[(v["number"], v["size"]) for v in d["versions"]]' <<<"$BODY")" \
    "[(1, 16000000)]"

# The version read slowly (ks_slow_get), Redis stopped for 0.8 s a
# second into it.
slow_get() { # slow_get URL OUT
	ks_slow_get "$1" "$2" "Cookie: $COOKIE"
}
slow_get "$KS_URL/api/v1/files/versions/1?path=/statistics.sqlite3" \
    "$KS_TMP/v1.got" >"$KS_TMP/get.code" &
cpid=$!
sleep 1
kill -STOP "$KS_REDIS_PID"
sleep 0.3 # the download now waits on Redis
ks_fast "Redis stopped in the middle of a version's download: /healthcheck" /healthcheck
ks_fast "and a page's file" /assets/app.js
sleep 0.5
kill -CONT "$KS_REDIS_PID"
wait $cpid
is "after SIGCONT the download completes" "$(cat "$KS_TMP/get.code")" 200
is "with the version's bytes" "$(sha256sum <"$KS_TMP/v1.got" | cut -d' ' -f1)" "$SUM"

# A download cut off while its chunk waits on a stopped Redis.
slow_get "$KS_URL/api/v1/files/versions/1?path=/statistics.sqlite3" \
    /dev/null >/dev/null &
gpid=$!
sleep 1
kill -STOP "$KS_REDIS_PID"
sleep 0.3
kill "$gpid"
wait "$gpid" 2>/dev/null
kill -CONT "$KS_REDIS_PID"
STATUS=$(curl -s -m 20 -b "$KS_TMP/jar" -o "$KS_TMP/again" -w '%{http_code}' \
    "$KS_URL/api/v1/files/versions/1?path=/statistics.sqlite3")
is "then the version downloads whole" \
    "$STATUS $(sha256sum <"$KS_TMP/again" | cut -d' ' -f1)" "200 $SUM"
web GET "/api/v1/files/versions/9?path=/statistics.sqlite3" "" -b "$KS_TMP/jar"
is "a version not kept: 404" "$STATUS" 404
web GET "/api/v1/files/versions?path=/nowhere/statistics.sqlite3" "" -b "$KS_TMP/jar"
is "a folder that does not exist: 404" "$STATUS" 404
# Redis down: a clear 503.
ks_redis_stop KILL
web GET /api/v1/files/usage "" -b "$KS_TMP/jar"
like "the usage while Redis is down: 5xx" "$STATUS" '^50[23]$'
ks_stop
done_testing
