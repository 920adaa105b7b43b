#!/usr/bin/env bash
# t062-flood-slowloris: a slowloris attack (hundreds of connections from
# eight addresses trickling header bytes, reconnecting when cut off) beside
# a legitimate KOReader-like client (a new connection per request, pushes
# and pulls alternating) on 127.0.0.1.
#
# Covers: every legitimate request succeeds and its p99 is reported (TAP
# comment "# p99 ..."); the trickling connections are cut off at the
# request deadline with 408 JSON; connections beyond max_connections_per_ip
# get 503; the server answers and stops cleanly afterwards. Bounded: the
# attack runs 8 s, the whole test well under 60 s.
. "$(dirname "$0")/lib.sh"

KEY=$(md5 legit)
DURATION=8


ks_start --storage memory --request-timeout-ms 2000 \
    --max-connections-per-ip 64 || { not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"legit\",\"password\":\"$KEY\"}"
is "register the legitimate user" "$STATUS" 201

cat >"$KS_TMP/attack.py" <<'EOF'
import selectors, socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
SRC = ["127.0.0.%d" % i for i in range(2, 10)]
PER = 70                       # 64 allowed per address, 6 refused
REQ = b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 4000
sel = selectors.DefaultSelector()
st = {"408": 0, "503": 0, "other": 0, "opened": 0, "reset": 0}
def open_one(src):
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    st["opened"] += 1
    sel.register(s, selectors.EVENT_READ, [src, 0, b""])
for src in SRC:
    for _ in range(PER):
        open_one(src)
end = time.monotonic() + secs
next_byte = time.monotonic()
while time.monotonic() < end:
    for key, _ in sel.select(timeout=0.05):
        s, d = key.fileobj, key.data
        try:
            b = s.recv(4096)
        except OSError:
            b = None
        if b:
            d[2] += b
            if b"\r\n\r\n" not in d[2]:
                continue
        code = d[2].split(b" ")[1].decode() if d[2].startswith(b"HTTP/1.1 ") else None
        if code == "408" and b'"code":408' in d[2]:
            st["408"] += 1
        elif code == "503":
            st["503"] += 1
        elif code is None:
            st["reset"] += 1
        else:
            st["other"] += 1
        sel.unregister(s)
        s.close()
        if code != "503":
            open_one(d[0])      # slowloris reconnects at once
    if time.monotonic() >= next_byte:
        next_byte += 0.5
        for key in list(sel.get_map().values()):
            s, d = key.fileobj, key.data
            if d[1] < len(REQ):
                try:
                    s.send(REQ[d[1]:d[1] + 1])
                    d[1] += 1
                except OSError:
                    pass
print(st["opened"], st["408"], st["503"], st["reset"], st["other"])
EOF

timeout 30 python3 "$KS_TMP/attack.py" "$KS_PORT" "$DURATION" \
    >"$KS_TMP/attack.out" 2>&1 &
apid=$!
sleep 1
timeout 30 python3 "$(dirname "$0")/legit.py" "$KS_PORT" legit "$KEY" $((DURATION - 2)) \
    >"$KS_TMP/legit.out" 2>&1
wait "$apid"
read -r n fail p50 p99 max <"$KS_TMP/legit.out"
read -r opened c408 c503 reset other <"$KS_TMP/attack.out"
echo "# slowloris: $opened connections opened, $c408 cut off with 408, $c503 refused with 503, $reset reset, $other other"
echo "# p99 ${p99} ms during slowloris (legitimate client: $n requests, p50 ${p50} ms, max ${max} ms)"
is "legitimate client: no failure" "${fail:-x}" 0
sed -n '2,$p' "$KS_TMP/legit.out" | sed 's/^/#   /'
check "legitimate client made at least 40 requests ($n)" test "${n:-0}" -ge 40
check "trickling connections were cut off with 408 ($c408)" \
    test "${c408:-0}" -ge 400
check "connections over the per-address limit got 503 ($c503)" \
    test "${c503:-0}" -ge 40
is "no other answer to the attack" "${other:-x}" 0
req GET /healthcheck
is "server answers after the attack" "$STATUS $BODY" '200 {"state":"OK"}'
ks_stop
done_testing
