#!/usr/bin/env bash
# t077-admin-owner: commands run as root on a data directory that belongs
# to the service's user leave every file that user's, so the service still
# starts.
#
# Covers: a data directory owned by nobody:nogroup; as root: user add,
# user passwd, backup, compact, check, salvage, export (to the data
# directory) and a server started as root (it becomes the owner before
# touching the directory: its journal and lock are nobody's); after each,
# no file in the directory belongs to anyone else; the server started as
# nobody (setpriv) starts and the account works. Then the failure this
# fixes: a database.json owned by root (0600) stops the service with one
# clear message, "cannot open '...': Permission denied; refusing to start"
# (it used to read "cannot load cannot open").
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	ok "# SKIP needs root and setpriv"
	done_testing
	exit 0
fi

KEY=$(md5 secret)
REAL=$KOSYNCD
# The service's user must reach the directory and the binary.
chmod 755 "$KS_TMP"
mkdir -p "$KS_DIR"
chown nobody:nogroup "$KS_DIR"
chmod 700 "$KS_DIR"

# foreign: the files of the data directory not owned by nobody:nogroup.
foreign() {
	find "$KS_DIR" \( ! -user nobody -o ! -group nogroup \) -printf '%p %u:%g\n'
}

pw secret
run user add alice --stdin
is "user add as root: exit 0" "$RC" 0
like "it says it runs as the directory's owner" "$ERR" "running as uid 65534, gid 65534: the owner of"
check "database.json written" test -f "$KS_DIR/database.json"
is "user add: every file is nobody's" "$(foreign)" ""
pw secret
run user passwd alice --stdin
is "user passwd as root: exit 0" "$RC" 0
run backup
is "backup as root: exit 0" "$RC" 0
run compact
is "compact as root: exit 0" "$RC" 0
run export "$KS_DIR/export.json"
is "export as root: exit 0" "$RC" 0
run check
is "check as root: exit 0" "$RC" 0
run salvage
is "salvage as root: exit 0" "$RC" 0
is "after every command: every file is nobody's" "$(foreign)" ""

# A server started as root: it becomes nobody before it opens anything.
ks_start
req PUT /syncs/progress '{"document":"d","progress":"p1","percentage":0.5,"device":"t"}' $(auth alice "$KEY")
is "push to the server started as root" "$STATUS" 200
check "journal written" ls "$KS_DIR"/journal.* >/dev/null
is "server started as root: every file is nobody's" "$(foreign)" ""
ks_stop

# The service, as nobody.
printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups %s "$@"\n' \
    "$REAL" >"$KS_TMP/as-nobody"
chmod 755 "$KS_TMP/as-nobody"
KOSYNCD=$KS_TMP/as-nobody
ks_start
check "the service (nobody) starts" test -n "$KS_PORT"
req GET /syncs/progress/d "" $(auth alice "$KEY")
is "and has the push" "$STATUS" 200
like "with its progress" "$BODY" '"progress":"p1"'
ks_stop
is "after the service: every file is nobody's" "$(foreign)" ""

# What used to happen: a file left to root stops the service, said once.
chown root:root "$KS_DIR/database.json"
timeout 30 "$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 \
    2>"$KS_TMP/serve.err"
is "root's database.json: the service exits 1" "$?" 1
like "the message names the file and the reason once" "$(cat "$KS_TMP/serve.err")" \
    "warning: cannot open '[^']*database.json': Permission denied; refusing to start"
check "no doubled words" sh -c "! grep -q 'cannot load cannot' '$KS_TMP/serve.err'"
chown nobody:nogroup "$KS_DIR/database.json"
done_testing
