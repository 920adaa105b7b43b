#!/usr/bin/env bash
# t092-webui-merge: merging document hashes from the web interface.
#
# Covers: merging a newer hash into an older one gives the shared record
# the newer position (the older one goes to the history); pulls under
# either hash return the shared position, each answering with the hash it
# asked; a push under either hash moves both; the library lists the book
# once with its links; the links survive kill -9 (journal replay) and a
# clean restart (database.json "links"); unmerging gives the alias its own
# record back; deleting through the alias removes the shared record;
# refusals: merging a document with itself, an unknown
# document, unmerging what is not linked, no CSRF token; the memory and
# Redis backends behave the same (on Redis the links live in
# kosyncd:user:<name>:links, and pushes and pulls follow them).
. "$(dirname "$0")/lib.sh"

K=$(md5 pw)
D1=11111111111111111111111111111111
D2=22222222222222222222222222222222

signin() {
	web POST /api/v1/login '{"username":"u","password":"pw"}' -c "$KS_TMP/jar"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() { web "$1" "$2" "${3-}" -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"; }
push() { # DOC PCT DEVICE
	req PUT /syncs/progress "{\"document\":\"$1\",\"progress\":\"at-$2\",\"percentage\":$2,\"device\":\"$3\",\"device_id\":\"$3-id\",\"metadata\":{\"title\":\"Emma\"}}" $(auth u "$K")
}
pull() { # DOC: "document percentage device"
	req GET /syncs/progress/$1 "" $(auth u "$K")
	printf '%s' "$BODY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("document"), d.get("percentage"), d.get("device"))'
}
library() {
	as GET /api/v1/documents
	printf '%s' "$BODY" | python3 -c 'import json,sys; print([(x["document"][:2], x["percentage"], x["links"]) for x in json.load(sys.stdin)["documents"]])'
}

for backend in file memory $(command -v redis-server >/dev/null && echo redis); do
	rm -rf "$KS_DIR"
	ks_start_backend $backend --enable-webui --store-history || exit 1
	req POST /users/create "{\"username\":\"u\",\"password\":\"$K\"}"
	push $D1 0.3 kobo
	sleep 1.1
	push $D2 0.6 kindle
	signin
	is "$backend: two hashes" "$(library)" "[('22', 0.6, []), ('11', 0.3, [])]"

	as POST /api/v1/documents/$D1/merge "{\"alias\":\"$D2\"}"
	is "$backend: merge" "$STATUS $BODY" "200 {\"document\":\"$D1\",\"merge\":true}"
	is "$backend: one book, the newer position" "$(library)" "[('11', 0.6, ['$D2'])]"
	is "$backend: pull under the first hash" "$(pull $D1)" "$D1 0.6 kindle"
	is "$backend: pull under the second answers with it" "$(pull $D2)" "$D2 0.6 kindle"
	push $D2 0.7 kindle
	is "$backend: a push under the alias moves both" "$(pull $D1)" "$D1 0.7 kindle"
	push $D1 0.75 kobo
	is "$backend: a push under the first moves both" "$(pull $D2)" "$D2 0.75 kobo"
	as GET /api/v1/documents/$D2
	is "$backend: the alias opens the shared record" "$(printf '%s' "$BODY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["document"], [e["percentage"] for e in d["history"]])')" \
	    "$D1 [0.3, 0.6, 0.7]"

	as POST /api/v1/documents/$D1/merge "{\"alias\":\"$D1\"}"
	is "$backend: merge with itself refused" "$STATUS" 404
	as POST /api/v1/documents/$D1/merge "{\"alias\":\"$D2\"}"
	is "$backend: merge again refused" "$STATUS" 404
	as POST /api/v1/documents/0000/merge "{\"alias\":\"$D2\"}"
	is "$backend: unknown document" "$STATUS" 404
	as POST /api/v1/documents/$D1/merge '{"alias":"a/b"}'
	is "$backend: bad alias" "$STATUS" 400
	web POST /api/v1/documents/$D1/unmerge "{\"alias\":\"$D2\"}" -b "$KS_TMP/jar"
	is "$backend: unmerge without CSRF" "$STATUS" 403

	if [ $backend = file ]; then
		ks_kill9
		ks_start --storage file --enable-webui --store-history || exit 1
		signin
		is "after kill -9" "$(library) $(pull $D2)" "[('11', 0.75, ['$D2'])] $D2 0.75 kobo"
		ks_stop
		is "database.json keeps the link" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"]["u"]["links"])' "$KS_DIR/database.json")" \
		    "{'$D2': '$D1'}"
		ks_start --storage file --enable-webui --store-history || exit 1
		signin
		is "after a clean restart" "$(library) $(pull $D2)" "[('11', 0.75, ['$D2'])] $D2 0.75 kobo"
	fi

	as POST /api/v1/documents/$D1/unmerge "{\"alias\":\"$D2\"}"
	is "$backend: unmerge" "$STATUS $BODY" "200 {\"document\":\"$D1\",\"unmerge\":true}"
	is "$backend: two books again" "$(library)" "[('11', 0.75, []), ('22', 0.6, [])]"
	is "$backend: the alias has its own record back" "$(pull $D2)" "$D2 0.6 kindle"
	as POST /api/v1/documents/$D1/unmerge "{\"alias\":\"$D2\"}"
	is "$backend: unmerge what is not linked" "$STATUS" 404

	# Deleting a merged book through its alias removes the shared record.
	as POST /api/v1/documents/$D1/merge "{\"alias\":\"$D2\"}"
	is "$backend: merged again" "$STATUS" 200
	as DELETE /api/v1/documents/$D2
	is "$backend: delete through the alias" "$STATUS" 200
	is "$backend: the shared record is gone, the alias's own is back" "$(library)" "[('22', 0.6, [])]"
	ks_stop
done

done_testing
