# legit.py: the legitimate KOReader-like client the flood tests (t062, t063,
# t064, t068) run beside an attack: a new connection per request, pushes
# and pulls alternating, every answer checked.
#
#   python3 legit.py PORT USER KEY SECONDS
#
# prints "n fail p50 p99 max" (milliseconds), then one line per failure.
import socket, sys, time
port, user, key, secs = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
def one(method, path, body=b""):
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
            f"Accept: application/vnd.koreader.v1+json\r\n"
            f"x-auth-user: {user}\r\nx-auth-key: {key}\r\n"
            f"Connection: close\r\n")
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    status = data.split(b"\r\n", 1)[0].split(b" ")[1].decode() if data else "none"
    return status, data.partition(b"\r\n\r\n")[2]
lat, fails, i = [], [], 0
end = time.monotonic() + secs
while time.monotonic() < end:
    i += 1
    t0 = time.monotonic()
    try:
        if i % 2:
            st, body = one("PUT", "/syncs/progress",
                ('{"document":"d%d","progress":"p%d","percentage":0.5,'
                 '"device":"legit"}' % (i % 5, i)).encode())
            ok = st == "200" and b'"timestamp"' in body
        else:
            st, body = one("GET", "/syncs/progress/d%d" % ((i - 1) % 5))
            ok = st == "200" and b'"progress":"p%d"' % (i - 1) in body
    except OSError as e:
        st, ok = repr(e), False
    lat.append((time.monotonic() - t0) * 1000)
    if not ok:
        fails.append(f"request {i}: {st}")
    time.sleep(0.02)
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(len(lat), len(fails), "%.1f %.1f %.1f" % (pick(0.5), pick(0.99), lat[-1]))
for f in fails[:10]:
    print(f)
