/**
 * @module test/store/redis-quantization: a Redis store whose replicas mirror vectors in an int8 HNSW index, on a
 * real redis-server: candidates keep exact float cosine scores, on the writing replica and on one that loaded its
 * mirror from Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../src/observe/logger.js';
import { FlatIndex } from '../../src/store/flat-index.js';
import { hnswFactory } from '../../src/store/hnsw-index.js';
import { cosine } from '../../src/store/quantize.js';
import { RedisStore } from '../../src/store/redis.js';
import { entryId, type Entry } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { randomUnit, rng } from '../helpers/vectors.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function entry(i: number, vector: Float32Array): Entry {
  const textKey = `q${i}`;
  return {
    id: entryId('scope', textKey), scope: 'scope', textKey, text: textKey, vector, response: { answer: i },
    endpoint: 'chat', model: 'm', tenant: 't', namespace: 'n', createdAt: 0, expiresAt: 0,
  };
}

describe('RedisStore with an i8 mirror', () => {
  it('scores candidates with the exact cosine of their float vectors, and finds the nearest', async () => {
    const DIM = 64, N = 120;
    const prefix = `rq${process.pid}`;
    // hnswMin 20: the scope is on the i8 HNSW index well before it is full
    const opts = { url: redis.url, prefix, timeoutMs: 2_000, logger: silentLogger, hnswMin: 20, largeIndex: hnswFactory({ quantization: 'i8' }) };
    const writer = new RedisStore(opts);
    await writer.start();
    await writer.synced();
    const rand = rng(9);
    const reference = new FlatIndex(DIM);
    for (let i = 0; i < N; i++) {
      const v = randomUnit(DIM, rand);
      reference.add(i, v);
      await writer.put(entry(i, v), 3_600);
    }
    // a second replica loads its mirror from Redis (SCAN), not from this replica's writes
    const reader = new RedisStore(opts);
    await reader.start();
    await reader.synced();
    try {
      let agree = 0;
      const QUERIES = 60;
      for (let q = 0; q < QUERIES; q++) {
        const query = randomUnit(DIM, rand);
        const [exact] = reference.search(query, 1);
        for (const store of [writer, reader]) {
          const got = await store.search('scope', query, 4);
          expect(got).toHaveLength(4);
          for (const c of got) expect(Math.abs(c.score - cosine(query, c.entry.vector!))).toBeLessThan(1e-6);
          for (let j = 1; j < got.length; j++) expect(got[j - 1]!.score).toBeGreaterThanOrEqual(got[j]!.score);
          if (got[0]!.entry.textKey === `q${exact!.key}`) agree++;
        }
      }
      expect(agree / (2 * QUERIES)).toBeGreaterThanOrEqual(0.95);
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
