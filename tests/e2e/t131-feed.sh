#!/usr/bin/env bash
# t131-feed: the "now reading" feed (docs/webhooks.md), through the real
# binary, on the memory, file and Redis storages.
#
# Covers: off by default (GET /api/v1/feed); turned on from the web API
# (the JSON and Atom addresses, a 32-hex token); the JSON feed parsed: the
# books in progress only (a finished one left out), newest first, titles
# when known, percentage, device, time; nothing else (no user name, no
# document id, no device_id); the Atom feed well-formed (Python's XML
# parser), a title with & and < escaped; Content-Type, ETag, Last-Modified
# and Cache-Control; 304 on If-None-Match and on If-Modified-Since;
# rotation (the old address 404 at once, the new one serves); kept across
# a restart (file); turned off (404); malformed addresses and another
# extension 404 with JSON; no session: 401; no CSRF token: 403; the
# feed goes with the account (deleted: 404, and still 404 once the name
# is registered again).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

ks_allow_stderr 'warning: .*accessible to others'
hdr() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | tail -n 1; }
K=$(md5 alpha)
pushp() {
	req PUT /syncs/progress "{\"document\":\"$1\",\"progress\":\"p\",\"percentage\":$2,\"device\":\"$3\",\"device_id\":\"secret-id\"${4:+,\"metadata\":$4}}" $(auth ann "$K")
}

for backend in $(ks_backends); do
	rm -rf "$KS_DIR"
	ks_start_backend $backend || { not_ok "server started"; done_testing; }
	register ann "$K"
	signin ann alpha
	as GET /api/v1/feed
	is "$backend: off by default" "$BODY" '{"feed":{"enabled":false}}'
	as PUT /api/v1/feed '{"enabled":true}'
	is "$backend: on: 200" "$STATUS" 200
	JSONP=$(printf '%s' "$BODY" | json 'd["feed"]["json"]')
	ATOMP=$(printf '%s' "$BODY" | json 'd["feed"]["atom"]')
	like "$backend: a JSON address" "$JSONP" '^/feed/[0-9a-f]{32}\.json$'
	is "$backend: the Atom address" "$ATOMP" "${JSONP%.json}.atom"

	pushp aaaa1111 0.25 Kobo '{"title":"Dune & <Sons>"}'
	sleep 1
	pushp bbbb2222 1 Boox '{"title":"Finished Book"}'
	pushp cccc3333 0.6 Phone
	web GET "$JSONP"
	is "$backend: JSON feed: 200" "$STATUS" 200
	is "$backend: JSON Content-Type" "$CTYPE" 'application/json; charset=utf-8'
	is "$backend: the books in progress, newest first" \
	    "$(printf '%s' "$BODY" | json '[(b.get("title"), b["percentage"], b["device"]) for b in d["books"]]')" \
	    "[(None, 0.6, 'Phone'), ('Dune & <Sons>', 0.25, 'Kobo')]"
	is "$backend: the feed's time is the newest position's" \
	    "$(printf '%s' "$BODY" | json 'd["updated"] == max(b["timestamp"] for b in d["books"])')" True
	for secret in ann aaaa1111 cccc3333 secret-id; do
		check "$backend: '$secret' is not in the feed" [ "${BODY#*$secret}" = "$BODY" ]
	done
	ETAG=$(hdr etag)
	LM=$(hdr last-modified)
	like "$backend: an ETag" "$ETAG" '^"[0-9a-f]{16}"$'
	like "$backend: Last-Modified" "$LM" 'GMT$'
	is "$backend: Cache-Control" "$(hdr cache-control)" 'private, max-age=60'
	web GET "$JSONP" "" -H "If-None-Match: $ETAG"
	is "$backend: If-None-Match: 304" "$STATUS" 304
	web GET "$JSONP" "" -H "If-Modified-Since: $LM"
	is "$backend: If-Modified-Since: 304" "$STATUS" 304

	web GET "$ATOMP"
	is "$backend: Atom feed: 200" "$STATUS" 200
	is "$backend: Atom Content-Type" "$CTYPE" 'application/atom+xml; charset=utf-8'
	is "$backend: Atom well-formed, its entries" "$(printf '%s' "$BODY" | python3 -c '
import sys, xml.etree.ElementTree as ET
ns = {"a": "http://www.w3.org/2005/Atom"}
root = ET.fromstring(sys.stdin.buffer.read())
print([(e.find("a:title", ns).text, e.find("a:summary", ns).text) for e in root.findall("a:entry", ns)])')" \
	    "[('A book', '60 % on Phone'), ('Dune & <Sons>', '25 % on Kobo')]"
	for secret in ann aaaa1111 secret-id; do
		check "$backend: '$secret' is not in the Atom feed" [ "${BODY#*$secret}" = "$BODY" ]
	done

	# Rotation: the old address stops at once.
	as POST /api/v1/feed/rotate
	NEWP=$(printf '%s' "$BODY" | json 'd["feed"]["json"]')
	check "$backend: a new address" [ "$NEWP" != "$JSONP" ]
	web GET "$JSONP"
	like "$backend: the old address: 404 JSON" "$STATUS $CTYPE $BODY" '^404 application/json .*No such feed'
	web GET "$NEWP"
	is "$backend: the new address serves" "$STATUS" 200
	if [ "$backend" = file ]; then
		ks_stop
		ks_start --storage file || { not_ok "restarted"; done_testing; }
		web GET "$NEWP"
		is "file: the feed kept across a restart" "$STATUS" 200
		signin ann alpha
	fi

	# Malformed addresses.
	TOKEN=${NEWP#/feed/}
	TOKEN=${TOKEN%.json}
	for p in /feed /feed/ "/feed/$TOKEN" "/feed/$TOKEN.rss" "/feed/${TOKEN^^}.json" "/feed/${TOKEN}0.json"; do
		web GET "$p"
		is "$backend: $p: 404" "$STATUS" 404
	done
	web POST "$NEWP"
	is "$backend: POST to the feed: 404" "$STATUS" 404
	web GET /api/v1/feed
	is "$backend: no session: 401" "$STATUS" 401
	web PUT /api/v1/feed '{"enabled":false}' -b "$JAR"
	is "$backend: no CSRF token: 403" "$STATUS" 403
	as PUT /api/v1/feed '{"enabled":"no"}'
	is "$backend: enabled not a boolean: 400" "$STATUS" 400
	web GET "$NEWP"
	is "$backend: still served" "$STATUS" 200

	as PUT /api/v1/feed '{"enabled":false}'
	is "$backend: off" "$BODY" '{"feed":{"enabled":false}}'
	web GET "$NEWP"
	is "$backend: off: 404" "$STATUS" 404

	# The feed goes with the account.
	as PUT /api/v1/feed '{"enabled":true}'
	LASTP=$(printf '%s' "$BODY" | json 'd["feed"]["json"]')
	web GET "$LASTP"
	is "$backend: on again" "$STATUS" 200
	as DELETE /api/v1/account '{"password":"alpha"}'
	is "$backend: account deleted" "$STATUS" 200
	web GET "$LASTP"
	is "$backend: a deleted account's feed: 404" "$STATUS" 404
	register ann "$K"
	web GET "$LASTP"
	is "$backend: registered again: still 404" "$STATUS" 404
	signin ann alpha
	as GET /api/v1/feed
	is "$backend: the new account's feed is off" "$BODY" '{"feed":{"enabled":false}}'
	ks_stop
done
ks_redis_stop

done_testing
