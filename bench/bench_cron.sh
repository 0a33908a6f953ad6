#!/bin/sh
# bench_cron.sh: the cron job at scale. `r2cache run` for 15, 100 and 1000
# channels at 100 Hz against tests/fdsn_server.py serving a synthetic SDS
# archive (22 minutes around --now), into the local store and into RGW.
# Each size: one untimed run at --now 11:52 (creates the day's manifests, as
# the previous cron run would have), then the timed run at --now 12:02
# (lookback 10 min: read the manifest, fetch 11:50-12:00 for every channel in
# bulk, shape, compress, store, update the manifest), under /usr/bin/time -v.
# The python test server's share: the bulk bodies the run POSTed (from the
# server's /stats) are replayed with curl, in series, and timed.
# Targets (issue 7): 15 channels < 1 s, 1000 < 30 s, peak RSS < 64 MB.
#
#   BUILD=build bench/bench_cron.sh [SIZES]    (default "15 100 1000")
# Env: RGW_ENV=FILE reuses a running RGW (tests/rgw.sh env file); otherwise one
# is started in the scratch directory and stopped at the end; NO_RGW=1 skips it.
# Prints the "## Cron scale" section of docs/benchmarks.md on stdout.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
SIZES=${1:-15 100 1000}
R2=$BUILD/r2cache
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_cron.XXXXXX")
SERVER_PID=
OWN_RGW=0
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    [ "$OWN_RGW" = 1 ] && "$HERE/tests/rgw.sh" stop "$W/rgw" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
[ -x "$R2" ] || { echo "build r2cache first ($R2)" >&2; exit 2; }

RGW=0
if [ "${NO_RGW:-0}" != 1 ]; then
    if [ -n "${RGW_ENV:-}" ] && [ -f "$RGW_ENV" ]; then
        . "$RGW_ENV"; RGW=1
    elif "$HERE/tests/rgw.sh" start "$W/rgw" >/dev/null 2>&1; then
        OWN_RGW=1; . "$W/rgw/env"; RGW=1
    else
        echo "bench_cron: RGW did not start, local store only" >&2
    fi
fi

start_server() { # $1 sds dir
    python3 "$HERE/tests/fdsn_server.py" --sds "$1" --port 0 >"$W/port" 2>/dev/null &
    SERVER_PID=$!
    i=0
    while ! grep -q READY "$W/port" 2>/dev/null; do i=$((i + 1)); [ $i -gt 200 ] && exit 1; sleep 0.1; done
    PORT=$(awk '/READY/ {print $2}' "$W/port")
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

config() { # $1 n, $2 store, $3 out
    python3 - "$1" "$2" "$PORT" "$3" <<'PY'
import json, sys
n, store, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cfg = {"source": "http://127.0.0.1:%s" % port, "store": store, "spans": ["10m"],
       "volcanoes": [{"name": "bench", "location": "benchland", "stations": [
           {"network": "XX", "station": "C%04d" % i, "location": "", "channel": "HHZ",
            "sample_rate": 100} for i in range(n)]}]}
json.dump(cfg, open(out, "w"))
PY
}

# $1 label, $2 n, $3 store: prints one result line
measure() {
    config "$2" "$3" "$W/cfg.json"
    "$R2" run --config "$W/cfg.json" --now 2025-11-04T11:52:00Z --lookback 10m --log-level error \
        >/dev/null 2>&1 || true
    curl -s -X POST "http://127.0.0.1:$PORT/reset-stats" -d '{}' >/dev/null
    set +e
    /usr/bin/time -v "$R2" run --config "$W/cfg.json" --now 2025-11-04T12:02:00Z --lookback 10m \
        --json --log-level error >"$W/run.json" 2>"$W/time.txt"
    rc=$?
    set -e
    curl -s "http://127.0.0.1:$PORT/stats" >"$W/stats.json"
    # replay the bulk bodies the run sent (the last 10) with curl, in series
    python3 - "$W/stats.json" "$W/bodies" <<'PY'
import json, os, sys
st = json.load(open(sys.argv[1]))
os.makedirs(sys.argv[2], exist_ok=True)
for i, b in enumerate(st.get("bodies", [])):
    open(os.path.join(sys.argv[2], "%03d" % i), "w").write(b)
PY
    t0=$(date +%s.%N)
    for b in "$W/bodies"/*; do
        [ -f "$b" ] || continue
        curl -s -o /dev/null --data-binary @"$b" "http://127.0.0.1:$PORT/fdsnws/dataselect/1/query"
    done
    t1=$(date +%s.%N)
    rm -rf "$W/bodies"
    python3 - "$1" "$2" "$rc" "$W/run.json" "$W/time.txt" "$W/stats.json" "$(echo "$t1 - $t0" | bc)" <<'PY'
import json, re, sys
label, n, rc, run, timef, statf, replay = sys.argv[1:8]
t = open(timef).read()
def grab(pat):
    m = re.search(pat, t)
    return m.group(1) if m else "?"
wall = grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
parts = [float(x) for x in wall.split(":")] if wall != "?" else [0]
secs = sum(p * 60 ** (len(parts) - 1 - i) for i, p in enumerate(parts))
rss = int(grab(r"Maximum resident set size \(kbytes\): (\d+)"))
cpu = float(grab(r"User time \(seconds\): (\S+)")) + float(grab(r"System time \(seconds\): (\S+)"))
try:
    s = json.load(open(run))
except Exception:
    s = {}
st = json.load(open(statf))
nb = len(st.get("bodies", []))
print("%s|%s|%s|%.2f|%.2f|%d|%s|%s|%s|%s|%d|%s" % (
    label, n, rc, secs, cpu, rss, s.get("chunks_written", "?"), s.get("status", "?"),
    st.get("requests", "?"), st.get("lines", "?"), nb, replay))
PY
}

echo "generating the SDS archive ..." >&2
MAX=0
for n in $SIZES; do [ "$n" -gt "$MAX" ] && MAX=$n; done
# r2cache-synth takes at most 256 --chan per call: batches of 200 into the same archive
b=0
while [ $b -lt "$MAX" ]; do
    python3 -c "print(' '.join('--chan XX.C%04d..HHZ' % i for i in range($b, min($b + 200, $MAX))))" >"$W/chans"
    # shellcheck disable=SC2046
    "$BUILD/r2cache-synth" sds --out "$W/sds" --rate 100 --from 2025-11-04T11:39:00Z \
        --to 2025-11-04T12:01:00Z $(cat "$W/chans") >/dev/null 2>&1
    b=$((b + 200))
done
start_server "$W/sds"

: >"$W/results"
for n in $SIZES; do
    echo "cron: $n channels, local store ..." >&2
    measure "local" "$n" "$W/store-$n" >>"$W/results"
    rm -rf "$W/store-$n"
    if [ "$RGW" = 1 ]; then
        echo "cron: $n channels, RGW ..." >&2
        measure "RGW" "$n" "s3://$RC_TEST_BUCKET/bench-cron-$$-$n" >>"$W/results"
    fi
done
stop_server

python3 - "$W/results" <<'PY'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
target = {"15": 1.0, "1000": 30.0}
print("## Cron scale\n")
print("`bench/bench_cron.sh` (sizes 15, 100, 1000). One `r2cache run` (the cron job) per size and store,")
print("100 Hz channels served by `tests/fdsn_server.py` from a synthetic SDS archive; a first, untimed")
print("run at 11:52 creates the day's manifests as the previous cron run would, then the timed run at")
print("`--now 12:02 --lookback 10m` reads them, fetches 11:50-12:00 for every channel in bulk, shapes,")
print("compresses, stores one 10-minute chunk per channel and updates every manifest. Wall time, CPU and")
print("peak RSS from `/usr/bin/time -v`. The server column replays, with curl in series, the bulk")
print("bodies the run POSTed (from the server's `/stats`, which keeps the last 10): the python test")
print("server's own share of the wall time. Targets (issue 7): 15 channels < 1 s, 1000 < 30 s, peak")
print("memory < 64 MB.\n")
print("| channels | store | exit | wall | CPU (user+sys) | peak RSS | chunks written | requests (lines) | test server alone (curl replay of %s) | wall target | memory < 64 MB |" % "the bodies")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for label, n, rc, wall, cpu, rss, chunks, status, req, lines, nb, replay in rows:
    t = target.get(n)
    tw = "—" if t is None else ("met" if float(wall) < t else "**not met**")
    rep = "%.2f s (%s bodies)" % (float(replay), nb) if int(nb) else "—"
    if int(nb) and str(req) != "?" and int(nb) < int(req):
        rep += ", %s of %s requests" % (nb, req)
    print("| %s | %s | %s | **%.2f s** | %.2f s | %.1f MB | %s | %s (%s) | %s | %s | %s |" % (
        n, label, rc, float(wall), float(cpu), int(rss) / 1024.0, chunks, req, lines, rep, tw,
        "met" if int(rss) < 64 * 1024 else "**not met**"))
PY
