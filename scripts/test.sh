#!/usr/bin/env bash
# The whole test suite: install what it needs, build with AddressSanitizer and
# UndefinedBehaviorSanitizer, run every test through CTest (the RGW S3 server
# and the FDSN test server are started and stopped by the tests themselves),
# then the end-to-end commands under valgrind on a plain build, a short run of
# every libFuzzer target, and the threaded commands under ThreadSanitizer
# (scripts/tsan_smoke.sh). Arguments go to ctest (e.g. -R run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
build=${RC_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DR2CACHE_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
(cd "$build" && ctest --output-on-failure --timeout 900 "$@") || status=1
if [ "$#" -eq 0 ]; then
  echo "== valgrind (plain build) =="
  cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
  cmake --build build-valgrind --target r2cache r2cache-synth -j"$(nproc)" >/dev/null
  tests/valgrind.sh build-valgrind || status=1
  echo "== fuzz smoke (libFuzzer, short runs) =="
  ./scripts/fuzz_smoke.sh || status=1
  echo "== ThreadSanitizer smoke (threaded commands, local store and RGW) =="
  ./scripts/tsan_smoke.sh || status=1
fi
exit $status
