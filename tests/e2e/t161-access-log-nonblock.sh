#!/usr/bin/env bash
# t161-access-log-nonblock: the access log through a pipe that is
# non-blocking (as a supervisor may hand it over), read slowly, and
# written to at the same time by another process (as a pipe to journald or
# Docker is shared by everything the service runs): the server handles
# EAGAIN (waits for room, drops nothing, does not crash), writes its lines
# in atomic pieces of at most PIPE_BUF bytes (accesslog.h), so every access
# line and every line of the other writer arrives whole, never one inside
# the other; every answered request has exactly one line, including those
# answered just before SIGTERM. No timing is asserted.
. "$(dirname "$0")/lib.sh"

out=$(python3 - "$KOSYNCD" "$KS_DIR" <<'PY'
import os, re, socket, subprocess, sys, threading, time

binary, datadir = sys.argv[1], sys.argv[2]
r, w = os.pipe()
os.set_blocking(w, False)
srv = subprocess.Popen([binary, "--data-dir", datadir,
                        "--listen-address", "127.0.0.1:0",
                        "--max-connections-per-ip", "4096"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=w, pass_fds=())
port = None
got = bytearray()
ready = threading.Event()

def reader():
    # Slow: 1 KiB every 2 ms (~500 KB/s) once the server listens.
    global port
    while True:
        b = os.read(r, 1024)
        if not b:
            break
        got.extend(b)
        if port is None:
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", bytes(got))
            if m:
                port = int(m.group(1))
                ready.set()
        else:
            time.sleep(0.002)
    ready.set()

other_n = [0]
stop = threading.Event()

def other():
    # Another writer on the same (non-blocking) pipe, one line a write.
    while not stop.is_set():
        line = b"OTHER %06d %s\n" % (other_n[0], b"y" * 80)
        try:
            os.write(w, line)
            other_n[0] += 1
        except BlockingIOError:
            time.sleep(0.001)

tr = threading.Thread(target=reader)
tr.start()
if not ready.wait(30) or port is None:
    print("bad: the server did not start")
    srv.kill()
    sys.exit()
to = threading.Thread(target=other)
to.start()

answered = []
lock = threading.Lock()

def client(k):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    for i in range(40):
        path = "/t161/%d/%d/%s" % (k, i, "x" * 150)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        d = b""
        while b"\r\n\r\n" not in d:
            d += s.recv(65536)
        head, body = d.split(b"\r\n\r\n", 1)
        n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(body) < n:
            body += s.recv(65536)
        with lock:
            answered.append(path)
    s.close()

cs = [threading.Thread(target=client, args=(k,)) for k in range(64)]
for t in cs:
    t.start()
for t in cs:
    t.join()
stop.set()
to.join()
srv.send_signal(15)
rc = srv.wait(60)
os.close(w)
tr.join()

access = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z access: "
                    r"127\.0\.0\.1 GET (/t161/\d+/\d+/x{150}) 404 \d+ "
                    r"\d+\.\d{3} -$")
otherre = re.compile(r"^OTHER (\d{6}) y{80}$")
seen, others = {}, set()
bad = None
for line in got.decode("utf-8", "replace").split("\n"):
    if " access: " in line or "OTHER" in line or "/t161/" in line:
        m = access.match(line)
        if m:
            seen[m.group(1)] = seen.get(m.group(1), 0) + 1
            continue
        m = otherre.match(line)
        if m:
            others.add(int(m.group(1)))
            continue
        bad = bad or "bad: a line not whole: %r" % line[:200]
missing = [p for p in answered if seen.get(p) != 1]
print("exit", rc)
print("answered", len(answered))
print(bad or "lines whole")
print("each answer logged once" if not missing else
      "bad: %d not logged once, e.g. %s" % (len(missing), missing[0][:30]))
print("other writer's lines all there" if others == set(range(other_n[0]))
      else "bad: %d of the other writer's %d lines" % (len(others),
                                                      other_n[0]))
print("other writer wrote", "some" if other_n[0] > 0 else "none")
PY
)
printf '%s\n' "$out" | sed 's/^/# /'
is "server exited 0 on SIGTERM" "$(printf '%s\n' "$out" | sed -n 's/^exit //p')" 0
is "2560 requests answered" "$(printf '%s\n' "$out" | sed -n 's/^answered //p')" 2560
like "every line whole" "$out" "lines whole"
like "every answer logged exactly once" "$out" "each answer logged once"
like "the other writer's lines all whole and there" "$out" "other writer's lines all there"
like "the other writer did write meanwhile" "$out" "other writer wrote some"

done_testing
