#!/usr/bin/env bash
# t114-stats-queue: how uploaded statistics files wait for their read
# (src/statsvc.h): one read per account, the latest waiting upload read
# after the running one, the others dropped; the sync protocol answers
# while a large file is read; many statistics requests at once are all
# answered; an account deleted while its upload is read and made again at
# once gets only its own figures; a shutdown while reads run and requests
# wait exits cleanly.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
BIG=$KS_TMP/big.sqlite3
JAR=$KS_TMP/jar
UA='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
JV='import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)'
jv() { python3 -c "$JV" "$1" <<<"$BODY"; }
put() {
	curl -s -S -m 60 -X PUT -u alice:s3cret -A "$UA" -o /dev/null \
	    -w '%{http_code}' --data-binary "@$1" "$KS_URL/dav/statistics.sqlite3"
}
small() { # FILE PAGES: one book read for PAGES minutes yesterday
	"$MK" build "$1" - <<JSON
{"books": [{"key": "b", "title": "Book $2", "authors": "A", "pages": 500,
   "md5": "44444444444444444444444444444444"}],
 "runs": [{"book": "b", "start": "$(date -u -d yesterday +%F)T10:00:00Z",
   "first": 1, "count": $2, "duration": 60, "total_pages": 500}]}
JSON
}

"$MK" bulk "$BIG" 300000 300 "$(($(date +%s) - 200 * 86400))"
small "$KS_TMP/s1.sqlite3" 3
small "$KS_TMP/s2.sqlite3" 7
check "the files were built" test -s "$BIG"

ks_start --storage file --enable-webui || exit 1
register alice "$(md5 s3cret)"
web POST /api/v1/login '{"username":"alice","password":"s3cret"}' -c "$JAR"

# The big file is read while two small ones come: the second small one
# is the one read after it, the first never.
is "the big upload: 201" "$(put "$BIG")" 201
is "a small upload while it is read: 204" "$(put "$KS_TMP/s1.sqlite3")" 204
is "another: 204" "$(put "$KS_TMP/s2.sqlite3")" 204
t0=$(date +%s%N)
push alice "$(md5 s3cret)" 0123456789abcdef0123456789abcdef p1
is "a push while the file is read: 200" "$STATUS" 200
ms=$((($(date +%s%N) - t0) / 1000000))
check "the push was answered at once (${ms} ms)" test "$ms" -lt 1000
for i in $(seq 1 300); do
	web GET /api/v1/stats "" -b "$JAR"
	[ "$(jv 'd["books"] == 1 and d["overview"]["seconds"] == 420')" = True ] && break
	sleep 0.1
done
is "the latest upload's figures" "$(jv 'd["books"], d["overview"]["seconds"], d["last_upload"]["size"]')" \
    "1 420 $(stat -c %s "$KS_TMP/s2.sqlite3")"
is "two files were read, the first small one never" \
    "$(grep -c "statistics of 'alice' read" "$KS_ERR.new")" 2

# Many requests at once, all answered.
pids=()
for i in $(seq 1 40); do
	curl -s -m 60 -o /dev/null -w '%{http_code}\n' -b "$JAR" "$KS_URL/api/v1/stats/books" \
	    >"$KS_TMP/code.$i" &
	pids+=($!)
done
wait "${pids[@]}" # not the server's
cat "$KS_TMP"/code.* >"$KS_TMP/codes"
is "40 requests at once: all 200" "$(sort "$KS_TMP/codes" | uniq -c | sed 's/^ *//')" "40 200"

# The account deleted while its upload is read, a new one of the same
# name uploading at once: the old read leaves nothing behind, the new
# account gets its own figures only.
is "the big upload again: 204" "$(put "$BIG")" 204
run user del alice
is "alice deleted while her file is read" "$RC" 0
register alice "$(md5 s3cret)"
is "a new alice" "$STATUS" 201
is "the new alice uploads into her own, empty tree: 201" "$(put "$KS_TMP/s1.sqlite3")" 201
web POST /api/v1/login '{"username":"alice","password":"s3cret"}' -c "$JAR"
for i in $(seq 1 300); do
	web GET /api/v1/stats "" -b "$JAR"
	[ "$(jv 'd["books"] == 1')" = True ] && break
	sleep 0.1
done
is "the new alice's figures are her own upload's" \
    "$(jv 'd["books"], d["overview"]["seconds"], d["last_upload"]["size"]')" \
    "1 180 $(stat -c %s "$KS_TMP/s1.sqlite3")"
check "her data file is there" test -s "$KS_DIR/stats/alice.data"
check "and is the small one" test "$(stat -c %s "$KS_DIR/stats/alice.data")" -lt 10000

# A shutdown while a read runs and requests wait.
put "$BIG" >/dev/null
pids=()
for i in $(seq 1 10); do
	curl -s -m 60 -o /dev/null -b "$JAR" "$KS_URL/api/v1/stats/books" &
	pids+=($!)
done
sleep 0.2
ks_stop
wait "${pids[@]}"
done_testing
