#!/usr/bin/env bash
# t098-names-ids: the document-id and user-name rules (issue 12, item 10).
#
# Covers: a push of document "." or ".." is refused (403/2004; a browser
# would resolve them in the web page's URLs), "..." is fine; a \u escape of
# a lone surrogate in a document id (yajl stored it as "?") is 400/103, a
# surrogate pair is fine, and so are raw invalid UTF-8 bytes refused;
# documents "." and ".." stored by an older version are listed, shown and
# deleted through the web API (written after a ':', as the page does); a
# merge with an alias the user does not have is 404 (no link is made);
# a name with a space at either end, or with a combining mark (NFD), is
# refused at registration (protocol 403/2003, `user add`, the admin page
# 400) while its precomposed (NFC) form registers; existing such names
# still sign in. The protocol and merge checks run on every backend
# (memory, file, and Redis when redis-server is installed).
. "$(dirname "$0")/lib.sh"

K=$(md5 pw)
E2003='{"code":2003,"message":"Invalid request"}'
E2004="{\"code\":2004,\"message\":\"Field 'document' not provided.\"}"
E103='{"code":103,"message":"Could not parse JSON in body."}'
push() { # BODY-DOCUMENT-JSON (already quoted)
	req PUT /syncs/progress "{\"document\":$1,\"progress\":\"p\",\"percentage\":0.5,\"device\":\"d\"}" $(auth u "$K")
}
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"pw\"}" -c "$KS_TMP/jar"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() { web "$1" "$2" "${3-}" -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

for backend in $(ks_backends); do
	KS_DIR=$KS_TMP/data-$backend
	ks_start_backend $backend --register-per-ip 0 || exit 1
	req POST /users/create "{\"username\":\"u\",\"password\":\"$K\"}"
	push '"."'
	is "$backend: push of '.' refused" "$STATUS $BODY" "403 $E2004"
	push '".."'
	is "$backend: push of '..' refused" "$STATUS $BODY" "403 $E2004"
	push '"..."'
	is "$backend: '...' is an id like any other" "$STATUS" 200
	push '"\ud800"'
	is "$backend: a lone high surrogate is refused" "$STATUS $BODY" "400 $E103"
	push '"a\udc00"'
	is "$backend: a lone low surrogate is refused" "$STATUS $BODY" "400 $E103"
	push '"\ud800\u0041"'
	is "$backend: a high surrogate before another escape is refused" "$STATUS" 400
	push '"\ud83d\ude00"'
	is "$backend: a surrogate pair is fine" "$STATUS" 200
	req PUT /syncs/progress "$(printf '{"document":"a\xffb","progress":"p","percentage":0.5,"device":"d"}')" $(auth u "$K")
	is "$backend: raw invalid UTF-8 is refused" "$STATUS $BODY" "400 $E103"
	req GET /syncs/progress/%3F "" $(auth u "$K")
	is "$backend: nothing was stored as '?'" "$STATUS $BODY" "200 {}"

	# Merge with an alias the user does not have.
	push '"d1"'
	signin u
	as POST /api/v1/documents/d1/merge '{"alias":"nothere"}'
	is "$backend: merge with an unknown alias is 404" "$STATUS" 404
	req GET /syncs/progress/nothere "" $(auth u "$K")
	is "$backend: and no link was made" "$STATUS $BODY" "200 {}"
	push '"d2"'
	as POST /api/v1/documents/d1/merge '{"alias":"d2"}'
	is "$backend: merge with a document the user has" "$STATUS" 200

	# User names at registration.
	for n in ' lead' 'trail ' ' ' "$(printf 'Jo\xcc\x88rg')" "$(printf 'e\xcc\x81')"; do
		req POST /users/create "{\"username\":\"$n\",\"password\":\"$K\"}"
		is "$backend: registration of '$n' refused" "$STATUS $BODY" "403 $E2003"
	done
	req POST /users/create "{\"username\":\"$(printf 'J\xc3\xb6rg')\",\"password\":\"$K\"}"
	is "$backend: the precomposed (NFC) form registers" "$STATUS" 201
	req POST /users/create "{\"username\":\"in side\",\"password\":\"$K\"}"
	is "$backend: a space inside is fine" "$STATUS" 201
	ks_stop
done

# The admin page and `user add` take the same rule.
KS_DIR=$KS_TMP/data-file
mkdir -p "$KS_DIR"
pw pw
run user add ' root' --stdin
is "user add ' root' refused" "$RC" 1
like "user add: says why" "$ERR" "no space at either end"
run user add "$(printf 'e\xcc\x81')" --stdin
is "user add of an NFD name refused" "$RC" 1
run user add root --admin --stdin
ks_start --storage file || exit 1
signin root
as POST /api/v1/admin/users '{"username":"bob ","password":"x"}'
is "admin page: 'bob ' refused" "$STATUS" 400
as POST /api/v1/admin/users '{"username":"bob","password":"x"}'
is "admin page: 'bob' created" "$STATUS" 201
ks_stop

# Documents "." and ".." and a name with a space, stored by an older version.
KS_DIR=$KS_TMP/old
mkdir -p "$KS_DIR"
python3 - "$KS_DIR/database.json" "$K" <<'PY'
import json, sys
doc = lambda d: {"percentage": 0.5, "progress": "p-" + d, "device": "kobo",
                 "device_id": "", "timestamp": 1700000000, "document": d}
users = {"u": {"username": "u", "password": sys.argv[2],
               "documents": {".": doc("."), "..": doc(".."), "x": doc("x")}},
         " old ": {"username": " old ", "password": sys.argv[2], "documents": {}}}
json.dump({"schema": 7, "config": {}, "users": users}, open(sys.argv[1], "w"))
PY
ks_start --storage file || exit 1
signin u
as GET /api/v1/documents
is "old '.' and '..' are listed" "$(printf '%s' "$BODY" | json 'sorted(x["document"] for x in d["documents"])')" "['.', '..', 'x']"
as GET /api/v1/documents/%3A..
is "'..' is shown (written after ':')" "$STATUS $(printf '%s' "$BODY" | json 'd["progress"]')" "200 p-.."
as GET /api/v1/documents/%3A.
is "'.' is shown" "$STATUS $(printf '%s' "$BODY" | json 'd["progress"]')" "200 p-."
as GET /api/v1/documents/%3Ax
is "any id may be written after ':'" "$STATUS" 200
as DELETE /api/v1/documents/%3A..
is "'..' is deleted" "$STATUS" 200
as GET /api/v1/documents
is "then the library" "$(printf '%s' "$BODY" | json 'sorted(x["document"] for x in d["documents"])')" "['.', 'x']"
web POST /api/v1/login '{"username":" old ","password":"pw"}'
is "an existing name with spaces still signs in on the web" "$STATUS" 200
ks_stop
done_testing
