/**
 * Where bench/scale.ts caches its HNSW graphs and exact ground truth (bench/.cache/scale/), shared with bench/run.ts,
 * which needs to know before starting scale whether the 100k graph must be built (a cold run) or only loaded.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { HNSW_DEFAULTS } from '../../src/store/hnsw-index.js';

export const CACHE = 'bench/.cache/scale';
/** version of the synthetic data generator (bench/lib/synthetic.ts): bump when its output changes */
export const GEN = 'scale-gen-v1';
export const SEED = 1000;
export const QUERIES = 1000;
export const M = HNSW_DEFAULTS.connectivity;
export const EF_ADD = HNSW_DEFAULTS.expansionAdd;
/**
 * Bulk inserts per second (usearch, 2 threads) at M and EF_ADD on this 2-core machine under nice with other jobs
 * running: 293/s for 100k in a cold `npm run bench`, 330/s for 1M, 457/s for 160k on a quieter machine.
 */
export const BUILD_PER_S = 300;
/** exact ground truth: stored vectors scanned per second for QUERIES queries (usearch exactSearch, 2 threads) */
export const TRUTH_PER_S = 3000;

const sha = (x: unknown) => createHash('sha1').update(JSON.stringify(x)).digest('hex').slice(0, 12);

/** Cache key of a synthetic workload: what its data is made from, so a cached graph is found before generating. */
export const syntheticKey = (n: number, dim: number, seed = SEED, tag = GEN) => sha([tag, n, dim, seed, QUERIES]);

export const cachePaths = (dim: number, n: number, key: string) => {
  const base = `${CACHE}/${dim}-${n}-${key}`;
  return { index: `${base}-M${M}-efc${EF_ADD}.usearch`, meta: `${base}-M${M}-efc${EF_ADD}.usearch.json`, truth: `${base}-truth.json` };
};

/** A cached graph for these paths; `dataHash` (stored with it when built) guards against a changed generator. */
export function isCachedGraph(p: { index: string; meta: string }, dataHash?: string): boolean {
  if (!existsSync(p.index) || !existsSync(p.meta)) return false;
  const meta = JSON.parse(readFileSync(p.meta, 'utf8')) as { dataHash?: string };
  return dataHash === undefined || meta.dataHash === undefined || meta.dataHash === dataHash;
}

/** Seconds to build (and find the exact truth for) an n-entry graph here, less what a saved partial build has done. */
export function buildSeconds(n: number, dim = 384): number {
  const p = cachePaths(dim, n, syntheticKey(n, dim));
  const partial = `${p.index}.partial.json`;
  const done = existsSync(partial) ? (JSON.parse(readFileSync(partial, 'utf8')) as { done: number }).done : 0;
  return (n - done) / BUILD_PER_S + (existsSync(p.truth) ? 0 : n / TRUTH_PER_S);
}

/** What a default bench/scale run (384-d, 10k and 100k, 1M if cached) needs here, from the cache's state. */
export function scaleCacheState(dim = 384) {
  const cached100k = isCachedGraph(cachePaths(dim, 100_000, syntheticKey(100_000, dim)));
  const cached1M = isCachedGraph(cachePaths(dim, 1_000_000, syntheticKey(1_000_000, dim)));
  // 10k is always built live (~25 s); 100k loads in ~30 s when cached; 1M, when cached, ~100 s (generate, scan, load).
  const reserveSeconds = 25 + (cached100k ? 30 : 40 + buildSeconds(100_000, dim)) + (cached1M ? 100 : 0);
  return { cached100k, cached1M, reserveSeconds: Math.round(reserveSeconds) };
}
