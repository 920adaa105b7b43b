#!/usr/bin/env bash
# t146-library-api: the library's JSON API of the web interface (libweb.h)
# and the accounts' uploads through Books/ of their WebDAV space.
#
# Covers: GET /api/v1/library (order by title, author, series, added;
# filters author, series, language, tag, q, docs (partial and file-name
# MD5s), uploads; paging with total; bad order, limit, docs: 400; signed
# out: 401), GET /api/v1/library/<id> (404 for unknown and malformed
# ids), the cover thumbnail (image/jpeg within ?size, ETag, 304 on
# If-None-Match, 404 without a cover, 400 for a bad size), the facets
# (authors with counts); a book PUT into Books/ over WebDAV indexed
# within seconds as its account's upload, invisible to another account
# (list, book, cover: 404); the admin status (403 for a non-admin,
# sources and counts) and POST scan (CSRF checked, 202).
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
B=$KS_TMP/books
L=$KS_TMP/lib
JAR=$KS_TMP/jar
JARB=$KS_TMP/jarb
"$MK" books "$B" >/dev/null
mkdir -p "$L"
cp "$B/epub2.epub" "$B/epub3.epub" "$B/book.fb2" "$B/comic.cbz" "$B/notes.txt" "$L/"

signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
jv() { printf '%s' "$BODY" | json "$1"; }
lib() { web GET "/api/v1/library$1" "" -b "${2:-$JAR}"; }
titles() { jv '[b["title"] for b in d["books"]]'; }

ks_start --storage file --enable-webui --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
register alice "$(md5 s3cret)"
register bob "$(md5 b0b)"
signin alice s3cret "$JAR"
CSRF_A=$CSRF
signin bob b0b "$JARB"
CSRF_B=$CSRF
for i in $(seq 1 100); do
	grep -q 'library: scanned' "$KS_ERR.new" && break
	sleep 0.1
done

lib ""
is "list: 200" "$STATUS" 200
is "list: by title" "$(titles)" \
    "['comic', 'Le Petit Prince', 'The Left Hand of Darkness', 'notes', 'Roadside Picnic']"
is "list: total, offset, limit" "$(jv '(d["total"], d["offset"], d["limit"], d["last_modified"] > 0)')" "(5, 0, 50, True)"
lib "?order=author"
is "by author (sort name)" "$(titles)" \
    "['comic', 'notes', 'The Left Hand of Darkness', 'Le Petit Prince', 'Roadside Picnic']"
lib "?order=series"
is "by series (none last)" "$(jv '[(b["series"], b["title"]) for b in d["books"]]')" \
    "[('Hainish Cycle', 'The Left Hand of Darkness'), ('Les Classiques', 'Le Petit Prince'), ('Noon Universe', 'Roadside Picnic'), ('', 'comic'), ('', 'notes')]"
lib "?order=added&limit=2&offset=1"
is "paging" "$(jv '(d["total"], len(d["books"]), d["offset"], d["limit"])')" "(5, 2, 1, 2)"
lib "?author=Ursula%20K.%20Le%20Guin"
is "author filter" "$(titles)" "['The Left Hand of Darkness']"
lib "?language=fr"
is "language filter" "$(titles)" "['Le Petit Prince']"
lib "?q=picnic"
is "search, any case" "$(titles)" "['Roadside Picnic']"
lib "?q=le%20guin%20hand"
is "search, every word" "$(titles)" "['The Left Hand of Darkness']"
lib "?q=100%25"
is "search: % is no wildcard" "$(titles)" "[]"
lib "?series=Les%20Classiques"
is "series filter" "$(titles)" "['Le Petit Prince']"
ID=$(jv 'd["books"][0]["id"]')
PMD5=$(jv 'd["books"][0]["files"][0]["partial_md5"]')
FMD5=$(jv 'd["books"][0]["files"][0]["filename_md5"]')
TAG=$(jv 'd["books"][0]["tags"][0]')
lib "?tag=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' "$TAG")"
is "tag filter" "$(titles)" "['Le Petit Prince']"
lib "?docs=ffffffffffffffffffffffffffffffff,$PMD5"
is "docs: by partial MD5" "$(titles)" "['Le Petit Prince']"
lib "?docs=$FMD5"
is "docs: by file-name MD5" "$(titles)" "['Le Petit Prince']"
lib "?order=random"
is "bad order: 400" "$STATUS" 400
lib "?limit=201"
is "limit over 200: 400" "$STATUS" 400
lib "?limit=x"
is "limit not a number: 400" "$STATUS" 400
lib "?docs=$(python3 -c 'print(",".join(["a"] * 201))')"
is "201 docs: 400" "$STATUS" 400
web GET /api/v1/library
is "signed out: 401" "$STATUS" 401

web GET "/api/v1/library/$ID" "" -b "$JAR"
is "book: 200" "$STATUS" 200
is "book: the same" "$(jv '(d["book"]["title"], d["book"]["series_index"], d["book"]["files"][0]["format"])')" \
    "('Le Petit Prince', 2.5, 'epub')"
web GET /api/v1/library/00000000000000000000000000000000 "" -b "$JAR"
is "unknown book: 404" "$STATUS" 404
web GET /api/v1/library/..%2f..%2fetc "" -b "$JAR"
is "malformed id: 404" "$STATUS" 404

web GET "/api/v1/library/$ID/cover?size=100x150" "" -b "$JAR"
is "cover: 200" "$STATUS" 200
is "cover: a JPEG" "$CTYPE" "image/jpeg"
is "cover: within the size" "$(python3 -c "
import struct, sys
b = open(sys.argv[1], 'rb').read()
i = 2
while i < len(b):
    m, l = b[i + 1], struct.unpack('>H', b[i + 2:i + 4])[0]
    if m in (0xc0, 0xc1, 0xc2):
        h, w = struct.unpack('>HH', b[i + 5:i + 9])
        print(w <= 100 and h <= 150 and w > 0)
        break
    i += 2 + l" "$KS_TMP/body")" True
ETAG=$(printf '%s\n' "$HEADERS" | sed -n 's/^ETag: //p')
like "cover: an ETag" "$ETAG" '^"[0-9a-f]{12}-'
web GET "/api/v1/library/$ID/cover?size=100x150" "" -b "$JAR" -H "If-None-Match: $ETAG"
is "cover: 304 on If-None-Match" "$STATUS" 304
web GET "/api/v1/library/$ID/cover?size=100x150" "" -b "$JAR"
is "cover: again from the cache" "$STATUS" 200
lib "?q=notes"
RID=$(jv 'd["books"][0]["id"]')
web GET "/api/v1/library/$RID/cover" "" -b "$JAR"
is "no cover: 404" "$STATUS" 404
web GET "/api/v1/library/$ID/cover?size=0x10" "" -b "$JAR"
is "bad size: 400" "$STATUS" 400

web GET /api/v1/library/facets/authors "" -b "$JAR"
is "facet authors" "$(jv '[(v["value"], v["count"]) for v in d["values"]]')" \
    "[('Ursula K. Le Guin', 1), ('Antoine de Saint-Exupéry', 1), ('Arkady Strugatsky', 1), ('Boris N. Strugatsky', 1)]"
web GET /api/v1/library/facets/languages "" -b "$JAR"
is "facet languages" "$(jv 'd["total"]')" 3
web GET /api/v1/library/facets/colours "" -b "$JAR"
is "unknown facet: 404" "$STATUS" 404

# An upload through WebDAV's Books/.
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u alice:s3cret "$KS_URL/dav/Books")
is "MKCOL Books" "$STATUS" 201
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -T "$B/book.mobi" -u alice:s3cret "$KS_URL/dav/Books/Dune.mobi")
is "PUT Books/Dune.mobi" "$STATUS" 201
for i in $(seq 1 150); do
	lib "?uploads=1"
	[ "$(jv 'd["total"]')" = 1 ] && break
	sleep 0.1
done
is "upload: alice's" "$(jv '[(b["title"], b["owner"], b["files"][0]["source"]) for b in d["books"]]')" \
    "[('Dune', 'alice', 'upload')]"
UID_=$(jv 'd["books"][0]["id"]')
lib ""
is "alice sees 6" "$(jv 'd["total"]')" 6
lib "" "$JARB"
is "bob sees 5" "$(jv 'd["total"]')" 5
lib "?uploads=1" "$JARB"
is "bob has no uploads" "$(jv 'd["total"]')" 0
web GET "/api/v1/library/$UID_" "" -b "$JARB"
is "bob: alice's upload 404" "$STATUS" 404
web GET "/api/v1/library/$UID_/cover" "" -b "$JARB"
is "bob: its cover 404" "$STATUS" 404
web GET "/api/v1/library/$UID_/cover" "" -b "$JAR"
is "alice: its cover" "$STATUS" 200

# Administration.
web GET /api/v1/admin/library "" -b "$JAR"
is "admin status: 403 for a non-admin" "$STATUS" 403
run user admin alice on
web GET /api/v1/admin/library "" -b "$JAR"
is "admin status: 200" "$STATUS" 200
is "admin status: sources" "$(jv '[(s["kind"], s["books"]) for s in d["sources"]]')" \
    "[('folder', 5), ('upload', 0), ('upload', 1)]"
is "admin status: counts" "$(jv '(d["books"], d["files"], d["watch"], d["scanning"])')" "(6, 6, 'inotify', False)"
web POST /api/v1/admin/library/scan "" -b "$JAR"
is "scan without CSRF: 403" "$STATUS" 403
web POST /api/v1/admin/library/scan "" -b "$JAR" -H "X-CSRF-Token: $CSRF_A"
is "scan: 202" "$STATUS" 202
for i in $(seq 1 100); do
	[ "$(grep -c 'library: scanned' "$KS_ERR.new")" -ge 3 ] && break
	sleep 0.1
done
like "scan: done" "$(grep 'library: scanned' "$KS_ERR.new" | tail -n 1)" '\(0 read, 0 removed'

ks_stop
done_testing
