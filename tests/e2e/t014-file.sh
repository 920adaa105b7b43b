#!/usr/bin/env bash
# t014-file: the protocol on the file backend across restarts: an
# acknowledged registration, push and password change survive a restart;
# device_id is kept across a restart when a push leaves it out; metadata
# sent once is kept in database.json when later pushes leave it out
# (docs/protocol.md §9.6, §9.20).
. "$(dirname "$0")/lib.sh"

want() {
	is "$1: status" "$STATUS" "$2"
	is "$1: content-type" "$CTYPE" "application/json"
	is "$1: body" "$BODY" "$3"
}
# meta USER DOC FIELD: a metadata field from the stopped server's file.
meta() {
	python3 - "$KS_DIR/database.json" "$1" "$2" "$3" <<'PY'
import json, sys
db = json.load(open(sys.argv[1]))
doc = db["users"][sys.argv[2]]["documents"][sys.argv[3]]
print((doc.get("metadata") or {}).get(sys.argv[4], "<absent>"))
PY
}

K=$(md5 pw)
K2=$(md5 pw2)
ks_start || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"u","password":"'"$K"'"}'
want "register" 201 '{"username":"u"}'
req PUT /syncs/progress '{"document":"d","progress":"p1","percentage":0.25,"device":"k","device_id":"ID1","metadata":{"filename":"b.epub","title":"T","authors":"A"}}' $(auth u "$K")
is "push with metadata" "$STATUS" 200
ts1=$(printf '%s' "$BODY" | sed -n 's/.*"timestamp":\([0-9]*\)}$/\1/p')
ks_stop

ks_start || { not_ok "server restarted"; done_testing; }
req GET /users/auth "" $(auth u "$K")
want "the account survived a restart" 200 '{"authorized":"OK"}'
req GET /syncs/progress/d "" $(auth u "$K")
want "the push survived a restart" 200 '{"document":"d","percentage":0.25,"progress":"p1","device":"k","device_id":"ID1","timestamp":'"$ts1"'}'
req PUT /syncs/progress '{"document":"d","progress":"p2","percentage":0.5,"device":"k2"}' $(auth u "$K")
is "push without device_id and metadata" "$STATUS" 200
ts2=$(printf '%s' "$BODY" | sed -n 's/.*"timestamp":\([0-9]*\)}$/\1/p')
req PUT /users/password '{"password":"'"$K2"'"}' $(auth u "$K")
want "password change" 200 '{"updated":true}'
ks_stop

is "metadata kept: filename" "$(meta u d filename)" "b.epub"
is "metadata kept: title" "$(meta u d title)" "T"
is "metadata kept: authors" "$(meta u d authors)" "A"

ks_start || { not_ok "server restarted"; done_testing; }
req GET /syncs/progress/d "" $(auth u "$K2")
want "device_id kept across a restart" 200 '{"document":"d","percentage":0.5,"progress":"p2","device":"k2","device_id":"ID1","timestamp":'"$ts2"'}'
req GET /users/auth "" $(auth u "$K")
want "the old key stays dead after a restart" 401 '{"code":2001,"message":"Unauthorized"}'
req PUT /syncs/progress '{"document":"d","progress":"p3","percentage":0.75,"device":"k","metadata":{"title":"T2"}}' $(auth u "$K2")
is "push with partial metadata" "$STATUS" 200
req DELETE /users/me "" $(auth u "$K2")
want "delete" 200 '{"deleted":true}'
ks_stop

ks_start || { not_ok "server restarted"; done_testing; }
req GET /users/auth "" $(auth u "$K2")
want "the deletion survived a restart" 401 '{"code":2001,"message":"Unauthorized"}'
ks_stop
done_testing
