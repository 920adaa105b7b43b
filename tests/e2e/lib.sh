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
# KS_SLOW: how many times slower than native the server is (1);
# scripts/cross-test sets it for a binary under qemu, and raw() waits that
# many times longer for an answer.
: "${KS_SLOW:=1}"
KS_TMP=$(mktemp -d /tmp/kosyncd-e2e.XXXXXX)
KS_N=0
KS_FAILED=0
KS_PID=
KS_PORT=
KS_DIR=$KS_TMP/data
KS_ERR=$KS_TMP/stderr
KS_ALLOW='^$'
ACCEPT='application/vnd.koreader.v1+json'

KS_REDIS_PID=
KS_PID_A=
KS_RUN_ARGS=()
ks_cleanup() {
	if [ -n "$KS_PID" ] && kill -0 "$KS_PID" 2>/dev/null; then
		kill -KILL "$KS_PID" 2>/dev/null
	fi
	if [ -n "$KS_PID_A" ] && kill -0 "$KS_PID_A" 2>/dev/null; then
		kill -KILL "$KS_PID_A" 2>/dev/null
	fi
	if [ -n "$KS_REDIS_PID" ] && kill -0 "$KS_REDIS_PID" 2>/dev/null; then
		kill -KILL "$KS_REDIS_PID" 2>/dev/null
		wait "$KS_REDIS_PID" 2>/dev/null
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
# With KS_FORCE_BACKEND=redis (tests/e2e/t084), "--storage memory|file" is
# replaced by the private Redis of ks_redis_start, emptied for a fresh
# data directory.
ks_start() {
	local i
	if [ "${KS_FORCE_BACKEND:-}" = redis ]; then
		ks_redis_args "$@" || return 1
		set -- "${KS_ARGS[@]}"
	fi
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

# ks_web METHOD PATH [BODY] [CURL ARGS...]: a request of the web
# interface (BODY sent as JSON when given; 20 s at most). Sets STATUS,
# BODY, HEADERS, CTYPE. `web` is the same unless a test defines its own.
ks_web() {
	local method=$1 path=$2 body=${3-}
	shift 2
	[ $# -gt 0 ] && shift
	STATUS=$(curl -s -S -m 20 -X "$method" \
	    ${body:+-H 'Content-Type: application/json' --data-binary "$body"} \
	    -D "$KS_TMP/web-h" -o "$KS_TMP/body" -w '%{http_code}' "$@" \
	    "$KS_URL$path")
	BODY=$(cat "$KS_TMP/body")
	HEADERS=$(tr -d '\r' <"$KS_TMP/web-h")
	CTYPE=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p' | tail -n 1)
}
web() { ks_web "$@"; }

# run ARGS...: a kosyncd command on $KS_DIR (with the options in the
# array KS_RUN_ARGS first, if set), its standard input from $IN
# (/dev/null unless set, e.g. by pw); sets RC, OUT, ERR.
run() {
	"$KOSYNCD" --data-dir "$KS_DIR" "${KS_RUN_ARGS[@]}" "$@" \
	    <"${IN:-/dev/null}" \
	    >"$KS_TMP/out" 2>"$KS_TMP/err"
	RC=$?
	OUT=$(cat "$KS_TMP/out")
	ERR=$(cat "$KS_TMP/err")
}
# pw TEXT: the next commands read TEXT as a password on standard input.
pw() {
	printf '%s\n' "$1" >"$KS_TMP/pw"
	IN=$KS_TMP/pw
}

# accounts NAME:PASSWORD...: add each account offline (kosyncd user add),
# each a check.
accounts() {
	local u
	mkdir -p "$KS_DIR"
	for u in "$@"; do
		pw "${u#*:}"
		run user add "${u%:*}" --stdin
		is "account ${u%:*} added" "$RC" 0
	done
}

# books [FILE...]: tests/mkbooks.py's sample books in $B (MK is the
# script), and a library folder $L holding a copy of each FILE of $B.
books() {
	local f
	MK=$(dirname "$0")/../mkbooks.py
	B=$KS_TMP/books
	L=$KS_TMP/lib
	"$MK" books "$B" >/dev/null
	mkdir -p "$L"
	for f in "$@"; do
		cp "$B/$f" "$L/"
	done
}

# auth USER KEY: curl arguments for x-auth headers (use: req GET /x "" $(auth u k))
auth() { echo "-H x-auth-user:$1 -H x-auth-key:$2"; }

# md5 TEXT: the key KOReader derives from a password.
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

# from N METHOD PATH [BODY] [CURL ARGS...]: req from the client address
# 127.0.0.N (curl --interface), for the limits per address.
from() {
	local n=$1
	shift
	local m=$1 p=$2 b=${3-}
	shift 2
	[ $# -gt 0 ] && shift
	req "$m" "$p" "$b" --interface "127.0.0.$n" "$@"
}

# register USER KEY: create the account (POST /users/create).
register() { req POST /users/create "{\"username\":\"$1\",\"password\":\"$2\"}"; }

# push USER KEY DOC PROGRESS [DEVICE] [METADATA]: PUT /syncs/progress at
# 50 % from DEVICE (default kobo, device_id DEVICE-1), with the JSON object
# METADATA as "metadata" when given.
push() {
	req PUT /syncs/progress "{\"document\":\"$3\",\"progress\":\"$4\",\"percentage\":0.5,\"device\":\"${5:-kobo}\",\"device_id\":\"${5:-kobo}-1\"${6:+,\"metadata\":$6}}" $(auth "$1" "$2")
}

# json EXPR: print the Python expression EXPR, d being the JSON read from
# standard input.
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# journal_end FILE: the offset where the journal file's records end; the
# zero bytes the writer writes ahead of them follow (src/journal.c).
journal_end() {
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 0
while off + 20 <= len(d) and d[off:off + 4] == b"KSJ1":
    n = struct.unpack_from("<I", d, off + 4)[0]
    if off + 20 + n > len(d):
        break
    off += 20 + n
print(off)' "$1"
}

# raw BYTES: send raw bytes (printf format) and print the whole answer.
raw() {
	printf "$1" | nc -q $((2 * KS_SLOW)) -w $((5 * KS_SLOW)) 127.0.0.1 "$KS_PORT"
}

# ks_backends: the storage backends the protocol suites run on (redis
# only when redis-server is installed).
ks_backends() {
	echo memory file
	command -v redis-server >/dev/null && echo redis
}

# ks_start_backend BACKEND [ARGS...]: ks_start on BACKEND; for redis, on an
# emptied database of the private Redis (started by the first call).
ks_start_backend() {
	local backend=$1
	shift
	if [ "$backend" != redis ]; then
		ks_start --storage "$backend" "$@"
		return
	fi
	if [ -z "$KS_REDIS_PID" ]; then
		ks_redis_start || return 1
	fi
	ks_redis_cli FLUSHDB >/dev/null
	ks_start --storage redis --redis-address "$KS_REDIS_ADDR" \
	    --redis-db "$KS_REDIS_DB" "$@"
}

# ks_redis_args ARGS...: KS_ARGS = ARGS with --storage memory|file replaced
# by the private Redis (see ks_start).
ks_redis_args() {
	local a fresh=
	KS_ARGS=()
	while [ $# -gt 0 ]; do
		a=$1
		shift
		case $a in
		--storage | --storage=*)
			if [ "$a" = --storage ]; then a="--storage=$1"; shift; fi
			if [ "$a" = --storage=memory ] || [ ! -e "$KS_DIR/.redis" ]; then
				fresh=1
			fi
			KS_ARGS+=(--storage redis)
			;;
		*) KS_ARGS+=("$a") ;;
		esac
	done
	if [ -z "$KS_REDIS_PID" ]; then
		ks_redis_start || return 1
	fi
	if [ -n "$fresh" ]; then
		ks_redis_cli FLUSHDB >/dev/null
		mkdir -p "$KS_DIR" && : >"$KS_DIR/.redis"
	fi
	KS_ARGS+=(--redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
}

# Two instances on the private Redis (tests/e2e/t081, t087).
# start_two ARGS...: instance A (KS_URL_A, KS_PID_A, its stderr in
# KS_ERR_A) and B (the current one, KS_URL_B), each with its own data
# directory; stop_two: stop both and check their exits and stderr.
start_two() {
	KS_DIR=$KS_TMP/inst-a
	ks_start --storage redis --redis-address "$KS_REDIS_ADDR" \
	    --redis-db "$KS_REDIS_DB" "$@" || return 1
	KS_URL_A=$KS_URL KS_PID_A=$KS_PID KS_ERR_A=$KS_TMP/stderr-a.new
	mv "$KS_ERR.new" "$KS_ERR_A"
	KS_DIR=$KS_TMP/inst-b
	ks_start --storage redis --redis-address "$KS_REDIS_ADDR" \
	    --redis-db "$KS_REDIS_DB" "$@" || return 1
	KS_URL_B=$KS_URL
}
stop_two() {
	local rc
	ks_stop
	kill -TERM "$KS_PID_A"
	wait "$KS_PID_A"
	rc=$?
	KS_PID_A=
	is "instance A exited 0 on SIGTERM" "$rc" 0
	is "instance A: no unexpected stderr" \
	    "$(grep -vE ' (info|access): ' "$KS_ERR_A" | grep -vE "$KS_ALLOW")" ""
}
# use A|B: send the next requests to that instance.
use() { if [ "$1" = A ]; then KS_URL=$KS_URL_A; else KS_URL=$KS_URL_B; fi; }
# on A|B METHOD PATH [BODY] [ARGS]: req through one instance.
on() {
	use "$1"
	shift
	req "$@"
}

# ks_redis_start [unix] [REDIS-SERVER ARGS...]: start a private
# redis-server without persistence, on a free 127.0.0.1 port (or, with
# "unix", on a socket in $KS_TMP). Sets KS_REDIS_PID, KS_REDIS_ADDR (the
# redis_address for kosyncd), KS_REDIS_DB (2, never the default 1). With
# KS_REDIS_PORT (or KS_REDIS_SOCK) already set, it restarts on that one.
# Extra arguments (e.g. --requirepass PW; then set KS_REDIS_PASS for
# ks_redis_cli) go to redis-server. Stopped by ks_redis_stop or at exit.
ks_redis_start() {
	local i try unix=
	if [ "${1:-}" = unix ]; then unix=1; shift; fi
	mkdir -p "$KS_TMP/redis"
	KS_REDIS_DB=${KS_REDIS_DB:-2}
	for try in 1 2 3 4 5; do
		if [ -n "$unix" ] || [ -n "${KS_REDIS_SOCK:-}" ]; then
			KS_REDIS_SOCK=${KS_REDIS_SOCK:-$KS_TMP/redis/redis.sock}
			KS_REDIS_ADDR="unix:$KS_REDIS_SOCK"
			redis-server --port 0 --unixsocket "$KS_REDIS_SOCK" \
			    --unixsocketperm 700 --save '' --appendonly no \
			    --dir "$KS_TMP/redis" "$@" \
			    >>"$KS_TMP/redis/log" 2>&1 &
		else
			KS_REDIS_PORT=${KS_REDIS_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
			KS_REDIS_ADDR="127.0.0.1:$KS_REDIS_PORT"
			redis-server --port "$KS_REDIS_PORT" --bind 127.0.0.1 \
			    --save '' --appendonly no --dir "$KS_TMP/redis" "$@" \
			    >>"$KS_TMP/redis/log" 2>&1 &
		fi
		KS_REDIS_PID=$!
		for i in $(seq 1 100); do
			if ! kill -0 "$KS_REDIS_PID" 2>/dev/null; then
				break
			fi
			# PONG from our own server: with -j (tests/run-tests)
			# another test's may hold a port picked at the same time.
			case $(ks_redis_cli PING 2>&1) in
			*NOAUTH*) return 0 ;;
			PONG)
				ks_redis_cli INFO server 2>/dev/null |
				    grep -q "^process_id:$KS_REDIS_PID\b" &&
				    return 0
				;;
			esac
			sleep 0.05
		done
		kill -KILL "$KS_REDIS_PID" 2>/dev/null
		wait "$KS_REDIS_PID" 2>/dev/null
		KS_REDIS_PID=
		[ -n "$unix" ] || KS_REDIS_PORT=
	done
	echo "# redis-server did not start:"
	tail -n 5 "$KS_TMP/redis/log" | sed 's/^/#   /'
	return 1
}

# ks_redis_stop [SIGNAL]: stop the private Redis (default SIGTERM) and wait.
ks_redis_stop() {
	[ -n "$KS_REDIS_PID" ] || return 0
	kill "-${1:-TERM}" "$KS_REDIS_PID" 2>/dev/null
	wait "$KS_REDIS_PID" 2>/dev/null
	KS_REDIS_PID=
}

# ks_redis_cli ARGS...: redis-cli on the private Redis, database KS_REDIS_DB.
ks_redis_cli() {
	local conn=(-h 127.0.0.1 -p "${KS_REDIS_PORT:-0}")
	[ -n "${KS_REDIS_SOCK:-}" ] && conn=(-s "$KS_REDIS_SOCK")
	[ -n "${KS_REDIS_PASS:-}" ] && conn+=(-a "$KS_REDIS_PASS" --no-auth-warning)
	timeout 10 redis-cli "${conn[@]}" -n "${KS_REDIS_DB:-2}" "$@"
}

# ks_fast WHAT PATH: PATH of $KS_URL answered 200 within 300 ms (the event
# loop is not held: t109, t124).
ks_fast() {
	local t
	t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$KS_URL$2")
	is "$1 answers" "${t% *}" 200
	check "within 300 ms (${t#* } s)" awk -v t="${t#* }" 'BEGIN { exit !(t < 0.3) }'
}

# ks_slow_get URL OUT HEADER: a GET of URL with the header line HEADER
# (credentials), read at 6 MB/s with a 64 KiB receive buffer (curl's
# would take a large file ahead of its rate limit), its body into OUT;
# the status line's code on stdout.
ks_slow_get() {
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect((u.hostname, u.port))
path = u.path + ("?" + u.query if u.query else "")
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
           "Connection: close\r\n\r\n" % (path, sys.argv[3])).encode())
data, t0 = b"", time.monotonic()
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
    ahead = len(data) / 6e6 - (time.monotonic() - t0)
    if ahead > 0:
        time.sleep(ahead)
head, _, body = data.partition(b"\r\n\r\n")
open(sys.argv[2], "wb").write(body)
print(head.split(b" ")[1].decode() if head else "000")
PY
}

# done_testing: print the plan and exit with the right status.
done_testing() {
	echo "1..$KS_N"
	[ "$KS_FAILED" -eq 0 ]
	exit $?
}
