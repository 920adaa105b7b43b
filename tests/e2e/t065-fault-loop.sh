#!/usr/bin/env bash
# t065-fault-loop: the Nth call at a fault point fails (test-build knob
# KOSYNCD_TEST_FAULT_<POINT>, src/fault.h), for N = 1, 2, ... until a run
# no longer reaches the point, across a scripted workload: two
# registrations, pushes large enough to trigger compactions
# (compact_bytes 4096), a password change, an account deletion, and the
# final snapshot of a clean shutdown.
#
# Points: WRITE (journal records, backups) here; t066 runs this script for
# FSYNC, t067 for SNAPSHOT (write and fsync of a snapshot's temp file),
# RENAME (its rename over database.json) and MALLOC (argon2's memory, the
# one allocation that fails gracefully; every other allocation aborts by
# design, see docs/security.md). t044 checks the journal's answers in
# detail (502 JSON, memory unchanged) for register and pushes; this test
# adds the other changes, compaction and shutdown.
#
# Counters are per process: a compaction's snapshot is written by a forked
# child, which counts on from the parent's count at the fork, so for
# SNAPSHOT and RENAME "the Nth call" is the Nth within each snapshot
# writer (compaction children, and the shutdown's final snapshot).
#
# Covers, for each point and N: every answer is a success or a 502 JSON
# (or the server refuses to start with a message when the start-up
# snapshot fails); no sanitizer report; after the server stops (SIGTERM)
# `kosyncd check` (when the command exists) passes and a restart without
# the fault shows exactly the acknowledged state: accounts and their keys
# (the acknowledged password), the deleted account gone, every document's
# last acknowledged progress, nothing that was refused.
. "$(dirname "$0")/lib.sh"

POINTS=${FI_POINTS:-WRITE}
MAXN=40

ks_allow_stderr 'warning: '

cat >"$KS_TMP/fi.py" <<'EOF'
import hashlib, json, socket, sys
mode, port, model_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
def call(method, path, user=None, key=None, body=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if user is not None:
        head += f"x-auth-user: {user}\r\nx-auth-key: {key}\r\n"
    data = json.dumps(body).encode() if body is not None else b""
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head.encode() + b"\r\n" + data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    h, _, b = out.partition(b"\r\n\r\n")
    return int(h.split(b" ")[1]), b.decode()
bad, refused = [], 0
REFUSALS = ('{"code":2000,"message":"Unknown server error."}',
            '{"code":1000,"message":"Cannot connect to redis server."}')
def expect(what, st, body, ok_status):
    global refused
    if st == ok_status:
        return True
    if st == 502 and body in REFUSALS:
        refused += 1
        return False
    bad.append(f"{what}: {st} {body}")
    return False
if mode == "work":
    users = {}      # name -> key, for accounts that exist
    docs = {}       # "user/doc" -> last acknowledged progress
    def register(u, k):
        for _ in range(2):
            st, b = call("POST", "/users/create", body={"username": u, "password": k})
            if expect("register " + u, st, b, 201):
                users[u] = k
                return
    def push(u, d, p):
        if u not in users:
            return
        st, b = call("PUT", "/syncs/progress", u, users[u],
                     {"document": d, "progress": p, "percentage": 0.5, "device": "fi"})
        if expect(f"push {u}/{d}", st, b, 200):
            docs[f"{u}/{d}"] = p
    big = lambda tag: tag + "x" * 3000
    register("u1", md5("one"))
    register("u2", md5("b"))
    push("u1", "d1", big("v1"))
    push("u1", "d2", big("v2"))
    push("u2", "d1", "small")
    push("u1", "d1", big("v3"))
    if "u1" in users:
        st, b = call("PUT", "/users/password", "u1", users["u1"], {"password": md5("two")})
        if expect("passwd u1", st, b, 200):
            users["u1"] = md5("two")
    push("u1", "d3", big("v5"))
    if "u2" in users:
        st, b = call("DELETE", "/users/me", "u2", users["u2"])
        if expect("delete u2", st, b, 200):
            del users["u2"]
            docs = {k: v for k, v in docs.items() if not k.startswith("u2/")}
    push("u1", "d2", big("v6"))
    push("u1", "d4", big("v7"))
    push("u1", "d5", "tail")    # after the last compaction: a final snapshot
    json.dump({"users": users, "docs": docs}, open(model_path, "w"))
    print(refused, len(bad))
else:
    m = json.load(open(model_path))
    for u, other in (("u1", md5("one")), ("u1", md5("two")), ("u2", md5("b"))):
        st, b = call("GET", "/users/auth", u, other)
        want = 200 if m["users"].get(u) == other else 401
        if st != want:
            bad.append(f"auth {u} with {other[:6]}: {st}, want {want}")
    if "u1" in m["users"]:
        for d in ("d1", "d2", "d3", "d4", "d5"):
            st, b = call("GET", f"/syncs/progress/{d}", "u1", m["users"]["u1"])
            got = json.loads(b).get("progress") if st == 200 else f"status {st}"
            if got != m["docs"].get(f"u1/{d}"):
                bad.append(f"u1/{d}: got {str(got)[:12]}, want {str(m['docs'].get(f'u1/{d}'))[:12]}")
    print(0, len(bad))
for x in bad[:10]:
    print(x)
EOF

if "$KOSYNCD" help check >/dev/null 2>&1; then HAVE_CHECK=1; else HAVE_CHECK=; fi

# run POINT N: one workload with the Nth call at POINT failing. Sets HIT
# when the fault showed (a refusal, a warning, or a refused start).
run() {
	local point=$1 n=$2 rc refused nbad
	HIT=
	rm -rf "$KS_DIR"
	mkdir -p "$KS_DIR"
	env "KOSYNCD_TEST_FAULT_$point=$n" "$KOSYNCD" --data-dir "$KS_DIR" \
	    --listen-address 127.0.0.1:0 --storage file --compact-bytes 4096 \
	    2>"$KS_ERR.new" &
	KS_PID=$!
	KS_PORT=
	for i in $(seq 1 200); do
		KS_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$KS_ERR.new" | head -n 1)
		[ -n "$KS_PORT" ] && break
		kill -0 "$KS_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$KS_PORT" ]; then
		wait "$KS_PID"
		rc=$?
		KS_PID=
		HIT=1
		if [ "$rc" -ne 0 ] && grep -q 'warning: ' "$KS_ERR.new" &&
		    ! grep -qE 'Sanitizer|runtime error' "$KS_ERR.new"; then
			echo '{"users":{},"docs":{}}' >"$KS_TMP/model"
		else
			not_ok "$point=$n: refused start is clean (rc $rc)"
			sed 's/^/#   /' "$KS_ERR.new" | head -n 5
			return
		fi
	else
		timeout 30 python3 "$KS_TMP/fi.py" work "$KS_PORT" "$KS_TMP/model" \
		    >"$KS_TMP/fi.out" 2>&1
		read -r refused nbad <"$KS_TMP/fi.out"
		[ "${refused:-0}" -gt 0 ] && HIT=1
		kill -TERM "$KS_PID"
		wait "$KS_PID"
		rc=$?
		KS_PID=
		grep -q 'warning: ' "$KS_ERR.new" && HIT=1
		if [ "${nbad:-1}" -ne 0 ] || [ "$rc" -gt 1 ] ||
		    grep -qE 'Sanitizer|runtime error' "$KS_ERR.new"; then
			not_ok "$point=$n: answers and exit (rc $rc, ${nbad:-?} bad)"
			sed -n '2,$p' "$KS_TMP/fi.out" | sed 's/^/#   /'
			grep -vE ' (info|access): ' "$KS_ERR.new" | head -n 5 |
			    sed 's/^/#   /'
			return
		fi
	fi
	[ -n "$HIT" ] || return 0
	if [ -n "$HAVE_CHECK" ]; then
		if ! "$KOSYNCD" check --data-dir "$KS_DIR" \
		    >"$KS_TMP/check.out" 2>&1; then
			not_ok "$point=$n: kosyncd check passes"
			sed 's/^/#   /' "$KS_TMP/check.out" | head -n 5
			return
		fi
	fi
	if ! ks_start --storage file >/dev/null; then
		not_ok "$point=$n: restart without the fault"
		return
	fi
	timeout 30 python3 "$KS_TMP/fi.py" verify "$KS_PORT" "$KS_TMP/model" \
	    >"$KS_TMP/fi.out" 2>&1
	read -r _ nbad <"$KS_TMP/fi.out"
	kill -TERM "$KS_PID"
	wait "$KS_PID"
	rc=$?
	KS_PID=
	if [ "${nbad:-1}" -ne 0 ] || [ "$rc" -ne 0 ]; then
		not_ok "$point=$n: after restart exactly the acknowledged state (rc $rc)"
		sed -n '2,$p' "$KS_TMP/fi.out" | sed 's/^/#   /'
		return
	fi
	ok "$point=$n: consistent, serving, no acknowledged write lost"
}

for point in $POINTS; do
	n=1
	while [ "$n" -le "$MAXN" ]; do
		run "$point" "$n"
		[ -n "$HIT" ] || break
		n=$((n + 1))
	done
	echo "# $point: $((n - 1)) calls failed one at a time across the workload"
	check "$point: the workload reached the point" test "$n" -gt 1
	check "$point: the loop ended (the workload makes fewer than $MAXN calls)" \
	    test "$n" -le "$MAXN"
done
done_testing
