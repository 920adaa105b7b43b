#!/usr/bin/env bash
# t176-library-idle: a server with no library folder, no upload path and
# no index yet leaves the library alone until it is asked for (library.h,
# library_new), and behaves as before once it is.
#
# Covers: a default start makes no index (not even library/) and scans
# nothing, progress sync works meanwhile; the first library request makes
# the index and answers as an empty library, its body and validators the
# same as a server started with that index; OPDS and the read-only WebDAV
# folder answer too; a book PUT into an account's WebDAV Books/ on an idle
# server is indexed (the change wakes the library) and listed; `kosyncd
# library add` beside an idle server, and a web upload on one, listed;
# `kosyncd library list` without an index; after a library folder is
# configured and the server restarted, its books are there; an index that exists is opened at the start, and a broken one
# still gives its warning there, before the listening line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

IDX=$KS_DIR/library/index.sqlite3
books epub2.epub epub3.epub
accounts ann:pa

# wait_scanned: up to 15 s for the current server's 'library: scanned'.
wait_scanned() {
	for _ in $(seq 1 150); do
		grep -q 'library: scanned' "$KS_ERR.new" && return 0
		sleep 0.1
	done
	return 1
}
# total: the library's total for the signed-in account (JSON API).
total() {
	as GET /api/v1/library
	printf '%s' "$BODY" | json 'd["total"]'
}
# etag_lm: the ETag and Last-Modified of the last answer.
etag_lm() {
	printf '%s\n' "$HEADERS" | grep -iE '^(etag|last-modified):' | sort
}

# 1. Idle: nothing made, nothing scanned; sync works.
ks_start || { not_ok "server started"; done_testing; }
register bob "$(md5 beta)"
is "idle: sync works (register)" "$STATUS" 201
push bob "$(md5 beta)" doc1 "/body/p[1]"
is "idle: sync works (push)" "$STATUS" 200
sleep 0.5
check "idle: no index made at the start" [ ! -e "$IDX" ]
check "idle: no library folder made at the start" [ ! -e "$KS_DIR/library" ]
check "idle: no scan at the start" sh -c "! grep -q 'library:' '$KS_ERR.new'"

# 2. The first library request: an empty library, the index made.
signin ann pa
is "session: a library" "$(printf '%s' "$BODY" | json 'd["library"]')" True
as GET /api/v1/library
is "first request: 200" "$STATUS" 200
IDLE_BODY=$BODY
IDLE_VALID=$(etag_lm)
is "first request: an empty library" "$(printf '%s' "$BODY" | json '(d["total"], d["books"])')" "(0, [])"
check "first request: the index made" [ -s "$IDX" ]
check "first request: the first scan ran" wait_scanned
as GET /api/v1/library/facets/authors
is "facets: 200, none" "$STATUS $(printf '%s' "$BODY" | json 'd["total"]')" "200 0"
STATUS=$(curl -s -o "$KS_TMP/opds" -w '%{http_code}' -u bob:beta "$KS_URL/opds/")
is "OPDS: 200" "$STATUS" 200
STATUS=$(curl -s -o "$KS_TMP/davl" -w '%{http_code}' -u bob:beta -X PROPFIND -H 'Depth: 1' "$KS_URL/dav/library/")
is "WebDAV library folder: 207" "$STATUS" 207
is "WebDAV library folder: empty" "$(grep -o '<D:response>' "$KS_TMP/davl" | wc -l)" 1
ks_stop

# The same request on a server started with that index: the same answer.
ks_start || { not_ok "server restarted"; done_testing; }
check "with an index: scanned at the start" wait_scanned
signin ann pa
as GET /api/v1/library
is "with an index: the same status" "$STATUS" 200
is "with an index: the same body" "$BODY" "$IDLE_BODY"
is "with an index: the same validators" "$(etag_lm)" "$IDLE_VALID"
ks_stop

# 3. An idle server and a book PUT into WebDAV's Books/: indexed.
rm -rf "$KS_DIR/library"
ks_start || { not_ok "idle server started again"; done_testing; }
check "idle again: no index" [ ! -e "$IDX" ]
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u bob:beta "$KS_URL/dav/Books")
is "MKCOL Books" "$STATUS" 201
check "MKCOL: still idle" [ ! -e "$IDX" ]
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -T "$B/book.mobi" -u bob:beta "$KS_URL/dav/Books/Dune.mobi")
is "PUT Books/Dune.mobi" "$STATUS" 201
check "the PUT wakes the library: scanned" wait_scanned
check "the PUT wakes the library: an index" [ -s "$IDX" ]
STATUS=$(curl -s -o "$KS_TMP/davl" -w '%{http_code}' -u bob:beta -X PROPFIND -H 'Depth: 1' "$KS_URL/dav/library/")
is "bob's library folder: 207" "$STATUS" 207
like "bob's library folder: the book" "$(cat "$KS_TMP/davl")" 'Dune\.mobi'
ks_stop

# 4. An idle server beside `kosyncd library add` (it makes the index
# itself): the server's next library request lists the book. A web upload
# on an idle server: indexed and listed.
rm -rf "$KS_DIR/library" "$KS_DIR/dav/bob"
ks_start || { not_ok "idle server started again"; done_testing; }
run library add --user ann "$B/epub3.epub"
is "library add beside an idle server: exit 0" "$RC" 0
signin ann pa
as GET '/api/v1/library?uploads=1'
is "library add: the idle server lists it" "$(printf '%s' "$BODY" | json '(d["total"], d["books"][0]["owner"])')" "(1, 'ann')"
ks_stop
rm -rf "$KS_DIR/library"
ks_start || { not_ok "idle server started again"; done_testing; }
signin ann pa
web POST /api/v1/library/upload "" -b "$JAR" -H "X-CSRF-Token: $CSRF" \
    -H 'X-File-Name: Dune.mobi' --data-binary "@$B/book.mobi"
is "web upload on an idle server: 201" "$STATUS" 201
as GET '/api/v1/library?uploads=1'
is "web upload: listed" "$(printf '%s' "$BODY" | json '[b["title"] for b in d["books"]]')" "['Dune']"
ks_stop
rm -rf "$KS_DIR/library"
run library list
is "library list on a data directory without an index" "$RC|$OUT" "0|0 books"

# 5. A library folder configured, the server restarted: its books.
ks_start --library-paths "$L" || { not_ok "server with a folder"; done_testing; }
check "with a folder: scanned at the start" wait_scanned
signin ann pa
is "with a folder: its two books" "$(total)" 2
ks_stop

# 6. A broken index: the warning at the start, as before.
printf 'not a database, not at all\n' >"$IDX"
rm -f "$IDX-wal" "$IDX-shm"
ks_allow_stderr 'warning: library: cannot set up .*index\.sqlite3.: file is not a database'
ks_start || { not_ok "server with a broken index"; done_testing; }
W=$(grep -n 'warning: library: cannot set up' "$KS_ERR.new" | cut -d: -f1 | head -n 1)
S=$(grep -n 'listening on' "$KS_ERR.new" | cut -d: -f1 | head -n 1)
check "broken index: the warning" [ -n "$W" ]
check "broken index: before the listening line" [ -n "$W" ] && [ -n "$S" ] && [ "$W" -lt "$S" ]
push bob "$(md5 beta)" doc1 "/body/p[2]"
is "broken index: sync works" "$STATUS" 200
ks_stop

done_testing
