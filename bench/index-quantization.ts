/**
 * @module bench/index-quantization: float32 against int8 vectors in the HNSW index, on bench/scale's clustered
 * synthetic data: memory per entry, recall@1 against exact float cosine, how far int8 scores drift from exact cosine
 * (and how often that flips a 0.91 / 0.92 threshold decision), build time, and search latency as a ratio measured in
 * the same loop (each query goes to both indexes, in alternating order, so both meet the same machine noise).
 *
 *   nice -n 10 node --expose-gc --import tsx bench/index-quantization.ts --sizes 100000,1000000 --dims 384,512
 *
 * Graphs are built once in a child process (with Reprise's M, ef_construction and metric; bulk insertion on two
 * threads, which bench/hnsw-sweep found equivalent to one-at-a-time) and cached under bench/.cache/index-quantization/,
 * so that this process only loads them: memory per entry is the RSS growth while loading a saved index into a fresh
 * one, after gc, and no freed build memory can be reused under it. Results merge into
 * bench/results/index-quantization.json (one row per dim and size) and .md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type * as Usearch from 'usearch';
import { expansionSearchFor, HNSW_DEFAULTS } from '../src/store/hnsw-index.js';
import { machine, summarize, writeResult, writeSummary } from './lib/stats.js';
import { Generator, nearDuplicates } from './lib/synthetic.js';

const usearch = createRequire(import.meta.url)('usearch') as typeof Usearch;

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '384' },
    queries: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1000' },
    /** which indexes to measure; both, for the latency ratio */
    variants: { type: 'string', default: 'f32,i8' },
    /** rewrite the .md from the .json, measuring nothing */
    report: { type: 'boolean', default: false },
    /** child mode: build one graph and save it */
    build: { type: 'string' },
  },
});
const Q = Number(args.queries), SEED = Number(args.seed);
/** what the pipeline asks the store for (src/cache/lookup.ts TOP_K), and what ScopedIndex asks the index for */
const TOP_K = 4, ASK = TOP_K + 2;
const THRESHOLDS = [0.91, 0.92];
const CACHE = 'bench/.cache/index-quantization';
const log = (m: string) => process.stderr.write(`[quant] ${m}\n`);

/** i8: float vectors into an i8 index, as HnswIndex does; usearch casts them (scaled to norm 127, truncated) */
type Variant = 'f32' | 'i8';
const row = (m: Float32Array, i: number, dim: number) => m.subarray(i * dim, (i + 1) * dim);

function workload(n: number, dim: number) {
  const gen = new Generator(dim);
  const data = gen.vectors(n, SEED + n);
  const near = nearDuplicates(data, Q / 2, dim, SEED + 1000 + n).vectors;
  const novel = gen.vectors(Q / 2, SEED + 2000 + n);
  // near-duplicates and novel queries alternate
  const queries = new Float32Array(Q * dim);
  for (let i = 0; i < Q / 2; i++) {
    queries.set(row(near, i, dim), 2 * i * dim);
    queries.set(row(novel, i, dim), (2 * i + 1) * dim);
  }
  return { data, queries };
}

const make = (dim: number, variant: Variant) =>
  new usearch.Index({
    dimensions: dim,
    metric: 'cos' as Usearch.MetricKind,
    quantization: variant as Usearch.ScalarKind,
    connectivity: HNSW_DEFAULTS.connectivity,
    expansion_add: HNSW_DEFAULTS.expansionAdd,
    expansion_search: 16, // as HnswIndex: the floor; searches ask for max(k, ef) results
    multi: false,
  });

const graphFile = (n: number, dim: number, v: Variant) => `${CACHE}/${dim}d-${n}-${v}-M${HNSW_DEFAULTS.connectivity}-efc${HNSW_DEFAULTS.expansionAdd}-s${SEED}.usearch`;

/** Child: build one graph from the same seeded data and save it, with how long it took. */
function buildChild(spec: string): void {
  const [n, dim, variant] = [Number(spec.split(':')[0]), Number(spec.split(':')[1]), spec.split(':')[2] as Variant];
  const { data } = workload(n, dim);
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keys[i] = BigInt(i);
  const index = make(dim, variant);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  index.add(keys, data, 2);
  const buildS = (performance.now() - t0) / 1000;
  const rssBuild = (process.memoryUsage().rss - rss0) / n;
  const file = graphFile(n, dim, variant);
  index.save(file);
  writeFileSync(`${file}.json`, JSON.stringify({ buildS, rssBuildBytesPerEntry: rssBuild, ...machine() }));
  log(`${dim}-d ${n} ${variant}: built in ${buildS.toFixed(0)} s (${(n / buildS).toFixed(0)}/s)`);
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

interface Acc {
  lat: number[];
  near: number; novel: number; nearRescored: number; novelRescored: number;
  err: number[]; errBand: number[];
  flips: Record<string, { falsePass: number; falseFail: number; inBand: number }>;
}

function measure(n: number, dim: number) {
  const variants = args.variants!.split(',') as Variant[];
  mkdirSync(CACHE, { recursive: true });
  for (const v of variants) {
    if (existsSync(graphFile(n, dim, v))) continue;
    log(`${dim}-d ${n} ${v}: building in a child process`);
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--build', `${n}:${dim}:${v}`, '--seed', String(SEED), '--queries', String(Q)], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`build of ${n}:${dim}:${v} failed`);
  }
  log(`${dim}-d ${n}: generating data and exact truth`);
  const { data, queries } = workload(n, dim);
  const t0 = performance.now();
  // exactSearch holds a distance matrix of every stored vector by every query (8 GB at 1M × 2,000), so the queries
  // go 50 at a time; it ignores typed-array offsets, so each chunk is a copy
  const truthSim = new Float64Array(Q);
  for (let i = 0; i < Q; i += 50) {
    const m = usearch.exactSearch(data, queries.slice(i * dim, Math.min(Q, i + 50) * dim), dim, 1, 'cos' as Usearch.MetricKind, 2) as Usearch.BatchMatches;
    for (let j = 0; j < m.distances.length; j++) truthSim[i + j] = 1 - m.distances[j]!;
  }
  log(`exact truth in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const indexes = new Map<Variant, Usearch.Index>();
  const memory: Record<string, unknown> = {};
  for (const v of variants) {
    const file = graphFile(n, dim, v);
    gc(); gc();
    const rss0 = process.memoryUsage().rss;
    const idx = make(dim, v);
    idx.load(file);
    gc(); gc();
    const built = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { buildS: number; rssBuildBytesPerEntry: number; date: string; loadavg: string };
    memory[v] = {
      rssLoadBytesPerEntry: (process.memoryUsage().rss - rss0) / n,
      fileBytesPerEntry: statSync(file).size / n,
      rssBuildBytesPerEntry: built.rssBuildBytesPerEntry,
      buildS: built.buildS, builtAt: built.date, buildLoadavg: built.loadavg,
    };
    indexes.set(v, idx);
  }

  const ef = expansionSearchFor(n);
  const want = Math.max(ASK, ef);
  const acc = new Map<Variant, Acc>(variants.map((v) => [v, {
    lat: [], near: 0, novel: 0, nearRescored: 0, novelRescored: 0, err: [], errBand: [],
    flips: Object.fromEntries(THRESHOLDS.map((t) => [t, { falsePass: 0, falseFail: 0, inBand: 0 }])),
  }]));
  /** exact re-scoring of the candidates, timed for the i8 index (the f32 one needs none, but the stores do it anyway) */
  const rescoreLat: number[] = [];
  const query = (v: Variant, i: number) => indexes.get(v)!.search(row(queries, i, dim), want, 1);
  for (let i = 0; i < 50; i++) for (const v of variants) query(v, i);
  for (let i = 0; i < Q; i++) {
    const q = row(queries, i, dim);
    const isNear = i % 2 === 0;
    const best = truthSim[i]!;
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const a = acc.get(v)!;
      const t = performance.now();
      const m = query(v, i);
      a.lat.push(performance.now() - t);
      const keys = Array.from(m.keys.slice(0, TOP_K), Number);
      const r0 = performance.now();
      const exact = keys.map((k) => dot(q, row(data, k, dim)));
      if (v === 'i8') rescoreLat.push(performance.now() - r0);
      // right: the exact nearest, or a vector exactly as near (ties)
      const right = (sim: number | undefined) => sim !== undefined && Math.abs(sim - best) < 1e-6;
      if (right(exact[0])) {
        if (isNear) a.near++;
        else a.novel++;
      }
      if (right(Math.max(...exact))) {
        if (isNear) a.nearRescored++;
        else a.novelRescored++;
      }
      keys.forEach((_, j) => {
        const score = 1 - m.distances[j]!;
        const e = Math.abs(score - exact[j]!);
        a.err.push(e);
        if (exact[j]! >= 0.85 && exact[j]! <= 0.97) a.errBand.push(e);
        for (const th of THRESHOLDS) {
          const f = a.flips[th]!;
          if (Math.abs(exact[j]! - th) <= 0.01) f.inBand++;
          if (score >= th && exact[j]! < th) f.falsePass++;
          if (score < th && exact[j]! >= th) f.falseFail++;
        }
      });
    }
  }
  const out: Record<string, unknown> = { n, dim, ef, queries: Q, memory, load: machine().loadavg, variants: {} };
  for (const v of variants) {
    const a = acc.get(v)!;
    const lat = summarize(a.lat);
    const err = summarize(a.err), band = summarize(a.errBand);
    (out.variants as Record<string, unknown>)[v] = {
      p50Ms: lat.p50, p99Ms: lat.p99,
      recall1Near: a.near / (Q / 2), recall1Novel: a.novel / (Q / 2),
      recall1NearRescored: a.nearRescored / (Q / 2), recall1NovelRescored: a.novelRescored / (Q / 2),
      scoreErr: { max: Math.max(...a.err), mean: err.mean, p99: err.p99, hits: a.err.length },
      scoreErrNearThresholds: { max: a.errBand.length ? Math.max(...a.errBand) : 0, mean: band.mean, p99: band.p99, hits: a.errBand.length },
      flips: a.flips,
    };
  }
  const f = acc.get('f32'), q8 = acc.get('i8');
  if (f && q8) out.latencyRatioF32OverI8 = { p50: summarize(f.lat).p50 / summarize(q8.lat).p50, p99: summarize(f.lat).p99 / summarize(q8.lat).p99 };
  out.rescoreTop4Ms = summarize(rescoreLat);
  return out;
}

function markdown(rows: Array<Record<string, any>>): string {
  const fmt = (x: number, d = 3) => x.toFixed(d);
  const lines = [
    '# Index quantisation: float32 against int8 (HNSW)',
    '',
    'From `nice -n 10 node --expose-gc --import tsx bench/index-quantization.ts` (the command per row is in the JSON). Synthetic clustered',
    'vectors from bench/lib/synthetic.ts (1,000 topics, hubs), Reprise\'s HNSW settings (M=96, ef_construction=128,',
    'ef_search from expansionSearchFor), half the queries near-duplicates of a stored vector (cosine 0.90–0.99), half novel.',
    'recall@1 is against exact float cosine over every stored vector; "rescored" re-ranks the 4 candidates the store',
    'gets by their exact float cosine, as Reprise does. Memory is the RSS growth while loading the saved index into a',
    'fresh one, after gc. Latency: each query went to both indexes in turn in the same loop, order alternating (usearch',
    'quantises an i8 index\'s queries itself, so that is in its time).',
    '',
    '| dim | N | index | B/entry (RSS, load) | file B/entry | build | recall@1 near / novel | rescored near / novel | score error max / mean (all hits) | max near 0.85–0.97 | 0.92 flips (false pass / fail) | p50 / p99 ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    for (const [v, s] of Object.entries<any>(r.variants)) {
      const m = r.memory[v];
      lines.push(`| ${r.dim} | ${r.n.toLocaleString('en')} | ${v} | ${Math.round(m.rssLoadBytesPerEntry).toLocaleString('en')} | ${Math.round(m.fileBytesPerEntry).toLocaleString('en')} | ${m.buildS.toFixed(0)} s (${Math.round(r.n / m.buildS)}/s) | ${fmt(s.recall1Near)} / ${fmt(s.recall1Novel)} | ${fmt(s.recall1NearRescored)} / ${fmt(s.recall1NovelRescored)} | ${s.scoreErr.max.toExponential(1)} / ${s.scoreErr.mean.toExponential(1)} | ${s.scoreErrNearThresholds.max.toExponential(1)} | ${s.flips['0.92'].falsePass} / ${s.flips['0.92'].falseFail} of ${s.flips['0.92'].inBand} within ±0.01 | ${fmt(s.p50Ms, 2)} / ${fmt(s.p99Ms, 2)} |`);
    }
    if (r.latencyRatioF32OverI8) lines.push(`| ${r.dim} | ${r.n.toLocaleString('en')} | f32 ÷ i8 latency | | | | | | | | | ${fmt(r.latencyRatioF32OverI8.p50, 2)} / ${fmt(r.latencyRatioF32OverI8.p99, 2)} |`);
  }
  const alone = rows.filter((r) => !r.variants.f32).map((r) => `${r.dim}-d ${r.n.toLocaleString('en')}`);
  if (alone.length) lines.push('', `Measured for i8 alone (the f32 graph takes about an hour to build here): ${alone.join(', ')}. bench/results/scale.md has f32 on the same stored vectors (same generator and seed).`);
  lines.push('', 'Exact re-scoring of the 4 candidates (float cosine, in JS) took p50 ' + rows.map((r) => `${(r.rescoreTop4Ms.p50 * 1000).toFixed(1)} µs (${r.dim}-d, ${r.n.toLocaleString('en')})`).join(', ') + '.');
  return lines.join('\n');
}

if (args.build) {
  buildChild(args.build);
} else if (args.report) {
  const rows = (JSON.parse(readFileSync('bench/results/index-quantization.json', 'utf8')) as { rows: Array<Record<string, any>> }).rows;
  writeSummary('index-quantization', markdown(rows));
} else {
  const file = 'bench/results/index-quantization.json';
  // read again before each write: runs of other sizes may have written meanwhile
  const saved = () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { rows: Array<Record<string, any>> }).rows : []);
  const command = `nice -n 10 node --expose-gc --import tsx bench/index-quantization.ts ${process.argv.slice(2).join(' ')}`.trim();
  for (const dim of args.dims!.split(',').map(Number)) {
    for (const n of args.sizes!.split(',').map(Number)) {
      const r = { ...measure(n, dim), command };
      log(JSON.stringify(r));
      const rows = new Map(saved().map((x) => [`${x.dim}-${x.n}`, x]));
      rows.set(`${dim}-${n}`, r);
      const sorted = [...rows.values()].sort((a, b) => a.dim - b.dim || a.n - b.n);
      writeResult('index-quantization', { rows: sorted });
      writeSummary('index-quantization', markdown(sorted));
    }
  }
}
