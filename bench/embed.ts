/**
 * @module bench/embed: embedding throughput and the latency one embedding adds to a request, for each embedder that
 * runs on this machine: one sentence at a time, N concurrent callers through BatchingEmbedder (as the proxy runs
 * it), and direct batches of 64 as an upper bound. No MemoEmbedder in the path, and no sentence is embedded twice
 * within one measurement. Then the bundled model on a pool of 1, 2, … N worker threads (src/embed/use-lite-thread.ts),
 * as the proxy runs it: what each thread count gives in throughput and latency under 16 concurrent callers, as ratios
 * against one thread measured in the same run, and what each thread costs in memory and start-up.
 *
 * Run: npx tsx bench/embed.ts [--quick] [--threads N]   (~150 s; --quick or BENCH_QUICK=1: ~50 s)
 *   --threads N: measure pools of up to N threads (default: the machine's cores, os.availableParallelism())
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchingEmbedder } from '../src/embed/batcher.js';
import { loadTransformers } from '../src/embed/transformers.js';
import type { Embedder } from '../src/embed/types.js';
import { loadUseLite, USE_LITE_MAX_CHARS } from '../src/embed/use-lite.js';
import { loadUseLiteThread } from '../src/embed/use-lite-thread.js';
import { makeTinyModel } from '../test/fixtures/tiny-model/make-tiny-model.js';
import { cpuShare, type CpuShare } from './lib/cpu-share.js';
import { machine, percentile, summarize, table, writeResult, writeSummary } from './lib/stats.js';
import { DATA_DIR, loadPairs } from './quality/split.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, threads: { type: 'string' } } });
// bench/run.ts passes BENCH_QUICK=1 for smoke tests and BENCH_DEADLINE (epoch ms); the full run needs ~75 s here.
const quick = args.quick || process.env.BENCH_QUICK === '1' || Number(process.env.BENCH_DEADLINE ?? Infinity) - Date.now() < 120_000;
const CONCURRENCY = [8, 32, 64];
const BATCH = 64;
/** each measurement stops after this many sentences or this many seconds, whichever comes first */
const LIMIT = quick ? { sentences: 256, seconds: 2 } : { sentences: 1024, seconds: 6 };
const SINGLE = quick ? { sentences: 100, seconds: 2 } : { sentences: 400, seconds: 6 };
const log = (msg: string) => process.stderr.write(`[embed] ${msg}\n`);

// Real sentences, de-duplicated: both sides of every pair of paraphrase-easy.
const SENTENCES = [
  ...new Set(
    readFileSync(join(DATA_DIR, 'paraphrase-easy.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        const { a, b } = JSON.parse(l) as { a: string; b: string };
        return [a, b];
      }),
  ),
];

/** Hands out sentences in order and starts over only when the pool is used up, so repeats are rare and far apart. */
function pool() {
  let i = 0;
  return () => SENTENCES[i++ % SENTENCES.length]!;
}

interface Measured {
  mode: string;
  callers: number;
  sentences: number;
  seconds: number;
  perSecond: number;
  /** latency of one call (a request's wait), ms */
  p50: number;
  p99: number;
  mean: number;
  modelCalls: number;
  meanBatch: number;
}

function result(mode: string, callers: number, lat: number[], sentences: number, ms: number, calls: number): Measured {
  const s = summarize(lat);
  return { mode, callers, sentences, seconds: ms / 1000, perSecond: (sentences / ms) * 1000, p50: s.p50, p99: s.p99, mean: s.mean, modelCalls: calls, meanBatch: sentences / calls };
}

/** (a) one caller, one sentence per call, on an otherwise idle embedder */
async function single(e: Embedder, next: () => string): Promise<Measured> {
  const lat: number[] = [];
  const t0 = performance.now();
  while (lat.length < SINGLE.sentences && performance.now() - t0 < SINGLE.seconds * 1000) {
    const text = next();
    const t = performance.now();
    await e.embed([text]);
    lat.push(performance.now() - t);
  }
  return result('single, sequential', 1, lat, lat.length, performance.now() - t0, lat.length);
}

/** (b) `callers` closed-loop callers, each awaiting embed([one sentence]) and then sending the next */
async function concurrent(e: Embedder, callers: number, next: () => string, maxBatch?: number): Promise<Measured> {
  const b = maxBatch ? new BatchingEmbedder(e, maxBatch) : undefined;
  const target = b ?? e;
  const lat: number[] = [];
  let started = 0;
  let directCalls = 0;
  const t0 = performance.now();
  const caller = async () => {
    while (started < LIMIT.sentences && performance.now() - t0 < LIMIT.seconds * 1000) {
      started++;
      directCalls++;
      const t = performance.now();
      await target.embed([next()]);
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  const ms = performance.now() - t0;
  const mode = !b ? 'concurrent, no batcher' : maxBatch === BATCH ? 'concurrent, BatchingEmbedder' : `concurrent, BatchingEmbedder(maxBatch ${maxBatch})`;
  return result(mode, callers, lat, lat.length, ms, b ? b.calls : directCalls);
}

/** (c) direct embed() calls of BATCH sentences: the model's best case */
async function batches(e: Embedder, next: () => string): Promise<Measured> {
  const lat: number[] = [];
  const t0 = performance.now();
  while (lat.length * BATCH < LIMIT.sentences && performance.now() - t0 < LIMIT.seconds * 1000) {
    const texts = Array.from({ length: BATCH }, next);
    const t = performance.now();
    await e.embed(texts);
    lat.push(performance.now() - t);
  }
  return result(`direct batches of ${BATCH}`, 1, lat, lat.length * BATCH, performance.now() - t0, lat.length);
}

async function bench(name: string, load: () => Promise<Embedder>, note: string) {
  log(`${name}: loading`);
  const t = performance.now();
  const e = await load();
  const loadSeconds = (performance.now() - t) / 1000;
  const next = pool();
  // Warm-up: JIT, kernels and buffers for the shapes used below.
  for (let i = 0; i < 10; i++) await e.embed([next()]);
  for (let i = 0; i < 3; i++) await e.embed(Array.from({ length: BATCH }, next));
  const rows: Measured[] = [await single(e, next)];
  for (const c of CONCURRENCY) rows.push(await concurrent(e, c, next, BATCH));
  rows.push(await concurrent(e, 32, next));
  rows.push(await concurrent(e, 32, next, 4));
  rows.push(await batches(e, next));
  for (const r of rows) log(`${name}: ${r.mode} x${r.callers}: ${r.perSecond.toFixed(0)}/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`);
  return { embedder: name, id: e.id, dim: e.dim, loadSeconds, note, rows };
}

const started = performance.now();
const tinyDir = resolve('bench/.cache/tiny-model');
const results = [
  await bench('USE-lite (bundled)', loadUseLite, 'Universal Sentence Encoder lite, tfjs in pure JS/WASM on the CPU: the embedder that runs offline, and the fallback. Measured here in the calling thread; Reprise on Node runs it in a worker thread (see "What the worker thread costs a call").'),
  await bench(
    'transformers.js, tiny test model',
    async () => loadTransformers({ model: await makeTinyModel(tinyDir), cacheDir: resolve('bench/.cache/hf') }),
    'The generated 1-layer, 32-d BERT from test/fixtures/tiny-model, q8 ONNX: this measures transformers.js pipeline overhead (tokenizer, onnxruntime session, pooling), not a real model.',
  ),
];

/**
 * What the worker thread costs a call: the two embedders side by side, one sentence per call, alternating which goes
 * first, so that noise from elsewhere lands on both alike (the blocks above run minutes apart).
 */
async function threadCost(n: number) {
  const [inThread, worker] = await Promise.all([loadUseLite(), loadUseLiteThread({ threads: 1 })]);
  const next = pool();
  for (let i = 0; i < 5; i++) await Promise.all([inThread.embed([next()]), worker.embed([next()])]);
  const ms: { inThread: number[]; worker: number[] } = { inThread: [], worker: [] };
  const time = async (e: Embedder, text: string) => {
    const t = performance.now();
    await e.embed([text]);
    return performance.now() - t;
  };
  for (let i = 0; i < n && performance.now() < stopAt; i++) {
    const text = next();
    // The same sentence for both, with a different last character so neither reuses anything from the other's call.
    if (i % 2) {
      ms.worker.push(await time(worker, `${text} `));
      ms.inThread.push(await time(inThread, `${text}.`));
    } else {
      ms.inThread.push(await time(inThread, `${text}.`));
      ms.worker.push(await time(worker, `${text} `));
    }
  }
  await worker.close();
  return { calls: ms.worker.length, inThread: summarize(ms.inThread), worker: summarize(ms.worker) };
}
// ---- Threads: the bundled model on a pool of worker threads ------------------------------------------------------

const MAX_THREADS = Math.max(1, Math.floor(Number(args.threads ?? availableParallelism())) || 1);
/** 1, 2, … MAX_THREADS: every count up to 4, then doubling, and MAX_THREADS itself */
const THREAD_COUNTS = [...new Set([...Array.from({ length: Math.min(4, MAX_THREADS) }, (_, i) => i + 1), ...[8, 16, 32, 64, 128].filter((n) => n < MAX_THREADS), MAX_THREADS])].sort((a, b) => a - b);
const THREAD_CALLERS = 16;
/** each round stops after this many sentences; rounds alternate between one thread and N, which goes first too */
const THREAD_ROUND = quick ? { sentences: 96, rounds: 2 } : { sentences: 256, rounds: 4 };
/** fresh processes per thread count for memory and start-up */
const THREAD_MEMORY_RUNS = quick ? 1 : 3;
/** Quora questions (qqp-dev, both sides, de-duplicated): real user questions, 11 words on average */
const QUESTIONS = [...new Set(loadPairs(join(DATA_DIR, 'qqp-dev.jsonl')).flatMap((p) => [p.a, p.b]))];

interface Round {
  ms: number;
  lat: number[];
  modelCalls: number;
}

/** 16 closed-loop callers, one sentence per call, through BatchingEmbedder(pool, 4, threads) as src/embed/load.ts wires it. */
async function threadRound(e: Embedder, threads: number, next: () => string, sentences = THREAD_ROUND.sentences): Promise<Round> {
  const b = new BatchingEmbedder(e, 4, threads);
  const lat: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const caller = async () => {
    while (started < sentences) {
      started++;
      const text = next();
      const t = performance.now();
      await b.embed([text]);
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: THREAD_CALLERS }, caller));
  return { ms: performance.now() - t0, lat, modelCalls: b.calls };
}

function pooled(rounds: Round[]) {
  const lat = rounds.flatMap((r) => r.lat);
  const ms = rounds.reduce((a, r) => a + r.ms, 0);
  const s = summarize(lat);
  return { rounds: rounds.length, sentences: lat.length, perSecond: (lat.length / ms) * 1000, p50: s.p50, p99: s.p99, meanBatch: lat.length / rounds.reduce((a, r) => a + r.modelCalls, 0) };
}

/** RSS and start-up of a pool of `n` threads, in a fresh process (bench/lib/embed-thread-memory.ts). */
function threadMemory(n: number, tries = 2): { threads: number; loadSeconds: number; rssBeforeMiB: number; rssLoadedMiB: number; rssWorkedMiB: number } {
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/lib/embed-thread-memory.ts', String(n)], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (err) {
    // Say why, once, and try again: one failed probe should not cost the whole run.
    log(`threads: the probe of ${n} failed: ${String((err as { stderr?: string }).stderr ?? err).slice(0, 2000)}`);
    if (tries <= 1) throw err;
    return threadMemory(n, tries - 1);
  }
}

async function threadScaling() {
  // The median of a few fresh processes per count: start-up, on a shared machine, varies from run to run.
  const memory = THREAD_COUNTS.map((n) => {
    log(`threads: memory and start-up of ${n}, ${THREAD_MEMORY_RUNS} fresh processes`);
    const runs = Array.from({ length: THREAD_MEMORY_RUNS }, () => threadMemory(n));
    const median = (k: Exclude<keyof (typeof runs)[number], 'threads'>) => percentile(runs.map((r) => r[k]), 50);
    const loads = runs.map((r) => r.loadSeconds);
    return { threads: n, runs: runs.length, loadSeconds: median('loadSeconds'), loadMin: Math.min(...loads), loadMax: Math.max(...loads), rssBeforeMiB: median('rssBeforeMiB'), rssLoadedMiB: median('rssLoadedMiB'), rssWorkedMiB: median('rssWorkedMiB') };
  });
  const next = (() => {
    let i = 0;
    return () => QUESTIONS[i++ % QUESTIONS.length]!;
  })();
  // Warm-up: every worker sees the shapes used below before it is timed.
  const warm = async (e: Embedder, n: number) => void (await threadRound(e, n, next, 32 * n));
  const one = await loadUseLiteThread({ threads: 1 });
  await warm(one, 1);
  const baseRounds: Round[] = [];
  const rows: Array<{ threads: number; measured: ReturnType<typeof pooled>; against: ReturnType<typeof pooled>; roundRatios: number[]; cpu: CpuShare | undefined }> = [];
  for (const n of THREAD_COUNTS) {
    log(`threads: ${n}`);
    const pool = n === 1 ? one : await loadUseLiteThread({ threads: n });
    if (n > 1) await warm(pool, n);
    const done = cpuShare();
    const mine: Round[] = [];
    const base: Round[] = [];
    for (let r = 0; r < THREAD_ROUND.rounds; r++) {
      // Within the bench budget (bench/run.ts), after at least one round.
      if (r > 0 && Date.now() > deadline - 10_000) break;
      if (n === 1) {
        mine.push(await threadRound(one, 1, next));
        continue;
      }
      // Alternating which goes first, so that load from elsewhere lands on both alike.
      if (r % 2) {
        mine.push(await threadRound(pool, n, next));
        base.push(await threadRound(one, 1, next));
      } else {
        base.push(await threadRound(one, 1, next));
        mine.push(await threadRound(pool, n, next));
      }
    }
    const cpu = done();
    if (n > 1) await pool.close();
    baseRounds.push(...(n === 1 ? mine : base));
    const against = n === 1 ? mine : base;
    const roundRatios = mine.map((m, i) => (m.lat.length / m.ms) / (against[i]!.lat.length / against[i]!.ms));
    rows.push({ threads: n, measured: pooled(mine), against: pooled(against), roundRatios, cpu });
    const row = rows.at(-1)!;
    log(`threads: ${n}: ${row.measured.perSecond.toFixed(0)}/s (${(row.measured.perSecond / row.against.perSecond).toFixed(2)}x one thread), p50 ${row.measured.p50.toFixed(0)} ms, p99 ${row.measured.p99.toFixed(0)} ms; others used ${cpu?.others.toFixed(2) ?? '?'} cores`);
  }
  await one.close();
  return { counts: THREAD_COUNTS, callers: THREAD_CALLERS, round: THREAD_ROUND, questions: QUESTIONS.length, memory, rows, oneThread: pooled(baseRounds) };
}

// At most 30 s (8 s quick), and never past the bench budget.
const deadline = Number(process.env.BENCH_DEADLINE ?? Infinity);
const stopAt = performance.now() + Math.max(3_000, Math.min(quick ? 8_000 : 30_000, deadline - Date.now() - 5_000));
const thread = await threadCost(quick ? 40 : 120);
log(`worker thread: p50 ${thread.worker.p50.toFixed(1)} ms against ${thread.inThread.p50.toFixed(1)} ms in the calling thread (${thread.calls} calls each)`);
const threads = await threadScaling();

// ---- Input length: what one embedding costs as the text grows (the cut, USE_LITE_MAX_CHARS, is chosen from it) ----
const LENGTHS = quick ? [250, 2_000, 8_000] : [250, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000];
async function lengthCost(): Promise<Array<{ chars: number; ms: number; calls: number }>> {
  const e = await loadUseLiteThread({ threads: 1 });
  try {
    // Real, varied words: the tokenizer's cost depends on the vocabulary, and repeated words understate it.
    const corpus = QUESTIONS.join(' ');
    await e.embed([corpus.slice(0, 100)]);
    const out: Array<{ chars: number; ms: number; calls: number }> = [];
    for (const chars of LENGTHS) {
      const calls = chars >= 16_000 ? 2 : 5;
      const ms: number[] = [];
      for (let i = 0; i < calls; i++) {
        const text = corpus.slice(i * 997, i * 997 + chars);
        const t = performance.now();
        await e.embed([text]);
        ms.push(performance.now() - t);
      }
      out.push({ chars, ms: ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!, calls });
      log(`input length ${chars} chars: ${out.at(-1)!.ms.toFixed(0)} ms`);
    }
    return out;
  } finally {
    await e.close();
  }
}
const lengths = await lengthCost();
const wall = (performance.now() - started) / 1000;

writeResult('embed', { wallSeconds: wall, threadCost: thread, threads, inputLength: { maxChars: USE_LITE_MAX_CHARS, medians: lengths }, concurrency: CONCURRENCY, batch: BATCH, limits: { single: SINGLE, other: LIMIT }, sentencesInPool: SENTENCES.length, results });

const m = machine();

function threadSection(): string[] {
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const rows = threads.rows.map((r) => ({
    threads: r.threads,
    sentences: r.measured.sentences,
    'sentences/s': r.measured.perSecond,
    '1 thread beside it, /s': r.threads === 1 ? '' : r.against.perSecond.toFixed(1),
    '× 1 thread': x(r.measured.perSecond, r.against.perSecond),
    'rounds ×': r.threads === 1 ? '1' : `${Math.min(...r.roundRatios).toFixed(2)}–${Math.max(...r.roundRatios).toFixed(2)}`,
    'p50 ms': r.measured.p50,
    'p50 ×': x(r.measured.p50, r.against.p50),
    'p99 ms': r.measured.p99,
    'p99 ×': x(r.measured.p99, r.against.p99),
    'mean batch': r.measured.meanBatch,
    'cores: this bench': r.cpu ? r.cpu.self.toFixed(2) : '?',
    'cores: everything else': r.cpu ? r.cpu.others.toFixed(2) : '?',
  }));
  // The busiest other processes over the section, by the most each used during any one thread count.
  const top = new Map<string, number>();
  for (const r of threads.rows) for (const p of r.cpu?.top ?? []) top.set(p.command, Math.max(top.get(p.command) ?? 0, p.cores));
  const others = [...top].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([c, cores]) => `\`${c.replace(/[`|]/g, ' ').slice(0, 90)}\` (${cores.toFixed(2)})`);
  const mem = threads.memory;
  const first = mem[0]!;
  const last = mem.at(-1)!;
  const perThread = (k: 'rssLoadedMiB' | 'rssWorkedMiB') => (mem.length > 1 ? (last[k] - first[k]) / (last.threads - first.threads) : NaN);
  const best = threads.rows.reduce((a, b) => (b.measured.perSecond / b.against.perSecond > a.measured.perSecond / a.against.perSecond ? b : a));
  return [
    '## Threads: the bundled model on a pool of worker threads',
    `src/embed/use-lite-thread.ts runs USE-lite on a pool of worker threads, by default one per core (\`os.availableParallelism()\` = ${availableParallelism()} here; \`--embed-threads\`), each with its own copy of the model, and src/embed/load.ts lets the batcher keep one batch (of up to 4) in flight per thread. Measured: ${threads.callers} closed-loop callers, one Quora question per call (both sides of qqp-dev, ${threads.questions} distinct, none sent twice), through \`BatchingEmbedder(pool, 4, threads)\` as the proxy wires it; per thread count, ${threads.round.rounds} rounds of ${threads.round.sentences} sentences, alternating with as many rounds on a one-thread pool (which of the two goes first alternates too). The ratios are against those one-thread rounds, run beside them; "rounds ×" is the range of the round-by-round throughput ratios. Latency is per call, queueing included.`,
    '',
    table(rows),
    '',
    `- Best: ${best.threads} thread${best.threads > 1 ? 's' : ''}, ${x(best.measured.perSecond, best.against.perSecond)} the sentences/s of one thread, p50 ${x(best.measured.p50, best.against.p50)} and p99 ${x(best.measured.p99, best.against.p99)} of one thread's.`,
    `- What else ran: the machine has ${m.cpus} cores, shared. "cores: this bench" is this process (the callers, the batcher and every worker thread, from \`process.cpuUsage()\`); "cores: everything else" is the rest of the machine's busy time over the same rounds (/proc/stat), both averaged over the rounds. The busiest other processes (cores used on average during one thread count, from /proc/<pid>/stat): ${others.join(', ') || 'none seen'}. Their load lands on both sides of each ratio alike, but a core they use is one the extra threads cannot: on ${m.cpus} cores, more threads can gain only on the cores the rest of the machine leaves free.`,
    '',
    '### What each thread costs',
    `Each count in ${THREAD_MEMORY_RUNS} fresh process${THREAD_MEMORY_RUNS > 1 ? 'es' : ''} (bench/lib/embed-thread-memory.ts; medians shown${THREAD_MEMORY_RUNS > 1 ? ', with the range of start-up times' : ''}): RSS before the pool, once it has loaded, and after 640 sentences through it as above (the model's buffers grow on first use, so the last column is what a serving pool holds). Start-up is \`loadUseLiteThread({ threads })\` until every thread has loaded its model; the threads load in parallel.`,
    '',
    table(mem.map((r) => ({ threads: r.threads, 'start-up s': r.loadSeconds, 'start-up range s': `${r.loadMin.toFixed(2)}–${r.loadMax.toFixed(2)}`, 'RSS before MiB': r.rssBeforeMiB, 'RSS loaded MiB': r.rssLoadedMiB, 'RSS at work MiB': r.rssWorkedMiB }))),
    '',
    mem.length > 1
      ? `- Each thread after the first adds about ${perThread('rssWorkedMiB').toFixed(0)} MiB of RSS at work (${perThread('rssLoadedMiB').toFixed(0)} MiB just loaded); the first costs ${(first.rssWorkedMiB - first.rssBeforeMiB).toFixed(0)} MiB. Start-up went from ${first.loadSeconds.toFixed(2)} s with one thread to ${last.loadSeconds.toFixed(2)} s with ${last.threads}.`
      : `- One thread costs ${(first.rssWorkedMiB - first.rssBeforeMiB).toFixed(0)} MiB of RSS at work and starts in ${first.loadSeconds.toFixed(2)} s.`,
    '',
  ];
}
const fmtRow = (r: Measured) => ({
  mode: r.mode, callers: r.callers, sentences: r.sentences, 'sentences/s': r.perSecond, 'p50 ms': r.p50, 'p99 ms': r.p99, 'model calls': r.modelCalls, 'mean batch': r.meanBatch,
});
const added = (res: (typeof results)[number]) => {
  const idle = res.rows[0]!;
  const under = res.rows.filter((r) => r.mode === 'concurrent, BatchingEmbedder');
  return `idle: p50 ${idle.p50.toFixed(1)} ms, p99 ${idle.p99.toFixed(1)} ms; ` + under.map((r) => `${r.callers} callers: p50 ${r.p50.toFixed(1)} / p99 ${r.p99.toFixed(1)} ms`).join('; ');
};
writeSummary('embed', [
  '# Embedding throughput and added latency',
  '',
  `Run \`npx tsx bench/embed.ts\` on ${m.cpus} × ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}; load average at the end ${m.loadavg.split(' ').slice(0, 3).join(' ')} (shared machine; other jobs were running). Wall time ${wall.toFixed(0)} s.`,
  '',
  '## The latency one embedding adds to a request',
  'A request on the miss or semantic path waits for one embedding (the memo answers repeated texts without one).',
  '',
  ...results.map((r) => `- **${r.embedder}** (${r.dim}-d): ${added(r)}.`),
  '',
  '## What the worker thread costs a call',
  `Reprise runs USE-lite on worker threads on Node (src/embed/use-lite-thread.ts), so that the server thread is free while the model works. One worker against the model in the calling thread, side by side, one sentence per call, alternating which goes first (${thread.calls} calls each): p50 ${thread.worker.p50.toFixed(2)} ms in the worker against ${thread.inThread.p50.toFixed(2)} ms in the calling thread (p99 ${thread.worker.p99.toFixed(1)} against ${thread.inThread.p99.toFixed(1)} ms), ${(thread.worker.p50 - thread.inThread.p50).toFixed(2)} ms more at p50: two messages between the threads and a thread wake-up. The rows of the two blocks below ran minutes apart, so compare them only loosely.`,
  '',
  ...threadSection(),
  '## Input length',
  `One USE-lite embedding of a text of N characters (real Quora questions run together; median of a few calls, one thread). Its cost grows about with the square of the length past a few thousand characters, so Reprise cuts the text it embeds to ${USE_LITE_MAX_CHARS} characters (\`USE_LITE_MAX_CHARS\`) and keeps a hash of the rest in the scope.`,
  '',
  table(lengths.map((l) => ({ characters: l.chars, 'ms (median)': l.ms.toFixed(0), 'x 250 chars': (l.ms / lengths[0]!.ms).toFixed(1), calls: l.calls }))),
  '',
  '## Does micro-batching pay?',
  ...results.map((r) => {
    const single = r.rows[0]!;
    const batched = r.rows.filter((x) => x.mode === 'concurrent, BatchingEmbedder');
    const best = batched.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    const small = r.rows.find((x) => x.mode.includes('maxBatch 4'))!;
    return `- **${r.embedder}**: ${single.perSecond.toFixed(0)} sentences/s one at a time; through BatchingEmbedder (maxBatch 64) at best ${best.perSecond.toFixed(0)}/s (${best.callers} callers, ${(best.perSecond / single.perSecond).toFixed(2)}×); capped at 4 per call, ${small.perSecond.toFixed(0)}/s (${(small.perSecond / single.perSecond).toFixed(2)}×).`;
  }),
  '- USE-lite (tfjs) pads every batch to its longest sentence. In a side test on this machine, batches of 8 or more same-length sentences cost ~15 ms/sentence against ~40 ms one at a time, but batches of these real, mixed-length sentences cost 30–65 ms/sentence: large batches of mixed lengths lose what batching saves. Small batches (about 4), or batches grouped by token length, keep most of the gain.',
  '',
  ...results.flatMap((r) => [
    `## ${r.embedder}`,
    `\`${r.id}\`, ${r.dim}-d, loaded in ${r.loadSeconds.toFixed(1)} s. ${r.note}`,
    '',
    table(r.rows.map(fmtRow)),
    '',
  ]),
  '## Notes',
  `- Sentences: both sides of ../shared/data/paraphrase-easy.jsonl, de-duplicated (${SENTENCES.length}), handed out in order, so no text repeats within a measurement; no MemoEmbedder is in the path.`,
  `- "single, sequential": one caller, one sentence per call, on an idle embedder. "concurrent, BatchingEmbedder": N closed-loop callers each awaiting \`embed([one sentence])\` through \`BatchingEmbedder\` with its defaults (batches of up to 64, one model call at a time), as src/embed/load.ts wires it; latency is per request, queueing included. "concurrent, no batcher": the same 32 callers calling the model directly, and "maxBatch 4": the batcher capped at 4 texts per call, both for comparison. "direct batches of 64": one caller, \`embed(64 sentences)\`; latency is per call.`,
  `- Each measurement stops after ${LIMIT.sentences} sentences or ${LIMIT.seconds} s (single: ${SINGLE.sentences} or ${SINGLE.seconds} s), whichever comes first, after a warm-up.`,
  '- **all-MiniLM-L6-v2** (the default transformers.js model, 384-d) cannot be downloaded on this machine (no network), so it is not measured; the tiny model row shows only what transformers.js itself costs around a model. A real 6-layer, 384-d model costs much more per sentence; run this bench where the model is cached to measure it.',
  '- Shared 2-core machine: other jobs ran at the same time, so p99 includes their interference.',
].join('\n'));
log(`done in ${wall.toFixed(0)} s`);
