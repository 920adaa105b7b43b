#!/usr/bin/env bash
# t041-crash-torn-journal: a torn or corrupt journal tail is dropped with a
# warning naming its offset; everything before it is kept.
#
# Covers: pushes, then SIGKILL (no compaction, so the changes live in the
# journal); the journal (found by its record magic "KSJ1", whatever the
# store names it) cut by 3 bytes inside its last record: the restart warns
# with the offset where that record starts, every earlier push is there,
# the torn one is not; writes work after it and the next restart has no
# warning (the tail was truncated); then a flipped byte in the payload of
# the last record (bad checksum): the same; finally a clean stop/start.
. "$(dirname "$0")/lib.sh"

KEY=$(md5 secret)
A=$(auth torn "$KEY")

# journal_info: print "<path> <end of its records> <offset of last record>
# <its payload>"
# for the journal file of $KS_DIR (the one holding records).
journal_info() {
	python3 - "$KS_DIR" <<'EOF'
import os, struct, sys
d = sys.argv[1]
best = None
for name in os.listdir(d):
    p = os.path.join(d, name)
    if not os.path.isfile(p):
        continue
    with open(p, "rb") as f:
        data = f.read()
    if not data.startswith(b"KSJ1"):
        continue
    off, last = 0, None
    while off + 20 <= len(data) and data[off:off + 4] == b"KSJ1":
        n = struct.unpack_from("<I", data, off + 4)[0]
        if off + 20 + n > len(data):
            break
        last = (off, data[off + 20:off + 20 + n])
        off += 20 + n
    if last and (best is None or os.path.getmtime(p) > best[0]):
        # off: where the records end (zeros written ahead follow)
        best = (os.path.getmtime(p), p, off, last[0], last[1])
if best is None:
    print("none 0 0 none")
else:
    print(best[1], best[2], best[3], best[4].decode("utf-8", "replace").replace(" ", "_"))
EOF
}

push() {
	req PUT /syncs/progress \
	    "{\"document\":\"$1\",\"progress\":\"$2\",\"percentage\":0.5,\"device\":\"t\"}" $A
	is "push $1=$2" "$STATUS" 200
}

# progress_of DOC: the stored progress string, or "none".
progress_of() {
	req GET "/syncs/progress/$1" "" $A
	python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("progress", "none"))' "$BODY"
}

ks_start
req POST /users/create "{\"username\":\"torn\",\"password\":\"$KEY\"}"
is "register" "$STATUS" 201
for i in 1 2 3 4 5; do push "d$i" "v$i"; done
ks_kill9

read -r jfile jsize joff jlast <<<"$(journal_info)"
check "journal found in the data directory" test -f "$jfile"
like "its last record is the last push" "$jlast" '"d5"'
truncate -s $((jsize - 3)) "$jfile"

ks_allow_stderr "warning: .*journal.*\\b$joff\\b"
ks_start
like "restart warns about the torn record at offset $joff" \
    "$(grep 'warning:' "$KS_ERR.new")" "journal.*\\b$joff\\b"
for i in 1 2 3 4; do
	is "d$i kept" "$(progress_of "d$i")" "v$i"
done
is "torn push dropped" "$(progress_of d5)" none
push d5 w5
push d6 w6
ks_kill9
ks_start
is "no warning once the tail is cut" "$(grep -c 'warning:' "$KS_ERR.new")" 0
is "d5 rewritten after the cut" "$(progress_of d5)" w5
is "d6 kept" "$(progress_of d6)" w6

# A corrupt (not short) last record: flip one payload byte.
push d7 v7
ks_kill9
read -r jfile jsize joff jlast <<<"$(journal_info)"
like "last record is the d7 push" "$jlast" '"d7"'
python3 - "$jfile" $((joff + 24)) <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x20]))
EOF
ks_allow_stderr "warning: .*journal.*\\b$joff\\b"
ks_start
like "restart warns about the corrupt record at offset $joff" \
    "$(grep 'warning:' "$KS_ERR.new")" "journal.*\\b$joff\\b"
is "corrupt push dropped" "$(progress_of d7)" none
for i in 1 2 3 4; do
	is "d$i still kept" "$(progress_of "d$i")" "v$i"
done
is "d6 still kept" "$(progress_of d6)" w6

ks_stop
ks_start
is "clean restart: d6" "$(progress_of d6)" w6
is "clean restart: d1" "$(progress_of d1)" v1
ks_stop
done_testing
