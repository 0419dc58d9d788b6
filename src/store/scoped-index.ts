/**
 * @module store/scoped-index: one vector index per scope, addressed by entry id. Searches never cross scopes.
 * Shared by the memory store and by the Redis store's local mirror.
 */
import { AdaptiveIndex } from './adaptive-index.js';
import type { IndexFactory, VectorIndex } from './types.js';

export interface ScopedIndexOptions {
  /** vectors in a scope before it switches to `largeIndex` @default 256 */
  hnswMin?: number;
  /** approximate index for large scopes; without one, scopes stay on exact scan */
  largeIndex?: IndexFactory;
}

export class ScopedIndex {
  private readonly indexes = new Map<string, VectorIndex>();
  /** entry id → where its vector lives */
  private readonly byId = new Map<string, { scope: string; key: number }>();
  /** int key (what the vector indexes hold) → entry id */
  private readonly ids = new Map<number, string>();
  private nextKey = 1;

  constructor(private readonly opts: ScopedIndexOptions = {}) {}

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Add or replace the vector of `id`. */
  add(id: string, scope: string, vector: Float32Array): void {
    this.remove(id);
    let index = this.indexes.get(scope);
    if (!index) {
      index = new AdaptiveIndex(vector.length, this.opts.hnswMin ?? 256, this.opts.largeIndex);
      this.indexes.set(scope, index);
    }
    const key = this.nextKey++;
    index.add(key, vector);
    this.byId.set(id, { scope, key });
    this.ids.set(key, id);
  }

  remove(id: string): void {
    const at = this.byId.get(id);
    if (!at) return;
    this.byId.delete(id);
    this.ids.delete(at.key);
    const index = this.indexes.get(at.scope);
    if (!index) return;
    index.remove(at.key);
    if (index.size === 0) this.indexes.delete(at.scope);
  }

  clear(): void {
    this.indexes.clear();
    this.byId.clear();
    this.ids.clear();
  }

  /**
   * The k nearest ids of `scope` that `accept` takes, best first. `accept` returns undefined for ids that are no
   * longer live (expired, deleted); the search widens until k are found or the scope runs out.
   */
  search<T>(scope: string, vector: Float32Array, k: number, accept: (id: string) => T | undefined): Array<{ value: T; score: number }> {
    const index = this.indexes.get(scope);
    if (!index || k <= 0) return [];
    for (let want = k + 2; ; want *= 2) {
      const hits = index.search(vector, want);
      const out: Array<{ value: T; score: number }> = [];
      for (const hit of hits) {
        const id = this.ids.get(hit.key);
        const value = id === undefined ? undefined : accept(id);
        if (value !== undefined) out.push({ value, score: hit.score });
        if (out.length === k) return out;
      }
      if (hits.length < want) return out;
    }
  }
}
