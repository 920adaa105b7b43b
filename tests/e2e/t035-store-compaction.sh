#!/usr/bin/env bash
# t035-store-compaction: compaction in the background while requests are
# served.
#
# Covers: with compact_bytes at its minimum (4 KiB) a stream of pushes
# makes the server write database.json several times while running (its
# journal_seq grows), at most two journal files exist at any time, no
# temp file or zombie child is left behind, every push is answered 200;
# after kill -9 the restart has the last push; database.json stays valid
# JSON throughout.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*journal'

K=$(md5 k)
ks_start --compact-bytes 4096 || exit 1
req POST /users/create "{\"username\":\"cz\",\"password\":\"$K\"}"
is "register" "$STATUS" 201
ok=0 maxj=0 seqs=
for i in $(seq 1 150); do
	req PUT /syncs/progress "{\"document\":\"doc$((i % 7))\",\"progress\":\"value-$i\",\"percentage\":0.5,\"device\":\"t\",\"device_id\":\"X\"}" $(auth cz "$K")
	[ "$STATUS" = 200 ] && ok=$((ok + 1))
	n=$(ls "$KS_DIR" | grep -c '^journal\.')
	[ "$n" -gt "$maxj" ] && maxj=$n
	if [ $((i % 25)) = 0 ]; then
		sleep 0.2
		# No file yet (a new database) counts as 0; one that exists
		# must always be complete JSON.
		s=$(python3 -c 'import json,os,sys; p=sys.argv[1]; print(json.load(open(p))["journal_seq"] if os.path.exists(p) else 0)' "$KS_DIR/database.json" 2>/dev/null || echo bad)
		seqs="$seqs $s"
	fi
done
is "every push answered 200" "$ok" 150
check "at most two journal files at a time" test "$maxj" -le 2
like "database.json rewritten while running (journal_seq grows)" "$seqs" '^ [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+$'
python3 - $seqs <<'PY' && ok "journal_seq never goes back" || not_ok "journal_seq never goes back"
import sys
v = [int(x) for x in sys.argv[1:]]
assert v == sorted(v) and v[-1] > v[1] > 0, v
PY
is "no temp file left" "$(ls -a "$KS_DIR" | grep -c tmp)" 0
is "no zombie child" "$(ps --ppid "$KS_PID" -o stat= | grep -c Z)" 0
ks_kill9
ks_start --compact-bytes 4096 || exit 1
req GET /syncs/progress/doc3 "" $(auth cz "$K")
like "last push of doc3 after kill -9" "$BODY" '"progress":"value-150"'
req GET /syncs/progress/doc2 "" $(auth cz "$K")
like "last push of doc2 after kill -9" "$BODY" '"progress":"value-149"'
ks_stop
is "one clean snapshot, no journal after stop" "$(ls "$KS_DIR" | grep -c '^journal\.')" 0
done_testing
