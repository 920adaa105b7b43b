#!/usr/bin/env bash
# t134-device-names: the devices page's rename and forget (docs/api.md,
# /api/v1/device-names) through the real binary, on the memory, file and
# Redis storages.
#
# Covers: no names at first; a rename (by device_id, and by device name
# for a device that sends no device_id) is listed; an empty name gives the
# device its own back (the entry goes); forget marks the time, keeps the
# name, and a later push from the device is newer than it (what brings it
# back on the page); restart keeps names and forget marks (file: the
# journal after kill -9, then database.json after a clean stop; Redis: the
# hash kosyncd:user:<name>:devnames); file: `kosyncd export` and `import
# kosync` into an empty data directory carry them; Redis: `import redis`
# into a file store and `export redis` back carry them; account deletion removes them (a new
# account of the name has none; Redis: the hash is gone); bad input (a
# name too long, with a control character, not a string, a body without
# it, a key too long) is 400 with a JSON message and changes nothing; the
# 101st device is refused (400); no CSRF token: 403; signed out: 401.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*accessible to others'
KEY=$(md5 alpha)
signin() {
	web POST /api/v1/login "{\"username\":\"ann\",\"password\":\"alpha\"}" -c "$KS_TMP/jar"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() {
	local m=$1 p=$2
	shift 2
	web "$m" "$p" "${1-}" -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"
}
# names: the list as "device=name@forgotten?" words, sorted.
names() {
	as GET /api/v1/device-names
	printf '%s' "$BODY" | json '" ".join(sorted("%s=%s@%s" % (e["device"], e["name"], "F" if e["forgotten"] else "-") for e in d["device_names"]))'
}
# pushd DEVICE DEVICE_ID PERCENT: a push from that device.
pushd() {
	req PUT /syncs/progress "{\"document\":\"d0c\",\"progress\":\"/p\",\"percentage\":$3,\"device\":\"$1\",\"device_id\":\"$2\"}" $(auth ann "$KEY")
}
fresh() {
	ks_start --storage $backend --enable-webui "${REDIS_ARGS[@]}" || { not_ok "$backend: restarted"; done_testing; }
	signin
}

for backend in $(ks_backends); do
	rm -rf "$KS_DIR"
	ks_start_backend $backend --enable-webui || { not_ok "server started"; done_testing; }
	REDIS_ARGS=()
	[ $backend = redis ] && REDIS_ARGS=(--redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
	register ann "$KEY"
	signin
	pushd "Kobo Libra" abc123 10
	pushd "Old Kindle" "" 20

	is "$backend: no names at first" "$(names)" ""
	as PUT /api/v1/device-names/abc123 '{"name":"Bedside Kobo"}'
	is "$backend: rename: 200" "$STATUS" 200
	is "$backend: rename: answered" "$BODY" '{"device":"abc123"}'
	as PUT "/api/v1/device-names/Old%20Kindle" '{"name":"Ünterwegs"}'
	is "$backend: rename by device name: 200" "$STATUS" 200
	is "$backend: both listed" "$(names)" "Old Kindle=Ünterwegs@- abc123=Bedside Kobo@-"

	as POST /api/v1/device-names/abc123/forget
	is "$backend: forget: 200" "$STATUS" 200
	as GET /api/v1/device-names
	FORGOT=$(printf '%s' "$BODY" | json '[e["forgotten"] for e in d["device_names"] if e["device"] == "abc123"][0]')
	is "$backend: forget keeps the name, marks it" "$(names)" "Old Kindle=Ünterwegs@- abc123=Bedside Kobo@F"
	as POST /api/v1/device-names/never-seen/forget
	is "$backend: forget a device never named: 200" "$STATUS" 200
	as PUT /api/v1/device-names/never-seen '{"name":""}'
	is "$backend: forgotten, its own name: still listed (forgotten)" "$(names)" "Old Kindle=Ünterwegs@- abc123=Bedside Kobo@F never-seen=@F"
	sleep 1
	pushd "Kobo Libra" abc123 30
	as GET /api/v1/documents/d0c
	SEEN=$(printf '%s' "$BODY" | json 'd["timestamp"]')
	check "$backend: a later push is newer than the forget (shows it again)" test "$SEEN" -gt "$FORGOT"

	# Bad input changes nothing.
	BEFORE=$(names)
	as PUT /api/v1/device-names/abc123 "{\"name\":\"$(printf 'x%.0s' $(seq 65))\"}"
	is "$backend: a name of 65 bytes: 400" "$STATUS" 400
	like "$backend: a name of 65 bytes: a JSON message" "$BODY" '"message":"name is 0 to 64 bytes'
	as PUT /api/v1/device-names/abc123 '{"name":"a\u0007b"}'
	is "$backend: a control character: 400" "$STATUS" 400
	as PUT /api/v1/device-names/abc123 '{"name":5}'
	is "$backend: a name not a string: 400" "$STATUS" 400
	as PUT /api/v1/device-names/abc123 '{}'
	is "$backend: no name: 400" "$STATUS" 400
	as PUT "/api/v1/device-names/$(printf 'k%.0s' $(seq 129))" '{"name":"x"}'
	is "$backend: a key of 129 bytes: 400" "$STATUS" 400
	like "$backend: a key of 129 bytes: a JSON message" "$BODY" '"message":.*1 to 128 bytes'
	as PUT /api/v1/device-names/a%01b '{"name":"x"}'
	is "$backend: a key with a control character: 400" "$STATUS" 400
	web PUT /api/v1/device-names/abc123 '{"name":"x"}' -b "$KS_TMP/jar"
	is "$backend: no CSRF token: 403" "$STATUS" 403
	web GET /api/v1/device-names
	is "$backend: signed out: 401" "$STATUS" 401
	is "$backend: nothing changed by bad input" "$(names)" "$BEFORE"

	# An empty name gives the device its own name back.
	as PUT "/api/v1/device-names/Old%20Kindle" '{"name":""}'
	is "$backend: empty name: 200" "$STATUS" 200
	is "$backend: empty name: the entry goes" "$(names)" "abc123=Bedside Kobo@F never-seen=@F"

	if [ $backend = memory ]; then
		# The bound: 100 devices.
		for i in $(seq 3 100); do as PUT /api/v1/device-names/dev$i '{"name":"n"}'; done
		is "$backend: the 100th device: 200" "$STATUS" 200
		as PUT /api/v1/device-names/dev101 '{"name":"n"}'
		is "$backend: the 101st device: 400" "$STATUS" 400
		like "$backend: the 101st device: says why" "$BODY" '100 devices'
		as PUT /api/v1/device-names/abc123 '{"name":"Renamed"}'
		is "$backend: a named one can still be renamed" "$STATUS" 200
		ks_stop
		continue
	fi
	if [ $backend = file ]; then
		ks_kill9
		fresh
		is "file: the journal's replay keeps them" "$(names)" "abc123=Bedside Kobo@F never-seen=@F"
		ks_stop
		fresh
		is "file: database.json keeps them" "$(names)" "abc123=Bedside Kobo@F never-seen=@F"
		grep -q '"device_names"' "$KS_DIR/database.json"
		is "file: database.json has device_names" "$?" 0
		grep -q '"devices_forgotten"' "$KS_DIR/database.json"
		is "file: database.json has devices_forgotten" "$?" 0
		# export, then import kosync into an empty data directory.
		ks_stop
		run export "$KS_TMP/export.json"
		is "file: export: exit 0" "$RC" 0
		SRC_DIR=$KS_DIR
		KS_DIR=$KS_TMP/imported
		mkdir -p "$KS_DIR"
		run import kosync "$KS_TMP/export.json"
		is "file: import kosync: exit 0" "$RC" 0
		fresh
		is "file: import kosync carries them" "$(names)" "abc123=Bedside Kobo@F never-seen=@F"
		ks_stop
		KS_DIR=$SRC_DIR
		fresh
	else
		ks_stop
		fresh
		is "redis: restart keeps them" "$(names)" "abc123=Bedside Kobo@F never-seen=@F"
		like "redis: the hash" "$(ks_redis_cli HGET kosyncd:user:ann:devnames abc123)" '^[0-9]+ Bedside Kobo$'
		# Redis -> a file store (import redis), then back (export redis).
		ks_stop
		SRC_DIR=$KS_DIR
		KS_DIR=$KS_TMP/from-redis
		mkdir -p "$KS_DIR"
		"$KOSYNCD" import redis --data-dir "$KS_DIR" "${REDIS_ARGS[@]}" >/dev/null 2>"$KS_TMP/err"
		is "redis: import redis: exit 0" "$?" 0
		ks_start --storage file --enable-webui || { not_ok "file from redis started"; done_testing; }
		signin
		is "redis: import redis carries them" "$(names)" "abc123=Bedside Kobo@F never-seen=@F"
		ks_stop
		ks_redis_cli FLUSHDB >/dev/null
		"$KOSYNCD" export redis --data-dir "$KS_DIR" "${REDIS_ARGS[@]}" >/dev/null 2>"$KS_TMP/err"
		is "redis: export redis: exit 0" "$?" 0
		KS_DIR=$SRC_DIR
		fresh
		is "redis: export redis carries them" "$(names)" "abc123=Bedside Kobo@F never-seen=@F"
	fi

	# Account deletion removes them.
	as DELETE /api/v1/account '{"password":"alpha"}'
	is "$backend: account deleted" "$STATUS" 200
	web GET /api/v1/device-names "" -b "$KS_TMP/jar"
	is "$backend: the old session is refused" "$STATUS" 401
	sleep 1
	register ann "$KEY"
	signin
	is "$backend: a new account of the name has no names" "$(names)" ""
	if [ $backend = redis ]; then
		is "redis: the hash is gone" "$(ks_redis_cli EXISTS kosyncd:user:ann:devnames)" 0
	fi
	ks_stop
done
done_testing
