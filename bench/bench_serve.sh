#!/bin/sh
# bench_serve.sh: `r2cache serve` under load, beside nginx serving the same
# bytes, in the same run (issue 14).
#
# The cache: the quickstart's (scripts/quickstart.sh), at a fixed date: a
# synthetic SDS archive for the 15 stations of examples/hearts.json
# (2025-11-04 12:00-21:10), cached by two `r2cache run`s (18:02, which builds
# the 12-18 h 6-hour chunks, and 21:02) into a local store.
# Two requests, each timed with wrk on loopback (64 connections, 2 threads,
# DURATION seconds, --latency), ROUNDS rounds alternating nginx and serve:
#   GET /api/cache-status?scope=all
#   GET /fdsnws/dataselect/1/query?net=HV&sta=UWE&loc=--&cha=HHZ&start=...&end=... (10 minutes)
# The reference: Debian's nginx (nginx-light), started here on a free port with
# its own configuration in the scratch directory (foreground, stopped by its
# pid), serving serve's own answers to the same URLs as static files.
# Memory: a fresh serve process, RSS (/proc/PID/status VmRSS) after 1,000 and
# after 100,000 requests (counted by serve's /metrics; 64 connections, one
# request in DS_EVERY, default 100, the dataselect query, the others cache-status).
# Targets (issue 14): request rate >= 0.5x nginx's, p99 reported; RSS after
# 100,000 within 10 % of RSS after 1,000.
#
#   BUILD=build-rel bench/bench_serve.sh
# Env: DURATION (s per wrk run, default 10), ROUNDS (default 3), CONNS (64), DS_EVERY (100),
#   MEM_STEPS (requests at which RSS is read, default "1000 10000 30000 100000"),
#   KEEP=1 keeps the scratch directory.
# Prints the "## Serve" section of docs/benchmarks.md on stdout (bench/run_all.sh);
# progress on stderr. Every process it starts is stopped by its pid on exit.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
R2=$BUILD/r2cache
SYNTH=$BUILD/r2cache-synth
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
NGINX=${NGINX:-/usr/sbin/nginx}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_serve.XXXXXX")
SERVE_PID=
NGINX_PID=
WRK_PID=
alive() { # $1 pid: running (a child that exited stays a zombie until waited for)
    st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}
stop_pid() { # $1 pid (a child of this shell): SIGTERM, up to 15 s, then SIGKILL; reaped
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    i=0
    while alive "$1" && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    stop_pid "$WRK_PID"; WRK_PID=
    stop_pid "$SERVE_PID"; SERVE_PID=
    stop_pid "$NGINX_PID"; NGINX_PID=
    [ "${KEEP:-0}" = 1 ] && echo "bench_serve: kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for p in "$R2" "$SYNTH"; do [ -x "$p" ] || { echo "bench_serve: build $p first" >&2; exit 2; }; done
command -v wrk >/dev/null || { echo "bench_serve: wrk not installed (scripts/deps.sh)" >&2; exit 2; }
[ -x "$NGINX" ] || { echo "bench_serve: nginx not installed ($NGINX; Debian nginx-light)" >&2; exit 2; }
"$R2" serve --help >/dev/null 2>&1 || { echo "bench_serve: $R2 has no serve command" >&2; exit 2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() { # $1 url, $2 pid: until 200 (10 s)
    i=0
    while [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" != 200 ]; do
        alive "$2" || { echo "bench_serve: process $2 exited" >&2; return 1; }
        i=$((i + 1)); [ $i -gt 100 ] && { echo "bench_serve: $1 never answered 200" >&2; return 1; }
        sleep 0.1
    done
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# --- the quickstart's cache, at a fixed date ---------------------------------
echo "bench_serve: building the 15-channel quickstart cache ..." >&2
FROM=2025-11-04T12:00:00Z
TO=2025-11-04T21:10:00Z
"$SYNTH" sds --out "$W/sds" --rate 100 --from "$FROM" --to "$TO" \
    --chan HV.UWE..HHZ --chan HV.OBL..HHZ --chan HV.UWB..HHZ --chan HV.MOKD..HHZ \
    --chan HV.SWRD..EHZ --chan HV.WILD..EHZ >/dev/null
"$SYNTH" sds --out "$W/sds" --rate 50 --from "$FROM" --to "$TO" \
    --chan AV.GSTD..BHZ --chan AV.GSTR..BHZ --chan AV.GSSP..BHZ --chan AV.SSLS..BHZ \
    --chan AV.SSLN..BHZ --chan AV.SSBA..BHZ --chan AV.SPCP..BHZ --chan AV.SPBG..BHZ \
    --chan AV.SPCN..BHZ >/dev/null
CFG=$HERE/examples/hearts.json
STORE=$W/store
for now in 2025-11-04T18:02:00Z 2025-11-04T21:02:00Z; do
    "$R2" run --config "$CFG" --source "sds://$W/sds" --store "$STORE" --now "$now" \
        --log-level error >/dev/null
done
KEYS=$(find "$STORE" -type f | wc -l)
CHUNKS=$(find "$STORE" -type f -name '*.zst' | wc -l)

# --- the two requests ---------------------------------------------------------
STATUS_PATH="/api/cache-status?scope=all"
DS_PATH="/fdsnws/dataselect/1/query?net=HV&sta=UWE&loc=--&cha=HHZ&start=2025-11-04T20:30:00&end=2025-11-04T20:40:00"

start_serve() { # $1 log file
    SPORT=$(free_port)
    "$R2" serve --config "$CFG" --store "$STORE" --listen "127.0.0.1:$SPORT" $SERVE_LOG_OPTS \
        >"$1" 2>&1 &
    SERVE_PID=$!
    wait_http "http://127.0.0.1:$SPORT/readyz" "$SERVE_PID"
}
# per-request log lines: serve writes one per request at info; nginx's
# access_log is set to match (LOGS=1, the default), or both off (LOGS=0)
if [ "${LOGS:-1}" = 1 ]; then SERVE_LOG_OPTS="--log-format json"; NGINX_ACCESS="access_log $W/nginx/access.log;"
else SERVE_LOG_OPTS="--log-level warn"; NGINX_ACCESS="access_log off;"; fi

echo "bench_serve: starting serve ..." >&2
start_serve "$W/serve.log"
SURL=http://127.0.0.1:$SPORT
mkdir -p "$W/www" "$W/nginx"
fetch() { # $1 path, $2 out: prints "code content-type"
    curl -s -o "$2" -w '%{http_code} %{content_type}' "$SURL$1"
}
set -- $(fetch "$STATUS_PATH" "$W/www/cache-status.json")
ST_CODE=$1; ST_TYPE=${2:-}
set -- $(fetch "$DS_PATH" "$W/www/dataselect.mseed")
DS_CODE=$1; DS_TYPE=${2:-}
[ "$ST_CODE" = 200 ] || { echo "bench_serve: $STATUS_PATH answered $ST_CODE: $(head -c 300 "$W/www/cache-status.json")" >&2; exit 1; }
[ "$DS_CODE" = 200 ] || { echo "bench_serve: $DS_PATH answered $DS_CODE: $(head -c 300 "$W/www/dataselect.mseed")" >&2; exit 1; }
ST_BYTES=$(wc -c <"$W/www/cache-status.json")
DS_BYTES=$(wc -c <"$W/www/dataselect.mseed")
# the same bytes on a second request? (a generated timestamp would differ)
fetch "$STATUS_PATH" "$W/st2" >/dev/null
fetch "$DS_PATH" "$W/ds2" >/dev/null
cmp -s "$W/www/cache-status.json" "$W/st2" && ST_SAME=yes || ST_SAME="no (sizes $ST_BYTES and $(wc -c <"$W/st2"))"
cmp -s "$W/www/dataselect.mseed" "$W/ds2" && DS_SAME=yes || DS_SAME="no (sizes $DS_BYTES and $(wc -c <"$W/ds2"))"
# records and samples in the dataselect answer (python: 512-byte or other miniSEED 2 records)
DS_DESC=$(python3 - "$W/www/dataselect.mseed" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, recs, samples = 0, 0, 0
while off + 48 <= len(d):
    samples += struct.unpack(">H", d[off + 30:off + 32])[0]
    # blockette 1000 gives the record length
    b = struct.unpack(">H", d[off + 46:off + 48])[0]
    rl = 512
    while b and b + 8 <= len(d) - off:
        t, nxt = struct.unpack(">HH", d[off + b:off + b + 4])
        if t == 1000:
            rl = 1 << d[off + b + 6]
            break
        b = nxt
    recs += 1
    off += rl
print("%d records of %d bytes, %d samples" % (recs, rl, samples))
PY
)

# --- nginx: the same bytes as static files ------------------------------------
NPORT=$(free_port)
cat >"$W/nginx/nginx.conf" <<EOF
# bench_serve.sh: Debian's nginx serving serve's answers as static files
daemon off;
# workers as this user (as root, nginx would switch to nobody, who cannot read the scratch dir)
user $(id -un) $(id -gn);
worker_processes auto;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 1024; }
http {
    $NGINX_ACCESS
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    types { application/json json; application/vnd.fdsn.mseed mseed; }
    server {
        listen 127.0.0.1:$NPORT;
        root $W/www;
        location = /api/cache-status { try_files /cache-status.json =404; }
        location = /fdsnws/dataselect/1/query { try_files /dataselect.mseed =404; }
    }
}
EOF
"$NGINX" -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" &
NGINX_PID=$!
NURL=http://127.0.0.1:$NPORT
wait_http "$NURL$STATUS_PATH" "$NGINX_PID"
curl -s "$NURL$STATUS_PATH" | cmp -s - "$W/www/cache-status.json" || { echo "bench_serve: nginx serves other bytes" >&2; exit 1; }
curl -s "$NURL$DS_PATH" | cmp -s - "$W/www/dataselect.mseed" || { echo "bench_serve: nginx serves other bytes" >&2; exit 1; }

# --- throughput ----------------------------------------------------------------
# one wrk run: prints "req_per_s p50_ms p99_ms requests errors non2xx"
bench() { # $1 url
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$1" >"$W/wrk.out" 2>&1 || true
    python3 - "$W/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[u]
rps = re.search(r"Requests/sec:\s+([\d.]+)", t)
p50 = re.search(r"^\s+50%\s+(\S+)", t, re.M)
p99 = re.search(r"^\s+99%\s+(\S+)", t, re.M)
n = re.search(r"(\d+) requests in", t)
err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if not (rps and p99 and n):
    sys.stderr.write("bench_serve: wrk output not understood:\n" + t)
    sys.exit(1)
print("%s %.3f %.3f %s %d %s" % (rps.group(1), ms(p50.group(1)), ms(p99.group(1)), n.group(1),
      sum(int(x) for x in err.groups()) if err else 0, non2.group(1) if non2 else "0"))
PY
}
: >"$W/results"
r=1
while [ $r -le "$ROUNDS" ]; do
    for what in status dataselect; do
        if [ $what = status ]; then p=$STATUS_PATH; else p=$DS_PATH; fi
        echo "bench_serve: round $r, $what: nginx ..." >&2
        echo "$what nginx $r $(bench "$NURL$p")" >>"$W/results"
        echo "bench_serve: round $r, $what: serve ..." >&2
        echo "$what serve $r $(bench "$SURL$p")" >>"$W/results"
    done
    r=$((r + 1))
done
SERVE_HWM_LOAD=$(hwm_kib "$SERVE_PID")
SERVE_LOG_LINES=$(wc -l <"$W/serve.log")
stop_pid "$SERVE_PID"; SERVE_PID=
stop_pid "$NGINX_PID"; NGINX_PID=

# --- memory under load: a fresh serve, RSS after 1,000 and 100,000 requests ------
# wrk's Lua: one request in DS_EVERY is the dataselect query, the others
# cache-status; each wrk thread stops after its share. wrk's main thread
# still sleeps its -d, so the count is read from serve's /metrics
# (r2cache_http_requests_total) and wrk is stopped by its pid when it is reached.
DS_EVERY=${DS_EVERY:-100}
# one connection fewer than the throughput runs: a wrk thread that stopped keeps
# its connections open, and the poller needs one of serve.max_connections (64)
MCONNS=$((CONNS - 1))
cat >"$W/count.lua" <<EOF
local n, limit, i = 0, 0, 0
function init(args) limit = tonumber(args[1]) end
function request()
    i = i + 1
    if i % $DS_EVERY == 0 then return wrk.format("GET", "$DS_PATH") end
    return wrk.format("GET", "$STATUS_PATH")
end
function response(status, headers, body)
    n = n + 1
    if n >= limit then wrk.thread:stop() end
end
EOF
served() { # requests answered so far, other than /metrics and /readyz
    curl -s "$SURL/metrics" |
        awk '/^r2cache_http_requests_total/ && !/endpoint="\/metrics"/ && !/endpoint="\/readyz"/ {s += $NF} END {print s + 0}'
}
load_to() { # $1 total requests answered to reach
    have=$(served)
    wrk -t2 -c"$MCONNS" -d900s -s "$W/count.lua" "$SURL/" -- $(( ($1 - have + 1) / 2 )) >/dev/null 2>&1 &
    WRK_PID=$!
    while [ "$(served)" -lt "$1" ] && alive "$WRK_PID"; do sleep 0.2; done
    sleep 0.5 # the answers in flight
    stop_pid "$WRK_PID"; WRK_PID=
    served
}
echo "bench_serve: memory: fresh serve, 1,000 then 100,000 requests ..." >&2
start_serve "$W/serve2.log"
SURL=http://127.0.0.1:$SPORT
RSS0=$(rss_kib "$SERVE_PID")
T0=$(date +%s)
# RSS at each step (the first and the last are the target's; the others show the trend)
MEM_STEPS=${MEM_STEPS:-1000 10000 30000 100000}
: >"$W/mem"
for n in $MEM_STEPS; do
    got=$(load_to "$n")
    echo "$got $(rss_kib "$SERVE_PID")" >>"$W/mem"
    echo "bench_serve: $got requests at $(( $(date +%s) - T0 )) s: RSS $(rss_kib "$SERVE_PID") KiB" >&2
done
HWM=$(hwm_kib "$SERVE_PID")
MEM_SECS=$(( $(date +%s) - T0 ))
stop_pid "$SERVE_PID"; SERVE_PID=

# --- the section -----------------------------------------------------------------
python3 - "$W/results" <<PY
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
res = {}
for what, who, rnd, rps, p50, p99, n, err, non2 in rows:
    res.setdefault((what, who), []).append(dict(rps=float(rps), p50=float(p50), p99=float(p99),
                                                n=int(n), err=int(err), non2=int(non2)))
def med(what, who):
    rs = sorted(res[(what, who)], key=lambda r: r["rps"])
    return rs[len(rs) // 2], rs
print("## Serve\n")
print("\`bench/bench_serve.sh\` (issue 14). \`r2cache serve\` over the 15-channel quickstart cache")
print("(\`examples/hearts.json\`, synthetic SDS archive for 2025-11-04 12:00-21:10 cached by two")
print("\`r2cache run\`s into a local store: $KEYS files, $CHUNKS chunks), beside Debian's nginx")
print("($("$NGINX" -v 2>&1 | sed 's/.*: //'), \`worker_processes auto\`, sendfile) serving serve's own answers to the same URLs as")
print("static files, in the same run. wrk on loopback: $CONNS connections, 2 threads, ${DURATION} s per run,")
print("$ROUNDS rounds alternating nginx and serve; the median round by request rate is shown (p99 from")
print("wrk --latency of that round), all rounds after the table. Both log one line per request to a" if "${LOGS:-1}" == "1" else
      "wrk --latency of that round), all rounds after the table. Request logging off in both")
print("file (serve \`--log-format json\`, nginx \`access_log\`). Targets (issue 14): serve >= 0.5x nginx's" if "${LOGS:-1}" == "1" else
      "(serve \`--log-level warn\`, nginx \`access_log off\`). Targets (issue 14): serve >= 0.5x nginx's")
print("request rate; RSS after 100,000 requests within 10 % of RSS after 1,000.\n")
print("| request | answer | nginx req/s | nginx p99 | serve req/s | serve p50 | serve p99 | serve / nginx | target >= 0.5x |")
print("|---|---|---|---|---|---|---|---|---|")
names = {"status": ("\`GET $STATUS_PATH\`", "$ST_BYTES B JSON ($ST_TYPE)"),
         "dataselect": ("\`GET /fdsnws/dataselect/1/query\` HV.UWE..HHZ 20:30-20:40 (10 min)",
                        "$DS_BYTES B miniSEED: $DS_DESC ($DS_TYPE)")}
bad = []
for what in ("status", "dataselect"):
    n, _ = med(what, "nginx")
    s, _ = med(what, "serve")
    ratio = s["rps"] / n["rps"]
    print("| %s | %s | %s | %.2f ms | **%s** | %.2f ms | **%.2f ms** | **%.2f** | %s |" % (
        names[what][0], names[what][1], format(round(n["rps"]), ","), n["p99"], format(round(s["rps"]), ","),
        s["p50"], s["p99"], ratio, "met" if ratio >= 0.5 else "**not met**"))
    for who in ("nginx", "serve"):
        for r in res[(what, who)]:
            if r["err"] or r["non2"]:
                bad.append("%s %s: %d socket errors, %d non-2xx answers in %d requests" % (what, who, r["err"], r["non2"], r["n"]))
print()
print("All rounds (req/s, p99 ms):")
for what in ("status", "dataselect"):
    for who in ("nginx", "serve"):
        print("%s %s: %s." % (what, who, "; ".join("%s, %.2f" % (format(round(r["rps"]), ","), r["p99"]) for r in res[(what, who)])))
print()
print("Same bytes on a second request: cache-status %s, dataselect %s. Errors: %s. Peak RSS of serve" % (
    "$ST_SAME", "$DS_SAME", "; ".join(bad) if bad else "none (no socket errors, every answer 2xx)"))
print("during the throughput runs (VmHWM): %.1f MB; its log: %d lines." % ($SERVE_HWM_LOAD / 1024.0, $SERVE_LOG_LINES))
print()
rss0, hwm = $RSS0, $HWM
steps = [tuple(int(x) for x in l.split()) for l in open("$W/mem") if l.strip()]
(n1, rss1), (n2, rss2) = steps[0], steps[-1]
growth = (rss2 - rss1) / rss1 * 100.0
print("| memory (a fresh serve; wrk, $MCONNS connections (the 64th of serve.max_connections for the /metrics poller), one request in $DS_EVERY the dataselect query, the others cache-status; %d s in all) | RSS |" % $MEM_SECS)
print("|---|---|")
print("| at start, ready | %.1f MB |" % (rss0 / 1024.0))
for i, (n, r) in enumerate(steps):
    b = "**" if i in (0, len(steps) - 1) else ""
    print("| after %s requests | %s%.1f MB%s |" % (format(n, ","), b, r / 1024.0, b))
print("| change from %s to %s requests | **%+.1f %%** (target within 10 %%: %s) |" % (
    format(n1, ","), format(n2, ","), growth, "met" if abs(growth) <= 10.0 else "**not met**"))
print("| peak (VmHWM) | %.1f MB |" % (hwm / 1024.0))
PY
