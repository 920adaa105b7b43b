#!/usr/bin/env bash
# t043-fault-readonly: a data directory that is or becomes read-only.
# The second part needs root (a tmpfs mounted as the data directory and
# remounted read-only); it is skipped otherwise.
#
# Linux refuses to remount a file system read-only while a file on it is
# open for writing (the journal always is), so a running server meets a
# read-only file system only when the kernel forces it (ext4
# errors=remount-ro after an I/O error): every write on the open journal
# then fails with EROFS. Part 1 simulates exactly that with the test-build
# knob KOSYNCD_TEST_FAULT_WRITE=N+:EROFS: pushes, registrations, password
# changes and deletions get 502 and the unknown-error JSON and change
# nothing; reads and authentication keep working; after a restart
# everything acknowledged is there.
#
# Part 2: starting on a directory that is already read-only (tmpfs
# remounted read-only between two runs) is refused at startup with a
# message naming the file and the cause, exit status 1, and the files are
# left untouched; remounted read-write, the server starts and serves
# everything written before, snapshot and journal alike.
. "$(dirname "$0")/lib.sh"

KEY=$(md5 secret)
KEY2=$(md5 other)
A=$(auth ro "$KEY")
ERR='{"code":2000,"message":"Unknown server error."}'

ks_allow_stderr 'warning: cannot write journal .*Read-only file system'

# Part 1: the file system turns read-only under a running server. The
# registration and the first push are the first two journal writes.
KOSYNCD_TEST_FAULT_WRITE=3+:EROFS ks_start
req POST /users/create "{\"username\":\"ro\",\"password\":\"$KEY\"}"
is "register" "$STATUS" 201
req PUT /syncs/progress '{"document":"d1","progress":"v1","percentage":0.5,"device":"t"}' $A
is "push" "$STATUS" 200
req PUT /syncs/progress '{"document":"d1","progress":"w1","percentage":0.5,"device":"t"}' $A
is "push refused once read-only" "$STATUS $BODY" "502 $ERR"
like "as JSON" "$CTYPE" '^application/json'
like "the log says why" "$(grep 'warning:' "$KS_ERR.new")" \
    'cannot write journal .*Read-only file system'
req GET /syncs/progress/d1 "" $A
like "refused push changed nothing" "$STATUS $BODY" '^200 .*"progress":"v1"'
req POST /users/create "{\"username\":\"ro2\",\"password\":\"$KEY\"}"
is "registration refused" "$STATUS $BODY" "502 $ERR"
req GET /users/auth "" $(auth ro2 "$KEY")
is "refused registration did not happen" "$STATUS" 401
req PUT /users/password "{\"password\":\"$KEY2\"}" $A
is "password change refused" "$STATUS $BODY" "502 $ERR"
req GET /users/auth "" $A
is "old key still works" "$STATUS $BODY" '200 {"authorized":"OK"}'
req DELETE /users/me "" $A
is "account deletion refused" "$STATUS $BODY" "502 $ERR"
req GET /users/auth "" $A
is "account still there" "$STATUS" 200
req GET /healthcheck
is "health check" "$STATUS $BODY" '200 {"state":"OK"}'
ks_kill9
ks_start
req GET /syncs/progress/d1 "" $A
like "after restart: the acknowledged push" "$BODY" '"progress":"v1"'
req GET /users/auth "" $A
is "after restart: the old key" "$STATUS" 200
ks_stop

# Part 2: start on a read-only directory.
if [ "$(id -u)" != 0 ]; then
	echo "ok $((KS_N + 1)) # skip needs root to mount a tmpfs"
	KS_N=$((KS_N + 1))
	done_testing
fi
rm -rf "$KS_DIR"
mkdir -p "$KS_DIR"
if ! mount -t tmpfs -o size=1m,mode=0700 tmpfs "$KS_DIR" 2>/dev/null; then
	echo "ok $((KS_N + 1)) # skip cannot mount a tmpfs here"
	KS_N=$((KS_N + 1))
	done_testing
fi
cleanup_mount() {
	if [ -n "$KS_PID" ] && kill -0 "$KS_PID" 2>/dev/null; then
		kill -KILL "$KS_PID" 2>/dev/null
		wait "$KS_PID" 2>/dev/null
	fi
	umount "$KS_DIR" 2>/dev/null
	ks_cleanup
}
trap cleanup_mount EXIT

ks_start
req POST /users/create "{\"username\":\"ro\",\"password\":\"$KEY\"}"
is "register" "$STATUS" 201
req PUT /syncs/progress '{"document":"d1","progress":"v1","percentage":0.5,"device":"t"}' $A
is "push" "$STATUS" 200
ks_stop
# One change left in the journal only (SIGKILL: no compaction).
ks_start
req PUT /syncs/progress '{"document":"d2","progress":"v2","percentage":0.5,"device":"t"}' $A
is "push into the journal" "$STATUS" 200
ks_kill9

sums_before=$(cd "$KS_DIR" && find . -type f -exec md5sum {} + | sort)
check "remount read-only" mount -o remount,ro "$KS_DIR"
"$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 \
    2>"$KS_TMP/ro.err" &
pid=$!
for i in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if kill -0 "$pid" 2>/dev/null; then
	kill -KILL "$pid"
	wait "$pid"
	not_ok "start on a read-only data directory is refused"
else
	wait "$pid"
	is "start on a read-only data directory is refused (exit 1)" "$?" 1
fi
like "with a message naming the directory and the cause" \
    "$(cat "$KS_TMP/ro.err")" "$KS_DIR.*Read-only file system"
sums_after=$(cd "$KS_DIR" && find . -type f -exec md5sum {} + | sort)
is "files untouched" "$sums_after" "$sums_before"

check "remount read-write" mount -o remount,rw "$KS_DIR"
ks_start
req GET /syncs/progress/d1 "" $A
like "after remounting: snapshot data there" "$BODY" '"progress":"v1"'
req GET /syncs/progress/d2 "" $A
like "after remounting: journal data there" "$BODY" '"progress":"v2"'
req PUT /syncs/progress '{"document":"d1","progress":"w1","percentage":0.5,"device":"t"}' $A
is "and writes work again" "$STATUS" 200
ks_stop
done_testing
