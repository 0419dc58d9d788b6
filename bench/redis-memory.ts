/**
 * Bytes one entry costs in Redis and in a replica's in-process mirror, for 384-d and 512-d vectors.
 * Run: node --expose-gc --import tsx bench/redis-memory.ts 384   (and 512; one dim per process, so RSS readings
 * of one do not see memory freed by the other). Starts its own redis-server on a free port.
 * `bench/redis-memory.ts 384 server [entries]`: the same with server-side search, on Redis 8 (test/setup/redis8.mjs);
 * the replica then holds no mirror, and Redis holds each entry's vector-set element and expiry too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hnswFactory } from '../src/store/hnsw-index.js';
import { RedisStore } from '../src/store/redis.js';
import { entryId, type Entry } from '../src/store/types.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { randomUnit, rng } from '../test/helpers/vectors.js';

const SEARCH = process.argv[3] === 'server' ? 'server' : 'mirror';
const N = Number(process.argv[4] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** A typical short chat answer: ~600 bytes of JSON. */
function response(i: number) {
  return {
    id: `chatcmpl-${i}`,
    object: 'chat.completion',
    created: 1_790_000_000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: `Answer ${i}: `.padEnd(400, 'lorem ipsum '), refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 20, completion_tokens: 90, total_tokens: 110 },
    system_fingerprint: 'fp_x',
  };
}

const hex = (n: number, salt: string) => (salt + n.toString(16)).padStart(64, '0').slice(-64);

const redis = await startRedis(undefined, SEARCH === 'server' ? { version: 8 } : {});
const rows = [];
try {
  for (const dim of [Number(process.argv[2] ?? 384)]) {
    const raw = redis.client();
    await raw.flushall();
    const before = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
    gc();
    const heapBefore = process.memoryUsage().rss;
    const store = new RedisStore({ url: redis.url, prefix: `mem${dim}`, largeIndex: hnswFactory(), timeoutMs: 2000, search: SEARCH, sweepMs: 0 });
    await store.start();
    await store.synced();
    const rand = rng(dim);
    const scope = hex(dim, 'a');
    for (let i = 0; i < N; i++) {
      const textKey = hex(i, 'b');
      const e: Entry = {
        id: entryId(scope, textKey), scope, textKey, text: `What is the answer to question number ${i} about topic x?`,
        vector: randomUnit(dim, rand), response: response(i), endpoint: 'chat', model: 'gpt-4o-mini',
        tenant: hex(1, 'c').slice(0, 32), namespace: '', createdAt: Date.now(), expiresAt: Date.now() + 3_600_000,
      };
      await store.put(e, 3600);
    }
    const after = Number(/used_memory:(\d+)/.exec(await raw.info('memory'))![1]);
    const [sample] = (await raw.scan('0', 'MATCH', `mem${dim}:{*}:*`, 'COUNT', 10))[1];
    const keyUsage = (await raw.call('MEMORY', 'USAGE', sample!, 'SAMPLES', '0')) as number;
    const streamUsage = (await raw.call('MEMORY', 'USAGE', `mem${dim}:events`, 'SAMPLES', '0')) as number;
    // The writer's exact tier holds whole entries; a replica that did not write them holds only the mirror.
    const replica = new RedisStore({ url: redis.url, prefix: `mem${dim}`, largeIndex: hnswFactory(), timeoutMs: 2000, search: SEARCH, sweepMs: 0 });
    // RSS, because usearch's HNSW graph lives in native memory that the V8 heap figures do not see.
    gc();
    const replicaBefore = process.memoryUsage().rss;
    await replica.start();
    await replica.synced();
    gc();
    const replicaAfter = process.memoryUsage().rss;
    const row = {
      search: SEARCH,
      dim,
      entries: N,
      redisBytesPerEntryKey: keyUsage,
      redisUsedMemoryPerEntry: Math.round((after - before) / N),
      redisStreamBytesPerEntry: Math.round(streamUsage / N),
      ...(SEARCH === 'server' && {
        redisVectorSetBytesPerEntry: Math.round(((await raw.call('MEMORY', 'USAGE', `mem${dim}:vset:{${scope}}`, 'SAMPLES', '0')) as number) / N),
        redisExpirySetBytesPerEntry: Math.round(((await raw.call('MEMORY', 'USAGE', `mem${dim}:vexp:{${scope}}`, 'SAMPLES', '0')) as number) / N),
      }),
      replicaMirrorBytesPerEntry: Math.round((replicaAfter - replicaBefore) / N),
      vectorBytes: dim * 4,
      writerRssBytesPerEntry: Math.round((replicaBefore - heapBefore) / N),
    };
    rows.push(row);
    console.log(row);
    await store.close();
    await replica.close();
    raw.disconnect();
  }
} finally {
  await redis.stop();
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/redis-memory-${rows[0]!.dim}${SEARCH === 'server' ? '-server' : ''}.json`, JSON.stringify({ machine: `${process.platform} ${process.arch}, node ${process.version}`, rows }, null, 2));
