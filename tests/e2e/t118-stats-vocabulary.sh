#!/usr/bin/env bash
# t118-stats-vocabulary: KOReader's vocabulary_builder.sqlite3 uploaded
# over WebDAV is read as hostile input in the background and its figures
# served by GET /api/v1/stats/vocabulary (docs/api.md, docs/statistics.md).
#
# Covers: words per book (the most first, words without a book under ""),
# per month collected in the account's zone, due for review now, reviewed;
# rows with a bad time or value dropped and counted; the upload listed
# with its file name beside the statistics'; a hostile file (not SQLite, a
# view in place of the table, a missing column) refused with its reason
# and the previous figures kept; a restart keeps them without reading the
# upload again; another account sees none; deleting the account removes
# the data file.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
V=$KS_TMP/vocabulary_builder.sqlite3
JAR=$KS_TMP/jar
JARB=$KS_TMP/jarb
UA='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
. "$(dirname "$0")/statslib.sh"
put() { dav_put "$1" "$UA" "koreader/${2:-vocabulary_builder.sqlite3}"; }
wait_vocab() { wait_json /api/v1/stats/vocabulary "$1"; }
PAST=$(($(date +%s) - 86400))
FUTURE=$(($(date +%s) + 30 * 86400))

"$MK" vocab "$V" - <<JSON
{"titles": ["Moby Dick", "Dune"],
 "words": [
  {"word": "leviathan", "title": "Moby Dick", "create": "2026-03-01T10:00:00Z", "due": $PAST, "review_count": 2},
  {"word": "cetology", "title": "Moby Dick", "create": "2026-03-31T22:30:00Z", "due": $PAST},
  {"word": "harpoon", "title": "Moby Dick", "create": "2026-03-02T10:00:00Z", "due": $FUTURE},
  {"word": "melange", "title": "Dune", "create": "2026-04-05T10:00:00Z", "due": $FUTURE, "review_count": 1},
  {"word": "orphan", "create": "2026-04-06T10:00:00Z", "due": $PAST}],
 "sql": ["INSERT INTO vocabulary (word, title_id, create_time, due_time) VALUES ('old', 1, 900000000, 0)",
         "INSERT INTO vocabulary (word, title_id, create_time, due_time) VALUES ('bad', 1, 'soon', 0)"]}
JSON
check "the vocabulary file was built" test -s "$V"

ks_start --storage file --enable-webui || exit 1
register alice "$(md5 s3cret)"
register bob "$(md5 b0b)"
signin bob b0b "$JARB"
signin alice s3cret "$JAR"
web GET /api/v1/stats/vocabulary "" -b "$JAR"
is "none yet" "$STATUS $(jv 'd["vocabulary"], d["refused"]')" "200 None None"
web GET /api/v1/stats/vocabulary
is "signed out: 401" "$STATUS" 401
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u alice:s3cret "$KS_URL/dav/koreader")
is "MKCOL koreader" "$STATUS" 201

put "$V"
is "the vocabulary PUT is answered at once: 201" "$STATUS" 201
wait_vocab 'd["vocabulary"] is not None'
is "words, due now, reviewed" "$(jv 'tuple(d["vocabulary"][k] for k in ("words", "due", "reviewed", "user_version"))')" \
    "5 3 2 20240905"
is "per book, the most first" "$(jv '[(b["title"], b["words"], b["due"]) for b in d["vocabulary"]["books"]]')" \
    "[('Moby Dick', 3, 2), ('Dune', 1, 0), ('', 1, 1)]"
is "per month (UTC)" "$(jv '[(m["month"], m["words"]) for m in d["vocabulary"]["months"]]')" \
    "[('2026-03', 3), ('2026-04', 2)]"
is "dropped rows counted" "$(jv 'd["vocabulary"]["dropped"]')" "{'bad_values': 1, 'impossible_time': 1}"
web PUT /api/v1/stats/settings '{"timezone":"Europe/Berlin"}' -b "$JAR" -H "X-CSRF-Token: $CSRF"
web GET /api/v1/stats/vocabulary "" -b "$JAR"
is "per month in Europe/Berlin (22:30 UTC on 31 March is April there)" \
    "$(jv '[(m["month"], m["words"]) for m in d["vocabulary"]["months"]]')" "[('2026-03', 2), ('2026-04', 3)]"
web GET /api/v1/stats "" -b "$JAR"
is "the upload is listed with its name" "$(jv '[(u["file"], u["accepted"], u["device"]) for u in d["uploads"]]')" \
    "[('vocabulary_builder.sqlite3', True, 'Kobo')]"
is "the statistics are not touched" "$(jv 'd["overview"], d["last_upload"]')" "None None"

# Hostile files: refused with a reason, the figures kept.
printf 'no database here\n%.0s' $(seq 1 40) >"$KS_TMP/bad"
put "$KS_TMP/bad"
wait_vocab 'd["refused"] is not None'
is "not SQLite: the reason" "$(jv 'd["refused"]')" "not an SQLite database"
is "not SQLite: the figures kept" "$(jv 'd["vocabulary"]["words"]')" 5
"$MK" vocab "$KS_TMP/view.sqlite3" - <<JSON
{"sql": ["DROP TABLE vocabulary", "CREATE VIEW vocabulary AS SELECT 1 AS title_id, 2 AS create_time, 3 AS due_time, 4 AS review_count"]}
JSON
put "$KS_TMP/view.sqlite3"
wait_vocab 'd["refused"] != "not an SQLite database"'
is "a view in place of the table" "$(jv 'd["refused"]')" "vocabulary is a view, not a table"
"$MK" vocab "$KS_TMP/nocol.sqlite3" - <<JSON
{"sql": ["DROP TABLE title", "CREATE TABLE title (id INTEGER PRIMARY KEY)"]}
JSON
put "$KS_TMP/nocol.sqlite3"
wait_vocab 'd["refused"] == "title has no column name"'
is "a missing column" "$(jv 'd["refused"]')" "title has no column name"
"$MK" vocab "$KS_TMP/none.sqlite3" - <<JSON
{"sql": ["DROP TABLE title"]}
JSON
put "$KS_TMP/none.sqlite3"
wait_vocab 'd["refused"].startswith("no table")'
is "a missing table" "$(jv 'd["refused"]')" "no table title: not a KOReader vocabulary builder file"
is "still the figures of the good file" "$(jv 'd["vocabulary"]["words"]')" 5

# A statistics upload and a vocabulary upload at once: both are read.
"$MK" build "$KS_TMP/stats.sqlite3" - <<JSON
{"books": [{"key": "b", "title": "B", "authors": "A", "pages": 10, "md5": "cccccccccccccccccccccccccccccccc"}],
 "runs": [{"book": "b", "start": "2026-03-01T10:00:00Z", "first": 1, "count": 3, "duration": 60, "total_pages": 10}]}
JSON
put "$KS_TMP/stats.sqlite3" statistics.sqlite3 &
both=$!
put "$V"
wait $both
wait_vocab 'd["refused"] is None'
wait_json /api/v1/stats 'd["books"] == 1'
is "both read" "$(jv 'd["books"], sorted(set(u["file"] for u in d["uploads"]))')" \
    "1 ['statistics.sqlite3', 'vocabulary_builder.sqlite3']"

web GET /api/v1/stats/vocabulary "" -b "$JARB"
is "another account sees none" "$(jv 'd["vocabulary"]')" "None"

ks_stop
ks_start --storage file --enable-webui || exit 1
signin alice s3cret "$JAR"
web GET /api/v1/stats/vocabulary "" -b "$JAR"
is "restart: the figures kept" "$(jv 'd["vocabulary"]["words"], d["vocabulary"]["due"]')" "5 3"
check "the data file exists" test -f "$KS_DIR/stats/alice.vocab"
web DELETE /api/v1/account '{"password":"s3cret"}' -b "$JAR" -H "X-CSRF-Token: $CSRF"
is "alice deletes her account" "$STATUS" 200
check "the vocabulary data file went with it" test ! -e "$KS_DIR/stats/alice.vocab"

done_testing
