/*
 * test_bookmeta.c: the book readers on memory (bookmeta.h, bookzip.h,
 * cover.h): the text every reader stores (UTF-8 repaired, controls
 * dropped, white space collapsed, cut at a character boundary, HTML made
 * plain), container.xml and OPF edge cases (cover hrefs resolved or
 * refused, EPUB 3 refinements, entity declarations, depth), the PDF lexer
 * (escapes, octal, nested parentheses, odd hex digits, UTF-16 surrogates,
 * a reference chain past the budget, garbage after startxref; object
 * streams through a cross-reference stream with the PNG Up predictor, a
 * /Prev loop, /N past the cap, a deflate bomb, an offset past the data,
 * garbage deflate data; an encrypted PDF's note), ComicInfo.xml (the
 * root's children only, writers split, a series index only with a
 * series, entities refused), MOBI
 * headers with offsets out of order or past the end, a zip in memory with
 * unsafe names, and cover thumbnails (a PNG made here with stb, garbage,
 * a header claiming too many pixels).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include "bookmeta.h"
#include "bookzip.h"
#include "cover.h"

static struct bookzip_src
mem(const void *p, size_t len)
{
	struct bookzip_src s = {-1, p, len};

	return s;
}

static void
text_is(const char *in, size_t max, unsigned flags, const char *want)
{
	struct buf b = BUF_INIT;

	bookmeta_text(&b, in, strlen(in), max, flags);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void
test_bookmeta__text(void **state)
{
	(void)state;
	text_is("  a \t b\n\nc  ", 100, 0, "a b c");
	text_is("a\n\n b", 100, BOOKMETA_TEXT_LINES, "a\nb");
	text_is("bad \xff\xfe utf8 \xc3", 100, 0,
	    "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd");
	/* overlong, surrogate, past U+10FFFF */
	text_is("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80", 100, 0,
	    "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	text_is("ctl\x01\x7f\xc2\x85 end\xef\xbb\xbf", 100, 0, "ctl end");
	/* cut at a character boundary: "é" is two bytes */
	text_is("abc\xc3\xa9", 4, 0, "abc");
	text_is("abc\xc3\xa9", 5, 0, "abc\xc3\xa9");
	text_is("<p>One &amp; <b>two</b>.</p><p>Three&#8230;&#x41;</p>x<y", 100,
	    BOOKMETA_TEXT_HTML | BOOKMETA_TEXT_LINES,
	    "One & two.\nThree\xe2\x80\xa6"
	    "A\nx<y");
	text_is("&#0; &#xD800; &bogus; &#99999999;", 100, BOOKMETA_TEXT_HTML,
	    "\xef\xbf\xbd \xef\xbf\xbd &bogus; \xef\xbf\xbd");
	text_is("Caf\xe9 \x96 \x81", 100, BOOKMETA_TEXT_CP1252,
	    "Caf\xc3\xa9 \xe2\x80\x93 \xef\xbf\xbd");
	text_is(" \t\n", 100, 0, "");
}

static void
test_bookmeta__lists(void **state)
{
	struct bookmeta m;
	char s[16];
	int i;

	(void)state;
	bookmeta_init(&m);
	for (i = 0; i < 100; i++) {
		snprintf(s, sizeof(s), "s%d", i % 50);
		bookmeta_add(&m.subjects, s, strlen(s), 0);
	}
	assert_int_equal(m.subjects.n, BOOKMETA_MAX_LIST);
	bookmeta_add(&m.authors, "  ", 2, 0);
	assert_int_equal(m.authors.n, 0);
	bookmeta_add_id(&m, NULL, "urn:ISBN:978-1", 14);
	bookmeta_add_id(&m, "ISBN", "978-1", 5);
	bookmeta_add_id(&m, NULL, "plain", 5);
	assert_int_equal(m.id_values.n, 2);
	assert_string_equal(m.id_schemes.v[0], "isbn");
	assert_string_equal(m.id_values.v[0], "978-1");
	assert_string_equal(m.id_schemes.v[1], "");
	bookmeta_set(&m.title, "First", 5, 0);
	bookmeta_set(&m.title, "Second", 6, 0);
	assert_string_equal(m.title, "First");
	bookmeta_release(&m);
	assert_null(m.title);
}

static int
opf(const char *xml, const char *path, struct bookmeta *m, struct buf *why)
{
	struct bookmeta_limits lim;

	bookmeta_limits_default(&lim);
	bookmeta_init(m);
	buf_reset(why);
	return bookmeta_opf_parse(xml, strlen(xml), path, &lim, m, why);
}

#define META_HEAD "<package><metadata>"
#define MANIFEST(href)                                                         \
	"</metadata><manifest><item id=\"c\" href=\"" href                     \
	"\" media-type=\"image/png\" properties=\"x cover-image\"/>"           \
	"</manifest></package>"

static void
test_bookmeta__opf_cover_hrefs(void **state)
{
	static const struct {
		const char *opf_path, *href, *want;
	} cases[] = {
	    {"OEBPS/content.opf", "img/c.png", "OEBPS/img/c.png"},
	    {"OEBPS/content.opf", "./img/../c%20d.png", "OEBPS/c d.png"},
	    {"a/b/content.opf", "../../c.png#frag", "c.png"},
	    {"content.opf", "../c.png", NULL},
	    {"a/content.opf", "../../c.png", NULL},
	    {"content.opf", "/etc/c.png", NULL},
	    {"content.opf", "http://x/c.png", NULL},
	    {"content.opf", "c%00.png", NULL},
	    {"content.opf", "c%zz.png", NULL},
	    {"content.opf", "dir/", NULL},
	};
	struct bookmeta m;
	struct buf why = BUF_INIT, xml = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&xml);
		buf_addf(&xml,
		    META_HEAD "</metadata><manifest><item id=\"c\" href=\"%s\" "
		              "media-type=\"image/png\" "
		              "properties=\"x cover-image\"/></manifest>"
		              "</package>",
		    cases[i].href);
		assert_int_equal(opf(xml.data, cases[i].opf_path, &m, &why), 0);
		if (cases[i].want == NULL) {
			if (m.cover_entry != NULL)
				fail_msg(
				    "%s: %s", cases[i].href, m.cover_entry);
		} else {
			assert_non_null(m.cover_entry);
			assert_string_equal(m.cover_entry, cases[i].want);
		}
		bookmeta_release(&m);
	}
	(void)MANIFEST("");
	buf_release(&xml);
	buf_release(&why);
}

static void
test_bookmeta__opf_refused(void **state)
{
	struct bookmeta m;
	struct buf why = BUF_INIT, deep = BUF_INIT;
	int i;

	(void)state;
	assert_int_equal(opf("<!DOCTYPE p [<!ENTITY % e SYSTEM \"x\"> %e;]>"
	                     "<package/>",
	                     "c.opf", &m, &why),
	    -1);
	assert_string_equal(why.data, "an XML entity declaration (refused: "
	                              "entity expansion and external "
	                              "entities)");
	bookmeta_release(&m);
	assert_int_equal(opf("<package><metadata>", "c.opf", &m, &why), -1);
	assert_true(
	    strncmp(why.data, "not well-formed XML (line 1: ", 29) == 0);
	bookmeta_release(&m);
	for (i = 0; i < 65; i++)
		buf_adds(&deep, "<a>");
	assert_int_equal(opf(deep.data, "c.opf", &m, &why), -1);
	assert_string_equal(why.data, "XML nested too deeply");
	bookmeta_release(&m);
	/* an undeclared entity and a DOCTYPE without entities */
	assert_int_equal(opf("<package>&x;</package>", "c.opf", &m, &why), -1);
	bookmeta_release(&m);
	assert_int_equal(opf("<!DOCTYPE package><package><metadata><dc:title>"
	                     "T</dc:title></metadata></package>",
	                     "c.opf", &m, &why),
	    0);
	assert_string_equal(m.title, "T");
	bookmeta_release(&m);
	buf_release(&why);
	buf_release(&deep);
}

static void
test_bookmeta__opf_epub3(void **state)
{
	struct bookmeta m;
	struct buf why = BUF_INIT;

	(void)state;
	/* only editors: they become the authors; a non-series collection is
	 * skipped; an index out of range is dropped */
	assert_int_equal(
	    opf(META_HEAD
	        "<dc:creator id=\"e\">Ed</dc:creator>"
	        "<meta refines=\"#e\" property=\"role\">edt</meta>"
	        "<meta property=\"belongs-to-collection\" id=\"s\">Set</meta>"
	        "<meta refines=\"#s\" property=\"collection-type\">set</meta>"
	        "<meta property=\"belongs-to-collection\" id=\"t\">Saga</meta>"
	        "<meta refines=\"#t\" property=\"group-position\">1e9</meta>"
	        "<meta name=\"cover\" content=\"nope\"/>"
	        "</metadata><manifest><item id=\"cover\" href=\"g.jpg\" "
	        "media-type=\"image/jpeg\"/></manifest></package>",
	        "o/p.opf", &m, &why),
	    0);
	assert_int_equal(m.authors.n, 1);
	assert_string_equal(m.authors.v[0], "Ed");
	assert_string_equal(m.series, "Saga");
	assert_false(m.has_series_index);
	assert_string_equal(m.cover_entry, "o/g.jpg");
	bookmeta_release(&m);
	buf_release(&why);
}

static void
test_bookmeta__container(void **state)
{
	struct bookmeta_limits lim;
	struct buf opf_path = BUF_INIT, why = BUF_INIT;
	const char *two = "<container><rootfiles>"
	                  "<rootfile full-path=\"a.pdf\" media-type=\"x\"/>"
	                  "<rootfile full-path=\"b.opf\" "
	                  "media-type=\"application/oebps-package+xml\"/>"
	                  "</rootfiles></container>";

	(void)state;
	bookmeta_limits_default(&lim);
	assert_int_equal(
	    bookmeta_container_parse(two, strlen(two), &lim, &opf_path, &why),
	    0);
	assert_string_equal(opf_path.data, "b.opf");
	assert_int_equal(
	    bookmeta_container_parse("<container/>", 12, &lim, &opf_path, &why),
	    -1);
	assert_string_equal(why.data, "container.xml names no OPF (rootfile)");
	buf_release(&opf_path);
	buf_release(&why);
}

static int
pdf(const char *text, struct bookmeta *m, struct buf *why)
{
	struct bookmeta_limits lim;
	struct bookzip_src s = mem(text, strlen(text));

	bookmeta_limits_default(&lim);
	bookmeta_init(m);
	buf_reset(why);
	return bookmeta_pdf_parse(&s, &lim, m, why);
}

static void
test_bookmeta__pdf(void **state)
{
	struct bookmeta m;
	struct buf why = BUF_INIT;

	(void)state;
	/* no xref table: the object is found by search */
	assert_int_equal(pdf("%PDF-1.4\n7 0 obj\n<< /Title (a\\(b\\)\\101\\\n"
	                     "c (nested) \\\\) /Author <4a6f6>>>\nendobj\n"
	                     "trailer << /Info 7 0 R >>\nstartxref\n999\n%%EOF",
	                     &m, &why),
	    0);
	assert_string_equal(m.title, "a(b)Ac (nested) \\");
	assert_string_equal(m.authors.v[0], "Jo`");
	bookmeta_release(&m);
	/* UTF-16BE: a surrogate pair, then a lone one */
	assert_int_equal(pdf("%PDF-1.7\ntrailer << /Info << /Title "
	                     "<FEFF D83D DCD6 0041 D800 0042> >> >>\n"
	                     "startxref\n0\n%%EOF",
	                     &m, &why),
	    0);
	assert_string_equal(m.title, "\xf0\x9f\x93\x96"
	                             "A\xef\xbf\xbd"
	                             "B");
	bookmeta_release(&m);
	/* a chain of references: followed within the budget only */
	assert_int_equal(
	    pdf("%PDF-1.4\n1 0 obj\n<< /Title 2 0 R >>\nendobj\n2 0 obj\n3 0 "
	        "R\nendobj\n3 0 obj\n1 0 R\nendobj\ntrailer << /Info 1 0 R "
	        ">>\nstartxref\n5\n%%EOF",
	        &m, &why),
	    0);
	assert_null(m.title);
	bookmeta_release(&m);
	/* PDF 1.5: no trailer keyword, the xref stream's dictionary */
	assert_int_equal(pdf("%PDF-1.5\n7 0 obj\n<< /Title (From a stream) "
	                     ">>\nendobj\n9 0 obj\n<< /Type /XRef /Info 7 0 R "
	                     "/Size 10 >>\nstream\nxx\nendstream\nendobj\n"
	                     "startxref\n53\n%%EOF",
	                     &m, &why),
	    0);
	assert_string_equal(m.title, "From a stream");
	bookmeta_release(&m);
	/* PDFDocEncoding: 0x84 is an em dash */
	assert_int_equal(pdf("%PDF-1.4\ntrailer << /Info << /Title (a\\204b) "
	                     ">> >>\nstartxref\n0\n%%EOF",
	                     &m, &why),
	    0);
	assert_string_equal(m.title, "a\xe2\x80\x94"
	                             "b");
	bookmeta_release(&m);
	/* garbage: a dictionary that never ends, unbalanced strings */
	assert_int_equal(pdf("%PDF-1.4\ntrailer << /Info << /Title (abc "
	                     "startxref\n12",
	                     &m, &why),
	    0);
	assert_null(m.title);
	bookmeta_release(&m);
	assert_int_equal(pdf("%PDF-1.4\n", &m, &why), -1);
	assert_string_equal(why.data, "a PDF without startxref (truncated?)");
	bookmeta_release(&m);
	buf_release(&why);
}

/* Append len bytes of p deflated (zlib) to b. */
static void
add_deflated(struct buf *b, const void *p, size_t len)
{
	uLongf n = compressBound(len);

	buf_grow(b, n);
	assert_int_equal(compress((Bytef *)b->data + b->len, &n, p, len), Z_OK);
	b->len += n;
}

/*
 * A PDF 1.5 into f: /Info is object 4 inside object stream 5 (stream text
 * stm, deflated unless raw is given, /N n), found through the
 * cross-reference stream 6 (rows "type, 2-byte offset or stream, index",
 * PNG Up predictor), whose /Prev is prev (0: none, -1: itself).
 */
static void
pdf15(struct buf *f, const char *stm, const struct buf *raw, long n, long prev)
{
	struct buf data = BUF_INIT, rows = BUF_INIT, z = BUF_INIT;
	unsigned char row[4], last[4] = {0, 0, 0, 0};
	size_t off5, off6, i, j;
	unsigned rowv[7][3];

	buf_reset(f);
	buf_adds(f, "%PDF-1.5\n");
	if (raw != NULL)
		buf_add(&data, raw->data, raw->len);
	else
		add_deflated(&data, stm, strlen(stm));
	off5 = f->len;
	buf_addf(f,
	    "5 0 obj\n<< /Type /ObjStm /N %ld /First 4 /Length %zu /Filter "
	    "/FlateDecode >>\nstream\n",
	    n, data.len);
	buf_add(f, data.data, data.len);
	buf_adds(f, "\nendstream\nendobj\n");
	off6 = f->len;
	for (i = 0; i < 7; i++)
		rowv[i][0] = rowv[i][1] = rowv[i][2] = 0;
	rowv[4][0] = 2, rowv[4][1] = 5, rowv[4][2] = 0;
	rowv[5][0] = 1, rowv[5][1] = (unsigned)off5;
	rowv[6][0] = 1, rowv[6][1] = (unsigned)off6;
	for (i = 0; i < 7; i++) {
		row[0] = (unsigned char)rowv[i][0];
		row[1] = (unsigned char)(rowv[i][1] >> 8);
		row[2] = (unsigned char)rowv[i][1];
		row[3] = (unsigned char)rowv[i][2];
		buf_addch(&rows, 2); /* PNG Up */
		for (j = 0; j < 4; j++)
			buf_addch(&rows, (char)(row[j] - last[j]));
		memcpy(last, row, 4);
	}
	add_deflated(&z, rows.data, rows.len);
	buf_addf(f,
	    "6 0 obj\n<< /Type /XRef /Size 7 /W [1 2 1] /Info 4 0 R /Filter "
	    "/FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> "
	    "/Length %zu",
	    z.len);
	if (prev > 0)
		buf_addf(f, " /Prev %ld", prev);
	if (prev < 0)
		buf_addf(f, " /Prev %zu", off6);
	buf_adds(f, " >>\nstream\n");
	buf_add(f, z.data, z.len);
	buf_addf(f, "\nendstream\nendobj\nstartxref\n%zu\n%%%%EOF\n", off6);
	buf_release(&data);
	buf_release(&rows);
	buf_release(&z);
}

static int
pdf_buf(const struct buf *f, struct bookmeta *m, struct buf *why)
{
	struct bookmeta_limits lim;
	struct bookzip_src s = mem(f->data, f->len);

	bookmeta_limits_default(&lim);
	bookmeta_init(m);
	buf_reset(why);
	return bookmeta_pdf_parse(&s, &lim, m, why);
}

static void
test_bookmeta__pdf_streams(void **state)
{
	struct bookmeta m;
	struct buf why = BUF_INIT, f = BUF_INIT, bomb = BUF_INIT;
	char *zeros;

	(void)state;
	/* /Info in an object stream, through an xref stream */
	pdf15(&f, "4 0 << /Title (In a stream) /Author <4A6F> >>", NULL, 1, 0);
	assert_int_equal(pdf_buf(&f, &m, &why), 0);
	assert_string_equal(m.title, "In a stream");
	assert_string_equal(m.authors.v[0], "Jo");
	assert_null(m.note);
	bookmeta_release(&m);
	/* the xref stream's /Prev is itself: a few rounds, then done */
	pdf15(&f, "4 0 << /Title (Looped) >>", NULL, 1, -1);
	assert_int_equal(pdf_buf(&f, &m, &why), 0);
	assert_string_equal(m.title, "Looped");
	bookmeta_release(&m);
	/* /N past the cap: not read, and said */
	pdf15(&f, "4 0 << /Title (Many) >>", NULL,
	    (long)BOOKMETA_PDF_MAX_OBJSTM + 1, 0);
	assert_int_equal(pdf_buf(&f, &m, &why), 0);
	assert_null(m.title);
	assert_string_equal(m.note, "the PDF's /Info object cannot be read");
	bookmeta_release(&m);
	/* a stream inflating one byte past BOOKMETA_PDF_STREAM */
	zeros = calloc(1, BOOKMETA_PDF_STREAM + 1);
	memcpy(zeros, "4 0 << /Title (Bomb) >>", 23);
	add_deflated(&bomb, zeros, BOOKMETA_PDF_STREAM + 1);
	free(zeros);
	pdf15(&f, NULL, &bomb, 1, 0);
	assert_int_equal(pdf_buf(&f, &m, &why), 0);
	assert_null(m.title);
	bookmeta_release(&m);
	/* an object stream pointing past its data, garbage deflate data */
	pdf15(&f, "4 999 << /Title (Far) >>", NULL, 1, 0);
	assert_int_equal(pdf_buf(&f, &m, &why), 0);
	assert_null(m.title);
	bookmeta_release(&m);
	buf_reset(&bomb);
	buf_adds(&bomb, "x\x9cgarbage");
	pdf15(&f, NULL, &bomb, 1, 0);
	assert_int_equal(pdf_buf(&f, &m, &why), 0);
	assert_null(m.title);
	bookmeta_release(&m);
	/* encrypted: the file name's title, and why */
	assert_int_equal(pdf("%PDF-1.4\ntrailer << /Info << /Title (x) >> "
	                     "/Encrypt 3 0 R >>\nstartxref\n0\n%%EOF",
	                     &m, &why),
	    0);
	assert_null(m.title);
	assert_string_equal(
	    m.note, "an encrypted PDF (its /Info is not decrypted)");
	bookmeta_release(&m);
	buf_release(&f);
	buf_release(&bomb);
	buf_release(&why);
}

static int
comicinfo(const char *xml, struct bookmeta *m, struct buf *why)
{
	struct bookmeta_limits lim;

	bookmeta_limits_default(&lim);
	bookmeta_init(m);
	buf_reset(why);
	return bookmeta_comicinfo_parse(xml, strlen(xml), &lim, m, why);
}

static void
test_bookmeta__comicinfo(void **state)
{
	struct bookmeta m;
	struct buf why = BUF_INIT;

	(void)state;
	/* the root's children only; writers split, repeats once */
	assert_int_equal(
	    comicinfo("<ComicInfo><Pages><Page><Title>No</Title></Page>"
	              "</Pages><Title> Yes </Title><Writer>A, B,,A</Writer>"
	              "<Number>2.5</Number><Series>S</Series>"
	              "<Genre>g</Genre><Tags>t, g</Tags></ComicInfo>",
	        &m, &why),
	    0);
	assert_string_equal(m.title, "Yes");
	assert_int_equal(m.authors.n, 2);
	assert_string_equal(m.authors.v[1], "B");
	assert_true(m.has_series_index);
	assert_true(m.series_index == 2.5);
	assert_int_equal(m.subjects.n, 2);
	bookmeta_release(&m);
	/* a number that is none, or without a series: no index */
	assert_int_equal(comicinfo("<ComicInfo><Series>S</Series><Number>"
	                           "1/2</Number></ComicInfo>",
	                     &m, &why),
	    0);
	assert_false(m.has_series_index);
	bookmeta_release(&m);
	assert_int_equal(
	    comicinfo("<ComicInfo><Number>3</Number></ComicInfo>", &m, &why),
	    0);
	assert_false(m.has_series_index);
	bookmeta_release(&m);
	/* an entity declaration, broken XML */
	assert_int_equal(comicinfo("<!DOCTYPE c [<!ENTITY a \"b\">]><c>&a;"
	                           "</c>",
	                     &m, &why),
	    -1);
	assert_string_equal(why.data,
	    "an XML entity declaration (refused: "
	    "entity expansion and external entities)");
	bookmeta_release(&m);
	assert_int_equal(comicinfo("<ComicInfo><Title>", &m, &why), -1);
	bookmeta_release(&m);
	buf_release(&why);
}

/* A MOBI header: n records at the given offsets, record 0 of rec0. */
static size_t
mobi_file(unsigned char *f, size_t cap, const uint32_t *offs, unsigned n)
{
	unsigned i;

	memset(f, 0, cap);
	memcpy(f + 60, "BOOKMOBI", 8);
	f[76] = 0;
	f[77] = (unsigned char)n;
	for (i = 0; i < n; i++) {
		f[78 + 8 * i] = (unsigned char)(offs[i] >> 24);
		f[78 + 8 * i + 1] = (unsigned char)(offs[i] >> 16);
		f[78 + 8 * i + 2] = (unsigned char)(offs[i] >> 8);
		f[78 + 8 * i + 3] = (unsigned char)offs[i];
	}
	return cap;
}

static void
test_bookmeta__mobi(void **state)
{
	static unsigned char f[1024];
	const uint32_t bad_order[] = {200, 100};
	const uint32_t past_end[] = {200, 5000};
	const uint32_t ok[] = {100, 900};
	struct bookmeta_limits lim;
	struct bookmeta m;
	struct buf why = BUF_INIT;
	struct bookzip_src s;

	(void)state;
	bookmeta_limits_default(&lim);
	s = mem(f, mobi_file(f, sizeof(f), bad_order, 2));
	bookmeta_init(&m);
	assert_int_equal(bookmeta_mobi_parse(&s, &lim, &m, &why), -1);
	assert_string_equal(why.data, "a damaged or truncated MOBI header");
	bookmeta_release(&m);
	s = mem(f, mobi_file(f, sizeof(f), past_end, 2));
	assert_int_equal(bookmeta_mobi_parse(&s, &lim, &m, &why), -1);
	bookmeta_release(&m);
	/* record 0 without "MOBI" */
	s = mem(f, mobi_file(f, sizeof(f), ok, 2));
	assert_int_equal(bookmeta_mobi_parse(&s, &lim, &m, &why), -1);
	bookmeta_release(&m);
	/* a MOBI header whose length runs past the record, then one whose
	 * EXTH claims more records and bytes than there are */
	memcpy(f + 116, "MOBI\xff\xff\xff\xff", 8);
	assert_int_equal(bookmeta_mobi_parse(&s, &lim, &m, &why), -1);
	bookmeta_release(&m);
	memcpy(f + 116, "MOBI\0\0\0\xe8", 8);
	f[100 + 128 + 3] = 0x40;
	memcpy(f + 100 + 16 + 232,
	    "EXTH\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\0\0\x01\xf7\0\0\0\x0bTi\xff",
	    23);
	buf_reset(&why);
	assert_int_equal(bookmeta_mobi_parse(&s, &lim, &m, &why), 0);
	/* text encoding 0 (not 1252): UTF-8, and 0xff is no UTF-8 */
	assert_string_equal(m.title, "Ti\xef\xbf\xbd");
	bookmeta_release(&m);
	buf_release(&why);
}

static void
put16(unsigned char *z, size_t *o, unsigned v)
{
	z[(*o)++] = (unsigned char)v;
	z[(*o)++] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *z, size_t *o, unsigned v)
{
	put16(z, o, v & 0xffff);
	put16(z, o, v >> 16);
}

/* A stored zip of one entry named name (no compression). */
static size_t
zip_one(unsigned char *z, const char *name, const char *data)
{
	size_t nl = strlen(name), dl = strlen(data), o = 0, cd, cdlen;

#define U16(v) put16(z, &o, (unsigned)(v))
#define U32(v) put32(z, &o, (unsigned)(v))
	U32(0x04034b50u);
	U16(10);
	U16(0);
	U16(0);
	U16(0);
	U16(0);
	U32(0u); /* crc: not checked before reading */
	U32((unsigned)dl);
	U32((unsigned)dl);
	U16(nl);
	U16(0);
	memcpy(z + o, name, nl);
	o += nl;
	memcpy(z + o, data, dl);
	o += dl;
	cd = o;
	U32(0x02014b50u);
	U16(20);
	U16(10);
	U16(0);
	U16(0);
	U16(0);
	U16(0);
	U32(0u);
	U32((unsigned)dl);
	U32((unsigned)dl);
	U16(nl);
	U16(0);
	U16(0);
	U16(0);
	U16(0);
	U32(0u);
	U32(0u);
	memcpy(z + o, name, nl);
	o += nl;
	cdlen = o - cd;
	U32(0x06054b50u);
	U16(0);
	U16(0);
	U16(1);
	U16(1);
	U32((unsigned)cdlen);
	U32((unsigned)cd);
	U16(0);
#undef U16
#undef U32
	return o;
}

static void
test_bookmeta__zip_names(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
	    {"a/b.png", true},
	    {"dir/", true},
	    {"../x", false},
	    {"a/../x", false},
	    {"/abs", false},
	    {"a\\b", false},
	    {"a//b", false},
	    {"./a", false},
	    {"a/.", false},
	    {"a\x01", false},
	    {"..", false},
	    {"...", true},
	};
	unsigned char z[512];
	struct bookzip bz;
	struct bookzip_src s;
	struct buf why = BUF_INIT, out = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = mem(z, zip_one(z, cases[i].name, "data"));
		buf_reset(&why);
		if (bookzip_open(&bz, &s, 10, 100, &why) == 0) {
			if (!cases[i].ok)
				fail_msg("'%s' accepted", cases[i].name);
			bookzip_close(&bz);
		} else if (cases[i].ok) {
			fail_msg("'%s' refused: %s", cases[i].name, why.data);
		}
	}
	/* the CRC is wrong (0): the read says so */
	s = mem(z, zip_one(z, "a.txt", "data"));
	assert_int_equal(bookzip_open(&bz, &s, 10, 100, &why), 0);
	assert_int_equal(bookzip_find(&bz, "a.txt"), 0);
	buf_reset(&why);
	assert_int_equal(bookzip_read(&bz, 0, 100, &out, &why), -1);
	assert_string_equal(why.data, "'a.txt': damaged entry (CRC mismatch)");
	buf_reset(&why);
	assert_int_equal(bookzip_read(&bz, 0, 3, &out, &why), -1);
	assert_string_equal(
	    why.data, "'a.txt' is too large (4 bytes, at most 3)");
	bookzip_close(&bz);
	/* too many entries */
	buf_reset(&why);
	assert_int_equal(bookzip_open(&bz, &s, 0, 100, &why), -1);
	assert_string_equal(
	    why.data, "too many entries in the archive (1, at most 0)");
	buf_release(&why);
	buf_release(&out);
}

static void
png_write(void *ctx, void *data, int size)
{
	buf_add(ctx, data, (size_t)size);
}

static void
test_bookmeta__cover(void **state)
{
	unsigned char px[30 * 20 * 3];
	struct buf png = BUF_INIT, jpg = BUF_INIT, why = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(px); i++)
		px[i] = (unsigned char)(i * 7);
	assert_true(stbi_write_png_to_func(png_write, &png, 30, 20, 3, px, 0));
	assert_int_equal(
	    cover_thumbnail(png.data, png.len, 15, 15, &jpg, &why), 0);
	assert_true(jpg.len > 100);
	assert_memory_equal(jpg.data, "\xff\xd8", 2);
	assert_int_equal(
	    cover_thumbnail(png.data, png.len, 0, 15, &jpg, &why), -1);
	buf_reset(&why);
	assert_int_equal(cover_thumbnail("garbage", 7, 10, 10, &jpg, &why), -1);
	assert_string_equal(why.data, "not an image kosyncd can read");
	/* a PNM (stb reads it; no cover is one) */
	buf_reset(&why);
	assert_int_equal(cover_thumbnail("P6\n2 2\n255\nabcdefghijkl", 23, 10,
	                     10, &jpg, &why),
	    -1);
	assert_string_equal(why.data, "not an image kosyncd can read");
	/* the header says 8000 x 6000: 48 MP */
	png.data[16] = 0;
	png.data[17] = 0;
	png.data[18] = 0x1f;
	png.data[19] = 0x40;
	png.data[20] = 0;
	png.data[21] = 0;
	png.data[22] = 0x17;
	png.data[23] = 0x70;
	buf_reset(&why);
	assert_int_equal(
	    cover_thumbnail(png.data, png.len, 10, 10, &jpg, &why), -1);
	assert_string_equal(why.data, "the image is too large (8000 x 6000 "
	                              "pixels, at most 40000000)");
	buf_release(&png);
	buf_release(&jpg);
	buf_release(&why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bookmeta__text),
	    cmocka_unit_test(test_bookmeta__lists),
	    cmocka_unit_test(test_bookmeta__opf_cover_hrefs),
	    cmocka_unit_test(test_bookmeta__opf_refused),
	    cmocka_unit_test(test_bookmeta__opf_epub3),
	    cmocka_unit_test(test_bookmeta__container),
	    cmocka_unit_test(test_bookmeta__pdf),
	    cmocka_unit_test(test_bookmeta__pdf_streams),
	    cmocka_unit_test(test_bookmeta__comicinfo),
	    cmocka_unit_test(test_bookmeta__mobi),
	    cmocka_unit_test(test_bookmeta__zip_names),
	    cmocka_unit_test(test_bookmeta__cover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
