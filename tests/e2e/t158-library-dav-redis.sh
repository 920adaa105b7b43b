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
# book; the server ends without stderr.
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

ks_stop
done_testing
