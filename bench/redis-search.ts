/**
 * @module bench/redis-search: the Redis store's two ways to search, side by side on one Redis 8 holding the same
 * entries: `mirror` (an HNSW index in each replica) and `server` (Redis 8 vector sets). For each: a new replica's
 * start-up time (start() to its first answered search), its memory (RSS growth, GC'd), latency per semantic hit
 * (store.search: the search plus the pipelined read of the candidates; p50/p99) and recall@1 against exact cosine;
 * the vector sets' recall with int8 (Q8, the default) and with NOQUANT; Redis memory per entry. The baseline, measured
 * in the same run, is one PING round trip to the same Redis: latencies are also given as multiples of it.
 *
 * Run: nice -n 10 node --expose-gc --import tsx bench/redis-search.ts [entries=100000] [dim=384]
 * Starts its own redis-server 8 (test/setup/redis8.mjs) on a free port. Writes bench/results/redis-search.{json,md}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hnswFactory } from '../src/store/hnsw-index.js';
import { packVector } from '../src/store/redis-codec.js';
import { RedisStore } from '../src/store/redis.js';
import { entryId, type Entry } from '../src/store/types.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { randomUnit, rng } from '../test/helpers/vectors.js';

const N = Number(process.argv[2] ?? 100_000);
const DIM = Number(process.argv[3] ?? 384);
const QUERIES = 500;
const K = 4;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const log = (m: string) => process.stderr.write(`[redis-search] ${m}\n`);

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
/** `base` turned towards a random direction, to cosine `cos` with it: a paraphrase of the stored question. */
function near(base: Float32Array, cos: number, rand: () => number): Float32Array {
  const r = randomUnit(base.length, rand);
  const d = dot(r, base);
  const perp = r.map((x, i) => x - d * base[i]!);
  const pn = Math.hypot(...perp);
  const s = Math.sqrt(1 - cos * cos);
  return base.map((x, i) => cos * x + (s * perp[i]!) / pn);
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const settle = () => {
  gc!();
  gc!();
};

const redis = await startRedis(undefined, { version: 8 });
const raw = redis.client();
const prefix = 'bench';
const scope = 'a'.repeat(64);
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);

try {
  const version = /redis_version:(\S+)/.exec(await raw.info('server'))![1];
  // The entries, written once through a server-mode store: its put writes the hash (what the mirror loads), the
  // vector-set element and the stream event, so both modes read the very same data.
  const rand = rng(DIM);
  const vectors: Float32Array[] = Array.from({ length: N }, () => randomUnit(DIM, rand));
  const memBefore = await usedMemory();
  const writer = new RedisStore({ url: redis.url, prefix, search: 'server', timeoutMs: 10_000, sweepMs: 0 });
  await writer.start();
  await writer.synced();
  const t0 = performance.now();
  const BATCH = 200;
  for (let i = 0; i < N; i += BATCH) {
    await Promise.all(
      vectors.slice(i, i + BATCH).map((vector, j) => {
        const textKey = `q${i + j}`;
        const e: Entry = {
          id: entryId(scope, textKey), scope, textKey, text: `What is the answer to question ${i + j}?`, vector,
          response: { id: `c${i + j}`, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: `Answer ${i + j}: `.padEnd(400, 'lorem ipsum ') }, finish_reason: 'stop' }] },
          endpoint: 'chat', model: 'gpt-4o-mini', tenant: 't', namespace: '', createdAt: Date.now(), expiresAt: Date.now() + 86_400_000,
        };
        return writer.put(e, 86_400);
      }),
    );
    if ((i / BATCH) % 50 === 0) log(`wrote ${i} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const writeS = (performance.now() - t0) / 1000;
  const memAfter = await usedMemory();
  const vsetBytes = Number(await raw.call('MEMORY', 'USAGE', `${prefix}:vset:{${scope}}`, 'SAMPLES', '0'));
  const expBytes = Number(await raw.call('MEMORY', 'USAGE', `${prefix}:vexp:{${scope}}`, 'SAMPLES', '0'));
  const streamBytes = Number(await raw.call('MEMORY', 'USAGE', `${prefix}:events`, 'SAMPLES', '0'));
  await writer.close();
  log(`wrote ${N} entries in ${writeS.toFixed(0)} s`);

  // The same vectors in a NOQUANT vector set, for the quantisation's effect on recall alone.
  const exactKey = `${prefix}:noquant`;
  for (let i = 0; i < N; i += 1000) {
    const pipe = raw.pipeline();
    for (let j = i; j < Math.min(N, i + 1000); j++) pipe.call('VADD', exactKey, 'FP32', packVector(vectors[j]!), `q${j}`, 'NOQUANT');
    await pipe.exec();
  }
  const noquantBytes = Number(await raw.call('MEMORY', 'USAGE', exactKey, 'SAMPLES', '0'));

  // Queries: paraphrases (cosine 0.9) of random stored questions, with their exact nearest neighbour.
  const qrand = rng(7);
  const queries = Array.from({ length: QUERIES }, () => near(vectors[Math.floor(qrand() * N)]!, 0.9, qrand));
  const truth = queries.map((q) => {
    let best = -1;
    let bi = -1;
    for (let i = 0; i < N; i++) {
      const s = dot(q, vectors[i]!);
      if (s > best) [best, bi] = [s, i];
    }
    return `q${bi}`;
  });

  // Baseline: a PING round trip to the same Redis.
  const pings: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = performance.now();
    await raw.ping();
    pings.push(performance.now() - t);
  }
  const ping = { p50: pct(pings, 50), p99: pct(pings, 99) };

  const modes = [];
  // Server first: the mirror's index, once freed, would make the next RSS reading shrink.
  for (const mode of ['server', 'mirror'] as const) {
    settle();
    const rss0 = process.memoryUsage().rss;
    const ts = performance.now();
    const replica = new RedisStore({ url: redis.url, prefix, search: mode, timeoutMs: 10_000, sweepMs: 0, largeIndex: hnswFactory() });
    await replica.start();
    await replica.synced();
    await replica.search(scope, queries[0]!, K);
    const startMs = performance.now() - ts;
    const lat: number[] = [];
    let hits = 0;
    for (const [i, q] of queries.entries()) {
      const t = performance.now();
      const found = await replica.search(scope, q, K);
      lat.push(performance.now() - t);
      if (found[0]?.entry.textKey === truth[i]) hits++;
    }
    settle();
    const rss = process.memoryUsage().rss - rss0;
    const row = {
      mode,
      startupMs: Math.round(startMs),
      replicaRssBytes: rss,
      replicaRssBytesPerEntry: Math.round(rss / N),
      hitP50Ms: round(pct(lat, 50)),
      hitP99Ms: round(pct(lat, 99)),
      hitP50xPing: round(pct(lat, 50) / ping.p50, 1),
      hitP99xPing: round(pct(lat, 99) / ping.p99, 1),
      recallAt1: round(hits / QUERIES),
    };
    log(JSON.stringify(row));
    modes.push(row);
    await replica.close();
  }

  // Recall@1 of VSIM alone, int8 against NOQUANT (the store rescores VSIM's top 2k by exact cosine; this is before).
  const vsimRecall = async (key: string) => {
    let ok = 0;
    for (const [i, q] of queries.entries()) {
      const r = (await raw.call('VSIM', key, 'FP32', packVector(q), 'COUNT', '1')) as string[];
      if (r[0] === truth[i]) ok++;
    }
    return round(ok / QUERIES);
  };
  const quant = {
    q8RecallAt1: await vsimRecall(`${prefix}:vset:{${scope}}`),
    noquantRecallAt1: await vsimRecall(exactKey),
    q8VectorSetBytesPerEntry: Math.round(vsetBytes / N),
    noquantVectorSetBytesPerEntry: Math.round(noquantBytes / N),
  };
  log(JSON.stringify(quant));

  const result = {
    date: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, node ${process.version}, redis ${version}`,
    entries: N,
    dim: DIM,
    queries: QUERIES,
    k: K,
    writeSeconds: round(writeS, 1),
    pingMs: { p50: round(ping.p50), p99: round(ping.p99) },
    redisBytesPerEntry: {
      usedMemory: Math.round((memAfter - memBefore) / N),
      vectorSet: Math.round(vsetBytes / N),
      expirySet: Math.round(expBytes / N),
      eventStream: Math.round(streamBytes / N),
    },
    modes,
    quant,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/redis-search.json', `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    `# Redis store: mirror vs server-side search (${N.toLocaleString('en')} entries, ${DIM}-d, one scope, redis ${version})`,
    '',
    `${result.date}, ${result.machine}. Baseline: PING p50 ${result.pingMs.p50} ms, p99 ${result.pingMs.p99} ms.`,
    '',
    '| | start-up | replica RSS growth | hit p50 | hit p99 | recall@1 |',
    '|---|---|---|---|---|---|',
    ...modes.map((m) => `| ${m.mode} | ${m.startupMs} ms | ${(m.replicaRssBytes / 1e6).toFixed(1)} MB (${m.replicaRssBytesPerEntry} B/entry) | ${m.hitP50Ms} ms (${m.hitP50xPing}× PING) | ${m.hitP99Ms} ms (${m.hitP99xPing}× PING) | ${m.recallAt1} |`),
    '',
    `Vector set: int8 (Q8) ${quant.q8VectorSetBytesPerEntry} B/entry, recall@1 of VSIM alone ${quant.q8RecallAt1}; NOQUANT ${quant.noquantVectorSetBytesPerEntry} B/entry, recall@1 ${quant.noquantRecallAt1}.`,
    `Redis used_memory per entry (hash + vector set + expiry set + stream): ${result.redisBytesPerEntry.usedMemory} B.`,
    '',
  ].join('\n');
  writeFileSync('bench/results/redis-search.md', md);
  process.stdout.write(md);
} finally {
  raw.disconnect();
  await redis.stop();
}
