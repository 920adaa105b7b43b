#!/usr/bin/env bash
# t143-library-scan: the library index's scan of a folder (library.h),
# through `kosyncd library scan|list|status` and a running server.
#
# Covers: a first scan reads every book (an .fb2.zip too, one book with
# its .fb2) (the ids: the file id is the
# partial MD5, the filename MD5 beside it); hostile files skipped each
# with its reason (zip bomb, entity expansion, unsafe paths, garbage);
# a symlink leaving the folder refused with its reason, one inside it
# ignored (and refused once it dangles); a huge cover image is no reason
# to refuse a book (only its thumbnail fails); hidden files ignored; an unchanged rescan reads nothing; a
# renamed file followed without being read (same file id, same "added",
# its new name and filename MD5); a file moved to a subfolder followed
# too; a deleted file's book removed; a new file added; a changed file
# read again; a folder that vanished keeps its books (an unmounted
# disk); a server started with library_paths scans at its start,
# without stderr, and again (debounced, once) after a change in a watched
# folder, a new folder's files too.
. "$(dirname "$0")/lib.sh"

books epub2.epub epub3.epub book.fb2 info.pdf book.fb2.zip
mkdir -p "$L/sub"
cp "$B/comic.cbz" "$L/sub/"
# The hostile files of t142 that a scan must skip (the PDFs whose /Info
# cannot be read are books still, titled by their names: t142).
mkdir "$L/hostile"
for f in absolute.cbz bomb.epub deep.epub dotdot.epub empty.epub \
    external.epub garbage.epub huge-image.cbz laughs.epub laughs.fb2 \
    liar.epub no-opf.epub random.bin ratio.epub truncated.epub \
    truncated.mobi truncated.pdf deep.cbz laughs.cbz several.fb2.zip \
    oversized.fb2.zip; do
	cp "$B/hostile/$f" "$L/hostile/"
done
cp "$B/book.mobi" "$L/.hidden.mobi"
ln -s /etc/passwd "$L/escape.epub"
ln -s "$L/epub2.epub" "$L/inside.epub"
KS_RUN_ARGS=(--library-paths "$L")

run library scan
is "scan: exit 0" "$RC" 0
like "scan: counts" "$OUT" '^scanned 26 files \(7 read, 0 removed, 20 skipped\)'

run library list
is "list: exit 0" "$RC" 0
is "list: the titles" "$(printf '%s\n' "$OUT" | sed 's/^[0-9a-f]\{32\}  //')" "A (Literal) Title - Jane Doe
comic
huge-image
Le Petit Prince - Antoine de Saint-Exupéry
The Left Hand of Darkness - Ursula K. Le Guin
Roadside Picnic - Arkady Strugatsky
6 books"

# status: the reasons
run library status
is "status: exit 0" "$RC" 0
reason() {
	printf '%s' "$OUT" | python3 -c "
import json, sys
d = json.load(sys.stdin)
print([s['reason'] for s in d['skipped'] if s['path'] == sys.argv[1]])
" "$1"
}
is "symlink out refused" "$(reason escape.epub)" \
    "['symlink out of the library folder refused']"
is "symlink inside ignored" "$(reason inside.epub)" "[]"
like "zip bomb" "$(reason hostile/ratio.epub)" "a zip bomb"
like "billion laughs" "$(reason hostile/laughs.epub)" "entity declaration"
like "unsafe path" "$(reason hostile/dotdot.epub)" "unsafe path"
like "garbage" "$(reason hostile/garbage.epub)" "not a book format"
is "status: counts" "$(printf '%s' "$OUT" | json '(d["books"], d["files"], d["skipped_total"], d["sources"][0]["kind"], d["sources"][1]["kind"])')" \
    "(6, 7, 20, 'folder', 'upload')"

# book NAME FIELD: a field of the book of file NAME in `library list --json`
field() {
	run library list --json
	printf '%s\n' "$OUT" | python3 -c "
import json, sys
for line in sys.stdin:
    b = json.loads(line)
    for f in b['files']:
        if f['name'] == sys.argv[1]:
            print(eval(sys.argv[2]))
" "$1" "$2"
}
pmd5=$(python3 -c "
import importlib.util, sys
spec = importlib.util.spec_from_file_location('mk', sys.argv[1])
mk = importlib.util.module_from_spec(spec); spec.loader.exec_module(mk)
print(mk.partial_md5_file(sys.argv[2]))" "$MK" "$L/epub2.epub")
is "file id: the partial MD5" "$(field epub2.epub 'f["id"]')" "$pmd5"
is "filename MD5" "$(field epub2.epub 'f["filename_md5"]')" \
    "$(printf '%s' epub2.epub | md5sum | cut -d' ' -f1)"
is "metadata" "$(field epub2.epub '(b["series"], b["series_index"], b["language"], b["has_cover"], f["format"], f["mime"], f["source"])')" \
    "('Les Classiques', 2.5, 'fr', True, 'epub', 'application/epub+zip', 'folder')"
is "an .fb2.zip: read as FB2, served as the zip it is, one book with the .fb2" \
    "$(field book.fb2.zip '(f["format"], f["mime"], len(b["files"]))')" \
    "('fb2', 'application/x-zip-compressed-fb2', 2)"
added=$(field epub2.epub 'b["added"]')

run library scan
like "unchanged rescan reads nothing" "$OUT" '^scanned 26 files \(0 read, 0 removed, 20 skipped\)'

sleep 1.1
mv "$L/epub2.epub" "$L/Le Petit Prince.epub"
mv "$L/book.fb2" "$L/sub/book.fb2"
run library scan
like "rename and move: nothing read, nothing removed" "$OUT" '^scanned 26 files \(0 read, 0 removed'
is "renamed: same id and added" "$(field 'Le Petit Prince.epub' '(f["id"], b["added"])')" "('$pmd5', $added)"
is "renamed: its new filename MD5" "$(field 'Le Petit Prince.epub' 'f["filename_md5"]')" \
    "$(printf '%s' 'Le Petit Prince.epub' | md5sum | cut -d' ' -f1)"
is "moved to sub/: still there" "$(field book.fb2 'b["title"]')" "Roadside Picnic"

rm "$L/info.pdf"
cp "$B/book.djvu" "$L/new.djvu"
run library scan
like "delete and add" "$OUT" '^scanned 26 files \(1 read, 1 removed'
run library list
is "list after delete and add" "$(printf '%s\n' "$OUT" | sed 's/^[0-9a-f]\{32\}  //')" "comic
huge-image
Le Petit Prince - Antoine de Saint-Exupéry
The Left Hand of Darkness - Ursula K. Le Guin
new
Roadside Picnic - Arkady Strugatsky
6 books"

# A changed file is read again.
cp "$B/utf16.pdf" "$L/new.djvu"
run library scan
like "changed file read again" "$OUT" '^scanned 26 files \(1 read'

# A folder gone keeps its books.
mv "$L" "$L.away"
run library scan
run library list
like "vanished folder keeps its books" "$OUT" "6 books$"
run library status
is "vanished folder: not available" "$(printf '%s' "$OUT" | json 'd["sources"][0]["available"]')" False
mv "$L.away" "$L"

# The server scans at its start.
rm -rf "$KS_DIR/library"
ks_start --library-paths "$L"
for i in $(seq 1 100); do
	grep -q 'library: scanned' "$KS_ERR.new" && break
	sleep 0.1
done
like "server: scanned at start" "$(grep 'library: scanned' "$KS_ERR.new")" 'scanned 26 files \(7 read'
run library list
like "server: the index it made" "$OUT" "6 books$"

# inotify: a change in a folder (and a new folder) is scanned within
# LIBRARY_DEBOUNCE_MS (2 s), once.
scans() { grep -c 'library: scanned' "$KS_ERR.new"; }
sleep 2.5
is "no scan without a change" "$(scans)" 1
mkdir "$L/sub/deeper"
sleep 0.5
cp "$B/noinfo.pdf" "$L/sub/deeper/"
cp "$B/ref.pdf" "$L/sub/"
wait_scans() {
	for i in $(seq 1 100); do
		[ "$(scans)" -ge "$1" ] && break
		sleep 0.1
	done
}
wait_scans 2
sleep 2.5
run library list
like "inotify: the new books" "$OUT" "8 books$"
like "inotify: in the new folder too" "$OUT" "noinfo"
is "inotify: the changes together: one scan" "$(scans)" 2
cp "$B/book.djvu" "$L/sub/deeper/"
wait_scans 3
run library list
like "inotify: the new folder is watched" "$OUT" "9 books$"
ks_stop

done_testing
