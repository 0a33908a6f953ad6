#!/usr/bin/env bash
# run.sh TARGET SECONDS [extra libFuzzer flags]: fuzz one target for SECONDS
# (random: a long hunt, never a CI step).
# run.sh TARGET replay [extra flags]: what CI runs, deterministic: every seed
# and every committed reproducer (tests/fuzz/crashes/TARGET-*) once, then
# RC_FUZZ_RUNS (default 20000) mutations from the fixed seed RC_FUZZ_SEED
# (default 1) over the seeds alone; the same inputs give the same verdict.
# TARGET: key manifest config mseed s3list s3error fdsnq codec. Builds the target in
# $RC_FUZZ_BUILD (default build-fuzz, clang-14, -DR2CACHE_FUZZ=ON) when it is
# missing, makes the seed corpus once (make_corpus.sh), keeps the growing
# corpus in BUILD/fuzz-corpus/TARGET and writes any crash reproducer to
# BUILD/fuzz-artifacts/TARGET/. Exit status: libFuzzer's (0 = no crash).
# The last line is a one-line summary for docs/fuzzing.md.
set -euo pipefail
target=${1:?usage: run.sh TARGET SECONDS}
secs=${2:?usage: run.sh TARGET SECONDS}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${RC_FUZZ_BUILD:-$repo/build-fuzz}
bin=$build/fuzz_$target
if [ ! -x "$bin" ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang-14 -DR2CACHE_FUZZ=ON >/dev/null
  cmake --build "$build" --target "fuzz_$target" -j2 >/dev/null
fi
seeds=$build/fuzz-seeds
if [ ! -f "$seeds/.complete" ]; then
  rm -rf "$seeds"
  "$here/make_corpus.sh" "$seeds" "$build"
  touch "$seeds/.complete"
fi
corpus=$build/fuzz-corpus/$target
art=$build/fuzz-artifacts/$target
mkdir -p "$corpus" "$art" "$seeds/$target"
replay=0
if [ "$secs" = replay ]; then
  replay=1
  # a fresh corpus each replay, so nothing from an earlier random run leaks in
  corpus=$build/fuzz-replay/$target
  rm -rf "$corpus"; mkdir -p "$corpus"
  for f in "$here"/crashes/"$target"-*; do [ -f "$f" ] && cp "$f" "$corpus/"; done
fi
dict=()
case $target in
  key) dict=(-dict="$here/key.dict") ;;
  manifest | config) dict=(-dict="$here/json.dict") ;;
  s3list | s3error) dict=(-dict="$here/xml.dict") ;;
esac
maxlen=()
[ "$target" = mseed ] && maxlen=(-max_len=16384)
log=$build/fuzz-$target.log
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ $replay -eq 1 ]; then
  budget=(-seed="${RC_FUZZ_SEED:-1}" -runs="${RC_FUZZ_RUNS:-20000}")
else
  budget=(-max_total_time="$secs")
fi
set +e
"$bin" "${budget[@]}" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$art/" "${dict[@]}" "${maxlen[@]}" "$@" "$corpus" "$seeds/$target" >"$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | tr -dc 0-9)
crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
if [ $rc -ne 0 ]; then
  echo "fuzz $target: FAILED (exit $rc); log $log, reproducers in $art:" >&2
  grep -E 'ERROR|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
fi
echo "fuzz $target: ${execs:-?} execs ($([ $replay -eq 1 ] && echo "replay, seed ${RC_FUZZ_SEED:-1}" || echo "$secs s")), coverage ${cov:-?} edges, corpus $(find "$corpus" -type f | wc -l) files, artifacts $crashes, exit $rc"
exit $rc
