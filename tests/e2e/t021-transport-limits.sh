#!/usr/bin/env bash
# t021-transport-limits: connection limits and deadlines on the real binary.
#
# Covers: a request trickled byte by byte slower than request_timeout_ms is
# cut off with 408 JSON while another client is served meanwhile; an idle
# keep-alive connection is closed silently after idle_timeout_ms; more
# connections from one address than max_connections_per_ip get 503 JSON and
# the others keep working, and a freed slot is usable again; more than
# max_connections in total get 503 too while every slot is in the middle
# of a request.
. "$(dirname "$0")/lib.sh"

py() { PORT=$KS_PORT timeout 30 python3 -c "$1"; }

# Raw sockets for the scripts below (tests/e2e/rawhttp.py).
PYLIB="import os, socket, sys, time
sys.path.insert(0, '$(cd "$(dirname "$0")" && pwd)')
from rawhttp import *"
HC='GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n'

ks_start --request-timeout-ms 500 --idle-timeout-ms 700 \
    --max-connections-per-ip 3 --max-connections 5 ||
	{ not_ok "server started"; done_testing; }

# --- a slow client is cut off; a fast one is served meanwhile
out=$(py "$PYLIB
slow = conn()
req = b'$HC'
t0 = time.monotonic()
served = None
cut = None
for i in range(len(req)):
    try:
        slow.send(req[i:i+1])
    except (BrokenPipeError, ConnectionResetError):
        break
    if i == 3:
        f = conn()
        f.sendall(b'GET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n')
        served = status_body(read_all(f))
    time.sleep(0.1)
    slow.settimeout(0.001)
    try:
        got = slow.recv(65536)
        if got:
            cut = got
            break
    except socket.timeout:
        pass
    slow.settimeout(5)
if cut is None:
    cut = read_all(slow)
else:
    cut += read_all(slow)
elapsed = time.monotonic() - t0
print(served)
print(status_body(cut))
print('cut off in time' if 0.4 < elapsed < 1.5 else 'elapsed %.2f' % elapsed)
")
is "slow client: another client served meanwhile; the slow one gets 408" "$out" \
'HTTP/1.1 200 OK {"state":"OK"}
HTTP/1.1 408 Request Timeout {"code":408,"message":"Request timeout."}
cut off in time'

# --- idle keep-alive connection closed silently
out=$(py "$PYLIB
s = conn()
s.sendall(b'$HC')
time.sleep(0.2)
first = s.recv(65536)
t0 = time.monotonic()
rest = read_all(s)
e = time.monotonic() - t0
print(status_body(first), len(rest), 'closed' if 0.3 < e < 2 else 'elapsed %.2f' % e)
")
is "idle connection closed silently after idle_timeout_ms" "$out" \
    'HTTP/1.1 200 OK {"state":"OK"} 0 closed'

# --- per-address limit: the fourth connection from 127.0.0.1 gets 503
out=$(py "$PYLIB
keep = [conn() for _ in range(3)]
for s in keep:
    s.sendall(b'$HC')
    s.recv(65536)
extra = conn()
print(status_body(read_all(extra)))
# the three still work
for s in keep:
    s.sendall(b'$HC')
    print(status_body(s.recv(65536)))
keep[0].close()
time.sleep(0.2)
again = conn()
again.sendall(b'GET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n')
print(status_body(read_all(again)))
")
is "per-address limit: 503 JSON beyond it, others unaffected" "$out" \
'HTTP/1.1 503 Service Unavailable {"code":503,"message":"Too many connections."}
HTTP/1.1 200 OK {"state":"OK"}
HTTP/1.1 200 OK {"state":"OK"}
HTTP/1.1 200 OK {"state":"OK"}
HTTP/1.1 200 OK {"state":"OK"}'

# --- total limit: 5 connections mid-request, from 127.0.0.1 and 127.0.0.2
out=$(py "$PYLIB
def conn_from(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(('127.0.0.1', PORT))
    s.settimeout(5)
    return s
keep = [conn_from('127.0.0.1') for _ in range(3)] + [conn_from('127.0.0.2') for _ in range(2)]
for s in keep:
    s.sendall(b'$HC')
    s.recv(65536)
    # Busy with a next request (idle ones are closed to make room: t025).
    s.sendall(b'GET /healthcheck HTTP/1.1\r\n')
extra = conn_from('127.0.0.3')
print(status_body(read_all(extra)))
")
is "total limit: 503 beyond max_connections" "$out" \
    'HTTP/1.1 503 Service Unavailable {"code":503,"message":"Too many connections."}'

req GET /healthcheck
is "still serving" "$STATUS" 200

ks_stop
done_testing
