#!/usr/bin/env bash
# t119-stats-redis-vocabulary: the vocabulary builder's figures with
# --storage redis (docs/redis.md "Statistics"): a
# vocabulary_builder.sqlite3 uploaded through instance A is read once, by
# A, and kept in the account's Redis hash (field "vocab"); instance B shows
# the same /api/v1/stats/vocabulary without reading the file; a refused
# upload's reason reaches B with the figures kept; a restart of B with an
# empty data directory loads it from Redis and reads nothing; a damaged
# "vocab" field is left out (no crash, no vocabulary); deleting the
# account removes it.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
MK=$(dirname "$0")/../mkstats.py
V=$KS_TMP/vocabulary_builder.sqlite3
JAR=$KS_TMP/jara
. "$(dirname "$0")/statslib.sh"
FUTURE=$(($(date +%s) + 30 * 86400))

"$MK" vocab "$V" - <<JSON
{"titles": ["Moby Dick", "Dune"],
 "words": [
  {"word": "leviathan", "title": "Moby Dick", "create": "2026-03-01T10:00:00Z", "due": 1000, "review_count": 2},
  {"word": "harpoon", "title": "Moby Dick", "create": "2026-03-02T10:00:00Z", "due": $FUTURE},
  {"word": "melange", "title": "Dune", "create": "2026-04-05T10:00:00Z", "due": $FUTURE, "review_count": 1}]}
JSON
check "the vocabulary file was built" test -s "$V"
put() {
	STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u alice:s3cret -A 'KOReader/v2026.07' \
	    --data-binary "@$1" -X PUT "$KS_URL_A/dav/koreader/vocabulary_builder.sqlite3")
}
VOC='d["vocabulary"] and (d["vocabulary"]["words"], d["vocabulary"]["due"], d["vocabulary"]["reviewed"], [(b["title"], b["words"]) for b in d["vocabulary"]["books"]])'

ks_redis_start || { not_ok "redis started"; done_testing; }
ks_redis_cli FLUSHDB >/dev/null
start_two --enable-webui || { not_ok "servers started"; done_testing; }
K=$(md5 s3cret)
on A POST /users/create '{"username":"alice","password":"'"$K"'"}'
is "registered through A" "$STATUS" 201
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u alice:s3cret "$KS_URL_A/dav/koreader")
is "MKCOL through A" "$STATUS" 201
put "$V"
is "PUT of vocabulary_builder.sqlite3 through A" "$STATUS" 201

use A
signin alice s3cret "$JAR"
wait_json /api/v1/stats/vocabulary 'd["vocabulary"] is not None'
WANT=$(jv "$VOC")
is "A read it" "$WANT" "3 1 2 [('Moby Dick', 2), ('Dune', 1)]"
check "the vocabulary is in Redis" test "$(ks_redis_cli HSTRLEN kosyncd:user:alice:stats vocab)" -gt 8

use B
JAR=$KS_TMP/jarb
signin alice s3cret "$JAR"
web GET /api/v1/stats/vocabulary "" -b "$JAR"
is "B: the same vocabulary" "$STATUS $(jv "$VOC")" "200 $WANT"
is "B: no refusal" "$(jv 'd["refused"]')" None
web GET /api/v1/stats "" -b "$JAR"
is "B: the upload listed" "$(jv '[(u["file"], u["accepted"]) for u in d["uploads"]]')" \
    "[('vocabulary_builder.sqlite3', True)]"
is "only A read the upload" \
    "$(grep -c "vocabulary of 'alice' read" "$KS_ERR_A" "$KS_ERR.new" | cut -d: -f2 | tr '\n' ' ')" "1 0 "

# A refused upload through A: B shows the reason and the figures kept.
printf 'no database here\n%.0s' $(seq 1 40) >"$KS_TMP/bad"
put "$KS_TMP/bad"
is "a hostile PUT through A" "$STATUS" 204
wait_json /api/v1/stats/vocabulary 'd["refused"] is not None'
is "B: the reason, the figures kept" "$(jv 'd["refused"]') | $(jv "$VOC")" \
    "not an SQLite database | $WANT"

# B again from an empty data directory: loaded from Redis, nothing read.
ks_stop
rm -rf "$KS_TMP/inst-b"
KS_DIR=$KS_TMP/inst-b
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB" \
    --enable-webui || { not_ok "B restarted"; done_testing; }
for i in $(seq 1 50); do
	grep -q 'statistics of 1 accounts loaded from redis' "$KS_ERR.new" && break
	sleep 0.1
done
KS_URL_B=$KS_URL
signin alice s3cret "$JAR"
web GET /api/v1/stats/vocabulary "" -b "$JAR"
is "B after a restart: the vocabulary from Redis" "$(jv "$VOC")" "$WANT"
is "B's new log reads nothing" "$(grep -c "vocabulary of 'alice' read" "$KS_ERR.new")" 0

# A damaged field: left out, no crash.
ks_redis_cli HSET kosyncd:user:alice:stats vocab KSVOCAB1garbage >/dev/null
ks_redis_cli HINCRBY kosyncd:user:alice:stats gen 1 >/dev/null
web GET /api/v1/stats/vocabulary "" -b "$JAR"
is "a damaged vocab field: none shown" "$STATUS $(jv 'd["vocabulary"]')" "200 None"
web GET /api/v1/stats "" -b "$JAR"
is "a damaged vocab field: the rest shown" "$STATUS $(jv 'len(d["uploads"])')" "200 2"

on A DELETE /users/me "" $(auth alice "$K")
is "the account deleted through A" "$STATUS" 200
sleep 0.5
is "its vocabulary went from Redis" "$(ks_redis_cli EXISTS kosyncd:user:alice:stats)" 0
stop_two
done_testing
