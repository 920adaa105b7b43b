#!/usr/bin/env bash
# t087-redis-shared: two kosyncd instances on one Redis share the web
# interface's sessions and the brute-force limits (src/session.c,
# src/shared.c).
#
# Covers: a session made by signing in through A works through B; signing
# out through B ends it for A; a password change through A ends the user's
# other sessions (made through B) everywhere and keeps its own; an
# administrator's password reset through B ends the user's sessions made
# through A; an account deleted through B has no session left on A, not even
# after the name is registered again; nor has a user an administrator
# deleted through B; Redis holds only digests of the
# cookies; failed device logins spread over A and B reach the per-user
# limit together, and so do failed web sign-ins (429) and failures from one
# address over many names; registrations from one address over A and B
# reach the per-address limit together; a page open on A hears of a push
# and a rename made through B (live updates); while Redis is down a session
# lookup is 503 JSON, the instances keep answering, and once Redis is back
# (restarted empty) the limits are shared again; one limiter counts device
# logins and web sign-ins together (failed device logins through A and B
# refuse the web sign-in too).
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
E2001='{"code":2001,"message":"Unauthorized"}'
E2007='{"code":2007,"message":"Too many registrations, try again later."}'
NOT_IN='{"code":401,"message":"Not signed in."}'
ks_redis_start || { not_ok "redis started"; done_testing; }

# web A|B METHOD PATH [BODY] [CURL ARGS]: a browser request through one.
web() {
	use "$1"
	shift
	ks_web "$@"
}
# signin A|B USER PASSWORD JAR: sign in, CSRF_<JAR> = the CSRF token.
signin() {
	web "$1" POST /api/v1/login "{\"username\":\"$2\",\"password\":\"$3\"}" \
	    -c "$KS_TMP/$4"
	printf -v "CSRF_$4" '%s' "$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')"
}
# who A|B JAR: the user GET /api/v1/session names (null: none).
who() {
	web "$1" GET /api/v1/session "" -b "$KS_TMP/$2"
	printf '%s' "$BODY" | sed -n 's/^{"username":\([^,}]*\).*/\1/p'
}
# from N A|B METHOD PATH [BODY] [ARGS]: a protocol request from 127.0.0.N.
from() {
	local n=$1
	shift
	local which=$1 m=$2 p=$3 b=${4-}
	shift 3
	[ $# -gt 0 ] && shift
	on "$which" "$m" "$p" "$b" --interface "127.0.0.$n" "$@"
}

ks_redis_cli FLUSHDB >/dev/null
start_two --enable-webui --auth-fail-per-user 4 \
    --auth-fail-per-ip 6 --auth-fail-window-s 60 --register-per-ip 3 \
    --register-window-s 60 || { not_ok "servers started"; done_testing; }
K=$(md5 pw)
K2=$(md5 pw2)
from 2 A POST /users/create '{"username":"alice","password":"'"$K"'"}'
is "register alice" "$STATUS" 201
from 2 B POST /users/create '{"username":"root","password":"'"$(md5 rootpw)"'"}'
is "register root" "$STATUS" 201
"$KOSYNCD" --data-dir "$KS_TMP/cli" --storage redis --redis-address "$KS_REDIS_ADDR" \
    --redis-db "$KS_REDIS_DB" user admin root on >/dev/null 2>&1
is "root is made an administrator" "$?" 0

# --- sessions
signin A alice pw a1
is "sign in through A" "$STATUS" 200
is "the session works through B" "$(who B a1)" '"alice"'
web B GET /api/v1/documents "" -b "$KS_TMP/a1"
check "  and B's signed-in routes take it" [ "$STATUS" != 401 ]
tok=$(awk '$6 == "kosyncd_session" {print $7}' "$KS_TMP/a1")
is "the cookie is a 43-character token" "${#tok}" 43
skeys=$(ks_redis_cli --scan --pattern 'kosyncd:session:*')
is "one session key" "$(printf '%s\n' "$skeys" | grep -c .)" 1
like "  named by a 64-hex-digit digest" "$skeys" '^kosyncd:session:[0-9a-f]{64}$'
like "  holding the CSRF token and the user" "$(ks_redis_cli GET "$skeys")" "^$CSRF_a1 alice\$"
ttl=$(ks_redis_cli TTL "$skeys")
check "  expiring after the session lifetime" [ "$ttl" -gt 600000 ]
is "  listed in the user's set" "$(ks_redis_cli ZRANGE kosyncd:user:alice:sessions 0 -1)" "${skeys#kosyncd:session:}"
for k in $(ks_redis_cli --scan); do
	echo "$k"
	case $(ks_redis_cli TYPE "$k") in
	string) ks_redis_cli GET "$k" ;;
	zset) ks_redis_cli ZRANGE "$k" 0 -1 ;;
	esac
done >"$KS_TMP/dump"
check "Redis holds no cookie in clear" [ -s "$KS_TMP/dump" ]
is "  (not in any key or value)" "$(grep -c -- "$tok" "$KS_TMP/dump")" 0
# Live updates: a page open on A hears of a push and a web change made
# through B.
D=0123456789abcdef0123456789abcdef
use A
curl -s -m 10 -b "$KS_TMP/a1" -H 'Last-Event-ID: 0' "$KS_URL/api/v1/events" >"$KS_TMP/sse" &
sse=$!
sleep 0.5
on B PUT /syncs/progress "{\"document\":\"$D\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"kobo\"}" $(auth alice "$K")
is "push through B" "$STATUS" 200
wait $sse
like "A's page hears of the push through B" "$(cat "$KS_TMP/sse")" "\"kind\":\"push\",\"document\":\"$D\",\"timestamp\":[0-9]+"
use A
curl -s -m 10 -b "$KS_TMP/a1" -H "Last-Event-ID: $(sed -n 's/^id: *//p' "$KS_TMP/sse" | tail -n 1)" "$KS_URL/api/v1/events" >"$KS_TMP/sse" &
sse=$!
sleep 0.5
web B PUT /api/v1/documents/$D/name '{"name":"Shared"}' -b "$KS_TMP/a1" -H "X-CSRF-Token: $CSRF_a1"
is "rename through B" "$STATUS" 200
wait $sse
like "  and of the rename through B" "$(cat "$KS_TMP/sse")" "\"kind\":\"rename\",\"document\":\"$D\",\"timestamp\":[0-9]+"
web B POST /api/v1/logout "" -b "$KS_TMP/a1"
is "sign out through B" "$STATUS $BODY" '200 {"signed_out":true}'
is "the session is gone for A" "$(who A a1)" null
web A GET /api/v1/documents "" -b "$KS_TMP/a1"
is "  A's signed-in routes: 401" "$STATUS $BODY" "401 $NOT_IN"

# Password change through A: the session made through B ends, A's own stays.
signin A alice pw a2
signin B alice pw b2
is "a second session through B" "$(who A b2)" '"alice"'
web A PUT /api/v1/account/password '{"current":"pw","password":"pw2"}' \
    -b "$KS_TMP/a2" -H "X-CSRF-Token: $CSRF_a2"
is "password change through A" "$STATUS $BODY" '200 {"updated":true}'
is "the session made through B ended (seen by B)" "$(who B b2)" null
is "  (seen by A)" "$(who A b2)" null
is "the changing session itself lives on, through B too" "$(who B a2)" '"alice"'
on A GET /users/auth "" $(auth alice "$K2")
is "the device key changed with it" "$STATUS" 200

# An administrator resets alice's password through B: her sessions end.
signin A root rootpw r1
is "root signs in through A" "$STATUS" 200
web B PUT /api/v1/admin/users/alice/password '{"password":"pw"}' \
    -b "$KS_TMP/r1" -H "X-CSRF-Token: $CSRF_r1"
is "root resets alice's password through B" "$STATUS $BODY" '200 {"username":"alice"}'
is "alice's session ended, for A" "$(who A a2)" null
is "root's own session lives on" "$(who A r1)" '"root"'

# Account deletion through B: no session of it left anywhere.
signin A alice pw a3
signin B alice pw b3
web B DELETE /api/v1/account '{"password":"pw"}' -b "$KS_TMP/b3" \
    -H "X-CSRF-Token: $CSRF_b3"
is "delete the account through B" "$STATUS $BODY" '200 {"deleted":true}'
is "A's session of the deleted account is gone" "$(who A a3)" null
from 3 B POST /users/create '{"username":"alice","password":"'"$K2"'"}'
is "the name is registered again" "$STATUS" 201
signin A alice pw a4
is "  (the old password is refused)" "$STATUS" 401
signin A alice pw2 a4
is "  the new account signs in" "$STATUS" 200
is "the old account's session does not come back" "$(who A a3)" null
is "  nor through B" "$(who B b3)" null
is "the new account's session works through B" "$(who B a4)" '"alice"'

# An administrator deletes a user through B: its session on A is gone.
from 4 A POST /users/create '{"username":"erin","password":"'"$K"'"}'
signin A erin pw e1
is "erin signs in through A" "$(who A e1)" '"erin"'
web B DELETE /api/v1/admin/users/erin "" -b "$KS_TMP/r1" \
    -H "X-CSRF-Token: $CSRF_r1"
is "root deletes erin through B" "$STATUS $BODY" '200 {"username":"erin"}'
is "erin's session is gone for A" "$(who A e1)" null

# --- failed device logins over both instances: 4 per user in all
from 5 A POST /users/create '{"username":"bob","password":"'"$K"'"}'
is "register bob" "$STATUS" 201
for i in 1 2 3 4; do
	if [ $((i % 2)) = 1 ]; then w=A; else w=B; fi
	from $((10 + i)) $w GET /users/auth "" $(auth bob "$(md5 "guess$i")")
	is "wrong key $i through $w: 401" "$STATUS $BODY" "401 $E2001"
done
sleep 0.5 # the other instance hears of it (Pub/Sub)
from 20 A GET /users/auth "" $(auth bob "$K")
is "bob is blocked on A after 2 + 2 failures (right key, new address)" "$STATUS $BODY" "401 $E2001"
from 20 B GET /users/auth "" $(auth bob "$K")
is "  and on B" "$STATUS $BODY" "401 $E2001"
from 2 A GET /users/auth "" $(auth alice "$K2")
is "another user is not" "$STATUS" 200

# --- failed web sign-ins over both: the same limit, 429
from 6 A POST /users/create '{"username":"carol","password":"'"$K"'"}'
is "register carol" "$STATUS" 201
for i in 1 2 3 4; do
	if [ $((i % 2)) = 1 ]; then w=A; else w=B; fi
	web $w POST /api/v1/login '{"username":"carol","password":"no'$i'"}' --interface 127.0.0.$((30 + i))
	is "wrong password $i through $w: 401" "$STATUS" 401
done
sleep 0.5
web A POST /api/v1/login '{"username":"carol","password":"pw"}' --interface 127.0.0.40
is "carol's sign-in is refused on A" "$STATUS $BODY" '429 {"code":429,"message":"Too many failed sign-ins; try again later."}'
web B POST /api/v1/login '{"username":"carol","password":"pw"}' --interface 127.0.0.40
is "  and on B" "$STATUS" 429

# --- failures from one address over many names: 6 per address in all
for i in 1 2 3 4 5 6; do
	if [ $((i % 2)) = 1 ]; then w=A; else w=B; fi
	from 50 $w GET /users/auth "" $(auth "nobody$i" "$K")
done
sleep 0.5
from 50 A GET /users/auth "" $(auth alice "$K2")
is "the address is blocked on A after 3 + 3 failures" "$STATUS $BODY" "401 $E2001"
from 50 B GET /users/auth "" $(auth alice "$K2")
is "  and on B" "$STATUS $BODY" "401 $E2001"

# --- registrations from one address: 3 in all
from 60 A POST /users/create '{"username":"r1","password":"'"$K"'"}'
is "registration 1 through A" "$STATUS" 201
from 60 B POST /users/create '{"username":"r2","password":"'"$K"'"}'
is "registration 2 through B" "$STATUS" 201
from 60 A POST /users/create '{"username":"r3","password":"'"$K"'"}'
is "registration 3 through A" "$STATUS" 201
sleep 0.5
from 60 B POST /users/create '{"username":"r4","password":"'"$K"'"}'
is "a fourth through B: 402/2007" "$STATUS $BODY" "402 $E2007"
from 60 A POST /users/create '{"username":"r4","password":"'"$K"'"}'
is "  and through A" "$STATUS $BODY" "402 $E2007"
from 61 B POST /users/create '{"username":"r4","password":"'"$K"'"}'
is "another address registers" "$STATUS" 201

# --- Redis down: sessions cannot be looked up (503); the server answers.
ks_allow_stderr 'warn.*redis: (lost the connection|cannot connect)'
ks_redis_stop
web A GET /api/v1/session "" -b "$KS_TMP/a4"
is "Redis down: a session lookup is 503 JSON" "$STATUS $BODY" '503 {"code":503,"message":"Not available with this storage right now."}'
web B GET /api/v1/session ""
is "  without a cookie: nobody, 200" "$STATUS $BODY" '200 {"username":null}'
web A POST /api/v1/login '{"username":"alice","password":"pw2"}'
is "  sign-in: 503" "$STATUS" 503
ks_redis_start || { not_ok "redis restarted"; done_testing; }
for i in $(seq 1 100); do
	grep -q 'rate limits are shared again' "$KS_ERR_A" &&
	    grep -q 'rate limits are shared again' "$KS_ERR.new" && break
	sleep 0.1
done
check "both subscribed again" grep -q 'rate limits are shared again' "$KS_ERR.new"
for w in A B; do
	for i in $(seq 1 100); do
		web $w GET /api/v1/session "" -b "$KS_TMP/a4"
		[ "$STATUS" = 200 ] && break
		sleep 0.1
	done
	is "Redis back (restarted empty): $w looks sessions up again" "$STATUS $BODY" '200 {"username":null}'
done
from 70 A POST /users/create '{"username":"dave","password":"'"$K"'"}'
is "register dave" "$STATUS" 201
for i in 1 2 3 4; do
	if [ $((i % 2)) = 1 ]; then w=A; else w=B; fi
	from $((80 + i)) $w GET /users/auth "" $(auth dave "$(md5 "guess$i")")
done
sleep 0.5
from 89 B GET /users/auth "" $(auth dave "$K")
is "limits are shared again after the outage" "$STATUS $BODY" "401 $E2001"
signin A dave pw s0
is "one limiter: the web sign-in of dave is refused too" "$STATUS" 429
from 71 A POST /users/create '{"username":"fred","password":"'"$K"'"}'
signin B fred pw s1
is "a session after the outage" "$(who A s1)" '"fred"'

stop_two
done_testing
