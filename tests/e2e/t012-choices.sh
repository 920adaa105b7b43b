#!/usr/bin/env bash
# t012-choices: the behaviour docs/protocol.md §9 chooses, item by item:
# server timestamps (§9.2), percentage as number or numeric string (§9.4),
# progress as string or number (§9.5), device_id kept when missing (§9.6),
# null as missing (§9.7), one document rule for PUT and GET with a
# percent-decoded path (§9.8), user names (§9.9), keys (§9.10), relaxed
# Accept (§9.13), request Content-Type ignored (§9.14), trailing and
# repeated slashes, /koreader and base_path prefixes (§9.16), repeated
# auth headers (§9.22), metadata and unknown fields (§9.20), HTTP Basic,
# HEAD, CORS and OPTIONS preflights.
. "$(dirname "$0")/lib.sh"

want() {
	is "$1: status" "$STATUS" "$2"
	is "$1: content-type" "$CTYPE" "application/json"
	is "$1: body" "$BODY" "$3"
}
curlreq() {
	STATUS=$(curl -s -S -D "$KS_TMP/h" -o "$KS_TMP/b" -w '%{http_code}' "$@")
	BODY=$(cat "$KS_TMP/b")
	HEADERS=$(tr -d '\r' <"$KS_TMP/h")
	CTYPE=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p' | tail -n 1)
}
header() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | head -n 1; }
E2001='{"code":2001,"message":"Unauthorized"}'
E2003='{"code":2003,"message":"Invalid request"}'
E2004='{"code":2004,"message":"Field '"'"'document'"'"' not provided."}'

ks_start --storage memory --base-path /kosync || { not_ok "server started"; done_testing; }
K=$(md5 pw)
A=$(auth u "$K")
req POST /users/create '{"username":"u","password":"'"$K"'"}'
want "register" 201 '{"username":"u"}'

# push DOC JSON-FIELDS: a push of document DOC with extra fields.
push() { req PUT /syncs/progress '{"document":"'"$1"'",'"$2"'}' $A; }
# pull DOC-PATH: sets BODY to the record without its timestamp.
pull() {
	req GET "/syncs/progress/$1" "" $A
	BODY=$(printf '%s' "$BODY" | sed 's/,"timestamp":[0-9]*}$/}/')
}

# §9.2: the server's clock; a client timestamp is ignored.
now=$(date +%s)
push d '"progress":"p","percentage":0.5,"device":"k","timestamp":12345'
ts=${BODY##*:}
ts=${ts%\}}
check "a client timestamp is ignored" test "$ts" -ge "$now"
req GET /syncs/progress/d "" $A
like "pull carries the timestamp as an integer" "$BODY" ",\"timestamp\":$ts}\$"

# §9.4: percentage.
for p in '0.1:0.1' '0.4213:0.4213' '0:0' '1:1' '"0.5":0.5' '" 0.25 ":0.25' \
    '"1e-3":0.001' '"0x10":16' '1.5:1.5' '-0.5:-0.5' '0.30000000000000004:0.30000000000000004'; do
	push d '"progress":"p","device":"k","percentage":'"${p%:*}"
	pull d
	want "percentage ${p%:*} reads back as ${p##*:}" 200 '{"document":"d","percentage":'"${p##*:}"',"progress":"p","device":"k"}'
done
for p in '"nan"' '"inf"' '"-Infinity"' '"abc"' '""' 'null' 'true' '{}' '[0.5]' '1e999'; do
	push d '"progress":"p","device":"k","percentage":'"$p"
	want "percentage $p is refused" 403 "$E2003"
done

# §9.5: progress and device, strings byte for byte or numbers as text.
push d '"progress":56,"device":7,"percentage":0.5'
pull d
want "numbers become strings" 200 '{"document":"d","percentage":0.5,"progress":"56","device":"7"}'
push d '"progress":1.5,"device":"k","percentage":0.5'
pull d
want "1.5 becomes \"1.5\"" 200 '{"document":"d","percentage":0.5,"progress":"1.5","device":"k"}'
push d '"progress":"/body/p[1]/text().0 \"q\" \\ caf\u00e9 \u2028","device":"K\u00f6bo","percentage":0.5'
pull d
want "strings come back byte for byte ('/' unescaped)" 200 '{"document":"d","percentage":0.5,"progress":"/body/p[1]/text().0 \"q\" \\ café '$'\xe2\x80\xa8''","device":"Köbo"}'
for v in 'null' 'false' 'true' '{}' '[]' '["p"]'; do
	push d '"progress":'"$v"',"device":"k","percentage":0.5'
	want "progress $v is refused" 403 "$E2003"
	push d '"progress":"p","device":'"$v"',"percentage":0.5'
	want "device $v is refused" 403 "$E2003"
done
push d '"progress":"","device":"","percentage":0.5'
pull d
want "empty strings are kept" 200 '{"document":"d","percentage":0.5,"progress":"","device":""}'

# §9.6, §9.7: device_id kept when missing or null, replaced when sent.
push d '"progress":"p","device":"k","percentage":0.5,"device_id":"ID1"'
pull d
want "device_id stored" 200 '{"document":"d","percentage":0.5,"progress":"p","device":"k","device_id":"ID1"}'
push d '"progress":"p2","device":"k","percentage":0.6'
pull d
want "device_id kept when missing" 200 '{"document":"d","percentage":0.6,"progress":"p2","device":"k","device_id":"ID1"}'
push d '"progress":"p3","device":"k","percentage":0.7,"device_id":null'
pull d
want "device_id kept when null" 200 '{"document":"d","percentage":0.7,"progress":"p3","device":"k","device_id":"ID1"}'
push d '"progress":"p4","device":"k","percentage":0.8,"device_id":"ID2"'
pull d
want "device_id replaced" 200 '{"document":"d","percentage":0.8,"progress":"p4","device":"k","device_id":"ID2"}'
push d '"progress":"p4","device":"k","percentage":0.8,"device_id":42'
pull d
want "numeric device_id as text" 200 '{"document":"d","percentage":0.8,"progress":"p4","device":"k","device_id":"42"}'
push d '"progress":"p4","device":"k","percentage":0.8,"device_id":""'
pull d
want "an empty device_id is left out" 200 '{"document":"d","percentage":0.8,"progress":"p4","device":"k"}'
push d '"progress":"p","device":"k","percentage":0.8,"device_id":false'
want "device_id false is refused" 403 "$E2003"

# §9.8: one document rule for PUT and GET, GET percent-decoded.
push 'a-b.c d~\u00e9' '"progress":"p","device":"k","percentage":0.5'
is "an id with '-', '.', ' ', '~' and UTF-8 can be pushed" "$STATUS" 200
pull 'a-b.c%20d~%C3%A9'
want "and read back through a percent-encoded path" 200 '{"document":"a-b.c d~é","percentage":0.5,"progress":"p","device":"k"}'
push 'x%41' '"progress":"p","device":"k","percentage":0.5'
pull 'x%2541'
want "'%' in an id round-trips as %25" 200 '{"document":"x%41","percentage":0.5,"progress":"p","device":"k"}'
long=$(printf 'd%.0s' $(seq 1 255))
push "$long" '"progress":"p","device":"k","percentage":0.5'
is "a 255-byte id can be pushed" "$STATUS" 200
pull "$long"
want "and pulled" 200 '{"document":"'"$long"'","percentage":0.5,"progress":"p","device":"k"}'
for d in "${long}d" 'a/b' 'a:b' '' 'a\tb' 'a\u0000b' 'a\u007f'; do
	push "$d" '"progress":"p","device":"k","percentage":0.5'
	if [ "$d" = 'a\u0000b' ]; then
		is "push id '$d': NUL is not JSON we accept" "$STATUS" 400
	else
		want "push id '$d' is refused" 403 "$E2004"
	fi
done
for d in "${long}d" 'a%2Fb' 'a%2fb' 'a%3Ab' 'a%00b' 'a%09b' 'a%7F' '%zz' 'a%2' 'a%' '%FF'; do
	req GET "/syncs/progress/$d" "" $A
	want "pull id '$d' is refused" 403 "$E2004"
done
push 'n' '"document":5,"progress":"p","device":"k","percentage":0.5'
want "a later non-string document wins and is refused" 403 "$E2004"
req PUT /syncs/progress '{"document":null,"progress":"p","device":"k","percentage":0.5}' $A
want "a null document is missing" 403 "$E2004"

# §9.9: user names.
for n in 'U' 'J\u00f6rg' 'a*b?c' 'in side' "$(printf 'n%.0s' $(seq 1 255))"; do
	req POST /users/create '{"username":"'"$n"'","password":"'"$K"'"}'
	is "register '$n': status" "$STATUS" 201
done
req GET /users/auth "" -H "x-auth-user: Jörg" -H "x-auth-key: $K"
want "a UTF-8 name in x-auth-user" 200 '{"authorized":"OK"}'
req GET /users/auth "" -H "x-auth-user:  u " -H "x-auth-key: $K"
want "header blanks are trimmed by HTTP, so ' u ' is 'u'" 200 '{"authorized":"OK"}'
# A name a device could never send (HTTP trims header blanks), or a
# combining mark (an NFD look-alike of a precomposed name): refused.
for n in "$(printf 'n%.0s' $(seq 1 256))" 'a\tb' 'a\u0001' 'a\u007f' 'a:b' \
    ' u ' 'u ' ' u' 'Jo\u0308rg'; do
	req POST /users/create '{"username":"'"$n"'","password":"'"$K"'"}'
	want "register '${n:0:20}' is refused" 403 "$E2003"
done
req POST /users/create '{"username":"big","password":"'"$(printf 'k%.0s' $(seq 1 256))"'"}'
want "a key over 255 bytes is refused" 403 "$E2003"

# §9.10, §9.11, §9.22: empty and repeated credentials are 401.
req GET /users/auth "" -H "x-auth-user: u" -H "x-auth-key;"
want "an empty key" 401 "$E2001"
req GET /users/auth "" -H "x-auth-user;" -H "x-auth-key: $K"
want "an empty user" 401 "$E2001"
req GET /users/auth "" -H "x-auth-user: u" -H "x-auth-user: u" -H "x-auth-key: $K"
want "x-auth-user sent twice" 401 "$E2001"
req GET /users/auth "" -H "x-auth-user: u" -H "x-auth-key: $K" -H "x-auth-key: $K"
want "x-auth-key sent twice" 401 "$E2001"
req GET /users/auth "" -H "X-Auth-User: u" -H "X-AUTH-KEY: $K"
want "header names are case-insensitive" 200 '{"authorized":"OK"}'

# HTTP Basic: the key is md5 of the password.
req GET /users/auth "" -u u:pw
want "Basic" 200 '{"authorized":"OK"}'
req GET /users/auth "" -u u:wrong
want "Basic with a wrong password" 401 "$E2001"
req GET /users/auth "" -u "u:$K"
want "Basic with the key as password is hashed again" 401 "$E2001"
req PUT /syncs/progress '{"document":"basic","progress":"p","device":"k","percentage":0.5}' -u u:pw
is "Basic push" "$STATUS" 200
req GET /syncs/progress/basic "" -u u:pw
like "Basic pull" "$BODY" '^\{"document":"basic","percentage":0.5,'
req GET /users/auth "" -H "x-auth-user: u" -H "x-auth-key: $K" -u nobody:pw
want "x-auth headers win over Basic" 200 '{"authorized":"OK"}'
req GET /users/auth "" -H "x-auth-user: nobody" -H "x-auth-key: $K" -u u:pw
want "x-auth headers win over Basic (wrong x-auth)" 401 "$E2001"
req GET /users/auth "" -H "Authorization: Basic !!!"
want "malformed Basic" 401 "$E2001"
req GET /users/auth "" -H "Authorization: Bearer abc"
want "other schemes" 401 "$E2001"
req GET /users/auth "" -H "Authorization: Basic dTpwdw==" -H "Authorization: Basic dTpwdw=="
want "Authorization sent twice" 401 "$E2001"

# §9.13, §9.14: any Accept, any request Content-Type.
curlreq "$KS_URL/healthcheck"
want "curl's */* Accept" 200 '{"state":"OK"}'
curlreq -H 'Accept:' "$KS_URL/healthcheck"
want "no Accept" 200 '{"state":"OK"}'
curlreq -X PUT -H 'Content-Type: text/plain' -H "x-auth-user: u" -H "x-auth-key: $K" \
    --data-binary '{"document":"ct","progress":"p","device":"k","percentage":0.5}' "$KS_URL/syncs/progress"
is "a text/plain body is parsed as JSON" "$STATUS" 200
curlreq -X PUT -H 'Content-Type:' -H "x-auth-user: u" -H "x-auth-key: $K" \
    --data-binary '{"document":"ct","progress":"p","device":"k","percentage":0.5}' "$KS_URL/syncs/progress"
is "a body without Content-Type is parsed as JSON" "$STATUS" 200

# §9.16: slashes, /koreader, base_path.
for p in /users/auth/ //users//auth /users/auth// /koreader/users/auth \
    /koreader/users/auth/ /kosync/users/auth /kosync//users/auth/ \
    /kosync/koreader/users/auth; do
	req GET "$p" "" $A
	want "GET $p" 200 '{"authorized":"OK"}'
done
req GET /kosync/syncs/progress/d/ "" $A
like "pull under base_path with a trailing slash" "$BODY" '^\{"document":"d",'
for p in /kosyncx/users/auth /koreaderx/users/auth /users/auth/x /kosync/kosync/users/auth; do
	req GET "$p" "" $A
	want "GET $p is unknown" 404 '{"code":404,"message":"Not found."}'
done

# §9.20: metadata and unknown fields are accepted.
push m '"progress":"p","device":"k","percentage":0.5,"metadata":{"filename":"b.epub","title":"T","authors":"A","x":1},"extra":[1,{"y":null}]'
is "push with metadata and unknown fields" "$STATUS" 200
push m '"progress":"p2","device":"k","percentage":0.6'
pull m
want "a later push without metadata" 200 '{"document":"m","percentage":0.6,"progress":"p2","device":"k"}'
push m '"progress":"p3","device":"k","percentage":0.7,"metadata":"not an object"'
is "metadata that is not an object is ignored" "$STATUS" 200

# HEAD, CORS, OPTIONS.
out=$(raw 'HEAD /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | tr -d '\r')
like "HEAD: status" "$out" '^HTTP/1.1 200 OK'
like "HEAD: Content-Length of the GET body" "$out" $'\nContent-Length: 14\n'
check "HEAD: no body (no JSON after the headers)" test -z "$(printf '%s' "$out" | grep -F '{')"
req GET /healthcheck
is "CORS on a success" "$(header Access-Control-Allow-Origin)" '*'
req GET /users/auth
is "CORS on an error" "$(header Access-Control-Allow-Origin)" '*'
curlreq -X OPTIONS -H 'Origin: http://example.org' \
    -H 'Access-Control-Request-Method: PUT' \
    -H 'Access-Control-Request-Headers: x-auth-user, x-auth-key, content-type' \
    "$KS_URL/syncs/progress"
is "preflight: status" "$STATUS" 204
is "preflight: no body" "$BODY" ""
is "preflight: Allow-Origin" "$(header Access-Control-Allow-Origin)" '*'
is "preflight: Allow-Methods" "$(header Access-Control-Allow-Methods)" "PUT, OPTIONS"
is "preflight: Allow-Headers" "$(header Access-Control-Allow-Headers)" \
    "accept, content-type, authorization, x-auth-user, x-auth-key"
like "preflight: Max-Age" "$(header Access-Control-Max-Age)" '^[0-9]+$'
is "preflight: no Content-Length" "$(header Content-Length)" ""
curlreq -X OPTIONS "$KS_URL/kosync/syncs/progress/abc"
is "preflight on a pull path" "$(header Access-Control-Allow-Methods)" "GET, HEAD, OPTIONS"
curlreq -X OPTIONS "$KS_URL/nope"
want "preflight on an unknown path" 404 '{"code":404,"message":"Not found."}'

ks_stop
done_testing
