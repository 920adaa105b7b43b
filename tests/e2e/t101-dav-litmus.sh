#!/usr/bin/env bash
# t101-dav-litmus: Debian's litmus WebDAV test suite against the server:
# the suites basic, copymove, props and http pass with 0 failures (locks
# is not run: LOCK is not advertised, DAV class 1). Skipped when litmus is
# not installed (scripts/install-deps installs it).
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
ks_stop

done_testing
