#!/usr/bin/env bash
# test_package.sh SOURCE_DIR WORK_DIR
#
# The .deb as an operator gets it: configure a Release build of its own in
# WORK_DIR (no sanitizers, no tests), build r2cache, `cpack -G DEB`, check the
# package's dependencies and files, install it with dpkg -i, run
# /usr/bin/r2cache --help and --version, read the man page, check the
# systemd units, the completions and the r2cache user postinst creates,
# then remove it and check it is gone. Needs root (or passwordless sudo);
# exits 77 (skipped) otherwise. Serialised with flock: two runs must not fight over dpkg.
set -euo pipefail
src=${1:?source dir}
work=${2:?work dir}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "SKIPPED: installing a .deb needs root or passwordless sudo"; exit 77; fi
fi
for t in cpack dpkg dpkg-deb; do
  command -v $t >/dev/null || { echo "SKIPPED: $t is not installed"; exit 77; }
done
if dpkg-query -W -f='${Status}' r2cache 2>/dev/null | grep -q "install ok installed"; then
  echo "SKIPPED: a package r2cache is already installed here; not replacing it"; exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

exec 9>/tmp/r2cache-test-package.lock
flock -w 600 9 || fail "another package test holds /tmp/r2cache-test-package.lock"

mkdir -p "$work"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DR2CACHE_SANITIZE=OFF >/dev/null
cmake --build "$work/build" --target r2cache -j2 >/dev/null
rm -f "$work"/build/r2cache_*.deb
(cd "$work/build" && cpack -G DEB >/dev/null)
deb=$(ls "$work"/build/r2cache_*_amd64.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || deb=$(ls "$work"/build/r2cache_*.deb | head -n 1)
[ -f "$deb" ] || fail "cpack made no .deb in $work/build"
echo "package: $deb"

info=$(dpkg-deb -I "$deb")
for dep in libcurl4 libzstd1 libcjson1 libmseed2 libssl3; do
  echo "$info" | grep -E "^ Depends:.*\b$dep\b" >/dev/null || fail "Depends lacks $dep: $info"
done
echo "$info" | grep -q "^ Package: r2cache$" || fail "package name: $info"
files=$(dpkg-deb -c "$deb")
for f in ./usr/bin/r2cache ./usr/share/man/man1/r2cache.1 \
         ./usr/share/bash-completion/completions/r2cache \
         ./usr/share/zsh/vendor-completions/_r2cache ./usr/share/r2cache/config-names.awk \
         ./usr/lib/systemd/system/r2cache-run.service ./usr/lib/systemd/system/r2cache-run.timer \
         ./usr/lib/systemd/system/r2cache-recover.service \
         ./usr/lib/systemd/system/r2cache-recover.timer \
         ./usr/lib/systemd/system/r2cache-serve.service; do
  echo "$files" | grep -q " $f\$" || fail "$f is not in the package:
$files"
done
# maintainer scripts: postinst (the user), prerm (stop), postrm (reload)
for m in postinst prerm postrm; do
  grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$m( |$)" <<<"$info" ||
    fail "the package has no executable $m: $info"
done
# the packaged binary must not need the sanitizer runtime or the build tree
rm -rf "$work/x"
dpkg-deb -x "$deb" "$work/x"
for u in "$src"/deploy/systemd/*; do
  cmp -s "$u" "$work/x/usr/lib/systemd/system/$(basename "$u")" ||
    fail "$(basename "$u") in the package differs from deploy/systemd"
done
if ldd "$work/x/usr/bin/r2cache" | grep -E "asan|ubsan|not found"; then
  fail "the packaged binary links the sanitizers or misses a library"
fi

had_user=0
getent passwd r2cache >/dev/null && had_user=1
cleanup() {
  $SUDO dpkg -r r2cache >/dev/null 2>&1 || true
  # the package keeps its user on removal (Debian policy); the test does not
  if [ "$had_user" -eq 0 ] && getent passwd r2cache >/dev/null; then
    $SUDO userdel r2cache >/dev/null 2>&1 || true
    $SUDO groupdel r2cache >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
$SUDO dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb failed"
[ -x /usr/bin/r2cache ] || fail "/usr/bin/r2cache missing after dpkg -i"
getent passwd r2cache >/dev/null || fail "postinst created no r2cache user (User= of the units)"
[ -d /var/lib/r2cache ] || fail "postinst created no /var/lib/r2cache"
# the installed bash completion finds the installed names reader
cfg="$src/examples/hearts.json"
got=$(bash -c 'source /usr/share/bash-completion/completions/r2cache
  COMP_WORDS=(r2cache fill --config "$1" --volcano ki); COMP_CWORD=5; _r2cache
  echo "${COMPREPLY[*]}"' _ "$cfg") || fail "bash completion failed"
[ "$got" = "kilauea" ] || fail "installed bash completion of --volcano ki: \"$got\""
out=$(/usr/bin/r2cache --help) || fail "/usr/bin/r2cache --help exited $?"
echo "$out" | grep -q "^usage: r2cache COMMAND" || fail "unexpected --help: $out"
echo "$out" | grep -q "^  run " || fail "--help lists no run command: $out"
ver=$(/usr/bin/r2cache --version) || fail "--version exited $?"
echo "$ver" | grep -Eq "^r2cache [0-9]+\.[0-9]+\.[0-9]+" || fail "unexpected --version: $ver"
echo "$ver" | grep -q "libmseed 2\." || fail "--version names no libmseed: $ver"
set +e
/usr/bin/r2cache run --config /nonexistent/stations.json --log-format text 2>/dev/null
code=$?
set -e
[ "$code" -eq 2 ] || fail "a missing configuration should exit 2, got $code"
if command -v man >/dev/null; then
  man -P cat r2cache 2>/dev/null | grep -q "EXIT STATUS" || fail "man r2cache does not show the page"
fi
$SUDO dpkg -r r2cache >/dev/null || fail "dpkg -r r2cache failed"
[ ! -e /usr/lib/systemd/system/r2cache-run.service ] || fail "units still there after dpkg -r"
cleanup
trap - EXIT
[ ! -e /usr/bin/r2cache ] || fail "/usr/bin/r2cache still there after dpkg -r"
echo "ok: $(basename "$deb") installs, runs and removes cleanly"
