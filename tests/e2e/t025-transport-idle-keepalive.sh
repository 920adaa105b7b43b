#!/usr/bin/env bash
# t025-transport-idle-keepalive: keep-alive connections that sent one request
# and then wait must not hold every connection slot (issue 12, item 4).
#
# With max_connections 8: eight clients (eight addresses) each send one
# request on a keep-alive connection and then idle. Covers: a ninth client
# is served at once (it got 503 until the idle timeout before) and the
# connection idle the longest is the one closed to make room, then the
# next longest for a tenth client; the others stay open and usable; when
# every slot is in the middle of a request (nothing idle, nothing silent),
# a newcomer still gets 503 JSON; the server stops cleanly.
. "$(dirname "$0")/lib.sh"

py() { PORT=$KS_PORT timeout 60 python3 -c "$1"; }

PYLIB="import os, socket, sys, time
sys.path.insert(0, '$(cd "$(dirname "$0")" && pwd)')
from rawhttp import *"

ks_start --storage memory --max-connections 8 --max-connections-per-ip 8 \
    --idle-timeout-ms 60000 --request-timeout-ms 60000 ||
	{ not_ok "server started"; done_testing; }

out=$(py "$PYLIB
HC = b'GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n'

def client(n):
    s = socket.socket()
    s.bind(('127.0.0.%d' % n, 0))
    s.connect(('127.0.0.1', PORT))
    s.settimeout(5)
    return s

def ask(s, req=HC):
    s.sendall(req)
    got = b''
    while b'{\"state\":\"OK\"}' not in got and b'\"code\"' not in got:
        b = s.recv(65536)
        if not b:
            break
        got += b
    return got.split(b'\r\n')[0].decode() if got else 'closed'

def is_closed(s):
    s.settimeout(2)
    try:
        return s.recv(1) == b''
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

idle = []
for n in range(2, 10):
    s = client(n)
    print('idle %d: %s' % (n, ask(s)))
    idle.append(s)
    time.sleep(0.1)
new1 = client(20)
print('newcomer 1:', ask(new1))
print('longest idle closed:', is_closed(idle[0]))
new2 = client(21)
print('newcomer 2:', ask(new2))
print('next longest closed:', is_closed(idle[1]))
print('the others still served:', all(ask(s) == 'HTTP/1.1 200 OK' for s in idle[2:]))
# Every slot in the middle of a request: no room to make.
for s in idle + [new1, new2]:
    s.close()
time.sleep(0.5)
busy = []
for n in range(2, 10):
    s = client(n)
    s.sendall(b'GET /healthcheck HTTP/1.1\r\n')
    busy.append(s)
time.sleep(0.3)
late = client(22)
late.sendall(HC)
print('all slots mid-request:', status_body(read_all(late)))
for s in busy:
    s.close()
")
is "eight idle keep-alive connections, then newcomers" "$out" \
"idle 2: HTTP/1.1 200 OK
idle 3: HTTP/1.1 200 OK
idle 4: HTTP/1.1 200 OK
idle 5: HTTP/1.1 200 OK
idle 6: HTTP/1.1 200 OK
idle 7: HTTP/1.1 200 OK
idle 8: HTTP/1.1 200 OK
idle 9: HTTP/1.1 200 OK
newcomer 1: HTTP/1.1 200 OK
longest idle closed: True
newcomer 2: HTTP/1.1 200 OK
next longest closed: True
the others still served: True
all slots mid-request: HTTP/1.1 503 Service Unavailable {\"code\":503,\"message\":\"Too many connections.\"}"

ks_stop
done_testing
