#!/usr/bin/env python3
"""fakeserver.py: a tiny in-memory KOReader sync server for checking the
benchmark's own mechanics (bench/selftest), never for figures.

    python3 bench/fakeserver.py PORT
    python3 bench/fakeserver.py --data-dir DIR --listen-address 127.0.0.1:0 ...

The second form stands in for ./kosyncd (bench/bench --binary): it loads
the users of DIR/database.json (KOsync format; argon2id PHC keys are
checked with libsodium through ctypes) and ignores other flags.

Two flags make it look like other servers, for bench/selftest:
--plain answers auth and push with a plain-text `OK` as KOsync does (right
status, not kosyncd's body); --fork serves from a forked child while the
first process only waits, as nginx's master does (its CPU reads 0: only the
sum over both processes is the server's).
Listens on 127.0.0.1:PORT, HTTP/1.1 keep-alive, and answers the four
client routes of docs/protocol.md §3.1 plus /healthcheck. It prints
"fake info: listening on 127.0.0.1:PORT" on stderr once it listens, and logs
every request line to stderr like an access log.
"""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERS = {}
DOCS = {}
PLAIN = False
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        sys.stderr.write("fake access: %s\n" % (fmt % args))

    def reply(self, status, obj):
        ctype = "application/json"
        if PLAIN and status == 200 and isinstance(obj, dict) and \
                ("authorized" in obj or "timestamp" in obj):
            obj, ctype = None, "text/plain"
            body = b"OK"
        else:
            body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
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
            stored = USERS.get(u) if u and k else None
        if stored is None:
            return None
        if stored.startswith("$argon2id$"):
            return u if phc_ok(stored, k) else None
        return u if stored == k else None

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


def phc_ok(phc, key):
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("sodium"))
    k = key.encode()
    return lib.crypto_pwhash_str_verify(phc.encode(), k,
                                        ctypes.c_ulonglong(len(k))) == 0


def load(datadir):
    path = os.path.join(datadir, "database.json")
    if os.path.exists(path):
        with open(path) as f:
            db = json.load(f)
        for name, u in (db.get("users") or {}).items():
            USERS[name] = u.get("password")
            for doc, rec in (u.get("documents") or {}).items():
                DOCS[(name, doc)] = rec


class Server(ThreadingHTTPServer):
    """A client hanging up (wrk at the end of a run) is not an error."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def stop_now(*_):
    """SIGTERM: exit at once. sys.exit would finalize the interpreter while
    request threads may hold stderr's lock (a fatal error, exit -6, seen
    with Debian 12's Python 3.11.2)."""
    sys.stderr.flush()
    os._exit(0)  # pylint: disable=protected-access


def main():
    signal.signal(signal.SIGTERM, stop_now)
    args = sys.argv[1:]
    port = 0
    if args and args[0].isdigit():
        port = int(args[0])
    for i, a in enumerate(args):
        if a == "--data-dir":
            load(args[i + 1])
        elif a == "--listen-address":
            port = int(args[i + 1].rsplit(":", 1)[1])
    global PLAIN  # pylint: disable=global-statement
    PLAIN = "--plain" in args
    srv = Server(("127.0.0.1", port), Handler)
    child = os.fork() if "--fork" in args else 0
    if child:
        # the master: no request work, waits for its worker
        def stop(*_):
            os.kill(child, signal.SIGTERM)
            os.waitpid(child, 0)
            os._exit(0)  # pylint: disable=protected-access
        signal.signal(signal.SIGTERM, stop)
        srv.socket.close()
    if child or "--fork" not in args:
        sys.stderr.write("fake info: listening on 127.0.0.1:%d%s\n" % (
            srv.server_port, " (master %d)" % os.getpid() if child else ""))
        sys.stderr.flush()
    if child:
        os.waitpid(child, 0)
        return
    srv.serve_forever()


if __name__ == "__main__":
    main()
