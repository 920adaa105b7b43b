/*
 * test_opdsfmt.c: the OPDS writers (opdsfmt.h), read back the way their
 * readers read them. The Atom is parsed twice with expat: once without
 * namespace processing, matching names literally as KOReader's lexer does
 * (entry, link, author/name, content unprefixed; opds:facetGroup,
 * thr:count, opds:activeFacet, pse:count typed exactly), and once with
 * namespaces, checking each prefix is bound to its specification's URI.
 * Then the Atom rules (RFC 4287: one id, title and updated per feed and
 * entry; at most one author per entry as KOReader needs) and the OPDS 1.2
 * ones (typed feed links, acquisition and image relations, the PSE
 * link), the OPDS 2.0 JSON structure (metadata.title, links with href,
 * publications with metadata and links, navigation with href and title,
 * grouped facets, the templated search link), the OpenSearch
 * description, hostile strings, download names and query values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <expat.h>

#include "buf.h"
#include "json.h"
#include "opdsfmt.h"

/* --- A small tree, read with expat ------------------------------------- */

#define MAX_ATTRS 16

struct node {
	char *name;
	char *attr[2 * MAX_ATTRS + 1];
	struct buf text;
	struct node *parent, *child, *last, *next;
};

struct tree {
	struct node *root, *cur;
};

static void
node_free(struct node *n)
{
	size_t i;

	while (n != NULL) {
		struct node *next = n->next;

		node_free(n->child);
		free(n->name);
		for (i = 0; n->attr[i] != NULL; i++)
			free(n->attr[i]);
		buf_release(&n->text);
		free(n);
		n = next;
	}
}

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct tree *t = ud;
	struct node *n = calloc(1, sizeof(*n));
	size_t i;

	assert_non_null(n);
	n->name = strdup(name);
	buf_init(&n->text);
	for (i = 0; atts[i] != NULL && i < 2 * MAX_ATTRS; i++)
		n->attr[i] = strdup(atts[i]);
	assert_null(atts[i]);
	n->parent = t->cur;
	if (t->cur == NULL) {
		t->root = n;
	} else if (t->cur->last == NULL) {
		t->cur->child = t->cur->last = n;
	} else {
		t->cur->last->next = n;
		t->cur->last = n;
	}
	t->cur = n;
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
	struct tree *t = ud;

	(void)name;
	t->cur = t->cur->parent;
}

static void XMLCALL
on_text(void *ud, const XML_Char *s, int len)
{
	struct tree *t = ud;

	if (t->cur != NULL)
		buf_add(&t->cur->text, s, (size_t)len);
}

/* Parse text (without namespaces, or with them: "uri name") or fail. */
static struct node *
parse(const struct buf *b, bool ns)
{
	struct tree t = {NULL, NULL};
	XML_Parser p =
	    ns ? XML_ParserCreateNS(NULL, ' ') : XML_ParserCreate(NULL);

	XML_SetUserData(p, &t);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	if (XML_Parse(p, b->data, (int)b->len, 1) != XML_STATUS_OK)
		fail_msg("not well-formed: %s at line %lu\n%s",
		    XML_ErrorString(XML_GetErrorCode(p)),
		    (unsigned long)XML_GetCurrentLineNumber(p), b->data);
	XML_ParserFree(p);
	return t.root;
}

static const char *
attr(const struct node *n, const char *name)
{
	size_t i;

	for (i = 0; n->attr[i] != NULL; i += 2)
		if (strcmp(n->attr[i], name) == 0)
			return n->attr[i + 1];
	return NULL;
}

static size_t
count(const struct node *n, const char *name)
{
	const struct node *c;
	size_t k = 0;

	for (c = n->child; c != NULL; c = c->next)
		k += strcmp(c->name, name) == 0;
	return k;
}

static const struct node *
child(const struct node *n, const char *name)
{
	const struct node *c;

	for (c = n->child; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* The child link of n whose rel is rel. */
static const struct node *
link_rel(const struct node *n, const char *rel)
{
	const struct node *c;

	for (c = n->child; c != NULL; c = c->next)
		if (strcmp(c->name, "link") == 0 && attr(c, "rel") != NULL &&
		    strcmp(attr(c, "rel"), rel) == 0)
			return c;
	return NULL;
}

static bool
is_rfc3339(const char *s)
{
	size_t i;
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9'
		                    : s[i] != shape[i])
			return false;
	return true;
}

/* The Atom rules every feed or entry n keeps. */
static void
check_atom_common(const struct node *n)
{
	const struct node *c;

	assert_int_equal(count(n, "id"), 1);
	assert_int_equal(count(n, "title"), 1);
	assert_int_equal(count(n, "updated"), 1);
	assert_true(is_rfc3339(child(n, "updated")->text.data));
	assert_true(count(n, "author") <= 1);
	for (c = n->child; c != NULL; c = c->next)
		if (strcmp(c->name, "link") == 0)
			assert_non_null(attr(c, "href"));
}

/* --- The sample feeds -------------------------------------------------- */

static const char *const two_authors[] = {"Ann Smith", "Bo <Jones> & Co"};
static const char *const tags[] = {"Fiction", "Sea"};

static const struct opdsfmt_link book_links[] = {
    {OPDSFMT_REL_OPEN, "application/epub+zip", "/opds/file/abc/A.epub", "EPUB",
        NULL, -1, false, 12345, 0, 0},
    {OPDSFMT_REL_IMAGE, "image/jpeg", "/opds/cover/b1", NULL, NULL, -1, false,
        0, 0, 0},
    {OPDSFMT_REL_THUMB, "image/jpeg", "/opds/cover/b1?thumb=1", NULL, NULL, -1,
        false, 0, 0, 0},
    {OPDSFMT_REL_PSE, "image/jpeg",
        "/opds/pse/abc/{pageNumber}?maxWidth={maxWidth}", NULL, NULL, -1, false,
        0, 24, 7},
};

static const struct opdsfmt_entry books[] = {
    {"urn:kosyncd:book:b1", "The Sea & \"Sky\"", two_authors, 2,
        "42 % read.\n\nA tale\x01 of <b>waves</b>.", "en", "Pub", "urn:isbn:1",
        "Waves", 2.5, true, tags, 2, 1700000000, book_links, 4},
    {"urn:kosyncd:book:b2", "No author", NULL, 0, NULL, NULL, NULL, NULL, NULL,
        0, false, NULL, 0, 1700000001, book_links, 1},
};

static const struct opdsfmt_link facets[] = {
    {OPDSFMT_REL_FACET, OPDSFMT_ACQ, "/opds/all?order=title", "Title", "Sort",
        -1, true, 0, 0, 0},
    {OPDSFMT_REL_FACET, OPDSFMT_ACQ, "/opds/all?order=added", "Added", "Sort",
        -1, false, 0, 0, 0},
    {OPDSFMT_REL_FACET, OPDSFMT_ACQ, "/opds/all?lang=en", "English", "Language",
        12, false, 0, 0, 0},
};

static const struct opdsfmt_feed acq_feed = {"urn:kosyncd:opds:all",
    "All books", 1700000002, true, "/opds/all?page=2", "/opds", "/opds",
    "/opds/search.xml", "/opds/all?page=3", "/opds/all?page=1", "/opds/all",
    NULL, facets, 3, books, 2, 120, 50, 50};

static const struct opdsfmt_link nav_links[] = {
    {OPDSFMT_REL_SUB, OPDSFMT_ACQ, "/opds/reading", NULL, NULL, 3, false, 0, 0,
        0},
    {OPDSFMT_REL_NEW, OPDSFMT_ACQ, "/opds/new", NULL, NULL, -1, false, 0, 0, 0},
};

static const struct opdsfmt_entry nav_entries[] = {
    {"urn:kosyncd:opds:reading", "Reading now", NULL, 0,
        "The books you are reading", NULL, NULL, NULL, NULL, 0, false, NULL, 0,
        1700000000, &nav_links[0], 1},
    {"urn:kosyncd:opds:new", "Recently added", NULL, 0, NULL, NULL, NULL, NULL,
        NULL, 0, false, NULL, 0, 1700000000, &nav_links[1], 1},
};

static const struct opdsfmt_feed nav_feed = {"urn:kosyncd:opds", "Library",
    1700000000, false, "/opds", "/opds", NULL, "/opds/search.xml", NULL, NULL,
    NULL, NULL, NULL, 0, nav_entries, 2, 0, 0, 0};

/* --- Atom -------------------------------------------------------------- */

static void
test_opdsfmt__atom_as_koreader_reads_it(void **state)
{
	struct buf b = BUF_INIT;
	struct node *root;
	const struct node *c, *e, *l;
	size_t nentries = 0, nfacets = 0;

	(void)state;
	opdsfmt_atom(&b, &acq_feed);
	assert_memory_equal(b.data, "<?xml", 5); /* KOReader: first byte */
	root = parse(&b, false);
	assert_string_equal(root->name, "feed");
	assert_string_equal(attr(root, "xmlns"), "http://www.w3.org/2005/Atom");
	check_atom_common(root);
	/* Every feed-level link is typed (KOReader keeps only those). */
	for (c = root->child; c != NULL; c = c->next) {
		if (strcmp(c->name, "link") != 0)
			continue;
		assert_non_null(attr(c, "type"));
		assert_non_null(attr(c, "rel"));
	}
	l = link_rel(root, "next");
	assert_non_null(l);
	assert_non_null(strstr(attr(l, "type"), "application/atom+xml"));
	assert_string_equal(attr(l, "href"), "/opds/all?page=3");
	assert_string_equal(
	    attr(link_rel(root, "previous"), "href"), "/opds/all?page=1");
	assert_string_equal(attr(link_rel(root, "first"), "href"), "/opds/all");
	assert_null(link_rel(root, "last"));
	assert_string_equal(attr(link_rel(root, "search"), "type"),
	    "application/opensearchdescription+xml");
	assert_string_equal(attr(link_rel(root, "self"), "type"), OPDSFMT_ACQ);
	assert_string_equal(attr(link_rel(root, "start"), "type"), OPDSFMT_NAV);
	/* Facets: the literal attribute names KOReader matches. */
	for (c = root->child; c != NULL; c = c->next) {
		if (strcmp(c->name, "link") != 0 ||
		    strcmp(attr(c, "rel"), OPDSFMT_REL_FACET) != 0)
			continue;
		assert_non_null(attr(c, "title"));
		assert_non_null(attr(c, "opds:facetGroup"));
		nfacets++;
		if (nfacets == 1)
			assert_string_equal(
			    attr(c, "opds:activeFacet"), "true");
		else
			assert_null(attr(c, "opds:activeFacet"));
		if (nfacets == 3)
			assert_string_equal(attr(c, "thr:count"), "12");
		else
			assert_null(attr(c, "thr:count"));
	}
	assert_int_equal(nfacets, 3);
	assert_string_equal(
	    child(root, "opensearch:totalResults")->text.data, "120");
	assert_string_equal(
	    child(root, "opensearch:startIndex")->text.data, "51");
	/* The entries. */
	for (e = root->child; e != NULL; e = e->next) {
		if (strcmp(e->name, "entry") != 0)
			continue;
		check_atom_common(e);
		nentries++;
	}
	assert_int_equal(nentries, 2);
	e = child(root, "entry");
	assert_string_equal(child(e, "title")->text.data, "The Sea & \"Sky\"");
	assert_string_equal(child(e, "id")->text.data, "urn:kosyncd:book:b1");
	assert_string_equal(
	    child(e, "updated")->text.data, "2023-11-14T22:13:20Z");
	assert_int_equal(count(e, "author"), 1);
	assert_string_equal(child(child(e, "author"), "name")->text.data,
	    "Ann Smith, Bo <Jones> & Co");
	c = child(e, "content");
	assert_string_equal(attr(c, "type"), "text");
	/* The control byte is dropped; the markup stays text. */
	assert_string_equal(
	    c->text.data, "42 % read.\n\nA tale of <b>waves</b>.");
	assert_string_equal(child(e, "dc:language")->text.data, "en");
	assert_string_equal(child(e, "dc:publisher")->text.data, "Pub");
	assert_string_equal(child(e, "dc:identifier")->text.data, "urn:isbn:1");
	assert_int_equal(count(e, "category"), 3);
	assert_string_equal(attr(child(e, "category"), "label"), "Waves #2.5");
	l = link_rel(e, OPDSFMT_REL_OPEN);
	assert_string_equal(attr(l, "type"), "application/epub+zip");
	assert_string_equal(attr(l, "length"), "12345");
	assert_string_equal(attr(l, "href"), "/opds/file/abc/A.epub");
	assert_string_equal(
	    attr(link_rel(e, OPDSFMT_REL_IMAGE), "href"), "/opds/cover/b1");
	assert_string_equal(attr(link_rel(e, OPDSFMT_REL_THUMB), "href"),
	    "/opds/cover/b1?thumb=1");
	l = link_rel(e, OPDSFMT_REL_PSE);
	assert_string_equal(
	    attr(l, "href"), "/opds/pse/abc/{pageNumber}?maxWidth={maxWidth}");
	assert_string_equal(attr(l, "pse:count"), "24");
	assert_string_equal(attr(l, "pse:lastRead"), "7");
	/* The second: no author element at all, no content, no PSE. */
	e = e->next;
	assert_int_equal(count(e, "author"), 0);
	assert_int_equal(count(e, "content"), 0);
	assert_null(link_rel(e, OPDSFMT_REL_PSE));
	node_free(root);
	buf_release(&b);
}

/* Each prefix resolves to its specification's namespace. */
static void
test_opdsfmt__atom_namespaces(void **state)
{
	struct buf b = BUF_INIT;
	struct node *root;
	const struct node *e, *l;

	(void)state;
	opdsfmt_atom(&b, &acq_feed);
	root = parse(&b, true);
	assert_string_equal(root->name, "http://www.w3.org/2005/Atom feed");
	assert_non_null(child(root, "http://www.w3.org/2005/Atom entry"));
	assert_non_null(
	    child(root, "http://a9.com/-/spec/opensearch/1.1/ totalResults"));
	e = child(root, "http://www.w3.org/2005/Atom entry");
	assert_non_null(child(e, "http://purl.org/dc/terms/ language"));
	for (l = root->child; l != NULL; l = l->next)
		if (attr(l, "http://opds-spec.org/2010/catalog activeFacet"))
			break;
	assert_non_null(l);
	assert_non_null(
	    attr(l, "http://opds-spec.org/2010/catalog facetGroup"));
	for (l = e->child; l != NULL; l = l->next)
		if (attr(l, "http://vaemendis.net/opds-pse/ns count"))
			break;
	assert_non_null(l);
	for (l = root->child; l != NULL; l = l->next)
		if (attr(l, "http://purl.org/syndication/thread/1.0 count"))
			break;
	assert_non_null(l);
	node_free(root);
	buf_release(&b);
}

/* A navigation feed: each entry a sub-catalog KOReader follows. */
static void
test_opdsfmt__atom_navigation(void **state)
{
	struct buf b = BUF_INIT;
	struct node *root;
	const struct node *e, *l;

	(void)state;
	opdsfmt_atom(&b, &nav_feed);
	root = parse(&b, false);
	check_atom_common(root);
	assert_string_equal(attr(link_rel(root, "self"), "type"), OPDSFMT_NAV);
	assert_null(link_rel(root, "next"));
	assert_null(child(root, "opensearch:totalResults"));
	e = child(root, "entry");
	check_atom_common(e);
	assert_int_equal(count(e, "author"), 0);
	l = child(e, "link");
	assert_string_equal(attr(l, "rel"), "subsection");
	assert_non_null(strstr(attr(l, "type"), "application/atom+xml"));
	assert_string_equal(attr(l, "thr:count"), "3");
	assert_string_equal(
	    child(e, "content")->text.data, "The books you are reading");
	e = e->next;
	l = child(e, "link");
	assert_string_equal(attr(l, "rel"), "http://opds-spec.org/sort/new");
	assert_null(attr(l, "thr:count"));
	node_free(root);
	buf_release(&b);
}

/* Bytes XML forbids, markup and a string that is not UTF-8. */
static void
test_opdsfmt__hostile_text(void **state)
{
	static const char *const bad_authors[] = {"\xff\xfe"
	                                          "Eve\x1b]0;",
	    "", NULL};
	static const struct opdsfmt_link links[] = {
	    {"x\"y", "a<b", "/h?a=1&b=\"2\"", "t\r\n", NULL, -1, false, 0, 0,
	        0},
	};
	static const struct opdsfmt_entry e[] = {
	    {"urn:x", "]]><!-- <?pi?> &#0; \x0b\x0c", bad_authors, 3,
	        "\xc3\x28 bad", NULL, NULL, NULL, NULL, 0, false, NULL, 0, 0,
	        links, 1},
	};
	struct opdsfmt_feed f = nav_feed;
	struct json_arena a = JSON_ARENA_INIT;
	struct buf b = BUF_INIT;
	struct node *root;
	const struct node *n;

	(void)state;
	f.acquisition = true;
	f.entries = e;
	f.nentries = 1;
	opdsfmt_atom(&b, &f);
	root = parse(&b, false);
	n = child(root, "entry");
	assert_string_equal(
	    child(n, "title")->text.data, "]]><!-- <?pi?> &#0; ");
	assert_string_equal(
	    child(child(n, "author"), "name")->text.data, "Eve]0;");
	assert_string_equal(child(n, "content")->text.data, "( bad");
	assert_string_equal(attr(child(n, "link"), "href"), "/h?a=1&b=\"2\"");
	/* An attribute's newline reads as a space (XML normalises it). */
	assert_string_equal(attr(child(n, "link"), "title"), "t ");
	node_free(root);
	buf_release(&b);
	/* The JSON of the same is valid JSON and UTF-8. */
	opdsfmt_json(&b, &f);
	assert_non_null(json_parse(b.data, b.len, json_arena_alloc, &a, NULL));
	assert_true(json_utf8_valid(b.data, b.len));
	json_arena_release(&a);
	buf_release(&b);
}

/* --- OpenSearch -------------------------------------------------------- */

static void
test_opdsfmt__osd(void **state)
{
	struct buf b = BUF_INIT;
	struct node *root;
	const struct node *u;
	const char *t;

	(void)state;
	opdsfmt_osd(
	    &b, "Search & find", "http://h/opds/search?q={searchTerms}");
	assert_memory_equal(b.data, "<?xml", 5);
	root = parse(&b, false);
	assert_string_equal(root->name, "OpenSearchDescription");
	assert_string_equal(
	    attr(root, "xmlns"), "http://a9.com/-/spec/opensearch/1.1/");
	assert_string_equal(
	    child(root, "ShortName")->text.data, "Search & find");
	assert_int_equal(count(root, "Url"), 1);
	u = child(root, "Url");
	assert_non_null(strstr(attr(u, "type"), "application/atom+xml"));
	t = attr(u, "template");
	assert_string_equal(t, "http://h/opds/search?q={searchTerms}");
	/* {searchTerms} is the one parameter: KOReader fills no other. */
	assert_ptr_equal(strchr(t, '{'), strstr(t, "{searchTerms}"));
	assert_null(strchr(strstr(t, "}") + 1, '{'));
	node_free(root);
	buf_release(&b);
}

/* --- OPDS 2.0 ---------------------------------------------------------- */

static const struct json_value *
jget(const struct json_value *v, const char *key)
{
	const struct json_value *r = json_get(v, key);

	if (r == NULL)
		fail_msg("no \"%s\"", key);
	return r;
}

static bool
jstr_is(const struct json_value *v, const char *key, const char *want)
{
	struct str s = json_get_str(v, key);

	return s.p != NULL && str_eqs(s, want);
}

/* A Link Object: href a string; rel, type, title strings when present. */
static void
check_link(const struct json_value *l)
{
	assert_int_equal(l->type, JSON_OBJECT);
	assert_non_null(json_get_str(l, "href").p);
	if (json_get(l, "rel") != NULL)
		assert_non_null(json_get_str(l, "rel").p);
	if (json_get(l, "type") != NULL)
		assert_non_null(json_get_str(l, "type").p);
	if (json_get(l, "templated") != NULL)
		assert_int_equal(jget(l, "templated")->type, JSON_TRUE);
}

static const struct json_value *
jlink_rel(const struct json_value *links, const char *rel)
{
	const struct json_value *l;

	for (l = links->child; l != NULL; l = l->next)
		if (jstr_is(l, "rel", rel))
			return l;
	return NULL;
}

static void
test_opdsfmt__json_publications(void **state)
{
	struct json_arena a = JSON_ARENA_INIT;
	struct buf b = BUF_INIT;
	const struct json_value *root, *v, *p, *m, *g;
	double d;
	size_t n = 0;

	(void)state;
	opdsfmt_json(&b, &acq_feed);
	assert_int_equal(b.data[0], '{');
	root = json_parse(b.data, b.len, json_arena_alloc, &a, NULL);
	assert_non_null(root);
	assert_true(jstr_is(jget(root, "metadata"), "title", "All books"));
	assert_int_equal(
	    json_number(jget(jget(root, "metadata"), "currentPage"), false, &d),
	    0);
	assert_true(d == 2);
	v = jget(root, "links");
	for (p = v->child; p != NULL; p = p->next)
		check_link(p);
	assert_true(jstr_is(jlink_rel(v, "self"), "href", "/opds/all?page=2"));
	assert_true(jstr_is(jlink_rel(v, "next"), "type", OPDSFMT_JSON));
	assert_null(jlink_rel(v, "last"));
	assert_null(json_get(root, "navigation"));
	v = jget(root, "publications");
	assert_int_equal(v->type, JSON_ARRAY);
	for (p = v->child; p != NULL; p = p->next) {
		n++;
		m = jget(p, "metadata");
		assert_non_null(json_get_str(m, "title").p);
		assert_non_null(json_get_str(m, "identifier").p);
		assert_int_equal(jget(p, "links")->type, JSON_ARRAY);
		assert_non_null(jget(p, "links")->child); /* at least one */
		for (g = jget(p, "links")->child; g != NULL; g = g->next)
			check_link(g);
		for (g = jget(p, "images")->child; g != NULL; g = g->next)
			check_link(g);
	}
	assert_int_equal(n, 2);
	p = v->child;
	m = jget(p, "metadata");
	assert_true(jstr_is(m, "title", "The Sea & \"Sky\""));
	assert_true(jstr_is(m, "identifier", "urn:isbn:1"));
	assert_true(jstr_is(jget(m, "author")->child, "name", "Ann Smith"));
	assert_true(
	    jstr_is(jget(m, "author")->child->next, "name", "Bo <Jones> & Co"));
	assert_true(
	    jstr_is(m, "description", "42 % read.\n\nA tale of <b>waves</b>."));
	assert_true(jstr_is(m, "modified", "2023-11-14T22:13:20Z"));
	assert_true(
	    jstr_is(jget(jget(m, "belongsTo"), "series"), "name", "Waves"));
	assert_true(jstr_is(jget(p, "links")->child, "rel", OPDSFMT_REL_OPEN));
	assert_true(
	    jstr_is(jget(p, "links")->child, "type", "application/epub+zip"));
	assert_null(jget(p, "links")->child->next); /* no PSE in OPDS 2 */
	assert_true(
	    jstr_is(jget(p, "images")->child, "href", "/opds/cover/b1"));
	/* Facets: two groups, the active one marked "self". */
	v = jget(root, "facets");
	g = v->child;
	assert_true(jstr_is(jget(g, "metadata"), "title", "Sort"));
	assert_true(jstr_is(jget(g, "links")->child, "rel", "self"));
	assert_true(jstr_is(jget(g, "links")->child->next, "title", "Added"));
	g = g->next;
	assert_true(jstr_is(jget(g, "metadata"), "title", "Language"));
	assert_int_equal(
	    json_number(jget(jget(jget(g, "links")->child, "properties"),
	                    "numberOfItems"),
	        false, &d),
	    0);
	assert_true(d == 12);
	assert_null(g->next);
	json_arena_release(&a);
	buf_release(&b);
}

static void
test_opdsfmt__json_navigation(void **state)
{
	struct json_arena a = JSON_ARENA_INIT;
	struct buf b = BUF_INIT;
	const struct json_value *root, *v, *s;
	struct opdsfmt_feed f = nav_feed;

	(void)state;
	f.search = "/opds/v2/search{?query}";
	opdsfmt_json(&b, &f);
	root = json_parse(b.data, b.len, json_arena_alloc, &a, NULL);
	assert_non_null(root);
	assert_null(json_get(root, "publications"));
	assert_null(json_get(root, "facets"));
	v = jget(root, "navigation");
	assert_true(jstr_is(v->child, "title", "Reading now"));
	assert_true(jstr_is(v->child, "href", "/opds/reading"));
	assert_true(jstr_is(v->child, "rel", "subsection"));
	assert_non_null(
	    json_get(jget(v->child, "properties"), "numberOfItems"));
	assert_true(jstr_is(v->child->next, "title", "Recently added"));
	/* KOReader fills a template holding "query". */
	s = jlink_rel(jget(root, "links"), "search");
	assert_true(jstr_is(s, "href", "/opds/v2/search{?query}"));
	assert_int_equal(jget(s, "templated")->type, JSON_TRUE);
	json_arena_release(&a);
	buf_release(&b);
}

/* --- Names and queries ------------------------------------------------- */

static void
test_opdsfmt__filename(void **state)
{
	static const char *const au[] = {"Victor Hugo"};
	static const char *const two[] = {"A/B", "C\"D"};
	/* Percent-encoded for KOReader; for a browser, UTF-8 kept. */
	static const struct {
		bool utf8;
		const char *const *au;
		size_t n;
		const char *title, *ext, *want;
	} t[] = {
	    {false, au, 1, "Les Mis\xc3\xa9rables", "epub",
	        "Victor Hugo - Les Mis%C3%A9rables.epub"},
	    {false, two, 2, "50% \\off", "pdf",
	        "A%2FB, C%22D - 50%25 %5Coff.pdf"},
	    {false, NULL, 0, NULL, "cb/z\"", "Unknown - Untitled.cbz"},
	    {false, au, 1, "Les Mis\xc3\xa9rables", "fb2.zip",
	        "Victor Hugo - Les Mis%C3%A9rables.fb2.zip"},
	    {true, au, 1, "Les Mis\xc3\xa9rables", "epub",
	        "Victor Hugo - Les Mis\xc3\xa9rables.epub"},
	    {true, two, 2, "50% \\off\ttab", "pdf",
	        "A_B, C_D - 50% _off_tab.pdf"},
	    {true, NULL, 0, NULL, "cb/z\"", "Unknown - Untitled.cbz"},
	};
	struct buf b = BUF_INIT;
	char title[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		(t[i].utf8 ? opdsfmt_filename_utf8 : opdsfmt_filename)(
		    &b, t[i].au, t[i].n, t[i].title, t[i].ext);
		assert_string_equal(b.data, t[i].want);
	}
	buf_reset(&b);
	for (i = 0; i < sizeof(title) - 1; i++)
		title[i] = i % 2 ? 'x' : '\xe9'; /* not UTF-8: ASCII kept */
	title[i] = '\0';
	opdsfmt_filename(&b, au, 1, title, "txt");
	assert_true(b.len <= OPDSFMT_MAX_NAME + 4);
	assert_string_equal(b.data + b.len - 4, ".txt");
	buf_reset(&b);
	memset(title, '\xc3', sizeof(title) - 1); /* cut between %XX only */
	for (i = 1; i < sizeof(title) - 1; i += 2)
		title[i] = '\xa9';
	title[sizeof(title) - 2] = '\0';
	opdsfmt_filename(&b, au, 1, title, NULL);
	assert_true(b.len <= OPDSFMT_MAX_NAME);
	assert_int_equal((b.len - strlen("Victor Hugo - ")) % 3, 0);

	/* For a browser: cut on a character (from an even, an odd offset). */
	buf_reset(&b);
	for (i = 0; i + 2 < sizeof(title); i += 2)
		memcpy(title + i, "\xc3\xa9", 2);
	title[i] = '\0';
	opdsfmt_filename_utf8(&b, au, 1, title, "txt");
	assert_int_equal(b.len, OPDSFMT_MAX_NAME + 4); /* 14 + 2k bytes */
	assert_string_equal(b.data + b.len - 4, ".txt");
	assert_true(json_utf8_valid(b.data, b.len));
	buf_reset(&b);
	opdsfmt_filename_utf8(
	    &b, (const char *const[]){"Victor Hugo!"}, 1, title, NULL);
	assert_int_equal(b.len, OPDSFMT_MAX_NAME - 1); /* 15 + 2k */
	assert_true(json_utf8_valid(b.data, b.len));
	buf_release(&b);
}

static void
test_opdsfmt__query(void **state)
{
	static const char q[] = "page=2&q=caf%C3%A9+au+lait&empty=&flag&x=%4";
	char out[16];

	(void)state;
	assert_int_equal(
	    opdsfmt_query(q, strlen(q), "page", out, sizeof(out)), 1);
	assert_string_equal(out, "2");
	assert_int_equal(
	    opdsfmt_query(q, strlen(q), "q", out, sizeof(out)), 13);
	assert_string_equal(out, "caf\xc3\xa9 au lait");
	assert_int_equal(
	    opdsfmt_query(q, strlen(q), "empty", out, sizeof(out)), 0);
	assert_int_equal(
	    opdsfmt_query(q, strlen(q), "flag", out, sizeof(out)), 0);
	assert_int_equal(
	    opdsfmt_query(q, strlen(q), "pag", out, sizeof(out)), -1);
	assert_int_equal(
	    opdsfmt_query(q, strlen(q), "x", out, sizeof(out)), -2);
	assert_int_equal(opdsfmt_query(q, strlen(q), "q", out, 5), -2);
	assert_int_equal(opdsfmt_query("a=%00", 5, "a", out, sizeof(out)), -2);
	assert_int_equal(opdsfmt_query("a=%ff", 5, "a", out, sizeof(out)), -2);
	assert_int_equal(opdsfmt_query("", 0, "a", out, sizeof(out)), -1);
	assert_int_equal(opdsfmt_query("&&a=1", 5, "a", out, sizeof(out)), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opdsfmt__atom_as_koreader_reads_it),
	    cmocka_unit_test(test_opdsfmt__atom_namespaces),
	    cmocka_unit_test(test_opdsfmt__atom_navigation),
	    cmocka_unit_test(test_opdsfmt__hostile_text),
	    cmocka_unit_test(test_opdsfmt__osd),
	    cmocka_unit_test(test_opdsfmt__json_publications),
	    cmocka_unit_test(test_opdsfmt__json_navigation),
	    cmocka_unit_test(test_opdsfmt__filename),
	    cmocka_unit_test(test_opdsfmt__query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
