/** @module store/hnsw-index: HNSW over usearch (native, Node only) for scopes too large to scan. */
import { createRequire } from 'node:module';
import type * as Usearch from 'usearch';
import type { VectorIndex } from './types.js';

// usearch's ESM build recurses forever looking for its native build dir (2.25); its CJS build loads fine.
const usearch = createRequire(import.meta.url)('usearch') as typeof Usearch;

export interface HnswOptions {
  /** graph degree M @default 16 */
  connectivity?: number;
  /** ef at build time @default 128 */
  expansionAdd?: number;
  /** ef at query time; higher = better recall, slower @default 128 */
  expansionSearch?: number;
}

export class HnswIndex implements VectorIndex {
  private readonly index: Usearch.Index;

  constructor(dim: number, opts: HnswOptions = {}) {
    this.index = new usearch.Index({
      dimensions: dim,
      metric: 'cos' as Usearch.MetricKind,
      quantization: 'f32' as Usearch.ScalarKind,
      connectivity: opts.connectivity ?? 16,
      expansion_add: opts.expansionAdd ?? 128,
      expansion_search: opts.expansionSearch ?? 128,
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
