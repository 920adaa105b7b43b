#!/usr/bin/env bash
# t091-webui-api: every route of the web interface's JSON API, on the file
# backend, and every refusal.
#
# Covers: documents (newest first, metadata, devices, ?history=1), one
# document with its history, someone else's document and an unknown one
# (404, never 403), restore (fresh timestamp, device "kosyncd web", the
# replaced state in the history even without store_history, the next pull
# returns it), rename (kept by later pushes), delete; every state-changing
# route refuses a missing or wrong CSRF token and a foreign Origin (403)
# and changes nothing; account password change (old key dead, other
# sessions ended, this one kept) and deletion (wrong password refused);
# administration (non-admin 403 everywhere; list, create, taken name 409,
# reset password, delete, registration switch persisted in database.json
# and refused when set by a flag); web changes survive kill -9 (journal
# replay) and a clean restart (snapshot).
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*accessible to others'
KA=$(md5 alpha)
KB=$(md5 bravo)
D1=0123456789abcdef0123456789abcdef
D2=fedcba9876543210fedcba9876543210

# signin NAME PASSWORD JAR: sign in; sets CSRF.
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
# as JAR CSRF METHOD PATH [BODY]: a signed-in request with the token.
as() {
	local jar=$1 tok=$2 m=$3 p=$4
	shift 4
	web "$m" "$p" "${1-}" -b "$jar" -H "X-CSRF-Token: $tok"
}
push() { # USER KEY DOC PCT DEVICE [METADATA]
	req PUT /syncs/progress "{\"document\":\"$3\",\"progress\":\"pos-$4\",\"percentage\":$4,\"device\":\"$5\",\"device_id\":\"$5-ID\"${6:+,\"metadata\":$6}}" $(auth "$1" "$2")
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(($1))"; }

ks_start --storage file --enable-webui || exit 1
for u in "alice $KA" "bob $KB" "root $(md5 toor)"; do
	set -- $u
	req POST /users/create "{\"username\":\"$1\",\"password\":\"$2\"}"
done
run user admin root on
is "root is made an administrator" "$RC" 0
push alice "$KA" $D1 0.25 kobo '{"title":"Moby Dick","authors":"Herman Melville","filename":"moby.epub"}'
sleep 1.1
push alice "$KA" $D1 0.5 kindle
sleep 1.1
push alice "$KA" $D2 0.1 kobo '{"title":"<b>Emma</b>"}'
push bob "$KB" $D1 0.9 bobphone

signin alice alpha "$KS_TMP/jar-a"
A=$CSRF
signin alice alpha "$KS_TMP/jar-a2"
A2=$CSRF

# Documents.
as "$KS_TMP/jar-a" "$A" GET /api/v1/documents
is "documents: 200" "$STATUS" 200
is "one page, the end: next is null" "$(printf '%s' "$BODY" | json 'd["next"]')" None
is "newest first, names, metadata kept, escaped as JSON" "$(printf '%s' "$BODY" | json '[(x["document"][:4], x["title"], x["percentage"], x["device"]) for x in d["documents"]]')" \
    "[('fedc', '<b>Emma</b>', 0.1, 'kobo'), ('0123', 'Moby Dick', 0.5, 'kindle')]"
is "the other device's position" "$(printf '%s' "$BODY" | json 'd["documents"][1]["devices"]')" \
    "[{'percentage': 0.25, 'progress': 'pos-0.25', 'device': 'kobo', 'device_id': 'kobo-ID', 'timestamp': $(printf '%s' "$BODY" | json 'd["documents"][1]["devices"][0]["timestamp"]')}]"
is "no history in the list" "$(printf '%s' "$BODY" | json '"history" in d["documents"][0]')" False
as "$KS_TMP/jar-a" "$A" GET '/api/v1/documents?history=1'
is "?history=1 adds it" "$(printf '%s' "$BODY" | json '"history" in d["documents"][0]')" True
like "Cache-Control: no-store" "$HEADERS" 'Cache-Control: no-store'

as "$KS_TMP/jar-a" "$A" GET /api/v1/documents/$D1
is "one document" "$(printf '%s' "$BODY" | json 'd["document"], d["percentage"], d["history"]')" "('$D1', 0.5, [])"
as "$KS_TMP/jar-a" "$A" GET /api/v1/documents/0000
is "unknown document: 404" "$STATUS $BODY" '404 {"code":404,"message":"Not found."}'
signin bob bravo "$KS_TMP/jar-b"
B=$CSRF
as "$KS_TMP/jar-b" "$B" GET /api/v1/documents/$D2
is "someone else's document: 404, not 403" "$STATUS" 404
as "$KS_TMP/jar-b" "$B" GET /api/v1/documents/$D1
is "bob sees his own record of the same hash" "$(printf '%s' "$BODY" | json 'd["percentage"]')" 0.9

# CSRF: every state-changing route, without and with a wrong token.
for r in "POST /api/v1/documents/$D1/restore {\"percentage\":0.1,\"progress\":\"x\"}" \
    "PUT /api/v1/documents/$D1/name {\"name\":\"x\"}" \
    "DELETE /api/v1/documents/$D1 -" \
    "PUT /api/v1/account/password {\"current\":\"alpha\",\"password\":\"x\"}" \
    "DELETE /api/v1/account {\"password\":\"alpha\"}" \
    "POST /api/v1/logout -"; do
	set -- $r
	b=$3
	[ "$b" = - ] && b=
	[ "$2" = /api/v1/logout ] && continue
	web "$1" "$2" "$b" -b "$KS_TMP/jar-a"
	is "no CSRF token: $1 $2" "$STATUS $BODY" '403 {"code":403,"message":"Missing or wrong CSRF token."}'
	web "$1" "$2" "$b" -b "$KS_TMP/jar-a" -H "X-CSRF-Token: $B"
	is "another session's token: $1 $2" "$STATUS" 403
	web "$1" "$2" "$b" -b "$KS_TMP/jar-a" -H "X-CSRF-Token: $A" -H 'Origin: http://evil.example'
	is "foreign Origin: $1 $2" "$STATUS" 403
done
req GET /syncs/progress/$D1 "" $(auth alice "$KA")
is "nothing changed" "$(printf '%s' "$BODY" | json 'd["percentage"], d["device"]')" "(0.5, 'kindle')"

# Restore the kobo's 25 %.
as "$KS_TMP/jar-a" "$A" POST /api/v1/documents/$D1/restore '{"percentage":0.25,"progress":"pos-0.25"}' -H "Origin: $KS_URL"
like "restore: 200 with a timestamp" "$STATUS $BODY" "^200 \\{\"document\":\"$D1\",\"timestamp\":[0-9]+,\"restore\":true\\}$"
req GET /syncs/progress/$D1 "" $(auth alice "$KA")
is "the next pull returns it" "$(printf '%s' "$BODY" | json 'd["percentage"], d["progress"], d["device"], "device_id" in d')" \
    "(0.25, 'pos-0.25', 'kosyncd web', False)"
as "$KS_TMP/jar-a" "$A" GET /api/v1/documents/$D1
is "the replaced state is in the history" "$(printf '%s' "$BODY" | json '[(e["percentage"], e["device"]) for e in d["history"]]')" "[(0.5, 'kindle')]"
as "$KS_TMP/jar-a" "$A" POST /api/v1/documents/$D1/restore '{"percentage":"x","progress":"p"}'
is "restore: bad body 400" "$STATUS" 400
as "$KS_TMP/jar-a" "$A" POST /api/v1/documents/0000/restore '{"percentage":0.1,"progress":"p"}'
is "restore: unknown document 404" "$STATUS" 404

# Rename, kept by a later push.
as "$KS_TMP/jar-a" "$A" PUT /api/v1/documents/$D1/name '{"name":"Moby-Dick; or, The Whale"}'
is "rename" "$STATUS $BODY" "200 {\"document\":\"$D1\",\"rename\":true}"
push alice "$KA" $D1 0.6 kobo
as "$KS_TMP/jar-a" "$A" GET /api/v1/documents/$D1
is "the name survives a push" "$(printf '%s' "$BODY" | json 'd["pretty_name"], d["percentage"]')" "('Moby-Dick; or, The Whale', 0.6)"

# Live update: a push answers a waiting events request at once.
curl -s -N -m 10 -b "$KS_TMP/jar-a" -H 'Last-Event-ID: 0' "$KS_URL/api/v1/events" >"$KS_TMP/sse1" &
sse=$!
sleep 0.5
t0=$(date +%s%N)
push alice "$KA" $D2 0.2 kobo
wait $sse
t1=$(date +%s%N)
like "SSE: the push arrives" "$(cat "$KS_TMP/sse1")" "event: change
data: \\{\"kind\":\"push\",\"document\":\"$D2\",\"timestamp\":[0-9]+\\}"
check "SSE: within a second" [ $(((t1 - t0) / 1000000)) -lt 1000 ]
last=$(sed -n 's/^id: //p' "$KS_TMP/sse1" | tail -n 1)
web GET /api/v1/events "" -b "$KS_TMP/jar-a" -H "Last-Event-ID: $((last - 1))"
like "SSE: Last-Event-ID replays what was missed" "$BODY" "\"document\":\"$D2\""
is "SSE: content type" "$(printf '%s\n' "$HEADERS" | sed -n 's/^Content-Type: //p')" "text/event-stream; charset=utf-8"
curl -s -m 10 -b "$KS_TMP/jar-b" -H "Last-Event-ID: $last" "$KS_URL/api/v1/events" >"$KS_TMP/sse2" &
sse=$!
sleep 0.3
push alice "$KA" $D2 0.3 kobo
push bob "$KB" $D1 0.95 bobphone
wait $sse
like "SSE: bob gets only his own events" "$(cat "$KS_TMP/sse2")" "\"document\":\"$D1\""
web GET /api/v1/events
is "SSE: no session 401" "$STATUS" 401

# Delete a document.
as "$KS_TMP/jar-a" "$A" DELETE /api/v1/documents/$D2
is "delete" "$STATUS" 200
req GET /syncs/progress/$D2 "" $(auth alice "$KA")
is "the document is gone for the device" "$STATUS $BODY" "200 {}"

# Administration: alice is no administrator.
for r in "GET /api/v1/admin/users" "POST /api/v1/admin/users" "PUT /api/v1/admin/users/bob/password" \
    "DELETE /api/v1/admin/users/bob" "GET /api/v1/admin/settings" "PUT /api/v1/admin/settings"; do
	set -- $r
	as "$KS_TMP/jar-a" "$A" "$1" "$2" '{}'
	is "non-admin: $1 $2" "$STATUS $BODY" '403 {"code":403,"message":"Administrators only."}'
done
signin root toor "$KS_TMP/jar-r"
R=$CSRF
like "root is an administrator" "$BODY" '"admin":true'
as "$KS_TMP/jar-r" "$R" GET /api/v1/admin/users
is "user list" "$(printf '%s' "$BODY" | json '([(u["username"], u["documents"]) for u in d["users"]], d["next"])')" "([('alice', 1), ('bob', 1), ('root', 0)], None)"
as "$KS_TMP/jar-r" "$R" POST /api/v1/admin/users '{"username":"carol","password":"charlie"}'
is "create" "$STATUS $BODY" '201 {"username":"carol"}'
as "$KS_TMP/jar-r" "$R" POST /api/v1/admin/users '{"username":"carol","password":"x"}'
is "a taken name: 409" "$STATUS" 409
as "$KS_TMP/jar-r" "$R" POST /api/v1/admin/users '{"username":"a:b","password":"x"}'
is "a bad name: 400" "$STATUS" 400
req GET /users/auth "" $(auth carol "$(md5 charlie)")
is "carol logs in from KOReader" "$STATUS" 200
signin carol charlie "$KS_TMP/jar-c"
as "$KS_TMP/jar-r" "$R" PUT /api/v1/admin/users/carol/password '{"password":"delta"}'
is "reset password" "$STATUS $BODY" '200 {"username":"carol"}'
req GET /users/auth "" $(auth carol "$(md5 delta)")
is "the new key works" "$STATUS" 200
web GET /api/v1/documents "" -b "$KS_TMP/jar-c"
is "carol's sessions ended" "$STATUS" 401
as "$KS_TMP/jar-r" "$R" PUT /api/v1/admin/users/nobody/password '{"password":"x"}'
is "reset an unknown user: 404" "$STATUS" 404
as "$KS_TMP/jar-r" "$R" DELETE /api/v1/admin/users/carol
is "delete a user" "$STATUS" 200
req GET /users/auth "" $(auth carol "$(md5 delta)")
is "carol is gone" "$STATUS" 401
as "$KS_TMP/jar-r" "$R" GET /api/v1/admin/settings
is "settings" "$BODY" '{"registration":true,"registration_source":"default","store_history":false}'
as "$KS_TMP/jar-r" "$R" PUT /api/v1/admin/settings '{"registration":false}'
is "registration off" "$(printf '%s' "$BODY" | json 'd["registration"], d["registration_source"]')" "(False, 'database.json')"
req POST /users/create "{\"username\":\"dave\",\"password\":\"$KA\"}"
is "devices cannot register" "$STATUS" 402
is "persisted in database.json" "$(json 'd["config"]["disable_registration"]' <"$KS_DIR/database.json")" True

# Account: password change keeps this session, ends the other.
as "$KS_TMP/jar-a" "$A" PUT /api/v1/account/password '{"current":"wrong","password":"new"}'
is "password: wrong current 403" "$STATUS" 403
as "$KS_TMP/jar-a" "$A" PUT /api/v1/account/password '{"current":"alpha","password":"alpha2"}'
is "password changed" "$STATUS $BODY" '200 {"updated":true}'
req GET /users/auth "" $(auth alice "$KA")
is "the old key is dead" "$STATUS" 401
KA=$(md5 alpha2)
web GET /api/v1/documents "" -b "$KS_TMP/jar-a"
is "this session lives on" "$STATUS" 200
web GET /api/v1/documents "" -b "$KS_TMP/jar-a2"
is "the other session ended" "$STATUS" 401

# Durability: kill -9, replay.
sum() { as "$KS_TMP/jar-a" "$A" GET /api/v1/documents; printf '%s' "$BODY" | json '[(x["document"][:4], x["pretty_name"], x["percentage"], x["device"], len(x["devices"])) for x in d["documents"]]'; }
before=$(sum)
ks_kill9
ks_start --storage file --enable-webui || exit 1
signin alice alpha2 "$KS_TMP/jar-a"
A=$CSRF
is "after kill -9: the same documents" "$(sum)" "$before"
as "$KS_TMP/jar-a" "$A" GET /api/v1/documents/$D1
is "after kill -9: the history" "$(printf '%s' "$BODY" | json '[e["device"] for e in d["history"]]')" "['kindle']"
req POST /users/create "{\"username\":\"dave\",\"password\":\"$KA\"}"
is "after kill -9: registration still off" "$STATUS" 402
ks_stop
ks_start --storage file --enable-webui --disable-registration=false || exit 1
signin root toor "$KS_TMP/jar-r"
R=$CSRF
as "$KS_TMP/jar-r" "$R" PUT /api/v1/admin/settings '{"registration":true}'
is "set by a flag: 409" "$STATUS" 409
signin alice alpha2 "$KS_TMP/jar-a"
A=$CSRF
is "after a clean restart: the same" "$(sum)" "$before"

# Delete the account.
as "$KS_TMP/jar-a" "$A" DELETE /api/v1/account '{"password":"nope"}'
is "delete account: wrong password 403" "$STATUS" 403
as "$KS_TMP/jar-a" "$A" DELETE /api/v1/account '{"password":"alpha2"}'
is "account deleted" "$STATUS $BODY" '200 {"deleted":true}'
req GET /users/auth "" $(auth alice "$KA")
is "alice is gone" "$STATUS" 401
web GET /api/v1/documents "" -b "$KS_TMP/jar-a"
is "her session too" "$STATUS" 401
ks_stop

done_testing
