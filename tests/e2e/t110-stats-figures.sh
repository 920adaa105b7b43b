#!/usr/bin/env bash
# t110-stats-figures: `kosyncd stats FILE` on a statistics.sqlite3 built with
# KOReader's schema (tests/mkstats.py) reports the figures KOReader shows.
#
# Covers: time and pages per local day (Europe/Berlin on the day DST
# starts: a 23-hour day, and a page turn at 00:30 CET that is 23:30 UTC the
# day before); the same file in UTC and with the day starting at 04:00;
# today / this week (from Monday) / month / year; current and longest
# streak; per book total and capped time (KOReader's 120 s a page), pages
# read in the latest layout (a row of an older layout rescaled to two
# pages), days, best day, average per page, sessions split by a pause,
# estimated time and days left; the two rows of one book (same md5, an old
# title) read as one, the duplicate page turn dropped and counted, page
# turns before 2007 and after tomorrow dropped and counted; the file (WAL
# in its header) left unchanged, with no -wal or -shm made beside it.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
F=$KS_TMP/statistics.sqlite3
NOW=1774814400 # 2026-03-29T20:00:00Z, a Sunday: 22:00 in Berlin

# jv EXPR: a value of the JSON in $OUT (d is the parsed object).
jv() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$OUT"; }

"$MK" build "$F" - <<'JSON'
{"books": [
  {"key": "a", "title": "Alpha", "authors": "Ann\nBob", "pages": 200,
   "md5": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "last_open": 1774771200,
   "language": "en", "series": "Letters #1", "highlights": 3, "notes": 1},
  {"key": "a-old", "title": "Alpha (old title)", "authors": "Ann\nBob",
   "pages": 180, "md5": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
   "last_open": 1700000000},
  {"key": "b", "title": "Beta", "authors": "Cy", "pages": 100,
   "md5": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "last_open": 1774465200}],
 "runs": [
  {"book": "a", "start": "2026-03-29T08:00:00Z", "first": 1, "count": 5,
   "duration": 60, "total_pages": 200},
  {"book": "a", "start": "2026-03-28T23:30:00Z", "first": 6, "count": 2,
   "duration": 60, "total_pages": 200},
  {"book": "b", "start": "2026-03-25T19:00:00Z", "first": 1, "count": 3,
   "duration": 60, "total_pages": 100},
  {"book": "b", "start": "2026-03-25T20:00:00Z", "first": 4, "count": 2,
   "duration": 60, "total_pages": 100}],
 "turns": [
  {"book": "a", "page": 3, "start": "2026-03-27T18:00:00Z", "duration": 120,
   "total_pages": 200},
  {"book": "a", "page": 50, "start": "2026-03-26T18:00:00Z", "duration": 100,
   "total_pages": 100},
  {"book": "a-old", "page": 1, "start": "2026-03-29T08:00:00Z",
   "duration": 30, "total_pages": 200},
  {"book": "a", "page": 9, "start": "2005-06-01T12:00:00Z", "duration": 60},
  {"book": "b", "page": 9, "start": "2026-04-01T12:00:00Z", "duration": 60}]}
JSON
check "the generator built the file" test -s "$F"

sum=$(md5sum <"$F")
run stats "$F" --tz Europe/Berlin --now $NOW
is "Berlin: exit 0" "$RC" 0
is "the file is left as it was" "$(md5sum <"$F")" "$sum"
is "no -wal or -shm beside it (WAL header, read immutable)" \
    "$(ls "$KS_TMP" | grep -c -- '-wal\|-shm')" 0
is "Berlin: nothing on stderr" "$ERR" ""
is "file: books as one per md5" "$(jv 'd["file"]["books"], d["file"]["book_rows"]')" "(2, 3)"
is "file: rows kept and read" "$(jv 'd["file"]["page_turns"], d["file"]["page_turn_rows"]')" "(14, 17)"
is "file: dropped" "$(jv 'd["file"]["dropped"]')" \
    "{'duplicates': 1, 'impossible_time': 2, 'bad_values': 0, 'no_book': 0}"
is "Berlin: days, seconds and pages" \
    "$(jv '[(x["date"], x["seconds"], x["pages"]) for x in d["days"]]')" \
    "[('2026-03-25', 300, 5), ('2026-03-26', 100, 2), ('2026-03-27', 120, 1), ('2026-03-29', 420, 7)]"
is "Berlin: the DST day is 23 hours, from 23:00 UTC" \
    "$(jv '[(x["start"], x["end"] - x["start"]) for x in d["days"] if x["date"] == "2026-03-29"]')" \
    "[(1774738800, 82800)]"
is "Berlin: a normal day is 24 hours, from 23:00 UTC" \
    "$(jv '[(x["start"], x["end"] - x["start"]) for x in d["days"] if x["date"] == "2026-03-25"]')" \
    "[(1774393200, 86400)]"
o='d["overview"]'
is "today" "$(jv "$o[\"today\"]")" \
    "{'from': '2026-03-29', 'to': '2026-03-29', 'seconds': 420, 'pages': 7, 'books_finished': None}"
is "this week, from Monday" "$(jv "$o[\"week\"]")" \
    "{'from': '2026-03-23', 'to': '2026-03-29', 'seconds': 940, 'pages': 14, 'books_finished': None}"
is "this month" "$(jv "$o[\"month\"][\"from\"], $o[\"month\"][\"seconds\"], $o[\"month\"][\"pages\"]")" \
    "('2026-03-01', 940, 14)"
is "this year" "$(jv "$o[\"year\"][\"from\"], $o[\"year\"][\"seconds\"]")" "('2026-01-01', 940)"
is "total and days read" "$(jv "$o[\"seconds\"], $o[\"days_read\"]")" "(940, 4)"
is "streaks: 25-27 March, then today alone" "$(jv "$o[\"streak\"]")" \
    "{'current': 1, 'longest': 3, 'longest_to': '2026-03-27'}"

b='[x for x in d["books"] if x["md5"].startswith("a")][0]'
is "book A: the latest title and its fields" \
    "$(jv "$b[\"title\"], $b[\"authors\"], $b[\"pages\"], $b[\"series\"], $b[\"highlights\"], $b[\"notes\"]")" \
    "('Alpha', 'Ann\\nBob', 200, 'Letters #1', 3, 1)"
is "book A: total, capped time, pages read" \
    "$(jv "$b[\"seconds\"], $b[\"capped_seconds\"], $b[\"pages_read\"]")" "(640, 580, 9)"
is "book A: days, best day" "$(jv "$b[\"days\"], $b[\"best_day\"]")" \
    "(3, {'date': '2026-03-29', 'seconds': 420})"
is "book A: average per page and per day" \
    "$(jv "round($b[\"avg_page_seconds\"], 2), round($b[\"avg_day_seconds\"], 2)")" "(64.44, 193.33)"
is "book A: sessions" "$(jv "$b[\"sessions\"][\"count\"], $b[\"sessions\"][\"longest\"]")" "(4, 300)"
is "book A: last page, time and days left, finish date" \
    "$(jv "$b[\"last_page\"], $b[\"time_left\"], $b[\"days_left\"], $b[\"finish_date\"]")" \
    "(5, 12566, 65, '2026-06-02')"
b='[x for x in d["books"] if x["md5"].startswith("b")][0]'
is "book B: two sessions split by a 57-minute pause" \
    "$(jv "$b[\"seconds\"], $b[\"capped_seconds\"], $b[\"sessions\"][\"count\"], $b[\"sessions\"][\"longest\"]")" \
    "(300, 300, 2, 180)"
is "book B: time and days left" "$(jv "$b[\"time_left\"], $b[\"days_left\"]")" "(5700, 19)"

run stats "$F" --tz UTC --now $NOW
is "UTC: 00:30 CET is the day before" \
    "$(jv '[(x["date"], x["seconds"]) for x in d["days"]][-2:]')" \
    "[('2026-03-28', 120), ('2026-03-29', 300)]"
is "UTC: five days in a row" "$(jv 'd["overview"]["streak"]["current"], d["overview"]["streak"]["longest"]')" "(5, 5)"

run stats "$F" --tz Europe/Berlin --day-start 04:00 --now $NOW
is "day start 04:00: 00:30 belongs to the day before" \
    "$(jv '[(x["date"], x["seconds"], x["start"]) for x in d["days"]][-2:]')" \
    "[('2026-03-28', 120, 1774666800), ('2026-03-29', 300, 1774749600)]"
is "day start 04:00: shown in the settings" "$(jv 'd["settings"]["day_start"]')" "04:00"

run stats "$F" --tz Europe/Berlin --max-sec 60 --now $NOW
b='[x for x in d["books"] if x["md5"].startswith("a")][0]'
is "max-sec 60: capped time" "$(jv "$b[\"capped_seconds\"]")" "520"

run stats "$F" --tz Mars/Olympus_Mons --now $NOW
is "unknown zone: exit 1" "$RC" 1
is "unknown zone: says so" "$ERR" "kosyncd: --tz: unknown time zone 'Mars/Olympus_Mons'"
run stats "$F" --tz ../../etc/passwd --now $NOW
is "a path as a zone: refused" "$ERR" "kosyncd: --tz: not a time zone name"
run stats "$F" --day-start 24:00
is "bad day start: refused" "$ERR" "kosyncd: --day-start: not a time HH:MM: '24:00'"
run stats "$F" --now 12
like "bad now: refused" "$ERR" "^kosyncd: --now: not a number"

done_testing
