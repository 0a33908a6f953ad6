#!/bin/sh
# bench_inventory.sh [--local] [CHANNELS [DAYS]]
#
# `r2cache inventory --scope all` on a cache of CHANNELS channels x DAYS days
# of 10-minute and 6-hour chunks (default 15 x 365 = ~816,000 keys), against
# `aws s3 ls --recursive` of the same data prefix, in the same run.
# Targets (issue 5): inventory <= 1.5x the aws listing and <= 2 s.
#
# Keys are created directly with tiny bodies (only names and sizes matter for
# the listing) by a small python uploader, plus one manifest per channel-day;
# the per-month summaries are then built once with `inventory --scan` (what
# `reindex` or the writers' hook keep current), and the timed run reads them.
#
# Default: the RGW test server (tests/rgw.sh, started and stopped here by its
# pids). --local: a local-directory store instead (no aws comparison: awscli
# cannot list a directory; `find` is timed as the reference listing).
# Env: BUILD (default build), KEEP=1 keeps the scratch directory,
#   AWS (default Debian's /usr/bin/aws when present, else aws on PATH),
#   RGW_ENV=FILE uses an RGW already running (its env file from tests/rgw.sh
#   start; not stopped here), SEED=0 skips creating the keys (they are
#   already in that RGW from an earlier run with the same CHANNELS x DAYS).
# Prints its section of docs/benchmarks.md (markdown) on stdout (bench/run_all.sh).
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$HERE/build}
R2=$BUILD/r2cache
LOCAL=0
if [ "${1:-}" = "--local" ]; then LOCAL=1; shift; fi
NCH=${1:-15}
NDAYS=${2:-365}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-inv.XXXXXX")
RGWDIR=$WORK/rgw
cleanup() {
    if [ "$LOCAL" = 0 ] && [ -z "${RGW_ENV:-}" ] && [ -f "$RGWDIR/env" ]; then "$HERE/tests/rgw.sh" stop "$RGWDIR" >/dev/null 2>&1 || true; fi
    [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
if [ -z "${AWS:-}" ]; then
    if [ -x /usr/bin/aws ]; then AWS=/usr/bin/aws; else AWS=aws; fi
fi
[ -x "$R2" ] || { echo "build r2cache first ($R2)" >&2; exit 2; }

if [ "$LOCAL" = 1 ]; then
    STORE=$WORK/store
    mkdir -p "$STORE"
else
    if [ -n "${RGW_ENV:-}" ]; then
        . "$RGW_ENV"
    else
        "$HERE/tests/rgw.sh" start "$RGWDIR" >/dev/null
        . "$RGWDIR/env"
    fi
    STORE=s3://$RC_TEST_BUCKET/bench
fi

# configuration: NCH channels over 5 volcanoes in 2 locations
python3 - "$WORK/config.json" "$STORE" "$NCH" <<'EOF'
import json, sys
path, store, nch = sys.argv[1], sys.argv[2], int(sys.argv[3])
vols = [("kilauea", "hawaii"), ("maunaloa", "hawaii"), ("greatsitkin", "alaska"),
        ("shishaldin", "alaska"), ("spurr", "alaska")]
cfg = {"store": store, "volcanoes": [{"name": v, "location": l, "stations": []} for v, l in vols]}
for i in range(nch):
    cfg["volcanoes"][i % 5]["stations"].append(
        {"network": "HV", "station": "S%03d" % i, "location": "", "channel": "HHZ", "sample_rate": 100})
json.dump(cfg, open(path, "w"), indent=1)
EOF

T0=$(date +%s)
if [ "${SEED:-1}" != 0 ]; then
echo "creating $NCH channels x $NDAYS days of keys in $STORE ..." >&2
python3 - "$STORE" "$NCH" "$NDAYS" "$LOCAL" <<'EOF'
import datetime, os, sys, threading, queue
store, nch, ndays, local = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
vols = ["kilauea", "maunaloa", "greatsitkin", "shishaldin", "spurr"]
start = datetime.datetime(2024, 11, 1)
def keys():
    for i in range(nch):
        sta, vol = "S%03d" % i, vols[i % 5]
        for d in range(ndays):
            day = start + datetime.timedelta(days=d)
            folder = "data/%04d/%02d/HV/%s/%s//HHZ/" % (day.year, day.month, vol, sta)
            base = "HV_%s__HHZ_100Hz_" % sta
            for span, n in ((600, 144), (21600, 4)):
                for k in range(n):
                    t0 = day + datetime.timedelta(seconds=span * k)
                    t1 = t0 + datetime.timedelta(seconds=span)
                    yield folder + base + t0.strftime("%Y-%m-%d-%H-%M-%S") + "_to_" + \
                        t1.strftime("%Y-%m-%d-%H-%M-%S") + ".bin.zst", b"z" * 8
            yield folder + base + day.strftime("%Y-%m-%d") + ".json", \
                b'{"date":"%s","chunks":{"10min":[],"6h":[]}}' % day.strftime("%Y-%m-%d").encode()
if local:
    for key, body in keys():
        path = os.path.join(store, key.replace("//", "/%/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
    sys.exit(0)
import botocore.session
bucket, prefix = store[5:].split("/", 1)
sess = botocore.session.get_session()
q = queue.Queue(maxsize=4096)
def worker():
    c = sess.create_client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                           region_name=os.environ.get("AWS_REGION", "us-east-1"))
    while True:
        item = q.get()
        if item is None:
            return
        c.put_object(Bucket=bucket, Key=prefix + "/" + item[0], Body=item[1])
ts = [threading.Thread(target=worker) for _ in range(8)]
for t in ts: t.start()
for kb in keys(): q.put(kb)
for t in ts: q.put(None)
for t in ts: t.join()
EOF
fi
T1=$(date +%s)
NKEYS=$(( NCH * NDAYS * 149 ))
echo "created $NKEYS keys in $((T1 - T0)) s" >&2

# summaries, once (the writers' hook / reindex keep them current afterwards)
S0=$(date +%s.%N)
"$R2" inventory --config "$WORK/config.json" --scope all --scan --threads 8 --log-level warn >/dev/null
S1=$(date +%s.%N)

now() { date +%s.%N; }
T_INV=$(now); "$R2" inventory --config "$WORK/config.json" --scope all --json --log-level warn >"$WORK/inv.json"; T_INV2=$(now)
if [ "$LOCAL" = 1 ]; then
    T_LS=$(now); find "$STORE/data" -type f | wc -l >"$WORK/ls.count"; T_LS2=$(now); REF="find (local)"
else
    T_LS=$(now); "$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3 ls --recursive "s3://$RC_TEST_BUCKET/bench/data/" | wc -l >"$WORK/ls.count"; T_LS2=$(now)
    REF="aws s3 ls --recursive ($("$AWS" --version 2>&1 | cut -d' ' -f1))"
fi
python3 - "$WORK/inv.json" "$T_INV" "$T_INV2" "$T_LS" "$T_LS2" "$S0" "$S1" "$(cat "$WORK/ls.count")" "$REF" "$NKEYS" "$LOCAL" "$NCH" "$NDAYS" <<'EOF'
import datetime, json, sys
inv = json.load(open(sys.argv[1]))
ti, tl, ts = float(sys.argv[3]) - float(sys.argv[2]), float(sys.argv[5]) - float(sys.argv[4]), float(sys.argv[7]) - float(sys.argv[6])
s = inv["summary"]
local, nch, ndays = sys.argv[11] == "1", sys.argv[12], sys.argv[13]
store = "local directory (`--local`)" if local else "RGW (tests/rgw.sh)"
# run_all.sh contract: the markdown of this section on stdout
print("## Inventory: %s, %s x %s\n" % ("local directory store" if local else "RGW", nch, ndays))
print("`bench/bench_inventory.sh %s%s %s` (%s). Keys are created directly with tiny bodies (10-minute and"
      % ("--local " if local else "", nch, ndays, datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")))
print("6-hour chunks plus one manifest per channel-day); the per-month summaries are built once with")
print("`inventory --scan`, then `inventory --scope all --json` is timed against the reference listing of")
print("the same `data/` prefix in the same run. Targets (issue 5): at most 1.5x the `aws s3 ls --recursive`")
print("time, and at most 2 s.\n")
print("| store | keys | `inventory --scope all` | reference listing | ratio | <= 1.5x | <= 2 s | one-time summary build (`--scan`) |")
print("|---|---|---|---|---|---|---|---|")
print("| %s | %s (%s x %s; %s listed by the reference) | **%.2f s** (%d summaries read, %d keys listed; 10min %d, 6h %d, days %d) | %s: %.2f s | **%.3f** | %s | %s | %.1f s |" % (
    store, "{:,}".format(int(sys.argv[10])), nch, ndays, "{:,}".format(int(sys.argv[8])), ti,
    inv["inventory_stats"]["summaries_read"], inv["inventory_stats"]["keys_listed"],
    s["total_chunks_10min"], s["total_chunks_6h"], s["total_days_cached"], sys.argv[9], tl, ti / tl,
    "met" if ti / tl <= 1.5 else "**not met**", "met" if ti <= 2 else "**not met**", ts))
if local:
    print("\nawscli cannot list a directory, so `find -type f` is the reference listing here.")
EOF
