#!/usr/bin/env bash
# t096-webui-sessions: one account cannot sign everyone else out.
#
# Covers (issue 12, item 3): sessions in memory are capped per user
# (SESSION_MAX_PER_USER, 100: the 101st sign-in of one account ends that
# account's oldest session, nobody else's); when the table (10,000) is
# full of live sessions of other users a new sign-in is refused with a
# JSON 503 and no session of anyone else ends; the account that fills
# the table can still sign in (its own oldest makes room).
. "$(dirname "$0")/lib.sh"

ks_start --storage memory --register-per-ip 0 || exit 1

# sessions.py PORT: the sign-ins, over keep-alive connections; prints
# "name value" lines checked below.
cat >"$KS_TMP/sessions.py" <<'PY'
import hashlib, http.client, json, sys
port = int(sys.argv[1])
PW = "open sesame"
KEY = hashlib.md5(PW.encode()).hexdigest()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
def call(method, path, body=None, headers=None):
    h = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    conn.request(method, path, body, h)
    r = conn.getresponse()
    return r.status, r.read(), r.getheader("Set-Cookie") or ""
def register(name):
    st, _, _ = call("POST", "/users/create", {"username": name, "password": KEY},
                    {"Accept": "application/vnd.koreader.v1+json"})
    assert st == 201, (name, st)
def login(name):
    st, body, cookie = call("POST", "/api/v1/login", {"username": name, "password": PW})
    return st, body, cookie.split(";", 1)[0]
def who(cookie):
    st, body, _ = call("GET", "/api/v1/session", headers={"Cookie": cookie})
    return json.loads(body).get("username")
users = ["u%d" % i for i in range(99)]
for n in ["ann", "bob", "cat"] + users:
    register(n)
st, _, bob = login("bob")
print("bob", st)
first = None
bad = 0
for i in range(150):
    st, _, c = login("ann")
    bad += st != 200
    first = first or c
    last = c
print("ann150", bad)
print("ann_first", who(first))
print("ann_last", who(last))
print("bob_after_ann", who(bob))
# bob 1 + ann 100 + 9,899 of the others: the table (10,000) is full.
bad = 0
for i, n in enumerate(users):
    for j in range(100 if i < 98 else 99):
        st, _, c = login(n)
        bad += st != 200
        if i == 0 and j == 0:
            u0 = c
print("others", bad)
st, body, c = login("cat")
print("cat", st, body.decode(), "cookie" if c else "nocookie")
print("bob_full", who(bob))
print("u0_full", who(u0))
print("ann_last_full", who(last))
st, _, c = login("ann")
print("ann_again", st, who(c))
print("ann_last_after", who(last))
PY
python3 "$KS_TMP/sessions.py" "$KS_PORT" >"$KS_TMP/out.txt" 2>&1
cat "$KS_TMP/out.txt" | sed 's/^/# /'
get() { sed -n "s/^$1 //p" "$KS_TMP/out.txt"; }
is "bob signs in" "$(get bob)" 200
is "150 sign-ins of ann all succeed" "$(get ann150)" 0
is "ann's first session ended (100 per user)" "$(get ann_first)" None
is "ann's last session lives" "$(get ann_last)" ann
is "bob is still signed in after 150 sign-ins of ann" "$(get bob_after_ann)" bob
is "the others fill the table" "$(get others)" 0
is "a full table refuses a new sign-in with a JSON 503" "$(get cat)" \
    '503 {"code":503,"message":"Too many people are signed in; try again later."} nocookie'
is "bob is still signed in with the table full" "$(get bob_full)" bob
is "u0's first session lives" "$(get u0_full)" u0
is "ann's last session lives" "$(get ann_last_full)" ann
is "ann can sign in again (her oldest makes room)" "$(get ann_again)" "200 ann"
ks_stop
done_testing
