#!/usr/bin/env bash
# t105-dav-versions: the last dav_versions (default 5) versions of each
# statistics.sqlite3 and vocabulary_builder.sqlite3 an account uploads are
# kept as hidden files beside it: never listed nor reachable over WebDAV,
# listed and downloaded through the web API (GET /api/v1/files/versions
# ?path=, .../versions/N), of the signed-in account only; counted once
# against the quota; other names get none; backups carry them.
. "$(dirname "$0")/lib.sh"

put() { # put USER PATH TEXT: a WebDAV upload (password pw); the status
	printf '%s' "$3" >"$KS_TMP/up"
	curl -s -o /dev/null -w '%{http_code}' -u "$1:pw" -T "$KS_TMP/up" "$KS_URL/dav/$2"
}
signin() { web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"pw\"}" -c "$KS_TMP/$1.jar"; }
versions() { # versions USER QUERY [N]: the API's answer
	web GET "/api/v1/files/versions${3:+/$3}?$2" "" -b "$KS_TMP/$1.jar"
}
S=kosync/statistics.sqlite3

ks_start --storage file || { not_ok "server started"; done_testing; }
register alice "$(md5 pw)"
register bob "$(md5 pw)"
curl -s -o /dev/null -u alice:pw -X MKCOL "$KS_URL/dav/kosync"
for i in 1 2 3 4 5 6 7; do
	is "statistics upload $i" "$(put alice $S "stats-$i")" "$([ $i = 1 ] && echo 201 || echo 204)"
done
is "the current file is the last upload" "$(curl -s -u alice:pw "$KS_URL/dav/$S")" stats-7

# Never seen over WebDAV.
LIST=$(curl -s -u alice:pw -X PROPFIND -H 'Depth: 1' "$KS_URL/dav/kosync/")
check "a listing shows no version" [ -z "$(printf '%s' "$LIST" | grep -c 'kosyncd-v' | grep -v '^0$')" ]
like "a listing shows the file" "$LIST" 'statistics.sqlite3'
is "a version cannot be addressed" \
    "$(curl -s -o /dev/null -w '%{http_code}' -u alice:pw "$KS_URL/dav/kosync/.kosyncd-v-statistics.sqlite3.6")" 400

# The web API.
signin alice
is "alice signed in" "$STATUS" 200
versions alice "path=/$S"
is "the list: 200" "$STATUS" 200
is "the five newest, newest first" \
    "$(printf '%s' "$BODY" | json '[(v["number"], v["size"]) for v in d["versions"]]')" \
    "[(6, 7), (5, 7), (4, 7), (3, 7), (2, 7)]"
is "the path is echoed" "$(printf '%s' "$BODY" | json 'd["path"]')" "/$S"
versions alice "path=$S" 6
is "version 6: 200" "$STATUS" 200
is "version 6 is the sixth upload" "$BODY" stats-6
like "version 6 is an attachment" "$HEADERS" 'Content-Disposition: attachment; filename="statistics.sqlite3"'
versions alice "path=%2F${S//\//%2F}" 2
is "an encoded path: version 2" "$STATUS $BODY" "200 stats-2"
versions alice "path=/$S" 1
is "version 1 is gone" "$STATUS" 404
versions alice "path=/$S" abc
is "not a number: 400" "$STATUS" 400
versions alice "path=/kosync/../x"
is "'..': 400" "$STATUS" 400
versions alice "path=/kosync/.kosyncd-v-statistics.sqlite3.6"
is "a reserved name: 400" "$STATUS" 400
versions alice ""
is "no path: 400" "$STATUS" 400
versions alice "path=/nowhere/statistics.sqlite3"
is "no such folder: 404" "$STATUS" 404
web GET "/api/v1/files/versions?path=/$S"
is "not signed in: 401" "$STATUS" 401
signin bob
versions bob "path=/$S"
is "bob does not see alice's versions" "$STATUS" 404

# The vocabulary builder too; other names get no version.
put alice kosync/vocabulary_builder.sqlite3 voc-1 >/dev/null
put alice kosync/vocabulary_builder.sqlite3 voc-2 >/dev/null
versions alice "path=/kosync/vocabulary_builder.sqlite3"
is "the vocabulary's version" "$(printf '%s' "$BODY" | json '[v["number"] for v in d["versions"]]')" "[1]"
put alice notes.txt a >/dev/null
put alice notes.txt b >/dev/null
versions alice "path=/notes.txt"
is "notes.txt has none" "$STATUS $BODY" '200 {"path":"/notes.txt","versions":[]}'

# Backups carry them.
run backup
is "backup: exit 0" "$RC" 0
is "the backup holds the versions" "$(ls -A "$OUT.dav/alice/kosync" | grep -c '^\.kosyncd-v-statistics')" 5
ks_stop

# Counted against the quota, once: a 600-byte file and its versions.
ks_start --storage file --dav-quota-bytes 2048 --dav-versions 2 || { not_ok "server restarted"; done_testing; }
curl -s -o /dev/null -u bob:pw -X MKCOL "$KS_URL/dav/kosync"
BIG=$(head -c 600 /dev/zero | tr '\0' x)
is "bob's first upload" "$(put bob $S "$BIG")" 201
is "bob's second (a version of 600)" "$(put bob $S "$BIG")" 204
is "bob's third (two versions: 1800 bytes)" "$(put bob $S "$BIG")" 204
is "a fourth drops the oldest version, so it fits" "$(put bob $S "$BIG")" 204
is "a 700-byte file more passes the quota" "$(put bob other.bin "$(head -c 700 /dev/zero | tr '\0' y)")" 507
# alice's nine versions are cut to two at her next upload.
is "alice's upload with dav_versions 2" "$(put alice $S stats-8)" 204
signin alice
versions alice "path=/$S"
is "alice keeps two" "$(printf '%s' "$BODY" | json '[v["number"] for v in d["versions"]]')" "[7, 6]"
ks_stop

ks_start --storage file --dav-versions 0 || { not_ok "server restarted"; done_testing; }
is "with dav_versions 0" "$(put alice $S stats-9)" 204
signin alice
versions alice "path=/$S"
is "no version is kept, the old ones go" "$(printf '%s' "$BODY" | json 'd["versions"]')" "[]"
ks_stop
done_testing
