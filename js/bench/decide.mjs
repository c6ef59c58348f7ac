// decide() latency of @tollgate/engine against @cedar-policy/cedar-wasm 4.13 on the same policies
// (bench/'s generator and Cedar translation, exported by `bench/src/bin/export.rs`), in one run.
//
//   npm --prefix js run build
//   cargo build --release -p tollgate-bench --bin export
//   node js/bench/decide.mjs            (or: npm --prefix js run bench)
//
// For N = 10, 1,000 and 100,000 (TOLLGATE_BENCH_SIZES=10,1000 to choose): load time (Tollgate:
// PolicySet.load of the JSON text, the first and the median of 5 more; Cedar: preparsePolicySet
// of the policy text, once; skipped above TOLLGATE_BENCH_CEDAR_MAX_N, default 10,000), then each
// decision timed on its own with process.hrtime.bigint() over the exported requests (JS objects,
// built before timing; Tollgate with explain: false). Cedar's answer is turned into granted scopes
// as bench/src/cedar.rs does (the union of the determining policies' scopes, intersected with the
// requested ones), inside the timing. Every answer of both engines is checked against the
// generator's model; a difference stops the run. Prints a markdown table.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { PolicySet } from '@tollgate/engine';

const js = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(js);
const SIZES = (process.env.TOLLGATE_BENCH_SIZES ?? '10,1000,100000').split(',').map(Number);
const BUDGET_MS = 10_000; // per engine and size, once MIN_SAMPLES decisions are timed
const MIN_SAMPLES = 20;
const MAX_SAMPLES = 30_000;
// cedar-wasm's preparsePolicySet took 16.6 s for 10,000 policies here and had not finished 100,000
// after 20 minutes; above this size only Tollgate is measured.
const CEDAR_MAX_N = Number(process.env.TOLLGATE_BENCH_CEDAR_MAX_N ?? 10_000);

const exporter = join(root, 'target', 'release', 'export');
try {
  statSync(exporter);
} catch {
  console.error(`bench: ${exporter} is missing: cargo build --release -p tollgate-bench --bin export`);
  process.exit(1);
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const us = (ns) => (Number.isFinite(ns) ? `${(ns / 1000).toFixed(ns < 10_000 ? 2 : 1)} µs` : 'not measured');
const ms = (ns) => (Number.isFinite(ns) ? `${(ns / 1e6).toFixed(1)} ms` : 'not measured');
const same = (a, b) => a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ');

/** Times `decide(i)` for request i = 0, 1, 2, ... until the budget; returns sorted ns. */
function time(count, decide) {
  const samples = [];
  const started = Date.now();
  for (let i = 0; samples.length < MAX_SAMPLES; i++) {
    if (samples.length >= MIN_SAMPLES && Date.now() - started > BUDGET_MS) break;
    const t0 = process.hrtime.bigint();
    decide(i % count);
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return Float64Array.from(samples).sort();
}

const rows = [];
console.log(`bench: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${cpus().length} cores; Node ${process.version}; cedar-wasm ${cedar.getCedarSDKVersion?.() ?? '?'}`);
for (const n of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-bench-${n}-`));
  try {
    execFileSync(exporter, [String(n), dir], { stdio: 'inherit' });
    const docText = readFileSync(join(dir, 'tollgate.json'), 'utf8');
    const doc = JSON.parse(docText);
    const tRequests = JSON.parse(readFileSync(join(dir, 'tollgate-requests.json'), 'utf8'));
    const cRequests = JSON.parse(readFileSync(join(dir, 'cedar-requests.json'), 'utf8'));
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    const cedarText = readFileSync(join(dir, 'cedar.cedar'), 'utf8');
    const entities = JSON.parse(readFileSync(join(dir, 'cedar-entities.json'), 'utf8'));

    // Tollgate.
    let t0 = process.hrtime.bigint();
    const set = PolicySet.load(docText);
    const tLoad = Number(process.hrtime.bigint() - t0);
    tRequests.forEach((r, i) => {
      const granted = set.decide(r).granted;
      if (!same(granted, expected[i])) throw new Error(`tollgate disagrees on request ${i}: ${JSON.stringify(granted)} vs ${JSON.stringify(expected[i])}`);
    });
    const tTimes = time(tRequests.length, (i) => set.decide(tRequests[i]));
    // The first load runs in V8's baseline tier; later loads in optimized code.
    const warm = [];
    for (let k = 0; k < 5; k++) {
      t0 = process.hrtime.bigint();
      PolicySet.load(docText).free();
      warm.push(Number(process.hrtime.bigint() - t0));
    }
    const tLoadWarm = warm.sort((a, b) => a - b)[2];

    let cLoad = NaN;
    let cTimes = new Float64Array();
    if (n <= CEDAR_MAX_N) {
      // cedar-wasm: a preparsed policy set; policy ids are policy0.. in text order.
      const scopesOf = doc.policies.map((p) => p.targets[0].scopes);
      const id = `bench-${n}`;
      t0 = process.hrtime.bigint();
      const parsed = cedar.preparsePolicySet(id, { staticPolicies: cedarText });
      cLoad = Number(process.hrtime.bigint() - t0);
      if (parsed.type !== 'success') throw new Error(`cedar could not parse: ${JSON.stringify(parsed.errors).slice(0, 500)}`);
      const calls = cRequests.map((r) => ({ principal: r.principal, action: r.action, resource: r.resource, context: r.context, entities, preparsedPolicySetId: id }));
      const cedarDecide = (i) => {
        const answer = cedar.statefulIsAuthorized(calls[i]);
        if (answer.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(answer.errors)}`);
        const allowed = new Set();
        for (const pid of answer.response.diagnostics.reason) {
          for (const s of scopesOf[Number(pid.slice(6))] ?? []) allowed.add(s);
        }
        const requested = cRequests[i].requested;
        return requested ? [...new Set(requested)].filter((s) => allowed.has(s)) : [...allowed];
      };
      cTimes = time(cRequests.length, (i) => {
        const granted = cedarDecide(i);
        if (!same(granted, expected[i])) throw new Error(`cedar disagrees on request ${i}: ${JSON.stringify(granted)} vs ${JSON.stringify(expected[i])}`);
      });
    }
    const checked = Math.min(cTimes.length, cRequests.length);
    console.log(`bench: N=${n}: tollgate ${tTimes.length} decisions, cedar-wasm ${n <= CEDAR_MAX_N ? `${cTimes.length} (${checked} distinct requests checked)` : `skipped (N > ${CEDAR_MAX_N})`}; the answers agree with the model`);
    set.free();
    rows.push({ n, tLoad, tLoadWarm, cLoad, t50: pct(tTimes, 50), t99: pct(tTimes, 99), c50: cTimes.length ? pct(cTimes, 50) : NaN, c99: cTimes.length ? pct(cTimes, 99) : NaN, tCount: tTimes.length, cCount: cTimes.length });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const wasm = join(js, 'dist', 'tollgate_js_bg.wasm');
const gz = (path) => gzipSync(readFileSync(path), { level: 9 }).length;
const cedarWasm = join(js, 'node_modules', '@cedar-policy', 'cedar-wasm', 'nodejs', 'cedar_wasm_bg.wasm');
console.log('\n| policies | load: tollgate-js (first / warm median of 5) | load: cedar-wasm | decide p50: tollgate-js | decide p50: cedar-wasm | speed-up (p50) | decide p99: tollgate-js | decide p99: cedar-wasm | timed (tollgate / cedar) |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.n.toLocaleString('en-US')} | ${ms(r.tLoad)} / ${ms(r.tLoadWarm)} | ${ms(r.cLoad)} | ${us(r.t50)} | ${us(r.c50)} | ${Number.isFinite(r.c50) ? `${(r.c50 / r.t50).toFixed(0)}×` : '—'} | ${us(r.t99)} | ${us(r.c99)} | ${r.tCount} / ${r.cCount} |`);
}
console.log(`\nwasm module gzipped: tollgate-js ${gz(wasm)} bytes, cedar-wasm ${gz(cedarWasm)} bytes`);
console.log(`bench: load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
