#!/usr/bin/env bash
# t023-transport-strict: request framing and header syntax on the real
# binary (issue 12, items 1, 8 and 10).
#
# Covers: a chunked request whose chunks carry one byte of data and ~60 KB
# of chunk extension each is answered 413 JSON once the request's bound
# (2 x max_header_bytes + 2 x max_body_bytes) was read, and the server's
# memory stays flat while the client keeps sending (it used to buffer
# without limit); the same with endless small chunks; a blank between a
# field name and its colon ("Content-Length : 2", "Transfer-Encoding :
# chunked") is 400 JSON and the request is not acted on; obsolete line
# folding, also when its first line is empty, is 400; a bare CR where an
# LF belongs (end of the headers, after chunk data, end of a chunk-size
# line) and an LF inside a chunk extension are 400; HTTP/1.9, 1.2, 2.0
# and 0.9 get 505 JSON, a request line without a version 400; HTTP/1.0
# and 1.1 still work.
. "$(dirname "$0")/lib.sh"

py() { PORT=$KS_PORT timeout 60 python3 -c "$1"; }

PYLIB="import os, socket, sys, time
sys.path.insert(0, '$(cd "$(dirname "$0")" && pwd)')
from rawhttp import *"

J400='{"code":400,"message":"Malformed HTTP request."}'
J413='{"code":413,"message":"Request body too large."}'
J505='{"code":505,"message":"HTTP version not supported."}'

ks_start --storage memory || { not_ok "server started"; done_testing; }

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$KS_PID/status"; }

# --- chunk extensions: 413 after the bound, memory flat
BOUND=$(((16 * 1024 + 64 * 1024) * 2))
rss0=$(rss_kb)
out=$(py "$PYLIB
s = conn()
s.sendall(b'PUT /syncs/progress HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
piece = b'1;e=' + b'x' * 60000 + b'\r\na\r\n'
sent = 0
got = b''
s.settimeout(0.02)
while sent < 40 * 1024 * 1024:
    try:
        s.sendall(piece)
        sent += len(piece)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        break
    try:
        b = s.recv(65536)
        if b:
            got += b
            break
    except socket.timeout:
        pass
    except ConnectionResetError:
        break
s.settimeout(5)
got += read_all(s)
r = responses(got)
print(r[0][0], r[0][1].get('connection'), r[0][2])
print('answered within the bound' if sent <= $BOUND + 1024 * 1024 else 'answered after %d bytes' % sent)
")
is "chunk extensions: 413 JSON, connection closed" "$out" \
"HTTP/1.1 413 Payload Too Large close $J413
answered within the bound"
rss1=$(rss_kb)
grow=$((rss1 - rss0))
if [ "$grow" -lt 20000 ]; then
	ok "chunk extensions: RSS grew by less than 20 MB (${grow} kB)"
else
	not_ok "chunk extensions: RSS grew by less than 20 MB (${grow} kB)"
fi

# --- many small chunks: the framing counts too
out=$(py "$PYLIB
s = conn()
try:
    s.sendall(b'PUT /syncs/progress HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' + b'1;\r\na\r\n' * 60000)
except (BrokenPipeError, ConnectionResetError):
    pass
r = responses(read_all(s))
print(r[0][0], r[0][2])
")
is "many one-byte chunks: 413 JSON" "$out" "HTTP/1.1 413 Payload Too Large $J413"

# --- a chunked body of normal framing is still fine
body='{"username":"chunky","password":"'$(md5 pw)'"}'
out=$(py "$PYLIB
s = conn()
b = b'$body'
s.sendall(b'POST /users/create HTTP/1.1\r\nConnection: close\r\nAccept: $ACCEPT\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' + b'%x;name=value\r\n' % len(b) + b + b'\r\n0\r\nX-Trailer: t\r\n\r\n')
print(status_body(read_all(s)))
")
is "chunked body with an extension and a trailer: served" "$out" \
    'HTTP/1.1 201 Created {"username":"chunky"}'

# rawreq BYTES (python bytes literal): "<status line> <body>" of the answer.
rawreq() {
	py "$PYLIB
s = conn()
try:
    s.sendall($1)
except (BrokenPipeError, ConnectionResetError):
    pass
print(status_body(read_all(s)))
"
}

# --- a blank between a field name and its colon
# (36 bytes: 0x24)
REG='{\"username\":\"sneaky\",\"password\":\"x\"}'
out=$(rawreq "b'POST /users/create HTTP/1.1\r\nAccept: $ACCEPT\r\nContent-Type: application/json\r\nContent-Length : 36\r\n\r\n$REG'")
is "Content-Length with a blank before the colon: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'POST /users/create HTTP/1.1\r\nAccept: $ACCEPT\r\nContent-Type: application/json\r\nTransfer-Encoding : chunked\r\n\r\n24\r\n$REG\r\n0\r\n\r\n'")
is "Transfer-Encoding with a blank before the colon: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'GET /healthcheck HTTP/1.1\r\nHost\t: x\r\n\r\n'")
is "a tab before the colon: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
req GET /users/auth "" $(auth sneaky x)
is "the refused registrations were not acted on" "$STATUS" 401

# --- obsolete line folding
out=$(rawreq "b'GET /healthcheck HTTP/1.1\r\nX-Auth-User:\r\n folded\r\n\r\n'")
is "folding with an empty first line: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'GET /healthcheck HTTP/1.1\r\nX-A:\r\n \r\nHost: x\r\n\r\n'")
is "folding with an empty continuation: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'GET /healthcheck HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n'")
is "folding of a non-empty value: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'GET /healthcheck HTTP/1.1\r\nX-A:\r\nConnection: close\r\n\r\n'")
is "an empty header value is fine" "$out" 'HTTP/1.1 200 OK {"state":"OK"}'

# --- a bare CR where an LF belongs (libhttp-parser took any byte there)
out=$(rawreq "b'GET /healthcheck HTTP/1.1\r\nX-A: a\r\n\rZGET /healthcheck HTTP/1.1\r\n\r\n'")
is "bare CR ending the headers: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'POST /users/create HTTP/1.1\r\nAccept: $ACCEPT\r\nTransfer-Encoding: chunked\r\n\r\n24\r\n${REG}XY0\r\n\r\n'")
is "no CR LF after a chunk's data: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'POST /users/create HTTP/1.1\r\nAccept: $ACCEPT\r\nTransfer-Encoding: chunked\r\n\r\n24;x\rY${REG}\r\n0\r\n\r\n'")
is "bare CR ending a chunk-size line: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'POST /users/create HTTP/1.1\r\nAccept: $ACCEPT\r\nTransfer-Encoding: chunked\r\n\r\n24;x\nY\r\n${REG}\r\n0\r\n\r\n'")
is "an LF inside a chunk extension: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
req GET /users/auth "" $(auth sneaky x)
is "none of them registered anything" "$STATUS" 401

# --- versions
for v in 1.9 1.2 2.0 0.9 3.0; do
	out=$(rawreq "b'GET /healthcheck HTTP/$v\r\nHost: x\r\n\r\n'")
	is "HTTP/$v: 505 JSON" "$out" "HTTP/1.1 505 HTTP Version Not Supported $J505"
done
out=$(rawreq "b'GET /healthcheck\r\nHost: x\r\n\r\n'")
is "a request line without a version: 400" "$out" "HTTP/1.1 400 Bad Request $J400"
out=$(rawreq "b'GET /healthcheck HTTP/1.0\r\n\r\n'")
is "HTTP/1.0 still served" "$out" 'HTTP/1.1 200 OK {"state":"OK"}'
out=$(rawreq "b'GET /healthcheck HTTP/1.1\r\nConnection: close\r\n\r\n'")
is "HTTP/1.1 still served" "$out" 'HTTP/1.1 200 OK {"state":"OK"}'

ks_stop
done_testing
