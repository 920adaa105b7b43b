#!/usr/bin/env bash
# t160-close-at-once: a client that asked to close (Connection: close, or
# HTTP/1.0 without keep-alive: KOReader's every request) and sent nothing
# but its request gets its answer and then the server's socket is closed at
# once, without waiting for the client's FIN (server.c conn_linger): bytes
# the client sends afterwards are answered with a reset. Where bytes might
# still be unread (more than the request arrived, an error answer, a
# keep-alive client that is closed by the server), the server lingers as
# before: later bytes are read and dropped, no reset. Every answer arrives
# whole either way. No timing is asserted.
. "$(dirname "$0")/lib.sh"

ks_start
register alice "$(md5 secret)"

# close_py REQUEST-BYTES: send them, read the answer until EOF, then send
# more bytes and look for a reset. Prints the status line, whether the
# answer ended with BODY-END, and "reset" or "linger".
close_py() {
	python3 - "$KS_PORT" "$1" "$2" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
d = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    d += b
# The server's side is closed (reset) or lingering (reads and drops).
how = "linger"
try:
    for _ in range(3):
        s.sendall(b"more bytes\r\n")
        time.sleep(0.05)
        s.recv(1)
except (ConnectionResetError, BrokenPipeError):
    how = "reset"
print(d.split(b"\r\n")[0].decode(), d.endswith(sys.argv[3].encode()), how)
PY
}

HC='{"state":"OK"}'
out=$(close_py 'GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$HC")
is "Connection: close: the answer, then closed at once" "$out" "HTTP/1.1 200 OK True reset"

out=$(close_py 'GET /healthcheck HTTP/1.0\r\nHost: x\r\n\r\n' "$HC")
is "HTTP/1.0: the answer, then closed at once" "$out" "HTTP/1.1 200 OK True reset"

out=$(close_py 'GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\nGET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$HC")
is "keep-alive then close on one connection: closed at once" "$out" "HTTP/1.1 200 OK True reset"

# More than the request: the server cannot know the rest was read.
out=$(close_py 'GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nxxxxxxxx' "$HC")
is "close with trailing bytes: lingers" "$out" "HTTP/1.1 200 OK True linger"

# An error answer (the request could not be read): lingers.
out=$(close_py 'GET /healthcheck HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n' '}')
like "a malformed request: 400" "$out" "^HTTP/1.1 400 "
like "a malformed request: lingers" "$out" " True linger$"

# A push as KOReader sends it: stored, answered, closed at once.
key=$(md5 secret)
body='{"document":"d1","progress":"p1","percentage":0.5,"device":"k","device_id":"K1"}'
out=$(close_py "PUT /syncs/progress HTTP/1.1\\r\\nHost: x\\r\\nAccept: application/vnd.koreader.v1+json\\r\\nx-auth-user: alice\\r\\nx-auth-key: $key\\r\\nContent-Type: application/json\\r\\nContent-Length: ${#body}\\r\\nConnection: close\\r\\n\\r\\n$body" '}')
like "push (close): 200, closed at once" "$out" "^HTTP/1.1 200 OK True reset$"
req GET /syncs/progress/d1 "" $(auth alice "$key") -H 'Connection: close'
is "pull (close): the push is there" "$(printf '%s' "$BODY" | json 'd["progress"]')" p1

# Many in a row through curl, a new connection each, as KOReader.
for i in $(seq 1 20); do
	req GET /users/auth "" $(auth alice "$key") -H 'Connection: close'
	[ "$STATUS" = 200 ] || break
done
is "20 auths with Connection: close" "$STATUS:$i" "200:20"
ks_stop

done_testing
