#!/usr/bin/env bash
# t125-redis-devices: device credentials (docs/devices.md) on the Redis
# storage, with two instances on one Redis (docs/redis.md).
#
# Covers: `device add` through instance A's control socket; the device
# password signs in, pushes and pulls on both instances (with
# redis_hash_keys and without: the account key's cache is not the
# credentials'); the layout (kosyncd:user:<name>:credentials, an argon2id
# PHC string, never the password); the web sign-in refuses it; last use
# (address, User-Agent, device/device_id) in `device list` through B;
# rename; revoke through A -> 401 at once on B (for a key B verified and
# cached, for auth, pull and push); the audit holds what both instances
# saw, through the commands and the web API; a password change keeps the
# credentials; devices-only on refuses the account key on both (auth,
# pull, push), not the web sign-in, off restores it; a restart of both
# keeps everything; the account's deletion removes the credentials; the
# bound of 50 live ones; bad input (unknown user or id, revoked twice).
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
UA='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
ks_redis_start || { not_ok "redis started"; done_testing; }
KS_RUN_ARGS=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")

# add USER LABEL: `device add` through A, sets DEV_ID and DEV_PW.
add() {
	KS_DIR=$KS_TMP/inst-a run device add "$1" "$2"
	DEV_ID=$(printf '%s\n' "$OUT" | sed -n 's/^kosyncd: device credential \([a-z0-9]*\) .*/\1/p')
	DEV_PW=$(printf '%s\n' "$OUT" | sed -n 's/^password: //p' | tr -d ' ')
}
# on_run A|B ARGS...: a command through that instance's control socket.
on_run() {
	local d=$KS_TMP/inst-a
	[ "$1" = B ] && d=$KS_TMP/inst-b
	shift
	KS_DIR=$d run "$@"
}
webon() { use "$1"; shift; web "$@"; }

for mode in verbatim hashed; do
	ks_redis_cli FLUSHDB >/dev/null
	args=()
	[ $mode = hashed ] && args=(--redis-hash-keys)
	start_two "${args[@]}" || { not_ok "$mode: servers started"; done_testing; }
	ACCT=$(md5 'acct pass')
	on A POST /users/create '{"username":"ann","password":"'"$ACCT"'"}'
	is "$mode: register" "$STATUS" 201
	add ann "Kobo Libra 2"
	is "$mode: device add through A: exit 0" "$RC" 0
	like "$mode: the password is 4 groups of 4 letters" "$OUT" 'password: [a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}'
	ID1=$DEV_ID PW1=$DEV_PW KEY=$(md5 "$DEV_PW")
	rec=$(ks_redis_cli HGET kosyncd:user:ann:credentials "$ID1")
	like "$mode: stored as argon2id under the user" "$rec" '"label":"Kobo Libra 2".*"key":"\$argon2id\$'
	case $rec in
	*"$PW1"* | *"$KEY"*) not_ok "$mode: neither the password nor its md5 is stored" ;;
	*) ok "$mode: neither the password nor its md5 is stored" ;;
	esac

	on B GET /users/auth "" $(auth ann "$KEY")
	is "$mode: the device password signs in on B" "$STATUS" 200
	on A GET /users/auth "" $(auth ann "$ACCT")
	is "$mode: the account password too (A)" "$STATUS" 200
	on B GET /users/auth "" $(auth ann "$(md5 wrong)")
	is "$mode: a wrong one does not" "$STATUS" 401
	on A PUT /syncs/progress '{"document":"d1","progress":"/p[3]","percentage":0.3,"device":"Kobo","device_id":"K1"}' $(auth ann "$KEY") -A "$UA"
	is "$mode: push with the device password through A" "$STATUS" 200
	on B GET /syncs/progress/d1 "" $(auth ann "$KEY") -A "$UA"
	like "$mode: pull with it through B" "$STATUS $BODY" '^200 .*"progress":"/p\[3\]"'
	on B PUT /syncs/progress '{"document":"d1","progress":"/p[4]","percentage":0.4,"device":"Kobo","device_id":"K1"}' $(auth ann "$KEY") -A "$UA"
	is "$mode: push through B (cached on B now)" "$STATUS" 200
	on A GET /syncs/progress/d1 "" $(auth ann "$ACCT")
	like "$mode: the account sees it" "$BODY" '"percentage":0.4'
	on_run B device list ann --json
	like "$mode: last used: agent" "$OUT" '"agent":"KOReader/v2026.07.2'
	like "$mode: last used: device" "$OUT" '"device":"Kobo","device_id":"K1"'
	like "$mode: last used: address" "$OUT" '"address":"127.0.0.1"'
	like "$mode: last used: a time" "$OUT" '"used":[1-9][0-9]+'
	on_run B device list ann
	like "$mode: the table" "$OUT" "$ID1 +live"
	on_run A device audit ann "$ID1" --json
	is "$mode: the audit through A holds what both instances saw" \
	    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(",".join(e["what"] + ":" + e.get("document", "-") for e in json.load(sys.stdin)["audit"]))')" \
	    "push:d1,pull:d1,push:d1,auth:-"
	webon A POST /api/v1/login '{"username":"ann","password":"acct pass"}' -c "$KS_TMP/jar"
	webon B GET "/api/v1/devices/$ID1/audit" "" -b "$KS_TMP/jar"
	like "$mode: the web API through B (a session made on A)" "$STATUS $BODY" '^200 \{"id":"'"$ID1"'","label":"Kobo Libra 2","revoked":false,"audit":\[\{"time":'

	webon B POST /api/v1/login "{\"username\":\"ann\",\"password\":\"$PW1\"}"
	is "$mode: the web sign-in refuses the device password" "$STATUS" 401
	webon B POST /api/v1/login '{"username":"ann","password":"acct pass"}'
	is "$mode: ... and takes the account password" "$STATUS" 200
	on B PUT /users/password "{\"password\":\"$(md5 x)\"}" $(auth ann "$KEY")
	is "$mode: the protocol's password change refuses it" "$STATUS" 401

	# A second one, renamed; the account's password change keeps both.
	add ann Boox
	ID2=$DEV_ID KEY2=$(md5 "$DEV_PW")
	on_run B device rename ann "$ID2" "Boox Palma"
	is "$mode: rename through B" "$RC" 0
	on_run A device list ann --json
	like "$mode: renamed" "$OUT" '"label":"Boox Palma"'
	on A PUT /users/password "{\"password\":\"$(md5 'new pass')\"}" $(auth ann "$ACCT")
	is "$mode: password change" "$STATUS" 200
	ACCT=$(md5 'new pass')
	on B GET /users/auth "" $(auth ann "$KEY")
	is "$mode: a password change keeps device credentials" "$STATUS" 200
	on A GET /users/auth "" $(auth ann "$KEY2")
	is "$mode: the second one signs in" "$STATUS" 200

	# Revocation through A, at once on B (which has KEY cached).
	on_run A device revoke ann "$ID1"
	is "$mode: revoke through A" "$RC" 0
	on B GET /users/auth "" $(auth ann "$KEY")
	is "$mode: revoked: 401 at once on B" "$STATUS" 401
	on B GET /syncs/progress/d1 "" $(auth ann "$KEY")
	is "$mode: revoked: no pull on B" "$STATUS" 401
	on B PUT /syncs/progress '{"document":"d1","progress":"late","percentage":0.9,"device":"Kobo"}' $(auth ann "$KEY")
	is "$mode: revoked: no push on B" "$STATUS" 401
	on A GET /syncs/progress/d1 "" $(auth ann "$ACCT")
	like "$mode: ... which changed nothing" "$BODY" '"percentage":0.4'
	on B GET /users/auth "" $(auth ann "$KEY2")
	is "$mode: the other credential still works" "$STATUS" 200
	on_run B device revoke ann "$ID1"
	is "$mode: revoke twice: exit 1" "$RC" 1
	like "$mode: revoke twice: message" "$ERR" 'no such device credential'
	on_run B device list ann --json
	like "$mode: listed as revoked" "$OUT" "\"id\":\"$ID1\"[^}]*\"revoked\":true"

	# Devices only, through B; A refuses the account key at once.
	on_run B user devices-only ann on
	is "$mode: devices-only on" "$RC" 0
	on A GET /users/auth "" $(auth ann "$ACCT")
	is "$mode: devices-only: auth refuses the account password" "$STATUS" 401
	on A GET /syncs/progress/d1 "" $(auth ann "$ACCT")
	is "$mode: devices-only: pull too" "$STATUS" 401
	on A PUT /syncs/progress '{"document":"d1","progress":"acct","percentage":0.5,"device":"Phone"}' $(auth ann "$ACCT")
	is "$mode: devices-only: push too" "$STATUS" 401
	on A PUT /syncs/progress '{"document":"d1","progress":"dev2","percentage":0.6,"device":"Boox"}' $(auth ann "$KEY2")
	is "$mode: devices-only: the device password pushes" "$STATUS" 200
	webon A POST /api/v1/login '{"username":"ann","password":"new pass"}'
	is "$mode: devices-only: the web sign-in takes the account password" "$STATUS" 200
	on_run A device list ann --json
	like "$mode: devices_only shown" "$OUT" '"devices_only":true'

	# A restart of both keeps everything.
	stop_two
	start_two "${args[@]}" || { not_ok "$mode: restarted"; done_testing; }
	on A GET /users/auth "" $(auth ann "$ACCT")
	is "$mode: restart: devices-only kept" "$STATUS" 401
	on B GET /users/auth "" $(auth ann "$KEY2")
	is "$mode: restart: the credential works" "$STATUS" 200
	on B GET /users/auth "" $(auth ann "$KEY")
	is "$mode: restart: the revoked one stays revoked" "$STATUS" 401
	on_run B user devices-only ann off
	on B GET /users/auth "" $(auth ann "$ACCT")
	is "$mode: devices-only off: the account password works again" "$STATUS" 200

	# Bad input.
	on_run A device add nobody Kobo
	is "$mode: unknown user: exit 1" "$RC" 1
	like "$mode: unknown user: message" "$ERR" 'no such user'
	on_run A device rename ann zzzz9999 X
	like "$mode: unknown id" "$ERR" 'no such device credential'
	on_run A device rename ann "$ID1" X
	like "$mode: a revoked one cannot be renamed" "$ERR" 'no such device credential'

	if [ $mode = verbatim ]; then
		# The bound: 50 live credentials (one is live: add 49 more).
		n=0
		for i in $(seq 1 49); do
			add ann "d$i"
			[ "$RC" = 0 ] && n=$((n + 1))
		done
		is "$mode: up to 50 live credentials" "$n" 49
		add ann one-too-many
		is "$mode: the 51st: exit 1" "$RC" 1
		like "$mode: the 51st: message" "$ERR" 'most device credentials'
		on_run A device revoke ann "$ID2"
		add ann "room again"
		is "$mode: a revocation makes room" "$RC" 0
		is "$mode: the oldest revoked one made room in the hash" \
		    "$(ks_redis_cli HEXISTS kosyncd:user:ann:credentials "$ID1")" 0
	fi

	# Deleting the account takes its credentials along.
	on B DELETE /users/me "" $(auth ann "$ACCT")
	is "$mode: delete" "$STATUS" 200
	is "$mode: nothing of the account is left" "$(ks_redis_cli --scan --pattern '*ann*' | wc -l)" 0
	stop_two
done

done_testing
