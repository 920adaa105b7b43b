#!/usr/bin/env python3
"""mkstats.py: build KOReader statistics.sqlite3 files for the tests.

The files have the schema of KOReader's statistics plugin at schema version
20221111 (docs: /work/shared/KOREADER-CLOUD.md section 1.6): the tables book,
page_stat_data and numbers, the unique indexes, the start_time index and the
page_stat view that rescales old rows to the book's current page count,
written here in our own words from that description.

    mkstats.py build OUT [DESC.json|-]   a file from a description (below)
    mkstats.py merge OUT A B             B merged into a copy of A the way a
                                         device merges a download (books on
                                         (title, authors, md5); page turns on
                                         (book, page, start_time), the longer
                                         duration wins)
    mkstats.py bulk OUT TURNS [BOOKS] [START]
                                         TURNS page turns over BOOKS books
                                         (default 300), one a minute from START
                                         (Unix seconds, default 2025-01-01)
                                         in four-hour evenings, one a day
    mkstats.py vocab OUT [DESC.json|-]   a vocabulary_builder.sqlite3 (schema
                                         20240905, section 1.7) from
                                         {"titles": ["Book"], "words":
                                         [{"word": "w", "title": "Book",
                                         "create": T, "due": T,
                                         "review_count": 0}], "sql": [...]}

A description is JSON:

    {"user_version": 20221111,            (optional)
     "page_size": 512,                    (optional; small files for fuzzing)
     "journal": "wal" | "truncate",       (optional, default wal)
     "books": [{"key": "a", "title": "T", "authors": "A", "md5": "...",
                "pages": 300, "series": "N/A", "language": "en",
                "highlights": 0, "notes": 0, "last_open": 0}],
     "turns": [{"book": "a", "page": 1, "start": 1700000000,
                "duration": 60, "total_pages": 300}],
     "runs": [{"book": "a", "start": 1700000000, "first": 1, "count": 10,
               "duration": 60, "gap": 0, "total_pages": 300}],
     "sql": ["CREATE TRIGGER ...", ...]}  (run last, to make hostile files)

"start" may also be an ISO 8601 time with a zone ("2026-03-29T08:00:00Z").
A run is count consecutive pages from first, each shown for duration
seconds, the next one gap seconds after the previous ended.
"""
import datetime
import json
import os
import random
import sqlite3
import sys

SCHEMA_VERSION = 20221111

SCHEMA = """
CREATE TABLE IF NOT EXISTS book (
    id integer PRIMARY KEY autoincrement,
    title text,
    authors text,
    notes integer,
    last_open integer,
    highlights integer,
    pages integer,
    series text,
    language text,
    md5 text,
    total_read_time integer,
    total_read_pages integer
);
CREATE UNIQUE INDEX IF NOT EXISTS book_title_authors_md5
    ON book(title, authors, md5);
CREATE TABLE IF NOT EXISTS page_stat_data (
    id_book integer,
    page integer NOT NULL DEFAULT 0,
    start_time integer NOT NULL DEFAULT 0,
    duration integer NOT NULL DEFAULT 0,
    total_pages integer NOT NULL DEFAULT 0,
    UNIQUE (id_book, page, start_time),
    FOREIGN KEY(id_book) REFERENCES book(id)
);
CREATE INDEX IF NOT EXISTS page_stat_data_start_time
    ON page_stat_data(start_time);
CREATE TABLE IF NOT EXISTS numbers (number INTEGER PRIMARY KEY);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
    INSERT INTO numbers SELECT i FROM n;
CREATE VIEW IF NOT EXISTS page_stat AS
    SELECT id_book, first_page + idx - 1 AS page, start_time,
           duration / (last_page - first_page + 1) AS duration
    FROM (
        SELECT id_book, page, total_pages, pages, start_time, duration,
               ((page - 1) * pages) / total_pages + 1 AS first_page,
               max(((page - 1) * pages) / total_pages + 1,
                   (page * pages) / total_pages) AS last_page,
               idx
        FROM page_stat_data
        JOIN book ON book.id = id_book
        JOIN (SELECT number AS idx FROM numbers) AS N
            ON idx <= (last_page - first_page + 1)
    );
"""


def when(v):
    if isinstance(v, str):
        return int(datetime.datetime.fromisoformat(
            v.replace("Z", "+00:00")).timestamp())
    return int(v)


def create(path, journal="wal", user_version=SCHEMA_VERSION, page_size=0):
    if os.path.exists(path):
        os.unlink(path)
    con = sqlite3.connect(path)
    if page_size:
        con.execute("PRAGMA page_size=%d" % page_size)
    con.execute("PRAGMA journal_mode=%s" % ("WAL" if journal == "wal"
                                             else "TRUNCATE"))
    con.executescript(SCHEMA)
    con.execute("PRAGMA user_version=%d" % user_version)
    con.commit()
    return con


def totals(con):
    """What the plugin caches in book after every flush and merge."""
    con.execute("""UPDATE book SET (total_read_pages, total_read_time) =
        (SELECT count(DISTINCT page), sum(duration) FROM page_stat
         WHERE id_book = book.id)""")


def finish(con, path):
    con.commit()
    # Leave one self-contained file, as the device uploads it (the WAL
    # header bytes stay: the uploaded file says WAL).
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for ext in ("-wal", "-shm"):
        if os.path.exists(path + ext):
            os.unlink(path + ext)


def build(path, desc):
    con = create(path, desc.get("journal", "wal"),
                 desc.get("user_version", SCHEMA_VERSION),
                 desc.get("page_size", 0))
    ids = {}
    for b in desc.get("books", []):
        cur = con.execute(
            "INSERT INTO book (title, authors, notes, last_open, highlights,"
            " pages, series, language, md5, total_read_time,"
            " total_read_pages) VALUES (?,?,?,?,?,?,?,?,?,0,0)",
            (b.get("title", "Untitled"), b.get("authors", "N/A"),
             b.get("notes", 0), when(b.get("last_open", 0)),
             b.get("highlights", 0), b.get("pages", 100),
             b.get("series", "N/A"), b.get("language", "N/A"),
             b.get("md5")))
        ids[b.get("key", b.get("title"))] = cur.lastrowid
    rows = []
    for t in desc.get("turns", []):
        rows.append((ids[t["book"]], t["page"], when(t["start"]),
                     t.get("duration", 60), t.get("total_pages", 100)))
    for r in desc.get("runs", []):
        t = when(r["start"])
        d = r.get("duration", 60)
        for p in range(r["first"], r["first"] + r["count"]):
            rows.append((ids[r["book"]], p, t, d, r.get("total_pages", 100)))
            t += d + r.get("gap", 0)
    con.executemany("INSERT OR IGNORE INTO page_stat_data VALUES (?,?,?,?,?)",
                    rows)
    totals(con)
    for s in desc.get("sql", []):
        con.executescript(s)
    finish(con, path)


def merge(out, a, b):
    """b merged into a copy of a, as the plugin merges a download."""
    con = create(out)
    con.execute("ATTACH ? AS a", (a,))
    con.execute("ATTACH ? AS b", (b,))
    for src in ("a", "b"):
        con.execute(
            "INSERT INTO book (title, authors, notes, last_open, highlights,"
            " pages, series, language, md5, total_read_time,"
            " total_read_pages) SELECT title, authors, notes, last_open,"
            " highlights, pages, series, language, md5, 0, 0 FROM %s.book"
            " WHERE (title, authors, md5) NOT IN"
            " (SELECT title, authors, md5 FROM main.book)" % src)
        con.execute(
            "UPDATE book SET last_open = (SELECT max(s.last_open) FROM"
            " %s.book s WHERE (s.title, s.authors, s.md5) ="
            " (book.title, book.authors, book.md5)) WHERE EXISTS (SELECT 1"
            " FROM %s.book s WHERE (s.title, s.authors, s.md5) ="
            " (book.title, book.authors, book.md5) AND s.last_open >"
            " book.last_open)" % (src, src))
        con.execute(
            "INSERT INTO page_stat_data SELECT m.id, d.page, d.start_time,"
            " d.duration, d.total_pages FROM %s.page_stat_data d"
            " JOIN %s.book s ON s.id = d.id_book"
            " JOIN main.book m ON (m.title, m.authors, m.md5) ="
            " (s.title, s.authors, s.md5) WHERE true"
            " ON CONFLICT(id_book, page, start_time) DO UPDATE SET"
            " duration = max(duration, excluded.duration)" % (src, src))
    totals(con)
    con.commit()
    con.execute("DETACH a")
    con.execute("DETACH b")
    finish(con, out)


def bulk(path, turns, books=300, start=1735689600):
    con = create(path)
    for i in range(books):
        con.execute(
            "INSERT INTO book (title, authors, notes, last_open, highlights,"
            " pages, series, language, md5, total_read_time,"
            " total_read_pages) VALUES (?,?,0,0,0,400,'N/A','en',?,0,0)",
            ("Book %d" % i, "Author %d" % (i % 37), "%032x" % (i + 1)))
    rng = random.Random(14)
    rows = []
    t = start
    page = {}
    for n in range(turns):
        if n % 240 == 0:      # four hours of reading, then the next day
            t = start + (n // 240) * 86400 + 18 * 3600
        if n % 60 == 0:       # another book each hour
            book = rng.randrange(books) + 1
        p = page.get(book, 0) % 400 + 1
        page[book] = p
        rows.append((book, p, t, 30 + rng.randrange(60), 400))
        t += 60
    con.executemany("INSERT OR IGNORE INTO page_stat_data VALUES (?,?,?,?,?)",
                    rows)
    totals(con)
    finish(con, path)


def vocab(path, desc):
    """A vocabulary builder file with the tables KOReader creates."""
    if os.path.exists(path):
        os.unlink(path)
    con = sqlite3.connect(path)
    if desc.get("page_size"):
        con.execute("PRAGMA page_size=%d" % desc["page_size"])
    con.execute("PRAGMA user_version=%d" % desc.get("user_version", 20240905))
    con.execute("CREATE TABLE IF NOT EXISTS vocabulary (word TEXT NOT NULL "
                "UNIQUE PRIMARY KEY, title_id INTEGER, create_time INTEGER "
                "NOT NULL, review_time INTEGER, due_time INTEGER NOT NULL, "
                "review_count INTEGER NOT NULL DEFAULT 0, prev_context TEXT, "
                "next_context TEXT, streak_count INTEGER NOT NULL DEFAULT 0, "
                "highlight TEXT)")
    con.execute("CREATE TABLE IF NOT EXISTS title (id INTEGER PRIMARY KEY "
                "AUTOINCREMENT, name TEXT UNIQUE, filter INTEGER NOT NULL "
                "DEFAULT 1)")
    ids = {}
    for t in desc.get("titles", []):
        ids[t] = con.execute("INSERT INTO title (name) VALUES (?)",
                             (t,)).lastrowid
    for w in desc.get("words", []):
        con.execute("INSERT INTO vocabulary (word, title_id, create_time, "
                    "due_time, review_count) VALUES (?,?,?,?,?)",
                    (w["word"], ids.get(w.get("title")), when(w["create"]),
                     when(w.get("due", w["create"])),
                     w.get("review_count", 0)))
    for q in desc.get("sql", []):
        con.executescript(q)
    con.commit()
    con.execute("VACUUM")
    con.close()


def main(argv):
    if len(argv) >= 3 and argv[1] == "build":
        src = argv[3] if len(argv) > 3 else "-"
        desc = json.load(sys.stdin if src == "-" else open(src))
        build(argv[2], desc)
    elif len(argv) >= 3 and argv[1] == "vocab":
        src = argv[3] if len(argv) > 3 else "-"
        vocab(argv[2], json.load(sys.stdin if src == "-" else open(src)))
    elif len(argv) == 5 and argv[1] == "merge":
        merge(argv[2], argv[3], argv[4])
    elif len(argv) >= 4 and argv[1] == "bulk":
        bulk(argv[2], int(argv[3]), *[int(x) for x in argv[4:6]])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
