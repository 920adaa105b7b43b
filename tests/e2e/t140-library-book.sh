#!/usr/bin/env bash
# t140-library-book: what the library reads from each format, through
# `kosyncd book` on the books tests/mkbooks.py makes.
#
# Covers, each line of JSON compared whole (every member): EPUB 2
# (calibre's series and index, an illustrator left out of the authors, an
# escaped HTML description made plain text with its paragraphs, ISBN and
# calibre identifiers, repeated subjects once, a cover named by
# meta name="cover" two folders up from the OPF and percent-encoded),
# EPUB 3 (refined creator roles, belongs-to-collection with
# group-position, urn:uuid identifier, properties="cover-image"), an EPUB
# without a title (the file name's), FB2 in UTF-8 (authors from name
# parts, sequence, annotation paragraphs, genre and keywords, publisher,
# ISBN, the cover's <binary>) and in windows-1251, PDF /Info with a
# literal string with escapes, UTF-16BE hex strings with a surrogate pair,
# a title given by reference, no /Info, an encrypted PDF (file name, and
# a note saying why), PDF 1.5 with /Info and its author inside a
# compressed object stream found through a cross-reference stream (with
# the PNG Up predictor and without, and a hybrid file whose classic
# table's trailer names the stream in /XRefStm), an .fb2.zip (the FB2 inside, its
# cover), a CBZ with ComicInfo.xml (title, series and number, writers
# split on commas and the penciller left out, summary, language,
# publisher, genres and tags as subjects once, a nested Title ignored),
# CBZ
# (the first image in name order, macOS junk skipped), MOBI with EXTH
# (503 title, 100 author, 524 language, 104 ISBN, 201 cover: the image
# record's byte range), AZW3 in Windows-1252 without EXTH 503 (the full
# name), DjVu and TXT (file names); the partial MD5 and the file-name MD5
# against Python's hashlib; several files in one call; --cover writing a
# JPEG thumbnail within --cover-size for every format with a cover, and
# refusing a book without one and a bad size.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
B=$KS_TMP/books
"$MK" books "$B" >/dev/null

# book NAME EXPECTED-JSON: `kosyncd book` on $B/NAME gives one line, the
# expected members plus file, size and both MD5s (computed here).
book() {
	run book "$B/$1"
	is "$1: exit 0" "$RC" 0
	is "$1: nothing on stderr" "$ERR" ""
	is "$1: the JSON" "$(python3 - "$B/$1" "$2" "$OUT" <<'PY'
import hashlib, importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("mk", os.environ["MK"])
mk = importlib.util.module_from_spec(spec); spec.loader.exec_module(mk)
path, want, got = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
want.update({"file": path, "size": os.path.getsize(path),
             "partial_md5": mk.partial_md5_file(path),
             "filename_md5": hashlib.md5(
                 os.path.basename(path).encode()).hexdigest()})
lines = got.split("\n")
if len(lines) != 1:
    print("%d lines" % len(lines))
elif json.loads(lines[0]) != want:
    print(lines[0])
else:
    print("same")
PY
)" same
}
export MK

book epub2.epub '{"format":"epub","title":"Le Petit Prince",
 "authors":["Antoine de Saint-Exupéry"],"series":"Les Classiques",
 "series_index":2.5,"language":"fr","publisher":"Gallimard",
 "description":"Un pilote & un prince.\nDeuxième paragraphe.",
 "identifiers":[{"scheme":"isbn","value":"9782070612758"},
  {"scheme":"calibre","value":"42"}],"subjects":["Fiction","Classics"],
 "cover":{"entry":"OEBPS/Images/cover page.png"}}'
book epub3.epub '{"format":"epub","title":"The Left Hand of Darkness",
 "authors":["Ursula K. Le Guin"],"series":"Hainish Cycle","series_index":4,
 "language":"en","identifiers":[{"scheme":"uuid",
  "value":"0d5e6c2a-53f4-4a11-9c52-8b0d1e6f7a10"}],
 "cover":{"entry":"EPUB/images/cover.png"}}'
book "No Title Here.epub" '{"format":"epub","title":"No Title Here",
 "authors":["Ursula K. Le Guin"],"series":"Hainish Cycle","series_index":4,
 "language":"en","identifiers":[{"scheme":"uuid",
  "value":"0d5e6c2a-53f4-4a11-9c52-8b0d1e6f7a10"}]}'
FB2_COMMON='"authors":["Arkady Strugatsky","Boris N. Strugatsky"],
 "series":"Noon Universe","series_index":7,"language":"ru",
 "publisher":"Macmillan","description":"First paragraph.\nSecond one.",
 "identifiers":[{"scheme":"isbn","value":"978-0-02-615170-9"}],
 "subjects":["sf","stalker","zone"]'
COVER_LEN=$(python3 -c 'import importlib.util, os
spec = importlib.util.spec_from_file_location("mk", os.environ["MK"])
mk = importlib.util.module_from_spec(spec); spec.loader.exec_module(mk)
print(len(mk.COVER))')
book book.fb2 "{\"format\":\"fb2\",\"title\":\"Roadside Picnic\",$FB2_COMMON,
 \"cover\":{\"embedded\":$COVER_LEN}}"
book cp1251.fb2 "{\"format\":\"fb2\",\"title\":\"Пикник на обочине\",$FB2_COMMON}"
book info.pdf '{"format":"pdf","title":"A (Literal) Title",
 "authors":["Jane Doe"],"subjects":["a","b","c"]}'
book utf16.pdf '{"format":"pdf","title":"Ελληνικά 📖","authors":["John"]}'
book ref.pdf '{"format":"pdf","title":"Indirect Title","authors":[]}'
book noinfo.pdf '{"format":"pdf","title":"noinfo","authors":[]}'
book encrypted.pdf '{"format":"pdf","title":"encrypted","authors":[],
 "note":"an encrypted PDF (its /Info is not decrypted)"}'
OBJSTM='"title":"Compressed (Stream) Title","authors":["Ann Author"],
 "subjects":["x","y"]'
book objstm.pdf "{\"format\":\"pdf\",$OBJSTM}"
book objstm-plain.pdf "{\"format\":\"pdf\",$OBJSTM}"
book hybrid.pdf "{\"format\":\"pdf\",$OBJSTM}"

book book.fb2.zip "{\"format\":\"fb2\",\"title\":\"Roadside Picnic\",$FB2_COMMON,
 \"cover\":{\"embedded\":$COVER_LEN}}"
book comicinfo.cbz '{"format":"cbz","title":"The Long Night",
 "authors":["Anna Ink","Bo Pen"],"series":"Night Watch","series_index":3,
 "language":"en","publisher":"Small Press",
 "description":"Two watchers.\nA city that never sleeps.",
 "subjects":["Noir","Fantasy","night"],"cover":{"entry":"p01.png"}}'
book comic.cbz '{"format":"cbz","title":"comic","authors":[],
 "cover":{"entry":"pages/001.png"}}'
MOBI_COVER=$(python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack(">H", d[76:78])[0]
print(struct.unpack(">I", d[78 + 16:78 + 20])[0], len(d) - struct.unpack(">I", d[78 + 16:78 + 20])[0])' "$B/book.mobi")
book book.mobi "{\"format\":\"mobi\",\"title\":\"Dune\",
 \"authors\":[\"Frank Herbert\"],\"language\":\"en\",
 \"identifiers\":[{\"scheme\":\"isbn\",\"value\":\"9780441478125\"}],
 \"cover\":{\"offset\":${MOBI_COVER% *},\"length\":${MOBI_COVER#* }}}"
book cp1252.azw3 '{"format":"azw3","title":"Café – Full","authors":["André"],
 "language":"en","identifiers":[{"scheme":"isbn","value":"9780441478125"}]}'
book book.djvu '{"format":"djvu","title":"book","authors":[]}'
book notes.txt '{"format":"txt","title":"notes","authors":[]}'

run book "$B/epub3.epub" "$B/notes.txt" "$B/comic.cbz"
is "three files: exit 0" "$RC" 0
is "three files: three lines, in order" \
    "$(printf '%s\n' "$OUT" | python3 -c 'import json, sys
print(" ".join(json.loads(l)["format"] for l in sys.stdin))')" "epub txt cbz"

bad=$B/$(printf 'bad\xffname.txt')
cp "$B/notes.txt" "$bad"
run book "$bad"
is "a file name that is no UTF-8: repaired in the JSON" \
    "$RC:$(printf '%s\n' "$OUT" | python3 -c 'import json, os, sys
print(os.path.basename(json.loads(sys.stdin.read())["file"]))')" \
    "0:bad$(printf '\xef\xbf\xbd')name.txt"

# jpeg_size FILE: "WxH" of a baseline JPEG (its SOF0 marker).
jpeg_size() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:2] == b"\xff\xd8"
i = 2
while i < len(d):
    marker, length = d[i + 1], struct.unpack(">H", d[i + 2:i + 4])[0]
    if marker == 0xC0:
        h, w = struct.unpack(">HH", d[i + 5:i + 9])
        print("%dx%d" % (w, h))
        break
    i += 2 + length
PY
}
for f in epub2.epub epub3.epub book.fb2 book.fb2.zip book.mobi comic.cbz \
    comicinfo.cbz; do
	rm -f "$KS_TMP/c.jpg"
	run book --cover "$KS_TMP/c.jpg" --cover-size 40x40 "$B/$f"
	is "$f: --cover exit 0" "$RC:$ERR" "0:"
	is "$f: the thumbnail fits 40x40, proportions kept (60x90)" \
	    "$(jpeg_size "$KS_TMP/c.jpg")" "27x40"
done
run book --cover "$KS_TMP/c.jpg" "$B/epub3.epub"
is "default size: the cover is never enlarged" \
    "$RC:$(jpeg_size "$KS_TMP/c.jpg")" "0:60x90"
rm -f "$KS_TMP/c.jpg"
run book --cover "$KS_TMP/c.jpg" "$B/info.pdf"
is "no cover: exit 1" "$RC" 1
like "no cover: said" "$ERR" "^kosyncd: '.*info.pdf' has no cover$"
check "no cover: no file" test ! -e "$KS_TMP/c.jpg"
run book --cover "$KS_TMP/c.jpg" "$B/info.pdf" "$B/epub3.epub"
is "--cover with two files: refused" "$RC:$ERR" \
    "1:kosyncd: --cover takes one FILE"
run book --cover-size 0x10 "$B/epub3.epub"
is "a bad --cover-size: refused" "$RC" 1
like "a bad --cover-size: said" "$ERR" "^kosyncd: --cover-size: not WxH"

done_testing
