#!/usr/bin/env bash
# t154-opds-pse: OPDS page streaming of a CBZ (opds.h, opdspse.h), read
# as KOReader's "Page stream" reads it (../shared/KOREADER-CLOUD.md §4.3):
# a stream link with {pageNumber} (from 0) and {maxWidth}, pse:count and,
# in Reading now, pse:lastRead.
#
# Covers: the CBZ's entry carries the link (rel and count: its two page
# images, a Mac resource fork not counted) and the EPUB's none; page 0
# scaled to maxWidth 30 (a JPEG 30 pixels wide); page 1 without maxWidth
# the stored PNG, byte for byte; pages in name order; past the last page
# 404; a page of an EPUB 404; a page number that is not one 404; a bad
# maxWidth 400; ETag and 304; no credentials 401; Reading now at 90 %:
# the page reached (1 of 0..1) as pse:lastRead.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

cp "$B/comic.cbz" "$B/epub2.epub" "$L/"
run library scan
K=$(md5 alpha)

# width FILE: the pixel width of a JPEG or PNG.
width() {
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
if d[:8] == b"\x89PNG\r\n\x1a\n":
    print(struct.unpack(">I", d[16:20])[0])
else:
    i = 2
    while i < len(d):
        m, n = d[i + 1], struct.unpack(">H", d[i + 2:i + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            print(struct.unpack(">H", d[i + 7:i + 9])[0])
            break
        i += 2 + n
EOF
}

ks_start --storage file --library-paths "$L" ||
	{ not_ok "server started"; done_testing; }
register ann "$K"

get /opds/all
is "feed: rules" "$(python3 "$RD" check "$F")" ok
PSE=$(kr '[e["pse"] for e in d["entries"] if e["title"] == "comic"][0]')
like "comic: a stream link" "$PSE" "'href': '/opds/pse/[0-9a-f]{32}/\{pageNumber\}\?maxWidth=\{maxWidth\}'"
like "comic: its two pages" "$PSE" "'count': '2'"
like "comic: the stream rel" "$(cat "$F")" '<link rel="http://vaemendis.net/opds-pse/stream" type="image/jpeg" href="[^"]*" pse:count="2"/>'
is "epub: no stream link" "$(kr '[e["pse"] for e in d["entries"] if e["title"] != "comic"]')" "[None]"
T=$(printf '%s' "$PSE" | python3 -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())["href"])')
page() { local u=${T/\{pageNumber\}/$1}; printf '%s' "${u/\{maxWidth\}/$2}"; }

get "$(page 0 30)"
is "page 0 at 30: JPEG" "$STATUS $(hdr content-type)" "200 image/jpeg"
is "page 0 at 30: 30 pixels wide" "$(width "$F")" 30
TAG=$(hdr etag)
get "$(page 0 30)" -H "If-None-Match: $TAG"
is "page 0: 304 on its ETag" "$STATUS" 304
U=$(page 1 "")
get "${U%\?*}"
is "page 1 as stored: PNG" "$STATUS $(hdr content-type)" "200 image/png"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("pages/002.png"))' "$L/comic.cbz" >"$KS_TMP/p2"
check "page 1: the second page by name, byte for byte" cmp -s "$F" "$KS_TMP/p2"
get "$(page 1 100000)"
is "page 1 at a huge width: its own width" "$(width "$F")" "$(width "$KS_TMP/p2")"
get "$(page 2 600)"
is "past the last page: 404" "$STATUS" 404
get "$(page x 600)"
is "not a page number: 404" "$STATUS" 404
get "$(page 0 wide)"
is "a bad maxWidth: 400" "$STATUS" 400
get /opds/all
EPUB=$(kr '[e["acquisitions"][0]["href"] for e in d["entries"] if e["title"] != "comic"][0]')
get "/opds/pse/$(printf '%s' "$EPUB" | cut -d/ -f4)/0"
is "a page of an EPUB: 404" "$STATUS" 404
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$KS_URL$(page 0 30)")
is "no credentials: 401" "$STATUS" 401

DOC=$(printf '%s' "$T" | cut -d/ -f4)
req PUT /syncs/progress "{\"document\":\"$DOC\",\"progress\":\"2\",\"percentage\":0.9,\"device\":\"kobo\",\"device_id\":\"k1\"}" $(auth ann "$K")
get /opds/reading
is "reading: rules" "$(python3 "$RD" check "$F")" ok
like "reading: lastRead the page reached" "$(kr 'd["entries"][0]["pse"]')" "'count': '2', 'lastRead': '1'"
ks_stop
done_testing
