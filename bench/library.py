#!/usr/bin/env python3
"""bench/library.py: the library index's figures (issue 15, section 5).

    bench/library.py [--binary ./kosyncd] [--books 10000] [--rss-books 100000]
                     [--covers 200] [--opds-requests 200] [--quick]
                     [--json FILE]

1. a cold scan of --books generated EPUBs (each a small zip with its own
   OPF: title, author, series; made here with zipfile), through
   `kosyncd library scan` (target: under 60 s for 10,000);
2. the unchanged rescan of the same folder (target: under 2 s);
3. the server's RSS with an index of --rss-books books: the rows are
   synthesised straight into index.sqlite3 for empty files made here (their
   real inode, size and time, so the server's scan at its start finds
   them unchanged and reads none), then the server is started, its start
   scan waited for, a page of 50 books at offset rss_books/2 asked for
   through the web API (the time per page), and VmRSS read from /proc;
4. an OPDS page of 50 entries (All books, Atom and OPDS 2.0 JSON, HTTP
   Basic as KOReader signs in), on the 10,000-book index of 1. and on the
   100,000-book one of 3.: the server's CPU per request (utime + stime
   from /proc over --opds-requests requests, one client, keep-alive
   off, as KOReader fetches a page) and the median time;
5. cover thumbnails per second (--covers books of 1. carry a 600x900
   PNG cover; the web API's 200x300 thumbnail, one client): cold (the
   cache under <data_dir>/library/covers/ emptied: each one decoded,
   scaled, encoded and written), from the cache (200 from the file) and
   revalidated (If-None-Match: 304), with the server's CPU per thumbnail;
6. on the index of 3., the page of 50 at offset rss_books/2 asked for by
   number (?page=, ?offset=: SQLite walks the rows before it) and by the
   cursor of the page before it (the next link: a range of the order's
   index), for OPDS All books and Recently added (Atom) and the web API:
   the server's CPU per request and the median time.

bench/bench runs it as its part "library" (`make bench`, `--only library`);
it runs alone too. Prints the figures and writes them as JSON.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib

import benchlib as bl

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

OPF = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:opf="http://www.idpf.org/2007/opf">
<dc:title>Book %(i)d of the bench</dc:title>
<dc:creator opf:role="aut">Author %(a)d</dc:creator>
<dc:language>en</dc:language>
<meta name="calibre:series" content="Series %(s)d"/>
<meta name="calibre:series_index" content="%(n)d"/>
%(cover_meta)s</metadata><manifest>%(cover_item)s</manifest><spine/></package>
"""
COVER_META = '<meta name="cover" content="cover"/>\n'
COVER_ITEM = '<item id="cover" href="cover.png" media-type="image/png"/>'
USER, PASSWORD = "benchlib", "benchpass"


def cover_png(w=600, h=900):
    """A w x h RGB PNG (a gradient with stripes: some work to inflate)."""
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            rows += bytes(((x * 255 // w) ^ (y & 0x3f), y * 255 // h,
                           (x * y >> 6) & 0xff))

    def chunk(kind, data):
        c = kind + data
        return (len(data).to_bytes(4, "big") + c +
                (zlib.crc32(c) & 0xffffffff).to_bytes(4, "big"))
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(bytes(rows), 6)) +
            chunk(b"IEND", b""))
CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="content.opf"
 media-type="application/oebps-package+xml"/></rootfiles></container>
"""


def make_books(d, n, covers=0):
    """n small EPUBs in d, 100 to a folder, the first covers of them with
    a 600x900 PNG cover."""
    png = cover_png() if covers else b""
    for i in range(n):
        sub = os.path.join(d, "f%03d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(sub, exist_ok=True)
        with zipfile.ZipFile(os.path.join(sub, "b%06d.epub" % i), "w") as z:
            z.writestr("mimetype", "application/epub+zip")
            z.writestr("META-INF/container.xml", CONTAINER)
            c = i < covers
            z.writestr("content.opf", OPF % {
                "i": i, "a": i % 997, "s": i % 101, "n": i % 7 + 1,
                "cover_meta": COVER_META if c else "",
                "cover_item": COVER_ITEM if c else ""})
            if c:
                z.writestr("cover.png", png)


def kosyncd(binary, data, lib, *args):
    t0 = time.monotonic()
    p = subprocess.run([binary, "--data-dir", data, "--library-paths", lib]
                       + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("kosyncd %s failed: %s" % (args, p.stderr))
    return time.monotonic() - t0, p.stdout.strip()


def synthesise(binary, data, lib, n):
    """n empty .txt files in lib and their rows in data's index."""
    kosyncd(binary, data, lib, "library", "scan")  # makes the schema
    db = sqlite3.connect(os.path.join(data, "library", "index.sqlite3"))
    now = int(time.time())
    books, files, authors = [], [], []
    for i in range(n):
        sub = os.path.join(lib, "s%04d" % (i // 1000))
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        name = "t%07d.txt" % i
        path = os.path.join(sub, name)
        open(path, "w").close()
        st = os.stat(path)
        bid = hashlib.md5(("synth%d" % i).encode()).hexdigest()
        fid = hashlib.md5(("file%d" % i).encode()).hexdigest()
        title = "Synthesised book %d" % i
        author = "Author %d" % (i % 5000)
        books.append((bid, title, title, author, author, "Series %d" %
                      (i % 3000), i % 9, "en", "", "", "tag%d" % (i % 50),
                      "", now - i, now - i, "", 0, "", 0))
        files.append((os.path.realpath(path), fid, bid, lib, name, "txt",
                      0, st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9,
                      st.st_ino, fid, hashlib.md5(name.encode()).hexdigest(),
                      0, "", 1))
        authors.append((bid, author, author))
    db.executemany("INSERT INTO books VALUES (%s)" % ",".join("?" * 18),
                   books)
    db.executemany("INSERT INTO files VALUES (%s)" % ",".join("?" * 15),
                   files)
    db.executemany("INSERT INTO book_authors VALUES (?, ?, ?)", authors)
    db.executemany("INSERT INTO book_tags VALUES (?, ?)",
                   [(b[0], b[10]) for b in books])
    db.commit()
    db.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"VmRSS:\s+(\d+)", f.read())
    return int(m.group(1))


def request(port, method, path, body=None, headers=None):
    """One request on its own connection: (status, headers, body, s)."""
    t = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body, headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r, data, time.monotonic() - t


def median(xs):
    return sorted(xs)[len(xs) // 2]


class Server:
    """kosyncd serving data with library_paths lib and the web interface,
    its start scan waited for, USER registered and signed in."""

    def __init__(self, binary, data, lib):
        self.err = open(os.path.join(data, "stderr"), "w+")
        self.p = subprocess.Popen(
            [binary, "--data-dir", data, "--library-paths", lib,
             "--listen-address", "127.0.0.1:0", "--enable-webui"],
            stderr=self.err)
        self.pid = self.p.pid
        self.port, t0 = None, time.monotonic()
        try:
            while time.monotonic() - t0 < 600:
                self.err.seek(0)
                text = self.err.read()
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
                self.port = self.port or (m and int(m.group(1)))
                if self.port and "library: scanned" in text:
                    break
                if self.p.poll() is not None:
                    raise SystemExit("server died: " + text)
                time.sleep(0.1)
            self.start_scan_s = time.monotonic() - t0
            key = hashlib.md5(PASSWORD.encode()).hexdigest()
            self.request("POST", "/users/create", json.dumps(
                {"username": USER, "password": key}),
                {"Content-Type": "application/json",
                 "Accept": "application/vnd.koreader.v1+json"})
            _, r, _, _ = self.request("POST", "/api/v1/login", json.dumps(
                {"username": USER, "password": PASSWORD}),
                {"Content-Type": "application/json"})
            self.cookie = r.getheader("Set-Cookie").split(";")[0]
        except BaseException:
            self.stop()
            raise

    def request(self, method, path, body=None, headers=None):
        return request(self.port, method, path, body, headers)

    def web(self, path, headers=None):
        h = {"Cookie": self.cookie}
        h.update(headers or {})
        return self.request("GET", path, headers=h)

    def stop(self):
        self.p.terminate()
        self.p.wait()
        self.err.close()


def opds_pages(srv, total, n):
    """n requests each of the Atom and the JSON All books page holding
    book total/2 (50 entries): CPU ms per request and median ms."""
    basic = "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()
    page = total // 2 // 50 + 1
    res = {"books": total, "page": page}
    for name, path, entry in (
            ("atom", "/opds/all?page=%d" % page, b"<entry>"),
            ("json", "/opds/v2/all?page=%d" % page, b'"metadata"')):
        srv.request("GET", path, headers={"Authorization": basic})
        cpu0, secs, size = bl.proc_cpu_s(srv.pid), [], 0
        for _ in range(n):
            st, _, body, t = srv.request("GET", path,
                                         headers={"Authorization": basic})
            if st != 200 or body.count(entry) < 50:
                raise SystemExit("OPDS %s: %d, %d entries" % (
                    path, st, body.count(entry)))
            secs.append(t)
            size = len(body)
        res[name] = {"cpu_ms_per_req": round(
            (bl.proc_cpu_s(srv.pid) - cpu0) * 1e3 / n, 2),
            "median_ms": round(median(secs) * 1e3, 2), "bytes": size}
    return res


def measure(srv, path, headers, n, check):
    """n GETs of path: the server's CPU ms per request and the median ms;
    check(status, body) raises on a wrong answer."""
    srv.request("GET", path, headers=headers)
    cpu0, secs = bl.proc_cpu_s(srv.pid), []
    for _ in range(n):
        st, _, body, t = srv.request("GET", path, headers=headers)
        check(st, body)
        secs.append(t)
    return {"cpu_ms_per_req": round(
        (bl.proc_cpu_s(srv.pid) - cpu0) * 1e3 / n, 2),
        "median_ms": round(median(secs) * 1e3, 2)}


def deep_pages(srv, total, n):
    """The page of 50 at offset total/2, by ?page= / ?offset= (the rows
    before it walked) and by the cursor of the page before it (the
    order's index from its key): OPDS Atom All books and Recently added,
    and the web API."""
    basic = {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (USER, PASSWORD)).encode()).decode()}
    page = total // 2 // 50 + 1
    res = {"books": total, "offset": (page - 1) * 50}

    def atom_ok(st, body):
        if st != 200 or body.count(b"<entry>") < 50:
            raise SystemExit("OPDS deep page: %d" % st)

    for feed in ("all", "new"):
        _, _, body, _ = srv.request(
            "GET", "/opds/%s?page=%d" % (feed, page - 1), headers=basic)
        m = re.search(rb'<link rel="next"[^>]*href="([^"]+)"', body)
        if m is None or b"cursor=" not in m.group(1):
            raise SystemExit("OPDS %s: no next cursor" % feed)
        res["opds_" + feed] = {
            "by_page": measure(srv, "/opds/%s?page=%d" % (feed, page),
                               basic, n, atom_ok),
            "by_cursor": measure(srv, m.group(1).decode().replace(
                "&amp;", "&"), basic, n, atom_ok)}
    web = {"Cookie": srv.cookie}

    def api_ok(st, body):
        if st != 200 or len(json.loads(body)["books"]) != 50:
            raise SystemExit("web API deep page: %d" % st)

    _, _, body, _ = srv.web("/api/v1/library?limit=50&offset=%d" %
                            (res["offset"] - 50))
    cur = json.loads(body)["next"]
    res["web_api"] = {
        "by_offset": measure(srv, "/api/v1/library?limit=50&offset=%d" %
                             res["offset"], web, n, api_ok),
        "by_cursor": measure(srv, "/api/v1/library?limit=50&cursor=" + cur,
                             web, n, api_ok)}
    return res


def covers(srv, data, nbooks):
    """The 200x300 thumbnails of every book with a cover: cold, from the
    cache, and revalidated (304)."""
    ids, offset = [], 0
    while offset < nbooks:
        st, _, body, _ = srv.web("/api/v1/library?order=title&limit=200"
                                 "&offset=%d" % offset)
        d = json.loads(body)
        ids += [b["id"] for b in d["books"] if b["has_cover"]]
        offset += 200
    cache = os.path.join(data, "library", "covers")
    shutil.rmtree(cache, ignore_errors=True)
    res = {"covers": len(ids)}
    etags = {}
    for name, want in (("cold", 200), ("cached", 200), ("revalidated", 304)):
        cpu0, t0, size = bl.proc_cpu_s(srv.pid), time.monotonic(), 0
        for i in ids:
            h = {"If-None-Match": etags[i]} if want == 304 else {}
            st, r, body, _ = srv.web(
                "/api/v1/library/%s/cover?size=200x300" % i, h)
            if st != want:
                raise SystemExit("cover %s: %d, not %d" % (i, st, want))
            etags[i] = r.getheader("ETag")
            size += len(body)
        secs = time.monotonic() - t0
        res[name] = {"per_s": round(len(ids) / secs, 1),
                     "cpu_ms_each": round((bl.proc_cpu_s(srv.pid) - cpu0) *
                                          1e3 / len(ids), 2),
                     "bytes_each": size // len(ids)}
    return res


def server_rss(binary, data, lib, n, opds_n):
    srv = Server(binary, data, lib)
    try:
        times = []
        for i in range(10):
            st, _, body, t = srv.web(
                "/api/v1/library?limit=50&offset=%d" % (n // 2))
            times.append(t)
            if st != 200 or json.loads(body)["total"] != n:
                raise SystemExit("library page: %d %s" % (st, body[:200]))
        res = {"books": n, "start_scan_s": round(srv.start_scan_s, 2),
               "page_50_ms_median": round(median(times) * 1000, 1),
               "rss_kib": rss_kib(srv.pid)}
        res["opds"] = opds_pages(srv, n, opds_n)
        res["deep"] = deep_pages(srv, n, max(opds_n // 4, 10))
        res["rss_after_opds_kib"] = rss_kib(srv.pid)
        return res
    finally:
        srv.stop()


def run(binary, books, rss_books, ncovers=200, opds_n=200):
    tmp = tempfile.mkdtemp(prefix="kosyncd-bench-library.")
    try:
        lib = os.path.join(tmp, "books")
        data = os.path.join(tmp, "data")
        t = time.monotonic()
        ncovers = min(ncovers, books)
        make_books(lib, books, ncovers)
        res = {"books": books, "with_cover": ncovers,
               "generate_s": round(time.monotonic() - t, 2),
               "load_avg_start": os.getloadavg()[0]}
        cold, out = kosyncd(binary, data, lib, "library", "scan")
        res["cold_scan_s"] = round(cold, 2)
        res["cold_scan"] = out
        warm, out = kosyncd(binary, data, lib, "library", "scan")
        res["unchanged_rescan_s"] = round(warm, 2)
        res["unchanged_rescan"] = out
        srv = Server(binary, data, lib)
        try:
            res["opds"] = opds_pages(srv, books, opds_n)
            res["covers"] = covers(srv, data, books)
        finally:
            srv.stop()
        lib2 = os.path.join(tmp, "synth")
        data2 = os.path.join(tmp, "data2")
        os.makedirs(lib2)
        synthesise(binary, data2, lib2, rss_books)
        res["server"] = server_rss(binary, data2, lib2, rss_books, opds_n)
        res["load_avg_end"] = os.getloadavg()[0]
        res["targets"] = {"cold_scan_under_60s": res["cold_scan_s"] < 60,
                          "unchanged_rescan_under_2s":
                          res["unchanged_rescan_s"] < 2}
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", default=os.path.join(ROOT, "kosyncd"))
    p.add_argument("--books", type=int)
    p.add_argument("--rss-books", type=int)
    p.add_argument("--covers", type=int, default=200)
    p.add_argument("--opds-requests", type=int, default=200)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json")
    o = p.parse_args(argv)
    books = o.books or (1000 if o.quick else 10000)
    rss = o.rss_books or (10000 if o.quick else 100000)
    res = run(o.binary, books, rss, o.covers,
              o.opds_requests // 4 if o.quick else o.opds_requests)
    print(json.dumps(res, indent=1))
    if o.json:
        with open(o.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
