/**
 * @module bench/lib/redis-replica: one new replica of the Redis store, in a process of its own so that its memory
 * and start-up are its own (no writer's heap to free, no JIT warmed by it). Run by bench/lib/redis-modes.ts:
 * `node --expose-gc --import tsx bench/lib/redis-replica.ts <job.json>`; prints one JSON line.
 *
 * job: { url, prefix, scope, mode, k, queries: number[][], truth: string[] }
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { hnswFactory } from '../../src/store/hnsw-index.js';
import { RedisStore } from '../../src/store/redis.js';
import { percentile } from './stats.js';

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  url: string; prefix: string; scope: string; mode: 'mirror' | 'server'; k: number; queries: number[][]; truth: string[];
};
const gc = (globalThis as { gc?: () => void }).gc!;
const queries = job.queries.map((q) => Float32Array.from(q));

gc();
gc();
const rss0 = process.memoryUsage().rss;
const stalls = monitorEventLoopDelay({ resolution: 5 });
stalls.enable();
const t0 = performance.now();
const replica = new RedisStore({ url: job.url, prefix: job.prefix, search: job.mode, timeoutMs: 10_000, sweepMs: 0, largeIndex: hnswFactory() });
await replica.start();
await replica.synced();
await replica.search(job.scope, queries[0]!, job.k);
const startupMs = performance.now() - t0;
stalls.disable();
// Memory once started: what it holds for the entries. Measured before the timed searches, whose transient reads
// grow the heap V8 keeps (RSS does not shrink after gc).
gc();
gc();
const rss = process.memoryUsage().rss - rss0;
const lat: number[] = [];
let hits = 0;
for (const [i, q] of queries.entries()) {
  const t = performance.now();
  const found = await replica.search(job.scope, q, job.k);
  lat.push(performance.now() - t);
  if (found[0]?.entry.textKey === job.truth[i]) hits++;
}
await replica.close();
process.stdout.write(`${JSON.stringify({ startupMs, maxStallMs: stalls.max / 1e6, rss, hitP50: percentile(lat, 50), hitP99: percentile(lat, 99), recall: hits / queries.length })}\n`);
