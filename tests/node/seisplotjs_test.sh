#!/usr/bin/env bash
# seisplotjs_test.sh BUILD_DIR: `r2cache serve` read by npm's seisplotjs
# (fdsndataselect.DataSelectQuery, fdsnavailability.AvailabilityQuery).
# A synthetic SDS archive (20 Hz, across midnight, a filled chunk tail, a window
# without data, a filled chunk head, a filled second inside a chunk) is filled
# into a local store by the real `r2cache fill`; serve answers on a free port;
# seisplotjs_check.mjs compares what the client decodes with `r2cache get`.
# Exit 77 (CTest: skipped) when node or npm is absent or seisplotjs cannot be
# installed.
set -euo pipefail
build=$(cd "${1:?usage: seisplotjs_test.sh BUILD_DIR}" && pwd)
here=$(cd "${0%/*}" && pwd)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node or npm is not installed; the seisplotjs client test did not run"
  exit 77
fi
if [ ! -d "$here/node_modules/seisplotjs" ]; then
  if ! (cd "$here" && npm ci --no-audit --no-fund --silent >&2); then
    echo "SKIPPED: npm could not install seisplotjs (tests/node/package-lock.json)"
    exit 77
  fi
fi
mkdir -p "$build/test-tmp"
dir=$(mktemp -d "$build/test-tmp/seisplotjs.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
"$build/r2cache-synth" sds --out "$dir/sds" --rate 20 --from 2025-11-04T23:00:00Z \
  --to 2025-11-05T01:00:00Z --chan XX.GAP..HHZ \
  --gap 2025-11-04T23:29:30Z/2025-11-04T23:30:00Z --gap 2025-11-04T23:40:00Z/2025-11-04T23:50:00Z \
  --gap 2025-11-05T00:10:00Z/2025-11-05T00:10:03Z --gap 2025-11-05T00:31:00Z/2025-11-05T00:31:01Z >/dev/null
cat >"$dir/config.json" <<JSON
{"source": "sds://$dir/sds", "store": "$dir/store",
 "volcanoes": [{"name": "testvol", "location": "testland", "stations": [
  {"network": "XX", "station": "GAP", "location": "", "channel": "HHZ", "sample_rate": 20}]}]}
JSON
"$build/r2cache" fill --config "$dir/config.json" --all --from 2025-11-04T23:00:00Z \
  --to 2025-11-05T01:00:00Z --log-format text 2>"$dir/fill.log" || { cat "$dir/fill.log"; exit 1; }
"$build/r2cache" serve --config "$dir/config.json" --listen 127.0.0.1:0 --log-format text \
  2>"$dir/serve.log" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$dir/serve.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "serve did not start:"; cat "$dir/serve.log"; exit 1; }
check() { # FROM TO DROP SEGMENTS
  "$build/r2cache" get XX.GAP..HHZ --config "$dir/config.json" --from "$1" --to "$2" \
    --format csv >"$dir/get.csv" 2>/dev/null || true
  node "$here/seisplotjs_check.mjs" "$port" XX GAP -- HHZ "$1" "$2" "$dir/get.csv" "$3" "$4"
}
# across the filled tail, the window without data, midnight, the filled head
# and the filled second inside a chunk
check 2025-11-04T23:15:00Z 2025-11-05T00:35:00Z \
  2025-11-04T23:29:30Z/2025-11-04T23:30:00Z,2025-11-05T00:10:00Z/2025-11-05T00:10:03Z 4
# just across midnight: one segment
check 2025-11-04T23:55:00Z 2025-11-05T00:05:00Z "" 1
