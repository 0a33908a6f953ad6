#!/usr/bin/env bash
# check_includes.sh [REPO]: the include graph of src/ and include/r2cache/
# has no cycle, and the private backend headers stay private.
#
# Nodes are modules: src/NAME.c, src/NAME.h, src/NAME_int.h and
# include/r2cache/NAME.h are one node NAME, so "a.c includes b.h while b.c
# includes a.h" is a cycle (a <-> b) even though no header includes itself. Each cycle found is
# printed as "a -> b -> a" with the #include lines that make it.
#
# Private headers (the backend interfaces: store_int.h, source_int.h,
# s3_int.h, store_file_int.h, source_fdsn_int.h) may be included only by the
# backends' files:
# src/store*.c|h, src/source*.c|h, src/s3_*.c|h, src/file_*.c. Any other
# includer is printed as "FILE includes HEADER (private to the backends)".
#
# Exit 0 when clean, 1 otherwise. CTest: `includes`.
set -euo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
exec python3 - "$repo" <<'PY'
import os, re, sys

repo = sys.argv[1]
src = os.path.join(repo, "src")
pub = os.path.join(repo, "include", "r2cache")
private = {"store_int.h", "source_int.h", "s3_int.h", "store_file_int.h", "source_fdsn_int.h"}
backend = re.compile(r"^(store[^/]*|source[^/]*|s3_[^/]*|file_[^/]*)\.[ch]$")
inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

files = []
for d in (src, pub):
    for n in sorted(os.listdir(d)):
        if n.endswith((".c", ".h")):
            files.append(os.path.join(d, n))

def resolve(f, name):
    """The file an #include "name" in f means, or None (system, generated)."""
    if name.startswith("r2cache/"):
        p = os.path.join(repo, "include", name)
    else:
        p = os.path.join(os.path.dirname(f), name)
    return os.path.normpath(p) if os.path.isfile(p) else None

def module(p):
    name, ext = os.path.splitext(os.path.basename(p))
    # NAME_int.h is the private half of module NAME's interface
    return name[:-4] if ext == ".h" and name.endswith("_int") else name

def rel(p):
    return os.path.relpath(p, repo)

edges = {}  # module -> {module: "file:line: #include ..."}
bad = 0
for f in files:
    with open(f, encoding="utf-8", errors="replace") as fh:
        for ln, line in enumerate(fh, 1):
            m = inc_re.match(line)
            if not m:
                continue
            t = resolve(f, m.group(1))
            if t is None:
                continue
            base = os.path.basename(t)
            if base in private and os.path.dirname(f) == src and not backend.match(os.path.basename(f)):
                print(f"{rel(f)}:{ln}: includes {base} (private to the backends: "
                      f"store*, source*, s3_*, file_*)")
                bad = 1
            a, b = module(f), module(t)
            if a != b:
                edges.setdefault(a, {}).setdefault(b, f"{rel(f)}:{ln}: {line.strip()}")

# Cycles: depth-first search; report each cycle once (by its node set).
WHITE, GREY, BLACK = 0, 1, 2
color, stack, seen = {}, [], set()

def dfs(u):
    global bad
    color[u] = GREY
    stack.append(u)
    for v in sorted(edges.get(u, {})):
        c = color.get(v, WHITE)
        if c == WHITE:
            dfs(v)
        elif c == GREY:
            cyc = stack[stack.index(v):] + [v]
            key = frozenset(cyc)
            if key not in seen:
                seen.add(key)
                bad = 1
                print("include cycle: " + " -> ".join(cyc))
                for x, y in zip(cyc, cyc[1:]):
                    print("    " + edges[x][y])
    stack.pop()
    color[u] = BLACK

for u in sorted(set(edges) | {v for e in edges.values() for v in e}):
    if color.get(u, WHITE) == WHITE:
        dfs(u)

if not bad:
    n = sum(len(e) for e in edges.values())
    print(f"includes: {len(files)} files, {n} module dependencies, no cycle, "
          "private backend headers included only by the backends")
sys.exit(bad)
PY
