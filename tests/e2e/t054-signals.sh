#!/usr/bin/env bash
# t054-signals: shutdown. SIGTERM and SIGINT each stop the server with exit
# status 0 and only info lines on stderr, also with an idle keep-alive
# connection open and after a request in flight finished; a second signal
# during a shutdown that waits for a slow request exits at once with 1 and
# a warning.
. "$(dirname "$0")/lib.sh"

ks_start
req GET /healthcheck
is "serving" "$STATUS" 200
ks_stop
like "SIGTERM logged" "$(cat "$KS_ERR")" 'info: SIGTERM: shutting down'

# SIGINT, by hand (ks_stop sends SIGTERM).
ks_start
kill -INT "$KS_PID"
wait "$KS_PID"
is "SIGINT: exit 0" "$?" 0
like "SIGINT logged" "$(cat "$KS_ERR.new")" 'info: SIGINT: shutting down'
KS_PID=

# An idle keep-alive connection does not hold up the shutdown.
ks_start
exec 3<>"/dev/tcp/127.0.0.1/$KS_PORT"
printf 'GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n' >&3
read -r -t 5 status_line <&3
like "keep-alive answer" "$status_line" '^HTTP/1\.1 200'
start=$(date +%s%N)
ks_stop
ms=$((($(date +%s%N) - start) / 1000000))
check "shutdown with an idle connection is quick (${ms} ms)" [ "$ms" -lt 3000 ]
exec 3<&-

# A request still arriving keeps the first shutdown waiting; a second
# signal ends it at once.
ks_start
exec 3<>"/dev/tcp/127.0.0.1/$KS_PORT"
printf 'GET /healthcheck HTTP/1.1\r\nHost: x\r\n' >&3
sleep 0.2
kill -TERM "$KS_PID"
sleep 0.3
if kill -0 "$KS_PID" 2>/dev/null; then
	kill -TERM "$KS_PID"
	wait "$KS_PID"
	is "second signal: exit 1" "$?" 1
	like "second signal: warning" "$(cat "$KS_ERR.new")" \
	    'warning: SIGTERM again: exiting without finishing the shutdown'
else
	wait "$KS_PID"
	ok "# SKIP the first shutdown did not wait for the slow request"
	ok "# SKIP"
fi
KS_PID=
exec 3<&-

done_testing
