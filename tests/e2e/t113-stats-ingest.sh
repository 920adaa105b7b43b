#!/usr/bin/env bash
# t113-stats-ingest: statistics.sqlite3 uploaded over WebDAV is read in the
# background and its figures served by /api/v1/stats (docs/statistics.md,
# docs/api.md).
#
# Covers: two simulated devices (a Kobo, then a phone that merged the
# Kobo's file, tests/mkstats.py) upload through WebDAV with curl; the
# overview, the days (?from, ?to) and the books equal what `kosyncd stats`
# computes from the same file; books finished (progress >= 99 %); the last upload's time, size and
# User-Agent; a "stats" event to open pages; a document known only by its md5 gets the book's title and
# authors in the document list and detail (title_from), its stored record
# unchanged; a hostile upload (not SQLite) shows its reason and keeps the
# previous figures; a MOVE onto statistics.sqlite3 is read too; the time
# zone and day start (validated: unknown zone, bad time 400); bad dates
# 400; another account sees none of it; a restart keeps figures, reason and
# settings without reading the upload again; deleting the account (web,
# control socket, or offline before a start) removes its statistics files.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
A=$KS_TMP/kobo.sqlite3
M=$KS_TMP/merged.sqlite3
B=$KS_TMP/phone.sqlite3
JAR=$KS_TMP/jar
JARB=$KS_TMP/jarb
UA_KOBO='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
UA_PHONE='KOReader/v2025.10 (Android; Linux; arm64; https://github.com/koreader/koreader) LuaSocket/3.0.0'
S=11111111111111111111111111111111
D1=$(date -u -d 'yesterday' +%F)
D2=$(date -u -d '2 days ago' +%F)
D3=$(date -u -d '3 days ago' +%F)

# jv EXPR, cv EXPR: EXPR on the JSON of $BODY, of $OUT (d); a tuple is
# printed as its items separated by spaces.
JV='import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)'
jv() { python3 -c "$JV" "$1" <<<"$BODY"; }
cv() { python3 -c "$JV" "$1" <<<"$OUT"; }
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
# put FILE UA [PATH]: upload FILE as alice's statistics.sqlite3 (as
# $DAV_USER, user:password, when set).
put() {
	STATUS=$(curl -s -S -m 30 -X PUT -u "${DAV_USER:-alice:s3cret}" -A "$2" -o /dev/null \
	    -w '%{http_code}' --data-binary "@$1" \
	    "$KS_URL/dav/${3:-koreader/statistics.sqlite3}")
}
# wait_for EXPR: poll GET /api/v1/stats until the Python EXPR is true.
wait_for() {
	local i
	for i in $(seq 1 100); do
		web GET /api/v1/stats "" -b "$JAR"
		[ "$STATUS" = 200 ] && [ "$(jv "$1")" = True ] && return 0
		sleep 0.1
	done
	echo "# gave up waiting for: $1"
	echo "# $BODY"
	return 1
}

"$MK" build "$A" - <<JSON
{"books": [
  {"key": "s", "title": "Shared", "authors": "Ann\nBob", "pages": 300,
   "md5": "$S", "last_open": 1767000000},
  {"key": "k", "title": "Kobo only", "authors": "Y", "pages": 120,
   "md5": "22222222222222222222222222222222", "last_open": 1766900000}],
 "runs": [
  {"book": "s", "start": "${D3}T20:00:00Z", "first": 1, "count": 20,
   "duration": 45, "gap": 5, "total_pages": 300},
  {"book": "k", "start": "${D2}T21:00:00Z", "first": 10, "count": 10,
   "duration": 90, "total_pages": 120}]}
JSON
"$MK" build "$B" - <<JSON
{"books": [
  {"key": "s", "title": "Shared", "authors": "Ann\nBob", "pages": 300,
   "md5": "$S", "last_open": 1767100000},
  {"key": "p", "title": "Phone only", "authors": "Z", "pages": 50,
   "md5": "33333333333333333333333333333333", "last_open": 1767150000}],
 "runs": [
  {"book": "s", "start": "${D1}T07:15:00Z", "first": 41, "count": 30,
   "duration": 30, "total_pages": 300},
  {"book": "p", "start": "${D1}T06:00:00Z", "first": 1, "count": 4,
   "duration": 120, "total_pages": 50}]}
JSON
"$MK" merge "$M" "$A" "$B"
check "the files were built" test -s "$A" -a -s "$M"

ks_start --storage file --enable-webui || exit 1
register alice "$(md5 s3cret)"
register bob "$(md5 b0b)"
push alice "$(md5 s3cret)" $S pos-1
is "alice pushed the shared book's progress (no title)" "$STATUS" 200
signin alice s3cret "$JAR"
is "alice signed in" "$STATUS" 200
signin bob b0b "$JARB"
CSRFB=$CSRF
signin alice s3cret "$JAR"

web GET /api/v1/stats "" -b "$JAR"
is "no upload yet: 200" "$STATUS" 200
is "no upload yet: no figures" "$(jv 'd["overview"], d["books"], d["last_upload"], d["refused"], d["timezone"]')" \
    "None 0 None None UTC"
web GET /api/v1/stats
is "signed out: 401" "$STATUS" 401

# Device 1: the Kobo's first sync (GET 404, unconditional PUT).
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u alice:s3cret "$KS_URL/dav/koreader")
is "MKCOL koreader" "$STATUS" 201
put "$A" "$UA_KOBO"
is "the Kobo's PUT is answered at once: 201" "$STATUS" 201
wait_for 'd["figures_from"] is not None'
run stats "$A" --now "$(date +%s)"
is "kobo: the seconds of kosyncd stats" "$(jv 'd["overview"]["seconds"]')" "$(cv 'd["overview"]["seconds"]')"
is "kobo: two books, the upload's agent and size" \
    "$(jv 'd["books"], d["last_upload"]["user_agent"], d["last_upload"]["size"]')" \
    "2 $UA_KOBO $(stat -c %s "$A")"

# Device 2: the phone downloads, merges, uploads; an open page is told.
last=$(curl -s -m 5 -b "$JAR" -H 'Last-Event-ID: 0' "$KS_URL/api/v1/events" | sed -n 's/^id: //p' | tail -n 1)
curl -s -N -m 10 -b "$JAR" -H "Last-Event-ID: ${last:-0}" "$KS_URL/api/v1/events" >"$KS_TMP/sse" &
sse=$!
sleep 0.3
put "$M" "$UA_PHONE"
is "the phone's PUT replaces the file: 204" "$STATUS" 204
wait_for "d['last_upload']['user_agent'] == '$UA_PHONE'"
wait $sse
like "SSE: the read is announced to open pages" "$(cat "$KS_TMP/sse")" "event: change
data: \\{\"kind\":\"stats\",\"document\":\"\",\"timestamp\":[0-9]+\\}"
run stats "$M" --now "$(date +%s)"
is "merged: the overview of kosyncd stats" \
    "$(jv '[d["overview"][k] for k in ("seconds", "days_read", "streak")]')" \
    "$(cv '[d["overview"][k] for k in ("seconds", "days_read", "streak")]')"
is "merged: three books, no refusal" "$(jv 'd["books"], d["refused"]')" "3 None"
is "merged: the file's counts" "$(jv 'd["file"]')" "$(cv 'd["file"]')"
is "no book finished yet (the progress is at 50 %)" \
    "$(jv 'd["overview"]["today"]["books_finished"], d["overview"]["year"]["books_finished"]')" "0 0"
req PUT /syncs/progress "{\"document\":\"$S\",\"progress\":\"end\",\"percentage\":0.995,\"device\":\"kobo\",\"device_id\":\"K1\"}" \
    $(auth alice "$(md5 s3cret)")
is "the shared book read to 99.5 %" "$STATUS" 200
web GET /api/v1/stats "" -b "$JAR"
is "books finished today, this week, month, year: the one at 99.5 %" \
    "$(jv 'tuple(d["overview"][k]["books_finished"] for k in ("today", "week", "month", "year"))')" "1 1 1 1"
req PUT /syncs/progress "{\"document\":\"$S\",\"progress\":\"pos-1\",\"percentage\":0.5,\"device\":\"kobo\",\"device_id\":\"K1\"}" \
    $(auth alice "$(md5 s3cret)")
web GET "/api/v1/stats/days?from=$D3&to=$D1" "" -b "$JAR"
is "days: 200" "$STATUS" 200
is "days: as kosyncd stats" "$(jv '[(x["date"], x["seconds"], x["pages"]) for x in d["days"]]')" \
    "$(cv '[(x["date"], x["seconds"], x["pages"]) for x in d["days"]]')"
web GET "/api/v1/stats/days?from=$D1&to=$D1" "" -b "$JAR"
is "days: one day" "$(jv '[x["date"] for x in d["days"]]')" "['$D1']"
web GET /api/v1/stats/days "" -b "$JAR"
is "days: all without from and to" "$(jv 'len(d["days"])')" "$(cv 'len(d["days"])')"
for q in from=2026-02-30 "from=$D1&to=$D3" to=yesterday from=; do
	web GET "/api/v1/stats/days?$q" "" -b "$JAR"
	is "days ?$q: 400" "$STATUS" 400
done
web GET /api/v1/stats/books "" -b "$JAR"
is "books: as kosyncd stats" \
    "$(jv 'sorted((b["md5"], b["title"], b["seconds"], b["pages_read"]) for b in d["books"])')" \
    "$(cv 'sorted((b["md5"], b["title"], b["seconds"], b["pages_read"]) for b in d["books"])')"

# Titles for hashes.
web GET /api/v1/documents "" -b "$JAR"
is "documents: the title and authors of the statistics" \
    "$(jv '[(x["document"], x["title"], x["authors"], x.get("title_from")) for x in d["documents"]]')" \
    "[('$S', 'Shared', 'Ann, Bob', 'statistics')]"
web GET /api/v1/documents/$S "" -b "$JAR"
is "document: the title joined" "$(jv 'd["title"], d.get("title_from")')" "Shared statistics"
req GET /syncs/progress/$S "" $(auth alice "$(md5 s3cret)")
is "the stored progress is unchanged" "$(printf '%s' "$BODY" | json 'd.get("title"), d["progress"]')" "None pos-1"

# A hostile upload: refused with its reason, the figures kept.
SECONDS_BEFORE=$(jv 'd["overview"]["seconds"]' 2>/dev/null)
web GET /api/v1/stats "" -b "$JAR"
SECONDS_BEFORE=$(jv 'd["overview"]["seconds"]')
printf 'this is not a database at all, only some text to upload here\n%.0s' $(seq 1 20) >"$KS_TMP/bad"
put "$KS_TMP/bad" "$UA_KOBO"
is "the hostile PUT is stored: 204" "$STATUS" 204
wait_for 'd["refused"] is not None'
is "the reason is shown" "$(jv 'd["refused"]')" "not an SQLite database"
is "the figures are kept" "$(jv 'd["overview"]["seconds"], d["figures_from"]["user_agent"]')" \
    "$SECONDS_BEFORE $UA_PHONE"

# MOVE onto statistics.sqlite3 is read too.
put "$B" "$UA_PHONE" koreader/upload.tmp
is "an upload under another name" "$STATUS" 201
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MOVE -u alice:s3cret -A "$UA_PHONE" \
    -H "Destination: $KS_URL/dav/koreader/statistics.sqlite3" "$KS_URL/dav/koreader/upload.tmp")
is "MOVE onto statistics.sqlite3" "$STATUS" 204
wait_for 'd["refused"] is None'
run stats "$B" --now "$(date +%s)"
is "the moved file's figures" "$(jv 'd["overview"]["seconds"], d["books"]')" \
    "$(cv 'd["overview"]["seconds"], d["file"]["books"]')"
put "$M" "$UA_PHONE"
wait_for "d['last_upload']['size'] == $(stat -c %s "$M") and d['books'] == 3"

# Settings: zone and day start.
web PUT /api/v1/stats/settings '{"timezone":"Europe/Berlin","day_start":"04:00"}' -b "$JAR"
is "settings without the CSRF token: 403" "$STATUS" 403
web PUT /api/v1/stats/settings '{"timezone":"Europe/Berlin","day_start":"04:00"}' -b "$JAR" -H "X-CSRF-Token: $CSRF"
is "settings: 200" "$STATUS" 200
is "settings: the zone and day start" "$(jv 'd["timezone"], d["settings"]["day_start"]')" "Europe/Berlin 04:00"
run stats "$M" --now "$(date +%s)" --tz Europe/Berlin --day-start 04:00
web GET /api/v1/stats/days "" -b "$JAR"
is "days in Berlin from 04:00: as kosyncd stats" \
    "$(jv '[(x["date"], x["start"], x["seconds"]) for x in d["days"]]')" \
    "$(cv '[(x["date"], x["start"], x["seconds"]) for x in d["days"]]')"
for b in '{"timezone":"Mars/Olympus"}' '{"timezone":"../../etc/passwd"}' \
    '{"timezone":""}' '{"timezone":7}' '{"day_start":"25:00"}' \
    '{"day_start":"4:00"}' '{"day_start":400}'; do
	web PUT /api/v1/stats/settings "$b" -b "$JAR" -H "X-CSRF-Token: $CSRF"
	is "settings $b: 400" "$STATUS" 400
done
web GET /api/v1/stats "" -b "$JAR"
is "refused settings change nothing" "$(jv 'd["timezone"], d["settings"]["day_start"]')" "Europe/Berlin 04:00"

# Another account sees nothing of them.
web GET /api/v1/stats "" -b "$JARB"
is "bob: no figures" "$(jv 'd["overview"], d["books"], d["last_upload"], d["refused"]')" "None 0 None None"
web GET /api/v1/stats/books "" -b "$JARB"
is "bob: no books" "$(jv 'd["books"]')" "[]"
push bob "$(md5 b0b)" $S pos-9
web GET /api/v1/documents "" -b "$JARB"
is "bob: his document keeps no title" "$(jv '[(x["title"], x.get("title_from")) for x in d["documents"]]')" "[('', None)]"

# A restart keeps figures, reason and settings, without reading again.
web GET /api/v1/stats "" -b "$JAR"
BEFORE=$(jv 'd["overview"]["seconds"], d["books"], d["last_upload"], d["timezone"]')
ks_stop
ks_start --storage file --enable-webui || exit 1
signin alice s3cret "$JAR"
web GET /api/v1/stats "" -b "$JAR"
is "after a restart: the same figures at once" \
    "$(jv 'd["overview"]["seconds"], d["books"], d["last_upload"], d["timezone"]')" "$BEFORE"
is "after a restart: nothing was read again" "$(grep -c 'statistics of .alice. read' "$KS_ERR.new")" 0
web GET /api/v1/documents "" -b "$JAR"
is "after a restart: the title joined" "$(jv '[x["title"] for x in d["documents"]]')" "['Shared']"

# Deleting the account removes its statistics.
check "alice's statistics files exist" test -s "$KS_DIR/stats/alice.json" -a -s "$KS_DIR/stats/alice.data"
web DELETE /api/v1/account '{"password":"s3cret"}' -b "$JAR" -H "X-CSRF-Token: $CSRF"
is "alice deletes her account" "$STATUS" 200
is "her statistics files are gone" "$(ls "$KS_DIR/stats" | grep -c '^alice\.')" 0
register alice "$(md5 n3w)"
signin alice n3w "$JAR"
web GET /api/v1/stats "" -b "$JAR"
is "a new alice sees no figures" "$(jv 'd["overview"], d["books"], d["last_upload"]')" "None 0 None"

# An account deleted through the control socket, or while the server was
# not running, loses its statistics too.
register carol "$(md5 c4rol)"
for u in bob:b0b carol:c4rol; do
	DAV_USER=$u put "$A" "$UA_KOBO" statistics.sqlite3
	is "${u%%:*} uploads a file" "$STATUS" 201
done
for i in $(seq 1 100); do
	[ -s "$KS_DIR/stats/bob.data" ] && [ -s "$KS_DIR/stats/carol.data" ] && break
	sleep 0.1
done
check "bob's and carol's files were read" test -s "$KS_DIR/stats/bob.data" -a -s "$KS_DIR/stats/carol.data"
run user del bob
is "kosyncd user del bob (server running)" "$RC" 0
for i in $(seq 1 50); do
	[ -e "$KS_DIR/stats/bob.json" ] || break
	sleep 0.1
done
is "bob's statistics files are gone" "$(ls "$KS_DIR/stats" | grep -c '^bob\.')" 0
ks_stop
run user del carol
is "kosyncd user del carol (offline)" "$RC" 0
check "carol's files are still there" test -e "$KS_DIR/stats/carol.json"
ks_start --storage file --enable-webui || exit 1
is "at the start carol's statistics files are removed" "$(ls "$KS_DIR/stats" | grep -c '^carol\.')" 0
ks_stop
done_testing
