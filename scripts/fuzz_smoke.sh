#!/usr/bin/env bash
# CI fuzz smoke: build the libFuzzer targets with clang (-DR2CACHE_FUZZ=ON)
# in their own build directory and run each for RC_FUZZ_SECONDS (default 20)
# through CTest (label "fuzz"). Long runs: tests/fuzz/run.sh TARGET SECONDS,
# results in docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${RC_FUZZ_BUILD:-build-fuzz}
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang-14 -DR2CACHE_FUZZ=ON \
  -DRC_FUZZ_SMOKE_SECONDS="${RC_FUZZ_SECONDS:-20}" >/dev/null
targets=$(cd "$build" && ctest -N -L fuzz | sed -n 's/^ *Test *#[0-9]*: fuzz_//p')
# r2cache and r2cache-synth write the key and manifest seeds
cmake --build "$build" --target r2cache r2cache-synth $(printf ' fuzz_%s' $targets) -j2 >/dev/null
cd "$build"
ctest -L fuzz --output-on-failure
