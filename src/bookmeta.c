/*
 * bookmeta.c: telling a book's format, the EPUB and CBZ readers on
 * bookzip.h, the covers' bytes, and the text every reader stores
 * (bookmeta.h). The XML formats are in bookmeta_xml.c, PDF in
 * bookmeta_pdf.c, MOBI in bookmeta_mobi.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bookmeta.h"
#include "json.h"
#include "xmalloc.h"

/* Bytes read to tell the format. */
#define SNIFF_BYTES 4096

void
bookmeta_limits_default(struct bookmeta_limits *lim)
{
	lim->max_xml_bytes = BOOKMETA_MAX_XML_BYTES;
	lim->max_fb2_bytes = BOOKMETA_MAX_FB2_BYTES;
	lim->max_cover_bytes = BOOKMETA_MAX_COVER_BYTES;
	lim->max_entries = BOOKMETA_MAX_ENTRIES;
	lim->max_ratio = BOOKMETA_MAX_RATIO;
	lim->max_depth = BOOKMETA_MAX_DEPTH;
}

void
bookmeta_init(struct bookmeta *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->cover_data);
}

static void
list_release(struct bookmeta_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
bookmeta_release(struct bookmeta *m)
{
	free(m->title);
	list_release(&m->authors);
	free(m->series);
	free(m->language);
	free(m->publisher);
	free(m->description);
	list_release(&m->id_schemes);
	list_release(&m->id_values);
	list_release(&m->subjects);
	free(m->cover_entry);
	buf_release(&m->cover_data);
	bookmeta_init(m);
}

const char *
bookmeta_format_name(enum bookmeta_format f)
{
	static const char *const names[] = {
	    [BOOKMETA_UNKNOWN] = "unknown",
	    [BOOKMETA_EPUB] = "epub",
	    [BOOKMETA_PDF] = "pdf",
	    [BOOKMETA_CBZ] = "cbz",
	    [BOOKMETA_FB2] = "fb2",
	    [BOOKMETA_MOBI] = "mobi",
	    [BOOKMETA_AZW3] = "azw3",
	    [BOOKMETA_DJVU] = "djvu",
	    [BOOKMETA_TXT] = "txt",
	};

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f]
	                                                      : "unknown";
}

/* ---------------------------------------------------------------------
 * Text
 */

/* Windows-1252 from 0x80 to 0x9f (0xa0 and up are Latin-1). */
/* clang-format off */
static const uint16_t cp1252_80[32] = {
    0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
    0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};
/* clang-format on */

/* Windows-1251 from 0x80 to 0xff. */
/* clang-format off */
static const uint16_t cp1251_80[128] = {
    0x0402, 0x0403, 0x201a, 0x0453, 0x201e, 0x2026, 0x2020, 0x2021,
    0x20ac, 0x2030, 0x0409, 0x2039, 0x040a, 0x040c, 0x040b, 0x040f,
    0x0452, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0xfffd, 0x2122, 0x0459, 0x203a, 0x045a, 0x045c, 0x045b, 0x045f,
    0x00a0, 0x040e, 0x045e, 0x0408, 0x00a4, 0x0490, 0x00a6, 0x00a7,
    0x0401, 0x00a9, 0x0404, 0x00ab, 0x00ac, 0x00ad, 0x00ae, 0x0407,
    0x00b0, 0x00b1, 0x0406, 0x0456, 0x0491, 0x00b5, 0x00b6, 0x00b7,
    0x0451, 0x2116, 0x0454, 0x00bb, 0x0458, 0x0405, 0x0455, 0x0457,
    0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
    0x0418, 0x0419, 0x041a, 0x041b, 0x041c, 0x041d, 0x041e, 0x041f,
    0x0420, 0x0421, 0x0422, 0x0423, 0x0424, 0x0425, 0x0426, 0x0427,
    0x0428, 0x0429, 0x042a, 0x042b, 0x042c, 0x042d, 0x042e, 0x042f,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437,
    0x0438, 0x0439, 0x043a, 0x043b, 0x043c, 0x043d, 0x043e, 0x043f,
    0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044a, 0x044b, 0x044c, 0x044d, 0x044e, 0x044f,
};
/* clang-format on */

int
bookmeta_codepage(const char *name, int map[256])
{
	int i;

	if (strcasecmp(name, "windows-1252") != 0 &&
	    strcasecmp(name, "cp1252") != 0 &&
	    strcasecmp(name, "windows-1251") != 0 &&
	    strcasecmp(name, "cp1251") != 0)
		return -1;
	for (i = 0; i < 256; i++)
		map[i] = i;
	/* "...1251" or "...1252" */
	if (name[strlen(name) - 1] == '1') {
		for (i = 0; i < 128; i++)
			map[0x80 + i] = cp1251_80[i];
	} else {
		for (i = 0; i < 32; i++)
			map[0x80 + i] = cp1252_80[i];
	}
	for (i = 0x80; i < 256; i++)
		if (map[i] == 0xfffd)
			map[i] = -1;
	return 0;
}

/*
 * Decode one code point at s (len > 0) into *cp; returns the bytes used.
 * A bad sequence is U+FFFD for one byte.
 */
static size_t
utf8_next(const unsigned char *s, size_t len, unsigned flags, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (flags & BOOKMETA_TEXT_CP1252) {
		*cp = c < 0xa0 ? cp1252_80[c - 0x80] : c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	if (n > len) {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = c;
	return n;
}

size_t
bookmeta_utf8_put(uint32_t c, char o[4])
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* An HTML entity at s ('&'): its code point and length, or 0. */
static size_t
html_entity(const char *s, size_t len, uint32_t *cp)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = {
	    {"amp;", '&'},
	    {"lt;", '<'},
	    {"gt;", '>'},
	    {"quot;", '"'},
	    {"apos;", '\''},
	    {"nbsp;", ' '},
	    {"mdash;", 0x2014},
	    {"ndash;", 0x2013},
	    {"hellip;", 0x2026},
	    {"rsquo;", 0x2019},
	    {"lsquo;", 0x2018},
	    {"rdquo;", 0x201d},
	    {"ldquo;", 0x201c},
	};
	size_t i, n;
	uint32_t v = 0;
	bool hex;

	if (len > 1 && s[1] == '#') {
		hex = len > 2 && (s[2] == 'x' || s[2] == 'X');
		for (i = hex ? 3 : 2; i < len && i < 12; i++) {
			int d = hex ? str_hex_digit(s[i])
			            : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			                                          : -1);
			if (s[i] == ';')
				break;
			if (d < 0)
				return 0;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (i >= len || s[i] != ';' || i == (hex ? 3u : 2u))
			return 0;
		*cp = v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)
		          ? 0xfffd
		          : v;
		return i + 1;
	}
	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		n = strlen(named[i].name);
		if (len > n && memcmp(s + 1, named[i].name, n) == 0) {
			*cp = named[i].cp;
			return n + 1;
		}
	}
	return 0;
}

/* Whether the tag at s ('<') breaks a paragraph: p, br, div, li, h1-6. */
static bool
tag_breaks(const char *s, size_t len)
{
	static const char *const tags[] = {"p", "br", "div", "li", "h1", "h2",
	    "h3", "h4", "h5", "h6", "tr", "blockquote"};
	size_t i = 1, j, n;

	if (i < len && s[i] == '/')
		i++;
	for (j = 0; j < sizeof(tags) / sizeof(tags[0]); j++) {
		n = strlen(tags[j]);
		if (len - i > n && strncasecmp(s + i, tags[j], n) == 0 &&
		    !isalnum((unsigned char)s[i + n]))
			return true;
	}
	return false;
}

void
bookmeta_text(
    struct buf *out, const char *s, size_t len, size_t max, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, start = out->len;
	int pending = 0; /* 1: a space, 2: a line break */
	uint32_t cp;
	char enc[4];
	const char *gt;

	while (i < len) {
		if ((flags & BOOKMETA_TEXT_HTML) && s[i] == '<' &&
		    (gt = memchr(s + i, '>', len - i)) != NULL) {
			/* inline tags (b, i, span...) separate nothing */
			if (tag_breaks(s + i, (size_t)(gt - (s + i)) + 1))
				pending = 2;
			i = (size_t)(gt - s) + 1;
			continue;
		}
		if ((flags & BOOKMETA_TEXT_HTML) && s[i] == '&' &&
		    (n = html_entity(s + i, len - i, &cp)) > 0) {
			i += n;
		} else {
			i += utf8_next(u + i, len - i, flags, &cp);
		}
		if (cp == '\n' && (flags & BOOKMETA_TEXT_LINES) &&
		    !(flags & BOOKMETA_TEXT_HTML)) {
			pending = 2;
			continue;
		}
		if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
		    cp == '\f' || cp == '\v' || cp == 0xa0) {
			if (pending == 0)
				pending = 1;
			continue;
		}
		/* Controls, C1 controls and the BOM are dropped. */
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
		    cp == 0xfeff)
			continue;
		n = bookmeta_utf8_put(cp, enc);
		if (out->len > start && pending) {
			if (out->len - start + 1 + n > max)
				break;
			buf_addch(out, pending == 2 ? '\n' : ' ');
		} else if (out->len - start + n > max) {
			break;
		}
		pending = 0;
		buf_add(out, enc, n);
	}
}

void
bookmeta_set(char **field, const char *s, size_t len, unsigned flags)
{
	struct buf b = BUF_INIT;

	if (*field != NULL)
		return;
	bookmeta_text(&b, s, len,
	    (flags & BOOKMETA_TEXT_LINES) ? BOOKMETA_MAX_DESCRIPTION
	                                  : BOOKMETA_MAX_TEXT,
	    flags);
	if (b.len > 0)
		*field = buf_detach(&b, NULL);
	buf_release(&b);
}

static void
list_push(struct bookmeta_list *l, char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
}

void
bookmeta_add(struct bookmeta_list *l, const char *s, size_t len, unsigned flags)
{
	struct buf b = BUF_INIT;
	size_t i;

	if (l->n >= BOOKMETA_MAX_LIST)
		return;
	bookmeta_text(&b, s, len, BOOKMETA_MAX_TEXT, flags);
	for (i = 0; i < l->n && b.len > 0; i++)
		if (strcmp(l->v[i], b.data) == 0)
			buf_reset(&b);
	if (b.len > 0)
		list_push(l, buf_detach(&b, NULL));
	buf_release(&b);
}

void
bookmeta_add_id(
    struct bookmeta *m, const char *scheme, const char *value, size_t len)
{
	struct buf s = BUF_INIT, v = BUF_INIT;
	const char *colon;
	size_t i;

	/* "urn:isbn:978..." and "urn:uuid:..." name their scheme. */
	if ((scheme == NULL || scheme[0] == '\0') && len > 4 &&
	    strncasecmp(value, "urn:", 4) == 0 &&
	    (colon = memchr(value + 4, ':', len - 4)) != NULL &&
	    colon - value < 24) {
		scheme = NULL;
		bookmeta_text(
		    &s, value + 4, (size_t)(colon - value - 4), 32, 0);
		len -= (size_t)(colon + 1 - value);
		value = colon + 1;
	} else if (scheme != NULL) {
		bookmeta_text(&s, scheme, strlen(scheme), 32, 0);
	}
	for (i = 0; i < s.len; i++)
		s.data[i] = (char)tolower((unsigned char)s.data[i]);
	bookmeta_text(&v, value, len, BOOKMETA_MAX_TEXT, 0);
	for (i = 0; i < m->id_values.n && v.len > 0; i++)
		if (strcmp(m->id_values.v[i], v.data) == 0 &&
		    strcmp(m->id_schemes.v[i], s.data) == 0)
			buf_reset(&v);
	if (v.len > 0 && m->id_values.n < BOOKMETA_MAX_LIST) {
		list_push(&m->id_schemes, buf_detach(&s, NULL));
		list_push(&m->id_values, buf_detach(&v, NULL));
	}
	buf_release(&s);
	buf_release(&v);
}

const unsigned char *
bookmeta_find(const unsigned char *p, size_t n, const char *needle, size_t nlen)
{
	const unsigned char *q, *end = p + n;

	if (nlen == 0 || nlen > n)
		return NULL;
	for (q = p; (size_t)(end - q) >= nlen; q++) {
		q = memchr(q, needle[0], (size_t)(end - q) - nlen + 1);
		if (q == NULL)
			return NULL;
		if (memcmp(q, needle, nlen) == 0)
			return q;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * EPUB and CBZ
 */

static bool
is_image_name(const char *name)
{
	static const char *const exts[] = {
	    ".jpg", ".jpeg", ".png", ".gif", ".bmp"};
	size_t i, n = strlen(name), e;

	/* macOS resource forks and hidden files are no pages */
	if (strncmp(name, "__MACOSX/", 9) == 0 || name[0] == '.' ||
	    strstr(name, "/.") != NULL)
		return false;
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		e = strlen(exts[i]);
		if (n > e && strcasecmp(name + n - e, exts[i]) == 0)
			return true;
	}
	return false;
}

/* The first image in name order, or -1. */
static long
first_image(const struct bookzip *z)
{
	long best = -1;
	size_t i;

	for (i = 0; i < z->n; i++)
		if (is_image_name(z->entries[i].name) &&
		    (best < 0 ||
		        strcmp(z->entries[i].name, z->entries[best].name) < 0))
			best = (long)i;
	return best;
}

static int
read_epub(struct bookzip *z, const struct bookmeta_limits *lim,
    struct bookmeta *m, struct buf *why)
{
	struct buf xml = BUF_INIT, opf = BUF_INIT;
	long i;
	int rc = -1;

	i = bookzip_find(z, "META-INF/container.xml");
	if (i < 0) {
		buf_adds(why, "an EPUB without META-INF/container.xml");
		goto out;
	}
	if (bookzip_read(z, (size_t)i, lim->max_xml_bytes, &xml, why) < 0 ||
	    bookmeta_container_parse(xml.data, xml.len, lim, &opf, why) < 0)
		goto out;
	i = bookzip_find(z, opf.data);
	if (i < 0) {
		buf_addf(why, "the OPF named by container.xml is missing");
		goto out;
	}
	if (bookzip_read(z, (size_t)i, lim->max_xml_bytes, &xml, why) < 0 ||
	    bookmeta_opf_parse(xml.data, xml.len, opf.data, lim, m, why) < 0)
		goto out;
	if (m->cover_entry != NULL && bookzip_find(z, m->cover_entry) >= 0) {
		m->cover = BOOKMETA_COVER_ENTRY;
	} else {
		free(m->cover_entry);
		m->cover_entry = NULL;
	}
	rc = 0;
out:
	buf_release(&xml);
	buf_release(&opf);
	return rc;
}

static bool
looks_like_fb2(const unsigned char *p, size_t n)
{
	size_t i = 0;

	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < n && isspace(p[i]))
		i++;
	if (i >= n || p[i] != '<')
		return false;
	return bookmeta_find(p + i, n - i, "<FictionBook", 12) != NULL;
}

/* The entries named *.fb2: their count, the first one's index in *at
 * (-1 when none). */
static size_t
fb2_entries(const struct bookzip *z, long *at)
{
	size_t i, n = 0, len;

	*at = -1;
	for (i = 0; i < z->n; i++) {
		len = strlen(z->entries[i].name);
		if (len > 4 &&
		    strcasecmp(z->entries[i].name + len - 4, ".fb2") == 0 &&
		    strncmp(z->entries[i].name, "__MACOSX/", 9) != 0) {
			if (n++ == 0)
				*at = (long)i;
		}
	}
	return n;
}

/* An .fb2.zip: its one FB2 entry, inflated, read as FB2. */
static int
read_fb2_zip(struct bookzip *z, size_t i, const struct bookmeta_limits *lim,
    struct bookmeta *m, struct buf *why)
{
	struct buf fb2 = BUF_INIT;
	struct bookzip_src src = {.fd = -1};
	int rc = -1;

	if (bookzip_read(z, i, lim->max_fb2_bytes, &fb2, why) < 0)
		goto out;
	src.mem = (const unsigned char *)fb2.data;
	src.size = fb2.len;
	if (!looks_like_fb2(
	        src.mem, fb2.len < SNIFF_BYTES ? fb2.len : SNIFF_BYTES)) {
		buf_addf(
		    why, "'%s' is not an FB2 document", z->entries[i].name);
		goto out;
	}
	rc = bookmeta_fb2_parse(&src, lim, m, why);
out:
	buf_release(&fb2);
	return rc;
}

/* A CBZ's ComicInfo.xml (at the root), when there is one. */
static int
read_comicinfo(struct bookzip *z, const struct bookmeta_limits *lim,
    struct bookmeta *m, struct buf *why)
{
	struct buf xml = BUF_INIT;
	long i = bookzip_find(z, "ComicInfo.xml");
	int rc = 0;

	if (i < 0)
		return 0;
	if (bookzip_read(z, (size_t)i, lim->max_xml_bytes, &xml, why) < 0 ||
	    bookmeta_comicinfo_parse(xml.data, xml.len, lim, m, why) < 0)
		rc = -1;
	buf_release(&xml);
	return rc;
}

/*
 * A zip: an EPUB when it has a container, an FB2 when it holds one .fb2
 * (an .fb2.zip), else a CBZ.
 */
static int
read_zip(const struct bookzip_src *src, const char *ext,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why)
{
	struct bookzip z;
	size_t nfb2;
	long i;
	int rc = -1;

	m->format = strcasecmp(ext, "cbz") == 0 ? BOOKMETA_CBZ : BOOKMETA_EPUB;
	if (bookzip_open(&z, src, lim->max_entries, lim->max_ratio, why) < 0)
		return -1;
	if (bookzip_find(&z, "META-INF/container.xml") >= 0 ||
	    strcasecmp(ext, "epub") == 0) {
		m->format = BOOKMETA_EPUB;
		rc = read_epub(&z, lim, m, why);
		goto out;
	}
	nfb2 = fb2_entries(&z, &i);
	if (nfb2 > 0 && strcasecmp(ext, "cbz") != 0) {
		m->format = BOOKMETA_FB2;
		if (nfb2 > 1)
			buf_addf(why,
			    "a zip archive of %zu FB2 files (one book "
			    "each)",
			    nfb2);
		else
			rc = read_fb2_zip(&z, (size_t)i, lim, m, why);
		goto out;
	}
	i = first_image(&z);
	if (i < 0 && strcasecmp(ext, "cbz") != 0) {
		buf_adds(why, "a zip archive that is neither an EPUB nor a "
		              "comic book");
		goto out;
	}
	m->format = BOOKMETA_CBZ;
	if (read_comicinfo(&z, lim, m, why) < 0)
		goto out;
	if (i >= 0) {
		m->cover = BOOKMETA_COVER_ENTRY;
		m->cover_entry = xstrdup(z.entries[i].name);
	}
	rc = 0;
out:
	bookzip_close(&z);
	return rc;
}

/* ---------------------------------------------------------------------
 * The format, and the reader of each
 */

/* The extension of name's base name, lowercase, or "". */
static void
extension(const char *name, char ext[8])
{
	const char *base = strrchr(name, '/'), *dot;
	size_t i;

	base = base != NULL ? base + 1 : name;
	dot = strrchr(base, '.');
	ext[0] = '\0';
	if (dot == NULL || dot == base || strlen(dot + 1) >= 8)
		return;
	for (i = 0; dot[1 + i] != '\0'; i++)
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	ext[i] = '\0';
}

/* The title of last resort: the base name without its extension. */
static void
title_from_name(struct bookmeta *m, const char *name)
{
	const char *base = strrchr(name, '/'), *dot;

	base = base != NULL ? base + 1 : name;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base)
		dot = base + strlen(base);
	/* "Book.fb2.zip": "Book" */
	else if (dot - base > 4 && strncasecmp(dot - 4, ".fb2", 4) == 0)
		dot -= 4;
	bookmeta_set(&m->title, base, (size_t)(dot - base), 0);
	if (m->title == NULL)
		m->title = xstrdup("?");
}

int
bookmeta_read(const struct bookzip_src *src, const char *name,
    const struct bookmeta_limits *lim, struct bookmeta *m, struct buf *why)
{
	unsigned char head[SNIFF_BYTES];
	char ext[8];
	ssize_t n;
	int rc;

	bookmeta_init(m);
	extension(name, ext);
	n = bookzip_src_read(src, 0, head, sizeof(head));
	if (n < 0) {
		buf_adds(why, "cannot read the file");
		return -1;
	}
	if (n == 0) {
		buf_adds(why, "an empty file");
		return -1;
	}
	if (bookmeta_find(head, (size_t)n < 1024 ? (size_t)n : 1024, "%PDF-",
	        5) != NULL) {
		m->format = BOOKMETA_PDF;
		rc = bookmeta_pdf_parse(src, lim, m, why);
	} else if (n >= 4 && (memcmp(head, "PK\3\4", 4) == 0 ||
	                         memcmp(head, "PK\5\6", 4) == 0)) {
		rc = read_zip(src, ext, lim, m, why);
	} else if (n >= 68 && memcmp(head + 60, "BOOKMOBI", 8) == 0) {
		m->format =
		    strcmp(ext, "azw3") == 0 ? BOOKMETA_AZW3 : BOOKMETA_MOBI;
		rc = bookmeta_mobi_parse(src, lim, m, why);
	} else if (n >= 8 && memcmp(head, "AT&TFORM", 8) == 0) {
		m->format = BOOKMETA_DJVU;
		rc = 0;
	} else if (looks_like_fb2(head, (size_t)n)) {
		m->format = BOOKMETA_FB2;
		rc = bookmeta_fb2_parse(src, lim, m, why);
	} else if (strcmp(ext, "txt") == 0) {
		m->format = BOOKMETA_TXT;
		rc = 0;
	} else {
		buf_adds(why, "not a book format kosyncd reads");
		rc = -1;
	}
	if (rc == 0 && m->title != NULL)
		m->note = NULL;
	if (rc < 0) {
		enum bookmeta_format f = m->format;

		bookmeta_release(m);
		m->format = f;
		return -1;
	}
	title_from_name(m, name);
	return 0;
}

int
bookmeta_cover_bytes(const struct bookzip_src *src, const struct bookmeta *m,
    const struct bookmeta_limits *lim, struct buf *out, struct buf *why)
{
	struct bookzip z;
	ssize_t n;
	long i;
	int rc;

	buf_reset(out);
	switch (m->cover) {
	case BOOKMETA_COVER_NONE:
		return 0;
	case BOOKMETA_COVER_DATA:
		buf_add(out, m->cover_data.data, m->cover_data.len);
		return 1;
	case BOOKMETA_COVER_RANGE:
		if (m->cover_length > lim->max_cover_bytes) {
			buf_addf(why,
			    "the cover is too large (%llu bytes, at "
			    "most %zu)",
			    (unsigned long long)m->cover_length,
			    lim->max_cover_bytes);
			return -1;
		}
		buf_grow(out, (size_t)m->cover_length);
		n = bookzip_src_read(
		    src, m->cover_offset, out->data, (size_t)m->cover_length);
		if (n < 0 || (uint64_t)n != m->cover_length) {
			buf_adds(why, "cannot read the cover");
			return -1;
		}
		out->len = (size_t)n;
		out->data[n] = '\0';
		return 1;
	case BOOKMETA_COVER_ENTRY:
		break;
	}
	if (bookzip_open(&z, src, lim->max_entries, lim->max_ratio, why) < 0)
		return -1;
	i = bookzip_find(&z, m->cover_entry);
	if (i < 0) {
		buf_adds(why, "the cover entry is missing");
		rc = -1;
	} else {
		rc = bookzip_read(
		         &z, (size_t)i, lim->max_cover_bytes, out, why) < 0
		         ? -1
		         : 1;
	}
	bookzip_close(&z);
	return rc;
}

static void
json_list(struct json_out *j, const char *key, const struct bookmeta_list *l)
{
	size_t i;

	json_key(j, key);
	json_arr_begin(j);
	for (i = 0; i < l->n; i++)
		json_str(j, l->v[i]);
	json_arr_end(j);
}

static void
json_opt(struct json_out *j, const char *key, const char *v)
{
	if (v == NULL)
		return;
	json_key(j, key);
	json_str(j, v);
}

void
bookmeta_json(struct json_out *j, const struct bookmeta *m)
{
	size_t i;

	json_key(j, "format");
	json_str(j, bookmeta_format_name(m->format));
	json_opt(j, "title", m->title);
	json_list(j, "authors", &m->authors);
	json_opt(j, "series", m->series);
	if (m->series != NULL && m->has_series_index) {
		json_key(j, "series_index");
		json_double(j, m->series_index);
	}
	json_opt(j, "language", m->language);
	json_opt(j, "publisher", m->publisher);
	json_opt(j, "description", m->description);
	if (m->id_values.n > 0) {
		json_key(j, "identifiers");
		json_arr_begin(j);
		for (i = 0; i < m->id_values.n; i++) {
			json_obj_begin(j);
			json_key(j, "scheme");
			json_str(j, m->id_schemes.v[i]);
			json_key(j, "value");
			json_str(j, m->id_values.v[i]);
			json_obj_end(j);
		}
		json_arr_end(j);
	}
	if (m->subjects.n > 0)
		json_list(j, "subjects", &m->subjects);
	json_opt(j, "note", m->note);
	if (m->cover == BOOKMETA_COVER_NONE)
		return;
	json_key(j, "cover");
	json_obj_begin(j);
	switch (m->cover) {
	case BOOKMETA_COVER_ENTRY:
		json_key(j, "entry");
		json_str(j, m->cover_entry);
		break;
	case BOOKMETA_COVER_RANGE:
		json_key(j, "offset");
		json_uint(j, m->cover_offset);
		json_key(j, "length");
		json_uint(j, m->cover_length);
		break;
	case BOOKMETA_COVER_DATA:
		json_key(j, "embedded");
		json_uint(j, m->cover_data.len);
		break;
	case BOOKMETA_COVER_NONE:
		break;
	}
	json_obj_end(j);
}
