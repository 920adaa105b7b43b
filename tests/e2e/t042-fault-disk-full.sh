#!/usr/bin/env bash
# t042-fault-disk-full: a full disk refuses writes, keeps reads, loses
# nothing, and heals without a restart. Needs root (a small tmpfs is
# mounted as the data directory); skipped otherwise.
#
# Covers: pushes on a 1 MiB tmpfs; a filler file takes the rest of the
# space; pushes go on into the zeros the journal writes ahead of its
# records (answered 200: they must survive), then pushes and
# registrations get 502 {"code":2000,...} JSON (a few may still fit in
# the journal's last page: answered 200 too); reads and the health check keep working; after the
# filler is removed pushes succeed again on the same process; a clean stop
# while the disk is full again (compaction cannot write its snapshot) never
# leaves a truncated database.json; after a restart every acknowledged push
# is there.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "ok 1 # skip needs root to mount a tmpfs"
	echo "1..1"
	exit 0
fi
mkdir -p "$KS_DIR"
if ! mount -t tmpfs -o size=1m,mode=0700 tmpfs "$KS_DIR" 2>/dev/null; then
	echo "ok 1 # skip cannot mount a tmpfs here"
	echo "1..1"
	exit 0
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

# The store says why writes fail, and may say it again at shutdown.
ks_allow_stderr 'warning: .*(No space left on device|journal|snapshot|database\.json|compact)'

KEY=$(md5 secret)
A=$(auth full "$KEY")
ACKED=$KS_TMP/acked

push() {
	req PUT /syncs/progress \
	    "{\"document\":\"$1\",\"progress\":\"$2\",\"percentage\":0.25,\"device\":\"t\"}" $A
	if [ "$STATUS" = 200 ]; then
		echo "$1 $2" >>"$ACKED"
	fi
}

fill() {
	dd if=/dev/zero of="$KS_DIR/filler" bs=4k 2>/dev/null
	sync
}

# json_ok FILE: FILE exists and is a complete JSON document.
json_ok() {
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
}

ks_start
req POST /users/create "{\"username\":\"full\",\"password\":\"$KEY\"}"
is "register" "$STATUS" 201
for i in 1 2 3; do
	push "d$i" "v$i"
	is "push d$i before the disk fills" "$STATUS" 200
done

fill
# The journal keeps 256 KiB of zeros written ahead of its records
# (src/journal.c): pushes go on into them, durable, until they run out.
# 4 KiB pushes use them up within ~64.
# A refused write gives back what was left of them (a record's bytes are
# never left behind one), and small pushes may fill that: push small ones
# until the first is refused too.
pad=$(printf '%4000s' '' | tr ' ' p)
for i in $(seq 1 200); do
	push dfull "f$i-$pad"
	[ "$STATUS" = 200 ] || break
done
like "pushes went on into the zeros written ahead" "$i" '^([2-9][0-9]|1[0-9][0-9])$'
refused=0
for i in $(seq 1 100); do
	push dfull "f$i"
	if [ "$STATUS" != 200 ]; then
		refused=1
		break
	fi
done
is "a push on a full disk is refused" "$refused" 1
is "with 502" "$STATUS" 502
is "and the unknown-error JSON" "$BODY" '{"code":2000,"message":"Unknown server error."}'
like "as JSON" "$CTYPE" '^application/json'
for i in 1 2 3; do
	push "d$i" "x$i"
	is "push d$i refused too" "$STATUS" 502
done
req POST /users/create "{\"username\":\"newbie\",\"password\":\"$KEY\"}"
is "registration refused on a full disk" "$STATUS $BODY" \
    '502 {"code":2000,"message":"Unknown server error."}'
req GET /syncs/progress/d2 "" $A
like "reads still work" "$STATUS $BODY" '^200 .*"progress":"v2"'
req GET /healthcheck
is "health check still works" "$STATUS $BODY" '200 {"state":"OK"}'
req GET /users/auth "" $(auth newbie "$KEY")
is "the refused registration did not happen" "$STATUS" 401
if [ -e "$KS_DIR/database.json" ]; then
	check "database.json intact while full" json_ok "$KS_DIR/database.json"
fi

rm -f "$KS_DIR/filler"
push d1 y1
is "after freeing space a push succeeds without restart" "$STATUS" 200
push d9 y9
is "and a new document too" "$STATUS" 200
req POST /users/create "{\"username\":\"newbie\",\"password\":\"$KEY\"}"
is "and a registration" "$STATUS" 201
req GET /syncs/progress/d1 "" $A
like "the new value is served" "$BODY" '"progress":"y1"'

# Full again while stopping: the final compaction cannot write.
fill
kill -TERM "$KS_PID"
for i in $(seq 1 100); do
	kill -0 "$KS_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$KS_PID" 2>/dev/null; then
	not_ok "server stops on SIGTERM with a full disk"
	ks_kill9
else
	wait "$KS_PID"
	ok "server stops on SIGTERM with a full disk (status $?)"
	KS_PID=
	cat "$KS_ERR.new" >>"$KS_ERR"
fi
if [ -e "$KS_DIR/database.json" ]; then
	check "database.json not truncated by a failed compaction" \
	    json_ok "$KS_DIR/database.json"
fi
# No leftover temp file eating the space either way.
rm -f "$KS_DIR/filler"

ks_start
missing=0
declare -A last
while read -r doc val; do last[$doc]=$val; done <"$ACKED"
for doc in "${!last[@]}"; do
	req GET "/syncs/progress/$doc" "" $A
	if ! [[ $BODY =~ \"progress\":\"${last[$doc]}\" ]]; then
		echo "# $doc: acknowledged ${last[$doc]}, found $BODY"
		missing=$((missing + 1))
	fi
done
is "every acknowledged push survived (${#last[@]} documents)" "$missing" 0
req GET /users/auth "" $(auth newbie "$KEY")
is "the registration after freeing space survived" "$STATUS" 200
ks_stop
check "database.json is complete after a clean stop" \
    json_ok "$KS_DIR/database.json"
done_testing
