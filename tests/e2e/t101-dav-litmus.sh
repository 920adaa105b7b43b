#!/usr/bin/env bash
# t101-dav-litmus: Debian's litmus WebDAV test suite against the server:
# the suites basic, copymove, props and http pass with 0 failures (locks
# is not run: LOCK is not advertised, DAV class 1); then a cadaver session
# (mkcol, put, ls, get, propset/propget, copy, move, delete). Skipped when
# litmus or cadaver is not installed (scripts/install-deps installs them).
. "$(dirname "$0")/lib.sh"

if ! command -v litmus >/dev/null; then
	ok "# SKIP litmus is not installed"
	done_testing
fi

ks_start --storage file || { not_ok "server started"; done_testing; }
req POST /users/create '{"username":"litmus","password":"'"$(md5 'li tm%us')"'"}'
is "user registered" "$STATUS" 201

for suite in basic copymove props http; do
	(cd "$KS_TMP" && TESTS=$suite timeout 120 litmus "$KS_URL/dav/" litmus \
	    'li tm%us') >"$KS_TMP/litmus-$suite" 2>&1
	summary=$(grep "summary for \`$suite'" "$KS_TMP/litmus-$suite")
	like "litmus $suite: ran" "$summary" 'tests run'
	like "litmus $suite: 0 failed" "$summary" ' 0 failed'
	if ! grep -q ' 0 failed' <<<"$summary"; then
		grep -E 'FAIL|WARN' "$KS_TMP/litmus-$suite" | head -n 20 | sed 's/^/#   /'
	fi
done

if command -v cadaver >/dev/null; then
	# .netrc cannot hold a blank: another account for cadaver.
	req POST /users/create '{"username":"cad","password":"'"$(md5 'cad%pw')"'"}'
	mkdir -p "$KS_TMP/home"
	printf 'machine 127.0.0.1\nlogin cad\npassword cad%%pw\n' >"$KS_TMP/home/.netrc"
	chmod 600 "$KS_TMP/home/.netrc"
	echo hello >"$KS_TMP/f.txt"
	(cd "$KS_TMP" && printf '%s\n' 'mkcol docs' 'put f.txt docs/f.txt' 'ls docs' \
	    'get docs/f.txt back.txt' 'propset docs/f.txt color blue' \
	    'propget docs/f.txt color' 'copy docs/f.txt docs/g.txt' \
	    'move docs/g.txt docs/h.txt' 'ls docs' 'delete docs/h.txt' 'ls docs' quit |
	    HOME=$KS_TMP/home timeout 30 cadaver "$KS_URL/dav/") >"$KS_TMP/cadaver" 2>&1
	is "cadaver: no failure" "$(grep -c -i 'failed' "$KS_TMP/cadaver")" 0
	is "cadaver: 10 commands succeeded" \
	    "$(grep -c 'succeeded' "$KS_TMP/cadaver")" 10
	like "cadaver: the property read back" "$(cat "$KS_TMP/cadaver")" 'Value of color is: blue'
	check "cadaver: the file read back" cmp -s "$KS_TMP/back.txt" "$KS_TMP/f.txt"
	[ "$(grep -c 'succeeded' "$KS_TMP/cadaver")" = 10 ] ||
	    sed 's/^/#   /' "$KS_TMP/cadaver" | head -n 40
else
	ok "# SKIP cadaver is not installed"
fi
ks_stop

done_testing
