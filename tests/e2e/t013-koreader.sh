#!/usr/bin/env bash
# t013-koreader: the KOReader client's own flow (docs/protocol.md §6) as it
# sends it: register with the md5 key, authorize, push with and without
# metadata, pull, pull an unknown document, a second device's push wins, a
# wrong key is 401 with a message. The requests that matter are also sent
# byte for byte as LuaSocket writes them (HTTP/1.1, "Connection: close,
# TE", "TE: trailers", the body in a write after the head's), and the
# answers are checked the way lua-Spore reads them (Content-Type matching
# ^application/[%w.]-%+?json$, a JSON body on 200, Content-Length, numbers
# and strings of the right JSON type).
. "$(dirname "$0")/lib.sh"

want() {
	is "$1: status" "$STATUS" "$2"
	is "$1: content-type" "$CTYPE" "application/json"
	is "$1: body" "$BODY" "$3"
}
# luasocket METHOD PATH KEY [BODY]: the request as KOReader's LuaSocket
# sends it, the head and the body in two writes (the server reads the
# head before the body is there); prints the whole answer with CRs
# removed.
luasocket() {
	local body=${4-} hdrs
	hdrs="$1 $2 HTTP/1.1\r\nhost: 127.0.0.1:$KS_PORT\r\nuser-agent: lua-Spore\r\n"
	hdrs="${hdrs}accept: application/vnd.koreader.v1+json\r\n"
	[ -n "$3" ] && hdrs="${hdrs}x-auth-user: reader\r\nx-auth-key: $3\r\n"
	[ -n "$body" ] && hdrs="${hdrs}content-type: application/json\r\ncontent-length: ${#body}\r\n"
	hdrs="${hdrs}connection: close, TE\r\nte: trailers\r\n\r\n"
	{
		printf "$hdrs"
		if [ -n "$body" ]; then
			sleep 0.2
			printf '%s' "$body"
		fi
	} | nc -q $((2 * KS_SLOW)) -w $((5 * KS_SLOW)) 127.0.0.1 "$KS_PORT" |
	    tr -d '\r'
}
spore_json() { [[ $1 =~ ^[[:space:]]*application/[[:alnum:].]*\+?json[[:space:]]*$ ]]; }

ks_start --storage memory || { not_ok "server started"; done_testing; }

# The user types " reader " and "pass word": the client trims the name and
# sends md5 of the password as typed.
KEY=$(md5 'pass word')
DOC=59d481d168cca6267322f150c5f6a2a3 # leaves.epub's partial md5
DEV_A=4E9F6A3C1B2D4E5F8A7B6C5D4E3F2A1B
DEV_B=0A1B2C3D4E5F60718293A4B5C6D7E8F9

# register
out=$(luasocket POST /users/create "" '{"password":"'"$KEY"'","username":"reader"}')
like "register (LuaSocket): 201" "$out" '^HTTP/1.1 201 '
like "register (LuaSocket): Content-Length" "$out" $'\nContent-Length: 21\n'
like "register (LuaSocket): body" "$out" $'\n\n\\{"username":"reader"\\}$'
like "register (LuaSocket): connection closed" "$out" $'\nConnection: close\n'
req POST /users/create '{"password":"'"$KEY"'","username":"reader"}'
want "register again" 402 '{"code":2002,"message":"Username is already registered."}'
check "register again: Spore decodes the 402 body" spore_json "$CTYPE"

# authorize (login)
out=$(luasocket GET /users/auth "$KEY")
like "authorize (LuaSocket)" "$out" '^HTTP/1.1 200 '
like "authorize (LuaSocket): body" "$out" $'\n\n\\{"authorized":"OK"\\}$'
req GET /users/auth "" $(auth reader "$(md5 'password')")
want "login with a wrong password" 401 '{"code":2001,"message":"Unauthorized"}'
check "the 401 message is readable by Spore" spore_json "$CTYPE"

# update_progress from device A, without metadata (the default)
now=$(date +%s)
body='{"percentage":0.4213,"progress":"/body/DocFragment[11]/body/div/p[7]/text().123","document":"'$DOC'","device_id":"'$DEV_A'","device":"Kobo Libra 2"}'
out=$(luasocket PUT /syncs/progress "$KEY" "$body")
like "push A (LuaSocket): exactly 200" "$out" '^HTTP/1.1 200 '
like "push A (LuaSocket): JSON" "$out" $'\nContent-Type: application/json\n'
like "push A (LuaSocket): document and integer timestamp" "$out" \
    $'\n\n\\{"document":"'"$DOC"'","timestamp":[0-9]+\}$'
tsa=$(printf '%s' "$out" | sed -n 's/.*"timestamp":\([0-9]*\)}$/\1/p')
check "push A: timestamp in seconds, not milliseconds" test "$tsa" -ge "$now" -a "$tsa" -lt $((now + 100))

# get_progress from device B
out=$(luasocket GET "/syncs/progress/$DOC" "$KEY")
like "pull (LuaSocket): 200" "$out" '^HTTP/1.1 200 '
req GET "/syncs/progress/$DOC" "" $(auth reader "$KEY")
want "pull: what device B sees" 200 '{"document":"'$DOC'","percentage":0.4213,"progress":"/body/DocFragment[11]/body/div/p[7]/text().123","device":"Kobo Libra 2","device_id":"'$DEV_A'","timestamp":'"$tsa"'}'
check "pull: Spore decodes it" spore_json "$CTYPE"
like "pull: percentage is a JSON number" "$BODY" '"percentage":0\.4213,'
like "pull: progress is a JSON string" "$BODY" '"progress":"[^"]*",'
like "pull: timestamp is a JSON integer" "$BODY" '"timestamp":[0-9]+}$'

# device B pushes a later position, with metadata (the option is on)
sleep 1
req PUT /syncs/progress '{"percentage":0.5,"progress":"/body/DocFragment[12]/body/p[1]/text().0","document":"'$DOC'","device_id":"'$DEV_B'","device":"PocketBook","metadata":{"filename":"leaves.epub","title":"Leaves of Grass","authors":"Walt Whitman"}}' $(auth reader "$KEY")
is "push B with metadata: status" "$STATUS" 200
tsb=$(printf '%s' "$BODY" | sed -n 's/.*"timestamp":\([0-9]*\)}$/\1/p')
check "push B: a later timestamp" test "$tsb" -gt "$tsa"
req GET "/syncs/progress/$DOC" "" $(auth reader "$KEY")
want "pull after B: the last push wins" 200 '{"document":"'$DOC'","percentage":0.5,"progress":"/body/DocFragment[12]/body/p[1]/text().0","device":"PocketBook","device_id":"'$DEV_B'","timestamp":'"$tsb"'}'

# device A pushes again without metadata (a paged document's page number)
req PUT /syncs/progress '{"percentage":0.6,"progress":"56","document":"'$DOC'","device_id":"'$DEV_A'","device":"Kobo Libra 2"}' $(auth reader "$KEY")
is "push A again: status" "$STATUS" 200
req GET "/syncs/progress/$DOC" "" $(auth reader "$KEY")
like "pull: A is the latest again, progress still a string" "$BODY" \
    '^\{"document":"'$DOC'","percentage":0.6,"progress":"56","device":"Kobo Libra 2","device_id":"'$DEV_A'","timestamp":[0-9]+\}$'

# a client from before March 2022 sent the page as a number
req PUT /syncs/progress '{"percentage":0.7,"progress":57,"document":"'$DOC'","device_id":"'$DEV_A'","device":"Kobo Libra 2"}' $(auth reader "$KEY")
is "old client push: status" "$STATUS" 200
req GET "/syncs/progress/$DOC" "" $(auth reader "$KEY")
like "old client push: progress comes back as a string" "$BODY" '"progress":"57",'

# an unknown document: 200 {} without percentage ("No progress found")
out=$(luasocket GET /syncs/progress/41cce710f34e5ec21315e19c99821415 "$KEY")
like "unknown document (LuaSocket): 200" "$out" '^HTTP/1.1 200 '
like "unknown document (LuaSocket): {}" "$out" $'\n\n\\{\\}$'
like "unknown document (LuaSocket): Content-Length 2" "$out" $'\nContent-Length: 2\n'

# a wrong key on push: 401, which the client does not queue for retry
req PUT /syncs/progress '{"percentage":0.8,"progress":"58","document":"'$DOC'","device_id":"'$DEV_A'","device":"Kobo Libra 2"}' $(auth reader "$(md5 other)")
want "push with a wrong key" 401 '{"code":2001,"message":"Unauthorized"}'
req GET "/syncs/progress/$DOC" "" $(auth reader "$KEY")
like "the refused push changed nothing" "$BODY" '"percentage":0.7,'

ks_stop
done_testing
