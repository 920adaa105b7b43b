#!/usr/bin/env bash
# t052-config-server: the server applies configuration from each source.
# database.json "config" {"disable_registration": true} answers POST
# /users/create with 402/2005; the environment overrides the file and a
# flag overrides the environment; values from the environment and flags
# are not written into database.json while the file's own values are kept;
# a bad or unknown value in database.json stops start-up with exit 1 and a
# message naming the option, the value and database.json.
. "$(dirname "$0")/lib.sh"

REG='{"username":"alice","password":"5f4dcc3b5aa765d61d8327deb882cf99"}'
REG2='{"username":"bob","password":"5f4dcc3b5aa765d61d8327deb882cf99"}'
REG3='{"username":"carol","password":"5f4dcc3b5aa765d61d8327deb882cf99"}'
mkdir -p "$KS_DIR"
cat >"$KS_DIR/database.json" <<'JSON'
{
  "schema": 6,
  "config": {
    "listen_address": ":8080",
    "disable_registration": true,
    "enable_debug_log": false,
    "store_history": false,
    "backup_encoding_type": "msgpack",
    "backup_on_startup": false,
    "enable_webui": false,
    "history_limit": 7
  },
  "users": {}
}
JSON

ks_start
req POST /users/create "$REG"
is "file: registration disabled -> 402" "$STATUS" 402
is "file: 2005 body" "$BODY" '{"code":2005,"message":"User registration is disabled."}'
like "file: JSON" "$CTYPE" '^application/json'
ks_stop

KOSYNCD_DISABLE_REGISTRATION=false ks_start
req POST /users/create "$REG"
is "env overrides file: 201" "$STATUS" 201
is "env overrides file: body" "$BODY" '{"username":"alice"}'
ks_stop

KOSYNCD_DISABLE_REGISTRATION=false ks_start --disable-registration
req POST /users/create "$REG2"
is "flag overrides env: 402" "$STATUS" 402
ks_stop

ks_start --disable-registration=false
req POST /users/create "$REG3"
is "flag overrides file: 201" "$STATUS" 201
ks_stop

# Nothing from the environment or a flag went into the file: its listen
# address is still ":8080" (not 127.0.0.1:0), disable_registration still
# true, history_limit still 7, and KOsync's keys are all there.
cfg=$(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["config"]
print(c.get("listen_address"), c.get("disable_registration"),
      c.get("history_limit"), c.get("backup_encoding_type"),
      "strict_accept" in c, sorted(c)[:3])
' "$KS_DIR/database.json")
is "database.json config kept as the file had it" "$cfg" \
    ":8080 True 7 msgpack False ['backup_encoding_type', 'backup_on_startup', 'disable_registration']"

# start_fail DESCRIPTION REGEX: the server must refuse to start.
start_fail() {
	local out rc
	out=$("$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 2>&1 &
	    pid=$!; (sleep 10; kill -KILL $pid 2>/dev/null) & w=$!
	    wait $pid; rc=$?; kill $w 2>/dev/null; exit $rc)
	rc=$?
	is "$1: exit 1" "$rc" 1
	like "$1: message" "$out" "$2"
	is "$1: never listened" "$(printf '%s\n' "$out" | grep -c 'listening on')" 0
}

printf '{"schema":6,"config":{"max_body_bytes":10},"users":{}}\n' \
    >"$KS_DIR/database.json"
rm -f "$KS_DIR"/*.journal "$KS_DIR"/journal* 2>/dev/null
start_fail "out-of-range file value" \
    "invalid value '10' for option 'max_body_bytes' in database\.json"

printf '{"schema":6,"config":{"disable_registration":"yes"},"users":{}}\n' \
    >"$KS_DIR/database.json"
start_fail "wrongly typed file value" \
    "option 'disable_registration' in database\.json: expected JSON true or false"

printf '{"schema":6,"config":{"listen_adress":":1"},"users":{}}\n' \
    >"$KS_DIR/database.json"
start_fail "unknown file key" "unknown option 'listen_adress' in database\.json"

done_testing
