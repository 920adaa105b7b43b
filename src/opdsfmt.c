/*
 * opdsfmt.c: OPDS 1.2 Atom, its OpenSearch description and OPDS 2.0 JSON
 * (see opdsfmt.h), written into a struct buf in one pass.
 *
 * Every string from a book goes through safe_text first (XML 1.0's
 * forbidden bytes dropped, non-UTF-8 reduced to ASCII), then through
 * davxml_escape (Atom) or json.c (JSON), so no book can break the
 * document. Lists (authors, tags) stop at OPDSFMT_MAX_LIST.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "davpath.h"
#include "davxml.h"
#include "json.h"
#include "opdsfmt.h"

#define ATOM_NS                                                                \
	"xmlns=\"http://www.w3.org/2005/Atom\" "                               \
	"xmlns:dc=\"http://purl.org/dc/terms/\" "                              \
	"xmlns:opds=\"http://opds-spec.org/2010/catalog\" "                    \
	"xmlns:thr=\"http://purl.org/syndication/thread/1.0\" "                \
	"xmlns:pse=\"http://vaemendis.net/opds-pse/ns\" "                      \
	"xmlns:opensearch=\"http://a9.com/-/spec/opensearch/1.1/\""

/*
 * Append s made safe for XML 1.0 and JSON to out: control bytes but tab
 * and newline dropped (a CR becomes nothing either); a string that is not
 * UTF-8 keeps its printable ASCII bytes only.
 */
static void
safe_text(struct buf *out, const char *s)
{
	size_t i, n = strlen(s);
	bool utf8 = json_utf8_valid(s, n);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 && c != '\t' && c != '\n')
			continue;
		if (c == 0x7f || (!utf8 && c >= 0x80))
			continue;
		buf_addch(out, c);
	}
}

/* Append s (NULL: nothing) safe and escaped for XML text or attributes. */
static void
xml_text(struct buf *b, const char *s)
{
	struct buf t = BUF_INIT;

	if (s == NULL)
		return;
	safe_text(&t, s);
	davxml_escape(b, t.data, t.len);
	buf_release(&t);
}

/* Write key: s (made safe) into o; nothing when s is NULL. */
static void
json_text(struct json_out *o, const char *key, const char *s)
{
	struct buf t = BUF_INIT;

	if (s == NULL)
		return;
	safe_text(&t, s);
	json_key(o, key);
	json_strn(o, t.data, t.len);
	buf_release(&t);
}

/* Append the authors of e joined by ", " (made safe, unescaped) to t. */
static void
join_authors(struct buf *t, const char *const *authors, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < OPDSFMT_MAX_LIST; i++) {
		if (authors[i] == NULL || authors[i][0] == '\0')
			continue;
		if (t->len > 0)
			buf_adds(t, ", ");
		safe_text(t, authors[i]);
	}
}

void
opdsfmt_time(int64_t t, bool http, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	strftime(out, size,
	    http ? "%a, %d %b %Y %H:%M:%S GMT" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
opdsfmt_href(struct buf *b, const char *s)
{
	davpath_encode(b, str_from(s), false);
}

/* --- OPDS 1.2 Atom ------------------------------------------------------ */

/* Append <link .../> for l (feed-level or entry-level). */
static void
atom_link(struct buf *b, const struct opdsfmt_link *l)
{
	buf_adds(b, "<link");
	if (l->rel != NULL) {
		buf_adds(b, " rel=\"");
		xml_text(b, l->rel);
		buf_addch(b, '"');
	}
	if (l->type != NULL) {
		buf_adds(b, " type=\"");
		xml_text(b, l->type);
		buf_addch(b, '"');
	}
	buf_adds(b, " href=\"");
	xml_text(b, l->href);
	buf_addch(b, '"');
	if (l->title != NULL) {
		buf_adds(b, " title=\"");
		xml_text(b, l->title);
		buf_addch(b, '"');
	}
	if (l->facet_group != NULL) {
		buf_adds(b, " opds:facetGroup=\"");
		xml_text(b, l->facet_group);
		buf_addch(b, '"');
	}
	if (l->count >= 0)
		buf_addf(b, " thr:count=\"%" PRId64 "\"", l->count);
	if (l->active)
		buf_adds(b, " opds:activeFacet=\"true\"");
	if (l->length > 0)
		buf_addf(b, " length=\"%" PRIu64 "\"", l->length);
	if (l->pse_count > 0) {
		buf_addf(b, " pse:count=\"%" PRId64 "\"", l->pse_count);
		if (l->pse_last_read > 0)
			buf_addf(b, " pse:lastRead=\"%" PRId64 "\"",
			    l->pse_last_read);
	}
	buf_adds(b, "/>\n");
}

/* Append a feed-level link (rel, type, href) when href is set. */
static void
atom_feed_link(
    struct buf *b, const char *rel, const char *type, const char *href)
{
	struct opdsfmt_link l;

	if (href == NULL)
		return;
	memset(&l, 0, sizeof(l));
	l.rel = rel;
	l.type = type;
	l.href = href;
	l.count = -1;
	atom_link(b, &l);
}

/* Append <tag>text</tag> when text is set. */
static void
atom_elem(struct buf *b, const char *tag, const char *text)
{
	if (text == NULL || text[0] == '\0')
		return;
	buf_addf(b, "<%s>", tag);
	xml_text(b, text);
	buf_addf(b, "</%s>\n", tag);
}

static void
atom_entry(struct buf *b, const struct opdsfmt_entry *e)
{
	struct buf t = BUF_INIT;
	char when[40];
	size_t i;

	opdsfmt_time(e->updated, false, when, sizeof(when));
	buf_adds(b, "<entry>\n");
	atom_elem(b, "title", e->title);
	atom_elem(b, "id", e->id);
	buf_addf(b, "<updated>%s</updated>\n", when);
	join_authors(&t, e->authors, e->nauthors);
	if (t.len > 0) {
		buf_adds(b, "<author><name>");
		davxml_escape(b, t.data, t.len);
		buf_adds(b, "</name></author>\n");
	}
	buf_release(&t);
	atom_elem(b, "dc:language", e->language);
	atom_elem(b, "dc:publisher", e->publisher);
	atom_elem(b, "dc:identifier", e->identifier);
	if (e->series != NULL && e->series[0] != '\0') {
		buf_adds(b, "<category scheme=\"urn:kosyncd:series\" term=\"");
		xml_text(b, e->series);
		buf_adds(b, "\" label=\"");
		xml_text(b, e->series);
		if (e->has_series_index) {
			buf_adds(b, " #");
			json_format_double(b, e->series_index);
		}
		buf_adds(b, "\"/>\n");
	}
	for (i = 0; i < e->ntags && i < OPDSFMT_MAX_LIST; i++) {
		buf_adds(b, "<category term=\"");
		xml_text(b, e->tags[i]);
		buf_adds(b, "\" label=\"");
		xml_text(b, e->tags[i]);
		buf_adds(b, "\"/>\n");
	}
	if (e->content != NULL && e->content[0] != '\0') {
		buf_adds(b, "<content type=\"text\">");
		xml_text(b, e->content);
		buf_adds(b, "</content>\n");
	}
	for (i = 0; i < e->nlinks; i++)
		atom_link(b, &e->links[i]);
	buf_adds(b, "</entry>\n");
}

void
opdsfmt_atom(struct buf *b, const struct opdsfmt_feed *f)
{
	const char *kind = f->acquisition ? OPDSFMT_ACQ : OPDSFMT_NAV;
	char when[40];
	size_t i;

	opdsfmt_time(f->updated, false, when, sizeof(when));
	buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	            "<feed " ATOM_NS ">\n");
	atom_elem(b, "id", f->id);
	atom_elem(b, "title", f->title);
	buf_addf(b,
	    "<updated>%s</updated>\n"
	    "<author><name>kosyncd</name></author>\n",
	    when);
	atom_feed_link(b, "self", kind, f->self);
	atom_feed_link(b, "start", OPDSFMT_NAV, f->start);
	atom_feed_link(b, "up", OPDSFMT_NAV, f->up);
	atom_feed_link(b, "search", OPDSFMT_OSD, f->search);
	atom_feed_link(b, "first", kind, f->first);
	atom_feed_link(b, "previous", kind, f->previous);
	atom_feed_link(b, "next", kind, f->next);
	atom_feed_link(b, "last", kind, f->last);
	for (i = 0; i < f->nfacets; i++)
		atom_link(b, &f->facets[i]);
	if (f->per_page > 0)
		buf_addf(b,
		    "<opensearch:totalResults>%" PRIu64
		    "</opensearch:totalResults>\n"
		    "<opensearch:itemsPerPage>%" PRIu64
		    "</opensearch:itemsPerPage>\n"
		    "<opensearch:startIndex>%" PRIu64
		    "</opensearch:startIndex>\n",
		    f->total, f->per_page, f->offset + 1);
	for (i = 0; i < f->nentries; i++)
		atom_entry(b, &f->entries[i]);
	buf_adds(b, "</feed>\n");
}

void
opdsfmt_osd(struct buf *b, const char *title, const char *template)
{
	buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	            "<OpenSearchDescription "
	            "xmlns=\"http://a9.com/-/spec/opensearch/1.1/\">\n"
	            "<ShortName>");
	xml_text(b, title);
	buf_adds(b, "</ShortName>\n<Description>");
	xml_text(b, title);
	buf_adds(b, "</Description>\n"
	            "<InputEncoding>UTF-8</InputEncoding>\n"
	            "<OutputEncoding>UTF-8</OutputEncoding>\n"
	            "<Url type=\"" OPDSFMT_ACQ "\" template=\"");
	xml_text(b, template);
	buf_adds(b, "\"/>\n</OpenSearchDescription>\n");
}

/* --- OPDS 2.0 JSON ------------------------------------------------------ */

/* Write one link object of l (OPDS 2: properties.numberOfItems). */
static void
json_link(struct json_out *o, const struct opdsfmt_link *l, bool self)
{
	json_obj_begin(o);
	json_text(o, "href", l->href);
	if (self)
		json_text(o, "rel", "self");
	else
		json_text(o, "rel", l->rel);
	json_text(o, "type", l->type);
	json_text(o, "title", l->title);
	if (l->href != NULL && strchr(l->href, '{') != NULL) {
		json_key(o, "templated");
		json_bool(o, true);
	}
	if (l->count >= 0) {
		json_key(o, "properties");
		json_obj_begin(o);
		json_key(o, "numberOfItems");
		json_int(o, l->count);
		json_obj_end(o);
	}
	json_obj_end(o);
}

static void
json_feed_link(struct json_out *o, const char *rel, const char *type,
    const char *href, bool templated)
{
	if (href == NULL)
		return;
	json_obj_begin(o);
	json_text(o, "rel", rel);
	json_text(o, "href", href);
	json_text(o, "type", type);
	if (templated) {
		json_key(o, "templated");
		json_bool(o, true);
	}
	json_obj_end(o);
}

static bool
is_image(const struct opdsfmt_link *l)
{
	return l->rel != NULL && (strcmp(l->rel, OPDSFMT_REL_IMAGE) == 0 ||
	                             strcmp(l->rel, OPDSFMT_REL_THUMB) == 0);
}

static void
json_publication(struct json_out *o, const struct opdsfmt_entry *e)
{
	char when[40];
	size_t i;

	opdsfmt_time(e->updated, false, when, sizeof(when));
	json_obj_begin(o);
	json_key(o, "metadata");
	json_obj_begin(o);
	json_text(o, "@type", "http://schema.org/Book");
	json_text(
	    o, "identifier", e->identifier != NULL ? e->identifier : e->id);
	json_text(o, "title", e->title);
	if (e->nauthors > 0) {
		json_key(o, "author");
		json_arr_begin(o);
		for (i = 0; i < e->nauthors && i < OPDSFMT_MAX_LIST; i++) {
			json_obj_begin(o);
			json_text(o, "name", e->authors[i]);
			json_obj_end(o);
		}
		json_arr_end(o);
	}
	json_text(o, "language", e->language);
	json_text(o, "publisher", e->publisher);
	json_text(o, "description", e->content);
	json_text(o, "modified", when);
	if (e->ntags > 0) {
		json_key(o, "subject");
		json_arr_begin(o);
		for (i = 0; i < e->ntags && i < OPDSFMT_MAX_LIST; i++) {
			struct buf t = BUF_INIT;

			safe_text(&t, e->tags[i]);
			json_strn(o, t.data, t.len);
			buf_release(&t);
		}
		json_arr_end(o);
	}
	if (e->series != NULL && e->series[0] != '\0') {
		json_key(o, "belongsTo");
		json_obj_begin(o);
		json_key(o, "series");
		json_obj_begin(o);
		json_text(o, "name", e->series);
		if (e->has_series_index) {
			json_key(o, "position");
			json_double(o, e->series_index);
		}
		json_obj_end(o);
		json_obj_end(o);
	}
	json_obj_end(o);
	json_key(o, "links");
	json_arr_begin(o);
	for (i = 0; i < e->nlinks; i++) {
		const struct opdsfmt_link *l = &e->links[i];

		if (!is_image(l) &&
		    (l->rel == NULL || strcmp(l->rel, OPDSFMT_REL_PSE) != 0))
			json_link(o, l, false);
	}
	json_arr_end(o);
	json_key(o, "images");
	json_arr_begin(o);
	for (i = 0; i < e->nlinks; i++)
		if (is_image(&e->links[i]))
			json_link(o, &e->links[i], false);
	json_arr_end(o);
	json_obj_end(o);
}

/* Write f's facets grouped by facet_group, groups in first-seen order. */
static void
json_facets(struct json_out *o, const struct opdsfmt_feed *f)
{
	size_t i, j, k;

	json_key(o, "facets");
	json_arr_begin(o);
	for (i = 0; i < f->nfacets; i++) {
		const char *g = f->facets[i].facet_group;

		g = g != NULL ? g : "Filters";
		for (k = 0; k < i; k++) {
			const char *h = f->facets[k].facet_group;

			if (strcmp(h != NULL ? h : "Filters", g) == 0)
				break;
		}
		if (k < i)
			continue; /* the group is written already */
		json_obj_begin(o);
		json_key(o, "metadata");
		json_obj_begin(o);
		json_text(o, "title", g);
		json_obj_end(o);
		json_key(o, "links");
		json_arr_begin(o);
		for (j = i; j < f->nfacets; j++) {
			const char *h = f->facets[j].facet_group;

			if (strcmp(h != NULL ? h : "Filters", g) == 0)
				json_link(
				    o, &f->facets[j], f->facets[j].active);
		}
		json_arr_end(o);
		json_obj_end(o);
	}
	json_arr_end(o);
}

void
opdsfmt_json(struct buf *b, const struct opdsfmt_feed *f)
{
	struct json_out o;
	char when[40];
	size_t i;

	opdsfmt_time(f->updated, false, when, sizeof(when));
	json_out_init(&o, b, false);
	json_obj_begin(&o);
	json_key(&o, "metadata");
	json_obj_begin(&o);
	json_text(&o, "title", f->title);
	json_text(&o, "modified", when);
	if (f->per_page > 0) {
		json_key(&o, "numberOfItems");
		json_uint(&o, f->total);
		json_key(&o, "itemsPerPage");
		json_uint(&o, f->per_page);
		json_key(&o, "currentPage");
		json_uint(&o, f->offset / f->per_page + 1);
	}
	json_obj_end(&o);
	json_key(&o, "links");
	json_arr_begin(&o);
	json_feed_link(&o, "self", OPDSFMT_JSON, f->self, false);
	json_feed_link(&o, "start", OPDSFMT_JSON, f->start, false);
	json_feed_link(&o, "up", OPDSFMT_JSON, f->up, false);
	json_feed_link(&o, "search", OPDSFMT_JSON, f->search, true);
	json_feed_link(&o, "first", OPDSFMT_JSON, f->first, false);
	json_feed_link(&o, "previous", OPDSFMT_JSON, f->previous, false);
	json_feed_link(&o, "next", OPDSFMT_JSON, f->next, false);
	json_feed_link(&o, "last", OPDSFMT_JSON, f->last, false);
	json_arr_end(&o);
	if (f->nfacets > 0)
		json_facets(&o, f);
	json_key(&o, f->acquisition ? "publications" : "navigation");
	json_arr_begin(&o);
	for (i = 0; i < f->nentries; i++) {
		const struct opdsfmt_entry *e = &f->entries[i];
		struct opdsfmt_link l;

		if (f->acquisition) {
			json_publication(&o, e);
			continue;
		}
		if (e->nlinks == 0)
			continue;
		l = e->links[0];
		l.title = e->title;
		json_link(&o, &l, false);
	}
	json_arr_end(&o);
	json_obj_end(&o);
}

/* --- Names and queries -------------------------------------------------- */

/*
 * The one writer of a download's name (opdsfmt.h): percent-encoded for
 * KOReader, or (utf8) UTF-8 kept for a browser.
 */
static void
filename_write(struct buf *b, const char *const *authors, size_t nauthors,
    const char *title, const char *ext, bool utf8)
{
	struct buf t = BUF_INIT;
	size_t i, start = b->len;

	join_authors(&t, authors, nauthors);
	if (t.len == 0)
		buf_adds(&t, "Unknown");
	buf_adds(&t, " - ");
	safe_text(&t, title != NULL && title[0] != '\0' ? title : "Untitled");
	for (i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.data[i];
		bool bad =
		    c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '/';
		bool plain = !bad && c < 0x7f && c != '%';

		if (utf8) {
			if (b->len - start + 1 > OPDSFMT_MAX_NAME) {
				/* Not inside a character: back to its start. */
				while (
				    c >= 0x80 && c < 0xc0 && b->len > start) {
					c = (unsigned char)b->data[--b->len];
					b->data[b->len] = '\0';
				}
				break;
			}
			buf_addch(b, bad ? '_' : (char)c);
			continue;
		}
		if (b->len - start + (plain ? 1 : 3) > OPDSFMT_MAX_NAME)
			break;
		if (plain)
			buf_addch(b, c);
		else
			buf_addf(b, "%%%02X", c);
	}
	buf_release(&t);
	if (ext != NULL && ext[0] != '\0') {
		buf_addch(b, '.');
		for (i = 0; i < 8 && ext[i] != '\0'; i++)
			if ((ext[i] >= 'a' && ext[i] <= 'z') ||
			    (ext[i] >= 'A' && ext[i] <= 'Z') ||
			    (ext[i] >= '0' && ext[i] <= '9') || ext[i] == '.')
				buf_addch(b, ext[i]);
	}
}

void
opdsfmt_filename(struct buf *b, const char *const *authors, size_t nauthors,
    const char *title, const char *ext)
{
	filename_write(b, authors, nauthors, title, ext, false);
}

void
opdsfmt_filename_utf8(struct buf *b, const char *const *authors,
    size_t nauthors, const char *title, const char *ext)
{
	filename_write(b, authors, nauthors, title, ext, true);
}

long
opdsfmt_query(
    const char *query, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key), i = 0, n, j;

	while (i <= len && len > 0) {
		const char *p = query + i, *amp = memchr(p, '&', len - i);
		size_t plen = amp != NULL ? (size_t)(amp - p) : len - i;

		if (plen > klen && memcmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			for (j = klen + 1, n = 0; j < plen; j++) {
				int c = (unsigned char)p[j];

				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int h, l;

					if (j + 2 >= plen)
						return -2;
					h = str_hex_digit(p[j + 1]);
					l = str_hex_digit(p[j + 2]);
					if (h < 0 || l < 0)
						return -2;
					c = h * 16 + l;
					j += 2;
				}
				if (c == 0 || n + 1 >= cap)
					return -2;
				out[n++] = (char)c;
			}
			out[n] = '\0';
			return json_utf8_valid(out, n) ? (long)n : -2;
		}
		if (plen == klen && memcmp(p, key, klen) == 0) {
			if (cap == 0)
				return -2;
			out[0] = '\0';
			return 0;
		}
		if (amp == NULL)
			break;
		i += plen + 1;
	}
	return -1;
}
