#!/usr/bin/env python3
"""mkbooks.py: book files for the tests of the library's readers, made here
field by field with the standard library only (zipfile, struct), never
copied from anywhere.

    tests/mkbooks.py books DIR      every sample book and hostile variant
    tests/mkbooks.py md5 DIR        files of every partial-MD5 size class
                                    and a line "name size partial_md5" each
    tests/mkbooks.py md5-table      the C table of test_partialmd5.c
    tests/mkbooks.py corpus DIR     seed inputs of the fuzz targets

The partial MD5 here is written from KOReader's description (1024-byte
samples at 0, 1 KiB, 4 KiB, ... 1 GiB, stopping at the end) with
hashlib, independently of src/partialmd5.c.
"""
import hashlib
import os
import sys

# The pattern of the partial-MD5 files: byte i of a file, for i below
# PATTERN_END; past it the file is a hole (zeros), so that files of a GiB
# and more cost nothing on disk.
PATTERN_END = 4 << 20


def pattern_byte(i):
    return (i * 131 + (i >> 12)) & 0xFF


def pattern(start, length):
    end = min(start + length, PATTERN_END)
    b = bytes(pattern_byte(i) for i in range(start, max(start, end)))
    return b + bytes(start + length - max(start, end) if start + length > PATTERN_END else 0)


def partial_md5_of(read_at, size):
    """KOReader's util.partialMD5 over read_at(offset, n) of a file of
    size bytes."""
    h = hashlib.md5()
    for i in range(-1, 11):
        off = 0 if i < 0 else 1024 << (2 * i)
        if off >= size:
            break
        h.update(read_at(off, min(1024, size - off)))
    return h.hexdigest()


def partial_md5_file(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        def read_at(off, n):
            f.seek(off)
            return f.read(n)
        return partial_md5_of(read_at, size)


# Sizes around every sample offset, under 1 KiB, several MB, and past
# 1 GiB (sparse).
MD5_SIZES = [0, 1, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 4097, 5120,
             5121, 16383, 16384, 16385, 66560, 262143, 262144, 262145,
             1048577, 4195327, 5 << 20, (16 << 20) + 1024, (64 << 20) + 512,
             (256 << 20) + 1, (1 << 30) - 1, 1 << 30, (1 << 30) + 1,
             (1 << 30) + 1024, (1 << 30) + 5000, 3 << 30]


def write_pattern_file(path, size):
    with open(path, "wb") as f:
        f.write(pattern(0, min(size, PATTERN_END)))
        f.truncate(size)


def pattern_md5(size):
    return partial_md5_of(lambda off, n: pattern(off, n), size)


def cmd_md5(outdir):
    os.makedirs(outdir, exist_ok=True)
    for size in MD5_SIZES:
        name = "size-%d.bin" % size
        path = os.path.join(outdir, name)
        write_pattern_file(path, size)
        print(name, size, partial_md5_file(path))


def cmd_md5_table():
    for size in MD5_SIZES:
        print('    {%dULL, "%s"},' % (size, pattern_md5(size)))


# ---------------------------------------------------------------------
# Sample books

import struct
import zipfile
import zlib


def png(width, height, declared=None):
    """A PNG of width x height RGB pixels (a gradient); declared=(w, h)
    writes other dimensions into IHDR (a huge image header with tiny
    data)."""
    rows = b"".join(
        b"\0" + b"".join(bytes(((x * 255 // max(1, width - 1)) & 0xFF,
                                (y * 255 // max(1, height - 1)) & 0xFF,
                                128))
                         for x in range(width))
        for y in range(height))
    w, h = declared or (width, height)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


COVER = png(60, 90)

CONTAINER = ('<?xml version="1.0"?>\n'
             '<container version="1.0" xmlns="urn:oasis:names:tc:'
             'opendocument:xmlns:container"><rootfiles>'
             '<rootfile full-path="%s" media-type="application/oebps-'
             'package+xml"/></rootfiles></container>\n')

OPF2 = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="uid">
 <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
  <dc:title>Le Petit  Prince</dc:title>
  <dc:creator opf:role="aut" opf:file-as="Saint-Exupéry, Antoine de">Antoine de Saint-Exupéry</dc:creator>
  <dc:creator opf:role="ill">Someone Else</dc:creator>
  <dc:language>fr</dc:language>
  <dc:publisher>Gallimard</dc:publisher>
  <dc:description>&lt;p&gt;Un pilote &amp;amp; un &lt;b&gt;prince&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Deuxième paragraphe.&lt;/p&gt;</dc:description>
  <dc:identifier id="uid" opf:scheme="ISBN">9782070612758</dc:identifier>
  <dc:identifier opf:scheme="calibre">42</dc:identifier>
  <dc:subject>Fiction</dc:subject>
  <dc:subject>Classics</dc:subject>
  <dc:subject>Fiction</dc:subject>
  <meta name="calibre:series" content="Les Classiques"/>
  <meta name="calibre:series_index" content="2.5"/>
  <meta name="cover" content="cover-img"/>
 </metadata>
 <manifest>
  <item id="cover-img" href="../Images/cover%20page.png" media-type="image/png"/>
  <item id="text" href="text.xhtml" media-type="application/xhtml+xml"/>
 </manifest>
 <spine><itemref idref="text"/></spine>
</package>
"""

OPF3 = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="pub-id">
 <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:identifier id="pub-id">urn:uuid:0d5e6c2a-53f4-4a11-9c52-8b0d1e6f7a10</dc:identifier>
  <dc:title id="t1">The Left Hand of Darkness</dc:title>
  <dc:creator id="c1">Ursula K. Le Guin</dc:creator>
  <meta refines="#c1" property="role" scheme="marc:relators">aut</meta>
  <dc:creator id="c2">An Editor</dc:creator>
  <meta refines="#c2" property="role" scheme="marc:relators">edt</meta>
  <dc:language>en</dc:language>
  <meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>
  <meta property="belongs-to-collection" id="s1">Hainish Cycle</meta>
  <meta refines="#s1" property="collection-type">series</meta>
  <meta refines="#s1" property="group-position">4</meta>
 </metadata>
 <manifest>
  <item id="img" href="images/cover.png" media-type="image/png" properties="cover-image"/>
  <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
 </manifest>
 <spine><itemref idref="nav"/></spine>
</package>
"""


def epub(path, opf, opf_path="OEBPS/content.opf", extra=(), container=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        z.writestr("META-INF/container.xml",
                   container if container is not None
                   else CONTAINER % opf_path, zipfile.ZIP_DEFLATED)
        if opf is not None:
            z.writestr(opf_path, opf, zipfile.ZIP_DEFLATED)
        for name, data in extra:
            z.writestr(name, data, zipfile.ZIP_DEFLATED)


FB2 = """<?xml version="1.0" encoding="%s"?>
<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" xmlns:l="http://www.w3.org/1999/xlink">
 <description>
  <title-info>
   <genre>sf</genre>
   <author><first-name>Arkady</first-name><last-name>Strugatsky</last-name></author>
   <author><first-name>Boris</first-name><middle-name>N.</middle-name><last-name>Strugatsky</last-name></author>
   <book-title>%s</book-title>
   <annotation><p>First paragraph.</p><p>Second <emphasis>one</emphasis>.</p></annotation>
   <keywords>stalker, zone</keywords>
   <lang>ru</lang>
   <sequence name="Noon Universe" number="7"/>
   <coverpage><image l:href="#cover.png"/></coverpage>
  </title-info>
  <publish-info><publisher>Macmillan</publisher><isbn>978-0-02-615170-9</isbn></publish-info>
 </description>
 <body><section><p>Text.</p></section></body>
 <binary id="cover.png" content-type="image/png">%s</binary>
</FictionBook>
"""


def b64lines(data):
    import base64
    t = base64.b64encode(data).decode()
    return "\n".join(t[i:i + 76] for i in range(0, len(t), 76))


def pdf(info=None, trailer_extra="", before_xref=b""):
    """A one-page PDF with a classic cross-reference table; info is the
    /Info dictionary (object 4; None: no /Info); before_xref is put
    before the table (more objects, not in the table)."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    if info is not None:
        objs.append(info)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o.encode("latin-1") + \
            b"\nendobj\n"
    out += before_xref
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R" % (len(objs) + 1)
    if info is not None:
        out += b" /Info 4 0 R"
    out += trailer_extra.encode() + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def pdf15(objstm, info_ref=4, n=None, length=None, stm_data=None,
          xref_index=None, xref_prev=None, predictor=True, hybrid=False):
    """A PDF 1.5 with its /Info in a compressed object stream, found
    through a cross-reference stream (FlateDecode, PNG Up predictor).
    objstm maps object numbers (4 and up) to their text inside object
    stream 10; the other knobs make hostile variants: n and length the
    stream's /N and /Length, stm_data its compressed bytes, xref_index
    and xref_prev the xref stream's /Index and /Prev ("self": its own
    offset); hybrid adds a classic table after it, of the objects in the
    file only, whose trailer names the stream in /XRefStm."""
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offs = {}
    for num, o in ((1, "<< /Type /Catalog /Pages 2 0 R >>"),
                   (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                   (3, "<< /Type /Page /Parent 2 0 R "
                       "/MediaBox [0 0 200 200] >>")):
        offs[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, o.encode())
    nums = sorted(objstm)
    body, head = b"", []
    for num in nums:
        head.append("%d %d" % (num, len(body)))
        body += objstm[num].encode("latin-1") + b"\n"
    header = (" ".join(head) + "\n").encode()
    data = zlib.compress(header + body) if stm_data is None else stm_data
    offs[10] = len(out)
    out += b"10 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d " \
        b"/Filter /FlateDecode >>\nstream\n" % (
            len(nums) if n is None else n, len(header),
            len(data) if length is None else length)
    out += data + b"\nendstream\nendobj\n"
    xref = len(out)
    offs[11] = xref
    rows = []
    for num in range(12):
        if num in offs:
            rows.append(struct.pack(">BIH", 1, offs[num], 0))
        elif num in objstm:
            rows.append(struct.pack(">BIH", 2, 10, nums.index(num)))
        else:
            rows.append(struct.pack(">BIH", 0, 0, 0))
    if predictor:
        raw, prev = b"", bytes(7)
        for r in rows:
            raw += b"\2" + bytes((a - b) & 0xFF for a, b in zip(r, prev))
            prev = r
        parms = " /DecodeParms << /Predictor 12 /Columns 7 >>"
    else:
        raw, parms = b"".join(rows), ""
    stream = zlib.compress(raw)
    extra = ""
    if xref_index is not None:
        extra += " /Index [%s]" % xref_index
    if xref_prev is not None:
        extra += " /Prev %d" % (xref if xref_prev == "self" else xref_prev)
    out += b"11 0 obj\n<< /Type /XRef /Size 12 /W [1 4 2] /Root 1 0 R " \
        b"/Info %d 0 R /Filter /FlateDecode%s%s /Length %d >>\nstream\n" \
        % (info_ref, parms.encode(), extra.encode(), len(stream))
    out += stream + b"\nendstream\nendobj\n"
    if hybrid:
        table = len(out)
        out += b"xref\n0 12\n"
        for num in range(12):
            out += (b"%010d 00000 n \n" % offs[num] if num in offs
                    else b"0000000000 65535 f \n")
        out += b"trailer\n<< /Size 12 /Root 1 0 R /Info %d 0 R " \
            b"/XRefStm %d >>\n" % (info_ref, xref)
        xref = table
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def utf16hex(s):
    return "<FEFF" + s.encode("utf-16-be").hex().upper() + ">"


def mobi(title, authors, exth_title=None, cover=None, encoding=65001,
         version=6):
    """A MOBI: PalmDB header, record 0 (PalmDOC + MOBI header + EXTH), a
    text record, and the cover as an image record."""
    enc = "utf-8" if encoding == 65001 else "cp1252"
    exth = []
    for a in authors:
        exth.append((100, a.encode(enc)))
    if exth_title is not None:
        exth.append((503, exth_title.encode(enc)))
    exth.append((524, b"en"))
    exth.append((104, b"9780441478125"))
    if cover is not None:
        exth.append((201, struct.pack(">I", 0)))
    exth_body = b"".join(struct.pack(">II", t, len(d) + 8) + d
                         for t, d in exth)
    exth_block = b"EXTH" + struct.pack(">II", 12 + len(exth_body),
                                       len(exth)) + exth_body
    mobi_len = 232
    full_name = title.encode(enc)
    name_off = 16 + mobi_len + len(exth_block)
    hdr = bytearray(mobi_len)
    hdr[0:4] = b"MOBI"
    struct.pack_into(">I", hdr, 4, mobi_len)
    struct.pack_into(">I", hdr, 8, 2)           # mobi type: book
    struct.pack_into(">I", hdr, 12, encoding)
    struct.pack_into(">I", hdr, 20, version)
    struct.pack_into(">I", hdr, 84 - 16, name_off)
    struct.pack_into(">I", hdr, 88 - 16, len(full_name))
    struct.pack_into(">I", hdr, 108 - 16, 2 if cover is not None else
                     0xFFFFFFFF)               # first image record
    struct.pack_into(">I", hdr, 128 - 16, 0x40)  # EXTH present
    palmdoc = struct.pack(">HHIHHHH", 1, 0, 5, 1, 4096, 0, 0)
    rec0 = palmdoc + bytes(hdr) + exth_block + full_name + b"\0\0"
    records = [rec0, b"Hello"]
    if cover is not None:
        records.append(cover)
    n = len(records)
    off = 78 + 8 * n + 2
    head = bytearray(78)
    head[0:6] = b"Sample"
    head[60:68] = b"BOOKMOBI"
    struct.pack_into(">H", head, 76, n)
    rl = b""
    for i, r in enumerate(records):
        rl += struct.pack(">II", off, i * 2)
        off += len(r)
    return bytes(head) + rl + b"\0\0" + b"".join(records)


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


COMICINFO = """<?xml version="1.0" encoding="utf-8"?>
<ComicInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Title>The Long Night</Title>
  <Series>Night Watch</Series>
  <Number>3</Number>
  <Summary>Two watchers.
A city that never sleeps.</Summary>
  <Writer>Anna Ink, Bo Pen</Writer>
  <Penciller>Not An Author</Penciller>
  <Publisher>Small Press</Publisher>
  <Genre>Noir, Fantasy</Genre>
  <Tags>night,Noir</Tags>
  <LanguageISO>en</LanguageISO>
  <Pages><Page Image="0" Type="FrontCover"><Title>ignored</Title></Page></Pages>
</ComicInfo>
"""

# The objects of pdf15()'s object stream: /Info with an author given by
# reference, to another object of the stream.
OBJSTM = {4: "<< /Title (Compressed \\(Stream\\) Title) /Author 5 0 R "
             "/Keywords (x, y) >>",
          5: "(Ann Author)"}

LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE package [\n'
          '<!ENTITY a "aaaaaaaaaa">\n' +
          "".join('<!ENTITY %s "%s">\n' % (chr(98 + i),
                  ("&%s;" % chr(97 + i)) * 10) for i in range(9)) +
          ']>\n<package><metadata><title>&j;</title></metadata>'
          '</package>\n')
EXTERNAL = ('<?xml version="1.0"?>\n<!DOCTYPE package [\n'
            '<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            '<package><metadata><title>&x;</title></metadata>'
            '</package>\n')


def cmd_books(d):
    os.makedirs(d, exist_ok=True)
    # EPUB 2 with calibre's series, a cover two folders up from the OPF
    epub(os.path.join(d, "epub2.epub"), OPF2, "OEBPS/Text/content.opf",
         [("OEBPS/Images/cover page.png", COVER),
          ("OEBPS/Text/text.xhtml", "<html/>")])
    # EPUB 3 with refinements and a cover-image item
    epub(os.path.join(d, "epub3.epub"), OPF3, "EPUB/package.opf",
         [("EPUB/images/cover.png", COVER), ("EPUB/nav.xhtml", "<html/>")])
    # An OPF without a title: the file name's
    epub(os.path.join(d, "No Title Here.epub"),
         OPF3.replace('<dc:title id="t1">The Left Hand of Darkness'
                      '</dc:title>', ''), "package.opf")
    write(d, "book.fb2", FB2 % ("UTF-8", "Roadside Picnic", b64lines(COVER)))
    write(d, "cp1251.fb2", (FB2 % ("windows-1251", "Пикник на обочине", ""))
          .replace('<coverpage><image l:href="#cover.png"/></coverpage>',
                   '').encode("cp1251"))
    write(d, "info.pdf", pdf("<< /Title (A \\(Literal\\) Title) "
                             "/Author (Jane Doe) /Keywords (a, b; c) >>"))
    write(d, "utf16.pdf", pdf("<< /Title %s /Author <4A6F686E> >>"
                              % utf16hex("Ελληνικά 📖")))
    write(d, "ref.pdf", pdf("<< /Title 5 0 R >>", before_xref=b"5 0 obj\n"
                            b"(Indirect Title)\nendobj\n"))
    write(d, "noinfo.pdf", pdf())
    write(d, "encrypted.pdf", pdf("<< /Title (Secret) >>",
                                  trailer_extra=" /Encrypt 9 0 R"))
    write(d, "objstm.pdf", pdf15(OBJSTM))
    write(d, "objstm-plain.pdf", pdf15(OBJSTM, predictor=False))
    write(d, "hybrid.pdf", pdf15(OBJSTM, hybrid=True))
    # an .fb2.zip: the FB2 above, deflated
    with zipfile.ZipFile(os.path.join(d, "book.fb2.zip"), "w") as z:
        z.writestr("Roadside Picnic.fb2", FB2 % ("UTF-8", "Roadside Picnic",
                                                 b64lines(COVER)),
                   zipfile.ZIP_DEFLATED)
    # a CBZ with ComicInfo.xml
    with zipfile.ZipFile(os.path.join(d, "comicinfo.cbz"), "w") as z:
        z.writestr("ComicInfo.xml", COMICINFO)
        z.writestr("p01.png", COVER)
        z.writestr("p02.png", COVER)
    with zipfile.ZipFile(os.path.join(d, "comic.cbz"), "w") as z:
        z.writestr("__MACOSX/._001.png", b"junk")
        z.writestr("pages/002.png", COVER)
        z.writestr("pages/001.png", COVER)
        z.writestr("ComicInfo.xml", "<ComicInfo/>")
    write(d, "book.mobi", mobi("Full Name", ["Frank Herbert"], "Dune",
                               cover=COVER))
    write(d, "cp1252.azw3", mobi("Caf\u00e9 \u2013 Full", ["Andr\u00e9"],
                                 None, encoding=1252, version=8))
    write(d, "book.djvu", b"AT&TFORM\0\0\0\x10DJVUINFO")
    write(d, "notes.txt", "Just text.\n")

    # Hostile files
    h = os.path.join(d, "hostile")
    os.makedirs(h, exist_ok=True)
    # an OPF of 50 MB of blanks (about 50 KB compressed)
    with zipfile.ZipFile(os.path.join(h, "bomb.epub"), "w") as z:
        z.writestr("META-INF/container.xml", CONTAINER % "content.opf")
        z.writestr("content.opf", OPF2 + " " * (50 << 20),
                   zipfile.ZIP_DEFLATED)
    # under the size cap, past the ratio
    with zipfile.ZipFile(os.path.join(h, "ratio.epub"), "w") as z:
        z.writestr("META-INF/container.xml", CONTAINER % "content.opf")
        z.writestr("content.opf", OPF2.replace("</package>", "<!--" +
                   "x" * (3 << 20) + "--></package>"), zipfile.ZIP_DEFLATED)
    # an entry whose headers say 2,000 bytes and that inflates to 10 MB
    liar = os.path.join(h, "liar.epub")
    with zipfile.ZipFile(liar, "w") as z:
        z.writestr("META-INF/container.xml", CONTAINER % "content.opf")
        z.writestr("content.opf", OPF2 + " " * (10 << 20),
                   zipfile.ZIP_DEFLATED)
    data = bytearray(open(liar, "rb").read())
    for sig, at in ((b"PK\3\4", 22), (b"PK\1\2", 24)):
        i = 0
        while True:
            i = data.find(sig, i)
            if i < 0:
                break
            name_at = i + (30 if sig == b"PK\3\4" else 46)
            if data[name_at:name_at + 11] == b"content.opf":
                struct.pack_into("<I", data, i + at, 2000)
            i += 4
    write(h, "liar.epub", bytes(data))
    epub(os.path.join(h, "laughs.epub"), LAUGHS, "content.opf")
    epub(os.path.join(h, "external.epub"), EXTERNAL, "content.opf")
    write(h, "laughs.fb2", LAUGHS.replace("package", "FictionBook"))
    with zipfile.ZipFile(os.path.join(h, "dotdot.epub"), "w") as z:
        z.writestr("META-INF/container.xml", CONTAINER % "content.opf")
        z.writestr("content.opf", OPF3)
        z.writestr("../../evil.png", COVER)
    with zipfile.ZipFile(os.path.join(h, "absolute.cbz"), "w") as z:
        z.writestr("/etc/evil.png", COVER)
    deep = "<a>" * 100 + "</a>" * 100
    epub(os.path.join(h, "deep.epub"), "<package><metadata>" + deep +
         "</metadata></package>", "content.opf")
    good = open(os.path.join(d, "epub3.epub"), "rb").read()
    write(h, "truncated.epub", good[:len(good) // 2])
    write(h, "garbage.epub", bytes((i * 37 + 11) & 0xFF for i in range(5000)))
    write(h, "truncated.pdf", pdf("<< /Title (Cut) >>")[:300])
    # object streams: 64 MB of zeros behind a /Length of a TB, an /N of
    # a billion, garbage for deflate data, an xref stream whose /Prev is
    # itself and whose /Index leaves the /Info out
    write(h, "objstm-bomb.pdf", pdf15(OBJSTM, length=1 << 40,
                                      stm_data=zlib.compress(
                                          bytes(64 << 20), 9)))
    write(h, "objstm-n.pdf", pdf15(OBJSTM, n=10 ** 9))
    write(h, "objstm-garbage.pdf", pdf15(OBJSTM, stm_data=b"\x78\x9c" +
                                         bytes(range(200))))
    write(h, "xref-loop.pdf", pdf15(OBJSTM, xref_index="0 4",
                                    xref_prev="self"))
    write(h, "truncated.mobi", mobi("T", ["A"], "T")[:120])
    # .fb2.zip: two books in one zip; one FB2 of 65 MB (past the FB2 cap)
    with zipfile.ZipFile(os.path.join(h, "several.fb2.zip"), "w") as z:
        z.writestr("a.fb2", FB2 % ("UTF-8", "A", ""))
        z.writestr("b.fb2", FB2 % ("UTF-8", "B", ""))
    with zipfile.ZipFile(os.path.join(h, "oversized.fb2.zip"), "w") as z:
        z.writestr("big.fb2", (FB2 % ("UTF-8", "Big", "")).replace(
            "<body>", "<body>" + " " * (65 << 20)), zipfile.ZIP_DEFLATED)
    # ComicInfo.xml with billion laughs, and nested too deeply
    with zipfile.ZipFile(os.path.join(h, "laughs.cbz"), "w") as z:
        z.writestr("ComicInfo.xml", LAUGHS.replace("package", "ComicInfo"))
        z.writestr("p01.png", COVER)
    with zipfile.ZipFile(os.path.join(h, "deep.cbz"), "w") as z:
        z.writestr("ComicInfo.xml", "<ComicInfo>" + deep + "</ComicInfo>")
        z.writestr("p01.png", COVER)
    with zipfile.ZipFile(os.path.join(h, "huge-image.cbz"), "w") as z:
        z.writestr("001.png", png(2, 2, declared=(10000, 5000)))
    epub(os.path.join(h, "no-opf.epub"), None)
    write(h, "empty.epub", b"")
    write(h, "random.bin", b"\x00\x01\x02 not a book")


def cmd_corpus(d):
    """Seeds of the fuzz targets opf, fb2, pdf, mobi, bookzip and
    comicinfo in d/<target>/seed-*."""
    import tempfile
    books = tempfile.mkdtemp()
    cmd_books(books)

    def seed(target, name, data):
        os.makedirs(os.path.join(d, target), exist_ok=True)
        write(os.path.join(d, target), "seed-" + name,
              data if isinstance(data, bytes) else data.encode())

    def read(name):
        with open(os.path.join(books, name), "rb") as f:
            return f.read()

    seed("opf", "opf2", b"\0" + OPF2.encode())
    seed("opf", "opf3", b"\0" + OPF3.encode())
    seed("opf", "laughs", b"\0" + LAUGHS.encode())
    seed("opf", "container", b"\1" + (CONTAINER % "a/b.opf").encode())
    seed("fb2", "utf8", FB2 % ("UTF-8", "Roadside Picnic", b64lines(png(2, 3))))
    seed("fb2", "cp1251", read("cp1251.fb2"))
    for name in ("info", "utf16", "ref", "noinfo", "encrypted", "objstm",
                 "objstm-plain", "hybrid"):
        seed("pdf", name, read(name + ".pdf"))
    seed("mobi", "utf8", mobi("Full Name", ["Frank Herbert"], "Dune",
                              cover=png(2, 3)))
    seed("mobi", "cp1252", read("cp1252.azw3"))
    small_epub = os.path.join(books, "small.epub")
    epub(small_epub, OPF3, "EPUB/package.opf",
         [("EPUB/images/cover.png", png(2, 3))])
    with open(small_epub, "rb") as f:
        seed("bookzip", "epub3", b"\0" + f.read())
    with zipfile.ZipFile(os.path.join(books, "small.cbz"), "w") as z:
        z.writestr("b.png", png(2, 2))
        z.writestr("a.png", png(2, 3))
    seed("bookzip", "cbz", b"\1" + read("small.cbz"))
    seed("bookzip", "fb2", b"\3" + read("cp1251.fb2"))
    seed("bookzip", "pdf", b"\0" + read("info.pdf"))
    seed("bookzip", "azw3", b"\2" + read("cp1252.azw3"))
    with zipfile.ZipFile(os.path.join(books, "small.fb2.zip"), "w") as z:
        z.writestr("small.fb2", FB2 % ("UTF-8", "Small", b64lines(png(2, 3))),
                   zipfile.ZIP_DEFLATED)
    seed("bookzip", "fb2zip", b"\3" + read("small.fb2.zip"))
    with zipfile.ZipFile(os.path.join(books, "info.cbz"), "w") as z:
        z.writestr("ComicInfo.xml", COMICINFO)
        z.writestr("a.png", png(2, 3))
    seed("bookzip", "comicinfo", b"\1" + read("info.cbz"))
    seed("comicinfo", "full", COMICINFO)
    seed("comicinfo", "laughs", LAUGHS.replace("package", "ComicInfo"))
    import shutil
    shutil.rmtree(books)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "md5" and len(sys.argv) == 3:
        cmd_md5(sys.argv[2])
    elif cmd == "md5-table":
        cmd_md5_table()
    elif cmd == "books" and len(sys.argv) == 3:
        cmd_books(sys.argv[2])
    elif cmd == "corpus" and len(sys.argv) == 3:
        cmd_corpus(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
