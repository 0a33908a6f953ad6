#!/usr/bin/env node
// check_viewer_blobs.js: read a viewer-layout cache the way the browser viewer
// does, with fzstd (its decompressor), and hold every chunk to its manifest.
//
//   node check_viewer_blobs.js STORE_DIR MANIFEST_KEY...
//
// For each manifest (a viewer-layout key under STORE_DIR, a local r2cache
// store) and each entry of chunks "10m", "1h" and "6h", the blob key is built
// here from the manifest fields alone, as the viewer builds it (day folder,
// type folder and token, "--" for an empty location, no rate), the blob is
// decompressed with fzstd, read as little-endian Int32Array, and its length,
// min and max compared with the entry's samples, min and max.
// Prints one JSON line {"checked": {"10m": N, "1h": N, "6h": N}, ...};
// exit 1 on any mismatch or when a span has no chunk at all.
'use strict';

const fs = require('fs');
const path = require('path');
const { decompress } = require('fzstd');

const SPANS = { '10m': 600, '1h': 3600, '6h': 21600 };

function pad(n) {
  return String(n).padStart(2, '0');
}

function stamp(d) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-` +
    `${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}`;
}

function blobKey(m, type, start) {
  const loc = m.location === '' ? '--' : m.location;
  const [y, mo, d] = m.date.split('-');
  const t0 = new Date(`${m.date}T${start}Z`);
  const t1 = new Date(t0.getTime() + SPANS[type] * 1000);
  const name = `${m.network}_${m.station}_${loc}_${m.channel}_${type}_${stamp(t0)}_to_${stamp(t1)}.bin.zst`;
  return ['data', y, mo, d, m.network, m.volcano, m.station, loc, m.channel, type, name].join('/');
}

function main() {
  const [store, ...manifests] = process.argv.slice(2);
  if (!store || manifests.length === 0) {
    console.error('usage: check_viewer_blobs.js STORE_DIR MANIFEST_KEY...');
    process.exit(2);
  }
  const checked = { '10m': 0, '1h': 0, '6h': 0 };
  const errors = [];
  let samples = 0;
  for (const mkey of manifests) {
    const m = JSON.parse(fs.readFileSync(path.join(store, mkey), 'utf8'));
    if (!(m.sample_rate > 0)) errors.push(`${mkey}: sample_rate ${m.sample_rate}`);
    for (const type of Object.keys(SPANS)) {
      for (const en of (m.chunks && m.chunks[type]) || []) {
        const key = blobKey(m, type, en.start);
        let raw;
        try {
          raw = fs.readFileSync(path.join(store, key));
        } catch (err) {
          errors.push(`${key}: not found (${err.code})`);
          continue;
        }
        const bytes = decompress(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
        if (bytes.length % 4 !== 0) {
          errors.push(`${key}: ${bytes.length} bytes is not whole int32 samples`);
          continue;
        }
        // The viewer's view: little-endian int32, checked element by element
        // through a DataView so the host's byte order does not matter.
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        const v = new Int32Array(bytes.length / 4);
        for (let i = 0; i < v.length; i++) v[i] = dv.getInt32(i * 4, true);
        let mn = Infinity;
        let mx = -Infinity;
        for (let i = 0; i < v.length; i++) {
          if (v[i] < mn) mn = v[i];
          if (v[i] > mx) mx = v[i];
        }
        const want = Math.round(m.sample_rate * SPANS[type]);
        if (v.length !== en.samples || v.length !== want)
          errors.push(`${key}: ${v.length} samples, manifest ${en.samples}, rate x span ${want}`);
        if (mn !== en.min || mx !== en.max)
          errors.push(`${key}: min/max ${mn}/${mx}, manifest ${en.min}/${en.max}`);
        checked[type]++;
        samples += v.length;
      }
    }
  }
  for (const type of Object.keys(SPANS))
    if (checked[type] === 0) errors.push(`no ${type} chunk in the manifests given`);
  console.log(JSON.stringify({ checked, samples, errors }));
  process.exit(errors.length ? 1 : 0);
}

main();
