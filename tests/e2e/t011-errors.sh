#!/usr/bin/env bash
# t011-errors: the error model of docs/protocol.md §4 and the order of checks
# (§2.2, §9.11, §9.19): body JSON (400/103, 400/104) before everything,
# strict Accept (412/100, 101, 102) before routing, JSON 404 and 405 with
# Allow, registration switched off (402/2005) before field checks, 401
# before 403/2004 before 403/2003. Every error is JSON
# {"code":N,"message":"..."} with Access-Control-Allow-Origin.
. "$(dirname "$0")/lib.sh"

want() {
	is "$1: status" "$STATUS" "$2"
	is "$1: content-type" "$CTYPE" "application/json"
	is "$1: body" "$BODY" "$3"
}
# curlreq ARGS...: a request with exactly the given curl arguments.
curlreq() {
	STATUS=$(curl -s -S -D "$KS_TMP/h" -o "$KS_TMP/b" -w '%{http_code}' "$@")
	BODY=$(cat "$KS_TMP/b")
	HEADERS=$(tr -d '\r' <"$KS_TMP/h")
	CTYPE=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p' | tail -n 1)
}
header() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | head -n 1; }

E103='{"code":103,"message":"Could not parse JSON in body."}'
E104='{"code":104,"message":"Body should be a JSON hash."}'
E100='{"code":100,"message":"Accept header not set."}'
E101='{"code":101,"message":"Invalid Accept header format."}'
E102='{"code":102,"message":"Unsupported version specified in the Accept header."}'
E2001='{"code":2001,"message":"Unauthorized"}'
E2003='{"code":2003,"message":"Invalid request"}'
E2004='{"code":2004,"message":"Field '"'"'document'"'"' not provided."}'
E2005='{"code":2005,"message":"User registration is disabled."}'
E404='{"code":404,"message":"Not found."}'
E405='{"code":405,"message":"Method not allowed."}'

ks_start --storage memory || { not_ok "server started"; done_testing; }
K=$(md5 pw)
req POST /users/create '{"username":"u","password":"'"$K"'"}'
want "register" 201 '{"username":"u"}'

# 400/103: not JSON, for every route, before auth.
for b in '{' '{"document":}' 'nope' '{} {}' '{}x' "{'a':1}" '   ' \
    '{"a":"\u0000"}' '{"a":1,}' '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'; do
	req PUT /syncs/progress "$b"
	want "PUT body '$b'" 400 "$E103"
done
req PUT /syncs/progress $'{"document":"\xff"}' $(auth u "$K")
want "invalid UTF-8 in the body" 400 "$E103"
req POST /users/create '{"username":'
want "register with broken JSON" 400 "$E103"
req GET /users/auth '{' $(auth u "$K")
want "broken JSON on a GET with credentials" 400 "$E103"
req GET /healthcheck 'x'
want "broken JSON on healthcheck" 400 "$E103"
req POST /no/such/route '{'
want "broken JSON before routing" 400 "$E103"

# 400/104: JSON that is not an object.
for b in '[1]' '[]' '"str"' '5' 'null' 'true' '[{"document":"d"}]'; do
	req PUT /syncs/progress "$b" $(auth u "$K")
	want "PUT body $b" 400 "$E104"
done
req POST /users/create '["u","k"]'
want "register with an array" 400 "$E104"

# 404 and 405, JSON.
req GET /no/such/route
want "unknown path" 404 "$E404"
is "unknown path: CORS" "$(header Access-Control-Allow-Origin)" '*'
req GET /Users/auth "" $(auth u "$K")
want "routes are case-sensitive" 404 "$E404"
req GET /syncs/progress "" $(auth u "$K")
want "GET /syncs/progress without a document" 404 "$E404"
req GET /syncs/progress/ "" $(auth u "$K")
want "GET /syncs/progress/ without a document" 404 "$E404"
req POST /users/auth "" $(auth u "$K")
want "wrong method" 405 "$E405"
is "wrong method: Allow" "$(header Allow)" "GET, HEAD, OPTIONS"
req DELETE /syncs/progress "" $(auth u "$K")
want "DELETE /syncs/progress" 405 "$E405"
is "DELETE /syncs/progress: Allow" "$(header Allow)" "PUT, OPTIONS"
req GET /users/create
want "GET /users/create" 405 "$E405"
is "GET /users/create: Allow" "$(header Allow)" "POST, OPTIONS"
req PATCH /syncs/progress/d "" $(auth u "$K")
want "PATCH a document" 405 "$E405"
is "PATCH a document: Allow" "$(header Allow)" "GET, HEAD, OPTIONS"

# Order inside a handler: 401, then 403/2004, then 403/2003.
req PUT /syncs/progress '{"document":"a:b","percentage":"x"}'
want "bad document without credentials is 401" 401 "$E2001"
req PUT /syncs/progress '{"document":"a:b","percentage":"x"}' $(auth u "$(md5 no)")
want "bad document with a wrong key is 401" 401 "$E2001"
req PUT /syncs/progress '{"document":"d","percentage":"x"}' $(auth nobody "$K")
want "bad fields for an unknown user is 401" 401 "$E2001"
req PUT /syncs/progress '{"document":"a:b","percentage":"x"}' $(auth u "$K")
want "document is checked before the other fields" 403 "$E2004"
req PUT /syncs/progress '{"document":"d","percentage":"x"}' $(auth u "$K")
want "then the other fields" 403 "$E2003"
req GET /syncs/progress/a%3Ab "" $(auth u "$(md5 no)")
want "GET bad document with a wrong key is 401" 401 "$E2001"
req GET /syncs/progress/a%3Ab "" $(auth u "$K")
want "GET bad document" 403 "$E2004"
ks_stop

# Registration switched off: 402/2005 before field checks, after JSON.
ks_start --storage memory --disable-registration || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"v","password":"'"$K"'"}'
want "registration off" 402 "$E2005"
is "registration off: CORS" "$(header Access-Control-Allow-Origin)" '*'
req POST /users/create '{"username":"","password":5}'
want "registration off comes before field checks" 402 "$E2005"
req POST /users/create
want "registration off without a body" 402 "$E2005"
req POST /users/create '{'
want "broken JSON comes before registration off" 400 "$E103"
req GET /healthcheck
want "healthcheck with registration off" 200 '{"state":"OK"}'
ks_stop

# Strict Accept: 412 before routing, for every path, healthcheck included.
ks_start --storage memory --strict-accept || { not_ok "server started"; done_testing; }
req GET /healthcheck
want "strict: KOReader's Accept" 200 '{"state":"OK"}'
curlreq -H 'Accept:' "$KS_URL/healthcheck"
want "strict: no Accept" 412 "$E100"
curlreq "$KS_URL/healthcheck"
want "strict: curl's */*" 412 "$E101"
for a in 'application/json' 'application/vnd.koreader.v1+json; charset=utf-8' \
    'application/json, application/vnd.koreader.v1+json' \
    'application/vnd.koreader.v+json' 'Application/vnd.koreader.v1+json'; do
	curlreq -H "Accept: $a" "$KS_URL/healthcheck"
	want "strict: Accept '$a'" 412 "$E101"
done
for a in 'application/vnd.koreader.v2+json' 'application/vnd.koreader.v10+json'; do
	curlreq -H "Accept: $a" "$KS_URL/healthcheck"
	want "strict: Accept '$a'" 412 "$E102"
done
for a in 'application/vnd.koreader.v1.2+json' 'application/vndXkoreaderXv1+json' \
    'application/vnd.koreader.v01+json'; do
	curlreq -H "Accept: $a" "$KS_URL/healthcheck"
	want "strict: Accept '$a' matches the reference's pattern" 200 '{"state":"OK"}'
done
curlreq -H 'Accept: */*' "$KS_URL/no/such/route"
want "strict: Accept is checked before routing" 412 "$E101"
curlreq -H 'Accept: */*' -X PUT --data-binary '{' "$KS_URL/syncs/progress"
want "strict: the body is checked before Accept" 400 "$E103"
curlreq -H 'Accept: */*' -H "x-auth-user: u" -H "x-auth-key: $K" "$KS_URL/users/auth"
want "strict: Accept is checked before credentials" 412 "$E101"
curlreq -X OPTIONS -H 'Accept:' "$KS_URL/users/auth"
is "strict: a CORS preflight needs no Accept" "$STATUS" 204
req POST /users/create '{"username":"w","password":"'"$K"'"}'
want "strict: register with KOReader's Accept" 201 '{"username":"w"}'
req GET /users/auth "" $(auth w "$K")
want "strict: authorize with KOReader's Accept" 200 '{"authorized":"OK"}'
ks_stop

done_testing
