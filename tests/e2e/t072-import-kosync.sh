#!/usr/bin/env bash
# t072-import-kosync: `kosyncd import kosync FILE` merges a KOsync
# database.json (tests/data/kosync-schema6.json) into ours.
#
# Covers: offline into an empty directory (users added with their old md5
# key, which the client keeps using; the user with an empty name is
# skipped; the report's counts); into a running server where a user
# already exists (its key is kept, its newer document wins, the older one
# is replaced by the file's newer one, unknown documents are added),
# visible to clients at once and durable across a restart; importing the
# same file again changes nothing (all skipped); keys end up hashed at
# rest; a file that is not JSON is refused and changes nothing.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$ROOT/tests/data/kosync-schema6.json
DOC1=0123456789abcdef0123456789abcdef
DOC2=fedcba9876543210fedcba9876543210
ALICE=$(md5 alice-pass)

run() {
	"$KOSYNCD" --data-dir "$KS_DIR" "$@" </dev/null >"$KS_TMP/out" 2>"$KS_TMP/err"
	RC=$?
	OUT=$(cat "$KS_TMP/out")
	ERR=$(cat "$KS_TMP/err")
}

# --- Offline, into an empty directory.
mkdir -p "$KS_DIR"
run import kosync "$FIX"
is "offline import: exit 0" "$RC" 0
is "offline import: report" "$OUT" "kosyncd: imported '$FIX'
users: 2 added, 0 already here (their password is kept), 1 skipped (invalid name)
documents: 2 added, 0 updated (newer), 0 skipped (ours is as new or newer)"
if grep '"password"' "$KS_DIR/database.json" | grep -qv 'argon2id'; then
	not_ok "offline import: keys hashed at rest"
else
	ok "offline import: keys hashed at rest"
fi
ks_start || { not_ok "server started"; done_testing; }
req GET /users/auth "" $(auth alice "$ALICE")
is "offline import: alice logs in with her KOsync key" "$STATUS" 200
req GET /syncs/progress/$DOC1 "" $(auth alice "$ALICE")
is "offline import: alice's document" "$BODY" \
    '{"document":"0123456789abcdef0123456789abcdef","percentage":0.33333334,"progress":"/body/DocFragment[40]/body/p[1]/text().0","device":"Kobo <Libra>","device_id":"K0B0","timestamp":1700000060}'
ks_stop

# --- Online, into a server where alice already exists with another key.
rm -rf "$KS_DIR"
ks_start || { not_ok "server started"; done_testing; }
OURS=$(md5 ours)
req POST /users/create "{\"username\":\"alice\",\"password\":\"$OURS\"}"
# DOC1 is newer here (now); DOC2 does not exist yet.
req PUT /syncs/progress "{\"document\":\"$DOC1\",\"progress\":\"ours\",\"percentage\":0.9,\"device\":\"Here\",\"device_id\":\"H\"}" $(auth alice "$OURS")
req POST /users/create "{\"username\":\"dan\",\"password\":\"$(md5 dan)\"}"
run import kosync "$FIX"
is "online import: exit 0" "$RC" 0
is "online import: report" "$OUT" "kosyncd: imported '$FIX'
users: 1 added, 1 already here (their password is kept), 1 skipped (invalid name)
documents: 1 added, 0 updated (newer), 1 skipped (ours is as new or newer)"
req GET /users/auth "" $(auth alice "$OURS")
is "online import: alice keeps her key" "$STATUS" 200
req GET /users/auth "" $(auth alice "$ALICE")
is "online import: the file's key for alice is not taken" "$STATUS" 401
req GET /syncs/progress/$DOC1 "" $(auth alice "$OURS")
like "online import: our newer position stays" "$BODY" '"progress":"ours"'
req GET /syncs/progress/$DOC2 "" $(auth alice "$OURS")
like "online import: the unknown document is added at once" "$BODY" '"device":"Kindle"'
req GET /users/auth "" $(auth carol "$(python3 -c 'import json; print(json.load(open("'"$FIX"'"))["users"]["carol"]["password"])')")
is "online import: carol logs in at once" "$STATUS" 200

run import kosync "$FIX"
is "import again: everything skipped" "$(printf '%s\n' "$OUT" | tail -n 2)" \
"users: 0 added, 2 already here (their password is kept), 1 skipped (invalid name)
documents: 0 added, 0 updated (newer), 2 skipped (ours is as new or newer)"

# An older position here is replaced by the file's newer one.
python3 - "$FIX" "$KS_TMP/newer.json" "$DOC1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
doc = d["users"]["alice"]["documents"][sys.argv[3]]
doc["timestamp"] = 4102444800  # 2100-01-01
doc["progress"] = "from the future"
json.dump(d, open(sys.argv[2], "w"))
EOF
run import kosync "$KS_TMP/newer.json"
like "newer in the file: updated" "$OUT" 'documents: 0 added, 1 updated'
req GET /syncs/progress/$DOC1 "" $(auth alice "$OURS")
like "newer in the file: the client sees it" "$BODY" '"progress":"from the future"'

printf '{"users": {' >"$KS_TMP/bad.json"
run import kosync "$KS_TMP/bad.json"
is "bad file: exit 1" "$RC" 1
like "bad file: says why" "$ERR" "kosyncd: .*not imported"
run import kosync "$KS_TMP/missing.json"
is "missing file: exit 1" "$RC" 1
run import
is "import without a format: exit 1" "$RC" 1
like "import without a format: incomplete command" "$ERR" "incomplete command 'import'"
ks_stop

ks_start || { not_ok "server restarted"; done_testing; }
req GET /syncs/progress/$DOC2 "" $(auth alice "$OURS")
like "after restart: the imported document is durable" "$BODY" '"device":"Kindle"'
req GET /users/auth "" $(auth dan "$(md5 dan)")
is "after restart: dan untouched" "$STATUS" 200
ks_stop
done_testing
