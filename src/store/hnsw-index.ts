/** @module store/hnsw-index: HNSW over usearch (native, Node only) for scopes too large to scan. */
import { createRequire } from 'node:module';
import type * as Usearch from 'usearch';
import type { Quantization } from './quantize.js';
import type { VectorIndex } from './types.js';

// usearch's ESM build recurses forever looking for its native build dir (2.25); its CJS build loads fine.
const usearch = createRequire(import.meta.url)('usearch') as typeof Usearch;

export interface HnswOptions {
  /** graph degree M (2·M links per node on the base level) @default 96 */
  connectivity?: number;
  /** ef at build time @default 128 */
  expansionAdd?: number;
  /** ef at query time, fixed; higher = better recall, slower @default expansionSearchFor(size), which grows with the index */
  expansionSearch?: number;
  /**
   * how vectors are stored: f32, or i8 (a quarter of the bytes per vector). An i8 index's scores are approximate:
   * usearch scales each vector to norm 127 and truncates, so a 384-d unit vector keeps about ±27 levels per
   * coordinate, and bench/index-quantization.ts measured scores off by up to 0.02. The stores re-score its
   * candidates with their float vectors (quantize.ts rescore()) @default 'f32'
   */
  quantization?: Quantization;
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
 *
 * The price of long lists is paid per search step, so ef_search grows with the index instead of being fixed: see
 * expansionSearchFor().
 */
export const HNSW_DEFAULTS = { connectivity: 96, expansionAdd: 128 } as const;

/**
 * ef_search for an index of `size` vectors: 32 up to 100k, then 64 more per tenfold (96 at 1M), at most 256. With
 * M=96, bench/scale.ts measured recall@1 1.0 (near-duplicates) and 0.998 (novel) at 10k and 100k with ef 32, p99 1.4
 * and 2.1 ms, where a fixed ef 96 cost p99 5.0 and 5.7 ms: on a small index a wide search crosses into other topics,
 * each step over up to 192 links. At 1M, ef 96 gave 0.986 and 0.988 with p99 3.7–4.6 ms; ef 64 0.982 and 0.984;
 * ef 128 0.990 and 0.992 but p99 4.9–6.2 ms, over the 5 ms target on this busy 2-core machine.
 */
export function expansionSearchFor(size: number): number {
  if (size <= 100_000) return 32;
  return Math.min(256, Math.round(32 + 64 * Math.log10(size / 100_000)));
}

export class HnswIndex implements VectorIndex {
  private readonly index: Usearch.Index;
  private readonly fixedEf: number | undefined;
  readonly quantization: Quantization;

  constructor(
    private readonly dim: number,
    opts: HnswOptions = {},
  ) {
    this.fixedEf = opts.expansionSearch;
    this.quantization = opts.quantization ?? 'f32';
    this.index = new usearch.Index({
      dimensions: dim,
      metric: 'cos' as Usearch.MetricKind,
      quantization: this.quantization as Usearch.ScalarKind,
      connectivity: opts.connectivity ?? HNSW_DEFAULTS.connectivity,
      expansion_add: opts.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
      // The floor: usearch searches with max(expansion_search, k), and search() asks for max(k, ef) results.
      expansion_search: opts.expansionSearch ?? 16,
      multi: false,
    });
  }

  /** the ef_search a search uses now */
  get expansionSearch(): number {
    return this.fixedEf ?? expansionSearchFor(this.size);
  }

  get size(): number {
    return this.index.size();
  }

  add(key: number, vector: Float32Array): void {
    const v = this.stored(vector, 'vector');
    const k = BigInt(key);
    if (this.index.contains(k)) this.index.remove(k);
    this.index.add(k, v, 1);
  }

  remove(key: number): void {
    this.index.remove(BigInt(key));
  }

  search(vector: Float32Array, k: number): Array<{ key: number; score: number }> {
    // usearch fixes expansion_search when the index is made, but searches with max(expansion_search, wanted):
    // asking for ef results and keeping the best k is a search with that ef.
    const m = this.index.search(this.stored(vector, 'query'), Math.max(k, this.expansionSearch), 1);
    const n = Math.min(k, m.keys.length);
    const out: Array<{ key: number; score: number }> = [];
    for (let i = 0; i < n; i++) out.push({ key: Number(m.keys[i]), score: 1 - m.distances[i]! });
    return out;
  }

  /**
   * The vector, checked. An i8 index is given floats too: usearch (2.25) casts every input to int8 itself, an
   * Int8Array as well (scaled to norm 127, truncated), so quantising here first would only round twice.
   */
  private stored(vector: Float32Array, what: string): Float32Array {
    if (vector.length !== this.dim) throw new Error(`${what} has ${vector.length} dimensions, index has ${this.dim}`);
    return vector;
  }
}

/** Factory for the memory store. */
export const hnswFactory = (opts?: HnswOptions) => (dim: number) => new HnswIndex(dim, opts);
