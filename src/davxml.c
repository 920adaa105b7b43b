/*
 * davxml.c: PROPFIND and PROPPATCH bodies on expat (davxml.h).
 *
 * expat runs with namespace processing (names arrive as "URI local"),
 * its billion-laughs protection on, and a DOCTYPE handler that stops the
 * parse at once, so no entity is ever declared. The element handlers
 * follow the few shapes RFC 4918 allows; a PROPPATCH value is written
 * back out as XML text, every element with its own namespace declared,
 * so that it can be stored and served again as it came.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "davxml.h"
#include "xmalloc.h"

#define DAV_NS "DAV:"

struct state {
	XML_Parser p;
	struct davxml *x;
	bool propfind;
	unsigned depth;
	const char *why;
	bool in_prop;      /* inside <prop> (level 2 or 3) */
	unsigned prop_lvl; /* depth of that <prop> */
	bool in_value;     /* inside a PROPPATCH property element */
	bool remove;       /* inside <remove> */
	struct buf value;
	unsigned nsn;                       /* prefixes written into value */
	unsigned pfx[DAVXML_MAX_DEPTH + 2]; /* each open element's, 0: none */
};

/* Split an expat name "URI local" (or "local") into ns and name. */
static void
split(const char *n, struct str *ns, struct str *name)
{
	const char *sp = strrchr(n, ' ');

	if (sp == NULL) {
		*ns = (struct str){"", 0};
		*name = str_from(n);
	} else {
		*ns = (struct str){n, (size_t)(sp - n)};
		*name = str_from(sp + 1);
	}
}

static bool
is_dav(const char *n, const char *local)
{
	struct str ns, name;

	split(n, &ns, &name);
	return str_eqs(ns, DAV_NS) && str_eqs(name, local);
}

static void
fail(struct state *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
	XML_StopParser(s->p, XML_FALSE);
}

void
davxml_escape(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&apos;");
			break;
		case '\r':
			buf_adds(out, "&#13;");
			break;
		default:
			buf_addch(out, s[i]);
		}
	}
}

static void
add_prop(struct state *s, const char *n)
{
	struct davxml_prop *pr;
	struct str ns, name;

	if (s->x->nprops == DAVXML_MAX_PROPS) {
		fail(s, "too many properties in one request");
		return;
	}
	split(n, &ns, &name);
	pr = &s->x->props[s->x->nprops++];
	pr->ns = str_dup(ns);
	pr->name = str_dup(name);
	pr->value = NULL;
	pr->remove = s->remove;
}

/* Write a start tag of a value element, its namespace declared. */
static void
value_start(struct state *s, const char *n, const char **attrs)
{
	struct str ns, name;
	size_t i;

	split(n, &ns, &name);
	s->pfx[s->depth] = ns.len == 0 ? 0 : ++s->nsn;
	if (ns.len == 0) {
		buf_addch(&s->value, '<');
		buf_addstr(&s->value, name);
	} else {
		buf_addf(&s->value, "<V%u:", s->nsn);
		buf_addstr(&s->value, name);
		buf_addf(&s->value, " xmlns:V%u=\"", s->nsn);
		davxml_escape(&s->value, ns.p, ns.len);
		buf_addch(&s->value, '"');
	}
	for (i = 0; attrs[i] != NULL; i += 2) {
		struct str ans, aname;

		split(attrs[i], &ans, &aname);
		if (ans.len > 0)
			continue; /* namespaced attributes are dropped */
		buf_addch(&s->value, ' ');
		buf_addstr(&s->value, aname);
		buf_adds(&s->value, "=\"");
		davxml_escape(&s->value, attrs[i + 1], strlen(attrs[i + 1]));
		buf_addch(&s->value, '"');
	}
	buf_addch(&s->value, '>');
}

static void XMLCALL
on_start(void *arg, const char *n, const char **attrs)
{
	struct state *s = arg;
	unsigned d = ++s->depth;

	if (d > DAVXML_MAX_DEPTH) {
		fail(s, "XML nested too deeply");
		return;
	}
	if (s->in_value) {
		value_start(s, n, attrs);
		if (s->value.len > DAVXML_MAX_VALUE)
			fail(s, "a property value is too large");
		return;
	}
	if (d == 1) {
		if (!is_dav(n, s->propfind ? "propfind" : "propertyupdate"))
			fail(s, s->propfind ? "the body is not a DAV:propfind"
			                    : "the body is not a "
			                      "DAV:propertyupdate");
		return;
	}
	if (s->propfind) {
		if (d == 2 && is_dav(n, "allprop")) {
			s->x->kind = DAVXML_ALLPROP;
		} else if (d == 2 && is_dav(n, "propname")) {
			s->x->kind = DAVXML_PROPNAME;
		} else if (d == 2 && is_dav(n, "prop")) {
			s->x->kind = DAVXML_PROP;
			s->in_prop = true;
			s->prop_lvl = d;
		} else if (d == 3 && s->in_prop) {
			add_prop(s, n);
		}
		return;
	}
	if (d == 2) {
		if (is_dav(n, "set"))
			s->remove = false;
		else if (is_dav(n, "remove"))
			s->remove = true;
		else
			fail(s, "propertyupdate holds only set and remove");
	} else if (d == 3) {
		if (!is_dav(n, "prop"))
			fail(s, "set and remove hold a DAV:prop");
		s->in_prop = true;
	} else if (d == 4 && s->in_prop) {
		add_prop(s, n);
		s->in_value = true;
		s->nsn = 0;
		buf_reset(&s->value);
	}
}

static void XMLCALL
on_end(void *arg, const char *n)
{
	struct state *s = arg;
	unsigned d = s->depth--;
	struct str ns, name;

	if (s->in_value && d == 4) {
		s->in_value = false;
		if (s->x->nprops > 0 && !s->remove)
			s->x->props[s->x->nprops - 1].value =
			    str_dup((struct str){s->value.data, s->value.len});
		return;
	}
	if (s->in_value) {
		split(n, &ns, &name);
		buf_adds(&s->value, "</");
		/* The prefix of this element's own start tag. */
		if (s->pfx[d] != 0)
			buf_addf(&s->value, "V%u:", s->pfx[d]);
		buf_addstr(&s->value, name);
		buf_addch(&s->value, '>');
		return;
	}
	if (d == 3 && !s->propfind)
		s->in_prop = false;
	if (d == 2 && s->propfind)
		s->in_prop = false;
}

static void XMLCALL
on_text(void *arg, const char *t, int len)
{
	struct state *s = arg;

	if (!s->in_value)
		return;
	davxml_escape(&s->value, t, (size_t)len);
	if (s->value.len > DAVXML_MAX_VALUE)
		fail(s, "a property value is too large");
}

static void XMLCALL
on_doctype(void *arg, const char *name, const char *sysid, const char *pubid,
    int has_internal)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal;
	fail(arg, "a DOCTYPE is not allowed");
}

int
davxml_parse(const char *body, size_t len, bool propfind, struct davxml *x,
    const char **why)
{
	struct state s;
	int rc = 0;

	memset(x, 0, sizeof(*x));
	x->kind = propfind ? DAVXML_ALLPROP : DAVXML_UPDATE;
	*why = NULL;
	if (propfind && len == 0)
		return 0;
	memset(&s, 0, sizeof(s));
	s.x = x;
	s.propfind = propfind;
	buf_init(&s.value);
	s.p = XML_ParserCreateNS(NULL, ' ');
	if (s.p == NULL) {
		*why = "out of memory";
		return -1;
	}
	XML_SetUserData(s.p, &s);
	XML_SetElementHandler(s.p, on_start, on_end);
	XML_SetCharacterDataHandler(s.p, on_text);
	XML_SetStartDoctypeDeclHandler(s.p, on_doctype);
	if (len > (size_t)INT32_MAX ||
	    XML_Parse(s.p, body, (int)len, XML_TRUE) != XML_STATUS_OK) {
		*why =
		    s.why != NULL ? s.why : "the body is not well-formed XML";
		rc = -1;
	} else if (s.why != NULL) {
		*why = s.why;
		rc = -1;
	}
	XML_ParserFree(s.p);
	buf_release(&s.value);
	return rc;
}

void
davxml_release(struct davxml *x)
{
	size_t i;

	for (i = 0; i < x->nprops; i++) {
		free(x->props[i].ns);
		free(x->props[i].name);
		free(x->props[i].value);
	}
	x->nprops = 0;
}
