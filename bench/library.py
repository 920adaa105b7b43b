#!/usr/bin/env python3
"""bench/library.py: the library index's figures (issue 15, section 5).

    bench/library.py [--binary ./kosyncd] [--books 10000] [--rss-books 100000]
                     [--quick] [--json FILE]

1. a cold scan of --books generated EPUBs (each a small zip with its own
   OPF: title, author, series; made here with zipfile), through
   `kosyncd library scan` (target: under 60 s for 10,000);
2. the unchanged rescan of the same folder (target: under 2 s);
3. the server's RSS with an index of --rss-books books: the rows are
   synthesised straight into index.sqlite3 for empty files made here (their
   real inode, size and time, so the server's scan at its start finds
   them unchanged and reads none), then the server is started, its start
   scan waited for, a page of 50 books at offset rss_books/2 asked for
   through the web API (the time per page), and VmRSS read from /proc.

bench/bench runs it as its part "library" (`make bench`, `--only library`);
it runs alone too. Prints the figures and writes them as JSON.
"""
import argparse
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
</metadata><manifest/><spine/></package>
"""
CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="content.opf"
 media-type="application/oebps-package+xml"/></rootfiles></container>
"""


def make_books(d, n):
    """n small EPUBs in d, 100 to a folder."""
    for i in range(n):
        sub = os.path.join(d, "f%03d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(sub, exist_ok=True)
        with zipfile.ZipFile(os.path.join(sub, "b%06d.epub" % i), "w") as z:
            z.writestr("mimetype", "application/epub+zip")
            z.writestr("META-INF/container.xml", CONTAINER)
            z.writestr("content.opf", OPF % {"i": i, "a": i % 997,
                                             "s": i % 101, "n": i % 7 + 1})


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
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body, headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Set-Cookie"), data


def server_rss(binary, data, lib, n):
    err = open(os.path.join(data, "stderr"), "w+")
    p = subprocess.Popen([binary, "--data-dir", data, "--library-paths", lib,
                          "--listen-address", "127.0.0.1:0",
                          "--enable-webui"], stderr=err)
    try:
        port, t0 = None, time.monotonic()
        while time.monotonic() - t0 < 600:
            err.seek(0)
            text = err.read()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            port = port or (m and int(m.group(1)))
            if port and "library: scanned" in text:
                break
            if p.poll() is not None:
                raise SystemExit("server died: " + text)
            time.sleep(0.1)
        start_scan_s = time.monotonic() - t0
        key = hashlib.md5(b"benchpass").hexdigest()
        request(port, "POST", "/users/create", json.dumps(
            {"username": "benchlib", "password": key}),
            {"Content-Type": "application/json",
             "Accept": "application/vnd.koreader.v1+json"})
        _, cookie, _ = request(port, "POST", "/api/v1/login", json.dumps(
            {"username": "benchlib", "password": "benchpass"}),
            {"Content-Type": "application/json"})
        cookie = cookie.split(";")[0]
        times = []
        for i in range(10):
            t = time.monotonic()
            st, _, body = request(
                port, "GET", "/api/v1/library?limit=50&offset=%d" % (n // 2),
                headers={"Cookie": cookie})
            times.append(time.monotonic() - t)
            if st != 200 or json.loads(body)["total"] != n:
                raise SystemExit("library page: %d %s" % (st, body[:200]))
        times.sort()
        return {"books": n, "start_scan_s": round(start_scan_s, 2),
                "page_50_ms_median": round(times[len(times) // 2] * 1000, 1),
                "rss_kib": rss_kib(p.pid)}
    finally:
        p.terminate()
        p.wait()


def run(binary, books, rss_books):
    tmp = tempfile.mkdtemp(prefix="kosyncd-bench-library.")
    try:
        lib = os.path.join(tmp, "books")
        data = os.path.join(tmp, "data")
        t = time.monotonic()
        make_books(lib, books)
        res = {"books": books, "generate_s": round(time.monotonic() - t, 2)}
        cold, out = kosyncd(binary, data, lib, "library", "scan")
        res["cold_scan_s"] = round(cold, 2)
        res["cold_scan"] = out
        warm, out = kosyncd(binary, data, lib, "library", "scan")
        res["unchanged_rescan_s"] = round(warm, 2)
        res["unchanged_rescan"] = out
        lib2 = os.path.join(tmp, "synth")
        data2 = os.path.join(tmp, "data2")
        os.makedirs(lib2)
        synthesise(binary, data2, lib2, rss_books)
        res["server"] = server_rss(binary, data2, lib2, rss_books)
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
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json")
    o = p.parse_args(argv)
    books = o.books or (1000 if o.quick else 10000)
    rss = o.rss_books or (10000 if o.quick else 100000)
    res = run(o.binary, books, rss)
    print(json.dumps(res, indent=1))
    if o.json:
        with open(o.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
