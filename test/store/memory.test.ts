/** @module test/store/memory: MemoryStore against the Store contract, plus LRU eviction and the HNSW switch. */
import { describe, expect, it } from 'vitest';

import { FlatIndex } from '../../src/store/flat-index.js';
import { hnswFactory as makeHnswFactory } from '../../src/store/hnsw-index.js';
import { cosine } from '../../src/store/quantize.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Entry, IndexFactory } from '../../src/store/types.js';
import { storeContract } from './contract.js';
import { randomUnit, rng } from '../helpers/vectors.js';

storeContract('MemoryStore', async (clock) => ({ store: new MemoryStore({ now: clock.now }) }));


function unit(values: number[]): Float32Array {
  const n = Math.hypot(...values);
  return Float32Array.from(values, (x) => x / n);
}

function entry(id: string, over: Partial<Entry> = {}): Entry {
  return {
    id,
    scope: 'scope',
    textKey: id,
    text: id,
    response: { answer: id },
    endpoint: 'chat',
    model: 'm',
    tenant: 't',
    namespace: 'n',
    createdAt: 0,
    expiresAt: 0,
    ...over,
  };
}

const T0 = Date.UTC(2030, 0, 1);

describe('MemoryStore: LRU eviction at maxEntries', () => {
  it('evicts the least recently used entry, counting getExact as a use', async () => {
    const store = new MemoryStore({ maxEntries: 3, now: () => T0 });
    for (const id of ['a', 'b', 'c']) await store.put(entry(id), 60);
    expect((await store.getExact('scope', 'a'))?.id).toBe('a'); // a is now the most recently used

    await store.put(entry('d'), 60);
    expect(store.size()).toBe(3);
    expect(await store.getExact('scope', 'b')).toBeUndefined();
    for (const id of ['a', 'c', 'd']) expect((await store.getExact('scope', id))?.id).toBe(id);

    // The reads above touched a, then c, then d: a is now the least recently used.
    await store.put(entry('e'), 60);
    expect(await store.getExact('scope', 'a')).toBeUndefined();
    for (const id of ['c', 'd', 'e']) expect((await store.getExact('scope', id))?.id).toBe(id);
    expect(await store.delete('b')).toBe(false);
  });

  it("removes an evicted entry's vector from its scope's index", async () => {
    const store = new MemoryStore({ maxEntries: 2, now: () => T0 });
    const q = unit([1, 0, 0, 0]);
    // The first four are nearest to q; only the last two (the farthest) survive eviction. If evicted vectors
    // stayed in the index, they would crowd the live ones out of a top-k search.
    const vectors = [unit([1, 0.01, 0, 0]), unit([1, 0.02, 0, 0]), unit([1, 0.03, 0, 0]), unit([1, 0.04, 0, 0]), unit([1, 1, 0, 0]), unit([0, 1, 0, 0])];
    for (let i = 0; i < vectors.length; i++) await store.put(entry(`v${i}`, { vector: vectors[i] }), 60);
    expect(store.size()).toBe(2);

    const top = await store.search('scope', q, 1);
    expect(top.map((c) => c.entry.id)).toEqual(['v4']);
    expect(top[0]!.score).toBeCloseTo(Math.SQRT1_2, 5);
    expect((await store.search('scope', vectors[0]!, 5)).map((c) => c.entry.id)).toEqual(['v4', 'v5']);
  });

  it('evicts by use through search as well', async () => {
    const store = new MemoryStore({ maxEntries: 2, now: () => T0 });
    await store.put(entry('x', { vector: unit([1, 0]) }), 60);
    await store.put(entry('y', { vector: unit([0, 1]) }), 60);
    expect((await store.search('scope', unit([1, 0]), 1)).map((c) => c.entry.id)).toEqual(['x']);
    await store.put(entry('z', { vector: unit([1, 1]) }), 60);
    expect(await store.getExact('scope', 'y')).toBeUndefined();
    expect((await store.getExact('scope', 'x'))?.id).toBe('x');
  });
});

describe('MemoryStore: injected clock', () => {
  it('expires an entry stored when the clock reads 0', async () => {
    let t = 0;
    const store = new MemoryStore({ now: () => t });
    await store.put(entry('zero'), 10);
    t = 10_001;
    expect(await store.getExact('scope', 'zero')).toBeUndefined();
    expect(store.size()).toBe(0);
  });
});

describe.each(['f32', 'i8'] as const)('MemoryStore: HNSW (%s) for large scopes', (quantization) => {
  const hnswFactory = () => makeHnswFactory({ quantization });
  const DIM = 32;
  const N = 200;
  const HNSW_MIN = 50;

  it('switches a scope to the large index beyond hnswMin and still finds the nearest entries', async () => {
    const rand = rng(42);
    const built: number[] = [];
    const make = hnswFactory();
    const largeIndex: IndexFactory = (dim) => {
      built.push(dim);
      return make(dim);
    };
    const store = new MemoryStore({ hnswMin: HNSW_MIN, largeIndex, now: () => T0 });
    const reference = new FlatIndex(DIM);
    const vectors: Float32Array[] = [];

    for (let i = 0; i < N; i++) {
      const v = randomUnit(DIM, rand);
      vectors.push(v);
      reference.add(i, v);
      await store.put(entry(`e${i}`, { vector: v }), 3_600);
      // A scope with vectors but under the limit stays on exact scan; one more switches it.
      if (i + 1 === HNSW_MIN) expect(built).toEqual([]);
      if (i + 1 === HNSW_MIN + 1) expect(built).toEqual([DIM]);
    }
    // Another scope is small, so it keeps its own exact index.
    await store.put(entry('other', { scope: 'other', vector: vectors[0] }), 3_600);
    expect(built).toEqual([DIM]);
    expect(store.size()).toBe(N + 1);

    // Every stored vector finds itself.
    let selfHits = 0;
    for (let i = 0; i < N; i++) {
      const [best] = await store.search('scope', vectors[i]!, 1);
      if (best?.entry.id === `e${i}`) selfHits++;
    }
    expect(selfHits / N).toBeGreaterThanOrEqual(0.98);

    // Random queries: the nearest matches an exact scan, with the same cosine.
    let agree = 0;
    const QUERIES = 200;
    for (let q = 0; q < QUERIES; q++) {
      const query = randomUnit(DIM, rand);
      const [exact] = reference.search(query, 1);
      const got = await store.search('scope', query, 3);
      expect(got.length).toBe(3);
      // The score is the exact cosine of the stored float vector, whatever the index holds (an i8 index's own
      // scores are off by up to about 0.02), best first.
      for (const c of got) expect(Math.abs(c.score - cosine(query, c.entry.vector!))).toBeLessThan(1e-6);
      for (let j = 1; j < got.length; j++) expect(got[j - 1]!.score).toBeGreaterThanOrEqual(got[j]!.score);
      if (got[0]!.entry.id === `e${exact!.key}`) {
        agree++;
        expect(got[0]!.score).toBeCloseTo(exact!.score, 4);
      }
    }
    expect(agree / QUERIES).toBeGreaterThanOrEqual(0.98);
  });

  it('deletes, replaces and purges entries held in the large index', async () => {
    const rand = rng(7);
    const store = new MemoryStore({ hnswMin: HNSW_MIN, largeIndex: hnswFactory(), now: () => T0 });
    const vectors: Float32Array[] = [];
    for (let i = 0; i < 120; i++) {
      vectors.push(randomUnit(DIM, rand));
      await store.put(entry(`e${i}`, { vector: vectors[i], tenant: i % 2 === 0 ? 'even' : 'odd' }), 3_600);
    }

    expect(await store.delete('e10')).toBe(true);
    expect((await store.search('scope', vectors[10]!, 5)).map((c) => c.entry.id)).not.toContain('e10');

    // Same textKey, new id and vector: only the new one is found.
    const moved = randomUnit(DIM, rand);
    await store.put(entry('e20-new', { textKey: 'e20', vector: moved, tenant: 'even' }), 3_600);
    expect((await store.search('scope', vectors[20]!, 5)).map((c) => c.entry.id)).not.toContain('e20');
    const [best] = await store.search('scope', moved, 1);
    expect(best?.entry.id).toBe('e20-new');
    expect(best!.score).toBeCloseTo(1, 4);

    expect(await store.purge({ tenant: 'odd' })).toBe(60);
    for (let i = 1; i < 120; i += 2) {
      const found = await store.search('scope', vectors[i]!, 3);
      for (const c of found) expect(c.entry.tenant).toBe('even');
    }
  });
});

describe('MemoryStore: bounded by bytes as well as entries', () => {
  const entryOf = (i: number, answerBytes: number) => ({
    id: `s.t${i}`,
    scope: 's',
    textKey: `t${i}`,
    text: `question ${i}`,
    response: { answer: 'z'.repeat(answerBytes) },
    endpoint: 'chat' as const,
    model: 'm',
    tenant: 'a',
    namespace: '',
    createdAt: 0,
    expiresAt: 1e15,
    bytes: answerBytes,
  });

  it('counts what its entries take, and evicts the least recently used past maxBytes', async () => {
    const store = new MemoryStore({ maxBytes: 100_000 });
    for (let i = 0; i < 5; i++) await store.put(entryOf(i, 10_000), 3600);
    expect(store.size()).toBe(5);
    expect(store.bytes()).toBeGreaterThan(50_000);
    await store.getExact('s', 't0'); // t0 is now the most recently used
    for (let i = 5; i < 10; i++) await store.put(entryOf(i, 10_000), 3600);
    expect(store.bytes()).toBeLessThanOrEqual(100_000);
    expect(await store.getExact('s', 't1')).toBeUndefined();
    expect(await store.getExact('s', 't0')).toBeDefined();
    expect(await store.getExact('s', 't9')).toBeDefined();
  });
});
