#!/usr/bin/env bash
# make_corpus.sh OUT BUILD: seed corpora for every fuzz target under OUT/<target>/.
#   mseed:    the real records of ../shared/data/mseed (files over 128 kB cut to
#             their first 64 kB, whole records) plus synthetic records of every
#             encoding from r2cache-synth;
#   key, manifest, config: keys and manifests that `r2cache run` really wrote
#             (both layouts) from a synthetic SDS archive, and their configs;
#   s3list, s3error, codec, and hand-made extras: tests/fuzz/seeds/<target>/.
# BUILD is a build directory holding r2cache and r2cache-synth (any flavour);
# without them only the real miniSEED and the committed seeds are used.
set -euo pipefail
out=$1
build=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mseed_dir=${RC_MSEED_DIR:-$(cd "$repo/.." && pwd)/shared/data/mseed}
for t in key manifest config mseed s3list s3error fdsnq codec; do mkdir -p "$out/$t"; done
for t in key config s3list s3error fdsnq codec; do
  [ -d "$here/seeds/$t" ] && cp "$here/seeds/$t/"* "$out/$t/"
done

if [ -d "$mseed_dir" ]; then
  for f in "$mseed_dir"/*; do
    case "$f" in *.md) continue ;; esac
    n=$(basename "$f")
    if [ "$(stat -c %s "$f")" -gt 131072 ]; then head -c 65536 "$f" >"$out/mseed/$n"; else cp "$f" "$out/mseed/$n"; fi
  done
else
  echo "make_corpus: $mseed_dir absent, no real miniSEED seeds" >&2
fi

synth=""; r2=""
for b in "$build" "$repo"/build-*; do
  [ -n "$b" ] && [ -x "$b/r2cache-synth" ] && [ -x "$b/r2cache" ] && { synth=$b/r2cache-synth; r2=$b/r2cache; break; }
done
if [ -z "$r2" ]; then
  echo "make_corpus: no built r2cache/r2cache-synth, keys and manifests come from seeds only" >&2
  exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for enc in steim1 steim2 int32; do
  "$synth" mseed --out "$out/mseed/synth-$enc.mseed" --chan XX.SYN..HHZ --rate 100 \
    --from 2025-11-04T00:00:00Z --to 2025-11-04T00:01:00Z --reclen 512 --encoding $enc >/dev/null
done
"$synth" mseed --out "$out/mseed/synth-float32.mseed" --chan XX.SYN..HHZ --rate 20 \
  --from 2025-11-04T00:00:00Z --to 2025-11-04T00:01:00Z --reclen 512 --encoding float32 >/dev/null
"$synth" mseed --out "$out/mseed/synth-offset-gap.mseed" --chan XX.SYN.00.BHZ --rate 40.96 \
  --from 2025-11-04T23:58:00Z --to 2025-11-05T00:03:00Z --reclen 512 --offset-us 3100 \
  --gap 2025-11-05T00:00:10Z/2025-11-05T00:00:40Z >/dev/null

"$synth" sds --out "$tmp/sds" --chan XX.AAA..HHZ --chan XX.BBB.00.BHZ --rate 50 \
  --from 2025-11-04T00:00:00Z --to 2025-11-04T07:00:00Z --gap 2025-11-04T06:20:00Z/2025-11-04T06:21:00Z >/dev/null
for layout in seed viewer; do
  cat >"$tmp/$layout.json" <<JSON
{"source": "sds://$tmp/sds", "store": "$tmp/store-$layout", "layout": "$layout",
 "spans": ["10m", "1h", "6h"],
 "run": {"retry_interval": "1s", "retry_max": "1s"},
 "volcanoes": [{"name": "testvol", "location": "testland", "latitude": 19.4, "longitude": -155.3,
   "stations": [
    {"network": "XX", "station": "AAA", "location": "", "channel": "HHZ", "sample_rate": 50,
     "instrument_type": "STS-2", "latitude": 19.5, "longitude": -155.5, "elevation_m": 1200},
    {"network": "XX", "station": "BBB", "location": "00", "channel": "BHZ", "distance_km": 3.5}]}]}
JSON
  cp "$tmp/$layout.json" "$out/config/run-$layout.json"
  "$r2" run --config "$tmp/$layout.json" --now 2025-11-04T07:02:00Z --lookback 7h \
    --log-level error >/dev/null 2>&1 || true
  byte=$([ $layout = seed ] && echo '\0' || echo '\1')
  i=0
  (cd "$tmp/store-$layout" 2>/dev/null && find data -type f ! -name '.*' | sort) | while read -r p; do
    # the local store writes an empty key segment as "%" (store.h)
    key=$(printf '%s' "$p" | sed -e 's#/%/#//#g')
    i=$((i + 1))
    printf "$byte%s" "$key" >"$out/key/$layout-$i"
    case "$p" in
      *.json) { printf "$byte"; cat "$tmp/store-$layout/$p"; } >"$out/manifest/$layout-$i.json" ;;
    esac
  done
done
echo "make_corpus: $(find "$out" -type f | wc -l) seeds in $out" >&2
