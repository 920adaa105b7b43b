#!/usr/bin/env bash
# t064-flood-malformed: a stream of oversized and malformed requests from
# four addresses beside a legitimate KOReader-like client on 127.0.0.1.
#
# The attack cycles through: headers over max_header_bytes, too many header
# lines, a Content-Length over max_body_bytes, a chunked body over it, an
# endless chunk size, a garbage request line, random bytes, a bad HTTP
# version, a NUL in a header, a 64 KiB URL, invalid JSON, a JSON array,
# JSON nested 100000 deep, invalid UTF-8, a NUL inside a JSON string, bad
# percent-encoding in the path, a repeated x-auth-user, and an over-long
# user name. Covers: each gets a 4xx JSON answer (or 505 for the version)
# and never a 5xx or a silent close; every legitimate request succeeds and
# its p99 is reported (TAP comment "# p99 ..."); nothing reaches the store;
# the server answers and stops cleanly afterwards (ASan/UBSan clean).
# Bounded: 8 s of attack, the test well under 60 s.
. "$(dirname "$0")/lib.sh"

KEY=$(md5 legit)
DURATION=8


ks_start --storage memory --max-header-bytes 8192 --max-body-bytes 65536 ||
	{ not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"legit\",\"password\":\"$KEY\"}"
is "register the legitimate user" "$STATUS" 201

cat >"$KS_TMP/attack.py" <<'EOF'
import os, random, socket, sys, time
port, secs, src = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
A = b"x-auth-user: legit\r\nx-auth-key: " + sys.argv[4].encode() + b"\r\n"
def put(body, extra=b""):
    return (b"PUT /syncs/progress HTTP/1.1\r\nHost: x\r\n" + A + extra +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)
CASES = [
    ("big-header", b"GET /healthcheck HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"),
    ("many-headers", b"GET /healthcheck HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n"),
    ("big-length", b"PUT /syncs/progress HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"),
    ("big-chunked", b"PUT /syncs/progress HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"4000\r\n" + b"a" * 0x4000 + b"\r\n") * 6 + b"0\r\n\r\n"),
    ("chunk-size", b"PUT /syncs/progress HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n"),
    ("garbage-line", b"GARBAGE GARBAGE GARBAGE\r\n\r\n"),
    ("random", None),
    ("version", b"GET /healthcheck HTTP/9.9\r\n\r\n"),
    ("nul-header", b"GET /healthcheck HTTP/1.1\r\nX-A: a\x00b\r\n\r\n"),
    ("long-url", b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\n\r\n"),
    ("bad-json", put(b'{"document":')),
    ("array", put(b'[1,2,3]')),
    ("deep-json", put(b"[" * 30000 + b"]" * 30000)),
    ("bad-utf8", put(b'{"document":"\xff\xfe","progress":"p","percentage":0.5,"device":"d"}')),
    ("nul-json", put(b'{"document":"a\\u0000b","progress":"p","percentage":0.5,"device":"d"}')),
    ("bad-percent", b"GET /syncs/progress/%ZZ%00%c3 HTTP/1.1\r\n" + A + b"\r\n"),
    ("two-users", b"GET /users/auth HTTP/1.1\r\n" + A + b"x-auth-user: legit\r\n\r\n"),
    ("long-user", b"GET /users/auth HTTP/1.1\r\nx-auth-user: " + b"u" * 5000 + b"\r\nx-auth-key: k\r\n\r\n"),
]
OK = {"400", "401", "403", "404", "405", "413", "431", "505"}
rng = random.Random(int(src.split(".")[-1]))
counts, bad, n = {}, [], 0
end = time.monotonic() + secs
while time.monotonic() < end:
    name, data = CASES[n % len(CASES)]
    n += 1
    if data is None:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 3000)))
        data = data.replace(b"\r\n\r\n", b"") + b"\r\n\r\n"
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(3)
    got = b""
    try:
        s.connect(("127.0.0.1", port))
        try:
            s.sendall(data)
        except OSError:
            pass              # the server may answer and stop reading early
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
            if b"\r\n\r\n" in got and b"}" in got:
                break
    except OSError:
        pass
    s.close()
    st = got.split(b" ")[1].decode() if got.startswith(b"HTTP/1.1 ") else "none"
    counts[name + " " + st] = counts.get(name + " " + st, 0) + 1
    if st not in OK or b"application/json" not in got:
        bad.append(f"{name}: {st} {got[:80]!r}")
print(n, len(bad))
for k in sorted(counts):
    print("count", k, counts[k])
for b in bad[:10]:
    print("bad", b)
EOF

pids=()
for a in 2 3 4 5; do
	timeout 30 python3 "$KS_TMP/attack.py" "$KS_PORT" "$DURATION" \
	    "127.0.0.$a" "$KEY" >"$KS_TMP/attack$a.out" 2>&1 &
	pids+=($!)
done
sleep 1
timeout 30 python3 "$(dirname "$0")/legit.py" "$KS_PORT" legit "$KEY" $((DURATION - 2)) \
    >"$KS_TMP/legit.out" 2>&1
wait "${pids[@]}"
read -r n fail p50 p99 max <"$KS_TMP/legit.out"
sent=0
badn=0
for a in 2 3 4 5; do
	read -r s b <"$KS_TMP/attack$a.out"
	sent=$((sent + ${s:-0}))
	badn=$((badn + ${b:-1}))
done
echo "# malformed flood: $sent requests; answers by case:"
cat "$KS_TMP"/attack?.out | sed -n 's/^count //p' |
    awk '{c[$1 " " $2] += $3} END {for (k in c) print k, c[k]}' | sort |
    sed 's/^/#   /'
echo "# p99 ${p99} ms during the malformed flood (legitimate client: $n requests, p50 ${p50} ms, max ${max} ms)"
is "legitimate client: no failure" "${fail:-x}" 0
sed -n '2,$p' "$KS_TMP/legit.out" | sed 's/^/#   /'
check "legitimate client made at least 40 requests ($n)" test "${n:-0}" -ge 40
check "the attack sent hundreds of requests ($sent)" test "$sent" -ge 200
is "every attack request got a 4xx/505 JSON answer" "$badn" 0
cat "$KS_TMP"/attack?.out | sed -n 's/^bad /#   /p' | head -n 10
req GET /syncs/progress/d1 "" $(auth legit "$KEY")
like "the legitimate data is intact" "$STATUS $BODY" '^200 .*"device":"legit"'
req GET /healthcheck
is "server answers after the attack" "$STATUS $BODY" '200 {"state":"OK"}'
ks_stop
done_testing
