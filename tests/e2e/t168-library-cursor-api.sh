#!/usr/bin/env bash
# t168-library-cursor-api: GET /api/v1/library pages by cursor
# (docs/api.md, "Library"): each answer's "next" names the page after it,
# found on the order's index however deep; "total" stays, "offset" is the
# page's position.
#
# Covers: on 130 books whose sort keys tie (opdslib.sh tie_library),
# walking by next (limit 7, 9) in each order (title, author, series,
# added), and a search, gives every book exactly once, in the order of
# the one page of 200; each page's offset is the books before it and its
# total the whole count; next null on the last page; offset paging still
# works beside it; bad cursors answer 400 `cursor must be a next of this
# list.` (not a cursor, truncated, too long, of another order).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"
. "$(dirname "$0")/opdslib.sh"

WALK=$(dirname "$0")/libwalk.py
tie_library
pw pa
run user add ann --stdin

ks_start --storage file --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
signin ann pa

# walked QUERY LIMIT: "ok" when the walk by next equals the one page.
walked() {
	as GET "/api/v1/library?$1&limit=200"
	printf '%s' "$BODY" >"$KS_TMP/one.json"
	python3 "$WALK" api "$KS_URL" ann pa "$1&limit=$2" >"$KS_TMP/w.json"
	python3 - "$KS_TMP/one.json" "$KS_TMP/w.json" "$2" <<'PY'
import json, sys
one, w = (json.load(open(f)) for f in sys.argv[1:3])
lim = int(sys.argv[3])
ids = [b["id"] for b in one["books"]]
faults = []
if w["ids"] != ids:
    faults.append("walk %d ids, one page %d" % (len(w["ids"]), len(ids)))
if len(set(w["ids"])) != len(w["ids"]):
    faults.append("a book twice")
if w["offsets"] != list(range(0, len(ids), lim))[:w["pages"]]:
    faults.append("offsets %s" % w["offsets"])
if set(w["totals"]) != {one["total"]} or one["total"] != len(ids):
    faults.append("totals %s" % set(w["totals"]))
print("; ".join(faults) or "ok")
PY
}
for q in order=title order=author order=series order=added q=same; do
	is "$q: by next (7 a page), each book once, in order" "$(walked "$q" 7)" ok
done
is "order=title: by next (9 a page)" "$(walked order=title 9)" ok
is "a walk of 9 a page: 15 pages" "$(json 'd["pages"]' <"$KS_TMP/w.json")" 15

as GET "/api/v1/library?limit=50"
is "first page: 200" "$STATUS" 200
C=$(printf '%s' "$BODY" | json 'd["next"]')
like "first page: a next cursor" "$C" '^[A-Za-z0-9_-]+$'
as GET "/api/v1/library?limit=50&cursor=$C"
is "by cursor: offset 50, total 130" "$(printf '%s' "$BODY" | json '(d["offset"], d["total"], len(d["books"]))')" "(50, 130, 50)"
A=$(printf '%s' "$BODY" | json '[b["id"] for b in d["books"]]')
as GET "/api/v1/library?limit=50&offset=50"
is "by offset: the same books" "$(printf '%s' "$BODY" | json '[b["id"] for b in d["books"]]')" "$A"
C3=$(printf '%s' "$BODY" | json 'd["next"]')
as GET "/api/v1/library?limit=50&cursor=$C3"
is "the last page: 30 books, next null" "$(printf '%s' "$BODY" | json '(len(d["books"]), d["next"])')" "(30, None)"

bad() {
	as GET "$2"
	is "$1: 400" "$STATUS" 400
	is "$1: message" "$(printf '%s' "$BODY" | json 'd["message"]')" "cursor must be a next of this list."
}
bad "not a cursor" "/api/v1/library?cursor=%21%21"
bad "truncated" "/api/v1/library?cursor=${C:0:17}"
bad "too long" "/api/v1/library?cursor=$(printf 'A%.0s' $(seq 1 2100))"
bad "a title cursor on order=author" "/api/v1/library?order=author&cursor=$C"
bad "a title cursor on order=added" "/api/v1/library?order=added&cursor=$C"
bad "empty" "/api/v1/library?cursor="

done_testing
