/*
 * bookmeta_xml.c: the XML of books on expat: EPUB's container.xml and OPF,
 * FB2, and a CBZ's ComicInfo.xml (bookmeta.h).
 *
 * Every parser refuses a document that declares an entity (the billion
 * laughs and external entities both need one; nothing is ever loaded:
 * parameter entities are not parsed and no external entity handler is
 * set), keeps expat's amplification limits, and stops at
 * lim->max_depth nested elements. Names are matched by their local part
 * (after a prefix's ':'), so a document with a missing namespace
 * declaration still reads. windows-1251 and windows-1252 documents (old
 * FB2) are decoded through bookmeta_codepage().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "base64.h"
#include "bookmeta.h"
#include "xmalloc.h"

/* Raw text kept of one element before it is cleaned (an escaped HTML
 * description is longer than its text). */
#define RAW_TEXT_MAX ((size_t)64 * 1024)
/* EPUB 3 <meta refines> and creators kept for the final pass. */
#define MAX_REFINES 256
#define MAX_CREATORS 64

/* What every parser of this file shares. */
struct xml {
	XML_Parser p;
	const struct bookmeta_limits *lim;
	unsigned depth;
	const char *why; /* a refusal, or NULL */
	bool done;       /* stopped on purpose: all was found */
};

static const char *
local(const char *name)
{
	const char *c = strrchr(name, ':');

	return c != NULL ? c + 1 : name;
}

static const char *
attr(const char **attrs, const char *name)
{
	size_t i;

	for (i = 0; attrs[i] != NULL; i += 2)
		if (strcmp(local(attrs[i]), name) == 0)
			return attrs[i + 1];
	return NULL;
}

static void
xml_fail(struct xml *x, const char *why)
{
	if (x->why == NULL && !x->done)
		x->why = why;
	XML_StopParser(x->p, XML_FALSE);
}

static void
xml_done(struct xml *x)
{
	x->done = true;
	XML_StopParser(x->p, XML_FALSE);
}

/* Count a start tag; false (and the parse stopped) when too deep. */
static bool
xml_enter(struct xml *x)
{
	if (++x->depth > x->lim->max_depth) {
		xml_fail(x, "XML nested too deeply");
		return false;
	}
	return true;
}

static void XMLCALL
on_entity_decl(void *arg, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	xml_fail(arg, "an XML entity declaration (refused: entity expansion "
	              "and external entities)");
}

static int XMLCALL
on_unknown_encoding(void *data, const XML_Char *name, XML_Encoding *info)
{
	(void)data;
	if (bookmeta_codepage(name, info->map) < 0)
		return XML_STATUS_ERROR;
	info->data = NULL;
	info->convert = NULL;
	info->release = NULL;
	return XML_STATUS_OK;
}

/*
 * A parser whose user data is ud (a struct starting with struct xml),
 * or NULL when out of memory.
 */
static XML_Parser
xml_new(struct xml *x, const struct bookmeta_limits *lim)
{
	memset(x, 0, sizeof(*x));
	x->lim = lim;
	x->p = XML_ParserCreate(NULL);
	if (x->p == NULL)
		return NULL;
	XML_SetUserData(x->p, x);
	XML_SetEntityDeclHandler(x->p, on_entity_decl);
	XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetUnknownEncodingHandler(x->p, on_unknown_encoding, NULL);
	return x->p;
}

/*
 * Feed len bytes (final: the last piece). Returns 0 while parsing may go
 * on or when stopped on purpose, -1 with the reason in why.
 */
static int
xml_feed(struct xml *x, const char *p, size_t len, bool final, struct buf *why)
{
	if (x->done)
		return 0;
	if (len > (size_t)INT32_MAX) {
		buf_adds(why, "XML document too large");
		return -1;
	}
	if (XML_Parse(x->p, p, (int)len, final) == XML_STATUS_OK)
		return 0;
	if (x->done)
		return 0;
	if (x->why != NULL)
		buf_adds(why, x->why);
	else
		buf_addf(why, "not well-formed XML (line %lu: %s)",
		    (unsigned long)XML_GetCurrentLineNumber(x->p),
		    XML_ErrorString(XML_GetErrorCode(x->p)));
	return -1;
}

/* ---------------------------------------------------------------------
 * container.xml
 */

struct container {
	struct xml x;
	struct buf *opf;
	bool typed; /* opf is of the OPF media type */
};

static void XMLCALL
container_start(void *arg, const char *name, const char **attrs)
{
	struct container *c = arg;
	const char *path, *type;

	if (!xml_enter(&c->x))
		return;
	if (strcmp(local(name), "rootfile") != 0)
		return;
	path = attr(attrs, "full-path");
	type = attr(attrs, "media-type");
	if (path == NULL || path[0] == '\0' || c->typed)
		return;
	if (c->opf->len > 0 &&
	    (type == NULL ||
	        strcmp(type, "application/oebps-package+xml") != 0))
		return;
	buf_reset(c->opf);
	buf_adds(c->opf, path);
	c->typed =
	    type != NULL && strcmp(type, "application/oebps-package+xml") == 0;
}

static void XMLCALL
any_end(void *arg, const char *name)
{
	struct xml *x = arg;

	(void)name;
	x->depth--;
}

int
bookmeta_container_parse(const char *xml, size_t len,
    const struct bookmeta_limits *lim, struct buf *opf, struct buf *why)
{
	struct container c = {.opf = opf, .typed = false};
	int rc;

	buf_reset(opf);
	if (xml_new(&c.x, lim) == NULL) {
		buf_adds(why, "out of memory");
		return -1;
	}
	XML_SetElementHandler(c.x.p, container_start, any_end);
	rc = xml_feed(&c.x, xml, len, true, why);
	XML_ParserFree(c.x.p);
	if (rc == 0 && opf->len == 0) {
		buf_adds(why, "container.xml names no OPF (rootfile)");
		rc = -1;
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * The OPF
 */

enum opf_text {
	OPF_NONE,
	OPF_TITLE,
	OPF_CREATOR,
	OPF_LANGUAGE,
	OPF_PUBLISHER,
	OPF_DESCRIPTION,
	OPF_IDENTIFIER,
	OPF_SUBJECT,
	OPF_META,
};

struct refine {
	char *about; /* the id refined, without '#' */
	char *property;
	char *value;
};

struct creator {
	char *name;
	char *id;
	char *role;
};

struct opf {
	struct xml x;
	struct bookmeta *m;
	bool in_metadata, in_manifest;
	enum opf_text text;
	unsigned text_depth;
	struct buf raw;
	char *a_id, *a_role, *a_scheme, *a_refines, *a_property;
	struct refine refines[MAX_REFINES];
	size_t nrefines;
	struct creator creators[MAX_CREATORS];
	size_t ncreators;
	struct refine collections[BOOKMETA_MAX_LIST]; /* about: its id */
	size_t ncollections;
	char *calibre_index;
	char *cover_id;
	char *href_props, *href_meta, *href_guess;
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
opf_attrs_free(struct opf *o)
{
	free(o->a_id);
	free(o->a_role);
	free(o->a_scheme);
	free(o->a_refines);
	free(o->a_property);
	o->a_id = o->a_role = o->a_scheme = o->a_refines = o->a_property = NULL;
}

/* Whether the space-separated list s holds word. */
static bool
has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = s; (p = strstr(p, word)) != NULL; p += n)
		if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static void
opf_manifest_item(struct opf *o, const char **attrs)
{
	const char *id = attr(attrs, "id"), *href = attr(attrs, "href");
	const char *props = attr(attrs, "properties");
	const char *type = attr(attrs, "media-type");

	if (href == NULL || href[0] == '\0')
		return;
	if (props != NULL && has_word(props, "cover-image") &&
	    o->href_props == NULL)
		o->href_props = xstrdup(href);
	if (id != NULL && o->cover_id != NULL && strcmp(id, o->cover_id) == 0 &&
	    o->href_meta == NULL)
		o->href_meta = xstrdup(href);
	if (id != NULL && o->href_guess == NULL && type != NULL &&
	    strncmp(type, "image/", 6) == 0 &&
	    (strcasecmp(id, "cover") == 0 ||
	        strcasecmp(id, "cover-image") == 0))
		o->href_guess = xstrdup(href);
}

static void XMLCALL
opf_start(void *arg, const char *name, const char **attrs)
{
	struct opf *o = arg;
	const char *n = local(name), *mname, *content;

	if (!xml_enter(&o->x))
		return;
	if (o->text != OPF_NONE)
		return;
	if (strcmp(n, "metadata") == 0) {
		o->in_metadata = true;
		return;
	}
	if (strcmp(n, "manifest") == 0) {
		o->in_manifest = true;
		return;
	}
	if (o->in_manifest && strcmp(n, "item") == 0) {
		opf_manifest_item(o, attrs);
		return;
	}
	if (!o->in_metadata)
		return;
	if (strcmp(n, "meta") == 0) {
		mname = attr(attrs, "name");
		content = attr(attrs, "content");
		if (mname != NULL && content != NULL) {
			if (strcmp(mname, "cover") == 0 && o->cover_id == NULL)
				o->cover_id = xstrdup(content);
			else if (strcmp(mname, "calibre:series") == 0)
				bookmeta_set(
				    &o->m->series, content, strlen(content), 0);
			else if (strcmp(mname, "calibre:series_index") == 0 &&
			         o->calibre_index == NULL)
				o->calibre_index = xstrdup(content);
			return;
		}
		if (attr(attrs, "property") == NULL)
			return;
		o->text = OPF_META;
	} else if (strcmp(n, "title") == 0) {
		o->text = OPF_TITLE;
	} else if (strcmp(n, "creator") == 0) {
		o->text = OPF_CREATOR;
	} else if (strcmp(n, "language") == 0) {
		o->text = OPF_LANGUAGE;
	} else if (strcmp(n, "publisher") == 0) {
		o->text = OPF_PUBLISHER;
	} else if (strcmp(n, "description") == 0) {
		o->text = OPF_DESCRIPTION;
	} else if (strcmp(n, "identifier") == 0) {
		o->text = OPF_IDENTIFIER;
	} else if (strcmp(n, "subject") == 0) {
		o->text = OPF_SUBJECT;
	} else {
		return;
	}
	o->text_depth = o->x.depth;
	buf_reset(&o->raw);
	opf_attrs_free(o);
	o->a_id = dup_or_null(attr(attrs, "id"));
	o->a_role = dup_or_null(attr(attrs, "role"));
	o->a_scheme = dup_or_null(attr(attrs, "scheme"));
	o->a_refines = dup_or_null(attr(attrs, "refines"));
	o->a_property = dup_or_null(attr(attrs, "property"));
}

static void XMLCALL
opf_chars(void *arg, const char *s, int len)
{
	struct opf *o = arg;

	if (o->text != OPF_NONE && o->raw.len + (size_t)len <= RAW_TEXT_MAX)
		buf_add(&o->raw, s, (size_t)len);
}

/* Keep the text of the element just ended. */
static void
opf_text_end(struct opf *o)
{
	struct bookmeta *m = o->m;
	const char *t = o->raw.data;
	size_t len = o->raw.len;
	struct buf clean = BUF_INIT;

	switch (o->text) {
	case OPF_TITLE:
		bookmeta_set(&m->title, t, len, 0);
		break;
	case OPF_CREATOR:
		if (o->ncreators < MAX_CREATORS) {
			struct creator *c = &o->creators[o->ncreators];

			bookmeta_text(&clean, t, len, BOOKMETA_MAX_TEXT, 0);
			if (clean.len == 0)
				break;
			c->name = buf_detach(&clean, NULL);
			c->id = o->a_id;
			c->role = o->a_role;
			o->a_id = o->a_role = NULL;
			o->ncreators++;
		}
		break;
	case OPF_LANGUAGE:
		bookmeta_set(&m->language, t, len, 0);
		break;
	case OPF_PUBLISHER:
		bookmeta_set(&m->publisher, t, len, 0);
		break;
	case OPF_DESCRIPTION:
		bookmeta_set(&m->description, t, len,
		    BOOKMETA_TEXT_HTML | BOOKMETA_TEXT_LINES);
		break;
	case OPF_IDENTIFIER:
		bookmeta_add_id(m, o->a_scheme, t, len);
		break;
	case OPF_SUBJECT:
		bookmeta_add(&m->subjects, t, len, 0);
		break;
	case OPF_META:
		bookmeta_text(&clean, t, len, BOOKMETA_MAX_TEXT, 0);
		if (clean.len == 0)
			break;
		if (o->a_refines != NULL && o->nrefines < MAX_REFINES) {
			struct refine *r = &o->refines[o->nrefines++];

			r->about = xstrdup(
			    o->a_refines + (o->a_refines[0] == '#' ? 1 : 0));
			r->property = o->a_property;
			r->value = buf_detach(&clean, NULL);
			o->a_property = NULL;
		} else if (o->a_refines == NULL &&
		           strcmp(o->a_property, "belongs-to-collection") ==
		               0 &&
		           o->ncollections < BOOKMETA_MAX_LIST) {
			struct refine *r = &o->collections[o->ncollections++];

			r->about = o->a_id;
			r->value = buf_detach(&clean, NULL);
			r->property = NULL;
			o->a_id = NULL;
		}
		break;
	case OPF_NONE:
		break;
	}
	buf_release(&clean);
	o->text = OPF_NONE;
	opf_attrs_free(o);
}

static void XMLCALL
opf_end(void *arg, const char *name)
{
	struct opf *o = arg;
	const char *n = local(name);

	if (o->text != OPF_NONE && o->x.depth == o->text_depth)
		opf_text_end(o);
	else if (strcmp(n, "metadata") == 0)
		o->in_metadata = false;
	else if (strcmp(n, "manifest") == 0)
		o->in_manifest = false;
	o->x.depth--;
}

/* The value of the refinement property of id, or NULL. */
static const char *
refined(const struct opf *o, const char *id, const char *property)
{
	size_t i;

	if (id == NULL)
		return NULL;
	for (i = 0; i < o->nrefines; i++)
		if (strcmp(o->refines[i].about, id) == 0 &&
		    o->refines[i].property != NULL &&
		    strcmp(o->refines[i].property, property) == 0)
			return o->refines[i].value;
	return NULL;
}

/* A series index: a finite number from 0 to 100000, or false. */
static bool
parse_index(const char *s, double *v)
{
	char *end;

	if (s == NULL)
		return false;
	*v = strtod(s, &end);
	while (*end == ' ')
		end++;
	return end != s && *end == '\0' && isfinite(*v) && *v >= 0 &&
	       *v <= 100000;
}

/*
 * Resolve href (percent-encoded, relative to the OPF's folder) into a zip
 * entry name; false when it leaves the archive, is absolute or has a
 * scheme.
 */
static bool
resolve_href(const char *opf_path, const char *href, struct buf *out)
{
	const char *slash = strrchr(opf_path, '/'), *seg, *end;
	char *dec;
	long n;
	size_t len = strcspn(href, "#?");
	bool ok = true;

	if (len == 0 || href[0] == '/' || memchr(href, ':', len) != NULL)
		return false;
	dec = xmalloc(len + 1);
	n = str_unescape((struct str){href, len}, dec);
	if (n <= 0 || memchr(dec, '\0', (size_t)n) != NULL) {
		free(dec);
		return false;
	}
	buf_reset(out);
	if (slash != NULL)
		buf_add(out, opf_path, (size_t)(slash - opf_path) + 1);
	for (seg = dec; seg < dec + n; seg = end + 1) {
		end = memchr(seg, '/', (size_t)(dec + n - seg));
		if (end == NULL)
			end = dec + n;
		if (end == seg || (end - seg == 1 && seg[0] == '.'))
			continue;
		if (end - seg == 2 && seg[0] == '.' && seg[1] == '.') {
			char *up;

			if (out->len == 0) {
				ok = false;
				break;
			}
			out->data[--out->len] = '\0'; /* the '/' */
			up = strrchr(out->data, '/');
			out->len =
			    up != NULL ? (size_t)(up - out->data) + 1 : 0;
			out->data[out->len] = '\0';
			continue;
		}
		buf_add(out, seg, (size_t)(end - seg));
		if (end < dec + n)
			buf_addch(out, '/');
	}
	free(dec);
	return ok && out->len > 0 && out->data[out->len - 1] != '/';
}

/* After the parse: authors, series and cover from what was kept. */
static void
opf_finish(struct opf *o, const char *opf_path)
{
	struct bookmeta *m = o->m;
	struct buf entry = BUF_INIT;
	const char *href, *role, *type;
	size_t i;
	bool any = false;
	double v;

	for (i = 0; i < o->ncreators; i++) {
		role = o->creators[i].role;
		if (role == NULL)
			role = refined(o, o->creators[i].id, "role");
		if (role == NULL || strcmp(role, "aut") == 0) {
			bookmeta_add(&m->authors, o->creators[i].name,
			    strlen(o->creators[i].name), 0);
			any = true;
		}
	}
	for (i = 0; !any && i < o->ncreators; i++)
		bookmeta_add(&m->authors, o->creators[i].name,
		    strlen(o->creators[i].name), 0);
	if (m->series != NULL) {
		if (parse_index(o->calibre_index, &v)) {
			m->series_index = v;
			m->has_series_index = true;
		}
	} else {
		for (i = 0; i < o->ncollections; i++) {
			type = refined(
			    o, o->collections[i].about, "collection-type");
			if (type != NULL && strcmp(type, "series") != 0)
				continue;
			bookmeta_set(&m->series, o->collections[i].value,
			    strlen(o->collections[i].value), 0);
			if (parse_index(refined(o, o->collections[i].about,
			                    "group-position"),
			        &v)) {
				m->series_index = v;
				m->has_series_index = true;
			}
			break;
		}
	}
	href = o->href_props != NULL  ? o->href_props
	       : o->href_meta != NULL ? o->href_meta
	                              : o->href_guess;
	if (href != NULL && resolve_href(opf_path, href, &entry))
		m->cover_entry = buf_detach(&entry, NULL);
	buf_release(&entry);
}

static void
opf_free(struct opf *o)
{
	size_t i;

	opf_attrs_free(o);
	buf_release(&o->raw);
	for (i = 0; i < o->nrefines; i++) {
		free(o->refines[i].about);
		free(o->refines[i].property);
		free(o->refines[i].value);
	}
	for (i = 0; i < o->ncreators; i++) {
		free(o->creators[i].name);
		free(o->creators[i].id);
		free(o->creators[i].role);
	}
	for (i = 0; i < o->ncollections; i++) {
		free(o->collections[i].about);
		free(o->collections[i].value);
	}
	free(o->calibre_index);
	free(o->cover_id);
	free(o->href_props);
	free(o->href_meta);
	free(o->href_guess);
}

int
bookmeta_opf_parse(const char *xml, size_t len, const char *opf_path,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why)
{
	struct opf *o = xcalloc(1, sizeof(*o));
	int rc;

	if (xml_new(&o->x, lim) == NULL) {
		free(o);
		buf_adds(why, "out of memory");
		return -1;
	}
	o->m = m;
	buf_init(&o->raw);
	XML_SetElementHandler(o->x.p, opf_start, opf_end);
	XML_SetCharacterDataHandler(o->x.p, opf_chars);
	rc = xml_feed(&o->x, xml, len, true, why);
	if (rc == 0)
		opf_finish(o, opf_path);
	XML_ParserFree(o->x.p);
	opf_free(o);
	free(o);
	return rc;
}

/* ---------------------------------------------------------------------
 * FB2
 */

/* FB2 is read from the file this much at a time. */
#define FB2_CHUNK 65536

enum fb2_text {
	FB2_NONE,
	FB2_TITLE,
	FB2_NAME_PART, /* first-name, middle-name, last-name, nickname */
	FB2_GENRE,
	FB2_KEYWORDS,
	FB2_LANG,
	FB2_ANNOTATION,
	FB2_PUBLISHER,
	FB2_ISBN,
	FB2_BINARY,
};

struct fb2 {
	struct xml x;
	struct bookmeta *m;
	const struct bookmeta_limits *lim;
	bool in_description, in_title_info, in_publish_info, in_author,
	    in_coverpage, seen_description;
	enum fb2_text text;
	unsigned text_depth;
	struct buf raw;
	struct buf parts[4]; /* first, middle, last, nickname */
	int part;
	char *cover_id;
};

static void XMLCALL
fb2_start(void *arg, const char *name, const char **attrs)
{
	struct fb2 *f = arg;
	const char *n = local(name), *a, *num;
	static const char *const parts[] = {
	    "first-name", "middle-name", "last-name", "nickname"};
	enum fb2_text t = FB2_NONE;
	size_t i;

	if (!xml_enter(&f->x))
		return;
	/* inside an annotation its <p>s are text (fb2_chars, fb2_end) */
	if (f->text != FB2_NONE)
		return;
	if (strcmp(n, "description") == 0 && f->x.depth == 2) {
		f->in_description = true;
	} else if (f->in_description && strcmp(n, "title-info") == 0) {
		f->in_title_info = true;
	} else if (f->in_description && strcmp(n, "publish-info") == 0) {
		f->in_publish_info = true;
	} else if (f->in_title_info && strcmp(n, "author") == 0) {
		f->in_author = true;
		for (i = 0; i < 4; i++)
			buf_reset(&f->parts[i]);
	} else if (f->in_author) {
		for (i = 0; i < 4; i++)
			if (strcmp(n, parts[i]) == 0) {
				t = FB2_NAME_PART;
				f->part = (int)i;
			}
	} else if (f->in_title_info && strcmp(n, "book-title") == 0) {
		t = FB2_TITLE;
	} else if (f->in_title_info && strcmp(n, "genre") == 0) {
		t = FB2_GENRE;
	} else if (f->in_title_info && strcmp(n, "keywords") == 0) {
		t = FB2_KEYWORDS;
	} else if (f->in_title_info && strcmp(n, "lang") == 0) {
		t = FB2_LANG;
	} else if (f->in_title_info && strcmp(n, "annotation") == 0) {
		t = FB2_ANNOTATION;
	} else if (f->in_title_info && strcmp(n, "sequence") == 0) {
		a = attr(attrs, "name");
		num = attr(attrs, "number");
		if (a != NULL && f->m->series == NULL) {
			bookmeta_set(&f->m->series, a, strlen(a), 0);
			if (f->m->series != NULL && num != NULL &&
			    parse_index(num, &f->m->series_index))
				f->m->has_series_index = true;
		}
	} else if (f->in_title_info && strcmp(n, "coverpage") == 0) {
		f->in_coverpage = true;
	} else if (f->in_coverpage && strcmp(n, "image") == 0) {
		a = attr(attrs, "href");
		if (a != NULL && a[0] == '#' && a[1] != '\0' &&
		    f->cover_id == NULL)
			f->cover_id = xstrdup(a + 1);
	} else if (f->in_publish_info && strcmp(n, "publisher") == 0) {
		t = FB2_PUBLISHER;
	} else if (f->in_publish_info && strcmp(n, "isbn") == 0) {
		t = FB2_ISBN;
	} else if (strcmp(n, "body") == 0 && f->cover_id == NULL) {
		xml_done(&f->x); /* nothing more to find */
		return;
	} else if (strcmp(n, "binary") == 0 && f->cover_id != NULL &&
	           (a = attr(attrs, "id")) != NULL &&
	           strcmp(a, f->cover_id) == 0) {
		t = FB2_BINARY;
	}
	if (t != FB2_NONE) {
		f->text = t;
		f->text_depth = f->x.depth;
		buf_reset(&f->raw);
	}
}

static void XMLCALL
fb2_chars(void *arg, const char *s, int len)
{
	struct fb2 *f = arg;
	size_t max = RAW_TEXT_MAX, i;

	if (f->text == FB2_NONE)
		return;
	if (f->text == FB2_BINARY) {
		/* base64 without its line breaks */
		max = f->lim->max_cover_bytes / 3 * 4 + 8;
		for (i = 0; i < (size_t)len; i++) {
			if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' ||
			    s[i] == '\t')
				continue;
			if (f->raw.len >= max) {
				xml_fail(&f->x, "the FB2 cover is too large");
				return;
			}
			buf_addch(&f->raw, s[i]);
		}
		return;
	}
	if (f->raw.len + (size_t)len <= max)
		buf_add(&f->raw, s, (size_t)len);
}

/* Each comma-separated item of s into l. */
static void
add_items(struct bookmeta_list *l, const char *s, size_t len)
{
	const char *p, *end;

	for (p = s; p < s + len; p = end + 1) {
		end = memchr(p, ',', (size_t)(s + len - p));
		if (end == NULL)
			end = s + len;
		bookmeta_add(l, p, (size_t)(end - p), 0);
	}
}

static void
fb2_text_end(struct fb2 *f)
{
	struct bookmeta *m = f->m;
	const char *t = f->raw.data;
	size_t len = f->raw.len;
	long n;

	switch (f->text) {
	case FB2_TITLE:
		bookmeta_set(&m->title, t, len, 0);
		break;
	case FB2_NAME_PART:
		buf_reset(&f->parts[f->part]);
		bookmeta_text(&f->parts[f->part], t, len, BOOKMETA_MAX_TEXT, 0);
		break;
	case FB2_GENRE:
		bookmeta_add(&m->subjects, t, len, 0);
		break;
	case FB2_KEYWORDS:
		add_items(&m->subjects, t, len);
		break;
	case FB2_LANG:
		bookmeta_set(&m->language, t, len, 0);
		break;
	case FB2_ANNOTATION:
		bookmeta_set(&m->description, t, len, BOOKMETA_TEXT_LINES);
		break;
	case FB2_PUBLISHER:
		bookmeta_set(&m->publisher, t, len, 0);
		break;
	case FB2_ISBN:
		bookmeta_add_id(m, "isbn", t, len);
		break;
	case FB2_BINARY:
		buf_reset(&m->cover_data);
		buf_grow(&m->cover_data, BASE64_DECODED_MAX(len));
		n = base64_decode_mem(t, len, m->cover_data.data, 0);
		if (n > 0) {
			m->cover_data.len = (size_t)n;
			m->cover_data.data[n] = '\0';
			m->cover = BOOKMETA_COVER_DATA;
		}
		xml_done(&f->x);
		break;
	case FB2_NONE:
		break;
	}
	f->text = FB2_NONE;
}

static void
fb2_author_end(struct fb2 *f)
{
	struct buf name = BUF_INIT;
	int i;

	for (i = 0; i < 3; i++) {
		if (f->parts[i].len == 0)
			continue;
		if (name.len > 0)
			buf_addch(&name, ' ');
		buf_add(&name, f->parts[i].data, f->parts[i].len);
	}
	if (name.len == 0)
		buf_add(&name, f->parts[3].data, f->parts[3].len);
	bookmeta_add(&f->m->authors, name.data, name.len, 0);
	buf_release(&name);
	f->in_author = false;
}

static void XMLCALL
fb2_end(void *arg, const char *name)
{
	struct fb2 *f = arg;
	const char *n = local(name);

	if (f->text != FB2_NONE) {
		if (f->x.depth == f->text_depth)
			fb2_text_end(f);
		else if (f->text == FB2_ANNOTATION && strcmp(n, "p") == 0)
			buf_addch(&f->raw, '\n');
	} else if (f->in_author && strcmp(n, "author") == 0) {
		fb2_author_end(f);
	} else if (strcmp(n, "title-info") == 0) {
		f->in_title_info = false;
		f->in_coverpage = false;
	} else if (strcmp(n, "publish-info") == 0) {
		f->in_publish_info = false;
	} else if (strcmp(n, "coverpage") == 0) {
		f->in_coverpage = false;
	} else if (strcmp(n, "description") == 0 && f->in_description) {
		f->in_description = false;
		f->seen_description = true;
	}
	f->x.depth--;
}

int
bookmeta_fb2_parse(const struct bookzip_src *src,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why)
{
	struct fb2 *f = xcalloc(1, sizeof(*f));
	char *chunk = xmalloc(FB2_CHUNK);
	uint64_t off = 0;
	ssize_t n;
	int rc = 0, i;

	if (xml_new(&f->x, lim) == NULL) {
		free(f);
		free(chunk);
		buf_adds(why, "out of memory");
		return -1;
	}
	f->m = m;
	f->lim = lim;
	buf_init(&f->raw);
	for (i = 0; i < 4; i++)
		buf_init(&f->parts[i]);
	XML_SetElementHandler(f->x.p, fb2_start, fb2_end);
	XML_SetCharacterDataHandler(f->x.p, fb2_chars);
	while (rc == 0 && !f->x.done) {
		if (off >= lim->max_fb2_bytes) {
			if (!f->seen_description) {
				buf_addf(why,
				    "no FB2 description in the first "
				    "%zu bytes",
				    lim->max_fb2_bytes);
				rc = -1;
			}
			break;
		}
		n = bookzip_src_read(src, off, chunk, FB2_CHUNK);
		if (n < 0) {
			buf_adds(why, "cannot read the file");
			rc = -1;
			break;
		}
		off += (uint64_t)n;
		rc = xml_feed(&f->x, chunk, (size_t)n, n == 0, why);
		if (n == 0)
			break;
	}
	/* A file cut after its description still has what counts. */
	if (rc < 0 && f->seen_description && f->x.why == NULL) {
		buf_reset(why);
		rc = 0;
	}
	if (rc == 0 && !f->seen_description && !f->x.done && f->x.why == NULL) {
		buf_adds(why, "an FB2 file without a description");
		rc = -1;
	}
	XML_ParserFree(f->x.p);
	buf_release(&f->raw);
	for (i = 0; i < 4; i++)
		buf_release(&f->parts[i]);
	free(f->cover_id);
	free(f);
	free(chunk);
	return rc;
}

/* ---------------------------------------------------------------------
 * ComicInfo.xml
 */

enum ci_text {
	CI_NONE,
	CI_TITLE,
	CI_SERIES,
	CI_NUMBER,
	CI_WRITER,
	CI_SUMMARY,
	CI_LANGUAGE,
	CI_PUBLISHER,
	CI_LIST, /* Genre, Tags */
};

struct comicinfo {
	struct xml x;
	struct bookmeta *m;
	enum ci_text text;
	struct buf raw;
	char *number;
};

static void XMLCALL
ci_start(void *arg, const char *name, const char **attrs)
{
	static const struct {
		const char *name;
		enum ci_text text;
	} fields[] = {
	    {"Title", CI_TITLE},
	    {"Series", CI_SERIES},
	    {"Number", CI_NUMBER},
	    {"Writer", CI_WRITER},
	    {"Summary", CI_SUMMARY},
	    {"LanguageISO", CI_LANGUAGE},
	    {"Publisher", CI_PUBLISHER},
	    {"Genre", CI_LIST},
	    {"Tags", CI_LIST},
	};
	struct comicinfo *c = arg;
	const char *n = local(name);
	size_t i;

	(void)attrs;
	if (!xml_enter(&c->x))
		return;
	c->text = CI_NONE;
	/* the fields are the root's children */
	if (c->x.depth != 2)
		return;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(n, fields[i].name) == 0)
			c->text = fields[i].text;
	buf_reset(&c->raw);
}

static void XMLCALL
ci_chars(void *arg, const char *s, int len)
{
	struct comicinfo *c = arg;

	if (c->text != CI_NONE && c->x.depth == 2 &&
	    c->raw.len + (size_t)len <= RAW_TEXT_MAX)
		buf_add(&c->raw, s, (size_t)len);
}

static void XMLCALL
ci_end(void *arg, const char *name)
{
	struct comicinfo *c = arg;
	struct bookmeta *m = c->m;
	const char *t = c->raw.data;
	size_t len = c->raw.len;

	(void)name;
	if (c->x.depth == 2) {
		switch (c->text) {
		case CI_TITLE:
			bookmeta_set(&m->title, t, len, 0);
			break;
		case CI_SERIES:
			bookmeta_set(&m->series, t, len, 0);
			break;
		case CI_NUMBER:
			if (c->number == NULL)
				c->number = xstrdup(t);
			break;
		case CI_WRITER:
			add_items(&m->authors, t, len);
			break;
		case CI_SUMMARY:
			bookmeta_set(
			    &m->description, t, len, BOOKMETA_TEXT_LINES);
			break;
		case CI_LANGUAGE:
			bookmeta_set(&m->language, t, len, 0);
			break;
		case CI_PUBLISHER:
			bookmeta_set(&m->publisher, t, len, 0);
			break;
		case CI_LIST:
			add_items(&m->subjects, t, len);
			break;
		case CI_NONE:
			break;
		}
		c->text = CI_NONE;
	}
	c->x.depth--;
}

int
bookmeta_comicinfo_parse(const char *xml, size_t len,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why)
{
	struct comicinfo c = {.m = m, .text = CI_NONE, .number = NULL};
	int rc;

	if (xml_new(&c.x, lim) == NULL) {
		buf_adds(why, "out of memory");
		return -1;
	}
	buf_init(&c.raw);
	XML_SetElementHandler(c.x.p, ci_start, ci_end);
	XML_SetCharacterDataHandler(c.x.p, ci_chars);
	rc = xml_feed(&c.x, xml, len, true, why);
	if (rc == 0 && m->series != NULL && c.number != NULL &&
	    parse_index(c.number, &m->series_index))
		m->has_series_index = true;
	XML_ParserFree(c.x.p);
	buf_release(&c.raw);
	free(c.number);
	return rc;
}
