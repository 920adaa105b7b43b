#!/usr/bin/env bash
# t104-dav-admin: the admin commands cover the WebDAV files. `user list`
# shows each account's file bytes; `backup` (server running or stopped)
# writes the files into a folder beside the PEM file (<backup>.dav, the
# layout of <data_dir>/dav); `restore` puts each account's tree back (the
# current ones saved with the current state first, trees the backup lacks
# removed), and leaves the files alone for a backup without that folder;
# `check` reports each tree (bytes, an account gone, temporary files,
# over the quota).
. "$(dirname "$0")/lib.sh"

put() { # put USER PATH TEXT: a WebDAV upload (password pw); the status
	printf '%s' "$3" >"$KS_TMP/up"
	curl -s -o /dev/null -w '%{http_code}' -u "$1:pw" -T "$KS_TMP/up" "$KS_URL/dav/$2"
}
get() { # get USER PATH: the status and the body
	curl -s -w ' %{http_code}' -u "$1:pw" "$KS_URL/dav/$2"
}

ks_start --storage file || { not_ok "server started"; done_testing; }
register alice "$(md5 pw)"
register bob "$(md5 pw)"
is "alice's statistics" "$(put alice statistics.sqlite3 old-stats)" 201
curl -s -o /dev/null -u alice:pw -X MKCOL "$KS_URL/dav/a"
is "alice's file in a folder" "$(put alice a/b.txt bee)" 201
is "bob's file" "$(put bob x.txt 1234567)" 201

run user list
is "user list (online): exit 0" "$RC" 0
like "user list: alice's file bytes (9 + 3)" "$OUT" $'\nalice +0 +[0-9]+ +[0-9-]+ +12  '
like "user list: bob's file bytes" "$OUT" $'\nbob +0 +[0-9]+ +[0-9-]+ +7  '

# A backup while the server runs: the server writes the PEM file, the
# command copies the trees beside it.
run backup
is "backup (online): exit 0" "$RC" 0
BAK=$OUT
check "the files are beside the backup" [ -d "$BAK.dav" ]
is "alice's statistics in the backup" "$(cat "$BAK.dav/alice/statistics.sqlite3")" old-stats
is "alice's folder in the backup" "$(cat "$BAK.dav/alice/a/b.txt")" bee
is "bob's file in the backup" "$(cat "$BAK.dav/bob/x.txt")" 1234567

# Changes after the backup.
is "alice's new statistics" "$(put alice statistics.sqlite3 new-stats)" 204
curl -s -o /dev/null -u alice:pw -X DELETE "$KS_URL/dav/a"
curl -s -o /dev/null -u bob:pw -X DELETE "$KS_URL/dav/x.txt"
register carol "$(md5 pw)"
is "carol's file" "$(put carol c.txt sea)" 201

# check reports the trees, with the server running.
mkdir -p "$KS_DIR/dav/ghost"
echo left >"$KS_DIR/dav/ghost/f"
printf 12345 >"$KS_DIR/dav/alice/.kosyncd-tmp-0123456789abcdef01234567"
run check
is "check: exit 0" "$RC" 0
like "check: alice's tree (the statistics and one version)" "$OUT" "webdav: 'alice': 18 bytes in 2 files and folders \(quota 1073741824\)"
like "check: carol's tree" "$OUT" "webdav: 'carol': 3 bytes in 1 files"
like "check: a tree without an account" "$OUT" "webdav: 'ghost': no such account"
like "check: a temporary file" "$OUT" "webdav: 'alice': 1 temporary files \(5 bytes\)"
like "check: the total" "$OUT" "webdav: 4 account trees, 26 bytes"
rm -r "$KS_DIR/dav/ghost" "$KS_DIR/dav/alice/.kosyncd-tmp-0123456789abcdef01234567"
head -c 2000 /dev/zero >"$KS_DIR/dav/alice/big"
run check --dav-quota-bytes 1024
like "check: over the quota" "$OUT" "webdav: 'alice': over the quota"
rm "$KS_DIR/dav/alice/big"
ks_stop

# A restore that fails changes nothing, files included.
echo "not a backup" >"$KS_TMP/bad.bak"
mkdir "$KS_TMP/bad.bak.dav"
run restore "$KS_TMP/bad.bak"
is "a bad backup: exit 1" "$RC" 1
is "alice's files are as they were" "$(cat "$KS_DIR/dav/alice/statistics.sqlite3")" new-stats
check "carol's are too" [ -f "$KS_DIR/dav/carol/c.txt" ]

# restore: every account's tree as it was in the backup.
run restore "$BAK"
is "restore: exit 0" "$RC" 0
SAVED=$(printf '%s' "$OUT" | sed -n "s/.*the previous state is saved in '\(.*\)'/\1/p")
is "alice's statistics restored" "$(cat "$KS_DIR/dav/alice/statistics.sqlite3")" old-stats
is "alice's folder restored" "$(cat "$KS_DIR/dav/alice/a/b.txt")" bee
is "bob's file restored" "$(cat "$KS_DIR/dav/bob/x.txt")" 1234567
check "carol's tree (not in the backup) is gone" [ ! -e "$KS_DIR/dav/carol" ]
check "no stage is left" [ ! -e "$KS_DIR/dav.restore" ]
is "the previous files are saved with the previous state" \
    "$(cat "$SAVED.dav/carol/c.txt") $(cat "$SAVED.dav/alice/statistics.sqlite3")" "sea new-stats"

# A backup without files (an older kosyncd's, or the PEM file alone).
cp "$SAVED" "$KS_TMP/alone.bak"
run restore "$KS_TMP/alone.bak"
is "restore without files: exit 0" "$RC" 0
like "restore without files: says so" "$OUT" "it has no WebDAV files"
is "the files are left as they are" "$(cat "$KS_DIR/dav/alice/statistics.sqlite3")" old-stats

# Undo with the saved backup: carol and her file come back.
run restore "$SAVED"
is "restore the saved state: exit 0" "$RC" 0
check "carol's file is back" [ -f "$KS_DIR/dav/carol/c.txt" ]

# A backup with the server stopped.
run backup
is "backup (offline): exit 0" "$RC" 0
is "its files" "$(cat "$OUT.dav/carol/c.txt")" sea

ks_start --storage file || { not_ok "server restarted"; done_testing; }
is "carol reads her file" "$(get carol c.txt)" "sea 200"
is "alice reads her statistics" "$(get alice statistics.sqlite3)" "new-stats 200"
ks_stop
done_testing
