#!/usr/bin/env bash
# t117-stats-dashboard: the rest of the reading dashboard's API
# (docs/api.md "Reading statistics") on two devices' statistics files
# merged as KOReader merges them, in Europe/Berlin across the change to
# summer time.
#
# Covers: the punch-card (wall-clock hours, CET then CEST), months and
# years (time, pages, books, days); one book by md5 (figures, best day,
# estimate, days with speed and burn-down, sessions split by gaps), 404 for
# an unknown md5 or another account's book; reading goals stored with the
# settings (validated: 400), their progress, kept over a restart; the list
# of uploads with device and KOReader version, newest first, a refused one
# marked; export of days and sessions as CSV (escaping, formula guard) and
# JSON with their Content-Type and Content-Disposition, ?from/?to on days.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
A=$KS_TMP/kobo.sqlite3
B=$KS_TMP/phone.sqlite3
M=$KS_TMP/merged.sqlite3
JAR=$KS_TMP/jar
JARB=$KS_TMP/jarb
UA_KOBO='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
UA_PHONE='KOReader/v2025.10 (Android; Linux; arm64; https://github.com/koreader/koreader) LuaSocket/3.0.0'
S=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
P=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

. "$(dirname "$0")/statslib.sh"
put() { dav_put "$1" "$2" koreader/statistics.sqlite3; }
wait_for() { wait_json /api/v1/stats "$1"; }
t() { date -u -d "$1" +%s; }

# The Kobo: Saturday 28 March 2026, 21:00 and 21:30 CET (two sessions:
# 20 minutes between them).
"$MK" build "$A" - <<JSON
{"books": [
  {"key": "s", "title": "Shared, \"quoted\"", "authors": "=Ann\nBob",
   "pages": 100, "md5": "$S"}],
 "runs": [
  {"book": "s", "start": "2026-03-28T20:00:00Z", "first": 1, "count": 10,
   "duration": 60, "total_pages": 100},
  {"book": "s", "start": "2026-03-28T20:30:00Z", "first": 11, "count": 5,
   "duration": 60, "total_pages": 100}]}
JSON
# The phone: Sunday 29 March 08:00 CEST, and Thursday 2 April 21:00 CEST.
"$MK" build "$B" - <<JSON
{"books": [
  {"key": "s", "title": "Shared, \"quoted\"", "authors": "=Ann\nBob",
   "pages": 100, "md5": "$S"},
  {"key": "p", "title": "Phone", "authors": "Z", "pages": 50, "md5": "$P"}],
 "runs": [
  {"book": "p", "start": "2026-03-29T06:00:00Z", "first": 1, "count": 4,
   "duration": 120, "total_pages": 50},
  {"book": "s", "start": "2026-04-02T19:00:00Z", "first": 16, "count": 10,
   "duration": 30, "total_pages": 100}]}
JSON
"$MK" merge "$M" "$A" "$B"
check "the files were built" test -s "$A" -a -s "$M"

ks_start --storage file --enable-webui || exit 1
register alice "$(md5 s3cret)"
register bob "$(md5 b0b)"
signin bob b0b "$JARB"
signin alice s3cret "$JAR"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u alice:s3cret "$KS_URL/dav/koreader")
is "MKCOL koreader" "$STATUS" 201
web PUT /api/v1/stats/settings '{"timezone":"Europe/Berlin"}' -b "$JAR" -H "X-CSRF-Token: $CSRF"
is "Europe/Berlin" "$STATUS" 200
is "no goals yet" "$(jv 'd["goals"]["books_per_year"], d["goals"]["minutes_per_day"], d["goals"]["days_met"]')" \
    "None None None"
is "no uploads yet" "$(jv 'd["uploads"]')" "[]"

put "$A" "$UA_KOBO"
is "the Kobo uploads" "$STATUS" 201
wait_for 'd["figures_from"] is not None'
put "$M" "$UA_PHONE"
is "the phone uploads the merged file" "$STATUS" 204
wait_for "d['books'] == 2"

# Uploads, newest first.
is "uploads: device and version of each" \
    "$(jv 'tuple((u["device"], u["koreader"], u["accepted"], u["file"]) for u in d["uploads"])')" \
    "('Android', 'v2025.10', True, 'statistics.sqlite3') ('Kobo', 'v2026.07.2', True, 'statistics.sqlite3')"
is "uploads: size and User-Agent" "$(jv 'd["uploads"][0]["size"], d["uploads"][1]["user_agent"]')" \
    "$(stat -c %s "$M") $UA_KOBO"
is "last upload: device and version" "$(jv 'd["last_upload"]["device"], d["last_upload"]["koreader"]')" "Android v2025.10"

# Periods.
web GET /api/v1/stats/periods "" -b "$JAR"
is "periods: 200" "$STATUS" 200
is "punch-card: 7 days of 24 hours" "$(jv 'len(d["punchcard"]), set(map(len, d["punchcard"]))')" "7 {24}"
is "punch-card: Saturday 21 h (CET), Sunday 8 h (CEST), Thursday 21 h" \
    "$(jv 'd["punchcard"][5][21], d["punchcard"][6][8], d["punchcard"][3][21], sum(map(sum, d["punchcard"]))')" \
    "900 480 300 1680"
is "months" "$(jv '[(m["month"], m["from"], m["to"], m["seconds"], m["pages"], m["books"], m["days"]) for m in d["months"]]')" \
    "[('2026-03', '2026-03-01', '2026-03-31', 1380, 19, 2, 2), ('2026-04', '2026-04-01', '2026-04-30', 300, 10, 1, 1)]"
is "months: local instants (March 31 days less an hour)" \
    "$(jv 'd["months"][0]["start"], d["months"][0]["end"] - d["months"][0]["start"]')" \
    "$(t 2026-02-28T23:00:00Z) $((31 * 86400 - 3600))"
is "years" "$(jv '[(y["year"], y["seconds"], y["pages"], y["books"], y["days"]) for y in d["years"]]')" \
    "[(2026, 1680, 29, 2, 3)]"

# One book.
web GET /api/v1/stats/books/$S "" -b "$JAR"
is "book: 200" "$STATUS" 200
is "book: figures" \
    "$(jv 'tuple(d["book"][k] for k in ("title", "seconds", "capped_seconds", "pages_read", "days", "last_page", "time_left", "days_left"))')" \
    'Shared, "quoted" 1200 1200 25 2 25 3600 6'
is "book: best day, average per page" "$(jv 'd["book"]["best_day"], d["book"]["avg_page_seconds"]')" \
    "{'date': '2026-03-28', 'seconds': 900} 48"
is "book: days (speed, burn-down)" \
    "$(jv '[(x["date"], x["seconds"], x["pages"], x["page_seconds"], x["furthest"], x["left"]) for x in d["days"]]')" \
    "[('2026-03-28', 900, 15, 60, 15, 85), ('2026-04-02', 300, 10, 30, 25, 75)]"
is "book: sessions split at gaps over 10 minutes" \
    "$(jv '[(x["start"], x["end"], x["seconds"], x["turns"]) for x in d["sessions"]]')" \
    "[($(t 2026-03-28T20:00:00Z), $(t 2026-03-28T20:10:00Z), 600, 10), ($(t 2026-03-28T20:30:00Z), $(t 2026-03-28T20:35:00Z), 300, 5), ($(t 2026-04-02T19:00:00Z), $(t 2026-04-02T19:05:00Z), 300, 10)]"
web GET /api/v1/stats/books/cccccccccccccccccccccccccccccccc "" -b "$JAR"
is "book: unknown md5 404" "$STATUS $(jv 'd["message"]')" "404 No book of that md5 in the statistics."
web GET /api/v1/stats/books/$S "" -b "$JARB"
is "book: not another account's (404)" "$STATUS" 404
web GET /api/v1/stats/books/$S
is "book: signed out 401" "$STATUS" 401

# Goals.
for g in '{"books_per_year":-1}' '{"books_per_year":1.5}' '{"books_per_year":"3"}' \
    '{"books_per_year":10001}' '{"minutes_per_day":1441}' '[]' '"x"'; do
	web PUT /api/v1/stats/settings "{\"timezone\":\"Europe/Berlin\",\"goals\":$g}" -b "$JAR" -H "X-CSRF-Token: $CSRF"
	is "goals $g: 400" "$STATUS" 400
done
web PUT /api/v1/stats/settings '{"timezone":"Europe/Berlin","goals":{"books_per_year":12,"minutes_per_day":15}}' \
    -b "$JAR" -H "X-CSRF-Token: $CSRF"
is "goals set: 200" "$STATUS" 200
YD=$(python3 -c 'import datetime, zoneinfo; n = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Berlin")); print(n.timetuple().tm_yday)')
is "goals: progress (one day of 15 minutes this year)" \
    "$(jv 'tuple(d["goals"][k] for k in ("books_per_year", "minutes_per_day", "days_met", "year_days", "books_finished"))')" \
    "12 15 1 $YD 0"
is "goals: the year's pace" "$(jv 'round(d["goals"]["books_expected"], 6)')" \
    "$(python3 -c "import calendar; print(round(12 * $YD / (366 if calendar.isleap($(date +%Y)) else 365), 6))")"
web PUT /api/v1/stats/settings '{"timezone":"Europe/Berlin","day_start":"00:00"}' -b "$JAR" -H "X-CSRF-Token: $CSRF"
is "goals left out are kept" "$(jv 'd["goals"]["books_per_year"], d["goals"]["minutes_per_day"]')" "12 15"
web PUT /api/v1/stats/settings '{"timezone":"Europe/Berlin","goals":{"books_per_year":null}}' -b "$JAR" -H "X-CSRF-Token: $CSRF"
is "a goal set to null is none" "$(jv 'd["goals"]["books_per_year"], d["goals"]["books_expected"], d["goals"]["minutes_per_day"]')" "None None 15"

# Export.
exp() { curl -s -S -m 20 -b "$JAR" -D "$KS_TMP/eh" -o "$KS_TMP/eb" -w '%{http_code}' "$KS_URL/api/v1/stats/export/$1"; }
header() { tr -d '\r' <"$KS_TMP/eh" | sed -n "s/^$1: *//Ip"; }
is "days.csv: 200" "$(exp days.csv)" 200
is "days.csv: Content-Type" "$(header Content-Type)" "text/csv; charset=utf-8"
is "days.csv: Content-Disposition" "$(header Content-Disposition)" 'attachment; filename="reading-days.csv"'
is "days.csv: rows (CRLF)" "$(tr -d '\r' <"$KS_TMP/eb")" "date,start,end,seconds,pages
2026-03-28,$(t 2026-03-27T23:00:00Z),$(t 2026-03-28T23:00:00Z),900,15
2026-03-29,$(t 2026-03-28T23:00:00Z),$(t 2026-03-29T22:00:00Z),480,4
2026-04-02,$(t 2026-04-01T22:00:00Z),$(t 2026-04-02T22:00:00Z),300,10"
is "days.csv: every line ends in CRLF" "$(grep -c $'\r$' "$KS_TMP/eb")" 4
exp 'days.csv?from=2026-03-29&to=2026-03-29' >/dev/null
is "days.csv ?from&to" "$(tr -d '\r' <"$KS_TMP/eb" | tail -n +2 | cut -d, -f1)" "2026-03-29"
is "days.csv ?from=bad: 400" "$(exp 'days.csv?from=2026-13-01')" 400
is "sessions.csv: 200" "$(exp sessions.csv)" 200
is "sessions.csv: Content-Disposition" "$(header Content-Disposition)" 'attachment; filename="reading-sessions.csv"'
is "sessions.csv: escaped" "$(tr -d '\r' <"$KS_TMP/eb")" "date,start,end,seconds,turns,md5,title,authors
2026-03-28,$(t 2026-03-28T20:00:00Z),$(t 2026-03-28T20:10:00Z),600,10,$S,\"Shared, \"\"quoted\"\"\",\"'=Ann
Bob\"
2026-03-28,$(t 2026-03-28T20:30:00Z),$(t 2026-03-28T20:35:00Z),300,5,$S,\"Shared, \"\"quoted\"\"\",\"'=Ann
Bob\"
2026-04-02,$(t 2026-04-02T19:00:00Z),$(t 2026-04-02T19:05:00Z),300,10,$S,\"Shared, \"\"quoted\"\"\",\"'=Ann
Bob\"
2026-03-29,$(t 2026-03-29T06:00:00Z),$(t 2026-03-29T06:08:00Z),480,4,$P,Phone,Z"
is "sessions.json: 200" "$(exp sessions.json)" 200
is "sessions.json: Content-Type, Content-Disposition" "$(header Content-Type) $(header Content-Disposition)" \
    'application/json attachment; filename="reading-sessions.json"'
BODY=$(cat "$KS_TMP/eb")
is "sessions.json: the sessions" "$(jv '[(x["md5"][:1], x["seconds"], x["turns"]) for x in d["sessions"]]')" \
    "[('a', 600, 10), ('a', 300, 5), ('a', 300, 10), ('b', 480, 4)]"
is "days.json: 200" "$(exp days.json)" 200
is "days.json: Content-Disposition" "$(header Content-Disposition)" 'attachment; filename="reading-days.json"'
BODY=$(cat "$KS_TMP/eb")
is "days.json: the days" "$(jv '[(x["date"], x["seconds"]) for x in d["days"]]')" \
    "[('2026-03-28', 900), ('2026-03-29', 480), ('2026-04-02', 300)]"
STATUS=$(curl -s -o "$KS_TMP/eb" -w '%{http_code}' -b "$JARB" "$KS_URL/api/v1/stats/export/sessions.csv")
is "another account exports nothing of alice's" "$STATUS $(tr -d '\r' <"$KS_TMP/eb")" \
    "200 date,start,end,seconds,turns,md5,title,authors"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$KS_URL/api/v1/stats/export/days.csv")
is "export signed out: 401" "$STATUS" 401

# A refused upload is listed as such.
printf 'not a database\n%.0s' $(seq 1 50) >"$KS_TMP/bad"
put "$KS_TMP/bad" "$UA_KOBO"
wait_for 'd["refused"] is not None'
is "uploads: the refused one first" "$(jv 'len(d["uploads"]), d["uploads"][0]["accepted"], d["uploads"][0]["device"]')" \
    "3 False Kobo"

# A restart keeps goals and uploads.
ks_stop
ks_start --storage file --enable-webui || exit 1
signin alice s3cret "$JAR"
web GET /api/v1/stats "" -b "$JAR"
is "restart: goals and uploads kept" \
    "$(jv 'd["goals"]["minutes_per_day"], [u["accepted"] for u in d["uploads"]]')" "15 [False, True, True]"

done_testing
