# hooklib.sh: helpers of the events-out tests (t130-t132), sourced after
# lib.sh.
#
#   recv NAME [STATUSES] [DELAY]  start hookrecv.py, its log $KS_TMP/NAME.log
#                                 (one JSON line per request); sets RPORT
#   recv_stop                     stop every receiver started
#   waitlines FILE N              wait up to 10 s for FILE to have N lines
#   signin USER PASSWORD          web sign-in into the jar $KS_TMP/jar-USER;
#                                 sets CSRF and JAR
#   as METHOD PATH [BODY]         a web request with JAR and CSRF
#   devcred LABEL                 a device credential of the signed-in
#                                 account (as); its password in DPW
#   first_uses FILE               the credential_first_use events of a
#                                 receiver's log: [(path, label, device)]

HOOK_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECV_PIDS=()
recv() {
	rm -f "$KS_TMP/$1.port"
	python3 "$HOOK_HERE/hookrecv.py" "$KS_TMP/$1.log" "$KS_TMP/$1.port" "${2:-200}" "${3:-0}" &
	RECV_PIDS+=($!)
	for _ in $(seq 1 100); do
		[ -s "$KS_TMP/$1.port" ] && break
		sleep 0.05
	done
	RPORT=$(cat "$KS_TMP/$1.port")
}
recv_stop() {
	local p
	for p in "${RECV_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	RECV_PIDS=()
}
waitlines() {
	for _ in $(seq 1 200); do
		[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
signin() {
	JAR=$KS_TMP/jar-$1
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$JAR"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() {
	local m=$1 p=$2
	shift 2
	web "$m" "$p" "${1-}" -b "$JAR" -H "X-CSRF-Token: $CSRF"
}
devcred() {
	as POST /api/v1/devices "{\"label\":\"$1\"}"
	DPW=$(printf '%s' "$BODY" | json 'd["password"]')
}
first_uses() {
	python3 - "$1" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = json.loads(r["body"])
    if b["event"] == "credential_first_use":
        out.append((r["path"], b["credential"], b.get("device")))
print(out)
PY
}
