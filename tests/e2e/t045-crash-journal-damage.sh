#!/usr/bin/env bash
# t045-crash-journal-damage: one flipped byte in the middle of the journal
# never costs the acknowledged records after it.
#
# Covers: 3,000 acknowledged pushes (one connection, keep-alive), SIGKILL
# (everything lives in the journal), one byte flipped in the payload of
# record 1,500; serve refuses to start, naming the offset and how many
# intact records follow, and changes nothing; backup and compact refuse the
# same way; `kosyncd check` exits 1 and says where the damage is, how many
# intact records follow and what to run; `kosyncd salvage` replays every
# intact record, saves the damaged record's bytes in a side file in the data
# directory and compacts; the server then starts with no warning and has
# 2,999 of the 3,000 pushes (all but the damaged one), and salvage a second
# time has nothing to do. Then a torn tail (the last record cut short) is
# still dropped with only a warning, as t041 checks in detail.
. "$(dirname "$0")/lib.sh"

N=3000
KEY=$(md5 secret)
A=$(auth dmg "$KEY")

# pushes FROM TO: push documents dFROM..dTO (progress pI) over one
# keep-alive connection; prints the number of 200 answers.
pushes() {
	python3 - "$KS_PORT" dmg "$KEY" "$1" "$2" <<'EOF'
import http.client, sys
port, user, key, a, b = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
h = {"Accept": "application/vnd.koreader.v1+json", "x-auth-user": user,
     "x-auth-key": key, "Content-Type": "application/json"}
ok = 0
for i in range(a, b + 1):
    c.request("PUT", "/syncs/progress",
              '{"document":"d%d","progress":"p%d","percentage":0.5,"device":"t"}' % (i, i), h)
    r = c.getresponse()
    r.read()
    ok += r.status == 200
print(ok)
EOF
}

# pulls FROM TO: how many of dFROM..dTO have their progress pI.
pulls() {
	python3 - "$KS_PORT" dmg "$KEY" "$1" "$2" <<'EOF'
import http.client, json, sys
port, user, key, a, b = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
h = {"Accept": "application/vnd.koreader.v1+json", "x-auth-user": user, "x-auth-key": key}
n = 0
for i in range(a, b + 1):
    c.request("GET", "/syncs/progress/d%d" % i, headers=h)
    r = c.getresponse()
    body = r.read()
    n += r.status == 200 and json.loads(body).get("progress") == "p%d" % i
print(n)
EOF
}

# records FILE: "<count> <offset of the record holding d1500>" for a journal.
records() {
	python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, n, at = 0, 0, -1
while off + 20 <= len(data) and data[off:off + 4] == b"KSJ1":
    ln = struct.unpack_from("<I", data, off + 4)[0]
    if b'"d1500"' in data[off + 20:off + 20 + ln]:
        at = off
    off += 20 + ln
    n += 1
print(n, at)
EOF
}

# flip FILE OFFSET: invert one bit of the byte at OFFSET.
flip() {
	python3 - "$1" "$2" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x01]))
EOF
}

# The journal keeps every push: no compaction on the way.
ks_start --compact-bytes 1000000000
req POST /users/create "{\"username\":\"dmg\",\"password\":\"$KEY\"}"
is "register" "$STATUS" 201
is "$N pushes acknowledged" "$(pushes 1 $N)" $N
ks_kill9

jfile=$(ls -d "$KS_DIR"/journal.* | grep '/journal\.[0-9]*$' | head -n 1)
check "one journal file" test -f "$jfile"
read -r nrec at <<<"$(records "$jfile")"
is "the journal holds every push and the registration" "$nrec" $((N + 1))
check "record of d1500 found" test "$at" -gt 0
# A byte inside its payload: the record's checksum no longer matches.
flip "$jfile" $((at + 40))
find "$KS_DIR" -type f -exec md5sum {} + | sort >"$KS_TMP/before"

timeout 60 "$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 \
    2>"$KS_TMP/serve.err"
is "serve refuses to start" "$?" 1
like "serve names the damage and what follows" "$(cat "$KS_TMP/serve.err")" \
    "journal '[^']*': bad checksum at offset $at, and 1500 intact records follow it; refusing to start"
like "serve says what to run" "$(cat "$KS_TMP/serve.err")" \
    "'kosyncd check' shows the damage, 'kosyncd salvage' keeps every intact record"
find "$KS_DIR" -type f -exec md5sum {} + | sort >"$KS_TMP/after"
check "serve changed nothing" cmp -s "$KS_TMP/before" "$KS_TMP/after"

run backup
is "backup refuses" "$RC" 1
like "backup says to salvage" "$ERR" "damaged at offset $at and 1500 intact records follow it: run 'kosyncd salvage' first"
run compact
is "compact refuses" "$RC" 1
find "$KS_DIR" -type f -exec md5sum {} + | sort >"$KS_TMP/after"
check "backup and compact changed nothing" cmp -s "$KS_TMP/before" "$KS_TMP/after"

run check
is "check: exit 1" "$RC" 1
like "check: where the damage is" "$OUT" \
    "bad checksum at offset $at, after record 1500; 1500 intact records follow it in this file \\(the first at offset [0-9]+, record 1502\\), 0 in later journal files"
like "check: the damaged bytes" "$OUT" "damaged bytes at offset $at, [0-9]+ bytes"
like "check: what to run" "$OUT" "kosyncd will not start on this journal: 'kosyncd salvage'"
find "$KS_DIR" -type f -exec md5sum {} + | sort >"$KS_TMP/after"
check "check changed nothing" cmp -s "$KS_TMP/before" "$KS_TMP/after"

run salvage
is "salvage: exit 0" "$RC" 0
like "salvage: replayed the records after the damage" "$OUT" \
    "1500 intact records after the damage replayed"
like "salvage: names the side file" "$OUT" "damaged bytes are saved in '[^']*\\.damaged\\.[0-9]+'"
side=$(ls "$KS_DIR"/*.damaged.* 2>/dev/null | head -n 1)
check "side file in the data directory" test -f "$side"
check "side file holds the damaged record (its d1500 payload)" grep -q '"d1500"' "$side"
check "side file starts with the record's magic" test "$(head -c 4 "$side")" = KSJ1
is "side file is the damaged record and nothing else" "$(stat -c %s "$side")" \
    "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(20+struct.unpack_from("<I",d,4)[0])' "$side")"
is "side file mode 0600" "$(stat -c %a "$side")" 600
is "no journal left" "$(ls "$KS_DIR" | grep -c '^journal\.[0-9]*$')" 0
run salvage
is "salvage again: exit 0" "$RC" 0
like "salvage again: says so" "$OUT" "nothing to salvage; nothing changed"
run check
is "check after salvage: exit 0" "$RC" 0

ks_start
is "start after salvage: no warning" "$(grep -c 'warning:' "$KS_ERR.new")" 0
is "every intact push is there (2999 of $N)" "$(($(pulls 1 1499) + $(pulls 1501 $N)))" $((N - 1))
req GET /syncs/progress/d1500 "" $A
is "the damaged push is not (its bytes are in the side file)" "$(printf '%s' "$BODY" | grep -c '"p1500"')" 0
is "pushes work after salvage" "$(pushes 1500 1500)" 1

# A torn tail is still dropped silently (with a warning, no refusal).
is "20 more pushes" "$(pushes 5001 5020)" 20
ks_kill9
jfile=$(ls -d "$KS_DIR"/journal.* | grep '/journal\.[0-9]*$' | head -n 1)
truncate -s $(($(journal_end "$jfile") - 5)) "$jfile"
ks_allow_stderr "warning: journal .*nothing intact after it \\(a torn tail\\); dropping"
ks_start
like "torn tail: a warning, and the server starts" "$(grep 'warning:' "$KS_ERR.new")" \
    "nothing intact after it \\(a torn tail\\); dropping the [0-9]+ bytes"
is "torn tail: the pushes before it are kept" "$(pulls 5001 5019)" 19
is "torn tail: the salvaged ones too" "$(pulls 1 1499)" 1499
ks_stop
done_testing
