#!/usr/bin/env bash
# t028-access-log: the access log is written in batches (accesslog.h) and
# stays whole and complete: after a burst of concurrent keep-alive
# requests every answered request has exactly one line and every line is
# whole; the same when SIGTERM comes in the middle of the burst (the lines
# of the requests answered during the drain are flushed before exit); the
# same through a pipe whose reader is slow (the server waits for it,
# drops nothing, and keeps answering); access_log = false writes none.
# No timing is asserted.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)

# check_log NAME LOG GOT: every " access: " line of LOG whole; each path in
# GOT (the answers the clients read) logged exactly once. Prints the
# number of /burst lines, or "bad: ..." on the first problem.
check_log() {
	python3 - "$2" "$3" <<'PY'
import re, sys
line_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z access: "
                     r"127\.0\.0\.1 GET (/burst/\d+/\d+/x{180}) 404 \d+ "
                     r"\d+\.\d{3} -$")
data = open(sys.argv[1], "rb").read().decode()
if data and not data.endswith("\n"):
    print("bad: the log ends inside a line")
    sys.exit()
seen = {}
for line in data.split("\n"):
    if " access: " not in line:
        continue
    m = line_re.match(line)
    if not m:
        print("bad: not a whole line: %r" % line[:300])
        sys.exit()
    seen[m.group(1)] = seen.get(m.group(1), 0) + 1
dup = [p for p, n in seen.items() if n > 1]
if dup:
    print("bad: logged twice: %s" % dup[0])
    sys.exit()
for p in open(sys.argv[2]).read().split():
    if p not in seen:
        print("bad: answered, not logged: %s" % p)
        sys.exit()
print(len(seen))
PY
}

# A burst: 16 connections x 100 requests, all answered and logged.
ks_start
python3 "$HERE/burst.py" "$KS_PORT" 16 100 "$KS_TMP/got"
is "burst: every request answered" "$(wc -l <"$KS_TMP/got")" 1600
ks_stop
is "burst: 1600 whole lines, one per answer" \
    "$(check_log burst "$KS_ERR.new" "$KS_TMP/got")" 1600

# SIGTERM after 300 answers, the clients still sending: every answer the
# clients read was logged before exit, whole.
ks_start
python3 "$HERE/burst.py" "$KS_PORT" 16 100 "$KS_TMP/got" "$KS_PID" 300
# burst.py sent the SIGTERM: wait for the exit (ks_stop would send a
# second one, which ends a server still shutting down at once, by design).
wait "$KS_PID"
is "SIGTERM: server exited 0" "$?" 0
KS_PID=
is "SIGTERM: nothing unexpected on stderr" \
    "$(grep -vE ' (info|access): ' "$KS_ERR.new")" ""
cat "$KS_ERR.new" >>"$KS_ERR"
n=$(wc -l <"$KS_TMP/got")
check "SIGTERM: at least 300 answers" [ "$n" -ge 300 ]
logged=$(check_log sigterm "$KS_ERR.new" "$KS_TMP/got")
like "SIGTERM: every answer logged, lines whole" "$logged" '^[0-9]+$'
check "SIGTERM: no more lines than requests" [ "${logged:-0}" -le 1600 ]
like "SIGTERM: the log ends with the stop" "$(tail -n 1 "$KS_ERR.new")" ' info: stopped$'

# A slow reader: 2 KiB every 5 ms (~400 KB/s) while the burst writes
# ~650 KB of lines: the pipe fills, the server waits for the reader, and
# every line arrives whole.
cat >"$KS_TMP/slow.py" <<'PY'
import os, sys, time
out = open(sys.argv[1], "wb", buffering=0)
while True:
    b = os.read(0, 2048)
    if not b:
        break
    out.write(b)
    time.sleep(0.005)
PY
mkdir -p "$KS_DIR"
: >"$KS_TMP/slow.log"
"$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 \
    2> >(python3 "$KS_TMP/slow.py" "$KS_TMP/slow.log") &
KS_PID=$!
for _ in $(seq 1 200); do
	KS_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$KS_TMP/slow.log" | head -n 1)
	[ -n "$KS_PORT" ] && break
	sleep 0.05
done
python3 "$HERE/burst.py" "$KS_PORT" 16 160 "$KS_TMP/got"
is "slow reader: every request answered" "$(wc -l <"$KS_TMP/got")" 2560
kill -TERM "$KS_PID"
wait "$KS_PID"
is "slow reader: server exited 0" "$?" 0
KS_PID=
# the reader ends when the server's end of the pipe is closed
for _ in $(seq 1 400); do
	grep -q ' info: stopped$' "$KS_TMP/slow.log" && break
	sleep 0.05
done
is "slow reader: 2560 whole lines, one per answer" \
    "$(check_log slow "$KS_TMP/slow.log" "$KS_TMP/got")" 2560
bad=$(grep -vE ' (info|access): ' "$KS_TMP/slow.log")
is "slow reader: nothing else on stderr" "$bad" ""

# access_log = false: no lines; the metrics and info lines remain.
ks_start --access-log=false
python3 "$HERE/burst.py" "$KS_PORT" 4 10 "$KS_TMP/got"
is "access_log off: answered" "$(wc -l <"$KS_TMP/got")" 40
ks_stop
is "access_log off: no access lines" \
    "$(grep -c ' access: ' "$KS_ERR.new")" 0
like "access_log off: info lines still" "$(cat "$KS_ERR.new")" ' info: listening on '

done_testing
