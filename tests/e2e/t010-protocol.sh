#!/usr/bin/env bash
# t010-protocol: every row of docs/protocol.md §3.1, each checked for status,
# Content-Type and the exact body: GET /healthcheck, POST /users/create,
# GET /users/auth, PUT /syncs/progress, GET /syncs/progress/:document,
# PUT /users/password, DELETE /users/me; once on each backend (memory, file, redis).
. "$(dirname "$0")/lib.sh"

# want DESC STATUS BODY: the last req answered STATUS, JSON, exactly BODY.
want() {
	is "$backend: $1: status" "$STATUS" "$2"
	is "$backend: $1: content-type" "$CTYPE" "application/json"
	is "$backend: $1: body" "$BODY" "$3"
}
E2001='{"code":2001,"message":"Unauthorized"}'
E2002='{"code":2002,"message":"Username is already registered."}'
E2003='{"code":2003,"message":"Invalid request"}'
E2004='{"code":2004,"message":"Field '"'"'document'"'"' not provided."}'

for backend in $(ks_backends); do
	KS_DIR=$KS_TMP/data-$backend
	ks_start_backend "$backend" || { not_ok "server started"; done_testing; }
	K=$(md5 secret)

	# GET /healthcheck
	req GET /healthcheck
	want "healthcheck" 200 '{"state":"OK"}'

	# POST /users/create
	req POST /users/create '{"username":"alice","password":"'"$K"'"}'
	want "register" 201 '{"username":"alice"}'
	req POST /users/create '{"username":"alice","password":"'"$K"'"}'
	want "register a taken name" 402 "$E2002"
	req POST /users/create '{"username":"Alice","password":"'"$K"'"}'
	want "names are case-sensitive" 201 '{"username":"Alice"}'
	for b in '{"username":"","password":"k"}' '{"username":"a:b","password":"k"}' \
	    '{"username":5,"password":"k"}' '{"username":null,"password":"k"}' \
	    '{"username":"bob"}' '{"username":"bob","password":""}' \
	    '{"username":"bob","password":5}' '{"username":"bob","password":null}' \
	    '{"password":"k"}' '{}' '{"username":["bob"],"password":"k"}'; do
		req POST /users/create "$b"
		want "register refuses $b" 403 "$E2003"
	done
	req POST /users/create
	want "register without a body" 403 "$E2003"

	# GET /users/auth
	req GET /users/auth "" $(auth alice "$K")
	want "authorize" 200 '{"authorized":"OK"}'
	req GET /users/auth
	want "authorize without headers" 401 "$E2001"
	req GET /users/auth "" $(auth nobody "$K")
	want "authorize an unknown user" 401 "$E2001"
	req GET /users/auth "" $(auth alice "$(md5 wrong)")
	want "authorize with a wrong key" 401 "$E2001"
	req GET /users/auth "" $(auth alice "${K^^}")
	want "keys compare byte for byte (hex case)" 401 "$E2001"
	req GET /users/auth "" $(auth ALICE "$K")
	want "user names compare byte for byte" 401 "$E2001"

	# PUT /syncs/progress
	before=$(date +%s)
	req PUT /syncs/progress '{"document":"59d481d168cca6267322f150c5f6a2a3","progress":"/body/DocFragment[11]/body/div/p[7]/text().123","percentage":0.4213,"device":"Kobo","device_id":"4E9F6A3C1B2D4E5F8A7B6C5D4E3F2A1B"}' $(auth alice "$K")
	after=$(date +%s)
	is "push: status" "$STATUS" 200
	is "push: content-type" "$CTYPE" application/json
	like "push: body" "$BODY" '^\{"document":"59d481d168cca6267322f150c5f6a2a3","timestamp":[0-9]+\}$'
	ts=${BODY##*:}
	ts=${ts%\}}
	check "push: timestamp is the server's clock in seconds" \
	    test "$ts" -ge "$before" -a "$ts" -le "$after"
	req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"k"}'
	want "push without credentials" 401 "$E2001"
	req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$(md5 x)")
	want "push with a wrong key" 401 "$E2001"
	req PUT /syncs/progress '{"progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$K")
	want "push without document" 403 "$E2004"
	req PUT /syncs/progress '{"document":"a:b","progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$K")
	want "push with a ':' in the document" 403 "$E2004"
	req PUT /syncs/progress '{"document":"d","percentage":0.5,"device":"k"}' $(auth alice "$K")
	want "push without progress" 403 "$E2003"
	req PUT /syncs/progress '{"document":"d","progress":"p","device":"k"}' $(auth alice "$K")
	want "push without percentage" 403 "$E2003"
	req PUT /syncs/progress '{"document":"d","progress":"p","percentage":"half","device":"k"}' $(auth alice "$K")
	want "push with a non-numeric percentage" 403 "$E2003"
	req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5}' $(auth alice "$K")
	want "push without device" 403 "$E2003"
	req PUT /syncs/progress "" $(auth alice "$K")
	want "push without a body" 403 "$E2003"

	# GET /syncs/progress/:document
	req GET /syncs/progress/59d481d168cca6267322f150c5f6a2a3 "" $(auth alice "$K")
	want "pull" 200 '{"document":"59d481d168cca6267322f150c5f6a2a3","percentage":0.4213,"progress":"/body/DocFragment[11]/body/div/p[7]/text().123","device":"Kobo","device_id":"4E9F6A3C1B2D4E5F8A7B6C5D4E3F2A1B","timestamp":'"$ts"'}'
	req GET /syncs/progress/0123456789abcdef0123456789abcdef "" $(auth alice "$K")
	want "pull an unknown document" 200 '{}'
	req GET /syncs/progress/59d481d168cca6267322f150c5f6a2a3 "" $(auth Alice "$K")
	want "another user does not see it" 200 '{}'
	req GET /syncs/progress/59d481d168cca6267322f150c5f6a2a3
	want "pull without credentials" 401 "$E2001"
	req GET /syncs/progress/59d481d168cca6267322f150c5f6a2a3 "" $(auth alice "$(md5 x)")
	want "pull with a wrong key" 401 "$E2001"

	# PUT /users/password
	K2=$(md5 secret2)
	req PUT /users/password '{"password":"'"$K2"'"}' $(auth alice "$(md5 x)")
	want "password change with a wrong key" 401 "$E2001"
	req PUT /users/password '{"password":""}' $(auth alice "$K")
	want "password change to an empty key" 403 "$E2003"
	req PUT /users/password '{"password":5}' $(auth alice "$K")
	want "password change to a non-string" 403 "$E2003"
	req PUT /users/password '{}' $(auth alice "$K")
	want "password change without password" 403 "$E2003"
	req PUT /users/password "" $(auth alice "$K")
	want "password change without a body" 403 "$E2003"
	req PUT /users/password '{"password":""}' $(auth alice "$(md5 x)")
	want "password change: 401 comes before 403" 401 "$E2001"
	req PUT /users/password '{"password":"'"$K2"'","username":"mallory"}' $(auth alice "$K")
	want "password change" 200 '{"updated":true}'
	req GET /users/auth "" $(auth alice "$K")
	want "the old key stops working" 401 "$E2001"
	req GET /users/auth "" $(auth alice "$K2")
	want "the new key works" 200 '{"authorized":"OK"}'
	req GET /users/auth "" $(auth mallory "$K2")
	want "a username in the body is ignored" 401 "$E2001"

	# DELETE /users/me
	req DELETE /users/me "" $(auth alice "$K")
	want "delete with a wrong key" 401 "$E2001"
	req DELETE /users/me
	want "delete without credentials" 401 "$E2001"
	req DELETE /users/me "" $(auth alice "$K2")
	want "delete" 200 '{"deleted":true}'
	req GET /users/auth "" $(auth alice "$K2")
	want "a deleted account cannot log in" 401 "$E2001"
	req DELETE /users/me "" $(auth alice "$K2")
	want "delete again" 401 "$E2001"
	req PUT /syncs/progress '{"document":"d","progress":"p","percentage":0.5,"device":"k"}' $(auth alice "$K2")
	want "a deleted account cannot push" 401 "$E2001"
	req POST /users/create '{"username":"alice","password":"'"$K"'"}'
	want "the name can be registered again" 201 '{"username":"alice"}'
	req GET /syncs/progress/59d481d168cca6267322f150c5f6a2a3 "" $(auth alice "$K")
	want "and its old documents are gone" 200 '{}'
	req GET /syncs/progress/59d481d168cca6267322f150c5f6a2a3 "" $(auth Alice "$K")
	want "other accounts are untouched" 200 '{}'

	ks_stop
done
done_testing
