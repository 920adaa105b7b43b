#!/usr/bin/env bash
# t020-transport: HTTP/1.1 framing on the real binary, with raw bytes.
#
# Covers: keep-alive and Connection: close; pipelined requests answered in
# order on one connection (also sent one byte at a time); HTTP/1.0 with and
# without keep-alive; HEAD (headers only, Content-Length kept); a chunked
# request body; Expect: 100-continue through curl; an oversized body (413,
# announced and actually sent), oversized headers (431), too many header
# lines (431), binary garbage and bad framing (400), an unsupported HTTP
# version (505) - each with its JSON body and Content-Type, and the server
# keeps serving afterwards; the access-log line's fields.
. "$(dirname "$0")/lib.sh"

ks_start --max-body-bytes 1024 --max-header-bytes 1024 || { not_ok "server started"; done_testing; }

# py SCRIPT: run python3 with PORT set; prints what the script prints.
py() { PORT=$KS_PORT timeout 20 python3 -c "$1"; }

# Raw sockets for the scripts below (tests/e2e/rawhttp.py).
PYLIB="import os, socket, sys, time
sys.path.insert(0, '$(cd "$(dirname "$0")" && pwd)')
from rawhttp import *"

HC='GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n'
OKBODY='{"state":"OK"}'

# --- keep-alive, then Connection: close on the same connection
out=$(py "$PYLIB
s = conn()
s.sendall(b'$HC')
time.sleep(0.2)
s.sendall(b'GET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n')
for st, h, b in responses(read_all(s)):
    print(st, h.get('connection'), h.get('content-type'), h.get('content-length'), b)
")
is "keep-alive then close" "$out" "HTTP/1.1 200 OK keep-alive application/json 14 $OKBODY
HTTP/1.1 200 OK close application/json 14 $OKBODY"

# --- pipelining: 20 requests in one write, answered in order
out=$(py "$PYLIB
reqs = b''
for i in range(20):
    path = b'/healthcheck' if i % 2 == 0 else b'/nope/%d' % i
    reqs += b'GET ' + path + b' HTTP/1.1\r\nHost: x\r\n\r\n'
reqs += b'GET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n'
s = conn()
s.sendall(reqs)
print(' '.join(st.split()[1] for st, h, b in responses(read_all(s))))
")
is "pipelined answers in order" "$out" \
    "200 404 200 404 200 404 200 404 200 404 200 404 200 404 200 404 200 404 200 404 200"

# --- the same, trickled one byte at a time (well within the deadline)
out=$(py "$PYLIB
reqs = (b'$HC' * 3) + b'GET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n'
s = conn()
for i in range(len(reqs)):
    s.send(reqs[i:i+1])
print(len(responses(read_all(s))))
")
is "pipelined requests sent byte by byte" "$out" 4

# --- HTTP/1.0
out=$(py "$PYLIB
s = conn()
s.sendall(b'GET /healthcheck HTTP/1.0\r\n\r\n')
r = responses(read_all(s))
print(len(r), r[0][0], r[0][1].get('connection'))
s = conn()
s.sendall(b'GET /healthcheck HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
time.sleep(0.3)
s.sendall(b'GET /healthcheck HTTP/1.0\r\n\r\n')
r = responses(read_all(s))
print(len(r), r[0][1].get('connection'), r[1][1].get('connection'))
")
is "HTTP/1.0 closes unless asked to keep alive" "$out" "1 HTTP/1.1 200 OK close
2 keep-alive close"

# --- HEAD: headers only
out=$(py "$PYLIB
s = conn()
s.sendall(b'HEAD /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n')
print(repr(read_all(s).split(b'\r\n\r\n', 1)))
")
like "HEAD has Content-Length and no body" "$out" "Content-Length: 14.*, b''\]$"

# --- chunked request body reaches the handler (invalid JSON -> 400/103)
out=$(py "$PYLIB
s = conn()
s.sendall(b'POST /users/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\n{\"u\r\n2\r\nxx\r\n0\r\n\r\n')
r = responses(read_all(s))
print(r[0][0], r[0][2])
")
like "chunked body is assembled and parsed" "$out" '^HTTP/1.1 400 .*"code":103'

# --- Expect: 100-continue with curl (curl sends it for bodies > 1 MiB or
# when asked); the body fits, so the request goes through.
body='{"username":"expect","password":"'$(md5 pw)'"}'
req POST /users/create "$body" -H 'Expect: 100-continue'
is "Expect: 100-continue status" "$STATUS" 201
is "Expect: 100-continue body" "$BODY" '{"username":"expect"}'
like "100 Continue was sent" "$HEADERS" "HTTP/1.1 100 Continue"

# --- 413: announced too large (no body sent), with Expect
J413='{"code":413,"message":"Request body too large."}'
big=$(head -c 5000 /dev/zero | tr '\0' a)
req POST /users/create "{\"username\":\"$big\"}" -H 'Expect: 100-continue'
is "oversized body with Expect: 413" "$STATUS" 413
is "oversized body: JSON" "$BODY" "$J413"
is "oversized body: Content-Type" "$CTYPE" application/json
unlike_continue=$(printf '%s\n' "$HEADERS" | grep -c '100 Continue')
is "no 100 Continue for a body over the limit" "$unlike_continue" 0

# --- 413: the client sends the whole body anyway, without Expect
out=$(py "$PYLIB
s = conn()
body = b'x' * 200000
try:
    s.sendall(b'PUT /syncs/progress HTTP/1.1\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
except (BrokenPipeError, ConnectionResetError):
    pass
r = responses(read_all(s))
print(r[0][0], r[0][1].get('connection'), r[0][2])
")
is "oversized body sent in full: 413 arrives" "$out" "HTTP/1.1 413 Payload Too Large close $J413"

# --- 413: chunked body over the limit
out=$(py "$PYLIB
s = conn()
s.sendall(b'PUT /syncs/progress HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' + (b'200\r\n' + b'y' * 512 + b'\r\n') * 3)
r = responses(read_all(s))
print(r[0][0], r[0][2])
")
is "chunked body over the limit: 413" "$out" "HTTP/1.1 413 Payload Too Large $J413"

# --- 431: a header line larger than max_header_bytes, and too many lines
J431='{"code":431,"message":"Request header fields too large."}'
out=$(py "$PYLIB
s = conn()
s.sendall(b'GET /healthcheck HTTP/1.1\r\nX-Big: ' + b'z' * 3000 + b'\r\n\r\n')
r = responses(read_all(s))
print(r[0][0], r[0][1].get('content-type'), r[0][2])
s = conn()
s.sendall(b'GET /healthcheck HTTP/1.1\r\n' + b''.join(b'X%d: 1\r\n' % i for i in range(70)) + b'\r\n')
r = responses(read_all(s))
print(r[0][0], r[0][2])
")
is "oversized headers: 431" "$out" "HTTP/1.1 431 Request Header Fields Too Large application/json $J431
HTTP/1.1 431 Request Header Fields Too Large $J431"

# --- 400: binary garbage, bad framing; 505: HTTP/2.0 request line
J400='{"code":400,"message":"Malformed HTTP request."}'
out=$(py "$PYLIB
import random
random.seed(1)
cases = [bytes(random.getrandbits(8) for _ in range(300)),
         b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + bytes(range(256)),
         b'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
         b'GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n',
         b'GET /\x00 HTTP/1.1\r\n\r\n']
for c in cases:
    s = conn()
    try:
        s.sendall(c)
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = responses(read_all(s))
    print(r[0][0], r[0][1].get('connection'), r[0][2])
s = conn()
s.sendall(b'GET /healthcheck HTTP/2.0\r\n\r\n')
r = responses(read_all(s))
print(r[0][0])
")
is "malformed requests: 400 JSON and close" "$out" "HTTP/1.1 400 Bad Request close $J400
HTTP/1.1 400 Bad Request close $J400
HTTP/1.1 400 Bad Request close $J400
HTTP/1.1 400 Bad Request close $J400
HTTP/1.1 400 Bad Request close $J400
HTTP/1.1 505 HTTP Version Not Supported"

# --- still serving after all of that
req GET /healthcheck
is "still serving" "$STATUS $BODY" "200 $OKBODY"

# --- access log: client, method, path (escaped), status, bytes, ms, user
py "$PYLIB
s = conn()
s.sendall(b'GET /heal%20th\"check HTTP/1.1\r\nConnection: close\r\n\r\n')
read_all(s)
" >/dev/null
sleep 0.2
line=$(grep 'access: ' "$KS_ERR.new" | grep 'heal' | tail -n 1)
like "access-log line fields" "$line" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z access: 127\.0\.0\.1 GET /heal%20th\\x22check 404 [0-9]+ [0-9]+\.[0-9]{3} -$'
line=$(grep 'access: ' "$KS_ERR.new" | grep ' 413 ' | head -n 1)
like "access-log line of a transport error" "$line" \
    'access: 127\.0\.0\.1 (-|POST|PUT) (-|/[a-z/]*) 413 48 [0-9]+\.[0-9]{3} -$'

ks_stop
done_testing
