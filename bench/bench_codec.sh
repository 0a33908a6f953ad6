#!/bin/sh
# bench_codec.sh: chunk codecs on the real recordings of ../shared/data/mseed
# (or $RC_MSEED_DIR): today's int32-zstd (zstd -3) and the opt-in lms-rice,
# against the same samples packed as Steim2 by libmseed (4096-byte records),
# with encode and decode speed (bench/bench_codec.c does the work and checks
# that both codecs round-trip every sample).
# Target (issue 16, "Storage"): lms-rice <= 0.8x the Steim2 size.
#
#   BUILD=build-bench bench/bench_codec.sh     (needs -DR2CACHE_BENCH=ON)
#
# Prints the "## Codec" section of docs/benchmarks.md on stdout.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
REPS=${REPS:-5}
BC=$BUILD/bench_codec
[ -x "$BC" ] || { echo "build bench_codec first (cmake -DR2CACHE_BENCH=ON, target bench_codec)" >&2; exit 2; }
DIR=${RC_MSEED_DIR:-$HERE/../shared/data/mseed}
[ -d "$DIR" ] || { echo "bench_codec: $DIR is absent (the real recordings); nothing to measure" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_codec.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
# miniSEED 3 files are refused by libmseed 2 (bench_codec skips them too)
find "$DIR" -maxdepth 1 -type f ! -name '*.mseed3' ! -name '*.md' | LC_ALL=C sort >"$W/files"
echo "codec: $(wc -l <"$W/files") files ..." >&2
# shellcheck disable=SC2046
"$BC" --reps "$REPS" $(cat "$W/files") >"$W/results"

python3 - "$W/results" "$REPS" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    name, kv = line.rstrip("\n").split("|", 1)
    rows.append((name, dict(x.split("=", 1) for x in kv.split())))
print("## Codec\n")
print("`bench/bench_codec.sh` (program `bench/bench_codec.c`, built with `-DR2CACHE_BENCH=ON`), on every")
print("miniSEED 2 file of the real-data folder (`../shared/data/mseed`, see its SOURCES.md; libmseed 2")
print("cannot read the `.mseed3` ones). Each int32 trace segment libmseed reads from a file is one chunk")
print("body: `int32-zstd` is today's default (little-endian int32, zstd -3, the browser viewers' format),")
print("`lms-rice` the opt-in compact codec (`\"codec\": \"lms-rice\"`, byte format in docs/formats.md).")
print("Both are decoded again and compared sample by sample in the same run. **Steim2** is the same")
print("samples packed by libmseed's own packer (`msr_pack`, `DE_STEIM2`, 4096-byte records, one record")
print("series per segment, the last record padded as in a file): the ratios are to that column. The file's")
print("own size and encoding are given beside it (several are Steim1 or 512-byte records, and the")
print("`ffbx`/`qualityflags` files are many tiny segments, where a 4096-byte record is mostly padding).")
print("Speeds are MB/s of int32 samples (4 bytes a sample), CPU time of one core, best of %s." % sys.argv[2])
print("Target (issue 16, \"Storage\"): lms-rice <= 0.8x Steim2.\n")
print("| file | own encoding, bytes | samples | Steim2 bytes | int32-zstd bytes (x Steim2) | lms-rice bytes (x Steim2) | lms-rice bits/sample | encode MB/s int32-zstd / lms-rice | decode MB/s int32-zstd / lms-rice |")
print("|---|---|---|---|---|---|---|---|---|")
over = []
for name, d in rows:
    n, st2, z, lr = (float(d[k]) for k in ("samples", "steim2", "int32zstd", "lmsrice"))
    label = "**all files**" if name == "TOTAL" else "`%s`" % name
    own = "" if name == "TOTAL" else "%s, %s" % (d["encoding"], d["file"])
    if name != "TOTAL" and lr > 0.8 * st2:
        own_s2 = " (%.2fx its own Steim2 file)" % (lr / float(d["file"])) if d["encoding"] == "Steim2" else ""
        over.append("`%s`: %.2fx at %.2f bits a sample%s" % (name, lr / st2, 8 * lr / n, own_s2))
    print("| %s | %s | %d | %d | %d (%.2fx) | %d (**%.2fx**) | %.2f | %s / %s | %s / %s |" % (
        label, own, n, st2, z, z / st2, lr, lr / st2, 8 * lr / n,
        d["zenc"], d["lenc"], d["zdec"], d["ldec"]))
tot = dict(rows[-1][1]) if rows and rows[-1][0] == "TOTAL" else None
if tot:
    st2, z, lr = float(tot["steim2"]), float(tot["int32zstd"]), float(tot["lmsrice"])
    print()
    print("All files together: lms-rice is **%.2fx** the Steim2 size (target <= 0.8x), %.2fx today's"
          " int32-zstd; int32-zstd is %.2fx Steim2." % (lr / st2, lr / z, z / st2))
    if over:
        print("Above 0.8x on its own: %s. What remains there is broadband noise: after the best"
              " predictor its residuals still carry about that many bits, which the Rice codes"
              " spend, and Steim2 packs such data with little waste." % "; ".join(over))
    else:
        print("Every file is at most 0.8x on its own.")
PY
