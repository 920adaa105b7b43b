#!/usr/bin/env bash
# t152-opds-auth: who may read the OPDS catalogs (opds.h, basicauth.h).
#
# Covers: no credentials, a malformed Authorization, a Bearer token, an
# unknown user and a wrong password each 401 with WWW-Authenticate Basic
# and a JSON message, on feeds, downloads and covers; the wrong passwords
# count in the one failed-login limiter (auth_fail_per_user 3: the
# fourth try is refused even with the right password, and so is the
# sync protocol's sign-in and WebDAV, the same limiter); a device
# credential (`device add`) reads the catalog and is audited; an
# account's uploads (`library add --user`) are its own: bob sees his
# upload in My uploads and All books and downloads it, ann sees neither
# and gets 404 for its file and its cover.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

cp "$B/epub2.epub" "$B/comic.cbz" "$L/"
run library add --user bob "$B/epub3.epub"
is "bob's upload: exit 0" "$RC" 0

# get USER:PASSWORD PATH [CURL ARGS...] (opdslib.sh's, as another user)
get() {
	local u=$1 p=$2
	shift 2
	STATUS=$(curl -s -S -m 20 ${u:+-u "$u"} -D "$KS_TMP/gh" -o "$F" \
	    -w '%{http_code}' "$@" "$KS_URL$p")
	HEADERS=$(tr -d '\r' <"$KS_TMP/gh")
	BODY=$(cat "$F")
}
titles() { python3 "$(dirname "$0")/opdsread.py" dump "$F" | json '[e["title"] for e in d["entries"]]'; }

ks_start --storage file --library-paths "$L" --auth-fail-per-user 3 ||
	{ not_ok "server started"; done_testing; }
register ann "$(md5 alpha)"
register bob "$(md5 beta)"
register eve "$(md5 gamma)"
run device add ann reader
DEV_PW=$(printf '%s\n' "$OUT" | sed -n 's/^password: //p' | tr -d ' ')
like "a device credential" "$DEV_PW" '^[a-z]{16}$'

get "" /opds
is "none: 401" "$STATUS" 401
is "none: challenge" "$(hdr www-authenticate)" 'Basic realm="kosyncd"'
like "none: JSON message" "$BODY" '^\{"code":401,"message":"Sign in with'
get "" /opds -H 'Authorization: Basic !!!'
is "malformed Basic: 401" "$STATUS" 401
get "" /opds -H 'Authorization: Bearer abc'
is "Bearer: 401" "$STATUS" 401
get nobody:x /opds
is "unknown user: 401" "$STATUS" 401
get ann:alpha /opds/all
FILE=$(python3 "$(dirname "$0")/opdsread.py" dump "$F" | json '[e["acquisitions"][0]["href"] for e in d["entries"]][0]')
COVER=$(python3 "$(dirname "$0")/opdsread.py" dump "$F" | json '[e["image"] for e in d["entries"] if e["image"]][0]')
get eve:wrong "$FILE"
is "download, wrong password: 401" "$STATUS $(hdr www-authenticate)" \
    '401 Basic realm="kosyncd"'
get eve:wrong "$COVER"
is "cover, wrong password: 401" "$STATUS" 401
get eve:wrong /opds
is "third wrong password: 401" "$STATUS" 401
get eve:gamma /opds
is "over the limit: refused with the right password" "$STATUS" 401
like "over the limit: said so" "$BODY" 'Too many failed sign-ins'
req GET /users/auth "" $(auth eve "$(md5 gamma)")
is "the same limiter: the protocol refuses eve too" "$STATUS" 401
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -u eve:gamma -X PROPFIND -H 'Depth: 0' "$KS_URL/dav/")
is "the same limiter: WebDAV refuses eve too" "$STATUS" 401
get ann:alpha /opds
is "another user unaffected" "$STATUS" 200

get "ann:$DEV_PW" /opds/all
is "device credential: 200" "$STATUS" 200
get "ann:$DEV_PW" "$FILE"
check "device credential: download" cmp -s "$F" "$L/comic.cbz"
run device list --json ann
like "device credential: its use audited" "$OUT" '"used":[1-9]'

# Uploads are their account's.
get bob:beta /opds/uploads
is "bob's uploads" "$(titles)" "['The Left Hand of Darkness']"
get bob:beta /opds/all
like "bob's All books has it" "$(titles)" 'The Left Hand of Darkness'
BFILE=$(python3 "$(dirname "$0")/opdsread.py" dump "$F" | json '[e["acquisitions"][0]["href"] for e in d["entries"] if e["title"] == "The Left Hand of Darkness"][0]')
BCOVER=$(python3 "$(dirname "$0")/opdsread.py" dump "$F" | json '[e["image"] for e in d["entries"] if e["title"] == "The Left Hand of Darkness"][0]')
get bob:beta "$BFILE"
check "bob downloads it" cmp -s "$F" "$B/epub3.epub"
get ann:alpha /opds/uploads
is "ann's uploads: none" "$(titles)" "[]"
get ann:alpha /opds/all
is "ann's All books: the shared ones only" "$(titles)" "['comic', 'Le Petit Prince']"
get ann:alpha /opds/search?q=darkness
is "ann's search: not found" "$(titles)" "[]"
get ann:alpha "$BFILE"
is "ann: bob's file 404" "$STATUS" 404
if [ "$BCOVER" != None ]; then
	get ann:alpha "$BCOVER"
	is "ann: bob's cover 404" "$STATUS" 404
fi
ks_stop
done_testing
