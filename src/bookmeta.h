/*
 * bookmeta.h: what the library reads from a book file, treating the file
 * as hostile.
 *
 * bookmeta_read() tells the format from the file's first bytes (the name's
 * extension only where the bytes leave a choice: a zip without an EPUB
 * container is a comic, a PalmDB book named .azw3 is AZW3, anything else
 * named .txt is text, a zip holding .fb2 files and no container is FB2)
 * and reads:
 *   EPUB  META-INF/container.xml, then the OPF it names: dc:title,
 *         dc:creator (authors: no role, or role aut), the series
 *         (calibre:series and calibre:series_index, or EPUB 3's
 *         belongs-to-collection and group-position), dc:language,
 *         dc:publisher, dc:description (as plain text), dc:identifier,
 *         dc:subject, and the cover (meta name="cover", or the manifest
 *         item with properties="cover-image"): a zip entry;
 *   FB2   title-info (book-title, author, sequence, lang, annotation,
 *         genre, keywords, coverpage), publish-info (publisher, isbn),
 *         document-info's id, and the cover's <binary>, decoded;
 *   PDF   the trailer's /Info dictionary: Title, Author, Subject,
 *         Keywords (literal and hex strings, UTF-16BE with a BOM or
 *         PDFDocEncoding), read from the last BOOKMETA_PDF_TAIL bytes and
 *         the objects they name (in the file or in PDF 1.5 object
 *         streams, through classic tables or cross-reference streams),
 *         following at most BOOKMETA_PDF_MAX_REFS references; an
 *         encrypted PDF keeps its file name's title, with a note;
 *   MOBI, AZW3  the PalmDB and MOBI headers and the EXTH records (100
 *         author, 101 publisher, 103 description, 104 ISBN, 105 subject,
 *         112 source, 113 ASIN, 503 title, 524 language, 201 cover: a byte
 *         range of the file);
 *   FB2 in a zip (.fb2.zip)  the zip's one .fb2 entry, inflated (at most
 *         lim->max_fb2_bytes), read as FB2; a zip of several is refused;
 *   CBZ   the first image in name order as the cover, and ComicInfo.xml
 *         at the archive's root (title, series and number, writers,
 *         summary, language, publisher, genres and tags);
 *   DjVu, TXT  nothing but the format.
 * A book without a title gets its file name without the extension.
 *
 * Every string out is valid UTF-8 (bad bytes become U+FFFD), without
 * control characters, white space collapsed, at most BOOKMETA_MAX_TEXT
 * bytes (the description BOOKMETA_MAX_DESCRIPTION, paragraphs kept as
 * '\n'); lists hold at most BOOKMETA_MAX_LIST items, without repeats.
 *
 * Hostile files are refused with a one-line reason: zip bombs (entries too
 * large or too compressed: bookzip.h), unsafe entry paths, too many
 * entries, XML with a DTD entity declaration (billion laughs, external
 * entities: nothing is ever loaded), XML nested too deeply, truncated and
 * garbage files. No reader allocates more than its limits and none loops
 * on the file's own pointers. Images are not decoded here (cover.h).
 *
 * Synchronous and stateless: calls may run on several threads at once.
 *
 * Not here: where files come from (the scan), the index, the thumbnails.
 */
#ifndef KOSYNCD_BOOKMETA_H
#define KOSYNCD_BOOKMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "bookzip.h"

/* Defaults of struct bookmeta_limits (docs/security.md, "Book files"). */
#define BOOKMETA_MAX_XML_BYTES (4u << 20)    /* container.xml, an OPF */
#define BOOKMETA_MAX_FB2_BYTES (64u << 20)   /* FB2 read before giving up */
#define BOOKMETA_MAX_COVER_BYTES (16u << 20) /* a cover image's bytes */
#define BOOKMETA_MAX_ENTRIES 20000 /* entries of a zip (a CBZ of pages) */
#define BOOKMETA_MAX_RATIO 100     /* inflated / compressed, per entry */
#define BOOKMETA_MAX_DEPTH 64      /* XML elements nested */

/* Fixed bounds. */
#define BOOKMETA_MAX_TEXT 1024         /* bytes of a title, author, ... */
#define BOOKMETA_MAX_DESCRIPTION 8192  /* bytes of the description */
#define BOOKMETA_MAX_LIST 32           /* authors, subjects, identifiers */
#define BOOKMETA_PDF_TAIL 8192         /* bytes read at a PDF's end */
#define BOOKMETA_PDF_OBJECT 65536      /* bytes read of a PDF object */
#define BOOKMETA_PDF_MAX_REFS 4        /* references followed in a PDF */
#define BOOKMETA_PDF_STREAM (1u << 20) /* a PDF xref or object stream */
#define BOOKMETA_PDF_MAX_OBJSTM 65536  /* objects of an object stream */
#define BOOKMETA_MOBI_MAX_HEADER (256u << 10) /* MOBI record 0 read */

enum bookmeta_format {
	BOOKMETA_UNKNOWN,
	BOOKMETA_EPUB,
	BOOKMETA_PDF,
	BOOKMETA_CBZ,
	BOOKMETA_FB2,
	BOOKMETA_MOBI,
	BOOKMETA_AZW3,
	BOOKMETA_DJVU,
	BOOKMETA_TXT,
};

enum bookmeta_cover {
	BOOKMETA_COVER_NONE,
	BOOKMETA_COVER_ENTRY, /* cover_entry of the zip (EPUB, CBZ) */
	BOOKMETA_COVER_RANGE, /* cover_offset, cover_length (MOBI) */
	BOOKMETA_COVER_DATA,  /* cover_data, decoded already (FB2) */
};

struct bookmeta_limits {
	size_t max_xml_bytes;
	size_t max_fb2_bytes;
	size_t max_cover_bytes;
	uint32_t max_entries;
	uint32_t max_ratio;
	unsigned max_depth;
};

struct bookmeta_list {
	char **v;
	size_t n;
};

struct bookmeta {
	enum bookmeta_format format;
	char *title; /* never NULL after bookmeta_read() succeeded */
	/* Why the title is the file name's when the book has one (encrypted,
	 * unreadable): a static string, or NULL. */
	const char *note;
	struct bookmeta_list authors;
	char *series;
	double series_index;
	bool has_series_index;
	char *language;
	char *publisher;
	char *description;
	struct bookmeta_list id_schemes; /* "isbn", "uuid", ... or "" */
	struct bookmeta_list id_values;  /* the same length */
	struct bookmeta_list subjects;
	enum bookmeta_cover cover;
	char *cover_entry;
	uint64_t cover_offset, cover_length;
	struct buf cover_data;
};

void bookmeta_limits_default(struct bookmeta_limits *lim);

/* A zeroed struct bookmeta, ready for the readers. */
void bookmeta_init(struct bookmeta *m);
/* Free what m holds and zero it; an initialised m is fine. */
void bookmeta_release(struct bookmeta *m);

/* "epub", "pdf", ... "unknown". */
const char *bookmeta_format_name(enum bookmeta_format f);

/*
 * Read the book in src (a file or memory, bookzip.h); name is its file
 * name (a path is fine: only the base name counts), for the extension and
 * the title of last resort. m is initialised here. Returns 0, or -1 with
 * a one-line reason in why and m->format set as far as it was told (m
 * holds nothing else; bookmeta_release() it either way).
 */
int bookmeta_read(const struct bookzip_src *src, const char *name,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why);

/*
 * The bytes of the cover m names (read from src again, for ENTRY and
 * RANGE), at most lim->max_cover_bytes, into out. Returns 1 with the
 * bytes, 0 when the book has no cover, -1 with a reason in why.
 */
int bookmeta_cover_bytes(const struct bookzip_src *src,
    const struct bookmeta *m, const struct bookmeta_limits *lim,
    struct buf *out, struct buf *why);

struct json_out;

/*
 * Write m's fields as members of the JSON object open in j: "format",
 * "title", "authors" (an array), then those m has: "series",
 * "series_index", "language", "publisher", "description", "identifiers"
 * (an array of {"scheme", "value"}), "subjects", and "cover" (an object:
 * {"entry"}, {"offset", "length"} or {"embedded": bytes}), and "note"
 * when m has one.
 */
void bookmeta_json(struct json_out *j, const struct bookmeta *m);

/* ---------------------------------------------------------------------
 * The parsers, on memory, for bookmeta_read(), the tests and the fuzzers.
 * Each returns 0, or -1 with a one-line reason in why; what they find
 * goes into m (first value wins for a single field).
 */

/* container.xml: the full-path of the OPF, into opf (a zip entry name). */
int bookmeta_container_parse(const char *xml, size_t len,
    const struct bookmeta_limits *lim, struct buf *opf, struct buf *why);

/*
 * An OPF at zip entry opf_path: the metadata, and the cover's href
 * resolved against opf_path into m->cover_entry (not checked against the
 * archive; a href leaving the archive's root is ignored).
 */
int bookmeta_opf_parse(const char *xml, size_t len, const char *opf_path,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why);

/* An FB2 document, src's first lim->max_fb2_bytes bytes at most. */
int bookmeta_fb2_parse(const struct bookzip_src *src,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why);

/*
 * A CBZ's ComicInfo.xml: Title, Series, Number (the series index),
 * Writer (authors, comma-separated), Summary (the description),
 * LanguageISO, Publisher, Genre and Tags (subjects, comma-separated).
 */
int bookmeta_comicinfo_parse(const char *xml, size_t len,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why);

/* A PDF's /Info. */
int bookmeta_pdf_parse(const struct bookzip_src *src,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why);

/* A MOBI or AZW3 (PalmDB "BOOKMOBI"). */
int bookmeta_mobi_parse(const struct bookzip_src *src,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why);

/* ---------------------------------------------------------------------
 * Text, as every parser stores it.
 */

enum bookmeta_text_flags {
	BOOKMETA_TEXT_LINES = 1 << 0,  /* keep '\n' as a paragraph break */
	BOOKMETA_TEXT_HTML = 1 << 1,   /* strip tags, decode entities */
	BOOKMETA_TEXT_CP1252 = 1 << 2, /* the bytes are Windows-1252 */
};

/*
 * Append len bytes of s to out as described at the top (valid UTF-8, no
 * control characters, white space collapsed and trimmed), at most max
 * bytes, cut at a character boundary.
 */
void bookmeta_text(
    struct buf *out, const char *s, size_t len, size_t max, unsigned flags);

/* Set *field to the text of s unless it is set already or s is blank. */
void bookmeta_set(char **field, const char *s, size_t len, unsigned flags);

/* Append the text of s to l unless blank, a repeat, or l is full. */
void bookmeta_add(
    struct bookmeta_list *l, const char *s, size_t len, unsigned flags);

/* Append an identifier (scheme lowercased; "" when unknown). */
void bookmeta_add_id(
    struct bookmeta *m, const char *scheme, const char *value, size_t len);

/*
 * The byte map of the single-byte encodings expat does not know that books
 * use (windows-1251, windows-1252), for XML_SetUnknownEncodingHandler:
 * returns 0 with map[b] the code point of byte b (-1: none), or -1.
 */
int bookmeta_codepage(const char *name, int map[256]);

/* Write code point c (at most U+10FFFF) as UTF-8; returns its length. */
size_t bookmeta_utf8_put(uint32_t c, char o[4]);

/* The first needle (nlen bytes) in the n bytes at p, or NULL. */
const unsigned char *bookmeta_find(
    const unsigned char *p, size_t n, const char *needle, size_t nlen);

#endif
