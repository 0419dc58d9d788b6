/**
 * @module bench/redis-memory: what one entry costs in Redis and in each replica, and what a replica's start-up and
 * semantic hits cost, for the Redis store's two ways to search side by side (bench/lib/redis-modes.ts).
 *
 * Run: nice -n 10 npx tsx bench/redis-memory.ts [entries=100000] [dim=384] [server]
 * Starts its own Redis 8 (test/setup/redis8.mjs) on a free port. Writes bench/results/redis-memory.{json,md};
 * bench/scale.ts shows the same table beside the in-process index. At 100,000 uniformly random entries it took
 * 55 min on a busy 2-core machine: 11 writing, 15 writing the NOQUANT copy, 23 the mirror replica building its
 * HNSW index; `server` alone, about 12.
 */
import { writeFileSync } from 'node:fs';
import { measureRedisModes, saveRedisModes } from './lib/redis-modes.js';

const entries = Number(process.argv[2] ?? 100_000);
const dim = Number(process.argv[3] ?? 384);
// `server` as a third argument: the server-side mode alone, without the NOQUANT comparison (a quick re-measure);
// kept apart, in bench/results/redis-memory-server.json, so the side-by-side stays whole.
const serverOnly = process.argv[4] === 'server';
const result = await measureRedisModes({
  entries,
  dim,
  command: `npx tsx bench/redis-memory.ts ${entries} ${dim}${serverOnly ? ' server' : ''}`,
  log: (m) => process.stderr.write(`[redis-memory] ${m}\n`),
  ...(serverOnly && { modes: ['server' as const], quant: false }),
});
if (serverOnly) writeFileSync('bench/results/redis-memory-server.json', `${JSON.stringify(result, null, 2)}\n`);
else process.stdout.write(saveRedisModes(result));
