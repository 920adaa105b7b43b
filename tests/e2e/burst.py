#!/usr/bin/env python3
"""burst.py: many requests at once, for the access-log tests (t028).

    burst.py PORT THREADS PER_THREAD OUTFILE [SIGTERM_PID AFTER]

THREADS keep-alive connections each send PER_THREAD requests
GET /burst/<thread>/<i>/<padding> (a 404 each: the path makes every line
unique and about 250 bytes long) with the KOReader Accept header. Every
path whose answer came back whole is written to OUTFILE, one per line.
With SIGTERM_PID, that process gets SIGTERM once AFTER answers came back;
the clients go on until the server closes their connections. Exits 0.
"""
import http.client
import os
import signal
import sys
import threading

PAD = "x" * 180
ACCEPT = "application/vnd.koreader.v1+json"


def main():
    port, threads, per = (int(a) for a in sys.argv[1:4])
    outfile = sys.argv[4]
    kill_pid = int(sys.argv[5]) if len(sys.argv) > 5 else None
    after = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    lock = threading.Lock()
    got = []
    killed = [False]

    def client(t):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        for i in range(per):
            path = "/burst/%d/%d/%s" % (t, i, PAD)
            try:
                conn.request("GET", path, headers={"Accept": ACCEPT})
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                return
            with lock:
                got.append(path)
                if kill_pid and not killed[0] and len(got) >= after:
                    killed[0] = True
                    os.kill(kill_pid, signal.SIGTERM)
            if (r.getheader("Connection") or "").lower() == "close":
                return
        conn.close()

    ts = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(outfile, "w") as f:
        for p in got:
            f.write(p + "\n")


if __name__ == "__main__":
    main()
