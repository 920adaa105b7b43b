#!/usr/bin/env bash
# t148-library-share: who sees what of the library: library_share (the
# accounts that see the administrator's folders) and an upload an
# administrator shares with every account (the web API and
# `kosyncd library share`).
#
# Covers: with library_share=ann, ann sees the folder's book and bob does
# not (list, book, cover, download, facets, OPDS); bob still sees his own
# upload; ann's upload hidden from bob until an administrator shares it
# (POST /api/v1/admin/library/<id>/share {"shared": true}), then listed,
# readable and downloadable by bob and in his OPDS catalog, and hidden
# again with {"shared": false}; a shared book keeps its owner's "My
# uploads"; the books' "owner" and "shared": an administrator's view has
# both (owner "" for the folder's book, in `library list --json`), an
# account sees "owner" on its own uploads only, never another's name;
# share: not an administrator 403, no CSRF 403, a bad body 400,
# an unknown or non-upload book 404; `library share ID on|off` offline, and
# its refusals (not on|off, an unknown id).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

books epub2.epub
accounts ann:pa bob:pb cy:pc
run user admin cy on
KS_RUN_ARGS=(--library-paths "$L" --library-share ann)
run library add --user ann "$B/book.fb2"
is "ann's upload added" "$RC" 0
run library add --user bob "$B/ref.pdf"
is "bob's upload added" "$RC" 0
run library add --user cy "$B/epub3.epub"
is "cy's upload added" "$RC" 0
# add reads only the new files: the folder's book comes with a scan.
run library scan
is "scanned" "$RC" 0
run library list --user ann --json
ANNBOOK=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys
for l in sys.stdin:
    d=json.loads(l)
    if d.get("owner")=="ann": print(d["id"])')
FOLDER=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys
for l in sys.stdin:
    d=json.loads(l)
    if d["owner"]=="" and d["shared"] is False: print(d["id"])')
is "ids found" "${#ANNBOOK} ${#FOLDER}" "32 32"

ks_start --library-paths "$L" --library-share ann || { not_ok "server started"; done_testing; }
for _ in $(seq 1 100); do
	grep -q 'library: scanned' "$KS_ERR.new" && break
	sleep 0.1
done

titles() { printf '%s' "$BODY" | json 'sorted(b["title"] for b in d["books"])'; }

signin ann pa
as GET '/api/v1/library'
is "ann (named): the folder's book and her upload" "$(titles)" "['Le Petit Prince', 'Roadside Picnic']"
signin bob pb
as GET '/api/v1/library'
is "bob (not named): his upload only" "$(titles)" "['Indirect Title']"
as GET "/api/v1/library/$FOLDER"
is "bob: the folder's book 404" "$STATUS" 404
as GET "/api/v1/library/$FOLDER/cover"
is "bob: its cover 404" "$STATUS" 404
as GET '/api/v1/library/facets/languages'
is "bob: no facet of the folder's book" "$(printf '%s' "$BODY" | json '[v["value"] for v in d["values"]]')" "[]"
web GET /opds/v2/all "" -u bob:pb
is "bob's OPDS: his upload only" "$(printf '%s' "$BODY" | json 'sorted(p["metadata"]["title"] for p in d.get("publications", []))')" "['Indirect Title']"
signin cy pc
as GET '/api/v1/library'
is "cy (an administrator, not named): nothing of the folder" "$(titles)" "['The Left Hand of Darkness']"
is "cy's own upload: owner and shared" "$(printf '%s' "$BODY" | json '[(b["owner"], b["shared"]) for b in d["books"]]')" "[('cy', False)]"
signin ann pa
as GET "/api/v1/library/$ANNBOOK"
is "ann's own upload: her name, no shared" "$(printf '%s' "$BODY" | json '(d["book"]["owner"], "shared" in d["book"])')" "('ann', False)"
as GET "/api/v1/library/$FOLDER"
is "ann: the folder's book has no owner" "$(printf '%s' "$BODY" | json '"owner" in d["book"] or "shared" in d["book"]')" "False"

# Sharing ann's upload.
signin bob pb
as POST "/api/v1/admin/library/$ANNBOOK/share" '{"shared": true}'
is "share: not an administrator 403" "$STATUS" 403
signin cy pc
web POST "/api/v1/admin/library/$ANNBOOK/share" '{"shared": true}' -b "$JAR"
is "share: no CSRF 403" "$STATUS" 403
as POST "/api/v1/admin/library/$ANNBOOK/share" '{"shared": 1}'
is "share: a bad body 400" "$STATUS" 400
as POST "/api/v1/admin/library/0123456789abcdef0123456789abcdef/share" '{"shared": true}'
is "share: an unknown book 404" "$STATUS" 404
as POST "/api/v1/admin/library/$FOLDER/share" '{"shared": true}'
is "share: a folder's book (no upload) 404" "$STATUS" 404
as POST "/api/v1/admin/library/$ANNBOOK/share" '{"shared": true}'
is "share: 200" "$STATUS" 200
is "share: says so" "$BODY" "{\"id\":\"$ANNBOOK\",\"shared\":true}"
signin bob pb
as GET '/api/v1/library'
is "bob sees the shared upload" "$(titles)" "['Indirect Title', 'Roadside Picnic']"
is "bob: no owner of ann's, no shared" "$(printf '%s' "$BODY" | json '[(b["title"], b.get("owner"), "shared" in b) for b in d["books"]]')" "[('Indirect Title', 'bob', False), ('Roadside Picnic', None, False)]"
as GET "/api/v1/library/$ANNBOOK"
FILE=$(printf '%s' "$BODY" | json 'd["book"]["files"][0]["id"]')
as GET "/api/v1/library/files/$FILE"
check "bob downloads it" cmp -s "$KS_TMP/body" "$B/book.fb2"
web GET /opds/v2/all "" -u bob:pb
is "bob's OPDS lists it" "$(printf '%s' "$BODY" | json 'sorted(p["metadata"]["title"] for p in d.get("publications", []))')" "['Indirect Title', 'Roadside Picnic']"
signin ann pa
as GET '/api/v1/library?uploads=1'
is "still ann's upload" "$(printf '%s' "$BODY" | json '[b["owner"] for b in d["books"]]')" "['ann']"
signin cy pc
as GET "/api/v1/library/$ANNBOOK"
is "cy sees ann's shared upload: owner, shared" "$(printf '%s' "$BODY" | json '(d["book"]["owner"], d["book"]["shared"])')" "('ann', True)"
as GET '/api/v1/library'
is "cy's list: both" "$(printf '%s' "$BODY" | json 'sorted((b["owner"], b["shared"]) for b in d["books"])')" "[('ann', True), ('cy', False)]"
as POST "/api/v1/admin/library/$ANNBOOK/share" '{"shared": false}'
is "unshare: 200" "$(printf '%s %s' "$STATUS" "$BODY")" "200 {\"id\":\"$ANNBOOK\",\"shared\":false}"
signin bob pb
as GET "/api/v1/library/$ANNBOOK"
is "unshared: bob 404" "$STATUS" 404
ks_stop

# The command, offline.
run library share "$ANNBOOK" on
is "library share on: exit 0" "$RC" 0
like "library share on: says so" "$OUT" 'shared with every account'
run library list --user bob --json
check "bob sees it (offline list)" grep -q '"Roadside Picnic"' <<<"$OUT"
run library share "$ANNBOOK" off
is "library share off: exit 0" "$RC" 0
run library list --user bob --json
check "bob no longer sees it" sh -c "! grep -q 'Roadside Picnic' <<EOF
$OUT
EOF"
run library share "$ANNBOOK" maybe
is "library share: not on|off, exit 1" "$RC" 1
run library share 0123456789abcdef0123456789abcdef on
is "library share: an unknown id, exit 1" "$RC" 1
like "library share: says why" "$ERR" 'no upload'

done_testing
