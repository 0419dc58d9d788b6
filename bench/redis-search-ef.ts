/**
 * @module bench/redis-search-ef: what VSIM's EF (how many candidates its graph search keeps) buys in recall and
 * costs in time, for `--redis-search-ef`. One Redis 8 vector set of uniformly random unit vectors (int8, as the store
 * writes them; random vectors are the hardest case for a graph index), queried with paraphrases at cosine 0.9 of
 * stored ones, each searched as the store searches for the pipeline's top k (RedisVectorSets.search, so the very VSIM
 * it sends). recall@1 is how often the exact nearest (brute force) is among VSIM's answers: the store re-scores those
 * exactly, so then it ranks first. The
 * baseline, in the same run, is a PING round trip to the same Redis; latencies are also given as multiples of it.
 *
 * Run: nice -n 10 npx tsx bench/redis-search-ef.ts [entries=100000] [dim=384] [efs=100,200,400,800]
 * Writes bench/results/redis-search-ef.{json,md}. At 100,000 × 384-d, about 10 min, most of it VADD.
 */
import { TOP_K } from '../src/cache/lookup.js';
import { silentLogger } from '../src/observe/logger.js';
import { packVector } from '../src/store/redis-codec.js';
import { DEFAULT_SEARCH_EF, RedisVectorSets, vectorSetKey } from '../src/store/redis-vector-set.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { randomUnit, rng } from '../test/helpers/vectors.js';
import { paraphraseQueries, pingMs } from './lib/recall-queries.js';
import { percentile, table, writeResult, writeSummary } from './lib/stats.js';

const entries = Number(process.argv[2] ?? 100_000);
const dim = Number(process.argv[3] ?? 384);
const efs = (process.argv[4] ?? '100,200,400,800').split(',').map(Number);
const QUERIES = 500;
const SCOPE = 'bench';
const log = (m: string) => process.stderr.write(`[redis-search-ef] ${m}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const redis = await startRedis(undefined, { version: 8 });
const raw = redis.client();
try {
  const rand = rng(dim);
  const vectors = Array.from({ length: entries }, () => randomUnit(dim, rand));
  const t0 = performance.now();
  for (let i = 0; i < entries; i += 1000) {
    const pipe = raw.pipeline();
    for (let j = i; j < Math.min(entries, i + 1000); j++) pipe.call('VADD', vectorSetKey('bench', SCOPE), 'FP32', packVector(vectors[j]!), `q${j}`, 'Q8');
    await pipe.exec();
    if (i % 20_000 === 0) log(`added ${i} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const addSeconds = (performance.now() - t0) / 1000;

  const { queries, nearest } = paraphraseQueries(vectors, QUERIES);
  const truth = nearest.map((i) => `q${i}`);
  const ping = await pingMs(raw);

  const setsWith = (ef: number) => new RedisVectorSets({ redis: raw, prefix: 'bench', searchEf: ef, sweepMs: 0, now: Date.now, logger: silentLogger });
  const count = setsWith(DEFAULT_SEARCH_EF).asked(TOP_K);
  const rows = [];
  for (const ef of efs) {
    const sets = setsWith(ef);
    let found = 0;
    const times: number[] = [];
    for (const [i, q] of queries.entries()) {
      const t = performance.now();
      const near = await sets.search(SCOPE, q, TOP_K);
      times.push(performance.now() - t);
      if (near.some((n) => n.textKey === truth[i])) found++;
    }
    const [p50, p99] = [percentile(times, 50), percentile(times, 99)];
    rows.push({ ef, default: ef === DEFAULT_SEARCH_EF, recallAt1: round(found / QUERIES, 3), p50Ms: round(p50), p99Ms: round(p99), p50xPing: round(p50 / ping.p50, 0), p99xPing: round(p99 / ping.p99, 1) });
    log(`EF ${ef}: recall@1 ${found / QUERIES}, p50 ${p50.toFixed(2)} ms`);
  }

  const command = `npx tsx bench/redis-search-ef.ts ${entries} ${dim} ${efs.join(',')}`;
  writeResult('redis-search-ef', { command, entries, dim, queries: QUERIES, count, addSeconds: round(addSeconds, 0), pingMs: ping, rows });
  const md = [
    `# VSIM's EF: recall against time (${command})`,
    '',
    `${entries} uniformly random ${dim}-d unit vectors in one int8 vector set (added in ${addSeconds.toFixed(0)} s); ${QUERIES} paraphrases at cosine 0.9 of stored ones, each \`VSIM … COUNT ${count} EF n\` (the store's search for the top ${TOP_K}). PING in the same run: p50 ${ping.p50.toFixed(3)} ms, p99 ${ping.p99.toFixed(3)} ms. The store's default is EF ${DEFAULT_SEARCH_EF}.`,
    '',
    table(rows.map((r) => ({ EF: `${r.ef}${r.default ? ' (default)' : ''}`, 'recall@1': r.recallAt1, 'p50 ms': r.p50Ms, 'p99 ms': r.p99Ms, 'p50 × PING': r.p50xPing, 'p99 × PING': r.p99xPing }))),
  ].join('\n');
  writeSummary('redis-search-ef', md);
  process.stdout.write(`${md}\n`);
} finally {
  raw.disconnect();
  await redis.stop();
}
