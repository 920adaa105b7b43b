#!/usr/bin/env bash
# t167-opds-cursor: the OPDS feeds page by cursor (docs/library.md,
# "Paging"): each feed's next link carries the last entry's sort key and
# id, so a page deep in the list costs what the first does; old ?page=N
# hrefs keep working.
#
# Covers: on 130 books whose titles, authors, series numbers and added
# times tie (opdslib.sh tie_library), walking each feed by its next links
# (All books by title, author, series and newest, Recently added, a
# search, a series, and the OPDS 2.0 All books and Recently added) gives
# every book exactly once, as many as totalResults, in the order of the
# ?page=1, 2, ... walk; every next is a cursor, never a page number; a
# page reached by cursor has typed previous and first links by page
# number; bad cursors answer 400 with the OPDS JSON error and change
# nothing: not base64url, truncated, too long, of another order (a title
# cursor on order=author, on Recently added), with a field that is no
# book id.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

WALK=$(dirname "$0")/libwalk.py
K=$(md5 alpha)
tie_library

ks_start --storage file --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
register ann "$K"

# same NEXT PAGES: "ok" when the walk by next is the walk by page, each
# book once, as many as the feed's total, every next a cursor.
same() {
	python3 - "$1" "$2" <<'PY'
import json, sys
n, p = (json.load(open(f)) for f in sys.argv[1:3])
faults = []
if n["ids"] != p["ids"]:
    faults.append("next walk %d ids, page walk %d, first difference at %s" % (
        len(n["ids"]), len(p["ids"]),
        next((i for i, (a, b) in enumerate(zip(n["ids"], p["ids"])) if a != b),
             min(len(n["ids"]), len(p["ids"])))))
if len(set(n["ids"])) != len(n["ids"]):
    faults.append("an entry twice")
if n["total"] is not None and len(n["ids"]) != n["total"]:
    faults.append("%d entries, total %s" % (len(n["ids"]), n["total"]))
for h in n["hrefs"]:
    if "cursor=" not in h or "page=" in h:
        faults.append("next not by cursor: " + h)
print("; ".join(faults) or "ok")
PY
}

for feed in /opds/all "/opds/all?order=author" "/opds/all?order=series" \
    "/opds/all?order=added" /opds/new "/opds/search?q=same" \
    "/opds/all?series=Saga" /opds/v2/all /opds/v2/new; do
	python3 "$WALK" next "$KS_URL" ann alpha "$feed" >"$KS_TMP/n.json"
	python3 "$WALK" pages "$KS_URL" ann alpha "$feed" >"$KS_TMP/p.json"
	is "$feed: by next, each book once, in order" "$(same "$KS_TMP/n.json" "$KS_TMP/p.json")" ok
done
is "all: 130 books in 3 pages" "$(python3 "$WALK" next "$KS_URL" ann alpha /opds/all |
    json '(len(d["ids"]), d["pages"])')" "(130, 3)"
is "search: the 52 of the same title" "$(python3 "$WALK" next "$KS_URL" ann alpha "/opds/search?q=same" |
    json 'len(d["ids"])')" 52

# A page reached by cursor: previous and first by number.
get /opds/all
N2=$(kr '[l["href"] for l in d["links"] if l["rel"] == "next"][0]')
get "$N2"
is "page 2 by cursor: 200" "$STATUS" 200
like "page 2 by cursor: startIndex 51" "$(cat "$F")" '<opensearch:startIndex>51<'
is "page 2 by cursor: previous is page 1" "$(kr '[l["href"] for l in d["links"] if l["rel"] == "previous"]')" "['/opds/all']"
like "page 2 by cursor: self keeps its cursor" "$(kr '[l["href"] for l in d["links"] if l["rel"] == "self"][0]')" '^/opds/all\?cursor='
N3=$(kr '[l["href"] for l in d["links"] if l["rel"] == "next"][0]')
get "$N3"
is "page 3 by cursor: previous is ?page=2" "$(kr '[l["href"] for l in d["links"] if l["rel"] == "previous"]')" "['/opds/all?page=2']"
is "page 3 by cursor: the last 30" "$(kr 'len(d["entries"])')" 30
is "page 3 by cursor: no next" "$(kr '[l for l in d["links"] if l["rel"] == "next"]')" "[]"

# Bad cursors.
C=${N2#*cursor=}
bad() {
	get "$2"
	is "$1: 400" "$STATUS" 400
	like "$1: JSON error" "$(cat "$F")" "\"message\":\"$3"
}
bad "not base64url" "/opds/all?cursor=%21%21%21" "The cursor is not one of this feed's"
bad "truncated" "/opds/all?cursor=${C:0:20}" "The cursor is not one of this feed's"
bad "too long" "/opds/all?cursor=$(printf 'A%.0s' $(seq 1 2100))" "The cursor is malformed or too long"
bad "a title cursor on order=author" "/opds/all?order=author&cursor=$C" "The cursor is not one of this feed's"
bad "a title cursor on Recently added" "/opds/new?cursor=$C" "The cursor is not one of this feed's"
bad "a title cursor on OPDS 2.0 by series" "/opds/v2/all?order=series&cursor=$C" "The cursor is not one of this feed's"
NOID=$(printf '1t50\0Same Title\0not-an-id\0' | base64 -w0 | tr '+/' '-_' | tr -d '=')
bad "no book id" "/opds/all?cursor=$NOID" "The cursor is not one of this feed's"
get /opds/all
like "after the bad cursors: all still 130" "$(cat "$F")" '<opensearch:totalResults>130<'
is "after the bad cursors: the same first page" "$(kr '[e["id"] for e in d["entries"]][:3]')" \
    "$(python3 "$WALK" pages "$KS_URL" ann alpha /opds/all | json 'd["ids"][:3]')"

done_testing
