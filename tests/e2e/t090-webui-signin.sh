#!/usr/bin/env bash
# t090-webui-signin: serving the web interface, signing in and out.
#
# Covers: on by default: GET / is the page (its links under assets/, the
# API under /api/v1/), the script and style under /assets/ with their
# types, a strict CSP, nosniff, ETag + no-cache and 304; the old /web/
# address redirects to /; an unknown file is a JSON 404; the protocol is
# untouched; with enable_webui off, /, /assets/ and /api/v1/ are the
# protocol's JSON 404, and so with a KOsync database.json (which says
# false) unless a flag turns it on; the same under base_path (/sync redirects to /sync/);
# sign-in with the KOReader password (md5 compared through the store) sets an
# HttpOnly, SameSite=Strict cookie with Path=/ (or base_path) (Secure with
# cookie_secure or over https through a trusted proxy), a wrong password or
# unknown user is 401 with nothing set, a missing field 400; GET session says
# who is signed in; a forged cookie is not a session; sign-out ends the
# session on the server too; failed sign-ins are rate-limited (429) like
# device logins.
. "$(dirname "$0")/lib.sh"

K=$(md5 'open sesame')

# hdr NAME: a header of the last web (lib.sh) answer.
hdr() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | head -n 1; }

ks_start --storage memory --enable-webui=false || exit 1
web GET /
is "off: / is the protocol's 404" "$STATUS $BODY" '404 {"code":404,"message":"Not found."}'
web GET /assets/app.js
is "off: /assets/app.js is a 404" "$STATUS" 404
web GET /api/v1/session
is "off: /api/v1/ is the protocol's 404" "$STATUS $BODY" '404 {"code":404,"message":"Not found."}'
ks_stop

# A KOsync database.json says "enable_webui": false (its migration 5):
# the file is honoured, the interface is off; a flag turns it back on.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KS_DIR_SAVE=$KS_DIR
KS_DIR=$KS_TMP/kosync
mkdir -p "$KS_DIR"
cp "$ROOT/tests/data/kosync-schema5.json" "$KS_DIR/database.json"
ks_start --storage file || exit 1
web GET /
is "a KOsync file with enable_webui false: / is the protocol's 404" "$STATUS" 404
ks_stop
ks_start --storage file --enable-webui || exit 1
web GET /
is "the same file with --enable-webui: the page" "$STATUS" 200
ks_stop
KS_DIR=$KS_DIR_SAVE

ks_start --storage memory --auth-fail-per-user 3 || exit 1
req POST /users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
is "ann registers" "$STATUS" 201

web GET /
is "on by default: GET / is the page" "$STATUS $CTYPE" "200 text/html; charset=utf-8"
like "the page loads assets/app.js as a module" "$BODY" '<script type="module" src="assets/app.js"></script>'
like "the page loads assets/style.css" "$BODY" '<link rel="stylesheet" href="assets/style.css">'
like "strict CSP: no inline script" "$(hdr Content-Security-Policy)" "script-src 'self';"
is "nosniff" "$(hdr X-Content-Type-Options)" nosniff
is "the page is revalidated" "$(hdr Cache-Control)" no-cache
etag=$(hdr ETag)
like "an ETag" "$etag" '^"[0-9a-f]{16}"$'
web GET / "" -H "If-None-Match: $etag"
is "If-None-Match: 304" "$STATUS" 304
STATUS=$(curl -s -I -o /dev/null -w '%{http_code}' "$KS_URL/")
is "HEAD /" "$STATUS" 200
web GET /web
is "old address /web redirects to /" "$STATUS $(hdr Location)" "302 /"
web GET /web/
is "old address /web/ redirects to /" "$STATUS $(hdr Location)" "302 /"
web GET /web/app.js
is "old /web/app.js redirects to /" "$STATUS $(hdr Location)" "302 /"
web GET /assets/app.js
is "script type" "$STATUS $CTYPE" "200 text/javascript; charset=utf-8"
like "script: ETag" "$(hdr ETag)" '^"[0-9a-f]{16}"$'
is "script: revalidated" "$(hdr Cache-Control)" no-cache
web GET /assets/app.js "" -H "If-None-Match: $(hdr ETag)"
is "script: 304" "$STATUS" 304
web GET /assets/style.css
is "style type" "$STATUS $CTYPE" "200 text/css; charset=utf-8"
web GET /assets/nope.js
is "unknown file: JSON 404" "$STATUS $CTYPE" "404 application/json"
web GET /assets/index.html
is "the page is not an asset" "$STATUS" 404
web GET /app.js
is "no asset outside /assets/" "$STATUS $BODY" '404 {"code":404,"message":"Not found."}'
web POST /
is "POST to the page: the protocol's 404" "$STATUS" 404
web POST /assets/app.js
is "POST to an asset: 404" "$STATUS" 404
web GET /api/v1/nope
is "unknown API route: JSON 404" "$STATUS $BODY" '404 {"code":404,"message":"Not found."}'
web DELETE /api/v1/session
is "wrong method: 405 with Allow" "$STATUS $(hdr Allow)" "405 GET, HEAD, OPTIONS"
req GET /healthcheck
is "the protocol is untouched" "$STATUS $BODY" '200 {"state":"OK"}'

web GET /api/v1/session
is "no session yet" "$STATUS $BODY" '200 {"username":null}'
web POST /api/v1/login '{"username":"ann","password":"wrong"}'
is "wrong password: 401" "$STATUS $BODY" '401 {"code":401,"message":"Wrong username or password."}'
is "no cookie set" "$(hdr Set-Cookie)" ""
web POST /api/v1/login '{"username":"nobody","password":"open sesame"}'
is "unknown user: 401 alike" "$STATUS" 401
web POST /api/v1/login '{"username":"ann"}'
is "missing password: 400" "$STATUS" 400
web POST /api/v1/login 'not json'
is "not JSON: 400" "$STATUS" 400
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
    --data-binary '{"username":"ann","password":"open sesame"}' "$KS_URL/api/v1/login")
is "a form-like content type (login CSRF): 415" "$STATUS" 415

web POST /api/v1/login '{"username":"ann","password":"open sesame"}' -c "$KS_TMP/jar"
is "sign in: 200" "$STATUS" 200
like "sign in: who and a CSRF token" "$BODY" '^\{"username":"ann","admin":false,"csrf":"[A-Za-z0-9_-]{43}","library":(true|false)\}$'
cookie=$(hdr Set-Cookie)
like "cookie: random token" "$cookie" '^kosyncd_session=[A-Za-z0-9_-]{43}; '
like "cookie: Path=/, HttpOnly, SameSite=Strict" "$cookie" 'Path=/; Max-Age=604800; HttpOnly; SameSite=Strict$'
web GET /api/v1/session "" -b "$KS_TMP/jar"
like "session: signed in" "$BODY" '^\{"username":"ann","admin":false,"csrf":'
web GET /api/v1/documents "" -b "kosyncd_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
is "a forged cookie is no session" "$STATUS $BODY" '401 {"code":401,"message":"Not signed in."}'
web GET /api/v1/documents
is "no cookie: 401" "$STATUS" 401
grep -q 'POST /api/v1/login 200 .* ann$' "$KS_ERR.new"
is "access log names the user, never the password" "$?$(grep -c 'open sesame' "$KS_ERR.new")" 00

csrf=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
web GET /api/v1/session "" -b "$KS_TMP/jar"
csrf=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
web POST /api/v1/logout "" -b "$KS_TMP/jar" -H "X-CSRF-Token: $csrf"
is "sign out" "$STATUS $BODY" '200 {"signed_out":true}'
like "sign out clears the cookie" "$(hdr Set-Cookie)" '^kosyncd_session=; Path=/; Max-Age=0;'
web GET /api/v1/documents "" -b "$KS_TMP/jar"
is "the old cookie is dead on the server too" "$STATUS" 401

# Rate limit: 3 failures per user, then 429 even with the right password
# (from an address that never signed in as that user).
req POST /users/create "{\"username\":\"bea\",\"password\":\"$K\"}"
for i in 1 2 3; do web POST /api/v1/login '{"username":"bea","password":"bad"}'; done
is "third failure still 401" "$STATUS" 401
web POST /api/v1/login '{"username":"bea","password":"open sesame"}'
is "then 429 without checking the password" "$STATUS $BODY" '429 {"code":429,"message":"Too many failed sign-ins; try again later."}'
ks_stop

# cookie_secure, base_path, https through a trusted proxy.
ks_start --storage memory --cookie-secure --base-path /sync || exit 1
req POST /sync/users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
web GET /sync
is "base_path: /sync redirects to /sync/" "$STATUS $(hdr Location)" "302 /sync/"
web GET /sync/
is "base_path: the page at /sync/" "$STATUS $CTYPE" "200 text/html; charset=utf-8"
web GET /sync/web/
is "base_path: old /sync/web/ redirects to /sync/" "$STATUS $(hdr Location)" "302 /sync/"
web GET /sync/assets/app.js
is "base_path: files under it" "$STATUS" 200
web GET /sync/api/v1/session
is "base_path: the API under it" "$STATUS $BODY" '200 {"username":null}'
web POST /sync/api/v1/login '{"username":"ann","password":"open sesame"}'
like "cookie_secure: Secure, path under base_path" "$(hdr Set-Cookie)" 'Path=/sync; .*; Secure$'
ks_stop
ks_start --storage memory --trusted-proxies 127.0.0.1 || exit 1
req POST /users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
web POST /api/v1/login '{"username":"ann","password":"open sesame"}' -H 'X-Forwarded-Proto: https'
like "https through a trusted proxy: Secure" "$(hdr Set-Cookie)" '; Secure$'
web POST /api/v1/login '{"username":"ann","password":"open sesame"}'
like "plain http: not Secure" "$(hdr Set-Cookie)" 'SameSite=Strict$'
ks_stop

done_testing
