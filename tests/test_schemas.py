#!/usr/bin/env python3
"""Every --json answer of the built binary against its schema in schemas/.

A small cache is built in a scratch directory under the build tree: a
synthetic SDS archive (r2cache-synth), served by tests/fdsn_server.py, cached
by `run` and `fill` into a local store, then read by gaps, inventory (every
scope), get, verify, reindex and migrate, each with --json (and the dry runs).
Each output is validated with python3-jsonschema (Debian's package,
installed by scripts/deps.sh) against schemas/<command>.schema.json; the
stored manifests and summaries against theirs, the configuration against
config.schema.json. The three fields every answer starts with (command,
version, status) are checked exactly, and the schemas are checked to
describe them alike. One negative case per rule shows the validator fails.

usage: test_schemas.py SOURCE_DIR BINARY_DIR
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

try:
    import jsonschema
except ImportError:  # a test that cannot run must not pass
    sys.exit("test_schemas.py: python3-jsonschema is missing (scripts/deps.sh installs it)")

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[2] if len(sys.argv) > 2 else os.path.join(SRC, "build")
SCHEMAS = os.path.join(SRC, "schemas")
STATUSES = {"complete", "partial", "interrupted", "damaged", "failed"}


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(r2cache VERSION ([0-9.]+)", f.read()).group(1)


def load_schema(name):
    with open(os.path.join(SCHEMAS, name + ".schema.json"), encoding="utf-8") as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return s


def errors(schema, doc):
    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return sorted(v.iter_errors(doc), key=lambda e: list(e.path))


class Cache:
    """The scratch cache every test reads: built once."""

    def __init__(self):
        self.dir = os.path.join(BIN, "test-tmp", "schemas")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.sds = os.path.join(self.dir, "sds")
        self.store = os.path.join(self.dir, "store")
        self.config = os.path.join(self.dir, "config.json")
        synth = os.path.join(BIN, "r2cache-synth")
        for chan, extra in (("XX.AAA..HHZ", []),
                            ("XX.GAP..HHZ", ["--gap", "2025-11-04T05:20:00Z/2025-11-04T05:21:00Z"])):
            subprocess.run([synth, "sds", "--out", self.sds, "--rate", "20", "--from",
                            "2025-11-04T00:00:00Z", "--to", "2025-11-05T00:00:00Z", "--chan", chan]
                           + extra, check=True, capture_output=True)
        self.server = subprocess.Popen(
            [sys.executable, os.path.join(SRC, "tests", "fdsn_server.py"), "--sds", self.sds],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.server.stdout.readline()
        m = re.match(r"READY (\d+)", line)
        if not m:
            self.close()
            raise RuntimeError("tests/fdsn_server.py did not start: %r" % line)
        cfg = {
            "source": "http://127.0.0.1:%s" % m.group(1),
            "store": self.store,
            "run": {"retry_interval": "1s", "retry_max": "2s"},
            "fetch": {"max_attempts": 2, "backoff_base_s": 0.05, "backoff_cap_s": 0.2,
                      "timeout_s": 20, "stall_timeout_s": 2},
            "volcanoes": [
                {"name": "testvol", "location": "testland", "stations": [
                    {"network": "XX", "station": "AAA", "location": "", "channel": "HHZ",
                     "sample_rate": 20},
                    {"network": "XX", "station": "GAP", "location": "", "channel": "HHZ",
                     "sample_rate": 20}]},
                {"name": "othervol", "location": "otherland", "stations": [
                    {"network": "XX", "station": "NOD", "location": "00", "channel": "BHZ",
                     "sample_rate": 20}]}]}
        with open(self.config, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
        self.out = {}

    def close(self):
        if self.server.poll() is None:
            self.server.terminate()  # our own child, by its pid
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server.stdout.close()

    def r2(self, args, codes=(0,)):
        """Run r2cache with --config and --json; the parsed stdout and the exit code."""
        argv = [os.path.join(BIN, "r2cache")] + args.split() + [
            "--config", self.config, "--json", "--log-format", "json"]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if p.returncode not in codes:
            raise AssertionError("%s: exit %d (wanted %s)\n%s" % (args, p.returncode, codes,
                                                                  p.stderr[-3000:]))
        try:
            return json.loads(p.stdout), p.returncode
        except ValueError as e:
            raise AssertionError("%s: stdout is not one JSON document (%s): %r" % (
                args, e, p.stdout[:500]))


CACHE = None


def setUpModule():
    global CACHE
    CACHE = Cache()
    c = CACHE
    # order matters: what each step finds is what the earlier ones left
    c.out["run"] = c.r2("run --now 2025-11-04T06:02:00Z --lookback 1h")
    c.out["fill-dry-run"] = c.r2("fill --from 2025-11-04 --to 2025-11-04T12:00:00Z --now 2025-11-06 "
                                 "--station XX.AAA..HHZ --dry-run")
    c.out["fill"] = c.r2("fill --from 2025-11-04 --to 2025-11-04T12:00:00Z --now 2025-11-06 "
                         "--station XX.AAA..HHZ --station XX.GAP..HHZ")
    c.out["gaps"] = c.r2("gaps --from 2025-11-04 --to 2025-11-05 --now 2025-11-06 "
                         "--volcano testvol --critical-hours 6", codes=(1,))
    c.out["gaps-none"] = c.r2("gaps --from 2025-11-04 --to 2025-11-04T12:00:00Z --now 2025-11-06 "
                              "--station XX.AAA..HHZ")
    for scope, more in (("all", ""), ("volcano", " --volcano testvol"),
                        ("location", " --location testland"),
                        ("station", " --station XX.AAA..HHZ")):
        c.out["inventory-" + scope] = c.r2("inventory --scope " + scope + more)
    c.out["get"] = c.r2("get XX.AAA..HHZ --from 2025-11-04T01:00:00Z --to 2025-11-04T01:00:10Z")
    c.out["verify"] = c.r2("verify")
    c.out["reindex"] = c.r2("reindex")
    # every channel: XX.NOD.00.BHZ's day holds a manifest with nothing but the
    # source's no-data record, which migrate carries over
    c.out["migrate-dry-run"] = c.r2("migrate --to-layout viewer --from 2025-11-04 --to 2025-11-05 "
                                    "--now 2025-11-06 --all --dry-run")
    c.out["migrate"] = c.r2("migrate --to-layout viewer --from 2025-11-04 --to 2025-11-05 "
                            "--now 2025-11-06 --all")
    # a blob damaged on disk: verify reports it (exit 1, damaged)
    blobs = sorted(glob.glob(os.path.join(c.store, "data", "2025", "11", "XX", "testvol", "AAA",
                                          "*", "HHZ", "*.bin.zst")))
    assert blobs, "no AAA blob in the seed layout"
    with open(blobs[0], "r+b") as f:
        f.seek(20)
        f.write(b"\xff\xff\xff\xff")
    c.out["verify-damaged"] = c.r2("verify", codes=(1,))


def tearDownModule():
    if CACHE:
        CACHE.close()
        if not os.environ.get("RC_KEEP_TEST_TMP"):
            shutil.rmtree(CACHE.dir, ignore_errors=True)


SCHEMA_OF = {
    "run": "run", "fill": "fill", "fill-dry-run": "fill", "gaps": "gaps", "gaps-none": "gaps",
    "inventory-all": "inventory-all", "inventory-volcano": "inventory-volcano",
    "inventory-location": "inventory-location", "inventory-station": "inventory-station",
    "get": "get", "verify": "verify", "verify-damaged": "verify", "reindex": "reindex",
    "migrate-dry-run": "migrate", "migrate": "migrate",
}


class Outputs(unittest.TestCase):
    def test_every_output_validates_against_its_schema(self):
        for name, schema in SCHEMA_OF.items():
            doc, _ = CACHE.out[name]
            errs = errors(load_schema(schema), doc)
            self.assertEqual(errs, [], "%s against %s.schema.json: %s" % (
                name, schema, "; ".join("%s: %s" % (list(e.path), e.message) for e in errs[:5])))

    def test_command_version_status_lead_every_output(self):
        version = project_version()
        for name in SCHEMA_OF:
            doc, code = CACHE.out[name]
            if name == "get":  # streamed: the status is known, and printed, after the samples
                self.assertEqual(list(doc)[:2] + list(doc)[-1:], ["command", "version", "status"])
            else:
                self.assertEqual(list(doc)[:3], ["command", "version", "status"], name)
            self.assertEqual(doc["command"], name.split("-")[0], name)
            self.assertEqual(doc["version"], version, name)
            self.assertIn(doc["status"], STATUSES, name)
            # the status says what the exit code says
            want = {"complete": 0, "partial": 1, "interrupted": 1, "damaged": 1}.get(doc["status"])
            if want is not None:
                self.assertEqual(code, want, "%s: status %s, exit %d" % (name, doc["status"], code))

    def test_exact_statuses(self):
        # XX.NOD.00.BHZ has no data at the source: a warning, not a failure
        want = {"run": "complete",
                "fill": "complete", "fill-dry-run": "complete", "gaps": "damaged",
                "gaps-none": "complete", "get": "complete", "verify": "complete", "verify-damaged": "damaged",
                "reindex": "complete", "migrate": "complete", "migrate-dry-run": "complete"}
        for name, status in want.items():
            self.assertEqual(CACHE.out[name][0]["status"], status, name)
        run = CACHE.out["run"][0]
        self.assertEqual([(s["channel"], s["status"]) for s in run["stations"]],
                         [("XX.AAA..HHZ", "complete"), ("XX.GAP..HHZ", "complete"),
                          ("XX.NOD.00.BHZ", "no-data")])

    def test_dry_run_has_the_fills_fields_and_its_counts(self):
        dry, _ = CACHE.out["fill-dry-run"]
        real, _ = CACHE.out["fill"]
        plan = {"missing", "present", "reindex", "lines", "estimated_bytes", "lines_detail"}
        self.assertEqual(set(dry) - plan, set(real))
        self.assertIs(dry["dry_run"], True)
        self.assertIs(real["dry_run"], False)
        # AAA alone, 00:00-12:00: the run cached 06:00 back to 00:00 (37 chunks, with the 6 h);
        # left: 36 ten-minute windows 06:00-12:00 and the 6 h chunk 06-12
        self.assertEqual(dry["windows"], 74)
        self.assertEqual(dry["chunks_requested"], 37)
        self.assertEqual(dry["chunks_added"], 37)
        self.assertEqual(dry["missing"], 37)
        self.assertEqual(dry["chunks_skipped_present"], 37)
        self.assertEqual(dry["requests"], 1)
        self.assertEqual(dry["bytes_fetched"], int(dry["estimated_bytes"]))
        self.assertEqual((dry["bytes_written"], dry["manifests_written"]), (0, 0))
        self.assertIs(dry["metadata_updated"], False)

    def test_stored_documents_validate(self):
        manifest = load_schema("manifest")
        mans = glob.glob(os.path.join(CACHE.store, "data", "2025", "11", "XX", "testvol", "*",
                                      "*", "HHZ", "*.json"))
        self.assertTrue(mans)
        for p in mans:
            with open(p, encoding="utf-8") as f:
                self.assertEqual(errors(manifest, json.load(f)), [], p)
        summary = load_schema("inventory-summary")
        sums = glob.glob(os.path.join(CACHE.store, "index", "*", "*", "*.json"))
        self.assertTrue(sums)
        for p in sums:
            with open(p, encoding="utf-8") as f:
                self.assertEqual(errors(summary, json.load(f)), [], p)
        with open(CACHE.config, encoding="utf-8") as f:
            self.assertEqual(errors(load_schema("config"), json.load(f)), [])


class Schemas(unittest.TestCase):
    def test_every_output_schema_is_exercised(self):
        names = {os.path.basename(p)[:-len(".schema.json")]
                 for p in glob.glob(os.path.join(SCHEMAS, "*.schema.json"))}
        stored = {"config", "manifest", "inventory-summary"}
        self.assertEqual(names - stored, set(SCHEMA_OF.values()))

    def test_the_common_fields_are_described_alike(self):
        for name in set(SCHEMA_OF.values()):
            s = load_schema(name)
            self.assertEqual(s["required"][:3], ["command", "version", "status"], name)
            props = s["properties"]
            self.assertEqual(props["command"]["const"], name.split("-")[0], name)
            self.assertEqual(props["version"]["type"], "string", name)
            self.assertEqual(props["version"]["pattern"], "^[0-9]+\\.[0-9]+\\.[0-9]+", name)
            self.assertLessEqual(set(props["status"]["enum"]), STATUSES, name)


class Negative(unittest.TestCase):
    """The validator fails when an output breaks its schema."""

    def invalid(self, name, change):
        doc = copy.deepcopy(CACHE.out[name][0])
        change(doc)
        return errors(load_schema(SCHEMA_OF[name]), doc)

    def test_old_status_word_is_refused(self):
        errs = self.invalid("run", lambda d: d.update(status="ok"))
        self.assertEqual([list(e.path) for e in errs], [["status"]])

    def test_missing_version_is_refused(self):
        errs = self.invalid("verify", lambda d: d.pop("version"))
        self.assertEqual([e.validator for e in errs], ["required"])
        self.assertIn("'version' is a required property", errs[0].message)

    def test_unknown_field_is_refused(self):
        errs = self.invalid("fill", lambda d: d.update(chunks_lost=1))
        self.assertEqual([e.validator for e in errs], ["additionalProperties"])

    def test_plan_fields_in_a_real_fill_are_refused(self):
        errs = self.invalid("fill", lambda d: d.update(missing=3))
        self.assertTrue(errs)

    def test_wrong_command_is_refused(self):
        errs = self.invalid("gaps", lambda d: d.update(command="fill"))
        self.assertEqual([list(e.path) for e in errs], [["command"]])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
