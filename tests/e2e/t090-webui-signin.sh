#!/usr/bin/env bash
# t090-webui-signin: serving the web interface, signing in and out.
#
# Covers: with enable_webui off, / and /web/ are the protocol's JSON 404;
# with it on, GET / redirects to /web/, /web to /web/, the page, script and
# style are served with their types, a strict CSP, nosniff, ETag and 304;
# an unknown file is a JSON 404; the same under base_path; sign-in with the
# KOReader password (md5 compared through the store) sets an HttpOnly,
# SameSite=Strict cookie scoped to /web (Secure with cookie_secure or over
# https through a trusted proxy), a wrong password or unknown user is 401
# with nothing set, a missing field 400; GET session says who is signed in;
# a forged cookie is not a session; sign-out ends the session on the server
# too; failed sign-ins are rate-limited (429) like device logins.
. "$(dirname "$0")/lib.sh"

K=$(md5 'open sesame')
J='Content-Type: application/json'

# web METHOD PATH [BODY] [CURL ARGS...]: a browser-like request (no KOReader
# Accept). Sets STATUS, BODY, CTYPE, HEADERS like req.
web() {
	local method=$1 path=$2 body=${3-}
	shift 2
	[ $# -gt 0 ] && shift
	STATUS=$(curl -s -S -X "$method" ${body:+-H "$J" --data-binary "$body"} \
	    -D "$KS_TMP/h" -o "$KS_TMP/b" -w '%{http_code}' "$@" "$KS_URL$path")
	BODY=$(cat "$KS_TMP/b")
	HEADERS=$(tr -d '\r' <"$KS_TMP/h")
	CTYPE=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p' | tail -n 1)
}
hdr() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | head -n 1; }

ks_start --storage memory || exit 1
web GET /
is "off: / is the protocol's 404" "$STATUS $BODY" '404 {"code":404,"message":"Not found."}'
web GET /web/
is "off: /web/ is a 404" "$STATUS" 404
ks_stop

ks_start --storage memory --enable-webui --auth-fail-per-user 3 || exit 1
req POST /users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
is "ann registers" "$STATUS" 201

web GET /
is "GET / redirects" "$STATUS $(hdr Location)" "302 /web/"
web GET /web
is "GET /web redirects to /web/" "$STATUS $(hdr Location)" "302 /web/"
web GET /web/
is "the page" "$STATUS $CTYPE" "200 text/html; charset=utf-8"
like "the page loads app.js as a module" "$BODY" '<script type="module" src="app.js"></script>'
like "strict CSP: no inline script" "$(hdr Content-Security-Policy)" "script-src 'self';"
is "nosniff" "$(hdr X-Content-Type-Options)" nosniff
etag=$(hdr ETag)
like "an ETag" "$etag" '^"[0-9a-f]{16}"$'
web GET /web/ "" -H "If-None-Match: $etag"
is "If-None-Match: 304" "$STATUS" 304
web GET /web/app.js
is "script type" "$STATUS $CTYPE" "200 text/javascript; charset=utf-8"
web GET /web/style.css
is "style type" "$STATUS $CTYPE" "200 text/css; charset=utf-8"
web GET /web/nope.js
is "unknown file: JSON 404" "$STATUS $CTYPE" "404 application/json"
web POST /web/
is "POST to the page: 404" "$STATUS" 404
req GET /healthcheck
is "the protocol is untouched" "$STATUS $BODY" '200 {"state":"OK"}'

web GET /web/api/session
is "no session yet" "$STATUS $BODY" '200 {"username":null}'
web POST /web/api/login '{"username":"ann","password":"wrong"}'
is "wrong password: 401" "$STATUS $BODY" '401 {"code":401,"message":"Wrong username or password."}'
is "no cookie set" "$(hdr Set-Cookie)" ""
web POST /web/api/login '{"username":"nobody","password":"open sesame"}'
is "unknown user: 401 alike" "$STATUS" 401
web POST /web/api/login '{"username":"ann"}'
is "missing password: 400" "$STATUS" 400
web POST /web/api/login 'not json'
is "not JSON: 400" "$STATUS" 400
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
    --data-binary '{"username":"ann","password":"open sesame"}' "$KS_URL/web/api/login")
is "a form-like content type (login CSRF): 415" "$STATUS" 415

web POST /web/api/login '{"username":"ann","password":"open sesame"}' -c "$KS_TMP/jar"
is "sign in: 200" "$STATUS" 200
like "sign in: who and a CSRF token" "$BODY" '^\{"username":"ann","admin":false,"csrf":"[A-Za-z0-9_-]{43}"\}$'
cookie=$(hdr Set-Cookie)
like "cookie: random token" "$cookie" '^kosyncd_session=[A-Za-z0-9_-]{43}; '
like "cookie: scoped to /web, HttpOnly, SameSite=Strict" "$cookie" 'Path=/web; Max-Age=604800; HttpOnly; SameSite=Strict$'
web GET /web/api/session "" -b "$KS_TMP/jar"
like "session: signed in" "$BODY" '^\{"username":"ann","admin":false,"csrf":'
web GET /web/api/documents "" -b "kosyncd_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
is "a forged cookie is no session" "$STATUS $BODY" '401 {"code":401,"message":"Not signed in."}'
web GET /web/api/documents
is "no cookie: 401" "$STATUS" 401
grep -q 'POST /web/api/login 200 .* ann$' "$KS_ERR.new"
is "access log names the user, never the password" "$?$(grep -c 'open sesame' "$KS_ERR.new")" 00

csrf=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
web GET /web/api/session "" -b "$KS_TMP/jar"
csrf=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
web POST /web/api/logout "" -b "$KS_TMP/jar" -H "X-CSRF-Token: $csrf"
is "sign out" "$STATUS $BODY" '200 {"signed_out":true}'
like "sign out clears the cookie" "$(hdr Set-Cookie)" '^kosyncd_session=; Path=/web; Max-Age=0;'
web GET /web/api/documents "" -b "$KS_TMP/jar"
is "the old cookie is dead on the server too" "$STATUS" 401

# Rate limit: 3 failures per user, then 429 even with the right password
# (from an address that never signed in as that user).
req POST /users/create "{\"username\":\"bea\",\"password\":\"$K\"}"
for i in 1 2 3; do web POST /web/api/login '{"username":"bea","password":"bad"}'; done
is "third failure still 401" "$STATUS" 401
web POST /web/api/login '{"username":"bea","password":"open sesame"}'
is "then 429 without checking the password" "$STATUS $BODY" '429 {"code":429,"message":"Too many failed sign-ins; try again later."}'
ks_stop

# cookie_secure, base_path, https through a trusted proxy.
ks_start --storage memory --enable-webui --cookie-secure --base-path /sync || exit 1
req POST /sync/users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
web GET /sync/
is "base_path: / redirects under it" "$STATUS $(hdr Location)" "302 /sync/web/"
web GET /sync/web/app.js
is "base_path: files under it" "$STATUS" 200
web POST /sync/web/api/login '{"username":"ann","password":"open sesame"}'
like "cookie_secure: Secure, path under base_path" "$(hdr Set-Cookie)" 'Path=/sync/web; .*; Secure$'
ks_stop
ks_start --storage memory --enable-webui --trusted-proxies 127.0.0.1 || exit 1
req POST /users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
web POST /web/api/login '{"username":"ann","password":"open sesame"}' -H 'X-Forwarded-Proto: https'
like "https through a trusted proxy: Secure" "$(hdr Set-Cookie)" '; Secure$'
web POST /web/api/login '{"username":"ann","password":"open sesame"}'
like "plain http: not Secure" "$(hdr Set-Cookie)" 'SameSite=Strict$'
ks_stop

done_testing
