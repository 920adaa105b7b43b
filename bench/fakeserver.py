#!/usr/bin/env python3
"""fakeserver.py: a tiny in-memory KOReader sync server for checking the
benchmark's own mechanics (bench/selftest), never for figures.

    python3 bench/fakeserver.py PORT

Listens on 127.0.0.1:PORT, HTTP/1.1 keep-alive, and answers the four
client routes of PROTOCOL.md 3.1 plus /healthcheck. It prints
"fake: listening on 127.0.0.1:PORT" on stderr once it listens, and logs
every request line to stderr like an access log.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERS = {}
DOCS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        sys.stderr.write("fake access: %s\n" % (fmt % args))

    def reply(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if (self.headers.get("Connection") or "").lower() == "close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(n) or b"null")
        except ValueError:
            return None

    def user(self):
        u = self.headers.get("x-auth-user")
        k = self.headers.get("x-auth-key")
        with LOCK:
            return u if u and k and USERS.get(u) == k else None

    def path_parts(self):
        return [p for p in self.path.split("/") if p]

    def do_GET(self):
        p = self.path_parts()
        if p == ["healthcheck"]:
            return self.reply(200, {"state": "OK"})
        if p == ["users", "auth"]:
            if not self.user():
                return self.reply(401, {"code": 2001, "message": "Unauthorized"})
            return self.reply(200, {"authorized": "OK"})
        if len(p) == 3 and p[:2] == ["syncs", "progress"]:
            u = self.user()
            if not u:
                return self.reply(401, {"code": 2001, "message": "Unauthorized"})
            with LOCK:
                d = DOCS.get((u, p[2]), {})
            return self.reply(200, d)
        return self.reply(404, {"code": 404, "message": "Not found"})

    def do_PUT(self):
        p = self.path_parts()
        if p != ["syncs", "progress"]:
            return self.reply(404, {"code": 404, "message": "Not found"})
        b = self.body()
        u = self.user()
        if not u:
            return self.reply(401, {"code": 2001, "message": "Unauthorized"})
        if not isinstance(b, dict) or not b.get("document"):
            return self.reply(403, {"code": 2004,
                                    "message": "Field 'document' not provided."})
        ts = int(time.time())
        rec = {k: b.get(k) for k in ("document", "percentage", "progress",
                                      "device", "device_id")}
        rec["timestamp"] = ts
        with LOCK:
            DOCS[(u, b["document"])] = rec
        return self.reply(200, {"document": b["document"], "timestamp": ts})

    def do_POST(self):
        if self.path_parts() != ["users", "create"]:
            return self.reply(404, {"code": 404, "message": "Not found"})
        b = self.body()
        if not isinstance(b, dict) or not b.get("username") or \
                not b.get("password"):
            return self.reply(403, {"code": 2003, "message": "Invalid request"})
        with LOCK:
            if b["username"] in USERS:
                return self.reply(402, {"code": 2002, "message":
                                        "Username is already registered."})
            USERS[b["username"]] = b["password"]
        return self.reply(201, {"username": b["username"]})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    sys.stderr.write("fake: listening on 127.0.0.1:%d\n" % srv.server_port)
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
