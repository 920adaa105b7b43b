#!/usr/bin/env bash
# t022-transport-shutdown: graceful shutdown on SIGTERM, on the real binary.
#
# Covers: with an idle keep-alive connection, a half-sent request and a
# registration (answered asynchronously, after argon2id on the thread pool)
# in flight, SIGTERM closes the idle connection at once, stops accepting
# new connections, lets both requests finish with "Connection: close", and
# the server exits 0 with nothing unexpected on stderr. The registrations
# (30, argon2id one at a time) still queued at the signal are answered,
# with "Connection: close".
. "$(dirname "$0")/lib.sh"

# One argon2id at a time, so that a burst of registrations stays in flight;
# no registration limit, so that all 30 are accepted.
ks_start --argon2-concurrency 1 --register-per-ip 0 || { not_ok "server started"; done_testing; }

# ks_wait_exit: the server was signalled by the test; check how it ended.
ks_wait_exit() {
	local rc bad
	wait "$KS_PID"
	rc=$?
	KS_PID=
	cat "$KS_ERR.new" >>"$KS_ERR"
	is "server exited 0 after SIGTERM" "$rc" 0
	bad=$(grep -vE ' (info|access): ' "$KS_ERR.new" | grep -vE "$KS_ALLOW")
	if [ -n "$bad" ]; then
		not_ok "no unexpected stderr"
		printf '%s\n' "$bad" | head -n 30 | sed 's/^/#   /'
	else
		ok "no unexpected stderr"
	fi
}

key=$(md5 secret)
out=$(PORT=$KS_PORT PID=$KS_PID KEY=$key timeout 30 python3 -c '
import os, signal, socket, time
PORT = int(os.environ["PORT"])
def conn():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(5)
    return s
def read_all(s):
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    return out
def summary(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    conn = [l for l in lines if l.lower().startswith("connection:")]
    return lines[0] + " | " + ",".join(conn) + " | " + body.decode()

idle = conn()
idle.sendall(b"GET /healthcheck HTTP/1.1\r\n\r\n")
idle.recv(65536)

half = conn()
half.sendall(b"GET /healthcheck HTTP/1.1\r\nHo")

regs = []
for i in range(30):
    body = b"{\"username\":\"sd%d\",\"password\":\"" % i + os.environ["KEY"].encode() + b"\"}"
    r = conn()
    r.settimeout(15)
    r.sendall(b"POST /users/create HTTP/1.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    regs.append(r)

# Let the server read everything before the signal (an idle connection
# whose request is still on the way may be closed, as HTTP allows).
time.sleep(0.2)
os.kill(int(os.environ["PID"]), signal.SIGTERM)
time.sleep(0.3)
print("idle:", repr(read_all(idle)))
try:
    late = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    late.sendall(b"GET /healthcheck HTTP/1.1\r\n\r\n")
    print("late:", repr(read_all(late)))
except OSError:
    print("late: refused")
half.sendall(b"st: x\r\n\r\n")
print("half:", summary(read_all(half)))
answers = [summary(read_all(r)) for r in regs]
created = [a for a in answers if a.startswith("HTTP/1.1 201 Created")]
closed = [a for a in answers if "Connection: close" in a]
print("reg: %d of 30 created, %s" % (len(created),
      "some answered during shutdown" if closed else "none in flight"))
' 2>&1)
is "shutdown with requests in flight" "$out" \
'idle: b'"''"'
late: refused
half: HTTP/1.1 200 OK | Connection: close | {"state":"OK"}
reg: 30 of 30 created, some answered during shutdown'

ks_wait_exit
done_testing
