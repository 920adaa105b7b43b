#!/usr/bin/env bash
# t153-dav-library: the library as a read-only WebDAV folder,
# /dav/library/ (davlib.h), as KOReader's Cloud storage "Sync now" lists
# and fetches a folder (no litmus: the checks are ours).
#
# Covers: no credentials 401 with the Basic challenge; OPTIONS (DAV: 1,
# Allow without write methods); PROPFIND Depth 0 (the folder, a
# collection) and Depth 1 (a flat list: one "Author - Title.ext" per file,
# percent-encoded hrefs under /dav/library/, exact getcontentlength,
# getlastmodified the file's time, getetag, getcontenttype; two files of
# one name told apart with " (2)"); PROPFIND of one file; GET the stored
# bytes (cmp), Range 206, HEAD; an unknown name 404; PUT, DELETE, MKCOL,
# MOVE, COPY, PROPPATCH 403 with a message, nothing changed; an account's
# upload in its own folder only; the rest of the account's space still
# its own (a PUT beside the library works).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

mkdir -p "$L/a" "$L/b"
cp "$B/epub2.epub" "$B/comic.cbz" "$L/"
printf 'one\n' >"$L/a/Same.txt"
printf 'two!\n' >"$L/b/Same.txt"
run library add --user bob "$B/epub3.epub"

dav() {
	local user=$1 method=$2 path=$3
	shift 3
	STATUS=$(curl -s -S -m 20 ${user:+-u "$user"} -X "$method" \
	    -D "$KS_TMP/dh" -o "$KS_TMP/db" -w '%{http_code}' "$@" \
	    "$KS_URL$path")
	BODY=$(cat "$KS_TMP/db")
	HEADERS=$(tr -d '\r' <"$KS_TMP/dh")
}
# props: each response as "href|length|type|collection" lines.
props() {
	python3 -c '
import sys, xml.etree.ElementTree as E
D = "{DAV:}"
for r in E.parse(sys.argv[1]).getroot().findall(D + "response"):
    p = r.find(D + "propstat/" + D + "prop")
    g = lambda n: (p.find(D + n).text if p.find(D + n) is not None else "")
    c = p.find(D + "resourcetype/" + D + "collection") is not None
    print("|".join([r.find(D + "href").text, g("getcontentlength") or "", g("getcontenttype") or "", "dir" if c else "file"]))' "$KS_TMP/db"
}

ks_start --storage file --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
register ann "$(md5 alpha)"
register bob "$(md5 beta)"

dav "" PROPFIND /dav/library/ -H 'Depth: 1'
is "no credentials: 401" "$STATUS $(hdr www-authenticate)" '401 Basic realm="kosyncd"'
dav ann:alpha OPTIONS /dav/library/
is "OPTIONS" "$STATUS|$(hdr dav)|$(hdr allow)" "200|1|OPTIONS, GET, HEAD, PROPFIND"
dav ann:alpha PROPFIND /dav/library/ -H 'Depth: 0'
is "Depth 0: 207" "$STATUS" 207
is "Depth 0: the folder" "$(props)" "/dav/library/|||dir"
dav ann:alpha PROPFIND /dav/library/ -H 'Depth: 1'
is "Depth 1: the flat list" "$(props | sed 's/Same\(%20%282%29\)\{0,1\}.txt|[45]|/Same*|/')" "/dav/library/|||dir
/dav/library/Antoine%20de%20Saint-Exup%C3%A9ry%20-%20Le%20Petit%20Prince.epub|$(stat -c %s "$L/epub2.epub")|application/epub+zip|file
/dav/library/Unknown%20-%20Same*|text/plain|file
/dav/library/Unknown%20-%20Same*|text/plain|file
/dav/library/Unknown%20-%20comic.cbz|$(stat -c %s "$L/comic.cbz")|application/vnd.comicbook+zip|file"
is "two files of one name: told apart" "$(props | grep -o 'Same[^|]*|[0-9]*' | sed 's/|.*//' | sort | tr '\n' ' ')" "Same%20%282%29.txt Same.txt "
is "two files of one name: both sizes" "$(props | grep 'Same' | cut -d'|' -f2 | sort | tr '\n' ' ')" "4 5 "
like "a file's time" "$BODY" "<D:getlastmodified>$(TZ=GMT date -d @"$(stat -c %Y "$L/comic.cbz")" '+%a, %d %b %Y %H:%M:%S GMT')</D:getlastmodified><D:getetag>\"[0-9a-f]{32}\"</D:getetag><D:getcontenttype>application/vnd.comicbook"
P=/dav/library/Antoine%20de%20Saint-Exup%C3%A9ry%20-%20Le%20Petit%20Prince.epub
dav ann:alpha PROPFIND "$P" -H 'Depth: 0'
is "one file" "$(props)" "$P|$(stat -c %s "$L/epub2.epub")|application/epub+zip|file"
dav ann:alpha GET "$P"
is "GET: 200" "$STATUS" 200
check "GET: the stored bytes" cmp -s "$KS_TMP/db" "$L/epub2.epub"
dav ann:alpha GET "$P" -H 'Range: bytes=-5'
is "Range: 206" "$STATUS $(hdr content-range)" "206 bytes $(($(stat -c %s "$L/epub2.epub") - 5))-$(($(stat -c %s "$L/epub2.epub") - 1))/$(stat -c %s "$L/epub2.epub")"
dav ann:alpha HEAD "$P" -I
is "HEAD" "$STATUS $(hdr content-length)" "200 $(stat -c %s "$L/epub2.epub")"
dav ann:alpha GET /dav/library/Nothing.epub
is "unknown name: 404" "$STATUS" 404
dav ann:alpha GET /dav/library/a/b
is "below a file: 404" "$STATUS" 404

for m in PUT DELETE MKCOL MOVE COPY PROPPATCH; do
	dav ann:alpha $m "$P" --data-binary x -H "Destination: $KS_URL/dav/x.epub"
	is "$m: 403" "$STATUS" 403
done
like "403: says why" "$BODY" 'read-only'
dav ann:alpha GET "$P"
check "nothing changed" cmp -s "$KS_TMP/db" "$L/epub2.epub"

dav bob:beta PROPFIND /dav/library/ -H 'Depth: 1'
like "bob's upload in his folder" "$(props)" 'Le%20Guin%20-%20The%20Left%20Hand%20of%20Darkness\.epub'
dav ann:alpha PROPFIND /dav/library/ -H 'Depth: 1'
check "not in ann's" test "$(props | grep -c 'Left%20Hand')" = 0

dav ann:alpha PUT /dav/notes.txt --data-binary hello
is "the rest of the space: PUT 201" "$STATUS" 201
dav ann:alpha GET /dav/notes.txt
is "the rest of the space: GET" "$BODY" hello
ks_stop
done_testing
