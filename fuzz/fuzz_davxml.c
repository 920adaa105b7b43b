/*
 * fuzz_davxml.c: PROPFIND and PROPPATCH bodies (davxml_parse) and XML
 * escaping (davxml_escape).
 *
 * Input: a mode byte (even: PROPFIND, odd: PROPPATCH), then the body.
 *
 * Checks: a refusal has a reason; at most DAVXML_MAX_PROPS properties,
 * each with a non-empty name; a PROPFIND list only for kind DAVXML_PROP;
 * every PROPPATCH value is at most DAVXML_MAX_VALUE bytes plus one
 * element's markup, and set again inside a fresh propertyupdate it parses
 * to the same value (what is stored is served back unchanged); escaped
 * text holds no '<', '>' or '"'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "davxml.h"

#include "fuzz.h"

static void
check_value(const char *value)
{
	struct buf body = BUF_INIT;
	struct davxml x;
	const char *why;

	buf_adds(&body, "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop>"
	                "<x:p xmlns:x=\"urn:x\">");
	buf_adds(&body, value);
	buf_adds(&body, "</x:p></D:prop></D:set></D:propertyupdate>");
	FUZZ_CHECK(davxml_parse(body.data, body.len, false, &x, &why) == 0);
	FUZZ_CHECK(x.nprops == 1 && x.props[0].value != NULL);
	FUZZ_CHECK(strcmp(x.props[0].value, value) == 0);
	davxml_release(&x);
	buf_release(&body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct davxml x;
	struct buf esc = BUF_INIT;
	const char *why;
	bool propfind;
	size_t i;

	if (size == 0)
		return 0;
	propfind = (data[0] & 1) == 0;
	davxml_escape(&esc, (const char *)data + 1, size - 1);
	FUZZ_CHECK(memchr(esc.data, '<', esc.len) == NULL);
	FUZZ_CHECK(memchr(esc.data, '>', esc.len) == NULL);
	FUZZ_CHECK(memchr(esc.data, '"', esc.len) == NULL);
	buf_release(&esc);
	if (davxml_parse(
	        (const char *)data + 1, size - 1, propfind, &x, &why) == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		davxml_release(&x);
		return 0;
	}
	FUZZ_CHECK(x.nprops <= DAVXML_MAX_PROPS);
	FUZZ_CHECK(propfind || x.kind == DAVXML_UPDATE);
	FUZZ_CHECK(!propfind || x.nprops == 0 || x.kind == DAVXML_PROP);
	for (i = 0; i < x.nprops; i++) {
		FUZZ_CHECK(
		    x.props[i].name != NULL && x.props[i].name[0] != '\0');
		FUZZ_CHECK(x.props[i].ns != NULL);
		if (x.props[i].value == NULL)
			continue;
		FUZZ_CHECK(!propfind && !x.props[i].remove);
		FUZZ_CHECK(strlen(x.props[i].value) <= 2 * DAVXML_MAX_VALUE);
		check_value(x.props[i].value);
	}
	davxml_release(&x);
	return 0;
}
