#!/usr/bin/env bash
# t130-webhooks: webhooks through the real binary (docs/webhooks.md), to
# receivers run by this script (hookrecv.py), on the memory, file and
# Redis storages (Redis when redis-server is installed).
#
# Covers: the SSRF rule (loopback, private, documentation addresses and
# names refused with 400 by default, https refused with its reason); with
# webhook_allow_private: a webhook made (201, the secret once, never in
# the list), a push's progress and started events, finished at 99 %,
# the body's fields, the X-Kosyncd-Signature header (HMAC-SHA256 of the
# body with the secret, checked here with Python's hmac), the test event;
# the webhook kept across a restart (file); a receiver answering 500 then
# 200 (the same delivery tried twice, both in the log); a slow receiver
# never delaying a push; the queue bound (the oldest dropped and counted);
# a device credential's first use (once, named by its label, none for
# its second use; every storage); bad input (no events, an unknown event,
# a sixth webhook, an unknown id: clear JSON errors, nothing changed); no
# session: 401; no CSRF token: 403.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

ks_allow_stderr 'warning: .*accessible to others'
K=$(md5 alpha)
pushp() {
	req PUT /syncs/progress "{\"document\":\"$1\",\"progress\":\"p\",\"percentage\":$2,\"device\":\"Kobo\",\"device_id\":\"K1\"}" $(auth ann "$K")
}

# The SSRF rule, by default.
ks_start --storage memory || { not_ok "server started"; done_testing; }
register ann "$K"
signin ann alpha
for url in http://127.0.0.1:9/ http://10.1.2.3/x http://192.168.1.10/ \
    http://169.254.169.254/latest http://[::1]:80/ http://[fd00::1]/ \
    http://[::ffff:127.0.0.1]/ http://0.0.0.0/ http://203.0.113.5/; do
	as POST /api/v1/webhooks "{\"url\":\"$url\",\"events\":[\"progress\"]}"
	is "refused by default: $url" "$STATUS" 400
done
like "the reason" "$BODY" 'private, loopback or reserved address'
as POST /api/v1/webhooks '{"url":"https://198.51.100.7/","events":["progress"]}'
like "https: 400 with its reason" "$STATUS $BODY" '^400 .*https is not supported'
as POST /api/v1/webhooks '{"url":"http://hooks.example.com/","events":["progress"]}'
like "a name: 400" "$STATUS $BODY" '^400 .*numeric address'
as GET /api/v1/webhooks
is "nothing was stored" "$BODY" '{"webhooks":[],"queued":0,"dropped":0,"allow_private":false}'
as POST /api/v1/webhooks '{"url":"http://8.8.8.8:8080/hook","events":["statistics_uploaded"]}'
is "a public address is accepted" "$STATUS" 201
ks_stop

for backend in $(ks_backends); do
	rm -rf "$KS_DIR" "$KS_TMP"/*.log
	recv ok 200
	OKPORT=$RPORT
	ks_start_backend $backend --webhook-allow-private --webhook-retry-ms 300 --webhook-queue 3 ||
	    { not_ok "server started"; done_testing; }
	register ann "$K"
	signin ann alpha
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$OKPORT/in?x=1\",\"events\":[\"progress\",\"started\",\"finished\"],\"secret\":\"correct-horse-battery\"}"
	is "$backend: created: 201" "$STATUS" 201
	ID=$(printf '%s' "$BODY" | json 'd["id"]')
	is "$backend: the secret answered once" "$(printf '%s' "$BODY" | json 'd["secret"]')" correct-horse-battery
	as GET /api/v1/webhooks
	check "$backend: the secret is not in the list" [ "${BODY#*correct-horse}" = "$BODY" ]
	like "$backend: listed" "$BODY" "\"id\":\"$ID\",\"url\":\"http://127.0.0.1:$OKPORT/in\\?x=1\",\"events\":\\[\"progress\",\"started\",\"finished\"\\]"

	pushp doc1 0.5
	is "$backend: push 200" "$STATUS" 200
	waitlines "$KS_TMP/ok.log" 2 || not_ok "$backend: two deliveries"
	pushp doc1 0.995
	waitlines "$KS_TMP/ok.log" 4 || not_ok "$backend: four deliveries"
	as POST "/api/v1/webhooks/$ID/test"
	is "$backend: test: 202" "$STATUS" 202
	waitlines "$KS_TMP/ok.log" 5 || not_ok "$backend: the test delivered"
	OUT=$(python3 - "$KS_TMP/ok.log" <<'PY'
import hashlib, hmac, json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    h = r["headers"]
    body = r["body"].encode()
    want = "sha256=" + hmac.new(b"correct-horse-battery", body, hashlib.sha256).hexdigest()
    d = json.loads(body)
    ok = h["x-kosyncd-signature"] == want and h["x-kosyncd-event"] == d["event"]
    ok = ok and h["content-type"] == "application/json" and r["path"] == "/in?x=1"
    print(d["event"], d["user"], d.get("document", "-"), d.get("percentage", "-"),
          d.get("device", "-"), "signed" if ok else "BAD", len(h["x-kosyncd-delivery"]))
PY
)
	is "$backend: events, bodies and signatures" "$OUT" "progress ann doc1 0.5 Kobo signed 32
started ann doc1 0.5 Kobo signed 32
progress ann doc1 0.995 Kobo signed 32
finished ann doc1 0.995 Kobo signed 32
test ann - - - signed 32"
	like "$backend: the timestamp is the push's" "$(head -n 1 "$KS_TMP/ok.log" | json 'json.loads(d["body"])["timestamp"]')" '^[0-9]{10}$'
	as GET /api/v1/webhooks
	is "$backend: the log, newest first" "$(printf '%s' "$BODY" | json '" ".join("%s:%s:%s" % (e["event"], e["status"], e["attempt"]) for e in d["webhooks"][0]["log"])')" \
	    "test:200:1 finished:200:1 progress:200:1 started:200:1 progress:200:1"

	# Bad input changes nothing.
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$OKPORT/\"}"
	like "$backend: no events: 400" "$STATUS $BODY" '^400 .*events must list'
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$OKPORT/\",\"events\":[\"progress\",\"nope\"]}"
	is "$backend: an unknown event: 400" "$STATUS" 400
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$OKPORT/\",\"events\":[\"progress\"],\"secret\":\"short\"}"
	like "$backend: a short secret: 400" "$STATUS $BODY" '^400 .*printable ASCII'
	as POST /api/v1/webhooks '{"url":"http://127.0.0.1:99999/","events":["progress"]}'
	is "$backend: a bad port: 400" "$STATUS" 400
	as DELETE /api/v1/webhooks/nosuchid
	like "$backend: an unknown id: 404" "$STATUS $BODY" '^404 .*No such webhook'
	web GET /api/v1/webhooks
	is "$backend: no session: 401" "$STATUS" 401
	web POST /api/v1/webhooks '{"url":"http://127.0.0.1:1/","events":["progress"]}' -b "$JAR"
	is "$backend: no CSRF token: 403" "$STATUS" 403
	as GET /api/v1/webhooks
	is "$backend: still one webhook" "$(printf '%s' "$BODY" | json 'len(d["webhooks"])')" 1
	MORE=
	for i in 2 3 4 5; do
		as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$OKPORT/$i\",\"events\":[\"statistics_uploaded\"]}"
		MORE="$MORE $(printf '%s' "$BODY" | json 'd["id"]')"
	done
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$OKPORT/6\",\"events\":[\"progress\"]}"
	like "$backend: a sixth webhook: 409" "$STATUS $BODY" '^409 .*at most 5 webhooks'
	for i in $MORE; do as DELETE "/api/v1/webhooks/$i"; done
	as GET /api/v1/webhooks
	is "$backend: back to one" "$(printf '%s' "$BODY" | json 'len(d["webhooks"])')" 1

	# A device credential's first use: one event, named by its label;
	# none for its second use (on Redis, dev-used.lua tells the first).
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$OKPORT/cred\",\"events\":[\"credential_first_use\"]}"
	CID=$(printf '%s' "$BODY" | json 'd["id"]')
	devcred "Kobo Libra 2"
	req GET /users/auth "" $(auth ann "$(md5 "$DPW")")
	is "$backend: the device password signs in" "$STATUS" 200
	waitlines "$KS_TMP/ok.log" 6 || not_ok "$backend: the first use delivered"
	req PUT /syncs/progress '{"document":"doc3","progress":"p","percentage":0.1,"device":"Libra"}' $(auth ann "$(md5 "$DPW")")
	is "$backend: the device password pushes" "$STATUS" 200
	sleep 1
	is "$backend: credential_first_use once, with its label" \
	    "$(first_uses "$KS_TMP/ok.log")" "[('/cred', 'Kobo Libra 2', None)]"
	as DELETE "/api/v1/webhooks/$CID"

	# Retries: 500, then 200.
	recv retry 500,200
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"events\":[\"progress\"]}"
	ID2=$(printf '%s' "$BODY" | json 'd["id"]')
	pushp doc2 0.2
	waitlines "$KS_TMP/retry.log" 2 || not_ok "$backend: tried twice"
	is "$backend: the same delivery both times" \
	    "$(python3 -c 'import json,sys; print(len({json.loads(l)["headers"]["x-kosyncd-delivery"] for l in open(sys.argv[1])}))' "$KS_TMP/retry.log")" 1
	sleep 0.3
	as GET /api/v1/webhooks
	is "$backend: the retry's log" "$(printf '%s' "$BODY" | json '" ".join("%s:%s:%s:%s" % (e["event"], e["status"], e["attempt"], e["error"]) for h in d["webhooks"] if h["id"] == "'"$ID2"'" for e in h["log"])')" \
	    "progress:200:2: progress:500:1:refused"

	if [ "$backend" = file ]; then
		ks_stop
		ks_start --storage file --webhook-allow-private || { not_ok "restarted"; done_testing; }
		signin ann alpha
		as GET /api/v1/webhooks
		is "file: both webhooks kept across a restart" "$(printf '%s' "$BODY" | json '" ".join(sorted(h["id"] for h in d["webhooks"]))')" \
		    "$(printf '%s\n' "$ID" "$ID2" | sort | tr '\n' ' ' | sed 's/ $//')"
		ks_stop
		ks_start --storage file --webhook-allow-private --webhook-queue 3 || { not_ok "restarted"; done_testing; }
		signin ann alpha
	fi
	as DELETE "/api/v1/webhooks/$ID2"
	is "$backend: deleted" "$BODY" '{"deleted":true}'
	as DELETE "/api/v1/webhooks/$ID"

	# A slow receiver never delays a push; the queue keeps the newest 3.
	recv slow 200 5
	as POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"events\":[\"progress\"]}"
	START=$(date +%s%N)
	for i in 1 2 3 4 5 6 7 8; do pushp "slow$i" 0.3; done
	MS=$(( ($(date +%s%N) - START) / 1000000 ))
	is "$backend: pushes answered" "$STATUS" 200
	check "$backend: 8 pushes in under 4 s with a 5 s receiver ($MS ms)" [ "$MS" -lt 4000 ]
	as GET /api/v1/webhooks
	is "$backend: queue bound: 4 dropped, 3 waiting" "$(printf '%s' "$BODY" | json '"%d %d" % (d["dropped"], d["queued"])')" "4 3"
	like "$backend: the drops are in the log" "$BODY" '"error":"dropped: queue full"'
	ks_stop
	recv_stop
done
ks_redis_stop

done_testing
