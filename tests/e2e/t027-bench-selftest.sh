#!/usr/bin/env bash
# t027-bench-selftest: the benchmark's own mechanics (bench/selftest,
# without kosyncd): bench/bench --quick and bench/run --quick against the
# Python stand-in, then bench/run against three stand-ins side by side: a
# server made of several processes (--pid MASTER,WORKER and --pid-cmd) has
# its CPU and RSS summed, a server answering the right status with a
# plain-text body (as KOsync does) is measured with a warning naming each
# divergence, and the report gives the ratios to the first server. The
# figures are never judged: only that the benchmark is not broken. The
# floor part runs the real bench/floor (make test builds it) beside the
# stand-in and must measure both on each read.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
command -v wrk >/dev/null || { echo "1..0 # SKIP no wrk"; exit 0; }
command -v pgrep >/dev/null || { echo "1..0 # SKIP no pgrep"; exit 0; }

out=$("$ROOT/bench/selftest" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
is "bench/selftest exits 0" "$rc" 0
like "bench/bench ok" "$out" "selftest: bench/bench ok"
like "bench/run: several processes, a plain-text server, ratios" "$out" \
    "selftest: bench/run ok \(several processes, a plain-text server, ratios\)"

done_testing
