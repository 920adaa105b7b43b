#!/usr/bin/env bash
# t078-offline-load: which offline commands may change a data directory
# when they load it (datadir.c's one loader, in the mode each needs).
#
# Covers, on an old directory (schema 6, plain keys, the retired option
# admins set): check, backup and salvage load it without changing it (no
# migration, no backup of the old file, the option left as it is; check
# says the keys are not hashed yet); an account command run offline opens
# the store as a start does, so it migrates (the old file backed up
# first) and retires admins (alice becomes an administrator) before it
# answers.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$KS_DIR"
chmod 700 "$KS_DIR"
python3 - "$ROOT/tests/data/kosync-schema6.json" "$KS_DIR/database.json" <<'PY'
import json, sys
db = json.load(open(sys.argv[1]))
db["config"]["admins"] = "alice"
json.dump(db, open(sys.argv[2], "w"), indent=2)
PY
chmod 600 "$KS_DIR/database.json"
SUM=$(sha256sum <"$KS_DIR/database.json")
baks() { find "$KS_DIR" -name '*.bak' | wc -l; }

run check
is "check: exit 0" "$RC" 0
like "check: the old schema is reported" "$OUT" 'schema 6, [0-9]+ users'
like "check: the plain keys are reported" "$OUT" \
    'keys are not hashed yet \(migrated at the next start\)'
is "check: database.json unchanged" "$(sha256sum <"$KS_DIR/database.json")" "$SUM"
is "check: no backup written" "$(baks)" 0

run backup
is "backup: exit 0" "$RC" 0
is "backup: one file, the backup asked for" "$(baks)" 1
like "backup: its path is printed" "$OUT" 'database_7_.*\.bak$'
is "backup: database.json unchanged (not migrated)" \
    "$(sha256sum <"$KS_DIR/database.json")" "$SUM"

run salvage
is "salvage: exit 0" "$RC" 0
like "salvage: nothing to do" "$OUT" 'nothing to salvage; nothing changed'
is "salvage: database.json unchanged" "$(sha256sum <"$KS_DIR/database.json")" "$SUM"
is "salvage: no new file" "$(baks)" 1

run user list --json
is "offline user list: exit 0" "$RC" 0
like "offline user list: admins retired, alice is an administrator" "$OUT" \
    '"username":"alice",[^}]*"admin":true'
like "offline user list: migrated as a start migrates" "$ERR" \
    "migrating '.*database.json' from schema 6 to 7"
is "offline user list: the old file backed up first" "$(baks)" 2
is "offline user list: that backup is schema 6" \
    "$(find "$KS_DIR" -name 'database_6_*.bak' | wc -l)" 1
like "offline user list: database.json is schema 7" \
    "$(head -c 200 "$KS_DIR/database.json")" '"schema": 7'
like "offline user list: the option admins is emptied" \
    "$(python3 -c 'import json,sys; print(repr(json.load(open(sys.argv[1]))["config"].get("admins")))' "$KS_DIR/database.json")" \
    "^(''|None)$"
run check
is "check after: exit 0" "$RC" 0
unlike_keys=$(printf '%s' "$OUT" | grep -c 'not hashed' || true)
is "check after: every key hashed" "$unlike_keys" 0
done_testing
