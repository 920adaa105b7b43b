#!/usr/bin/env bash
# t056-serve-options: options reach the running server from flags and the
# environment. "serve" may follow the global flags and precede its own;
# strict_accept from a flag (412/100 without Accept) and switched back off
# by the environment losing to a flag; enable_debug_log turns on debug
# lines; max_body_bytes from the environment limits bodies (413).
. "$(dirname "$0")/lib.sh"

# plain PATH: GET without an Accept header; sets STATUS and BODY.
plain() {
	STATUS=$(curl -s -H 'Accept:' -o "$KS_TMP/b" -w '%{http_code}' "$KS_URL$1")
	BODY=$(cat "$KS_TMP/b")
}

ks_start serve --strict-accept
plain /healthcheck
is "serve --strict-accept: 412 without Accept" "$STATUS" 412
is "serve --strict-accept: code 100" "$BODY" \
    '{"code":100,"message":"Accept header not set."}'
req GET /healthcheck
is "serve --strict-accept: 200 with KOReader's Accept" "$STATUS" 200
ks_stop

KOSYNCD_STRICT_ACCEPT=true ks_start --no-strict-accept
plain /healthcheck
is "flag --no-strict-accept beats the environment" "$STATUS" 200
ks_stop

KOSYNCD_STRICT_ACCEPT=on ks_start
plain /healthcheck
is "environment strict_accept=on" "$STATUS" 412
ks_stop

ks_allow_stderr ' debug: '
ks_start --enable-debug-log
req GET /healthcheck
ks_stop
like "enable_debug_log: debug lines" "$(cat "$KS_ERR")" ' debug: '

KS_ERR_BEFORE=$(wc -l <"$KS_ERR")
ks_start
req GET /healthcheck
ks_stop
is "no debug lines by default" \
    "$(tail -n +"$((KS_ERR_BEFORE + 1))" "$KS_ERR" | grep -c ' debug: ')" 0

KOSYNCD_MAX_BODY_BYTES=1024 ks_start
big=$(printf '{"username":"u","password":"%02000d"}' 0)
req POST /users/create "$big"
is "max_body_bytes from the environment: 413" "$STATUS" 413
ks_stop

done_testing
