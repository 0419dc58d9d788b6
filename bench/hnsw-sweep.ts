/**
 * @module bench/hnsw-sweep: what HNSW recall depends on, on bench/scale's synthetic data, at sizes that build in
 * minutes. For each graph (M, ef_construction, build threads, metric, one-at-a-time or bulk insertion) it reports
 * recall@1 for near-duplicate and novel queries at several ef_search, self-found (a stored vector searched with
 * itself comes back first), self-found by the vector's noise scale, build time, file size and lookup latency.
 *
 *   npx tsx bench/hnsw-sweep.ts --n 100000 --topics 100 --graphs 16/128,32/128,32/256 --ef 64,128,256
 *
 * --topics sets how many vectors share a topic (n / topics on average): bench/scale's 1M has 1,000 topics, so
 * --n 100000 --topics 100 has the same topic sizes at a tenth of the build cost. A graph is M/efc[/threads[/metric
 * [/single]]], e.g. 16/128/1/ip/single. Results: one JSON line per graph on stdout, progress on stderr.
 *
 * In-degree: the saved graph is parsed (usearch 2.25's file layout: a u32 rows/cols header, the vectors, a 64-byte
 * head, then the graph: five u64, one i16 level per node, and per node its u64 key, i16 level and per level a u32
 * count plus u32 neighbour slots, 2·M of them at level 0 and M above) to count, per node, the level-0 links that
 * point to it. A node no other node links to at level 0 can never be returned by a search, whatever ef_search.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type * as Usearch from 'usearch';
import { machine, summarize } from './lib/stats.js';
import { Generator, nearDuplicates, type VectorMeta } from './lib/synthetic.js';

const usearch = createRequire(import.meta.url)('usearch') as typeof Usearch;

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    topics: { type: 'string', default: '1000' },
    dim: { type: 'string', default: '384' },
    graphs: { type: 'string', default: '16/128' },
    ef: { type: 'string', default: '64,128,256' },
    queries: { type: 'string', default: '1000' },
    self: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1000' },
    'noise-spread': { type: 'string', default: '0.6' },
  },
});
const N = Number(args.n), DIM = Number(args.dim), TOPICS = Number(args.topics), Q = Number(args.queries), SELF = Number(args.self);
const EFS = args.ef!.split(',').map(Number);
const log = (m: string) => process.stderr.write(`[sweep] ${m}\n`);
const row = (m: Float32Array, i: number) => m.subarray(i * DIM, (i + 1) * DIM);

log(`n=${N} dim=${DIM} topics=${TOPICS} (mean ${Math.round(N / TOPICS)} per topic): generating`);
const gen = new Generator(DIM, TOPICS, Number(args['noise-spread']));
const meta: VectorMeta = { topic: new Int32Array(N), noise: new Float32Array(N) };
const seed = Number(args.seed);
const data = gen.vectors(N, seed + N, meta);
const near = nearDuplicates(data, Q / 2, DIM, seed + 1000 + N);
const novel = gen.vectors(Q / 2, seed + 2000 + N);
const t0 = performance.now();
const truthNear = usearch.exactSearch(data, near.vectors, DIM, 1, 'cos' as Usearch.MetricKind, 2) as Usearch.BatchMatches;
const truthNovel = usearch.exactSearch(data, novel, DIM, 1, 'cos' as Usearch.MetricKind, 2) as Usearch.BatchMatches;
log(`exact truth in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const dot = (a: Float32Array, b: Float32Array) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
/** top-1 right: the exact key, or a tie with its score */
const right = (q: Float32Array, got: number, truth: Usearch.BatchMatches, i: number) =>
  got === Number(truth.keys[i]) || Math.abs(dot(q, row(data, got)) - (1 - truth.distances[i]!)) < 1e-5;

/** Level-0 in-degree of every key (0..n-1), from a saved usearch index (see the module comment for the layout). */
function inDegrees(file: string): Uint32Array {
  const b = readFileSync(file);
  const rows = b.readUInt32LE(0), cols = b.readUInt32LE(4);
  let o = 8 + rows * cols + 64;
  const size = Number(b.readBigUInt64LE(o)), conn = Number(b.readBigUInt64LE(o + 8)), connBase = Number(b.readBigUInt64LE(o + 16));
  o += 40;
  const levels = new Int16Array(size);
  for (let i = 0; i < size; i++) levels[i] = b.readInt16LE(o + 2 * i);
  o += 2 * size;
  const keyOfSlot = new Uint32Array(size);
  const deg = new Uint32Array(size);
  const starts = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    starts[i] = o;
    keyOfSlot[i] = Number(b.readBigUInt64LE(o));
    o += 10 + (4 + 4 * connBase) + levels[i]! * (4 + 4 * conn);
  }
  if (o !== b.length) throw new Error(`unexpected usearch layout: parsed ${o} of ${b.length} bytes`);
  for (let i = 0; i < size; i++) {
    const at = starts[i]! + 10;
    const count = b.readUInt32LE(at);
    for (let j = 0; j < count; j++) deg[keyOfSlot[b.readUInt32LE(at + 4 + 4 * j)]!]!++;
  }
  return deg;
}

mkdirSync('/tmp/hnsw-sweep', { recursive: true });
for (const spec of args.graphs!.split(',')) {
  const [m, efc, threads = '2', metric = 'cos', mode = 'bulk'] = spec.split('/');
  const M = Number(m), EFC = Number(efc), T = Number(threads);
  const make = (ef: number) => new usearch.Index({
    dimensions: DIM, metric: metric as Usearch.MetricKind, quantization: 'f32' as Usearch.ScalarKind,
    connectivity: M, expansion_add: EFC, expansion_search: ef, multi: false,
  });
  log(`${spec}: building ${N} (${mode}, ${T} thread(s))`);
  const built = make(EFS[0]!);
  const b0 = performance.now();
  if (mode === 'single') for (let i = 0; i < N; i++) built.add(BigInt(i), row(data, i), 1);
  else {
    const keys = new BigUint64Array(N);
    for (let i = 0; i < N; i++) keys[i] = BigInt(i);
    built.add(keys, data, T);
  }
  const buildS = (performance.now() - b0) / 1000;
  const file = `/tmp/hnsw-sweep/${process.pid}.usearch`;
  built.save(file);
  const bytes = statSync(file).size;
  log(`${spec}: built in ${buildS.toFixed(0)} s (${(N / buildS).toFixed(0)}/s), ${(bytes / N).toFixed(0)} B/entry on disk`);
  const deg = inDegrees(file);
  let orphans = 0;
  const orphansByNoise = [0, 0, 0], countByNoise = [0, 0, 0];
  const spreadArg = Number(args['noise-spread']);
  for (let i = 0; i < N; i++) {
    const band = spreadArg > 0 ? Math.min(2, Math.floor(((meta.noise[i]! - (1 - spreadArg / 2)) / spreadArg) * 3)) : 1;
    countByNoise[band]++;
    if (deg[i] === 0) { orphans++; orphansByNoise[band]++; }
  }
  const sortedDeg = Uint32Array.from(deg).sort();
  const degStats = { orphans: orphans / N, orphansByNoise: orphansByNoise.map((x, i) => x / countByNoise[i]!), median: sortedDeg[N >> 1], p99: sortedDeg[Math.floor(N * 0.99)], max: sortedDeg[N - 1] };
  log(`${spec}: level-0 in-degree 0 for ${(100 * degStats.orphans).toFixed(1)}% of nodes (noise low/mid/high ${degStats.orphansByNoise.map((x) => (100 * x).toFixed(1)).join('/')}%), median ${degStats.median}, p99 ${degStats.p99}, max ${degStats.max}`);
  const out: Record<string, unknown> = { inDegree: degStats, n: N, topics: TOPICS, noiseSpread: Number(args['noise-spread']), dim: DIM, M, efc: EFC, threads: T, metric, mode, buildS, fileBytesPerEntry: bytes / N, load: machine().loadavg, efs: [] as unknown[] };
  for (const ef of EFS) {
    const idx = make(ef);
    idx.load(file);
    for (let i = 0; i < 20; i++) idx.search(row(near.vectors, i), 4, 1);
    const lat: number[] = [];
    let nearOk = 0, novelOk = 0;
    for (let i = 0; i < Q / 2; i++) {
      let t = performance.now();
      let r = idx.search(row(near.vectors, i), 4, 1);
      lat.push(performance.now() - t);
      if (r.keys.length && right(row(near.vectors, i), Number(r.keys[0]), truthNear, i)) nearOk++;
      t = performance.now();
      r = idx.search(row(novel, i), 4, 1);
      lat.push(performance.now() - t);
      if (r.keys.length && right(row(novel, i), Number(r.keys[0]), truthNovel, i)) novelOk++;
    }
    // self-found overall and by noise-scale band (0.7–1.3 in thirds: low noise = close to the topic centre)
    const bands = [[0, 0], [0, 0], [0, 0]] as Array<[number, number]>;
    for (let s = 0; s < SELF; s++) {
      const i = Math.floor(((s + 0.5) * N) / SELF);
      const spread = Number(args['noise-spread']);
      const band = spread > 0 ? Math.min(2, Math.floor(((meta.noise[i]! - (1 - spread / 2)) / spread) * 3)) : 1;
      bands[band]![1]++;
      if (Number(idx.search(row(data, i), 1, 1).keys[0]) === i) bands[band]![0]++;
    }
    const selfFound = bands.reduce((a, b) => a + b[0], 0) / SELF;
    // of the stored vectors a search with themselves misses, how many have no level-0 in-link at all
    let missed = 0, missedOrphan = 0;
    for (let s = 0; s < SELF; s++) {
      const i = Math.floor(((s + 0.5) * N) / SELF);
      if (Number(idx.search(row(data, i), 1, 1).keys[0]) !== i) { missed++; if (deg[i] === 0) missedOrphan++; }
    }
    const s = summarize(lat);
    const e = { ef, p50: s.p50, p99: s.p99, recallNear: nearOk / (Q / 2), recallNovel: novelOk / (Q / 2), selfFound, selfByNoise: bands.map(([a, b]) => a / b), selfMissedWithNoInLink: missed ? missedOrphan / missed : 0 };
    (out.efs as unknown[]).push(e);
    log(`${spec} ef=${ef}: near ${e.recallNear.toFixed(3)} novel ${e.recallNovel.toFixed(3)} self ${selfFound.toFixed(3)} (noise low/mid/high ${e.selfByNoise.map((x) => x.toFixed(3)).join('/')}; misses with no in-link ${(100 * e.selfMissedWithNoInLink).toFixed(0)}%) p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)} ms`);
  }
  rmSync(file, { force: true });
  console.log(JSON.stringify(out));
}
