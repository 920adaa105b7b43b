# rawhttp.py: raw HTTP over sockets for the transport tests (t020, t021),
# which import it through their PYLIB line with PORT set in the environment.
import os
import socket

PORT = int(os.environ["PORT"])


def conn(timeout=5):
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(timeout)
    return s


def read_all(s):
    """Everything the server sends until it closes (or goes quiet)."""
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def responses(data):
    """Split raw bytes into (status, headers, body) by Content-Length."""
    res = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        res.append((lines[0], hdrs, rest[:n].decode("latin1")))
        data = rest[n:]
    return res


def status_body(data):
    """"<status line> <body>" of one response."""
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode() + " " + body.decode()
