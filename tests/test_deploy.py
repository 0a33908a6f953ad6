#!/usr/bin/env python3
"""Checks of deploy/: every Kubernetes manifest parsed (python3-yaml, Debian's
package, installed by scripts/deps.sh), the fields that decide whether the
cron jobs behave checked one by one, every command line in deploy/ fed to the
real binary (an option it does not know fails the test), the Dockerfile's
stages, the systemd timers' calendars and the Railway settings. When RGW runs
(build/rgw/env), the run CronJob's command is executed as a new operator
would: ConfigMap data as the file, Secret keys as the environment.

usage: test_deploy.py SOURCE_DIR BINARY_DIR
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

SRC = os.environ.get("RC_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("RC_BINARY_DIR") or os.path.join(SRC, "build")
K8S = os.path.join(SRC, "deploy", "kubernetes")
RUN_SCHEDULE = "2,12,22,32,42,52 * * * *"
# peak RSS of `r2cache run` for the 15 stations of examples/hearts.json
# (/usr/bin/time -v, synthetic SDS archive): docs/operations.md
MEASURED_PEAK_MIB = 51
DATA_CENTRE_CONNECTIONS = 5  # IRIS/EarthScope: at most 5 concurrent per client


def r2cache():
    return os.path.join(BIN, "r2cache")


def load_k8s():
    docs = {}
    for name in sorted(os.listdir(K8S)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(K8S, name), encoding="utf-8") as f:
            for d in yaml.safe_load_all(f):
                if d is None:
                    continue
                meta = d.get("metadata", {})
                key = (d["kind"], meta.get("name") or meta.get("generateName"))
                assert key not in docs, "duplicate %s" % (key,)
                d["_file"] = name
                docs[key] = d
    return docs


def mebibytes(q):
    m = re.fullmatch(r"(\d+)(Mi|Gi|M|G)", str(q))
    assert m, "memory quantity %r" % q
    n, unit = int(m.group(1)), m.group(2)
    return {"Mi": n, "Gi": n * 1024, "M": n * 1e6 / 2**20, "G": n * 1e9 / 2**20}[unit]


def pod_spec(d):
    if d["kind"] == "CronJob":
        return d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return d["spec"]["template"]["spec"]


def job_spec(d):
    return d["spec"]["jobTemplate"]["spec"] if d["kind"] == "CronJob" else d["spec"]


def expand(args, env):
    return [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), a) for a in args]


def accepts(test, argv, what):
    """The binary parses argv (plus --help, so nothing runs): exit 0."""
    p = subprocess.run([r2cache()] + argv + ["--help"], capture_output=True, text=True, timeout=30)
    test.assertEqual(p.returncode, 0, "%s: r2cache %s rejected: %s" % (what, " ".join(argv), p.stderr))


class Kubernetes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = load_k8s()

    def get(self, kind, name):
        self.assertIn((kind, name), self.docs, "no %s %s in deploy/kubernetes" % (kind, name))
        return self.docs[(kind, name)]

    def container(self, d):
        cs = pod_spec(d)["containers"]
        self.assertEqual(len(cs), 1)
        return cs[0]

    def common_pod_checks(self, d):
        ps = pod_spec(d)
        self.assertEqual(ps["restartPolicy"], "Never")
        sc = ps["securityContext"]
        self.assertIs(sc["runAsNonRoot"], True)
        self.assertGreater(sc["runAsUser"], 0)
        c = self.container(d)
        self.assertIs(c["securityContext"]["allowPrivilegeEscalation"], False)
        self.assertEqual(c["command"], ["/usr/bin/r2cache"])
        res = c["resources"]
        for part in ("requests", "limits"):
            self.assertIn("cpu", res[part], "%s: resources.%s.cpu" % (d["_file"], part))
            self.assertIn("memory", res[part], "%s: resources.%s.memory" % (d["_file"], part))
        req, lim = mebibytes(res["requests"]["memory"]), mebibytes(res["limits"]["memory"])
        self.assertGreaterEqual(req, 2 * MEASURED_PEAK_MIB, "%s: request below 2x measured peak" % d["_file"])
        self.assertGreaterEqual(lim, 2 * req)
        # keys from the Secret, configuration from the ConfigMap
        self.assertIn({"secretRef": {"name": "r2cache-keys"}}, c["envFrom"])
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        vols = {v["name"]: v for v in ps["volumes"]}
        self.assertEqual(vols["config"]["configMap"]["name"], "r2cache-config")
        self.assertEqual(mounts["config"]["mountPath"], "/etc/r2cache")
        self.assertIs(mounts["config"]["readOnly"], True)
        args = c["args"]
        cfg = args[args.index("--config") + 1]
        self.assertTrue(cfg.startswith("/etc/r2cache/"))
        cm = self.get("ConfigMap", "r2cache-config")
        self.assertIn(os.path.basename(cfg), cm["data"], "%s uses %s, not in the ConfigMap" % (d["_file"], cfg))
        for bad in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "R2_SECRET_ACCESS_KEY"):
            for e in c.get("env", []):
                self.assertNotEqual(e["name"], bad, "%s: keys must come from the Secret" % d["_file"])
        return c

    def test_run_cronjob(self):
        d = self.get("CronJob", "r2cache-run")
        s = d["spec"]
        self.assertEqual(s["schedule"], RUN_SCHEDULE)
        self.assertEqual(s["concurrencyPolicy"], "Forbid")
        self.assertGreater(s["startingDeadlineSeconds"], 0)
        self.assertLess(s["startingDeadlineSeconds"], 600)
        js = job_spec(d)
        ads = js["activeDeadlineSeconds"]
        grace = pod_spec(d)["terminationGracePeriodSeconds"]
        self.assertLess(ads, 600, "activeDeadlineSeconds must end a run inside its period")
        # retry_max (2m) plus a fetch must fit
        self.assertGreaterEqual(ads, 300)
        # SIGTERM finishes the chunk in hand: an answer may take a stall timeout (30 s)
        self.assertGreaterEqual(grace, 60)
        self.assertLess(ads + grace, 600, "a run killed at its deadline must be gone before the next")
        self.assertEqual(js["backoffLimit"], 0)
        c = self.common_pod_checks(d)
        self.assertEqual(c["args"][0], "run")
        accepts(self, expand(c["args"], {}), "cronjob-run.yaml")

    def test_recover_cronjob(self):
        d = self.get("CronJob", "r2cache-recover")
        s = d["spec"]
        minute, hour, dom, mon, dow = s["schedule"].split()
        self.assertTrue(minute.isdigit())
        self.assertEqual((hour, dom, mon, dow), ("*/2", "*", "*", "*"))
        self.assertNotIn(int(minute) % 10, (2,), "recovery should not start with a cron run")
        self.assertEqual(s["concurrencyPolicy"], "Forbid")
        self.assertIn("startingDeadlineSeconds", s)
        self.assertLess(job_spec(d)["activeDeadlineSeconds"], 7200)
        self.assertIn("terminationGracePeriodSeconds", pod_spec(d))
        c = self.common_pod_checks(d)
        a = c["args"]
        self.assertEqual(a[0], "fill")
        self.assertIn("--auto", a)
        self.assertEqual(a[a.index("--from") + 1], "2d")
        self.assertEqual(a[a.index("--max-gap-hours") + 1], "6")
        accepts(self, expand(a, {}), "cronjob-recover.yaml")

    def test_backfill_indexed_job(self):
        d = self.get("Job", "r2cache-backfill-")
        s = d["spec"]
        self.assertEqual(s["completionMode"], "Indexed")
        n = s["completions"]
        self.assertGreater(n, 1)
        self.assertLessEqual(s["parallelism"], n)
        c = self.common_pod_checks(d)
        a = c["args"]
        self.assertEqual(a[0], "fill")
        self.assertEqual(a[a.index("--shard") + 1], "$(JOB_COMPLETION_INDEX)/%d" % n)
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"],
                         "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        # every index gives a command line the binary accepts, and no more
        for i in range(n):
            accepts(self, expand(a, {"JOB_COMPLETION_INDEX": str(i)}), "job-backfill.yaml index %d" % i)
        p = subprocess.run([r2cache()] + expand(a, {"JOB_COMPLETION_INDEX": str(n)}) + ["--help"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, "--shard %d/%d must be refused" % (n, n))
        # pods x connections stay within the data centre's limit
        cfg = json.loads(self.get("ConfigMap", "r2cache-config")["data"][
            os.path.basename(a[a.index("--config") + 1])])
        self.assertLessEqual(s["parallelism"] * cfg.get("max_connections", 3), DATA_CENTRE_CONNECTIONS)

    def test_configmap(self):
        cm = self.get("ConfigMap", "r2cache-config")
        cfgs = {k: json.loads(v) for k, v in cm["data"].items()}
        self.assertEqual(set(cfgs), {"stations.json", "backfill.json"})
        try:
            import jsonschema
        except ImportError:
            jsonschema = None
            print("SKIPPED: python3 jsonschema absent, ConfigMap not validated against the schema")
        if jsonschema:
            with open(os.path.join(SRC, "schemas", "config.schema.json"), encoding="utf-8") as f:
                schema = json.load(f)
            for k, v in cfgs.items():
                jsonschema.validate(v, schema)
        a, b = cfgs["stations.json"], cfgs["backfill.json"]
        self.assertEqual(a["volcanoes"], b["volcanoes"], "the two station lists differ")
        self.assertEqual(b["max_connections"], 1)
        self.assertTrue(a["store"].startswith("s3://"))
        # and the binary loads both
        with tempfile.TemporaryDirectory() as t:
            for k, v in cm["data"].items():
                p = os.path.join(t, k)
                with open(p, "w", encoding="utf-8") as f:
                    f.write(v)
                r = subprocess.run([r2cache(), "fill", "--config", p, "--from", "2025-11-04T00:00:00Z",
                                    "--to", "2025-11-04T00:10:00Z", "--dry-run", "--store", t + "/store",
                                    "--log-format", "json"], capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, "%s: %s" % (k, r.stderr))

    def test_secret_holds_placeholders_only(self):
        s = self.get("Secret", "r2cache-keys")
        data = s["stringData"]
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            self.assertIn(k, data)
            self.assertIn("REPLACE", data[k], "a real key must never be committed")

    def test_kustomization_lists_existing_files(self):
        with open(os.path.join(K8S, "kustomization.yaml"), encoding="utf-8") as f:
            k = yaml.safe_load(f)
        for r in k["resources"]:
            self.assertTrue(os.path.isfile(os.path.join(K8S, r)), r)
        self.assertNotIn("secret.example.yaml", k["resources"])
        self.assertIn("cronjob-run.yaml", k["resources"])

    def test_operator_run_against_rgw(self):
        """The run CronJob's command with the ConfigMap as file and the Secret as env."""
        envf = os.path.join(BIN, "rgw", "env")
        if not os.path.isfile(envf):
            self.skipTest("SKIPPED: no RGW (build/rgw/env); operator run against S3 not tried")
        rgw = {}
        with open(envf, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"(?:export )?(\w+)=(.*)", line.strip())
                if m:
                    rgw[m.group(1)] = shlex.split(m.group(2))[0] if m.group(2) else ""
        d = self.get("CronJob", "r2cache-run")
        c = self.container(d)
        secret = self.get("Secret", "r2cache-keys")["stringData"]
        cm = self.get("ConfigMap", "r2cache-config")
        with tempfile.TemporaryDirectory(dir=BIN) as t:
            etc = os.path.join(t, "etc-r2cache")
            os.mkdir(etc)
            for k, v in cm["data"].items():
                with open(os.path.join(etc, k), "w", encoding="utf-8") as f:
                    f.write(v)
            cfg = json.loads(cm["data"]["stations.json"])
            chans = [(s["network"], s["station"], s.get("location", ""), s["channel"], s.get("sample_rate", 100))
                     for v in cfg["volcanoes"] for s in v["stations"]]
            by_rate = {}
            for n, s_, l, ch, r in chans:
                by_rate.setdefault(r, []).append("%s.%s.%s.%s" % (n, s_, l, ch))
            for r, ids in by_rate.items():
                cmd = [os.path.join(BIN, "r2cache-synth"), "sds", "--out", t + "/sds", "--rate", str(r),
                       "--from", "2025-11-04T21:00:00Z", "--to", "2025-11-04T22:20:00Z"]
                for i in ids:
                    cmd += ["--chan", i]
                subprocess.run(cmd, check=True, capture_output=True)
            # the Secret's keys, with this machine's values
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "R2_"))}
            values = {"AWS_ACCESS_KEY_ID": rgw["AWS_ACCESS_KEY_ID"],
                      "AWS_SECRET_ACCESS_KEY": rgw["AWS_SECRET_ACCESS_KEY"],
                      "AWS_REGION": rgw.get("AWS_REGION", "us-east-1")}
            for k in secret:
                if k in values:
                    env[k] = values[k]
            env["AWS_ENDPOINT_URL"] = rgw["AWS_ENDPOINT_URL"]
            args = [a.replace("/etc/r2cache", etc) for a in expand(c["args"], {})]
            if "--metrics-push" in args:  # no Pushgateway here: a file instead
                i = args.index("--metrics-push")
                args[i:i + 2] = ["--metrics-file", t + "/run.prom"]
            prefix = "deploy-%d" % os.getpid()
            args += ["--source", "sds://" + t + "/sds", "--store", "s3://%s/%s" % (rgw["RC_TEST_BUCKET"], prefix),
                     "--now", "2025-11-04T22:12:00Z", "--lookback", "10m", "--json"]
            p = subprocess.run([r2cache()] + args, env=env, capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            out = json.loads(p.stdout)
            # the selection rules of the configuration keep 15 of its stations
            self.assertEqual(out["stations_total"], 15)
            self.assertEqual(out["chunks_written"], 15)
            self.assertEqual(out["stations_failed"], 0)
            self.assertTrue(out["store"].startswith("s3://%s/%s" % (rgw["RC_TEST_BUCKET"], prefix)), out["store"])
            with open(t + "/run.prom", encoding="utf-8") as f:
                self.assertIn('r2cache_chunks_written_total{command="run"} 15\n', f.read())


class Dockerfile(unittest.TestCase):
    def test_structure(self):
        with open(os.path.join(SRC, "deploy", "Dockerfile"), encoding="utf-8") as f:
            text = f.read()
        lines = [l for l in re.sub(r"\\\n", " ", text).splitlines() if l.strip() and not l.startswith("#")]
        froms = [l for l in lines if l.startswith("FROM ")]
        self.assertEqual(len(froms), 2, "multi-stage: a build stage and a runtime stage")
        self.assertRegex(froms[0], r"^FROM debian:bookworm-slim AS build$")
        self.assertRegex(froms[1], r"^FROM debian:bookworm-slim$")
        final = lines[lines.index(froms[1]):]
        build = lines[:lines.index(froms[1])]
        installs = " ".join(l for l in final if "apt-get install" in l)
        for lib in ("libcurl4", "libzstd1", "libcjson1", "libmseed2", "libssl3", "ca-certificates"):
            self.assertIn(lib, installs.split())
        for dev in re.findall(r"\S+", installs):
            self.assertFalse(dev.endswith("-dev") or dev in ("build-essential", "cmake", "gcc", "pkg-config"),
                             "build tool %s in the runtime image" % dev)
        self.assertIn("rm -rf /var/lib/apt/lists/*", installs)
        self.assertTrue(any("cmake --build" in l for l in build))
        copies = [l for l in final if l.startswith("COPY ")]
        self.assertTrue(any(l.startswith("COPY --from=build") and "/usr/bin/r2cache" in l for l in copies))
        users = [l for l in final if l.startswith("USER ")]
        self.assertEqual(len(users), 1)
        self.assertNotRegex(users[0], r"USER (0|root)\b")
        self.assertTrue(any("useradd" in l and "--uid 10001" in l for l in final))
        self.assertEqual(pod_uid_of_k8s(), int(users[0].split()[1].split(":")[0]))
        self.assertFalse(re.search(r"^(ENV|ARG)\s+(AWS_|R2_)", text, re.M), "no keys in the image")
        # what the build stage copies exists in the repository
        for l in build:
            if l.startswith("COPY "):
                for srcpath in l.split()[1:-1]:
                    self.assertTrue(os.path.exists(os.path.join(SRC, srcpath)), srcpath)


def pod_uid_of_k8s():
    return pod_spec(load_k8s()[("CronJob", "r2cache-run")])["securityContext"]["runAsUser"]


def read_unit(path):
    sec, out = None, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                sec = line.strip("[]")
                continue
            k, v = line.split("=", 1)
            out.setdefault(sec, {})[k] = v
    return out


class Systemd(unittest.TestCase):
    D = os.path.join(SRC, "deploy", "systemd")

    def calendar(self, spec, n):
        if not shutil.which("systemd-analyze"):
            self.skipTest("SKIPPED: systemd-analyze absent, calendars not expanded")
        p = subprocess.run(["systemd-analyze", "calendar", "--iterations=%d" % n, spec],
                           capture_output=True, text=True, env=dict(os.environ, TZ="UTC"))
        self.assertEqual(p.returncode, 0, p.stderr)
        return re.findall(r"(\d\d):(\d\d):(\d\d) UTC", p.stdout)

    def test_run_pair(self):
        t = read_unit(os.path.join(self.D, "r2cache-run.timer"))
        s = read_unit(os.path.join(self.D, "r2cache-run.service"))
        self.assertEqual(t["Timer"]["OnCalendar"], "*:02/10")
        self.assertEqual(t["Timer"]["Unit"], "r2cache-run.service")
        self.assertEqual(t["Install"]["WantedBy"], "timers.target")
        times = self.calendar(t["Timer"]["OnCalendar"], 7)
        self.assertEqual(len(times), 7)
        for h, m, sec in times:
            self.assertEqual((int(m) % 10, sec), (2, "00"))
        svc = s["Service"]
        self.assertEqual(svc["Type"], "oneshot")
        self.assertNotIn(svc.get("User", "root"), ("root", "0"))
        self.assertLess(int(svc["TimeoutStartSec"]) + int(svc["TimeoutStopSec"]), 600)
        argv = shlex.split(svc["ExecStart"])
        self.assertEqual(argv[0], "/usr/bin/r2cache")
        self.assertEqual(argv[1], "run")
        accepts(self, argv[1:], "r2cache-run.service")

    def test_recover_pair(self):
        t = read_unit(os.path.join(self.D, "r2cache-recover.timer"))
        s = read_unit(os.path.join(self.D, "r2cache-recover.service"))
        self.assertEqual(t["Timer"]["Unit"], "r2cache-recover.service")
        times = self.calendar(t["Timer"]["OnCalendar"], 3)
        hours = [int(h) for h, m, sec in times]
        self.assertEqual([(b - a) % 24 for a, b in zip(hours, hours[1:])], [2, 2])
        argv = shlex.split(s["Service"]["ExecStart"])
        self.assertEqual(argv[:2], ["/usr/bin/r2cache", "fill"])
        self.assertIn("--auto", argv)
        self.assertLess(int(s["Service"]["TimeoutStartSec"]), 7200)
        accepts(self, argv[1:], "r2cache-recover.service")


def schema_paths(props, prefix, defs):
    """Every property of the configuration schema as a dotted path."""
    out = []
    for k, p in props.items():
        name = prefix + k
        out.append(name)
        if "properties" in p:
            out += schema_paths(p["properties"], name + ".", defs)
        it = p.get("items", {})
        if "$ref" in it:
            it = defs[it["$ref"].split("/")[-1]]
        if "properties" in it:
            out += schema_paths(it["properties"], name + "[].", defs)
    return out


class Docs(unittest.TestCase):
    def read(self, *parts):
        with open(os.path.join(SRC, *parts), encoding="utf-8") as f:
            return f.read()

    def test_configuration_reference_covers_the_schema(self):
        schema = json.loads(self.read("schemas", "config.schema.json"))
        doc = self.read("docs", "configuration.md")
        rows = set(re.findall(r"^\| `([^`]+)` \|", doc, re.M))
        paths = schema_paths(schema["properties"], "", schema["$defs"])
        self.assertGreater(len(paths), 40)
        for p in paths:
            self.assertIn(p, rows, "docs/configuration.md has no row for %s" % p)
        for r in rows:
            self.assertIn(r, paths, "docs/configuration.md documents %s, which the schema lacks" % r)

    def test_exit_code_table_matches_cli_h(self):
        codes = dict((int(v), k) for k, v in re.findall(r"RC_EXIT_(\w+) = (\d+)", self.read("include", "r2cache", "cli.h")))
        self.assertEqual(sorted(codes), [0, 1, 2, 3])
        ops = self.read("docs", "operations.md")
        table = ops[ops.index("## Exit codes"):]
        for c in codes:
            self.assertRegex(table, r"\n\| %d \| " % c)

    def test_operations_names_real_files_and_metrics(self):
        ops = self.read("docs", "operations.md")
        for f in set(re.findall(r"`(deploy/[^`* ]+)`", ops)):
            self.assertTrue(os.path.exists(os.path.join(SRC, f)), f)
        src = self.read("src", "metrics.c")
        for m in set(re.findall(r"`(r2cache_[a-z_]+)`", ops)):
            self.assertIn('"%s"' % m, src, "operations.md documents %s, metrics.c does not write it" % m)
        for m in re.findall(r'"(r2cache_[a-z_]+)"', src):
            self.assertIn("`%s`" % m, ops, "metrics.c writes %s, operations.md does not explain it" % m)

    def test_architecture_names_existing_modules(self):
        arch = self.read("docs", "architecture.md")
        for f in set(re.findall(r"`(\w+\.c)`", arch)) | set(re.findall(r"\b(\w+\.c),", arch)):
            self.assertTrue(os.path.isfile(os.path.join(SRC, "src", f)), "architecture.md names %s" % f)


class Railway(unittest.TestCase):
    def load(self, name):
        with open(os.path.join(SRC, "deploy", "railway", name), encoding="utf-8") as f:
            return json.load(f)

    def test_run_service(self):
        r = self.load("railway.json")
        self.assertEqual(r["deploy"]["cronSchedule"], RUN_SCHEDULE)
        self.assertEqual(r["deploy"]["restartPolicyType"], "NEVER")
        self.assertEqual(r["build"]["builder"], "DOCKERFILE")
        self.assertTrue(os.path.isfile(os.path.join(SRC, r["build"]["dockerfilePath"])))
        argv = shlex.split(r["deploy"]["startCommand"])
        self.assertEqual(argv[:2], ["r2cache", "run"])
        accepts(self, argv[1:], "railway.json")

    def test_recover_service(self):
        r = self.load("recover.railway.json")
        self.assertEqual(r["deploy"]["cronSchedule"].split()[1:], ["*/2", "*", "*", "*"])
        argv = shlex.split(r["deploy"]["startCommand"])
        self.assertEqual(argv[:2], ["r2cache", "fill"])
        self.assertIn("--auto", argv)
        accepts(self, argv[1:], "recover.railway.json")


if __name__ == "__main__":
    if len(sys.argv) >= 3:
        SRC, BIN = sys.argv[1], sys.argv[2]
        K8S = os.path.join(SRC, "deploy", "kubernetes")
        del sys.argv[1:3]
    unittest.main(verbosity=2)
