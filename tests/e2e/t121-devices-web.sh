#!/usr/bin/env bash
# t121-devices-web: the web interface's JSON API for device credentials
# (docs/api.md), on the memory and file storages.
#
# Covers: list (empty), create (201, the password once, 16 letters; not in
# the list), sign in and push with it on the protocol, the last use in the
# list, rename, revoke (401 at once), devices-only on/off (the account
# password refused and accepted again on the protocol, the web session
# unaffected); the signed-in user sees only their own credentials (another
# user's id is 404); bad input: a missing or long label, a control
# character, "on" not a boolean, an unknown or malformed id (clear JSON
# errors, nothing changed); no session: 401; no CSRF token: 403.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*accessible to others'
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() {
	local jar=$1 tok=$2 m=$3 p=$4
	shift 4
	web "$m" "$p" "${1-}" -b "$jar" -H "X-CSRF-Token: $tok"
}
get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

for backend in memory file; do
	ks_start --storage $backend --enable-webui || { not_ok "server started"; done_testing; }
	req POST /users/create "{\"username\":\"ann\",\"password\":\"$(md5 alpha)\"}"
	req POST /users/create "{\"username\":\"bob\",\"password\":\"$(md5 bravo)\"}"
	signin ann alpha "$KS_TMP/jar"
	A=$CSRF
	signin bob bravo "$KS_TMP/jar-b"
	B=$CSRF

	as "$KS_TMP/jar" "$A" GET /api/v1/devices
	is "$backend: empty list" "$BODY" '{"devices_only":false,"progress_policy":"latest","devices":[]}'
	as "$KS_TMP/jar" "$A" POST /api/v1/devices '{"label":"Kobo Libra 2"}'
	is "$backend: create: 201" "$STATUS" 201
	ID=$(printf '%s' "$BODY" | get 'd["id"]')
	PW=$(printf '%s' "$BODY" | get 'd["password"]')
	like "$backend: create: a 16-letter password" "$PW" '^[a-z]{16}$'
	as "$KS_TMP/jar" "$A" GET /api/v1/devices
	like "$backend: listed with its label" "$BODY" "\"id\":\"$ID\",\"label\":\"Kobo Libra 2\""
	check "$backend: the password is not in the list" [ "${BODY#*$PW}" = "$BODY" ]

	req PUT /syncs/progress '{"document":"d1","progress":"p","percentage":0.5,"device":"Libra","device_id":"L1"}' $(auth ann "$(md5 "$PW")") -A 'KOReader/v2026.07.2'
	is "$backend: push with the device password" "$STATUS" 200
	as "$KS_TMP/jar" "$A" GET /api/v1/devices
	like "$backend: last use" "$BODY" '"address":"127.0.0.1","agent":"KOReader/v2026.07.2","device":"Libra","device_id":"L1"'

	as "$KS_TMP/jar" "$A" PUT "/api/v1/devices/$ID" '{"label":"Kobo (kitchen)"}'
	is "$backend: rename: 200" "$STATUS" 200
	as "$KS_TMP/jar" "$A" GET /api/v1/devices
	like "$backend: renamed" "$BODY" '"label":"Kobo \(kitchen\)"'

	# Another user's credential is not found, and changes nothing.
	as "$KS_TMP/jar-b" "$B" DELETE "/api/v1/devices/$ID"
	is "$backend: another user's id: 404" "$STATUS" 404
	like "$backend: 404 message" "$BODY" 'No such device credential'
	req GET /users/auth "" $(auth ann "$(md5 "$PW")")
	is "$backend: still signs in" "$STATUS" 200

	# Devices only.
	as "$KS_TMP/jar" "$A" PUT /api/v1/account/devices-only '{"on":true}'
	is "$backend: devices-only on" "$BODY" '{"devices_only":true}'
	req GET /users/auth "" $(auth ann "$(md5 alpha)")
	is "$backend: the account password no longer syncs" "$STATUS" 401
	req GET /users/auth "" $(auth ann "$(md5 "$PW")")
	is "$backend: the device password does" "$STATUS" 200
	as "$KS_TMP/jar" "$A" GET /api/v1/devices
	like "$backend: the session still works" "$BODY" '"devices_only":true'
	as "$KS_TMP/jar" "$A" PUT /api/v1/account/devices-only '{"on":false}'
	req GET /users/auth "" $(auth ann "$(md5 alpha)")
	is "$backend: devices-only off" "$STATUS" 200

	# Revoke.
	as "$KS_TMP/jar" "$A" DELETE "/api/v1/devices/$ID"
	is "$backend: revoke: 200" "$STATUS" 200
	req GET /users/auth "" $(auth ann "$(md5 "$PW")")
	is "$backend: revoked: 401 at once" "$STATUS" 401
	as "$KS_TMP/jar" "$A" GET /api/v1/devices
	like "$backend: listed as revoked" "$BODY" '"revoked":true'
	as "$KS_TMP/jar" "$A" DELETE "/api/v1/devices/$ID"
	is "$backend: revoke twice: 404" "$STATUS" 404

	# Bad input.
	as "$KS_TMP/jar" "$A" POST /api/v1/devices '{}'
	is "$backend: no label: 400" "$STATUS" 400
	like "$backend: no label: message" "$BODY" '"message":"A label is 1 to 100 bytes'
	as "$KS_TMP/jar" "$A" POST /api/v1/devices "{\"label\":\"$(printf 'x%.0s' $(seq 1 101))\"}"
	is "$backend: a long label: 400" "$STATUS" 400
	as "$KS_TMP/jar" "$A" POST /api/v1/devices '{"label":"a\u0001b"}'
	is "$backend: a control character: 400" "$STATUS" 400
	as "$KS_TMP/jar" "$A" PUT /api/v1/account/devices-only '{"on":"yes"}'
	is "$backend: on not a boolean: 400" "$STATUS" 400
	as "$KS_TMP/jar" "$A" PUT /api/v1/devices/NOPE.x '{"label":"x"}'
	is "$backend: a malformed id: 404" "$STATUS" 404
	as "$KS_TMP/jar" "$A" GET /api/v1/devices
	is "$backend: nothing changed" "$(printf '%s' "$BODY" | get 'len(d["devices"])')" 1
	web GET /api/v1/devices
	is "$backend: no session: 401" "$STATUS" 401
	web POST /api/v1/devices '{"label":"x"}' -b "$KS_TMP/jar"
	is "$backend: no CSRF token: 403" "$STATUS" 403
	ks_stop
	rm -rf "$KS_DIR"
done

done_testing
