#!/usr/bin/env bash
# t099-webui-paging: every list of the web interface's API is paged and
# bounded (issue 12, item 2), on the file backend and on Redis.
#
# Covers: a user with 1,200 documents (more than a page): the first page
# without parameters holds 100 with a "next"; walking every page by "next"
# (default, limit=250, limit=500) gives each document exactly once, newest
# first then by id, the last page's next null; ?history=1 pages too, each
# document with at most its newest 100 history entries; one document's
# history (250 entries) walked by history_next with limit=100: all once, in
# order; 150 of 300 documents merged into one: the walk lists 150, the
# one with its 150 links; the admin user list (133 users) walked with
# limit=50; limit 0,
# 501, -1, x, empty and malformed or foreign cursors are 400 with a JSON
# error, a percent-encoded cursor and limit are read as the plain ones; 150 documents with every field at its maximum (escaped six-fold,
# 14 MB in all): a page stops at ~1 MiB (STORE_PAGE_MAX_BYTES) plus one
# document, and the walk still sees each once. File backend only: 8
# clients that ask for such pages and never read hold bounded memory
# (RSS grows < 64 MB; unpaged it was 8 x 14 MB and more),
# other clients are served meanwhile, and the server closes the unread
# connections after its idle timeout.
. "$(dirname "$0")/lib.sh"

PY="python3 $(dirname "$0")/paging.py"
K=$(md5 pw)
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(($1))"; }
signin() {
	web POST /api/v1/login "{\"username\":\"$1\",\"password\":\"pw\"}" -c "$KS_TMP/jar"
}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$KS_PID/status"; }

for backend in file $(command -v redis-server >/dev/null && echo redis); do
	ks_start_backend $backend --enable-webui --store-history --history-limit 0 \
	    --register-per-ip 100000 --idle-timeout-ms 3000 \
	    --max-body-bytes 262144 || exit 1
	KS_RUN_ARGS=()
	[ "$backend" = redis ] && KS_RUN_ARGS=(--storage redis \
	    --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB")
	$PY push "$KS_URL" alice "$K" 1200 doc >/dev/null
	sleep 1 # timestamps are seconds: doc0007 is then strictly the newest
	$PY repush "$KS_URL" alice "$K" doc0007 251 >/dev/null
	$PY push "$KS_URL" root "$K" 0 x >/dev/null
	run user admin root on >/dev/null

	signin alice
	web GET /api/v1/documents "" -b "$KS_TMP/jar"
	is "$backend: first page: 200" "$STATUS" 200
	is "$backend: first page: 100 documents and a next" \
	    "$(printf '%s' "$BODY" | json 'len(d["documents"]), d["next"] is not None, d["documents"][0]["document"]')" \
	    "(100, True, 'doc0007')"
	like "$backend: walk by next (100 a page)" \
	    "$($PY walk "$KS_URL" alice pw /api/v1/documents documents)" \
	    "^pages=12 entries=1200 unique=1200 ordered=True biggest=[0-9]* history=0$"
	like "$backend: walk with limit=250" \
	    "$($PY walk "$KS_URL" alice pw /api/v1/documents documents 250)" \
	    "^pages=5 entries=1200 unique=1200 ordered=True "
	like "$backend: walk with limit=500" \
	    "$($PY walk "$KS_URL" alice pw /api/v1/documents documents 500)" \
	    "^pages=3 entries=1200 unique=1200 ordered=True "
	like "$backend: ?history=1: paged, newest 100 history entries each" \
	    "$($PY walk "$KS_URL" alice pw '/api/v1/documents?history=1' documents)" \
	    "^pages=12 entries=1200 unique=1200 ordered=True biggest=[0-9]* history=100$"

	# One document's history: 251 entries, 100 a page, newest first.
	web GET /api/v1/documents/doc0007 "" -b "$KS_TMP/jar"
	is "$backend: one document: its newest 100 history entries and a next" \
	    "$(printf '%s' "$BODY" | json 'len(d["history"]), d["history"][-1]["progress"], d["history_next"]')" \
	    "(100, 'h249', 'h100')"
	is "$backend: walk its history by history_next" \
	    "$($PY history "$KS_URL" alice pw doc0007 100)" \
	    "pages=3 entries=251 unique=251 first=p7 last=h249"

	# Refusals.
	for q in limit=0 limit=501 limit=-1 limit=x limit= limit=1000000000000; do
		web GET "/api/v1/documents?$q" "" -b "$KS_TMP/jar"
		is "$backend: ?$q: 400" "$STATUS $BODY" '400 {"code":400,"message":"limit must be a number from 1 to 500."}'
	done
	for q in cursor=x cursor=d1 cursor=d1.0g cursor=d.61 cursor=u61 cursor=h5 cursor=d1.6 cursor=%zz cursor=d1.6%1 cursor=; do
		web GET "/api/v1/documents?$q" "" -b "$KS_TMP/jar"
		is "$backend: ?$q: 400" "$STATUS $BODY" '400 {"code":400,"message":"cursor must be a next of this list."}'
	done
	web GET "/api/v1/documents?limit=3" "" -b "$KS_TMP/jar"
	next=$(printf '%s' "$BODY" | json 'd["next"]')
	enc=$(printf '%s' "$next" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g')
	web GET "/api/v1/documents?limit=3&cursor=$next" "" -b "$KS_TMP/jar"
	plain=$BODY
	web GET "/api/v1/documents?cursor=$enc&limit=%33" "" -b "$KS_TMP/jar"
	is "$backend: a cursor and limit percent-encoded: the same page" "$STATUS $BODY" "200 $plain"
	web GET "/api/v1/documents/doc0007?cursor=d1.61" "" -b "$KS_TMP/jar"
	is "$backend: a document's history with a list's cursor: 400" "$STATUS" 400
	web GET "/api/v1/documents/doc0007?cursor=h99999" "" -b "$KS_TMP/jar"
	is "$backend: a history cursor past the end: empty, no next" \
	    "$STATUS $(printf '%s' "$BODY" | json 'len(d["history"]), d["history_next"]')" "200 (0, None)"

	# Merged documents: 150 ids merged into one are listed once, under it.
	$PY push "$KS_URL" merger "$K" 300 m >/dev/null
	$PY merge "$KS_URL" merger pw m0000 m 150 >/dev/null
	is "$backend: 150 of 300 merged into one: 150 listed, its 150 links" \
	    "$($PY walk "$KS_URL" merger pw /api/v1/documents documents 40 | sed 's/ biggest=[0-9]*//')" \
	    "pages=4 entries=150 unique=150 ordered=True history=0 links=150"

	# The admin's user list.
	$PY users "$KS_URL" 130 >/dev/null
	signin root
	web GET "/api/v1/admin/users?limit=501" "" -b "$KS_TMP/jar"
	is "$backend: users ?limit=501: 400" "$STATUS" 400
	web GET "/api/v1/admin/users?cursor=d1.61" "" -b "$KS_TMP/jar"
	is "$backend: users with a documents cursor: 400" "$STATUS" 400
	is "$backend: walk the user list, 50 a page" \
	    "$($PY walk "$KS_URL" root pw /api/v1/admin/users users 50 | sed 's/ biggest=.*//')" \
	    "pages=3 entries=133 unique=133 ordered=True"

	# Bounded bytes: 150 documents of ~92 KB in the answer each (14 MB).
	$PY push "$KS_URL" big "$K" 150 big 1 >/dev/null
	out=$($PY walk "$KS_URL" big pw /api/v1/documents documents 500)
	like "$backend: big documents: 1 MiB pages, each seen once" "$out" \
	    "^pages=1[3-5] entries=150 unique=150 ordered=True "
	biggest=$(printf '%s' "$out" | sed 's/.*biggest=\([0-9]*\).*/\1/')
	check "$backend: a page is at most 1 MiB and one document ($biggest bytes)" \
	    [ "$biggest" -le $((1048576 + 200000)) ]

	if [ $backend = file ]; then
		# 8 clients that never read their (1 MiB) answers.
		before=$(rss)
		mkfifo "$KS_TMP/hold"
		$PY hold "$KS_URL" big pw '/api/v1/documents?limit=500&history=1' 8 \
		    <"$KS_TMP/hold" >"$KS_TMP/hold.out" &
		hold=$!
		exec 7>"$KS_TMP/hold"
		for i in $(seq 1 50); do
			grep -q holding "$KS_TMP/hold.out" && break
			sleep 0.1
		done
		sleep 0.5
		during=$(rss)
		check "$backend: 8 unread answers: RSS grew $(((during - before) / 1024)) MB (< 64)" \
		    [ $((during - before)) -lt 65536 ]
		t0=$(date +%s%N)
		req GET /syncs/progress/doc0001 "" $(auth alice "$K")
		ms=$((($(date +%s%N) - t0) / 1000000))
		is "$backend: meanwhile a pull is answered" "$STATUS" 200
		check "$backend:   in $ms ms (< 1000)" [ "$ms" -lt 1000 ]
		sleep 4
		echo >&7
		exec 7>&-
		wait $hold
		is "$backend: the server closed every unread connection (idle timeout)" \
		    "$(cat "$KS_TMP/hold.out" | tail -n 1)" "closed=8"
	fi
	ks_stop
done
done_testing
