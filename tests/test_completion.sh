#!/usr/bin/env bash
# test_completion.sh SOURCE_DIR BINARY_DIR
#
# The shell completions of contrib/ as a shell runs them: commands and
# options from the built binary's --help, and --volcano/--station from the
# configuration named by --config (examples/hearts.json and a file with
# escapes, odd spacing and a volcano without stations), through bash (no
# bash-completion package needed) and zsh (compadd recorded). Exits 77 when
# zsh is absent after the bash checks passed.
set -euo pipefail
src=${1:?source dir}
bin=${2:?binary dir}/r2cache
fail() { echo "FAIL: $*" >&2; exit 1; }
cfg=$src/examples/hearts.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/odd.json" <<'JSON'
{"volcanoes":[{"stations":[{"channel":"HHZ","network":"XX","station":"A\"B","location":"00"}],
  "name" :  "west \"peak\""},
 {"name": "empty", "stations": []},
 {"name": "nostations"}],
 "store": "/tmp/x"}
JSON

# the names reader alone
got=$(awk -f "$src/contrib/config-names.awk" "$tmp/odd.json")
want=$'station XX.A"B.00.HHZ\nvolcano west "peak"\nvolcano empty'
[ "$got" = "$want" ] || fail "config-names.awk on odd.json: $got"
n=$(awk -f "$src/contrib/config-names.awk" "$cfg" | grep -c '^station ')
want_n=$(python3 -c 'import json,sys; print(sum(len(v["stations"]) for v in json.load(open(sys.argv[1]))["volcanoes"]))' "$cfg")
[ "$n" = "$want_n" ] || fail "hearts.json: $n stations read, $want_n in the file"

bash_complete() { # CWORD WORD...
  bash --norc --noprofile -c 'source "$1"; shift; COMP_CWORD=$1; shift; COMP_WORDS=("$@")
    _r2cache; printf "%s\n" "${COMPREPLY[@]}"' _ "$src/contrib/bash-completion/r2cache" "$@"
}
got=$(bash_complete 5 "$bin" fill --config "$cfg" --volcano s | sort | tr '\n' ' ')
[ "$got" = "shishaldin spurr " ] || fail "bash --volcano s: $got"
got=$(bash_complete 4 "$bin" get --config="$cfg" --station AV.GSM | sort | tr '\n' ' ')
[ "$got" = "AV.GSMY..BDF AV.GSMY..BHZ " ] || fail "bash --station AV.GSM: $got"
# bash splits --config=FILE at '=' (COMP_WORDBREAKS)
got=$(bash_complete 6 "$bin" get --config = "$cfg" --volcano kil)
[ "$got" = "kilauea" ] || fail "bash --config = FILE: $got"
got=$(bash_complete 4 "$bin" fill --volcano k)
[ -z "$got" ] || fail "bash without --config completed: $got"
got=$(bash_complete 1 "$bin" mi)
[ "$got" = "migrate" ] || fail "bash command mi: $got"
got=$(bash_complete 2 "$bin" fill --progress-i)
[ "$got" = "--progress-interval" ] || fail "bash fill --progress-i: $got"

if ! command -v zsh >/dev/null; then
  echo "SKIPPED: zsh is not installed (bash completion passed)"; exit 77
fi
zsh_complete() { # CURRENT PREFIX WORD...
  zsh -f -c 'compdef() { :; }
    compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -l -- "$@"; }
    _files() { print _files; }
    source "$1"; shift; CURRENT=$1; PREFIX=$2; shift 2; words=("$@"); _r2cache' \
    _ "$src/contrib/zsh/_r2cache" "$@"
}
got=$(zsh_complete 6 "" "$bin" fill --config "$cfg" --volcano "" | tr '\n' ' ')
[ "$got" = "kilauea maunaloa greatsitkin shishaldin spurr " ] || fail "zsh --volcano: $got"
got=$(zsh_complete 5 "" "$bin" fill --config="$tmp/odd.json" --station "")
[ "$got" = 'XX.A"B.00.HHZ' ] || fail "zsh --station (odd.json): $got"
got=$(zsh_complete 4 "" "$bin" fill --config "")
[ "$got" = "_files" ] || fail "zsh --config: $got"
got=$(zsh_complete 3 --progress-i "$bin" fill --progress-i | grep -c -- '^--progress-interval$')
[ "$got" = 1 ] || fail "zsh fill options lack --progress-interval"
got=$(zsh_complete 2 "" "$bin" "" | grep -c -E '^(run|fill|migrate|inventory)$')
[ "$got" = 4 ] || fail "zsh commands: $got of run, fill, migrate, inventory"
echo "ok: bash and zsh completions"
