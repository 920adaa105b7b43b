#!/usr/bin/env bash
# t084-redis-protocol: the protocol suites that start their servers with
# --storage memory (t011 errors and order of checks, t012 docs/protocol.md §9
# choices, t013 the KOReader client flow) run again on the redis backend:
# KS_FORCE_BACKEND=redis makes lib.sh's ks_start use a private Redis
# (emptied for every fresh server). Each of their TAP lines is reported
# here with the suite's name in front. (t010 loops over ks_backends itself.)
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
DIR=$(cd "$(dirname "$0")" && pwd)

for t in t011-errors t012-choices t013-koreader; do
	[ -f "$DIR/$t.sh" ] || continue
	n=0
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$t on redis: ${line#ok * - }"; n=$((n + 1)) ;;
		"not ok "*) not_ok "$t on redis: ${line#not ok * - }"; n=$((n + 1)) ;;
		"#"*) echo "$line" ;;
		esac
	done < <(KS_FORCE_BACKEND=redis timeout 300 bash "$DIR/$t.sh" 2>&1)
	check "$t on redis: ran" [ "$n" -gt 0 ]
done
done_testing
