/*
 * fuzz_path.c: path normalisation, routing and document-id decoding, as
 * the front router and api_handle do them (router_base, router_normalize,
 * router_find over the API's own
 * route table, str_unescape, the document rule), and the strict Accept
 * match.
 *
 * Input: a base_path, a NUL byte, then a request path (no NUL byte: the
 * whole input is the path with an empty base). The base goes through
 * router_base() as the configured base_path does (front_new).
 *
 * Checks: the normalised path fits its buffer, has no "//" and no trailing
 * '/' (except "/"), and normalising it again changes nothing once the
 * prefixes are gone; a route parameter is one non-empty segment of it;
 * str_unescape never writes more than it reads, and percent-encoding
 * what it decoded decodes back to the same bytes; a decoded id that passes
 * the document rule is 1 to STORE_MAX_DOCUMENT bytes of UTF-8 without '/',
 * ':' or control characters; Allow lists fit and are NUL-terminated.
 *
 * UNIT_INCLUDES: src/api.c (for its static route table and rules)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/api.c"

#include "fuzz.h"

static void
check_unescape(struct str param)
{
	static const char hex[] = "0123456789ABCDEF";
	char *dec = malloc(param.len + 1), *enc, *again;
	long n, m, i;
	size_t k = 0;

	FUZZ_CHECK(dec != NULL);
	n = str_unescape(param, dec);
	if (n < 0) {
		FUZZ_CHECK(memchr(param.p, '%', param.len) != NULL);
		free(dec);
		return;
	}
	FUZZ_CHECK((size_t)n <= param.len);
	enc = malloc(3 * (size_t)n + 1);
	again = malloc((size_t)n * 3 + 1);
	FUZZ_CHECK(enc != NULL && again != NULL);
	for (i = 0; i < n; i++) {
		enc[k++] = '%';
		enc[k++] = hex[(unsigned char)dec[i] >> 4];
		enc[k++] = hex[(unsigned char)dec[i] & 15];
	}
	m = str_unescape((struct str){enc, k}, again);
	FUZZ_CHECK(m == n);
	FUZZ_CHECK(n == 0 || memcmp(dec, again, (size_t)n) == 0);
	if (api_document_valid((struct str){dec, (size_t)n})) {
		FUZZ_CHECK(n >= 1 && n <= STORE_MAX_DOCUMENT);
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)dec[i];

			FUZZ_CHECK(
			    c != '/' && c != ':' && c >= 0x20 && c != 0x7f);
		}
		FUZZ_CHECK(json_utf8_valid(dec, (size_t)n));
	}
	free(dec);
	free(enc);
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_method methods[] = {HTTP_M_OTHER, HTTP_M_GET,
	    HTTP_M_HEAD, HTTP_M_POST, HTTP_M_PUT, HTTP_M_DELETE, HTTP_M_OPTIONS,
	    HTTP_M_PATCH};
	const uint8_t *nul = memchr(data, '\0', size);
	struct config cfg;
	struct buf err = BUF_INIT;
	struct str path, norm, again, nbase;
	struct router_match m;
	enum router_result r;
	char *base, *nbuf, *out, *out2, list[64];
	size_t i, n;

	if (nul != NULL) {
		base = fuzz_copy(data, (size_t)(nul - data));
		path.p = (const char *)nul + 1;
		path.len = size - (size_t)(nul - data) - 1;
	} else {
		base = fuzz_copy(data, 0);
		path.p = (const char *)data;
		path.len = size;
	}
	config_init(&cfg);
	if (config_set(&cfg, "base_path", base, CONFIG_SRC_FLAG, &err) != 0) {
		/* Refused by the option's own check: route without a base. */
		FUZZ_CHECK(err.len > 0);
	}
	nbuf = malloc((cfg.base_path != NULL ? strlen(cfg.base_path) : 0) + 2);
	FUZZ_CHECK(nbuf != NULL);
	nbase = router_base(cfg.base_path, nbuf);
	FUZZ_CHECK(nbase.len == strlen(nbase.p));
	FUZZ_CHECK(nbase.len == 0 || nbase.p[0] == '/');
	FUZZ_CHECK(strstr(nbase.p, "//") == NULL);
	FUZZ_CHECK(nbase.len == 0 || nbase.p[nbase.len - 1] != '/');

	out = malloc(path.len + 1);
	FUZZ_CHECK(out != NULL);
	norm = router_normalize(path, nbase, out);
	/* A path that was only the base or "/koreader" becomes a static "/". */
	if (!(norm.len == 1 && norm.p[0] == '/'))
		FUZZ_CHECK(
		    norm.p >= out && norm.p + norm.len <= out + path.len);
	for (i = 0; i + 1 < norm.len; i++)
		FUZZ_CHECK(!(norm.p[i] == '/' && norm.p[i + 1] == '/'));
	FUZZ_CHECK(norm.len <= 1 || norm.p[norm.len - 1] != '/');

	/* Without a base or "/koreader" left in front, a fixed point. */
	out2 = malloc(norm.len + 1);
	FUZZ_CHECK(out2 != NULL);
	again = router_normalize(norm, (struct str){"", 0}, out2);
	if (!str_has_prefix(norm, "/koreader"))
		FUZZ_CHECK(str_eq(again, norm));

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		r = router_find(api_routes,
		    sizeof(api_routes) / sizeof(api_routes[0]), methods[i],
		    norm, &m);
		FUZZ_CHECK(r == ROUTER_FOUND || r == ROUTER_NOT_FOUND ||
		           r == ROUTER_BAD_METHOD);
		n = router_allow_list(m.allow, list, sizeof(list));
		FUZZ_CHECK(n < sizeof(list) && strlen(list) == n);
		if (r != ROUTER_FOUND) {
			FUZZ_CHECK(m.route == NULL);
			continue;
		}
		FUZZ_CHECK(m.route->handler != NULL);
		FUZZ_CHECK(m.allow & (1u << HTTP_M_OPTIONS));
		if (m.param.p == NULL)
			continue;
		FUZZ_CHECK(m.param.len > 0);
		FUZZ_CHECK(m.param.p > norm.p &&
		           m.param.p + m.param.len <= norm.p + norm.len);
		FUZZ_CHECK(m.param.p[-1] == '/');
		FUZZ_CHECK(memchr(m.param.p, '/', m.param.len) == NULL);
		check_unescape(m.param);
	}
	check_unescape(path);
	(void)api_accept_check(&path, 1);

	free(out2);
	free(out);
	free(nbuf);
	config_release(&cfg);
	buf_release(&err);
	free(base);
	return 0;
}
