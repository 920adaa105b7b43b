#!/usr/bin/env bash
# t116-stats-rescan: the statistics read from the WebDAV files come back
# at a start when what was read of them is missing or out of date
# (statsvc_rescan; docs/statistics.md, docs/backup.md).
#
# Covers: statistics.sqlite3 and vocabulary_builder.sqlite3 uploaded and
# read; with <data_dir>/stats removed, a start reads both again without a
# new upload and shows the same figures (overview, books, vocabulary),
# logged; with only the data files lost, they are read again and not
# listed twice (the list of uploads unchanged); a start with everything in place
# reads nothing; `backup` then `restore` into a fresh data directory
# brings them back; a file changed while no server ran (another size) is
# read again, the newest of two in different folders; a hostile file with
# nothing read of it is refused once, its reason shown, and not read at
# every start.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkstats.py
A=$KS_TMP/statistics.sqlite3
B=$KS_TMP/other.sqlite3
V=$KS_TMP/vocabulary_builder.sqlite3
JAR=$KS_TMP/jar
UA='KOReader/v2026.07.2 (Kobo; Linux; arm; https://github.com/koreader/koreader) LuaSocket/3.1.0'
. "$(dirname "$0")/statslib.sh"
D1=$(date -u -d 'yesterday' +%F)
D2=$(date -u -d '2 days ago' +%F)

"$MK" build "$A" - <<JSON
{"books": [
  {"key": "s", "title": "Shared", "authors": "Ann", "pages": 300,
   "md5": "11111111111111111111111111111111", "last_open": 1767000000},
  {"key": "k", "title": "Kobo only", "authors": "Y", "pages": 120,
   "md5": "22222222222222222222222222222222", "last_open": 1766900000}],
 "runs": [
  {"book": "s", "start": "${D2}T20:00:00Z", "first": 1, "count": 20,
   "duration": 45, "gap": 5, "total_pages": 300},
  {"book": "k", "start": "${D1}T21:00:00Z", "first": 10, "count": 10,
   "duration": 90, "total_pages": 120}]}
JSON
"$MK" build "$B" - <<JSON
{"books": [
  {"key": "p", "title": "Phone only", "authors": "Z", "pages": 500,
   "md5": "33333333333333333333333333333333", "last_open": 1767150000}],
 "runs": [
  {"book": "p", "start": "${D1}T06:00:00Z", "first": 1, "count": 400,
   "duration": 120, "total_pages": 500}]}
JSON
"$MK" vocab "$V" - <<JSON
{"titles": ["Moby Dick"],
 "words": [
  {"word": "leviathan", "title": "Moby Dick", "create": "2026-03-01T10:00:00Z", "due": 1000, "review_count": 2},
  {"word": "harpoon", "title": "Moby Dick", "create": "2026-03-02T10:00:00Z", "due": 1000}]}
JSON
check "the files were built" test -s "$A" -a -s "$B" -a -s "$V"
# B is told from A by its size: a file changed within the second it was
# read, at the same size, is not (rescan_needed compares seconds).
check "the two statistics files differ in size" \
    test "$(stat -c %s "$A")" != "$(stat -c %s "$B")"

# figures: the overview, the books and the vocabulary, as one line.
FIG='d["overview"], d["books"], d["file"]'
figures() {
	local o b v
	web GET /api/v1/stats "" -b "$JAR"
	o=$(jv "$FIG")
	web GET /api/v1/stats/books "" -b "$JAR"
	b=$(jv 'd["books"]')
	web GET /api/v1/stats/vocabulary "" -b "$JAR"
	v=$(jv 'd["vocabulary"]')
	printf '%s | %s | %s\n' "$o" "$b" "$v"
}
# reads: how many "read again" lines the last start logged.
reads() { grep -c 'is read again' "$KS_ERR.new"; }
# wait_read PATTERN: until the last start logged a "read again" line
# matching PATTERN (30 s; the log's tail shown when it did not).
wait_read() {
	local i
	for i in $(seq 1 300); do
		grep -q "is read again.*$1" "$KS_ERR.new" && return 0
		sleep 0.1
	done
	echo "# gave up waiting for the read again of: $1"
	tail -n 20 "$KS_ERR.new" | sed 's/^/#   /'
	return 1
}
start() {
	ks_start --storage file --enable-webui || exit 1
	signin alice s3cret "$JAR"
}

start
register alice "$(md5 s3cret)"
signin alice s3cret "$JAR"
curl -s -o /dev/null -X MKCOL -u alice:s3cret "$KS_URL/dav/koreader"
dav_put "$A" "$UA" koreader/statistics.sqlite3
is "statistics uploaded" "$STATUS" 201
dav_put "$V" "$UA" koreader/vocabulary_builder.sqlite3
is "vocabulary uploaded" "$STATUS" 201
wait_json /api/v1/stats/vocabulary 'd["vocabulary"] is not None'
wait_json /api/v1/stats 'd["figures_from"] is not None'
WANT=$(figures)
like "the figures of the upload" "$WANT" '^\{.*\} 2 \{.*\| \[.*Kobo only.*\] \| \{.*.words.: 2'
web GET /api/v1/stats "" -b "$JAR"
UPLOADS=$(jv '[(u["file"], u["accepted"], u["device"]) for u in d["uploads"]]')
is "two uploads listed" "$UPLOADS" \
    "[('vocabulary_builder.sqlite3', True, 'Kobo'), ('statistics.sqlite3', True, 'Kobo')]"
run backup
is "backup: exit 0" "$RC" 0
mv "$OUT" "$KS_TMP/backup.bak"
mv "$OUT.dav" "$KS_TMP/backup.bak.dav"
BAK=$KS_TMP/backup.bak
ks_stop

# The stats folder lost: both files are read again at the start.
rm -r "$KS_DIR/stats"
start
wait_json /api/v1/stats/vocabulary 'd["vocabulary"] is not None'
wait_json /api/v1/stats 'd["figures_from"] is not None'
is "stats folder removed: the same figures, no upload" "$(figures)" "$WANT"
is "both files read again, logged" "$(reads)" 2
like "the log names the account and the reason" "$(grep 'is read again' "$KS_ERR.new" | head -n 1)" \
    "of 'alice' is read again \(nothing kept of it\)"
web GET /api/v1/stats "" -b "$JAR"
is "listed as read from the files" "$(jv '[(u["file"], u["accepted"], u["user_agent"]) for u in d["uploads"]]')" \
    "[('vocabulary_builder.sqlite3', True, None), ('statistics.sqlite3', True, None)]"
is "the size of the file" "$(jv 'd["last_upload"]["size"]')" "$(stat -c %s "$A")"
ks_stop

# A start with everything in place reads nothing.
start
web GET /api/v1/stats "" -b "$JAR"
is "nothing missing: the figures" "$(figures)" "$WANT"
is "nothing missing: nothing read" "$(reads)" 0
ks_stop

# Back to the first state: the data files lost, the settings kept.
rm -r "$KS_DIR"
mkdir "$KS_DIR"
run restore "$BAK"
is "restore into a fresh data directory: exit 0" "$RC" 0
check "the files are back" cmp -s "$KS_DIR/dav/alice/koreader/statistics.sqlite3" "$A"
check "no statistics folder" test ! -e "$KS_DIR/stats"
start
wait_json /api/v1/stats/vocabulary 'd["vocabulary"] is not None'
wait_json /api/v1/stats 'd["figures_from"] is not None'
is "restored: the same figures" "$(figures)" "$WANT"
ks_stop
start
web GET /api/v1/stats "" -b "$JAR"
LISTED=$(jv 'd["uploads"]')
ks_stop
rm "$KS_DIR/stats/alice.data" "$KS_DIR/stats/alice.vocab"
start
wait_json /api/v1/stats/vocabulary 'd["vocabulary"] is not None'
wait_json /api/v1/stats 'd["figures_from"] is not None'
is "data files lost: the same figures" "$(figures)" "$WANT"
is "data files lost: both read again" "$(reads)" 2
web GET /api/v1/stats "" -b "$JAR"
is "data files lost: the list of uploads unchanged" "$(jv 'd["uploads"]')" "$LISTED"
ks_stop

# A file changed while no server ran: read again, the newest of two.
mkdir -p "$KS_DIR/dav/alice/old"
cp "$A" "$KS_DIR/dav/alice/old/statistics.sqlite3"
touch -d '1 hour ago' "$KS_DIR/dav/alice/old/statistics.sqlite3"
cp "$B" "$KS_DIR/dav/alice/koreader/statistics.sqlite3"
start
wait_read 'changed since it was read'
wait_json /api/v1/stats 'd["books"] == 1'
is "changed file: its figures" "$(jv 'd["books"], d["last_upload"]["size"]')" "1 $(stat -c %s "$B")"
like "changed file: logged" "$(grep 'is read again' "$KS_ERR.new")" \
    "statistics.sqlite3 of 'alice' is read again \(changed since it was read\)"
is "changed file: the vocabulary not read" "$(reads)" 1
ks_stop

# A hostile file with nothing read of it: refused once, not at each start.
rm -r "$KS_DIR/stats" "$KS_DIR/dav/alice/old"
printf 'no database here\n%.0s' $(seq 1 40) >"$KS_DIR/dav/alice/koreader/statistics.sqlite3"
start
wait_json /api/v1/stats 'd["refused"] is not None'
is "hostile file: the reason" "$(jv 'd["refused"], d["overview"]')" "not an SQLite database None"
ks_stop
start
web GET /api/v1/stats "" -b "$JAR"
is "hostile file: still refused" "$(jv 'd["refused"]')" "not an SQLite database"
is "hostile file: not read again" "$(grep -c 'statistics.sqlite3 of .alice. is read again' "$KS_ERR.new")" 0
ks_stop

done_testing
