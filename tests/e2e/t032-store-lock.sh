#!/usr/bin/env bash
# t032-store-lock: one kosyncd per data directory; a missing data
# directory is created; one that cannot be created is a clear error.
#
# Covers: a second kosyncd on the same directory exits 1 at once with a
# message naming the directory and the lock, and the first keeps serving;
# after the first stops, a new one starts on the directory; a missing
# data directory is created (mode 0700); a data directory under a missing
# parent fails with "cannot create data directory".
. "$(dirname "$0")/lib.sh"

ks_start || exit 1
req POST /users/create "{\"username\":\"u\",\"password\":\"$(md5 p)\"}"
is "first server serves" "$STATUS" 201
timeout 10 "$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 \
    2>"$KS_TMP/second.err"
is "second server exits 1" "$?" 1
like "second server says the directory is in use" \
    "$(cat "$KS_TMP/second.err")" "data directory '$KS_DIR' is in use by another kosyncd \(lock '$KS_DIR/kosyncd.lock' is held\)"
req GET /users/auth "" $(auth u "$(md5 p)")
is "first server still serves" "$STATUS" 200
ks_stop
ks_start || exit 1
req GET /users/auth "" $(auth u "$(md5 p)")
is "a new server starts once the first stopped" "$STATUS" 200
ks_stop

# A missing data directory is created.
KS_DIR=$KS_TMP/fresh
"$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 \
    2>"$KS_TMP/fresh.err" &
pid=$!
for i in $(seq 1 400); do
	grep -q listening "$KS_TMP/fresh.err" && break
	sleep 0.05
done
check "missing data directory created" test -d "$KS_DIR"
is "data directory mode" "$(stat -c %a "$KS_DIR")" 700
kill -TERM $pid
wait $pid
rc=$?
is "server on a fresh directory exits 0" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$KS_TMP/fresh.err"

timeout 10 "$KOSYNCD" --data-dir "$KS_TMP/no/such/dir" \
    --listen-address 127.0.0.1:0 2>"$KS_TMP/missing.err"
is "uncreatable data directory: exit 1" "$?" 1
like "uncreatable data directory: message" "$(cat "$KS_TMP/missing.err")" \
    "cannot create data directory '$KS_TMP/no/such/dir': No such file or directory"
done_testing
