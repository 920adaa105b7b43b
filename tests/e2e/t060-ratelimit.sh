#!/usr/bin/env bash
# t060-ratelimit: failed-login limits per user and per client address, and
# registrations per address (src/ratelimit.c), on the real binary.
#
# Client addresses are distinct loopback addresses (curl --interface
# 127.0.0.N). Covers: after auth_fail_per_user wrong keys the name is
# refused with the usual 401 JSON even with the right key, from a new
# address, and without argon2 running (server time well under one argon2
# verification, which the unlimited failures take); the address that
# logged in before keeps working (known pair); the block ends after the
# window; auth_fail_per_ip failures over many names block that address only;
# a limited PUT is 401 (never queued by KOReader as a retry); registrations
# over register_per_ip get 402 with a JSON message KOReader shows, and other
# addresses still register; defaults are the documented ones.
. "$(dirname "$0")/lib.sh"

UNAUTH='{"code":2001,"message":"Unauthorized"}'
TOO_MANY='{"code":2007,"message":"Too many registrations, try again later."}'
KEY=$(md5 right)

# server_ms N: the server-side milliseconds of the last N access lines.
server_ms() {
	grep ' access: ' "$KS_ERR.new" | tail -n "$1" | awk '{print $(NF-1)}'
}

# The documented defaults.
defaults=$("$KOSYNCD" config show 2>/dev/null |
    grep -E '^(auth_fail_per_user|auth_fail_per_ip|auth_fail_window_s|register_per_ip|register_window_s|trusted_proxies) ' |
    awk '{print $1 "=" $3}' | tr '\n' ' ')
is "defaults" "$defaults" \
    'auth_fail_per_user=10 auth_fail_per_ip=30 auth_fail_window_s=60 register_per_ip=10 register_window_s=3600 trusted_proxies="" '

LIMITS=(--storage file --auth-fail-per-user 3 --auth-fail-per-ip 6
    --auth-fail-window-s 2 --register-per-ip 4 --register-window-s 60)
ks_start "${LIMITS[@]}" || { not_ok "server started"; done_testing; }
from 1 POST /users/create "{\"username\":\"alice\",\"password\":\"$KEY\"}"
is "register alice" "$STATUS" 201
from 1 POST /users/create "{\"username\":\"bob\",\"password\":\"$KEY\"}"
is "register bob" "$STATUS" 201
# A restart empties the verified-key cache (and the limiter).
ks_stop
ks_start "${LIMITS[@]}" || { not_ok "server restarted"; done_testing; }
from 1 GET /users/auth "" $(auth alice "$KEY")
is "alice logs in from .1" "$STATUS" 200

# --- per user: three wrong keys (from three addresses) block the name
for n in 11 12 13; do
	from "$n" GET /users/auth "" $(auth alice "$(md5 "guess$n")")
	is "wrong key $n: 401" "$STATUS $BODY" "401 $UNAUTH"
done
from 14 GET /users/auth "" $(auth alice "$KEY")
is "right key from a new address while blocked: 401 JSON" \
    "$STATUS $BODY" "401 $UNAUTH"
is "  with Content-Type application/json" "$CTYPE" application/json
from 14 PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"x"}' $(auth alice "$KEY")
is "push from a new address while blocked: 401 (not retried)" \
    "$STATUS $BODY" "401 $UNAUTH"
from 1 GET /users/auth "" $(auth alice "$KEY")
is "the address that logged in before still works" "$STATUS" 200
from 1 PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"x"}' $(auth alice "$KEY")
is "  and can push" "$STATUS" 200

# --- no argon2 while limited: bob has no verified key since the restart,
# so each wrong key costs one argon2 verification until the name is
# blocked.
for n in 21 22 23; do
	from "$n" GET /users/auth "" $(auth bob "$(md5 "b$n")")
done
slow=$(server_ms 3 | awk '$1 >= 5 {n++} END {print n + 0}')
for n in 24 25 26 27 28; do
	from "$n" GET /users/auth "" $(auth bob "$(md5 "b$n")")
	[ "$STATUS $BODY" = "401 $UNAUTH" ] || echo "# unexpected: $STATUS $BODY"
done
fast=$(server_ms 5 | awk '$1 < 5 {n++} END {print n + 0}')
is "unlimited wrong keys ran argon2 (>= 5 ms each)" "$slow" 3
is "limited requests answered without argon2 (< 5 ms each)" "$fast" 5

# --- the block ends with the window
sleep 2.2
from 14 GET /users/auth "" $(auth alice "$KEY")
is "after the window alice logs in from the new address" "$STATUS" 200

# --- per address: failures over many names block that address only
for n in 1 2 3 4 5 6; do
	from 31 GET /users/auth "" $(auth "nobody$n" "$KEY")
done
from 31 GET /users/auth "" $(auth bob "$KEY")
is "address over its limit: right key refused" "$STATUS $BODY" "401 $UNAUTH"
from 32 GET /users/auth "" $(auth bob "$KEY")
is "another address: served" "$STATUS" 200
req GET /healthcheck "" --interface 127.0.0.31
is "unauthenticated routes are not limited" "$STATUS" 200

# --- registrations per address
for n in 1 2 3; do
	from 41 POST /users/create "{\"username\":\"r$n\",\"password\":\"$KEY\"}"
	is "registration $n from .41" "$STATUS" 201
done
from 41 POST /users/create "{\"username\":\"r1\",\"password\":\"$KEY\"}"
is "a duplicate counts too" "$STATUS" 402
from 41 POST /users/create "{\"username\":\"r5\",\"password\":\"$KEY\"}"
is "over the limit: 402 with a message KOReader shows" \
    "$STATUS $BODY" "402 $TOO_MANY"
is "  with Content-Type application/json" "$CTYPE" application/json
from 41 POST /users/create '{"username":"r6"}'
is "an invalid registration is still 403" "$STATUS" 403
from 42 POST /users/create "{\"username\":\"r5\",\"password\":\"$KEY\"}"
is "another address registers" "$STATUS" 201
from 41 GET /users/auth "" $(auth r1 "$KEY")
is "registration limit does not block logins" "$STATUS" 200

# The access log names the user and address, never the key.
check "no key in the log" bash -c "! grep -q '$KEY' '$KS_ERR.new'"
ks_stop

# --- limits off
ks_start --storage memory --auth-fail-per-user 0 --auth-fail-per-ip 0 \
    --register-per-ip 0 || { not_ok "server started"; done_testing; }
from 1 POST /users/create "{\"username\":\"z\",\"password\":\"$KEY\"}"
for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
	from 2 GET /users/auth "" $(auth z "$(md5 "x$n")")
done
from 2 GET /users/auth "" $(auth z "$KEY")
is "with the limits at 0 nothing is blocked" "$STATUS" 200
ks_stop
done_testing
