/**
 * @module bench/lib/recall-queries: what a Redis vector-search bench measures against: paraphrases of stored vectors
 * with their exact nearest (brute force), and a PING round trip to the same Redis as the baseline of its latencies.
 */
import type { Redis } from 'ioredis';
import { dot, randomUnit, rng, toward } from '../../test/helpers/vectors.js';
import { percentile } from './stats.js';

/** `count` paraphrases (cosine 0.9) of random stored vectors, and the index of each one's exact nearest. */
export function paraphraseQueries(vectors: Float32Array[], count: number, seed = 7): { queries: Float32Array[]; nearest: number[] } {
  const rand = rng(seed);
  const queries = Array.from({ length: count }, () => {
    const base = vectors[Math.floor(rand() * vectors.length)]!;
    return toward(base, 0.9, randomUnit(base.length, rand));
  });
  const nearest = queries.map((q) => {
    let best = -Infinity;
    let at = -1;
    for (let i = 0; i < vectors.length; i++) {
      const s = dot(q, vectors[i]!);
      if (s > best) [best, at] = [s, i];
    }
    return at;
  });
  return { queries, nearest };
}

/** p50 and p99 of 2,000 PING round trips: the baseline, measured in the same run. */
export async function pingMs(redis: Redis): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const t = performance.now();
    await redis.ping();
    times.push(performance.now() - t);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}
