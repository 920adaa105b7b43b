#!/usr/bin/env bash
# t103-dav-accounts: an account's WebDAV files go with it. Deleted while
# the server runs (`user del` through the control socket) or while it is
# stopped (`user del` offline), the tree is removed, and a new account of
# the same name starts with no files; a tree whose account is gone (a
# restore, a crash between the deletion and the removal) is removed at
# the next start before anyone can register that name.
. "$(dirname "$0")/lib.sh"

put() { # put USER PASSWORD PATH TEXT: a WebDAV upload; prints the status
	printf '%s' "$4" >"$KS_TMP/up"
	curl -s -o /dev/null -w '%{http_code}' -u "$1:$2" -T "$KS_TMP/up" "$KS_URL/dav/$3"
}
get() { # get USER PASSWORD PATH: prints the status
	curl -s -o /dev/null -w '%{http_code}' -u "$1:$2" "$KS_URL/dav/$3"
}

ks_start --storage file || { not_ok "server started"; done_testing; }
register alice "$(md5 pw)"
is "alice registered" "$STATUS" 201
is "alice's upload" "$(put alice pw notes.txt secret)" 201
is "alice reads it" "$(get alice pw notes.txt)" 200

# Deleted while the server runs: the tree goes at once.
run user del alice
is "user del (online) exits 0" "$RC" 0
check "alice's tree is gone" [ ! -e "$KS_DIR/dav/alice" ]
register alice "$(md5 other)"
is "a new alice registered" "$STATUS" 201
is "the new alice finds no file" "$(get alice other notes.txt)" 404
is "the new alice's upload" "$(put alice other kept.txt k)" 201

# Deleted while the server is stopped: the offline command removes it.
register bob "$(md5 pw)"
curl -s -o /dev/null -u bob:pw -X MKCOL "$KS_URL/dav/a"
is "bob's upload in a folder" "$(put bob pw a/b.txt x)" 201
ks_stop
run user del bob
is "user del (offline) exits 0" "$RC" 0
check "bob's tree is gone" [ ! -e "$KS_DIR/dav/bob" ]

# A tree without an account (left by a crash or a restore) goes at start.
mkdir -p "$KS_DIR/dav/ghost/sub"
echo left >"$KS_DIR/dav/ghost/sub/f"
echo stray >"$KS_DIR/dav/not-a-folder"
ks_start --storage file || { not_ok "server restarted"; done_testing; }
check "the ghost tree is gone at start" [ ! -e "$KS_DIR/dav/ghost" ]
check "a stray file is gone at start" [ ! -e "$KS_DIR/dav/not-a-folder" ]
check "the start says so" grep -q "removed the WebDAV files of 2 deleted accounts" "$KS_ERR.new"
is "an existing account's files are kept" "$(get alice other kept.txt)" 200
register ghost "$(md5 pw)"
is "ghost registered" "$STATUS" 201
is "ghost finds nothing" "$(get ghost pw sub/f)" 404
ks_stop
done_testing
