#!/usr/bin/env bash
# t076-admin-redis: the account commands on storage "redis" (skipped when
# redis-server is not installed).
#
# Covers: with a server running on the same Redis (there is no control
# socket and no lock: the command works on Redis directly), user add lets
# a client log in at once; user passwd refuses the old key and accepts the
# new one at once on the running server; user list (with the devices of
# each document's device list, as the file store lists them); user del;
# export and import kosync; the file-only commands (backup, check) say
# they need storage "file".
. "$(dirname "$0")/lib.sh"

if ! command -v redis-server >/dev/null; then
	KS_N=$((KS_N + 1))
	echo "ok $KS_N # skip redis-server not installed"
	done_testing
fi
ks_redis_start || { not_ok "redis started"; done_testing; }
ks_redis_cli FLUSHDB >/dev/null
R=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
ks_allow_stderr 'redis: connected'

KS_RUN_ARGS=("${R[@]}") # lib.sh's run: the commands work on the private Redis

ks_start "${R[@]}" || { not_ok "server started"; done_testing; }
printf 'one\n' >"$KS_TMP/pw"
IN=$KS_TMP/pw run user add ann --stdin
is "add: exit 0" "$RC" 0
req GET /users/auth "" $(auth ann "$(md5 one)")
is "add: the running server lets ann in at once" "$STATUS" 200
printf 'two\n' >"$KS_TMP/pw"
IN=$KS_TMP/pw run user passwd ann --stdin
is "passwd: exit 0" "$RC" 0
req GET /users/auth "" $(auth ann "$(md5 one)")
is "passwd: the old key fails at once" "$STATUS" 401
req GET /users/auth "" $(auth ann "$(md5 two)")
is "passwd: the new key works" "$STATUS" 200
req PUT /syncs/progress '{"document":"d1","progress":"1","percentage":0.1,"device":"Kobo","device_id":"K"}' $(auth ann "$(md5 two)")
run user list --json
like "list: ann with her document" "$OUT" '"username":"ann","documents":1'
# Kindle pushes the same document: Kobo's position moves to the
# document's device list, which the list names as the file store's does.
req PUT /syncs/progress '{"document":"d1","progress":"2","percentage":0.2,"device":"Kindle","device_id":"L"}' $(auth ann "$(md5 two)")
run user list --json
like "list: the document's earlier device too" "$OUT" \
    '"username":"ann","documents":1,"last_sync":[0-9]+,"devices":\["Kindle","Kobo"\]'
run import kosync "$(cd "$(dirname "$0")/../.." && pwd)/tests/data/kosync-schema6.json"
is "import kosync: exit 0" "$RC" 0
req GET /users/auth "" $(auth alice "$(md5 alice-pass)")
is "import kosync: alice logs in on the running server" "$STATUS" 200
run export
like "export: ann is there" "$OUT" '"ann": \{'
run user del ann
is "del: exit 0" "$RC" 0
req GET /users/auth "" $(auth ann "$(md5 two)")
is "del: ann is gone at once" "$STATUS" 401
run backup
is "backup on redis: exit 1" "$RC" 1
like "backup on redis: says why" "$ERR" 'storage "file" only'
ks_stop
done_testing
