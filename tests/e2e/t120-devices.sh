#!/usr/bin/env bash
# t120-devices: device credentials (docs/devices.md) on the file storage,
# through the real binary and the administration commands (the memory
# storage has no control socket: t121 covers it through the web API).
#
# Covers: `device add` offline and online (a 16-letter password printed
# once); KOReader's requests with the device password (users/auth, push,
# pull, WebDAV PUT/GET with Basic); the web sign-in refuses it; the
# protocol's password change and deletion refuse it; last-used fields
# (time, address, User-Agent, device/device_id of the push) in
# `device list`; rename; revoke -> 401 at once (also a key verified and
# cached before); a password change of the account keeps device
# credentials; `user devices-only on` refuses the account password on the
# protocol and WebDAV but not on the web sign-in, off restores it; restart
# keeps everything (file), and a key refused in one mode just after a
# restart is not refused in another (the web sign-in, a sync); the bound of 50 live credentials; bad input
# (unknown user or id, bad label, on|off) exits 1 with a message.
. "$(dirname "$0")/lib.sh"

UA='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'

# add USER LABEL: `device add`, sets DEV_ID and DEV_PW.
add() {
	run device add "$1" "$2"
	DEV_ID=$(printf '%s\n' "$OUT" | sed -n 's/^kosyncd: device credential \([a-z0-9]*\) .*/\1/p')
	DEV_PW=$(printf '%s\n' "$OUT" | sed -n 's/^password: //p' | tr -d ' ')
}
dav() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -s -S -m 30 -X "$method" -D "$KS_TMP/dh" -o "$KS_TMP/db" \
	    -w '%{http_code}' "$@" "$KS_URL$path")
	BODY=$(cat "$KS_TMP/db")
}

for backend in file; do
	rm -rf "$KS_DIR"
	mkdir -p "$KS_DIR"
	if [ $backend = file ]; then
		# Offline: no server runs on the directory.
		pw 'acct pass'
		run user add ann --stdin
		add ann "Kobo Libra 2"
		is "$backend: offline device add: exit 0" "$RC" 0
		like "$backend: the password is 4 groups of 4 letters" "$OUT" 'password: [a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}'
		OFF_ID=$DEV_ID OFF_PW=$DEV_PW
	fi
	ks_start --storage $backend || { not_ok "server started"; done_testing; }
	if [ $backend = memory ]; then
		pw 'acct pass'
		run user add ann --stdin
		is "$backend: online user add" "$RC" 0
		add ann "Kobo Libra 2"
		OFF_ID=$DEV_ID OFF_PW=$DEV_PW
	fi
	ACCT=$(md5 'acct pass')
	KEY=$(md5 "$OFF_PW")
	req GET /users/auth "" $(auth ann "$KEY")
	is "$backend: the device password signs in" "$STATUS" 200
	req GET /users/auth "" $(auth ann "$ACCT")
	is "$backend: the account password too" "$STATUS" 200
	req GET /users/auth "" $(auth ann "$(md5 wrong)")
	is "$backend: a wrong one does not" "$STATUS" 401
	req PUT /syncs/progress '{"document":"d1","progress":"/p[3]","percentage":0.3,"device":"Kobo","device_id":"K1"}' $(auth ann "$KEY") -A "$UA"
	is "$backend: push with the device password" "$STATUS" 200
	req GET /syncs/progress/d1 "" $(auth ann "$ACCT")
	like "$backend: the account sees it" "$BODY" '"percentage":0.3'
	req GET /syncs/progress/d1 "" $(auth ann "$KEY") -A "$UA"
	like "$backend: pull with the device password" "$BODY" '"device":"Kobo"'
	run device list ann --json
	like "$backend: last used: agent" "$OUT" '"agent":"KOReader/v2026.07.2'
	like "$backend: last used: device" "$OUT" '"device":"Kobo","device_id":"K1"'
	like "$backend: last used: address" "$OUT" '"address":"127.0.0.1"'
	like "$backend: label" "$OUT" '"label":"Kobo Libra 2"'
	run device list ann
	like "$backend: table" "$OUT" "$OFF_ID +live"

	# The web interface's sign-in and the account's management.
	web POST /api/v1/login "{\"username\":\"ann\",\"password\":\"$OFF_PW\"}"
	is "$backend: the web sign-in refuses the device password" "$STATUS" 401
	req PUT /users/password "{\"password\":\"$(md5 x)\"}" $(auth ann "$KEY")
	check "$backend: the protocol's password change refuses it" [ "$STATUS" = 401 ]

	# WebDAV with Basic.
	if [ $backend = file ]; then
		dav PUT /dav/notes.txt -u "ann:$OFF_PW" --data-binary 'hello'
		check "$backend: WebDAV PUT with the device password ($STATUS)" [ "$STATUS" = 201 -o "$STATUS" = 204 ]
		dav GET /dav/notes.txt -u "ann:$OFF_PW"
		is "$backend: WebDAV GET" "$BODY" hello
		dav GET /dav/notes.txt -u "ann:nope"
		is "$backend: WebDAV wrong password" "$STATUS" 401
	fi

	# A second credential, rename, and the account's password change.
	add ann Boox
	SECOND=$DEV_ID KEY2=$(md5 "$DEV_PW")
	run device rename ann "$SECOND" "Boox Palma"
	is "$backend: rename" "$RC" 0
	run device list ann --json
	like "$backend: renamed" "$OUT" '"label":"Boox Palma"'
	pw 'new acct pass'
	run user passwd ann --stdin
	req GET /users/auth "" $(auth ann "$KEY")
	is "$backend: a password change keeps device credentials" "$STATUS" 200
	req GET /users/auth "" $(auth ann "$KEY2")
	is "$backend: the second one signs in" "$STATUS" 200
	ACCT=$(md5 'new acct pass')

	# Revocation: at once, even for a key verified and cached.
	run device revoke ann "$OFF_ID"
	is "$backend: revoke" "$RC" 0
	req GET /users/auth "" $(auth ann "$KEY")
	is "$backend: revoked: 401 at once" "$STATUS" 401
	req GET /syncs/progress/d1 "" $(auth ann "$KEY")
	is "$backend: revoked: no pull" "$STATUS" 401
	req GET /users/auth "" $(auth ann "$KEY2")
	is "$backend: the other credential still works" "$STATUS" 200
	run device revoke ann "$OFF_ID"
	is "$backend: revoke twice: exit 1" "$RC" 1
	like "$backend: revoke twice: message" "$ERR" 'no such device credential'

	# Devices only.
	run user devices-only ann on
	is "$backend: devices-only on" "$RC" 0
	req GET /users/auth "" $(auth ann "$ACCT")
	is "$backend: devices-only: the account password is refused" "$STATUS" 401
	req GET /users/auth "" $(auth ann "$KEY2")
	is "$backend: devices-only: the device password works" "$STATUS" 200
	if [ $backend = file ]; then
		dav GET /dav/notes.txt -u "ann:new acct pass"
		is "$backend: devices-only: WebDAV refuses the account password" "$STATUS" 401
	fi
	web POST /api/v1/login '{"username":"ann","password":"new acct pass"}'
	is "$backend: devices-only: the web sign-in takes the account password" "$STATUS" 200
	run device list ann --json
	like "$backend: devices_only shown" "$OUT" '"devices_only":true'

	if [ $backend = file ]; then
		ks_stop
		ks_start --storage file || { not_ok "restarted"; done_testing; }
		# Nothing verified yet: a key refused in one mode is not
		# remembered as refused for another.
		req GET /users/auth "" $(auth ann "$ACCT")
		is "$backend: restart: devices-only refuses the account password" "$STATUS" 401
		web POST /api/v1/login '{"username":"ann","password":"new acct pass"}'
		is "$backend: restart: ... which still signs in on the web" "$STATUS" 200
		req GET /users/auth "" $(auth ann "$KEY2")
		is "$backend: restart: the credential works" "$STATUS" 200
		req GET /users/auth "" $(auth ann "$ACCT")
		is "$backend: restart: devices-only kept" "$STATUS" 401
		req GET /users/auth "" $(auth ann "$KEY")
		is "$backend: restart: the revoked one stays revoked" "$STATUS" 401
		run device list ann --json
		like "$backend: restart: last use kept" "$OUT" '"device":"Kobo","device_id":"K1"'
		like "$backend: restart: label kept" "$OUT" '"label":"Boox Palma"'
		run compact
		ks_stop
		ks_start --storage file || { not_ok "restarted"; done_testing; }
		req PUT /users/password "{\"password\":\"$(md5 x)\"}" $(auth ann "$KEY2")
		is "$backend: restart: a password change with the device password: 401" "$STATUS" 401
		req GET /users/auth "" $(auth ann "$KEY2")
		is "$backend: after compaction and restart: the device password still syncs" "$STATUS" 200
	fi
	run user devices-only ann off
	req GET /users/auth "" $(auth ann "$ACCT")
	is "$backend: devices-only off: the account password works again" "$STATUS" 200

	# Bad input.
	run device add nobody Kobo
	is "$backend: unknown user: exit 1" "$RC" 1
	like "$backend: unknown user: message" "$ERR" 'no such user'
	run device add ann ''
	like "$backend: empty label" "$ERR" 'invalid label'
	run device add ann "$(printf 'a\tb')"
	like "$backend: control character in label" "$ERR" 'invalid label'
	run device rename ann zzzz9999 X
	like "$backend: unknown id" "$ERR" 'no such device credential'
	run device revoke ann 'BAD/ID'
	like "$backend: malformed id" "$ERR" 'invalid device credential id'
	run user devices-only ann maybe
	is "$backend: on|off: exit 1" "$RC" 1

	# The bound: 50 live credentials (one is live: add 49 more).
	n=0
	for i in $(seq 1 49); do
		run device add ann "d$i"
		[ "$RC" = 0 ] && n=$((n + 1))
	done
	is "$backend: up to 50 live credentials" "$n" 49
	run device add ann one-too-many
	is "$backend: the 51st: exit 1" "$RC" 1
	like "$backend: the 51st: message" "$ERR" 'most device credentials'
	run device revoke ann "$SECOND"
	run device add ann "room again"
	is "$backend: a revocation makes room" "$RC" 0
	ks_stop
done

done_testing
