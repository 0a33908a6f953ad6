#!/usr/bin/env bash
# ThreadSanitizer smoke: the commands whose store I/O runs on worker threads
# (the engine's plan and manifest batches, inventory's parallel reads and
# month rebuilds) built with -fsanitize=thread and run end to end against the
# FDSN test server, on the local store and on RGW (tests/rgw.sh). Criterion
# cannot start under TSan, so this drives the binary directly. Any TSan report
# (exit status 66) or unexpected exit status fails the script. Servers started
# here are stopped by their pids, pass or fail.
#   scripts/tsan_smoke.sh [BUILD_DIR]      (default build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
build=${1:-build-tsan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build "$build" --target r2cache r2cache-synth -j"$(nproc)" >/dev/null
build=$(cd "$build" && pwd)
r2=$build/r2cache
w=$(mktemp -d "${TMPDIR:-/tmp}/tsan_smoke.XXXXXX")
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null || true
  [ -f "$w/rgw/env" ] && "$here/tests/rgw.sh" stop "$w/rgw" >/dev/null 2>&1 || true
  rm -rf "$w"
}
trap cleanup EXIT INT TERM
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 log_path=$w/tsan"

# 20 channels (more than one worker's share of a batch), one day at 20 Hz
chans=() stas=""
for i in $(seq -w 1 20); do
  chans+=(--chan "XX.T$i..HHZ")
  stas="$stas{\"network\":\"XX\",\"station\":\"T$i\",\"location\":\"\",\"channel\":\"HHZ\",\"sample_rate\":20},"
done
"$build/r2cache-synth" sds --out "$w/sds" --rate 20 --from 2025-11-04T00:00:00Z \
  --to 2025-11-05T00:00:00Z "${chans[@]}" >/dev/null
python3 "$here/tests/fdsn_server.py" --sds "$w/sds" --port 0 >"$w/srv.out" 2>/dev/null &
srv=$!
for _ in $(seq 100); do grep -q READY "$w/srv.out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/READY/ {print $2}' "$w/srv.out")
[ -n "$port" ] || { echo "tsan_smoke: FDSN test server did not start" >&2; exit 1; }
cat >"$w/cfg.json" <<EOF
{"source": "http://127.0.0.1:$port", "store": "$w/store",
 "volcanoes": [{"name": "tv", "location": "tl", "stations": [${stas%,}]}]}
EOF

fail=0
step() { # expected-exit command...
  local want=$1; shift
  local rc=0
  "$r2" "$@" --config "$w/cfg.json" --log-level error >"$w/out" 2>"$w/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL (exit $rc, expected $want): r2cache $*" >&2
    tail -3 "$w/err" >&2
    fail=1
  else
    echo "ok: r2cache $*"
  fi
}
scenario() { # extra options (a store)
  step 0 fill --from 2025-11-04T00:00:00Z --to 2025-11-04T06:00:00Z "$@"
  step 0 run --now 2025-11-04T06:12:00Z --lookback 30m "$@"
  step 0 inventory --scope all "$@"
  step 0 fill --from 2025-11-04T06:00:00Z --to 2025-11-04T07:00:00Z "$@"
  step 0 inventory --scope all "$@" # the 20 months marked stale: rebuilt in parallel
  step 0 fill --from 2025-11-04T05:00:00Z --to 2025-11-04T07:00:00Z --force "$@"
  step 0 reindex --from 2025-11-04 --to 2025-11-05 "$@"
  step 0 verify --from 2025-11-04 --to 2025-11-05 "$@"
}
scenario
if "$here/tests/rgw.sh" start "$w/rgw" >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  . "$w/rgw/env"
  scenario --store "s3://$RC_TEST_BUCKET/tsan"
else
  echo "tsan_smoke: SKIPPED the RGW half: tests/rgw.sh did not start" >&2
fi
if ls "$w"/tsan* >/dev/null 2>&1; then
  echo "tsan_smoke: ThreadSanitizer reports:" >&2
  cat "$w"/tsan* >&2
  fail=1
fi
[ "$fail" = 0 ] && echo "tsan_smoke: no ThreadSanitizer report"
exit "$fail"
