#!/bin/sh
# bench_fill.sh: backfill figures for docs/benchmarks.md ("## Backfill").
# Not a timed test: run it by hand on a quiet machine.
#
#   bench/bench_fill.sh [BUILD_DIR]     (default: build; a non-sanitized build)
#
# 1. One station-day at 100 Hz into the local store, end to end, with the FDSN
#    test server answering each request after 100 ms (--delay-ms 100).
# 2. The same day the seed's way: one 10-minute window per request, in series,
#    simulated with 144 `r2cache fill` runs of one window each (each run is a
#    whole process: config, store open, plan, one request, shape, store,
#    manifest), 10-minute spans only, against the same server.
# 3. Peak memory (/usr/bin/time -v "Maximum resident set size") of a one-year
#    fill of one channel from an SDS archive (rate BENCH_YEAR_RATE, default 20 Hz:
#    a year at 100 Hz is 3.2e9 samples and takes too long to generate here).
set -eu
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
R2="$BUILD/r2cache"
SYNTH="$BUILD/r2cache-synth"
YEAR_RATE=${BENCH_YEAR_RATE:-20}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_fill.XXXXXX")
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

"$SYNTH" sds --out "$W/sds" --rate 100 --from 2025-11-04 --to 2025-11-05 --chan XX.BEN..HHZ >/dev/null
python3 "$SRC/tests/fdsn_server.py" --sds "$W/sds" --port 0 --delay-ms 100 >"$W/port" 2>/dev/null &
SERVER_PID=$!
i=0
while ! grep -q READY "$W/port" 2>/dev/null; do i=$((i + 1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done
PORT=$(awk '/READY/ {print $2}' "$W/port")

config() { # $1 store dir, $2 spans
    cat >"$W/config.json" <<JSON
{"source": "http://127.0.0.1:$PORT", "store": "$1", "spans": $2,
 "volcanoes": [{"name": "bench", "location": "benchland", "stations": [
   {"network": "XX", "station": "BEN", "location": "", "channel": "HHZ", "sample_rate": 100}]}]}
JSON
}
now() { date +%s.%N; }

# 1. r2cache's way
config "$W/store1" '["10m", "6h"]'
t0=$(now)
"$R2" fill --config "$W/config.json" --from 2025-11-04 --to 2025-11-05 --json --log-format json \
    >"$W/fill1.json" 2>/dev/null
t1=$(now)
DAY_S=$(echo "$t1 - $t0" | bc)
DAY_REQ=$(python3 -c "import json; print(json.load(open('$W/fill1.json'))['requests'])")
DAY_ADDED=$(python3 -c "import json; print(json.load(open('$W/fill1.json'))['chunks_added'])")

# 2. the seed's way: 144 windows, one request each, in series
config "$W/store2" '["10m"]'
t0=$(now)
k=0
while [ $k -lt 144 ]; do
    a=$(date -u -d "@$((1762214400 + k * 600))" +%Y-%m-%dT%H:%M:%SZ)
    b=$(date -u -d "@$((1762214400 + (k + 1) * 600))" +%Y-%m-%dT%H:%M:%SZ)
    "$R2" fill --config "$W/config.json" --from "$a" --to "$b" --log-format json >/dev/null 2>&1
    k=$((k + 1))
done
t1=$(now)
SEED_S=$(echo "$t1 - $t0" | bc)

# 3. one year of one channel, peak memory
kill "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
"$SYNTH" sds --out "$W/sdsy" --rate "$YEAR_RATE" --from 2025-01-01 --to 2026-01-01 --chan XX.BEN..HHZ >/dev/null
cat >"$W/configy.json" <<JSON
{"source": "sds://$W/sdsy", "store": "$W/storey",
 "volcanoes": [{"name": "bench", "location": "benchland", "stations": [
   {"network": "XX", "station": "BEN", "location": "", "channel": "HHZ", "sample_rate": $YEAR_RATE}]}]}
JSON
/usr/bin/time -v "$R2" fill --config "$W/configy.json" --from 2025-01-01 --to 2026-01-01 --json \
    --log-format json >"$W/filly.json" 2>"$W/timey.txt"
YEAR_RSS=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$W/timey.txt")
YEAR_WALL=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$W/timey.txt")
YEAR_ADDED=$(python3 -c "import json; print(json.load(open('$W/filly.json'))['chunks_added'])")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "station-day 100 Hz, 100 ms per request: r2cache fill ${DAY_S} s, ${DAY_REQ} requests, ${DAY_ADDED} chunks"
echo "same day, seed's way (144 fill runs of one window, in series): ${SEED_S} s, 144 requests"
echo "ratio: $(echo "scale=1; $SEED_S / $DAY_S" | bc)x"
echo "one year, one channel at ${YEAR_RATE} Hz: max RSS ${YEAR_RSS} kB, wall ${YEAR_WALL}, ${YEAR_ADDED} chunks"
