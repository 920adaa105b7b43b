#!/usr/bin/env bash
# t126-devices-audit: the audit of a device credential (docs/devices.md):
# its last sign-ins and syncs, on the memory, file and Redis storages.
#
# Covers: GET /api/v1/devices/<id>/audit and `kosyncd device audit USER ID`
# (file, Redis: through the control socket) list, newest first, the
# protocol's sign-in check, pulls and pushes (with their document) and
# WebDAV (file), each with the time, address and User-Agent; a use like
# the newest one within a minute adds no entry; the ring keeps the newest
# 20; the account key's uses are not in it; a revoked credential's audit
# stays readable; the file store keeps it over a restart (database.json,
# written by the final snapshot); bad input: an unknown or malformed id,
# another user's credential (404), no session (401), an unknown user on
# the command line (exit 1).
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*accessible to others'
UA='KOReader/v2026.07.2 (Kobo; Linux; arm) LuaSocket/3.1.0'
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

for backend in $(ks_backends); do
	KS_RUN_ARGS=()
	ks_start_backend $backend --enable-webui || { not_ok "$backend: server started"; done_testing; }
	[ $backend = redis ] && KS_RUN_ARGS=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
	register ann "$(md5 alpha)"
	register bob "$(md5 bravo)"
	signin ann alpha "$KS_TMP/jar"
	A=$CSRF
	signin bob bravo "$KS_TMP/jar-b"
	B=$CSRF
	as "$KS_TMP/jar" "$A" POST /api/v1/devices '{"label":"Kobo"}'
	ID=$(printf '%s' "$BODY" | get 'd["id"]')
	PW=$(printf '%s' "$BODY" | get 'd["password"]')
	KEY=$(md5 "$PW")

	as "$KS_TMP/jar" "$A" GET "/api/v1/devices/$ID/audit"
	is "$backend: no use yet: an empty audit" "$STATUS $BODY" "200 {\"id\":\"$ID\",\"label\":\"Kobo\",\"revoked\":false,\"audit\":[]}"

	req GET /users/auth "" $(auth ann "$KEY") -A "$UA"
	req GET /syncs/progress/d1 "" $(auth ann "$KEY") -A "$UA"
	req PUT /syncs/progress '{"document":"d1","progress":"p","percentage":0.5,"device":"Libra","device_id":"L1"}' $(auth ann "$KEY") -A "$UA"
	req GET /syncs/progress/d1 "" $(auth ann "$KEY") -A "$UA"
	req GET /syncs/progress/d1 "" $(auth ann "$KEY") -A "$UA"
	req GET /syncs/progress/d1 "" $(auth ann "$(md5 alpha)") -A "account"
	as "$KS_TMP/jar" "$A" GET "/api/v1/devices/$ID/audit"
	is "$backend: audit: 200" "$STATUS" 200
	is "$backend: newest first: what" "$(printf '%s' "$BODY" | get '",".join(e["what"] for e in d["audit"])')" "pull,push,pull,auth"
	is "$backend: the documents" "$(printf '%s' "$BODY" | get '",".join(e.get("document","-") for e in d["audit"])')" "d1,d1,d1,-"
	is "$backend: address and client" "$(printf '%s' "$BODY" | get 'd["audit"][0]["address"]+" "+d["audit"][0]["agent"]')" "127.0.0.1 $UA"
	now=$(date +%s)
	t=$(printf '%s' "$BODY" | get 'd["audit"][0]["time"]')
	check "$backend: the time is now ($t, $now)" [ $((now - t)) -le 60 -a $((now - t)) -ge -1 ]

	if [ $backend != memory ]; then
		run device audit ann "$ID"
		is "$backend: device audit: exit 0" "$RC" 0
		like "$backend: device audit: the table" "$OUT" "push +127\.0\.0\.1 +KOReader/v2026\.07\.2.* \(d1\)"
		run device audit ann "$ID" --json
		like "$backend: device audit --json" "$OUT" '^\{"id":"'"$ID"'","label":"Kobo","revoked":false,"audit":\[\{"time":'
		run device audit nobody "$ID"
		is "$backend: unknown user: exit 1" "$RC" 1
		like "$backend: unknown user: message" "$ERR" 'no such user'
		run device audit ann zzzz9999
		like "$backend: unknown id: message" "$ERR" 'no such device credential'
		run device audit ann 'BAD/ID'
		like "$backend: malformed id: message" "$ERR" 'invalid device credential id'
	fi
	if [ $backend = file ]; then
		STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -u "ann:$PW" --data-binary hi "$KS_URL/dav/n.txt")
		as "$KS_TMP/jar" "$A" GET "/api/v1/devices/$ID/audit"
		is "$backend: WebDAV in the audit" "$(printf '%s' "$BODY" | get 'd["audit"][0]["what"]')" webdav
	fi

	# The ring: the newest 20.
	for i in $(seq 1 22); do
		req PUT /syncs/progress '{"document":"r'$i'","progress":"p","percentage":0.5,"device":"Libra"}' $(auth ann "$KEY") -A "$UA"
	done
	as "$KS_TMP/jar" "$A" GET "/api/v1/devices/$ID/audit"
	is "$backend: the newest 20 kept" "$(printf '%s' "$BODY" | get 'len(d["audit"])')" 20
	is "$backend: newest first" "$(printf '%s' "$BODY" | get 'd["audit"][0]["document"]+" "+d["audit"][19]["document"]')" "r22 r3"

	# Bad input.
	as "$KS_TMP/jar" "$A" GET "/api/v1/devices/zzzz9999/audit"
	is "$backend: unknown id: 404" "$STATUS" 404
	like "$backend: 404 message" "$BODY" 'No such device credential'
	as "$KS_TMP/jar" "$A" GET "/api/v1/devices/BAD%2FID/audit"
	is "$backend: malformed id: 404" "$STATUS" 404
	as "$KS_TMP/jar-b" "$B" GET "/api/v1/devices/$ID/audit"
	is "$backend: another user's credential: 404" "$STATUS" 404
	web GET "/api/v1/devices/$ID/audit"
	is "$backend: no session: 401" "$STATUS" 401

	# Revoked: the audit stays readable.
	as "$KS_TMP/jar" "$A" DELETE "/api/v1/devices/$ID"
	as "$KS_TMP/jar" "$A" GET "/api/v1/devices/$ID/audit"
	like "$backend: revoked: still readable" "$STATUS $BODY" '^200 .*"revoked":true,"audit":\[\{'
	if [ $backend = file ]; then
		ks_stop
		ks_start --storage file --enable-webui || { not_ok "restarted"; done_testing; }
		signin ann alpha "$KS_TMP/jar"
		as "$KS_TMP/jar" "$CSRF" GET "/api/v1/devices/$ID/audit"
		is "$backend: restart: the audit is kept" "$(printf '%s' "$BODY" | get 'len(d["audit"])')" 20
	fi
	ks_stop
done

done_testing
