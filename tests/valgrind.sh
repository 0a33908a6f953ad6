#!/usr/bin/env bash
# valgrind.sh BUILD: the end-to-end binary invocations (run, fill, get and a
# config error) under valgrind memcheck, --error-exitcode=1, leak check full.
# BUILD must be a build WITHOUT sanitizers (ASan and valgrind exclude each
# other). Exit 0 = zero reports; 77 = skipped (valgrind absent), visibly.
set -euo pipefail
build=${1:?usage: valgrind.sh BUILD_DIR}
if ! command -v valgrind >/dev/null; then echo "SKIPPED: valgrind is absent" >&2; exit 77; fi
if nm "$build/r2cache" 2>/dev/null | grep __asan_init >/dev/null; then  # no -q: with pipefail an early exit would fail nm
  echo "SKIPPED: $build/r2cache is built with AddressSanitizer; valgrind needs a plain build" >&2; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
vg=(valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --track-fds=no)
"$build/r2cache-synth" sds --out "$tmp/sds" --chan XX.VGA..HHZ --rate 20 \
  --from 2025-11-04T00:00:00Z --to 2025-11-04T02:00:00Z >/dev/null
cat >"$tmp/c.json" <<JSON
{"source": "sds://$tmp/sds", "store": "$tmp/store", "spans": ["10m", "1h"],
 "run": {"retry_interval": "1s", "retry_max": "1s"},
 "volcanoes": [{"name": "vg", "stations": [{"network": "XX", "station": "VGA", "location": "", "channel": "HHZ", "sample_rate": 20}]}]}
JSON
fail=0
check() { # expected-exit args...
  local want=$1; shift
  set +e; "${vg[@]}" --log-file="$tmp/vg.log" "$build/r2cache" "$@" >/dev/null 2>"$tmp/err"; rc=$?; set -e
  if [ -s "$tmp/vg.log" ] || [ $rc -ne "$want" ]; then
    echo "FAIL: r2cache $* (exit $rc, expected $want)"; cat "$tmp/vg.log"; fail=1
  else echo "ok: r2cache $*"; fi
}
check 0 run --config "$tmp/c.json" --now 2025-11-04T02:02:00Z --lookback 2h --log-level error
check 0 fill --config "$tmp/c.json" --from 2025-11-04T00:00:00Z --to 2025-11-04T02:00:00Z --force --log-level error
check 0 get XX.VGA..HHZ --config "$tmp/c.json" --from 2025-11-04T00:00:00Z --to 2025-11-04T00:10:00Z
check 2 run --config "$tmp/c.json" --station XX.../..HHZ
exit $fail
