#!/usr/bin/env bash
# t129-dav-move-hostile: the WebDAV trees `import redis` and `export
# redis` read are input (davmove.h): a symbolic link in a tree on disk, a
# file over dav_max_file_bytes, a tree over the target's dav_quota_bytes,
# and in Redis names the rules of a path refuse ('..', '/', a control
# byte, the reserved prefix) or a file claiming more than
# dav_max_file_bytes are each refused before anything is written, with a
# message naming the account and the entry: exit 1, no account and no
# file copied, the link's target never read. A file whose chunks are
# missing in Redis stops the copy midway with a message saying to run the
# command again; once repaired, running it again finishes the copy.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_redis_start || { not_ok "redis started"; done_testing; }
R=(--redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
K=$(md5 s3cret)

# A file store with alice's tree: a/ok.txt (2 KiB).
ks_start --storage file || { not_ok "server started"; done_testing; }
register alice "$K"
curl -s -o /dev/null -X MKCOL -u alice:s3cret "$KS_URL/dav/a"
head -c 2048 /dev/zero | tr '\0' x >"$KS_TMP/ok.txt"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -u alice:s3cret --data-binary "@$KS_TMP/ok.txt" "$KS_URL/dav/a/ok.txt")
is "a file uploaded" "$STATUS" 201
ks_stop
T=$KS_DIR/dav/alice

# refused_export WHAT REGEX [ARGS]: export redis fails with REGEX on
# stderr and Redis stays empty.
refused_export() {
	run export redis "${R[@]}" "${@:3}"
	is "$1: exit 1" "$RC" 1
	like "$1: the reason" "$ERR" "$2"
	is "$1: nothing written into Redis" "$(ks_redis_cli DBSIZE)" 0
}

ln -s /etc/passwd "$T/a/link"
refused_export "a symbolic link" \
    "cannot copy the WebDAV files: 'alice': '/a/link': refused: neither a file nor a folder .*nothing was changed"
rm "$T/a/link"
refused_export "a file over dav_max_file_bytes" \
    "'alice': '/a/ok.txt': larger than dav_max_file_bytes" --dav-max-file-bytes 1024
refused_export "a tree over dav_quota_bytes" \
    "'alice': '/': the tree would take [0-9]+ bytes on the target, over dav_quota_bytes \(1024\)" \
    --dav-quota-bytes 1024
run export redis "${R[@]}"
is "then export redis: exit 0" "$RC" 0

# Redis -> file store: each hostile entry on its own.
P=kosyncd:user:alice:dav
ID=$(ks_redis_cli HGET "$P:d:root" a | cut -d' ' -f2)
NOW=$(date +%s)
mkdir -p "$KS_TMP/target"
KS_DIR=$KS_TMP/target
# refused_import WHAT NAME VALUE REGEX: with the entry NAME = VALUE in
# alice's root, import redis fails with REGEX and the data directory has
# no account and no tree.
refused_import() {
	ks_redis_cli HSET "$P:d:root" "$2" "$3" >/dev/null
	run import redis "${R[@]}"
	ks_redis_cli HDEL "$P:d:root" "$2" >/dev/null
	is "$1: exit 1" "$RC" 1
	like "$1: the reason" "$ERR" "$4"
	run user list
	is "$1: no account imported" "$(grep -c alice <<<"$OUT")" 0
	is "$1: no tree made" "$(ls -A "$KS_DIR/dav" 2>/dev/null)" ""
}
F="f $ID 2048 ${NOW}000000000 $NOW 1"
refused_import "'..'" .. "$F" "'alice': '/..': refused: '.' and '..' are not allowed"
refused_import "'/' in a name" "x/../../etc" "$F" "'alice': '/x/../../etc': refused: '/' is not allowed in a name"
refused_import "a control byte" $'bad\tname' "$F" "refused: control characters are not allowed"
refused_import "the reserved prefix" ".kosyncd-props-x" "$F" "refused: names beginning with '.kosyncd-' are reserved"
refused_import "a size over dav_max_file_bytes" big.bin \
    "f $ID 999999999999 ${NOW}000000000 $NOW 15259" "'alice': '/big.bin': larger than dav_max_file_bytes"

# A file whose chunk is missing: the copy stops midway, and finishes
# once it is back.
CH=$(ks_redis_cli KEYS "$P:c:*" | head -n 1)
ks_redis_cli RENAME "$CH" "$CH.away" >/dev/null
run import redis "${R[@]}"
is "missing chunk: exit 1" "$RC" 1
like "missing chunk: says to run again" "$ERR" \
    "copying the WebDAV files stopped: 'alice': '/a/ok.txt': .*run the command again"
ks_redis_cli RENAME "$CH.away" "$CH" >/dev/null
run import redis "${R[@]}"
is "run again: exit 0" "$RC" 0
like "run again: the file copied" "$OUT" 'webdav trees=1 files_copied=1 folders_made=0 files_existing=0'
is "run again: the same bytes" "$(sha256sum <"$KS_DIR/dav/alice/a/ok.txt")" "$(sha256sum <"$KS_TMP/ok.txt")"

done_testing
