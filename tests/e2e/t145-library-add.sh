#!/usr/bin/env bash
# t145-library-add: `kosyncd library add|scan|list` with the server
# stopped and running.
#
# Covers: add --user copies books into <uploads>/<account>/ (the bytes
# unchanged) and indexes them as that account's; add without --user into
# shared/ (every account's); the same bytes added again (under another
# name too) are not copied twice; a missing file fails the command (exit
# 1) but the others are added; a bad account name is refused; list
# --user shows the account's uploads beside the shared books, list
# without it only the shared ones; --library-upload-path moves the
# uploads folder; add reads only the files it added (the counts: 1 read);
# while a server runs, add and list work on the same
# index and the server's API shows the new book at once; the server
# ends without stderr.
. "$(dirname "$0")/lib.sh"

MK=$(dirname "$0")/../mkbooks.py
B=$KS_TMP/books
"$MK" books "$B" >/dev/null
U=$KS_DIR/library/uploads

run library add --user alice "$B/epub2.epub" "$B/book.fb2"
is "add: exit 0" "$RC" 0
like "add: copied" "$OUT" "epub2.epub: added as '$U/alice/epub2.epub'"
like "add: scanned" "$OUT" 'scanned 2 files \(2 read'
check "add: the same bytes" cmp "$B/epub2.epub" "$U/alice/epub2.epub"
is "add: mode 0600" "$(stat -c %a "$U/alice/epub2.epub")" 600
run library list --user alice
like "list --user alice: both, hers" "$OUT" "Le Petit Prince - Antoine de Saint-Exupéry  \[alice\]"
like "list --user alice: 2 books" "$OUT" "2 books$"
run library list
is "list: not alice's" "$OUT" "0 books"

cp "$B/epub2.epub" "$KS_TMP/renamed.epub"
run library add --user alice "$KS_TMP/renamed.epub"
like "same bytes again: not copied" "$OUT" "there already as '$U/alice/epub2.epub'"
check "same bytes again: no second file" test ! -e "$U/alice/renamed.epub"

run library add "$B/epub3.epub" "$KS_TMP/missing.epub"
is "missing file: exit 1" "$RC" 1
like "missing file: said" "$ERR" "cannot read '$KS_TMP/missing.epub'"
check "the other added, shared" test -f "$U/shared/epub3.epub"
run library list
like "shared: every account's" "$OUT" "The Left Hand of Darkness - Ursula K. Le Guin"
run library list --user bob
like "bob sees the shared one" "$OUT" "1 books$"

run library add --user ../x "$B/epub3.epub"
is "bad account name: exit 1" "$RC" 1
like "bad account name: said" "$ERR" "not an account name"

run library add --user alice --library-upload-path "$KS_TMP/up" "$B/comic.cbz"
is "upload path: exit 0" "$RC" 0
check "upload path: there" test -f "$KS_TMP/up/alice/comic.cbz"

# With the server running.
ks_start --storage file --enable-webui || { not_ok "server started"; done_testing; }
register alice "$(md5 s3cret)"
web POST /api/v1/login '{"username":"alice","password":"s3cret"}' -c "$KS_TMP/jar"
run library add --user alice "$B/book.mobi"
is "online add: exit 0" "$RC" 0
like "online add: that file alone read" "$OUT" 'scanned 1 files \(1 read, 0 removed, 0 skipped'
run library list --user alice
like "online list" "$OUT" "Dune - Frank Herbert  \[alice\]"
web GET "/api/v1/library?uploads=1" "" -b "$KS_TMP/jar"
is "the server sees it" "$(printf '%s' "$BODY" | json '[b["title"] for b in d["books"]]')" \
    "['Dune', 'Le Petit Prince', 'Roadside Picnic']"
run library scan
is "online scan: exit 0" "$RC" 0
ks_stop

done_testing
