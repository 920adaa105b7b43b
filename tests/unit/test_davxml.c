/*
 * test_davxml.c: PROPFIND and PROPPATCH bodies (davxml.h): KOReader's
 * exact PROPFIND, allprop and propname, PROPPATCH set and remove with
 * values in other namespaces, and the refusals (not well-formed, a
 * DOCTYPE, the wrong root element, too many properties).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "davxml.h"

static void
test_davxml__propfind(void **state)
{
	static const char koreader[] =
	    "<?xml version=\"1.0\"?><a:propfind xmlns:a=\"DAV:\"><a:prop>"
	    "<a:resourcetype/><a:getcontentlength/><a:getlastmodified/>"
	    "</a:prop></a:propfind>";
	static const char propname[] =
	    "<propfind xmlns='DAV:'><propname/></propfind>";
	struct davxml x;
	const char *why;

	(void)state;
	assert_int_equal(
	    davxml_parse(koreader, strlen(koreader), true, &x, &why), 0);
	assert_int_equal(x.kind, DAVXML_PROP);
	assert_int_equal(x.nprops, 3);
	assert_string_equal(x.props[0].ns, "DAV:");
	assert_string_equal(x.props[0].name, "resourcetype");
	assert_string_equal(x.props[2].name, "getlastmodified");
	davxml_release(&x);
	assert_int_equal(davxml_parse("", 0, true, &x, &why), 0);
	assert_int_equal(x.kind, DAVXML_ALLPROP);
	davxml_release(&x);
	assert_int_equal(
	    davxml_parse(propname, strlen(propname), true, &x, &why), 0);
	assert_int_equal(x.kind, DAVXML_PROPNAME);
	davxml_release(&x);
}

static void
test_davxml__proppatch(void **state)
{
	static const char body[] =
	    "<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop>"
	    "<t:a xmlns:t='urn:t'>1 &lt; 2<b xmlns='urn:b' c='d'/></t:a>"
	    "<e xmlns=''>x</e></D:prop></D:set><D:remove><D:prop>"
	    "<t:z xmlns:t='urn:t'/></D:prop></D:remove></D:propertyupdate>";
	struct davxml x;
	const char *why;

	(void)state;
	assert_int_equal(davxml_parse(body, strlen(body), false, &x, &why), 0);
	assert_int_equal(x.nprops, 3);
	assert_string_equal(x.props[0].ns, "urn:t");
	assert_string_equal(x.props[0].name, "a");
	assert_string_equal(x.props[0].value,
	    "1 &lt; 2<V1:b xmlns:V1=\"urn:b\" c=\"d\"></V1:b>");
	assert_string_equal(x.props[1].ns, "");
	assert_string_equal(x.props[1].value, "x");
	assert_true(x.props[2].remove);
	assert_null(x.props[2].value);
	davxml_release(&x);
}

static void
test_davxml__refuses(void **state)
{
	static const char *const bad[] = {
	    "<D:propfind xmlns:D='DAV:'>",
	    "<!DOCTYPE a [<!ENTITY e 'x'>]><D:propfind xmlns:D='DAV:'/>",
	    "<propfind/>",
	    "<D:propertyupdate xmlns:D='DAV:'/>",
	};
	struct buf many = BUF_INIT;
	struct davxml x;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(
		    davxml_parse(bad[i], strlen(bad[i]), true, &x, &why), -1);
		assert_non_null(why);
		davxml_release(&x);
	}
	assert_int_equal(
	    davxml_parse(bad[3], strlen(bad[3]), true, &x, &why), -1);
	davxml_release(&x);
	buf_adds(&many, "<D:propfind xmlns:D='DAV:'><D:prop>");
	for (i = 0; i <= DAVXML_MAX_PROPS; i++)
		buf_adds(&many, "<D:a/>");
	buf_adds(&many, "</D:prop></D:propfind>");
	assert_int_equal(davxml_parse(many.data, many.len, true, &x, &why), -1);
	assert_string_equal(why, "too many properties in one request");
	davxml_release(&x);
	buf_release(&many);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_davxml__propfind),
	    cmocka_unit_test(test_davxml__proppatch),
	    cmocka_unit_test(test_davxml__refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
