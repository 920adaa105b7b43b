#!/usr/bin/env bash
# t133-webui-export: the web interface's export of an account's own data
# (GET /api/v1/export, issue 16 section 4), on the file backend and on
# Redis.
#
# Covers: without a session 401; ?format=xml and a malformed format 400
# with a JSON error, and nothing changes; JSON (the default and
# ?format=json): 200, application/json, Content-Disposition attachment
# named kosyncd-<user>-<day>.json, no-store; it holds the user's every
# document once (1,202: three store pages), each with its devices and
# history, and none of another user's; CSV: text/csv, a .csv attachment,
# the header line, one row per position (current, each device's latest,
# history), a title with a comma, a quote and a line break read back whole
# by a CSV reader, and a title starting with "=" kept as text ("'=..."),
# the time as UTC ISO 8601; a pull after the exports is unchanged.
. "$(dirname "$0")/lib.sh"

PY="python3 $(dirname "$0")/paging.py"
K=$(md5 pw)
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"pw\"}" -c "$KS_TMP/jar"
}
hdr() { printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | tail -n 1; }

for backend in file $(command -v redis-server >/dev/null && echo redis); do
	ks_start_backend $backend --enable-webui --store-history \
	    --register-per-ip 100000 --max-body-bytes 262144 || exit 1
	$PY push "$KS_URL" alice "$K" 1200 doc >/dev/null
	$PY push "$KS_URL" bob "$K" 3 bobdoc >/dev/null
	push alice "$K" tricky p1 kobo \
	    '{"title":"Comma, \"quote\"\nand a line","authors":"A"}'
	push alice "$K" tricky p2 boox
	push alice "$K" formula p1 kobo '{"title":"=HYPERLINK(\"x\")"}'
	is "$backend: pushes" "$STATUS" 200
	req GET /syncs/progress/tricky "" $(auth alice "$K")
	before=$BODY

	web GET /api/v1/export
	is "$backend: without a session: 401" "$STATUS $BODY" \
	    '401 {"code":401,"message":"Not signed in."}'
	signin alice
	for q in format=xml format= format=%zz; do
		web GET "/api/v1/export?$q" "" -b "$KS_TMP/jar"
		is "$backend: ?$q: 400" "$STATUS $BODY" \
		    '400 {"code":400,"message":"format must be json or csv."}'
	done

	day=$(date -u +%Y-%m-%d)
	for q in "" "?format=json"; do
		web GET "/api/v1/export$q" "" -b "$KS_TMP/jar"
		is "$backend: JSON$q: 200, JSON" "$STATUS $CTYPE" \
		    "200 application/json; charset=utf-8"
	done
	is "$backend: JSON: a download named after the user and the day" \
	    "$(hdr Content-Disposition)" \
	    "attachment; filename=\"kosyncd-alice-$day.json\""
	is "$backend: JSON: not cached" "$(hdr Cache-Control)" "no-store"
	is "$backend: JSON: every document once, with devices and history" \
	    "$(printf '%s' "$BODY" | json 'd["username"], len(d["documents"]), len({x["document"] for x in d["documents"]}), any(x["document"].startswith("bobdoc") for x in d["documents"]), [len(x["devices"]) for x in d["documents"] if x["document"] == "tricky"], all("history" in x for x in d["documents"])')" \
	    "alice 1202 1202 False [1] True"

	web GET "/api/v1/export?format=csv" "" -b "$KS_TMP/jar"
	is "$backend: CSV: 200, text/csv" "$STATUS $CTYPE" "200 text/csv; charset=utf-8"
	is "$backend: CSV: a .csv download" "$(hdr Content-Disposition)" \
	    "attachment; filename=\"kosyncd-alice-$day.csv\""
	printf '%s' "$BODY" >"$KS_TMP/x.csv"
	is "$backend: CSV: the rows read back" "$(python3 - "$KS_TMP/x.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
docs = {r["document"] for r in rows}
t = [r for r in rows if r["document"] == "tricky"]
f = [r for r in rows if r["document"] == "formula" and r["kind"] == "current"][0]
kinds = sorted({r["kind"] for r in t})
print(len(docs), kinds, t[0]["title"] == 'Comma, "quote"\nand a line',
      f["title"], t[0]["time_utc"].endswith("Z") and len(t[0]["time_utc"]) == 20,
      [r["device"] for r in t if r["kind"] == "current"])
PY
)" "1202 ['current', 'device', 'history'] True '=HYPERLINK(\"x\") True ['boox']"
	is "$backend: CSV: the header" "$(head -n 1 "$KS_TMP/x.csv" | tr -d '\r')" \
	    "document,title,authors,filename,your_title,kind,percentage,progress,device,device_id,timestamp,time_utc"

	req GET /syncs/progress/tricky "" $(auth alice "$K")
	is "$backend: a pull after the exports is unchanged" "$BODY" "$before"
	ks_stop
	[ "$backend" = redis ] && ks_redis_stop
done
done_testing
