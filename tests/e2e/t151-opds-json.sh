#!/usr/bin/env bash
# t151-opds-json: the OPDS 2.0 catalog at /opds/v2 (opds.h), validated
# against tests/data/opds2-feed.schema.json (written from the OPDS 2.0
# rules, with python3-jsonschema) and read the way KOReader's client
# reads OPDS 2 (../shared/KOREADER-CLOUD.md §4.4).
#
# Covers: the root (first byte '{', application/opds+json, navigation
# rows with href, title and type, the search link templated
# ".../search{?query}" which KOReader turns into "?query=%s"); All books
# in pages (publications with metadata, author objects, an acquisition
# link with its type, images for a book with a cover, a typed next link
# by cursor, numberOfItems); the facets (a "Sort" group, the active one
# rel "self");
# Authors as navigation with numberOfItems; a search through KOReader's
# form of the template; Recently added; Reading now; the same 304 on
# ETag; no 406 whatever Accept says.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

SCHEMA=$(dirname "$0")/../data/opds2-feed.schema.json
sample_library
K=$(md5 alpha)

valid() {
	python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
try:
    jsonschema.validate(json.load(open(sys.argv[2])), schema)
    print("valid")
except jsonschema.ValidationError as e:
    print(e.message, list(e.absolute_path))' "$SCHEMA" "$F"
}
j() { json "$1" <"$F"; }

ks_start --storage file --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
register ann "$K"

get /opds/v2 -H 'Accept: application/atom+xml'
is "root: 200 whatever Accept says" "$STATUS" 200
is "root: type" "$(hdr content-type)" "application/opds+json"
is "root: first byte" "$(head -c 1 "$F")" "{"
is "root: schema" "$(valid)" valid
is "root: title" "$(j 'd["metadata"]["title"]')" "Library"
is "root: navigation" "$(j '[(n["title"], n["href"], n["type"]) for n in d["navigation"]][:3]')" \
    "[('Reading now', '/opds/v2/reading', 'application/opds+json'), ('Recently added', '/opds/v2/new', 'application/opds+json'), ('All books', '/opds/v2/all', 'application/opds+json')]"
S=$(j '[l["href"] for l in d["links"] if l["rel"] == "search"][0]')
is "root: search template" "$S" "/opds/v2/search{?query}"
is "root: templated" "$(j '[l.get("templated") for l in d["links"] if l["rel"] == "search"][0]')" True
# KOReader: the braces go; what remains names "query", so they become %s.
KS=$(python3 -c '
import re, sys
h = sys.argv[1]
rest = re.sub(r"\{[^}]*\}", "", h)
print(re.sub(r"\{\?query\}", "?query=%s", h) if "query" in h else rest + "?query=%s")' "$S")
is "KOReader's search address" "$KS" "/opds/v2/search?query=%s"

get /opds/v2/all
is "all: schema" "$(valid)" valid
is "all: 50 publications" "$(j 'len(d["publications"])')" 50
is "all: numberOfItems" "$(j 'd["metadata"]["numberOfItems"]')" 65
like "all: typed next, by cursor" "$(j '[(l["href"], l["type"]) for l in d["links"] if l["rel"] == "next"]')" \
    "^\[\('/opds/v2/all\?cursor=[A-Za-z0-9_-]+', 'application/opds\+json'\)\]$"
is "all: Sort facets" "$(j '[(f["metadata"]["title"], [(l["title"], l.get("rel")) for l in f["links"]]) for f in d["facets"]]')" \
    "[('Sort', [('Title', 'self'), ('Author', 'http://opds-spec.org/facet'), ('Series', 'http://opds-spec.org/facet'), ('Newest', 'http://opds-spec.org/facet')])]"
P=$(j '[p for p in d["publications"] if p["metadata"]["title"] == "Le Petit Prince"][0]')
like "book: author object" "$P" "'author': \[\{'name': 'Antoine de Saint-Exupéry'\}\]"
like "book: acquisition" "$P" "'rel': 'http://opds-spec.org/acquisition/open-access', 'type': 'application/epub\+zip'"
like "book: description" "$P" "'description': '"
is "comic: images" "$(j '[[i["type"] for i in p["images"]] for p in d["publications"] if p["metadata"]["title"] == "comic"][0]')" \
    "['image/jpeg', 'image/jpeg']"
HREF=$(printf '%s' "$P" | python3 -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())["links"][0]["href"])')
get "$HREF"
check "download from a v2 link: the stored bytes" cmp -s "$F" "$L/epub2.epub"

get /opds/v2/all?page=2
is "page 2: schema" "$(valid)" valid
is "page 2: the rest" "$(j 'len(d["publications"])')" 15
is "page 2: previous" "$(j '[l["href"] for l in d["links"] if l["rel"] == "previous"]')" "['/opds/v2/all']"

get /opds/v2/authors
is "authors: schema" "$(valid)" valid
is "authors: a row" "$(j '[(n["href"], n["properties"]["numberOfItems"]) for n in d["navigation"] if n["title"] == "Ursula K. Le Guin"]')" \
    "[('/opds/v2/all?author=Ursula%20K.%20Le%20Guin', 1)]"

get "${KS//%s/petit%20prince}"
is "search: schema" "$(valid)" valid
is "search: found" "$(j '[p["metadata"]["title"] for p in d["publications"]]')" "['Le Petit Prince']"

get /opds/v2/new
is "new: schema" "$(valid)" valid
TAG=$(hdr etag)
get /opds/v2/new -H "If-None-Match: $TAG"
is "new: 304" "$STATUS" 304

DOC=$(printf '%s' "$HREF" | cut -d/ -f4)
req PUT /syncs/progress "{\"document\":\"$DOC\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"kobo\",\"device_id\":\"k1\"}" $(auth ann "$K")
get /opds/v2/reading
is "reading: schema" "$(valid)" valid
is "reading: the book" "$(j '[p["metadata"]["title"] for p in d["publications"]]')" "['Le Petit Prince']"
like "reading: progress in the description" "$(j 'd["publications"][0]["metadata"]["description"]')" '^50 % read on kobo\.'
for f in series languages tags uploads; do
	get /opds/v2/$f
	is "$f: 200 and schema" "$STATUS $(valid)" "200 valid"
done
ks_stop
done_testing
