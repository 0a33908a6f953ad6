#!/usr/bin/env bash
# check_format.sh [--fix]: the C sources against .clang-format (Debian's
# clang-format). Without --fix, lists every file that differs and exits 1;
# with --fix, rewrites them in place. CTest runs it as the test `format`.
set -euo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null; then
  echo "check_format: $cf not found (apt-get install clang-format)" >&2
  exit 1
fi
files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 'tests/*.c' 'tests/*.h' 'tools/*.c' 'bench/*.c' 2>/dev/null ||
        find src include tests tools bench -name '*.[ch]')
if [ "${1:-}" = --fix ]; then
  # shellcheck disable=SC2086
  "$cf" -i $files
  exit 0
fi
bad=0
for f in $files; do
  if ! "$cf" "$f" | cmp -s - "$f"; then
    echo "check_format: $f differs from .clang-format (scripts/check_format.sh --fix rewrites it)" >&2
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "check_format: $(echo "$files" | wc -w) files as .clang-format says"
exit $bad
