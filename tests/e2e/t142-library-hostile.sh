#!/usr/bin/env bash
# t142-library-hostile: hostile and broken book files through `kosyncd
# book`, as the library's scan will meet them.
#
# Covers, each refused with its reason (exit 1, "error": "refused" and
# the reason in the line on stdout, one line on stderr), never a crash, a
# sanitizer report, a hang or a large allocation: a zip bomb (an OPF
# inflating to 50 MB, past the size cap), an entry whose headers lie about
# its size (10 MB inflated, 2,000 bytes declared: never inflated past the
# declared size), an entry past the ratio cap under the size cap, billion
# laughs in an OPF, in an FB2 and in a CBZ's ComicInfo.xml, an external
# entity, ComicInfo.xml nested 100 deep, an .fb2.zip of two books and one
# whose FB2 inflates to 65 MB (refused before inflating), a "../" entry and an absolute entry in the archive, XML nested 100 deep,
# a truncated EPUB, PDF and MOBI, garbage named .epub, an empty file, an
# EPUB whose container names a missing OPF, an unknown format, a
# directory and a missing file; and a cover whose PNG header claims
# 10000 x 5000 pixels, refused by --cover before any decoding (the
# book itself reads). PDF object streams kept with the file name's title
# and a note: 64 MB of zeros behind a /Length of a TB (inflated to 1 MiB
# at most), an /N of a billion, garbage deflate data, an xref stream
# whose /Prev is itself. The bombs' peak RSS stays under 32 MB.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
H=$KS_TMP/books/hostile
"$MK" books "$KS_TMP/books" >/dev/null

# refused FILE FORMAT REASON-REGEX
refused() {
	run book "$H/$1"
	is "$1: exit 1" "$RC" 1
	like "$1: the reason on stdout" "$OUT" \
	    "\"format\":\"$2\",\"error\":\"refused\",\"reason\":\"$3"
	like "$1: the reason on stderr" "$ERR" "^kosyncd: '[^']*' refused: $3"
	is "$1: one line on stderr" "$(printf '%s\n' "$ERR" | wc -l)" 1
}

refused bomb.epub epub "'content.opf' is too large \\(52430[0-9]* bytes, at most 4194304\\)"
refused liar.epub epub "'content.opf': damaged entry"
refused ratio.epub epub "'content.opf' expands [0-9]* bytes to [0-9]* \\(a zip bomb\\?\\)"
refused laughs.epub epub "an XML entity declaration"
refused laughs.fb2 fb2 "an XML entity declaration"
refused external.epub epub "an XML entity declaration"
refused dotdot.epub epub "an entry of the archive has an unsafe path"
refused absolute.cbz cbz "an entry of the archive has an unsafe path"
refused deep.epub epub "XML nested too deeply"
refused truncated.epub epub "not a readable zip archive"
refused truncated.pdf pdf "a PDF without startxref"
refused truncated.mobi mobi "a damaged or truncated MOBI header"
refused several.fb2.zip fb2 "a zip archive of 2 FB2 files \\(one book each\\)"
refused oversized.fb2.zip fb2 "'big.fb2' is too large \\(68158360 bytes, at most 67108864\\)"
refused laughs.cbz cbz "an XML entity declaration"
refused deep.cbz cbz "XML nested too deeply"
refused garbage.epub unknown "not a book format kosyncd reads"
refused empty.epub unknown "an empty file"
refused no-opf.epub epub "the OPF named by container.xml is missing"
refused random.bin unknown "not a book format kosyncd reads"

# kept FILE: read (exit 0) with the file name's title and a note
kept() {
	run book "$H/$1"
	is "$1: exit 0" "$RC" 0
	is "$1: nothing on stderr" "$ERR" ""
	like "$1: the file name's title, and why" "$OUT" \
	    "\"title\":\"${1%.pdf}\",\"authors\":\[\],\"note\":\"the PDF's /Info object cannot be read\""
}

kept objstm-bomb.pdf
kept objstm-n.pdf
kept objstm-garbage.pdf
kept xref-loop.pdf

run book "$H"
is "a directory: exit 1, said" "$RC:$ERR" "1:kosyncd: '$H' is not a regular file"
run book "$H/nothing-here.epub"
like "a missing file: exit 1, said" "$RC:$ERR" \
    "^1:kosyncd: cannot open '.*nothing-here.epub': No such file"

# The bombs' peak memory: far below the 50, 10 and 64 MB they inflate to
# (the sanitizer build alone takes about 14 MB).
if [ -x /usr/bin/time ]; then
	for f in bomb.epub liar.epub objstm-bomb.pdf oversized.fb2.zip; do
		/usr/bin/time -f '%M' -o "$KS_TMP/rss" "$KOSYNCD" book "$H/$f" \
		    >/dev/null 2>&1
		peak=$(tail -n 1 "$KS_TMP/rss")
		check "$f: peak RSS under 32 MB (${peak} KB)" \
		    test "${peak:-99999999}" -lt 32768
	done
fi

run book "$H/huge-image.cbz"
is "huge image: the book reads" "$RC" 0
run book --cover "$KS_TMP/c.jpg" "$H/huge-image.cbz"
is "huge image: --cover refused before decoding" "$RC:$ERR" \
    "1:kosyncd: the cover of '$H/huge-image.cbz': the image is too large (10000 x 5000 pixels, at most 40000000)"
check "huge image: no thumbnail written" test ! -e "$KS_TMP/c.jpg"

done_testing
