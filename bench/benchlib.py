"""benchlib.py: what bench/bench and bench/run share.

- /proc readings of a server process (CPU time, RSS);
- running wrk with bench/scenario.lua and reading its BENCHJSON line;
- the request scenarios (auth, pull, push, mixed, register, each with
  keep-alive and with Connection: close), several runs, medians;
- a small HTTP client for setting up users and checking answers;
- the table printer and the machine description.

Only the Python standard library; every network address is loopback.
"""
import hashlib
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "scenario.lua")
ACCEPT = "application/vnd.koreader.v1+json"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Request scenarios in the order they run. Registration is last: it adds
# users (and costs an argon2id hash each on kosyncd).
SCENARIOS = ["auth", "pull", "push", "mixed", "register"]


class BenchError(Exception):
    """A broken benchmark (not a slow server): reported, exit status 1."""


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- /proc


def proc_cpu_s(pid):
    """utime + stime of the whole process (all threads), plus cutime +
    cstime (children it has reaped: kosyncd compacts in a forked child),
    in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    # the command name may hold spaces; fields restart after the last ')'
    fields = s[s.rindex(")") + 2:].split()
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def proc_status(pid, key):
    """A kB figure of /proc/PID/status (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_alive(pid):
    if isinstance(pid, Procs):
        return pid.alive()
    return pid is not None and os.path.exists("/proc/%d/stat" % pid)


class Procs:
    """The processes of one server: a fixed list of pids (--pid 11,12,13)
    and/or a shell command printing pids (--pid-cmd, run before every
    measurement, so that workers started later are counted). CPU time and
    RSS are summed over them (nginx: a master and its workers; with Redis
    beside it, add redis-server's pid)."""

    def __init__(self, pids=(), cmd=None):
        self.fixed = [int(p) for p in pids]
        self.cmd = cmd

    @staticmethod
    def parse(text):
        """"11,12 13" -> [11, 12, 13]; BenchError on anything else."""
        out = []
        for w in text.replace(",", " ").split():
            if not w.isdigit() or int(w) <= 0:
                raise BenchError("not a process id: %r" % w)
            out.append(int(w))
        return out

    def pids(self):
        out = list(self.fixed)
        if self.cmd:
            p = subprocess.run(["sh", "-c", self.cmd], capture_output=True,
                               text=True, timeout=30)
            if p.returncode != 0:
                raise BenchError("--pid-cmd %r failed (exit %d): %s" % (
                    self.cmd, p.returncode, p.stderr.strip()))
            out += [x for x in self.parse(p.stdout) if x not in out]
        if not out:
            raise BenchError("no process to measure (--pid-cmd %r printed "
                             "none)" % self.cmd)
        return out

    def alive(self):
        return all(os.path.exists("/proc/%d/stat" % p) for p in self.fixed)

    def __str__(self):
        parts = [",".join(str(p) for p in self.fixed)] if self.fixed else []
        if self.cmd:
            parts.append("pids of `%s`" % self.cmd)
        return "pid " + " + ".join(parts)


def procs_cpu_s(pids):
    """Summed proc_cpu_s of pids; a process gone meanwhile counts 0."""
    t = 0.0
    for p in pids:
        try:
            t += proc_cpu_s(p)
        except OSError:
            pass
    return t


def procs_rss_kb(pids):
    vals = [proc_status(p, "VmRSS") for p in pids]
    vals = [v for v in vals if v is not None]
    return sum(vals) if vals else None


# ---------------------------------------------------------------- machine


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = proc_meminfo("MemTotal")
    wrk = subprocess.run(["wrk", "--version"], capture_output=True,
                         text=True).stdout.split("\n")[0].strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "mem_mb": mem // 1024 if mem else None,
        "wrk": wrk.split(" Copyright")[0],
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "loadavg": list(os.getloadavg()),
    }


def proc_meminfo(key):
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def check_wrk():
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (Debian package wrk; "
                         "scripts/install-deps installs it)")


# ---------------------------------------------------------------- users


def md5hex(s):
    return hashlib.md5(s.encode()).hexdigest()


def write_users_file(path, users):
    """users: list of (name, key, [docs]). The format scenario.lua reads."""
    with open(path, "w") as f:
        for name, key, docs in users:
            f.write("%s %s %s\n" % (name, key, " ".join(docs)))


# ---------------------------------------------------------------- HTTP


class Client:
    """One keep-alive connection to base URL (http://127.0.0.1:PORT/base)."""

    def __init__(self, url, timeout=30):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http":
            raise BenchError("only http:// URLs are supported: %s" % url)
        self.host = u.hostname
        self.port = u.port or 80
        self.base = u.path.rstrip("/")
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, user=None, key=None):
        headers = {"Accept": ACCEPT}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if user is not None:
            headers["x-auth-user"] = user
            headers["x-auth-key"] = key
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, self.base + path, data, headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            obj = json.loads(raw) if raw else None
        except ValueError:
            obj = raw
        return r.status, obj

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def parallel(url, items, fn, workers=8):
    """Call fn(client, item) for every item on `workers` connections.
    Returns the first exception raised, re-raised here."""
    items = list(items)
    lock = threading.Lock()
    errors = []
    pos = [0]

    def worker():
        c = Client(url)
        try:
            while True:
                with lock:
                    if errors or pos[0] >= len(items):
                        return
                    item = items[pos[0]]
                    pos[0] += 1
                try:
                    fn(c, item)
                except Exception as e:  # pylint: disable=broad-except
                    with lock:
                        errors.append(e)
                    return
        finally:
            c.close()

    ts = [threading.Thread(target=worker) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def wait_http(url, timeout):
    """Wait until something answers HTTP at url (any status)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        c = Client(url, timeout=2)
        try:
            c.request("GET", "/healthcheck")
            return
        except (OSError, http.client.HTTPException) as e:
            last = e
            time.sleep(0.05)
        finally:
            c.close()
    raise BenchError("no HTTP answer from %s within %ds: %s" %
                     (url, timeout, last))


def register_users(url, users, workers=8):
    """POST /users/create for every (name, key, docs); 201 expected."""
    def reg(c, u):
        st, body = c.request("POST", "/users/create",
                             {"username": u[0], "password": u[1]})
        if st != 201:
            hint = ""
            if st == 402 and isinstance(body, dict) and \
                    body.get("code") == 2007:
                hint = (" (kosyncd limits registrations per client "
                        "address: start it with --register-per-ip 0)")
            raise BenchError("registering %s: HTTP %d %r%s" % (
                u[0], st, body, hint))
    parallel(url, users, reg, workers)


def push_docs(url, users, workers=8):
    """One PUT /syncs/progress per (user, document); 200 expected."""
    items = [(u, d) for u in users for d in u[2]]

    def push(c, item):
        (name, key, _), doc = item
        st, body = c.request("PUT", "/syncs/progress", {
            "document": doc, "progress": "/body/DocFragment[1]/body/p[1]",
            "percentage": 0.01, "device": "bench-setup",
            "device_id": "BENCHSETUP000000000000000000000"}, name, key)
        if st != 200:
            raise BenchError("pushing %s/%s: HTTP %d %r" % (name, doc, st,
                                                           body))
    parallel(url, items, push, workers)


def auth_all(url, users, workers=8):
    """GET /users/auth once per user (kosyncd verifies the argon2id hash
    the first time and remembers the key: this is the key-cache warm-up)."""
    def auth(c, u):
        st, body = c.request("GET", "/users/auth", None, u[0], u[1])
        if st != 200:
            raise BenchError("auth %s: HTTP %d %r" % (u[0], st, body))
    parallel(url, users, auth, workers)


def probe(url, users, strict=True):
    """One request of each scenario through a plain client, checking the
    answer, so that a benchmark of error answers cannot pass for a
    benchmark. A wrong status is always an error (BenchError). A right
    status with a body other than kosyncd's (KOsync answers a push with a
    plain "OK") is an error when strict, else a divergence: returns the
    list of divergences, one sentence each."""
    c = Client(url)
    warnings = []

    def check(what, st, want, body, body_ok, expected):
        if st != want:
            raise BenchError("probe %s: HTTP %d (expected %d) %r" % (
                what, st, want, body))
        if body_ok:
            return
        msg = "%s: HTTP %d as expected but the body is %r, not %s" % (
            what, st, body if not isinstance(body, bytes)
            else body.decode("utf-8", "replace")[:80], expected)
        if strict:
            raise BenchError("probe " + msg)
        warnings.append(msg)

    try:
        name, key, docs = users[0]
        st, body = c.request("GET", "/users/auth", None, name, key)
        check("auth", st, 200, body, isinstance(body, dict),
              "a JSON object")
        st, body = c.request("PUT", "/syncs/progress", {
            "document": docs[0], "progress": "/body/DocFragment[2]/body/p[3]",
            "percentage": 0.25, "device": "bench-probe",
            "device_id": "BENCHPROBE000000000000000000000"}, name, key)
        check("push", st, 200, body, isinstance(body, dict) and
              body.get("document") == docs[0],
              "a JSON object with the document")
        st, body = c.request("GET", "/syncs/progress/" + docs[0], None,
                             name, key)
        check("pull", st, 200, body, isinstance(body, dict) and
              body.get("progress") == "/body/DocFragment[2]/body/p[3]" and
              body.get("percentage") == 0.25,
              "a JSON object with the pushed progress and percentage")
        st, body = c.request("GET", "/users/auth", None, name, key + "x")
        check("auth with a wrong key", st, 401, body, True, "")
    finally:
        c.close()
    return warnings


# ---------------------------------------------------------------- wrk


def run_wrk(url, mode, users_file, connections, threads, duration,
            close=False, timeout_s=5, nonce=None):
    """One wrk run; returns the parsed BENCHJSON dict."""
    check_wrk()
    duration = max(1, int(round(duration)))  # wrk takes whole seconds
    args = ["wrk", "-t%d" % threads, "-c%d" % connections,
            "-d%ds" % duration, "--timeout", "%ds" % timeout_s,
            "-s", SCRIPT, url, "--", mode, users_file or "-"]
    if close:
        args.append("close")
    if nonce is not None:
        args.append("nonce=%s" % nonce)
    try:
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=duration + timeout_s + 30)
    except subprocess.TimeoutExpired:
        raise BenchError("wrk did not finish: %s" % " ".join(args))
    for line in p.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            return json.loads(line[len("BENCHJSON "):])
    raise BenchError("wrk failed (exit %d): %s\n%s%s" % (
        p.returncode, " ".join(args), p.stdout, p.stderr))


def settle(pid, quiet_s=0.3, max_s=15):
    """Wait until the server is idle (CPU time still for quiet_s): work
    queued by a previous run (argon2 hashes, a compaction) must not be
    billed to the next one."""
    pids = [pid] if isinstance(pid, int) else pid
    if not pids:
        time.sleep(0.2)
        return
    deadline = time.monotonic() + max_s
    last = procs_cpu_s(pids)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = procs_cpu_s(pids)
        if now - last < 0.02:
            return
        last = now


def measure(url, pid, mode, users_file, connections, threads, duration,
            close=False, timeout_s=5, nonce=None):
    """One measured wrk run with the server's CPU and RSS around it."""
    pids = pid.pids() if isinstance(pid, Procs) else [pid] if pid else []
    settle(pids)
    cpu0 = procs_cpu_s(pids) if pids else None
    rss0 = procs_rss_kb(pids) if pids else None
    w = run_wrk(url, mode, users_file, connections, threads, duration,
                close, timeout_s, nonce)
    if pid and not proc_alive(pid):
        raise BenchError("the server (%s) died during %s" % (
            pid if isinstance(pid, Procs) else "pid %d" % pid, mode))
    cpu1 = procs_cpu_s(pids) if pids else None
    rss1 = procs_rss_kb(pids) if pids else None
    n = w["requests"]
    secs = w["duration_us"] / 1e6
    e = w["errors"]
    r = {
        "pids": pids,
        "requests": n,
        "rps": n / secs if secs else 0.0,
        "p50_ms": w["latency_us"]["percentiles"]["50"] / 1000.0,
        "p99_ms": w["latency_us"]["percentiles"]["99"] / 1000.0,
        "p999_ms": w["latency_us"]["percentiles"]["99.9"] / 1000.0,
        "max_ms": w["latency_us"]["max"] / 1000.0,
        "non2xx": e["status"],
        "socket_errors": e["connect"] + e["read"] + e["write"] +
        e["timeout"],
        "cpu_us": None,
        "rss_before_kb": rss0,
        "rss_after_kb": rss1,
    }
    if cpu0 is not None and cpu1 is not None and n:
        r["cpu_us"] = (cpu1 - cpu0) * 1e6 / n
        r["cpu_s"] = cpu1 - cpu0
    r["wrk"] = w
    return r


MEDIAN_KEYS = ["rps", "p50_ms", "p99_ms", "p999_ms", "cpu_us"]


def median_of(runs):
    """Median of each figure over runs; errors are summed, RSS is the
    first run's before and the last run's after."""
    m = {}
    for k in MEDIAN_KEYS:
        vals = [r[k] for r in runs if r.get(k) is not None]
        m[k] = statistics.median(vals) if vals else None
    m["requests"] = sum(r["requests"] for r in runs)
    m["non2xx"] = sum(r["non2xx"] for r in runs)
    m["socket_errors"] = sum(r["socket_errors"] for r in runs)
    m["rss_before_kb"] = runs[0]["rss_before_kb"]
    m["rss_after_kb"] = runs[-1]["rss_after_kb"]
    return m


class Profile:
    """perf record -e cpu-clock -g on pid while a run goes on (software
    clock sampling: works in VMs without hardware counters)."""

    def __init__(self, pid, name, outdir):
        self.pid = pid
        safe = "".join(c if c.isalnum() else "-" for c in name).strip("-")
        self.data = os.path.join(outdir, "perf-%s.data" % safe)
        self.txt = os.path.join(outdir, "profile-%s.txt" % safe)
        self.proc = None

    def __enter__(self):
        if shutil.which("perf") is None:
            log("perf is not installed: no profile")
            return self
        os.makedirs(os.path.dirname(self.data), exist_ok=True)
        for f in (self.data, self.data + ".old"):
            if os.path.exists(f):
                os.unlink(f)
        self.proc = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "4999", "-g",
             "-p", ",".join(str(x) for x in self.pid.pids())
             if isinstance(self.pid, Procs) else str(self.pid),
             "-o", self.data],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        if self.proc is None:
            return False
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with open(self.txt, "w") as f:
            for sort, limit in (("dso", "0.1"), ("dso,symbol", "0.3")):
                f.write("## perf report --sort %s\n" % sort)
                f.flush()
                subprocess.run(["perf", "report", "-i", self.data,
                                "--stdio", "--no-children", "--sort", sort,
                                "-g", "none", "--percent-limit", limit],
                               stdout=f, stderr=subprocess.DEVNULL,
                               timeout=300)
        log("profile: %s" % self.txt)
        return False


def scenario(url, pid, name, mode, users_file, opts, close=False,
             timeout_s=5, duration=None, runs=None):
    """Several runs of one scenario; returns a result record. With
    opts.profile naming it (and a pid), one extra run first is sampled with
    perf; it is not among the measured runs (sampling costs CPU)."""
    duration = duration or opts.duration
    runs = runs or opts.runs
    res = []
    profile = getattr(opts, "profile", None)
    if profile and pid and (profile == "all" or
                            name in profile.split(",")):
        with Profile(pid, name, opts.profile_dir):
            measure(url, pid, mode, users_file, opts.connections,
                    opts.threads, duration, close, timeout_s,
                    "%dp" % int(time.time()))
    for i in range(runs):
        nonce = "%d%03d" % (int(time.time()), i)
        r = measure(url, pid, mode, users_file, opts.connections,
                    opts.threads, duration, close, timeout_s, nonce)
        res.append(r)
        log("  %-22s run %d/%d: %9.0f req/s  p99 %7.2f ms  cpu %s  "
            "non-2xx %d" % (name, i + 1, runs, r["rps"], r["p99_ms"],
                            "%.1f us" % r["cpu_us"] if r["cpu_us"]
                            is not None else "-", r["non2xx"]))
    return {"name": name, "mode": mode,
            "connection": "close" if close else "keep-alive",
            "connections": opts.connections, "duration_s": duration,
            "median": median_of(res), "runs": [strip(r) for r in res]}


def strip(r):
    return {k: v for k, v in r.items() if k != "wrk"}


def scenario_plan(opts, close_variant=True):
    """The request scenarios in order: (name, mode, close, timeout_s,
    duration, runs) for each mode with keep-alive, then with Connection:
    close (registration: keep-alive and close as well)."""
    out = []
    for mode in SCENARIOS:
        variants = [False, True] if close_variant else [False]
        for close in variants:
            name = mode + (" (close)" if close else "")
            if mode == "register":
                # argon2id per registration: slow on purpose, fewer runs
                out.append((name, mode, close, 30,
                            max(1, opts.duration // 2), 1))
            else:
                out.append((name, mode, close, 5, opts.duration,
                            opts.runs))
    return out


def request_scenarios(url, pid, users_file, opts, close_variant=True):
    """The request scenarios of scenario_plan, one after the other."""
    return [scenario(url, pid, name, mode, users_file, opts, close,
                     timeout_s=t, duration=d, runs=n)
            for name, mode, close, t, d, n in
            scenario_plan(opts, close_variant)]


def interleaved_scenarios(servers, opts, close_variant=True, plan=None):
    """The request scenarios against several servers, interleaved: each
    run of a scenario goes to every server in turn before the next run,
    so that a load that comes and goes on a shared machine falls on all
    of them alike. servers: (url, pid, users_file) each; plan: the
    scenarios, as scenario_plan gives them (by default all of them).
    Returns one list of rows per server, as request_scenarios gives."""
    rows = [[] for _ in servers]
    if plan is None:
        plan = scenario_plan(opts, close_variant)
    for name, mode, close, t, d, n in plan:
        res = [[] for _ in servers]
        for i in range(n):
            for k, (url, pid, users_file) in enumerate(servers):
                nonce = "%d%03d%d" % (int(time.time()), i, k)
                r = measure(url, pid, mode, users_file, opts.connections,
                            opts.threads, d, close, t, nonce)
                res[k].append(r)
                log("  %-22s server %d run %d/%d: %9.0f req/s  p99 %7.2f "
                    "ms  cpu %s" % (name, k + 1, i + 1, n, r["rps"],
                                    r["p99_ms"], "%.1f us" % r["cpu_us"]
                                    if r["cpu_us"] is not None else "-"))
        for k in range(len(servers)):
            rows[k].append({"name": name, "mode": mode,
                            "connection": "close" if close
                            else "keep-alive",
                            "connections": opts.connections,
                            "duration_s": d, "median": median_of(res[k]),
                            "runs": [strip(r) for r in res[k]]})
    return rows


def warmup(url, pid, users_file, opts, seconds):
    """An unmeasured mixed run, so that caches and allocators settle."""
    if seconds > 0:
        run_wrk(url, "mixed", users_file, opts.connections, opts.threads,
                seconds)


# ---------------------------------------------------------------- output


def fmt(v, spec, none="-"):
    return none if v is None else spec % v


def mb(kb):
    return None if kb is None else kb / 1024.0


def print_scenarios(rows, title):
    print()
    print(title)
    print("%-20s %10s %9s %9s %9s %9s %9s %8s" % (
        "scenario", "req/s", "p50 ms", "p99 ms", "cpu us/r",
        "RSS0 MB", "RSS1 MB", "non-2xx"))
    for r in rows:
        m = r["median"]
        print("%-20s %10s %9s %9s %9s %9s %9s %8d%s" % (
            r["name"], fmt(m["rps"], "%.0f"), fmt(m["p50_ms"], "%.3f"),
            fmt(m["p99_ms"], "%.3f"), fmt(m["cpu_us"], "%.1f"),
            fmt(mb(m["rss_before_kb"]), "%.1f"),
            fmt(mb(m["rss_after_kb"]), "%.1f"), m["non2xx"],
            "  (%d socket errors)" % m["socket_errors"]
            if m["socket_errors"] else ""))
    sys.stdout.flush()


def write_json(path, obj):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def broken(results):
    """Names of scenarios with non-2xx answers (a broken benchmark)."""
    return [r["name"] for r in results if r["median"]["non2xx"]]
