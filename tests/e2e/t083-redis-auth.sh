#!/usr/bin/env bash
# t083-redis-auth: a password-protected Redis on a unix socket. Without
# the password or with a wrong one the server starts, answers 502/1000 and
# says why; with the right one (from the environment) it works.
# redis_hash_keys: new keys are stored as argon2id, an official verbatim
# key keeps working and is replaced by its hash once its user logs in, and
# config show masks the password.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
E1000='{"code":1000,"message":"Cannot connect to redis server."}'
PW='s3cret pass'
ks_redis_start unix --requirepass "$PW" || { not_ok "redis started"; done_testing; }
KS_REDIS_PASS=$PW
K=$(md5 secret)

ks_allow_stderr 'warn.*redis: cannot connect.*(NOAUTH|WRONGPASS|invalid)'
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" \
    --redis-db "$KS_REDIS_DB" || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"alice","password":"'"$K"'"}'
is "no password: 502/1000" "$STATUS $BODY" "502 $E1000"
sleep 0.3
like "no password: the log says why" "$(cat "$KS_ERR.new")" 'redis: cannot connect to unix:.*NOAUTH'
req GET /healthcheck
is "no password: healthcheck" "$STATUS" 200
ks_stop

KOSYNCD_REDIS_PASSWORD=wrong ks_start --storage redis --redis-address "$KS_REDIS_ADDR" \
    --redis-db "$KS_REDIS_DB" || { not_ok "server started"; done_testing; }
req GET /users/auth "" $(auth alice "$K")
is "wrong password: 502/1000" "$STATUS $BODY" "502 $E1000"
sleep 0.3
like "wrong password: the log says why" "$(cat "$KS_ERR.new")" 'redis: cannot connect.*(WRONGPASS|invalid)'
ks_stop

export KOSYNCD_REDIS_PASSWORD=$PW
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" \
    --redis-db "$KS_REDIS_DB" --redis-hash-keys || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"alice","password":"'"$K"'"}'
is "right password: register" "$STATUS $BODY" '201 {"username":"alice"}'
like "hashed: the key is stored as argon2id" "$(ks_redis_cli GET user:alice:key)" '^\$argon2id\$v=19\$'
req PUT /syncs/progress '{"document":"doc","progress":"p","percentage":0.25,"device":"k"}' $(auth alice "$K")
is "hashed: push" "$STATUS" 200
req GET /syncs/progress/doc "" $(auth alice "$K")
like "hashed: pull" "$STATUS $BODY" '^200 \{"document":"doc","percentage":0.25,'
req GET /users/auth "" $(auth alice "$(md5 wrong)")
is "hashed: a wrong key is refused" "$STATUS" 401

# An account of the official server (verbatim key) is upgraded on login.
ks_redis_cli SET user:old:key "$K" >/dev/null
req GET /users/auth "" $(auth old "$(md5 wrong)")
is "verbatim key: a wrong key is refused" "$STATUS" 401
is "verbatim key: kept after a failed login" "$(ks_redis_cli GET user:old:key)" "$K"
req GET /users/auth "" $(auth old "$K")
is "verbatim key: logs in" "$STATUS" 200
for i in $(seq 1 50); do
	case $(ks_redis_cli GET user:old:key) in '$argon2id$'*) break ;; esac
	sleep 0.1
done
like "verbatim key: replaced by its argon2id hash" "$(ks_redis_cli GET user:old:key)" '^\$argon2id\$'
req GET /users/auth "" $(auth old "$K")
is "verbatim key: still logs in" "$STATUS" 200
"$KOSYNCD" --storage redis config show >"$KS_TMP/show" 2>&1
like "config show masks the password" "$(grep redis_password "$KS_TMP/show")" '"\*+"'
is "config show never prints it" "$(grep -cF "$PW" "$KS_TMP/show")" 0
ks_stop
done_testing
