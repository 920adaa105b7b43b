#!/usr/bin/env bash
# t071-admin-store: `kosyncd backup`, `restore`, `check`, `compact` and
# `export`, offline and against a running server.
#
# Covers: backup writes a PEM file in the data directory and prints its
# path (offline, and online where the running server writes it from
# memory, including changes not yet in database.json); restore is refused
# while the server runs and, offline, brings back the backed-up state;
# check exits 0 on sound files (also while the server runs) and 1 on a
# damaged journal or database.json; compact offline leaves database.json
# and no journal, online folds the journal into database.json while the
# server keeps serving; export prints database.json text (stdout or a
# file of mode 0600) with every user and document, offline and online;
# commands on storage other than "file" say so.
. "$(dirname "$0")/lib.sh"

K1=$(md5 one)
K2=$(md5 two)

ks_start || { not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"ann\",\"password\":\"$K1\"}"
req PUT /syncs/progress '{"document":"d1","progress":"/p[1]","percentage":0.25,"device":"Kobo","device_id":"K1"}' $(auth ann "$K1")
is "push before the backup" "$STATUS" 200

# --- Online.
run check
is "online check: exit 0" "$RC" 0
like "online check: says the server runs" "$OUT" "kosyncd is running on"
run backup
is "online backup: exit 0" "$RC" 0
BAK=$OUT
like "online backup: prints the file" "$BAK" "^$KS_DIR/database_7_[0-9TZ]+_[0-9]+(_[0-9]+)?\\.bak\$"
check "online backup: file exists" [ -f "$BAK" ]
like "online backup: PEM" "$(head -n 1 "$BAK")" '^-----BEGIN KOSYNC BACKUP-----$'
like "online backup: holds the push not yet compacted" \
    "$(sed -n '/^$/,/-----END/p' "$BAK" | grep -v -- ----- | base64 -d)" '"/p\[1\]"'
is "online backup: mode 0600" "$(stat -c %a "$BAK")" 600

run export
is "online export: exit 0" "$RC" 0
like "online export: schema" "$OUT" '"schema": 7'
like "online export: the document" "$OUT" '"d1": \{'
run export "$KS_TMP/export.json"
is "online export to a file: exit 0" "$RC" 0
is "online export to a file: mode 0600" "$(stat -c %a "$KS_TMP/export.json")" 600
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["users"]["ann"]["documents"]["d1"]["percentage"] == 0.25' \
    "$KS_TMP/export.json"
is "online export: valid JSON with the document" "$?" 0

req PUT /syncs/progress '{"document":"d1","progress":"/p[2]","percentage":0.5,"device":"Kobo","device_id":"K1"}' $(auth ann "$K1")
run compact
is "online compact: exit 0" "$RC" 0
like "online compact: the snapshot holds the latest push" "$(cat "$KS_DIR/database.json")" '"/p\[2\]"'
req GET /syncs/progress/d1 "" $(auth ann "$K1")
like "online compact: still serving" "$BODY" '"percentage":0.5'

run restore "$BAK"
is "online restore: refused" "$RC" 1
like "online restore: says to stop the server" "$ERR" "stop it first"
ks_stop

# --- Offline.
run check
is "offline check: exit 0" "$RC" 0
like "offline check: ok" "$OUT" 'ok$'
run backup
is "offline backup: exit 0" "$RC" 0
check "offline backup: file exists" [ -f "$OUT" ]
run export
like "offline export: the latest push" "$OUT" '"/p\[2\]"'

run restore "$BAK"
is "offline restore: exit 0" "$RC" 0
like "offline restore: says where the previous state went" "$OUT" "previous state is saved in"
ks_start || { not_ok "server restarted"; done_testing; }
req GET /syncs/progress/d1 "" $(auth ann "$K1")
like "after restore: the backed-up position" "$BODY" '"progress":"/p\[1\]"'
req POST /users/create "{\"username\":\"bob\",\"password\":\"$K2\"}"
ks_kill9
ls "$KS_DIR"/journal.* >/dev/null 2>&1
is "after kill -9: a journal is left" "$?" 0

run compact
is "offline compact: exit 0" "$RC" 0
check "offline compact: no journal left" [ -z "$(ls "$KS_DIR"/journal.* 2>/dev/null)" ]
like "offline compact: bob is in database.json" "$(cat "$KS_DIR/database.json")" '"bob": \{'

# A damaged journal tail.
ks_start || { not_ok "server restarted"; done_testing; }
req PUT /syncs/progress '{"document":"d9","progress":"1","percentage":0.1,"device":"Kobo","device_id":"K1"}' $(auth ann "$K1")
ks_kill9
j=$(ls "$KS_DIR"/journal.* | tail -n 1)
printf 'garbage' >>"$j"
run check
is "check of a torn journal: exit 1" "$RC" 1
like "check of a torn journal: names the file" "$OUT" "$j"
truncate -s -7 "$j"
run check
is "check after repair: exit 0" "$RC" 0
like "check: the zeros the journal writes ahead are no damage" "$OUT" \
    "$j: [0-9]+ records, [0-9]+ bytes \\(the last [0-9]+ of them zeros written ahead\\)"
cp "$KS_DIR/database.json" "$KS_TMP/db.good"
printf '{"schema": 7, "users": {' >"$KS_DIR/database.json"
run check
is "check of a broken database.json: exit 1" "$RC" 1
cp "$KS_TMP/db.good" "$KS_DIR/database.json"

# Other storage.
run check --storage memory
is "check on storage memory: exit 1" "$RC" 1
like "check on storage memory: says why" "$ERR" 'storage "file" only'
run restore /nonexistent
is "restore of a missing file: exit 1" "$RC" 1
run restore
is "restore without a file: exit 1" "$RC" 1
like "restore without a file: synopsis" "$ERR" 'usage: kosyncd restore'
done_testing
