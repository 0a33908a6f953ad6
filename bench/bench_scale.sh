#!/bin/sh
# bench_scale.sh: the cron job for 10,000 channels (issue 16, "Scale").
# N channels at 100 Hz (default BENCH_SCALE_CHANNELS or 10000) from a
# synthetic SDS archive (source sds://, so no test server is in the
# measurement), spans 10m + 6h (the seed configuration), 100 volcanoes of
# 100 stations. Each store: an untimed `run --now 11:42` (creates every
# channel's day manifest, as the previous cron run would have), then the
# timed `run --now 11:52 --lookback 10m` (a normal run, not a 6-hour
# boundary: read each manifest, fetch 11:40-11:50, shape, compress, store,
# update the manifest) under /usr/bin/time -v.
#
# Beside it, in the same invocation: two parallel `zstd -3 -T1` compressing the
# same samples (the run's 10-minute chunks decoded into int32 files on tmpfs,
# untimed), the floor of the compression work alone.
# Targets (issue 16): local < 60 s, RGW < 120 s, peak RSS < 128 MB.
#
#   BUILD=build-rel bench/bench_scale.sh [N]
# Env: RGW_ENV=FILE reuses a running RGW; otherwise one is started (memstore
# sized for the run) and stopped at the end; NO_RGW=1 skips it. BENCH_SDS=DIR
# keeps the generated archive in DIR and reuses it.
# Prints the "## Scale" section of docs/benchmarks.md on stdout.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
N=${1:-${BENCH_SCALE_CHANNELS:-10000}}
R2=$BUILD/r2cache
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_scale.XXXXXX")
SHM=$(mktemp -d /dev/shm/bench_scale.XXXXXX)
OWN_RGW=0
cleanup() {
    [ "$OWN_RGW" = 1 ] && "$HERE/tests/rgw.sh" stop "$W/rgw" >/dev/null 2>&1 || true
    rm -rf "$W" "$SHM"
}
trap cleanup EXIT INT TERM
[ -x "$R2" ] || { echo "build r2cache first ($R2)" >&2; exit 2; }

RGW=0
if [ "${NO_RGW:-0}" != 1 ]; then
    if [ -n "${RGW_ENV:-}" ] && [ -f "$RGW_ENV" ]; then
        . "$RGW_ENV"; RGW=1
    elif RGW_MEMSTORE_BYTES=$(( (N / 2 + 2048) * 1048576 )) "$HERE/tests/rgw.sh" start "$W/rgw" >/dev/null 2>&1; then
        OWN_RGW=1; . "$W/rgw/env"; RGW=1
    else
        echo "bench_scale: RGW did not start, local store only" >&2
    fi
fi

SDS=${BENCH_SDS:-$W/sds}
if [ ! -f "$SDS/.complete-$N" ]; then
    echo "bench_scale: generating $N channels x 43 min at 100 Hz ..." >&2
    b=0
    while [ $b -lt "$N" ]; do
        # shellcheck disable=SC2046
        "$BUILD/r2cache-synth" sds --out "$SDS" --rate 100 --from 2025-11-04T11:20:00Z \
            --to 2025-11-04T12:03:00Z $(python3 -c "print(' '.join('--chan XX.C%04d..HHZ' % i for i in range($b, min($b + 200, $N))))") \
            >/dev/null 2>&1
        b=$((b + 200))
    done
    touch "$SDS/.complete-$N"
fi

python3 - "$N" "$SDS" "$W/cfg-" <<'PY'
import json, sys
n, sds, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def cfg(store):
    return {"source": "sds://" + sds, "store": store, "spans": ["10m", "6h"],
            "volcanoes": [{"name": "v%03d" % (i // 100), "location": "benchland", "stations": [
                {"network": "XX", "station": "C%04d" % j, "location": "", "channel": "HHZ",
                 "sample_rate": 100} for j in range(i, min(i + 100, n))]} for i in range(0, n, 100)]}
json.dump(cfg("@STORE@"), open(out + "template.json", "w"))
PY

# $1 label, $2 store URL: prints one result line
measure() {
    sed "s|@STORE@|$2|" "$W/cfg-template.json" >"$W/cfg.json"
    "$R2" run --config "$W/cfg.json" --now 2025-11-04T11:42:00Z --lookback 10m --log-level error \
        >/dev/null 2>&1 || true
    set +e
    /usr/bin/time -v "$R2" run --config "$W/cfg.json" --now 2025-11-04T11:52:00Z --lookback 10m \
        --json --log-level error >"$W/run.json" 2>"$W/time.txt"
    rc=$?
    set -e
    python3 - "$1" "$rc" "$W/run.json" "$W/time.txt" <<'PY'
import json, re, sys
label, rc, run, timef = sys.argv[1:5]
t = open(timef).read()
def grab(pat):
    m = re.search(pat, t)
    return m.group(1) if m else "0"
wall = grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
parts = [float(x) for x in wall.split(":")]
secs = sum(p * 60 ** (len(parts) - 1 - i) for i, p in enumerate(parts))
rss = int(grab(r"Maximum resident set size \(kbytes\): (\d+)"))
cpu = float(grab(r"User time \(seconds\): (\S+)")) + float(grab(r"System time \(seconds\): (\S+)"))
try:
    s = json.load(open(run))
except Exception:
    s = {}
print("%s|%s|%.2f|%.2f|%d|%s|%s|%s|%s" % (label, rc, secs, cpu, rss, s.get("status", "?"),
      s.get("chunks_written", "?"), s.get("manifests_written", "?"), s.get("requests", "?")))
PY
}

# the floor: the run's 11:40 chunks (local store) decoded to int32, two zstd -3
floor() { # $1 store dir; prints "seconds|samples"
    find "$1/data" -name '*_2025-11-04-11-40-00_to_2025-11-04-11-50-00.bin.zst' | sort >"$W/chunks"
    total=$(wc -l <"$W/chunks")
    half=$(( (total + 1) / 2 ))
    head -n "$half" "$W/chunks" | xargs cat | zstd -q -d -c >"$SHM/a.i32"
    tail -n +"$((half + 1))" "$W/chunks" | xargs cat | zstd -q -d -c >"$SHM/b.i32"
    samples=$(( ($(stat -c %s "$SHM/a.i32") + $(stat -c %s "$SHM/b.i32")) / 4 ))
    t0=$(date +%s.%N)
    zstd -3 -T1 -q -c "$SHM/a.i32" >/dev/null &
    p=$!
    zstd -3 -T1 -q -c "$SHM/b.i32" >/dev/null
    wait $p
    t1=$(date +%s.%N)
    rm -f "$SHM"/*.i32
    echo "$(echo "$t1 - $t0" | bc)|$samples"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$W/results"
echo "bench_scale: $N channels, local store ..." >&2
measure local "$W/store" >>"$W/results"
FLOOR=$(floor "$W/store")
rm -rf "$W/store"
if [ "$RGW" = 1 ]; then
    echo "bench_scale: $N channels, RGW ..." >&2
    measure RGW "s3://$RC_TEST_BUCKET/bench-scale-$$" >>"$W/results"
fi
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$W/results" "$N" "$FLOOR" "$LOAD0" "$LOAD1" <<'PY'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
n, floor, load0, load1 = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
fsec, fsamples = float(floor.split("|")[0]), int(floor.split("|")[1])
limit = {"local": 60, "RGW": 120}
print("## Scale\n")
print("`bench/bench_scale.sh %s` (issue 16). A normal cron run (not a 6-hour boundary) for %s channels" % (n, format(int(n), ",")))
print("at 100 Hz in the seed configuration (spans 10m + 6h, 100 volcanoes of 100 stations), source a")
print("synthetic SDS archive (`sds://`). Untimed: `run --now 11:42` (every channel-day manifest exists, as")
print("after the previous cron run). Timed (`/usr/bin/time -v`): `run --now 11:52 --lookback 10m`, which")
print("reads each manifest, fetches 11:40-11:50 for every channel, and stores one chunk and one manifest")
print("update per channel. Beside it, in the same invocation, the compression alone: the same %s samples" % format(fsamples, ","))
print("(the run's chunks decoded into two int32 files on tmpfs, untimed) through two parallel")
print("`zstd -3 -T1`: **%.2f s**. Targets: local < 60 s, RGW < 120 s, peak RSS < 128 MB.\n" % fsec)
print("| store | channels | exit | status | wall | CPU (user+sys) | peak RSS | chunks written | manifests written | requests | wall / zstd floor | target | RSS < 128 MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for label, rc, wall, cpu, rss, status, chunks, mans, reqs in rows:
    w = float(wall)
    print("| %s | %s | %s | %s | **%.2f s** | %.2f s | %.1f MB | %s | %s | %s | %.2f | < %d s: %s | %s |" % (
        label, format(int(n), ","), rc, status, w, float(cpu), int(rss) / 1024.0, chunks, mans, reqs,
        w / fsec if fsec else 0, limit[label], "met" if w < limit[label] and rc == "0" else "**not met**",
        "met" if int(rss) < 128 * 1024 else "**not met**"))
print("\nLoad average (1, 5, 15 min) at the start of the timed part: %s; at its end: %s." % (load0, load1))
PY
