#!/usr/bin/env bash
# First contact, offline: install the packages, build r2cache, generate a
# synthetic SDS archive for the 15 stations of examples/hearts.json (the last
# 6 to 12 hours), run the cron job against it into the default local store
# ./r2cache-data, and show what was cached.
set -euo pipefail
cd "$(dirname "$0")/.."
RC_DEPS=runtime ./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin=./build/r2cache
now=$(date -u +%s)
# from the 6-hour boundary before the last one, so that 6-hour chunk is whole
from=$(date -u -d "@$(( now - now % 21600 - 21600 ))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$(( now + 600 ))" +%Y-%m-%dT%H:%M:%SZ)
rm -rf demo-sds
# hearts.json: 6 stations at 100 Hz (HV), 9 at 50 Hz (AV)
./build/r2cache-synth sds --out demo-sds --rate 100 --from "$from" --to "$to" \
  --chan HV.UWE..HHZ --chan HV.OBL..HHZ --chan HV.UWB..HHZ --chan HV.MOKD..HHZ \
  --chan HV.SWRD..EHZ --chan HV.WILD..EHZ
./build/r2cache-synth sds --out demo-sds --rate 50 --from "$from" --to "$to" \
  --chan AV.GSTD..BHZ --chan AV.GSTR..BHZ --chan AV.GSSP..BHZ --chan AV.SSLS..BHZ \
  --chan AV.SSLN..BHZ --chan AV.SSBA..BHZ --chan AV.SPCP..BHZ --chan AV.SPBG..BHZ \
  --chan AV.SPCN..BHZ
src="sds://$PWD/demo-sds"
# The run just after the last 6-hour boundary builds that 6-hour chunk;
# the run at the real time then catches up the windows since.
six=$(( now - now % 21600 + 120 ))
$bin run --config examples/hearts.json --source "$src" --now "$(date -u -d "@$six" +%Y-%m-%dT%H:%M:%SZ)" --log-format text
$bin run --config examples/hearts.json --source "$src" --log-format text
echo
echo "cached in ./r2cache-data (r2cache inventory):"
$bin inventory --config examples/hearts.json --scope all --log-level warn
echo "first samples of HV.UWE..HHZ in the newest window:"
last=$(( now - 120 - (now - 120) % 600 - 600 ))
$bin get HV.UWE..HHZ --config examples/hearts.json --from "$(date -u -d "@$last" +%Y-%m-%dT%H:%M:%SZ)" \
  --to "$(date -u -d "@$(( last + 1 ))" +%Y-%m-%dT%H:%M:%SZ)" | head -n 6 | sed 's/^/  /'
