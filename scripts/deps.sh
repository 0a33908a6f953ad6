#!/usr/bin/env bash
# Install the Debian packages r2cache needs to build, test and benchmark.
# Idempotent; uses sudo when not root. Set RC_DEPS=runtime for the build only.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
build=(build-essential cmake pkg-config libcurl4-openssl-dev libzstd-dev libcjson-dev
       libmseed-dev libssl-dev libmicrohttpd-dev ca-certificates)
tests=(libcriterion-dev python3 python3-yaml python3-jsonschema curl zstd radosgw ceph-mon ceph-osd ceph-common awscli procps
       clang-14 libclang-rt-14-dev valgrind time openssl clang-format wrk nginx-light zsh)
pkgs=("${build[@]}")
if [ "${RC_DEPS:-all}" != "runtime" ]; then pkgs+=("${tests[@]}"); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
