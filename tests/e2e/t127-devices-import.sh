#!/usr/bin/env bash
# t127-devices-import: device credentials travel with the data
# (docs/devices.md, docs/redis.md, docs/migrating.md).
#
# Covers: `kosyncd export` holds them (label, argon2id key, a revoked one,
# devices_only, the last use and the audit); `import kosync` of that file
# into an empty file store and into Redis carries them for the accounts
# it adds (the device password signs in, the revoked one does not,
# devices-only holds, labels, last use and audit listed); an account that
# exists keeps its own; `kosyncd import redis` (Redis -> file) and
# `kosyncd export redis` (file -> Redis) carry them; backup and restore
# keep them; a password change on Redis keeps them (the protocol's and the
# administrator's).
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
UA='KOReader/v2026.07.2 (Kobo; Linux; arm) LuaSocket/3.1.0'
ks_redis_start || { not_ok "redis started"; done_testing; }
R=(--redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")

add() {
	run device add "$1" "$2"
	DEV_ID=$(printf '%s\n' "$OUT" | sed -n 's/^kosyncd: device credential \([a-z0-9]*\) .*/\1/p')
	DEV_PW=$(printf '%s\n' "$OUT" | sed -n 's/^password: //p' | tr -d ' ')
}
get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The source: a file store with ann, two credentials (one revoked),
# devices-only, a use.
SRC=$KS_TMP/src
KS_DIR=$SRC
mkdir -p "$SRC"
pw 'acct pass'
run user add ann --stdin
add ann "Kobo Libra 2"
ID1=$DEV_ID KEY1=$(md5 "$DEV_PW")
add ann Boox
ID2=$DEV_ID KEY2=$(md5 "$DEV_PW")
run device revoke ann "$ID2"
run user devices-only ann on
ACCT=$(md5 'acct pass')
ks_start --storage file || { not_ok "source started"; done_testing; }
req PUT /syncs/progress '{"document":"d1","progress":"/p[1]","percentage":0.1,"device":"Kobo","device_id":"K1"}' $(auth ann "$KEY1") -A "$UA"
is "source: push with the device password" "$STATUS" 200
ks_stop

run export "$KS_TMP/db.json"
is "export: exit 0" "$RC" 0
is "export: the credentials, the revoked one, devices-only" \
    "$(get '",".join(sorted(d["users"]["ann"]["device_credentials"])) + " " + str(d["users"]["ann"]["devices_only"])' <"$KS_TMP/db.json")" \
    "$(printf '%s\n' "$ID1" "$ID2" | sort | paste -sd,) True"
is "export: the audit" "$(get 'd["users"]["ann"]["device_credentials"]["'"$ID1"'"]["audit"][0]["what"]' <"$KS_TMP/db.json")" push

# check_store WHAT: the credentials work on the running server.
check_store() {
	req GET /users/auth "" $(auth ann "$KEY1")
	is "$1: the device password signs in" "$STATUS" 200
	req GET /syncs/progress/d1 "" $(auth ann "$KEY1")
	like "$1: ... and pulls" "$BODY" '"progress":"/p\[1\]"'
	req GET /users/auth "" $(auth ann "$KEY2")
	is "$1: the revoked one stays revoked" "$STATUS" 401
	req GET /users/auth "" $(auth ann "$ACCT")
	is "$1: devices-only holds" "$STATUS" 401
	run device list ann --json
	like "$1: labels and last use listed" "$OUT" "\"id\":\"$ID1\",\"label\":\"Kobo Libra 2\",\"created\":[0-9]+,\"revoked\":false"
	like "$1: the revoked one listed" "$OUT" "\"id\":\"$ID2\",\"label\":\"Boox\",\"created\":[0-9]+,\"revoked\":true"
}

# Into an empty file store.
KS_DIR=$KS_TMP/file2
mkdir -p "$KS_DIR"
run import kosync "$KS_TMP/db.json"
is "import kosync into a file store: exit 0" "$RC" 0
ks_start --storage file || { not_ok "file2 started"; done_testing; }
check_store "file import"
like "file import: the last use carried" "$OUT" '"device":"Kobo","device_id":"K1"'
run device audit ann "$ID1" --json
is "file import: the audit carried" "$(printf '%s' "$OUT" | get '[e["what"] + " " + e.get("document", "-") for e in d["audit"]][-1]')" "push d1"
ks_stop

# Into Redis (import kosync with storage redis).
KS_DIR=$KS_TMP/redis1
mkdir -p "$KS_DIR"
KS_RUN_ARGS=(--storage redis "${R[@]}")
run import kosync "$KS_TMP/db.json"
is "import kosync into Redis: exit 0" "$RC" 0
like "import kosync into Redis: the account added" "$OUT" 'users: 1 added'
ks_start --storage redis "${R[@]}" || { not_ok "redis server started"; done_testing; }
check_store "redis import"
like "redis import: the last use carried" "$OUT" '"device":"Kobo","device_id":"K1"'
run device audit ann "$ID1" --json
is "redis import: the audit carried" "$(printf '%s' "$OUT" | get '[e["what"] + " " + e.get("document", "-") for e in d["audit"]][-1]')" "push d1"

# A password change on Redis keeps them: the protocol's, the admin's.
run user devices-only ann off
req PUT /users/password "{\"password\":\"$(md5 'new pass')\"}" $(auth ann "$ACCT")
is "redis: password change" "$STATUS" 200
req GET /users/auth "" $(auth ann "$KEY1")
is "redis: the protocol's password change keeps the credential" "$STATUS" 200
pw 'third pass'
run user passwd ann --stdin
is "redis: user passwd" "$RC" 0
req GET /users/auth "" $(auth ann "$KEY1")
is "redis: the administrator's password change keeps it" "$STATUS" 200
run user devices-only ann on
ks_stop

# An account that exists keeps its own credentials.
run import kosync "$KS_TMP/db.json"
is "import again: exit 0" "$RC" 0
is "import again: one credential list, unchanged" \
    "$(ks_redis_cli HLEN kosyncd:user:ann:credentials)" 3

# Redis -> a file store (import redis), then file -> an empty Redis.
KS_RUN_ARGS=()
KS_DIR=$KS_TMP/file3
mkdir -p "$KS_DIR"
out=$("$KOSYNCD" import redis --data-dir "$KS_DIR" "${R[@]}" 2>"$KS_TMP/err")
is "import redis: exit 0" "$?" 0
ks_start --storage file || { not_ok "file3 started"; done_testing; }
KEY_ACCT3=$(md5 'third pass')
ACCT=$KEY_ACCT3
check_store "import redis"
run device audit ann "$ID1" --json
is "import redis: the audit carried" "$(printf '%s' "$OUT" | get '[e["what"] for e in d["audit"]][-1]')" push
ks_stop
ks_redis_cli FLUSHDB >/dev/null
out=$("$KOSYNCD" export redis --data-dir "$KS_DIR" "${R[@]}" 2>"$KS_TMP/err")
is "export redis: exit 0" "$?" 0
KS_DIR=$KS_TMP/redis2
mkdir -p "$KS_DIR"
KS_RUN_ARGS=(--storage redis "${R[@]}")
ks_start --storage redis "${R[@]}" || { not_ok "redis server started"; done_testing; }
check_store "export redis"
ks_stop

# Backup and restore (file).
KS_RUN_ARGS=()
KS_DIR=$KS_TMP/file3
run backup
BAK=$OUT
run device revoke ann "$ID1"
run restore "$BAK"
is "restore: exit 0" "$RC" 0
ks_start --storage file || { not_ok "file3 restarted"; done_testing; }
check_store "restore"
ks_stop

done_testing
