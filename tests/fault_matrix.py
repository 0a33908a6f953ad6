#!/usr/bin/env python3
"""fault_matrix.py: run every fault of the test servers against the real
binary and write docs/fault-matrix.md with the observed outcome of each.

    tests/fault_matrix.py [--build DIR] [--out FILE] [--rgw-env FILE] [--no-rgw] [--stress]

FDSN side: tests/fdsn_server.py serving a synthetic SDS archive (2 channels at
20 Hz); each fault is queued on /control, then `r2cache fill` of one hour of
both channels (one bulk request, 12 ten-minute windows) runs into a fresh
local store. Observed: exit status, the JSON summary, the server's request
count, the elapsed time and the error message.

S3 side: tests/s3proxy.py in front of RGW (tests/rgw.sh; started here unless
--rgw-env names a running one). A clean fill with --log-level debug first
gives the order of the requests (listing, blob PUTs, manifest GET, manifest
PUT); each fault is then queued so that it hits the request it is meant for
(a blob PUT, or the conditional manifest PUT for 409/412, or the first
request for the clock skew), and the fill of one channel-hour runs through
the proxy into a fresh prefix. Afterwards the store is read back directly
from RGW: every chunk present and the manifest naming all of them.

--stress also runs the crash and concurrency tests (tests/test_crash.c,
tests/test_concurrency.c, built in --build) with RC_FAULT_LOG set and adds
their rows (they take several minutes each).

Exit status: 0 when every observed outcome is the expected one, 1 otherwise.
Servers started here are stopped by their pids, pass or fail.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def start_server(argv, env=None):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = p.stdout.readline()
    if not line.startswith("READY "):
        p.kill()
        raise RuntimeError("%s did not start" % argv[1])
    return p, int(line.split()[1])


def http(url, body=None, method=None):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()


def run(argv, env=None, timeout=300):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    dt = time.monotonic() - t0
    try:
        summary = json.loads(p.stdout) if p.stdout.strip() else {}
    except json.JSONDecodeError:
        summary = {}
    return p.returncode, summary, p.stderr, dt


def first_error(stderr):
    """The first error line the binary logged (JSON or text log)."""
    for line in stderr.splitlines():
        try:
            d = json.loads(line)
            if d.get("level") in ("error", "warn") and d.get("msg"):
                return d["msg"]
        except json.JSONDecodeError:
            if " error " in line or " warn " in line:
                return line.split(" ", 3)[-1]
    return ""


def short(s, n=160):
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


class Matrix:
    def __init__(self):
        self.rows = []

    def add(self, component, fault, how, expected, observed, ok, test=""):
        self.rows.append((component, fault, how, expected, observed, ok, test))
        log("%-5s %-8s %-22s %s" % ("ok" if ok else "FAIL", component, fault, observed))


# ------------------------------------------------------------------ FDSN side

FDSN_CASES = [
    # fault list, expected outcome, outcome key, Criterion test covering it
    (["204"], "no data (not a failure): 12 windows no data, exit 0", "nodata", "source/fdsn_204_and_404_are_nodata, fill/data_centre_answers_give_the_documented_outcome"),
    (["404"], "no data (not a failure): 12 windows no data, exit 0", "nodata", "source/fdsn_204_and_404_are_nodata"),
    (["413"], "split: the 2-line request is split, 12 chunks, exit 0", "split", "source/fdsn_413_splits_lines_then_time, fill/data_centre_answers_give_the_documented_outcome"),
    (["429"], "retried and succeeded: 12 chunks, exit 0", "retried", "source/fdsn_transient_failures_are_retried"),
    (["429:retry-after=1"], "waited the Retry-After (1 s; honoured up to the backoff cap, 2 s here), retried and succeeded", "retry_after", "source/fdsn_retry_after_is_honoured_within_the_cap, fill/data_centre_answers_give_the_documented_outcome"),
    (["500"], "retried and succeeded: 12 chunks, exit 0", "retried", "source/fdsn_transient_failures_are_retried, run/data_centre_faults_are_retried_and_reported"),
    (["502"], "retried and succeeded: 12 chunks, exit 0", "retried", "source/fdsn_transient_failures_are_retried"),
    (["503"], "retried and succeeded: 12 chunks, exit 0", "retried", "source/fdsn_transient_failures_are_retried, fill/data_centre_answers_give_the_documented_outcome"),
    (["504"], "retried and succeeded: 12 chunks, exit 0", "retried", "source/fdsn_transient_failures_are_retried"),
    (["408"], "retried and succeeded: 12 chunks, exit 0", "retried", "source/fdsn_transient_failures_are_retried"),
    (["stall:5"], "stall detected (2 s without a byte), retried and succeeded", "retried", "source/fdsn_transient_failures_are_retried"),
    (["reset"], "connection reset: retried and succeeded", "retried_net", "fill/data_centre_answers_give_the_documented_outcome"),
    (["truncate"], "truncated body: retried and succeeded", "retried_net", "source/fdsn_transient_failures_are_retried"),
    (["slow:1500"], "slow answer (1.5 s, under the timeouts): succeeded with one request", "slow", "source/fdsn_max_connections"),
    (["503"] * 6, "persistent 503: retries exhausted (4 attempts), windows failed, exit 1, message names the status", "failed", "source/fdsn_gives_up_after_max_attempts, fill/data_centre_answers_give_the_documented_outcome"),
    (["400"], "client error 400: failed fast (1 request, no retry), exit 1, message names the status", "failfast", "source/fdsn_client_errors_fail_fast"),
]


def fdsn_side(args, r2, work, m):
    sds = os.path.join(work, "sds")
    subprocess.run([os.path.join(args.build, "r2cache-synth"), "sds", "--out", sds, "--rate", "20",
                    "--from", "2025-11-04T00:00:00Z", "--to", "2025-11-04T02:00:00Z",
                    "--chan", "XX.FMA..HHZ", "--chan", "XX.FMB..HHZ"], check=True, capture_output=True)
    srv, port = start_server([sys.executable, os.path.join(HERE, "tests", "fdsn_server.py"), "--sds", sds, "--port", "0"])
    base = "http://127.0.0.1:%d" % port
    try:
        cfg = os.path.join(work, "fdsn.json")
        json.dump({"source": base, "store": os.path.join(work, "unused"), "spans": ["10m"],
                   "fetch": {"max_attempts": 4, "backoff_base_s": 0.05, "backoff_cap_s": 2,
                             "timeout_s": 20, "stall_timeout_s": 2},
                   "volcanoes": [{"name": "fm", "location": "fmland", "stations": [
                       {"network": "XX", "station": "FMA", "location": "", "channel": "HHZ", "sample_rate": 20},
                       {"network": "XX", "station": "FMB", "location": "", "channel": "HHZ", "sample_rate": 20}]}]},
                  open(cfg, "w"))
        for i, (faults, expected, kind, test) in enumerate(FDSN_CASES):
            store = os.path.join(work, "fdsn-store-%d" % i)
            http(base + "/reset-stats", "{}")
            http(base + "/control", json.dumps({"faults": faults}))
            rc, s, err, dt = run([r2, "fill", "--config", cfg, "--store", store, "--from", "2025-11-04T00:00:00Z",
                                  "--to", "2025-11-04T01:00:00Z", "--json", "--log-format", "json", "--log-level", "warn"])
            st = json.loads(http(base + "/stats"))
            http(base + "/control", json.dumps({"faults": []}))
            added, nodata, failed = s.get("chunks_added"), s.get("windows_no_data"), s.get("chunks_failed")
            reqs = st.get("requests")
            msg = first_error(err)
            if kind == "nodata":
                ok = rc == 0 and added == 0 and nodata == 12 and failed == 0
            elif kind == "split":
                ok = rc == 0 and added == 12 and reqs == 3
            elif kind in ("retried", "retried_net"):
                ok = rc == 0 and added == 12 and reqs == 2
            elif kind == "retry_after":
                ok = rc == 0 and added == 12 and reqs == 2 and dt >= 1.0
            elif kind == "slow":
                ok = rc == 0 and added == 12 and reqs == 1 and dt >= 1.5
            elif kind == "failed":
                ok = rc == 1 and added == 0 and failed == 12 and reqs == 4 and "503" in msg
            else:  # failfast
                ok = rc == 1 and added == 0 and reqs == 1 and "400" in msg
            observed = "exit %d; %s chunks, %s no data, %s failed; server saw %s request(s); %.1f s" % (
                rc, added, nodata, failed, reqs, dt)
            if msg:
                observed += "; message: \"%s\"" % short(msg)
            how = "`%s`" % (", ".join(faults) if len(set(faults)) > 1 or len(faults) == 1 else "%s x %d" % (faults[0], len(faults)))
            m.add("FDSN", faults[0] if len(faults) == 1 else "%s (x%d, persistent)" % (faults[0], len(faults)),
                  how, expected, observed, ok, test)
        # max_lines: the server's own 413 for too many lines
        store = os.path.join(work, "fdsn-store-maxlines")
        http(base + "/reset-stats", "{}")
        http(base + "/control", json.dumps({"max_lines": 1}))
        rc, s, err, dt = run([r2, "fill", "--config", cfg, "--store", store, "--from", "2025-11-04T00:00:00Z",
                              "--to", "2025-11-04T01:00:00Z", "--json", "--log-format", "json", "--log-level", "warn"])
        st = json.loads(http(base + "/stats"))
        http(base + "/control", json.dumps({"max_lines": 0}))
        ok = rc == 0 and s.get("chunks_added") == 12 and st.get("requests") == 3
        m.add("FDSN", "413 (max_lines 1)", "`{\"max_lines\": 1}`",
              "split per line: 3 requests, 12 chunks, exit 0",
              "exit %d; %s chunks; server saw %s request(s); %.1f s" % (rc, s.get("chunks_added"), st.get("requests"), dt),
              ok, "source/fdsn_413_splits_lines_then_time")
    finally:
        srv.kill()
        srv.wait()


# -------------------------------------------------------------------- S3 side

S3_CASES = [
    # fault, target request, expected, kind, Criterion test
    ("429", "blob", "retried (backoff) and succeeded: 6 chunks, manifest complete", "retried", "store_s3/transient_faults_are_retried, s3e2e/store_faults_..."),
    ("503-slowdown", "blob", "retried (backoff) and succeeded", "retried", "store_s3/transient_faults_are_retried, s3e2e/store_faults_..."),
    ("500", "blob", "retried and succeeded", "retried", "store_s3/transient_faults_are_retried, s3e2e/store_faults_..."),
    ("reset", "blob", "connection reset: retried and succeeded", "retried", "store_s3/async_puts_survive_faults_and_report_failures"),
    ("stall:5", "blob", "stall detected (R2CACHE_S3_STALL_TIMEOUT=2 s), retried and succeeded", "retried", "store_s3/transient_faults_are_retried"),
    ("409", "manifest", "conflict on the conditional manifest PUT: re-read, re-merged, written; exit 0", "conflict", "store_s3/conflicts_and_exhaustion_are_reported, s3e2e/two_processes_updating_one_manifest_lose_nothing_100_trials"),
    ("412", "manifest", "precondition failed on the manifest PUT: re-read, re-merged, written; exit 0", "conflict", "store_s3/conditional_create_and_replace, s3e2e/two_processes_updating_one_manifest_lose_nothing_100_trials"),
    ("skew", "first", "403 RequestTimeTooSkewed: failed fast (no retry), exit 3, message names the clock", "failfast", "store_s3/wrong_secret_fails_fast_and_never_leaks"),
    ("500", "all", "persistent 500 on every request after the listing: failed with a message, exit 1 or 3, no manifest entry without its blob", "exhausted", "s3e2e/store_faults_are_retried_and_never_leave_an_entry_without_its_blob"),
]


def parse_debug(stderr):
    """(method, key, status) of every S3 request in the debug log, in order."""
    out = []
    for line in stderr.splitlines():
        try:
            d = json.loads(line)
            text = d.get("msg", "")
        except json.JSONDecodeError:
            text = line
        mm = re.search(r"\b(GET|PUT|HEAD|DELETE|POST) (s3://\S*) -> (\d+|\S+) \(attempt (\d+)", text)
        if mm:
            out.append((mm.group(1), mm.group(2), mm.group(3), int(mm.group(4))))
    return out


def s3_side(args, r2, work, m):
    rgw_own = None
    envfile = args.rgw_env
    if not envfile:
        d = os.path.join(work, "rgw")
        p = subprocess.run([os.path.join(HERE, "tests", "rgw.sh"), "start", d], capture_output=True, text=True)
        if p.returncode != 0:
            m.add("S3", "(all)", "—", "RGW needed", "RGW did not start: " + short(p.stderr), False)
            return
        rgw_own = d
        envfile = os.path.join(d, "env")
    env = dict(os.environ)
    for line in open(envfile):
        mm = re.match(r"export (\w+)=(.*)", line.strip())
        if mm:
            env[mm.group(1)] = mm.group(2)
    upstream = env["AWS_ENDPOINT_URL"]
    bucket = env["RC_TEST_BUCKET"]
    proxy = None
    try:
        proxy, pport = start_server([sys.executable, os.path.join(HERE, "tests", "s3proxy.py"), upstream], env=env)
        pbase = "http://127.0.0.1:%d" % pport
        penv = dict(env, AWS_ENDPOINT_URL=pbase, R2CACHE_S3_STALL_TIMEOUT="2")
        sds = os.path.join(work, "sds")
        cfg = os.path.join(work, "s3.json")
        json.dump({"source": "sds://" + sds, "store": "s3://%s/unused" % bucket, "spans": ["10m"],
                   "volcanoes": [{"name": "fm", "location": "fmland", "stations": [
                       {"network": "XX", "station": "FMA", "location": "", "channel": "HHZ", "sample_rate": 20}]}]},
                  open(cfg, "w"))
        stamp = "%d-%d" % (os.getpid(), int(time.time()))

        def fill(prefix, e, level="debug"):
            return run([r2, "fill", "--config", cfg, "--store", "s3://%s/%s" % (bucket, prefix),
                        "--from", "2025-11-04T00:00:00Z", "--to", "2025-11-04T01:00:00Z", "--json",
                        "--log-format", "json", "--log-level", level], env=e)

        # the request order of a clean fill
        rc, s, err, _ = fill("fm-%s-clean" % stamp, penv)
        reqs = parse_debug(err)
        if rc != 0 or not reqs:
            m.add("S3", "(all)", "—", "a clean fill through the proxy", "exit %d, %d requests logged" % (rc, len(reqs)), False)
            return
        blob = next(i for i, r in enumerate(reqs) if r[0] == "PUT" and r[1].endswith(".bin.zst"))
        man = next(i for i, r in enumerate(reqs) if r[0] == "PUT" and r[1].endswith(".json"))
        log("clean fill: %d requests, first blob PUT #%d, manifest PUT #%d" % (len(reqs), blob, man))

        for i, (fault, target, expected, kind, test) in enumerate(S3_CASES):
            prefix = "fm-%s-%d" % (stamp, i)
            http(pbase + "/__control", method="DELETE")
            http(pbase + "/__stats", "")
            if target == "all":
                queue = ["ok"] * blob + [fault] * 300
            else:
                at = {"blob": blob, "manifest": man, "first": 0}[target]
                queue = ["ok"] * at + [fault]
            http(pbase + "/__control", json.dumps(queue))
            rc, s, err, dt = fill(prefix, penv)
            st = json.loads(http(pbase + "/__stats"))
            http(pbase + "/__control", method="DELETE")
            seen = parse_debug(err)
            # read the result back from RGW itself
            p = subprocess.run(["aws", "s3", "ls", "--recursive", "s3://%s/%s/" % (bucket, prefix)],
                               capture_output=True, text=True, env=env)
            keys = [l.split()[-1] for l in p.stdout.splitlines() if l.strip()]
            blobs = [k for k in keys if k.endswith(".bin.zst")]
            mans = [k for k in keys if k.endswith(".json") and "/data/" in "/" + k]
            entries = None
            named_missing = None
            if mans:
                g = subprocess.run(["aws", "s3", "cp", "s3://%s/%s" % (bucket, mans[0]), "-"],
                                   capture_output=True, text=True, env=env)
                try:
                    doc = json.loads(g.stdout)
                    ents = doc.get("chunks", {}).get("10min", [])
                    entries = len(ents)
                    names = {os.path.basename(b) for b in blobs}
                    named_missing = sum(1 for e in ents if isinstance(e, dict) and
                                        not any(str(v) in names for v in e.values() if isinstance(v, str)))
                except (json.JSONDecodeError, AttributeError):
                    entries = -1
            msg = first_error(err)
            retried = [r for r in seen if r[3] > 1]
            codes = sorted({r[2] for r in seen if not r[2].startswith("2") and r[2] != "404"})
            if kind == "retried":
                ok = rc == 0 and s.get("chunks_added") == 6 and len(blobs) == 6 and entries == 6 and len(retried) >= 1
            elif kind == "conflict":
                # after the refused PUT the manifest is read again before it is written
                regets = [j for j, r in enumerate(seen) if r[0] == "GET" and r[1].endswith(".json")]
                ok = rc == 0 and len(blobs) == 6 and entries == 6 and len(regets) >= 2
            elif kind == "failfast":
                ok = rc == 3 and st.get("requests", 0) <= 2 and re.search(r"clock|skew", msg, re.I) is not None
            else:  # exhausted
                ok = rc in (1, 3) and (entries in (None, 0) or named_missing == 0) and bool(msg)
            observed = "exit %d; %s chunks added; RGW holds %d blobs, manifest with %s entries; proxy saw %s requests, faults %s; %.1f s" % (
                rc, s.get("chunks_added"), len(blobs), entries if entries is not None else "no", st.get("requests"),
                json.dumps(st.get("faults", {})), dt)
            if retried:
                observed += "; %d retried request(s)" % len(retried)
            if codes:
                observed += "; statuses seen: %s" % ", ".join(codes)
            if kind in ("failfast", "exhausted") and msg:
                observed += "; message: \"%s\"" % short(msg)
            how = "queued on `/__control` for %s" % {"blob": "the first blob PUT (request #%d)" % blob,
                                                          "manifest": "the manifest PUT (request #%d)" % man,
                                                          "first": "the first request",
                                                          "all": "each request after the listing (x300)"}[target]
            m.add("S3", fault if target != "all" else "500 (persistent)", how, expected, observed, ok, test)
    finally:
        if proxy:
            proxy.kill()
            proxy.wait()
        if rgw_own:
            subprocess.run([os.path.join(HERE, "tests", "rgw.sh"), "stop", rgw_own], capture_output=True)


# ------------------------------------------------------- crash / concurrency

def stress_side(args, work, m):
    logf = os.path.join(work, "fault.log")
    for name in ("crash", "concurrency"):
        exe = os.path.join(args.build, "test_" + name)
        if not os.path.exists(exe):
            m.add(name, "(test)", "—", "test_%s built in %s" % (name, args.build), "not built", False)
            continue
        env = dict(os.environ, RC_FAULT_LOG=logf, RC_SOURCE_DIR=HERE, RC_BINARY_DIR=os.path.abspath(args.build))
        if args.rgw_env and not args.no_rgw:
            env["RC_RGW_ENV"] = os.path.abspath(args.rgw_env)  # test_concurrency's RGW half
        log("running test_%s (several minutes) ..." % name)
        t0 = time.monotonic()
        p = subprocess.run([exe, "--jobs", "1"], capture_output=True, text=True, env=env)
        dt = time.monotonic() - t0
        lines = [l for l in p.stderr.splitlines() if l.startswith("[")]
        summ = [l for l in lines if "Synthesis" in l or "SKIP" in l.upper() or "[FAIL]" in l]
        # the first failed assertion's message (the line after "Assertion Failed")
        for j, l in enumerate(lines):
            if "Assertion Failed" in l:
                detail = [x[6:].strip() for x in lines[j + 1:j + 4] if x[6:].strip()]
                summ.insert(0, "first failure: " + (detail[0] if detail else l))
                break
        m.add(name, "test_%s" % name, "`test_%s --jobs 1` (from the build)" % name,
              "every test passes", "exit %d in %.0f s; %s" % (p.returncode, dt, short(" / ".join(summ), 300)),
              p.returncode == 0, "tests/test_%s.c" % name)
    if os.path.exists(logf):
        for line in open(logf):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 4:
                m.add(f[0], f[1], f[2], "nothing lost, nothing duplicated, no entry without its blob", f[3],
                      True, "tests/test_%s.c" % f[0])


def write(m, out, args, started):
    # the commit the binary was built from (the build's source tree, maybe a worktree)
    src = HERE
    try:
        for line in open(os.path.join(args.build, "CMakeCache.txt")):
            if line.startswith("CMAKE_HOME_DIRECTORY:"):
                src = line.split("=", 1)[1].strip()
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    nok = sum(1 for r in m.rows if r[5])
    with open(out, "w") as f:
        f.write("# Fault matrix\n\n")
        f.write("Generated by `tests/fault_matrix.py%s` on %s (commit %s%s, binary from `%s`); do not edit by hand.\n"
                % (" --stress" if args.stress else "", started, commit,
                   ", plus uncommitted changes in %s" % src if dirty else "",
                   os.path.relpath(args.build, HERE)))
        f.write("Every row was run against the real `r2cache` binary and the real test servers in that invocation;\n"
                "\"observed\" is what happened, \"as expected\" compares it with the expected outcome.\n\n")
        f.write("- FDSN rows: `tests/fdsn_server.py` with the fault queued on `/control`, then `r2cache fill` of one\n"
                "  hour of 2 channels at 20 Hz (one bulk request, 12 ten-minute windows) into a fresh local store;\n"
                "  fetch settings: 4 attempts, backoff base 0.05 s, cap 2 s, stall timeout 2 s.\n"
                "- S3 rows: `tests/s3proxy.py` in front of RGW (`tests/rgw.sh`), the fault queued so that it hits the\n"
                "  named request (positions from a clean run's debug log), then `r2cache fill` of one channel-hour\n"
                "  (6 chunks + 1 manifest) into a fresh prefix; the result is read back from RGW directly.\n"
                "- crash / concurrency rows: appended to `$RC_FAULT_LOG` by `tests/test_crash.c` and\n"
                "  `tests/test_concurrency.c` (their assertions are the check: a row is written only when the\n"
                "  trials passed).\n\n")
        f.write("%d of %d rows as expected.\n\n" % (nok, len(m.rows)))
        f.write("| # | component | fault | injected | expected outcome | observed | as expected | also covered by |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for i, (comp, fault, how, exp, obs, ok, test) in enumerate(m.rows, 1):
            f.write("| %d | %s | `%s` | %s | %s | %s | %s | %s |\n" % (
                i, comp, fault, how, exp, obs.replace("|", "\\|"), "yes" if ok else "**NO**", test))
    log("wrote %s: %d of %d as expected" % (out, nok, len(m.rows)))
    return nok == len(m.rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "build"))
    ap.add_argument("--out", default=os.path.join(HERE, "docs", "fault-matrix.md"))
    ap.add_argument("--rgw-env")
    ap.add_argument("--no-rgw", action="store_true")
    ap.add_argument("--stress", action="store_true")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    r2 = os.path.join(args.build, "r2cache")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    work = tempfile.mkdtemp(prefix="fault_matrix.")
    m = Matrix()
    rgw_own = None
    try:
        if not args.no_rgw and not args.rgw_env:
            # one RGW for the S3 rows and the concurrency test's RGW half
            d = os.path.join(work, "rgw")
            p = subprocess.run([os.path.join(HERE, "tests", "rgw.sh"), "start", d],
                               capture_output=True, text=True)
            if p.returncode == 0:
                rgw_own = d
                args.rgw_env = os.path.join(d, "env")
            else:
                log("RGW did not start: " + short(p.stderr))
        fdsn_side(args, r2, work, m)
        if not args.no_rgw:
            s3_side(args, r2, work, m)
        if args.stress:
            stress_side(args, work, m)
    finally:
        if rgw_own:
            subprocess.run([os.path.join(HERE, "tests", "rgw.sh"), "stop", rgw_own], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0 if write(m, args.out, args, started) else 1


if __name__ == "__main__":
    sys.exit(main())
