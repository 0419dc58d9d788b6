/**
 * @module store/adaptive-index: exact scan while a scope is small, an approximate index (HNSW) once it grows.
 * Small scopes are the common case (one system prompt, one model); they keep exact recall at no build cost.
 */
import { FlatIndex } from './flat-index.js';
import type { IndexFactory, VectorIndex } from './types.js';

export class AdaptiveIndex implements VectorIndex {
  private flat: FlatIndex | undefined;
  private index: VectorIndex;

  constructor(
    private readonly dim: number,
    /** switch to `large` when the scope holds more than this many vectors */
    private readonly threshold: number,
    private readonly large?: IndexFactory,
  ) {
    this.flat = new FlatIndex(dim);
    this.index = this.flat;
  }

  get size(): number {
    return this.index.size;
  }

  add(key: number, vector: Float32Array): void {
    this.index.add(key, vector);
    if (this.flat && this.large && this.flat.size > this.threshold) {
      const next = this.large(this.dim);
      for (const [k, v] of this.flat.entries()) next.add(k, v);
      this.index = next;
      this.flat = undefined;
    }
  }

  remove(key: number): void {
    this.index.remove(key);
  }

  search(vector: Float32Array, k: number) {
    return this.index.search(vector, k);
  }
}
