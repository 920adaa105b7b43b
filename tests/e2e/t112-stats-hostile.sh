#!/usr/bin/env bash
# t112-stats-hostile: hostile and broken statistics files through
# `kosyncd stats`, as the server will meet them in uploads.
#
# Covers, each refused with a reason (exit 1, {"error": "refused",
# "reason": ...} on stdout, one line on stderr) or read with what is wrong
# left out and counted, never a crash or a sanitizer report: not SQLite, an
# empty file, a missing file, a directory, a symbolic link, a truncated
# file, a damaged page (quick_check), a view named page_stat_data, a
# virtual table, a missing table, a missing column, a generated column, a
# trigger and a view of the file's own (ignored: never run), page numbers
# and page counts past any book, a row that rescales to more than 1,000
# pages (KOReader's limit), wrong column types (text, blob, fractions),
# NULLs, page turns of no book, negative and absurd durations, a title with
# invalid UTF-8 and a NUL, a title of 1.1 MB (cut); and a
# million page turns read within the time bound. The private copy is
# always removed ($TMPDIR stays empty).
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
NOW=1774814400
export TMPDIR=$KS_TMP/tmp
mkdir -p "$TMPDIR"

jv() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$OUT"; }

# refused NAME FILE REASON-REGEX
refused() {
	run stats "$2" --now $NOW
	is "$1: exit 1" "$RC" 1
	like "$1: the reason on stdout" "$OUT" "^\\{\"error\":\"refused\",\"reason\":\"$3"
	like "$1: the reason on stderr" "$ERR" "^kosyncd: '[^']*' refused: $3"
	is "$1: one line on stderr" "$(printf '%s\n' "$ERR" | wc -l)" 1
	is "$1: no private copy left" "$(ls -A "$TMPDIR")" ""
}
# sql FILE SQL: run SQL on FILE with Python's sqlite3.
sql() { python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit(); c.close()' "$1" "$2"; }

GOOD=$KS_TMP/good.sqlite3
"$MK" build "$GOOD" - <<'JSON'
{"books": [{"key": "a", "title": "Alpha", "authors": "A", "pages": 100,
            "md5": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}],
 "runs": [{"book": "a", "start": "2026-03-20T18:00:00Z", "first": 1,
           "count": 100, "duration": 60, "total_pages": 100}]}
JSON
run stats "$GOOD" --now $NOW
is "the good file reads" "$RC:$(jv 'd["file"]["page_turns"]')" "0:100"

printf 'hello, this is not a database\n%.0s' {1..40} >"$KS_TMP/text"
refused "text" "$KS_TMP/text" "not an SQLite database"
: >"$KS_TMP/empty"
refused "empty file" "$KS_TMP/empty" "not an SQLite database"
refused "missing file" "$KS_TMP/nothing-here" "cannot open the file: No such file"
mkdir "$KS_TMP/dir.sqlite3"
refused "directory" "$KS_TMP/dir.sqlite3" "not a regular file"
ln -s "$GOOD" "$KS_TMP/link.sqlite3"
refused "symbolic link" "$KS_TMP/link.sqlite3" "cannot open the file"

head -c 20000 "$GOOD" >"$KS_TMP/truncated"
refused "truncated" "$KS_TMP/truncated" "(integrity check failed|not a readable|cannot read)"
cp "$GOOD" "$KS_TMP/damaged"
# Overwrite the middle of page 3 (a b-tree page) with garbage.
python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(2 * 4096 + 8); f.write(b"\xff" * 3000)' "$KS_TMP/damaged"
refused "damaged page" "$KS_TMP/damaged" "(integrity check failed|not a readable|cannot read)"

F=$KS_TMP/view.sqlite3
cp "$GOOD" "$F"
sql "$F" "DROP VIEW page_stat; ALTER TABLE page_stat_data RENAME TO psd;
CREATE VIEW page_stat_data AS SELECT * FROM psd;"
refused "a view named page_stat_data" "$F" "page_stat_data is a view, not a table"

F=$KS_TMP/virtual.sqlite3
cp "$GOOD" "$F"
if sql "$F" "DROP VIEW page_stat; DROP TABLE book;
CREATE VIRTUAL TABLE book USING fts4(id, md5, title, authors, series, language, pages, last_open, highlights, notes);" 2>/dev/null; then
	refused "a virtual table named book" "$F" "(book is not an ordinary table|cannot)"
else
	ok "# SKIP no fts4 in Python's sqlite3"
fi

F=$KS_TMP/notable.sqlite3
cp "$GOOD" "$F"
sql "$F" "DROP VIEW page_stat; DROP TABLE page_stat_data;"
refused "no page_stat_data" "$F" "no table page_stat_data: not a KOReader statistics file"
F=$KS_TMP/nocol.sqlite3
cp "$GOOD" "$F"
sql "$F" "DROP VIEW page_stat; ALTER TABLE page_stat_data DROP COLUMN total_pages;"
refused "a missing column" "$F" "page_stat_data has no column total_pages"
F=$KS_TMP/generated.sqlite3
cp "$GOOD" "$F"
sql "$F" "DROP VIEW page_stat; DROP TABLE page_stat_data;
CREATE TABLE page_stat_data (id_book integer, page integer, start_time integer,
  total_pages integer, duration integer AS (total_pages * 2));"
refused "a generated column" "$F" "page_stat_data.duration is a generated column"

F=$KS_TMP/trigger.sqlite3
cp "$GOOD" "$F"
sql "$F" "CREATE TABLE log (x);
CREATE TRIGGER t AFTER INSERT ON page_stat_data BEGIN INSERT INTO log VALUES (1); END;
CREATE VIEW book_view AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT i FROM r;"
run stats "$F" --now $NOW
is "trigger and an endless view: read, never run" \
    "$RC:$(jv 'd["file"]["page_turns"], d["overview"]["seconds"]')" "0:(100, 6000)"

F=$KS_TMP/values.sqlite3
"$MK" build "$F" - <<'JSON'
{"books": [{"key": "a", "title": "Alpha", "authors": "A", "pages": 1000000000,
            "md5": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
           {"key": "n", "title": null, "authors": null, "pages": null,
            "md5": null}],
 "turns": [{"book": "a", "page": 1, "start": "2026-03-20T18:00:00Z",
            "duration": 60, "total_pages": 1}],
 "sql": [
  "INSERT INTO page_stat_data VALUES (1, 9223372036854775807, 1774000000, 60, 1);",
  "INSERT INTO page_stat_data VALUES (1, 2, 1774000001, 60, 9223372036854775807);",
  "INSERT INTO page_stat_data VALUES (1, 'abc', 1774000002, 60, 100);",
  "INSERT INTO page_stat_data VALUES (1, 3, 1774000003, x'00ff', 100);",
  "INSERT INTO page_stat_data VALUES (1, 4, 1774000004.5, 60, 100);",
  "INSERT INTO page_stat_data VALUES (1, 5, 1774000005, 60.0, 100);",
  "INSERT INTO page_stat_data VALUES (NULL, 6, 1774000006, 60, 100);",
  "INSERT INTO page_stat_data VALUES (99, 7, 1774000007, 60, 100);",
  "INSERT INTO page_stat_data VALUES (1, 8, 1774000008, -5, 100);",
  "INSERT INTO page_stat_data VALUES (1, 9, 1774000009, 99999999, 100);",
  "INSERT INTO page_stat_data VALUES (1, 0, 1774000010, 60, 100);",
  "INSERT INTO page_stat_data VALUES (2, 1, 1774000011, 30, 0);",
  "INSERT INTO book (title, authors, md5, pages) VALUES (CAST(x'42616480746974006c65' AS TEXT), 'B', 'cccccccccccccccccccccccccccccccc', 'many');"]}
JSON
run stats "$F" --now $NOW
is "odd values: exit 0, nothing on stderr" "$RC:$ERR" "0:"
is "odd values: what was left out, counted" "$(jv 'd["file"]["dropped"], d["file"]["clamped_durations"]')" \
    "({'duplicates': 0, 'impossible_time': 0, 'bad_values': 8, 'no_book': 1}, 1)"
is "odd values: kept (a whole REAL is taken)" "$(jv 'd["file"]["page_turns"]')" "4"
b='[x for x in d["books"] if x["md5"].startswith("a")][0]'
is "three rows of a book of 10^9 pages: 1,000 pages each at most, as KOReader" \
    "$(jv "$b[\"pages_read\"], $b[\"pages\"]")" "(3000, 1000000000)"
is "an absurd duration cut to a day" "$(jv "$b[\"seconds\"]")" "$((60 + 60 + 86400))"
is "NULL title, authors, md5: a book with defaults" \
    "$(jv '[(x["title"], x["authors"], x["md5"], x["pages"], x["seconds"]) for x in d["books"] if x["title"] == ""]')" \
    "[('', 'N/A', '', 0, 30)]"
is "invalid UTF-8 replaced, cut at the NUL; a text page count is 0" \
    "$(jv '[(x["title"], x["pages"]) for x in d["books"] if x["md5"].startswith("c")]')" "[('Bad?tit', 0)]"

F=$KS_TMP/long.sqlite3
cp "$GOOD" "$F"
sql "$F" "UPDATE book SET title = (SELECT group_concat('x', '') FROM (SELECT 1 FROM numbers, numbers AS n2 LIMIT 1100000));"
run stats "$F" --now $NOW
is "a title of 1.1 MB: cut to 1024 bytes" "$RC:$(jv 'len(d["books"][0]["title"])')" "0:1024"

F=$KS_TMP/million.sqlite3
"$MK" bulk "$F" 1000000 300 1577836800
# CPU seconds, as the reader's bound counts (the machine may be busy).
TIMEFORMAT='%U %S %R'
{ time "$KOSYNCD" stats "$F" --now 2200000000 >"$KS_TMP/out" 2>"$KS_TMP/err"; } 2>"$KS_TMP/time"
RC=$?
OUT=$(cat "$KS_TMP/out")
read -r user sys real <"$KS_TMP/time"
echo "# a million page turns: ${user} s user, ${sys} s system, ${real} s wall (sanitizer build)"
is "a million page turns: read" "$RC:$(jv 'd["file"]["page_turns"]')" "0:1000000"
check "a million page turns: under 10 s of CPU" \
    python3 -c "import sys; sys.exit(not $user + $sys < 10)"
is "no private copy left" "$(ls -A "$TMPDIR")" ""

done_testing
