#!/usr/bin/env bash
# t024-transport-nofile: the open-files limit (issue 12, item 5).
#
# The server is started under a hard limit of 256 descriptors and a soft
# one of 128 (a wrapper sets them with ulimit before exec), with the
# default max_connections of 4096. Covers: the soft limit is raised to the
# hard one; max_connections is lowered to fit and a warning says so;
# 480 silent connections from eight addresses (more than the limit) do not
# lock anyone out: a legitimate client registers, pushes and pulls, an
# admin command goes through the control socket, and the pushes are in
# the journal (kill -9, restart without the limits, pull). A limit too low
# to leave any connection refuses to start with a message. Before, the soft
# limit stayed at 128, accept() failed and every client was shut out.
. "$(dirname "$0")/lib.sh"

REAL=$KOSYNCD
cat >"$KS_TMP/lowfd" <<EOF
#!/bin/sh
ulimit -Sn "\${SOFT:-128}" && ulimit -Hn "\${HARD:-256}" || exit 99
exec "$REAL" "\$@"
EOF
chmod +x "$KS_TMP/lowfd"

ks_allow_stderr 'warning: max_connections lowered from 4096 to [0-9]+: the open-files limit is 256'
KOSYNCD=$KS_TMP/lowfd ks_start --storage file ||
	{ not_ok "server started"; done_testing; }

soft=$(awk '/^Max open files/ {print $4}' "/proc/$KS_PID/limits")
is "soft open-files limit raised to the hard one" "$soft" 256
like "max_connections lowered, with a warning" "$(cat "$KS_ERR.new")" \
    'warning: max_connections lowered from 4096 to [0-9]+: the open-files limit is 256'

# Hold 480 silent connections from eight addresses while the legitimate
# client works; the flood stops when told to (a file appears).
cat >"$KS_TMP/flood.py" <<'EOF'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(60):
    for a in range(8):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\1\0\0\0\0\0\0\0')
        s.bind(('127.0.0.%d' % (10 + a), 0))
        s.settimeout(5)
        try:
            s.connect(('127.0.0.1', port))
            held.append(s)
        except OSError:
            s.close()
print(len(held), flush=True)
while not os.path.exists(stop):
    time.sleep(0.05)
EOF
timeout 60 python3 "$KS_TMP/flood.py" "$KS_PORT" "$KS_TMP/stop" >"$KS_TMP/flood.out" &
FLOOD=$!
for _ in $(seq 1 200); do
	[ -s "$KS_TMP/flood.out" ] && break
	sleep 0.05
done
like "the flood holds its connections" "$(cat "$KS_TMP/flood.out")" '^4[0-9][0-9]$'
nfd=$(ls "/proc/$KS_PID/fd" | wc -l)
check "the server stays within its limit ($nfd descriptors)" [ "$nfd" -le 256 ]

KEY=$(md5 reader)
req POST /users/create "{\"username\":\"reader\",\"password\":\"$KEY\"}"
is "during the flood: a client registers" "$STATUS" 201
ok_push=0
for i in 1 2 3 4 5; do
	req PUT /syncs/progress "{\"document\":\"doc$i\",\"progress\":\"/p[$i]\",\"percentage\":0.$i,\"device\":\"Kobo\",\"device_id\":\"K1\"}" $(auth reader "$KEY")
	[ "$STATUS" = 200 ] && ok_push=$((ok_push + 1))
done
is "during the flood: five pushes acknowledged" "$ok_push" 5
req GET /syncs/progress/doc3 "" $(auth reader "$KEY")
like "during the flood: a pull" "$BODY" '"progress":"/p\[3\]"'
run user list
is "during the flood: an admin command through the control socket" "$RC" 0
like "the admin command sees the user" "$OUT" reader

touch "$KS_TMP/stop"
wait "$FLOOD"
ks_kill9
ks_start --storage file || { not_ok "restarted"; done_testing; }
req GET /syncs/progress/doc5 "" $(auth reader "$KEY")
like "after kill -9: the pushes were journaled" "$BODY" '"progress":"/p\[5\]"'
ks_stop

# A limit that leaves no room refuses to start, saying why.
SOFT=100 HARD=100 "$KS_TMP/lowfd" --data-dir "$KS_DIR" --storage file \
    --listen-address 127.0.0.1:0 >"$KS_TMP/low.out" 2>&1
rc=$?
is "too low a limit: exit 1" "$rc" 1
like "too low a limit: the message" "$(cat "$KS_TMP/low.out")" \
    'the open-files limit \(100\) is too low: kosyncd needs at least [0-9]+'

done_testing
