/**
 * @module store/memory: the embedded default. Entries live in an lru-cache (size cap, LRU eviction, per-entry TTL);
 * each scope has its own vector index, so a search never sees another scope's vectors.
 */
import { LRUCache } from 'lru-cache';
import { AdaptiveIndex } from './adaptive-index.js';
import type { Candidate, Entry, IndexFactory, PurgeFilter, Store, VectorIndex } from './types.js';

export interface MemoryStoreOptions {
  /** entries kept before the least recently used is evicted @default 100000 */
  maxEntries?: number;
  /** vectors in a scope before its index switches to `largeIndex` @default 2048 */
  hnswMin?: number;
  /** approximate index for large scopes; without one, scopes stay on exact scan */
  largeIndex?: IndexFactory;
  /** clock in ms, injectable for tests @default Date.now */
  now?: () => number;
}

interface Slot {
  entry: Entry;
  key: number;
}

export class MemoryStore implements Store {
  private readonly slots: LRUCache<string, Slot>;
  private readonly exact = new Map<string, string>();
  private readonly indexes = new Map<string, VectorIndex>();
  /** int key (what the vector index holds) → entry id */
  private readonly keyIds = new Map<number, string>();
  private nextKey = 1;
  private putsSinceSweep = 0;

  constructor(private readonly opts: MemoryStoreOptions = {}) {
    const now = opts.now ?? Date.now;
    this.slots = new LRUCache<string, Slot>({
      max: opts.maxEntries ?? 100_000,
      // TTL counts from the time of storing: a hit does not extend it.
      ttl: 1,
      updateAgeOnGet: false,
      perf: { now },
      dispose: (slot, id) => this.unlink(slot, id),
    });
  }

  size(): number {
    return this.slots.size;
  }

  async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    const id = this.exact.get(`${scope}:${textKey}`);
    return id === undefined ? undefined : this.slots.get(id)?.entry;
  }

  async search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]> {
    const index = this.indexes.get(scope);
    if (!index) return [];
    const out: Candidate[] = [];
    // Ask for a few extra in case some of the nearest have expired since.
    for (const hit of index.search(vector, k + 2)) {
      const id = this.keyIds.get(hit.key);
      const slot = id === undefined ? undefined : this.slots.get(id);
      if (slot) out.push({ entry: slot.entry, score: hit.score });
      if (out.length === k) break;
    }
    return out;
  }

  async put(entry: Entry, ttlSeconds: number): Promise<void> {
    // Expired entries are dropped lazily on access; an occasional sweep frees those never touched again.
    if (++this.putsSinceSweep >= 1024) {
      this.putsSinceSweep = 0;
      this.slots.purgeStale();
    }
    const exactKey = `${entry.scope}:${entry.textKey}`;
    const previous = this.exact.get(exactKey);
    if (previous !== undefined) this.slots.delete(previous);
    const slot: Slot = { entry, key: this.nextKey++ };
    this.keyIds.set(slot.key, entry.id);
    this.slots.set(entry.id, slot, { ttl: ttlSeconds * 1000 });
    this.exact.set(exactKey, entry.id);
    if (entry.vector) {
      let index = this.indexes.get(entry.scope);
      if (!index) {
        index = new AdaptiveIndex(entry.vector.length, this.opts.hnswMin ?? 2048, this.opts.largeIndex);
        this.indexes.set(entry.scope, index);
      }
      index.add(slot.key, entry.vector);
    }
  }

  async delete(id: string): Promise<boolean> {
    return this.slots.delete(id);
  }

  async purge(filter: PurgeFilter): Promise<number> {
    const doomed: string[] = [];
    for (const [id, { entry }] of this.slots.entries()) {
      if (
        (filter.tenant === undefined || entry.tenant === filter.tenant) &&
        (filter.namespace === undefined || entry.namespace === filter.namespace) &&
        (filter.model === undefined || entry.model === filter.model)
      ) {
        doomed.push(id);
      }
    }
    for (const id of doomed) this.slots.delete(id);
    return doomed.length;
  }

  private unlink(slot: Slot, id: string): void {
    const exactKey = `${slot.entry.scope}:${slot.entry.textKey}`;
    if (this.exact.get(exactKey) === id) this.exact.delete(exactKey);
    this.keyIds.delete(slot.key);
    const index = this.indexes.get(slot.entry.scope);
    if (index) {
      index.remove(slot.key);
      if (index.size === 0) this.indexes.delete(slot.entry.scope);
    }
  }
}
