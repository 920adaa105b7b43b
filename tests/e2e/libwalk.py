#!/usr/bin/env python3
"""libwalk.py: walk a paged list of the library to its end, for the
paging tests (t167, t168), and print what was seen as JSON.

    libwalk.py next URL USER PASSWORD PATH     an OPDS feed (Atom, or
        OPDS 2.0 JSON under /opds/v2) by its next links, as KOReader
        does: {"ids": [entry ids in order], "pages": N, "hrefs": [next
        hrefs], "total": totalResults or numberOfItems}
    libwalk.py pages URL USER PASSWORD PATH    the same feed by ?page=1,
        2, ... until a page has no entry: {"ids", "pages"}
    libwalk.py api URL USER PASSWORD QUERY     GET /api/v1/library?QUERY
        signed in, then by its "next" cursor: {"ids", "pages", "offsets":
        [each page's offset], "totals": [each page's total]}

A walk stops after 1000 pages (a loop is a failure, not a hang).
"""
import base64
import http.cookiejar
import json
import sys
import urllib.request
import xml.etree.ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"
OS = "{http://a9.com/-/spec/opensearch/1.1/}"


def opener(url, user, password):
    o = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    o.addheaders = [("Authorization", "Basic " + auth)]
    return o


def feed_page(o, url, path):
    """(entry ids, next href or None, total) of one feed page."""
    with o.open(url + path, timeout=20) as r:
        body = r.read()
    if "/opds/v2" in path:
        d = json.loads(body)
        ids = [p["metadata"]["identifier"] for p in d.get("publications", [])]
        nxt = [l["href"] for l in d.get("links", []) if l.get("rel") == "next"]
        total = d["metadata"].get("numberOfItems")
    else:
        root = ET.fromstring(body)
        ids = [e.find(ATOM + "id").text for e in root.findall(ATOM + "entry")]
        nxt = [l.get("href") for l in root.findall(ATOM + "link")
               if l.get("rel") == "next"]
        t = root.find(OS + "totalResults")
        total = int(t.text) if t is not None else None
    return ids, (nxt[0] if nxt else None), total


def walk_next(url, user, password, path):
    o = opener(url, user, password)
    res = {"ids": [], "pages": 0, "hrefs": [], "total": None}
    while path is not None and res["pages"] < 1000:
        ids, path, total = feed_page(o, url, path)
        res["ids"] += ids
        res["pages"] += 1
        if res["total"] is None:
            res["total"] = total
        if path is not None:
            res["hrefs"].append(path)
    return res


def walk_pages(url, user, password, path):
    o = opener(url, user, password)
    res = {"ids": [], "pages": 0}
    sep = "&" if "?" in path else "?"
    while res["pages"] < 1000:
        ids, _, _ = feed_page(o, url, "%s%spage=%d" % (path, sep,
                                                      res["pages"] + 1))
        if not ids:
            break
        res["ids"] += ids
        res["pages"] += 1
    return res


def walk_api(url, user, password, query):
    o = opener(url, user, password)
    o.addheaders = []
    req = urllib.request.Request(
        url + "/api/v1/login",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"})
    o.open(req, timeout=20).read()
    res = {"ids": [], "pages": 0, "offsets": [], "totals": []}
    cursor = None
    while res["pages"] < 1000:
        q = query + ("&cursor=" + cursor if cursor else "")
        with o.open(url + "/api/v1/library?" + q, timeout=20) as r:
            d = json.loads(r.read())
        res["ids"] += [b["id"] for b in d["books"]]
        res["offsets"].append(d["offset"])
        res["totals"].append(d["total"])
        res["pages"] += 1
        cursor = d["next"]
        if cursor is None:
            break
    return res


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    fn = {"next": walk_next, "pages": walk_pages, "api": walk_api}[argv[1]]
    print(json.dumps(fn(*argv[2:])))


if __name__ == "__main__":
    main(sys.argv)
