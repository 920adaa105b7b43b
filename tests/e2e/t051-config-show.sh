#!/usr/bin/env bash
# t051-config-show: `kosyncd config show` prints one "name = value  # source"
# line per option, reading database.json's "config" object: the file beats
# the default, the environment beats the file, a flag beats the
# environment; storage "memory" reads no file; a bad value in the file is
# an error naming the option, the value and database.json.
. "$(dirname "$0")/lib.sh"

D=$KS_TMP/data
mkdir -p "$D"
cat >"$D/database.json" <<'JSON'
{
  "schema": 6,
  "config": {
    "listen_address": ":9000",
    "disable_registration": true,
    "enable_debug_log": false,
    "store_history": true,
    "backup_encoding_type": "msgpack",
    "backup_on_startup": false,
    "enable_webui": false,
    "history_limit": 5,
    "base_path": "/file"
  },
  "users": {}
}
JSON

# show ARGS...: config show; sets RC, OUT, ERR.
show() {
	"$KOSYNCD" config show --data-dir "$D" "$@" >"$KS_TMP/out" 2>"$KS_TMP/err"
	RC=$?
	OUT=$(cat "$KS_TMP/out")
	ERR=$(cat "$KS_TMP/err")
}
# line NAME: the line of option NAME in OUT.
line() { printf '%s\n' "$OUT" | grep "^$1 = "; }

show
is "exit 0" "$RC" 0
is "nothing on stderr" "$ERR" ""
is "one line per option" "$(printf '%s\n' "$OUT" | wc -l)" \
    "$(grep -c '^### ' "$(dirname "$0")/../../docs/configuration.md")"
like "every line is name = value  # source" \
    "$(printf '%s\n' "$OUT" | grep -vcE '^[a-z0-9_]+ = .*  # (default|database\.json|environment|flag)$')" '^0$'
is "file value" "$(line listen_address)" 'listen_address = ":9000"  # database.json'
is "file bool" "$(line disable_registration)" 'disable_registration = true  # database.json'
is "file number" "$(line history_limit)" 'history_limit = 5  # database.json'
is "file string" "$(line base_path)" 'base_path = "/file"  # database.json'
is "file KOsync key" "$(line backup_encoding_type)" 'backup_encoding_type = "msgpack"  # database.json'
is "default" "$(line fsync)" 'fsync = "always"  # default'
is "data_dir from the flag" "$(line data_dir)" "data_dir = \"$D\"  # flag"

KOSYNCD_LISTEN_ADDRESS=127.0.0.1:7 KOSYNCD_HISTORY_LIMIT=6 show
is "env beats file" "$(line listen_address)" 'listen_address = "127.0.0.1:7"  # environment'
is "env beats file (number)" "$(line history_limit)" 'history_limit = 6  # environment'
is "file kept where env is silent" "$(line base_path)" 'base_path = "/file"  # database.json'

KOSYNCD_LISTEN_ADDRESS=127.0.0.1:7 KOSYNCD_HISTORY_LIMIT=6 \
    show --listen-address '[::1]:8' --history_limit=0 --no-disable-registration
is "flag beats env" "$(line listen_address)" 'listen_address = "[::1]:8"  # flag'
is "flag beats env (underscore spelling)" "$(line history_limit)" 'history_limit = 0  # flag'
is "flag beats file (--no-)" "$(line disable_registration)" 'disable_registration = false  # flag'

KOSYNCD_DATA_DIR=$D "$KOSYNCD" config show >"$KS_TMP/out" 2>&1
OUT=$(cat "$KS_TMP/out")
is "data_dir from the environment" "$(line data_dir)" "data_dir = \"$D\"  # environment"
is "the file in it is read" "$(line history_limit)" 'history_limit = 5  # database.json'

show --storage memory
is "memory: no file read" "$(line listen_address)" 'listen_address = ":8080"  # default'

show --data-dir "$KS_TMP/none"
is "missing file: exit 0" "$RC" 0
is "missing file: defaults" "$(line listen_address)" 'listen_address = ":8080"  # default'

printf '{"config":{"history_limit":"5"}}' >"$KS_TMP/bad.json"
mkdir -p "$KS_TMP/bad" && mv "$KS_TMP/bad.json" "$KS_TMP/bad/database.json"
show --data-dir "$KS_TMP/bad"
is "bad file value: exit 1" "$RC" 1
like "bad file value: names option, value and file" "$ERR" \
    "invalid value '5' for option 'history_limit' in database\.json: expected a JSON number"
is "bad file value: nothing on stdout" "$OUT" ""

printf '{"config":{"colour":"red"}}' >"$KS_TMP/bad/database.json"
show --data-dir "$KS_TMP/bad"
is "unknown file key: exit 1" "$RC" 1
like "unknown file key: named" "$ERR" "unknown option 'colour' in database\.json"

printf '{"config":{"listen_address":' >"$KS_TMP/bad/database.json"
show --data-dir "$KS_TMP/bad"
is "truncated file: exit 1" "$RC" 1
like "truncated file: said" "$ERR" "cannot parse database\.json"

done_testing
