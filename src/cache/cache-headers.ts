/**
 * @module cache/cache-headers: the X-Cache-* headers every response carries (DESIGN: cache-key contract 6), in one
 * place for hits, misses, bypasses and faults alike.
 */
import type { HeaderList } from '../http/types.js';
import type { CacheStatus } from '../observe/metrics.js';
import type { Entry } from '../store/types.js';

export type { CacheStatus };

/** What the cache did with a request, as the client is told. */
export interface CacheInfo {
  status: CacheStatus;
  /** why it was not a plain lookup: no-store, no-cache, disabled, coalesced, embed, ... */
  reason?: string;
}

/** A hit: how it matched, how close it was, which entry, and its age. */
export interface HitInfo {
  entry: Entry;
  match: 'exact' | 'semantic';
  /** cosine similarity, 1 for exact */
  score: number;
  /** ms since epoch, for Age */
  now: number;
}

/**
 * `headers` with X-Cache-Status and X-Cache-Reason set to `info`. Any x-cache-* header already there (an upstream
 * that is itself a cache) is dropped: what the client reads is what this Reprise did.
 */
export function withCacheInfo(headers: HeaderList, info: CacheInfo): HeaderList {
  const out = headers.filter(([name]) => !name.startsWith('x-cache-'));
  out.push(['x-cache-status', info.status]);
  if (info.reason) out.push(['x-cache-reason', info.reason]);
  return out;
}

/** The cache headers of a hit. */
export function hitCacheHeaders(hit: HitInfo): HeaderList {
  return [
    ['x-cache-status', 'HIT'],
    ['x-cache-match', hit.match],
    ['x-cache-similarity', hit.score.toFixed(4)],
    ['x-cache-id', hit.entry.id],
    ['age', String(Math.max(0, Math.floor((hit.now - hit.entry.createdAt) / 1000)))],
  ];
}
