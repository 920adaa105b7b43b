#!/usr/bin/env bash
# t015-robustness: thousands of mutated protocol requests (bodies, paths,
# credential headers, methods) on keep-alive connections against the
# sanitizer build. Every answer must be one of the documented statuses
# with a JSON body of the documented shape (never a 5xx, never a 200 with
# an error), and the server must stay up and write nothing unexpected to
# stderr (ASan/UBSan reports fail the test).
. "$(dirname "$0")/lib.sh"

# The storm fails many logins from one address on purpose: switch the
# brute-force limits off (when this build has them) so that the checks
# after it see the server, not the limiter.
limits=()
if "$KOSYNCD" --help 2>&1 | grep -q -- --auth-fail-per-ip; then
	limits=(--auth-fail-per-user 0 --auth-fail-per-ip 0 --register-per-ip 0)
fi
ks_start --storage memory "${limits[@]}" || { not_ok "server started"; done_testing; }
K=$(md5 pw)
req POST /users/create '{"username":"u","password":"'"$K"'"}'
is "register" "$STATUS" 201

storm() {
	python3 - "$KS_PORT" "$K" <<'PY'
import http.client, json, random, sys

port, key = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(20261126)
n = 0
bad = 0

def ok(desc):
    global n
    n += 1

def fail(desc, why):
    global n, bad
    n += 1
    bad += 1
    print("#   %s: %s" % (desc, why))

base = {"document": "59d481d168cca6267322f150c5f6a2a3", "progress": "/body/p[1]",
        "percentage": 0.5, "device": "k", "device_id": "ID",
        "metadata": {"filename": "f", "title": "t", "authors": "a"}}
values = [None, True, False, 0, -1, 1e308, 0.1, "", "x", "0.5", " 1e-3 ", "0x10",
          "nan", "inf", "a:b", "a/b", "\u0000", "\u00e9", "\ud7ff", [], [1], {},
          {"a": None}, "x" * 300, "y" * 5000, 10**30]
paths = ["/healthcheck", "/users/create", "/users/auth", "/syncs/progress",
         "/syncs/progress/", "/syncs/progress/abc", "/syncs/progress/a%2Fb",
         "/syncs/progress/%zz", "/syncs/progress/%00", "/users/me",
         "/users/password", "//syncs//progress//d//", "/koreader/users/auth",
         "/nope", "/Users/Auth", "/syncs/progress/" + "d" * 300, "/%", "/a?b=c"]
methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]

def mutate():
    kind = rnd.randrange(6)
    if kind == 0:
        return b""
    if kind == 1:
        raw = json.dumps(base).encode()
        raw = bytearray(raw)
        for _ in range(rnd.randrange(1, 4)):
            i = rnd.randrange(len(raw))
            raw[i] = rnd.randrange(256)
        return bytes(raw)
    if kind == 2:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 64)))
    body = dict(base)
    for _ in range(rnd.randrange(1, 4)):
        k = rnd.choice(list(base) + ["username", "password", "timestamp"])
        v = rnd.choice(values)
        if v is None and rnd.random() < 0.5:
            body.pop(k, None)
        else:
            body[k] = v
    if kind == 3:
        return json.dumps(body).encode()
    if kind == 4:
        return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps([body]).encode()

def headers():
    h = {"Accept": "application/vnd.koreader.v1+json"}
    r = rnd.random()
    if r < 0.6:
        h["x-auth-user"] = rnd.choice(["u", "u", "U", "", "a:b", "nobody"])
        h["x-auth-key"] = rnd.choice([key, key, key.upper(), "", "k"])
    elif r < 0.7:
        h["Authorization"] = rnd.choice(["Basic dTpwdw==", "Basic !", "Basic", "Bearer x"])
    return h

allowed = {200, 201, 204, 400, 401, 402, 403, 404, 405}
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for i in range(3000):
    m = rnd.choice(methods)
    p = rnd.choice(paths)
    body = mutate() if m in ("POST", "PUT", "PATCH") or rnd.random() < 0.1 else b""
    h = headers()
    desc = "%s %s %r" % (m, p, body[:60])
    try:
        conn.request(m, p, body=body if body else None, headers=h)
        r = conn.getresponse()
        data = r.read()
    except Exception as e:
        fail(desc, "connection error %r" % e)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        continue
    if r.status not in allowed:
        fail(desc, "status %d" % r.status)
        continue
    if r.getheader("Content-Type") != "application/json":
        fail(desc, "content-type %r" % r.getheader("Content-Type"))
        continue
    if m == "HEAD" or r.status == 204:
        if data:
            fail(desc, "a body on HEAD/204")
        else:
            ok(desc)
        continue
    try:
        j = json.loads(data)
    except ValueError:
        fail(desc, "not JSON: %r" % data[:80])
        continue
    if not isinstance(j, dict):
        fail(desc, "not an object")
    elif r.status >= 400:
        if list(j) != ["code", "message"]:
            fail(desc, "error shape %r" % j)
        else:
            ok(desc)
    elif "code" in j:
        fail(desc, "success with an error body %r" % j)
    else:
        ok(desc)
print("#   %d requests, %d misanswered" % (n, bad))
sys.exit(1 if bad else 0)
PY
}
check "3000 mutated requests answered as documented" storm

# (the storm may have deleted or re-keyed "u": check with a fresh account)
req POST /users/create '{"username":"after","password":"'"$K"'"}'
is "still registering after the storm" "$STATUS" 201
req GET /users/auth "" $(auth after "$K")
is "still serving after the storm" "$STATUS" 200
ks_stop
done_testing
