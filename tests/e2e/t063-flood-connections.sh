#!/usr/bin/env bash
# t063-flood-connections: a connection flood beyond the limits beside a
# legitimate KOReader-like client on 127.0.0.1.
#
# The attack: eight addresses each open 100 connections and hold them idle
# (64 per address are allowed, the rest must get 503; connections the
# server closes at the idle timeout are reopened at once), while two more
# processes open and drop connections as fast as they can (some with half
# a request). Covers: every legitimate request succeeds and its p99 is
# reported (TAP comment "# p99 ..."); over-limit connections get 503 JSON;
# idle ones are closed at idle_timeout_ms; the server answers and stops
# cleanly afterwards. Then a flood of silent connections beyond
# max_connections in total: the oldest silent one is closed to make room,
# and the legitimate client is still served (p99 reported). Bounded: two
# 8 s attacks, the test well under 60 s.
. "$(dirname "$0")/lib.sh"

KEY=$(md5 legit)
DURATION=8


ks_start --storage memory --idle-timeout-ms 3000 --max-connections 1024 \
    --max-connections-per-ip 64 || { not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"legit\",\"password\":\"$KEY\"}"
is "register the legitimate user" "$STATUS" 201

cat >"$KS_TMP/attack.py" <<'EOF'
import selectors, socket, struct, sys, time
port, secs, mode = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + secs
if mode == "churn":
    # Open and drop connections as fast as possible. Dropped with a
    # reset (SO_LINGER 0): a normal close would leave each port of this
    # source address in TIME_WAIT for a minute, and after some tens of
    # thousands the churn (of this run or an earlier test's) would run
    # out of ports rather than connect.
    src, n, i = sys.argv[4], 0, 0
    linger = struct.pack("ii", 1, 0)
    while time.monotonic() < end:
        i += 1
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            if i % 3 == 0:
                s.send(b"PUT /syncs/progress HTTP/1.1\r\nContent-Le")
            n += 1
        except OSError:
            pass
        s.close()
    print(n)
    sys.exit(0)
SRC = ["127.0.0.%d" % i for i in range(2, 10)]
sel = selectors.DefaultSelector()
st = {"opened": 0, "503": 0, "idle_closed": 0, "other": 0}
def open_one(src):
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    st["opened"] += 1
    sel.register(s, selectors.EVENT_READ, [src, b""])
for src in SRC:
    for _ in range(100):
        open_one(src)
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.1):
        s, d = key.fileobj, key.data
        try:
            b = s.recv(4096)
        except OSError:
            b = b""
        if b:
            d[1] += b
            continue
        if d[1].startswith(b"HTTP/1.1 503 ") and b'"code":503' in d[1]:
            st["503"] += 1
        elif d[1] == b"":
            st["idle_closed"] += 1
            open_one(d[0])      # reopen what the server closed
        else:
            st["other"] += 1
        sel.unregister(s)
        s.close()
print(st["opened"], st["503"], st["idle_closed"], st["other"])
EOF

timeout 30 python3 "$KS_TMP/attack.py" "$KS_PORT" "$DURATION" hold \
    >"$KS_TMP/hold.out" 2>&1 &
hpid=$!
timeout 30 python3 "$KS_TMP/attack.py" "$KS_PORT" "$DURATION" churn 127.0.0.10 \
    >"$KS_TMP/churn1.out" 2>&1 &
c1=$!
timeout 30 python3 "$KS_TMP/attack.py" "$KS_PORT" "$DURATION" churn 127.0.0.11 \
    >"$KS_TMP/churn2.out" 2>&1 &
c2=$!
sleep 1
timeout 30 python3 "$(dirname "$0")/legit.py" "$KS_PORT" legit "$KEY" $((DURATION - 2)) \
    >"$KS_TMP/legit.out" 2>&1
wait "$hpid" "$c1" "$c2"
read -r n fail p50 p99 max <"$KS_TMP/legit.out"
read -r opened c503 idle other <"$KS_TMP/hold.out"
churned=$(($(cat "$KS_TMP/churn1.out") + $(cat "$KS_TMP/churn2.out")))
echo "# connection flood: $opened held connections opened, $c503 refused with 503, $idle closed idle, $churned churned"
echo "# p99 ${p99} ms during the connection flood (legitimate client: $n requests, p50 ${p50} ms, max ${max} ms)"
is "legitimate client: no failure" "${fail:-x}" 0
sed -n '2,$p' "$KS_TMP/legit.out" | sed 's/^/#   /'
check "legitimate client made at least 40 requests ($n)" test "${n:-0}" -ge 40
check "connections over the per-address limit got 503 ($c503)" \
    test "${c503:-0}" -ge 288
check "idle connections were closed at the idle timeout ($idle)" \
    test "${idle:-0}" -ge 400
check "the churn made thousands of connections ($churned)" \
    test "$churned" -ge 1000
is "no other answer to the attack" "${other:-x}" 0
req GET /healthcheck
is "server answers after the attack" "$STATUS $BODY" '200 {"state":"OK"}'
ks_stop

# --- beyond max_connections in total: silent connections (not a byte
# sent) from eight addresses, 64 each, against max_connections 200. At
# the limit the oldest silent connection makes room, so the legitimate
# client (which speaks at once) is still served.
ks_start --storage memory --idle-timeout-ms 60000 --max-connections 200 \
    --max-connections-per-ip 64 || { not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"legit\",\"password\":\"$KEY\"}"
timeout 30 python3 "$KS_TMP/attack.py" "$KS_PORT" "$DURATION" hold \
    >"$KS_TMP/hold.out" 2>&1 &
hpid=$!
sleep 1
timeout 30 python3 "$(dirname "$0")/legit.py" "$KS_PORT" legit "$KEY" $((DURATION - 2)) \
    >"$KS_TMP/legit.out" 2>&1
wait "$hpid"
read -r n fail p50 p99 max <"$KS_TMP/legit.out"
read -r opened c503 idle other <"$KS_TMP/hold.out"
echo "# total-limit flood: $opened silent connections opened, $c503 refused with 503, $idle closed to make room"
echo "# p99 ${p99} ms during the total-limit flood (legitimate client: $n requests, p50 ${p50} ms, max ${max} ms)"
is "total limit: legitimate client, no failure" "${fail:-x}" 0
sed -n '2,$p' "$KS_TMP/legit.out" | sed 's/^/#   /'
check "total limit: legitimate client made at least 40 requests ($n)" \
    test "${n:-0}" -ge 40
check "total limit: silent connections were closed to make room ($idle)" \
    test "${idle:-0}" -ge 300
ks_stop
done_testing
