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
