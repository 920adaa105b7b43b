#!/usr/bin/env bash
# t102-dav-large: uploads and downloads do not hold files in memory: a
# 100 MB PUT (Content-Length, then chunked) and a 100 MB GET each grow the
# server's peak RSS by a few MB at most; the bytes round-trip exactly. An
# upload cut off midway leaves the old file and no temporary file; a
# stalled upload does not stop other requests from being answered; a crash
# (kill -9) during an upload leaves the old file, and its temporary file is
# removed once it is a day old.
. "$(dirname "$0")/lib.sh"

hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$KS_PID/status"; }

ks_start --storage file --dav-max-file-bytes 200000000 --idle-timeout-ms 3000 ||
    { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"alice","password":"'"$(md5 pw)"'"}'
is "registered" "$STATUS" 201

head -c 1000000 /dev/urandom >"$KS_TMP/mb"
for i in $(seq 1 100); do cat "$KS_TMP/mb"; done >"$KS_TMP/big"
SUM=$(md5sum <"$KS_TMP/big" | cut -d' ' -f1)
# Warm up (first allocations of the sanitizer, the first upload's buffers).
curl -s -o /dev/null -u alice:pw -T "$KS_TMP/mb" "$KS_URL/dav/warm"
before=$(hwm)
like "VmHWM read" "$before" "^[0-9]+$"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u alice:pw -T "$KS_TMP/big" "$KS_URL/dav/big")
is "100 MB PUT: 201" "$STATUS" 201
after=$(hwm)
check "100 MB PUT: peak RSS grew by less than 8 MB ($before -> $after kB)" \
    [ $((after - before)) -lt 8192 ]
is "100 MB PUT: stored exactly" "$(md5sum <"$KS_DIR/dav/alice/big" | cut -d' ' -f1)" "$SUM"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u alice:pw -H 'Transfer-Encoding: chunked' \
    -T "$KS_TMP/big" "$KS_URL/dav/big")
is "100 MB chunked PUT: 204" "$STATUS" 204
after2=$(hwm)
check "chunked PUT: peak RSS grew by less than 8 MB ($before -> $after2 kB)" \
    [ $((after2 - before)) -lt 8192 ]
GOT=$(curl -s -u alice:pw "$KS_URL/dav/big" | md5sum | cut -d' ' -f1)
is "100 MB GET: the bytes" "$GOT" "$SUM"
after3=$(hwm)
check "100 MB GET: peak RSS grew by less than 8 MB ($before -> $after3 kB)" \
    [ $((after3 - before)) -lt 8192 ]

# Cut off midway: the old file stays, no temporary file is left.
echo old >"$KS_TMP/old"
curl -s -o /dev/null -u alice:pw -T "$KS_TMP/old" "$KS_URL/dav/f"
{ printf 'PUT /dav/f HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: 100000\r\n\r\n' \
    "$(printf alice:pw | base64)"; head -c 5000 /dev/zero; } |
    nc -q 0 -w 2 127.0.0.1 "$KS_PORT" >/dev/null
sleep 0.5
is "cut-off PUT: the old file stays" "$(curl -s -u alice:pw "$KS_URL/dav/f")" old
is "cut-off PUT: no temporary file" "$(find "$KS_DIR/dav" -name '.kosyncd-tmp-*' | wc -l)" 0

# A stalled upload: other requests are answered meanwhile; it times out.
{ printf 'PUT /dav/g HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: 100000\r\n\r\n' \
    "$(printf alice:pw | base64)"; head -c 5000 /dev/zero; sleep 6; } |
    nc -w 10 127.0.0.1 "$KS_PORT" >"$KS_TMP/stalled" &
NC=$!
sleep 0.5
req GET /healthcheck
is "during a stalled upload: healthcheck 200" "$STATUS" 200
wait "$NC"
like "stalled upload: 408 after idle_timeout_ms" "$(head -n 1 "$KS_TMP/stalled")" '408'
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u alice:pw "$KS_URL/dav/g")
is "stalled upload: nothing stored" "$STATUS" 404
is "stalled upload: no temporary file" "$(find "$KS_DIR/dav" -name '.kosyncd-tmp-*' | wc -l)" 0

# kill -9 in the middle of an upload.
{ printf 'PUT /dav/f HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nContent-Length: 100000\r\n\r\n' \
    "$(printf alice:pw | base64)"; head -c 70000 /dev/zero; sleep 5; } |
    nc -w 7 127.0.0.1 "$KS_PORT" >/dev/null &
NC=$!
# Until 64 KiB of the upload were written to its temporary file.
for i in $(seq 1 100); do
	[ "$(find "$KS_DIR/dav" -name '.kosyncd-tmp-*' -size +60k | wc -l)" = 1 ] && break
	sleep 0.05
done
ks_kill9
wait "$NC" 2>/dev/null
ks_start --storage file || { not_ok "server restarted"; done_testing; }
is "after kill -9: the old file" "$(curl -s -u alice:pw "$KS_URL/dav/f")" old
tmp=$(find "$KS_DIR/dav" -name '.kosyncd-tmp-*')
is "after kill -9: the upload's temporary file is left" "$(printf '%s' "$tmp" | grep -c .)" 1
curl -s -o /dev/null -u alice:pw -T "$KS_TMP/old" "$KS_URL/dav/f2"
check "a fresh temporary file is kept" test -e "$tmp"
touch -d '2 days ago' "$tmp"
curl -s -o /dev/null -u alice:pw -T "$KS_TMP/old" "$KS_URL/dav/f3"
check "a day-old temporary file is removed by the next upload" test ! -e "$tmp"
ks_stop

done_testing
