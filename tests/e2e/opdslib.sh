# opdslib.sh: what the library catalog tests (t150-t154) share; source it
# after lib.sh. It makes the sample books (tests/mkbooks.py) in $B, an
# empty library folder $L (the tests copy into it what they serve) and
# sets KS_RUN_ARGS so that `run library ...` works on it.
#
#   get PATH [CURL ARGS...]   GET as ann (password alpha, HTTP Basic);
#                             sets STATUS, HEADERS and the body file $F
#   hdr NAME                  a header of the last answer
#   sample_library            five sample books and 60 text files in $L
#                             (two feed pages), scanned
#   kr EXPR                   EXPR over $F as KOReader keeps an Atom feed
#                             (opdsread.py dump; d is the feed)

MK=$(dirname "$0")/../mkbooks.py
RD=$(dirname "$0")/opdsread.py
B=$KS_TMP/books
L=$KS_TMP/lib
F=$KS_TMP/feed
"$MK" books "$B" >/dev/null
mkdir -p "$L" "$KS_DIR"
KS_RUN_ARGS=(--library-paths "$L")
ks_allow_stderr 'warning: .*accessible to others'

get() {
	local p=$1
	shift
	STATUS=$(curl -s -S -m 20 -u ann:alpha -D "$KS_TMP/gh" -o "$F" \
	    -w '%{http_code}' "$@" "$KS_URL$p")
	HEADERS=$(tr -d '\r' <"$KS_TMP/gh")
}
hdr() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | tail -n 1; }
kr() { python3 "$RD" dump "$F" | json "$1"; }
sample_library() {
	cp "$B/epub2.epub" "$B/epub3.epub" "$B/book.fb2" "$B/info.pdf" \
	    "$B/comic.cbz" "$L/"
	for i in $(seq 10 69); do
		printf 'text %s\n' "$i" >"$L/Volume $i.txt"
	done
	run library scan
	is "scan: exit 0" "$RC" 0
}
# tie_library: 130 FB2 books in $L whose sort keys tie (t167, t168): the
# titles "The Same Title" and "Same Title" (one sort title) by 26
# authors, 5 books an author, every second book in the series "Saga"
# with repeated numbers (every sixth without one), all added by one scan;
# scanned.
tie_library() {
	python3 - "$L" <<'PY'
import os, sys
titles = ["The Same Title", "Same Title", "Another Story", "Zebra", "Middle"]
for i in range(130):
    t, a = titles[i % 5], chr(ord("A") + (i // 5) % 26)
    seq = ""
    if i % 2 == 0:
        seq = '<sequence name="Saga"%s/>' % (
            "" if i % 6 == 0 else ' number="%d"' % (i % 7))
    fb2 = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0">'
           '<description><title-info><author><first-name>%s</first-name>'
           '<last-name>Writer</last-name></author><book-title>%s</book-title>'
           '<lang>en</lang>%s</title-info></description><body><section>'
           '<p>Book %d.</p></section></body></FictionBook>\n' % (a, t, seq, i))
    with open(os.path.join(sys.argv[1], "tie%03d.fb2" % i), "w") as f:
        f.write(fb2)
PY
	run library scan
	is "tie library: scanned" "$RC" 0
}
