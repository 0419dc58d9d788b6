/**
 * @module bench/embed: embedding throughput and the latency one embedding adds to a request, for each embedder that
 * runs on this machine: one sentence at a time, N concurrent callers through BatchingEmbedder (as the proxy runs
 * it), and direct batches of 64 as an upper bound. No MemoEmbedder in the path, and no sentence is embedded twice
 * within one measurement.
 *
 * Run: npx tsx bench/embed.ts [--quick]   (~100 s; --quick or BENCH_QUICK=1: ~35 s)
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchingEmbedder } from '../src/embed/batcher.js';
import { loadTransformers } from '../src/embed/transformers.js';
import type { Embedder } from '../src/embed/types.js';
import { loadUseLite } from '../src/embed/use-lite.js';
import { loadUseLiteThread } from '../src/embed/use-lite-thread.js';
import { makeTinyModel } from '../test/fixtures/tiny-model/make-tiny-model.js';
import { machine, summarize, table, writeResult, writeSummary } from './lib/stats.js';
import { DATA_DIR } from './quality/split.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
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
  const [inThread, worker] = await Promise.all([loadUseLite(), loadUseLiteThread()]);
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
// At most 30 s (8 s quick), and never past the bench budget.
const deadline = Number(process.env.BENCH_DEADLINE ?? Infinity);
const stopAt = performance.now() + Math.max(3_000, Math.min(quick ? 8_000 : 30_000, deadline - Date.now() - 5_000));
const thread = await threadCost(quick ? 40 : 120);
log(`worker thread: p50 ${thread.worker.p50.toFixed(1)} ms against ${thread.inThread.p50.toFixed(1)} ms in the calling thread (${thread.calls} calls each)`);
const wall = (performance.now() - started) / 1000;

writeResult('embed', { wallSeconds: wall, threadCost: thread, concurrency: CONCURRENCY, batch: BATCH, limits: { single: SINGLE, other: LIMIT }, sentencesInPool: SENTENCES.length, results });

const m = machine();
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
  `Reprise runs USE-lite in a worker thread on Node (src/embed/use-lite-thread.ts), so that the server thread is free while the model works. Side by side, one sentence per call, alternating which goes first (${thread.calls} calls each): p50 ${thread.worker.p50.toFixed(2)} ms in the worker against ${thread.inThread.p50.toFixed(2)} ms in the calling thread (p99 ${thread.worker.p99.toFixed(1)} against ${thread.inThread.p99.toFixed(1)} ms), ${(thread.worker.p50 - thread.inThread.p50).toFixed(2)} ms more at p50: two messages between the threads and a thread wake-up. The rows of the two blocks below ran minutes apart, so compare them only loosely.`,
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
