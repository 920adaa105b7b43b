#!/usr/bin/env bash
# t097-webui-admin-flag: administrators are a flag on the account, never a
# name in a list (issue 12, item 6).
#
# Covers: `user add --admin "Bob Smith"` flags that account only: Bob and
# Smith registering afterwards are no administrators (session, admin API
# 403); `user admin NAME on|off` through the running server changes the
# flag at once, survives a restart, and is refused for a name with no
# account; `user list` marks administrators; an account deleted and
# registered again is no administrator; an old data directory whose
# database.json has "admins": "Bob Smith, alice ,ghost" loads: exact
# entries that name an existing account are flagged (Bob Smith, alice; not
# Bob), ghost is reported and, registered later, is no administrator; the
# option is emptied in database.json (a backup of the old file is kept);
# --admins on the command line is ignored with a warning; the same on
# Redis (kosyncd:user:<name>:admin, kosyncd:config's admins carried over
# and removed).
. "$(dirname "$0")/lib.sh"

PW=$(md5 pw)
# signin USER: a web sign-in (password pw); sets BODY, STATUS, jar $KS_TMP/j-USER.
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"pw\"}" \
	    -c "$KS_TMP/j-$1"
}
# admin_api USER: the status of GET /api/v1/admin/users as USER.
admin_api() {
	web GET /api/v1/admin/users "" -b "$KS_TMP/j-$1"
	echo "$STATUS"
}
register() {
	req POST /users/create "{\"username\":\"$1\",\"password\":\"$PW\"}"
}
is_admin() { # USER: "true" or "false" from the sign-in answer
	signin "$1"
	printf '%s' "$BODY" | sed -n 's/.*"admin":\([a-z]*\).*/\1/p'
}

# --- One backend at a time (file, then Redis).
suite() {
	local backend=$1
	pw pw
	run user add "Bob Smith" --admin --stdin
	is "$backend: user add --admin 'Bob Smith'" "$RC:$OUT" \
	    "0:kosyncd: user 'Bob Smith' added (an administrator of the web interface)"
	ks_start "${ARGS[@]}" || { not_ok "$backend: server started"; return; }
	register Bob
	is "$backend: Bob registers" "$STATUS" 201
	register Smith
	is "$backend: Smith registers" "$STATUS" 201
	is "$backend: Bob is no administrator" "$(is_admin Bob)" false
	is "$backend: Bob: the admin API is 403" "$(admin_api Bob)" 403
	is "$backend: Smith is no administrator" "$(is_admin Smith)" false
	is "$backend: 'Bob Smith' is" "$(is_admin 'Bob Smith')" true
	web GET /api/v1/admin/users "" -b "$KS_TMP/j-Bob Smith"
	is "$backend: 'Bob Smith': the admin API" "$STATUS" 200
	like "$backend: the admin list says who is" "$BODY" '"username":"Bob Smith","documents":0,"last_sync":0,"devices":\[\],"bytes":0,"history":0,"admin":true'

	run user admin Bob on
	is "$backend: user admin Bob on" "$RC:$OUT" "0:kosyncd: user 'Bob' is now an administrator of the web interface"
	is "$backend: Bob is an administrator at once" "$(admin_api Bob)" 200
	run user list
	like "$backend: user list marks administrators" "$OUT" $'\n\\*Bob +0'
	run user admin Bob off
	is "$backend: user admin Bob off" "$RC" 0
	is "$backend: Bob no longer is, at once" "$(admin_api Bob)" 403
	run user admin ghost on
	is "$backend: user admin of a name with no account" "$RC:$(printf "%s\n" "$ERR" | grep -v " info: ")" "1:kosyncd: no such user"
	run user admin Bob maybe
	is "$backend: on or off only" "$RC:$ERR" "1:kosyncd: say on or off, not 'maybe'"
	register ghost
	is "$backend: ghost registered afterwards is no administrator" "$(is_admin ghost):$(admin_api ghost)" false:403

	# Deleted and registered again: the flag went with the account.
	run user admin Smith on
	run user del Smith
	register Smith
	is "$backend: Smith deleted and registered again is no administrator" "$(is_admin Smith)" false
	ks_stop
	ks_start "${ARGS[@]}" || { not_ok "$backend: server restarted"; return; }
	is "$backend: after a restart 'Bob Smith' still is" "$(is_admin 'Bob Smith')" true
	is "$backend: and Bob still is not" "$(is_admin Bob)" false
	ks_stop
}

ARGS=(--storage file --register-per-ip 0)
KS_RUN_ARGS=()
mkdir -p "$KS_DIR"
suite file

# --- An old data directory with the option admins.
KS_DIR=$KS_TMP/old
mkdir -p "$KS_DIR"
python3 - "$KS_DIR/database.json" "$PW" <<'PY'
import json, sys
users = {u: {"username": u, "password": sys.argv[2], "documents": {}}
         for u in ["Bob Smith", "alice", "Bob"]}
json.dump({"schema": 7, "config": {"admins": "Bob Smith, alice ,ghost"},
           "users": users}, open(sys.argv[1], "w"))
PY
ks_allow_stderr "admins: 'ghost' names no account"
ks_start --storage file --register-per-ip 0 || exit 1
like "old admins: ghost is reported" "$(cat "$KS_ERR.new")" "warning: admins: 'ghost' names no account"
is "old admins: 'Bob Smith' is an administrator" "$(is_admin 'Bob Smith')" true
is "old admins: alice (blanks around the entry) too" "$(is_admin alice)" true
is "old admins: Bob is not (a name is never split)" "$(is_admin Bob)" false
register ghost
is "old admins: ghost registered now is not" "$(is_admin ghost)" false
ks_stop
like "the option is emptied in database.json" "$(cat "$KS_DIR/database.json")" '"admins": ""'
like "the flag is in the user record" "$(tr -d ' \n' <"$KS_DIR/database.json")" '"BobSmith":\{"username":"BobSmith","password":"[^"]*","admin":true'
check "a backup of the old file is kept" compgen -G "$KS_DIR/database_7_*.bak"
ks_start --storage file || exit 1
is "after a restart ghost still is not" "$(is_admin ghost)" false
ks_stop

# --- --admins on the command line is ignored.
ks_allow_stderr "the option admins is retired and ignored"
ks_start --storage file --admins ghost,Bob || exit 1
like "--admins: a warning" "$(cat "$KS_ERR.new")" "warning: the option admins is retired and ignored"
is "--admins ghost: not an administrator" "$(is_admin ghost)" false
ks_stop

# --- The file's admins is carried over even when a flag overrides it (it
# must not wait for a start without the flag, when more names may exist).
KS_DIR=$KS_TMP/old2
mkdir -p "$KS_DIR"
python3 - "$KS_DIR/database.json" "$PW" <<'PY'
import json, sys
json.dump({"schema": 7, "config": {"admins": "carl,zoe"},
           "users": {"carl": {"username": "carl", "password": sys.argv[2],
                              "documents": {}}}}, open(sys.argv[1], "w"))
PY
ks_allow_stderr "admins: 'zoe' names no account"
ks_start --storage file --register-per-ip 0 --admins zoe || exit 1
is "file admins under a flag: carl is an administrator" "$(is_admin carl)" true
register zoe
is "zoe (listed in both, no account then) is not" "$(is_admin zoe)" false
ks_stop
like "the file's admins is emptied" "$(cat "$KS_DIR/database.json")" '"admins": ""'

# --- Redis.
if command -v redis-server >/dev/null; then
	ks_redis_start || { not_ok "redis started"; done_testing; }
	ks_redis_cli FLUSHDB >/dev/null
	KS_DIR=$KS_TMP/redis-data
	mkdir -p "$KS_DIR"
	ARGS=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB" --register-per-ip 0)
	KS_RUN_ARGS=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
	suite redis
	is "redis: the flag's key" "$(ks_redis_cli GET 'kosyncd:user:Bob Smith:admin')" 1
	is "redis: none for Bob" "$(ks_redis_cli EXISTS 'kosyncd:user:Bob:admin')" 0
	# kosyncd:config's admins from an older kosyncd: carried over once.
	ks_redis_cli HSET kosyncd:config admins 'Bob, nobody' >/dev/null
	ks_allow_stderr "admins: 'nobody' names no account"
	ks_start "${ARGS[@]}" || exit 1
	for i in $(seq 1 50); do
		[ "$(ks_redis_cli HEXISTS kosyncd:config admins)" = 0 ] && break
		sleep 0.1
	done
	is "redis: admins removed from kosyncd:config" "$(ks_redis_cli HEXISTS kosyncd:config admins)" 0
	is "redis: Bob, listed and existing, is an administrator now" "$(is_admin Bob)" true
	register nobody
	is "redis: nobody registered now is not" "$(is_admin nobody)" false
	ks_stop
fi
done_testing
