#!/usr/bin/env bash
# t094-webui-admin-cli: `kosyncd user add --admin` and `kosyncd user admin`
# make administrators of the web interface.
#
# Covers: offline, --admin flags the account ("admin": true in its record
# in database.json; the option admins stays untouched), the server then
# lets that user sign in and use the admin API while a plain user gets
# 403; through the running server's control socket, a second --admin user
# is an administrator at once (no restart), and so is one made with `user
# admin NAME on` (`off` takes it back); `user list --json` says "admin":
# true for them only; still so after a restart; --admin of an existing
# name is refused (nothing changes); the flags are journaled (kill -9,
# then a restart, keeps them).
. "$(dirname "$0")/lib.sh"

# signin USER PASSWORD JAR: sets CSRF.
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}

# --- Offline.
mkdir -p "$KS_DIR"
pw 'boss pass'
run user add boss --admin --stdin
is "offline add --admin: exit 0" "$RC" 0
is "offline add --admin: says so" "$OUT" "kosyncd: user 'boss' added (an administrator of the web interface)"
pw 'plain pass'
run user add pat --stdin
is "plain add: exit 0" "$RC:$OUT" "0:kosyncd: user 'pat' added"
like "database.json flags boss" "$(tr -d ' \n' <"$KS_DIR/database.json")" '"boss":\{"username":"boss","password":"[^"]*","admin":true'
run config show
like "config show: admins is empty" "$OUT" 'admins +(""|-|\(empty\))? *'

ks_start || { not_ok "server started"; done_testing; }
signin boss 'boss pass' "$KS_TMP/jar-boss"
like "boss signs in as an administrator" "$BODY" '"admin":true'
web GET /api/v1/admin/users "" -b "$KS_TMP/jar-boss"
is "boss sees the admin API" "$STATUS" 200
like "the user list names pat" "$BODY" '"username":"pat"'
signin pat 'plain pass' "$KS_TMP/jar-pat"
like "pat is no administrator" "$BODY" '"admin":false'
web GET /api/v1/admin/users "" -b "$KS_TMP/jar-pat"
is "pat: the admin API is 403" "$STATUS $BODY" '403 {"code":403,"message":"Administrators only."}'

# --- Through the running server.
pw 'chief pass'
run user add chief --admin --stdin
is "online add --admin: exit 0" "$RC" 0
check "it went through the control socket" [ -S "$KS_DIR/kosyncd.sock" ]
signin chief 'chief pass' "$KS_TMP/jar-chief"
like "chief is an administrator at once" "$BODY" '"admin":true'
run user admin pat on
is "user admin pat on: exit 0" "$RC:$OUT" "0:kosyncd: user 'pat' is now an administrator of the web interface"
web GET /api/v1/admin/users "" -b "$KS_TMP/jar-pat"
is "pat's session reaches the admin API at once" "$STATUS" 200
run user list --json
is "user list --json: the flags" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([(u["username"], u.get("admin", False)) for u in json.load(sys.stdin)])')" \
    "[('boss', True), ('chief', True), ('pat', True)]"
run user admin pat off
is "user admin pat off: exit 0" "$RC:$OUT" "0:kosyncd: user 'pat' is no longer an administrator of the web interface"
web GET /api/v1/admin/users "" -b "$KS_TMP/jar-pat"
is "pat: 403 again at once" "$STATUS" 403
pw 'x'
run user add chief --admin --stdin
is "add --admin of an existing name: exit 1" "$RC" 1
like "add --admin of an existing name: message" "$ERR" "kosyncd: a user of that name exists"
ks_kill9

ks_start || { not_ok "server restarted"; done_testing; }
signin chief 'chief pass' "$KS_TMP/jar-chief"
like "after kill -9 chief is still an administrator" "$BODY" '"admin":true'
signin boss 'boss pass' "$KS_TMP/jar-boss"
like "and boss too" "$BODY" '"admin":true'
signin pat 'plain pass' "$KS_TMP/jar-pat"
like "and pat is not" "$BODY" '"admin":false'
ks_stop

done_testing
