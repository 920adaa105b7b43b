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
