#!/usr/bin/env bash
# t093-webui-redis: the web interface on the Redis backend.
#
# Covers (the account commands work on Redis directly, without the
# server's control socket): the library lists documents pushed through kosyncd and documents
# written in the official server's layout with redis-cli (found by a scan
# of the user's keys, kept in kosyncd:user:<name>:documents; one written
# after that scan appears once the scan's marker has expired); a document
# with its history and device positions; rename (pretty_name in
# kosyncd:user:<name>:meta:<doc>, kept by a later push); restore (pulls
# see it, the replaced state is in the history); delete (every key of the
# document gone from Redis, the library without it); a restore racing
# with pushes through the protocol loses nothing (history count); the
# dump and import (into Redis and into a file store) keep merges, titles
# and history, a second import changes nothing, and an import into an
# equally new document in Redis merges the device positions and the title; the
# registration switch is saved in kosyncd:config and a second instance on
# the same Redis follows it within seconds; `user add --admin` flags the
# account in Redis (kosyncd:user:<name>:admin), for every instance at once;
# Redis down: the library answers 503 and the server keeps running; merge
# on Redis is in t092, sessions and limits shared by instances in t087.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
K=$(md5 pw)
D1=11111111111111111111111111111111
D2=22222222222222222222222222222222
D3=33333333333333333333333333333333
D4=44444444444444444444444444444444
KS_PID_B=
trap '[ -n "$KS_PID_B" ] && kill -KILL "$KS_PID_B" 2>/dev/null; ks_cleanup' EXIT

# signin USER PASSWORD JAR: sets CSRF
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() { web "$1" "$2" "${3-}" -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
push() { # DOC PCT DEVICE
	req PUT /syncs/progress "{\"document\":\"$1\",\"progress\":\"at-$2\",\"percentage\":$2,\"device\":\"$3\",\"device_id\":\"$3-id\",\"metadata\":{\"title\":\"Book $1\"}}" $(auth u "$K")
}
library() {
	as GET /api/v1/documents
	printf '%s' "$BODY" | json '[(x["document"][:2], x["percentage"], x["pretty_name"]) for x in d["documents"]]'
}

ks_start_backend redis --enable-webui --store-history --history-limit 0 \
    --register-per-ip 0 || exit 1
req POST /users/create "{\"username\":\"u\",\"password\":\"$K\"}"
is "register" "$STATUS" 201
# The official server's layout, written by hand before the first listing.
ks_redis_cli HSET user:u:document:$D3 percentage 0.125 progress /p[3] \
    device official timestamp 1700000000 >/dev/null
push $D1 0.25 kobo
push $D1 0.5 kindle
sleep 1.1
push $D2 0.75 kobo
signin u pw "$KS_TMP/jar"
is "sign in" "$STATUS" 200
is "library: pushed and hand-written documents, newest first" "$(library)" \
    "[('22', 0.75, ''), ('11', 0.5, ''), ('33', 0.125, '')]"
ks_redis_cli HSET user:u:document:$D4 percentage 0.5 progress p device d \
    timestamp 1600000000 >/dev/null
is "a document written after the scan is not listed yet" "$(library | grep -c "'44'")" 0
ks_redis_cli DEL kosyncd:user:u:documents-scanned >/dev/null
like "once the marker expired it is" "$(library)" "\\('44', 0.5, ''\\)\\]$"

as GET /api/v1/documents/$D1
is "a document: history and devices" \
    "$(printf '%s' "$BODY" | json '(d["device"], d["title"], [e["percentage"] for e in d["history"]], [e["device"] for e in d["devices"]])')" \
    "('kindle', 'Book $D1', [0.25], ['kobo'])"

# Rename, kept by a later push.
as PUT /api/v1/documents/$D1/name '{"name":"My book"}'
is "rename" "$STATUS $BODY" "200 {\"document\":\"$D1\",\"rename\":true}"
is "rename: in Redis" "$(ks_redis_cli HGET kosyncd:user:u:meta:$D1 pretty_name)" "My book"
push $D1 0.55 kindle
like "the name survives a push" "$(library)" "\\('11', 0.55, 'My book'\\)"

# Restore.
as POST /api/v1/documents/$D1/restore '{"percentage":0.25,"progress":"at-0.25"}'
like "restore" "$STATUS $BODY" "^200 \\{\"document\":\"$D1\",\"timestamp\":[0-9]+,\"restore\":true\\}$"
req GET /syncs/progress/$D1 "" $(auth u "$K")
is "a pull sees the restored position" "$(printf '%s' "$BODY" | json '(d["percentage"], d["progress"], d["device"])')" \
    "(0.25, 'at-0.25', 'kosyncd web')"
is "the official hash holds it" "$(ks_redis_cli HMGET user:u:document:$D1 percentage device | tr '\n' ' ')" "0.25 kosyncd web "
as GET /api/v1/documents/$D1
is "the replaced state is in the history" "$(printf '%s' "$BODY" | json '[e["percentage"] for e in d["history"]]')" "[0.25, 0.5, 0.55]"
as POST /api/v1/documents/0000/restore '{"percentage":0.1,"progress":"p"}'
is "restore: unknown document 404" "$STATUS" 404

# Delete.
as DELETE /api/v1/documents/$D2
is "delete" "$STATUS" 200
is "delete: no key of it left" \
    "$(ks_redis_cli EXISTS user:u:document:$D2 kosyncd:user:u:history:$D2 kosyncd:user:u:meta:$D2 kosyncd:user:u:devices:$D2)" 0
is "delete: out of the index" "$(ks_redis_cli SISMEMBER kosyncd:user:u:documents $D2)" 0
like "delete: out of the library" "$(library)" "^\\[\\('11', 0.25, 'My book'\\), \\('33'"
req GET /syncs/progress/$D2 "" $(auth u "$K")
is "delete: a pull finds nothing" "$STATUS $BODY" "200 {}"

# Restores racing with pushes: every state is kept (history unbounded).
before=$(ks_redis_cli LLEN kosyncd:user:u:history:$D1)
(
	for i in $(seq 1 30); do
		curl -s -m 10 -o /dev/null -w '%{http_code}\n' -X PUT -H "Accept: $ACCEPT" \
		    -H 'Content-Type: application/json' $(auth u "$K") \
		    --data-binary "{\"document\":\"$D1\",\"progress\":\"r$i\",\"percentage\":0.$i,\"device\":\"kobo\"}" \
		    "$KS_URL/syncs/progress"
	done >"$KS_TMP/pushes"
) &
pusher=$!
: >"$KS_TMP/restores"
for i in $(seq 1 10); do
	as POST /api/v1/documents/$D1/restore "{\"percentage\":0.0$i,\"progress\":\"w$i\"}"
	echo "$STATUS" >>"$KS_TMP/restores"
done
wait $pusher
is "racing: every push answered 200" "$(sort -u "$KS_TMP/pushes")" 200
is "racing: every restore answered 200" "$(sort -u "$KS_TMP/restores")" 200
after=$(ks_redis_cli LLEN kosyncd:user:u:history:$D1)
is "racing: one history entry per change, none lost" "$((after - before))" 40

# A merge, then the dump (export) and an import into another database
# carry the links and the user's title.
as POST /api/v1/documents/$D1/merge "{\"alias\":\"$D4\"}"
is "merge" "$STATUS" 200
is "merge: in Redis" "$(ks_redis_cli HGET kosyncd:user:u:links $D4)" "$D1"
R=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
"$KOSYNCD" --data-dir "$KS_TMP/cli" "${R[@]}" export >"$KS_TMP/dump.json" 2>/dev/null
is "export: links and title" "$(json '(d["users"]["u"]["links"], d["users"]["u"]["documents"]["'$D1'"]["pretty_name"])' <"$KS_TMP/dump.json")" \
    "({'$D4': '$D1'}, 'My book')"
"$KOSYNCD" --data-dir "$KS_TMP/cli" --storage redis --redis-address "$KS_REDIS_ADDR" \
    --redis-db 5 import kosync "$KS_TMP/dump.json" >/dev/null 2>&1
is "import into another database: exit 0" "$?" 0
is "import: the link" "$(ks_redis_cli -n 5 HGET kosyncd:user:u:links $D4)" "$D1"
is "import: the title" "$(ks_redis_cli -n 5 HGET kosyncd:user:u:meta:$D1 pretty_name)" "My book"
is "import: in the index" "$(ks_redis_cli -n 5 SISMEMBER kosyncd:user:u:documents $D1)" 1
is "import: the history" "$(ks_redis_cli -n 5 LLEN kosyncd:user:u:history:$D1)" \
    "$(json 'len(d["users"]["u"]["history"]["'$D1'"]["document_history"])' <"$KS_TMP/dump.json")"
R5=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db 5)
"$KOSYNCD" --data-dir "$KS_TMP/cli" "${R5[@]}" export >"$KS_TMP/db5a.json" 2>/dev/null
"$KOSYNCD" --data-dir "$KS_TMP/cli" "${R5[@]}" import kosync "$KS_TMP/dump.json" >"$KS_TMP/out" 2>/dev/null
like "import again: every document skipped" "$(cat "$KS_TMP/out")" "documents: 0 added, 0 updated"
"$KOSYNCD" --data-dir "$KS_TMP/cli" "${R5[@]}" export >"$KS_TMP/db5b.json" 2>/dev/null
check "  and nothing changed" cmp -s "$KS_TMP/db5a.json" "$KS_TMP/db5b.json"
# A document as new here as in the file, with another device's position
# and no title: the file's device positions and title are merged in.
ts=$(json 'd["users"]["u"]["documents"]["'$D1'"]["timestamp"]' <"$KS_TMP/dump.json")
ks_redis_cli -n 5 DEL kosyncd:user:u:devices:$D1 kosyncd:user:u:meta:$D1 >/dev/null
ks_redis_cli -n 5 HSET kosyncd:user:u:devices:$D1 id:elsewhere \
    '{"percentage":0.9,"progress":"x","device":"tablet","device_id":"elsewhere","timestamp":1}' >/dev/null
"$KOSYNCD" --data-dir "$KS_TMP/cli" "${R5[@]}" import kosync "$KS_TMP/dump.json" >/dev/null 2>&1
want=$(json '" ".join(sorted(["id:elsewhere"] + [("id:" + e["device_id"]) if e.get("device_id") else ("device:" + e["device"]) for e in d["users"]["u"]["documents"]["'$D1'"].get("devices", [])]))' <"$KS_TMP/dump.json")
is "merge into an equal document: devices of both" \
    "$(ks_redis_cli -n 5 HKEYS kosyncd:user:u:devices:$D1 | LC_ALL=C sort | paste -sd' ')" "$want"
is "  its timestamp kept" "$(ks_redis_cli -n 5 HGET user:u:document:$D1 timestamp)" "$ts"
is "  the file's title taken (ours had none)" "$(ks_redis_cli -n 5 HGET kosyncd:user:u:meta:$D1 pretty_name)" "My book"
ks_redis_cli -n 5 FLUSHDB >/dev/null
mkdir -p "$KS_TMP/filestore"
"$KOSYNCD" --data-dir "$KS_TMP/filestore" import kosync "$KS_TMP/dump.json" >/dev/null 2>&1
is "import into a file store: exit 0" "$?" 0
"$KOSYNCD" --data-dir "$KS_TMP/filestore" export >"$KS_TMP/dump2.json" 2>/dev/null
is "the file store keeps the link and the title" "$(json '(d["users"]["u"]["links"], d["users"]["u"]["documents"]["'$D1'"]["pretty_name"])' <"$KS_TMP/dump2.json")" \
    "({'$D4': '$D1'}, 'My book')"
"$KOSYNCD" --data-dir "$KS_TMP/filestore" import kosync "$KS_TMP/dump.json" >/dev/null 2>&1
"$KOSYNCD" --data-dir "$KS_TMP/filestore" export >"$KS_TMP/dump3.json" 2>/dev/null
check "importing it again changes nothing" cmp -s "$KS_TMP/dump2.json" "$KS_TMP/dump3.json"

# The registration switch and administrators, shared through Redis.
printf 'rootpw\n' >"$KS_TMP/pw"
"$KOSYNCD" --data-dir "$KS_TMP/cli" "${R[@]}" user add root --admin --stdin <"$KS_TMP/pw" >"$KS_TMP/out" 2>/dev/null
is "user add --admin" "$?:$(cat "$KS_TMP/out")" "0:kosyncd: user 'root' added (an administrator of the web interface)"
signin root rootpw "$KS_TMP/jar"
as PUT /api/v1/admin/settings '{"registration":false}'
is "registration off" "$(printf '%s' "$BODY" | json '(d["registration"], d["registration_source"])')" "(False, 'redis')"
is "saved in kosyncd:config" "$(ks_redis_cli HGET kosyncd:config disable_registration)" true
req POST /users/create "{\"username\":\"v\",\"password\":\"$K\"}"
is "registration refused here" "$STATUS" 402
URL_A=$KS_URL PID_A=$KS_PID DIR_A=$KS_DIR
mv "$KS_ERR.new" "$KS_TMP/stderr-a"
KS_DIR=$KS_TMP/inst-b
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB" \
    --enable-webui --register-per-ip 0 || { not_ok "instance B started"; done_testing; }
KS_PID_B=$KS_PID
sleep 1.5
req POST /users/create "{\"username\":\"v\",\"password\":\"$K\"}"
is "instance B: registration off too" "$STATUS" 402
KS_URL=$URL_A
as PUT /api/v1/admin/settings '{"registration":true}'
is "registration on again" "$(printf '%s' "$BODY" | json 'd["registration"]')" True
KS_URL=http://127.0.0.1:$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$KS_ERR.new" | head -n 1)
ok=
for i in $(seq 1 30); do
	req POST /users/create "{\"username\":\"v\",\"password\":\"$K\"}"
	[ "$STATUS" = 201 ] && { ok=1; break; }
	sleep 0.2
done
check "instance B: registration open again within seconds" [ -n "$ok" ]
printf 'chiefpw\n' >"$KS_TMP/pw"
"$KOSYNCD" --data-dir "$KS_TMP/cli" "${R[@]}" user add chief --admin --stdin <"$KS_TMP/pw" >"$KS_TMP/out" 2>/dev/null
is "user add --admin" "$?" 0
is "the flag is on the account, in Redis" "$(ks_redis_cli GET kosyncd:user:chief:admin)" 1
signin chief chiefpw "$KS_TMP/jar"
is "instance B: chief is an administrator" "$(printf '%s' "$BODY" | json 'd["admin"]')" True
ks_stop
KS_URL=$URL_A
signin chief chiefpw "$KS_TMP/jar"
is "instance A: so is chief, at once" "$(printf '%s' "$BODY" | json 'd["admin"]')" True
KS_PID_B=

# Redis down: the library answers 503, the server keeps running.
KS_URL=$URL_A KS_PID=$PID_A KS_DIR=$DIR_A
mv "$KS_TMP/stderr-a" "$KS_ERR.new"
ks_allow_stderr 'warn.*redis: (lost the connection|cannot connect)'
signin u pw "$KS_TMP/jar"
ks_redis_stop KILL
sleep 0.3
as GET /api/v1/documents
is "redis down: library 503" "$STATUS $BODY" '503 {"code":503,"message":"Not available with this storage right now."}'
check "the server is still running" kill -0 "$KS_PID"
ks_stop
done_testing
