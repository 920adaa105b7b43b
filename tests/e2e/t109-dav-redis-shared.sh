#!/usr/bin/env bash
# t109-dav-redis-shared: WebDAV on Redis behind a load balancer: two
# instances on one Redis serve the same tree (a PUT, MKCOL, MOVE, DELETE
# through one is seen at once through the other); a 30 MB PUT and GET
# stream through 64 KiB chunks (peak RSS grows by a few MB at most); Redis
# hanging during an upload gives a clear 503 and leaves the old file, and
# the upload's chunks expire; while Redis stalls under a WebDAV request
# /healthcheck and a page's file are answered within 300 ms (the
# request's lookup is off the loop); Redis stopped (SIGSTOP) for a second
# in the middle of a 30 MB GET and of a 16 MB PUT: /healthcheck and a
# page's file answer within 300 ms meanwhile (each chunk is read or
# written on the thread pool, the body paused), and after SIGCONT the
# transfer completes with the right bytes, or, its client gone, changes
# nothing; a PUT while Redis is down is a 503 too.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_allow_stderr 'webdav: '
ks_allow_stderr 'redis: lost the connection'
# hiredis allocates each 64 KiB command and reply anew: ASan's quarantine
# (256 MB, and 1 MB more per thread: the chunks are read and written on
# the pool's threads) would hold every freed one and hide what is live.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$KS_PID/status"; }
ks_redis_start || { not_ok "redis started"; done_testing; }
ks_redis_cli FLUSHDB >/dev/null
start_two --dav-max-file-bytes 40000000 || { not_ok "servers started"; done_testing; }
K=$(md5 pw)
on A POST /users/create '{"username":"alice","password":"'"$K"'"}'
is "registered through A" "$STATUS" 201
U=(-u alice:pw)

on A MKCOL /dav/kosync "" "${U[@]}"
is "MKCOL through A" "$STATUS" 201
on A PUT /dav/kosync/statistics.sqlite3 "one" "${U[@]}"
is "PUT through A" "$STATUS" 201
etag=$(curl -s -D - -o /dev/null "${U[@]}" "$KS_URL_A/dav/kosync/statistics.sqlite3" | tr -d '\r' | sed -n 's/^ETag: //Ip')
on B GET /dav/kosync/statistics.sqlite3 "" "${U[@]}"
is "GET through B at once" "$STATUS $BODY" "200 one"
on B PROPFIND /dav/kosync/ "" "${U[@]}" -H 'Depth: 1'
like "PROPFIND through B lists it" "$BODY" '/dav/kosync/statistics.sqlite3<'
like "with the same ETag as A's" "$BODY" "<D:getetag>$etag</D:getetag>"
on B PUT /dav/kosync/statistics.sqlite3 "two" "${U[@]}" -H "If-Match: W/$etag"
is "a PUT through B with A's ETag (W/, KOReader): 204" "$STATUS" 204
on A PUT /dav/kosync/statistics.sqlite3 "three" "${U[@]}" -H "If-Match: $etag"
is "the stale ETag through A: 412" "$STATUS" 412
on A MOVE /dav/kosync "" "${U[@]}" -H "Destination: /dav/moved"
is "MOVE of the folder through A" "$STATUS" 201
on B GET /dav/moved/statistics.sqlite3 "" "${U[@]}"
is "B reads it at its new place" "$STATUS $BODY" "200 two"
on B DELETE /dav/moved "" "${U[@]}"
is "DELETE through B" "$STATUS" 204
on A PROPFIND /dav/ "" "${U[@]}" -H 'Depth: 1'
is "A sees the tree empty" "$(grep -o '<D:response>' <<<"$BODY" | wc -l)" 1

# A large file through B (the current instance), streamed.
head -c 30000000 /dev/urandom >"$KS_TMP/big"
SUM=$(md5sum <"$KS_TMP/big" | cut -d' ' -f1)
head -c 1000000 /dev/urandom >"$KS_TMP/mb"
curl -s -o /dev/null "${U[@]}" -T "$KS_TMP/mb" "$KS_URL_B/dav/warm"
curl -s -o /dev/null "${U[@]}" "$KS_URL_B/dav/warm"
before=$(hwm)
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "${U[@]}" -T "$KS_TMP/big" "$KS_URL_B/dav/big")
is "30 MB PUT: 201" "$STATUS" 201
after=$(hwm)
check "30 MB PUT: peak RSS grew by less than 8 MB ($before -> $after kB)" \
    [ $((after - before)) -lt 8192 ]
id=$(ks_redis_cli HGET kosyncd:user:alice:dav:d:root big | cut -d' ' -f2)
is "in 458 chunks of 64 KiB" \
    "$(ks_redis_cli --scan --pattern "kosyncd:user:alice:dav:c:$id:*" | wc -l)" 458
GOT=$(curl -s "${U[@]}" "$KS_URL_A/dav/big" | md5sum | cut -d' ' -f1)
is "30 MB GET through the other instance: the bytes" "$GOT" "$SUM"
GOT=$(curl -s "${U[@]}" "$KS_URL_B/dav/big" | md5sum | cut -d' ' -f1)
is "30 MB GET: the bytes" "$GOT" "$SUM"
after2=$(hwm)
check "30 MB GET: peak RSS grew by less than 8 MB ($before -> $after2 kB)" \
    [ $((after2 - before)) -lt 8192 ]

# Redis hangs during an upload: 503, the old file stays.
on B PUT /dav/f.txt "old" "${U[@]}"
is "the old file" "$STATUS" 201
keys0=$(ks_redis_cli DBSIZE)
head -c 3000000 /dev/urandom >"$KS_TMP/three"
curl -s -o "$KS_TMP/hang.out" -w '%{http_code}' --limit-rate 1M "${U[@]}" \
    -T "$KS_TMP/three" "$KS_URL_B/dav/f.txt" >"$KS_TMP/hang.code" &
cpid=$!
sleep 1
kill -STOP "$KS_REDIS_PID"
wait $cpid
kill -CONT "$KS_REDIS_PID"
is "Redis hung during the upload: 503" "$(cat "$KS_TMP/hang.code")" 503
like "it says why" "$(cat "$KS_TMP/hang.out")" 'file storage is unavailable'
# Just after the hang a request may fail (503, or a download cut short).
for i in $(seq 1 30); do
	: >"$KS_TMP/b"
	on B GET /dav/f.txt "" "${U[@]}"
	[ "$STATUS $BODY" = "200 old" ] && break
	sleep 0.1
done
is "the old file is intact" "$STATUS $BODY" "200 old"
left=$(ks_redis_cli --scan --pattern 'kosyncd:user:alice:dav:c:*' |
    while read -r k; do ks_redis_cli TTL "$k"; done | awk '$1 > 300' | wc -l)
check "what the upload wrote is gone or expires within a day ($left left)" \
    [ "$(ks_redis_cli DBSIZE)" -le $((keys0 + left)) ]

# Redis stopped for a second in the middle of a large GET, then of a
# large PUT: the loop goes on answering, the transfer completes.
# stopped_under WHAT: a second into a transfer, Redis stopped for 0.8 s.
stopped_under() {
	sleep 1
	kill -STOP "$KS_REDIS_PID"
	sleep 0.3 # the transfer now waits on Redis
	ks_fast "Redis stopped in the middle of a $1: /healthcheck" /healthcheck
	ks_fast "and a page's file" /assets/app.js
	sleep 0.5
	kill -CONT "$KS_REDIS_PID"
}
use B # ks_fast asks the current instance
# The 30 MB file, read slowly (ks_slow_get).
slow_get() { # slow_get URL OUT
	ks_slow_get "$1" "$2" "Authorization: Basic $(printf alice:pw | base64)"
}
SUM=$(sha256sum <"$KS_TMP/big" | cut -d' ' -f1)
slow_get "$KS_URL_B/dav/big" "$KS_TMP/big.got" >"$KS_TMP/get.code" &
cpid=$!
stopped_under GET
wait $cpid
is "after SIGCONT the GET completes" "$(cat "$KS_TMP/get.code")" 200
is "with the right bytes" "$(sha256sum <"$KS_TMP/big.got" | cut -d' ' -f1)" "$SUM"
head -c 16000000 /dev/urandom >"$KS_TMP/mid2"
SUM=$(sha256sum <"$KS_TMP/mid2" | cut -d' ' -f1)
curl -s -o /dev/null -w '%{http_code}' --limit-rate 4M "${U[@]}" \
    -T "$KS_TMP/mid2" "$KS_URL_B/dav/mid" >"$KS_TMP/put.code" &
cpid=$!
stopped_under PUT
wait $cpid
is "after SIGCONT the PUT completes" "$(cat "$KS_TMP/put.code")" 201
GOT=$(curl -s "${U[@]}" "$KS_URL_A/dav/mid" | sha256sum | cut -d' ' -f1)
is "the new bytes, whole, through the other instance" "$GOT" "$SUM"
id=$(ks_redis_cli HGET kosyncd:user:alice:dav:d:root mid | cut -d' ' -f2)
is "in 245 chunks of 64 KiB" \
    "$(ks_redis_cli --scan --pattern "kosyncd:user:alice:dav:c:$id:*" | wc -l)" 245
# Clients gone while their chunks wait on Redis: nothing changes.
curl -s -o /dev/null --limit-rate 4M "${U[@]}" -T "$KS_TMP/big" \
    "$KS_URL_B/dav/mid" &
cpid=$!
slow_get "$KS_URL_B/dav/big" /dev/null >/dev/null &
gpid=$!
sleep 1
kill -STOP "$KS_REDIS_PID"
sleep 0.3
kill "$cpid" "$gpid"
wait "$cpid" "$gpid" 2>/dev/null
kill -CONT "$KS_REDIS_PID"
GOT=$(curl -s "${U[@]}" "$KS_URL_B/dav/mid" | sha256sum | cut -d' ' -f1)
is "an upload and a download cut off while Redis stopped: the file unchanged" "$GOT" "$SUM"

# Redis stalls while a WebDAV request waits on it: the loop goes on
# answering (the request's Redis calls are on the thread pool). CLIENT
# PAUSE WRITE lets the sign-in's reads through and holds the tree's
# scripts (a SIGSTOP would hold the sign-in, before any tree call).
on B PROPFIND /dav/ "" "${U[@]}" -H 'Depth: 1'
is "PROPFIND before the stall" "$STATUS" 207
ks_redis_cli CLIENT PAUSE 1500 WRITE >/dev/null
curl -s -o /dev/null -w '%{http_code}' --max-time 20 "${U[@]}" \
    -X PROPFIND -H 'Depth: 1' "$KS_URL_B/dav/" >"$KS_TMP/wait.code" &
cpid=$!
sleep 0.3
ks_fast "Redis stalled, a WebDAV request waiting: /healthcheck" /healthcheck
ks_fast "and a page's file" /assets/app.js
wait $cpid
is "the waiting request is answered after the stall" "$(cat "$KS_TMP/wait.code")" 207
on B PUT /dav/after.txt "after" "${U[@]}"
is "and WebDAV takes an upload" "$STATUS" 201

# Redis down: PUT and PROPFIND answer 503 at once.
ks_redis_stop KILL
on B PUT /dav/g.txt "new" "${U[@]}"
like "PUT while Redis is down: 5xx" "$STATUS" '^50[23]$'
stop_two
done_testing
