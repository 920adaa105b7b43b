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
# History and device positions: without store_history the file's history
# is not imported; with it, for added, replaced and skipped documents
# alike, the file's history entries we lack are merged in by timestamp (no
# entry twice, the newest history_limit kept, a replaced state in it as a
# push would put it) and device positions newer than ours are taken (never
# the current state's device); durable across kill -9 (journal replay);
# importing again changes nothing.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$ROOT/tests/data/kosync-schema6.json
DOC1=0123456789abcdef0123456789abcdef
DOC2=fedcba9876543210fedcba9876543210
ALICE=$(md5 alice-pass)


# --- Offline, into an empty directory.
mkdir -p "$KS_DIR"
run import kosync "$FIX"
is "offline import: exit 0" "$RC" 0
is "offline import: report" "$OUT" "kosyncd: imported '$FIX'
users: 2 added, 0 already here (their password is kept), 1 skipped (invalid name)
documents: 2 added, 0 updated (newer), 0 skipped (ours is as new or newer)"
is "offline import without store_history: no history" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"]["alice"].get("history", {}))' "$KS_DIR/database.json")" "{}"
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

# --- History and device positions, with store_history and history_limit 3.
rm -rf "$KS_DIR"
ks_start --store-history --history-limit 3 || { not_ok "server started"; done_testing; }
req POST /users/create "{\"username\":\"alice\",\"password\":\"$OURS\"}"
p() { # DOC PROGRESS DEVICE
	req PUT /syncs/progress "{\"document\":\"$1\",\"progress\":\"$2\",\"percentage\":0.5,\"device\":\"$3\",\"device_id\":\"$3-ID\"}" $(auth alice "$OURS")
	[ "$STATUS" = 200 ] || not_ok "push: $STATUS $BODY"
}
# d1: p1, p2 by Here, p3 by Other (history p1 p2, devices Here p2);
# d2: h by Here.
p d1 p1 Here
sleep 1.1
p d1 p2 Here
sleep 1.1
p d1 p3 Other
p d2 h Here
req GET /syncs/progress/d1 "" $(auth alice "$OURS")
T3=$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["timestamp"])')
python3 - "$KS_TMP/lists.json" "$T3" <<'EOF2'
import json, sys
t3 = int(sys.argv[2])
t1 = t3 - 2  # about when p1 was pushed
def e(prog, dev, ts):
    return {"progress": prog, "percentage": 0.5, "device": dev,
            "device_id": dev + "-ID", "timestamp": ts}
def doc(prog, dev, ts, devices=None):
    d = dict(e(prog, dev, ts))
    if devices:
        d["devices"] = devices
    return d
f = {"users": {
  "alice": {"password": "x", "documents": {
    # older than ours: skipped; devices: Here older than ours (not taken),
    # Other is our current state's device (not taken), Tab is new.
    "d1": doc("file-d1", "FileDev", t3 - 100,
              [e("stale", "Here", t3 - 300), e("other", "Other", t3 + 50),
               e("tab", "Tab", t1)]),
    # newer than ours: replaced.
    "d2": doc("k", "Kobo", t3 + 1000, [e("kd", "Kindle", t3 + 200)]),
    "d3": doc("c", "C", 300, [e("x", "X", 250)]),
  }, "history": {
    "d1": {"document_history": [e("f00", "FileDev", t1 - 60),
                                e("f0", "FileDev", t1 - 50)]},
    "d2": {"document_history": [e("k-old", "Kobo", t3 + 500)]},
    "d3": {"document_history": [e("b", "B", 200), e("a", "A", 100)]},
  }},
  "frank": {"password": "y", "documents": {"f1": doc("f", "F", 10)},
            "history": {"f1": {"document_history": [e("f-1", "F", 5)]}}},
}}
json.dump(f, open(sys.argv[1], "w"))
EOF2
# The file's d1 history also holds our p1 exactly (no entry twice).
run export "$KS_TMP/x.json"
python3 - "$KS_TMP/lists.json" "$KS_TMP/x.json" <<'EOF2'
import json, sys
f = json.load(open(sys.argv[1]))
ours = json.load(open(sys.argv[2]))["users"]["alice"]["history"]["d1"]["document_history"]
p1 = dict(ours[0]); p1.pop("document", None)
f["users"]["alice"]["history"]["d1"]["document_history"].append(p1)
json.dump(f, open(sys.argv[1], "w"))
EOF2
# summary: "doc: current | history | devices" for every document.
summary() {
	run export "$KS_TMP/x.json"
	python3 - "$KS_TMP/x.json" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
for name in sorted(d["users"]):
    u = d["users"][name]
    for doc in sorted(u.get("documents", {})):
        x = u["documents"][doc]
        h = u.get("history", {}).get(doc, {}).get("document_history", [])
        print(name, doc + ":", x["progress"], "|",
              " ".join(e["progress"] for e in h), "|",
              " ".join(sorted(e["progress"] + "@" + e["device"]
                              for e in x.get("devices", []))))
EOF2
}
run import kosync "$KS_TMP/lists.json"
is "lists: report" "$(printf '%s\n' "$OUT" | tail -n 2)" \
"users: 1 added, 1 already here (their password is kept), 0 skipped (invalid name)
documents: 2 added, 1 updated (newer), 1 skipped (ours is as new or newer)"
WANT="alice d1: p3 | f0 p1 p2 | p2@Here tab@Tab
alice d2: k | h k-old | h@Here kd@Kindle
alice d3: c | a b | x@X
frank f1: f | f-1 | "
is "lists: merged" "$(summary)" "$WANT"
ks_kill9
ks_start --store-history --history-limit 3 || { not_ok "server restarted"; done_testing; }
is "lists: the same after kill -9 (journal replay)" "$(summary)" "$WANT"
run import kosync "$KS_TMP/lists.json"
is "lists: import again, all skipped" "$(printf '%s\n' "$OUT" | tail -n 1)" \
    "documents: 0 added, 0 updated (newer), 4 skipped (ours is as new or newer)"
is "lists: import again changes nothing" "$(summary)" "$WANT"
ks_stop
done_testing
