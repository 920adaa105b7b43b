#!/usr/bin/env bash
# t158-library-dav-redis: on Redis storage with library_upload_path set,
# a book PUT into an account's WebDAV Books/ (which lives in Redis) is
# copied into <library_upload_path>/<account>/ and indexed as that
# account's upload; its DELETE removes the copy and the book.
#
# Covers: the copy byte-identical, indexed alone (1 read), the book in
# its owner's OPDS catalog and not in another account's; a PUT over it
# replaces the copy and the book; a name that is no book's, and a book
# outside Books/, not copied; DELETE in Books/ removes the copy and the
# book; a MOVE within Books/ (a rename) removes the old name's copy and
# its file from the index and copies the new name, one book with one file;
# a MOVE out of Books/ removes the copy and the book; the other copies
# (the account's, another account's) stay; the server ends without
# stderr.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
UP=$KS_TMP/up

# put|del USER PATH [FILE]: the WebDAV request; STATUS.
put() {
	STATUS=$(curl -s -S -m 20 -u "$1" -T "$3" -o /dev/null \
	    -w '%{http_code}' "$KS_URL$2")
}
del() {
	STATUS=$(curl -s -S -m 20 -u "$1" -X DELETE -o /dev/null \
	    -w '%{http_code}' "$KS_URL$2")
}
# move USER FROM TO: a WebDAV MOVE; STATUS.
move() {
	STATUS=$(curl -s -S -m 20 -u "$1" -X MOVE -H "Destination: $KS_URL$3" \
	    -o /dev/null -w '%{http_code}' "$KS_URL$2")
}
# logged N: wait for the N-th line of a Books/ copy or removal.
logged() {
	for _ in $(seq 1 100); do
		[ "$(grep -c 'library: Books/' "$KS_ERR.new")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
titles() { get /opds/v2/all "$@"; json 'sorted(p["metadata"]["title"] for p in d.get("publications", []))' <"$F"; }

ks_start_backend redis --library-upload-path "$UP" ||
	{ not_ok "server started"; done_testing; }
register ann "$(md5 alpha)"
register bob "$(md5 beta)"

STATUS=$(curl -s -S -m 20 -u ann:alpha -X MKCOL -o /dev/null -w '%{http_code}' "$KS_URL/dav/Books/")
is "MKCOL Books/: 201" "$STATUS" 201
put ann:alpha /dav/Books/epub2.epub "$B/epub2.epub"
is "PUT into Books/: 201" "$STATUS" 201
check "copied" logged 1
check "the copy byte-identical" cmp -s "$UP/ann/epub2.epub" "$B/epub2.epub"
like "indexed alone" "$(grep 'library: Books/' "$KS_ERR.new" | tail -n 1)" 'Books/epub2.epub of ann copied: scanned 1 files \(1 read'
is "ann's catalog has it" "$(titles)" "['Le Petit Prince']"
is "bob's has not" "$(titles -u bob:beta)" "[]"

put ann:alpha /dav/Books/epub2.epub "$B/epub3.epub"
is "PUT over it: 204" "$STATUS" 204
check "copied again" logged 2
check "the copy replaced" cmp -s "$UP/ann/epub2.epub" "$B/epub3.epub"
is "the book replaced" "$(titles)" "['The Left Hand of Darkness']"

put ann:alpha /dav/Books/notes.json "$B/epub2.epub"
put ann:alpha /dav/other.epub "$B/epub2.epub"
is "outside Books/: 201" "$STATUS" 201
sleep 0.5
is "no book's name, outside Books/: not copied" "$(ls -A "$UP/ann" | tr '\n' ' ')" "epub2.epub "

del ann:alpha /dav/Books/epub2.epub
is "DELETE: 204" "$STATUS" 204
check "removed" logged 3
check "the copy gone" test ! -e "$UP/ann/epub2.epub"
is "the book gone" "$(titles)" "[]"

# MOVE: a rename inside Books/, then out of it.
put ann:alpha /dav/Books/a.epub "$B/epub2.epub"
check "a.epub copied" logged 4
put ann:alpha /dav/Books/stay.fb2 "$B/book.fb2"
check "stay.fb2 copied" logged 5
STATUS=$(curl -s -S -m 20 -u bob:beta -X MKCOL -o /dev/null -w '%{http_code}' "$KS_URL/dav/Books/")
put bob:beta /dav/Books/a.epub "$B/epub2.epub"
check "bob's a.epub copied" logged 6
move ann:alpha /dav/Books/a.epub /dav/Books/b.epub
is "MOVE within Books/: 201" "$STATUS" 201
check "renamed" logged 7
like "told as a move" "$(grep 'library: Books/' "$KS_ERR.new" | tail -n 1)" 'Books/a.epub of ann moved to Books/b.epub: scanned 2 files'
check "the old name's copy gone" test ! -e "$UP/ann/a.epub"
check "the new name's copy byte-identical" cmp -s "$UP/ann/b.epub" "$B/epub2.epub"
# The books' files, as OPDS 2.0 lists them: one download each.
files() { get /opds/v2/all "$@"; json 'sorted((p["metadata"]["title"], len([l for l in p["links"] if "acquisition" in l.get("rel", "")])) for p in d.get("publications", []))' <"$F"; }
is "one book with one file (the new name's)" "$(files)" "[('Le Petit Prince', 1), ('Roadside Picnic', 1)]"
move ann:alpha /dav/Books/b.epub /dav/out.epub
is "MOVE out of Books/: 201" "$STATUS" 201
check "moved out" logged 8
like "told as a move out" "$(grep 'library: Books/' "$KS_ERR.new" | tail -n 1)" 'Books/b.epub of ann moved out: scanned 1 files'
check "its copy gone" test ! -e "$UP/ann/b.epub"
is "its book gone, the other stays" "$(titles)" "['Roadside Picnic']"
is "ann's other copy stays" "$(ls -A "$UP/ann" | tr '\n' ' ')" "stay.fb2 "
check "bob's copy stays" cmp -s "$UP/bob/a.epub" "$B/epub2.epub"
is "bob's book stays" "$(titles -u bob:beta)" "['Le Petit Prince']"

ks_stop
done_testing
