#!/bin/sh
# bench_shard.sh: the 6-hour boundary run for N channels sharded over K
# processes (issue 16, "Scale": the boundary run for 10,000 channels inside
# the 10-minute interval when sharded over 4 processes, each under its own
# budget). The seed configuration (spans 10m + 6h) lists all N channels
# (XX.C0000.., 100 volcanoes of 100 stations, 100 Hz); each cron process runs
# `--shard I/K` and so handles only the channels whose stable hash falls in
# its shard (select.c, rc_shard_of). One shard is measured here, on this
# machine alone, as one of K pods with its own cores and memory would run:
# the archive and store of all K shards would not fit this disk (about 10 GB
# per 1000 channels), and each shard does the same work on its own channels.
#
# Untimed: `fill --shard I/K` of 06:00-11:50 with spans 10m only (35 stored
# 10-minute chunks per channel of the shard). Timed (/usr/bin/time -v):
# `run --shard I/K --now 12:02 --lookback 10m` with spans 10m + 6h, which
# writes the 11:50 chunk and composes the 06:00-12:00 chunk of every channel
# of the shard. Beside it, in the same invocation, the floor as in
# bench_boundary.sh: the samples the run wrote, decoded into int32 files on
# tmpfs (untimed), compressed by two parallel `zstd -3 -T1` in batches of 100
# channels. Targets: the shard's wall < 600 s (the cron interval) and peak
# RSS < 64 MB.
#
#   BUILD=build-rel bench/bench_shard.sh [N [K [I]]]   (default 10000 4 0)
# Env: BENCH_SDS=DIR keeps the generated archive of the shard's channels in
# DIR and reuses it (about 5 MB per channel; 13 GB for 2500 channels).
# Prints the "## Sharded boundary run" section of docs/benchmarks.md on stdout.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
N=${1:-10000}
K=${2:-4}
I=${3:-0}
R2=$BUILD/r2cache
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_shard.XXXXXX")
SHM=$(mktemp -d /dev/shm/bench_shard.XXXXXX)
cleanup() { rm -rf "$W" "$SHM"; }
trap cleanup EXIT INT TERM
[ -x "$R2" ] || { echo "build r2cache first ($R2)" >&2; exit 2; }
SDS=${BENCH_SDS:-$W/sds}

# the shard's channels, by the same hash as rc_shard_of (FNV-1a of
# "NET.STA.LOC.CHA", empty location as "") and the config of all N
python3 - "$N" "$K" "$I" "$SDS" "$W" <<'PY'
import json, sys
n, k, i, sds, w = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def fnv(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h
mine = [j for j in range(n) if fnv("XX.C%04d..HHZ" % j) % k == i]
with open(w + "/chans", "w") as f:
    for b in range(0, len(mine), 100):
        f.write(" ".join("--chan XX.C%04d..HHZ" % j for j in mine[b:b + 100]) + "\n")
open(w + "/count", "w").write(str(len(mine)))
def cfg(spans):
    return {"source": "sds://" + sds, "store": w + "/store", "spans": spans,
            "volcanoes": [{"name": "v%03d" % (a // 100), "location": "benchland", "stations": [
                {"network": "XX", "station": "C%04d" % j, "location": "", "channel": "HHZ",
                 "sample_rate": 100} for j in range(a, min(a + 100, n))]} for a in range(0, n, 100)]}
json.dump(cfg(["10m"]), open(w + "/fill.json", "w"))
json.dump(cfg(["10m", "6h"]), open(w + "/cfg.json", "w"))
PY
NC=$(cat "$W/count")

MARK="$SDS/.complete-shard-$N-$K-$I"
if [ ! -f "$MARK" ]; then
    echo "bench_shard: generating $NC channels x 6 h at 100 Hz (two processes) ..." >&2
    gen() { # $1: 0 or 1, the half of the batches this process writes
        ln=0
        while read -r chans; do
            if [ $((ln % 2)) = "$1" ]; then
                # shellcheck disable=SC2086
                "$BUILD/r2cache-synth" sds --out "$SDS" --rate 100 --from 2025-11-04T06:00:00Z \
                    --to 2025-11-04T12:01:00Z $chans >/dev/null 2>&1 || return 1
            fi
            ln=$((ln + 1))
        done <"$W/chans"
    }
    gen 0 & g0=$!
    gen 1 || { wait $g0 || true; echo "bench_shard: r2cache-synth failed" >&2; exit 1; }
    wait $g0 || { echo "bench_shard: r2cache-synth failed" >&2; exit 1; }
    touch "$MARK"
fi

echo "bench_shard: fill of shard $I/$K ($NC channels) ..." >&2
/usr/bin/time -v "$R2" fill --config "$W/fill.json" --shard "$I/$K" --from 2025-11-04T06:00:00Z \
    --to 2025-11-04T11:50:00Z --now 2025-11-04T11:52:00Z --log-level error \
    >/dev/null 2>"$W/filltime.txt" || { echo "bench_shard: fill failed" >&2; tail -5 "$W/filltime.txt" >&2; exit 1; }
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench_shard: timed boundary run ..." >&2
set +e
/usr/bin/time -v "$R2" run --config "$W/cfg.json" --shard "$I/$K" --now 2025-11-04T12:02:00Z \
    --lookback 10m --json --log-level error >"$W/run.json" 2>"$W/time.txt"
RC=$?
set -e
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bench_shard: floor (two zstd -3) ..." >&2
find "$W/store" -name '*_2025-11-04-06-00-00_to_2025-11-04-12-00-00.bin.zst' | sort >"$W/long"
total=0
samples=0
split -l 100 "$W/long" "$W/batch."
for bf in "$W"/batch.*; do
    rm -f "$SHM"/*.i32
    while read -r f; do
        short=$(echo "$f" | sed 's/_2025-11-04-06-00-00_to_/_2025-11-04-11-50-00_to_/')
        zstd -q -d -c "$f" "$short" >"$SHM/$(basename "$f").i32"
    done <"$bf"
    n=$(wc -l <"$bf")
    half=$(( (n + 1) / 2 ))
    ls "$SHM"/*.i32 | head -n "$half" >"$W/h1"
    ls "$SHM"/*.i32 | tail -n +"$((half + 1))" >"$W/h2"
    samples=$((samples + $(cat "$SHM"/*.i32 | wc -c) / 4))
    t0=$(date +%s.%N)
    # shellcheck disable=SC2046
    zstd -3 -T1 -q -c $(cat "$W/h1") >/dev/null &
    p1=$!
    # shellcheck disable=SC2046
    [ -s "$W/h2" ] && zstd -3 -T1 -q -c $(cat "$W/h2") >/dev/null
    wait $p1
    t1=$(date +%s.%N)
    total=$(echo "$total + $t1 - $t0" | bc)
done
rm -f "$SHM"/*.i32

python3 - "$N" "$K" "$I" "$NC" "$RC" "$W/run.json" "$W/time.txt" "$W/filltime.txt" "$total" \
    "$samples" "$LOAD0" "$LOAD1" <<'PY'
import json, re, sys
n, k, i, nc, rc, runf, timef, filltf, floor, samples, load0, load1 = sys.argv[1:13]
floor, samples = float(floor), int(samples)
def times(path):
    t = open(path).read()
    def grab(pat):
        m = re.search(pat, t)
        return m.group(1) if m else "0"
    parts = [float(x) for x in grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)").split(":")]
    secs = sum(p * 60 ** (len(parts) - 1 - j) for j, p in enumerate(parts))
    cpu = float(grab(r"User time \(seconds\): (\S+)")) + float(grab(r"System time \(seconds\): (\S+)"))
    return secs, cpu, int(grab(r"Maximum resident set size \(kbytes\): (\d+)"))
wall, cpu, rss = times(timef)
fwall, fcpu, frss = times(filltf)
try:
    s = json.load(open(runf))
except Exception:
    s = {}
print("## Sharded boundary run\n")
print("`bench/bench_shard.sh %s %s %s` (issue 16, \"Scale\"). The seed configuration (spans 10m + 6h) lists" % (n, k, i))
print("%s channels at 100 Hz (100 volcanoes of 100 stations, `sds://` source); the cron job runs as %s" % (format(int(n), ","), k))
print("processes, each with `--shard I/%s` and its own cores and memory. Shard %s/%s (%s channels by the" % (k, i, k, format(int(nc), ",")))
print("stable hash of `NET.STA.LOC.CHA`) is measured alone on this machine, as one of those processes")
print("would run; the archive and store of all %s shards would not fit this disk. Untimed: `fill --shard %s/%s`" % (k, i, k))
print("of 06:00-11:50, spans 10m (%.0f s wall, %.1f MB peak RSS). Timed (`/usr/bin/time -v`):" % (fwall, frss / 1024.0))
print("`run --shard %s/%s --now 12:02 --lookback 10m`, which writes the 11:50 chunk and composes the" % (i, k))
print("06:00-12:00 chunk of each of the shard's channels. Floor, in the same invocation: the %s samples" % format(samples, ","))
print("the run wrote (decoded into int32 files on tmpfs, untimed) through two parallel `zstd -3 -T1`,")
print("batches of 100 channels. Targets: wall < 600 s (the cron interval), peak RSS < 64 MB.\n")
print("| shard | channels | exit | status | wall | CPU (user+sys) | peak RSS | chunks written | floor (2 x zstd -3) | wall / floor | < 600 s | RSS < 64 MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
print("| %s/%s | %s | %s | %s | **%.2f s** | %.2f s | %.1f MB | %s | %.2f s | %.2f | %s | %s |" % (
    i, k, format(int(nc), ","), rc, s.get("status", "?"), wall, cpu, rss / 1024.0, s.get("chunks_written", "?"),
    floor, wall / floor if floor else 0, "met" if wall < 600 else "**not met**",
    "met" if rss < 64 * 1024 else "**not met**"))
print("\nAll %s shards one after another on this one 2-core machine would take about %.0f s (%s x the" % (k, wall * int(k), k))
print("shard's wall, every shard holding about as many channels); that is not the deployment measured here.")
print("\nLoad average (1, 5, 15 min) at the start of the timed part: %s; at its end: %s." % (load0, load1))
PY
