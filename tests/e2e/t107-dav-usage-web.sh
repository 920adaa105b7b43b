#!/usr/bin/env bash
# t107-dav-usage-web: the account page shows the WebDAV files against the
# quota: GET /api/v1/files/usage (session) answers the account's bytes
# and entries and the limits; the page's script asks for it; without
# file storage the API says 501 and the page leaves the card out.
. "$(dirname "$0")/lib.sh"

signin() { web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"pw\"}" -c "$KS_TMP/$1.jar"; }

ks_start --storage file --dav-quota-bytes 4096 || { not_ok "server started"; done_testing; }
register alice "$(md5 pw)"
signin alice
web GET /api/v1/files/usage "" -b "$KS_TMP/alice.jar"
is "no file yet" "$STATUS $BODY" \
    '200 {"bytes":0,"entries":0,"quota_bytes":4096,"max_file_bytes":134217728,"max_entries":10000}'
printf '0123456789' >"$KS_TMP/up"
curl -s -o /dev/null -u alice:pw -X MKCOL "$KS_URL/dav/kosync"
curl -s -o /dev/null -u alice:pw -T "$KS_TMP/up" "$KS_URL/dav/kosync/statistics.sqlite3"
web GET /api/v1/files/usage "" -b "$KS_TMP/alice.jar"
is "a folder and a file" "$(printf '%s' "$BODY" | json '(d["bytes"], d["entries"])')" "(10, 2)"
web GET /api/v1/files/usage
is "not signed in: 401" "$STATUS" 401
web GET /assets/app.js
check "the account page asks for it" grep -q "files/usage" "$KS_TMP/body"
ks_stop

ks_start --storage memory || { not_ok "server restarted"; done_testing; }
register alice "$(md5 pw)"
signin alice
web GET /api/v1/files/usage "" -b "$KS_TMP/alice.jar"
is "memory storage: 501" "$STATUS" 501
ks_stop
done_testing
