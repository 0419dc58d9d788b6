/**
 * Two Reprise replicas on one redis-server: each shares its stats through Redis, so GET /stats on either one adds up
 * both replicas' counters (and says `replicas: 2`), while /metrics stays per replica. A replica that stops sharing
 * drops out once its key expires; with Redis gone, /stats still answers at once with the replica's own figures, and
 * the failed shares are logged once for the outage.
 */
import OpenAI from 'openai';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Logger } from '../../src/observe/logger.js';
import { silentLogger } from '../../src/observe/logger.js';
import type { Running } from '../../src/node/server.js';
import type { ReplicaStats } from '../../src/observe/stats.js';
import type { Store } from '../../src/store/types.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { redisReplicaConfig, startFront } from '../helpers/front.js';
import { ask, bundledEmbedder, chat } from '../helpers/harness.js';
import { startRedis, startRelay, type RedisServer } from '../helpers/redis-server.js';

const ADMIN = 'cluster-stats-admin-token';
const REDIS_TIMEOUT = 100;
/** A short share interval, so that a stopped replica's stats (kept 3 × this) expire within the test. */
const SHARE_MS = 250;
/** How long a poll may wait for a condition on a busy two-core machine: many share intervals. */
const POLL_MS = 10_000;
/** /stats with Redis away: at most two round trips that each time out, plus a busy machine's slack. */
const STATS_BUDGET_MS = 2 * REDIS_TIMEOUT + 400;
const PREFIX = `cluster-stats${process.pid}`;

interface Replica {
  running: Running;
  url: string;
  client(): OpenAI;
  close(): Promise<void>;
}

/** What the test reads of the stats JSON. */
interface Stats {
  replicas: number;
  requests: Record<string, number>;
  hits: { exact: number; semantic: number };
  writes: number;
  tokens: { input: number; output: number };
}

let up: FakeUpstream;
let redis: RedisServer;
let raw: Redis;
let a: Replica;
let b: Replica;
const replicas = new Set<Replica>();
/** A's log lines: the failed shares are counted from them. */
const aLog: Array<{ level: string; msg: string | undefined }> = [];

function recordingLogger(into: typeof aLog): Logger {
  const at = (level: string) => (_obj: Record<string, unknown>, msg?: string) => void into.push({ level, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function startReplica(flags: Record<string, string> = {}, logger: Logger = silentLogger): Promise<Replica> {
  const config = redisReplicaConfig({ upstream: up.url, redisUrl: redis.url, prefix: PREFIX, redisTimeoutMs: REDIS_TIMEOUT, adminToken: ADMIN }, flags);
  const running = await startFront(config, { embedder: bundledEmbedder(), logger, statsShareMs: SHARE_MS });
  await running.ready;
  const replica: Replica = {
    running,
    url: running.url,
    client: () => new OpenAI({ apiKey: 'sk-cluster-stats', baseURL: `${running.url}/v1`, maxRetries: 0, timeout: 10_000 }),
    async close() {
      replicas.delete(replica);
      await running.close();
    },
  };
  replicas.add(replica);
  return replica;
}

/** Wait until the replica's store is connected and its index loaded from Redis. */
async function storeReady(r: Replica): Promise<void> {
  await vi.waitFor(
    async () => {
      const h = (await (await fetch(`${r.url}/healthz`)).json()) as { store?: string };
      expect(h.store).toBe('ready');
    },
    { interval: 20, timeout: POLL_MS },
  );
  await (r.running.store as Store & { synced?: () => Promise<void> }).synced?.();
}

async function stats(r: Replica, token: string | null = ADMIN): Promise<{ status: number; ms: number; body: Stats }> {
  const t0 = performance.now();
  const res = await fetch(`${r.url}/stats`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as Stats;
  return { status: res.status, ms: performance.now() - t0, body };
}

/** The figures the test checks, from a stats JSON or from one replica's own snapshot. */
const figures = (s: Pick<Stats, 'requests' | 'hits' | 'writes' | 'tokens'>) => ({
  HIT: s.requests.HIT ?? 0,
  MISS: s.requests.MISS ?? 0,
  exact: s.hits.exact,
  semantic: s.hits.semantic,
  writes: s.writes,
  input: s.tokens.input,
  output: s.tokens.output,
});

/** The value of one series in Prometheus text, by its exact label set; undefined when absent. */
function series(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${want}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Tokens the hits served, as their usage says: what the stats count as saved. */
const served = { a: { input: 0, output: 0 }, b: { input: 0, output: 0 } };

async function send(r: Replica, q: string, want: [string, string | null], tally?: { input: number; output: number }) {
  const res = await chat(r.client(), ask(q));
  expect([res.headers.get('x-cache-status'), res.headers.get('x-cache-match')], q).toEqual(want);
  if (tally) {
    tally.input += res.data.usage!.prompt_tokens;
    tally.output += res.data.usage!.completion_tokens;
  }
}

const Q1 = 'What is the capital of Australia?';
const Q2 = 'Which gas do plants absorb from the air?';
const Q3 = 'How many bones are in the adult human body?';
const Q3_REWORDED = 'How many bones does an adult human body have?';

/** What both replicas served, added up: A 2 misses + 3 exact hits; B 1 miss + 2 exact hits + 1 semantic hit. */
const total = () => ({
  HIT: 6,
  MISS: 3,
  exact: 5,
  semantic: 1,
  writes: 3,
  input: served.a.input + served.b.input,
  output: served.a.output + served.b.output,
});

beforeAll(async () => {
  [up, redis] = await Promise.all([startFakeUpstream(), startRedis()]);
  raw = redis.client();
  a = await startReplica({}, recordingLogger(aLog));
  b = await startReplica();
  await Promise.all([storeReady(a), storeReady(b)]);
});

afterAll(async () => {
  for (const r of [...replicas]) await r.close();
  raw?.disconnect();
  await redis?.stop();
  await up?.close();
});

describe('/stats across replicas', () => {
  it('adds up both replicas, on either one; /metrics stays per replica', async () => {
    // A: 2 misses, 3 exact hits.
    await send(a, Q1, ['MISS', null]);
    await send(a, Q2, ['MISS', null]);
    for (const q of [Q1, Q2, Q1]) await send(a, q, ['HIT', 'exact'], served.a);
    // B: 1 miss, 2 exact hits (one of an entry written through A, read from Redis), 1 semantic hit.
    await send(b, Q3, ['MISS', null]);
    await send(b, Q3, ['HIT', 'exact'], served.b);
    await send(b, Q1, ['HIT', 'exact'], served.b);
    await send(b, Q3_REWORDED, ['HIT', 'semantic'], served.b);
    expect(up.count('/chat/completions')).toBe(3);

    // Each replica's own figures, as it counted them.
    expect(figures(a.running.metrics.snapshot())).toEqual({ HIT: 3, MISS: 2, exact: 3, semantic: 0, writes: 2, ...served.a });
    expect(figures(b.running.metrics.snapshot())).toEqual({ HIT: 3, MISS: 1, exact: 2, semantic: 1, writes: 1, ...served.b });
    expect(served.a.input).toBeGreaterThan(0);
    expect(served.b.output).toBeGreaterThan(0);

    // Shared every SHARE_MS: both replicas' answers add up once each has shared since its last request.
    for (const r of [a, b]) {
      await vi.waitFor(
        async () => {
          const s = await stats(r);
          expect(s.status).toBe(200);
          expect({ replicas: s.body.replicas, ...figures(s.body) }).toEqual({ replicas: 2, ...total() });
        },
        { interval: 50, timeout: POLL_MS },
      );
    }

    // In Redis: one key per replica, expiring within 3 share intervals, and an index of both.
    const ids = await raw.zrange(`${PREFIX}:stats-index`, 0, -1);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const ttl = await raw.pttl(`${PREFIX}:stats:${id}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3 * SHARE_MS);
      const shared = JSON.parse((await raw.get(`${PREFIX}:stats:${id}`))!) as ReplicaStats;
      expect(shared.replica).toBe(id);
    }

    // /metrics is A's alone.
    const text = await (await fetch(`${a.url}/metrics`)).text();
    const at = { endpoint: 'chat', model: 'gpt-4o-mini' };
    expect(series(text, 'reprise_requests_total', { ...at, status: 'MISS', match: 'none' })).toBe(2);
    expect(series(text, 'reprise_requests_total', { ...at, status: 'HIT', match: 'exact' })).toBe(3);
    expect(series(text, 'reprise_requests_total', { ...at, status: 'HIT', match: 'semantic' }) ?? 0).toBe(0);
    expect(series(text, 'reprise_writes_total', at)).toBe(2);
  });

  it('needs the admin token', async () => {
    expect((await stats(a, null)).status).toBe(401);
  });

  it('a replica that stops drops out once its stats expire', async () => {
    await b.close();
    await vi.waitFor(
      async () => {
        const s = await stats(a);
        expect(s.status).toBe(200);
        expect({ replicas: s.body.replicas, ...figures(s.body) }).toEqual({ replicas: 1, ...figures(a.running.metrics.snapshot()) });
      },
      { interval: 50, timeout: POLL_MS },
    );
    expect(figures((await stats(a)).body)).toMatchObject({ HIT: 3, MISS: 2 });
    // In Redis, B's key has expired (its index member is pruned later, by score): only A's is left.
    const ids = await raw.zrange(`${PREFIX}:stats-index`, 0, -1);
    const live = await Promise.all(ids.map((id) => raw.exists(`${PREFIX}:stats:${id}`)));
    expect(live.filter((n) => n === 1)).toHaveLength(1);
  });

  it('a stalled Redis (connection open, no answers) leaves /stats answering at once with the replica\'s own figures', async () => {
    const relay = await startRelay(redis.port);
    const d = await startReplica({ 'redis-url': relay.url });
    try {
      await storeReady(d);
      await vi.waitFor(async () => expect((await stats(d)).body.replicas).toBe(2), { interval: 50, timeout: POLL_MS });
      relay.pause();
      for (let i = 0; i < 3; i++) {
        const s = await stats(d);
        expect(s.status).toBe(200);
        expect(s.body.replicas).toBe(1);
        expect(s.body.requests.HIT ?? 0).toBe(0);
        expect(s.ms, `/stats took ${s.ms.toFixed(0)} ms`).toBeLessThan(STATS_BUDGET_MS);
      }
    } finally {
      relay.resume();
      await d.close();
      await relay.close();
    }
  });

  it('with Redis killed, /stats answers 200 at once with the replica\'s own figures; the failed shares are logged once', async () => {
    const store = a.running.store as Store & { shareStats: NonNullable<Store['shareStats']> };
    const share = store.shareStats.bind(store);
    let attempts = 0;
    store.shareStats = (s, ttl) => {
      attempts++;
      return share(s, ttl);
    };
    const failedShares = () => aLog.filter((l) => l.msg?.startsWith('could not share')).length;
    expect(failedShares()).toBe(0);

    await redis.kill();
    const t0 = attempts;
    for (let i = 0; i < 5; i++) {
      const s = await stats(a);
      expect(s.status).toBe(200);
      expect({ replicas: s.body.replicas, ...figures(s.body) }).toEqual({ replicas: 1, HIT: 3, MISS: 2, exact: 3, semantic: 0, writes: 2, ...served.a });
      expect(s.ms, `/stats took ${s.ms.toFixed(0)} ms`).toBeLessThan(STATS_BUDGET_MS);
    }
    // Several shares fail through the outage; one log line says so.
    await vi.waitFor(() => expect(attempts - t0).toBeGreaterThanOrEqual(4), { interval: 50, timeout: POLL_MS });
    expect(failedShares()).toBe(1);
  });
});
