/**
 * @module test/store/redis-vector-set: RedisStore with server-side search (`search: "server"`, Redis 8 vector sets)
 * on a real redis-server 8 (test/setup/redis8.mjs): the Store contract; how VSIM's score maps to cosine; a replica
 * started after 10,000 entries serves a semantic hit at once and holds nothing per entry; expired, deleted and purged
 * entries leave their vector set.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import { packVector } from '../../src/store/redis-codec.js';
import { RedisStore } from '../../src/store/redis.js';
import { expiryKey, vectorSetKey } from '../../src/store/redis-vector-set.js';
import { entryId, type Entry } from '../../src/store/types.js';
import { startRedis, startRelay, type RedisServer } from '../helpers/redis-server.js';
import { redisStores, storeEntry } from '../helpers/redis-stores.js';
import { dot, toward } from '../helpers/vectors.js';
import { storeContract } from './contract.js';

let redis: RedisServer;
let raw: Redis;
beforeAll(async () => {
  redis = await startRedis(undefined, { version: 8 });
  raw = redis.client();
});
afterAll(async () => {
  raw?.disconnect();
  await redis?.stop();
});

const { newPrefix, start: startStore } = redisStores('vs', () => ({ url: redis.url, search: 'server', sweepMs: 0 }));

storeContract(
  'RedisStore, server-side search (Redis 8 vector sets)',
  async (clock) => {
    const store = new RedisStore({ url: redis.url, prefix: newPrefix(), timeoutMs: 1_000, now: clock.now, logger: silentLogger, search: 'server', sweepMs: 0 });
    await store.start();
    await store.synced();
    return { store, close: () => store.close() };
  },
  { realTime: true, exactSize: false },
);

// ---------------------------------------------------------------------------------------------------------------

const DIM = 32;

/** A deterministic pseudo-random unit vector. */
function unit(seed: number, dim = DIM): Float32Array {
  // mulberry32: 32-bit integer steps (Math.imul), so no float precision is lost
  let x = seed >>> 0;
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    v[i] = ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  }
  const n = Math.hypot(...v);
  return v.map((a) => a / n);
}
/** `base` turned towards a random direction, to cosine `cos` with it. */
const near = (base: Float32Array, cos: number, seed: number) => toward(base, cos, unit(seed, base.length));

let seq = 0;
function entry(over: Partial<Entry> = {}): Entry {
  const n = ++seq;
  return storeEntry(n, { scope: 'scope-x', vector: unit(n), expiresAt: Date.now() + 3_600_000, ...over });
}

/** The textKeys in a scope's vector set, and in its expiry set. */
async function members(prefix: string, scope: string): Promise<{ vset: string[]; expiries: string[] }> {
  const card = Number(await raw.call('VCARD', vectorSetKey(prefix, scope)));
  const vset = card > 0 ? ((await raw.call('VRANDMEMBER', vectorSetKey(prefix, scope), String(card))) as string[]) : [];
  return { vset: vset.sort(), expiries: (await raw.zrange(expiryKey(prefix, scope), 0, -1)).sort() };
}

describe('VSIM scores against exact cosine', () => {
  it('VSIM reports (1 + cosine) / 2: exact with NOQUANT, within 0.01 with int8 (Q8)', async () => {
    const q = unit(1);
    for (const quant of ['NOQUANT', 'Q8'] as const) {
      const key = `cosine-check-${quant}`;
      const cosines = [0.99, 0.9, 0.75, 0.5, 0.2, 0, -0.3, -0.8];
      for (const [i, c] of cosines.entries()) await raw.call('VADD', key, 'FP32', packVector(near(q, c, 100 + i)), `c${i}`, quant);
      const reply = (await raw.call('VSIM', key, 'FP32', packVector(q), 'WITHSCORES', 'COUNT', '20')) as string[];
      expect(reply.length).toBe(cosines.length * 2);
      for (let i = 0; i < reply.length; i += 2) {
        const cos = cosines[Number(reply[i]!.slice(1))]!;
        const score = Number(reply[i + 1]);
        expect(Math.abs(2 * score - 1 - cos), `${quant} ${reply[i]}: score ${score} for cosine ${cos}`).toBeLessThan(quant === 'NOQUANT' ? 1e-5 : 0.01);
        // Not the raw cosine: a threshold of 0.9 on VSIM's score would be a cosine of 0.8.
        if (cos < 0.9) expect(Math.abs(score - cos)).toBeGreaterThan(0.01);
      }
    }
  });

  it('the store returns exact cosine (from the stored float32 vector) even with int8 vectors in Redis', async () => {
    const store = await startStore({ prefix: newPrefix(), vectorQuant: 'q8' });
    const q = unit(7);
    const cosines = [0.97, 0.93, 0.91, 0.85];
    for (const [i, c] of cosines.entries()) await store.put(entry({ textKey: `k${i}`, vector: near(q, c, 200 + i) }), 60);
    const found = await store.search('scope-x', q, 4);
    expect(found.map((c) => c.score)).toEqual([...found.map((c) => c.score)].sort((a, b) => b - a));
    for (const c of found) expect(c.score).toBeCloseTo(dot(q, c.entry.vector!), 6);
    expect(found.map((c) => c.entry.textKey)).toEqual(['k0', 'k1', 'k2', 'k3']);
  });
});

describe('VSIM\'s EF', () => {
  /** The EF of the VSIM commands a search sends, read back from Redis' slow log with every command logged. */
  async function efSent(store: RedisStore, q: Float32Array): Promise<string[]> {
    await raw.config('SET', 'slowlog-log-slower-than', '0');
    try {
      await raw.slowlog('RESET');
      expect(await store.search('scope-x', q, 1)).toHaveLength(1);
      const log = (await raw.slowlog('GET', 100)) as Array<[number, number, number, string[]]>;
      return log.map((e) => e[3]).filter((args) => args[0]?.toUpperCase() === 'VSIM').map((args) => args[args.indexOf('EF') + 1]!);
    } finally {
      await raw.config('SET', 'slowlog-log-slower-than', '10000');
    }
  }

  it('a search asks VSIM for EF 200 by default (twice Redis\' own: recall at 100k, README), or for searchEf', async () => {
    const prefix = newPrefix();
    const q = unit(11);
    const writer = await startStore({ prefix });
    await writer.put(entry({ textKey: 'ef', vector: q }), 60);
    expect(await efSent(writer, q)).toEqual(['200']);
    const tuned = await startStore({ prefix, searchEf: 500 });
    expect(await efSent(tuned, q)).toEqual(['500']);
  });
});

describe('server-side search: what is in Redis', () => {
  it('one vector set per scope, in the slot of the scope’s entry keys, holding no key of the entry-key pattern', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    await store.put(entry({ scope: 's1', textKey: 'a' }), 60);
    await store.put(entry({ scope: 's1', textKey: 'b' }), 60);
    await store.put(entry({ scope: 's2', textKey: 'a' }), 60);
    expect(await raw.type(vectorSetKey(prefix, 's1'))).toBe('vectorset');
    expect(await members(prefix, 's1')).toEqual({ vset: ['a', 'b'], expiries: ['a', 'b'] });
    expect(await members(prefix, 's2')).toEqual({ vset: ['a'], expiries: ['a'] });
    expect(vectorSetKey(prefix, 's1')).toContain('{s1}');
    // purge's SCAN of entry keys must not meet them (it would HMGET a vector set)
    const [, keys] = await raw.scan('0', 'MATCH', `${prefix}:{*}:*`, 'COUNT', 1000);
    expect(keys.sort()).toEqual([`${prefix}:{s1}:a`, `${prefix}:{s1}:b`, `${prefix}:{s2}:a`]);
  });

  it('an expired entry leaves its vector set at the next sweep; a live one stays', async () => {
    const prefix = newPrefix();
    let t = Date.now();
    const store = await startStore({ prefix, now: () => t });
    await store.put(entry({ textKey: 'short' }), 1);
    await store.put(entry({ textKey: 'long' }), 3_600);
    expect((await members(prefix, 'scope-x')).vset).toEqual(['long', 'short']);
    expect(await store.sweep()).toBe(0);
    expect((await members(prefix, 'scope-x')).vset).toEqual(['long', 'short']);

    t += 1_001; // the store's clock: the element's expiry has passed (its key's TTL in Redis is not what is tested)
    expect(await store.sweep()).toBe(1);
    expect(await members(prefix, 'scope-x')).toEqual({ vset: ['long'], expiries: ['long'] });
    expect(store.size()).toBe(1);
  });

  it('search never returns an expired element, even before the sweep', async () => {
    const prefix = newPrefix();
    let t = Date.now();
    const store = await startStore({ prefix, now: () => t });
    const q = unit(3);
    // As the pipeline writes them: expiresAt is when the TTL given to put runs out.
    await store.put(entry({ textKey: 'near-but-expiring', vector: near(q, 0.99, 1), expiresAt: t + 1_000 }), 1);
    await store.put(entry({ textKey: 'farther', vector: near(q, 0.8, 2), expiresAt: t + 3_600_000 }), 3_600);
    t += 1_001;
    expect((await store.search('scope-x', q, 1)).map((c) => c.entry.textKey)).toEqual(['farther']);
  });

  it('expired elements not yet swept that fill the first reply: a second search passes over them in Redis', async () => {
    const prefix = newPrefix();
    let t = Date.now();
    const store = await startStore({ prefix, now: () => t });
    const q = unit(4);
    // Eight expiring entries nearer the query than the one live one: VSIM's first reply (k × 2 = 2) holds none of it.
    for (let i = 0; i < 8; i++) await store.put(entry({ textKey: `crowd${i}`, vector: near(q, 0.99 - i * 0.001, 40 + i), expiresAt: t + 1_000 }), 1);
    await store.put(entry({ textKey: 'live', vector: near(q, 0.8, 60), expiresAt: t + 3_600_000 }), 3_600);
    t += 1_001;
    const calls: string[] = [];
    const spy = (store as unknown as { redis: { call: (...a: unknown[]) => unknown } }).redis;
    const call = spy.call.bind(spy);
    spy.call = (...a: unknown[]) => {
      if (a[0] === 'VSIM') calls.push(a.includes('FILTER') ? 'filtered' : 'plain');
      return call(...a);
    };
    expect((await store.search('scope-x', q, 1)).map((c) => c.entry.textKey)).toEqual(['live']);
    expect(calls).toEqual(['plain', 'filtered']);
    // With nothing expired in the way, one plain VSIM is all.
    calls.length = 0;
    expect((await store.search('scope-x', near(q, 0.8, 60), 1)).map((c) => c.entry.textKey)).toEqual(['live']);
    expect(calls).toEqual(['plain']);
  });

  it('an element whose entry was deleted in Redis itself is dropped by the search that meets it', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    const e = entry({ textKey: 'gone' });
    await store.put(e, 60);
    await raw.del(`${prefix}:{scope-x}:gone`);
    expect(await store.search('scope-x', e.vector!, 1)).toEqual([]);
    await expect.poll(async () => (await members(prefix, 'scope-x')).vset, { timeout: 2_000 }).toEqual([]);
  });

  it('delete and purge remove the element from its vector set and its expiry set', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    await store.put(entry({ textKey: 'del' }), 60);
    await store.put(entry({ textKey: 'purge', tenant: 'doomed' }), 60);
    await store.put(entry({ textKey: 'keep' }), 60);
    await store.put(entry({ scope: 'scope-y', textKey: 'purge2', tenant: 'doomed' }), 60);

    expect(await store.delete((await store.getExact('scope-x', 'del'))!.id)).toBe(true);
    expect(await members(prefix, 'scope-x')).toEqual({ vset: ['keep', 'purge'], expiries: ['keep', 'purge'] });
    expect(await store.purge({ tenant: 'doomed' })).toBe(2);
    expect(await members(prefix, 'scope-x')).toEqual({ vset: ['keep'], expiries: ['keep'] });
    expect(await members(prefix, 'scope-y')).toEqual({ vset: [], expiries: [] });
  });

  it('a put without a vector over one with a vector takes its element out', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    await store.put(entry({ textKey: 'q' }), 60);
    await store.put(entry({ textKey: 'q', vector: undefined }), 60);
    expect(await members(prefix, 'scope-x')).toEqual({ vset: [], expiries: [] });
  });
});

describe('server-side search: a replica started late', () => {
  it('after 10,000 entries, a new replica serves a semantic hit at once and holds nothing per entry', async () => {
    const prefix = newPrefix();
    const writer = await startStore({ prefix, timeoutMs: 5_000 });
    const N = 10_000;
    const scope = 'big';
    // Written in pipelined batches straight through the store's put (one scope, so VSIM searches all of them).
    for (let i = 0; i < N; i += 250) await Promise.all(Array.from({ length: 250 }, (_, j) => writer.put(entry({ scope, textKey: `t${i + j}`, vector: unit(10_000 + i + j) }), 3_600)));
    expect(Number(await raw.call('VCARD', vectorSetKey(prefix, scope)))).toBe(N);

    const heapBefore = process.memoryUsage().heapUsed;
    const replica = await startStore({ prefix });
    // The first search right after synced(): no load, no wait. A paraphrase of entry t1234 (cosine 0.95).
    const target = unit(10_000 + 1234);
    const [hit] = await replica.search(scope, near(target, 0.95, 9), 1);
    expect(hit?.entry.textKey).toBe('t1234');
    expect(hit!.score).toBeCloseTo(dot(near(target, 0.95, 9), target), 5);
    // Nothing per entry: the replica's own count stays 0 until a sweep counts Redis's, and its heap grew far less
    // than the mirror’s ~2.4 KB per entry would (24 MB for 10,000; the bound, 5 MB, leaves room for GC timing).
    expect(replica.size()).toBe(0);
    const grown = process.memoryUsage().heapUsed - heapBefore;
    expect(grown, `heap grew ${(grown / 1e6).toFixed(1)} MB`).toBeLessThan(N * 500);
  }, 120_000);
});

describe('server-side search: fail open', () => {
  it('a Redis that stops answering: search, put, delete, purge and sweep each give up within the timeout', async () => {
    const TIMEOUT = 100;
    const relay = await startRelay(redis.port);
    const store = new RedisStore({ url: relay.url, prefix: newPrefix(), timeoutMs: TIMEOUT, logger: silentLogger, search: 'server', sweepMs: 0 });
    try {
      await store.start();
      await store.synced();
      const e = entry();
      await store.put(e, 60);
      relay.pause();
      const ops: Record<string, () => Promise<unknown>> = {
        search: () => store.search(e.scope, e.vector!, 4),
        put: () => store.put(entry(), 60),
        delete: () => store.delete(entryId(e.scope, e.textKey)),
        purge: () => store.purge({ tenant: 'nobody' }),
        sweep: () => store.sweep(),
      };
      for (const [name, op] of Object.entries(ops)) {
        const t0 = performance.now();
        const outcome = await op().then(() => 'resolved', () => 'rejected');
        const ms = performance.now() - t0;
        expect(ms, `${name} took ${ms.toFixed(0)} ms with Redis stalled`).toBeLessThan(TIMEOUT * 5);
        expect(outcome, `${name} must fail (the request then goes upstream), not report success`).toBe('rejected');
      }
    } finally {
      relay.resume();
      await store.close();
      await relay.close();
    }
  });
});
