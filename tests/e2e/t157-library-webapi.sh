#!/usr/bin/env bash
# t157-library-webapi: the library's JSON API of the web interface
# (libapi.c, docs/api.md "Library") on a folder of generated books.
#
# Covers: signed out 401; a page of books (order, total, offset, limit,
# filters: search, author, series, language, docs); a book; 404 for an
# unknown or malformed id; facets; a cover (JPEG, ETag, 304 on
# If-None-Match; 404 without one); a download byte-identical with
# Content-Disposition "Author - Title.ext"; bad arguments 400 with JSON;
# an upload of another account invisible (list, book, file: 404); admin
# status and scan for administrators only (403 otherwise, CSRF needed for
# the scan); an account's WebDAV usage for administrators only; memory
# storage: empty lists saying so, a book 404 with a message.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
B=$KS_TMP/books
L=$KS_TMP/lib
"$MK" books "$B" >/dev/null
mkdir -p "$L"
cp "$B/epub2.epub" "$B/epub3.epub" "$B/book.fb2" "$B/info.pdf" "$B/comic.cbz" "$L/"
cp "$B/hostile/garbage.epub" "$L/"
KS_RUN_ARGS=(--library-paths "$L")
mkdir -p "$KS_DIR"
pw pa
run user add ann --stdin
pw pb
run user add bob --stdin
run user admin ann on
run library add --user bob "$B/ref.pdf"
is "bob's upload added" "$RC" 0

ks_start --library-paths "$L" || { not_ok "server started"; done_testing; }
for _ in $(seq 1 100); do
	grep -q 'library: scanned' "$KS_ERR.new" && break
	sleep 0.1
done

signin() {
	JAR=$KS_TMP/jar-$1
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$JAR"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() {
	local m=$1 p=$2
	shift 2
	web "$m" "$p" "${1-}" -b "$JAR" -H "X-CSRF-Token: $CSRF" "${@:2}"
}

web GET /api/v1/library
is "signed out: 401" "$STATUS" 401

signin ann pa
as GET '/api/v1/library?limit=2'
is "page: 200" "$STATUS" 200
is "page: no-store" "$(printf '%s\n' "$HEADERS" | grep -ci '^cache-control: no-store')" 1
is "page: two of five, by title" "$(printf '%s' "$BODY" | json '([b["title"] for b in d["books"]], d["total"], d["offset"])')" \
    "(['A (Literal) Title', 'comic'], 5, 0)"
as GET '/api/v1/library?limit=2&offset=4'
is "page: the last" "$(printf '%s' "$BODY" | json '([b["title"] for b in d["books"]], d["total"], d["offset"])')" \
    "(['Roadside Picnic'], 5, 4)"
as GET '/api/v1/library?search=prince'
is "search" "$(printf '%s' "$BODY" | json '[b["title"] for b in d["books"]]')" "['Le Petit Prince']"
as GET '/api/v1/library?author=Ursula%20K.%20Le%20Guin'
is "author" "$(printf '%s' "$BODY" | json '[b["title"] for b in d["books"]]')" "['The Left Hand of Darkness']"
as GET '/api/v1/library?language=fr&series=Les%20Classiques'
is "language and series" "$(printf '%s' "$BODY" | json '[b["title"] for b in d["books"]]')" "['Le Petit Prince']"
as GET '/api/v1/library?order=added&limit=200'
is "order added: every book" "$(printf '%s' "$BODY" | json 'len(d["books"])')" 5
BOOK=$(printf '%s' "$BODY" | json '[b["id"] for b in d["books"] if b["title"] == "Le Petit Prince"][0]')
FILE=$(printf '%s' "$BODY" | json '[b["files"][0]["id"] for b in d["books"] if b["title"] == "Le Petit Prince"][0]')
FMD5=$(printf '%s' epub2.epub | md5sum | cut -d' ' -f1)
as GET "/api/v1/library?docs=$FMD5,0123456789abcdef0123456789abcdef"
is "docs: the book of a filename MD5" "$(printf '%s' "$BODY" | json '[b["id"] for b in d["books"]]')" "['$BOOK']"
as GET "/api/v1/library?docs="
is "docs empty: no book" "$(printf '%s' "$BODY" | json '(d["books"], d["total"])')" "([], 0)"

for bad in 'order=size' 'limit=0' 'limit=201' 'offset=-1' 'limit=x' 'docs=xyz' 'search=%ff' 'search=%zz'; do
	as GET "/api/v1/library?$bad"
	is "bad $bad: 400" "$STATUS" 400
	is "bad $bad: JSON" "$(printf '%s' "$BODY" | json 'd["code"]')" 400
done

as GET "/api/v1/library/$BOOK"
is "book" "$(printf '%s' "$BODY" | json '(d["title"], d["authors"], d["series"], d["series_index"], d["publisher"], d["has_cover"])')" \
    "('Le Petit Prince', ['Antoine de Saint-Exupéry'], 'Les Classiques', 2.5, 'Gallimard', True)"
as GET /api/v1/library/0123456789abcdef0123456789abcdef
is "unknown book: 404" "$STATUS" 404
as GET /api/v1/library/nothex
is "malformed book id: 404" "$STATUS" 404

as GET /api/v1/library/facets/languages
is "facet languages" "$(printf '%s' "$BODY" | json '[(v["value"], v["count"]) for v in d["values"]]')" "[('en', 1), ('fr', 1), ('ru', 1)]"
as GET /api/v1/library/facets/colours
is "unknown facet: 404" "$STATUS" 404

as GET "/api/v1/library/$BOOK/cover?size=120"
is "cover: 200" "$STATUS" 200
is "cover: JPEG" "$CTYPE" image/jpeg
is "cover: JPEG bytes" "$(head -c 3 "$KS_TMP/body" | od -An -tx1 | tr -d ' ')" ffd8ff
ETAG=$(printf '%s\n' "$HEADERS" | sed -n 's/^[Ee][Tt]ag: *//p')
check "cover: an ETag" [ -n "$ETAG" ]
as GET "/api/v1/library/$BOOK/cover?size=120" "" -H "If-None-Match: $ETAG"
is "cover: 304 when the browser has it" "$STATUS" 304
NOCOVER=$(web GET '/api/v1/library?search=literal' -b "$JAR"; printf '%s' "$BODY" | json 'd["books"][0]["id"]')
as GET "/api/v1/library/$NOCOVER/cover"
is "no cover: 404" "$STATUS" 404
as GET "/api/v1/library/$BOOK/cover?size=5000"
is "cover size too large: 400" "$STATUS" 400

as GET "/api/v1/library/files/$FILE"
is "download: 200" "$STATUS" 200
is "download: type" "$CTYPE" application/epub+zip
check "download: the stored bytes" cmp -s "$KS_TMP/body" "$L/epub2.epub"
is "download: its name" "$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Dd]isposition: *//p')" \
    'attachment; filename="Antoine de Saint-Exupéry - Le Petit Prince.epub"'
as GET /api/v1/library/files/0123456789abcdef0123456789abcdef
is "unknown file: 404" "$STATUS" 404

# bob's upload: his, not ann's.
as GET '/api/v1/library?limit=200'
check "ann does not see bob's upload" [ "$(printf '%s' "$BODY" | json 'd["total"]')" = 5 ]
signin bob pb
as GET '/api/v1/library?uploads=1'
is "bob sees his upload" "$(printf '%s' "$BODY" | json '(d["total"], d["books"][0]["owner"])')" "(1, 'bob')"
UBOOK=$(printf '%s' "$BODY" | json 'd["books"][0]["id"]')
UFILE=$(printf '%s' "$BODY" | json 'd["books"][0]["files"][0]["id"]')
as GET "/api/v1/library/files/$UFILE"
check "bob downloads it" cmp -s "$KS_TMP/body" "$B/ref.pdf"
as GET /api/v1/admin/library
is "admin status: 403 for others" "$STATUS" 403
as GET /api/v1/admin/users/ann/files
is "an account's files: 403 for others" "$STATUS" 403
signin ann pa
as GET "/api/v1/library/$UBOOK"
is "ann: bob's book 404" "$STATUS" 404
as GET "/api/v1/library/files/$UFILE"
is "ann: bob's file 404" "$STATUS" 404

as GET /api/v1/admin/library
is "admin status: 200" "$STATUS" 200
is "admin status: counts" "$(printf '%s' "$BODY" | json '(d["sources"][0]["kind"], d["sources"][0]["books"], d["skipped_total"], d["skipped"][0]["path"])')" \
    "('folder', 5, 1, 'garbage.epub')"
as GET /api/v1/admin/users/bob/files
is "an account's files: 200" "$STATUS" 200
is "an account's files: its usage" "$(printf '%s' "$BODY" | json '(d["bytes"], d["entries"])')" "(0, 0)"
as GET '/api/v1/admin/users/a%3Ab/files'
is "an account's files: a bad name 404" "$STATUS" 404
web POST /api/v1/admin/library/scan "" -b "$JAR"
is "scan without CSRF: 403" "$STATUS" 403
cp "$B/noinfo.pdf" "$L/"
as POST /api/v1/admin/library/scan
is "scan: 202" "$STATUS" 202
for _ in $(seq 1 100); do
	as GET '/api/v1/library'
	[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 6 ] && break
	sleep 0.1
done
is "scan: the new book" "$(printf '%s' "$BODY" | json 'd["total"]')" 6
ks_stop

# Memory storage: no library.
ks_start --storage memory || { not_ok "memory server started"; done_testing; }
register ann "$(md5 pa)"
signin ann pa
as GET /api/v1/library
is "memory: an empty list, not available" "$(printf '%s' "$BODY" | json '(d["books"], d["total"], d["available"])')" "([], 0, False)"
as GET /api/v1/library/facets/authors
is "memory: no facet values" "$(printf '%s' "$BODY" | json 'd["values"]')" "[]"
as GET /api/v1/library/0123456789abcdef0123456789abcdef
is "memory: a book 404" "$STATUS" 404
is "memory: says why" "$(printf '%s' "$BODY" | json 'd["message"]')" "There is no library with this storage."
ks_stop

done_testing
