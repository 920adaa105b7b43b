#!/usr/bin/env bash
# t073-metrics: GET /metrics on the metrics_listen listener.
#
# Covers: off by default (no second listener; /metrics on the protocol's
# listener is a JSON 404); with --metrics-listen the page parses as
# Prometheus text format 0.0.4 (a strict little parser below: HELP/TYPE
# before samples, names and labels well formed, values numbers, histogram
# buckets cumulative and ending in +Inf equal to _count); counters move
# with traffic (requests by route and status, latency counts, failed
# authentications, users, documents, journal bytes, fsync latency, compactions after
# `kosyncd compact`); other paths 404 and other methods 405 there.
. "$(dirname "$0")/lib.sh"

K=$(md5 pw)

ks_start || { not_ok "server started"; done_testing; }
is "off by default: one listener" \
    "$(grep -c 'listening on' "$KS_ERR.new")" 1
req GET /metrics
is "not on the protocol's listener" "$STATUS" 404
ks_stop

rm -rf "$KS_DIR"
ks_start --metrics-listen 127.0.0.1:0 || { not_ok "server started"; done_testing; }
MPORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$KS_ERR.new" | sed -n 2p)
check "metrics listener reported" [ -n "$MPORT" ]
MURL="http://127.0.0.1:$MPORT"

# scrape: fetch and validate the page; prints "name{labels} value" lines.
scrape() {
	curl -s -S -D "$KS_TMP/mh" "$MURL/metrics" >"$KS_TMP/page" || return 1
	python3 - "$KS_TMP/page" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "page must end with a newline"
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
sample_re = re.compile(r"^(" + name_re + r")(\{(.*)\})? (\S+)$")
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
types, helps, samples = {}, set(), []
for line in text.splitlines():
    if line.startswith("# HELP "):
        name = line.split(" ")[2]
        assert re.fullmatch(name_re, name), line
        assert name not in helps, "two HELP lines for " + name
        helps.add(name)
        continue
    if line.startswith("# TYPE "):
        _, _, name, typ = line.split(" ")
        assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
        assert name not in types, "two TYPE lines for " + name
        types[name] = typ
        continue
    assert not line.startswith("#"), line
    m = sample_re.match(line)
    assert m, "bad sample line: " + line
    name, labels, value = m.group(1), m.group(3) or "", m.group(4)
    if labels:
        rest = label_re.sub("", labels).replace(",", "")
        assert rest == "", "bad labels: " + line
    float(value)
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    family = name if name in types else base
    assert family in types, "sample before its TYPE: " + line
    if types[family] == "counter":
        assert float(value) >= 0
    samples.append((name, dict(label_re.findall(labels)), float(value)))
# Histograms: cumulative buckets ending in +Inf == _count.
for fam, typ in types.items():
    if typ != "histogram":
        continue
    series = {}
    for name, labels, value in samples:
        if name == fam + "_bucket":
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            series.setdefault(key, []).append((labels["le"], value))
    for key, buckets in series.items():
        values = [v for _, v in buckets]
        assert values == sorted(values), "buckets not cumulative"
        assert buckets[-1][0] == "+Inf", "last bucket is not +Inf"
        count = [v for n, l, v in samples if n == fam + "_count" and
                 tuple(sorted(l.items())) == key]
        assert count == [buckets[-1][1]], "+Inf bucket != _count"
for name, labels, value in samples:
    lab = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    print("%s{%s} %g" % (name, lab, value))
EOF
}
# metric NAME{LABELS}: its value in the last scrape ("" when absent).
metric() {
	grep -F "$1 " "$KS_TMP/samples" | head -n 1 | awk '{print $2}'
}

scrape >"$KS_TMP/samples"
is "page parses as Prometheus text" "$?" 0
like "Content-Type" "$(tr -d '\r' <"$KS_TMP/mh" | sed -n 's/^[Cc]ontent-[Tt]ype: //p')" \
    '^text/plain; version=0\.0\.4'
is "no users yet" "$(metric 'kosyncd_users{}')" 0
is "no failed logins yet" "$(metric 'kosyncd_auth_failures_total{}')" 0

req POST /users/create "{\"username\":\"ann\",\"password\":\"$K\"}"
for i in 1 2 3; do
	req PUT /syncs/progress "{\"document\":\"d$i\",\"progress\":\"$i\",\"percentage\":0.$i,\"device\":\"Kobo\"}" $(auth ann "$K")
done
req GET /syncs/progress/d1 "" $(auth ann "$K")
req GET /users/auth "" $(auth ann "$(md5 wrong)")
req GET /users/auth "" $(auth nobody "$K")
req GET /nowhere
req GET /healthcheck

scrape >"$KS_TMP/samples"
is "after traffic: page still parses" "$?" 0
is "registrations counted" "$(metric 'kosyncd_http_requests_total{route="users/create",status="201"}')" 1
is "pushes counted" "$(metric 'kosyncd_http_requests_total{route="syncs/progress",status="200"}')" 3
is "pulls counted" "$(metric 'kosyncd_http_requests_total{route="syncs/progress/:document",status="200"}')" 1
is "401s counted by route" "$(metric 'kosyncd_http_requests_total{route="users/auth",status="401"}')" 2
is "unknown paths are 'other'" "$(metric 'kosyncd_http_requests_total{route="other",status="404"}')" 1
is "healthcheck counted" "$(metric 'kosyncd_http_requests_total{route="healthcheck",status="200"}')" 1
is "latency count of pushes" "$(metric 'kosyncd_http_request_duration_seconds_count{route="syncs/progress"}')" 3
is "failed logins" "$(metric 'kosyncd_auth_failures_total{}')" 2
is "users" "$(metric 'kosyncd_users{}')" 1
is "documents" "$(metric 'kosyncd_documents{}')" 3
check "journal bytes grew" [ "$(metric 'kosyncd_journal_bytes{}')" -gt 0 ]
is "no compaction yet" "$(metric 'kosyncd_compactions_total{}')" 0
check "journal fsyncs timed (fsync always)" \
    [ "$(metric 'kosyncd_journal_fsync_duration_seconds_count{}')" -ge 4 ]

"$KOSYNCD" --data-dir "$KS_DIR" compact >/dev/null 2>&1
scrape >"$KS_TMP/samples"
is "compaction counted" "$(metric 'kosyncd_compactions_total{}')" 1

code=$(curl -s -o /dev/null -w '%{http_code}' "$MURL/users/auth")
is "protocol routes are not on the metrics listener" "$code" 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MURL/metrics")
is "POST /metrics: 405" "$code" 405
ks_stop

"$KOSYNCD" --data-dir "$KS_DIR" --metrics-listen nonsense 2>"$KS_TMP/err"
is "bad metrics_listen: exit 1" "$?" 1
like "bad metrics_listen: named" "$(cat "$KS_TMP/err")" "option 'metrics_listen'"
done_testing
