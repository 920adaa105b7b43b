#!/usr/bin/env bash
# t149-library-periodic: the library's periodic rescan, the fallback when
# inotify cannot watch the folders (library.c watch_update).
#
# Covers: with every inotify watch failing (the test-only fault point
# KOSYNCD_TEST_FAULT_LIBRARY_WATCH, fault.h), the server says so once
# ("not watched: a rescan every 1 s"), its admin status reads "periodic",
# and a book added to a folder, a new subfolder's book too, is indexed
# within the interval without any request for a scan; a book removed
# leaves the index the same way; with library_rescan_interval_s 0 the
# folders are neither watched nor rescanned (status "off", a new book
# stays out until a scan is asked for).
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
B=$KS_TMP/books
L=$KS_TMP/lib
JAR=$KS_TMP/jar
"$MK" books "$B" >/dev/null
mkdir -p "$L"
cp "$B/epub2.epub" "$B/book.fb2" "$L/"

jv() { printf '%s' "$BODY" | json "$1"; }
total() {
	web GET /api/v1/library "" -b "$JAR"
	jv 'd["total"]'
}
# wait_total N SECONDS: poll the list until it holds N books; prints the
# seconds it took, or "never".
wait_total() {
	local t0 i
	t0=$(date +%s.%N)
	for i in $(seq 1 $(($2 * 10))); do
		if [ "$(total)" = "$1" ]; then
			python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
			    "$t0" "$(date +%s.%N)"
			return
		fi
		sleep 0.1
	done
	echo never
}
scans() { grep -c 'library: scanned' "$KS_ERR.new"; }

export KOSYNCD_TEST_FAULT_LIBRARY_WATCH=1+
ks_start --storage file --enable-webui --library-paths "$L" \
    --library-rescan-interval-s 1 ||
	{ not_ok "server started"; done_testing; }
register alice "$(md5 s3cret)"
run user admin alice on
web POST /api/v1/login '{"username":"alice","password":"s3cret"}' -c "$JAR"
is "signed in" "$STATUS" 200
is "the start scan: 2 books" "$(wait_total 2 10 | sed 's/[0-9.]*/yes/')" yes
like "said once: not watched" "$(grep -c 'not watched: a rescan every 1 s' "$KS_ERR.new")" '^1$'
web GET /api/v1/admin/library "" -b "$JAR"
is "admin status: periodic" "$(jv 'd["watch"]')" periodic

cp "$B/epub3.epub" "$L/"
took=$(wait_total 3 10)
check "a book added: indexed within the interval (${took} s)" \
    python3 -c "import sys; sys.exit(not (sys.argv[1] != 'never' and float(sys.argv[1]) <= 3))" "$took"
mkdir -p "$L/sub/deeper"
cp "$B/comic.cbz" "$L/sub/deeper/"
took=$(wait_total 4 10)
check "a new subfolder's book indexed within the interval (${took} s)" \
    python3 -c "import sys; sys.exit(not (sys.argv[1] != 'never' and float(sys.argv[1]) <= 3))" "$took"
rm "$L/book.fb2"
took=$(wait_total 3 10)
check "a book removed: gone within the interval (${took} s)" \
    python3 -c "import sys; sys.exit(not (sys.argv[1] != 'never' and float(sys.argv[1]) <= 3))" "$took"
n=$(scans)
sleep 2.5
check "rescans go on: $n, then $(scans) scans" test "$(scans)" -gt "$n"
like "still said once" "$(grep -c 'not watched' "$KS_ERR.new")" '^1$'
web GET /api/v1/admin/library "" -b "$JAR"
is "admin status still periodic" "$(jv 'd["watch"]')" periodic
ks_stop

# 0: no fallback at all.
ks_start --storage file --enable-webui --library-paths "$L" \
    --library-rescan-interval-s 0 ||
	{ not_ok "server started"; done_testing; }
web POST /api/v1/login '{"username":"alice","password":"s3cret"}' -c "$JAR"
for i in $(seq 1 100); do
	[ "$(scans)" -ge 1 ] && break
	sleep 0.1
done
web GET /api/v1/admin/library "" -b "$JAR"
is "interval 0: status off" "$(jv 'd["watch"]')" off
cp "$B/info.pdf" "$L/"
sleep 2.5
is "interval 0: a new book not indexed by itself" "$(total)" 3
is "interval 0: no rescan" "$(scans)" 1
ks_stop
unset KOSYNCD_TEST_FAULT_LIBRARY_WATCH

done_testing
