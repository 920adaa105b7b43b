#!/usr/bin/env python3
"""hookrecv.py: a webhook receiver for the end-to-end tests (t13x).

    hookrecv.py LOG PORTFILE [STATUSES] [DELAY]

Listens on 127.0.0.1 (a free port, written to PORTFILE), and for every
POST appends one JSON line to LOG: {"path", "headers" (lower-case names),
"body" (text), "time"}. It answers the statuses of the comma-separated
list STATUSES in turn (the last one repeats; default 200), each after
DELAY seconds (default 0). SIGTERM ends it at once.
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, PORTFILE = sys.argv[1], sys.argv[2]
STATUSES = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "200").split(",")]
DELAY = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with lock:
            i = count[0]
            count[0] += 1
            with open(LOG, "a") as f:
                f.write(json.dumps({
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                    "time": time.time(),
                }) + "\n")
        time.sleep(DELAY)
        status = STATUSES[min(i, len(STATUSES) - 1)]
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass

    def log_message(self, *args):
        pass


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.replace(PORTFILE + ".tmp", PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
