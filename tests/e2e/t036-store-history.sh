#!/usr/bin/env bash
# t036-store-history: history (store_history, history_limit), the latest
# position of each device and document metadata, as kept in database.json.
#
# Covers: with store_history on and history_limit 3, six pushes leave the
# three states before the last, oldest first, with no zero-valued first
# entry; with store_history off no history is kept; the other device's
# latest position is kept under "devices"; metadata sent once is kept by
# later pushes without it; all of it survives a restart (journal replay
# after kill -9 gives the same file as a clean stop), also when the journal
# is replayed by a process without the server's flags (offline `compact`
# after kill -9: each push record says what history the server kept).
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*journal'

K=$(md5 k)
D=0123456789abcdef0123456789abcdef

# pushes: register and push six states from two devices.
pushes() {
	local i dev
	req POST /users/create "{\"username\":\"hi\",\"password\":\"$K\"}"
	is "$1: register" "$STATUS" 201
	for i in 1 2 3 4 5 6; do
		if [ "$i" = 5 ]; then dev=kindle; else dev=kobo; fi
		if [ "$i" = 1 ]; then
			meta=',"metadata":{"title":"Moby Dick","authors":"Herman Melville","filename":"moby.epub"}'
		else
			meta=
		fi
		req PUT /syncs/progress "{\"document\":\"$D\",\"progress\":\"p$i\",\"percentage\":0.$i,\"device\":\"$dev\",\"device_id\":\"$dev-id\"$meta}" $(auth hi "$K")
		is "$1: push $i" "$STATUS" 200
	done
}

# summary: history progress list | devices | title, from database.json.
summary() {
	python3 - "$KS_DIR/database.json" "$D" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))["users"]["hi"]
d = u["documents"][sys.argv[2]]
h = (u.get("history") or {}).get(sys.argv[2], {}).get("document_history", [])
print(",".join(e["progress"] for e in h), end=" | ")
print(",".join("%s:%s" % (e["device"], e["progress"]) for e in d.get("devices", [])), end=" | ")
print(d.get("metadata", {}).get("title", "-"), d["progress"])
PY
}

ks_start --store-history=true --history-limit=3 || exit 1
pushes "history on"
ks_stop
is "history bounded, oldest first; devices; metadata kept" "$(summary)" \
    "p3,p4,p5 | kindle:p5 | Moby Dick p6"

rm -rf "$KS_DIR"
ks_start --store-history=true --history-limit=3 || exit 1
pushes "history on, kill -9"
ks_kill9
ks_start --store-history=true --history-limit=3 || exit 1
ks_stop
is "the same after journal replay" "$(summary)" \
    "p3,p4,p5 | kindle:p5 | Moby Dick p6"

rm -rf "$KS_DIR"
ks_start --store-history=true --history-limit=3 || exit 1
pushes "history on, kill -9, offline compact"
ks_kill9
"$KOSYNCD" --data-dir "$KS_DIR" compact >"$KS_TMP/out" 2>&1
is "offline compact without the server's flags: exit 0" "$?" 0
is "  keeps the history the server kept" "$(summary)" \
    "p3,p4,p5 | kindle:p5 | Moby Dick p6"

rm -rf "$KS_DIR"
ks_start || exit 1
pushes "history off"
ks_stop
is "no history when store_history is off" "$(summary)" \
    " | kindle:p5 | Moby Dick p6"
done_testing
