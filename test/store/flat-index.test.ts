/** @module test/store/flat-index: the exact-scan index against a brute-force reference. */
import { describe, expect, it } from 'vitest';

import { FlatIndex } from '../../src/store/flat-index.js';
import { axis, dot, randomUnit, rng } from '../helpers/vectors.js';



/** The k best of `items` by dot product with `q`, computed the obvious way. */
function bruteForce(items: Map<number, Float32Array>, q: Float32Array, k: number) {
  return [...items]
    .map(([key, v]) => ({ key, score: dot(v, q) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

describe('FlatIndex', () => {
  it('returns the same top-k keys, order and scores as a brute-force scan', () => {
    const rand = rng(1);
    const dim = 24;
    const index = new FlatIndex(dim);
    const items = new Map<number, Float32Array>();
    for (let key = 0; key < 500; key++) {
      const v = randomUnit(dim, rand);
      items.set(key * 3 + 1, v); // keys that are not slot numbers
      index.add(key * 3 + 1, v);
    }
    expect(index.size).toBe(500);

    for (let q = 0; q < 30; q++) {
      const query = randomUnit(dim, rand);
      for (const k of [1, 5, 17]) {
        const got = index.search(query, k);
        const want = bruteForce(items, query, k);
        expect(got.map((h) => h.key)).toEqual(want.map((h) => h.key));
        got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 6));
      }
    }
  });

  it('returns every vector, best first, when k exceeds the size', () => {
    const index = new FlatIndex(3);
    index.add(10, Float32Array.from([0, 1, 0]));
    index.add(20, Float32Array.from([1, 0, 0]));
    index.add(30, Float32Array.from([-1, 0, 0]));
    expect(index.search(Float32Array.from([1, 0, 0]), 10)).toEqual([
      { key: 20, score: 1 },
      { key: 10, score: 0 },
      { key: 30, score: -1 },
    ]);
    expect(new FlatIndex(3).search(Float32Array.from([1, 0, 0]), 5)).toEqual([]);
  });

  it('keeps the other keys searchable after removing one from the middle (the last moves into its slot)', () => {
    const dim = 6;
    const index = new FlatIndex(dim);
    for (let i = 0; i < dim; i++) index.add(100 + i, axis(i, dim));

    index.remove(102); // middle: slot 2 now holds key 105's vector
    expect(index.size).toBe(5);
    for (const i of [0, 1, 3, 4, 5]) expect(index.search(axis(i, dim), 1)).toEqual([{ key: 100 + i, score: 1 }]);
    expect(index.search(axis(2, dim), 6).map((h) => h.key)).not.toContain(102);
    expect(index.search(axis(2, dim), 6).every((h) => h.score === 0)).toBe(true);

    index.remove(105); // the key that was moved: its new slot must be the one freed
    index.remove(100); // first slot
    expect(index.size).toBe(3);
    for (const i of [1, 3, 4]) expect(index.search(axis(i, dim), 1)).toEqual([{ key: 100 + i, score: 1 }]);
    expect(new Set(index.search(axis(0, dim), 10).map((h) => h.key))).toEqual(new Set([101, 103, 104]));
    expect(new Map([...index.entries()].map(([k, v]) => [k, Array.from(v)]))).toEqual(
      new Map([1, 3, 4].map((i) => [100 + i, Array.from(axis(i, dim))])),
    );

    index.remove(999); // unknown: a no-op
    expect(index.size).toBe(3);
  });

  it('matches brute force through a random mix of adds and removes', () => {
    const rand = rng(2);
    const dim = 8;
    const index = new FlatIndex(dim, 4);
    const items = new Map<number, Float32Array>();
    for (let step = 0; step < 2_000; step++) {
      const key = Math.floor(rand() * 100);
      if (rand() < 0.4) {
        index.remove(key);
        items.delete(key);
      } else {
        const v = randomUnit(dim, rand);
        index.add(key, v);
        items.set(key, v);
      }
      if (step % 50 === 0) {
        const q = randomUnit(dim, rand);
        expect(index.size).toBe(items.size);
        expect(index.search(q, 7).map((h) => h.key)).toEqual(bruteForce(items, q, 7).map((h) => h.key));
      }
    }
  });

  it('replaces the vector when a key is added again', () => {
    const index = new FlatIndex(4);
    index.add(1, axis(0, 4));
    index.add(2, axis(1, 4));
    index.add(1, axis(2, 4));
    expect(index.size).toBe(2);
    expect(index.search(axis(2, 4), 1)).toEqual([{ key: 1, score: 1 }]);
    expect(index.search(axis(0, 4), 2).map((h) => h.score)).toEqual([0, 0]);
    expect(index.search(axis(1, 4), 1)).toEqual([{ key: 2, score: 1 }]);
  });

  it('grows beyond its initial capacity', () => {
    const rand = rng(3);
    const dim = 5;
    const index = new FlatIndex(dim, 2);
    const items = new Map<number, Float32Array>();
    for (let key = 0; key < 37; key++) {
      const v = randomUnit(dim, rand);
      items.set(key, v);
      index.add(key, v);
    }
    expect(index.size).toBe(37);
    for (const [key, v] of items) {
      const [best] = index.search(v, 1);
      expect(best!.key).toBe(key);
      expect(best!.score).toBeCloseTo(1, 6);
    }
    expect(new Map([...index.entries()].map(([k, v]) => [k, Array.from(v)]))).toEqual(
      new Map([...items].map(([k, v]) => [k, Array.from(v)])),
    );
  });

  it('grows from an initial capacity of 0', () => {
    const index = new FlatIndex(3, 0);
    index.add(1, axis(0, 3));
    index.add(2, axis(1, 3));
    expect(index.size).toBe(2);
    expect(index.search(axis(1, 3), 1)).toEqual([{ key: 2, score: 1 }]);
  });

  it('throws when a vector has the wrong dimension', () => {
    const index = new FlatIndex(4);
    expect(() => index.add(1, new Float32Array(3))).toThrow(/dimension/);
    expect(() => index.add(1, new Float32Array(5))).toThrow(/dimension/);
    expect(index.size).toBe(0);
    index.add(1, axis(0, 4));
    expect(() => index.add(1, new Float32Array(8))).toThrow(/dimension/);
    // A failed re-add leaves the old vector in place.
    expect(index.search(axis(0, 4), 1)).toEqual([{ key: 1, score: 1 }]);
  });

  it('throws when a query has the wrong dimension, instead of scoring NaN', () => {
    const index = new FlatIndex(4);
    index.add(1, axis(0, 4));
    expect(() => index.search(new Float32Array([1, 0, 0]), 1)).toThrow();
  });
});
