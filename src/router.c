/*
 * router.c: path normalisation, percent-decoding and the table lookup (see
 * router.h). Matching is a linear walk over a handful of routes, each a
 * byte comparison: cheaper than any index at this size.
 */
#include <string.h>

#include "router.h"

/*
 * Whether path matches pattern; on a match *param receives the parameter
 * segment (if the pattern has one).
 */
static bool
route_match(const char *pat, struct str path, struct str *param)
{
	size_t i = 0, start;
	const char *slash;

	while (*pat != '\0') {
		if (*pat == ':') {
			while (*pat != '\0' && *pat != '/')
				pat++;
			start = i;
			slash = i < path.len
			            ? memchr(path.p + i, '/', path.len - i)
			            : NULL;
			i = slash != NULL ? (size_t)(slash - path.p) : path.len;
			if (i == start)
				return false;
			param->p = path.p + start;
			param->len = i - start;
			continue;
		}
		if (i >= path.len || path.p[i] != *pat)
			return false;
		i++;
		pat++;
	}
	return i == path.len;
}

enum router_result
router_find(const struct route *routes, size_t n, enum http_method m,
    struct str path, struct router_match *out)
{
	const struct route *found = NULL;
	struct str param = STR_NULL, p;
	bool hidden = false, known = false;
	size_t i;

	out->route = NULL;
	out->param = STR_NULL;
	out->allow = 0;
	for (i = 0; i < n; i++) {
		p = STR_NULL;
		if (!route_match(routes[i].pattern, path, &p))
			continue;
		known = true;
		if (routes[i].method == m ||
		    (m == HTTP_M_HEAD && routes[i].method == HTTP_M_GET)) {
			if (routes[i].handler == NULL) {
				hidden = true;
			} else if (found == NULL) {
				found = &routes[i];
				param = p;
			}
		}
		if (routes[i].handler == NULL)
			continue;
		out->allow |= 1u << routes[i].method;
		if (routes[i].method == HTTP_M_GET)
			out->allow |= 1u << HTTP_M_HEAD;
	}
	if (!known)
		return ROUTER_NOT_FOUND;
	out->allow |= 1u << HTTP_M_OPTIONS;
	if (found != NULL) {
		out->route = found;
		out->param = param;
		return ROUTER_FOUND;
	}
	return hidden ? ROUTER_NOT_FOUND : ROUTER_BAD_METHOD;
}

size_t
router_allow_list(unsigned allow, char *out, size_t size)
{
	static const struct {
		enum http_method m;
		const char *name;
	} names[] = {
	    {HTTP_M_GET, "GET"},
	    {HTTP_M_HEAD, "HEAD"},
	    {HTTP_M_POST, "POST"},
	    {HTTP_M_PUT, "PUT"},
	    {HTTP_M_DELETE, "DELETE"},
	    {HTTP_M_PATCH, "PATCH"},
	    {HTTP_M_OPTIONS, "OPTIONS"},
	};
	size_t i, len = 0, n;

	if (size == 0)
		return 0;
	out[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(allow & (1u << names[i].m)))
			continue;
		n = strlen(names[i].name);
		if (len + n + 3 > size)
			break;
		if (len > 0) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, names[i].name, n);
		len += n;
		out[len] = '\0';
	}
	return len;
}

/* Remove prefix from the normalised path s when it is a whole segment. */
static struct str
strip_prefix(struct str s, const char *prefix, size_t n)
{
	if (n == 0 || s.len < n || memcmp(s.p, prefix, n) != 0)
		return s;
	if (s.len == n)
		return STR_LIT("/");
	if (s.p[n] != '/')
		return s;
	s.p += n;
	s.len -= n;
	return s;
}

struct str
router_normalize(struct str path, struct str base, char *out)
{
	struct str r;
	size_t i, n = 0;
	char c, prev = '\0';

	for (i = 0; i < path.len; i++) {
		c = path.p[i];
		if (c == '/' && prev == '/')
			continue;
		out[n++] = c;
		prev = c;
	}
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	r.p = out;
	r.len = n;
	r = strip_prefix(r, base.p, base.len);
	r = strip_prefix(r, "/koreader", 9);
	return r;
}

struct str
router_base(const char *base_path, char *out)
{
	struct str base = STR_NULL;
	size_t i, n = 0;

	if (base_path != NULL)
		base = str_from(base_path);
	out[n++] = '/';
	for (i = 0; i < base.len; i++)
		if (base.p[i] != '/' || out[n - 1] != '/')
			out[n++] = base.p[i];
	while (n > 0 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return (struct str){out, n};
}
