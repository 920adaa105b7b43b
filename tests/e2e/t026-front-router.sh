#!/usr/bin/env bash
# t026-front-router: the front router (src/front.c) hands each request to
# one handler by its normalised path: the web interface's API under
# /api/v1, its page (GET or HEAD /) and files (/assets, /web), the
# protocol everything else, unknown paths included (its JSON 404 after
# its own checks: the body first). Prefixes match whole segments; the
# path is normalised once, base_path and /koreader removed; with the
# web interface off every path is the protocol's. The two handlers'
# answers differ by their headers: the protocol's carry CORS, the web
# interface's nosniff.
. "$(dirname "$0")/lib.sh"

NF='{"code":404,"message":"Not found."}'

# proto NAME: the last answer came from the protocol.
proto() {
	like "$1: the protocol's (CORS)" "$HEADERS" 'Access-Control-Allow-Origin: \*'
}
# webui NAME: the last answer came from the web interface.
webui() {
	like "$1: the web interface's (nosniff)" "$HEADERS" 'X-Content-Type-Options: nosniff'
	check "$1: no CORS" no_cors
}
no_cors() { ! printf '%s' "$HEADERS" | grep -q Access-Control-Allow-Origin; }

ks_start
web GET /api/v1/nope
is "GET /api/v1/nope: 404" "$STATUS" 404
is "GET /api/v1/nope: body" "$BODY" "$NF"
webui "GET /api/v1/nope"
web POST /api/v1/nope '['
is "POST /api/v1/nope, bad body: the route first, 404" "$STATUS" 404
webui "POST /api/v1/nope"
for p in /api/v1x /api /webdav /webx /assetsx/app.js; do
	req GET "$p"
	is "GET $p: 404" "$STATUS" 404
	is "GET $p: body" "$BODY" "$NF"
	proto "GET $p"
done
req POST /nope '['
is "POST /nope, bad body: the body first, 400" "$STATUS" 400
proto "POST /nope"
web GET /
is "GET /: the page" "$STATUS" 200
like "GET /: HTML" "$CTYPE" '^text/html'
web HEAD / -I
is "HEAD /: the page" "$STATUS" 200
req POST /
is "POST /: 404" "$STATUS" 404
proto "POST /"
req OPTIONS /
is "OPTIONS /: 404" "$STATUS" 404
proto "OPTIONS /"
web PUT /assets/app.js
is "PUT /assets/app.js: 404" "$STATUS" 404
webui "PUT /assets/app.js"
web GET /web/x
is "GET /web/x: redirect" "$STATUS" 302
like "GET /web/x: to /" "$HEADERS" 'Location: /'
web GET //api//v1//session/
is "GET //api//v1//session/: normalised, served" "$STATUS" 200
webui "GET //api//v1//session/"
req GET //koreader//healthcheck/
is "GET //koreader//healthcheck/: the protocol's" "$STATUS" 200
ks_stop

ks_start --base-path /kosync/
web GET /kosync/api/v1/session
is "base: /kosync/api/v1/session" "$STATUS" 200
webui "base: /kosync/api/v1/session"
web GET /kosync//koreader/assets/app.js
is "base: /kosync//koreader/assets/app.js" "$STATUS" 200
web GET /kosync
is "base: /kosync redirects" "$STATUS" 302
like "base: to /kosync/" "$HEADERS" 'Location: /kosync/'
req GET /kosync/koreader/healthcheck
is "base: /kosync/koreader/healthcheck" "$STATUS" 200
req GET /kosyncx/api/v1/session
is "base: /kosyncx/api/v1/session is no prefix: 404" "$STATUS" 404
proto "base: /kosyncx/api/v1/session"
ks_stop

ks_start --enable-webui=false
for p in /api/v1/session / /assets/app.js /web; do
	req GET "$p"
	is "off: GET $p: 404" "$STATUS" 404
	is "off: GET $p: body" "$BODY" "$NF"
	proto "off: GET $p"
done
req GET /healthcheck
is "off: /healthcheck" "$STATUS" 200
ks_stop

done_testing
