#!/usr/bin/env bash
# The whole test suite: install what it needs, build with AddressSanitizer and
# UndefinedBehaviorSanitizer, run every test through CTest (the RGW S3 server
# and the FDSN test server are started and stopped by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
build=${RC_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DR2CACHE_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
