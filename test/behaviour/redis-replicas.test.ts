/**
 * Two Reprise replicas sharing one cache on one redis-server, through the real `openai` SDK: entries written through
 * one hit through the other, restarts lose nothing, expiry / purge / delete reach every replica, the admin API is
 * guarded, and a dead or late Redis turns into pass-through (`X-Cache-Status: ERROR`) until it is back.
 */
import OpenAI from 'openai';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import type { Running } from '../../src/node/server.js';
import { redisReplicaConfig, startFront } from '../helpers/front.js';
import type { Store } from '../../src/store/types.js';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/fake-upstream.js';
import { ask, bundledEmbedder, chat } from '../helpers/harness.js';
import { freePort, startRedis, startRelay, type RedisServer } from '../helpers/redis-server.js';

const ADMIN = 'admin-secret-for-tests';
const REDIS_TIMEOUT = 100;
/** How long an entry may take to reach (or leave) the other replica. */
const PROPAGATION_MS = 200;

interface Replica {
  running: Running;
  url: string;
  client(apiKey?: string): OpenAI;
  close(): Promise<void>;
}

let up: FakeUpstream;
let redis: RedisServer;
let raw: Redis;
const PREFIX = `replicas${process.pid}`;
const replicas = new Set<Replica>();

/** A Reprise server on the shared fake upstream, with the Redis store (flags override the defaults here). */
async function startReplica(flags: Record<string, string> = {}): Promise<Replica> {
  const config = redisReplicaConfig({ upstream: up.url, redisUrl: redis.url, prefix: PREFIX, redisTimeoutMs: REDIS_TIMEOUT, adminToken: ADMIN }, flags);
  const running = await startFront(config, { embedder: bundledEmbedder(), logger: silentLogger });
  await running.ready;
  const replica: Replica = {
    running,
    url: running.url,
    client: (apiKey = 'sk-replica-test') => new OpenAI({ apiKey, baseURL: `${running.url}/v1`, maxRetries: 0, timeout: 10_000 }),
    async close() {
      replicas.delete(replica);
      await running.close();
    },
  };
  replicas.add(replica);
  return replica;
}

async function health(r: Replica): Promise<{ code: number; body: { status: string; embedder?: string; store?: string } }> {
  const res = await fetch(`${r.url}/healthz`);
  return { code: res.status, body: (await res.json()) as { status: string; store?: string } };
}

/** Wait until the replica's /healthz reports the store ready and its index has been loaded from Redis. */
async function storeReady(r: Replica, timeout = 10_000): Promise<number> {
  const t0 = performance.now();
  await vi.waitFor(
    async () => {
      const h = await health(r);
      expect(h.code).toBe(200);
      expect(h.body.store).toBe('ready');
    },
    { interval: 20, timeout },
  );
  await (r.running.store as Store & { synced?: () => Promise<void> }).synced?.();
  return performance.now() - t0;
}

/** ms until `probe` passes, polling every 10 ms for at most `timeout` ms. */
async function within(timeout: number, probe: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await vi.waitFor(probe, { interval: 10, timeout });
  return performance.now() - t0;
}

/** A streaming chat call, read to the end. */
async function chatStream(client: OpenAI, body: { messages: OpenAI.ChatCompletionMessageParam[]; model?: string }, headers?: Record<string, string>) {
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', ...body, stream: true }, { headers })
    .withResponse();
  let content = '';
  for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? '';
  return { headers: response.headers, status: response.status, content };
}

/** A lookup that stores nothing on a miss, so probing a replica cannot refill the cache it probes. */
const NO_STORE_ON_MISS = { 'x-cache-ttl': '0' };

async function admin(r: Replica, method: 'POST' | 'DELETE', path: string, body?: unknown, token: string | null = ADMIN) {
  const res = await fetch(`${r.url}${path}`, {
    method,
    headers: { ...(token !== null && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json as Record<string, unknown> };
}

function expectOpenAIError(body: unknown): void {
  const err = (body as { error?: Record<string, unknown> }).error;
  expect(err, `not an OpenAI-style error body: ${JSON.stringify(body)}`).toBeDefined();
  expect(typeof err!.message).toBe('string');
  expect(typeof err!.type).toBe('string');
  expect(err).toHaveProperty('param');
  expect(err).toHaveProperty('code');
}

let a: Replica;
let b: Replica;

beforeAll(async () => {
  [up, redis] = await Promise.all([startFakeUpstream(), startRedis()]);
  raw = redis.client();
  a = await startReplica();
  b = await startReplica({ 'admin-token': '' }); // B has no admin API
  await Promise.all([storeReady(a), storeReady(b)]);
});

afterAll(async () => {
  for (const r of [...replicas]) await r.close();
  raw?.disconnect();
  await redis?.stop();
  await up?.close();
});

beforeEach(() => {
  up.reset();
});

describe('two replicas, one Redis', () => {
  const Q = 'What is the boiling point of water at sea level?';
  const Q_REWORDED = 'At sea level, what is the boiling point of water?';

  it('an answer cached through A is an exact and a semantic hit through B within 200 ms', async () => {
    const before = b.running.store.size();
    const miss = await chat(a.client(), ask(Q));
    expect(miss.headers.get('x-cache-status')).toBe('MISS');

    const ms = await within(PROPAGATION_MS, () => expect(b.running.store.size()).toBe(before + 1));
    expect(ms).toBeLessThan(PROPAGATION_MS);

    const exact = await chat(b.client(), ask(Q));
    expect(exact.headers.get('x-cache-status')).toBe('HIT');
    expect(exact.headers.get('x-cache-match')).toBe('exact');
    expect(exact.data).toEqual(miss.data);

    const semantic = await chat(b.client(), ask(Q_REWORDED));
    expect(semantic.headers.get('x-cache-status')).toBe('HIT');
    expect(semantic.headers.get('x-cache-match')).toBe('semantic');
    expect(semantic.data.choices[0]!.message.content).toBe(miss.data.choices[0]!.message.content);

    // The same entry on both: one id.
    expect(semantic.headers.get('x-cache-id')).toBe(exact.headers.get('x-cache-id'));
    expect(up.count('/chat/completions')).toBe(1);
  });

  it('the replicas key tenants with one secret, made by the first and kept in Redis; a configured secret is never written there', async () => {
    const check = redis.client();
    try {
      const secret = await check.getBuffer(`${PREFIX}:tenant-secret`);
      expect(secret?.length).toBe(32);
      // A hit through B for A's caller (above) needs B to derive the same tenant id: it read the same secret.
      const c = await startReplica({ 'redis-prefix': `${PREFIX}-own`, 'tenant-secret': 'an operator secret, 16+ chars' });
      try {
        await storeReady(c);
        expect(await check.exists(`${PREFIX}-own:tenant-secret`)).toBe(0);
      } finally {
        await c.close();
      }
    } finally {
      check.disconnect();
    }
  });

  it('a replica restarted on the same Redis loses nothing: old entries hit through the new one', async () => {
    await a.close();
    a = await startReplica();
    await storeReady(a);
    expect(a.running.store.size()).toBe(b.running.store.size());

    const exact = await chat(a.client(), ask(Q));
    expect(exact.headers.get('x-cache-status')).toBe('HIT');
    expect(exact.headers.get('x-cache-match')).toBe('exact');
    const semantic = await chat(a.client(), ask(Q_REWORDED));
    expect(semantic.headers.get('x-cache-status')).toBe('HIT');
    expect(semantic.headers.get('x-cache-match')).toBe('semantic');
    expect(up.count()).toBe(0);
  });

  it('an entry that expires in Redis stops hitting on both replicas', async () => {
    const q = 'How long does it take light from the Sun to reach Earth?';
    const reworded = 'How long does light from the Sun take to reach the Earth?';
    const keysBefore = new Set(await raw.keys(`${PREFIX}*`));
    const miss = await chat(a.client(), ask(q), { 'x-cache-ttl': '1' });
    expect(miss.headers.get('x-cache-status')).toBe('MISS');
    const entryKeys = (await raw.keys(`${PREFIX}*`)).filter((k) => !keysBefore.has(k));
    expect(entryKeys.length).toBeGreaterThan(0);
    for (const k of entryKeys) expect(await raw.pttl(k)).toBeGreaterThan(0);

    await within(PROPAGATION_MS, async () => expect((await chat(b.client(), ask(q), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('HIT'));
    expect((await chat(b.client(), ask(reworded), NO_STORE_ON_MISS)).headers.get('x-cache-match')).toBe('semantic');

    // Redis expires the key itself.
    await within(3_000, async () => {
      for (const k of entryKeys) expect(await raw.exists(k)).toBe(0);
    });
    for (const [name, r] of [['A', a], ['B', b]] as const) {
      await within(PROPAGATION_MS, async () => {
        const again = await chat(r.client(), ask(q), NO_STORE_ON_MISS);
        expect(again.headers.get('x-cache-status'), `exact on ${name}`).toBe('MISS');
      });
      const sem = await chat(r.client(), ask(reworded), NO_STORE_ON_MISS);
      expect(sem.headers.get('x-cache-status'), `semantic on ${name}`).toBe('MISS');
    }
  });
});

describe('admin API', () => {
  it('purge by api_key through A stops those hits through B within 200 ms, and only those', async () => {
    const q = 'Which gas do plants absorb from the air?';
    // (A rewording the precision-first default serves: it doubts "what gas … take in" for "which gas … absorb".)
    const reworded = 'Please, which gas do plants absorb from the air?';
    const [k1, k2] = ['sk-purge-one', 'sk-purge-two'];
    await chat(a.client(k1), ask(q));
    await chat(a.client(k2), ask(q));
    // Warm B: both hit there (and sit in any local tier B keeps).
    for (const k of [k1, k2])
      await within(PROPAGATION_MS, async () => expect((await chat(b.client(k), ask(q), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('HIT'));
    expect((await chat(b.client(k1), ask(reworded), NO_STORE_ON_MISS)).headers.get('x-cache-match')).toBe('semantic');

    const purged = await admin(a, 'POST', '/admin/purge', { api_key: k1 });
    expect(purged).toEqual({ status: 200, body: { deleted: 1 } });

    const ms = await within(PROPAGATION_MS, async () => {
      expect((await chat(b.client(k1), ask(q), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('MISS');
      expect((await chat(b.client(k1), ask(reworded), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('MISS');
    });
    expect(ms).toBeLessThan(PROPAGATION_MS);
    expect((await chat(b.client(k2), ask(q))).headers.get('x-cache-status')).toBe('HIT');
    expect((await chat(a.client(k1), ask(q), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('MISS');
  });

  it('purge by namespace and by model', async () => {
    const q = 'What is the capital of Australia?';
    const ns = (n: string) => ({ 'x-cache-namespace': n });
    await chat(a.client(), ask(q), ns('ns-purge-a'));
    await chat(a.client(), ask(q), ns('ns-purge-b'));
    await chat(a.client(), { ...ask(q), model: 'purge-model-1' });
    await chat(a.client(), { ...ask(q), model: 'purge-model-2' });
    expect(up.count()).toBe(4);
    for (const h of [ns('ns-purge-a'), ns('ns-purge-b')])
      await within(PROPAGATION_MS, async () => expect((await chat(b.client(), ask(q), { ...h, ...NO_STORE_ON_MISS })).headers.get('x-cache-status')).toBe('HIT'));

    expect(await admin(a, 'POST', '/admin/purge', { namespace: 'ns-purge-a' })).toEqual({ status: 200, body: { deleted: 1 } });
    await within(PROPAGATION_MS, async () =>
      expect((await chat(b.client(), ask(q), { ...ns('ns-purge-a'), ...NO_STORE_ON_MISS })).headers.get('x-cache-status')).toBe('MISS'),
    );
    expect((await chat(b.client(), ask(q), { ...ns('ns-purge-b'), ...NO_STORE_ON_MISS })).headers.get('x-cache-status')).toBe('HIT');

    expect(await admin(a, 'POST', '/admin/purge', { model: 'purge-model-1' })).toEqual({ status: 200, body: { deleted: 1 } });
    await within(PROPAGATION_MS, async () =>
      expect((await chat(b.client(), { ...ask(q), model: 'purge-model-1' }, NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('MISS'),
    );
    expect((await chat(b.client(), { ...ask(q), model: 'purge-model-2' }, NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('HIT');
  });

  it('DELETE /admin/entries/<X-Cache-Id> through A stops that entry on B', async () => {
    const q = 'How many bones are in the adult human body?';
    const reworded = 'How many bones does an adult human body have?';
    const other = 'How many teeth does an adult human have?';
    await chat(a.client(), ask(q));
    await chat(a.client(), ask(other));
    const hit = await chat(b.client(), ask(q), NO_STORE_ON_MISS);
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    const id = hit.headers.get('x-cache-id')!;
    expect(id).toBeTruthy();
    await within(PROPAGATION_MS, async () => expect((await chat(b.client(), ask(reworded), NO_STORE_ON_MISS)).headers.get('x-cache-match')).toBe('semantic'));

    const del = await admin(a, 'DELETE', `/admin/entries/${encodeURIComponent(id)}`);
    expect(del).toEqual({ status: 200, body: { deleted: true } });
    const ms = await within(PROPAGATION_MS, async () => {
      expect((await chat(b.client(), ask(q), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('MISS');
      expect((await chat(b.client(), ask(reworded), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('MISS');
    });
    expect(ms).toBeLessThan(PROPAGATION_MS);
    expect((await chat(b.client(), ask(other), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('HIT');

    const again = await admin(a, 'DELETE', `/admin/entries/${encodeURIComponent(id)}`);
    expect(again.status).toBe(404);
    expectOpenAIError(again.body);
  });

  it('needs the admin token: none or a wrong one is a 401, the right one a 200; no filter is a 400', async () => {
    for (const token of [null, 'wrong-token', `${ADMIN}x`, '']) {
      const purge = await admin(a, 'POST', '/admin/purge', { namespace: 'nothing-here' }, token);
      expect(purge.status, `purge with token ${JSON.stringify(token)}`).toBe(401);
      expectOpenAIError(purge.body);
      const del = await admin(a, 'DELETE', '/admin/entries/some-id', undefined, token);
      expect(del.status, `delete with token ${JSON.stringify(token)}`).toBe(401);
      expectOpenAIError(del.body);
    }
    const raw_ = await fetch(`${a.url}/admin/purge`, { method: 'POST', headers: { authorization: ADMIN }, body: '{"namespace":"x"}' });
    expect(raw_.status, 'the token without "Bearer "').toBe(401);

    expect(await admin(a, 'POST', '/admin/purge', { namespace: 'nothing-here' })).toEqual({ status: 200, body: { deleted: 0 } });
    const empty = await admin(a, 'POST', '/admin/purge', {});
    expect(empty.status).toBe(400);
    expectOpenAIError(empty.body);
  });

  it('is off (404) on a replica without an admin token', async () => {
    const purge = await admin(b, 'POST', '/admin/purge', { namespace: 'x' });
    expect(purge.status).toBe(404);
    expect((await admin(b, 'POST', '/admin/purge', { namespace: 'x' }, null)).status).toBe(404);
    expect((await admin(b, 'DELETE', '/admin/entries/some-id')).status).toBe(404);
  });
});

describe('Redis down', () => {
  const UPSTREAM_DELAY = 50;
  const BUDGET = UPSTREAM_DELAY + REDIS_TIMEOUT + 200;

  it('a stalled Redis (connection open, no answers) turns requests into fast pass-throughs; caching resumes when it answers', async () => {
    const relay = await startRelay(redis.port);
    const d = await startReplica({ 'redis-url': relay.url, 'admin-token': '' });
    try {
      await storeReady(d);
      const known = 'What is the tallest animal on land?';
      expect((await chat(d.client(), ask(known))).headers.get('x-cache-status')).toBe('MISS');
      expect((await chat(d.client(), ask(known))).headers.get('x-cache-status')).toBe('HIT');

      up.defaults.delayMs = UPSTREAM_DELAY;
      relay.pause();
      const seen: Array<[number, string, string | null, number]> = [];
      for (let i = 0; i < 6; i++) {
        const repeated = i % 3 === 0;
        const q = repeated ? known : `Stalled-Redis question ${i}: what is ${i} cubed?`;
        const t0 = performance.now();
        const r = i % 2 === 1 ? await chatStream(d.client(), ask(q)) : await chat(d.client(), ask(q));
        const ms = performance.now() - t0;
        expect(r.status).toBe(200);
        seen.push([i, repeated ? 'repeated' : 'new', r.headers.get('x-cache-status'), Math.round(ms)]);
        expect(ms, JSON.stringify(seen)).toBeLessThan(BUDGET);
        // A new question cannot be answered from cache: the lookup must give up and go upstream.
        if (!repeated) expect(r.headers.get('x-cache-status'), JSON.stringify(seen)).toBe('ERROR');
        else expect(['ERROR', 'HIT'], JSON.stringify(seen)).toContain(r.headers.get('x-cache-status'));
      }
      up.defaults.delayMs = 0;

      relay.resume();
      const q = 'What is the smallest planet in the solar system?';
      await within(3_000, async () => {
        expect((await chat(d.client(), ask(q))).headers.get('x-cache-status')).toBe('HIT');
      });
    } finally {
      up.defaults.delayMs = 0;
      relay.resume();
      await d.close();
      await relay.close();
    }
  });

  it('a Redis killed mid-run turns every request into a pass-through with X-Cache-Status: ERROR, fast', async () => {
    const repeated = ['What is the chemical symbol for gold?', 'Who wrote the novel Nineteen Eighty-Four?'];
    for (const q of repeated) expect((await chat(a.client(), ask(q))).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(a.client(), ask(repeated[0]!))).headers.get('x-cache-status')).toBe('HIT');
    up.defaults.delayMs = UPSTREAM_DELAY;

    const callsBefore = up.count('/chat/completions');
    await redis.kill();
    const results: Array<{ i: number; kind: string; status: string | null; ms: number; content: string }> = [];
    for (let i = 0; i < 20; i++) {
      const q = i % 3 === 0 ? repeated[(i / 3) % 2]! : `Mid-outage question number ${i}: what is ${i} squared?`;
      const streaming = i % 2 === 1;
      const t0 = performance.now();
      if (streaming) {
        const r = await chatStream(a.client(), ask(q));
        expect(r.status).toBe(200);
        results.push({ i, kind: 'stream', status: r.headers.get('x-cache-status'), ms: performance.now() - t0, content: r.content });
      } else {
        const r = await chat(a.client(), ask(q));
        expect(r.status).toBe(200);
        results.push({ i, kind: 'json', status: r.headers.get('x-cache-status'), ms: performance.now() - t0, content: r.data.choices[0]!.message.content ?? '' });
      }
    }
    const table = JSON.stringify(results.map(({ i, kind, status, ms }) => [i, kind, status, Math.round(ms)]));
    for (const r of results) {
      expect(r.content, table).toContain('Answer #'); // the upstream's answer, not a cached one
      expect(['ERROR', 'MISS'], table).toContain(r.status);
      expect(r.ms, `request ${r.i} took ${r.ms.toFixed(0)} ms: ${table}`).toBeLessThan(BUDGET);
    }
    const firstError = results.findIndex((r) => r.status === 'ERROR');
    expect(firstError, table).toBeGreaterThanOrEqual(0);
    expect(firstError, `the outage went unnoticed for ${firstError} requests: ${table}`).toBeLessThanOrEqual(2);
    expect(results.slice(firstError).every((r) => r.status === 'ERROR'), table).toBe(true);
    expect(up.count('/chat/completions') - callsBefore, 'every request went upstream').toBe(20);

    const h = await health(a);
    expect(h.code).toBe(200);
    expect(h.body.status).toBe('ok');
    await within(1_000, async () => expect((await health(a)).body.store).toBe('down'));
    up.defaults.delayMs = 0;
  });

  it('after Redis comes back (empty, as after a crash) caching resumes without restarting Reprise', async () => {
    await redis.restart();
    const [msA, msB] = await Promise.all([storeReady(a), storeReady(b)]);
    expect(msA).toBeLessThan(10_000);
    expect(msB).toBeLessThan(10_000);
    raw.disconnect();
    raw = redis.client();

    const q = 'What is the largest desert in the world?';
    expect((await chat(a.client(), ask(q))).headers.get('x-cache-status')).toBe('MISS');
    expect((await chat(a.client(), ask(q))).headers.get('x-cache-status')).toBe('HIT');
    await within(PROPAGATION_MS, async () => expect((await chat(b.client(), ask(q), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('HIT'));
    // Redis lost everything in the crash; the replicas' mirrors must not pretend otherwise. (b's hit above is an
    // exact one, read from Redis itself, so it can come before b's mirror has read the new entry off the stream.)
    await within(PROPAGATION_MS, () => {
      expect(a.running.store.size()).toBe(1);
      expect(b.running.store.size()).toBe(1);
    });
    expect((await chat(b.client(), ask('What is the boiling point of water at sea level?'), NO_STORE_ON_MISS)).headers.get('x-cache-status')).toBe('MISS');
    expect(up.count('/chat/completions')).toBe(2);
  });

  it('a replica started while Redis is unreachable serves pass-through, then caches once Redis is up', async () => {
    const port = await freePort();
    const t0 = performance.now();
    const c = await startReplica({ 'redis-url': `redis://127.0.0.1:${port}`, 'redis-prefix': `${PREFIX}-cold` });
    expect(performance.now() - t0, 'start-up must not wait for Redis').toBeLessThan(5_000);
    let late: RedisServer | undefined;
    try {
      const h = await health(c);
      expect(h.code).toBe(200);
      expect(h.body.store).not.toBe('ready');

      up.defaults.delayMs = UPSTREAM_DELAY;
      const q = 'What is the freezing point of water in Fahrenheit?';
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const r = i === 1 ? await chatStream(c.client(), ask(q)) : await chat(c.client(), ask(q));
        const ms = performance.now() - t;
        expect(r.status).toBe(200);
        expect(['ERROR', 'BYPASS']).toContain(r.headers.get('x-cache-status'));
        expect(ms).toBeLessThan(BUDGET);
      }
      up.defaults.delayMs = 0;

      late = await startRedis(port);
      await storeReady(c);
      expect((await chat(c.client(), ask(q))).headers.get('x-cache-status')).toBe('MISS');
      expect((await chat(c.client(), ask(q))).headers.get('x-cache-status')).toBe('HIT');
    } finally {
      up.defaults.delayMs = 0;
      await c.close();
      await late?.stop();
    }
  });
});
