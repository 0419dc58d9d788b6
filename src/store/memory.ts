/**
 * @module store/memory: the embedded default. Entries live in an lru-cache (size cap, LRU eviction, per-entry TTL);
 * each scope has its own vector index, so a search never sees another scope's vectors.
 */
import { LRUCache } from 'lru-cache';
import { rescore } from './quantize.js';
import { ScopedIndex } from './scoped-index.js';
import { matchesPurge, type Candidate, type Entry, type IndexFactory, type PurgeFilter, type Store } from './types.js';

export interface MemoryStoreOptions {
  /** entries kept before the least recently used is evicted @default 100000 */
  maxEntries?: number;
  /** about how many bytes the entries may take (answers, texts, vectors, index), before the least recently used go @default 1 GiB */
  maxBytes?: number;
  /** vectors in a scope before its index switches to `largeIndex` @default 256 */
  hnswMin?: number;
  /** approximate index for large scopes; without one, scopes stay on exact scan */
  largeIndex?: IndexFactory;
  /** clock in ms, injectable for tests @default Date.now */
  now?: () => number;
}

/**
 * About what an entry costs in memory: its answer as received, its text (two bytes a character), and its vector
 * with its share of the index (a 384-d vector in the HNSW graph measured 2.4 KB in bench/scale).
 */
export function entryBytes(e: Entry): number {
  const vector = e.vector ? e.vector.byteLength + 1024 : 0;
  return (e.bytes ?? 2 * JSON.stringify(e.response).length) + 2 * e.text.length + vector + 256;
}

interface Slot {
  entry: Entry;
  /** ms on the store's clock when the entry expires: put time + ttlSeconds */
  deadline: number;
}

export class MemoryStore implements Store {
  private readonly slots: LRUCache<string, Slot>;
  private readonly exact = new Map<string, string>();
  private readonly vectors: ScopedIndex;
  private putsSinceSweep = 0;
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.vectors = new ScopedIndex({ ...(opts.hnswMin !== undefined && { hnswMin: opts.hnswMin }), ...(opts.largeIndex && { largeIndex: opts.largeIndex }) });
    // lru-cache does the size cap and LRU order. Expiry is checked here against each slot's deadline instead of with
    // lru-cache's TTL, whose clock caching (ttlResolution) and zero-start quirks do not fit an injected clock.
    this.slots = new LRUCache<string, Slot>({
      max: opts.maxEntries ?? 100_000,
      maxSize: opts.maxBytes ?? 1024 ** 3,
      sizeCalculation: (slot) => entryBytes(slot.entry),
      dispose: (slot, id) => this.unlink(slot, id),
    });
  }

  size(): number {
    return this.slots.size;
  }

  /** About how many bytes the entries take. */
  bytes(): number {
    return this.slots.calculatedSize;
  }

  async getExact(scope: string, textKey: string): Promise<Entry | undefined> {
    return this.live(this.exact.get(`${scope}:${textKey}`))?.entry;
  }

  async search(scope: string, vector: Float32Array, k: number): Promise<Candidate[]> {
    // The index proposes; the score the thresholds see is the exact cosine of the stored float vector.
    return rescore(vector, this.vectors.search(scope, vector, k, (id) => this.live(id)?.entry).map((h) => ({ entry: h.value, score: h.score })));
  }

  async put(entry: Entry, ttlSeconds: number): Promise<void> {
    // Expired entries are dropped lazily on access; an occasional sweep frees those never touched again.
    if (++this.putsSinceSweep >= 1024) {
      this.putsSinceSweep = 0;
      this.sweep();
    }
    const exactKey = `${entry.scope}:${entry.textKey}`;
    const previous = this.exact.get(exactKey);
    if (previous !== undefined) this.slots.delete(previous);
    this.slots.set(entry.id, { entry, deadline: this.now() + ttlSeconds * 1000 });
    this.exact.set(exactKey, entry.id);
    if (entry.vector) this.vectors.add(entry.id, entry.scope, entry.vector);
  }

  async putOver(entry: Entry, ttlSeconds: number, createdAt: number): Promise<boolean> {
    // No await between the check and the put: nothing else runs in between.
    const current = this.live(this.exact.get(`${entry.scope}:${entry.textKey}`))?.entry;
    if (current?.createdAt !== createdAt) return false;
    await this.put(entry, ttlSeconds);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    return this.slots.delete(id);
  }

  async purge(filter: PurgeFilter): Promise<number> {
    const doomed: string[] = [];
    for (const [id, { entry }] of this.slots.entries()) {
      if (matchesPurge(filter, entry)) doomed.push(id);
    }
    for (const id of doomed) this.slots.delete(id);
    return doomed.length;
  }

  /** The slot if present and not expired; an expired one is deleted on sight. Reading it marks it recently used. */
  private live(id: string | undefined): Slot | undefined {
    if (id === undefined) return undefined;
    const slot = this.slots.get(id);
    if (slot && slot.deadline <= this.now()) {
      this.slots.delete(id);
      return undefined;
    }
    return slot;
  }

  private sweep(): void {
    const now = this.now();
    const expired: string[] = [];
    for (const [id, slot] of this.slots.entries()) if (slot.deadline <= now) expired.push(id);
    for (const id of expired) this.slots.delete(id);
  }

  private unlink(slot: Slot, id: string): void {
    const exactKey = `${slot.entry.scope}:${slot.entry.textKey}`;
    if (this.exact.get(exactKey) === id) this.exact.delete(exactKey);
    this.vectors.remove(id);
  }
}
