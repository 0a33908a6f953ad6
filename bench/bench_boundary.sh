#!/bin/sh
# bench_boundary.sh: the seed configuration's heavy cron run (issue 16).
# Spans 10m + 6h; N channels at 100 Hz from a synthetic SDS archive (source
# sds://, so no test server is in the measurement). Each store: an untimed
# `fill` of 06:00-11:50 with spans 10m only (35 stored 10-minute chunks per
# channel, what the cron runs of the last six hours left), then the timed
# `run --now 12:02 --lookback 10m` with spans 10m + 6h: it fetches 11:50-12:00,
# writes that 10-minute chunk and composes every channel's 06:00-12:00 chunk
# from the 36 stored 10-minute chunks. Wall, CPU and peak RSS from
# /usr/bin/time -v.
#
# The floor, measured in the same invocation: the samples the run wrote (its
# 6-hour and 10-minute chunks, decoded with `zstd -d` into little-endian
# int32 files on tmpfs, untimed) compressed by two parallel `zstd -3 -T1`
# processes (half the channels each), output to /dev/null. Done in batches of
# 100 channels (tmpfs holds one batch, 864 MB at 100 Hz x 6 h); the floor is
# the sum of the batches' wall times. Targets (issue 16): local wall <= 1.3x
# the floor, RGW <= 1.6x, peak RSS < 64 MB on both.
#
#   BUILD=build-rel bench/bench_boundary.sh [N]      (default N: BENCH_CHANNELS or 1000)
# Env: RGW_ENV=FILE reuses a running RGW (tests/rgw.sh env file); otherwise one
# is started and stopped at the end; NO_RGW=1 skips it. WORKERS=K passes
# --workers K to the timed run (default: r2cache's own default).
# Prints the "## Boundary run" section of docs/benchmarks.md on stdout.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
N=${1:-${BENCH_CHANNELS:-1000}}
# RGW's memstore holds everything in memory (about 11 MB per channel here):
# the RGW row uses at most BENCH_RGW_CHANNELS channels (default 200)
NR=${BENCH_RGW_CHANNELS:-200}
[ "$NR" -gt "$N" ] && NR=$N
R2=$BUILD/r2cache
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_boundary.XXXXXX")
SHM=$(mktemp -d /dev/shm/bench_boundary.XXXXXX)
OWN_RGW=0
cleanup() {
    [ "$OWN_RGW" = 1 ] && "$HERE/tests/rgw.sh" stop "$W/rgw" >/dev/null 2>&1 || true
    rm -rf "$W" "$SHM"
}
trap cleanup EXIT INT TERM
[ -x "$R2" ] || { echo "build r2cache first ($R2)" >&2; exit 2; }
WOPT=
[ -n "${WORKERS:-}" ] && WOPT="--workers $WORKERS"

RGW=0
if [ "${NO_RGW:-0}" != 1 ]; then
    if [ -n "${RGW_ENV:-}" ] && [ -f "$RGW_ENV" ]; then
        . "$RGW_ENV"; RGW=1
    elif RGW_MEMSTORE_BYTES=$(( (NR * 12 + 1024) * 1048576 )) "$HERE/tests/rgw.sh" start "$W/rgw" >/dev/null 2>&1; then
        OWN_RGW=1; . "$W/rgw/env"; RGW=1
    else
        echo "bench_boundary: RGW did not start, local store only" >&2
    fi
fi

config() { # $1 spans (JSON list), $2 store, $3 out; $NC channels
    python3 - "$NC" "$1" "$2" "$SDS" "$3" <<'PY'
import json, sys
n, spans, store, sds, out = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cfg = {"source": "sds://" + sds, "store": store, "spans": spans,
       "volcanoes": [{"name": "bench", "location": "benchland", "stations": [
           {"network": "XX", "station": "C%04d" % i, "location": "", "channel": "HHZ",
            "sample_rate": 100} for i in range(n)]}]}
json.dump(cfg, open(out, "w"))
PY
}

# $1 label, $2 store URL: fill (untimed), timed boundary run; prints one line
measure() {
    config '["10m"]' "$2" "$W/fill.json"
    # shellcheck disable=SC2086
    /usr/bin/time -v "$R2" fill --config "$W/fill.json" --from 2025-11-04T06:00:00Z \
        --to 2025-11-04T11:50:00Z --now 2025-11-04T11:52:00Z $WOPT --log-level error \
        >/dev/null 2>"$W/filltime.txt" || true
    config '["10m", "6h"]' "$2" "$W/cfg.json"
    set +e
    # shellcheck disable=SC2086
    /usr/bin/time -v "$R2" run --config "$W/cfg.json" --now 2025-11-04T12:02:00Z --lookback 10m \
        $WOPT --json --log-level error >"$W/run.json" 2>"$W/time.txt"
    rc=$?
    set -e
    python3 - "$1" "$rc" "$W/run.json" "$W/time.txt" "$W/filltime.txt" "$NC" <<'PY'
import json, re, sys
label, rc, run, timef, filltf = sys.argv[1:6]
def times(path):
    t = open(path).read()
    def grab(pat):
        m = re.search(pat, t)
        return m.group(1) if m else "0"
    wall = grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
    parts = [float(x) for x in wall.split(":")]
    secs = sum(p * 60 ** (len(parts) - 1 - i) for i, p in enumerate(parts))
    rss = int(grab(r"Maximum resident set size \(kbytes\): (\d+)"))
    cpu = float(grab(r"User time \(seconds\): (\S+)")) + float(grab(r"System time \(seconds\): (\S+)"))
    return secs, cpu, rss
secs, cpu, rss = times(timef)
fsecs, fcpu, frss = times(filltf)
try:
    s = json.load(open(run))
except Exception:
    s = {}
print("%s|%s|%.2f|%.2f|%d|%s|%s|%.2f|%.2f|%d|%s" % (label, rc, secs, cpu, rss, s.get("chunks_written", "?"),
                                     s.get("bytes_written", "?"), fsecs, fcpu, frss, sys.argv[6]))
PY
}

# the floor over the local store's chunks written by the timed run
floor() { # $1 store dir; prints "seconds|samples|cpu seconds"
    total=0
    samples=0
    cpu=0
    b=0
    while [ $b -lt "$N" ]; do
        e=$((b + 100)); [ $e -gt "$N" ] && e=$N
        rm -f "$SHM"/*.i32
        i=$b
        while [ $i -lt $e ]; do
            c=$(printf C%04d "$i")
            d="$1/data/2025/11/XX/bench/$c/%/HHZ"
            zstd -q -d -c "$d/XX_${c}__HHZ_100Hz_2025-11-04-06-00-00_to_2025-11-04-12-00-00.bin.zst" \
                "$d/XX_${c}__HHZ_100Hz_2025-11-04-11-50-00_to_2025-11-04-12-00-00.bin.zst" \
                >"$SHM/$c.i32"
            i=$((i + 1))
        done
        half=$(( (e - b + 1) / 2 ))
        ls "$SHM"/*.i32 | head -n "$half" >"$W/h1"
        ls "$SHM"/*.i32 | tail -n +"$((half + 1))" >"$W/h2"
        bytes=$(cat "$SHM"/*.i32 | wc -c)
        samples=$((samples + bytes / 4))
        t0=$(date +%s.%N)
        # shellcheck disable=SC2046
        /usr/bin/time -f "%U %S" -o "$W/z1" zstd -3 -T1 -q -c $(cat "$W/h1") >/dev/null &
        p1=$!
        echo "0 0" >"$W/z2"
        # shellcheck disable=SC2046
        [ -s "$W/h2" ] && /usr/bin/time -f "%U %S" -o "$W/z2" zstd -3 -T1 -q -c $(cat "$W/h2") >/dev/null
        wait $p1
        t1=$(date +%s.%N)
        total=$(echo "$total + $t1 - $t0" | bc)
        cpu=$(echo "$cpu + $(awk '{print $1 + $2}' "$W/z1") + $(awk '{print $1 + $2}' "$W/z2")" | bc)
        b=$e
    done
    rm -f "$SHM"/*.i32
    echo "$total|$samples|$cpu"
}

# BENCH_SDS=DIR keeps the generated archive in DIR and reuses it next time
# (generating 1000 channels x 6 h takes minutes; the archive is deterministic)
SDS=$W/sds
if [ -n "${BENCH_SDS:-}" ]; then SDS=$BENCH_SDS; fi
echo "bench_boundary: generating $N channels x 6 h at 100 Hz ..." >&2
b=0
[ -n "${BENCH_SDS:-}" ] && [ -f "$SDS/.complete-$N" ] && b=$N
while [ $b -lt "$N" ]; do
    python3 -c "print(' '.join('--chan XX.C%04d..HHZ' % i for i in range($b, min($b + 200, $N))))" >"$W/chans"
    # shellcheck disable=SC2046
    "$BUILD/r2cache-synth" sds --out "$SDS" --rate 100 --from 2025-11-04T06:00:00Z \
        --to 2025-11-04T12:01:00Z $(cat "$W/chans") >/dev/null 2>&1
    b=$((b + 200))
done
[ -n "${BENCH_SDS:-}" ] && touch "$SDS/.complete-$N"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$W/results"
echo "bench_boundary: local store ..." >&2
NC=$N
measure local "$W/store" >>"$W/results"
echo "bench_boundary: floor (two zstd -3) ..." >&2
FLOOR=$(floor "$W/store")
rm -rf "$W/store"
if [ "$RGW" = 1 ]; then
    echo "bench_boundary: RGW ..." >&2
    NC=$NR
    measure RGW "s3://$RC_TEST_BUCKET/bench-boundary-$$" >>"$W/results"
fi
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$W/results" "$N" "$FLOOR" "$LOAD0" "$LOAD1" "${WORKERS:-default}" <<'PY'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1]) if l.strip()]
n, floor, load0, load1, workers = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
fsec, fsamples, fcpu = float(floor.split("|")[0]), int(floor.split("|")[1]), float(floor.split("|")[2])
limit = {"local": 1.3, "RGW": 1.6}
print("## Boundary run\n")
print("`bench/bench_boundary.sh %s` (issue 16). The seed configuration (spans 10m + 6h), %s channels" % (n, n))
print("at 100 Hz from a synthetic SDS archive (`sds://` source). Untimed: a `fill` of 06:00-11:50 with")
print("spans 10m only (35 stored 10-minute chunks per channel). Timed (`/usr/bin/time -v`):")
print("`run --now 12:02 --lookback 10m` with spans 10m + 6h (workers: %s), which writes the" % workers)
print("11:50 chunk and composes every channel's 06:00-12:00 chunk from its 36 stored 10-minute chunks.")
print("Floor, in the same invocation: the samples of the chunks the run wrote (%s, decoded into" % format(fsamples, ","))
print("int32 files on tmpfs, untimed) compressed by two parallel `zstd -3 -T1` processes, half the")
print("channels each, in batches of 100 channels: **%.2f s** (sum of the batches' wall times)." % fsec)
print("Targets: local wall <= 1.3x the floor, RGW <= 1.6x; peak RSS < 64 MB. The RGW row has fewer")
print("channels when BENCH_RGW_CHANNELS says so (RGW's memstore keeps every object in memory); its")
print("floor is the measured one scaled by its channel count (every channel's samples are alike).\n")
print("| store | channels | exit | wall | CPU (user+sys) | CPU / wall | peak RSS | chunks written | bytes written | floor (2 x zstd -3) | wall / floor | target | RSS < 64 MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for label, rc, wall, cpu, rss, chunks, byts, _fw, _fc, _fr, nc in rows:
    fl = fsec * int(nc) / int(n)
    r = float(wall) / fl if fl > 0 else 0
    print("| %s | %s | %s | **%.2f s** | %.2f s | %.2f | %.1f MB | %s | %s | %.2f s | **%.2f** | <= %.1fx: %s | %s |" % (
        label, nc, rc, float(wall), float(cpu), float(cpu) / float(wall) if float(wall) else 0,
        int(rss) / 1024.0, chunks, format(int(byts), ",") if byts.isdigit() else byts, fl, r,
        limit[label], "met" if r <= limit[label] else "**not met**",
        "met" if int(rss) < 64 * 1024 else "**not met**"))
# the fill that prepares each store is timed too: CPU per sample against zstd -3's
zns = fcpu / fsamples * 1e9 if fsamples else 0
print("\nThe fill that prepared each store (06:00-11:50, spans 10m only: 35 chunks of 60,000 samples per")
print("channel), also under `/usr/bin/time -v`, against the floor's CPU per sample (`zstd -3`, %.2f ns per sample," % zns)
print("user + system of both processes). Targets (issue 16): CPU per sample <= 1.2x zstd's; wall <= 0.65x CPU")
print("on two cores; peak RSS < 64 MB.\n")
print("| store | channels | samples | fill wall | fill CPU | CPU per sample | / zstd -3 | <= 1.2x | wall / CPU | <= 0.65 | peak RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for label, rc, wall, cpu, rss, chunks, byts, fw, fc, fr, nc in rows:
    fw, fc, fr = float(fw), float(fc), int(fr)
    fill_samples = int(nc) * 35 * 60000
    ns = fc / fill_samples * 1e9
    r = ns / zns if zns else 0
    wc = fw / fc if fc else 0
    print("| %s | %s | %s | %.2f s | %.2f s | %.2f ns | **%.2f** | %s | **%.2f** | %s | %.1f MB |" % (
        label, nc, format(fill_samples, ","), fw, fc, ns, r, "met" if r <= 1.2 else "**not met**", wc,
        "met" if wc <= 0.65 else "**not met**", fr / 1024.0))
print("\nLoad average (1, 5, 15 min) at the start of the timed part: %s; at its end: %s." % (load0, load1))
PY
