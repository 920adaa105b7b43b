#!/usr/bin/env bash
# t030-store-restart: the file store keeps everything across restarts.
#
# Covers: registration, pushes (with and without device_id and metadata),
# a key change and an account deletion survive a clean restart (final
# snapshot, no journal left) and a kill -9 (journal replay); the
# timestamps come back unchanged; database.json is our schema 7 with
# argon2id keys and no plain key anywhere; the lock file exists.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*journal'

K1=$(md5 one)
K2=$(md5 two)
D=0123456789abcdef0123456789abcdef

ks_start || exit 1
req POST /users/create "{\"username\":\"ann\",\"password\":\"$K1\"}"
is "register ann" "$STATUS" 201
req POST /users/create "{\"username\":\"ben\",\"password\":\"$K1\"}"
is "register ben" "$STATUS" 201
req POST /users/create "{\"username\":\"cat\",\"password\":\"$K1\"}"
is "register cat" "$STATUS" 201
req PUT /syncs/progress "{\"document\":\"$D\",\"progress\":\"/p[1]\",\"percentage\":0.1,\"device\":\"kobo\",\"device_id\":\"K\",\"metadata\":{\"title\":\"T\"}}" $(auth ann "$K1")
is "push 1" "$STATUS" 200
req PUT /syncs/progress "{\"document\":\"$D\",\"progress\":\"/p[2]\",\"percentage\":0.4213,\"device\":\"kindle\"}" $(auth ann "$K1")
is "push 2" "$STATUS" 200
TS=$(printf '%s' "$BODY" | sed -n 's/.*"timestamp":\([0-9]*\).*/\1/p')
req PUT /users/password "{\"password\":\"$K2\"}" $(auth ben "$K1")
is "ben changes key" "$STATUS" 200
req DELETE /users/me "" $(auth cat "$K1")
is "cat deleted" "$STATUS" 200
ks_stop

is "no journal left after a clean stop" "$(ls "$KS_DIR" | grep -c '^journal\.')" 0
check "lock file exists" test -f "$KS_DIR/kosyncd.lock"
check "database.json is schema 7" grep -q '"schema": 7,' "$KS_DIR/database.json"
check "keys are argon2id" grep -q '"password": "\$argon2id\$' "$KS_DIR/database.json"
if grep -q "$K1\|$K2" "$KS_DIR/database.json"; then
	not_ok "no plain key in database.json"
else
	ok "no plain key in database.json"
fi
EXPECT="{\"document\":\"$D\",\"percentage\":0.4213,\"progress\":\"/p[2]\",\"device\":\"kindle\",\"device_id\":\"K\",\"timestamp\":$TS}"

# check_state WHEN: every change above is there.
check_state() {
	req GET /users/auth "" $(auth ann "$K1")
	is "$1: ann authorized" "$STATUS" 200
	req GET "/syncs/progress/$D" "" $(auth ann "$K1")
	is "$1: ann's document" "$BODY" "$EXPECT"
	req GET /users/auth "" $(auth ben "$K1")
	is "$1: ben's old key refused" "$STATUS" 401
	req GET /users/auth "" $(auth ben "$K2")
	is "$1: ben's new key works" "$STATUS" 200
	req GET /users/auth "" $(auth cat "$K1")
	is "$1: cat is gone" "$STATUS" 401
	req POST /users/create "{\"username\":\"cat\",\"password\":\"$K1\"}"
	is "$1: cat's name is free" "$STATUS" 201
	req DELETE /users/me "" $(auth cat "$K1")
	is "$1: cat deleted again" "$STATUS" 200
}

ks_start || exit 1
check_state "after clean restart"
# More changes, then kill -9: the journal alone carries them.
req PUT /syncs/progress "{\"document\":\"other\",\"progress\":\"x\",\"percentage\":1,\"device\":\"kobo\"}" $(auth ann "$K1")
is "push before kill" "$STATUS" 200
TS2=$(printf '%s' "$BODY" | sed -n 's/.*"timestamp":\([0-9]*\).*/\1/p')
ks_kill9
check "journal present after kill" test -n "$(ls "$KS_DIR" | grep '^journal\.')"

ks_start || exit 1
check_state "after kill -9"
req GET /syncs/progress/other "" $(auth ann "$K1")
is "push before kill is there" "$BODY" "{\"document\":\"other\",\"percentage\":1,\"progress\":\"x\",\"device\":\"kobo\",\"timestamp\":$TS2}"
ks_stop
ks_start || exit 1
check_state "after a third start"
ks_stop
done_testing
