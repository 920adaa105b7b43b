#!/usr/bin/env bash
# t085-redis-import-export: `kosyncd import redis` copies an official
# server's Redis data (and kosyncd's metadata) into the file store, and `kosyncd export redis` copies the file
# store (with history and device positions) into Redis, both printing the
# counts; a round trip keeps every official field; a second copy merges (existing users kept, older documents
# skipped, newer ones replaced); the copied accounts log in with their keys
# on both backends; a data directory in use by a server is refused.
# History and device positions kept in Redis (written by pushes through a
# kosyncd on Redis with store_history, or with redis-cli) are merged into
# the file store: device positions always (the newer one per device, never
# the current state's device), history only with store_history (merged by
# timestamp, no entry twice, the replaced state of a document in it), for
# added, replaced and skipped documents alike; seen through the web API,
# kept across a restart; importing again changes nothing.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_redis_start || { not_ok "redis started"; done_testing; }
R=(--redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
K=$(md5 pw)
K2=$(md5 other)
D1=59d481d168cca6267322f150c5f6a2a3
D1BODY='{"document":"'$D1'","percentage":0.31879884821061,"progress":"/body/p[1]","device":"PocketBook","device_id":"ID1","timestamp":1790006348}'
D2BODY='{"document":"d2","percentage":0.5,"progress":"56","device":"Kobo","timestamp":1790000000}'

# json_of FILE EXPR: EXPR of the JSON in FILE (as d), printed by Python.
json_of() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
json_in() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# signin USER PASSWORD: a web session (cookie jar, CSRF token).
signin() {
	STATUS=$(curl -s -S -X POST -H 'Content-Type: application/json' \
	    --data-binary "{\"username\":\"$1\",\"password\":\"$2\"}" \
	    -c "$KS_TMP/jar" -o "$KS_TMP/body" -w '%{http_code}' "$KS_URL/api/v1/login")
	CSRF=$(sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p' "$KS_TMP/body")
}
# as METHOD PATH: a request of the web session.
as() {
	STATUS=$(curl -s -S -X "$1" -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF" \
	    -o "$KS_TMP/body" -w '%{http_code}' "$KS_URL$2")
	BODY=$(cat "$KS_TMP/body")
}

ks_redis_cli SET user:reader:key "$K" >/dev/null
ks_redis_cli HSET user:reader:document:$D1 percentage 0.31879884821061 \
    progress '/body/p[1]' device PocketBook device_id ID1 timestamp 1790006348 >/dev/null
ks_redis_cli HSET user:reader:document:d2 percentage 0.5 progress 56 \
    device Kobo timestamp 1790000000 >/dev/null
ks_redis_cli HSET kosyncd:user:reader:meta:$D1 title 'Moby Dick' authors Melville >/dev/null
ks_redis_cli RPUSH kosyncd:user:reader:history:$D1 \
    '{"percentage":0.1,"progress":"/body/p[0]","device":"PocketBook","device_id":"ID1","timestamp":1790000001}' >/dev/null
ks_redis_cli HSET kosyncd:user:reader:devices:$D1 id:ID2 \
    '{"percentage":0.2,"progress":"/body/p[9]","device":"Kindle","device_id":"ID2","timestamp":1790000002}' >/dev/null
ks_redis_cli SET 'user:x*y:key' "$K2" >/dev/null
ks_redis_cli HSET 'user:orphan:document:d' percentage 0.1 progress p device k timestamp 1 >/dev/null

mkdir -p "$KS_DIR"
out=$("$KOSYNCD" import redis --data-dir "$KS_DIR" "${R[@]}" 2>"$KS_TMP/err")
is "import: exit 0" "$?" 0
like "import: reports the counts" "$out" \
    '-> .*: users_added=2 users_existing=0 users_skipped=0 documents_added=2 documents_updated=0 documents_skipped=0 users_over_limit=0[[:space:]].*: webdav trees=0 files_copied=0 folders_made=0 files_existing=0 bytes=0$'
is "import: nothing on stderr but info" "$(grep -v ' info: ' "$KS_TMP/err")" ""
db=$(cat "$KS_DIR/database.json")
like "import: metadata kept" "$db" '"title": "Moby Dick"'
is "import: the other device's position" \
    "$(json_of "$KS_DIR/database.json" 'd["users"]["reader"]["documents"]["'$D1'"]["devices"]')" \
    "[{'progress': '/body/p[9]', 'percentage': 0.2, 'device': 'Kindle', 'device_id': 'ID2', 'timestamp': 1790000002}]"
is "import without store_history: no history" \
    "$(json_of "$KS_DIR/database.json" 'd["users"]["reader"].get("history", {})')" "{}"

# The file store serves the imported accounts with their keys.
ks_start --storage file --history-limit 0 --store-history || { not_ok "server started"; done_testing; }
req GET /syncs/progress/$D1 "" $(auth reader "$K")
is "file store serves an imported record" "$STATUS $BODY" "200 $D1BODY"
req GET /syncs/progress/d2 "" $(auth reader "$K")
is "file store: a record without device_id" "$STATUS $BODY" "200 $D2BODY"
req GET /users/auth "" $(auth 'x*y' "$K2")
is "file store: a name with a glob logs in" "$STATUS" 200
req GET /users/auth "" $(auth orphan "$K")
is "orphaned documents bring no account" "$STATUS" 401
req PUT /syncs/progress '{"document":"d3","progress":"old","percentage":0.7,"device":"Kindle","device_id":"ID4"}' $(auth reader "$K")
is "file store: a push" "$STATUS" 200
sleep 1
req PUT /syncs/progress '{"document":"d3","progress":"new","percentage":0.75,"device":"Kobo","device_id":"ID3"}' $(auth reader "$K")
is "file store: a push from another device" "$STATUS" 200
ks_stop

out=$("$KOSYNCD" import redis --data-dir "$KS_DIR" "${R[@]}" 2>"$KS_TMP/err")
like "import again: merges (users kept, same timestamps skipped)" "$out" \
    'users_added=0 users_existing=2 users_skipped=0 documents_added=0 documents_updated=0 documents_skipped=2 users_over_limit=0[[:space:]].*: webdav trees=0 files_copied=0 folders_made=0 files_existing=0 bytes=0$'

# Export into an empty database, then serve it with the redis backend.
ks_redis_cli FLUSHDB >/dev/null
out=$("$KOSYNCD" export redis --data-dir "$KS_DIR" "${R[@]}" 2>"$KS_TMP/err")
is "export: exit 0" "$?" 0
like "export: reports the counts" "$out" \
    ': users_added=2 users_existing=0 users_skipped=0 documents_added=3 documents_updated=0 documents_skipped=0[[:space:]].*: webdav trees=0 files_copied=0 folders_made=0 files_existing=0 bytes=0$'
like "export: keys are the file store's argon2id hashes" \
    "$(ks_redis_cli GET user:reader:key)" '^\$argon2id\$'
is "export: the official hash fields" \
    "$(ks_redis_cli HMGET user:reader:document:$D1 percentage progress device device_id timestamp | paste -sd' ')" \
    "0.31879884821061 /body/p[1] PocketBook ID1 1790006348"
is "export: no device_id field when none was sent" \
    "$(ks_redis_cli HEXISTS user:reader:document:d2 device_id)" 0
is "export: metadata" "$(ks_redis_cli HGET kosyncd:user:reader:meta:$D1 title)" "Moby Dick"
like "export: history" "$(ks_redis_cli LRANGE kosyncd:user:reader:history:d3 0 -1)" '^\{.*"progress":"old".*\}$'
like "export: device positions" "$(ks_redis_cli HGET kosyncd:user:reader:devices:d3 id:ID4)" '"device":"Kindle"'

ks_start --storage redis "${R[@]}" || { not_ok "server started"; done_testing; }
req GET /syncs/progress/$D1 "" $(auth reader "$K")
is "redis backend serves an exported record (hashed key)" "$STATUS $BODY" "200 $D1BODY"
req GET /syncs/progress/d3 "" $(auth reader "$K")
like "redis backend: the push made on the file store" "$STATUS $BODY" '^200 \{"document":"d3","percentage":0.75,"progress":"new"'
req PUT /syncs/progress '{"document":"d2","progress":"57","percentage":0.6,"device":"Kobo"}' $(auth reader "$K")
is "redis backend: a newer push" "$STATUS" 200
ks_stop

out=$("$KOSYNCD" import redis --data-dir "$KS_DIR" "${R[@]}" 2>"$KS_TMP/err")
like "import after a newer push: one document updated" "$out" \
    'users_added=0 users_existing=2 users_skipped=0 documents_added=0 documents_updated=1 documents_skipped=2 users_over_limit=0[[:space:]].*: webdav trees=0 files_copied=0 folders_made=0 files_existing=0 bytes=0$'

# History and device positions made on Redis by a kosyncd with
# store_history: a new document h1 (two devices), d3 replaced by a newer
# push there; with redis-cli, on D1 (the same timestamp here: skipped) two
# history entries out of order (the export left its history empty), a
# newer position of the Kindle, a new device and one of the current
# state's device.
ks_start --storage redis "${R[@]}" --store-history --history-limit 0 || { not_ok "server started"; done_testing; }
sleep 1.1 # d3's push here must be a second newer than the file store's
for b in '"document":"h1","progress":"a1","percentage":0.1,"device":"A","device_id":"IDA"' \
    '"document":"h1","progress":"b1","percentage":0.2,"device":"B","device_id":"IDB"' \
    '"document":"h1","progress":"a2","percentage":0.3,"device":"A","device_id":"IDA"' \
    '"document":"d3","progress":"pocket","percentage":0.8,"device":"Pocket","device_id":"ID5"'; do
	req PUT /syncs/progress "{$b}" $(auth reader "$K")
	[ "$STATUS" = 200 ] || not_ok "push on redis: $STATUS $BODY"
done
ks_stop
is "redis: d3's history (the file store's, then the replaced state)" \
    "$(ks_redis_cli LRANGE kosyncd:user:reader:history:d3 0 -1 | python3 -c 'import json,sys; print([json.loads(l)["progress"] for l in sys.stdin])')" \
    "['old', 'new']"
ks_redis_cli RPUSH kosyncd:user:reader:history:$D1 \
    '{"percentage":0.16,"progress":"/body/p[6]","device":"Kindle","device_id":"ID2","timestamp":1790000004}' \
    '{"percentage":0.15,"progress":"/body/p[5]","device":"Kindle","device_id":"ID2","timestamp":1790000003}' >/dev/null
ks_redis_cli HSET kosyncd:user:reader:devices:$D1 \
    id:ID2 '{"percentage":0.25,"progress":"/body/p[10]","device":"Kindle","device_id":"ID2","timestamp":1790000005}' \
    id:ID9 '{"percentage":0.05,"progress":"/body/p[2]","device":"Onyx","device_id":"ID9","timestamp":1790000009}' \
    id:ID1 '{"percentage":0.3,"progress":"/body/p[0]","device":"PocketBook","device_id":"ID1","timestamp":1790006000}' >/dev/null

out=$("$KOSYNCD" import redis --data-dir "$KS_DIR" "${R[@]}" --store-history --history-limit 0 2>"$KS_TMP/err")
is "import with history: exit 0" "$?" 0
like "import with history: h1 added, d3 updated, D1 and d2 skipped" "$out" \
    'users_added=0 users_existing=2 users_skipped=0 documents_added=1 documents_updated=1 documents_skipped=2 users_over_limit=0[[:space:]].*: webdav trees=0 files_copied=0 folders_made=0 files_existing=0 bytes=0$'
is "import with history: nothing on stderr but info" "$(grep -v ' info: ' "$KS_TMP/err")" ""

# lists DOC: "progress:device" of the current state, the history and the
# other devices of DOC, through the web API.
lists() {
	as GET /api/v1/documents/$1
	printf '%s' "$BODY" | json_in '(d["progress"] + ":" + d["device"], [e["progress"] + ":" + e["device"] for e in d["history"]], sorted(e["progress"] + ":" + e["device"] for e in d["devices"]))'
}
check_lists() { # WHEN
	is "$1: h1 added with its history and devices" "$(lists h1)" \
	    "('a2:A', ['a1:A', 'b1:B'], ['b1:B'])"
	is "$1: d3 replaced; its history merged, no entry twice" "$(lists d3)" \
	    "('pocket:Pocket', ['old:Kindle', 'new:Kobo'], ['new:Kobo', 'old:Kindle'])"
	is "$1: D1 skipped; history merged by timestamp, newer device positions" "$(lists $D1)" \
	    "('/body/p[1]:PocketBook', ['/body/p[5]:Kindle', '/body/p[6]:Kindle'], ['/body/p[10]:Kindle', '/body/p[2]:Onyx'])"
}
ks_start --storage file --store-history --history-limit 0 --enable-webui || { not_ok "server started"; done_testing; }
signin reader pw
is "web sign-in of an imported account" "$STATUS" 200
check_lists "file store"
ks_stop
ks_start --storage file --store-history --history-limit 0 --enable-webui || { not_ok "server started"; done_testing; }
signin reader pw
check_lists "after a restart"
ks_stop

"$KOSYNCD" export --data-dir "$KS_DIR" "$KS_TMP/before.json" 2>/dev/null
out=$("$KOSYNCD" import redis --data-dir "$KS_DIR" "${R[@]}" --store-history --history-limit 0 2>"$KS_TMP/err")
like "import with history again: all skipped" "$out" \
    'documents_added=0 documents_updated=0 documents_skipped=4 users_over_limit=0[[:space:]].*: webdav trees=0 files_copied=0 folders_made=0 files_existing=0 bytes=0$'
"$KOSYNCD" export --data-dir "$KS_DIR" "$KS_TMP/after.json" 2>/dev/null
if cmp -s "$KS_TMP/before.json" "$KS_TMP/after.json"; then
	ok "import with history again: nothing changes"
else
	not_ok "import with history again: nothing changes"
	diff "$KS_TMP/before.json" "$KS_TMP/after.json" | head -20 | sed 's/^/#   /'
fi

# A data directory served by a running kosyncd is refused.
ks_start --storage file || { not_ok "server started"; done_testing; }
"$KOSYNCD" import redis --data-dir "$KS_DIR" "${R[@]}" >/dev/null 2>"$KS_TMP/err"
is "import into a directory in use: exit 1" "$?" 1
like "import into a directory in use: says so" "$(cat "$KS_TMP/err")" 'lock|running|in use'
ks_stop

# Redis unreachable.
"$KOSYNCD" export redis --data-dir "$KS_DIR" --redis-address 127.0.0.1:1 >/dev/null 2>"$KS_TMP/err"
is "export without Redis: exit 1" "$?" 1
like "export without Redis: says so" "$(cat "$KS_TMP/err")" 'cannot (connect|copy)'
done_testing
