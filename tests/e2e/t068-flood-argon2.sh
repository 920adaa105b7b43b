#!/usr/bin/env bash
# t068-flood-argon2: an authentication flood with wrong keys for many users
# (limits switched off, so every attempt costs one argon2 verification and
# both argon2_concurrency slots stay busy with a queue behind them) beside a
# legitimate client whose key is already verified (cached).
#
# Covers: every legitimate request succeeds, none takes longer than
# KOReader's 2 s block timeout, and its p99 is reported (TAP comment
# "# p99 ..."): cached-key requests never wait behind argon2, which runs
# off the loop with bounded concurrency; the attack really ran argon2
# (its answers take >= 5 ms on the server); with the default limits on,
# the same flood (32 client addresses) is cut down, once each user name
# has had its 10 failures, to 401s that cost no argon2. Bounded: 8 s of
# attack per phase, the test well under 60 s.
. "$(dirname "$0")/lib.sh"

KEY=$(md5 legit)
DURATION=8


cat >"$KS_TMP/attack.py" <<'EOF'
import random, socket, sys, threading, time
port, secs, conns = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
end = time.monotonic() + secs
counts = {"401": 0, "other": 0}
lock = threading.Lock()
def worker(seed):
    rng = random.Random(seed)
    s = None
    while time.monotonic() < end:
        try:
            if s is None:
                # Each thread is its own client address (127.0.0.10...).
                s = socket.create_connection(("127.0.0.1", port), timeout=10,
                    source_address=("127.0.0.%d" % (10 + seed), 0))
            u = "user%d" % rng.randrange(20)
            k = "%032x" % rng.getrandbits(128)
            s.sendall(("GET /users/auth HTTP/1.1\r\nHost: x\r\n"
                       "x-auth-user: %s\r\nx-auth-key: %s\r\n\r\n" % (u, k)).encode())
            data = b""
            while b"}" not in data:
                b = s.recv(4096)
                if not b:
                    raise OSError("closed")
                data += b
            st = data.split(b" ")[1].decode()
        except OSError:
            st, s = "other", None
        with lock:
            counts[st if st == "401" else "other"] += 1
ts = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
for t in ts: t.start()
for t in ts: t.join()
print(counts["401"], counts["other"])
EOF

# Accounts, then a restart so that no key is cached except the one the
# legitimate client verifies.
ks_start --storage file || { not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"legit\",\"password\":\"$KEY\"}"
for i in $(seq 0 19); do
	req POST /users/create "{\"username\":\"user$i\",\"password\":\"$(md5 "p$i")\"}"
done
ks_stop >/dev/null

# phase NAME ARGS...: restart with ARGS, verify the legitimate key once,
# flood for DURATION seconds beside the legitimate client.
phase() {
	local name=$1
	shift
	ks_start --storage file "$@" || { not_ok "server started"; return; }
	req GET /users/auth "" $(auth legit "$KEY")
	is "$name: the legitimate key is verified once" "$STATUS" 200
	timeout 40 python3 "$KS_TMP/attack.py" "$KS_PORT" "$DURATION" 32 \
	    >"$KS_TMP/attack.out" 2>&1 &
	apid=$!
	sleep 1
	timeout 30 python3 "$(dirname "$0")/legit.py" "$KS_PORT" legit "$KEY" \
	    $((DURATION - 2)) >"$KS_TMP/legit.out" 2>&1
	wait "$apid"
	read -r n fail p50 p99 max <"$KS_TMP/legit.out"
	read -r a401 aother <"$KS_TMP/attack.out"
	slow=$(grep ' access: ' "$KS_ERR.new" | grep ' /users/auth 401 ' |
	    awk '$(NF-1) >= 5 {n++} END {print n + 0}')
	echo "# $name: $a401 wrong-key attempts answered 401 ($slow ran argon2), $aother other"
	echo "# p99 ${p99} ms during the argon2 flood, $name (legitimate client: $n requests, p50 ${p50} ms, max ${max} ms)"
	is "$name: legitimate client, no failure" "${fail:-x}" 0
	sed -n '2,$p' "$KS_TMP/legit.out" | sed 's/^/#   /'
	check "$name: legitimate client made at least 40 requests ($n)" \
	    test "${n:-0}" -ge 40
	check "$name: no legitimate request took 2 s ($max ms)" \
	    awk -v m="${max:-9999}" 'BEGIN {exit !(m < 2000)}'
	is "$name: the attack got only 401s" "${aother:-x}" 0
	ATTACK_SLOW=$slow
	ks_stop
}

phase "limits off" --auth-fail-per-user 0 --auth-fail-per-ip 0
check "limits off: the attack ran argon2 (>= 50 verifications: $ATTACK_SLOW)" \
    test "$ATTACK_SLOW" -ge 50
phase "default limits"
check "default limits: argon2 ran only until the per-user limits hit (<= 20 users x 10 + in flight: $ATTACK_SLOW)" \
    test "$ATTACK_SLOW" -le 240
done_testing
