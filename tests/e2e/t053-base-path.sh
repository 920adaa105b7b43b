#!/usr/bin/env bash
# t053-base-path: base_path serves the routes under an extra prefix (for a
# reverse proxy on a sub-path) while "/" and "/koreader/" keep working,
# from a flag, from the environment (trailing '/' removed) and from
# database.json; other prefixes stay 404.
. "$(dirname "$0")/lib.sh"

HC='{"state":"OK"}'
K=$(md5 secret)

ks_start --base-path /sync
req GET /sync/healthcheck
is "flag: /sync/healthcheck 200" "$STATUS" 200
is "flag: body" "$BODY" "$HC"
req GET /healthcheck
is "flag: /healthcheck still 200" "$STATUS" 200
req GET /koreader/healthcheck
is "flag: /koreader/healthcheck still 200" "$STATUS" 200
req GET /other/healthcheck
is "flag: other prefix 404" "$STATUS" 404
like "flag: 404 is JSON" "$CTYPE" '^application/json'
req POST /sync/users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
is "flag: register under the prefix" "$STATUS" 201
req GET /sync/users/auth "" $(auth ann "$K")
is "flag: auth under the prefix" "$STATUS" 200
is "flag: auth body" "$BODY" '{"authorized":"OK"}'
req PUT /sync/syncs/progress \
    '{"document":"d1","progress":"p","percentage":0.5,"device":"x","device_id":"X"}' \
    $(auth ann "$K")
is "flag: push under the prefix" "$STATUS" 200
req GET /sync/syncs/progress/d1 "" $(auth ann "$K")
is "flag: pull under the prefix" "$STATUS" 200
like "flag: pull body" "$BODY" '"percentage":0.5'
ks_stop

KOSYNCD_BASE_PATH=/a/b/ ks_start
req GET /a/b/healthcheck
is "env (trailing slash): /a/b/healthcheck 200" "$STATUS" 200
req GET /a/healthcheck
is "env: /a/healthcheck 404" "$STATUS" 404
ks_stop

KOSYNCD_BASE_PATH=relative ks_start 2>/dev/null
is "relative base_path refused" "${KS_PID:-none}" none
like "relative base_path: message" "$(cat "$KS_ERR.new")" \
    "invalid value 'relative' for option 'base_path' \(KOSYNCD_BASE_PATH\): must start with '/'"

done_testing
