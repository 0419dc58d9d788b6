/**
 * @module test/helpers/cluster-replicas: the behaviour suite of two Reprise replicas on a three-master Redis Cluster
 * (and three replicas), through the real `openai` SDK, for either way of searching (`--redis-search mirror` on
 * Debian's Redis 7, `server` on Redis 8 vector sets): an answer cached through A is an exact and a semantic hit
 * through B; different tenants' entries land on more than one master; a master killed mid-traffic turns the requests
 * it would serve into pass-throughs (200, `X-Cache-Status: ERROR`, counted as faults) until its replica has taken
 * over, after which hits resume without restarting Reprise; and /stats on either replica adds up both, through the
 * stats shards on the cluster. Each test file runs it once, so the two modes run side by side.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import type { Running } from '../../src/node/server.js';
import type { Store } from '../../src/store/types.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { redisReplicaConfig, startFront } from './front.js';
import { ask, bundledEmbedder, chat } from './harness.js';
import { startRedisCluster, type RedisClusterServer } from './redis-cluster.js';

const REDIS_TIMEOUT = 200;

interface Replica {
  running: Running;
  client(apiKey?: string): OpenAI;
}

function count(xs: Array<string | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[String(x)] = (out[String(x)] ?? 0) + 1;
  return out;
}

/** Registers the suite in the calling test file, with its own cluster and replicas. */
export function clusterReplicaSuite(search: 'mirror' | 'server'): void {
  const PREFIX = `cluster-${search}${process.pid}`;


  let up: FakeUpstream;
  let cluster: RedisClusterServer;
  const running: Running[] = [];
  let a: Replica;
  let b: Replica;

  async function startReplica(): Promise<Replica> {
    const config = redisReplicaConfig(
      { upstream: up.url, redisUrl: cluster.url, prefix: PREFIX, redisTimeoutMs: REDIS_TIMEOUT, adminToken: 'cluster-admin-token' },
      { 'redis-cluster': 'true', 'redis-search': search },
    );
    // Stats shared every 250 ms, so /stats adds up both replicas within the test.
    const r = await startFront(config, { embedder: bundledEmbedder(), logger: silentLogger, statsShareMs: 250 });
    running.push(r);
    await r.ready;
    await vi.waitFor(() => expect(r.store.status).toBe('ready'), { interval: 20, timeout: 20_000 });
    await (r.store as Store & { synced?: () => Promise<void> }).synced?.();
    return { running: r, client: (apiKey = 'sk-cluster-test') => new OpenAI({ apiKey, baseURL: `${r.url}/v1`, maxRetries: 0, timeout: 20_000 }) };
  }

  /** Every entry key under PREFIX, by the port of the master that holds it (SCAN on each master). */
  async function entryKeysByMaster(): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const port of await cluster.masters()) {
      const c = cluster.client(port);
      try {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await c.scan(cursor, 'MATCH', `${PREFIX}:{*}:*`, 'COUNT', 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        out.set(port, keys);
      } finally {
        c.disconnect();
      }
    }
    return out;
  }

  beforeAll(async () => {
    [up, cluster] = await Promise.all([startFakeUpstream(), startRedisCluster(search === 'server' ? { version: 8 } : {})]);
    a = await startReplica();
    b = await startReplica();
  }, 120_000);

  afterAll(async () => {
    for (const r of running) await r.close();
    await cluster?.stop();
    await up?.close();
  });

  describe('two replicas on a Redis Cluster', () => {
    it('an answer cached through A is an exact and a semantic hit through B', async () => {
      const miss = await chat(a.client(), ask('What is the boiling point of water at sea level?'));
      expect(miss.headers.get('x-cache-status')).toBe('MISS');
      await vi.waitFor(async () => {
        const exact = await chat(b.client(), ask('What is the boiling point of water at sea level?'), { 'x-cache-ttl': '0' });
        expect(exact.headers.get('x-cache-status')).toBe('HIT');
        expect(exact.headers.get('x-cache-match')).toBe('exact');
        expect(exact.data).toEqual(miss.data);
      }, { interval: 20, timeout: 5_000 });
      await vi.waitFor(async () => {
        const semantic = await chat(b.client(), ask('At sea level, what is the boiling point of water?'), { 'x-cache-ttl': '0' });
        expect(semantic.headers.get('x-cache-status')).toBe('HIT');
        expect(semantic.headers.get('x-cache-match')).toBe('semantic');
        expect(semantic.data.choices[0]!.message.content).toBe(miss.data.choices[0]!.message.content);
      }, { interval: 20, timeout: 5_000 });
      expect(up.count('/chat/completions')).toBe(1);
    });

    it("different tenants' entries land on more than one master, each tenant's question in one slot", async () => {
      const before = new Set([...(await entryKeysByMaster()).values()].flat());
      for (let t = 0; t < 8; t++) expect((await chat(a.client(`sk-tenant-${t}`), ask('Which gas do plants absorb from the air?'))).headers.get('x-cache-status')).toBe('MISS');
      const fresh = new Map([...(await entryKeysByMaster())].map(([port, keys]) => [port, keys.filter((k) => !before.has(k))]));
      expect([...fresh.values()].flat()).toHaveLength(8);
      const holding = [...fresh].filter(([, keys]) => keys.length > 0);
      expect(holding.length, JSON.stringify([...fresh].map(([p, k]) => [p, k.length]))).toBeGreaterThan(1);
      // and each tenant still hits its own entry through B
      for (let t = 0; t < 8; t++)
        await vi.waitFor(async () => expect((await chat(b.client(`sk-tenant-${t}`), ask('Which gas do plants absorb from the air?'), { 'x-cache-ttl': '0' })).headers.get('x-cache-status')).toBe('HIT'), { interval: 20, timeout: 5_000 });
    });

    it('a master killed mid-traffic: every request answers 200, the ones it served fail open, and hits resume after failover', async () => {
      const questions = Array.from({ length: 12 }, (_, i) => `Cluster failover question ${i}: what is ${i + 2} times ${i + 3}?`);
      const before = new Set([...(await entryKeysByMaster()).values()].flat());
      const keyOf = new Map<string, string>();
      for (const q of questions) {
        expect((await chat(a.client(), ask(q))).headers.get('x-cache-status')).toBe('MISS');
        const now = [...(await entryKeysByMaster()).values()].flat().filter((k) => !before.has(k) && ![...keyOf.values()].includes(k));
        expect(now).toHaveLength(1);
        keyOf.set(q, now[0]!);
      }
      // The master holding the first question's entry goes; the questions on it cannot be read until its replica takes over.
      const victim = await cluster.masterOf(keyOf.get(questions[0]!)!);
      const onVictim = await Promise.all(questions.map(async (q) => (await cluster.masterOf(keyOf.get(q)!)) === victim));
      expect(onVictim.filter(Boolean).length).toBeGreaterThan(0);
      const faultsBefore = a.running.metrics.snapshot().faults.lookup + b.running.metrics.snapshot().faults.lookup;

      const seen: Array<{ replica: string; q: number; code: number; status: string | null }> = [];
      let stop = false;
      const traffic = async (name: string, r: Replica) => {
        for (let i = 0; !stop; i++) {
          const q = i % questions.length;
          const res = await chat(r.client(), ask(questions[q]!), { 'x-cache-ttl': '0' });
          seen.push({ replica: name, q, code: res.status, status: res.headers.get('x-cache-status') });
          expect(res.data.choices[0]!.message.content).toContain(`what is ${q + 2} times ${q + 3}?`);
        }
      };
      const loops = [traffic('A', a), traffic('B', b)];
      const t0 = performance.now();
      await cluster.killMaster(victim);
      const failoverMs = performance.now() - t0;
      // Hits resume by themselves: every question, those whose master was killed included, through both replicas.
      const resumeT0 = performance.now();
      await vi.waitFor(() => {
        const recent = seen.slice(-2 * questions.length);
        expect(recent.length).toBe(2 * questions.length);
        expect(recent.every((s) => s.status === 'HIT'), JSON.stringify(recent.map((s) => s.status))).toBe(true);
      }, { interval: 50, timeout: 20_000 });
      const resumeMs = performance.now() - resumeT0;
      stop = true;
      await Promise.all(loops);

      const table = JSON.stringify({ failoverMs: Math.round(failoverMs), resumeMs: Math.round(resumeMs), counts: count(seen.map((s) => s.status)) });
      expect(seen.every((s) => s.code === 200), table).toBe(true);
      expect(seen.every((s) => ['HIT', 'ERROR', 'MISS'].includes(s.status ?? '')), table).toBe(true);
      // The outage was met, and failed open: some requests went upstream as ERROR, counted as lookup faults.
      expect(seen.some((s) => s.status === 'ERROR'), table).toBe(true);
      const faultsAfter = a.running.metrics.snapshot().faults.lookup + b.running.metrics.snapshot().faults.lookup;
      expect(faultsAfter - faultsBefore, table).toBeGreaterThan(0);
      console.log(`[redis-cluster] ${table}`);

      // And caching goes on: a new question stored now hits on the other replica.
      const q = 'After the failover: what is the capital of Australia?';
      expect((await chat(a.client(), ask(q))).headers.get('x-cache-status')).toBe('MISS');
      await vi.waitFor(async () => expect((await chat(b.client(), ask(q), { 'x-cache-ttl': '0' })).headers.get('x-cache-status')).toBe('HIT'), { interval: 20, timeout: 5_000 });
    }, 90_000);
  });

  describe('shared stats on a Redis Cluster', () => {
    it("/stats on either replica adds up both replicas' own counts", async () => {
      // Idle now, so each replica's own figures stand still while the shares catch up.
      const own = (r: Replica) => r.running.metrics.snapshot() as unknown as { requests: Record<string, number>; hits: { exact: number; semantic: number } };
      const want = {
        replicas: 2,
        HIT: (own(a).requests.HIT ?? 0) + (own(b).requests.HIT ?? 0),
        exact: own(a).hits.exact + own(b).hits.exact,
        semantic: own(a).hits.semantic + own(b).hits.semantic,
      };
      expect(want.HIT).toBeGreaterThan(0);
      for (const r of [a, b]) {
        await vi.waitFor(
          async () => {
            const res = await fetch(`${r.running.url}/stats`, { headers: { authorization: 'Bearer cluster-admin-token' } });
            expect(res.status).toBe(200);
            const body = (await res.json()) as { replicas: number; requests: Record<string, number>; hits: { exact: number; semantic: number } };
            expect({ replicas: body.replicas, HIT: body.requests.HIT ?? 0, exact: body.hits.exact, semantic: body.hits.semantic }).toEqual(want);
          },
          { interval: 50, timeout: 10_000 },
        );
      }
    });
  });
}
