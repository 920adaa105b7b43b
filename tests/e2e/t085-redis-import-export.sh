#!/usr/bin/env bash
# t085-redis-import-export: `kosyncd import redis` copies an official
# server's Redis data (and kosyncd's metadata) into the file store, and `kosyncd export redis` copies the file
# store (with history and device positions) into Redis, both printing the
# counts; a round trip keeps every official field; a second copy merges (existing users kept, older documents
# skipped, newer ones replaced); the copied accounts log in with their keys
# on both backends; a data directory in use by a server is refused.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_redis_start || { not_ok "redis started"; done_testing; }
R=(--redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
K=$(md5 pw)
K2=$(md5 other)
D1=59d481d168cca6267322f150c5f6a2a3
D1BODY='{"document":"'$D1'","percentage":0.31879884821061,"progress":"/body/p[1]","device":"PocketBook","device_id":"ID1","timestamp":1790006348}'
D2BODY='{"document":"d2","percentage":0.5,"progress":"56","device":"Kobo","timestamp":1790000000}'

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
    '-> .*: users_added=2 users_existing=0 users_skipped=0 documents_added=2 documents_updated=0 documents_skipped=0$'
is "import: nothing on stderr but info" "$(grep -v ' info: ' "$KS_TMP/err")" ""
db=$(cat "$KS_DIR/database.json")
like "import: metadata kept" "$db" '"title": "Moby Dick"'

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
    'users_added=0 users_existing=2 users_skipped=0 documents_added=0 documents_updated=0 documents_skipped=2$'

# Export into an empty database, then serve it with the redis backend.
ks_redis_cli FLUSHDB >/dev/null
out=$("$KOSYNCD" export redis --data-dir "$KS_DIR" "${R[@]}" 2>"$KS_TMP/err")
is "export: exit 0" "$?" 0
like "export: reports the counts" "$out" \
    ': users_added=2 users_existing=0 users_skipped=0 documents_added=3 documents_updated=0 documents_skipped=0$'
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
    'users_added=0 users_existing=2 users_skipped=0 documents_added=0 documents_updated=1 documents_skipped=2$'

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
