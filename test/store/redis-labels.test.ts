/**
 * The Redis store's label channel (store/redis-labels) on a real redis-server: each other replica's batch heard once,
 * its own never; a late replica catches up on what the capped stream still holds, and no more; with Redis down,
 * publish rejects at once and the reader neither throws nor stalls, then goes on from where it was.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BudgetLabel } from '../../src/cache/error-budget.js';
import { silentLogger } from '../../src/observe/logger.js';
import { RedisStore } from '../../src/store/redis.js';
import { labelStreamKey, parseBatch, RedisLabels } from '../../src/store/redis-labels.js';
import type { LabelBatch } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let raw: Redis;
const stores: RedisStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  redis = await startRedis();
  raw = redis.client();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  raw?.disconnect();
  await redis?.stop();
});

async function store(prefix: string, opts: { labelStreamLength?: number } = {}): Promise<RedisStore> {
  const s = new RedisStore({ url: redis.url, prefix, labelPollMs: 5, logger: silentLogger, ...opts });
  stores.push(s);
  await s.start();
  await vi.waitFor(() => expect(s.status).toBe('ready'), { interval: 5, timeout: 5_000 });
  return s;
}

const label = (n: number): BudgetLabel => ({ entryId: `s.e${n}`, score: 0.9, correct: n % 2 === 0, sampled: false, reported: false });

function collector() {
  const got: LabelBatch[] = [];
  return { got, apply: (b: LabelBatch) => got.push(b), labels: () => got.flatMap((b) => b.labels.map((l) => l.entryId)) };
}

describe('RedisStore.labelChannel', () => {
  it("hears every other replica's batch once, in order, and never its own", async () => {
    const prefix = `labels${prefixes++}`;
    const [s1, s2] = [await store(prefix), await store(prefix)];
    const [a, b] = [s1.labelChannel('a'), s2.labelChannel('b')];
    const [ca, cb] = [collector(), collector()];
    const stops = [a.follow(ca.apply), b.follow(cb.apply)];
    for (let i = 0; i < 5; i++) await a.publish({ labels: [label(i)], served: i });
    await b.publish({ labels: [label(100)], served: 0 });
    await vi.waitFor(() => expect(cb.labels()).toEqual(['s.e0', 's.e1', 's.e2', 's.e3', 's.e4']), { interval: 5, timeout: 5_000 });
    await vi.waitFor(() => expect(ca.labels()).toEqual(['s.e100']), { interval: 5, timeout: 5_000 });
    expect(cb.got.map((x) => x.served)).toEqual([0, 1, 2, 3, 4]);
    // Later reads apply nothing again.
    await new Promise((r) => setTimeout(r, 50));
    expect(cb.labels()).toHaveLength(5);
    expect(ca.labels()).toHaveLength(1);
    stops.forEach((s) => s());
  });

  it('a replica that starts late catches up on the stream, which keeps about labelStreamLength batches', async () => {
    const prefix = `labels${prefixes++}`;
    const s1 = await store(prefix, { labelStreamLength: 100 });
    const a = s1.labelChannel('a');
    for (let i = 0; i < 1000; i++) await a.publish({ labels: [label(i)], served: 0 });
    const len = await raw.xlen(labelStreamKey(prefix));
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(300);
    const late = collector();
    const s2 = await store(prefix, { labelStreamLength: 100 });
    const stop = s2.labelChannel('late').follow(late.apply);
    await vi.waitFor(() => expect(late.labels()).toHaveLength(len), { interval: 5, timeout: 5_000 });
    // The newest are what is kept.
    expect(late.labels().at(-1)).toBe('s.e999');
    stop();
  });

  it('reads each batch once across reads, and skips what it cannot parse', async () => {
    const prefix = `labels${prefixes++}`;
    const key = labelStreamKey(prefix);
    await raw.xadd(key, '*', 'r', 'x', 'b', JSON.stringify({ labels: [label(1)], served: 2 }));
    await raw.xadd(key, '*', 'r', 'x', 'b', 'not json');
    await raw.xadd(key, '*', 'r', 'me', 'b', JSON.stringify({ labels: [label(2)], served: 0 }));
    const ch = new RedisLabels({ redis: raw, prefix, replica: 'me', maxLength: 10, pollMs: 5, ready: () => true, logger: silentLogger });
    const c = collector();
    expect(await ch.readOnce(c.apply)).toBe(3);
    expect(await ch.readOnce(c.apply)).toBe(0);
    expect(c.got).toEqual([{ labels: [label(1)], served: 2 }]);
    expect(parseBatch(JSON.stringify({ labels: [{ entryId: 'e', score: 'high' }, null, { entryId: 'f', score: 0.5, served: -3 }] }))).toEqual({
      labels: [{ entryId: 'f', score: 0.5, correct: false, sampled: false, reported: false }],
      served: 0,
    });
    // Served hits keep only well-formed items; none at all is no `hits`.
    expect(parseBatch(JSON.stringify({ labels: [], served: 2, hits: [{ entryId: 'g', score: 0.93 }, { entryId: 'h' }, null, { entryId: 3, score: 1 }] }))).toEqual({
      labels: [],
      served: 2,
      hits: [{ entryId: 'g', score: 0.93 }],
    });
    expect(parseBatch(JSON.stringify({ labels: [], served: 1, hits: 'x' }))).toEqual({ labels: [], served: 1 });
  });

  it('with Redis down: publish rejects at once, the reader neither throws nor stalls, and goes on once Redis is back', async () => {
    const prefix = `labels${prefixes++}`;
    const [s1, s2] = [await store(prefix), await store(prefix)];
    const [a, b] = [s1.labelChannel('a'), s2.labelChannel('b')];
    const cb = collector();
    const stop = b.follow(cb.apply);
    await a.publish({ labels: [label(1)], served: 0 });
    await vi.waitFor(() => expect(cb.labels()).toEqual(['s.e1']), { interval: 5, timeout: 5_000 });
    await redis.kill();
    await vi.waitFor(() => expect(s1.status).toBe('down'), { interval: 5, timeout: 5_000 });
    const t0 = performance.now();
    await expect(a.publish({ labels: [label(2)], served: 0 })).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(200);
    await redis.restart();
    await vi.waitFor(() => expect([s1.status, s2.status]).toEqual(['ready', 'ready']), { interval: 5, timeout: 10_000 });
    await a.publish({ labels: [label(3)], served: 0 });
    await vi.waitFor(() => expect(cb.labels()).toEqual(['s.e1', 's.e3']), { interval: 5, timeout: 5_000 });
    stop();
  });
});
