/*
 * davxml.h: the XML bodies of WebDAV requests (PROPFIND and PROPPATCH,
 * RFC 4918 §14), read with expat, and XML text escaping for answers.
 *
 * Bodies are hostile: no DOCTYPE (so no entity of any kind), at most
 * DAVXML_MAX_DEPTH nested elements, DAVXML_MAX_PROPS properties and
 * DAVXML_MAX_VALUE bytes of one property's value; anything else is
 * refused with a reason for a 400. Pure: no I/O.
 */
#ifndef KOSYNCD_DAVXML_H
#define KOSYNCD_DAVXML_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define DAVXML_MAX_DEPTH 32
#define DAVXML_MAX_PROPS 256
#define DAVXML_MAX_VALUE ((size_t)16 * 1024)

enum davxml_kind {
	DAVXML_ALLPROP,  /* PROPFIND <allprop/>, or no body */
	DAVXML_PROPNAME, /* PROPFIND <propname/> */
	DAVXML_PROP,     /* PROPFIND <prop>: the names in props */
	DAVXML_UPDATE,   /* PROPPATCH: set and remove, in order */
};

struct davxml_prop {
	char *ns;    /* namespace URI, "" for none */
	char *name;  /* local name */
	char *value; /* PROPPATCH set: the value as XML text */
	bool remove; /* PROPPATCH remove */
};

struct davxml {
	enum davxml_kind kind;
	struct davxml_prop props[DAVXML_MAX_PROPS];
	size_t nprops;
};

/*
 * Parse a PROPFIND body (propfind is true) or a PROPPATCH body into x.
 * An empty PROPFIND body means allprop. Returns 0, or -1 with *why set;
 * davxml_release(x) is needed either way.
 */
int davxml_parse(const char *body, size_t len, bool propfind, struct davxml *x,
    const char **why);
void davxml_release(struct davxml *x);

/* Append s with &, <, >, " and ' escaped for XML text and attributes. */
void davxml_escape(struct buf *out, const char *s, size_t len);

#endif
