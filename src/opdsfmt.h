/*
 * opdsfmt.h: the OPDS catalog formats, written from plain structs: OPDS 1.2
 * (Atom, with the OpenSearch description its search link names) and
 * OPDS 2.0 (JSON). Pure: no I/O, no library, no HTTP.
 *
 * The Atom is written the way KOReader's OPDS client reads it
 * (../shared/KOREADER-CLOUD.md §4.3): Atom is the default namespace, so
 * entry, link, title, author, name and content are unprefixed; the other
 * names carry the prefixes KOReader matches literally (opds:facetGroup,
 * opds:activeFacet, thr:count, pse:count, pse:lastRead, dc:...); every
 * feed-level link has a type (KOReader records only typed links); an
 * entry has at most one <author>, whose <name> joins all its authors (a
 * second <author> would replace the first in KOReader); descriptions are
 * <content type="text">. The body starts with "<?xml" (no BOM, no
 * whitespace): KOReader tells Atom from JSON by the first byte.
 *
 * Text is written as given once made safe: bytes XML 1.0 forbids (control
 * characters but tab and newline) are dropped and a string that is not
 * UTF-8 keeps only its ASCII bytes. Hrefs are written as given (the
 * caller percent-encodes them, opdsfmt_href).
 *
 * Not here: which feeds exist and their hrefs (opds.c), the library's
 * books (library.h).
 */
#ifndef KOSYNCD_OPDSFMT_H
#define KOSYNCD_OPDSFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The media types of a catalog. */
#define OPDSFMT_NAV "application/atom+xml;profile=opds-catalog;kind=navigation"
#define OPDSFMT_ACQ "application/atom+xml;profile=opds-catalog;kind=acquisition"
#define OPDSFMT_OSD "application/opensearchdescription+xml"
#define OPDSFMT_JSON "application/opds+json"
#define OPDSFMT_JSON_PUB "application/opds-publication+json"

/* The link relations used. */
#define OPDSFMT_REL_ACQ "http://opds-spec.org/acquisition"
#define OPDSFMT_REL_OPEN "http://opds-spec.org/acquisition/open-access"
#define OPDSFMT_REL_IMAGE "http://opds-spec.org/image"
#define OPDSFMT_REL_THUMB "http://opds-spec.org/image/thumbnail"
#define OPDSFMT_REL_FACET "http://opds-spec.org/facet"
#define OPDSFMT_REL_SUB "subsection"
#define OPDSFMT_REL_NEW "http://opds-spec.org/sort/new"
#define OPDSFMT_REL_PSE "http://vaemendis.net/opds-pse/stream"

/* Strings of a field at most, when written (authors, tags). */
#define OPDSFMT_MAX_LIST 64

/*
 * One link. rel, type and title may be NULL (not written); href may not.
 * The rest is written only where it means something: facet_group, count
 * and active on facet links (opds:facetGroup, thr:count,
 * opds:activeFacet; count also on an entry's subsection link);
 * length on acquisitions (bytes); pse_count and pse_last_read on a PSE
 * stream link (pse_count > 0; pse_last_read when > 0).
 */
struct opdsfmt_link {
	const char *rel;
	const char *type;
	const char *href;
	const char *title;
	const char *facet_group;
	int64_t count; /* < 0: none */
	bool active;
	uint64_t length; /* 0: none */
	int64_t pse_count;
	int64_t pse_last_read;
};

/*
 * One entry: a book (links carry acquisitions, images, a PSE stream) or a
 * navigation row (its first link is the subsection it opens). Every
 * string but id and title may be NULL.
 */
struct opdsfmt_entry {
	const char *id; /* an URI: "urn:kosyncd:book:<id>" */
	const char *title;
	const char *const *authors; /* nauthors strings */
	size_t nauthors;
	const char *content; /* plain text ("Book information") */
	const char *language;
	const char *publisher;
	const char *identifier; /* e.g. "urn:isbn:..." */
	const char *series;
	double series_index; /* when has_series_index */
	bool has_series_index;
	const char *const *tags; /* ntags strings */
	size_t ntags;
	int64_t updated; /* unix seconds */
	const struct opdsfmt_link *links;
	size_t nlinks;
};

/*
 * One feed. Hrefs (self, start, up, search, next, previous, first, last)
 * may be NULL but self and start. In Atom, search is the OpenSearch
 * description's address; in JSON, the templated search address (e.g.
 * ".../search{?query}", the form KOReader fills). total, offset and
 * per_page give the OpenSearch counts (Atom) and metadata (JSON) when
 * per_page > 0.
 */
struct opdsfmt_feed {
	const char *id;
	const char *title;
	int64_t updated;
	bool acquisition; /* entries are books (else navigation rows) */
	const char *self, *start, *up, *search;
	const char *next, *previous, *first, *last;
	const struct opdsfmt_link *facets;
	size_t nfacets;
	const struct opdsfmt_entry *entries;
	size_t nentries;
	uint64_t total, offset, per_page;
};

/* Append f as an OPDS 1.2 Atom feed to b. */
void opdsfmt_atom(struct buf *b, const struct opdsfmt_feed *f);

/*
 * Append f as an OPDS 2.0 feed to b: navigation rows in "navigation",
 * books in "publications" (metadata, links, images), facets grouped by
 * facet_group. PSE links are left out (OPDS 2 has none).
 */
void opdsfmt_json(struct buf *b, const struct opdsfmt_feed *f);

/*
 * Append an OpenSearch description to b whose one Url (of type
 * OPDSFMT_ACQ) is template, which holds "{searchTerms}" and no other
 * parameter (KOReader fills that one only).
 */
void opdsfmt_osd(struct buf *b, const char *title, const char *template);

/* RFC 3339 (Atom) or RFC 1123 (HTTP, http true) time of t into out. */
void opdsfmt_time(int64_t t, bool http, char *out, size_t size);

/* Append s percent-encoded for one segment or query value of an href. */
void opdsfmt_href(struct buf *b, const char *s);

/*
 * Append a download's file name "Author - Title.ext" (authors joined by
 * ", "; "Unknown" for none), plain ASCII for a quoted Content-Disposition
 * filename: '"', '\\', '/', '%', control bytes and every non-ASCII byte
 * are percent-encoded (KOReader URL-decodes the name it reads, so UTF-8
 * titles come back whole), at most OPDSFMT_MAX_NAME bytes before the
 * extension (cut before a %XX, never inside one); ext ("epub", "fb2.zip":
 * library_file_ext) keeps its letters, digits and dots, 8 at most.
 */
#define OPDSFMT_MAX_NAME 200
void opdsfmt_filename(struct buf *b, const char *const *authors,
    size_t nauthors, const char *title, const char *ext);
/*
 * The same name for a browser (the web interface's download): UTF-8
 * kept as it is, '"', '\\', '/' and control bytes written as '_', '%'
 * kept, at most OPDSFMT_MAX_NAME bytes before the extension, cut on a
 * character boundary.
 */
void opdsfmt_filename_utf8(struct buf *b, const char *const *authors,
    size_t nauthors, const char *title, const char *ext);

/*
 * The value of key in query (a URL's query, without '?', len bytes),
 * percent-decoded ('+' is a space) into out (cap bytes, NUL-terminated).
 * Returns its length, -1 when key is absent, -2 when the value does not
 * fit, holds a NUL or a bad %XX, or is not UTF-8.
 */
long opdsfmt_query(
    const char *query, size_t len, const char *key, char *out, size_t cap);

#endif
