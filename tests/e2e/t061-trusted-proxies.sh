#!/usr/bin/env bash
# t061-trusted-proxies: X-Forwarded-For / X-Real-IP believed only from the
# addresses in trusted_proxies, for the access log and the limits alike.
#
# The "proxy" is 127.0.0.1; other clients are 127.0.0.N (curl --interface).
# Covers: the forwarded client (rightmost untrusted hop) is the access-log
# address; X-Real-IP without X-Forwarded-For; a client-supplied leftmost hop
# is not believed; an untrusted peer's headers are ignored (logged and
# limited under its own address, so changing X-Forwarded-For does not escape
# a block); failed-login limits apply per forwarded client behind one
# proxy; the proxy's connections are not counted against
# max_connections_per_ip while other addresses are; a malformed
# trusted_proxies value is refused at start-up naming the option.
. "$(dirname "$0")/lib.sh"

UNAUTH='{"code":2001,"message":"Unauthorized"}'
KEY=$(md5 pw)

# logged_peer: the address of the last access-log line.
logged_peer() {
	sleep 0.05
	grep ' access: ' "$KS_ERR.new" | tail -n 1 | awk '{print $3}'
}

out=$("$KOSYNCD" --data-dir "$KS_TMP/x" --trusted-proxies '10.0.0.0/33' 2>&1)
rc=$?
is "bad trusted_proxies: exit 1" "$rc" 1
like "bad trusted_proxies: message names the option" "$out" \
    "trusted_proxies.*10\.0\.0\.0/33"

ks_start --storage memory --trusted-proxies '127.0.0.1, ::1' \
    --auth-fail-per-ip 3 --auth-fail-per-user 100 \
    --max-connections-per-ip 2 ||
	{ not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"u\",\"password\":\"$KEY\"}"
is "register" "$STATUS" 201

# --- the access log
req GET /healthcheck "" -H 'X-Forwarded-For: 203.0.113.5'
is "via the proxy: answered" "$STATUS" 200
is "via the proxy: the forwarded client is logged" "$(logged_peer)" 203.0.113.5
req GET /healthcheck "" -H 'X-Forwarded-For: 1.1.1.1, 203.0.113.7'
is "a client-supplied leftmost hop is not believed" "$(logged_peer)" \
    203.0.113.7
req GET /healthcheck "" -H 'X-Forwarded-For: 203.0.113.8, 127.0.0.1'
is "trusted hops are skipped" "$(logged_peer)" 203.0.113.8
req GET /healthcheck "" -H 'X-Real-IP: 2001:db8::9'
is "X-Real-IP without X-Forwarded-For" "$(logged_peer)" 2001:db8::9
req GET /healthcheck "" -H 'X-Forwarded-For: not-an-address'
is "garbage: the proxy's own address" "$(logged_peer)" 127.0.0.1
req GET /healthcheck "" --interface 127.0.0.2 -H 'X-Forwarded-For: 203.0.113.6' \
    -H 'X-Real-IP: 203.0.113.6'
is "an untrusted peer's headers are ignored" "$(logged_peer)" 127.0.0.2

# --- limits per forwarded client
for n in 1 2 3; do
	req GET /users/auth "" $(auth u "$(md5 "w$n")") \
	    -H 'X-Forwarded-For: 198.51.100.1'
done
req GET /users/auth "" $(auth u "$KEY") -H 'X-Forwarded-For: 198.51.100.1'
is "client .1 behind the proxy is blocked" "$STATUS $BODY" "401 $UNAUTH"
req GET /users/auth "" $(auth u "$KEY") -H 'X-Forwarded-For: 198.51.100.2'
is "client .2 behind the same proxy is not" "$STATUS" 200
req GET /users/auth "" $(auth u "$KEY")
is "nor the proxy itself" "$STATUS" 200

for n in 1 2 3; do
	req GET /users/auth "" --interface 127.0.0.3 $(auth u "$(md5 "v$n")") \
	    -H "X-Forwarded-For: 192.0.2.$n"
done
req GET /users/auth "" --interface 127.0.0.3 $(auth u "$KEY") \
    -H 'X-Forwarded-For: 192.0.2.99'
is "an untrusted peer cannot escape its block with X-Forwarded-For" \
    "$STATUS $BODY" "401 $UNAUTH"

# --- connection counts: the proxy carries many clients
res=$(PORT=$KS_PORT timeout 20 python3 -c '
import os, socket
port = int(os.environ["PORT"])
def opened(src, n):
    socks = []
    for i in range(n):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks
def answer(s):
    s.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
    return s.recv(4096).split(b"\r\n")[0].split(b" ")[1].decode()
proxy = opened("127.0.0.1", 5)
other = opened("127.0.0.4", 3)
print(" ".join(answer(s) for s in proxy), "/", " ".join(answer(s) for s in other))
')
is "5 connections from the proxy served, the 3rd from another address 503" \
    "$res" "200 200 200 200 200 / 200 200 503"
ks_stop
done_testing
