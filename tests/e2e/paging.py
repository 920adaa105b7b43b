#!/usr/bin/env python3
# paging.py: the client side of t099-webui-paging.sh, which says
# what it covers. One keep-alive connection per command, so 1,200 pushes
# take a second or two.
#
#   push URL USER KEY N PREFIX [BIG]  register USER (if needed), push N
#                                     documents PREFIX0000.. (BIG: every
#                                     field at its maximum, all escaped)
#   repush URL USER KEY DOC N         push DOC N times (percentage i/N)
#   users URL N                       register N users u000..
#   walk URL USER PW PATH KEY [LIMIT] sign in, walk PATH's pages by
#                                     "next"; print a summary
#   history URL USER PW DOC LIMIT     walk DOC's history by history_next
#   merge URL USER PW DOC PREFIX N    merge PREFIX0001..N into DOC
#   hold URL USER PW PATH N           N connections that ask for PATH and
#                                     never read; print when they end
import hashlib
import http.client
import json
import socket
import sys
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(c, method, path, body=None, headers=None):
    h = {"Accept": "application/vnd.koreader.v1+json"}
    h.update(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    return r.status, r.read(), r


def auth(user, key):
    return {"x-auth-user": user, "x-auth-key": key}


def register(c, user, key):
    st, _, _ = call(c, "POST", "/users/create",
                    {"username": user, "password": key})
    assert st in (201, 402), st


def signin(c, user, pw):
    st, body, r = call(c, "POST", "/api/v1/login",
                       {"username": user, "password": pw})
    assert st == 200, (st, body)
    cookie = r.getheader("Set-Cookie").split(";")[0]
    return {"Cookie": cookie}


def cmd_push(url, user, key, n, prefix, big=None):
    c = conn(url)
    register(c, user, key)
    big_text = "\x01" * 4096
    meta = "\x01" * 1024
    for i in range(int(n)):
        doc = {"document": "%s%04d" % (prefix, i), "percentage": 0.5,
               "progress": big_text if big else "p%d" % i,
               "device": big_text if big else "kobo",
               "device_id": big_text if big else "K1"}
        if big:
            doc["metadata"] = {"title": meta, "authors": meta,
                               "filename": meta}
        st, body, _ = call(c, "PUT", "/syncs/progress", doc,
                           auth(user, key))
        assert st == 200, (st, body)
    print("pushed", n)


def cmd_repush(url, user, key, doc, n):
    c = conn(url)
    n = int(n)
    for i in range(n):
        st, body, _ = call(c, "PUT", "/syncs/progress",
                           {"document": doc, "percentage": i / n,
                            "progress": "h%d" % i, "device": "kobo",
                            "device_id": "K1"}, auth(user, key))
        assert st == 200, (st, body)
    print("pushed", n)


def cmd_users(url, n):
    c = conn(url)
    for i in range(int(n)):
        register(c, "u%03d" % i, "k")
    print("registered", n)


def cmd_walk(url, user, pw, path, key, limit=None):
    c = conn(url)
    h = signin(c, user, pw)
    seen, pages, biggest, cursor = [], 0, 0, None
    while True:
        q = []
        if limit:
            q.append("limit=" + limit)
        if cursor:
            q.append("cursor=" + urllib.parse.quote(cursor))
        p = path + ("&" if "?" in path else "?") + "&".join(q) if q else path
        st, body, _ = call(c, "GET", p, headers=h)
        assert st == 200, (st, body[:200])
        d = json.loads(body)
        pages += 1
        biggest = max(biggest, len(body))
        seen += d[key]
        cursor = d["next"]
        if cursor is None:
            break
        assert d[key], "an empty page before the end"
        assert pages < 10000
    if key == "documents":
        ids = [x["document"] for x in seen]
        ordered = [(-x["timestamp"], x["document"]) for x in seen]
    else:
        ids = [x["username"] for x in seen]
        ordered = ids
    hist = max([len(x["history"]) for x in seen
                if isinstance(x.get("history"), list)] or [0])
    links = sum(len(x.get("links", [])) for x in seen)
    print("pages=%d entries=%d unique=%d ordered=%s biggest=%d history=%d%s"
          % (pages, len(ids), len(set(ids)), ordered == sorted(ordered),
             biggest, hist, " links=%d" % links if links else ""))


def cmd_history(url, user, pw, doc, limit):
    c = conn(url)
    h = signin(c, user, pw)
    got, pages, cursor = [], 0, None
    while True:
        p = "/api/v1/documents/%s?limit=%s" % (doc, limit)
        if cursor:
            p += "&cursor=" + urllib.parse.quote(cursor)
        st, body, _ = call(c, "GET", p, headers=h)
        assert st == 200, (st, body[:200])
        d = json.loads(body)
        pages += 1
        # Each page is oldest first; pages go back in time.
        got = [e["progress"] for e in d["history"]] + got
        cursor = d["history_next"]
        if cursor is None:
            break
    print("pages=%d entries=%d unique=%d first=%s last=%s"
          % (pages, len(got), len(set(got)), got[0], got[-1]))


def cmd_merge(url, user, pw, doc, prefix, n):
    c = conn(url)
    h = signin(c, user, pw)
    st, body, _ = call(c, "GET", "/api/v1/session", headers=h)
    h["X-CSRF-Token"] = json.loads(body)["csrf"]
    for i in range(1, int(n) + 1):
        st, body, _ = call(c, "POST", "/api/v1/documents/%s/merge" % doc,
                           {"alias": "%s%04d" % (prefix, i)}, h)
        assert st == 200, (st, body)
    print("merged", n)


def cmd_hold(url, user, pw, path, n):
    u = urllib.parse.urlsplit(url)
    h = signin(conn(url), user, pw)
    socks = []
    for _ in range(int(n)):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((u.hostname, u.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n"
                   % (path, h["Cookie"].split(": ")[-1])).encode())
        socks.append(s)
    print("holding", n, flush=True)
    sys.stdin.readline()
    # Then read: the server must have closed them (EOF or reset) within
    # its idle timeout, without sending the whole answer.
    closed = 0
    got = 0
    for s in socks:
        s.settimeout(10)
        try:
            while True:
                b = s.recv(1 << 20)
                if not b:
                    closed += 1
                    break
                got += len(b)
        except (ConnectionResetError, socket.timeout):
            closed += 1
        s.close()
    print("closed=%d" % closed, flush=True)


if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
