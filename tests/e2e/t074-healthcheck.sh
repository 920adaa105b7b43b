#!/usr/bin/env bash
# t074-healthcheck: `kosyncd healthcheck`, as a container HEALTHCHECK runs it.
#
# Covers: exit 0 and the answer on stdout while the server runs (address
# from the flag, and from database.json's "config" object with nothing on
# the command line); a wildcard listen address (":PORT") is reached on
# loopback; exit 1 with a message once the server is stopped, for an
# invalid address, and for a port where something else answers non-200.
. "$(dirname "$0")/lib.sh"

# free_port: a port free on every address, IPv4 and IPv6 (the wildcard
# test below listens on all of them; a port free on 127.0.0.1 alone can be
# the local port of a connection left on another loopback address).
free_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 0))
print(s.getsockname()[1])'
}

ks_start || { not_ok "server started"; done_testing; }
out=$("$KOSYNCD" --data-dir "$KS_DIR" --listen-address "127.0.0.1:$KS_PORT" healthcheck 2>"$KS_TMP/err")
is "running: exit 0" "$?" 0
is "running: the answer" "$out" '{"state":"OK"}'
is "running: nothing on stderr" "$(cat "$KS_TMP/err")" ""
ks_stop
"$KOSYNCD" --data-dir "$KS_DIR" --listen-address "127.0.0.1:$KS_PORT" healthcheck 2>"$KS_TMP/err" >/dev/null
is "stopped: exit 1" "$?" 1
like "stopped: says why" "$(cat "$KS_TMP/err")" "^kosyncd: 127\\.0\\.0\\.1:$KS_PORT: cannot connect"

# The address from database.json, written by a server started with it. A
# port free a moment ago can be taken meanwhile (the wildcard address also
# collides with the local port of any loopback connection), so a start that
# fails with "address already in use" is tried again on another port.
D2=$KS_TMP/d2
mkdir -p "$D2"
rc=1
for attempt in 1 2 3 4 5; do
	PORT=$(free_port)
	printf '{"config": {"listen_address": ":%s"}, "users": {}}\n' "$PORT" >"$D2/database.json"
	"$KOSYNCD" --data-dir "$D2" 2>"$KS_TMP/err2" &
	P=$!
	# Up to 20 s: a loaded machine starts the sanitizer build slowly.
	for i in $(seq 1 400); do
		if "$KOSYNCD" --data-dir "$D2" healthcheck >/dev/null 2>&1; then
			rc=0
			break
		fi
		kill -0 "$P" 2>/dev/null || break
		sleep 0.05
	done
	[ "$rc" = 0 ] && break
	echo "# attempt $attempt: port $PORT"
	wait "$P" 2>/dev/null
	grep -q 'address already in use' "$KS_TMP/err2" || break
	rm -f "$D2"/*.bak
done
is "wildcard address from database.json: exit 0" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   server: /' "$KS_TMP/err2" | head -n 5
kill -TERM "$P"
wait "$P"
is "that server stopped cleanly" "$?" 0

"$KOSYNCD" --data-dir "$KS_DIR" --listen-address "nonsense" healthcheck 2>"$KS_TMP/err"
is "invalid address: exit 1" "$?" 1
like "invalid address: named" "$(cat "$KS_TMP/err")" "listen_address"

# Something that answers, but not 200.
PORT=$(free_port)
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$PORT" &
P=$!
for i in $(seq 1 100); do
	nc -z 127.0.0.1 "$PORT" 2>/dev/null && break
	sleep 0.05
done
"$KOSYNCD" --data-dir "$KS_DIR" --listen-address "127.0.0.1:$PORT" healthcheck 2>"$KS_TMP/err" >/dev/null
is "503: exit 1" "$?" 1
like "503: says so" "$(cat "$KS_TMP/err")" "answered 503"
kill "$P"
wait "$P" 2>/dev/null
done_testing
