#!/usr/bin/env bash
# t122-policy: an account's progress policy (docs/policy.md) through the
# real binary, on the memory, file and Redis storages.
#
# Covers: the default is latest (an offline-queue replay becomes current,
# as on the reference server); guard holds the replay (device A at 60 %,
# device B pulls and pushes 70 %, A replays 40 % with an older timestamp
# without having pulled: held, the pull still answers 70 %) and lets it
# through once A pulled, or without a client timestamp; furthest holds any
# push behind; every push is answered 200 with its timestamp; the history
# lists held pushes ("held", "promoted"); promotion through the web API
# (the held push becomes current with its device, marked promoted, a
# second promotion is 404); restart keeps the policy and the marks (file);
# a journal replay after kill -9 keeps them too; `kosyncd user policy`
# online and offline (file); bad input: an unknown
# policy (web 400, CLI exit 1), an unknown user (CLI exit 1), a promotion
# without its fields (400) or of nothing held (404); no CSRF token: 403.
# Redis: the same policies decided in the push script, the pulls of a
# guard account noted in Redis, the marks in the history through the web
# API and in Redis, promotion (the same answers as the file store), the
# CLI.
. "$(dirname "$0")/lib.sh"

ks_allow_stderr 'warning: .*accessible to others'
KEY=$(md5 alpha)
DOC=d0c
signin() {
	web POST /api/v1/login "{\"username\":\"ann\",\"password\":\"alpha\"}" -c "$KS_TMP/jar"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
as() {
	local m=$1 p=$2
	shift 2
	web "$m" "$p" "${1-}" -b "$KS_TMP/jar" -H "X-CSRF-Token: $CSRF"
}
# pushp DEVICE PERCENT [CLIENT-TIMESTAMP]: a push from DEVICE (A or B:
# its own User-Agent and device_id).
pushp() {
	local ts=
	[ -n "${3-}" ] && ts=",\"timestamp\":$3"
	req PUT /syncs/progress "{\"document\":\"$DOC\",\"progress\":\"/p[$2]\",\"percentage\":$2,\"device\":\"Kobo $1\",\"device_id\":\"dev$1\"$ts}" \
	    $(auth ann "$KEY") -A "KOReader $1"
}
# pull DEVICE: GET the document as DEVICE; prints its percentage.
pull() {
	req GET /syncs/progress/$DOC "" $(auth ann "$KEY") -A "KOReader $1"
	printf '%s' "$BODY" | json 'd.get("percentage")'
}
# history: the document's history as "percentage:held:promoted" words.
history() {
	as GET /api/v1/documents/$DOC
	printf '%s' "$BODY" | json '" ".join("%g:%s:%s" % (e["percentage"], e.get("held", "-"), e.get("promoted", "-")) for e in d["history"])'
}
policy() {
	as PUT /api/v1/account/policy "{\"policy\":\"$1\"}"
	sleep 1 # guard knows the pulls from the next second on
}
# scenario: A at 60, B pulls and pushes 70, A replays 40 (older
# timestamp) without having pulled. Prints the current percentage.
scenario() {
	as DELETE /api/v1/documents/$DOC
	pushp A 60
	pull B >/dev/null
	sleep 1
	pushp B 70
	B_TS=$(printf '%s' "$BODY" | json 'd["timestamp"]')
	pushp A 40 $((B_TS - 600))
	REPLAY_STATUS=$STATUS REPLAY_BODY=$BODY
}

promoted() {
	is "$backend: promote: 200" "$STATUS" 200
	like "$backend: promote: answered" "$BODY" '"promote":true'
	req GET /syncs/progress/$DOC "" $(auth ann "$KEY")
	is "$backend: promote: the held push is current, with its device" "$(printf '%s' "$BODY" | json '"%g %s %s" % (d["percentage"], d["device"], d["device_id"])')" "40 Kobo A devA"
	is "$backend: promote: marked in the history" "$(history)" "60:-:- 40:furthest:True 65:furthest:False 70:-:- 75:-:-"
	as POST /api/v1/documents/$DOC/promote "{\"timestamp\":$P_TS,\"percentage\":40,\"device_id\":\"devA\"}"
	is "$backend: promote again: 404" "$STATUS" 404
	like "$backend: promote again: a JSON message" "$BODY" 'held-back push'
	as POST /api/v1/documents/$DOC/promote '{"percentage":40}'
	is "$backend: promote without a timestamp: 400" "$STATUS" 400
	as POST /api/v1/documents/$DOC/promote '{"timestamp":1,"percentage":40,"device_id":"devA"}'
	is "$backend: promote of nothing held: 404" "$STATUS" 404
	as POST /api/v1/documents/nosuchdoc/promote "{\"timestamp\":$P_TS,\"percentage\":40,\"device_id\":\"devA\"}"
	is "$backend: promote in an unknown document: 404" "$STATUS" 404
	is "$backend: bad promotions changed nothing" "$(history)" "60:-:- 40:furthest:True 65:furthest:False 70:-:- 75:-:-"
	is "$backend: bad promotions: still current" "$(pull B)" 40
}

for backend in $(ks_backends); do
	rm -rf "$KS_DIR"
	ks_start_backend $backend --enable-webui --store-history || { not_ok "server started"; done_testing; }
	register ann "$KEY"
	signin
	sleep 1

	scenario
	is "$backend: latest (default): the replay is answered 200" "$REPLAY_STATUS" 200
	is "$backend: latest: the replay became current" "$(pull B)" 40
	as GET /api/v1/account/policy
	is "$backend: the policy is latest" "$(printf '%s' "$BODY" | json 'd["progress_policy"]')" latest

	policy guard
	is "$backend: web: policy set" "$BODY" '{"progress_policy":"guard"}'
	scenario
	is "$backend: guard: the replay is answered 200" "$REPLAY_STATUS" 200
	like "$backend: guard: with the document and a timestamp" "$REPLAY_BODY" "^\\{\"document\":\"$DOC\",\"timestamp\":[0-9]+\\}$"
	is "$backend: guard: the replay is held, B's 70 stays current" "$(pull B)" 70
	is "$backend: guard: the history marks it" "$(history)" "60:-:- 40:guard:False"
	HELD_TS=$(printf '%s' "$BODY" | json 'd["history"][-1]["timestamp"]')

	# A pulled since: its next replay is not stale.
	pull A >/dev/null
	pushp A 45 $((B_TS - 600))
	is "$backend: guard: after A pulled, its push is current" "$(pull B)" 45
	# No client timestamp: guard cannot call it old.
	sleep 1
	pushp B 80
	pushp A 50
	is "$backend: guard: a push without a timestamp is current" "$(pull B)" 50

	policy furthest
	scenario
	is "$backend: furthest: the replay is held" "$(pull B)" 70
	pull A >/dev/null
	pushp A 65
	is "$backend: furthest: any push behind is held" "$(pull A)" 70
	pushp A 75
	is "$backend: furthest: a push ahead is current" "$(pull A)" 75
	is "$backend: furthest: the history" "$(history)" "60:-:- 40:furthest:False 65:furthest:False 70:-:-"

	# Promotion of the held 40 %.
	as GET /api/v1/documents/$DOC
	P_TS=$(printf '%s' "$BODY" | json 'd["history"][1]["timestamp"]')
	as POST /api/v1/documents/$DOC/promote "{\"timestamp\":$P_TS,\"percentage\":40,\"device_id\":\"devA\"}"
	promoted
	HIST="60:-:- 40:furthest:True 65:furthest:False 70:-:- 75:-:-"
	if [ $backend = redis ]; then
		# The marks are in the document's history list in Redis.
		is "redis: promote: the entry is marked in Redis" \
		    "$(ks_redis_cli LINDEX kosyncd:user:ann:history:$DOC 1 | json '"%s %s" % (d["held"], d["promoted"])')" "furthest True"
		is "redis: promote: the current position in Redis" \
		    "$(ks_redis_cli HGET user:ann:document:$DOC device_id)" devA
		# The usage counters the scripts keep match the data.
		KS_RUN_ARGS=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
		run user admin ann on
		KS_RUN_ARGS=()
		as GET /api/v1/admin/users
		is "redis: promote: the usage counters match the data" \
		    "$(printf '%s' "$BODY" | json '" ".join("%s %s" % (u["bytes"], u["history"]) for u in d["users"])')" \
		    "$(ks_redis_cli HGET kosyncd:user:ann:usage bytes) $(ks_redis_cli HGET kosyncd:user:ann:usage history)"
	fi
	as PUT /api/v1/account/policy '{"policy":"sideways"}'
	is "$backend: an unknown policy: 400" "$STATUS" 400
	like "$backend: an unknown policy: says which" "$BODY" 'latest.*furthest.*guard'
	web PUT /api/v1/account/policy '{"policy":"latest"}' -b "$KS_TMP/jar"
	is "$backend: no CSRF token: 403" "$STATUS" 403
	as GET /api/v1/account/policy
	is "$backend: nothing changed by bad input" "$(printf '%s' "$BODY" | json 'd["progress_policy"]')" furthest

	if [ $backend = file ]; then
		# kill -9: no snapshot, the start replays the journal.
		ks_kill9
		ks_start --storage $backend --enable-webui --store-history || { not_ok "restarted"; done_testing; }
		signin
		as GET /api/v1/account/policy
		is "file: restart keeps the policy" "$(printf '%s' "$BODY" | json 'd["progress_policy"]')" furthest
		is "file: restart keeps the history marks" "$(history)" "$HIST"
		ks_stop
		ks_start --storage $backend --enable-webui --store-history || { not_ok "restarted"; done_testing; }
		signin
		is "file: and so does database.json" "$(history)" "$HIST"
		grep -q '"held": *"furthest"' "$KS_DIR/database.json"
		is "file: database.json marks the held entries" "$?" 0
		run user policy ann guard
		is "file: CLI online: exit 0" "$RC" 0
		like "file: CLI online: says so" "$OUT" "user 'ann' has the progress policy guard"
		as GET /api/v1/account/policy
		is "file: CLI online: the server has it" "$(printf '%s' "$BODY" | json 'd["progress_policy"]')" guard
		run device list ann
		like "file: device list shows it" "$OUT" 'progress policy: guard'
		run user policy ann sideways
		is "file: CLI: an unknown policy: exit 1" "$RC" 1
		like "file: CLI: an unknown policy: says so" "$ERR" 'latest, furthest or guard'
		run user policy nobody latest
		is "file: CLI: an unknown user: exit 1" "$RC" 1
		ks_stop
		run user policy ann latest
		is "file: CLI offline: exit 0" "$RC" 0
		ks_start --storage $backend --enable-webui --store-history || { not_ok "restarted"; done_testing; }
		signin
		as GET /api/v1/account/policy
		is "file: CLI offline: kept" "$(printf '%s' "$BODY" | json 'd["progress_policy"]')" latest
		grep -q '"progress_policy"' "$KS_DIR/database.json"
		is "file: latest is not written to database.json" "$?" 1
	fi
	if [ $backend = redis ]; then
		KS_RUN_ARGS=(--storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
		run user policy ann guard
		is "redis: CLI: exit 0" "$RC" 0
		as GET /api/v1/account/policy
		is "redis: CLI: the server has it" "$(printf '%s' "$BODY" | json 'd["progress_policy"]')" guard
		is "redis: the policy key" "$(ks_redis_cli HGET kosyncd:user:ann:policy policy)" guard
		run user policy nobody latest
		is "redis: CLI: an unknown user: exit 1" "$RC" 1
		KS_RUN_ARGS=()
	fi
	ks_stop
done
done_testing
