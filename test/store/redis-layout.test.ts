/**
 * @module test/store/redis-layout: replicas sharing a cache note their layout in Redis and warn of one that does not
 * work with theirs (store/redis-layout), on a real redis-server: which pairs conflict, staleness, and a RedisStore
 * logging the conflict at connect.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Logger } from '../../src/observe/logger.js';
import { checkLayout, conflict, LAYOUT_STALE_MS } from '../../src/store/redis-layout.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { redisStores } from '../helpers/redis-stores.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const stores = redisStores('rl', () => ({ url: redis.url }));

describe('which layouts work together', () => {
  it('shards must match; a server-side search replica cannot use what a mirror replica stores, the reverse is fine', () => {
    expect(conflict({ shards: 16, search: 'mirror' }, { shards: 16, search: 'mirror' })).toBeUndefined();
    expect(conflict({ shards: 16, search: 'mirror' }, { shards: 8, search: 'mirror' })).toContain('--redis-shards 8');
    expect(conflict({ shards: 1, search: 'server' }, { shards: 1, search: 'mirror' })).toContain('--redis-search mirror');
    expect(conflict({ shards: 1, search: 'mirror' }, { shards: 1, search: 'server' })).toBeUndefined();
  });
});

describe('checkLayout on Redis', () => {
  it('reports a conflicting layout noted recently, not one noted over ten minutes ago, which it forgets', async () => {
    const prefix = stores.newPrefix();
    const c = redis.client();
    try {
      const t = 1_800_000_000_000;
      expect(await checkLayout(c, prefix, { shards: 16, search: 'mirror' }, t)).toEqual([]);
      expect(await checkLayout(c, prefix, { shards: 16, search: 'mirror' }, t + 1)).toEqual([]);
      const [why] = await checkLayout(c, prefix, { shards: 8, search: 'mirror' }, t + 2);
      expect(why).toContain('--redis-shards 16');
      expect(Object.keys(await c.hgetall(`${prefix}:layouts`)).sort()).toEqual(['shards=16 search=mirror', 'shards=8 search=mirror']);
      // The 16-shard replica is gone (noted no more): once stale it is neither reported nor kept.
      expect(await checkLayout(c, prefix, { shards: 8, search: 'mirror' }, t + 1 + LAYOUT_STALE_MS + 1)).toEqual([]);
      expect(Object.keys(await c.hgetall(`${prefix}:layouts`))).toEqual(['shards=8 search=mirror']);
    } finally {
      c.disconnect();
    }
  });

  it('a RedisStore logs the conflict as an error when it connects', async () => {
    const prefix = stores.newPrefix();
    const c = redis.client();
    try {
      // A mirror replica of this cache was seen just now, as a server-side search replica starts.
      await c.hset(`${prefix}:layouts`, 'shards=1 search=mirror', String(Date.now()));
      const errors: string[] = [];
      const logger: Logger = { debug() {}, info() {}, warn() {}, error: (_o, msg) => errors.push(String(msg)) };
      // Redis 7 has no vector sets, but the layout check runs at connect whatever the search does afterwards.
      await stores.start({ prefix, search: 'server', sweepMs: 0, logger });
      await vi.waitFor(() => expect(errors.some((m) => m.includes('--redis-search mirror'))).toBe(true), { interval: 20, timeout: 5_000 });
    } finally {
      c.disconnect();
    }
  });
});
