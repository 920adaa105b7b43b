#!/usr/bin/env bash
# t159-library-uploads-admin: an administrator lists every account's
# uploads (GET /api/v1/admin/library/uploads) and shares one from there.
#
# Covers: the list has every account's uploads, newest first, each with
# id, title, authors, owner, shared, formats, size and added; ?account=
# narrows it to one account's; ?limit= pages through every upload once
# with the "next" cursors; bob's private upload listed with shared false,
# shared through POST /api/v1/admin/library/<id>/share, then listed with
# shared true; bob's own view unchanged (his upload, his name, no
# "shared"); not an administrator 403, no session 401; bad parameters
# (limit, cursor, another list's cursor, account) 400.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

books
accounts ann:pa bob:pb cy:pc
run user admin cy on
run library add --user bob "$B/ref.pdf"
is "bob's upload added" "$RC" 0
run library add --user ann "$B/book.fb2"
is "ann's upload added" "$RC" 0
run library add --user ann "$B/epub3.epub"
is "ann's second upload added" "$RC" 0

ks_start || { not_ok "server started"; done_testing; }

signin bob pb
as GET '/api/v1/library'
VIEW='[(b["id"], b["title"], b.get("owner"), "shared" in b, [f["id"] for f in b["files"]]) for b in d["books"]]'
BOBVIEW=$(printf '%s' "$BODY" | json "$VIEW")
as GET '/api/v1/admin/library/uploads'
is "bob (not an administrator): 403" "$STATUS" 403
web GET '/api/v1/admin/library/uploads'
is "no session: 401" "$STATUS" 401

signin cy pc
as GET '/api/v1/admin/library/uploads'
is "cy: 200" "$STATUS" 200
is "every account's uploads" "$(printf '%s' "$BODY" | json 'sorted((u["owner"], u["title"], u["shared"]) for u in d["uploads"])')" "[('ann', 'Roadside Picnic', False), ('ann', 'The Left Hand of Darkness', False), ('bob', 'Indirect Title', False)]"
is "one page: next null" "$(printf '%s' "$BODY" | json 'd["next"]')" "None"
is "an upload's fields" "$(printf '%s' "$BODY" | json 'sorted(d["uploads"][0].keys())')" "['added', 'authors', 'formats', 'id', 'owner', 'shared', 'size', 'title']"
is "bob's: formats and size" "$(printf '%s' "$BODY" | json '[(u["formats"], u["size"]) for u in d["uploads"] if u["owner"] == "bob"]')" "[(['pdf'], $(stat -c %s "$B/ref.pdf"))]"
is "newest first" "$(printf '%s' "$BODY" | json 'all((a["added"], b["id"]) >= (b["added"], a["id"]) for a, b in zip(d["uploads"], d["uploads"][1:]))')" "True"
ALL=$(printf '%s' "$BODY" | json '[u["id"] for u in d["uploads"]]')
BOBBOOK=$(printf '%s' "$BODY" | json '[u["id"] for u in d["uploads"] if u["owner"] == "bob"][0]')

as GET '/api/v1/admin/library/uploads?account=bob'
is "?account=bob: his alone" "$(printf '%s' "$BODY" | json '[u["id"] for u in d["uploads"]]')" "['$BOBBOOK']"
as GET '/api/v1/admin/library/uploads?account=nobody'
is "?account of no uploads: empty" "$(printf '%s %s' "$STATUS" "$(printf '%s' "$BODY" | json 'd')")" "200 {'uploads': [], 'next': None}"

# Pages of one: every upload once, in the same order.
SEEN=()
Q='/api/v1/admin/library/uploads?limit=1'
for _ in 1 2 3 4 5; do
	as GET "$Q"
	[ "$STATUS" = 200 ] || break
	SEEN+=("$(printf '%s' "$BODY" | json 'd["uploads"][0]["id"] if d["uploads"] else ""')")
	NEXT=$(printf '%s' "$BODY" | json 'd["next"] or ""')
	[ -n "$NEXT" ] || break
	Q="/api/v1/admin/library/uploads?limit=1&cursor=$NEXT"
done
is "pages of one: each upload once" "$(python3 -c 'import sys; print(sys.argv[1:])' "${SEEN[@]}")" "$ALL"

# Sharing bob's upload from the list.
as POST "/api/v1/admin/library/$BOBBOOK/share" '{"shared": true}'
is "share bob's: 200" "$STATUS" 200
as GET '/api/v1/admin/library/uploads?account=bob'
is "the list says shared" "$(printf '%s' "$BODY" | json '[(u["id"], u["shared"]) for u in d["uploads"]]')" "[('$BOBBOOK', True)]"
signin bob pb
as GET '/api/v1/library'
is "bob's own view unchanged (the share only moves its updated)" "$(printf '%s' "$BODY" | json "$VIEW")" "$BOBVIEW"
is "bob: his name, no shared" "$(printf '%s' "$BODY" | json '[(b["owner"], "shared" in b) for b in d["books"]]')" "[('bob', False)]"
signin ann pa
as GET '/api/v1/library'
is "ann now sees bob's upload" "$(printf '%s' "$BODY" | json 'sorted(b["title"] for b in d["books"])')" "['Indirect Title', 'Roadside Picnic', 'The Left Hand of Darkness']"
as GET '/api/v1/admin/library/uploads'
is "ann (not an administrator): 403" "$STATUS" 403

# Bad parameters.
signin cy pc
for q in 'limit=0' 'limit=501' 'limit=x' 'limit=' 'cursor=zz' 'cursor=b1.' \
	'cursor=d1.61' 'cursor=u61' 'cursor=%ZZ' 'account=' 'account=%ZZ' \
	'account=a%00b' "account=$(printf 'a%.0s' $(seq 300))"; do
	as GET "/api/v1/admin/library/uploads?$q"
	is "?$q: 400" "$STATUS" 400
	is "?$q: a JSON error" "$(printf '%s' "$BODY" | json '"message" in d')" "True"
done
as GET '/api/v1/admin/library/uploads'
is "every upload still there" "$(printf '%s' "$BODY" | json 'len(d["uploads"])')" "3"
ks_stop

done_testing
