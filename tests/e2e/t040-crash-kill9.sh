#!/usr/bin/env bash
# t040-crash-kill9: kill -9 during a write load loses no acknowledged write.
#
# Covers: a python3 client on 8 keep-alive connections (one document each,
# plus a second user) pushes progress as fast as the server answers and
# records every push answered 200 with its timestamp; the server is killed
# with SIGKILL in the middle of the load; after a restart every document
# holds at least the last acknowledged value (the progress strings count
# up, so "at least" is exact), with the acknowledged timestamp or a later
# one. Four rounds on the same data directory (the last two compacting
# every 4 KiB of journal, so kills also land during rotations and snapshot
# writes), then a clean stop and start (compaction) with everything still
# there; a new user registered just before a kill survives as well.
. "$(dirname "$0")/lib.sh"

# A restart after SIGKILL may find a half-written last record: the store
# warns about the torn tail it drops. Nothing acknowledged is in it.
ks_allow_stderr 'warning: .*journal'

KEY=$(md5 secret)
CLIENT=$KS_TMP/client.py
cat >"$CLIENT" <<'EOF'
# client.py load PORT ROUND SECONDS OUT | check PORT ACKED
import http.client, json, sys, threading, time

def conn(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)

HDR = {"Accept": "application/vnd.koreader.v1+json",
       "Content-Type": "application/json"}

def headers(user, key):
    h = dict(HDR)
    h["x-auth-user"] = user
    h["x-auth-key"] = key
    return h

def load(port, rnd, seconds, out):
    users = [("crash", sys.argv[6]), ("crash2", sys.argv[6])]
    acked = {}
    ready = set()
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(i):
        user, key = users[i % 2]
        doc = "doc%d" % i
        c = conn(port)
        n = rnd * 1000000
        h = headers(user, key)
        while time.time() < stop:
            n += 1
            body = json.dumps({"document": doc, "progress": str(n),
                               "percentage": (n % 1000000) / 1000000.0,
                               "device": "crash-test",
                               "device_id": "dev%d" % i})
            try:
                c.request("PUT", "/syncs/progress", body, h)
                r = c.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            if r.status == 200:
                ts = json.loads(data)["timestamp"]
                with lock:
                    acked["%s/%s" % (user, doc)] = [n, ts]
                    if i not in ready:
                        ready.add(i)
                        if len(ready) == 8:
                            # every worker has an acknowledged push: the
                            # shell may now pick its moment to kill
                            open(out + ".ready", "w").close()
            else:
                print("# unexpected status %d: %r" % (r.status, data))
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump(acked, f)

def check(port, acked_file, key):
    acked = json.load(open(acked_file))
    c = conn(port)
    bad = 0
    for k, (n, ts) in sorted(acked.items()):
        user, doc = k.split("/")
        c.request("GET", "/syncs/progress/" + doc, None, headers(user, key))
        r = c.getresponse()
        got = json.loads(r.read())
        if r.status != 200 or int(got.get("progress", -1)) < n \
                or got.get("timestamp", 0) < ts:
            print("# %s: acknowledged %d at %d, found %r" % (k, n, ts, got))
            bad += 1
    print("# checked %d documents" % len(acked))
    sys.exit(1 if bad else 0)

if sys.argv[1] == "load":
    load(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
else:
    check(int(sys.argv[2]), sys.argv[3], sys.argv[4])
EOF

ks_start
req POST /users/create "{\"username\":\"crash\",\"password\":\"$KEY\"}"
is "register crash" "$STATUS" 201
req POST /users/create "{\"username\":\"crash2\",\"password\":\"$KEY\"}"
is "register crash2" "$STATUS" 201

# Seconds of load before each kill, counted from the moment every client
# connection has had a push acknowledged (so a slow start of python or of the
# sanitizer build cannot make a round kill before any load): different
# points of the load.
KILL_AFTER=(0 0.6 0.9 0.75 1.2)
START_ARGS=()
for round in 1 2 3 4; do
	# Verify both keys first (argon2 is slow in the sanitizer build), so
	# the load is pushes only.
	req GET /users/auth "" $(auth crash "$KEY")
	req GET /users/auth "" $(auth crash2 "$KEY")
	timeout 60 python3 "$CLIENT" load "$KS_PORT" "$round" 30 \
	    "$KS_TMP/acked.$round" "$KEY" &
	client=$!
	for _ in $(seq 1 600); do
		[ -e "$KS_TMP/acked.$round.ready" ] && break
		kill -0 "$client" 2>/dev/null || break
		sleep 0.05
	done
	sleep "${KILL_AFTER[$round]}"

	ks_kill9
	wait "$client"
	is "round $round: client finished" "$?" 0
	n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' \
	    "$KS_TMP/acked.$round")
	acks=$(python3 -c 'import json,sys; print(sum(v[0] % 1000000 for v in json.load(open(sys.argv[1])).values()))' \
	    "$KS_TMP/acked.$round")
	check "round $round: pushes were acknowledged before the kill ($acks)" \
	    test "$n" -eq 8
	# Rounds 3 and 4 compact every few kilobytes: kills land during
	# journal rotations and snapshot writes too.
	[ "$round" -ge 2 ] && START_ARGS=(--compact-bytes 4096)
	check "round $round: restart after SIGKILL" ks_start "${START_ARGS[@]}"

	check "round $round: every acknowledged push is present" \
	    python3 "$CLIENT" check "$KS_PORT" "$KS_TMP/acked.$round" "$KEY"
	if [ "$round" = 2 ]; then
		# A registration acknowledged just before a kill survives too.
		req POST /users/create "{\"username\":\"late\",\"password\":\"$KEY\"}"
		is "register late" "$STATUS" 201
		ks_kill9
		ks_start "${START_ARGS[@]}"
		req GET /users/auth "" $(auth late "$KEY")
		is "late user survives SIGKILL" "$STATUS $BODY" '200 {"authorized":"OK"}'
	fi
done

# A clean stop (compaction) and start keep everything.
ks_stop
ks_start
check "after a clean restart every push is still present" \
    python3 "$CLIENT" check "$KS_PORT" "$KS_TMP/acked.4" "$KEY"
req GET /users/auth "" $(auth crash "$KEY")
is "crash user still authorised" "$STATUS $BODY" '200 {"authorized":"OK"}'
ks_stop
done_testing
