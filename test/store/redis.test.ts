/**
 * @module test/store/redis: RedisStore against the Store contract on a real redis-server (own port, wall-clock TTL),
 * plus what only Redis has: key layout, native TTL, binary vectors, replicas kept in step, and failing fast
 * while Redis is down.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import { RedisStore } from '../../src/store/redis.js';
import { FlatIndex } from '../../src/store/flat-index.js';
import type { Entry, IndexFactory } from '../../src/store/types.js';
import { freePort, startRedis, startRelay, type RedisServer } from '../helpers/redis-server.js';
import { redisStores, storeEntry } from '../helpers/redis-stores.js';
import { storeContract } from './contract.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const stores = redisStores('rt', () => ({ url: redis.url, timeoutMs: 100 }));
const { newPrefix, start: startStore } = stores;

// The contract is about behaviour, not latency: a generous command timeout keeps it steady on a busy machine.
storeContract(
  'RedisStore',
  async (clock) => {
    const store = new RedisStore({ url: redis.url, prefix: newPrefix(), timeoutMs: 1_000, now: clock.now, logger: silentLogger });
    await store.start();
    await store.synced();
    return { store, close: () => store.close() };
  },
  { realTime: true },
);

// ---------------------------------------------------------------------------------------------------------------

const DIM = 16;

function unit(seed: number): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = Math.sin(seed * 7.3 + i * 1.7);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

let seq = 0;
function entry(over: Partial<Entry> = {}): Entry {
  const n = ++seq;
  return storeEntry(n, { id: `caller-id-${n}`, textKey: `question number ${n}?`, text: `Question number ${n}?`, vector: unit(n), ...over });
}

/** Every key under `prefix`, via SCAN (never KEYS). */
async function scanKeys(c: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

/** Keys that belong to one entry: they name its scope (as the hash tag) or its textKey. */
async function entryKeys(c: Redis, prefix: string, e: Entry): Promise<string[]> {
  return (await scanKeys(c, prefix)).filter((k) => k.includes(e.scope) || k.includes(e.textKey));
}

/** Redis Cluster's key → slot: CRC16/XMODEM of the hash tag if the key has a non-empty `{…}`, else of the key. */
function hashSlot(key: string): number {
  let bytes = Buffer.from(key);
  const open_ = bytes.indexOf('{');
  if (open_ >= 0) {
    const close_ = bytes.indexOf('}', open_ + 1);
    if (close_ > open_ + 1) bytes = bytes.subarray(open_ + 1, close_);
  }
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
const hashTag = (key: string) => /\{([^}]+)\}/.exec(key)?.[1];

/** Poll `probe` every 5 ms until it returns true; resolves with the ms it took (rejects after `timeout`). */
async function timeUntil(probe: () => Promise<boolean> | boolean, timeout = 2_000): Promise<number> {
  const t0 = performance.now();
  await vi.waitFor(
    async () => {
      if (!(await probe())) throw new Error('not yet');
    },
    { interval: 5, timeout },
  );
  return performance.now() - t0;
}

/** How long a promise takes to settle, and how; gives up waiting after `cap` ms (a hang). Never throws. */
async function settle<T>(p: Promise<T>, cap = 2_000): Promise<{ ms: number; ok: boolean; value?: T; error?: unknown }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${cap} ms`)), cap)));
  try {
    const value = await Promise.race([p, hung]);
    return { ms: performance.now() - t0, ok: true, value };
  } catch (error) {
    return { ms: performance.now() - t0, ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

const label = (e: Entry | undefined) => (e?.response as { choices: Array<{ message: { content: string } }> } | undefined)?.choices[0]!.message.content;

describe('RedisStore: what is in Redis', () => {
  let raw: Redis;
  beforeAll(() => {
    raw = redis.client();
  });
  afterAll(() => raw.disconnect());

  it('computes hash slots the way Redis Cluster does (self-check of this test)', () => {
    // Values from CLUSTER KEYSLOT.
    expect(hashSlot('foo')).toBe(12182);
    expect(hashSlot('bar')).toBe(5061);
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('{user1000}.followers'));
  });

  it('keeps every key of one entry in one hash slot, named by a {…} hash tag', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    const e1 = entry();
    const e2 = entry({ scope: e1.scope }); // a neighbour in the same scope
    await store.put(e1, 60);
    await store.put(e2, 60);

    const keys = await entryKeys(raw, prefix, e1);
    expect(keys.length, `no key of the entry found among ${JSON.stringify(await scanKeys(raw, prefix))}`).toBeGreaterThan(0);
    for (const k of keys) expect(hashTag(k), `key ${JSON.stringify(k)} has no {…} hash tag`).toBeDefined();
    expect(new Set(keys.map(hashTag)).size, `hash tags differ: ${JSON.stringify(keys)}`).toBe(1);
    expect(new Set(keys.map(hashSlot)).size).toBe(1);
  });

  it('gives every key of an entry a TTL no longer than the entry’s, and leaves no key behind when it expires', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    const e = entry();
    await store.put(e, 2);
    const t0 = Date.now();

    const keys = await entryKeys(raw, prefix, e);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      const pttl = await raw.pttl(k);
      expect(pttl, `PTTL ${k}`).toBeGreaterThan(0); // -1 would be "no TTL": a key that lives for ever
      expect(pttl, `PTTL ${k}`).toBeLessThanOrEqual(2_000);
    }

    // Wait for the TTL itself, then every key of the entry must be gone (EXISTS sees an expired key as absent).
    while (Date.now() < t0 + 2_050) await new Promise((r) => setTimeout(r, t0 + 2_050 - Date.now()));
    for (const k of keys) expect(await raw.exists(k), `${k} outlived its TTL`).toBe(0);
    expect(await entryKeys(raw, prefix, e)).toEqual([]);
    expect(await store.getExact(e.scope, e.textKey)).toBeUndefined();
  });

  it('stores the vector as packed binary (float32 or int8), not as JSON text', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    const e = entry();
    await store.put(e, 60);

    const keys = await entryKeys(raw, prefix, e);
    const hashes: Array<[string, Record<string, Buffer>]> = [];
    for (const k of keys) if ((await raw.type(k)) === 'hash') hashes.push([k, await raw.hgetallBuffer(k)]);
    const vectorFields = hashes.flatMap(([k, h]) => Object.entries(h).filter(([f]) => /vec/i.test(f)).map(([f, v]) => ({ k, f, v })));
    expect(vectorFields.length, `no hash field holding the vector among ${JSON.stringify(hashes.map(([k, h]) => [k, Object.keys(h)]))}`).toBe(1);

    const { v } = vectorFields[0]!;
    expect([DIM * 4, DIM]).toContain(v.byteLength);
    const text = v.toString('latin1');
    expect(text.trimStart().startsWith('[')).toBe(false);
    expect(() => JSON.parse(text)).toThrow();
    if (v.byteLength === DIM * 4) {
      // float32, little-endian: it must be the vector, bit for bit
      const back = new Float32Array(DIM);
      for (let i = 0; i < DIM; i++) back[i] = v.readFloatLE(i * 4);
      expect(Array.from(back)).toEqual(Array.from(e.vector!));
    }
    // And no other field carries the vector as JSON either.
    for (const [, h] of hashes)
      for (const [f, value] of Object.entries(h)) {
        if (/vec/i.test(f)) continue;
        expect(value.toString('utf8'), `field ${f}`).not.toMatch(/"vector"\s*:/);
      }
  });
});

describe('RedisStore: replicas', () => {
  it('a second store on the same Redis and prefix finds an entry written by the first within 200 ms', async () => {
    const prefix = newPrefix();
    const [a, b] = [await startStore({ prefix }), await startStore({ prefix })];
    const e = entry();
    await a.put(e, 60);
    const ms = await timeUntil(async () => label((await b.search(e.scope, e.vector!, 1))[0]?.entry) === label(e));
    expect(ms, `B's search found A's entry after ${ms.toFixed(0)} ms`).toBeLessThan(200);
    const [hit] = await b.search(e.scope, e.vector!, 1);
    expect(hit!.score).toBeCloseTo(1, 5);
    expect(label(await b.getExact(e.scope, e.textKey))).toBe(label(e));
    expect((await b.getExact(e.scope, e.textKey))!.id).toBe((await a.getExact(e.scope, e.textKey))!.id);
    expect(b.size()).toBe(1);
  });

  it('a store started later loads the entries already in Redis before synced() resolves', async () => {
    const prefix = newPrefix();
    const a = await startStore({ prefix });
    const written = [entry(), entry(), entry({ vector: undefined })];
    for (const e of written) await a.put(e, 60);

    const late = await startStore({ prefix }); // start() + synced()
    expect(late.size()).toBe(3);
    for (const e of written.slice(0, 2)) expect(label((await late.search(e.scope, e.vector!, 1))[0]?.entry)).toBe(label(e));
    expect(label(await late.getExact(written[2]!.scope, written[2]!.textKey))).toBe(label(written[2]));
  });

  it('a delete through the first store stops the entry on the second', async () => {
    const prefix = newPrefix();
    const [a, b] = [await startStore({ prefix }), await startStore({ prefix })];
    const e = entry();
    await a.put(e, 60);
    await timeUntil(async () => (await b.search(e.scope, e.vector!, 1)).length === 1);
    // Read it through B first, so any local tier B keeps holds it.
    expect(label(await b.getExact(e.scope, e.textKey))).toBe(label(e));

    const id = (await a.getExact(e.scope, e.textKey))!.id;
    expect(await a.delete(id)).toBe(true);
    expect(await a.getExact(e.scope, e.textKey)).toBeUndefined();
    expect(await a.search(e.scope, e.vector!, 1)).toEqual([]);
    const ms = await timeUntil(async () => (await b.getExact(e.scope, e.textKey)) === undefined && (await b.search(e.scope, e.vector!, 1)).length === 0, 1_000);
    expect(ms, `B dropped it after ${ms.toFixed(0)} ms`).toBeLessThan(200);
    await timeUntil(() => b.size() === 0, 200);
    expect(await b.delete(id)).toBe(false);
  });

  it('a purge through the first store stops the matching entries on the second, and only those', async () => {
    const prefix = newPrefix();
    const [a, b] = [await startStore({ prefix }), await startStore({ prefix })];
    const doomed = entry({ tenant: 'purge-me' });
    const kept = entry({ tenant: 'keep-me' });
    await a.put(doomed, 60);
    await a.put(kept, 60);
    await timeUntil(() => b.size() === 2);
    expect(label(await b.getExact(doomed.scope, doomed.textKey))).toBe(label(doomed));

    expect(await a.purge({ tenant: 'purge-me' })).toBe(1);
    expect(await a.getExact(doomed.scope, doomed.textKey)).toBeUndefined();
    const ms = await timeUntil(
      async () => (await b.getExact(doomed.scope, doomed.textKey)) === undefined && (await b.search(doomed.scope, doomed.vector!, 1)).length === 0,
      1_000,
    );
    expect(ms, `B dropped it after ${ms.toFixed(0)} ms`).toBeLessThan(200);
    expect(label((await b.search(kept.scope, kept.vector!, 1))[0]?.entry)).toBe(label(kept));
    await timeUntil(() => b.size() === 1, 200);
  });

  it('an entry deleted in Redis itself (not through a store) stops on every store within 200 ms', async () => {
    // An operator's DEL, FLUSHDB or maxmemory eviction: Redis is the source of truth, so no store may keep serving it.
    const prefix = newPrefix();
    const [a, b] = [await startStore({ prefix }), await startStore({ prefix })];
    const raw = redis.client();
    try {
      const e = entry();
      await a.put(e, 60);
      await timeUntil(async () => (await b.search(e.scope, e.vector!, 1)).length === 1);
      // Read it through both first, so any local tier holds it.
      for (const s of [a, b]) {
        expect(label(await s.getExact(e.scope, e.textKey))).toBe(label(e));
        expect(label((await s.search(e.scope, e.vector!, 1))[0]?.entry)).toBe(label(e));
      }
      const keys = await entryKeys(raw, prefix, e);
      expect(keys.length).toBeGreaterThan(0);
      await raw.del(...keys);
      for (const [name, s] of [['writer', a], ['other', b]] as const) {
        const t0 = performance.now();
        let last: { exact?: string; search?: string } = {};
        try {
          await timeUntil(async () => {
            last = { exact: label(await s.getExact(e.scope, e.textKey)), search: label((await s.search(e.scope, e.vector!, 1))[0]?.entry) };
            return last.exact === undefined && last.search === undefined;
          }, 200);
        } catch {
          expect.fail(`the ${name} store still serves the entry ${(performance.now() - t0).toFixed(0)} ms after its key was deleted in Redis: ${JSON.stringify(last)}`);
        }
      }
    } finally {
      raw.disconnect();
    }
  });

  it('an entry that expires in Redis stops on every store', async () => {
    const prefix = newPrefix();
    const [a, b] = [await startStore({ prefix }), await startStore({ prefix })];
    const e = entry();
    await a.put(e, 1);
    const t0 = Date.now();
    await timeUntil(async () => (await b.search(e.scope, e.vector!, 1)).length === 1);
    expect(label(await b.getExact(e.scope, e.textKey))).toBe(label(e)); // warm any local tier on B

    while (Date.now() < t0 + 1_050) await new Promise((r) => setTimeout(r, t0 + 1_050 - Date.now()));
    for (const s of [a, b]) {
      expect(await s.getExact(e.scope, e.textKey)).toBeUndefined();
      expect(await s.search(e.scope, e.vector!, 1)).toEqual([]);
    }
  });
});

describe('RedisStore: a replica loading a large mirror', () => {
  it('gives other work a turn while it builds the index, rather than holding the event loop for a whole batch', async () => {
    const prefix = newPrefix();
    const writer = await startStore({ prefix, timeoutMs: 5_000 });
    const N = 1_000;
    for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: 100 }, () => writer.put(entry({ scope: 'big' }), 600)));
    // An index whose every insert takes 2 ms of CPU, as HNSW does in a large scope: 2 s of building in all.
    const slow: IndexFactory = (dim) => {
      const flat = new FlatIndex(dim);
      return {
        get size() {
          return flat.size;
        },
        add(key, vector) {
          const until = performance.now() + 2;
          while (performance.now() < until);
          flat.add(key, vector);
        },
        remove: (key) => flat.remove(key),
        search: (vector, k) => flat.search(vector, k),
      };
    };
    // A timer that re-arms itself: it runs once per turn the event loop gets.
    let turns = 0;
    let counting = true;
    const tick = () => {
      if (!counting) return;
      turns++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const replica = await startStore({ prefix, hnswMin: 0, largeIndex: slow, timeoutMs: 5_000 });
    counting = false;
    expect(replica.size()).toBe(N);
    // Held for each SCAN batch of 500 inserts, the loop would turn only at the load's few Redis round trips (under
    // 10); given a turn every 10 ms of building, it turns about 200 times, more on a slower machine.
    expect(turns).toBeGreaterThan(50);
  });
});

describe('RedisStore: Redis down', () => {
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(async () => {
    await own?.stop();
  });

  const TIMEOUT = 100;

  it('fails fast while Redis is dead, says so in status, and reconnects by itself after a restart', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix, url: own.url, timeoutMs: TIMEOUT });
    expect(store.status).toBe('ready');
    const before = entry();
    await store.put(before, 60);

    await own.kill();
    const probe = entry();
    const ops: Record<string, () => Promise<unknown>> = {
      getExact: () => store.getExact(before.scope, before.textKey),
      search: () => store.search(before.scope, before.vector!, 4),
      put: () => store.put(probe, 60),
      delete: () => store.delete('no-such-id'),
      purge: () => store.purge({ tenant: 'nobody' }),
    };
    for (const [name, op] of Object.entries(ops)) {
      const r = await settle(op());
      expect(r.ms, `${name} took ${r.ms.toFixed(0)} ms with Redis dead (${r.ok ? 'resolved' : `rejected: ${String(r.error)}`})`).toBeLessThan(TIMEOUT * 3);
    }
    // All at once as well: a burst must not queue up behind one another.
    const burst = await Promise.all(Array.from({ length: 10 }, () => settle(ops.getExact!())));
    for (const r of burst) expect(r.ms).toBeLessThan(TIMEOUT * 3);
    expect(burst.every((r) => !r.ok), 'getExact must reject, not report a miss, while Redis is dead').toBe(true);
    await timeUntil(() => store.status === 'down', 1_000);

    await own.restart(); // empty, as after a crash
    const ms = await timeUntil(() => store.status === 'ready', 10_000);
    await Promise.race([store.synced(), new Promise((_, reject) => setTimeout(() => reject(new Error('synced() did not resolve')), 5_000))]);
    const after = entry();
    await store.put(after, 60);
    expect(label(await store.getExact(after.scope, after.textKey))).toBe(label(after));
    expect(label((await store.search(after.scope, after.vector!, 1))[0]?.entry)).toBe(label(after));
    // Redis came back empty: the mirror must not keep serving what Redis lost.
    expect(await store.getExact(before.scope, before.textKey)).toBeUndefined();
    expect(await store.search(before.scope, before.vector!, 4)).toEqual([]);
    expect(store.size()).toBe(1);
    expect(ms).toBeLessThan(10_000);
  });

  it('a shared secret lost with Redis (restarted empty) is put back on reconnect, so a replica started later reads the same one', async () => {
    const prefix = newPrefix();
    const first = await startStore({ prefix, url: own.url, timeoutMs: TIMEOUT });
    try {
      const secret = await first.sharedSecret('tenant-secret');
      await own.kill();
      await timeUntil(() => first.status === 'down', 5_000);
      await own.restart(); // empty, as after a crash
      await timeUntil(() => first.status === 'ready', 10_000);
      const check = own.client();
      try {
        await vi.waitFor(async () => expect(await check.getBuffer(`${prefix}:tenant-secret`)).not.toBeNull(), { timeout: 5_000 });
      } finally {
        check.disconnect();
      }
      const later = await startStore({ prefix, url: own.url, timeoutMs: TIMEOUT });
      try {
        expect(Buffer.from(await later.sharedSecret('tenant-secret')).equals(Buffer.from(secret))).toBe(true);
      } finally {
        await later.close();
      }
    } finally {
      await first.close();
    }
  });

  it('a replica that finds another secret in Redis when it reconnects says so (its tenants no longer match the others\')', async () => {
    const prefix = newPrefix();
    const port = await freePort();
    let relay = await startRelay(own.port, port);
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (_: object, msg?: string) => void errors.push(msg ?? '') };
    const store = await startStore({ prefix, url: relay.url, timeoutMs: TIMEOUT, logger }, { track: false });
    const check = own.client();
    try {
      await store.sharedSecret('tenant-secret');
      // This replica is cut off; meanwhile Redis loses the secret and another replica makes a new one.
      await relay.close();
      await timeUntil(() => store.status === 'down', 5_000);
      await check.set(`${prefix}:tenant-secret`, Buffer.alloc(32, 7));
      relay = await startRelay(own.port, port);
      await timeUntil(() => store.status === 'ready', 10_000);
      await vi.waitFor(() => expect(errors.some((m) => m.includes('not the one this replica holds'))).toBe(true), { timeout: 5_000 });
      // What Redis holds is left as it is: the other replica's.
      expect((await check.getBuffer(`${prefix}:tenant-secret`))!.equals(Buffer.alloc(32, 7))).toBe(true);
    } finally {
      check.disconnect();
      await store.close();
      await relay.close();
    }
  });

  it('a Redis that stops answering (stalled, not down): every call gives up after the timeout, then it recovers', async () => {
    const relay = await startRelay(own.port);
    const store = await startStore({ prefix: newPrefix(), url: relay.url, timeoutMs: TIMEOUT }, { track: false });
    try {
      const e = entry();
      await store.put(e, 60);
      relay.pause();
      const ops: Record<string, () => Promise<unknown>> = {
        getExact: () => store.getExact('never-read', 'never-read'),
        search: () => store.search(e.scope, e.vector!, 4),
        put: () => store.put(entry(), 60),
        delete: () => store.delete('no-such-id'),
        purge: () => store.purge({ tenant: 'nobody' }),
      };
      const settled = await Promise.all(Object.entries(ops).map(async ([name, op]) => ({ name, ...(await settle(op())) })));
      for (const r of settled) expect(r.ms, `${r.name} took ${r.ms.toFixed(0)} ms with Redis stalled`).toBeLessThan(TIMEOUT * 3);
      const getExact = settled.find((r) => r.name === 'getExact')!;
      expect(getExact.ok, 'getExact must fail, not report a miss, when Redis does not answer').toBe(false);

      relay.resume();
      await vi.waitFor(
        async () => {
          const fresh = entry();
          await store.put(fresh, 60);
          expect(label(await store.getExact(fresh.scope, fresh.textKey))).toBe(label(fresh));
        },
        { interval: 20, timeout: 3_000 },
      );
      expect(label(await store.getExact(e.scope, e.textKey))).toBe(label(e));
    } finally {
      await store.close();
      await relay.close();
    }
  });

  it('a store started while Redis is down starts at once, then becomes ready and synced once Redis is up', async () => {
    const port = await freePort();
    const t0 = performance.now();
    const store = await startStore({ prefix: newPrefix(), url: `redis://127.0.0.1:${port}`, timeoutMs: TIMEOUT }, { synced: false, track: false });
    const startMs = performance.now() - t0;
    expect(startMs, `start() took ${startMs.toFixed(0)} ms with Redis down`).toBeLessThan(TIMEOUT);
    let synced = false;
    void store.synced().then(() => (synced = true));
    expect(store.status).not.toBe('ready');
    const r = await settle(store.getExact('s', 't'));
    expect(r.ms).toBeLessThan(TIMEOUT * 3);
    expect(r.ok, 'getExact must reject, not report a miss, before Redis was ever reached').toBe(false);
    expect(synced).toBe(false);

    const late = await startRedis(port);
    try {
      await timeUntil(() => store.status === 'ready' && synced, 10_000);
      const e = entry();
      await store.put(e, 60);
      expect(label(await store.getExact(e.scope, e.textKey))).toBe(label(e));
    } finally {
      await store.close();
      await late.stop();
    }
  });

  it('a store started while Redis is unreachable loads what Redis already holds once it is reachable', async () => {
    // Redis is up and holds entries, but the new store reaches it through a TCP relay that only opens later:
    // the entries can only reach the new store's index through the load at (re)connect.
    const prefix = newPrefix();
    const writer = await startStore({ prefix, url: own.url });
    const held = [entry(), entry()];
    for (const e of held) await writer.put(e, 60);

    const port = await freePort();
    const store = await startStore({ prefix, url: `redis://127.0.0.1:${port}`, timeoutMs: TIMEOUT }, { synced: false, track: false });
    expect(store.size()).toBe(0);

    const relay = await startRelay(own.port, port);
    try {
      await timeUntil(() => store.status === 'ready', 10_000);
      await Promise.race([store.synced(), new Promise((_, reject) => setTimeout(() => reject(new Error('synced() did not resolve')), 5_000))]);
      expect(store.size()).toBe(2);
      for (const e of held) expect(label((await store.search(e.scope, e.vector!, 1))[0]?.entry)).toBe(label(e));
    } finally {
      await store.close();
      await relay.close();
    }
  });
});
