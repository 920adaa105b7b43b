# statslib.sh: helpers of the reading statistics tests (sourced after
# lib.sh by t117 and t118).
#
# jv EXPR: the Python EXPR on the JSON of $BODY (as d); a tuple is printed
# as its items separated by spaces.
# signin USER PASSWORD JAR: a web session in the cookie JAR; sets CSRF.
# dav_put FILE UA PATH: PUT FILE as alice (alice:s3cret) to /dav/PATH with
# that User-Agent; sets STATUS.
# wait_json URL EXPR: GET URL with $JAR until EXPR (jv) is True; 10 s.

JV='import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)'
jv() { python3 -c "$JV" "$1" <<<"$BODY"; }
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"$2\"}" -c "$3"
	CSRF=$(printf '%s' "$BODY" | sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
}
dav_put() {
	STATUS=$(curl -s -S -m 30 -X PUT -u alice:s3cret -A "$2" -o /dev/null \
	    -w '%{http_code}' --data-binary "@$1" "$KS_URL/dav/$3")
}
wait_json() {
	local i
	for i in $(seq 1 100); do
		web GET "$1" "" -b "$JAR"
		[ "$STATUS" = 200 ] && [ "$(jv "$2")" = True ] && return 0
		sleep 0.1
	done
	echo "# gave up waiting for: $2"
	echo "# $BODY"
	return 1
}
