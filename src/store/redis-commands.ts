/** @module store/redis-commands: what the Redis store and its mirror both send: pipelines that fail as a whole, and SCAN over entry keys. */
import type { ChainableCommander } from 'ioredis';
import { entryKeyPattern } from './redis-codec.js';
import { scanTargets, type RedisClient } from './redis-connect.js';

/** Thrown while Redis is not connected: the caller fails open without waiting. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

const SCAN_BATCH = 500;

/** Run a pipeline and return its replies; the first failed command (a timeout, a lost connection) throws. */
export async function execOrThrow(pipe: ChainableCommander): Promise<unknown[]> {
  const results = await pipe.exec();
  if (!results) throw new StoreUnavailableError('pipeline was not executed');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * Every entry key under `prefix`, in SCAN batches: never KEYS, which would block Redis. On a cluster every master is
 * walked in turn (a SCAN sees one node's keys), so each batch holds keys of one master: a pipeline over it is one
 * node's work.
 */
export async function* scanEntryKeys(redis: RedisClient, prefix: string): AsyncGenerator<string[]> {
  for (const node of scanTargets(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', entryKeyPattern(prefix), 'COUNT', SCAN_BATCH);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
