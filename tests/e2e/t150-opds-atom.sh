#!/usr/bin/env bash
# t150-opds-atom: the OPDS 1.2 catalog at /opds (opds.h), read the way
# KOReader's OPDS client reads it (opdsread.py: no namespaces, typed
# links only, one author, sub-catalog rels), on a library folder made by
# tests/mkbooks.py plus 60 text files (two pages).
#
# Covers: every feed passes the Atom/OPDS 1.2 rules (opdsread.py check:
# starts with <?xml, prefixes bound, one id/title/updated, typed feed
# links, acquisitions with type and length, content type=text); the root
# lists the feeds as sub-catalogs (Recently added with sort/new, All
# books with thr:count); 200 Atom whatever Accept says (KOReader
# v2026.07 asks for JSON only: no 406) and never compressed
# (Accept-Encoding: gzip); All books in two pages (50 + the rest, typed
# next by cursor/previous by page, no entry twice, totalResults); the "Sort" facets
# (opds:facetGroup, one opds:activeFacet) and Newest first; Authors with
# thr:count, an author's books; Series and Languages and Tags; the
# OpenSearch description (one Atom Url, {searchTerms} only) and a search
# through its template; a book's entry: one author, plain content, ISBN,
# cover and thumbnail links (JPEG, ETag, 304); a download: the stored
# bytes unchanged (cmp, the partial MD5 still the file id),
# Content-Disposition with a plain quoted "Author - Title.epub" name, the
# URL ending in that name, Range (206, Content-Range), ETag and 304, HEAD,
# no Content-Encoding; feeds' ETag and 304, Last-Modified moving when a
# book is added; Reading now (a document pushed at 42 % shows with its
# percentage, a finished one does not, Last-Modified moves with a push);
# Recently added stable across loads; unknown pages 404, a bad page 400,
# POST 405 (JSON errors); under base_path /k too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

sample_library
K=$(md5 alpha)

rules() { python3 "$RD" check "$F"; }

ks_start --storage file --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
register ann "$K"

# Sign-in first.
STATUS=$(curl -s -o /dev/null -D "$KS_TMP/gh" -w '%{http_code}' "$KS_URL/opds")
is "no credentials: 401" "$STATUS" 401
like "401 asks for Basic" "$(tr -d '\r' <"$KS_TMP/gh")" \
    'WWW-Authenticate: Basic realm="kosyncd"'

# The root.
get /opds -H 'Accept: application/opds+json' -H 'Accept-Encoding: gzip'
is "root: 200 whatever Accept says" "$STATUS" 200
is "root: navigation type" "$(hdr content-type)" \
    "application/atom+xml;profile=opds-catalog;kind=navigation"
is "root: not compressed" "$(hdr content-encoding)" ""
is "root: first bytes" "$(head -c 5 "$F")" "<?xml"
is "root: rules" "$(rules)" ok
is "root: sub-catalogs" "$(kr '[(e["title"], e["navigation"]) for e in d["entries"]]')" \
    "[('Reading now', '/opds/reading'), ('Recently added', '/opds/new'), ('All books', '/opds/all'), ('Authors', '/opds/authors'), ('Series', '/opds/series'), ('Languages', '/opds/languages'), ('Tags', '/opds/tags'), ('My uploads', '/opds/uploads')]"
is "root: All books counted" "$(kr '[e["count"] for e in d["entries"] if e["title"] == "All books"][0]')" 65
like "root: Recently added is sort/new" "$(cat "$F")" \
    'rel="http://opds-spec.org/sort/new"[^>]*href="/opds/new"'
is "root: search link typed" "$(kr '[l["href"] for l in d["links"] if l["rel"] == "search"]')" \
    "['/opds/search.xml']"

# All books, two pages.
get /opds/all
is "all: 200" "$STATUS" 200
is "all: acquisition type" "$(hdr content-type)" \
    "application/atom+xml;profile=opds-catalog;kind=acquisition"
is "all: rules" "$(rules)" ok
is "all: 50 entries" "$(kr 'len(d["entries"])')" 50
like "all: totalResults" "$(cat "$F")" '<opensearch:totalResults>65<'
NEXT=$(kr '[l["href"] for l in d["links"] if l["rel"] == "next"][0]')
like "all: typed next, by cursor" "$NEXT" '^/opds/all\?cursor=[A-Za-z0-9_-]+$'
is "all: no previous on page 1" "$(kr '[l for l in d["links"] if l["rel"] == "previous"]')" "[]"
kr '[e["id"] for e in d["entries"]]' >"$KS_TMP/ids1"
get "$NEXT"
is "page 2: rules" "$(rules)" ok
is "page 2: the rest" "$(kr 'len(d["entries"])')" 15
is "page 2: no next" "$(kr '[l for l in d["links"] if l["rel"] == "next"]')" "[]"
is "page 2: previous" "$(kr '[l["href"] for l in d["links"] if l["rel"] == "previous"]')" "['/opds/all']"
kr '[e["id"] for e in d["entries"]]' >"$KS_TMP/ids2"
is "pages: no entry twice" "$(cat "$KS_TMP/ids1" "$KS_TMP/ids2" | tr -d "[]' " | tr ',' '\n' | sort | uniq -d)" ""
get "/opds/all?page=0"
is "page 0: 400" "$STATUS" 400
like "page 0: JSON" "$(cat "$F")" '"message":"The page is a number from 1\."'
get "/opds/all?page=99"
is "a page past the end: 200, empty" "$STATUS:$(kr 'len(d["entries"])')" "200:0"

# Facets.
get /opds/all
is "facets: Sort group" "$(kr '[(f["title"], f["group"], f["active"]) for f in d["facets"]]')" \
    "[('Title', 'Sort', True), ('Author', 'Sort', False), ('Series', 'Sort', False), ('Newest', 'Sort', False)]"
get "$(kr '[f["href"] for f in d["facets"] if f["title"] == "Newest"][0]')"
is "newest: rules" "$(rules)" ok
is "newest: active facet" "$(kr '[f["title"] for f in d["facets"] if f["active"]]')" "['Newest']"

# Authors, an author's books, series, languages, tags.
get /opds/authors
is "authors: navigation" "$(hdr content-type)" \
    "application/atom+xml;profile=opds-catalog;kind=navigation"
is "authors: rules" "$(rules)" ok
is "authors: Le Guin counted" "$(kr '[(e["count"], e["navigation"]) for e in d["entries"] if e["title"] == "Ursula K. Le Guin"]')" \
    "[('1', '/opds/all?author=Ursula%20K.%20Le%20Guin')]"
get "/opds/all?author=Ursula%20K.%20Le%20Guin"
is "an author's books" "$(kr '[(e["title"], e["author"]) for e in d["entries"]]')" \
    "[('The Left Hand of Darkness', 'Ursula K. Le Guin')]"
for f in series languages tags; do
	get /opds/$f
	is "$f: 200 and rules" "$STATUS $(rules)" "200 ok"
done

# OpenSearch and a search through its template.
get /opds/search.xml
is "osd: type" "$(hdr content-type)" "application/opensearchdescription+xml"
T=$(python3 -c '
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
u = [u.get("template") for u in r.iter("{http://a9.com/-/spec/opensearch/1.1/}Url") if "application/atom+xml" in u.get("type")]
print(u[0] if len(u) == 1 else u)' "$F")
is "osd: one template, {searchTerms} only" "$T" "$KS_URL/opds/search?q={searchTerms}"
Q=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("petit prince"))')
T=${T/\{searchTerms\}/$Q}
get "${T#"$KS_URL"}"
is "search: rules" "$(rules)" ok
is "search: found" "$(kr '[e["title"] for e in d["entries"]]')" "['Le Petit Prince']"
get "/opds/search"
is "search without words: 400" "$STATUS" 400

# A book: the entry, its cover, its download.
get /opds/all
kr '[e for e in d["entries"] if e["title"] == "Le Petit Prince"][0]' >"$KS_TMP/e"
E=$(cat "$KS_TMP/e")
like "entry: one author" "$E" "'author': 'Antoine de Saint-Exupéry'"
like "entry: plain content" "$E" "'content': '[^<]"
like "entry: ISBN" "$(cat "$F")" '<dc:identifier>urn:isbn:'
ACQ=$(python3 -c "import ast,sys; e=ast.literal_eval(sys.stdin.read()); a=e['acquisitions'][0]; print(a['href'], a['type'], a['length'])" <"$KS_TMP/e")
set -- $ACQ
HREF=$1
is "acquisition: EPUB type" "$2" "application/epub+zip"
is "acquisition: length" "$3" "$(stat -c %s "$L/epub2.epub")"
like "acquisition: URL ends in the name" "$HREF" \
    '^/opds/file/[0-9a-f]{32}/Antoine%20de%20Saint-Exup%C3%A9ry%20-%20Le%20Petit%20Prince\.epub$'
get "$HREF" -H 'Accept-Encoding: gzip'
is "download: 200" "$STATUS" 200
check "download: the stored bytes" cmp -s "$F" "$L/epub2.epub"
is "download: partial MD5 unchanged" \
    "$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkbooks; print(mkbooks.partial_md5_file(sys.argv[2]))' "$(dirname "$MK")" "$F")" \
    "$(printf '%s' "$HREF" | cut -d/ -f4)"
is "download: Content-Disposition" "$(hdr content-disposition)" \
    'attachment; filename="Antoine de Saint-Exup%C3%A9ry - Le Petit Prince.epub"'
is "download: type" "$(hdr content-type)" "application/epub+zip"
is "download: not compressed" "$(hdr content-encoding)" ""
is "download: Last-Modified the file's" "$(hdr last-modified)" \
    "$(TZ=GMT date -d @"$(stat -c %Y "$L/epub2.epub")" '+%a, %d %b %Y %H:%M:%S GMT')"
TAG=$(hdr etag)
get "$HREF" -H 'Range: bytes=10-19'
is "range: 206" "$STATUS" 206
is "range: Content-Range" "$(hdr content-range)" "bytes 10-19/$(stat -c %s "$L/epub2.epub")"
is "range: the bytes" "$(od -An -tx1 "$F")" "$(dd if="$L/epub2.epub" bs=1 skip=10 count=10 2>/dev/null | od -An -tx1)"
get "$HREF" -H "If-None-Match: $TAG"
is "download: 304 on its ETag" "$STATUS" 304
get "$HREF" -I
is "download: HEAD" "$STATUS $(hdr content-length)" \
    "200 $(stat -c %s "$L/epub2.epub")"
get /opds/file/00000000000000000000000000000000/x.epub
is "unknown file: 404" "$STATUS" 404

get /opds/all
IMG=$(kr '[e["image"] for e in d["entries"] if e["title"] == "comic"][0]')
THUMB=$(kr '[e["thumbnail"] for e in d["entries"] if e["title"] == "comic"][0]')
get "$IMG"
is "cover: JPEG" "$STATUS $(hdr content-type) $(head -c 2 "$F" | od -An -tx1 | tr -d ' ')" "200 image/jpeg ffd8"
get "$IMG" -H "If-None-Match: $(hdr etag)"
is "cover: 304" "$STATUS" 304
get "$THUMB"
is "thumbnail: JPEG" "$STATUS $(hdr content-type)" "200 image/jpeg"

# Validators of a feed.
get /opds/new
is "new: rules" "$(rules)" ok
kr '[e["acquisitions"][0]["href"] for e in d["entries"]]' >"$KS_TMP/new1"
TAG=$(hdr etag)
LM=$(hdr last-modified)
get /opds/new -H "If-None-Match: $TAG"
is "feed: 304 on its ETag" "$STATUS" 304
get /opds/new
kr '[e["acquisitions"][0]["href"] for e in d["entries"]]' >"$KS_TMP/new2"
check "new: stable hrefs" cmp -s "$KS_TMP/new1" "$KS_TMP/new2"
sleep 1.1
cp "$B/book.mobi" "$L/"
run library scan
for i in 1 2 3 4 5 6 7 8 9 10; do
	get /opds/new
	[[ $(kr 'd["entries"][0]["acquisitions"][0]["type"]') == *mobi* ]] && break
	sleep 0.5
done
like "new: the added book first" "$(kr 'd["entries"][0]["acquisitions"][0]["type"]')" 'mobi'
check "new: Last-Modified moved" test "$(hdr last-modified)" != "$LM"
check "new: ETag moved" test "$(hdr etag)" != "$TAG"

# Reading now.
DOC=$(printf '%s' "$HREF" | cut -d/ -f4)
get /opds/reading
is "reading: empty at first" "$STATUS $(kr 'len(d["entries"])')" "200 0"
LM=$(hdr last-modified)
sleep 1.1
req PUT /syncs/progress "{\"document\":\"$DOC\",\"progress\":\"p\",\"percentage\":0.42,\"device\":\"kobo\",\"device_id\":\"k1\"}" $(auth ann "$K")
is "push: 200" "$STATUS" 200
FIN=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkbooks; print(mkbooks.partial_md5_file(sys.argv[2]))' "$(dirname "$MK")" "$L/epub3.epub")
req PUT /syncs/progress "{\"document\":\"$FIN\",\"progress\":\"p\",\"percentage\":1,\"device\":\"kobo\",\"device_id\":\"k1\"}" $(auth ann "$K")
get /opds/reading
is "reading: rules" "$(rules)" ok
is "reading: the book in progress only" "$(kr '[e["title"] for e in d["entries"]]')" "['Le Petit Prince']"
like "reading: its progress" "$(kr 'd["entries"][0]["content"]')" '^42 % read on kobo\.'
check "reading: Last-Modified moved" test "$(hdr last-modified)" != "$LM"

# Errors.
get /opds/nowhere
is "unknown page: 404 JSON" "$STATUS $(head -c 8 "$F")" '404 {"code":'
get "/opds/all?order=size"
is "unknown order: 400" "$STATUS" 400
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u ann:alpha -X POST "$KS_URL/opds/all")
is "POST: 405" "$STATUS" 405
ks_stop

# Under a base path.
ks_start --storage file --library-paths "$L" --base-path /k ||
	{ not_ok "server started"; done_testing; }
get /k/opds
is "base path: 200 and rules" "$STATUS $(rules)" "200 ok"
is "base path: hrefs" "$(kr '[e["navigation"] for e in d["entries"]][:2]')" \
    "['/k/opds/reading', '/k/opds/new']"
get /k/opds/all
get "$(kr 'd["entries"][0]["acquisitions"][0]["href"]')"
is "base path: a download" "$STATUS" 200
ks_stop
done_testing
