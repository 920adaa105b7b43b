#!/usr/bin/env bash
# t080-redis-layout: the redis backend is a drop-in for the official
# server's data (docs/protocol.md §7.1). Data written with redis-cli in the
# official layout (database 1, the default) is served with its existing
# key; what kosyncd writes is in that layout (verbatim key, hash fields
# percentage as %.14g, progress, device, device_id only once sent,
# timestamp; more digits only when %.14g would change the value), with kosyncd's own data only under "kosyncd:"; deleting an
# account removes every key of that user and no other user's (names with
# glob characters included); an unfinished deletion is finished by the next
# registration of the name.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
want() {
	is "$1: status" "$STATUS" "$2"
	is "$1: content-type" "$CTYPE" "application/json"
	is "$1: body" "$BODY" "$3"
}
E2001='{"code":2001,"message":"Unauthorized"}'
KS_REDIS_DB=1
ks_redis_start || { not_ok "redis started"; done_testing; }

# The official server's data, as it writes it.
K=$(md5 oldpass)
ks_redis_cli SET user:reader:key "$K" >/dev/null
ks_redis_cli HSET user:reader:document:59d481d168cca6267322f150c5f6a2a3 \
    percentage 0.31879884821061 progress '/body/DocFragment[20]/body/p[22]/img.0' \
    device PocketBook device_id 0F2C8D7E6B5A49382716A5B4C3D2E1F0 \
    timestamp 1790006348 >/dev/null
ks_redis_cli HSET user:reader:document:41cce710f34e5ec21315e19c99821415 \
    percentage 0.5 progress 56 device Kobo timestamp 1790000000 >/dev/null
ks_redis_cli SET 'user:a*:key' "$K" >/dev/null
ks_redis_cli HSET 'user:a*:document:d' percentage 0.1 progress p device k timestamp 1 >/dev/null
ks_redis_cli SET 'user:ab:key' "$K" >/dev/null
ks_redis_cli HSET 'user:ab:document:d' percentage 0.2 progress p device k timestamp 2 >/dev/null

# The default database is 1, as the official server's.
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" || { not_ok "server started"; done_testing; }

req GET /users/auth "" $(auth reader "$K")
want "an existing account logs in with its key" 200 '{"authorized":"OK"}'
req GET /users/auth "" $(auth reader "$(md5 x)")
want "a wrong key is refused" 401 "$E2001"
req GET /syncs/progress/59d481d168cca6267322f150c5f6a2a3 "" $(auth reader "$K")
want "an existing record is served" 200 '{"document":"59d481d168cca6267322f150c5f6a2a3","percentage":0.31879884821061,"progress":"/body/DocFragment[20]/body/p[22]/img.0","device":"PocketBook","device_id":"0F2C8D7E6B5A49382716A5B4C3D2E1F0","timestamp":1790006348}'
req GET /syncs/progress/41cce710f34e5ec21315e19c99821415 "" $(auth reader "$K")
want "a record without device_id" 200 '{"document":"41cce710f34e5ec21315e19c99821415","percentage":0.5,"progress":"56","device":"Kobo","timestamp":1790000000}'

# What kosyncd writes.
req POST /users/create '{"username":"newbie","password":"'"$K"'"}'
want "register" 201 '{"username":"newbie"}'
is "the key is stored verbatim" "$(ks_redis_cli GET user:newbie:key)" "$K"
req PUT /syncs/progress '{"document":"doc1","progress":"p1","percentage":0.4213,"device":"Kobo"}' $(auth newbie "$K")
is "push: status" "$STATUS" 200
ts=${BODY##*:}
ts=${ts%\}}
is "the document is a hash of the official fields" \
    "$(ks_redis_cli HGETALL user:newbie:document:doc1 | paste -sd' ')" \
    "percentage 0.4213 progress p1 device Kobo timestamp $ts"
req PUT /syncs/progress '{"document":"doc1","progress":"p2","percentage":3.1879884821061e-1,"device":"Kobo","device_id":"AB12"}' $(auth newbie "$K")
is "percentage is written as %.14g" \
    "$(ks_redis_cli HGET user:newbie:document:doc1 percentage)" 0.31879884821061
is "device_id is set once sent" \
    "$(ks_redis_cli HGET user:newbie:document:doc1 device_id)" AB12
req PUT /syncs/progress '{"document":"doc1","progress":"p3","percentage":0.5,"device":"Kobo","metadata":{"title":"T","authors":"A"}}' $(auth newbie "$K")
is "a push without device_id keeps it" \
    "$(ks_redis_cli HGET user:newbie:document:doc1 device_id)" AB12
is "metadata lives under kosyncd:" \
    "$(ks_redis_cli HGETALL kosyncd:user:newbie:meta:doc1 | paste -sd' ')" "title T authors A"
is "nothing else was added to the official keys" \
    "$(ks_redis_cli --scan --pattern 'user:newbie:*' | sort | paste -sd' ')" \
    "user:newbie:document:doc1 user:newbie:key"
req PUT /syncs/progress '{"document":"doc2","progress":"x","percentage":0.9,"device":"Kobo"}' $(auth reader "$K")
is "pushes to existing accounts work" "$STATUS" 200
is "and are in the official layout" \
    "$(ks_redis_cli HMGET user:reader:document:doc2 percentage progress device | paste -sd' ')" "0.9 x Kobo"

# Deletion: every key of the user, no other.
req DELETE /users/me "" $(auth 'a*' "$K")
want "delete a user whose name is a glob" 200 '{"deleted":true}'
is "its keys are gone" "$(ks_redis_cli --scan --pattern 'user:a\*:*' | wc -l)" 0
is "the user it would match as a glob keeps its keys" \
    "$(ks_redis_cli --scan --pattern 'user:ab:*' | sort | paste -sd' ')" \
    "user:ab:document:d user:ab:key"
req DELETE /users/me "" $(auth newbie "$K")
want "delete" 200 '{"deleted":true}'
is "every key of the user is gone, ours included" \
    "$(ks_redis_cli --scan --pattern '*newbie*' | wc -l)" 0
check "other users are untouched" [ "$(ks_redis_cli EXISTS user:reader:key user:reader:document:doc2 user:ab:key)" = 3 ]
req POST /users/create '{"username":"newbie","password":"'"$K"'"}'
want "the name can be registered again" 201 '{"username":"newbie"}'
req GET /syncs/progress/doc1 "" $(auth newbie "$K")
want "without the old documents" 200 '{}'

# A key of the wrong type (not written by any server): 502/2000, logged.
ks_allow_stderr 'warn.*redis: WRONGTYPE'
ks_redis_cli SET user:reader:document:broken oops >/dev/null
req PUT /syncs/progress '{"document":"broken","progress":"p","percentage":0.5,"device":"k"}' $(auth reader "$K")
want "a Redis error reply" 502 '{"code":2000,"message":"Unknown server error."}'
req GET /syncs/progress/broken "" $(auth reader "$K")
want "a Redis error reply on a pull" 502 '{"code":2000,"message":"Unknown server error."}'
is "the broken key is left alone" "$(ks_redis_cli GET user:reader:document:broken)" oops

# A deletion whose purge was cut short (Redis went away) left its
# tombstone: registering the name again finishes the purge first.
ks_redis_cli SET kosyncd:deleting:ghost 1 >/dev/null
ks_redis_cli HSET user:ghost:document:d percentage 0.3 progress old device k timestamp 3 >/dev/null
ks_redis_cli HSET kosyncd:user:ghost:meta:d title Old >/dev/null
req POST /users/create '{"username":"ghost","password":"'"$K"'"}'
want "register over an unfinished deletion" 201 '{"username":"ghost"}'
req GET /syncs/progress/d "" $(auth ghost "$K")
want "the deleted account's documents are gone" 200 '{}'
is "so are its other keys and the tombstone" \
    "$(ks_redis_cli --scan --pattern '*ghost*' | sort | paste -sd' ')" "user:ghost:key"

ks_stop
done_testing
