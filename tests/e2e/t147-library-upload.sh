#!/usr/bin/env bash
# t147-library-upload: a book uploaded from the web interface
# (POST /api/v1/library/upload, libupload.c).
#
# Covers: a good file 201 with its book, stored byte-identical in the
# account's uploads folder and indexed at once, that file alone read (its
# owner sees it, another account does not); the same bytes again (under another name) 200 with
# the same book and no second file; a book already in the shared folders
# 200; larger than library_max_upload_bytes 413 (announced, and chunked
# without a length); bytes that are no book 415 with the reason; a bad
# name (missing, '/', leading '.', no book's extension, bad encoding) 400;
# no CSRF token 403; signed out 401; an empty body 400; nothing of a
# refused upload left in the folder; the quota (dav_quota_bytes) 507;
# several MB streamed in pieces, with a length and chunked, stored whole.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

U=$KS_DIR/library/uploads
books epub2.epub
accounts ann:pa bob:pb

ks_start --library-paths "$L" --library-max-upload-bytes 20000 \
    --dav-quota-bytes 40000 || { not_ok "server started"; done_testing; }

# up FILE NAME [CURL ARGS...]: upload FILE as NAME (percent-encoded).
up() {
	local f=$1 n=$2
	shift 2
	web POST /api/v1/library/upload "" -b "$JAR" -H "X-CSRF-Token: $CSRF" \
	    -H "X-File-Name: $n" -H 'Content-Type: application/octet-stream' \
	    --data-binary "@$f" "$@"
}
# leftovers: the files of ann's uploads folder.
leftovers() { ls -A "$U/ann" 2>/dev/null | tr '\n' ' '; }

web POST /api/v1/library/upload "" -H 'X-File-Name: a.epub' --data-binary "@$B/epub3.epub"
is "signed out: 401" "$STATUS" 401

signin ann pa
up "$B/epub3.epub" 'Mon%20livre%20%C3%A9t%C3%A9.epub'
is "a good file: 201" "$STATUS" 201
is "a good file: added" "$(printf '%s' "$BODY" | json 'd["status"]')" added
is "a good file: its book, ann's" "$(printf '%s' "$BODY" | json '(d["book"]["owner"], d["book"]["files"][0]["format"])')" "('ann', 'epub')"
BOOK=$(printf '%s' "$BODY" | json 'd["book"]["id"]')
check "stored byte-identical under its name" cmp -s "$U/ann/Mon livre été.epub" "$B/epub3.epub"
as GET '/api/v1/library?uploads=1'
is "indexed at once" "$(printf '%s' "$BODY" | json '(d["total"], d["books"][0]["id"])')" "(1, '$BOOK')"
like "that file alone read, not the library" "$(grep 'library: upload indexed' "$KS_ERR.new")" 'scanned 1 files \(1 read, 0 removed, 0 skipped\)'

up "$B/epub3.epub" 'again.epub'
is "the same bytes: 200" "$STATUS" 200
is "the same bytes: exists, the same book" "$(printf '%s' "$BODY" | json '(d["status"], d["book"]["id"])')" "('exists', '$BOOK')"
up "$B/epub2.epub" 'shared-one.epub'
is "a book of the shared folders: 200" "$STATUS" 200
is "only the first file kept" "$(leftovers)" "Mon livre été.epub "

up "$B/comic.cbz" 'big.cbz'
is "over library_max_upload_bytes: 413" "$STATUS" 413
like "413 says the limit" "$(printf '%s' "$BODY" | json 'd["message"]')" 'library_max_upload_bytes \(20000'
up "$B/comic.cbz" 'big.cbz' -H 'Transfer-Encoding: chunked'
is "chunked, over the limit: 413" "$STATUS" 413
up "$B/hostile/garbage.epub" 'garbage.epub'
is "no book: 415" "$STATUS" 415
like "415 says why" "$(printf '%s' "$BODY" | json 'd["message"]')" '^Not a book the library reads: '
up "$B/hostile/laughs.epub" 'laughs.epub'
is "billion laughs: 415" "$STATUS" 415
up "$B/ref.pdf" ''
is "no name: 400" "$STATUS" 400
up "$B/ref.pdf" 'a%2Fb.pdf'
is "a '/' in the name: 400" "$STATUS" 400
up "$B/ref.pdf" '.hidden.pdf'
is "a leading '.': 400" "$STATUS" 400
up "$B/ref.pdf" 'ref.exe'
is "not a book's extension: 400" "$STATUS" 400
like "400 says which" "$(printf '%s' "$BODY" | json 'd["message"]')" 'must end in .epub'
up "$B/ref.pdf" 'bad%ZZ.pdf'
is "bad percent-encoding: 400" "$STATUS" 400
up "$B/ref.pdf" 'a%00b.pdf'
is "a NUL: 400" "$STATUS" 400
web POST /api/v1/library/upload "" -b "$JAR" -H 'X-File-Name: ref.pdf' --data-binary "@$B/ref.pdf"
is "no CSRF token: 403" "$STATUS" 403
web POST /api/v1/library/upload "" -b "$JAR" -H "X-CSRF-Token: $CSRF" -H 'X-File-Name: ref.pdf'
is "an empty body: 400" "$STATUS" 400
is "nothing of the refused uploads left" "$(leftovers)" "Mon livre été.epub "

up "$B/book.fb2" 'book.fb2'
is "a second book: 201" "$STATUS" 201
up "$B/book.mobi" 'book.mobi'
is "past the quota: 507" "$STATUS" 507
like "507 says the quota" "$(printf '%s' "$BODY" | json 'd["message"]')" 'quota of 40000 bytes'
is "the quota's refusal left nothing" "$(leftovers)" "Mon livre été.epub book.fb2 "

signin bob pb
as GET '/api/v1/library?uploads=1'
is "bob does not see ann's uploads" "$(printf '%s' "$BODY" | json 'd["total"]')" 0
as GET "/api/v1/library/$BOOK"
is "bob: ann's book 404" "$STATUS" 404
up "$B/epub3.epub" 'mine.epub'
is "bob's own copy: 201" "$STATUS" 201
check "in bob's folder" cmp -s "$U/bob/mine.epub" "$B/epub3.epub"
ks_stop

# Several MB, in many pieces (each written before the next is read), with
# a length and chunked.
ks_start --library-paths "$L" || { not_ok "server restarted"; done_testing; }
python3 -c 'import sys
for i in range(120000): sys.stdout.write("line %d of a long text\n" % i)' >"$KS_TMP/long.txt"
python3 -c 'import sys
for i in range(90000): sys.stdout.write("another line %d, chunked\n" % i)' >"$KS_TMP/chunked.txt"
signin bob pb
up "$KS_TMP/long.txt" 'long.txt'
is "several MB: 201" "$STATUS" 201
check "several MB: stored byte-identical" cmp -s "$U/bob/long.txt" "$KS_TMP/long.txt"
up "$KS_TMP/chunked.txt" 'chunked.txt' -H 'Transfer-Encoding: chunked'
is "chunked: 201" "$STATUS" 201
check "chunked: stored byte-identical" cmp -s "$U/bob/chunked.txt" "$KS_TMP/chunked.txt"
ks_stop

# Memory storage: no library, no uploads.
ks_start --storage memory || { not_ok "memory server started"; done_testing; }
register ann "$(md5 pa)"
signin ann pa
up "$B/ref.pdf" 'ref.pdf'
is "memory: 503" "$STATUS" 503
ks_stop

done_testing
