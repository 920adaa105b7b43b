#!/usr/bin/env bash
# t029-close-path: KOReader's path, a new connection per request
# (Connection: close). The server sends its FIN right after the answer, in
# the same turn (no uv_shutdown round), so a client that reads until EOF
# gets the whole answer and then EOF without closing first, and a
# connection whose client sent more bytes than the request still gets the
# whole answer (lingering, not a reset). Keep-alive connections (TCP_NODELAY
# from their second write on) answer many requests, pipelined too, in
# order. No timing is asserted.
. "$(dirname "$0")/lib.sh"

ks_start
register alice "$(md5 secret)"

# raw_http PYTHON-SNIPPET: run it with s a connected socket to the server,
# read_all() reading until EOF (20 s at most); prints what it prints.
raw_py() {
	python3 - "$KS_PORT" <<PY
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
def read_all():
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b
$1
PY
}

ACC='Accept: application/vnd.koreader.v1+json'
out=$(raw_py "
s.sendall(b'GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
d = read_all()
print(d.split(b'\r\n')[0].decode(), d.endswith(b'{\"state\":\"OK\"}'), 'EOF')")
is "close: the answer, then EOF from the server" "$out" "HTTP/1.1 200 OK True EOF"

out=$(raw_py "
s.sendall(b'GET /healthcheck HTTP/1.0\r\nHost: x\r\n\r\n')
d = read_all()
print(d.split(b'\r\n')[0].decode(), d.endswith(b'{\"state\":\"OK\"}'), 'EOF')")
is "HTTP/1.0: the answer, then EOF from the server" "$out" "HTTP/1.1 200 OK True EOF"

# More bytes after a close request: the answer still arrives whole.
out=$(raw_py "
s.sendall(b'GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' + b'x' * 5000)
d = read_all()
print(d.split(b'\r\n')[0].decode(), d.count(b'HTTP/1.1'), d.endswith(b'{\"state\":\"OK\"}'))")
is "close with trailing bytes: one whole answer" "$out" "HTTP/1.1 200 OK 1 True"

# 50 requests one after the other on one keep-alive connection, then 50
# pipelined in one send, the last with Connection: close.
out=$(raw_py "
req = b'GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n'
n = 0
for i in range(50):
    s.sendall(req)
    d = b''
    while not d.endswith(b'{\"state\":\"OK\"}'):
        d += s.recv(65536)
    n += d.count(b'HTTP/1.1 200 OK')
s.sendall(req * 49 + b'GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
d = read_all()
print(n, d.count(b'HTTP/1.1 200 OK'), d.endswith(b'{\"state\":\"OK\"}'))")
is "keep-alive: 50 in turn, 50 pipelined, then EOF" "$out" "50 50 True"

# The protocol through curl, a new connection each time, as KOReader.
for i in 1 2 3; do
	req PUT /syncs/progress '{"document":"d1","progress":"p'$i'","percentage":0.'$i',"device":"k","device_id":"K1"}' \
	    $(auth alice "$(md5 secret)") -H 'Connection: close'
done
is "push (close): 200" "$STATUS" 200
req GET /syncs/progress/d1 "" $(auth alice "$(md5 secret)") -H 'Connection: close'
is "pull (close): the last push" "$(printf '%s' "$BODY" | json 'd["progress"]')" p3
ks_stop

done_testing
