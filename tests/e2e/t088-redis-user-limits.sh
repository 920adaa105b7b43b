#!/usr/bin/env bash
# t088-redis-user-limits: per-user limits on the Redis backend (the file
# and memory backends: t038; docs/security.md).
#
# Covers: past user_max_documents (the size of the documents set) a push
# of a new document gets 507 {"code":2008} and writes nothing to Redis,
# an update of a document it has still works, another user is not
# affected, a document deleted from the web interface makes room; the push
# script keeps kosyncd:user:<name>:usage (bytes, history) equal to what
# the admin API computes from the data (strings + 16 per record), through
# pushes from two devices, history at history_limit, metadata, a rename, a
# merge and a delete; past user_max_bytes a push that grows the account
# gets 507 and the pull shows the old state, while one of the same size
# still works; a web rename past it gets 507 JSON; at user_max_history a
# push drops the oldest entry of its own document (a document without
# history keeps none); deleting the account removes its usage key; a
# counter never goes below 0 when data written before it shrinks.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
K=$(md5 pw)
KV=$(md5 vw)
D1=11111111111111111111111111111111
D2=22222222222222222222222222222222
D3=33333333333333333333333333333333
LIMIT='{"code":2008,"message":"Storage limit of this account reached."}'

pull() { req GET /syncs/progress/$2 "" $(auth "$1" "$K"); echo "$STATUS $(printf '%s' "$BODY" | sed -n 's/.*"progress":"\([^"]*\)".*/\1/p')"; }
long() { python3 -c "print('x' * $1)"; }
signin() { # USER PASSWORD: the session in $KS_TMP/jar-USER, CSRF
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$KS_TMP/jar-$1"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() { # USER METHOD PATH [BODY]
	local u=$1
	shift
	web "$1" "$2" "${3-}" -b "$KS_TMP/jar-$u" -H "X-CSRF-Token: $CSRF"
}
# usage USER: "documents bytes history" from the admin API (computed from
# the data) and "| bytes history" of the counters the scripts keep.
usage() {
	signin root toor
	as root GET /api/v1/admin/users
	printf '%s' "$BODY" | json "' '.join('%s %s %s' % (u['documents'], u['bytes'], u['history']) for u in d['users'] if u['username'] == '$1')" | tr -d '\n'
	echo " | $(ks_redis_cli HGET "kosyncd:user:$1:usage" bytes) $(ks_redis_cli HGET "kosyncd:user:$1:usage" history)"
}

# --- Documents.
ks_start_backend redis --user-max-documents 2 --enable-webui \
    --register-per-ip 0 || exit 1
# The admin commands (user admin root on) go to the same Redis.
KS_RUN_ARGS=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
register root "$(md5 toor)"
run user admin root on >/dev/null
register u "$K"
register v "$KV"
push u "$K" $D1 a1
push u "$K" $D2 b1
is "two documents" "$STATUS" 200
push u "$K" $D3 c1
is "a third document: 507 JSON" "$STATUS $CTYPE $BODY" "507 application/json $LIMIT"
is "  nothing stored" "$(pull u $D3) $(ks_redis_cli EXISTS user:u:document:$D3) $(ks_redis_cli SCARD kosyncd:user:u:documents)" "200  0 2"
push u "$K" $D1 a2
is "an update of a document it has: 200" "$STATUS" 200
push v "$KV" $D3 v1
is "another user is not affected" "$STATUS" 200
is "usage: the counters match the data" "$(usage u)" "2 120 0 | 120 "
signin u pw
as u DELETE /api/v1/documents/$D2
is "a document deleted from the web interface" "$STATUS" 200
push u "$K" $D3 c1
is "  makes room" "$STATUS" 200
ks_stop

# --- Usage through pushes, history, metadata, rename, merge, delete.
ks_start_backend redis --store-history --history-limit 2 --enable-webui \
    --register-per-ip 0 || exit 1
register root "$(md5 toor)"
run user admin root on >/dev/null
register u "$K"
push u "$K" $D1 p1 kobo '{"title":"Moby Dick","authors":"Herman Melville"}'
push u "$K" $D1 p22 kindle
push u "$K" $D1 p333 kobo
push u "$K" $D1 p4444 phone
push u "$K" $D2 q1 kobo '{"filename":"emma.epub"}'
push u "$K" $D2 q22 kobo '{"title":"Emma"}'
is "pushes: the counters match the data" "$(usage u | sed 's/^\([0-9]* \)\([0-9]*\) \([0-9]*\) | \2 \3$/\1same/')" "2 same"
signin u pw
as u PUT /api/v1/documents/$D1/name '{"name":"The Whale"}'
as u POST /api/v1/documents/$D1/merge "{\"alias\":\"$D2\"}"
is "a merge" "$STATUS" 200
is "rename, merge: the counters match the data" "$(usage u | sed 's/^\([0-9]* \)\([0-9]*\) \([0-9]*\) | \2 \3$/\1same/')" "2 same"
signin u pw
as u DELETE /api/v1/documents/$D1
is "delete (the merged document's own record is back): the counters match the data" \
    "$(usage u | sed 's/^\([0-9]* \)\([0-9]*\) \([0-9]*\) | \2 \3$/\1same/')" "1 same"
req DELETE /users/me "" $(auth u "$K")
is "the account deleted" "$STATUS" 200
is "  its usage key with it" "$(ks_redis_cli EXISTS kosyncd:user:u:usage)" 0
ks_stop

# --- Bytes: each document is 32 + 400 + 4 + 6 + 16 = 458 bytes.
ks_start_backend redis --user-max-bytes 1000 --enable-webui \
    --register-per-ip 0 || exit 1
register root "$(md5 toor)"
run user admin root on >/dev/null
register u "$K"
push u "$K" $D1 "$(long 400)"
push u "$K" $D2 "$(long 400)"
is "two documents within the bytes" "$STATUS $(usage u)" "200 2 916 0 | 916 "
push u "$K" $D3 "$(long 400)"
is "a third one past the bytes: 507" "$STATUS $BODY" "507 $LIMIT"
push u "$K" $D2 "$(long 500)"
is "a longer position past the bytes: 507" "$STATUS $BODY" "507 $LIMIT"
is "  the old position stays" "$(pull u $D2 | cut -c1-8) $(usage u)" "200 xxxx 2 916 0 | 916 "
push u "$K" $D2 "$(long 399)y"
is "a position of the same size: 200" "$STATUS" 200
signin u pw
as u PUT /api/v1/documents/$D1/name "{\"name\":\"$(long 100)\"}"
is "a rename past the bytes: 507 JSON" "$STATUS $BODY" '507 {"code":507,"message":"Storage limit of this account reached."}'
as u PUT /api/v1/documents/$D1/name '{"name":"Emma"}'
is "a short one fits" "$STATUS $(usage u)" "200 2 920 0 | 920 0"
# Data from before the counters (written by hand here) is not in them;
# a push that shrinks it leaves the counter at 0, never below.
register w "$KV"
ks_redis_cli HSET user:w:document:$D1 percentage 0.1 progress "$(long 300)" \
    device kobo device_id kobo-1 timestamp 1700000000 >/dev/null
push w "$KV" $D1 short
is "a counter never goes below 0" "$STATUS $(ks_redis_cli HGET kosyncd:user:w:usage bytes)" "200 0"
ks_stop

# --- History: the account holds 3 entries at most.
ks_start_backend redis --store-history --history-limit 0 --user-max-history 3 \
    --enable-webui --register-per-ip 0 || exit 1
register root "$(md5 toor)"
run user admin root on >/dev/null
register u "$K"
for p in p1 p2 p3 p4 p5; do push u "$K" $D1 $p; done
push u "$K" $D2 q1
push u "$K" $D2 q2
is "pushes at the history limit: 200" "$STATUS" 200
is "the oldest entries of its own document go" \
    "$(ks_redis_cli LRANGE kosyncd:user:u:history:$D1 0 -1 | json_lines=1 python3 -c 'import json,sys; print(",".join(json.loads(l)["progress"] for l in sys.stdin))')" "p2,p3,p4"
is "a document without history keeps none" "$(ks_redis_cli LLEN kosyncd:user:u:history:$D2)" 0
is "usage" "$(usage u | sed 's/^\([0-9]* \)\([0-9]*\) \([0-9]*\) | \2 \3$/\1same \3/')" "2 same 3"
ks_stop
done_testing
