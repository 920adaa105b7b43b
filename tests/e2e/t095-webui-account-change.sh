#!/usr/bin/env bash
# t095-webui-account-change: a key changed or an account deleted other than
# through the web interface ends that user's web sessions (store.h
# store_listen_accounts), on the file store and on Redis.
#
# Covers: a password change through the protocol (PUT /users/password, as
# KOReader's fork clients do) ends the web session; so does `kosyncd user
# passwd` (through the server's control socket on the file store, on Redis
# directly from the command's own process); an account deleted through the
# protocol (DELETE /users/me) and registered again by someone else does not
# inherit the old session; another user's session is untouched.
. "$(dirname "$0")/lib.sh"

# signin USER PASSWORD JAR
signin() { web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$KS_TMP/$3"; }
# who JAR: the user the session names (null: none)
who() {
	web GET /api/v1/session "" -b "$KS_TMP/$1"
	printf '%s' "$BODY" | sed -n 's/^{"username":\([^,}]*\).*/\1/p'
}

for backend in file $(command -v redis-server >/dev/null && echo redis); do
	rm -rf "$KS_DIR"
	ks_start_backend $backend --enable-webui --register-per-ip 0 || exit 1
	R=()
	[ $backend = redis ] && R=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
	req POST /users/create "{\"username\":\"ann\",\"password\":\"$(md5 one)\"}"
	req POST /users/create "{\"username\":\"bob\",\"password\":\"$(md5 bob)\"}"
	signin bob bob jb
	signin ann one j1
	is "$backend: signed in" "$(who j1)" '"ann"'

	req PUT /users/password "{\"password\":\"$(md5 two)\"}" $(auth ann "$(md5 one)")
	is "$backend: password changed through the protocol" "$STATUS" 200
	is "$backend:   the web session has ended" "$(who j1)" null
	web GET /api/v1/documents "" -b "$KS_TMP/j1"
	is "$backend:   its routes answer 401" "$STATUS" 401
	is "$backend:   another user's session lives" "$(who jb)" '"bob"'

	signin ann two j2
	is "$backend: signed in with the new password" "$(who j2)" '"ann"'
	printf 'three\n' >"$KS_TMP/pw"
	"$KOSYNCD" --data-dir "$KS_DIR" "${R[@]}" user passwd ann --stdin <"$KS_TMP/pw" >/dev/null 2>&1
	is "$backend: user passwd" "$?" 0
	is "$backend:   the web session has ended" "$(who j2)" null

	signin ann three j3
	is "$backend: signed in again" "$(who j3)" '"ann"'
	req DELETE /users/me "" $(auth ann "$(md5 three)")
	is "$backend: account deleted through the protocol" "$STATUS" 200
	req POST /users/create "{\"username\":\"ann\",\"password\":\"$(md5 other)\"}"
	is "$backend: the name registered again" "$STATUS" 201
	is "$backend:   the old session is not the new account's" "$(who j3)" null
	is "$backend:   another user's session still lives" "$(who jb)" '"bob"'
	ks_stop
done
done_testing
