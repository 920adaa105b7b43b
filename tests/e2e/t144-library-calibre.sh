#!/usr/bin/env bash
# t144-library-calibre: a library_paths folder holding metadata.db is read
# as a Calibre library (tests/mkcalibre.py makes one).
#
# Covers: the metadata from Calibre's tables (title, authors in link
# order, author_sort, series and index, tags, language, publisher, the
# HTML comment as plain text, identifiers), one book per Calibre book with
# each format file of data (its partial MD5 and file-name MD5), has_cover
# from cover.jpg, the book id from Calibre's uuid; the source "calibre"
# in the status; a book whose path leaves the library and a missing
# format file skipped with their reasons; an unchanged rescan reads
# nothing; a book deleted from metadata.db leaves the index; a garbage
# metadata.db is refused with its reason and keeps what was indexed.
. "$(dirname "$0")/lib.sh"

C=$KS_TMP/calibre
python3 "$(dirname "$0")/../mkcalibre.py" "$C"
KS_RUN_ARGS=(--library-paths "$C")

run library scan
is "scan: exit 0" "$RC" 0
like "scan: counts" "$OUT" '^scanned 5 files \(4 read, 0 removed, 2 skipped\)'

run library list --json
book() {
	printf '%s\n' "$OUT" | python3 -c "
import json, sys
for line in sys.stdin:
    b = json.loads(line)
    if b['title'] == sys.argv[1]:
        print(eval(sys.argv[2]))
" "$1" "$2"
}
is "order by title (without its article)" "$(printf '%s\n' "$OUT" | python3 -c "
import json, sys
print([json.loads(l)['title'] for l in sys.stdin])")" \
    "['The Dispossessed', 'Dune', 'Dune Messiah']"
is "Dune: metadata" "$(book Dune '(b["authors"], b["series"], b["series_index"], b["language"], b["publisher"], b["tags"], b["has_cover"])')" \
    "(['Frank Herbert'], 'Dune', 1, 'eng', 'Chilton', ['Classics', 'Science Fiction'], True)"
is "Dune: comment as plain text" "$(book Dune 'b["description"]')" "A desert planet.
Spice & sand."
is "Dune: identifiers" "$(book Dune 'b["identifiers"]')" \
    "[{'scheme': 'goodreads', 'value': '234225'}, {'scheme': 'isbn', 'value': '9780441013593'}]"
is "Dune: id from the uuid" "$(book Dune 'b["id"]')" \
    "$(printf 'calibre\n0e3a1f7e-0000-4000-8000-000000000001' | md5sum | cut -d' ' -f1)"
is "Dune: two formats" "$(book Dune '[(f["format"], f["name"], f["source"]) for f in b["files"]]')" \
    "[('epub', 'Dune - Frank Herbert.epub', 'calibre'), ('pdf', 'Dune - Frank Herbert.pdf', 'calibre')]"
pmd5=$(python3 -c "
import importlib.util, sys
spec = importlib.util.spec_from_file_location('mk', sys.argv[1])
mk = importlib.util.module_from_spec(spec); spec.loader.exec_module(mk)
print(mk.partial_md5_file(sys.argv[2]))" "$(dirname "$0")/../mkbooks.py" \
    "$C/Frank Herbert/Dune (1)/Dune - Frank Herbert.epub")
is "Dune: the epub's partial MD5" "$(book Dune 'b["files"][0]["partial_md5"]')" "$pmd5"
is "Dune Messiah: two authors, series index 2" \
    "$(book 'Dune Messiah' '(b["authors"], b["series_index"], b["language"], b["has_cover"])')" \
    "(['Frank Herbert', 'Kevin J. Anderson'], 2, 'fra', False)"

run library status
is "status: calibre source" "$(printf '%s' "$OUT" | json '(d["sources"][0]["kind"], d["sources"][0]["books"], d["sources"][0]["files"])')" \
    "('calibre', 3, 4)"
is "status: skipped" "$(printf '%s' "$OUT" | json 'd["skipped"]')" \
    "[{'path': 'Nobody/Missing (5)/Missing - Nobody.epub', 'reason': 'No such file or directory'}, {'path': 'metadata.db: book 4', 'reason': 'unsafe path'}]"

run library scan
like "unchanged rescan reads nothing" "$OUT" '^scanned 5 files \(0 read, 0 removed'

python3 -c "
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute('DELETE FROM books WHERE id = 2')
db.execute('DELETE FROM data WHERE book = 2')
db.commit()" "$C/metadata.db"
run library scan
like "book deleted in Calibre: removed" "$OUT" '^scanned 4 files \(0 read, 1 removed'
run library list
like "two books left" "$OUT" "2 books$"

cp "$C/metadata.db" "$KS_TMP/good.db"
head -c 3000 /dev/urandom >"$C/metadata.db"
run library scan
like "garbage metadata.db: scan goes on" "$OUT" '^scanned 0 files \(0 read, 0 removed, 1 skipped\)'
run library status
is "garbage metadata.db: its reason" "$(printf '%s' "$OUT" | json 'd["skipped"]')" \
    "[{'path': 'metadata.db', 'reason': 'not a readable SQLite database'}]"
run library list
like "garbage metadata.db: the books stay" "$OUT" "2 books$"

done_testing
