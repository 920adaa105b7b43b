#!/usr/bin/env bash
# t115-stats-redis: reading statistics with --storage redis (docs/redis.md
# "Statistics"): a statistics.sqlite3 uploaded through instance A is read
# once, by A; instance B shows the same figures (overview, books, the last
# upload) and the book's title on an md5 document without reading the
# file; settings made through B are A's too; a restart of B with an empty
# data directory loads every account's figures from Redis (titles before
# any dashboard) and reads nothing again; deleting the account through A
# removes the figures from Redis, and B shows a new account of the name
# none of them.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
MK=$(dirname "$0")/../mkstats.py
F=$KS_TMP/stats.sqlite3
S=11111111111111111111111111111111
D1=$(date -u -d 'yesterday' +%F)
JV='import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)'
jv() { python3 -c "$JV" "$1" <<<"$BODY"; }
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
"$MK" build "$F" - <<JSON
{"books": [
  {"key": "s", "title": "Shared", "authors": "Ann", "pages": 300,
   "md5": "$S", "last_open": 1767000000},
  {"key": "k", "title": "Other", "authors": "Y", "pages": 120,
   "md5": "22222222222222222222222222222222", "last_open": 1766900000}],
 "runs": [
  {"book": "s", "start": "${D1}T20:00:00Z", "first": 1, "count": 20,
   "duration": 45, "gap": 5, "total_pages": 300},
  {"book": "k", "start": "${D1}T21:00:00Z", "first": 10, "count": 10,
   "duration": 90, "total_pages": 120}]}
JSON
check "the file was built" test -s "$F"

ks_redis_start || { not_ok "redis started"; done_testing; }
ks_redis_cli FLUSHDB >/dev/null
start_two --enable-webui || { not_ok "servers started"; done_testing; }
K=$(md5 s3cret)
on A POST /users/create '{"username":"alice","password":"'"$K"'"}'
is "registered through A" "$STATUS" 201
push alice "$K" $S pos-1
is "a progress of the md5 document (no title)" "$STATUS" 200
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u alice:s3cret "$KS_URL_A/dav/koreader")
is "MKCOL through A" "$STATUS" 201
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u alice:s3cret -A 'KOReader/v2026.07' \
    --data-binary "@$F" -X PUT "$KS_URL_A/dav/koreader/statistics.sqlite3")
is "PUT of statistics.sqlite3 through A" "$STATUS" 201

use A
signin alice s3cret "$KS_TMP/jara"
for i in $(seq 1 100); do
	web GET /api/v1/stats "" -b "$KS_TMP/jara"
	[ "$(jv 'd["figures_from"] is not None')" = True ] && break
	sleep 0.1
done
is "A read it: two books" "$(jv 'd["books"], d["refused"]')" "2 None"
a_seconds=$(jv 'd["overview"]["seconds"]')
check "A: reading time counted ($a_seconds s)" test "$a_seconds" -gt 0
like "the figures are in Redis" "$(ks_redis_cli HGET kosyncd:user:alice:stats gen)" '^[0-9]+$'

use B
signin alice s3cret "$KS_TMP/jarb"
web GET /api/v1/stats "" -b "$KS_TMP/jarb"
is "B: the same books and time, no refusal" \
    "$(jv 'd["books"], d["overview"]["seconds"], d["refused"]')" "2 $a_seconds None"
is "B: the last upload's agent" "$(jv 'd["last_upload"]["user_agent"]')" 'KOReader/v2026.07'
web GET /api/v1/documents/$S "" -b "$KS_TMP/jarb"
is "B: the md5 document has the book's title" "$(jv 'd["title"], d.get("title_from")')" "Shared statistics"
is "only A read the upload" \
    "$(grep -c "statistics of 'alice' read" "$KS_ERR_A" "$KS_ERR.new" | cut -d: -f2 | tr '\n' ' ')" "1 0 "

web PUT /api/v1/stats/settings '{"timezone":"Europe/Paris","day_start":"04:00"}' \
    -b "$KS_TMP/jarb" -H "X-CSRF-Token: $CSRF"
is "settings through B" "$STATUS" 200
use A
web GET /api/v1/stats "" -b "$KS_TMP/jara"
is "A shows B's settings" "$(jv 'd["timezone"]')" "Europe/Paris"

# B again from an empty data directory: nothing read again.
use B
ks_stop
rm -rf "$KS_TMP/inst-b"
KS_DIR=$KS_TMP/inst-b
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB" \
    --enable-webui || { not_ok "B restarted"; done_testing; }
signin alice s3cret "$KS_TMP/jarb"
for i in $(seq 1 50); do
	grep -q 'statistics of 1 accounts loaded from redis' "$KS_ERR.new" && break
	sleep 0.1
done
like "B loaded the figures from Redis at the start" "$(cat "$KS_ERR.new")" \
    'statistics of 1 accounts loaded from redis'
web GET /api/v1/documents/$S "" -b "$KS_TMP/jarb"
is "B after a restart: the title, before any dashboard" \
    "$(jv 'd["title"], d.get("title_from")')" "Shared statistics"
web GET /api/v1/stats "" -b "$KS_TMP/jarb"
is "B after a restart: the figures, not read again" \
    "$(jv 'd["books"], d["overview"]["seconds"], d["timezone"]')" "2 $a_seconds Europe/Paris"
is "B's new log reads nothing" "$(grep -c "statistics of 'alice' read" "$KS_ERR.new")" 0

KS_URL_B=$KS_URL
on A DELETE /users/me "" $(auth alice "$K")
is "the account deleted through A" "$STATUS" 200
sleep 0.5
is "its figures went from Redis" "$(ks_redis_cli EXISTS kosyncd:user:alice:stats)" 0
on A POST /users/create '{"username":"alice","password":"'"$K"'"}'
is "a new alice through A" "$STATUS" 201
use B
signin alice s3cret "$KS_TMP/jarb"
web GET /api/v1/stats "" -b "$KS_TMP/jarb"
is "B shows the new alice none of the old one's figures" \
    "$(jv 'd["books"], d["figures_from"], d["timezone"]')" "0 None UTC"
stop_two
done_testing
