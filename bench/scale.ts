/**
 * @module bench/scale: lookup latency (k=4), memory per entry and recall@1 of one scope holding 10k, 100k and 1M
 * vectors, for the exact scan (FlatIndex) and HNSW (HnswIndex over usearch, with its defaults: HNSW_DEFAULTS).
 *
 * Run: npx tsx bench/scale.ts [--build] [--rebuild] [--no-real] [--sizes 10000,100000,1000000] [--dim 384] [--ef 64,96,128] [--redis 100000]
 *
 * Beside the in-process index it reports the Redis store's two ways to search (mirror, server-side vector sets) at
 * 100k entries, from bench/redis-memory.ts's last run; `--redis N` runs that measurement again first, with N entries
 * (about half an hour at 100k here).
 *
 * Building HNSW is the slow part on a 2-core machine (a few hundred inserts/s at M=96), so the native indexes of 100k
 * and 1M and their exact-scan ground truth are cached under bench/.cache/scale/, keyed by the data generator and
 * the index parameters (bench/lib/scale-cache.ts). Without a cache, 10k and 100k are built live (100k only if the
 * bench budget, BENCH_DEADLINE, leaves time for it), and 1M is skipped, not even generated, unless --build is given.
 * Whatever is skipped is listed in scale.md and in scale.json's `coverage`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type * as Usearch from 'usearch';
import { FlatIndex } from '../src/store/flat-index.js';
import { expansionSearchFor, HnswIndex } from '../src/store/hnsw-index.js';
import { BUILD_PER_S, CACHE, cachePaths, EF_ADD, GEN, isCachedGraph, M, QUERIES, SEED, syntheticKey } from './lib/scale-cache.js';
import { machine, summarize, table, writeResult, writeSummary } from './lib/stats.js';
import { Generator, nearDuplicates } from './lib/synthetic.js';
import { lastRedisModes, measureRedisModes, redisModesTable, saveRedisModes } from './lib/redis-modes.js';
import { lineChart, writeChart } from './lib/svg.js';

// usearch's ESM build is broken (see src/store/hnsw-index.ts); its CJS build loads fine.
const usearch = createRequire(import.meta.url)('usearch') as typeof Usearch;
// gc() without `node --expose-gc`, so bench/run.ts can start this with plain `npx tsx`.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { values: args } = parseArgs({
  options: {
    build: { type: 'boolean', default: false },
    rebuild: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '10000,100000,1000000' },
    dim: { type: 'string', default: '384' },
    'no-real': { type: 'boolean', default: false },
    /** ef_search values to measure; `default` or 0: HnswIndex's own, by index size (default: default,64,128) */
    ef: { type: 'string' },
    /** entries for the Redis store's side-by-side (bench/lib/redis-modes.ts); absent: report its last run */
    redis: { type: 'string' },
  },
});
// bench/run.ts passes BENCH_QUICK=1 for smoke tests and BENCH_DEADLINE (epoch ms) for its time budget.
const QUICK = process.env.BENCH_QUICK === '1';
const DEADLINE = Number(process.env.BENCH_DEADLINE ?? Infinity);
const SIZES = (QUICK ? '10000' : args.sizes!).split(',').map(Number);
const DIM = Number(args.dim);
const K = 4;
/** ef_search rows: 0 is HnswIndex's default (ef by index size, expansionSearchFor), the others fixed */
const EF_SEARCH = args.ef ? args.ef.split(',').map((x) => (x === 'default' ? 0 : Number(x))) : [0, 64, 128];
const efLabel = (e: { efSearch: number; isDefault?: boolean }) => (e.isDefault ? `${e.efSearch} (default)` : String(e.efSearch));
/** production path (HnswIndex.add, one vector at a time) up to this size; bulk add with 2 threads beyond */
const LIVE_MAX = 10_000;
const BULK_THREADS = 2;
// QUERIES: half near-duplicates of stored vectors (the cache-hit case), half novel (the miss case)
const FLAT_QUERIES: Record<number, number> = { 10_000: 500, 100_000: 100, 1_000_000: 15 };
const TARGET = { n: 1_000_000, p99Ms: 5, recall: 0.98 };

// ---- helpers ----

const row = (m: Float32Array, i: number, dim: number) => m.subarray(i * dim, (i + 1) * dim);
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
const jsBytes = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
const rss = () => process.memoryUsage().rss;
function settle(): void { gc(); gc(); }
function time<T>(f: () => T): [T, number] { const t = performance.now(); const v = f(); return [v, performance.now() - t]; }
const log = (msg: string) => process.stderr.write(`[scale] ${msg}\n`);

/** ef 0: as HnswIndex makes it by default (expansion_search 16, the floor; the ef by size is asked per search) */
function newUsearch(dim: number, ef: number): Usearch.Index {
  return new usearch.Index({
    dimensions: dim, metric: 'cos' as Usearch.MetricKind, quantization: 'f32' as Usearch.ScalarKind,
    connectivity: M, expansion_add: EF_ADD, expansion_search: ef || 16, multi: false,
  });
}

/** An HnswIndex whose native index is `native`, so lookups go through the production search path. */
function wrap(dim: number, ef: number, native: Usearch.Index): HnswIndex {
  const h = new HnswIndex(dim, { connectivity: M, expansionAdd: EF_ADD, ...(ef > 0 && { expansionSearch: ef }) });
  (h as unknown as { index: Usearch.Index }).index = native;
  return h;
}
const nativeOf = (h: HnswIndex) => (h as unknown as { index: Usearch.Index }).index;

interface Truth { keys: number[]; scores: number[]; ms: number; date: string; loadavg: string }
interface BuildMeta { seconds: number; method: string; date: string; loadavg: string; rssBytes: number; dataHash?: string }

// ---- one workload: a scope's vectors and the queries against it ----

interface Workload {
  label: string;
  n: number;
  dim: number;
  /** n × dim, byteOffset 0 (usearch's exactSearch ignores typed-array offsets) */
  data: Float32Array;
  /** QUERIES × dim: near-duplicates and novel queries, alternating */
  queries: Float32Array;
  kind: Array<'near' | 'novel'>;
  /** the stored row each near-duplicate was made from, in near-query order */
  nearSource: Int32Array;
  /** cache key: what the data is made from (synthetic: generator, seed, size), so a cached index is found before
   *  the data is generated */
  key: string;
  /** hash of a sample of the data and queries, stored with a cached index and checked when it is loaded */
  dataHash: string;
  flatQueries: number;
  efs: number[];
}

/** Interleave near-duplicate and novel queries, so both kinds meet the same machine noise. */
function interleave(near: Float32Array, novel: Float32Array, dim: number) {
  const half = QUERIES / 2;
  const queries = new Float32Array(QUERIES * dim);
  const kind: Array<'near' | 'novel'> = [];
  for (let i = 0; i < half; i++) {
    queries.set(row(near, i, dim), 2 * i * dim); kind.push('near');
    queries.set(row(novel, i, dim), (2 * i + 1) * dim); kind.push('novel');
  }
  return { queries, kind };
}

const sha = (x: unknown) => createHash('sha1').update(JSON.stringify(x)).digest('hex').slice(0, 12);
function dataHash(data: Float32Array, queries: Float32Array): string {
  return sha([Array.from({ length: 64 }, (_, i) => data[Math.floor((i * data.length) / 64)]!), Array.from(queries.subarray(0, 64))]);
}

function synthetic(n: number, dim: number, gen: Generator, seed: number, tag: string, flatQueries: number, efs: number[]): Workload {
  const data = gen.vectors(n, seed + n);
  const near = nearDuplicates(data, QUERIES / 2, dim, seed + 1000 + n);
  const novel = gen.vectors(QUERIES / 2, seed + 2000 + n);
  const q = interleave(near.vectors, novel, dim);
  return { label: 'synthetic', n, dim, data, ...q, nearSource: near.source, key: syntheticKey(n, dim, seed, tag), dataHash: dataHash(data, q.queries), flatQueries, efs };
}

/**
 * Real sentence embeddings: the USE-lite vectors bench/quality caches for qqp-dev and paraphrase-easy (512-d). Every
 * 40th sentence is held out as a query (its paraphrase partner is usually stored: the real lookup case).
 */
function realUseLite(): Workload | undefined {
  const files = existsSync('bench/.cache') ? readdirSync('bench/.cache').filter((f) => /^use-lite-[0-9a-f]{40}\.bin$/.test(f)) : [];
  if (files.length === 0) return undefined;
  const file = `bench/.cache/${files.sort((a, b) => statSync(`bench/.cache/${b}`).size - statSync(`bench/.cache/${a}`).size)[0]}`;
  const dim = 512;
  const buf = readFileSync(file);
  const all = new Float32Array(buf.length / 4);
  new Uint8Array(all.buffer).set(buf);
  const rows = all.length / dim;
  const held: number[] = [];
  const data = new Float32Array((rows - Math.floor(rows / 40)) * dim);
  let n = 0;
  for (let i = 0; i < rows; i++) {
    if (i % 40 === 39) held.push(i);
    else data.set(row(all, i, dim), n++ * dim);
  }
  const near = nearDuplicates(data, QUERIES / 2, dim, 77);
  const novel = new Float32Array((QUERIES / 2) * dim);
  for (let q = 0; q < QUERIES / 2; q++) novel.set(row(all, held[q]!, dim), q * dim);
  const q = interleave(near.vectors, novel, dim);
  const hash = dataHash(data, q.queries);
  return { label: `USE-lite (${file.slice(-12)})`, n, dim, data, ...q, nearSource: near.source, key: sha([`${GEN}:real:${file}`, hash]), dataHash: hash, flatQueries: 0, efs: [0] };
}

async function evaluate(w: Workload, mayBuild: boolean) {
  const { n, dim, data, queries, kind } = w;
  const half = QUERIES / 2;
  const out: Record<string, any> = { label: w.label, n, dim };
  const paths = cachePaths(dim, n, w.key);
  mkdirSync(CACHE, { recursive: true });

  // Exact scan: FlatIndex as in src/. Memory: JS heap + ArrayBuffer growth after gc.
  const flatTop: number[] = [];
  if (w.flatQueries > 0) {
    settle();
    const j0 = jsBytes();
    let flat: FlatIndex | undefined = new FlatIndex(dim);
    const [, buildMs] = time(() => { for (let i = 0; i < n; i++) flat!.add(i, row(data, i, dim)); });
    settle();
    const bytes = jsBytes() - j0;
    const capacity = (flat as unknown as { data: Float32Array }).data.length / dim;
    for (let i = 0; i < 3; i++) flat.search(row(queries, i, dim), K); // warm-up
    const lat: number[] = [];
    for (let i = 0; i < w.flatQueries; i++) {
      const [hits, t] = time(() => flat!.search(row(queries, i, dim), K));
      lat.push(t); flatTop.push(hits[0]!.key);
    }
    out.flat = { queries: w.flatQueries, ...ms(lat), buildSeconds: buildMs / 1000, bytesPerEntry: bytes / n, payloadBytesPerEntry: dim * 4, capacity };
    log(`${w.label} ${n}: flat p50 ${out.flat.p50.toFixed(1)} ms over ${w.flatQueries} queries, ${(bytes / n).toFixed(0)} B/entry`);
    flat = undefined;
    settle();
  }

  // Ground truth first (cached apart from the graph, so a build cut short by the budget still keeps it): exact
  // top-1 by usearch's native brute force; every FlatIndex result above is checked against it.
  const truthFile = paths.truth;
  let truth: Truth;
  if (!args.rebuild && existsSync(truthFile)) truth = JSON.parse(readFileSync(truthFile, 'utf8')) as Truth;
  else {
    log(`${w.label} ${n}: exact ground truth for ${QUERIES} queries`);
    const [m, t] = time(() => usearch.exactSearch(data, queries, dim, 1, 'cos' as Usearch.MetricKind, BULK_THREADS) as Usearch.BatchMatches);
    truth = { keys: Array.from(m.keys, Number), scores: Array.from(m.distances, (d) => 1 - d), ms: t, date: new Date().toISOString(), loadavg: machine().loadavg };
    writeFileSync(truthFile, JSON.stringify(truth));
  }

  // HNSW: live through HnswIndex.add (the stores' path) for small n, else bulk-built once and cached.
  const { index: file, meta: metaFile } = paths;
  const cached = !args.rebuild && isCachedGraph(paths, w.dataHash);
  let build: BuildMeta;
  let builtRss: number;
  if (n <= LIVE_MAX) {
    settle();
    const r0 = rss();
    const h = new HnswIndex(dim, { connectivity: M, expansionAdd: EF_ADD });
    const [, t] = time(() => { for (let i = 0; i < n; i++) h.add(i, row(data, i, dim)); });
    settle();
    builtRss = rss() - r0;
    build = { seconds: t / 1000, method: 'HnswIndex.add, one at a time (production path)', date: new Date().toISOString(), loadavg: machine().loadavg, rssBytes: builtRss };
    nativeOf(h).save(file);
  } else if (cached) {
    build = JSON.parse(readFileSync(metaFile, 'utf8')) as BuildMeta;
  } else if (mayBuild) {
    // In chunks, so a build that would overrun BENCH_DEADLINE stops in time (leaving ~40 s to measure) and is
    // saved as .partial: the next run resumes it where it stopped. Adding the rest later gives the same graph as
    // adding all at once: HNSW inserts one vector after another either way.
    const partial = { index: `${file}.partial`, meta: `${file}.partial.json` };
    let native: Usearch.Index | undefined = newUsearch(dim, 0);
    let done = 0, seconds = 0;
    if (!args.rebuild && isCachedGraph(partial, w.dataHash)) {
      const p = JSON.parse(readFileSync(partial.meta, 'utf8')) as BuildMeta & { done: number };
      native.load(partial.index);
      done = p.done; seconds = p.seconds;
      log(`${w.label} ${n}: resuming the HNSW build at ${done} of ${n}`);
    }
    log(`${w.label} ${n}: bulk-building HNSW with ${BULK_THREADS} threads (about ${Math.max(1, Math.round((n - done) / BUILD_PER_S / 60))} min here)`);
    settle();
    const r0 = rss();
    const CHUNK = 5000;
    let rate = BUILD_PER_S;
    while (done < n) {
      const m = Math.min(CHUNK, n - done);
      if (Date.now() + (1.3 * m / rate + 40) * 1000 > DEADLINE) break;
      const keys = new BigUint64Array(m);
      for (let i = 0; i < m; i++) keys[i] = BigInt(done + i);
      const [, t] = time(() => native!.add(keys, data.subarray(done * dim, (done + m) * dim), BULK_THREADS));
      done += m; seconds += t / 1000;
      rate = m / (t / 1000);
    }
    settle();
    builtRss = rss() - r0;
    build = { seconds, method: `usearch Index.add(batches of ${CHUNK}, threads=${BULK_THREADS})`, date: new Date().toISOString(), loadavg: machine().loadavg, rssBytes: builtRss, dataHash: w.dataHash };
    if (done < n) {
      native.save(`${partial.index}.tmp`);
      renameSync(`${partial.index}.tmp`, partial.index);
      writeFileSync(partial.meta, JSON.stringify({ ...build, done }, null, 2));
      out.hnsw = { skipped: `not measured: the bench budget ran out with the graph built to ${done.toLocaleString('en')} of ${n.toLocaleString('en')} vectors (${Math.round(seconds)} s of building so far, saved in ${CACHE}); the next run resumes it, or \`npx tsx bench/scale.ts\` finishes it (~${Math.round((n - done) / BUILD_PER_S / 60)} min here)` };
      log(`${w.label} ${n}: ${out.hnsw.skipped}`);
      return out;
    }
    native.save(`${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    writeFileSync(metaFile, JSON.stringify(build, null, 2));
    rmSync(partial.index, { force: true });
    rmSync(partial.meta, { force: true });
    native = undefined;
  } else {
    out.hnsw = { skipped: `no cached index; building ${n} here takes ~${Math.round(n / BUILD_PER_S / 60)} min: run \`npx tsx bench/scale.ts --build\` once` };
    log(`${w.label} ${n}: ${out.hnsw.skipped}`);
    return out;
  }
  settle();

  const isTop = (i: number, k: number) => k === truth.keys[i] || Math.abs(dot(row(queries, i, dim), row(data, k, dim)) - truth.scores[i]!) < 1e-5;
  let sourceIsTop = 0;
  for (let i = 0; i < QUERIES; i += 2) if (truth.keys[i] === w.nearSource[i >> 1]) sourceIsTop++;
  out.truth = {
    method: `usearch exactSearch (native brute force, ${BULK_THREADS} threads)`, msPerQuery: truth.ms / QUERIES,
    flatAgrees: `${flatTop.filter((k, i) => isTop(i, k)).length}/${flatTop.length}`, nearDupSourceIsNearest: sourceIsTop / half,
  };

  // One load of the saved graph per ef_search row, into an index made as HnswIndex makes it for that ef.
  const rows: Array<Record<string, any>> = [];
  for (const ef of w.efs) {
    settle();
    const r0 = rss();
    const idx = newUsearch(dim, ef);
    const [, loadMs] = time(() => idx.load(file));
    const loadRss = rss() - r0;
    const h = wrap(dim, ef, idx);
    // Warm-up: 300 searches for stored vectors spread over the index, so the timed ones meet warm caches, as in a
    // serving process (a freshly loaded 1M graph is 2.3 GB).
    for (let s = 0; s < 300; s++) h.search(row(data, Math.floor(((s + 0.5) * n) / 300), dim), K);
    const lat: number[] = [];
    let near = 0, novel = 0;
    for (let i = 0; i < QUERIES; i++) {
      const [hits, t] = time(() => h.search(row(queries, i, dim), K));
      lat.push(t);
      if (hits.length > 0 && isTop(i, hits[0]!.key)) {
        if (kind[i] === 'near') near++;
        else novel++;
      }
    }
    // Can a stored vector be found at all? Search 1,000 of them by their own vector.
    let found = 0;
    for (let s = 0; s < 1000; s++) {
      const i = Math.floor((s * n) / 1000);
      if (h.search(row(data, i, dim), 1)[0]?.key === i) found++;
    }
    const r = { efSearch: ef || h.expansionSearch, isDefault: ef === 0, queries: QUERIES, ...ms(lat), recallNear: near / half, recallNovel: novel / half, recallAll: (near + novel) / QUERIES, selfFound: found / 1000, loadSeconds: loadMs / 1000, loadRssBytesPerEntry: loadRss / n };
    rows.push(r);
    log(`${w.label} ${n}: hnsw ef=${efLabel(r)} p50 ${r.p50.toFixed(3)} p99 ${r.p99.toFixed(3)} ms, recall@1 near ${r.recallNear.toFixed(3)} novel ${r.recallNovel.toFixed(3)}, self-found ${r.selfFound.toFixed(3)}`);
  }
  out.hnsw = {
    build, cached: n > LIVE_MAX && cached, file,
    // Loading into a fresh index measures more reliably than building: a build reuses memory freed just before it.
    bytesPerEntry: rows[0]!.loadRssBytesPerEntry, memoryFrom: 'RSS growth while loading the saved index, after gc',
    bySearchEf: rows,
  };
  if (n <= LIVE_MAX) rmSync(file, { force: true });
  return out;
}

function ms(xs: number[]) {
  const s = summarize(xs);
  return { p50: s.p50, p99: s.p99, mean: s.mean, max: Math.max(...xs) };
}

// ---- main ----

const started = performance.now();
const gen = new Generator(DIM);
const results: Array<Record<string, any>> = [];
const coverage: string[] = [];

/**
 * A size this run cannot measure (no cached graph, or no time left) keeps the figures of the last run that did,
 * marked as carried over with that run's date, if it measured the same graph: the same data, dimension, M and
 * ef_construction (its cache file name says so). A cold checkout cannot rebuild the 1M graph within a bench run,
 * and without this its result would vanish from the summary at the next `npm run bench`.
 */
const previous: { date?: string; sizes: Array<Record<string, any>> } = (() => {
  try {
    const prev = JSON.parse(readFileSync('bench/results/scale.json', 'utf8')) as Record<string, any>;
    return { date: prev.machine?.date, sizes: prev.sizes ?? [] };
  } catch {
    return { sizes: [] };
  }
})();
function carriedOver(n: number, why: string): Record<string, any> | undefined {
  const file = cachePaths(DIM, n, syntheticKey(n, DIM, SEED, GEN)).index;
  const row = previous.sizes.find((r) => r.n === n && r.dim === DIM && r.label === 'synthetic' && r.hnsw?.file === file && r.hnsw?.bySearchEf?.length);
  if (!row) return undefined;
  const from = row.carried?.from ?? previous.date;
  return { ...row, carried: { from, why } };
}
function skip(n: number, why: string, note: string): void {
  const carried = carriedOver(n, why);
  if (carried) {
    results.push(carried);
    coverage.push(`scale: ${n.toLocaleString('en')} entries not measured in this run (${why}); the figures shown are carried over from the run of ${String(carried.carried.from).slice(0, 16)}, which measured the same graph.`);
  } else {
    results.push({ label: 'synthetic', n, dim: DIM, hnsw: { skipped: note } });
    coverage.push(`scale: ${n.toLocaleString('en')} entries ${note.replace(/^not measured: /, 'not measured (neither HNSW nor exact scan): ')}.`);
  }
}

for (const n of SIZES) {
  const buildIt = args.build || args.rebuild;
  // 1M is measured only with its graph cached, or with --build: building it takes far longer than a bench run.
  if (n >= 1_000_000 && !buildIt && !isCachedGraph(cachePaths(DIM, n, syntheticKey(n, DIM, SEED, GEN)))) {
    const why = `no cached ${n / 1e6}M graph in ${CACHE} (building it takes ~${Math.round(n / BUILD_PER_S / 60)} min here): run \`npx tsx bench/scale.ts --build\` once`;
    log(`synthetic n=${n}: skipped, ${why}`);
    skip(n, why, `not measured: ${why}`);
    continue;
  }
  // Seconds a size needs here with cached indexes (1M: generate, fill FlatIndex, 15 scans, 3 loads).
  const need = n >= 1_000_000 ? 90 : n >= 100_000 ? 30 : 15;
  if (DEADLINE - Date.now() < need * 1000) {
    log(`synthetic n=${n}: skipped, less than ${need} s left in BENCH_DEADLINE`);
    skip(n, `less than ${need} s left in the bench budget`, `skipped: less than ${need} s left in the bench budget`);
    continue;
  }
  log(`synthetic n=${n} dim=${DIM}: generating`);
  const [w, genMs] = time(() => synthetic(n, DIM, gen, SEED, GEN, Math.min(QUERIES, FLAT_QUERIES[n] ?? 100), EF_SEARCH));
  const r: Record<string, any> = { ...(await evaluate(w, n < 1_000_000 || buildIt)), generateSeconds: genMs / 1000 };
  if (r.hnsw?.skipped) coverage.push(`scale: HNSW at ${n.toLocaleString('en')} entries ${r.hnsw.skipped}.`);
  results.push(r);
  settle();
}
// Realism check: real USE-lite vectors against synthetic ones of the same size and dimension.
const realism: Array<Record<string, any>> = [];
if (!args['no-real'] && !QUICK && DEADLINE - Date.now() > 20_000) {
  const real = realUseLite();
  if (real) {
    realism.push(await evaluate(real, true));
    realism.push(await evaluate(synthetic(real.n, real.dim, new Generator(real.dim), 5000, `${GEN}:twin`, 0, [0]), true));
  } else {
    log('no bench/.cache/use-lite-*.bin (bench/quality makes it): realism check skipped');
    coverage.push('scale: realism check (real USE-lite vectors) skipped: no embedding cache yet; bench/quality makes it, so a later run has it.');
  }
} else if (!args['no-real']) coverage.push('scale: realism check skipped: not enough time left in the bench budget.');
if (args.redis) saveRedisModes(await measureRedisModes({ entries: Number(args.redis), dim: DIM, command: `npx tsx bench/scale.ts --redis ${args.redis}`, log }));
report(results, realism, (performance.now() - started) / 1000);

// ---- report ----

/** The Redis store's mirror against server-side search, from the last bench/redis-memory.ts (or --redis) run. */
function redisSection(): string[] {
  const r = lastRedisModes();
  if (!r) return ['## The Redis store: mirror vs server-side search', 'Not measured yet: run `npx tsx bench/redis-memory.ts` (or this bench with `--redis 100000`).', ''];
  return ['## The Redis store: mirror vs server-side search', ...(args.redis ? [] : [`From the last run of bench/redis-memory.ts (not re-run here; \`--redis ${r.entries}\` would).`, '']), ...redisModesTable(r), ''];
}

/** "Why M=…": the bench/hnsw-sweep.ts runs kept in bench/results/hnsw-sweep.json, as a table. */
function whyM(): string[] {
  const file = 'bench/results/hnsw-sweep.json';
  if (!existsSync(file)) return [];
  const runs = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, any>>;
  const rows = runs.map((r) => {
    const e = r.efs.find((x: any) => x.ef === 128) ?? r.efs[0];
    return {
      N: r.n, topics: r.topics, 'noise scale': r.noiseSpread ? `${1 - r.noiseSpread / 2}–${1 + r.noiseSpread / 2}` : 'constant',
      M: r.M, ef_construction: r.efc, build: `${r.mode === 'single' ? 'one at a time' : `bulk, ${r.threads} thread${r.threads > 1 ? 's' : ''}`}${r.metric === 'cos' ? '' : `, ${r.metric}`}`,
      ef_search: e.ef, 'recall@1 near-dup': e.recallNear, 'recall@1 novel': e.recallNovel, 'self-found': e.selfFound,
      'no in-link': r.inDegree ? `${(100 * r.inDegree.orphans).toFixed(1)}%` : '', 'file B/entry': Math.round(r.fileBytesPerEntry),
    };
  });
  return [
    `## Why M=${M}`,
    'With usearch\'s default M=16, ef_construction=128, this bench measured recall@1 0.80 (near-duplicates) and 0.95 (novel) at 1M. No bug explains it: building with 1 or 2 threads, in bulk or one vector at a time, with cosine or inner product gives the same recall; ids are unique, capacity is reserved ahead of inserts, and ef_search is applied (latency and recall change with it). The graph itself loses vectors. bench/hnsw-sweep.ts parses the saved graph: with M=16, 12.5% of the nodes of a 30k set with 1,000 vectors per topic have no incoming link on the base level (23% of the noisiest third), and 85% of the stored vectors a search with themselves misses are among them. The noise-scale spread causes it: with a constant scale, M=16 finds 99.95% of them. Within a topic the least noisy vectors are every vector\'s nearest neighbours; each new vector links to them, their link lists overflow, and usearch\'s pruning (keep a diverse set of neighbours) drops the far, noisy vectors again, over and over as the topic grows. ef_construction hardly helps (it picks a vector\'s own links, not who links to it); a longer list overflows less often, so M does:',
    '',
    table(rows),
    '',
    `Recall at ef_search=128 (or the only ef measured); \`npx tsx bench/hnsw-sweep.ts\` with the command kept beside each run in ${file}. 30k vectors in 30 topics and 160k in 100 have the topic sizes of 1M in 1,000 (mean 1,000 and 1,600), at a fraction of the build time. Latencies are in the JSON but were taken while other jobs loaded the machine, so this table leaves them out; the main table above has this run's. M=${M} costs ${Math.round(2 * (M - 16) * 4)} bytes per entry more than M=16 (2·M four-byte links on the base level); inserts took 1.5–2× as long in these runs.`,
    '',
    'Long lists make every search step dearer, and on a small index a wide search crosses into other topics: with M=96 and a fixed ef_search of 96, this bench measured p99 5.0 ms at 10k and 5.7 ms at 100k (M=16 with ef 128: 1.3 and 2.3 ms). So ef_search grows with the index (expansionSearchFor in src/store/hnsw-index.ts): 32 up to 100k, where M=96 still gives recall@1 1.0 for near-duplicates and 0.998 for novel queries, then 64 more per tenfold, 96 at 1M. usearch fixes expansion_search when an index is made, but searches with max(expansion_search, k); HnswIndex asks for max(k, ef) results and keeps k.',
    '',
  ];
}

function report(rs: Array<Record<string, any>>, real: Array<Record<string, any>>, wall: number): void {
  const m = machine();
  const flatRows = rs.filter((r) => r.flat).map((r) => ({
    N: r.carried ? `${r.n} (carried over)` : r.n, queries: r.flat.queries, 'p50 ms': r.flat.p50, 'p99 ms': r.flat.p99,
    'B/entry': Math.round(r.flat.bytesPerEntry), 'vector B': r.flat.payloadBytesPerEntry, 'slots allocated': r.flat.capacity,
  }));
  const hnswRows = rs.flatMap((r) => (r.hnsw.skipped
    ? [{ N: r.n, ef_search: '-', 'p50 ms': '-', 'p99 ms': '-', 'recall@1 near-dup': '-', 'recall@1 novel': '-', 'self-found': '-', 'RSS B/entry': '-', build: r.hnsw.skipped }]
    : r.hnsw.bySearchEf.map((e: any) => ({
      N: r.n, ef_search: efLabel(e), 'p50 ms': e.p50, 'p99 ms': e.p99,
      'recall@1 near-dup': e.recallNear, 'recall@1 novel': e.recallNovel, 'self-found': e.selfFound,
      'RSS B/entry': Math.round(r.hnsw.bytesPerEntry),
      build: `${r.hnsw.build.seconds.toFixed(0)} s, ${(r.n / r.hnsw.build.seconds).toFixed(0)}/s${r.hnsw.cached ? ` (cached, built ${r.hnsw.build.date.slice(0, 16)} at load ${r.hnsw.build.loadavg.split(' ')[0]})` : ''}${r.carried ? `; **carried over** from the run of ${String(r.carried.from).slice(0, 16)}` : ''}`,
    }))));
  const realRows = real.filter((r) => !r.hnsw.skipped).map((r) => {
    const e = r.hnsw.bySearchEf[0];
    return { data: r.label, N: r.n, dim: r.dim, ef_search: efLabel(e), 'p50 ms': e.p50, 'p99 ms': e.p99, 'recall@1 near-dup': e.recallNear, 'recall@1 novel/held-out': e.recallNovel, 'self-found': e.selfFound };
  });

  const at = rs.find((r) => r.n === TARGET.n);
  const verdicts: string[] = [];
  if (!at || at.hnsw.skipped) verdicts.push('- **Not measured in this run**: no 1M HNSW index (see the table).');
  else {
    if (at.carried) verdicts.push(`- **Carried over**: this run did not measure 1M (${at.carried.why}); these are the figures of the run of ${String(at.carried.from).slice(0, 16)}, on the same graph.`);
    for (const e of at.hnsw.bySearchEf) {
      const p99 = e.p99 <= TARGET.p99Ms ? `p99 ${e.p99.toFixed(2)} ms meets ≤ ${TARGET.p99Ms} ms` : `p99 ${e.p99.toFixed(2)} ms **misses** ≤ ${TARGET.p99Ms} ms by ${(e.p99 - TARGET.p99Ms).toFixed(2)} ms`;
      const rec = (x: number, what: string) => (x >= TARGET.recall ? `${what} ${x.toFixed(3)} meets` : `${what} ${x.toFixed(3)} **misses** by ${(TARGET.recall - x).toFixed(3)}`);
      const all = e.p99 <= TARGET.p99Ms && e.recallNear >= TARGET.recall && e.recallNovel >= TARGET.recall;
      verdicts.push(`- ${e.isDefault ? `**Default** (ef_search by index size: ${e.efSearch} at 1M)` : `ef_search=${e.efSearch}`}: ${all ? '**meets**' : '**misses**'}. ${p99}; recall@1 ${rec(e.recallNear, 'near-duplicate')}, ${rec(e.recallNovel, 'novel')} (≥ ${TARGET.recall}).`);
    }
    const eDef = at.hnsw.bySearchEf.find((e: any) => e.isDefault) ?? at.hnsw.bySearchEf[0];
    verdicts.push(`- Reachability: at 1M, ${(100 * eDef.selfFound).toFixed(1)}% of 1,000 stored vectors come back first when searched with themselves (ef_search=${eDef.efSearch}). A vector no other node links to on the graph's base level cannot be found at any ef_search; near-duplicate recall cannot exceed this share. With usearch's default M=16 it was 79.6% on this data at 1M (recall@1 0.80 near-duplicate, 0.95 novel): see "Why M=${M}" below.`);
    if (at.flat) verdicts.push(`- Exact scan at 1M: p99 ${at.flat.p99.toFixed(0)} ms over ${at.flat.queries} queries, **misses** by ${(at.flat.p99 - TARGET.p99Ms).toFixed(0)} ms (src/ never scans a scope that large: HNSW from 257 entries).`);
  }

  writeResult('scale', { dim: DIM, k: K, hnsw: { M, efConstruction: EF_ADD, efSearch: EF_SEARCH, efSearchDefault: 'expansionSearchFor(size): 32 up to 100k, +64 per tenfold beyond' }, queries: QUERIES, target: TARGET, wallSeconds: wall, coverage, sizes: rs, realism: real });
  const pts = (f: (r: any) => number | undefined) => rs.map((r) => [r.n, f(r)] as [number, number | undefined]).filter((p): p is [number, number] => p[1] !== undefined);
  const series = [
    { label: 'flat (exact scan)', points: pts((r) => r.flat?.p99) },
    ...EF_SEARCH.map((ef) => ({
      label: ef ? `HNSW ef_search=${ef}` : 'HNSW default (ef by size)',
      points: pts((r) => r.hnsw.bySearchEf?.find((e: any) => (ef ? !e.isDefault && e.efSearch === ef : e.isDefault))?.p99),
    })),
    { label: `target p99 ${TARGET.p99Ms} ms`, points: [[Math.min(...SIZES), TARGET.p99Ms], [Math.max(...SIZES), TARGET.p99Ms]] as Array<[number, number]> },
  ].filter((s) => s.points.length > 0);
  writeChart('scale-p99', lineChart(series, { title: `Lookup p99 (k=${K}, ${DIM}-d, one scope)`, x: { label: 'entries in the scope', log: true }, y: { label: 'p99 latency (ms)', log: true } }));

  const first = rs.find((r) => r.flat);
  writeSummary('scale', [
    `# Scale: one scope, ${DIM}-d, k=${K}`,
    '',
    `\`npx tsx bench/scale.ts\` on ${m.cpus} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}; load average at the end ${m.loadavg.split(' ').slice(0, 3).join(' ')} (a shared machine: other jobs ran at the same time). Wall time ${wall.toFixed(0)} s. Plot: scale-p99.svg.`,
    '',
    `## Target: at 1M entries, lookup p99 ≤ ${TARGET.p99Ms} ms with recall@1 ≥ ${TARGET.recall}`,
    ...verdicts,
    '',
    ...(coverage.length ? ['## Skipped in this run', ...coverage.map((c) => `- ${c}`), ''] : []),
    `## HNSW (src/store/hnsw-index.ts: usearch, f32, cosine, M=${M}, ef_construction=${EF_ADD}; by default ef_search grows with the index: ${[10_000, 100_000, 1_000_000].map((x) => `${expansionSearchFor(x)} at ${x / 1000}k`).join(', ')})`,
    table(hnswRows),
    '',
    `Lookups go through \`HnswIndex.search\`, ${QUERIES} per row, alternating ${QUERIES / 2} near-duplicates (a stored vector plus noise, cosine 0.90–0.99 to it: the cache-hit case) and ${QUERIES / 2} novel vectors from the same distribution (the miss case). recall@1: the HNSW top-1 is the exact top-1 (or ties its score within 1e-5). self-found: of 1,000 stored vectors, the share that a search with the vector itself returns first; what is not found is unreachable in the graph, whatever the query, and caps near-duplicate recall.`,
    '',
    '## Exact scan (src/store/flat-index.ts)',
    table(flatRows),
    '',
    first ? `B/entry: growth of JS heap + ArrayBuffers after gc, over N. The packed array doubles as it grows, so it holds "slots allocated" rows rather than N; the keys array and the key→slot Map add ~${Math.round(first.flat.bytesPerEntry - (first.flat.payloadBytesPerEntry * first.flat.capacity) / first.n)} B/entry.` : '',
    '',
    '## Realism check: real sentence embeddings',
    realRows.length ? table(realRows) : 'Skipped: no USE-lite embedding cache in bench/.cache (bench/quality/threshold.ts makes it).',
    '',
    realRows.length ? `The real rows are USE-lite vectors of the qqp-dev and paraphrase-easy sentences (bench/quality's cache); every 40th sentence is held out and used as a novel query, whose paraphrase is often stored. The synthetic row is this bench's generator at the same N and dimension. Where real recall and self-found are higher than synthetic, the synthetic numbers above are pessimistic.` : '',
    '',
    ...redisSection(),
    ...whyM(),
    '## Method and caveats',
    '- Data: synthetic unit vectors = 0.47 × a shared mean direction + one of 1,000 topic centroids (Zipf 0.5 popularity) + isotropic gaussian noise whose scale is drawn per vector from 0.7–1.3, normalised: cosine ≈ 0.1 across topics and ≈ 0.55 within one. Seeded and deterministic (bench/lib/synthetic.ts). The noise is full-rank, so within a topic the distance between two vectors is set almost entirely by their two noise scales: the least noisy vectors are everyone\'s nearest neighbours (hubs) and the noisiest are nobody\'s. That is the hard case for graph indexes, and it grows with the topics (1M puts up to 16k vectors in one); real embeddings also have hubs, but neighbours that differ in more than one "genericness" number.',
    `- Ground truth: usearch \`exactSearch\` (native brute force), computed once per data set and cached; each FlatIndex result timed above agrees with it (${rs.filter((r) => r.truth).map((r) => `${r.n}: ${r.truth.flatAgrees}`).join(', ')}). For near-duplicates the source vector is the exact nearest in ${rs.filter((r) => r.truth).map((r) => `${(100 * r.truth.nearDupSourceIsNearest).toFixed(1)}%`).join(' / ')} of queries.`,
    `- Cost of a first run: without bench/.cache/scale/, the 100k graph is built (~${Math.round(100_000 / BUILD_PER_S / 60)} min here, at ${BUILD_PER_S} inserts/s with other jobs running) as far as the bench budget allows; what is built is saved and the next run goes on from there, so \`npm run bench\` may take two runs to measure 100k (listed above when it does). The realism indexes are built too (~1 min, once bench/quality has made its embedding cache), and 1M is neither generated nor measured: \`npx tsx bench/scale.ts --build\` builds it once (~${Math.round(1e6 / BUILD_PER_S / 60)} min here; 50 min on 2026-11-28; 2.3 GB on disk). Later runs load the cached graphs.`,
    `- Build: up to ${LIVE_MAX} entries through \`HnswIndex.add\`, one vector at a time as the stores do. Larger indexes are bulk-built with usearch's \`Index.add(keys, vectors, ${BULK_THREADS})\` (same M, ef_construction, metric; at 30k, M=16, building with 1 or 2 threads, in bulk or one at a time, with cosine or inner product gave the same recall within 0.015: bench/hnsw-sweep.ts), saved under bench/.cache/scale/ and loaded on later runs; "cached" build times are from the run that built them. 1M is built only with \`--build\`.`,
    '- ef_search is fixed when a usearch index is constructed, so each ef_search row loads the saved graph into a new index made with that ef_search; lookups then go through `HnswIndex.search` unchanged.',
    '- Memory: HNSW B/entry is the RSS growth while loading the saved native index into a fresh one, after gc (vectors 4 × dim B, the level-0 graph, key lookup, capacity rounded up to a power of two). RSS growth while building is kept in scale.json but undercounts when the allocator reuses memory freed just before.',
    `- Exact-scan latency uses fewer queries at large N (${Object.entries(FLAT_QUERIES).map(([k, v]) => `${v} at ${k}`).join(', ')}): each costs N × ${DIM} multiply-adds in JS, so at 1M its p99 is the max of a small sample.`,
    '- Latencies are single-threaded, on a shared 2-core machine: p99 includes scheduler noise from other jobs.',
  ].join('\n'));
  log(`done in ${wall.toFixed(0)} s`);
}
