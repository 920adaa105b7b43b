#!/usr/bin/env bash
# t081-redis-instances: two kosyncd processes on one Redis serve the same
# users at once: a push through one is read through the other at once; a
# key change or a deletion through one is seen by the other at once
# (nothing either keeps in memory makes it wrong); racing registrations of
# one name through both give one account; with verbatim keys and
# with redis_hash_keys (argon2id, whose verified-key cache must not
# outlive a key change made elsewhere).
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
E2001='{"code":2001,"message":"Unauthorized"}'
ks_redis_start || { not_ok "redis started"; done_testing; }

for mode in verbatim hashed; do
	ks_redis_cli FLUSHDB >/dev/null
	args=()
	[ $mode = hashed ] && args=(--redis-hash-keys)
	start_two "${args[@]}" || { not_ok "$mode: servers started"; done_testing; }
	K=$(md5 secret)
	K2=$(md5 secret2)

	on A POST /users/create '{"username":"alice","password":"'"$K"'"}'
	is "$mode: register through A" "$STATUS" 201
	on B GET /users/auth "" $(auth alice "$K")
	is "$mode: log in through B at once" "$STATUS $BODY" '200 {"authorized":"OK"}'
	on B POST /users/create '{"username":"alice","password":"'"$K"'"}'
	is "$mode: the name is taken for B too" "$STATUS" 402
	if [ $mode = hashed ]; then
		like "$mode: the key is stored as argon2id" \
		    "$(ks_redis_cli GET user:alice:key)" '^\$argon2id\$'
	fi

	for i in 1 2 3 4 5; do
		on A PUT /syncs/progress '{"document":"doc","progress":"p'$i'","percentage":0.'$i',"device":"A","device_id":"DA"}' $(auth alice "$K")
		ts=${BODY##*:}
		ts=${ts%\}}
		on B GET /syncs/progress/doc "" $(auth alice "$K")
		is "$mode: push $i through A is read through B at once" "$BODY" \
		    '{"document":"doc","percentage":0.'$i',"progress":"p'$i'","device":"A","device_id":"DA","timestamp":'"$ts"'}'
		on B PUT /syncs/progress '{"document":"doc","progress":"q'$i'","percentage":0.6,"device":"B","device_id":"DB"}' $(auth alice "$K")
		on A GET /syncs/progress/doc "" $(auth alice "$K")
		like "$mode: push $i through B is read through A at once" "$BODY" '"progress":"q'$i'","device":"B","device_id":"DB"'
	done

	# Both have verified K (and cached it when hashed); A changes it.
	on A PUT /users/password '{"password":"'"$K2"'"}' $(auth alice "$K")
	is "$mode: key change through A" "$STATUS $BODY" '200 {"updated":true}'
	on B GET /users/auth "" $(auth alice "$K")
	is "$mode: B refuses the old key at once" "$STATUS $BODY" "401 $E2001"
	on B PUT /syncs/progress '{"document":"doc","progress":"late","percentage":0.7,"device":"B"}' $(auth alice "$K")
	is "$mode: B refuses a push with the old key" "$STATUS" 401
	on B GET /syncs/progress/doc "" $(auth alice "$K2")
	like "$mode: B takes the new key" "$STATUS $BODY" '^200 .*"progress":"q5"'
	on B PUT /users/password '{"password":"'"$K"'"}' $(auth alice "$K2")
	is "$mode: key changed back through B" "$STATUS" 200
	on A PUT /syncs/progress '{"document":"doc","progress":"r","percentage":0.8,"device":"A"}' $(auth alice "$K2")
	is "$mode: A refuses the key B replaced" "$STATUS" 401
	on A GET /users/auth "" $(auth alice "$K")
	is "$mode: A takes the key B set" "$STATUS" 200

	# Registrations of one name racing through both: exactly one wins.
	pids=
	for i in 1 2 3 4 5 6 7 8; do
		if [ $((i % 2)) = 0 ]; then u=$KS_URL_A; else u=$KS_URL_B; fi
		curl -s -o /dev/null -w '%{http_code}\n' -X POST \
		    --data-binary '{"username":"race","password":"k'$i'"}' \
		    "$u/users/create" >"$KS_TMP/race-$i" &
		pids="$pids $!"
	done
	wait $pids
	is "$mode: racing registrations: one 201" "$(cat "$KS_TMP"/race-* | grep -c 201)" 1
	is "$mode: the others 402" "$(cat "$KS_TMP"/race-* | grep -c 402)" 7

	# Deletion through B: A's next write cannot revive the account.
	on B DELETE /users/me "" $(auth alice "$K")
	is "$mode: delete through B" "$STATUS $BODY" '200 {"deleted":true}'
	on A PUT /syncs/progress '{"document":"doc","progress":"ghost","percentage":0.9,"device":"A"}' $(auth alice "$K")
	is "$mode: A cannot push to the deleted account" "$STATUS $BODY" "401 $E2001"
	is "$mode: and revives nothing" "$(ks_redis_cli --scan --pattern '*alice*' | wc -l)" 0

	stop_two
done
done_testing
