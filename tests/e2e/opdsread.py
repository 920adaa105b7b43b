#!/usr/bin/env python3
"""opdsread.py: read an OPDS 1.2 Atom feed the way KOReader's OPDS client
does (../shared/KOREADER-CLOUD.md §4.3), and check the Atom and OPDS 1.2
rules on it, for the end-to-end tests (t150).

    opdsread.py check FILE          the rules; prints "ok" or the faults
    opdsread.py dump FILE           the feed as JSON, as KOReader sees it

As KOReader: no namespace resolution (element and attribute names are
matched literally: entry, link, author/name, content; opds:facetGroup,
thr:count, opds:activeFacet, pse:count); feed links are kept only when
they have a type; an entry is a sub-catalog when one of its links has an
Atom type and a rel that is absent, subsection, .../subsection,
.../crawlable, .../sort/popular or .../sort/new; acquisitions are rels
starting with http://opds-spec.org/acquisition.

The rules (RFC 4287, OPDS 1.2): the body starts with "<?xml" (no BOM, no
white space); the root is feed in the Atom namespace, with the opds, dc,
thr and pse prefixes bound to their URIs when used; a feed and each entry
have exactly one id, title and updated (RFC 3339); an entry has at most
one author (KOReader keeps the last); every link has an href, every feed
link a type; acquisitions have a type and a length; a facet has a title;
content is type="text".
"""
import json
import re
import sys
import xml.parsers.expat

ATOM = "http://www.w3.org/2005/Atom"
PREFIXES = {
    "opds": "http://opds-spec.org/2010/catalog",
    "dc": "http://purl.org/dc/terms/",
    "thr": "http://purl.org/syndication/thread/1.0",
    "pse": "http://vaemendis.net/opds-pse/ns",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
NAV_RELS = (None, "subsection", "http://opds-spec.org/subsection",
            "http://opds-spec.org/crawlable",
            "http://opds-spec.org/sort/popular",
            "http://opds-spec.org/sort/new")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class Node:
    def __init__(self, name, attrs, parent):
        self.name, self.attrs, self.parent = name, attrs, parent
        self.children, self.text = [], ""

    def all(self, name):
        return [c for c in self.children if c.name == name]

    def one(self, name):
        c = self.all(name)
        return c[0] if c else None


def parse(data):
    root = None
    stack = []

    def start(name, attrs):
        nonlocal root
        n = Node(name, attrs, stack[-1] if stack else None)
        if stack:
            stack[-1].children.append(n)
        else:
            root = n
        stack.append(n)

    def end(name):
        stack.pop()

    def text(s):
        if stack:
            stack[-1].text += s

    p = xml.parsers.expat.ParserCreate()
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = text
    p.Parse(data, True)
    return root


def koreader(data):
    """The feed as KOReader's client keeps it."""
    root = parse(data)
    feed = {"title": root.one("title").text if root.one("title") else None,
            "links": [], "facets": [], "entries": []}
    for l in root.all("link"):
        a = l.attrs
        if "type" not in a:
            continue
        if a.get("rel") == "http://opds-spec.org/facet":
            feed["facets"].append({
                "title": a.get("title"), "href": a.get("href"),
                "group": a.get("opds:facetGroup", "Filters"),
                "count": a.get("thr:count"),
                "active": a.get("opds:activeFacet") == "true"})
        else:
            feed["links"].append({"rel": a.get("rel"), "type": a["type"],
                                  "href": a.get("href")})
    for e in root.all("entry"):
        item = {"title": e.one("title").text if e.one("title") else None,
                "id": e.one("id").text if e.one("id") else None,
                "author": None, "content": None, "navigation": None,
                "acquisitions": [], "image": None, "thumbnail": None,
                "pse": None, "count": None}
        for a in e.all("author"):  # a later one replaces an earlier one
            n = a.one("name")
            item["author"] = n.text if n is not None else None
        c = e.one("content") or e.one("summary")
        if c is not None:
            item["content"] = c.text
        for l in e.all("link"):
            a = l.attrs
            rel, typ = a.get("rel"), a.get("type", "")
            if "application/atom+xml" in typ and rel in NAV_RELS:
                item["navigation"] = a.get("href")
                item["count"] = a.get("thr:count")
            elif rel and rel.startswith("http://opds-spec.org/acquisition"):
                item["acquisitions"].append(
                    {"href": a.get("href"), "type": typ,
                     "length": a.get("length"), "rel": rel})
            elif rel in ("http://opds-spec.org/image",
                         "http://opds-spec.org/cover"):
                item["image"] = a.get("href")
            elif rel in ("http://opds-spec.org/image/thumbnail",
                         "http://opds-spec.org/thumbnail"):
                item["thumbnail"] = a.get("href")
            elif rel == "http://vaemendis.net/opds-pse/stream":
                item["pse"] = {"href": a.get("href"),
                               "count": next((v for k, v in a.items()
                                              if k.endswith(":count")), None),
                               "lastRead": next((v for k, v in a.items()
                                                 if k.endswith(":lastRead")),
                                                None)}
        feed["entries"].append(item)
    return feed


def check(data):
    faults = []
    if not data.startswith(b"<?xml"):
        faults.append("the body does not start with <?xml")
    try:
        root = parse(data)
    except xml.parsers.expat.ExpatError as e:
        return ["not well-formed: %s" % e]
    if root.name != "feed" or root.attrs.get("xmlns") != ATOM:
        faults.append("the root is not an Atom feed")
    for p, uri in PREFIXES.items():
        if ("%s:" % p) in data.decode() and root.attrs.get("xmlns:" + p) != uri:
            faults.append("prefix %s not bound to %s" % (p, uri))

    def common(n, what):
        for name in ("id", "title", "updated"):
            if len(n.all(name)) != 1:
                faults.append("%s has %d %s" % (what, len(n.all(name)), name))
        u = n.one("updated")
        if u is not None and not RFC3339.match(u.text):
            faults.append("%s updated %r is not RFC 3339" % (what, u.text))
        for l in n.all("link"):
            if "href" not in l.attrs:
                faults.append("%s has a link without href" % what)

    common(root, "the feed")
    for l in root.all("link"):
        if "type" not in l.attrs:
            faults.append("feed link %s has no type" % l.attrs)
        if l.attrs.get("rel") == "http://opds-spec.org/facet" and \
                "title" not in l.attrs:
            faults.append("a facet has no title")
    for i, e in enumerate(root.all("entry")):
        what = "entry %d" % i
        common(e, what)
        if len(e.all("author")) > 1:
            faults.append("%s has several author elements" % what)
        for a in e.all("author"):
            if a.one("name") is None:
                faults.append("%s has an author without a name" % what)
        for c in e.all("content"):
            if c.attrs.get("type") != "text":
                faults.append("%s content is not type=text" % what)
        for l in e.all("link"):
            rel = l.attrs.get("rel", "")
            if rel.startswith("http://opds-spec.org/acquisition"):
                if "type" not in l.attrs or "length" not in l.attrs:
                    faults.append("%s acquisition without type or length"
                                  % what)
            if rel == "http://vaemendis.net/opds-pse/stream" and \
                    "pse:count" not in l.attrs:
                faults.append("%s PSE link without pse:count" % what)
    return faults


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        data = f.read()
    if cmd == "check":
        faults = check(data)
        print("ok" if not faults else "\n".join(faults))
    elif cmd == "dump":
        json.dump(koreader(data), sys.stdout, ensure_ascii=False)
        print()


if __name__ == "__main__":
    main()
