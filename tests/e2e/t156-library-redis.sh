#!/usr/bin/env bash
# t156-library-redis: two instances on one Redis (storage redis), each with
# its own data directory and index, on the same library_paths, serve the
# same catalog: the index's ids are the files' own (partial MD5s), not
# the instance's.
#
# Covers: the OPDS 1.2 feeds (root, All books in two pages, Recently
# added, Authors, an author's books, Series, a search) and the OPDS 2.0
# ones (root, All books, Recently added) identical through A and B but
# for their <updated> times and "modified" dates (each instance scanned at
# its own time); the web API's list and a book's
# record identical (but for the times); a cover thumbnail the same bytes
# and ETag but for its time; a book added to the folder shows through
# both with the same id; a file downloaded through B by the href A's
# feed gave.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opdslib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
cp "$B/epub2.epub" "$B/epub3.epub" "$B/book.fb2" "$B/info.pdf" \
    "$B/comic.cbz" "$L/"
for i in $(seq 10 69); do
	printf 'text %s\n' "$i" >"$L/Volume $i.txt"
done

ks_redis_start || { not_ok "redis started"; done_testing; }
ks_redis_cli FLUSHDB >/dev/null
scanned() { grep -c 'library: scanned' "$1"; }
wait_scanned() {
	for i in $(seq 1 150); do
		[ "$(scanned "$1")" -ge "$2" ] && break
		sleep 0.1
	done
}
start_two --library-paths "$L" --enable-webui ||
	{ not_ok "servers started"; done_testing; }
wait_scanned "$KS_ERR_A" 1
wait_scanned "$KS_ERR.new" 1
on A POST /users/create "{\"username\":\"ann\",\"password\":\"$(md5 alpha)\"}"
is "ann registered through A" "$STATUS" 201

# fetch A|B PATH: the answer's body, times taken out, in $KS_TMP/A|B.
# A cursor of the newest order carries its book's time added (the
# instance's scan time): that field is taken out too.
norm() {
	python3 -c '
import base64, re, sys
def cursor(m):
    v = m.group(2)
    try:
        raw = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
    except Exception:
        return m.group(0)
    f = raw.split(b"\0")
    if len(f) >= 4 and f[0][:2] == b"1n":
        f[1] = b"0"
        v = base64.urlsafe_b64encode(b"\0".join(f)).decode().rstrip("=")
    return m.group(1) + v
t = open(sys.argv[1], encoding="utf-8").read()
t = re.sub(r"<updated>[^<]*</updated>", "<updated/>", t)
t = re.sub(r"\"(modified|updated|added|last_modified|published)\":\s*(\"[^\"]*\"|[0-9]+)", r"\"\1\":0", t)
t = re.sub(r"(cursor=|\"next\":\s*\")([A-Za-z0-9_-]+)", cursor, t)
sys.stdout.write(t)' "$1"
}
fetch() {
	use "$1"
	get "$2"
	norm "$F" >"$KS_TMP/$1"
	echo "$STATUS" >>"$KS_TMP/$1"
}
same() {
	fetch A "$1"
	fetch B "$1"
	if cmp -s "$KS_TMP/A" "$KS_TMP/B"; then
		ok "$1: the same through A and B ($(wc -c <"$KS_TMP/A") bytes)"
	else
		not_ok "$1: the same through A and B"
		diff "$KS_TMP/A" "$KS_TMP/B" | head -n 10 | sed 's/^/#   /'
	fi
}
for p in /opds /opds/all '/opds/all?page=2' /opds/new /opds/authors \
    '/opds/all?author=Ursula%20K.%20Le%20Guin' /opds/series \
    '/opds/search?q=prince' /opds/v2 /opds/v2/all /opds/v2/new; do
	same "$p"
done
fetch A /opds/all
is "the feed holds the books" "$(kr 'len(d["entries"])')" 50
# The next page of Recently added by A's cursor, asked of B: the same
# books as asked of A (B finds the cursor's book by id in its own index,
# whatever time its scan gave it).
use A
get /opds/new
nxt=$(grep -o 'href="/opds/new?cursor=[^"]*"' "$F" | head -n 1 | sed 's/^href="//; s/"$//')
like "Recently added has a next page by cursor" "$nxt" 'cursor='
same "$nxt"
# The same cursor with another time in it (as another instance's scan
# gives): the same page, the cursor's book being found by its id.
other=$(python3 -c '
import base64, sys
head, v = sys.argv[1].split("cursor=")
f = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)).split(b"\0")
f[1] = str(int(f[1]) + 1000).encode()
print(head + "cursor=" + base64.urlsafe_b64encode(b"\0".join(f)).decode().rstrip("="))' "$nxt")
use A
get "$nxt"
norm "$F" >"$KS_TMP/own"
get "$other"
norm "$F" >"$KS_TMP/other"
check "a cursor whose time is another instance's gives the same page" \
    cmp -s "$KS_TMP/own" "$KS_TMP/other"

# The web API, signed in on each instance.
web_as() {
	use "$1"
	ks_web POST /api/v1/login '{"username":"ann","password":"alpha"}' \
	    -c "$KS_TMP/jar$1"
}
web_as A
web_as B
api_same() {
	local w
	for w in A B; do
		use "$w"
		ks_web GET "$1" "" -b "$KS_TMP/jar$w"
		printf '%s\n' "$BODY" >"$KS_TMP/api$w.raw"
		norm "$KS_TMP/api$w.raw" >"$KS_TMP/api$w"
		echo "$STATUS" >>"$KS_TMP/api$w"
	done
	if cmp -s "$KS_TMP/apiA" "$KS_TMP/apiB"; then
		ok "$1: the same through A and B"
	else
		not_ok "$1: the same through A and B"
		diff "$KS_TMP/apiA" "$KS_TMP/apiB" | head -n 10 | sed 's/^/#   /'
	fi
}
api_same '/api/v1/library?limit=200'
api_same '/api/v1/library?order=added&limit=20'
ID=$(json 'd["books"][0]["id"]' <"$KS_TMP/apiA.raw")
api_same "/api/v1/library?q=prince"
PID=$(json '[b["id"] for b in d["books"]][0]' <"$KS_TMP/apiA.raw")
api_same "/api/v1/library/$PID"
api_same /api/v1/library/facets/authors

cover_of() {
	use "$1"
	curl -s -b "$KS_TMP/jar$1" -D "$KS_TMP/ch$1" -o "$KS_TMP/cover$1" \
	    "$KS_URL/api/v1/library/$PID/cover?size=200x300"
	tr -d '\r' <"$KS_TMP/ch$1" | sed -n 's/^ETag: "\([0-9a-f]*-[0-9]*\)-.*/\1/p'
}
ea=$(cover_of A)
eb=$(cover_of B)
like "a cover's ETag: the book's id and the size" "$ea" '^[0-9a-f]{12}-400$'
is "a cover's ETag the same through B (but for the time)" "$eb" "$ea"
check "a cover: the same bytes" cmp -s "$KS_TMP/coverA" "$KS_TMP/coverB"

# A download through B by A's href (Ursula K. Le Guin's: epub3.epub).
fetch A '/opds/all?author=Ursula%20K.%20Le%20Guin'
HREF=$(kr 'd["entries"][0]["acquisitions"][0]["href"]')
use B
STATUS=$(curl -s -u ann:alpha -o "$KS_TMP/dl" -w '%{http_code}' "$KS_URL$HREF")
is "A's href downloaded through B" "$STATUS" 200
check "the bytes of the file" cmp -s "$KS_TMP/dl" "$L/epub3.epub"

# A book added: both see it under one id.
cp "$B/book.mobi" "$L/Dune.mobi"
for w in A B; do
	use "$w"
	for i in $(seq 1 100); do
		ks_web GET '/api/v1/library?q=dune' "" -b "$KS_TMP/jar$w"
		[ "$(printf '%s' "$BODY" | json 'd["total"]')" = 1 ] && break
		sleep 0.1
	done
	printf '%s' "$BODY" | json 'd["books"][0]["id"]' >"$KS_TMP/dune$w"
done
check "a new book: indexed by both" test -s "$KS_TMP/duneB"
is "a new book: the same id" "$(cat "$KS_TMP/duneA")" "$(cat "$KS_TMP/duneB")"
same /opds/new
stop_two

done_testing
