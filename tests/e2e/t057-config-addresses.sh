#!/usr/bin/env bash
# t057-config-addresses: the one address parser (src/addr.c) as the options
# see it. listen_address and metrics_listen take host:port, :port, *:port
# or [v6]:port with a numeric host; redis_address the same with a host and
# a port other than 0, or unix:/path. A refusal names the option, the value
# and the reason, exits 1 and starts nothing; ":port" listens on every
# address.
. "$(dirname "$0")/lib.sh"

# refused OPTION VALUE REASON: `config show` refuses the value with exactly
# this message.
refused() {
	run "--$1" "$2" config show
	is "$1 '$2': exit 1" "$RC" 1
	is "$1 '$2': the reason" "$(printf '%s\n' "$ERR" | head -n 1)" \
	    "kosyncd: invalid value '$2' for option '${1//-/_}' (--$1): $3"
}

LISTEN="(expected host:port, :port or [v6addr]:port with a numeric host)"
REDIS="(expected host:port or [v6addr]:port with a numeric host, or unix:/path)"

refused listen-address localhost:80 "not a numeric IPv4 address $LISTEN"
refused listen-address ::1:80 \
    "an IPv6 address needs brackets: [address]:port $LISTEN"
refused listen-address 8080 "expected host:port or :port $LISTEN"
refused listen-address 127.0.0.1:65536 "invalid port $LISTEN"
refused listen-address '[::1]80' "expected [address]:port $LISTEN"
refused listen-address '[nope]:80' "invalid IPv6 address $LISTEN"
refused metrics-listen 1.2.3:9090 "not a numeric IPv4 address $LISTEN"
refused redis-address unix: "the socket path is empty"
refused redis-address :6379 "not an address $REDIS"
refused redis-address 127.0.0.1:0 "not an address $REDIS"
refused redis-address localhost:6379 "not a numeric IPv4 address $REDIS"

for v in 127.0.0.1:6380 '[::1]:6380' unix:/run/redis/redis.sock; do
	run --redis-address "$v" config show
	is "redis-address '$v': accepted" "$RC" 0
	re=$(printf '%s' "$v" | sed -e 's/[].[]/\\&/g')
	like "redis-address '$v': shown" "$OUT" "redis_address = \"$re\"  # flag"
done
for v in :8080 '*:8080' '[::1]:8080' 0.0.0.0:8080; do
	run --listen-address "$v" config show
	is "listen-address '$v': accepted" "$RC" 0
done

# ":0": every address (IPv6 any, or IPv4 any without IPv6), logged as *.
mkdir -p "$KS_DIR"
"$KOSYNCD" --data-dir "$KS_DIR" --storage memory --listen-address :0 \
    2>"$KS_TMP/any.err" &
pid=$!
port=
for i in $(seq 1 200); do
	port=$(sed -n 's/.*listening on \*:\([0-9]*\).*/\1/p' "$KS_TMP/any.err")
	[ -n "$port" ] && break
	sleep 0.05
done
check "listen-address ':0': listening on *:PORT" [ -n "$port" ]
if [ -n "$port" ]; then
	like ":0 answers on 127.0.0.1" \
	    "$(curl -s "http://127.0.0.1:$port/healthcheck")" '"state" *: *"OK"'
fi
kill -TERM "$pid"
wait "$pid"
is "listen-address ':0': clean exit" "$?" 0

done_testing
