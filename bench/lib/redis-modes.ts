/**
 * @module bench/lib/redis-modes: the Redis store's two ways to search, side by side on one Redis 8 holding the same
 * entries: `mirror` (an index in each replica) and `server` (Redis 8 vector sets). Used by bench/redis-memory.ts
 * (which runs it) and bench/scale.ts (which reports it beside the in-process index).
 *
 * The entries are written once, through a server-mode store: its put writes the hash (what a mirror loads), the
 * vector-set element, its expiry and the stream event, so both modes read the very same data. Then, for each mode, a
 * new replica is started, in a process of its own (bench/lib/redis-replica.ts), and measured: start-up (start() to its first answered search), the longest the event loop
 * was held meanwhile (requests wait that long), RSS growth (after gc), latency per semantic hit (store.search: the
 * search plus the pipelined read of the candidates; p50/p99) and recall@1 against exact cosine. Also: Redis bytes per
 * entry by structure, and VSIM's own recall@1 with int8 (Q8, the default) against NOQUANT. The baseline, measured in
 * the same run, is one PING round trip to the same Redis: latencies are also given as multiples of it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packVector } from '../../src/store/redis-codec.js';
import { RedisStore } from '../../src/store/redis.js';
import { entryId, type Entry } from '../../src/store/types.js';
import { startRedis } from '../../test/helpers/redis-server.js';
import { randomUnit, rng } from '../../test/helpers/vectors.js';
import { paraphraseQueries, pingMs } from './recall-queries.js';

export interface ModeRow {
  mode: 'mirror' | 'server';
  startupMs: number;
  /** the longest the event loop was held during start-up: how long a request could wait */
  startupMaxStallMs: number;
  /** RSS growth of a new replica from before start() to its first answered search, gc'd */
  replicaRssBytes: number;
  /** the same for a replica of an empty cache */
  replicaEmptyRssBytes: number;
  /** (replicaRssBytes − replicaEmptyRssBytes) / entries: what the entries cost each replica */
  replicaRssBytesPerEntry: number;
  hitP50Ms: number;
  hitP99Ms: number;
  hitP50xPing: number;
  hitP99xPing: number;
  recallAt1: number;
  /** what Redis holds per entry for this mode */
  redisBytesPerEntry: number;
}

export interface RedisModesResult {
  date: string;
  command: string;
  machine: string;
  redisVersion: string;
  entries: number;
  dim: number;
  queries: number;
  k: number;
  writeSeconds: number;
  pingMs: { p50: number; p99: number };
  /** Redis memory per entry by structure (MEMORY USAGE / entries; the hash is a sample's mean) */
  redisBytes: { hash: number; eventStream: number; vectorSet: number; expirySet: number; usedMemory: number };
  modes: ModeRow[];
  quant: { q8RecallAt1: number; noquantRecallAt1: number; q8VectorSetBytesPerEntry: number; noquantVectorSetBytesPerEntry: number };
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** A typical short chat answer: ~600 bytes of JSON. */
const response = (i: number) => ({
  id: `chatcmpl-${i}`, object: 'chat.completion', created: 1_790_000_000, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: `Answer ${i}: `.padEnd(400, 'lorem ipsum '), refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 20, completion_tokens: 90, total_tokens: 110 },
});

export async function measureRedisModes(opts: {
  entries: number;
  dim: number;
  command: string;
  log: (m: string) => void;
  /** the modes to measure @default both */
  modes?: Array<'server' | 'mirror'>;
  /** also measure VSIM's recall with NOQUANT (a second vector set: as long again to write) @default true */
  quant?: boolean;
}): Promise<RedisModesResult> {
  const { entries: N, dim: DIM, log } = opts;
  const QUERIES = 500;
  const K = 4;
  const redis = await startRedis(undefined, { version: 8 });
  const raw = redis.client();
  const prefix = 'bench';
  const scope = 'a'.repeat(64);
  const usage = async (key: string) => Number(await raw.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await raw.info('server'))![1]!;
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
          const n = i + j;
          const textKey = `q${n}`;
          const e: Entry = {
            id: entryId(scope, textKey), scope, textKey, text: `What is the answer to question number ${n} about topic x?`, vector,
            response: response(n), endpoint: 'chat', model: 'gpt-4o-mini', tenant: 't'.repeat(32), namespace: '',
            createdAt: Date.now(), expiresAt: Date.now() + 86_400_000,
          };
          return writer.put(e, 86_400);
        }),
      );
      if ((i / BATCH) % 50 === 0) log(`wrote ${i} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const writeSeconds = (performance.now() - t0) / 1000;
    await writer.close();
    log(`wrote ${N} entries in ${writeSeconds.toFixed(0)} s`);
    const usedMemoryPerEntry = ((await usedMemory()) - memBefore) / N;
    let hashSum = 0;
    const SAMPLE = 200;
    for (let i = 0; i < SAMPLE; i++) hashSum += await usage(`${prefix}:{${scope}}:q${Math.floor((i * N) / SAMPLE)}`);
    const redisBytes = {
      hash: Math.round(hashSum / SAMPLE),
      eventStream: Math.round((await usage(`${prefix}:events`)) / N),
      vectorSet: Math.round((await usage(`${prefix}:vset:{${scope}}`)) / N),
      expirySet: Math.round((await usage(`${prefix}:vexp:{${scope}}`)) / N),
      usedMemory: Math.round(usedMemoryPerEntry),
    };

    // The same vectors in a NOQUANT vector set, for the quantisation's effect on recall alone.
    const exactKey = `${prefix}:noquant`;
    for (let i = 0; i < (opts.quant === false ? 0 : N); i += 1000) {
      const pipe = raw.pipeline();
      for (let j = i; j < Math.min(N, i + 1000); j++) pipe.call('VADD', exactKey, 'FP32', packVector(vectors[j]!), `q${j}`, 'NOQUANT');
      await pipe.exec();
    }
    const noquantBytes = await usage(exactKey);
    log('wrote the NOQUANT copy');

    // Queries: paraphrases (cosine 0.9) of random stored questions, with their exact nearest neighbour.
    const { queries, nearest } = paraphraseQueries(vectors, QUERIES);
    const truth = nearest.map((i) => `q${i}`);
    const ping = await pingMs(raw);

    const modes: ModeRow[] = [];
    const jobDir = mkdtempSync(join(tmpdir(), 'reprise-bench-'));
    type ReplicaRun = { startupMs: number; maxStallMs: number; rss: number; hitP50: number; hitP99: number; recall: number };
    const runReplica = (mode: 'mirror' | 'server', of: string): ReplicaRun => {
      const jobFile = join(jobDir, `${mode}-${of}.json`);
      writeFileSync(jobFile, JSON.stringify({ url: redis.url, prefix: of, scope, mode, k: K, queries: queries.map((q) => Array.from(q)), truth }));
      const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./redis-replica.ts', import.meta.url)), jobFile], { maxBuffer: 1 << 20 }).toString();
      return JSON.parse(out.trim().split('\n').at(-1)!) as ReplicaRun;
    };
    for (const mode of opts.modes ?? (['server', 'mirror'] as const)) {
      // The same replica on an empty cache: what a replica costs whatever it holds (modules, connections, buffers).
      const empty = runReplica(mode, `${prefix}-empty`);
      const r = runReplica(mode, prefix);
      const row: ModeRow = {
        mode,
        startupMs: Math.round(r.startupMs),
        startupMaxStallMs: round(r.maxStallMs, 1),
        replicaRssBytes: r.rss,
        replicaEmptyRssBytes: empty.rss,
        replicaRssBytesPerEntry: Math.round((r.rss - empty.rss) / N),
        hitP50Ms: round(r.hitP50),
        hitP99Ms: round(r.hitP99),
        hitP50xPing: round(r.hitP50 / ping.p50, 1),
        hitP99xPing: round(r.hitP99 / ping.p99, 1),
        recallAt1: round(r.recall),
        redisBytesPerEntry: mode === 'server' ? redisBytes.hash + redisBytes.eventStream + redisBytes.vectorSet + redisBytes.expirySet : redisBytes.hash + redisBytes.eventStream,
      };
      log(JSON.stringify(row));
      modes.push(row);
    }
    rmSync(jobDir, { recursive: true, force: true });

    // Recall@1 of VSIM alone, int8 against NOQUANT (the store re-scores VSIM's top 2k by exact cosine; this is before).
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
      noquantRecallAt1: opts.quant === false ? NaN : await vsimRecall(exactKey),
      q8VectorSetBytesPerEntry: redisBytes.vectorSet,
      noquantVectorSetBytesPerEntry: Math.round(noquantBytes / N),
    };
    log(JSON.stringify(quant));
    return {
      date: new Date().toISOString(),
      command: opts.command,
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      redisVersion,
      entries: N,
      dim: DIM,
      queries: QUERIES,
      k: K,
      writeSeconds: round(writeSeconds, 1),
      pingMs: { p50: round(ping.p50), p99: round(ping.p99) },
      redisBytes,
      modes,
      quant,
    };
  } finally {
    raw.disconnect();
    await redis.stop();
  }
}

/** The side-by-side table, for a report. */
export function redisModesTable(r: RedisModesResult): string[] {
  const m = (mode: string) => r.modes.find((x) => x.mode === mode)!;
  const [mi, se] = [m('mirror'), m('server')];
  const kb = (b: number) => `${(b / 1000).toFixed(2)} KB`;
  const cell = {
    start: (x: ModeRow) => `${(x.startupMs / 1000).toFixed(x.startupMs < 1000 ? 3 : 0)} s (event loop held at most ${x.startupMaxStallMs} ms)`,
    rss: (x: ModeRow) => `${(x.replicaRssBytes / 1e6).toFixed(1)} MB, against ${(x.replicaEmptyRssBytes / 1e6).toFixed(1)} MB empty: ${x.replicaRssBytesPerEntry} B per entry`,
    hit: (x: ModeRow) => `${x.hitP50Ms} / ${x.hitP99Ms} ms (${x.hitP50xPing}× / ${x.hitP99xPing}× PING)`,
  };
  return [
    `${r.entries.toLocaleString('en')} entries of ${r.dim}-d in one scope, top ${r.k}, on redis ${r.redisVersion}; ${r.date.slice(0, 16)}, \`${r.command}\`. Baseline: PING p50 ${r.pingMs.p50} ms, p99 ${r.pingMs.p99} ms.`,
    '',
    '| | mirror (`--redis-search mirror`) | server-side (`--redis-search server`) |',
    '|---|---|---|',
    '| Redis it needs | any Redis 6+ or Valkey (tested: 7.0, 8.0) | Redis 8+ (vector sets) |',
    `| latency per semantic hit, p50 / p99 | ${cell.hit(mi)} | ${cell.hit(se)} |`,
    `| memory per replica (RSS growth) | ${cell.rss(mi)} | ${cell.rss(se)} |`,
    `| start-up of a new replica | ${cell.start(mi)} | ${cell.start(se)} |`,
    `| recall@1 (paraphrases at cosine 0.9) | ${mi.recallAt1} | ${se.recallAt1} |`,
    `| Redis memory per entry | ${kb(mi.redisBytesPerEntry)}: hash ${r.redisBytes.hash} B, stream event ${r.redisBytes.eventStream} B | ${kb(se.redisBytesPerEntry)}: also vector-set element ${r.redisBytes.vectorSet} B (int8), expiry ${r.redisBytes.expirySet} B |`,
    '',
    `Vector-set quantisation: VSIM's own recall@1 is ${r.quant.q8RecallAt1} with int8 (Q8, the default; ${r.quant.q8VectorSetBytesPerEntry} B/entry) and ${r.quant.noquantRecallAt1} with NOQUANT (${r.quant.noquantVectorSetBytesPerEntry} B/entry); the store re-scores its top 2k by exact cosine either way. Writing the entries through a server-mode store took ${r.writeSeconds} s. The stream event's share is bounded: the stream is capped at about 10,000 events, so it does not grow with the entries.`,
  ];
}

const RESULT = 'bench/results/redis-memory.json';

/** Keep a run: bench/results/redis-memory.{json,md}, which both bench/redis-memory.ts and bench/scale.ts report. */
export function saveRedisModes(r: RedisModesResult): string {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(RESULT, `${JSON.stringify(r, null, 2)}\n`);
  const md = ['# Redis store: mirror vs server-side search', '', ...redisModesTable(r), ''].join('\n');
  writeFileSync('bench/results/redis-memory.md', md);
  return md;
}

/** The last kept run, if any. */
export function lastRedisModes(): RedisModesResult | undefined {
  return existsSync(RESULT) ? (JSON.parse(readFileSync(RESULT, 'utf8')) as RedisModesResult) : undefined;
}
