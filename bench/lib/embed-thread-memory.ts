/**
 * @module bench/lib/embed-thread-memory: what a pool of N USE-lite worker threads costs to start and to hold, in a
 * fresh process, so that nothing else loaded by bench/embed.ts is counted. bench/embed.ts spawns it once per N.
 *
 * Run: node --import tsx bench/lib/embed-thread-memory.ts N   → one line of JSON on stdout
 */
import { join } from 'node:path';
import { BatchingEmbedder } from '../../src/embed/batcher.js';
import { loadUseLiteThread } from '../../src/embed/use-lite-thread.js';
import { DATA_DIR, loadPairs } from '../quality/split.js';

const threads = Number(process.argv[2]);
const mib = () => process.memoryUsage().rss / 2 ** 20;
const sentences = loadPairs(join(DATA_DIR, 'qqp-dev.jsonl')).flatMap((p) => [p.a, p.b]);

const rssBefore = mib();
const t = performance.now();
const pool = await loadUseLiteThread({ threads });
const loadSeconds = (performance.now() - t) / 1000;
const rssLoaded = mib();
// Some work on every thread, as the proxy gives it (batches of 4, one per thread at a time): the model's buffers
// grow on first use, so memory held at work is what counts.
const batcher = new BatchingEmbedder(pool, 4, threads);
let next = 0;
const callers = Array.from({ length: 16 }, async () => {
  while (next < 640) await batcher.embed([sentences[next++]!]);
});
await Promise.all(callers);
const rssWorked = mib();
const answered = pool.stats().workers.map((w) => w.answered);
await pool.close();
process.stdout.write(`${JSON.stringify({ threads, loadSeconds, rssBeforeMiB: rssBefore, rssLoadedMiB: rssLoaded, rssWorkedMiB: rssWorked, answered })}\n`);
