/**
 * @module test/store/redis-cluster: RedisStore on a real Redis Cluster (three masters, three replicas): the Store
 * contract, a scope's keys in one slot while scopes spread over the masters, the shared streams split over the
 * masters, replicas kept in step through them, and the label channel and shared stats across the cluster.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { BudgetShare } from '../../src/cache/budget-share.js';
import { ErrorBudget } from '../../src/cache/error-budget.js';
import { silentLogger } from '../../src/observe/logger.js';
import type { ReplicaStats } from '../../src/observe/stats.js';
import { entryKey } from '../../src/store/redis-codec.js';
import { keyLayout, keySlot } from '../../src/store/redis-keys.js';
import { RedisStore } from '../../src/store/redis.js';
import type { Entry, LabelBatch } from '../../src/store/types.js';
import { startRedisCluster, type RedisClusterServer } from '../helpers/redis-cluster.js';
import { redisStores, storeEntry } from '../helpers/redis-stores.js';
import { storeContract } from './contract.js';

let cluster: RedisClusterServer;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

const stores = redisStores('rc', () => ({ url: cluster.url, cluster: true }));
const { newPrefix } = stores;
const startStore = (prefix: string, opts: { labelPollMs?: number } = {}) => stores.start({ prefix, ...opts });

storeContract(
  'RedisStore on a Redis Cluster',
  async (clock) => {
    const store = new RedisStore({ url: cluster.url, cluster: true, prefix: newPrefix(), timeoutMs: 1_000, now: clock.now, logger: silentLogger });
    await store.start();
    await store.synced();
    return { store, close: () => store.close() };
  },
  { realTime: true },
);

const DIM = 8;
function unit(seed: number): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = Math.sin(seed * 7.3 + i * 1.7);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
let seq = 0;
function entry(over: Partial<Entry> = {}): Entry {
  const n = ++seq;
  return storeEntry(n, { vector: unit(n), ...over });
}
const label = (e: Entry | undefined) => (e?.response as { choices: Array<{ message: { content: string } }> } | undefined)?.choices[0]!.message.content;

describe('RedisStore on a cluster: where keys live', () => {
  it("keeps a scope's entries in the scope's slot, and spreads scopes over every master", async () => {
    const prefix = newPrefix();
    const store = await startStore(prefix);
    const owners = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const scope = `spread-scope-${i}`;
      const [a, b] = [entry({ scope }), entry({ scope })];
      await store.put(a, 60);
      await store.put(b, 60);
      const [ka, kb] = [entryKey(prefix, scope, a.textKey), entryKey(prefix, scope, b.textKey)];
      const c = cluster.client(await cluster.masterOf(ka));
      try {
        expect(await c.call('CLUSTER', 'KEYSLOT', ka)).toBe(await c.call('CLUSTER', 'KEYSLOT', kb));
        expect(await c.call('CLUSTER', 'KEYSLOT', ka)).toBe(keySlot(ka));
        // The node that owns the slot holds the key itself (not a copy somewhere else).
        expect(await c.exists(ka, kb)).toBe(2);
      } finally {
        c.disconnect();
      }
      owners.add(await cluster.masterOf(ka));
    }
    expect(owners.size, 'scopes of 12 entries all on one master').toBe(3);
  });

  it('splits the event, label and stats keys over the masters, every shard in its own slot', async () => {
    const layout = keyLayout(newPrefix(), 16);
    for (const keys of [layout.eventStreams, layout.labelStreams, layout.statsIndexes]) {
      expect(new Set(keys.map(keySlot)).size).toBe(16);
      const owners = new Set(await Promise.all(keys.map((k) => cluster.masterOf(k))));
      expect(owners.size).toBe(3);
    }
  });
});

describe('RedisStore on a cluster: replicas', () => {
  it('a replica started with other --redis-shards than the cache’s replicas logs an error naming both', async () => {
    const prefix = newPrefix();
    await stores.start({ prefix, shards: 16 });
    const errors: string[] = [];
    await stores.start({ prefix, shards: 8, logger: { ...silentLogger, error: (_o, msg) => errors.push(String(msg)) } });
    await vi.waitFor(() => expect(errors.join('\n')).toContain('another replica uses --redis-shards 16 and this one 8'), { interval: 20, timeout: 5_000 });
  });

  it('an entry written through one store is found by another, and a delete and a purge reach it', async () => {
    const prefix = newPrefix();
    const [a, b] = [await startStore(prefix), await startStore(prefix)];
    const es = Array.from({ length: 6 }, (_, i) => entry({ tenant: i % 2 === 0 ? 'purge-me' : 'keep-me' }));
    for (const e of es) await a.put(e, 60);
    await vi.waitFor(() => expect(b.size()).toBe(6), { interval: 10, timeout: 5_000 });
    for (const e of es) expect(label((await b.search(e.scope, e.vector!, 1))[0]?.entry)).toBe(label(e));

    const first = (await a.getExact(es[1]!.scope, es[1]!.textKey))!;
    expect(await a.delete(first.id)).toBe(true);
    await vi.waitFor(async () => expect(await b.search(es[1]!.scope, es[1]!.vector!, 1)).toEqual([]), { interval: 10, timeout: 5_000 });

    expect(await a.purge({ tenant: 'purge-me' })).toBe(3);
    await vi.waitFor(() => expect(b.size()).toBe(2), { interval: 10, timeout: 5_000 });
    for (const e of es) {
      const kept = e.tenant === 'keep-me' && e !== es[1];
      expect(label(await b.getExact(e.scope, e.textKey)), e.scope).toBe(kept ? label(e) : undefined);
    }
  });

  it('a store started later loads the entries of every master', async () => {
    const prefix = newPrefix();
    const a = await startStore(prefix);
    const es = Array.from({ length: 9 }, () => entry());
    for (const e of es) await a.put(e, 60);
    const owners = new Set(await Promise.all(es.map((e) => cluster.masterOf(entryKey(prefix, e.scope, e.textKey)))));
    expect(owners.size).toBeGreaterThan(1);
    const late = await startStore(prefix);
    expect(late.size()).toBe(9);
    for (const e of es) expect(label((await late.search(e.scope, e.vector!, 1))[0]?.entry)).toBe(label(e));
  });

  it("shares the error budget's labels: each replica hears the others' batches once, its own never", async () => {
    const prefix = newPrefix();
    const [s1, s2, s3] = [await startStore(prefix, { labelPollMs: 5 }), await startStore(prefix, { labelPollMs: 5 }), await startStore(prefix, { labelPollMs: 5 })];
    const names = ['replica-a', 'replica-b', 'replica-c'];
    const channels = [s1.labelChannel(names[0]!), s2.labelChannel(names[1]!), s3.labelChannel(names[2]!)];
    const heard: string[][] = [[], [], []];
    const stops = channels.map((ch, i) => ch.follow((b: LabelBatch) => heard[i]!.push(...b.labels.map((l) => l.entryId))));
    for (let n = 0; n < 4; n++)
      for (const [i, ch] of channels.entries()) await ch.publish({ labels: [{ entryId: `${names[i]}.${n}`, score: 0.9, correct: true, sampled: false, reported: false }], served: 1 });
    for (const [i] of channels.entries()) {
      const others = names.filter((_, j) => j !== i).flatMap((r) => [0, 1, 2, 3].map((n) => `${r}.${n}`));
      await vi.waitFor(() => expect([...heard[i]!].sort()).toEqual(others.sort()), { interval: 10, timeout: 5_000 });
      // Each replica's own batches in the order it sent them.
      for (const r of names.filter((_, j) => j !== i)) expect(heard[i]!.filter((id) => id.startsWith(r))).toEqual([0, 1, 2, 3].map((n) => `${r}.${n}`));
    }
    // The three publish to different shards, so the load is not all on one slot.
    const layout = keyLayout(prefix, 16);
    expect(new Set(names.map((r) => layout.shardOfReplica(r))).size).toBeGreaterThan(1);
    stops.forEach((s) => s());
  });

  it("steers each replica's error budget by the others' labels (BudgetShare through the cluster's label streams)", async () => {
    const prefix = newPrefix();
    const [s1, s2] = [await startStore(prefix, { labelPollMs: 5 }), await startStore(prefix, { labelPollMs: 5 })];
    const budget = () => new ErrorBudget({ maxErrorRate: 0.2, sampleRate: 0, random: () => 0.5 });
    const [a, b] = [budget(), budget()];
    const sa = new BudgetShare({ budget: a, channel: s1.labelChannel('budget-a'), logger: silentLogger, batchMs: 1 });
    const sb = new BudgetShare({ budget: b, channel: s2.labelChannel('budget-b'), logger: silentLogger, batchMs: 1 });
    try {
      expect(b.decide('fresh', 0.9)).toEqual({ serve: false, reason: 'uncertain' });
      for (let i = 0; i < 30; i++) a.learn(`e${i}`, 0.9, true);
      await vi.waitFor(() => expect(b.decide('fresh', 0.9)).toEqual({ serve: true }), { interval: 10, timeout: 5_000 });
      expect(b.stats().labels).toEqual({ right: 30, wrong: 0 });
      for (let i = 0; i < 8; i++) b.learn(`w${i}`, 0.9, false, true);
      await vi.waitFor(() => expect(a.stats()).toEqual(b.stats()), { interval: 10, timeout: 5_000 });
      expect(a.decide('other', 0.9)).toEqual({ serve: false, reason: 'uncertain' });
    } finally {
      sa.stop();
      sb.stop();
    }
  });

  it('shares stats: every replica reads every replica’s stats, from shards on several masters', async () => {
    const prefix = newPrefix();
    const stores = [await startStore(prefix), await startStore(prefix)];
    const names = Array.from({ length: 8 }, (_, i) => `stats-replica-${i}`);
    const stats = (replica: string): ReplicaStats =>
      ({ replica, at: Date.now(), snapshot: { requests: 1 }, timeline: { minutes: [], top: [], recentMisses: [] } }) as unknown as ReplicaStats;
    for (const [i, r] of names.entries()) await stores[i % 2]!.shareStats(stats(r), 30);
    for (const s of stores) expect((await s.peerStats()).map((p) => p.replica).sort()).toEqual([...names].sort());
    const layout = keyLayout(prefix, 16);
    const owners = new Set(await Promise.all(names.map((r) => cluster.masterOf(layout.statsKey(r)))));
    expect(owners.size).toBeGreaterThan(1);
  });
});
