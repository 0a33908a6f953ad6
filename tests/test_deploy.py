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
# RSS of `r2cache serve` after 100,000 requests under wrk (bench/bench_serve.sh,
# docs/benchmarks.md "Serve": 30-52 MB over the runs)
MEASURED_SERVE_RSS_MIB = 53
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


def has_serve():
    """The built binary has the serve command (it is built on its own branch)."""
    p = subprocess.run([r2cache(), "serve", "--help"], capture_output=True, text=True, timeout=30)
    return p.returncode == 0


def accepts_serve(test, argv, what):
    if not has_serve():
        test.skipTest("SKIPPED: %s has no serve command; %s not fed to it" % (r2cache(), what))
    accepts(test, argv, what)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    """(status, body) of a GET, with curl (the real client)."""
    p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\\n%{http_code}", "--max-time", str(timeout), url],
                       capture_output=True, text=True, timeout=timeout + 5)
    body, _, code = p.stdout.rpartition("\n")
    return int(code or 0), body


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

    def common_pod_checks(self, d, restart="Never"):
        ps = pod_spec(d)
        self.assertEqual(ps.get("restartPolicy", "Always"), restart)
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

    def pod_failure_policy_checks(self, d):
        """Exit 2 (a usage or configuration error: the next pod fails the same
        way) fails the Job at once; disruptions do not count as failures. The
        API server takes a podFailurePolicy only with restartPolicy Never."""
        js = job_spec(d)
        self.assertEqual(pod_spec(d)["restartPolicy"], "Never", d["_file"])
        self.assertIn("backoffLimit", js, d["_file"])
        rules = js["podFailurePolicy"]["rules"]
        self.assertEqual(rules[0], {"action": "FailJob",
                                    "onExitCodes": {"containerName": "r2cache", "operator": "In",
                                                    "values": [2]}}, d["_file"])
        self.assertIn({"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
                      rules, d["_file"])
        # the exit code it names is the binary's configuration error
        p = subprocess.run([r2cache(), "run", "--config", "/nonexistent/stations.json",
                            "--log-format", "text"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        names = [c["name"] for c in pod_spec(d)["containers"]]
        self.assertIn("r2cache", names)

    def test_pod_failure_policies(self):
        for kind, name in (("CronJob", "r2cache-run"), ("CronJob", "r2cache-recover"),
                           ("Job", "r2cache-backfill-")):
            with self.subTest(name=name):
                self.pod_failure_policy_checks(self.get(kind, name))

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

    def test_serve_deployment(self):
        d = self.get("Deployment", "r2cache-serve")
        self.assertEqual(d["spec"]["replicas"], 1, "jobs are queued in the process: one replica")
        labels = d["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(d["spec"]["selector"]["matchLabels"], labels)
        c = self.common_pod_checks(d, restart="Always")
        # exactly the CronJobs' security contexts, pod and container
        for cj in ("r2cache-run", "r2cache-recover"):
            ref = self.get("CronJob", cj)
            self.assertEqual(pod_spec(d)["securityContext"], pod_spec(ref)["securityContext"], cj)
            self.assertEqual(c["securityContext"], self.container(ref)["securityContext"], cj)
            self.assertEqual(pod_spec(d)["automountServiceAccountToken"], pod_spec(ref)["automountServiceAccountToken"])
            self.assertEqual(c["image"], self.container(ref)["image"])
        self.assertEqual(c["securityContext"]["readOnlyRootFilesystem"], True)
        self.assertEqual(c["securityContext"]["capabilities"], {"drop": ["ALL"]})
        self.assertEqual(pod_spec(d)["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        # SIGTERM: running jobs stop after the chunk in hand (an answer may take a 30 s stall timeout)
        self.assertGreaterEqual(pod_spec(d)["terminationGracePeriodSeconds"], 60)
        a = c["args"]
        self.assertEqual(a[0], "serve")
        self.assertEqual(a[a.index("--listen") + 1], "0.0.0.0:8080")
        ports = {p["name"]: p for p in c["ports"]}
        self.assertEqual(ports["http"]["containerPort"], 8080)
        live, ready = c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]
        self.assertEqual((live["path"], live["port"]), ("/healthz", "http"))
        self.assertEqual((ready["path"], ready["port"]), ("/readyz", "http"))
        # the store keys only from the Secret; the API token as a file from its own Secret, never in env
        env = {e["name"]: e for e in c["env"]}
        self.assertNotIn("R2CACHE_API_TOKEN", env, "the token must come from a Secret file")
        tok = env["R2CACHE_API_TOKEN_FILE"]["value"]
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        mdir, key = os.path.split(tok)
        self.assertIn(mdir, mounts, "R2CACHE_API_TOKEN_FILE %s is not under a mount" % tok)
        self.assertIs(mounts[mdir]["readOnly"], True)
        vol = {v["name"]: v for v in pod_spec(d)["volumes"]}[mounts[mdir]["name"]]
        secret = self.get("Secret", vol["secret"]["secretName"])
        self.assertIn(key, secret["stringData"])
        self.assertIn("REPLACE", secret["stringData"][key], "a real token must never be committed")
        self.assertEqual(secret["_file"], "secret.example.yaml")
        # memory: the measured RSS of serve under load and of a fill job it runs, twice over
        res = c["resources"]
        self.assertGreaterEqual(mebibytes(res["requests"]["memory"]), 2 * max(MEASURED_PEAK_MIB, MEASURED_SERVE_RSS_MIB))
        accepts_serve(self, expand(a, {}), "deployment-serve.yaml")

    def test_serve_service(self):
        svc = self.get("Service", "r2cache-serve")
        d = self.get("Deployment", "r2cache-serve")
        labels = d["spec"]["template"]["metadata"]["labels"]
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(labels.get(k), v, "Service selector %s=%s matches no pod label" % (k, v))
        self.assertEqual(svc["spec"].get("type", "ClusterIP"), "ClusterIP")
        names = {p["name"] for p in self.container(d)["ports"]}
        for p in svc["spec"]["ports"]:
            self.assertIn(p["targetPort"], names)
        self.assertEqual([p["port"] for p in svc["spec"]["ports"]], [80])

    def test_serve_as_deployed(self):
        """The Deployment's command line, ConfigMap as file, token as a file: probes answer, SIGTERM exits 0."""
        if not has_serve():
            self.skipTest("SKIPPED: %s has no serve command; the Deployment not started" % r2cache())
        d = self.get("Deployment", "r2cache-serve")
        c = self.container(d)
        cm = self.get("ConfigMap", "r2cache-config")
        env_tok = {e["name"]: e["value"] for e in c["env"] if "value" in e}["R2CACHE_API_TOKEN_FILE"]
        with tempfile.TemporaryDirectory(dir=BIN) as t:
            etc = os.path.join(t, "etc-r2cache")
            os.mkdir(etc)
            for k, v in cm["data"].items():
                with open(os.path.join(etc, k), "w", encoding="utf-8") as f:
                    f.write(v)
            tokf = os.path.join(t, os.path.basename(env_tok))
            with open(tokf, "w", encoding="utf-8") as f:
                f.write("deploy-test-token\n")
            port = free_port()
            args = [a.replace("/etc/r2cache", etc) for a in expand(c["args"], {})]
            i = args.index("--listen")
            args[i + 1] = "127.0.0.1:%d" % port  # 0.0.0.0:8080 in the pod
            # the ConfigMap's store is the production bucket: a local one here
            args += ["--store", os.path.join(t, "store")]
            os.mkdir(os.path.join(t, "store"))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "R2_", "R2CACHE_API"))}
            env["R2CACHE_API_TOKEN_FILE"] = tokf
            with open(os.path.join(t, "log"), "w") as log:
                p = subprocess.Popen([r2cache()] + args, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                import time
                code = 0
                for _ in range(100):
                    code, _ = http_get("http://127.0.0.1:%d/healthz" % port)
                    if code == 200:
                        break
                    if p.poll() is not None:
                        with open(os.path.join(t, "log")) as f:
                            self.fail("serve exited: %s" % f.read())
                    time.sleep(0.1)
                self.assertEqual(code, 200, "liveness /healthz")
                code, body = http_get("http://127.0.0.1:%d/readyz" % port)
                self.assertEqual(code, 200, "readiness /readyz: %s" % body)
                # the token came from the file: a wrong one is refused as wrong (401), not as absent (403)
                q = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                    "-H", "Authorization: Bearer wrong", "-H", "Content-Type: application/json",
                                    "-d", "{}", "http://127.0.0.1:%d/api/backfill" % port],
                                   capture_output=True, text=True, timeout=10)
                self.assertEqual(q.stdout, "401")
                p.send_signal(15)
                rc = p.wait(timeout=pod_spec(d)["terminationGracePeriodSeconds"])
                self.assertEqual(rc, 0, "SIGTERM must end serve with 0")
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            with open(os.path.join(t, "log"), encoding="utf-8") as f:
                self.assertNotIn("deploy-test-token", f.read(), "the token appeared in the log")

    def test_kustomization_lists_existing_files(self):
        with open(os.path.join(K8S, "kustomization.yaml"), encoding="utf-8") as f:
            k = yaml.safe_load(f)
        for r in k["resources"]:
            self.assertTrue(os.path.isfile(os.path.join(K8S, r)), r)
        self.assertNotIn("secret.example.yaml", k["resources"])
        self.assertIn("cronjob-run.yaml", k["resources"])
        self.assertIn("deployment-serve.yaml", k["resources"])
        self.assertIn("service-serve.yaml", k["resources"])

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
        # a pinned base: a dated Debian 12 tag (or a digest), the same in both stages
        pinned = r"debian:(bookworm-\d{8}-slim|bookworm-slim@sha256:[0-9a-f]{64})"
        self.assertRegex(froms[0], r"^FROM %s AS build$" % pinned)
        self.assertRegex(froms[1], r"^FROM %s$" % pinned)
        self.assertEqual(froms[0].split()[1], froms[1].split()[1], "both stages on one base")
        final = lines[lines.index(froms[1]):]
        build = lines[:lines.index(froms[1])]
        installs = " ".join(l for l in final if "apt-get install" in l)
        for lib in ("libcurl4", "libzstd1", "libcjson1", "libmseed2", "libssl3", "libmicrohttpd12", "ca-certificates"):
            self.assertIn(lib, installs.split())
        for dev in re.findall(r"\S+", installs):
            self.assertFalse(dev.endswith("-dev") or dev in ("build-essential", "cmake", "gcc", "pkg-config"),
                             "build tool %s in the runtime image" % dev)
        self.assertIn("rm -rf /var/lib/apt/lists/*", installs)
        binstalls = " ".join(l for l in build if "apt-get install" in l).split()
        self.assertIn("libmicrohttpd-dev", binstalls, "serve is built on libmicrohttpd")
        # the port of serve in the Deployment
        self.assertIn("EXPOSE 8080", final)
        self.assertTrue(any("cmake --build" in l for l in build))
        copies = [l for l in final if l.startswith("COPY ")]
        self.assertTrue(any(l.startswith("COPY --from=build") and "/usr/bin/r2cache" in l for l in copies))
        users = [l for l in final if l.startswith("USER ")]
        self.assertEqual(len(users), 1)
        self.assertNotRegex(users[0], r"USER (0|root)\b")
        self.assertTrue(any("useradd" in l and "--uid 10001" in l for l in final))
        self.assertEqual(pod_uid_of_k8s(), int(users[0].split()[1].split(":")[0]))
        self.assertFalse(re.search(r"^(ENV|ARG)\s+(AWS_|R2_)", text, re.M), "no keys in the image")
        # the binary is the entrypoint (docker run IMAGE --version), --help the default
        eps = [l for l in final if l.startswith("ENTRYPOINT ")]
        self.assertEqual(len(eps), 1)
        self.assertEqual(json.loads(eps[0][len("ENTRYPOINT "):]), ["/usr/bin/r2cache"])
        cmds = [l for l in final if l.startswith("CMD ")]
        self.assertEqual([json.loads(c[4:]) for c in cmds], [["--help"]])
        # OCI labels on the runtime image
        labels = dict(re.findall(r'(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"',
                                 " ".join(l for l in final if l.startswith("LABEL "))))
        for k in ("title", "description", "version", "revision", "base.name", "documentation"):
            self.assertIn("org.opencontainers.image." + k, labels)
        self.assertEqual(labels["org.opencontainers.image.title"], "r2cache")
        self.assertEqual(labels["org.opencontainers.image.base.name"],
                         "docker.io/library/" + froms[1].split()[1])
        args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
        with open(os.path.join(SRC, "CMakeLists.txt"), encoding="utf-8") as f:
            version = re.search(r"project\(r2cache VERSION (\S+)", f.read()).group(1)
        self.assertEqual(args["R2CACHE_VERSION"], version, "image version label = project version")
        self.assertEqual(labels["org.opencontainers.image.version"], "${R2CACHE_VERSION}")
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


def read_unit_multi(path):
    """A unit as {section: {key: [values]}} (keys such as EnvironmentFile repeat)."""
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
            out.setdefault(sec, {}).setdefault(k, []).append(v)
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

    def test_serve_unit(self):
        path = os.path.join(self.D, "r2cache-serve.service")
        u = read_unit_multi(path)
        svc = u["Service"]
        one = {k: v[-1] for k, v in svc.items()}
        self.assertEqual(one["Type"], "simple")
        run = read_unit(os.path.join(self.D, "r2cache-run.service"))["Service"]
        # the same user as the cron units, never root
        self.assertEqual((one["User"], one["Group"]), (run["User"], run["Group"]))
        self.assertNotIn(one["User"], ("root", "0"))
        self.assertEqual(one["Restart"], "on-failure")
        self.assertEqual(one["KillSignal"], "SIGTERM")
        self.assertGreaterEqual(int(one["TimeoutStopSec"]), 60)
        # the cron units' hardening, and more
        for k in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "StateDirectory"):
            self.assertEqual(one[k], run[k], k)
        self.assertEqual(one["ProtectSystem"], "strict")
        for k in ("PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups",
                  "RestrictNamespaces", "LockPersonality", "MemoryDenyWriteExecute", "RestrictSUIDSGID"):
            self.assertEqual(one[k], "yes", k)
        self.assertEqual(one["CapabilityBoundingSet"], "")
        self.assertEqual(one["RestrictAddressFamilies"].split(), ["AF_INET", "AF_INET6", "AF_UNIX"])
        # memory: the pod's limit
        lim = pod_spec(load_k8s()[("Deployment", "r2cache-serve")])["containers"][0]["resources"]["limits"]["memory"]
        self.assertEqual(mebibytes(one["MemoryMax"].replace("M", "Mi")), mebibytes(lim))
        # keys and token from files read by systemd, never on the command line or in Environment=
        envfiles = svc["EnvironmentFile"]
        self.assertIn(run["EnvironmentFile"], envfiles)
        self.assertEqual(len(envfiles), 2)
        self.assertNotIn("Environment", svc)
        with open(path, encoding="utf-8") as f:
            self.assertIn("R2CACHE_API_TOKEN=", f.read(), "the unit's comment says how the token file looks")
        argv = shlex.split(one["ExecStart"])
        self.assertEqual(argv[:2], ["/usr/bin/r2cache", "serve"])
        self.assertEqual(argv[argv.index("--listen") + 1], "127.0.0.1:8080")
        self.assertFalse(any("TOKEN" in a for a in argv))
        self.assertEqual(u["Install"]["WantedBy"], ["multi-user.target"])
        accepts_serve(self, argv[1:], "r2cache-serve.service")

    def test_units_installed_by_the_package(self):
        """cmake --install (and so the .deb) ships every unit of deploy/systemd."""
        with open(os.path.join(SRC, "CMakeLists.txt"), encoding="utf-8") as f:
            cm = f.read()
        m = re.search(r"install\(FILES ((?:deploy/systemd/\S+\s+)+)DESTINATION lib/systemd/system\)", cm)
        self.assertIsNotNone(m, "no install(FILES deploy/systemd/... DESTINATION lib/systemd/system)")
        listed = sorted(os.path.basename(x) for x in m.group(1).split())
        self.assertEqual(listed, sorted(os.listdir(self.D)))
        # the user the units run as is created by the package's postinst
        with open(os.path.join(SRC, "packaging", "debian", "postinst"), encoding="utf-8") as f:
            post = f.read()
        users = {v for n in os.listdir(self.D) if n.endswith(".service")
                 for v in read_unit_multi(os.path.join(self.D, n))["Service"].get("User", [])}
        self.assertEqual(users, {"r2cache"})
        self.assertIn("useradd --system", post)
        self.assertRegex(post, r"useradd .*\\\n.* r2cache\n")
        for n in ("postinst", "prerm", "postrm"):
            self.assertIn("packaging/debian/" + n, cm)
            self.assertTrue(os.access(os.path.join(SRC, "packaging", "debian", n), os.X_OK), n)

    def test_units_verify(self):
        """systemd-analyze verify on every unit, with the built binary in ExecStart."""
        if not shutil.which("systemd-analyze"):
            self.skipTest("SKIPPED: systemd-analyze absent, units not verified")
        with tempfile.TemporaryDirectory() as t:
            names = sorted(n for n in os.listdir(self.D) if n.endswith((".service", ".timer")))
            self.assertIn("r2cache-serve.service", names)
            for n in names:
                with open(os.path.join(self.D, n), encoding="utf-8") as f:
                    text = f.read().replace("/usr/bin/r2cache", os.path.abspath(r2cache()))
                with open(os.path.join(t, n), "w", encoding="utf-8") as f:
                    f.write(text)
            for n in names:
                p = subprocess.run(["systemd-analyze", "verify", "--man=no", os.path.join(t, n)],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, "%s: %s" % (n, p.stderr))
                # an unknown key or a bad value is only a warning: none allowed
                self.assertEqual(p.stderr.strip(), "", "%s: %s" % (n, p.stderr))


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

    def test_exit_code_table_matches_err_h(self):
        codes = dict((int(v), k) for k, v in re.findall(r"RC_EXIT_(\w+) = (\d+)", self.read("include", "r2cache", "err.h")))
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

    def test_serve_service(self):
        r = self.load("serve.railway.json")
        d = r["deploy"]
        self.assertNotIn("cronSchedule", d, "serve is a web service, not a cron one")
        self.assertEqual(d["healthcheckPath"], "/healthz")
        self.assertEqual(d["restartPolicyType"], "ON_FAILURE")
        self.assertEqual(d["numReplicas"], 1)
        self.assertEqual(r["build"], self.load("railway.json")["build"])
        # a Dockerfile deploy runs the start command in exec form: a shell expands $PORT
        outer = shlex.split(d["startCommand"])
        self.assertEqual(outer[:2], ["/bin/sh", "-c"])
        self.assertEqual(len(outer), 3)
        argv = shlex.split(outer[2])
        self.assertEqual(argv[:3], ["exec", "r2cache", "serve"])
        self.assertEqual(argv[argv.index("--listen") + 1], "0.0.0.0:$PORT")
        accepts_serve(self, [a.replace("$PORT", "8080") for a in argv[2:]], "serve.railway.json")


if __name__ == "__main__":
    if len(sys.argv) >= 3:
        SRC, BIN = sys.argv[1], sys.argv[2]
        K8S = os.path.join(SRC, "deploy", "kubernetes")
        del sys.argv[1:3]
    unittest.main(verbosity=2)
