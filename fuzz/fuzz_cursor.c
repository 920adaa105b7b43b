/*
 * fuzz_cursor.c: the web API's page cursors (store.c store_page_parse,
 * store_page_next, store_page_after), which come from the query string of
 * any signed-in request.
 *
 * Input: one byte choosing the list (its value modulo 3: documents, users,
 * a history), then the cursor as sent (after percent-decoding).
 *
 * Checks: a refused cursor leaves the page untouched; an accepted one has
 * an id of at most 255 bytes, NUL-terminated in its buffer, never written
 * past it; writing it back with store_page_next and reading that again
 * gives the same position; the position itself is never "after" itself,
 * and a document with the same time and a longer id is.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "store.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum store_page_kind kinds[] = {
	    STORE_PAGE_DOCS, STORE_PAGE_USERS, STORE_PAGE_HISTORY};
	enum store_page_kind kind;
	struct store_page p, q, zero;
	char idbuf[STORE_MAX_USERNAME + 1], idbuf2[STORE_MAX_USERNAME + 1];
	char longer[STORE_MAX_USERNAME + 2];
	struct buf b = BUF_INIT;
	struct json_out o;
	struct str cur;

	if (size < 1)
		return 0;
	kind = kinds[data[0] % 3];
	memset(&p, 0, sizeof(p));
	memset(&zero, 0, sizeof(zero));
	if (store_page_parse((struct str){(const char *)data + 1, size - 1},
	        kind, idbuf, sizeof(idbuf), &p) != 0) {
		FUZZ_CHECK(memcmp(&p, &zero, sizeof(p)) == 0);
		return 0;
	}
	FUZZ_CHECK(p.after);
	FUZZ_CHECK(p.id.p == idbuf && p.id.len < sizeof(idbuf));
	FUZZ_CHECK(idbuf[p.id.len] == '\0');
	FUZZ_CHECK(kind == STORE_PAGE_HISTORY ? p.id.len == 0 : p.id.len > 0);
	FUZZ_CHECK(kind != STORE_PAGE_HISTORY || p.ts >= 0);

	/* Written back and read again: the same position. */
	json_out_init(&o, &b, false);
	store_page_next(&o, kind, true, p.ts, p.id);
	FUZZ_CHECK(b.len >= 2 && b.data[0] == '"' && b.data[b.len - 1] == '"');
	FUZZ_CHECK(b.len - 2 <= STORE_PAGE_CURSOR_MAX);
	cur = (struct str){b.data + 1, b.len - 2};
	memset(&q, 0, sizeof(q));
	FUZZ_CHECK(
	    store_page_parse(cur, kind, idbuf2, sizeof(idbuf2), &q) == 0);
	FUZZ_CHECK(q.id.len == p.id.len &&
	           (p.id.len == 0 || memcmp(q.id.p, p.id.p, p.id.len) == 0));
	FUZZ_CHECK(kind == STORE_PAGE_USERS || q.ts == p.ts);
	buf_release(&b);

	/* Order: not after itself; a longer id at the same time is. */
	FUZZ_CHECK(!store_page_after(&p, p.ts, p.id));
	memcpy(longer, p.id.p, p.id.len);
	longer[p.id.len] = 'x';
	FUZZ_CHECK(
	    store_page_after(&p, p.ts, (struct str){longer, p.id.len + 1}));
	return 0;
}
