#!/usr/bin/env bash
# t111-stats-devices: two devices' statistics files, merged as KOReader
# merges them, and a "reset statistics" file, through `kosyncd stats`; and
# our figures against KOReader's own SQL on the same file.
#
# Covers: a Kobo and a phone reading the same book (same md5) and one book
# each, some page turns on both (the longer duration wins in the merge):
# the merged file reports the union, each page turn once; the same merged
# file with an old title on one device gives one book per md5; a file whose
# statistics were reset (no books, no page turns) reports no books, no
# days and zero time; per book pages read and capped time, and per day
# time and pages, equal what KOReader's queries on its page_stat view
# compute (run here with Python's sqlite3 in the same time zone).
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
A=$KS_TMP/kobo.sqlite3
B=$KS_TMP/phone.sqlite3
M=$KS_TMP/merged.sqlite3
R=$KS_TMP/reset.sqlite3
NOW=1767200000 # 2025-12-31T16:53:20Z

jv() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$OUT"; }

"$MK" build "$A" - <<'JSON'
{"books": [
  {"key": "s", "title": "Shared", "authors": "X", "pages": 300,
   "md5": "11111111111111111111111111111111", "last_open": 1767000000},
  {"key": "k", "title": "Kobo only", "authors": "Y", "pages": 120,
   "md5": "22222222222222222222222222222222", "last_open": 1766900000}],
 "runs": [
  {"book": "s", "start": "2025-12-28T20:00:00Z", "first": 1, "count": 20,
   "duration": 45, "gap": 5, "total_pages": 300},
  {"book": "k", "start": "2025-12-29T21:00:00Z", "first": 10, "count": 10,
   "duration": 90, "total_pages": 120}]}
JSON
"$MK" build "$B" - <<'JSON'
{"books": [
  {"key": "s", "title": "Shared", "authors": "X", "pages": 600,
   "md5": "11111111111111111111111111111111", "last_open": 1767100000},
  {"key": "p", "title": "Phone only", "authors": "Z", "pages": 50,
   "md5": "33333333333333333333333333333333", "last_open": 1767150000}],
 "runs": [
  {"book": "s", "start": "2025-12-28T20:00:00Z", "first": 1, "count": 5,
   "duration": 60, "gap": -10, "total_pages": 300},
  {"book": "s", "start": "2025-12-30T07:15:00Z", "first": 41, "count": 30,
   "duration": 30, "total_pages": 600},
  {"book": "p", "start": "2025-12-31T06:00:00Z", "first": 1, "count": 4,
   "duration": 120, "total_pages": 50}]}
JSON
"$MK" merge "$M" "$A" "$B"
check "the files were built" test -s "$A" -a -s "$B" -a -s "$M"

run stats "$A" --tz America/New_York --now $NOW
is "kobo: two books" "$(jv 'd["file"]["books"], d["overview"]["seconds"]')" "(2, 1800)"
run stats "$B" --tz America/New_York --now $NOW
is "phone: two books" "$(jv 'd["file"]["books"], d["overview"]["seconds"]')" "(2, 1680)"

run stats "$M" --tz America/New_York --now $NOW
is "merged: exit 0, nothing on stderr" "$RC:$ERR" "0:"
is "merged: three books, each page turn once" \
    "$(jv 'd["file"]["books"], d["file"]["page_turns"], d["file"]["dropped"]["duplicates"]')" \
    "(3, 64, 0)"
# Shared: 20 turns of 45 s every 50 s on the Kobo; the phone's first five
# turns are 50 s apart too (60 s, gap -10), so they are the same turns
# (book, page, start_time) and the merge keeps their longer duration.
is "merged: the union of time" "$(jv 'd["overview"]["seconds"]')" \
    "$(python3 -c '
import sqlite3; c = sqlite3.connect("'"$M"'")
print(c.execute("select sum(duration) from page_stat_data").fetchone()[0])')"
is "merged: three books by title" \
    "$(jv 'sorted(x["title"] for x in d["books"])')" \
    "['Kobo only', 'Phone only', 'Shared']"
is "merged: the shared book keeps the Kobo's row (a merge updates only last_open)" \
    "$(jv '[x["pages"] for x in d["books"] if x["title"] == "Shared"]')" "[300]"

# KOReader's own figures, from its view, in the same zone.
koreader() {
	TZ=America/New_York python3 - "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
books = {}
for bid, md5 in c.execute("select id, md5 from book"):
    n, t = c.execute("""select count(*), sum(d) from (select min(sum(duration), 120) as d
        from page_stat where id_book = ? group by page)""", (bid,)).fetchone()
    books[md5] = (n, t or 0)
print(sorted(books.items()))
days = c.execute("""select dates, count(*), sum(s) from (select strftime('%Y-%m-%d',
    start_time, 'unixepoch', 'localtime') as dates, sum(duration) as s from page_stat
    group by id_book, page, dates) group by dates order by dates""").fetchall()
print([(d, p) for d, p, s in days])
PY
}
ours() {
	jv 'sorted((x["md5"], (x["pages_read"], x["capped_seconds"])) for x in d["books"])'
	jv '[(x["date"], x["pages"]) for x in d["days"]]'
}
is "merged: pages and capped time per book, and pages per day, as KOReader computes them" \
    "$(ours)" "$(koreader "$M")"
run stats "$A" --tz America/New_York --now $NOW
is "kobo: the same against KOReader" "$(ours)" "$(koreader "$A")"

# A device with an old title of the shared book: still one book.
"$MK" build "$B" - <<'JSON'
{"books": [
  {"key": "s", "title": "Shared (old)", "authors": "X", "pages": 300,
   "md5": "11111111111111111111111111111111", "last_open": 1700000000}],
 "runs": [
  {"book": "s", "start": "2025-12-28T20:00:00Z", "first": 1, "count": 20,
   "duration": 45, "gap": 5, "total_pages": 300}]}
JSON
"$MK" merge "$M" "$A" "$B"
run stats "$M" --tz America/New_York --now $NOW
is "old title: two book rows, one book" \
    "$(jv 'd["file"]["book_rows"], d["file"]["books"]')" "(3, 2)"
is "old title: its page turns counted once" \
    "$(jv 'd["file"]["page_turns"], d["file"]["dropped"]["duplicates"], d["overview"]["seconds"]')" \
    "(30, 20, 1800)"
is "old title: the newer title shown" \
    "$(jv 'sorted(x["title"] for x in d["books"])')" "['Kobo only', 'Shared']"

# Reset statistics: the device deletes every book and page turn.
cp "$A" "$R"
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("delete from page_stat_data")
c.execute("delete from book"); c.commit(); c.execute("vacuum")' "$R"
run stats "$R" --tz America/New_York --now $NOW
is "reset: exit 0" "$RC" 0
is "reset: no books, no days" "$(jv 'd["books"], d["days"], d["file"]["books"]')" "([], [], 0)"
is "reset: zero everywhere" \
    "$(jv 'd["overview"]["seconds"], d["overview"]["today"]["seconds"], d["overview"]["year"]["pages"], d["overview"]["streak"]')" \
    "(0, 0, 0, {'current': 0, 'longest': 0, 'longest_to': None})"

done_testing
