#!/usr/bin/env bash
# t038-store-user-limits: per-user limits (user_max_documents,
# user_max_bytes, user_max_history; docs/security.md) on the file
# backend (the memory backend runs the same code but has no way to make
# the administrator who reads the usage; Redis: t088).
#
# Covers: past user_max_documents a push of a new document gets 507
# {"code":2008} and changes nothing (a pull shows nothing, an update of a
# document it has still works, another user is not affected), the same
# after a clean restart and after kill -9 (journal replay), 20 pushes in
# flight together store exactly the limit; past
# user_max_bytes a push that grows the account gets 507 (the pull shows
# the old state) while one of the same size still works, and the usage in
# `user list` is the documented measure (strings + 16 per record); at
# user_max_history a push drops the oldest entry of its own document (a
# document without history keeps none), identical after kill -9 and after
# an offline compact without the server's flags; the web interface's
# rename past the bytes limit gets 507 JSON and changes nothing; the
# admin API and `user list` (table and JSON) show documents, bytes and
# history; an import past a limit keeps everything and reports it.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*journal'

K=$(md5 pw)
KV=$(md5 vw)
D1=11111111111111111111111111111111
D2=22222222222222222222222222222222
D3=33333333333333333333333333333333
LIMIT='{"code":2008,"message":"Storage limit of this account reached."}'

pull() { req GET /syncs/progress/$2 "" $(auth "$1" "$K"); echo "$STATUS $(printf '%s' "$BODY" | sed -n 's/.*"progress":"\([^"]*\)".*/\1/p')"; }
# usage USER: documents bytes history, from the admin API (root, toor)
# and, on the file backend, the same from `user list --json`.
usage() {
	local api cli
	web POST /api/v1/login '{"username":"root","password":"toor"}' -c "$KS_TMP/jar-r"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
	web GET /api/v1/admin/users "" -b "$KS_TMP/jar-r" -H "X-CSRF-Token: $CSRF"
	api=$(printf '%s' "$BODY" | json "' '.join('%s %s %s' % (u['documents'], u['bytes'], u['history']) for u in d['users'] if u['username'] == '$1')")
	if [ "$backend" = file ]; then
		run user list --json
		cli=$(printf '%s' "$OUT" | json "' '.join('%s %s %s' % (u['documents'], u['bytes'], u['history']) for u in d if u['username'] == '$1')")
		[ "$cli" = "$api" ] || api="$api (user list: $cli)"
	fi
	echo "$api"
}
long() { python3 -c "print('x' * $1)"; }

for backend in file; do
	rm -rf "$KS_DIR"
	# --- Documents.
	args=(--storage "$backend" --user-max-documents 2 --enable-webui)
	ks_start "${args[@]}" || exit 1
	register root "$(md5 toor)"
	run user admin root on >/dev/null
	register u "$K"
	register v "$KV"
	push u "$K" $D1 a1
	is "$backend: first document" "$STATUS" 200
	push u "$K" $D2 b1
	is "$backend: second document" "$STATUS" 200
	push u "$K" $D3 c1
	is "$backend: a third document: 507 JSON" "$STATUS $CTYPE $BODY" "507 application/json $LIMIT"
	is "$backend:   nothing stored" "$(pull u $D3)" "200 "
	push u "$K" $D1 a2
	is "$backend: an update of a document it has: 200" "$STATUS" 200
	push v "$KV" $D3 v1
	is "$backend: another user is not affected" "$STATUS" 200
	is "$backend: usage in user list" "$(usage u)" "2 $((2 * (32 + 2 + 4 + 6 + 16))) 0"
	if [ "$backend" = file ]; then
		ks_stop
		ks_start "${args[@]}" || exit 1
		is "file: after a restart: still nothing" "$(pull u $D3)" "200 "
		is "file:   the update kept" "$(pull u $D1)" "200 a2"
		push u "$K" $D3 c1
		is "file:   the limit holds after a restart" "$STATUS $BODY" "507 $LIMIT"
		is "file:   usage rebuilt by the load" "$(usage u)" "2 120 0"
		ks_kill9
		ks_start "${args[@]}" || exit 1
		is "file: after kill -9: still nothing" "$(pull u $D3)" "200 "
		is "file:   usage rebuilt by the replay" "$(usage u)" "2 120 0"
		push u "$K" $D3 c1
		is "file:   the limit holds" "$STATUS" 507
	fi
	# Pushes in flight together cannot pass the limit together.
	register w "$KV"
	pids=()
	for i in $(seq 10 29); do
		curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H "Accept: $ACCEPT" \
		    -H 'Content-Type: application/json' -H "x-auth-user: w" -H "x-auth-key: $KV" \
		    --data-binary "{\"document\":\"doc$i\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"kobo\"}" \
		    "$KS_URL/syncs/progress" >"$KS_TMP/par.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	is "$backend: 20 concurrent pushes of new documents: 2 stored, 18 refused" \
	    "$(cat "$KS_TMP"/par.* | sort | uniq -c | tr -s ' ' | tr '\n' ',')" " 2 200, 18 507,"
	is "$backend:   the account holds 2" "$(usage w | cut -d' ' -f1)" 2
	ks_stop

	# --- Bytes: each document is 32 + 400 + 4 + 6 + 16 = 458 bytes.
	rm -rf "$KS_DIR"
	ks_start --storage "$backend" --user-max-bytes 1000 --enable-webui \
	    || exit 1
	register u "$K"
	register root "$(md5 toor)"
	run user admin root on >/dev/null
	push u "$K" $D1 "$(long 400)"
	push u "$K" $D2 "$(long 400)"
	is "$backend: two documents within the bytes" "$STATUS $(usage u)" "200 2 916 0"
	push u "$K" $D3 "$(long 400)"
	is "$backend: a third one past the bytes: 507" "$STATUS $BODY" "507 $LIMIT"
	push u "$K" $D2 "$(long 500)"
	is "$backend: a longer position past the bytes: 507" "$STATUS $BODY" "507 $LIMIT"
	is "$backend:   the old position stays" "$(pull u $D2 | cut -c1-8) $(usage u)" "200 xxxx 2 916 0"
	push u "$K" $D2 "$(long 399)y"
	is "$backend: a position of the same size: 200" "$STATUS" 200
	if [ "$backend" = file ]; then
		run user list
		like "file: user list (table): header" "$OUT" '^USER +DOCUMENTS +BYTES +HISTORY +FILES +LAST SYNC \(UTC\) +DEVICES'
		like "file: user list (table): u's line" "$OUT" $'\nu +2 +916 +0 +0  20[0-9-]+ [0-9:]+  kobo'
	fi
	# The web interface: a rename adds pretty_name's bytes.
	web POST /api/v1/login '{"username":"u","password":"pw"}' -c "$KS_TMP/jar"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
	web PUT /api/v1/documents/$D1/name "{\"name\":\"$(long 100)\"}" -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"
	is "$backend: a rename past the bytes: 507 JSON" "$STATUS $BODY" '507 {"code":507,"message":"Storage limit of this account reached."}'
	web PUT /api/v1/documents/$D1/name '{"name":"Emma"}' -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"
	is "$backend: a short one fits" "$STATUS $(usage u)" "200 2 920 0"
	is "$backend: root's usage" "$(usage root)" "0 0 0"
	ks_stop
done

# --- History: the account holds 3 entries at most.
summary() { # history of D1 | history of D2, from database.json
	python3 - "$KS_DIR/database.json" <<PY
import json, sys
h = json.load(open(sys.argv[1]))["users"]["u"].get("history") or {}
print(" | ".join(",".join(e["progress"] for e in h.get(d, {}).get("document_history", [])) for d in ("$D1", "$D2")))
PY
}
hpushes() {
	register root "$(md5 toor)"
	run user admin root on >/dev/null
	register u "$K"
	for p in p1 p2 p3 p4 p5; do push u "$K" $D1 $p; done
	push u "$K" $D2 q1
	push u "$K" $D2 q2
	is "$1: the pushes at the history limit: 200" "$STATUS" 200
}
rm -rf "$KS_DIR"
hargs=(--storage file --store-history --history-limit 0 --user-max-history 3 --enable-webui)
ks_start "${hargs[@]}" || exit 1
hpushes "history"
is "history: usage" "$(usage u)" "2 $((2 * (32 + 2 + 4 + 6 + 16) + 3 * (2 + 4 + 6 + 16))) 3"
ks_stop
is "history: the oldest entries of its own document go; none kept for a document without" \
    "$(summary)" "p2,p3,p4 | "
rm -rf "$KS_DIR"
ks_start "${hargs[@]}" || exit 1
hpushes "history, kill -9"
ks_kill9
run compact
is "history: offline compact without the server's flags: exit 0" "$RC" 0
is "history:   the same history" "$(summary)" "p2,p3,p4 | "

# --- Import: nothing dropped, the users over a limit reported.
rm -rf "$KS_DIR"
run --user-max-documents 1 import kosync "$(cd "$(dirname "$0")/../.." && pwd)/tests/data/kosync-schema6.json"
is "import over a limit: exit 0" "$RC" 0
like "import: the warning" "$OUT" 'warning: 1 users are over a per-user limit'
run user list --json
is "import: alice keeps both documents" "$(printf '%s' "$OUT" | json "[u['documents'] for u in d if u['username'] == 'alice']")" "[2]"
done_testing
