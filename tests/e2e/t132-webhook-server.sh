#!/usr/bin/env bash
# t132-webhook-server: the administrator's server-wide webhook
# (webhook_url, webhook_secret, webhook_events; docs/webhooks.md) through
# the real binary.
#
# Covers: bad values refuse the start with the option named (https, a
# name, a short secret, an unknown event); config show masks the secret;
# an account without webhooks of its own pushes and the server-wide one
# receives the events it names (and not the others; finished and a
# statistics file uploaded over WebDAV), signed with its
# secret, at a loopback address although webhook_allow_private is off
# (the operator chose it), while an account may not use one;
# GET /api/v1/admin/webhook shows it and its log to administrators,
# 403 to others; two instances on one Redis deliver each push's event
# once (the instance that applied it) to the server-wide webhook and to
# the account's own, made through the other instance; a device
# credential's first use through one instance and its second through the
# other: one credential_first_use, named by its label.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

ks_allow_stderr 'warning: .*accessible to others'
recv r 200
SECRET=server-side-secret-42

# Bad values refuse the start.
for bad in "--webhook-url https://1.2.3.4/" "--webhook-url http://hooks.example/" \
    "--webhook-secret short" "--webhook-events progress,nope" "--webhook-events ,"; do
	# shellcheck disable=SC2086
	"$KOSYNCD" --data-dir "$KS_DIR" --listen-address 127.0.0.1:0 $bad >"$KS_TMP/out" 2>"$KS_TMP/err"
	is "refused: $bad" "$?" 1
	like "the option is named: $bad" "$(cat "$KS_TMP/err")" "webhook_(url|secret|events)"
done
run config show --webhook-secret "$SECRET" --webhook-url "http://127.0.0.1:$RPORT/all"
check "config show masks the secret" [ "${OUT#*$SECRET}" = "$OUT" ]
like "config show names the URL" "$OUT" "webhook_url.*http://127.0.0.1:$RPORT/all"

ks_start --storage file --webhook-url "http://127.0.0.1:$RPORT/all" --webhook-secret "$SECRET" \
    --webhook-events finished,statistics_uploaded || { not_ok "server started"; done_testing; }
K=$(md5 alpha)
register ann "$K"
register bob "$(md5 bravo)"
run user admin bob on
req PUT /syncs/progress '{"document":"d1","progress":"p","percentage":0.5,"device":"Kobo"}' $(auth ann "$K")
req PUT /syncs/progress '{"document":"d1","progress":"p","percentage":1,"device":"Kobo"}' $(auth ann "$K")
is "pushes answered" "$STATUS" 200
waitlines "$KS_TMP/r.log" 1 || not_ok "the server-wide webhook got an event"
sleep 0.5
OUT=$(python3 - "$KS_TMP/r.log" "$SECRET" <<'PY'
import hashlib, hmac, json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    d = json.loads(r["body"])
    want = "sha256=" + hmac.new(sys.argv[2].encode(), r["body"].encode(), hashlib.sha256).hexdigest()
    print(r["path"], d["event"], d["user"], d["percentage"],
          "signed" if r["headers"]["x-kosyncd-signature"] == want else "BAD")
PY
)
is "only finished, signed, at a loopback address" "$OUT" "/all finished ann 1 signed"

# A statistics file uploaded over WebDAV and read: statistics_uploaded.
"$(dirname "$0")/../mkstats.py" build "$KS_TMP/s.sqlite3" - <<JSON
{"books": [{"key": "b", "title": "T", "authors": "A", "pages": 10,
  "md5": "11111111111111111111111111111111", "last_open": 1767000000}],
 "runs": [{"book": "b", "start": "$(date -u -d yesterday +%F)T20:00:00Z",
  "first": 1, "count": 3, "duration": 40, "total_pages": 10}]}
JSON
curl -s -S -m 30 -X MKCOL -u ann:alpha -o /dev/null "$KS_URL/dav/koreader/"
STATUS=$(curl -s -S -m 30 -X PUT -u ann:alpha -o /dev/null -w '%{http_code}' \
    --data-binary "@$KS_TMP/s.sqlite3" "$KS_URL/dav/koreader/statistics.sqlite3")
is "statistics uploaded" "$STATUS" 201
waitlines "$KS_TMP/r.log" 2 || not_ok "statistics_uploaded delivered"
is "statistics_uploaded, for ann" "$(tail -n 1 "$KS_TMP/r.log" | json 'json.loads(d["body"])["event"] + " " + json.loads(d["body"])["user"]')" \
    "statistics_uploaded ann"

# An account may not call a loopback address.
signin ann alpha
web POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/ann\",\"events\":[\"progress\"]}" -b "$JAR" -H "X-CSRF-Token: $CSRF"
like "an account cannot use a loopback address" "$STATUS $BODY" '^400 .*private'

signin bob bravo
web GET /api/v1/admin/webhook "" -b "$JAR"
is "administrators see it" "$(printf '%s' "$BODY" | json '(d["url"], d["events"], [(e["event"], e["status"]) for e in d["log"]])')" \
    "('http://127.0.0.1:$RPORT/all', ['finished', 'statistics_uploaded'], [('statistics_uploaded', 200), ('finished', 200)])"
check "the secret is not shown" [ "${BODY#*$SECRET}" = "$BODY" ]
signin ann alpha
web GET /api/v1/admin/webhook "" -b "$JAR"
is "others: 403" "$STATUS" 403
ks_stop

# Two instances on one Redis: an event is delivered once, by the instance
# that applied the push, to the server-wide webhook and to the account's
# own (made through the other instance).
if command -v redis-server >/dev/null; then
	ks_redis_start || { not_ok "redis started"; done_testing; }
	: >"$KS_TMP/r.log"
	start_two --webhook-url "http://127.0.0.1:$RPORT/all" --webhook-secret "$SECRET" \
	    --webhook-events progress,credential_first_use --webhook-allow-private ||
	    { not_ok "two instances started"; done_testing; }
	use B
	register cy "$K"
	signin cy alpha
	web POST /api/v1/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/cy\",\"events\":[\"progress\"]}" -b "$JAR" -H "X-CSRF-Token: $CSRF"
	is "redis: an account's webhook made through B" "$STATUS" 201
	use A
	req PUT /syncs/progress '{"document":"d9","progress":"p","percentage":0.3,"device":"Kobo"}' $(auth cy "$K")
	is "redis: a push through A" "$STATUS" 200
	use B
	req PUT /syncs/progress '{"document":"d9","progress":"p","percentage":0.4,"device":"Boox"}' $(auth cy "$K")
	waitlines "$KS_TMP/r.log" 4 || not_ok "redis: four deliveries"
	sleep 1
	is "redis: each push delivered once to each webhook" "$(python3 -c 'import json,sys; print(sorted((json.loads(l)["path"], json.loads(json.loads(l)["body"])["percentage"]) for l in open(sys.argv[1])))' "$KS_TMP/r.log")" \
	    "[('/all', 0.3), ('/all', 0.4), ('/cy', 0.3), ('/cy', 0.4)]"
	# A device credential made through B, first used through A, then
	# through B: one credential_first_use, with its label.
	use B
	devcred "Boox Go 7"
	use A
	req GET /users/auth "" $(auth cy "$(md5 "$DPW")")
	is "redis: the device password signs in through A" "$STATUS" 200
	waitlines "$KS_TMP/r.log" 5 || not_ok "redis: the first use delivered"
	use B
	req PUT /syncs/progress '{"document":"d9","progress":"p","percentage":0.5,"device":"Boox"}' $(auth cy "$(md5 "$DPW")")
	is "redis: the device password pushes through B" "$STATUS" 200
	waitlines "$KS_TMP/r.log" 7 || not_ok "redis: the push delivered"
	sleep 1
	is "redis: credential_first_use once, with its label, for either instance" \
	    "$(first_uses "$KS_TMP/r.log")" "[('/all', 'Boox Go 7', None)]"
	stop_two
	ks_redis_stop
fi
recv_stop
done_testing
