#!/usr/bin/env bash
# t094-webui-admin-cli: `kosyncd user add --admin` makes an administrator of
# the web interface.
#
# Covers: offline, --admin adds the name to the option admins in
# database.json's "config" (journal record + snapshot), the server then
# started with no admins flag lets that user sign in and use the admin API
# while a plain user gets 403; through the running server's control socket,
# a second --admin user is an administrator at once (no restart) and is
# appended to the list, still there after a restart; `config show` says
# admins comes from the file; with admins set on the command line the
# request is refused (exit 1, nothing created).
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
like "database.json names boss in admins" "$(cat "$KS_DIR/database.json")" '"admins": *"boss"'
run config show
like "config show: admins from the file" "$OUT" 'admins.*boss.*database\.json|admins.*boss.*file'

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
web GET /api/v1/admin/settings "" -b "$KS_TMP/jar-chief"
is "chief: settings" "$STATUS" 200
like "admins lists both" "$BODY" '"admins":"boss,chief"'
pw 'x'
run user add chief --admin --stdin
is "add --admin of an existing name: exit 1" "$RC" 1
like "add --admin of an existing name: message" "$ERR" "kosyncd: a user of that name exists"
ks_stop

ks_start || { not_ok "server restarted"; done_testing; }
signin chief 'chief pass' "$KS_TMP/jar-chief"
like "after a restart chief is still an administrator" "$BODY" '"admin":true'
signin boss 'boss pass' "$KS_TMP/jar-boss"
like "and boss too" "$BODY" '"admin":true'
ks_stop

# --- admins set by a flag: refused, nothing created.
ks_start --admins boss || { not_ok "server started with --admins"; done_testing; }
pw 'x'
run user add dee --admin --stdin
is "admins from a flag: exit 1" "$RC" 1
like "admins from a flag: message" "$ERR" "admins is set on the command line or in the environment"
web POST /api/v1/login '{"username":"dee","password":"x"}'
is "nothing created" "$STATUS" 401
ks_stop

done_testing
