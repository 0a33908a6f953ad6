#!/bin/sh
# bench_upload.sh: many small chunks to RGW. A local store is filled by
# `r2cache fill` (7 channels x 2 days of 10-minute chunks at 20-100 Hz:
# 2,016 blobs of ~30-150 KB, plus manifests), then the same files are
# uploaded to RGW twice each, alternating:
#   r2cache:  bench/bench_upload.c, the store's rc_store_put_async path (what
#             the engine uses for chunks: curl multi, bounded connections),
#             with 10 connections (awscli's default max_concurrent_requests);
#   aws:      aws s3 cp --recursive DIR s3://... (sidecars excluded).
# Target (issue 7): r2cache at least as fast as aws.
#
#   BUILD=build bench/bench_upload.sh     (needs -DR2CACHE_BENCH=ON)
# Env: RGW_ENV=FILE reuses a running RGW; otherwise one is started and stopped.
#      AWS: the awscli to compare with (default Debian's /usr/bin/aws when
#      present, else aws on PATH); it is given the endpoint with --endpoint-url.
# Prints the "## Upload" section of docs/benchmarks.md on stdout.
set -eu
if [ -z "${AWS:-}" ]; then
    if [ -x /usr/bin/aws ]; then AWS=/usr/bin/aws; else AWS=aws; fi
fi
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
R2=$BUILD/r2cache
BU=$BUILD/bench_upload
CONN=${CONN:-10}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_upload.XXXXXX")
OWN_RGW=0
cleanup() {
    [ "$OWN_RGW" = 1 ] && "$HERE/tests/rgw.sh" stop "$W/rgw" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
[ -x "$BU" ] || { echo "build bench_upload first (cmake -DR2CACHE_BENCH=ON)" >&2; exit 2; }
if [ -n "${RGW_ENV:-}" ] && [ -f "$RGW_ENV" ]; then
    . "$RGW_ENV"
else
    "$HERE/tests/rgw.sh" start "$W/rgw" >/dev/null
    OWN_RGW=1
    . "$W/rgw/env"
fi

echo "upload: filling the local store ..." >&2
RATES="100 100 50 50 40 20 20"
i=0
for r in $RATES; do
    "$BUILD/r2cache-synth" sds --out "$W/sds" --rate "$r" --from 2025-11-04 --to 2025-11-06 \
        --chan "XX.U$i.00.HHZ" >/dev/null 2>&1
    i=$((i + 1))
done
python3 - "$W/sds" "$W/store" "$RATES" >"$W/cfg.json" <<'PY'
import json, sys
rates = [int(x) for x in sys.argv[3].split()]
print(json.dumps({"source": "sds://" + sys.argv[1], "store": sys.argv[2], "spans": ["10m"],
    "volcanoes": [{"name": "bench", "location": "benchland", "stations": [
        {"network": "XX", "station": "U%d" % i, "location": "00", "channel": "HHZ", "sample_rate": r}
        for i, r in enumerate(rates)]}]}))
PY
"$R2" fill --config "$W/cfg.json" --from 2025-11-04 --to 2025-11-06 --log-level error >/dev/null
NFILES=$(find "$W/store" -type f ! -name '.*' | wc -l)
BYTES=$(find "$W/store" -type f ! -name '.*' -printf '%s\n' | awk '{s += $1} END {print s}')
SIZES=$(find "$W/store/data" -type f -name '*.zst' ! -name '.*' -printf '%s\n' | sort -n | awk '{a[NR] = $1} END {printf "%d-%d KB (median %d KB)", a[1] / 1024, a[NR] / 1024, a[int(NR / 2)] / 1024}')

now() { date +%s.%N; }
: >"$W/results"
for rep in 1 2; do
    echo "upload: round $rep, r2cache ..." >&2
    P=bench-upload-$$-r2-$rep
    line=$("$BU" "$W/store" "s3://$RC_TEST_BUCKET/$P" --connections "$CONN")
    n=$("$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3 ls --recursive "s3://$RC_TEST_BUCKET/$P/" | wc -l)
    echo "r2cache|$rep|$(echo "$line" | sed 's/.*seconds=//')|$n" >>"$W/results"
    echo "upload: round $rep, aws ..." >&2
    P=bench-upload-$$-aws-$rep
    t0=$(now)
    "$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --recursive --quiet --exclude '*/.*' --exclude '.*' "$W/store" "s3://$RC_TEST_BUCKET/$P"
    t1=$(now)
    n=$("$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3 ls --recursive "s3://$RC_TEST_BUCKET/$P/" | wc -l)
    echo "aws|$rep|$(echo "$t1 - $t0" | bc)|$n" >>"$W/results"
done
AWSV=$("$AWS" --version 2>&1 | cut -d' ' -f1)

python3 - "$W/results" "$NFILES" "$BYTES" "$SIZES" "$CONN" "$AWSV" <<'PY'
import sys
res, nfiles, nbytes, sizes, conn, awsv = sys.argv[1:7]
rows = [l.strip().split("|") for l in open(res) if l.strip()]
best = {}
for who, rep, secs, n in rows:
    best[who] = min(best.get(who, 1e9), float(secs))
print("## Upload\n")
print("`bench/bench_upload.sh`. A local store filled by `r2cache fill` (7 channels x 2 days of 10-minute")
print("chunks at 20-100 Hz) is uploaded to the RGW test server (tests/rgw.sh) by r2cache's store and by")
print("`aws s3 cp --recursive` (%s, default 10 concurrent requests), twice each, alternating." % awsv)
print("r2cache's side is `bench/bench_upload.c`: every file read and queued with `rc_store_put_async`,")
print("the S3 backend's bounded-concurrency path (curl multi, SigV4, Content-MD5) that the engine uses")
print("for chunks, with %s connections to match awscli; then `rc_store_wait`. It is not `r2cache migrate`" % conn)
print("(which reads every copy back to verify it) nor a fill (which also decodes and compresses).")
print("Target (issue 7): r2cache at least as fast as aws.\n")
print("%s files (%s bytes; chunk sizes %s), same files both ways." % (nfiles, "{:,}".format(int(nbytes)), sizes))
print()
print("| round | uploader | wall | objects listed afterwards | files/s |")
print("|---|---|---|---|---|")
for who, rep, secs, n in rows:
    print("| %s | %s | %.2f s | %s | %.0f |" % (rep, "r2cache (rc_store_put_async)" if who == "r2cache" else "aws s3 cp --recursive",
                                       float(secs), n, int(nfiles) / float(secs)))
r = best["aws"] / best["r2cache"]
print()
print("Best of each: r2cache **%.2f s**, aws **%.2f s**: r2cache is **%.2fx** the speed of aws (time ratio r2cache/aws %.2f); target: %s." % (
    best["r2cache"], best["aws"], r, best["r2cache"] / best["aws"], "met" if best["r2cache"] <= best["aws"] else "**not met**"))
PY
