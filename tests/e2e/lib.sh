# lib.sh: helpers for the end-to-end tests. Source it from tests/e2e/tNNN-*.sh.
#
# Each test starts the real binary ($KOSYNCD, the sanitizer build) on
# 127.0.0.1 with port 0 and a fresh data directory, talks to it with curl or
# raw bytes through nc, and reports TAP lines ("ok N - what" / "not ok N -
# what") that tests/run-tests counts. The server's stderr is kept; at stop the
# test fails if the server did not exit 0 or wrote a line that is not an
# access-log or info line (sanitizer reports, warnings the test did not
# expect via ks_allow_stderr).

set -u
: "${KOSYNCD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/test/kosyncd}"
KS_TMP=$(mktemp -d /tmp/kosyncd-e2e.XXXXXX)
KS_N=0
KS_FAILED=0
KS_PID=
KS_PORT=
KS_DIR=$KS_TMP/data
KS_ERR=$KS_TMP/stderr
KS_ALLOW='^$'
ACCEPT='application/vnd.koreader.v1+json'

ks_cleanup() {
	if [ -n "$KS_PID" ] && kill -0 "$KS_PID" 2>/dev/null; then
		kill -KILL "$KS_PID" 2>/dev/null
	fi
	rm -rf "$KS_TMP"
}
trap ks_cleanup EXIT

ok() { KS_N=$((KS_N + 1)); echo "ok $KS_N - $*"; }
not_ok() {
	KS_N=$((KS_N + 1))
	KS_FAILED=$((KS_FAILED + 1))
	echo "not ok $KS_N - $*"
}
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   got:  %s\n#   want: %s\n' "$2" "$3"
	fi
}
# like DESCRIPTION GOT REGEX
like() {
	if [[ $2 =~ $3 ]]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   got:  %s\n#   want: /%s/\n' "$2" "$3"
	fi
}

# ks_allow_stderr REGEX: stderr lines matching REGEX do not fail the test.
ks_allow_stderr() { KS_ALLOW="$KS_ALLOW|$1"; }

# ks_start [ARGS...]: start the server on 127.0.0.1, port 0, data dir
# $KS_DIR (created if missing); sets KS_PID, KS_PORT, KS_URL.
ks_start() {
	local i
	mkdir -p "$KS_DIR"
	: >"$KS_ERR.new"
	"$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 "$@" \
	    2>"$KS_ERR.new" &
	KS_PID=$!
	for i in $(seq 1 200); do
		KS_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$KS_ERR.new" | head -n 1)
		[ -n "$KS_PORT" ] && break
		if ! kill -0 "$KS_PID" 2>/dev/null; then
			echo "# server exited at start:"
			sed 's/^/#   /' "$KS_ERR.new"
			KS_PID=
			return 1
		fi
		sleep 0.05
	done
	if [ -z "$KS_PORT" ]; then
		echo "# server did not report its port"
		return 1
	fi
	KS_URL="http://127.0.0.1:$KS_PORT"
}

# ks_stop: SIGTERM, wait, and check exit status and stderr.
ks_stop() {
	local rc bad
	[ -n "$KS_PID" ] || return 0
	kill -TERM "$KS_PID"
	wait "$KS_PID"
	rc=$?
	KS_PID=
	cat "$KS_ERR.new" >>"$KS_ERR"
	is "server exited 0 on SIGTERM" "$rc" 0
	bad=$(grep -vE ' (info|access): ' "$KS_ERR.new" | grep -vE "$KS_ALLOW")
	if [ -n "$bad" ]; then
		not_ok "no unexpected stderr"
		printf '%s\n' "$bad" | head -n 30 | sed 's/^/#   /'
	else
		ok "no unexpected stderr"
	fi
}

# ks_kill9: kill the server without letting it finish anything.
ks_kill9() {
	kill -KILL "$KS_PID"
	wait "$KS_PID" 2>/dev/null
	KS_PID=
	cat "$KS_ERR.new" >>"$KS_ERR"
}

# req METHOD PATH [BODY] [CURL ARGS...]: one request with the KOReader Accept
# header. Sets STATUS, BODY, CTYPE (and HEADERS, the raw header block).
req() {
	local method=$1 path=$2 body=${3-} out
	shift 2
	[ $# -gt 0 ] && shift
	out=$(curl -s -S -X "$method" -H "Accept: $ACCEPT" \
	    ${body:+-H 'Content-Type: application/json' --data-binary "$body"} \
	    -D "$KS_TMP/h" -o "$KS_TMP/b" -w '%{http_code}' "$@" \
	    "$KS_URL$path")
	STATUS=$out
	BODY=$(cat "$KS_TMP/b")
	HEADERS=$(tr -d '\r' <"$KS_TMP/h")
	CTYPE=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p' | tail -n 1)
}

# auth USER KEY: curl arguments for x-auth headers (use: req GET /x "" $(auth u k))
auth() { echo "-H x-auth-user:$1 -H x-auth-key:$2"; }

# md5 TEXT: the key KOReader derives from a password.
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

# raw BYTES: send raw bytes (printf format) and print the whole answer.
raw() {
	printf "$1" | nc -q 2 -w 5 127.0.0.1 "$KS_PORT"
}

# done_testing: print the plan and exit with the right status.
done_testing() {
	echo "1..$KS_N"
	[ "$KS_FAILED" -eq 0 ]
	exit $?
}
