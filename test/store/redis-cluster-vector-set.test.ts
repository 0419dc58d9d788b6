/**
 * @module test/store/redis-cluster-vector-set: server-side search (`search: "server"`, vector sets) on a real Redis 8
 * Cluster (three masters, three replicas, test/setup/redis8.mjs): the Store contract; a scope's vector set and
 * expiry set in its entries' slot while scopes spread over the masters; a replica finds what another wrote; and the
 * sweep, delete and purge clear elements on every master, not only the one a SCAN would meet first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import { entryKey } from '../../src/store/redis-codec.js';
import { expiryKey, vectorSetKey } from '../../src/store/redis-vector-set.js';
import { RedisStore } from '../../src/store/redis.js';
import type { Entry } from '../../src/store/types.js';
import { startRedisCluster, type RedisClusterServer } from '../helpers/redis-cluster.js';
import { randomUnit, rng } from '../helpers/vectors.js';
import { redisStores, storeEntry } from '../helpers/redis-stores.js';
import { storeContract } from './contract.js';


let cluster: RedisClusterServer;
beforeAll(async () => {
  cluster = await startRedisCluster({ version: 8 });
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

const { newPrefix, start: startStore } = redisStores('rcv', () => ({ url: cluster.url, cluster: true, search: 'server', sweepMs: 0 }));

storeContract(
  'RedisStore, server-side search, on a Redis 8 Cluster',
  async (clock) => {
    const store = new RedisStore({ url: cluster.url, cluster: true, prefix: newPrefix(), timeoutMs: 1_000, now: clock.now, logger: silentLogger, search: 'server', sweepMs: 0 });
    await store.start();
    await store.synced();
    return { store, close: () => store.close() };
  },
  { realTime: true, exactSize: false },
);

const DIM = 16;
const rand = rng(17);
let seq = 0;
const entry = (over: Partial<Entry> & { scope: string }): Entry => storeEntry(++seq, { vector: randomUnit(DIM, rand), ...over });

/** How many elements a scope's vector set and expiry set hold, asked of the master that owns them. */
async function held(prefix: string, scope: string): Promise<{ master: number; vset: number; expiries: number }> {
  const master = await cluster.masterOf(vectorSetKey(prefix, scope));
  const c = cluster.client(master);
  try {
    return { master, vset: Number(await c.call('VCARD', vectorSetKey(prefix, scope))), expiries: await c.zcard(expiryKey(prefix, scope)) };
  } finally {
    c.disconnect();
  }
}

const SCOPES = Array.from({ length: 12 }, (_, i) => `vs-scope-${i}`);

describe('server-side search on a cluster', () => {
  it("keeps each scope's vector set and expiry set on its entries' master, and spreads scopes over every master", async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    const masters = new Set<number>();
    for (const scope of SCOPES) {
      const e = entry({ scope });
      await store.put(e, 60);
      const at = await held(prefix, scope);
      expect(at).toEqual({ master: await cluster.masterOf(entryKey(prefix, scope, e.textKey)), vset: 1, expiries: 1 });
      masters.add(at.master);
    }
    expect(masters.size).toBe(3);
  });

  it('a replica finds by similarity what another wrote, in scopes on every master', async () => {
    const prefix = newPrefix();
    const writer = await startStore({ prefix });
    const written = await Promise.all(
      SCOPES.map(async (scope) => {
        const e = entry({ scope });
        await writer.put(e, 60);
        return e;
      }),
    );
    const reader = await startStore({ prefix });
    for (const e of written) {
      const [found] = await reader.search(e.scope, e.vector!, 1);
      expect(found?.entry.textKey).toBe(e.textKey);
      expect(found!.score).toBeCloseTo(1, 5);
    }
  });

  it('the sweep clears expired elements on every master and counts the live ones of all', async () => {
    const prefix = newPrefix();
    let t = Date.now();
    const store = await startStore({ prefix, now: () => t });
    for (const scope of SCOPES) {
      await store.put(entry({ scope }), 1);
      await store.put(entry({ scope }), 3_600);
    }
    expect(await store.sweep()).toBe(0);
    expect(store.size()).toBe(2 * SCOPES.length);
    t += 5_000;
    expect(await store.sweep()).toBe(SCOPES.length);
    expect(store.size()).toBe(SCOPES.length);
    const left = await Promise.all(SCOPES.map((s) => held(prefix, s)));
    expect(new Set(left.map((l) => l.master)).size).toBe(3);
    for (const l of left) expect({ vset: l.vset, expiries: l.expiries }).toEqual({ vset: 1, expiries: 1 });
  });

  it('delete and purge remove elements from vector sets on every master', async () => {
    const prefix = newPrefix();
    const store = await startStore({ prefix });
    const kept: Entry[] = [];
    for (const scope of SCOPES) {
      await store.put(entry({ scope, tenant: 'doomed' }), 60);
      const keep = entry({ scope });
      await store.put(keep, 60);
      kept.push(keep);
    }
    expect(await store.purge({ tenant: 'doomed' })).toBe(SCOPES.length);
    for (const scope of SCOPES) expect(await held(prefix, scope)).toMatchObject({ vset: 1, expiries: 1 });
    for (const e of kept) {
      const found = await store.getExact(e.scope, e.textKey);
      expect(await store.delete(found!.id)).toBe(true);
    }
    for (const scope of SCOPES) expect(await held(prefix, scope)).toMatchObject({ vset: 0, expiries: 0 });
  });
});
