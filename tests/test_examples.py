#!/usr/bin/env python3
"""test_examples.py SOURCE_DIR BINARY_DIR: the documented examples, run as written.

Extracts every example command from README.md's and docs/operations.md's code
blocks, their complete inline `r2cache ... --config FILE` spans, the EXAMPLES
section of docs/r2cache.1 (and any "Example" lines of the commands' --help;
there are none today, the test looks), and runs each with bash, exactly as
printed (a command given twice runs once), in a temporary directory set up as
an operator's would be:

  * stations.json, examples/hearts.json and etc/r2cache/stations.json are
    examples/hearts.json with "source" pointing at tests/fdsn_server.py, which
    serves a synthetic SDS archive (r2cache-synth): the examples name
    https://service.iris.edu through the configuration, and there is no
    internet here, so the configuration (not the example) names the test
    server. The store is the configuration's own "./r2cache-data".
  * The one absolute path the examples use, /etc/r2cache/, cannot be created
    by a test: it is rewritten to <tmp>/etc/r2cache/ and the rewrite printed;
    the rest of the command is kept byte for byte.
  * `r2cache` and ./build/r2cache are the built binary (PATH, a symlink).
  * A cron line is run as its command (the five schedule fields dropped).
  * Everything runs in a private network namespace (unshare -rn) when the
    kernel allows it, so `serve`'s documented default port 8080 is free.

Each example must exit with the status the docs give it (0 unless the text
says otherwise: see EXPECT) and, where the docs describe the output, produce
it (miniSEED with the exact sample count, JSON with the fields, the volcanoes).
Examples that need what is absent here are listed in SKIP with the reason.
Every extracted example is either run or named in SKIP: a new example runs
(and must pass) without touching this file.

Self-check (the test can fail): the same runner on a copy of the docs with two
broken examples (a misspelt flag, a wrong scope value) must report exactly
those two, and an example that SKIP does not know must be run.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SRC = os.path.abspath(sys.argv[1])
BIN = os.path.abspath(sys.argv[2])

# Exact example text (after joining continuations) -> why it is not run here.
SKIP = {
    "./scripts/quickstart.sh":
        "installs Debian packages (root, Debian mirror) and rebuilds the tree; its steps "
        "(synth archive, r2cache run, inventory, get) are this test's setup and examples",
    "./scripts/test.sh":
        "runs the whole test suite, this test included (recursion; the 2-core CI budget)",
}
# The same by pattern, for docs/operations.md's deployment blocks.
SKIP_PATTERNS = [
    (r"^sudo |\| sudo ", "needs root on the host (dpkg, /etc/r2cache, /etc/systemd)"),
    (r"^(systemctl|journalctl) |; journalctl ", "needs systemd as init (units installed by the .deb)"),
    (r"^kubectl ", "needs a Kubernetes cluster (kubectl)"),
    (r"^AWS_PROFILE=obs ", "needs the obs profile's S3 keys and an S3 endpoint in ~/.aws and a "
     "configuration whose store is s3://; this test runs in a private network namespace "
     "without RGW (the RGW-backed awscred test runs the same profile chain)"),
]
# README's "## Commands" block is a synopsis with placeholders (FILE, T, scope), not
# an example: test_manpage checks it against --help. Recognised by its placeholders.
SYNOPSIS = re.compile(r"--config FILE|NET\.STA\.LOC\.CHA --config")

# regex on the example -> (exit status the docs give, output check or None, doc reference)
def _mseed_samples(path):
    data = open(path, "rb").read()
    n, off = 0, 0
    while off + 48 <= len(data):
        assert data[off + 6:off + 7] in (b"D", b"R", b"Q", b"M"), "not a miniSEED 2 record at %d" % off
        n += struct.unpack(">H", data[off + 30:off + 32])[0]
        b1000 = struct.unpack(">H", data[off + 46:off + 48])[0]
        reclen = 0
        while b1000:
            btype, nxt = struct.unpack(">HH", data[off + b1000:off + b1000 + 4])
            if btype == 1000:
                reclen = 1 << data[off + b1000 + 6]
            b1000 = nxt
        assert reclen, "record without blockette 1000"
        off += reclen
    assert off == len(data), "trailing bytes after the last record"
    return n


def check_mseed(path, samples):
    def check(out, tmp):
        got = _mseed_samples(os.path.join(tmp, path))
        assert got == samples, "%s holds %d samples, want %d" % (path, got, samples)
    return check


def check_get_json(out, tmp):
    doc = json.loads(out)
    assert doc.get("command") == "get", "get --json: command %r" % doc.get("command")
    text = json.dumps(doc)
    # 2025-11-04T22:00:00.25Z to 22:00:10Z at 100 Hz: 975 samples
    assert "975" in text, "get --json does not report 975 samples: %s" % text[:400]


def gaps_rc(out):
    """The exit status docs/r2cache.1 gives gaps: 1 when a critical gap is missing (not
    cached), 0 when every critical gap is source-empty (the source was asked, has none)."""
    rows = [l for l in out.splitlines()
            if re.match(r"[A-Z0-9]+\.[A-Z0-9]+\.[A-Z0-9]*\.[A-Z0-9]+\s", l)
            and re.search(r"\scritical(\s|$)", l)]
    assert rows, "gaps output has no critical channel row: %s" % out[:400]
    return 1 if any("source-empty" not in l for l in rows) else 0


def check_gaps(out, tmp):
    # the store holds the last hours only: the rest of the 7 days are critical gaps
    assert "critical" in out.lower(), "gaps output names no critical gap: %s" % out[:400]
    assert "HV.UWE..HHZ" in out, "gaps output lacks HV.UWE..HHZ: %s" % out[:400]
    assert "AV." not in out, "gaps 'HV.*..HHZ' reported an AV channel"


def check_gaps_av(out, tmp):
    assert "AV.GSTD..BHZ" in out, "gaps 'AV.GS??..BH?' lacks AV.GSTD..BHZ: %s" % out[:400]
    assert "HV." not in out, "gaps 'AV.GS??..BH?' reported an HV channel"


def check_jq_gaps(out, tmp):
    assert isinstance(json.loads(out), list), "jq '.gaps' is not a list: %s" % out[:200]


def check_inv_alaska(out, tmp):
    doc = json.loads(out)
    text = json.dumps(doc)
    assert "greatsitkin" in text and "kilauea" not in text, "inventory --region alaska: %s" % text[:400]


def gaps_rc_json(out):
    """gaps --json: exit 1 exactly when a critical gap is missing (not source-empty)."""
    doc = json.loads(out)
    crit = any(g.get("severity") == "critical" and g.get("kind") != "source-empty" for g in _walk(doc))
    assert doc.get("critical") == crit, "gaps --json: critical %r, its gaps say %r" % (doc.get("critical"), crit)
    return 1 if crit else 0


def _walk(doc):
    if isinstance(doc, dict):
        if "severity" in doc:
            yield doc
        for v in doc.values():
            yield from _walk(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _walk(v)


def check_gaps_json(out, tmp):
    doc = json.loads(out)
    assert "time_range" in doc and "gaps" in doc, "gaps --json: fields %s" % list(doc)
    assert isinstance(doc.get("provisional"), list), "gaps --json lists no provisional chunks: %s" % list(doc)


def check_inventory(out, tmp):
    for v in ("kilauea", "maunaloa", "greatsitkin", "shishaldin", "spurr"):
        assert v in out, "inventory --scope volcano lacks %s: %s" % (v, out[:400])


def check_dry_run(out, tmp):
    assert "window" in out.lower(), "fill --dry-run prints no plan: %s" % out[:400]


def check_cache_status(out, tmp):
    doc = json.loads(out)
    assert doc.get("scope") == "all", "cache-status scope: %r" % doc.get("scope")
    summ = doc.get("summary", {})
    assert summ.get("total_volcanoes") == 5 and summ.get("total_stations") == 15, \
        "cache-status summary: %r" % summ
    assert summ.get("total_chunks_10min", 0) > 0, "cache-status: nothing cached: %r" % summ


EXPECT = [
    (r"^r2cache gaps .*'HV\.\*\.\.HHZ'", gaps_rc, check_gaps, "gaps: exit 1 if critical missing gaps exist"),
    (r"^r2cache gaps .*'AV\.GS\?\?\.\.BH\?'", gaps_rc, check_gaps_av, "gaps: exit 1 if critical missing gaps exist"),
    (r"^r2cache get .*--to 2025-11-05T02:00:00Z --format mseed -o uwe\.mseed", 0,
     check_mseed("uwe.mseed", 1440000), "four hours of 100 Hz"),
    (r"^r2cache get .*--format mseed -o uwe\.mseed", 0, check_mseed("uwe.mseed", 360000),
     "an hour of 100 Hz"),
    (r"^r2cache get .*--from 1h --json \| jq '\.gaps'", 0, check_jq_gaps, "the gaps of the last hour"),
    (r"^r2cache get .*--json", 0, check_get_json, "get --json"),
    (r"^r2cache inventory .*--scope region --region alaska --json", 0, check_inv_alaska, "one region"),
    (r"^r2cache gaps .*--from 14d --json", gaps_rc_json, check_gaps_json, "lists provisional chunks"),
    (r"^r2cache inventory .*--scope volcano", 0, check_inventory, "every volcano"),
    (r"^r2cache fill .*--dry-run", 0, check_dry_run, "print the plan"),
    (r"^curl .*api/cache-status", 0, check_cache_status, "the seeds' API"),
    (r"^curl .*-o uwe\.mseed .*dataselect", 0, check_mseed("uwe.mseed", 60000),
     "the last cached 10 minutes of HV.UWE..HHZ"),
]

CRON = re.compile(r"^(?:[0-9*,/-]+\s+){5}(r2cache .*)$")


def join_lines(lines):
    cmds, cur = [], ""
    for ln in lines:
        if ln.rstrip().endswith("\\"):
            cur += ln.rstrip()[:-1].rstrip() + " "
            continue
        cur += ln.strip() if cur else ln.rstrip()
        if cur.strip():
            cmds.append(re.sub(r"\s+", " ", cur.strip()) if cur.lstrip().startswith("r2cache") else cur.strip())
        cur = ""
    return cmds


def readme_examples(text, origin="README.md"):
    """(origin, command) of every command line in a Markdown file's code blocks."""
    out = []
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        lang, body = m.group(1), m.group(2)
        lines = body.splitlines()
        if lang not in ("sh", "bash", "console", "shell"):
            # untagged blocks: commands only when every line is one (cron lines included);
            # the Layout block is a directory listing
            if not all(l.startswith("r2cache ") or CRON.match(l) or not l.strip() or l.startswith(" ")
                       for l in lines):
                continue
            if any(SYNOPSIS.search(l) for l in lines):
                out.append((origin + " synopsis", None))
                continue
        for c in join_lines(lines):
            out.append((origin, c))
    return out


INLINE = re.compile(r"`((?:[0-9*,/-]+ ){5}\s*)?(r2cache [a-z]+ [^`]*--config [^`]*)`")


def inline_examples(text, origin):
    """Complete commands in inline code spans (`r2cache run --config stations.json`);
    synopses with placeholders (FILE, T, ...) are not examples."""
    out = []
    for m in INLINE.finditer(text):
        c = (m.group(1) or "") + m.group(2)
        if not re.search(r"FILE|\.\.\.|\bT\b|I/N|NAME|URL", c):
            out.append((origin + " (inline)", re.sub(r"\s+", " ", c).strip()))
    return out


def man_examples(text):
    m = re.search(r"^\.SH EXAMPLES\n(.*?)^\.SH ", text, re.S | re.M)
    assert m, "docs/r2cache.1 has no EXAMPLES section"
    out = []
    for b in re.finditer(r"^\.nf\n(.*?)^\.fi", m.group(1), re.S | re.M):
        lines = [l for l in b.group(1).splitlines() if l not in (".RS", ".RE")]
        lines = [l.replace("\\-", "-").replace("\\e", "\\") for l in lines]
        for c in join_lines(lines):
            out.append(("docs/r2cache.1 EXAMPLES", c))
    return out


def help_examples():
    out = []
    for cmd in ("run", "fill", "gaps", "inventory", "verify", "reindex", "migrate", "get", "serve"):
        h = subprocess.run([os.path.join(BIN, "r2cache"), cmd, "--help"], capture_output=True, text=True)
        for l in (h.stdout + h.stderr).splitlines():
            if re.match(r"\s*(example|e\.g\.)[^:]*:\s*r2cache ", l, re.I):
                out.append(("r2cache %s --help" % cmd, l.split(":", 1)[1].strip()))
    return out


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="r2c-examples-")
        self.srv = None
        self.bg = []

    def sh(self, cmd, timeout=300):
        env = dict(os.environ, PATH=BIN + ":" + os.environ["PATH"])
        return subprocess.run(["bash", "-c", cmd], cwd=self.tmp, env=env, capture_output=True,
                              text=True, timeout=timeout)

    def setup(self):
        t = self.tmp
        os.symlink(BIN, os.path.join(t, "build"))
        synth = os.path.join(BIN, "r2cache-synth")
        now = int(time.time())
        # as quickstart.sh: from the 6-hour boundary before the last one, so the 6-hour
        # chunk the cron job builds after a boundary is whole whatever the time of day
        frm = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - now % 21600 - 21600))
        to = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 600))
        cfg = json.load(open(os.path.join(SRC, "examples/hearts.json")))
        by_rate = {}
        for v in cfg["volcanoes"]:
            for s in v["stations"]:
                by_rate.setdefault(s["sample_rate"], []).append(
                    "%s.%s.%s.%s" % (s["network"], s["station"], s["location"], s["channel"]))
        for rate, chans in by_rate.items():
            args = [synth, "sds", "--out", "sds", "--rate", str(rate), "--from", frm, "--to", to]
            for c in chans:
                args += ["--chan", c]
            subprocess.run(args, cwd=t, check=True, capture_output=True)
        # the hours the get examples take out (2025-11-04T22:00Z-2025-11-05T02:00Z), in 6-hour chunks
        subprocess.run([synth, "sds", "--out", "sds", "--rate", "100", "--from", "2025-11-04T18:00:00Z",
                        "--to", "2025-11-05T06:00:00Z", "--chan", "HV.UWE..HHZ"], cwd=t, check=True,
                       capture_output=True)
        self.srv = subprocess.Popen([sys.executable, os.path.join(SRC, "tests/fdsn_server.py"),
                                     "--sds", os.path.join(t, "sds"), "--port", "0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.srv.stdout.readline()
        assert line.startswith("READY "), "fdsn_server.py did not start: %r" % line
        cfg["source"] = "http://127.0.0.1:%d" % int(line.split()[1])
        cfg.pop("$schema", None)
        for p in ("stations.json", "examples/hearts.json", "etc/r2cache/stations.json"):
            os.makedirs(os.path.dirname(os.path.join(t, p)) or t, exist_ok=True)
            json.dump(cfg, open(os.path.join(t, p), "w"), indent=2)
        # what the skipped quickstart.sh does before its examples: the cron job over the
        # archive, and the hour of 2025-11-04 the get examples read
        for c in ("r2cache run --config stations.json --log-level warn",
                  "r2cache fill --config stations.json --station HV.UWE..HHZ --from 2025-11-04T18:00:00Z "
                  "--to 2025-11-05T06:00:00Z --log-level warn"):
            r = self.sh(c)
            assert r.returncode == 0, "setup %s: exit %d\n%s%s" % (c, r.returncode, r.stdout, r.stderr)

    def background(self, cmd):
        env = dict(os.environ, PATH=BIN + ":" + os.environ["PATH"])
        p = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=self.tmp, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.bg.append(p)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", 8080), timeout=1).close()
                return None
            except OSError:
                if p.poll() is not None:
                    return "exited %d: %s" % (p.returncode, p.stderr.read()[:400])
                time.sleep(0.1)
        return "serve did not listen on 127.0.0.1:8080"

    def close(self):
        for p in self.bg + ([self.srv] if self.srv else []):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_all(env, examples, quiet=False):
    """Runs the examples; returns the list of failures (origin, command, why)."""
    fails = []
    env.counts = {"run": 0, "skipped": 0}
    seen = {}
    say = (lambda *a: None) if quiet else print
    for origin, cmd in examples:
        if cmd is None:
            say("SKIP  [%s] the synopsis block (placeholders; checked by test_manpage)" % origin)
            continue
        bare = re.sub(r"\s+#[^'\"]*$", "", cmd).strip()  # without a trailing shell comment
        reason = SKIP.get(bare)
        if reason is None and origin == "docs/operations.md":
            for pat, why in SKIP_PATTERNS:
                if re.search(pat, bare):
                    reason = why
                    break
            if bare.startswith("curl ") and "8080" in bare:
                reason = "asks the serve of the kubectl/systemd deployment above"
        if reason:
            env.counts["skipped"] += 1
            say("SKIP  [%s] %s\n      reason: %s" % (origin, cmd, reason))
            continue
        m = CRON.match(cmd)
        run = m.group(1) if m else cmd
        key = re.sub(r"\s+", " ", re.sub(r"\s+#[^'\"]*$", "", run)).strip()
        if key in seen:
            say("same  [%s] %s (run above: %s)" % (origin, cmd, seen[key]))
            continue
        seen[key] = origin
        env.counts["run"] += 1
        if "/etc/r2cache/" in run:
            run = run.replace("/etc/r2cache/", env.tmp + "/etc/r2cache/")
            say("NOTE  /etc/r2cache/ rewritten to %s/etc/r2cache/ (a test cannot write /etc)" % env.tmp)
        rc_want, check, ref = 0, None, "exit 0"
        for pat, rc, chk, why in EXPECT:
            if re.search(pat, cmd):
                rc_want, check, ref = rc, chk, why
                break
        if re.search(r"&(\s*#.*)?$", run):
            why = env.background(re.sub(r"&(\s*#.*)?$", "", run).strip())
            if why:
                fails.append((origin, cmd, why))
            say("%s  [%s] %s (background)" % ("FAIL" if why else "ok  ", origin, cmd))
            if why and not quiet:
                print("      " + why.replace("\n", "\n      "))
            continue
        if os.path.exists(os.path.join(env.tmp, "uwe.mseed")):
            os.remove(os.path.join(env.tmp, "uwe.mseed"))
        r = env.sh(run)
        why = None
        if callable(rc_want):
            rc_want = rc_want(r.stdout)
        if r.returncode != rc_want:
            why = "exit %d, the docs give %d (%s)\nstdout: %s\nstderr: %s" % (
                r.returncode, rc_want, ref, r.stdout[:600], r.stderr[:600])
        elif check:
            try:
                check(r.stdout, env.tmp)
            except (AssertionError, ValueError, OSError) as e:
                why = "output not as documented (%s): %s" % (ref, e)
        if why:
            fails.append((origin, cmd, why))
        say("%s  [%s] %s" % ("FAIL" if why else "ok  ", origin, cmd))
        if os.environ.get("RC_EXAMPLES_VERBOSE"):
            print(r.stdout + r.stderr)
        if why and not quiet:
            print("      " + why.replace("\n", "\n      "))
    return fails


def self_check(env, man):
    """A man page with broken examples (a misspelt flag, a wrong scope value, a get
    whose output is not the documented hour) and an unknown failing command: exactly
    those must fail, the good example must pass."""
    broken = man.replace("\\-\\-scope volcano", "\\-\\-scope volcanos", 1)
    broken = broken.replace("r2cache fill \\-\\-config stations.json \\-\\-from 14d \\-\\-upgrade",
                            "r2cache fill \\-\\-config stations.json \\-\\-form 14d \\-\\-upgrade", 1)
    # output not as documented: half the hour the text promises
    broken = broken.replace("\\-\\-to 2025\\-11\\-04T23:00:00Z \\-\\-format mseed",
                            "\\-\\-to 2025\\-11\\-04T22:30:00Z \\-\\-format mseed", 1)
    assert "22:30:00Z --format mseed" in broken.replace("\\-", "-"), "self-check could not shorten the get"
    assert broken.count("volcanos") == 1 and "--form 14d" in broken.replace("\\-", "-"), \
        "self-check could not break the man page (examples changed?)"
    ex = man_examples(broken)
    # only the cheap ones: the two broken ones and one good one
    ex = [e for e in ex if "volcanos" in e[1] or "--form " in e[1] or "--dry-run" in e[1]
          or "22:30:00Z --format" in e[1]]
    # an example SKIP does not know is run, not silently passed
    ex.append(("self-check", "r2cache verify --config no-such-file.json"))
    fails = run_all(env, ex, quiet=True)
    got = sorted(c for _, c, _ in fails)
    want = sorted([c for _, c in ex if "volcanos" in c or "--form " in c or "no-such-file" in c
                   or "22:30:00Z --format" in c])
    assert got == want, "self-check: failures %r, want %r" % (got, want)
    print("ok    self-check: the broken examples fail (%d: exit status, output), the good one passes" % len(got))


def main():
    if os.environ.get("RC_EXAMPLES_NS") != "1" and shutil.which("unshare"):
        # the namespace needs its loopback up (iproute2's ip): probe exactly that
        probe = subprocess.run(["unshare", "-rn", "sh", "-c", "ip link set lo up"],
                               capture_output=True)
        if probe.returncode == 0:
            os.environ["RC_EXAMPLES_NS"] = "1"
            os.execvp("unshare", ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "_",
                                  sys.executable] + sys.argv)
    readme = open(os.path.join(SRC, "README.md")).read()
    man = open(os.path.join(SRC, "docs/r2cache.1")).read()
    ops = open(os.path.join(SRC, "docs/operations.md")).read()
    examples = (readme_examples(readme) + man_examples(man) + help_examples()
                + readme_examples(ops, "docs/operations.md")
                + inline_examples(readme, "README.md") + inline_examples(ops, "docs/operations.md"))
    n_cmd = sum(1 for _, c in examples if c)
    assert n_cmd >= 10, "only %d examples extracted: the extraction is broken" % n_cmd
    env = Env()
    try:
        env.setup()
        fails = run_all(env, examples)
        counts = dict(env.counts)
        self_check(env, man)
    finally:
        env.close()
    if fails:
        print("\n%d example(s) do not work as documented:" % len(fails))
        for origin, cmd, _ in fails:
            print("  [%s] %s" % (origin, cmd))
        sys.exit(1)
    print("ok: %d examples run as written, %d skipped (reasons above)" % (counts["run"], counts["skipped"]))


if __name__ == "__main__":
    main()
