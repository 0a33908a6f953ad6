#!/usr/bin/env bash
# CI fuzz smoke: build the libFuzzer targets with clang (-DR2CACHE_FUZZ=ON)
# in their own build directory and replay each through CTest (label "fuzz"):
# every seed and committed reproducer once, then RC_FUZZ_RUNS mutations from a
# fixed seed, so the verdict never depends on luck. RC_FUZZ_SECONDS=N turns
# the smoke into N seconds of random fuzzing per target (not for CI).
# Long runs: tests/fuzz/run.sh TARGET SECONDS, results in docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${RC_FUZZ_BUILD:-build-fuzz}
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang-14 -DR2CACHE_FUZZ=ON \
  -DRC_FUZZ_SMOKE_SECONDS="${RC_FUZZ_SECONDS:-replay}" >/dev/null
targets=$(cd "$build" && ctest -N -L fuzz | sed -n 's/^ *Test *#[0-9]*: fuzz_//p')
# r2cache and r2cache-synth write the key and manifest seeds
cmake --build "$build" --target r2cache r2cache-synth $(printf ' fuzz_%s' $targets) -j2 >/dev/null
cd "$build"
ctest -L fuzz --output-on-failure
