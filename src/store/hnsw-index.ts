/** @module store/hnsw-index: HNSW over usearch (native, Node only) for scopes too large to scan. */
import { createRequire } from 'node:module';
import type * as Usearch from 'usearch';
import type { VectorIndex } from './types.js';

// usearch's ESM build recurses forever looking for its native build dir (2.25); its CJS build loads fine.
const usearch = createRequire(import.meta.url)('usearch') as typeof Usearch;

export interface HnswOptions {
  /** graph degree M (2·M links per node on the base level) @default 96 */
  connectivity?: number;
  /** ef at build time @default 128 */
  expansionAdd?: number;
  /** ef at query time; higher = better recall, slower @default 128 */
  expansionSearch?: number;
}

/**
 * Why M=96, not usearch's 16: a large scope holds topics of thousands of similar questions, and within a topic a few
 * central vectors can be nearly every other vector's nearest neighbours (hubs; bench/scale's synthetic data has them
 * strongly, real embeddings less so). usearch keeps a node's link list diverse by pruning it
 * whenever it overflows, and a hub's list overflows again and again as its topic grows, dropping the links to the
 * outlying vectors of the topic. An outlier no list links to can never be found, whatever ef_search: with M=16, 12%
 * of the nodes of a 30k-vector scope in 30 topics had no incoming link, at 1M a fifth of the stored vectors were not
 * found even when searched with themselves, and near-duplicate recall@1 fell to 0.80. A longer list overflows less
 * often: M=96 kept near-duplicate recall@1 at 0.99 on the same kind of data at 160k (bench/hnsw-sweep.ts,
 * bench/results/scale.md), for 2·80·4 = 640 more bytes per entry than M=16.
 */
export const HNSW_DEFAULTS = { connectivity: 96, expansionAdd: 128, expansionSearch: 128 } as const;

export class HnswIndex implements VectorIndex {
  private readonly index: Usearch.Index;

  constructor(dim: number, opts: HnswOptions = {}) {
    this.index = new usearch.Index({
      dimensions: dim,
      metric: 'cos' as Usearch.MetricKind,
      quantization: 'f32' as Usearch.ScalarKind,
      connectivity: opts.connectivity ?? HNSW_DEFAULTS.connectivity,
      expansion_add: opts.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
      expansion_search: opts.expansionSearch ?? HNSW_DEFAULTS.expansionSearch,
      multi: false,
    });
  }

  get size(): number {
    return this.index.size();
  }

  add(key: number, vector: Float32Array): void {
    const k = BigInt(key);
    if (this.index.contains(k)) this.index.remove(k);
    this.index.add(k, vector, 1);
  }

  remove(key: number): void {
    this.index.remove(BigInt(key));
  }

  search(vector: Float32Array, k: number): Array<{ key: number; score: number }> {
    const m = this.index.search(vector, k, 1);
    const out: Array<{ key: number; score: number }> = [];
    for (let i = 0; i < m.keys.length; i++) out.push({ key: Number(m.keys[i]), score: 1 - m.distances[i]! });
    return out;
  }
}

/** Factory for the memory store. */
export const hnswFactory = (opts?: HnswOptions) => (dim: number) => new HnswIndex(dim, opts);
