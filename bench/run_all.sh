#!/bin/sh
# run_all.sh: every benchmark, one command; writes docs/benchmarks.md.
#
#   bench/run_all.sh [--skip NAME ...]     NAME: processing cron boundary scale shard upload fill inventory serve codec
#   bench/run_all.sh --only NAME           rerun one section; the others stay as they are
#   INV_RGW_SIZE="15 365" bench/run_all.sh --only inventory   the inventory in RGW at full size
#
# Contract: each bench/bench_*.sh prints the markdown of its own section on
# stdout (progress on stderr). This script builds a Release tree with
# -DR2CACHE_BENCH=ON (BUILD, default build-bench; or give a ready BUILD),
# starts one RGW (tests/rgw.sh) shared by the cron and upload benchmarks and
# stops it at the end, and writes the header (machine, date, commit, load)
# then each section. A section that is skipped, or whose script fails, keeps
# the text it had in the previous docs/benchmarks.md, marked as not rerun.
# Takes 15-30 minutes (the backfill's seed-way run and year fill, and the
# 816,000-key local inventory, are the long parts).
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build-bench}
OUT=${OUT:-$HERE/docs/benchmarks.md}
SKIP=" "
ONLY=
ALL="processing cron boundary scale shard upload fill inventory serve codec"
while [ $# -gt 0 ]; do
    case "$1" in
        --skip) SKIP="$SKIP$2 "; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        *) echo "usage: $0 [--skip NAME ...] [--only NAME]   (NAME: $ALL)" >&2; exit 2 ;;
    esac
done
if [ -n "$ONLY" ]; then
    for n in $ALL; do [ "$n" = "$ONLY" ] || SKIP="$SKIP$n "; done
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/run_all.XXXXXX")
cleanup() {
    [ -f "$W/rgw/env" ] && "$HERE/tests/rgw.sh" stop "$W/rgw" >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

if [ ! -x "$BUILD/bench_upload" ] || [ -z "${BUILD_READY:-}" ]; then
    echo "run_all: building $BUILD (Release, R2CACHE_BENCH=ON) ..." >&2
    cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DR2CACHE_BENCH=ON >/dev/null &&
        cmake --build "$BUILD" --target r2cache r2cache-synth bench_processing bench_upload bench_codec -j2 >/dev/null ||
        { echo "run_all: build failed" >&2; exit 1; }
fi
BUILD=$(cd "$BUILD" && pwd)
SRC=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD/CMakeCache.txt")
COMMIT=$(git -C "${SRC:-$HERE}" rev-parse --short HEAD)
DIRTY=$(git -C "${SRC:-$HERE}" status --porcelain --untracked-files=no | wc -l)

RGW_ENV=
if "$HERE/tests/rgw.sh" start "$W/rgw" >/dev/null 2>&1; then
    RGW_ENV=$W/rgw/env
else
    echo "run_all: RGW did not start; S3 parts are skipped" >&2
fi

# old section (from "## NAME" to the next "## "), for what is not rerun
old_section() { # $1: heading prefix
    [ -f "$OUT" ] || return 0
    awk -v h="## $1" 'index($0, h) == 1 {on = 1; print; next} /^## / {on = 0} on' "$OUT"
}

section() { # $1 name, $2 heading prefix in the old file, then the command
    name=$1; head=$2; shift 2
    if echo "$SKIP" | grep -q " $name "; then
        echo "run_all: $name skipped, keeping the previous figures" >&2
        old_section "$head" | sed "1a\\
\\
*Not rerun by this invocation ($(date -u +%Y-%m-%d)); the figures below are from the date given in the text.*" >>"$W/body"
        echo >>"$W/body"
        return
    fi
    echo "run_all: $name ..." >&2
    t0=$(date +%s)
    if "$@" >"$W/sec" 2>"$W/$name.err"; then
        cat "$W/sec" >>"$W/body"
        echo "" >>"$W/body"
        echo "_(section run $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(( $(date +%s) - t0 )) s, commit $COMMIT; load average at its end: $(cut -d' ' -f1-3 /proc/loadavg))_" >>"$W/body"
    else
        echo "run_all: $name FAILED (see below); keeping the previous figures" >&2
        tail -5 "$W/$name.err" >&2
        old_section "$head" | sed "1a\\
\\
*This invocation's run of \`$*\` failed ($(tail -1 "$W/$name.err" | tr -d '|`')); the figures below are the previous ones, from the date given in the text.*" >>"$W/body"
    fi
    echo "" >>"$W/body"
}

: >"$W/body"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
section processing "Processing" env BUILD="$BUILD" "$HERE/bench/bench_processing.sh"
if [ -n "$RGW_ENV" ]; then
    section cron "Cron scale" env BUILD="$BUILD" RGW_ENV="$RGW_ENV" "$HERE/bench/bench_cron.sh"
    section upload "Upload" env BUILD="$BUILD" RGW_ENV="$RGW_ENV" "$HERE/bench/bench_upload.sh"
else
    section cron "Cron scale" env BUILD="$BUILD" NO_RGW=1 "$HERE/bench/bench_cron.sh"
    SKIP="$SKIP upload "
    section upload "Upload" true
fi
# the seed configuration's 6-hour boundary run (issue 16): its own RGW, whose memstore is sized
# for BENCH_RGW_CHANNELS; BENCH_CHANNELS (default 1000) channels on the local store
section boundary "Boundary run" env BUILD="$BUILD" "$HERE/bench/bench_boundary.sh"
# the cron run for 10,000 channels (issue 16, Scale); its own RGW, sized for the run
section scale "Scale" env BUILD="$BUILD" "$HERE/bench/bench_scale.sh"
# the boundary run of 10,000 channels sharded over 4 processes: shard 0/4 measured alone
# (about 13 GB of archive and 27 GB of store; BENCH_SHARD_SDS=DIR keeps the archive)
section shard "Sharded boundary run" env BUILD="$BUILD" BENCH_SDS="${BENCH_SHARD_SDS:-}" "$HERE/bench/bench_shard.sh"
section fill "Backfill" "$HERE/bench/bench_fill.sh" "$BUILD"
# local directory at full size (15 x 365), and RGW at INV_RGW_SIZE: by default a size that seeds
# in a minute; INV_RGW_SIZE="15 365" is the issue's full size (about 816,000 keys: 40-60 minutes
# of seeding here, and RGW's memstore grows to about 15 GB)
INV_RGW_SIZE=${INV_RGW_SIZE:-3 20}
section inventory "Inventory" sh -c "BUILD='$BUILD' '$HERE/bench/bench_inventory.sh' --local 15 365 && echo &&
    BUILD='$BUILD' '$HERE/bench/bench_inventory.sh' $INV_RGW_SIZE"
# r2cache serve beside nginx (wrk, 64 connections) on the 15-channel quickstart cache
section serve "Serve" env BUILD="$BUILD" "$HERE/bench/bench_serve.sh"
# chunk codecs (int32-zstd, lms-rice) against Steim2 on the real recordings
section codec "Codec" env BUILD="$BUILD" "$HERE/bench/bench_codec.sh"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

if [ -n "$ONLY" ] && [ -f "$OUT" ]; then
    # one section rerun: keep the old header and the other sections as they are
    python3 - "$OUT" "$W/body" "$ONLY" "$W/out" <<'PY'
import re, sys
old, body, only, out = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3], sys.argv[4]
heads = {"processing": "## Processing", "cron": "## Cron scale", "boundary": "## Boundary run",
         "scale": "## Scale", "shard": "## Sharded boundary run", "upload": "## Upload",
         "fill": "## Backfill", "inventory": "## Inventory", "serve": "## Serve",
         "codec": "## Codec"}
h = heads[only]
parts = re.split(r"(?m)^(?=## )", old)
new_body = [p for p in re.split(r"(?m)^(?=## )", body) if p.startswith(h)]
res, done = [], False
for p in parts:
    if p.startswith(h):
        if not done:
            res.extend(new_body)
            done = True
        continue
    res.append(p)
if not done:
    res.extend(new_body)
open(out, "w").write("".join(res))
PY
    mv "$W/out" "$OUT"
    echo "run_all: section $ONLY replaced in $OUT" >&2
    exit 0
fi

{
    echo "# Benchmarks"
    echo
    echo "Written by \`bench/run_all.sh\` (one section per script in bench/, each with its reference run"
    echo "beside it, measured in the same invocation). Rerun: \`bench/run_all.sh\`; see bench/README.md."
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo) memory, $(uname -sr)"
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ) (end of the run)"
    if [ "$DIRTY" -gt 0 ]; then
        echo "- commit: $COMMIT plus uncommitted changes in $DIRTY file(s) of $SRC"
    else
        echo "- commit: $COMMIT (binaries built from $SRC, Release, not sanitized)"
    fi
    echo "- load average (1, 5, 15 min) at the start: $LOAD0; at the end: $LOAD1."
    echo "  **The machine is shared with other engineers' builds and tests and is noisy:** wall-clock"
    echo "  figures are upper bounds; CPU-time figures (processing) are the steadier ones."
    echo
    cat "$W/body"
} >"$W/out"
mv "$W/out" "$OUT"
echo "run_all: wrote $OUT" >&2
