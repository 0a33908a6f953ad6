// seisplotjs_check.mjs: a real third-party FDSN client against `r2cache serve`.
// usage: node seisplotjs_check.mjs PORT NET STA LOC CHA START END GET_CSV DROP SEGMENTS
//   GET_CSV:  `r2cache get --format csv` of the same window (time,value lines)
//   DROP:     comma list of FROM/TO (ISO) intervals whose samples dataselect leaves
//             out (filled heads and tails of chunks); "" for none
//   SEGMENTS: the number of continuous segments expected
// Fetches the window with fdsndataselect.DataSelectQuery and the time spans with
// fdsnavailability.AvailabilityQuery, and checks: the decoded samples and their
// times equal get's rows less DROP, one seismogram segment per continuous
// segment, and availability's spans start where the segments start.
import { readFileSync } from 'node:fs';

// seisplotjs' node entry defines its web components at load time: give it the
// few browser names it touches (nothing here draws).
class FakeElement { attachShadow() { return {}; } }
for (const n of ['HTMLElement', 'HTMLDivElement', 'HTMLCanvasElement', 'HTMLSelectElement',
                 'HTMLInputElement', 'SVGElement'])
  globalThis[n] = globalThis[n] || FakeElement;
globalThis.customElements = globalThis.customElements || { define() {}, get() { return undefined; } };
globalThis.window = globalThis.window || globalThis;
// seisplotjs sends `referrer: "seisplotjs"`, which a browser ignores and Node's
// fetch refuses as not a URL: drop it, change nothing else.
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  if (init && init.referrer && !/^(about:|https?:)/.test(init.referrer)) {
    init = { ...init };
    delete init.referrer;
  }
  return realFetch(url, init);
};
const sp = await import('seisplotjs');

const [port, net, sta, loc, cha, start, end, csvPath, drop, nseg] = process.argv.slice(2);
function fail(msg) { console.error(`seisplotjs_check: ${msg}`); process.exit(1); }
const ms = (iso) => sp.util.isoToDateTime(iso).toMillis();

const rows = readFileSync(csvPath, 'utf8').trim().split('\n').slice(1).map((l) => {
  const [t, v] = l.split(',');
  return { t: Date.parse(t), v: parseInt(v, 10) };
});
const drops = drop ? drop.split(',').map((d) => d.split('/').map(ms)) : [];
const want = rows.filter((r) => !drops.some(([a, b]) => r.t >= a && r.t < b));
const dropped = rows.length - want.length;

const q = new sp.fdsndataselect.DataSelectQuery('127.0.0.1')
  .protocol('http:').port(parseInt(port, 10))
  .networkCode(net).stationCode(sta).locationCode(loc).channelCode(cha)
  .startTime(sp.util.isoToDateTime(start)).endTime(sp.util.isoToDateTime(end));
const seismograms = await q.querySeismograms();
if (seismograms.length !== 1) fail(`${seismograms.length} seismograms, want 1`);
const segs = seismograms[0].segments;
const got = [];
for (const s of segs) {
  const y = s.y;
  const t0 = s.startTime.toMillis();
  for (let i = 0; i < y.length; i++) got.push({ t: t0 + Math.round((i * 1000) / s.sampleRate), v: y[i] });
}
if (got.length !== want.length)
  fail(`dataselect gave ${got.length} samples, get ${rows.length} of which ${want.length} are data`);
for (let i = 0; i < want.length; i++) {
  if (got[i].t !== want[i].t || got[i].v !== want[i].v)
    fail(`sample ${i}: seisplotjs ${new Date(got[i].t).toISOString()} ${got[i].v}, ` +
         `get ${new Date(want[i].t).toISOString()} ${want[i].v}`);
}
if (segs.length !== parseInt(nseg, 10)) fail(`${segs.length} segments, want ${nseg}`);

const aq = new sp.fdsnavailability.AvailabilityQuery('127.0.0.1')
  .protocol('http:').port(parseInt(port, 10))
  .networkCode(net).stationCode(sta).locationCode(loc).channelCode(cha)
  .startTime(sp.util.isoToDateTime(start)).endTime(sp.util.isoToDateTime(end));
const json = await aq.queryJson();
const spans = json.datasources.flatMap((d) => d.timespans);
if (spans.length !== segs.length) fail(`availability has ${spans.length} spans, dataselect ${segs.length} segments`);
for (let i = 0; i < spans.length; i++) {
  if (ms(spans[i][0]) !== segs[i].startTime.toMillis())
    fail(`span ${i} starts ${spans[i][0]}, segment at ${segs[i].startTime.toISO()}`);
  const segEnd = segs[i].startTime.toMillis() + Math.round((segs[i].numPoints * 1000) / segs[i].sampleRate);
  if (ms(spans[i][1]) !== segEnd) fail(`span ${i} ends ${spans[i][1]}, segment one period after its last sample at ${new Date(segEnd).toISOString()}`);
}
const sdd = await aq.query();
if (sdd.length !== spans.length) fail(`AvailabilityQuery.query() gave ${sdd.length} items, want ${spans.length}`);
console.log(`seisplotjs_check: ${got.length} samples in ${segs.length} segments equal r2cache get ` +
            `(${dropped} filled head/tail samples left out), ${spans.length} availability spans agree`);
process.exit(0); // seisplotjs leaves its fetch timeout timers running
