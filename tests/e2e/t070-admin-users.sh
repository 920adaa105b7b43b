#!/usr/bin/env bash
# t070-admin-users: `kosyncd user add|passwd|del|list`, offline and against
# a running server.
#
# Covers: offline add/list/passwd/del under the data directory's lock (and
# the account works once the server starts); with the server running, the
# command goes through the control socket (mode 0600, removed at shutdown)
# and a client logs in with the new account at once; passwd makes the old
# key fail and the new one work at once; del makes the account vanish at
# once; user list shows documents, last sync and devices (table and
# --json); usage and errors: duplicate name, unknown user, a name with ':',
# no terminal without --stdin, an empty password, missing argument; all
# exit 1 with "kosyncd: ..." on stderr.
. "$(dirname "$0")/lib.sh"


# --- Offline: no server runs on the directory.
mkdir -p "$KS_DIR"
pw 'first pass'
run user add ann --stdin
is "offline add: exit 0" "$RC" 0
is "offline add: says so" "$OUT" "kosyncd: user 'ann' added"
pw 'x'
run user add ann --stdin
is "offline add twice: exit 1" "$RC" 1
like "offline add twice: message" "$ERR" "kosyncd: a user of that name exists"
pw 'second pass'
run user passwd ann --stdin
is "offline passwd: exit 0" "$RC" 0
pw 'x'
run user passwd nobody --stdin
is "offline passwd of an unknown user: exit 1" "$RC" 1
like "offline passwd of an unknown user: message" "$ERR" "kosyncd: no such user"
pw 'p'
run user add gone --stdin
run user del gone
is "offline del: exit 0" "$RC" 0
run user list --json
is "offline list" "$OUT" '[{"username":"ann","documents":0,"last_sync":0,"devices":[],"bytes":0,"history":0}]'
check "offline: no socket left" [ ! -e "$KS_DIR/kosyncd.sock" ]

ks_start || { not_ok "server started"; done_testing; }
req GET /users/auth "" $(auth ann "$(md5 'second pass')")
is "offline passwd: the new password works after start" "$STATUS" 200
req GET /users/auth "" $(auth ann "$(md5 'first pass')")
is "offline passwd: the old one does not" "$STATUS" 401
req GET /users/auth "" $(auth gone "$(md5 p)")
is "offline del: the account is gone" "$STATUS" 401

# --- Online: the server holds the lock; commands use its socket.
is "control socket is mode 0600" "$(stat -c %a "$KS_DIR/kosyncd.sock")" 600
pw 'bea pass'
run user add bea --stdin
is "online add: exit 0" "$RC" 0
req GET /users/auth "" $(auth bea "$(md5 'bea pass')")
is "online add: the client logs in at once" "$STATUS" 200
req PUT /syncs/progress '{"document":"d1","progress":"/p[1]","percentage":0.25,"device":"Kobo","device_id":"K1"}' $(auth bea "$(md5 'bea pass')")
is "online add: the client pushes" "$STATUS" 200
req PUT /syncs/progress '{"document":"d2","progress":"7","percentage":0.5,"device":"Kindle","device_id":"K2"}' $(auth bea "$(md5 'bea pass')")

pw 'bea new'
run user passwd bea --stdin
is "online passwd: exit 0" "$RC" 0
req GET /users/auth "" $(auth bea "$(md5 'bea pass')")
is "online passwd: the old key fails at once" "$STATUS" 401
req GET /users/auth "" $(auth bea "$(md5 'bea new')")
is "online passwd: the new key works at once" "$STATUS" 200

run user list --json
like "online list: bea's documents and devices" "$OUT" \
    '\{"username":"bea","documents":2,"last_sync":[0-9]{10},"devices":\["Kindle","Kobo"\],"bytes":[0-9]+,"history":0\}'
run user list
is "online list (table): exit 0" "$RC" 0
like "online list (table): header" "$OUT" '^USER +DOCUMENTS +BYTES +HISTORY +FILES +LAST SYNC \(UTC\) +DEVICES'
like "online list (table): bea's line" "$OUT" $'\nbea +2 +[0-9]+ +0 +0  20[0-9-]+ [0-9:]+  Kindle, Kobo'

pw 'x'
run user add bea --stdin
is "online add twice: exit 1" "$RC" 1
like "online add twice: message" "$ERR" "^kosyncd: a user of that name exists"
run user del nobody
is "online del of an unknown user: exit 1" "$RC" 1

run user del bea
is "online del: exit 0" "$RC" 0
req GET /users/auth "" $(auth bea "$(md5 'bea new')")
is "online del: the account is gone at once" "$STATUS" 401
pw 'bea again'
run user add bea --stdin
req GET /syncs/progress/d1 "" $(auth bea "$(md5 'bea again')")
is "online del: a new account of that name has none of the old data" "$BODY" '{}'

# --- Usage errors.
pw 'x'
run user add 'a:b' --stdin
is "name with ':': exit 1" "$RC" 1
like "name with ':': message" "$ERR" "invalid user name"
pw '   '
run user add blank --stdin
is "blank password: exit 1" "$RC" 1
like "blank password: message" "$ERR" "kosyncd: the password is empty"
setsid -w "$KOSYNCD" --data-dir "$KS_DIR" user add notty </dev/null \
    >"$KS_TMP/out" 2>"$KS_TMP/err"
is "no terminal: exit 1" "$?" 1
like "no terminal: says to use --stdin" "$(cat "$KS_TMP/err")" "use --stdin"
run user add
is "missing name: exit 1" "$RC" 1
like "missing name: synopsis" "$ERR" 'usage: kosyncd user add'
run user passwd --help
is "user passwd --help: exit 0" "$RC" 0
like "user passwd --help: --stdin documented" "$OUT" '--stdin'

ks_stop
check "socket removed at shutdown" [ ! -e "$KS_DIR/kosyncd.sock" ]

# The changes made through the socket are durable.
ks_start || { not_ok "server restarted"; done_testing; }
req GET /users/auth "" $(auth bea "$(md5 'bea again')")
is "after restart: the account made online is there" "$STATUS" 200
ks_stop
done_testing
