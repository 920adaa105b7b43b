#!/usr/bin/env bash
# t157-library-webapi: what the web interface adds to the library's JSON
# API (libweb.c has the rest, t146): a book file downloaded through the
# session (libfile.c), an account's WebDAV usage for administrators, and
# the session's "library" flag.
#
# Covers: a download byte-identical to the stored file, typed, with
# Content-Disposition "Author - Title.ext" (UTF-8 kept, no filename*);
# signed out 401; an unknown or over-long file id 404; an upload of
# another account 404 (and its owner's download identical); an account's
# WebDAV usage for administrators only (403 otherwise, 404 for a name that
# cannot be one); "library": true in the session with file storage,
# false with memory storage, where a download answers 503.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooklib.sh"

books epub2.epub epub3.epub book.fb2 info.pdf comic.cbz hostile/garbage.epub
KS_RUN_ARGS=(--library-paths "$L")
accounts ann:pa bob:pb
run user admin ann on
run library add --user bob "$B/ref.pdf"
is "bob's upload added" "$RC" 0

ks_start --library-paths "$L" || { not_ok "server started"; done_testing; }
for _ in $(seq 1 100); do
	grep -q 'library: scanned' "$KS_ERR.new" && break
	sleep 0.1
done

web GET /api/v1/library/files/0123456789abcdef0123456789abcdef
is "signed out: 401" "$STATUS" 401

signin ann pa
is "session: a library" "$(printf '%s' "$BODY" | json 'd["library"]')" True
as GET '/api/v1/library?q=prince'
FILE=$(printf '%s' "$BODY" | json 'd["books"][0]["files"][0]["id"]')
as GET "/api/v1/library/files/$FILE"
is "download: 200" "$STATUS" 200
is "download: type" "$CTYPE" application/epub+zip
check "download: the stored bytes" cmp -s "$KS_TMP/body" "$L/epub2.epub"
is "download: its name" "$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Dd]isposition: *//p')" \
    'attachment; filename="Antoine de Saint-Exupéry - Le Petit Prince.epub"'
is "download: not cached" "$(printf '%s\n' "$HEADERS" | grep -ci '^cache-control: no-store')" 1
as GET '/api/v1/library?q=literal'
PFILE=$(printf '%s' "$BODY" | json 'd["books"][0]["files"][0]["id"]')
as GET "/api/v1/library/files/$PFILE"
is "a PDF: Author - Title.pdf" "$(printf '%s\n' "$HEADERS" | sed -n 's/^[Cc]ontent-[Dd]isposition: *//p')" \
    'attachment; filename="Jane Doe - A (Literal) Title.pdf"'
as GET /api/v1/library/files/0123456789abcdef0123456789abcdef
is "unknown file: 404" "$STATUS" 404
is "unknown file: JSON" "$(printf '%s' "$BODY" | json 'd["code"]')" 404
as GET "/api/v1/library/files/$(printf 'a%.0s' $(seq 1 65))"
is "over-long file id: 404" "$STATUS" 404
as DELETE "/api/v1/library/files/$FILE"
is "DELETE: 405" "$STATUS" 405

# bob's upload: his, not ann's.
as GET '/api/v1/library?limit=200'
check "ann does not see bob's upload" [ "$(printf '%s' "$BODY" | json 'd["total"]')" = 5 ]
signin bob pb
as GET '/api/v1/library?uploads=1'
is "bob sees his upload" "$(printf '%s' "$BODY" | json '(d["total"], d["books"][0]["owner"])')" "(1, 'bob')"
UFILE=$(printf '%s' "$BODY" | json 'd["books"][0]["files"][0]["id"]')
as GET "/api/v1/library/files/$UFILE"
check "bob downloads it" cmp -s "$KS_TMP/body" "$B/ref.pdf"
as GET /api/v1/admin/users/ann/files
is "an account's files: 403 for others" "$STATUS" 403
signin ann pa
as GET "/api/v1/library/files/$UFILE"
is "ann: bob's file 404" "$STATUS" 404

as GET /api/v1/admin/users/bob/files
is "an account's files: 200" "$STATUS" 200
is "an account's files: its usage" "$(printf '%s' "$BODY" | json '(d["bytes"], d["entries"])')" "(0, 0)"
as GET '/api/v1/admin/users/a%3Ab/files'
is "an account's files: a bad name 404" "$STATUS" 404
ks_stop

# Memory storage: no library.
ks_start --storage memory || { not_ok "memory server started"; done_testing; }
register ann "$(md5 pa)"
signin ann pa
is "memory: no library in the session" "$(printf '%s' "$BODY" | json 'd["library"]')" False
as GET /api/v1/library/files/0123456789abcdef0123456789abcdef
is "memory: a download 503" "$STATUS" 503
is "memory: says why" "$(printf '%s' "$BODY" | json 'd["message"]')" "No library with this storage."
ks_stop

done_testing
