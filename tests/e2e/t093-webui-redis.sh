#!/usr/bin/env bash
# t093-webui-redis: the web interface on the Redis backend, which has the
# protocol's operations but not the web interface's changes.
#
# Covers: sign-in works (the store verifies the key as for a device), the
# library and every web change answer 503 with the JSON error, the device
# keeps syncing, and a live update still arrives after a push (store_listen
# does not depend on the backend). Skipped without redis-server.
. "$(dirname "$0")/lib.sh"

if ! command -v redis-server >/dev/null; then
	ok "# SKIP redis-server is not installed"
	done_testing
fi
J='Content-Type: application/json'
K=$(md5 pw)
D=0123456789abcdef0123456789abcdef
web() {
	local method=$1 path=$2 body=${3-}
	shift 2
	[ $# -gt 0 ] && shift
	STATUS=$(curl -s -S -X "$method" ${body:+-H "$J" --data-binary "$body"} \
	    -o "$KS_TMP/body" -w '%{http_code}' "$@" "$KS_URL$path")
	BODY=$(cat "$KS_TMP/body")
}

ks_start_backend redis --enable-webui || exit 1
req POST /users/create "{\"username\":\"u\",\"password\":\"$K\"}"
is "register" "$STATUS" 201
req PUT /syncs/progress "{\"document\":\"$D\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"kobo\"}" $(auth u "$K")
is "push" "$STATUS" 200
web POST /api/v1/login '{"username":"u","password":"pw"}' -c "$KS_TMP/jar"
is "sign in" "$STATUS" 200
CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
web POST /api/v1/login '{"username":"u","password":"nope"}'
is "wrong password" "$STATUS" 401
web GET /api/v1/documents "" -b "$KS_TMP/jar"
is "library: 503" "$STATUS $BODY" '503 {"code":503,"message":"Not available with this storage right now."}'
web PUT /api/v1/documents/$D/name '{"name":"x"}' -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"
is "rename: 503" "$STATUS" 503
curl -s -m 10 -b "$KS_TMP/jar" -H 'Last-Event-ID: 0' "$KS_URL/api/v1/events" >"$KS_TMP/sse" &
sse=$!
sleep 0.5
req PUT /syncs/progress "{\"document\":\"$D\",\"progress\":\"q\",\"percentage\":0.6,\"device\":\"kobo\"}" $(auth u "$K")
wait $sse
like "live update after a push" "$(cat "$KS_TMP/sse")" "\"kind\":\"push\",\"document\":\"$D\""
req GET /syncs/progress/$D "" $(auth u "$K")
like "the device still syncs" "$BODY" '"percentage":0.6'
ks_stop
done_testing
