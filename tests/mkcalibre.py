#!/usr/bin/env python3
"""mkcalibre.py: a Calibre-shaped library for the tests of the library
index, made here with python3's sqlite3 and the books of mkbooks.py,
never copied from anywhere.

    tests/mkcalibre.py DIR

DIR gets metadata.db with Calibre's table names (books, authors,
books_authors_link, series, books_series_link, tags, books_tags_link,
languages, books_languages_link, publishers, books_publishers_link,
comments, identifiers, data) holding only the columns kosyncd reads, and
a folder per book, "Author/Title (id)/", with its formats and cover.jpg.
Book 4 names a path leaving the library (refused); book 5 names a
format whose file is missing.
"""
import importlib.util
import os
import shutil
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "mkbooks", os.path.join(HERE, "mkbooks.py"))
mk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mk)

SCHEMA = """
CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, sort TEXT,
    timestamp TIMESTAMP, pubdate TIMESTAMP, series_index REAL DEFAULT 1.0,
    author_sort TEXT, isbn TEXT, lccn TEXT, path TEXT NOT NULL,
    flags INTEGER DEFAULT 1, uuid TEXT, has_cover BOOL DEFAULT 0,
    last_modified TIMESTAMP);
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT, sort TEXT,
    link TEXT DEFAULT '');
CREATE TABLE books_authors_link (id INTEGER PRIMARY KEY, book INTEGER,
    author INTEGER);
CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT, sort TEXT);
CREATE TABLE books_series_link (id INTEGER PRIMARY KEY, book INTEGER,
    series INTEGER);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE books_tags_link (id INTEGER PRIMARY KEY, book INTEGER,
    tag INTEGER);
CREATE TABLE languages (id INTEGER PRIMARY KEY, lang_code TEXT);
CREATE TABLE books_languages_link (id INTEGER PRIMARY KEY, book INTEGER,
    lang_code INTEGER, item_order INTEGER DEFAULT 0);
CREATE TABLE publishers (id INTEGER PRIMARY KEY, name TEXT, sort TEXT);
CREATE TABLE books_publishers_link (id INTEGER PRIMARY KEY, book INTEGER,
    publisher INTEGER);
CREATE TABLE comments (id INTEGER PRIMARY KEY, book INTEGER, text TEXT);
CREATE TABLE identifiers (id INTEGER PRIMARY KEY, book INTEGER,
    type TEXT, val TEXT);
CREATE TABLE data (id INTEGER PRIMARY KEY, book INTEGER, format TEXT,
    uncompressed_size INTEGER, name TEXT);
"""


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    src = tempfile.mkdtemp()
    with open(os.devnull, "w") as null:
        old = sys.stdout
        sys.stdout = null
        mk.cmd_books(src)
        sys.stdout = old
    db = sqlite3.connect(os.path.join(d, "metadata.db"))
    db.executescript(SCHEMA)
    db.executemany("INSERT INTO authors VALUES (?, ?, ?, '')", [
        (1, "Frank Herbert", "Herbert, Frank"),
        (2, "Ursula K. Le Guin", "Le Guin, Ursula K."),
        (3, "Kevin J. Anderson", "Anderson, Kevin J.")])
    db.execute("INSERT INTO series VALUES (1, 'Dune', 'Dune')")
    db.executemany("INSERT INTO tags VALUES (?, ?)",
                   [(1, "Science Fiction"), (2, "Classics")])
    db.executemany("INSERT INTO languages VALUES (?, ?)",
                   [(1, "eng"), (2, "fra")])
    db.execute("INSERT INTO publishers VALUES (1, 'Chilton', 'Chilton')")
    books = [
        # id, title, author_sort, path, uuid, has_cover, series_index
        (1, "Dune", "Herbert, Frank", "Frank Herbert/Dune (1)",
         "0e3a1f7e-0000-4000-8000-000000000001", 1, 1.0),
        (2, "The Dispossessed", "Le Guin, Ursula K.",
         "Ursula K. Le Guin/The Dispossessed (2)",
         "0e3a1f7e-0000-4000-8000-000000000002", 0, 1.0),
        (3, "Dune Messiah", "Herbert, Frank & Anderson, Kevin J.",
         "Frank Herbert/Dune Messiah (3)",
         "0e3a1f7e-0000-4000-8000-000000000003", 0, 2.0),
        (4, "Escape", "Nobody", "../../etc", "x-4", 0, 1.0),
        (5, "Missing", "Nobody", "Nobody/Missing (5)", "x-5", 0, 1.0),
    ]
    for b in books:
        db.execute("INSERT INTO books (id, title, sort, author_sort, path, "
                   "uuid, has_cover, series_index) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?)",
                   (b[0], b[1], b[1], b[2], b[3], b[4], b[5], b[6]))
    db.executemany("INSERT INTO books_authors_link (book, author) "
                   "VALUES (?, ?)", [(1, 1), (2, 2), (3, 1), (3, 3)])
    db.executemany("INSERT INTO books_series_link (book, series) "
                   "VALUES (?, ?)", [(1, 1), (3, 1)])
    db.executemany("INSERT INTO books_tags_link (book, tag) VALUES (?, ?)",
                   [(1, 1), (1, 2), (2, 1), (3, 1)])
    db.executemany("INSERT INTO books_languages_link (book, lang_code) "
                   "VALUES (?, ?)", [(1, 1), (2, 1), (3, 2)])
    db.execute("INSERT INTO books_publishers_link (book, publisher) "
               "VALUES (1, 1)")
    db.execute("INSERT INTO comments (book, text) VALUES (1, ?)",
               ("<p>A desert planet.</p><p>Spice &amp; sand.</p>",))
    db.executemany("INSERT INTO identifiers (book, type, val) "
                   "VALUES (?, ?, ?)",
                   [(1, "isbn", "9780441013593"), (1, "goodreads", "234225")])
    db.executemany("INSERT INTO data (book, format, uncompressed_size, name) "
                   "VALUES (?, ?, 0, ?)", [
                       (1, "EPUB", "Dune - Frank Herbert"),
                       (1, "PDF", "Dune - Frank Herbert"),
                       (2, "MOBI", "The Dispossessed - Ursula K. Le Guin"),
                       (3, "EPUB", "Dune Messiah - Frank Herbert"),
                       (4, "EPUB", "passwd"),
                       (5, "EPUB", "Missing - Nobody")])
    db.commit()
    db.close()
    files = {
        "Frank Herbert/Dune (1)/Dune - Frank Herbert.epub": "epub2.epub",
        "Frank Herbert/Dune (1)/Dune - Frank Herbert.pdf": "info.pdf",
        "Ursula K. Le Guin/The Dispossessed (2)/"
        "The Dispossessed - Ursula K. Le Guin.mobi": "book.mobi",
        "Frank Herbert/Dune Messiah (3)/Dune Messiah - Frank Herbert.epub":
        "epub3.epub",
    }
    for dst, name in files.items():
        os.makedirs(os.path.join(d, os.path.dirname(dst)), exist_ok=True)
        shutil.copy(os.path.join(src, name), os.path.join(d, dst))
    with open(os.path.join(d, "Frank Herbert/Dune (1)/cover.jpg"), "wb") as f:
        f.write(mk.png(60, 90))
    os.makedirs(os.path.join(d, "Nobody/Missing (5)"), exist_ok=True)
    shutil.rmtree(src)


if __name__ == "__main__":
    main()
