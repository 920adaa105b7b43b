#!/usr/bin/env bash
# t034-store-hand-edit: database.json edited by a person while kosyncd
# runs is never overwritten; the changes made meanwhile are kept in the
# journal and replayed onto the edited file at the next start.
#
# Covers: the edit is detected before a compaction (loud warning naming
# the file), pushes keep succeeding, the edited file is byte for byte
# untouched by compactions and by the shutdown (a second warning), and
# after a restart both the edit and every push are there; then compaction
# resumes normally.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr "warning: '.*database\.json' was (changed by something other than this kosyncd|edited while kosyncd ran)"

K=$(md5 k)
ks_start --compact-bytes 4096 || exit 1
req POST /users/create "{\"username\":\"ed\",\"password\":\"$K\"}"
is "register" "$STATUS" 201
ks_stop
ks_start --compact-bytes 4096 || exit 1
# A person adds a document by hand while the server runs.
python3 - "$KS_DIR/database.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["users"]["ed"]["documents"]["byhand"] = {"progress": "h", "percentage": 0.5,
    "device": "editor", "device_id": "", "document": "byhand", "timestamp": 5}
open(p, "w").write(json.dumps(d, indent=2))
PY
cp "$KS_DIR/database.json" "$KS_TMP/edited"
ok=0
for i in $(seq 1 60); do
	req PUT /syncs/progress "{\"document\":\"d$((i % 5))\",\"progress\":\"v$i\",\"percentage\":0.5,\"device\":\"t\"}" $(auth ed "$K")
	[ "$STATUS" = 200 ] && ok=$((ok + 1))
done
is "pushes succeed after the edit" "$ok" 60
sleep 0.3
check "edited file untouched while running" cmp -s "$KS_TMP/edited" "$KS_DIR/database.json"
like "warning names the file" "$(cat "$KS_ERR.new")" "'$KS_DIR/database.json' was changed by something other than this kosyncd while it runs: it will NOT be overwritten"
ks_stop
check "edited file untouched by the shutdown" cmp -s "$KS_TMP/edited" "$KS_DIR/database.json"
like "shutdown warns again" "$(cat "$KS_ERR")" "was edited while kosyncd ran: left as it is"

ks_start --compact-bytes 4096 || exit 1
req GET /syncs/progress/byhand "" $(auth ed "$K")
is "the hand edit is there" "$BODY" '{"document":"byhand","percentage":0.5,"progress":"h","device":"editor","timestamp":5}'
for i in 56 57 58 59 60; do
	req GET "/syncs/progress/d$((i % 5))" "" $(auth ed "$K")
	like "push v$i replayed onto the edit" "$BODY" "\"progress\":\"v$i\""
done
ks_stop
check "the next shutdown writes the snapshot again" grep -q '"v60"' "$KS_DIR/database.json"
check "and keeps the hand edit" grep -q '"byhand"' "$KS_DIR/database.json"
done_testing
