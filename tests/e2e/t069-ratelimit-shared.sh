#!/usr/bin/env bash
# t069-ratelimit-shared: one failed-login limiter for every way of
# presenting a password (issue 12, item 9).
#
# Covers: failed web sign-ins count against the protocol (after
# auth_fail_per_user of them the right key through x-auth headers or Basic
# auth is refused with 401 without being looked at), failed protocol logins
# count against the web sign-in (429), Basic auth failures count too, and
# the per-address limit is one for all ways in; a name whose pair
# (name, address) logged in successfully before keeps working.
. "$(dirname "$0")/lib.sh"

UNAUTH='{"code":2001,"message":"Unauthorized"}'
LIMITED='{"code":429,"message":"Too many failed sign-ins; try again later."}'
K=$(md5 right)

# signin N USER PASSWORD: a web sign-in from 127.0.0.N.
signin() {
	web POST /api/v1/login "{\"username\":\"$2\",\"password\":\"$3\"}" \
	    --interface "127.0.0.$1"
}

ks_start --storage memory --auth-fail-per-user 3 --auth-fail-per-ip 5 \
    --register-per-ip 0 || exit 1
for u in ann bob cat dan eve fay; do
	req POST /users/create "{\"username\":\"$u\",\"password\":\"$K\"}"
done
is "six users registered" "$STATUS" 201

# Web failures, then the protocol.
for i in 1 2 3; do signin 2 ann wrong; done
is "three failed web sign-ins of ann" "$STATUS" 401
from 3 GET /users/auth "" $(auth ann "$K")
is "then ann's right key through the protocol is refused" "$STATUS $BODY" "401 $UNAUTH"
from 3 GET /users/auth "" -u "ann:right"
is "and through Basic auth" "$STATUS $BODY" "401 $UNAUTH"
signin 4 ann right
is "and through the web sign-in" "$STATUS $BODY" "429 $LIMITED"

# Protocol failures, then the web.
for i in 1 2 3; do from 5 GET /users/auth "" $(auth bob "$(md5 wrong)"); done
is "three failed protocol logins of bob" "$STATUS" 401
signin 6 bob right
is "then bob's right password on the web is refused" "$STATUS $BODY" "429 $LIMITED"

# Mixed: one of each way counts toward one limit.
signin 7 cat wrong
from 7 GET /users/auth "" $(auth cat "$(md5 wrong)")
from 7 GET /users/auth "" -u "cat:wrong"
is "one failure of each kind for cat" "$STATUS" 401
signin 8 cat right
is "then cat is limited on the web" "$STATUS" 429
from 8 GET /users/auth "" $(auth cat "$K")
is "and through the protocol" "$STATUS" 401

# Per address: 5 failures over names and ways from one address.
signin 9 dan wrong
signin 9 eve wrong
from 9 GET /users/auth "" $(auth dan "$(md5 wrong)")
from 9 GET /users/auth "" $(auth eve "$(md5 wrong)")
signin 9 nobody wrong
from 9 GET /users/auth "" $(auth fay "$K")
is "five failures from one address, mixed: the address is refused" "$STATUS $BODY" "401 $UNAUTH"
signin 9 fay right
is "on the web too" "$STATUS" 429
from 10 GET /users/auth "" $(auth fay "$K")
is "another address is not" "$STATUS" 200

# A pair that logged in before keeps working, whichever way failed.
from 11 GET /users/auth "" $(auth fay "$K")
for i in 1 2 3; do signin 12 fay wrong; done
from 11 GET /users/auth "" $(auth fay "$K")
is "fay's device that logged in before still syncs" "$STATUS" 200
signin 11 fay right
is "and may sign in on the web from there" "$STATUS" 200
ks_stop
done_testing
