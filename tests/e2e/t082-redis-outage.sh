#!/usr/bin/env bash
# t082-redis-outage: Redis killed (-9) and restarted under load, then
# hung (SIGSTOP) and resumed. While it is unreachable every request that
# needs it gets 502 {"code":1000,"message":"Cannot connect to redis
# server."} quickly, /healthcheck stays 200, the server never crashes, and
# it reconnects by itself once Redis is back. No answer is anything else
# (200, 201, 401 after the restart lost the data, or that 502). /metrics
# shows the connection's state (kosyncd_redis_up and its counters).
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
E1000='{"code":1000,"message":"Cannot connect to redis server."}'
ks_redis_start || { not_ok "redis started"; done_testing; }
ks_allow_stderr 'warn.*redis: (lost the connection|cannot connect)'
# No registration limit: the reconnect loop below registers up to 100 times.
# No failure limit: after the restart Redis has lost alice, so the load's
# pushes fail (401) until she registers again, and 30 of them from
# 127.0.0.1 would block the address and fail "pushes work again".
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" \
    --redis-db "$KS_REDIS_DB" --register-per-ip 0 --auth-fail-per-ip 0 \
    --metrics-listen 127.0.0.1:0 ||
	{ not_ok "server started"; done_testing; }
MPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$KS_ERR.new" | sed -n 2p)
# metric NAME: its value on /metrics
metric() { curl -s -m 5 "http://127.0.0.1:$MPORT/metrics" | sed -n "s/^$1 //p"; }
K=$(md5 secret)
register() { req POST /users/create '{"username":"alice","password":"'"$K"'"}'; }
register
is "register" "$STATUS" 201
is "metrics: redis up" "$(metric kosyncd_redis_up)" 1
is "metrics: no failure yet" "$(metric kosyncd_redis_connection_failures_total)" 0

# load WORKER: push until $KS_TMP/stop exists (at most 60 s, and never
# past the test's end); one "body status" per line.
load() {
	local i=0 end=$((SECONDS + 60))
	while [ ! -e "$KS_TMP/stop" ] && [ -d "$KS_TMP" ] && [ $SECONDS -lt $end ]; do
		i=$((i + 1))
		curl -s -m 5 -X PUT -H "Accept: $ACCEPT" $(auth alice "$K") \
		    --data-binary '{"document":"doc'$1'","progress":"'$i'","percentage":0.5,"device":"w"}' \
		    -w ' %{http_code}\n' "$KS_URL/syncs/progress" >>"$KS_TMP/load-$1" 2>&1
	done
}
pids=
for w in 1 2 3 4; do
	load $w &
	pids="$pids $!"
done
sleep 1

ks_redis_stop KILL
sleep 0.3
t0=$(date +%s%N)
req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$K")
t1=$(date +%s%N)
is "push while Redis is down: status" "$STATUS" 502
is "push while Redis is down: body" "$BODY" "$E1000"
check "push while Redis is down: answered within a second" [ $(((t1 - t0) / 1000000)) -lt 1000 ]
req GET /syncs/progress/d "" $(auth alice "$K")
is "pull while Redis is down" "$STATUS $BODY" "502 $E1000"
req GET /users/auth "" $(auth alice "$K")
is "auth while Redis is down" "$STATUS $BODY" "502 $E1000"
req POST /users/create '{"username":"bob","password":"'"$K"'"}'
is "register while Redis is down" "$STATUS $BODY" "502 $E1000"
req GET /healthcheck
is "healthcheck while Redis is down" "$STATUS $BODY" '200 {"state":"OK"}'
sleep 1
is "metrics: redis down" "$(metric kosyncd_redis_up)" 0
check "metrics: failures counted" [ "$(metric kosyncd_redis_connection_failures_total)" -ge 1 ]
check "metrics: down for a second" [ "$(metric kosyncd_redis_down_seconds)" -ge 1 ]

ks_redis_start || { not_ok "redis restarted"; done_testing; }
register
for i in $(seq 1 100); do
	[ "$STATUS" = 201 ] && break
	sleep 0.1
	register
done
is "after the restart the server reconnects (register again)" "$STATUS" 201
req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$K")
is "pushes work again" "$STATUS" 200
is "metrics: redis up again" "$(metric kosyncd_redis_up) $(metric kosyncd_redis_down_seconds)" "1 0"
check "metrics: a reconnect counted" [ "$(metric kosyncd_redis_reconnects_total)" -ge 1 ]
sleep 0.5

# Hung Redis: no reply in time drops the connection.
kill -STOP "$KS_REDIS_PID"
t0=$(date +%s%N)
req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$K")
t1=$(date +%s%N)
is "push while Redis hangs: 502/1000" "$STATUS $BODY" "502 $E1000"
check "push while Redis hangs: answered within 4 s" [ $(((t1 - t0) / 1000000)) -lt 4000 ]
req GET /healthcheck
is "healthcheck while Redis hangs" "$STATUS" 200
kill -CONT "$KS_REDIS_PID"
for i in $(seq 1 100); do
	req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$K")
	[ "$STATUS" = 200 ] && break
	sleep 0.1
done
is "pushes work again after the hang" "$STATUS" 200

touch "$KS_TMP/stop"
wait $pids
cat "$KS_TMP"/load-* >"$KS_TMP/all"
n=$(wc -l <"$KS_TMP/all")
check "the load ran ($n requests)" [ "$n" -gt 50 ]
check "some pushes succeeded under load" grep -q '^{"document":"doc[0-9]","timestamp":[0-9]*} 200$' "$KS_TMP/all"
check "some pushes got 502/1000 under load" grep -qF "$E1000 502" "$KS_TMP/all"
bad=$(grep -vE '^\{"document":"doc[0-9]","timestamp":[0-9]+\} 200$' "$KS_TMP/all" |
    grep -vF "$E1000 502" | grep -vF '{"code":2001,"message":"Unauthorized"} 401' | sort | uniq -c | head -n 5)
is "no other answer under load" "$bad" ""
check "the server is still running" kill -0 "$KS_PID"
ks_stop
done_testing
