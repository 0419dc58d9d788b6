/**
 * @module test/store/hnsw-index: the usearch HNSW index: behaviour, cosine scores, and recall against exact scan,
 * for float32 and for int8 vectors alike.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { normalise } from '../../src/embed/types.js';
import { FlatIndex } from '../../src/store/flat-index.js';
import { expansionSearchFor, HnswIndex, hnswFactory, type HnswOptions } from '../../src/store/hnsw-index.js';
import { cosine, type Quantization } from '../../src/store/quantize.js';
import { axis, dot, randomUnit, rng } from '../helpers/vectors.js';

/**
 * What each kind of index must meet. i8 scores are approximate (usearch scales a vector to norm 127 and truncates):
 * they must stay within `scoreTolerance` of the exact cosine, and the nearest neighbour is what the stores see, the
 * best of the first `candidates` hits re-scored with the float vectors (src/cache/lookup.ts asks for 4).
 */
const KINDS: Array<{ quantization: Quantization; scoreTolerance: number; candidates: number }> = [
  { quantization: 'f32', scoreTolerance: 1e-4, candidates: 1 },
  { quantization: 'i8', scoreTolerance: 0.03, candidates: 4 },
];

describe.each(KINDS)('HnswIndex ($quantization)', ({ quantization, scoreTolerance, candidates }) => {
  const make = (dim: number, opts: HnswOptions = {}) => new HnswIndex(dim, { ...opts, quantization });
  /** the key the store would rank first: the best of the first `candidates` hits by exact cosine */
  const nearest = (index: { search(v: Float32Array, k: number): Array<{ key: number }> }, query: Float32Array, vectorOf: (key: number) => Float32Array) =>
    index
      .search(query, candidates)
      .map((h) => ({ key: h.key, score: cosine(query, vectorOf(h.key)) }))
      .sort((a, b) => b.score - a.score)[0]?.key;

  it('stores vectors as configured', () => {
    expect(make(8).quantization).toBe(quantization);
    expect(hnswFactory({ quantization })(8)).toMatchObject({ quantization });
  });

  it('adds, searches and removes', () => {
    const index = make(4);
    expect(index.size).toBe(0);
    expect(index.search(axis(0, 4), 3)).toEqual([]);

    index.add(7, axis(0, 4));
    index.add(8, axis(1, 4));
    index.add(9, axis(2, 4));
    expect(index.size).toBe(3);
    const [best] = index.search(axis(1, 4), 1);
    expect(best!.key).toBe(8);
    expect(best!.score).toBeCloseTo(1, 5);
    // k larger than the size returns only real keys
    expect(index.search(axis(0, 4), 10).map((h) => h.key).sort()).toEqual([7, 8, 9]);

    index.remove(8);
    expect(index.size).toBe(2);
    expect(index.search(axis(1, 4), 10).map((h) => h.key).sort()).toEqual([7, 9]);
    index.remove(7);
    index.remove(9);
    expect(index.size).toBe(0);
    expect(index.search(axis(0, 4), 3)).toEqual([]);

    // a key removed earlier can be added again
    index.add(8, axis(3, 4));
    expect(index.search(axis(3, 4), 1).map((h) => h.key)).toEqual([8]);
  });

  it('scores with cosine similarity: the dot product of unit vectors', () => {
    const rand = rng(11);
    const dim = 16;
    const index = make(dim);
    const vectors = new Map<number, Float32Array>();
    for (let key = 1; key <= 50; key++) {
      const v = randomUnit(dim, rand);
      vectors.set(key, v);
      index.add(key, v);
    }
    for (let q = 0; q < 20; q++) {
      const query = randomUnit(dim, rand);
      const hits = index.search(query, 10);
      expect(hits).toHaveLength(10);
      for (let i = 0; i < hits.length; i++) {
        expect(Math.abs(hits[i]!.score - dot(query, vectors.get(hits[i]!.key)!))).toBeLessThan(scoreTolerance);
        if (i > 0) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
      }
    }
    // opposite and orthogonal directions: -1 and 0
    const opposite = make(2);
    opposite.add(1, Float32Array.from([1, 0]));
    opposite.add(2, Float32Array.from([0, 1]));
    const hits = opposite.search(Float32Array.from([-1, 0]), 2);
    expect(hits.map((h) => h.key)).toEqual([2, 1]);
    expect(hits[0]!.score).toBeCloseTo(0, 4);
    expect(hits[1]!.score).toBeCloseTo(-1, 4);
  });

  describe('on 2,000 random 64-d vectors', () => {
    // Uniform random vectors are the hard case for HNSW (near-ties everywhere), and recall varies from one graph to
    // the next, so it is measured over three independently built indexes with default options.
    const DIM = 64;
    const QUERIES = 300;
    const sets: Array<{ rand: () => number; stored: Float32Array[]; hnsw: ReturnType<ReturnType<typeof hnswFactory>>; flat: FlatIndex }> = [];

    beforeAll(() => {
      for (const seed of [1, 2, 3]) {
        const rand = rng(seed);
        const hnsw = hnswFactory({ quantization })(DIM);
        const flat = new FlatIndex(DIM);
        const stored: Float32Array[] = [];
        for (let key = 0; key < 2_000; key++) {
          const v = randomUnit(DIM, rand);
          stored.push(v);
          hnsw.add(key, v);
          flat.add(key, v);
        }
        sets.push({ rand, stored, hnsw, flat });
      }
    });

    it('has recall@1 >= 0.98 against an exact scan for random queries', () => {
      let agree = 0;
      let total = 0;
      for (const { rand, stored, hnsw, flat } of sets) {
        expect(hnsw.size).toBe(2_000);
        for (let q = 0; q < QUERIES; q++) {
          const query = randomUnit(DIM, rand);
          const [exact] = flat.search(query, 1);
          if (nearest(hnsw, query, (key) => stored[key]!) === exact!.key) agree++;
          total++;
        }
      }
      expect(agree / total).toBeGreaterThanOrEqual(0.98);
    });

    it('has recall@1 >= 0.98 for queries near a stored vector (the cache lookup case)', () => {
      let agree = 0;
      let total = 0;
      for (const { rand, stored, hnsw, flat } of sets.slice(0, 2)) {
        for (let q = 0; q < QUERIES / 2; q++) {
          // a stored vector plus noise of comparable size: cosine to it around 0.8
          const noise = randomUnit(DIM, rand);
          const query = stored[q * 13]!.map((x, i) => x + 0.75 * noise[i]!);
          const [exact] = flat.search(query, 1);
          if (nearest(hnsw, query, (key) => stored[key]!) === exact!.key) agree++;
          total++;
        }
      }
      expect(agree / total).toBeGreaterThanOrEqual(0.98);
    });
  });

  describe('on 6,000 128-d vectors of one topic, with hubs', () => {
    // The case that made usearch's default M=16 lose vectors: within a topic, the vectors closest to its centre are
    // everyone's nearest neighbours, and the outlying ones lose every incoming link as the hubs' link lists overflow
    // and are pruned. On this set M=16 gives recall@1 0.90 for near-duplicates and finds 93% of the stored vectors
    // by themselves, M=32 0.99 and 98%, the defaults (M=96) 1.0 and 100%. bench/hnsw-sweep.ts measures the same
    // effect at 30k–160k vectors, 384-d. The near-duplicate bar is 0.96, not 0.98: on these 300 queries f32 gives
    // 0.98 and i8 0.973, but over 600 queries and four data seeds both average 0.97 (0.965–0.982), so 0.98 held for
    // f32 by the luck of the sample; 0.96 still fails M=16 by far. The builds are one-threaded and deterministic.
    const DIM = 128;
    const N = 6_000;
    let hnsw: HnswIndex;
    let stored: Float32Array[];

    /** unit(0.47·shared + topic + s·noise), s uniform in 0.7–1.3: the generator of bench/lib/synthetic.ts */
    function clustered(n: number, topics: number, rand: () => number): Float32Array[] {
      const shared = randomUnit(DIM, rand);
      const centres = Array.from({ length: topics }, () => randomUnit(DIM, rand));
      return Array.from({ length: n }, () => {
        const c = centres[Math.floor(rand() * topics)]!;
        const noise = randomUnit(DIM, rand);
        const s = 0.7 + 0.6 * rand();
        return normalise(Float32Array.from({ length: DIM }, (_, i) => 0.47 * shared[i]! + c[i]! + s * noise[i]!));
      });
    }

    beforeAll(() => {
      const rand = rng(21);
      stored = clustered(N, 1, rand);
      hnsw = make(DIM);
      stored.forEach((v, key) => hnsw.add(key, v));
    });

    it('finds the stored vector behind a near-duplicate (recall@1 >= 0.96)', () => {
      const rand = rng(22);
      let found = 0;
      const queries = 300;
      for (let q = 0; q < queries; q++) {
        const key = Math.floor(rand() * N);
        // cosine 0.90-0.99 to the stored vector, as bench/scale.ts's near-duplicates
        const cos = 0.9 + 0.09 * rand();
        const noise = randomUnit(DIM, rand);
        const tan = Math.sqrt(1 / (cos * cos) - 1);
        const query = normalise(stored[key]!.map((x, i) => x + tan * noise[i]!));
        if (nearest(hnsw, query, (k) => stored[k]!) === key) found++;
      }
      expect(found / queries).toBeGreaterThanOrEqual(0.96);
    });

    it('can reach almost every stored vector (searching with a vector returns it first)', () => {
      let found = 0;
      for (let key = 0; key < N; key += 10) if (nearest(hnsw, stored[key]!, (k) => stored[k]!) === key) found++;
      expect(found / (N / 10)).toBeGreaterThanOrEqual(0.99);
    });
  });

  it('searches with an ef that grows with the index, and returns k hits', () => {
    expect([1_000, 100_000, 1_000_000, 10_000_000, 1e12].map(expansionSearchFor)).toEqual([32, 32, 96, 160, 256]);
    const rand = rng(5);
    const index = make(16);
    expect(make(16, { expansionSearch: 200 }).expansionSearch).toBe(200);
    for (let key = 0; key < 100; key++) index.add(key, randomUnit(16, rand));
    expect(index.expansionSearch).toBe(32);
    const hits = index.search(randomUnit(16, rand), 3);
    expect(hits).toHaveLength(3);
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
  });

  it('replaces the vector when a key is added again', () => {
    const index = make(4);
    index.add(1, axis(0, 4));
    index.add(2, axis(1, 4));
    index.add(1, axis(2, 4));
    expect(index.size).toBe(2);
    const [best] = index.search(axis(2, 4), 1);
    expect(best!.key).toBe(1);
    expect(best!.score).toBeCloseTo(1, 5);
    const nearOld = index.search(axis(0, 4), 2);
    expect(nearOld.map((h) => h.key).sort()).toEqual([1, 2]);
    for (const h of nearOld) expect(h.score).toBeCloseTo(0, 5);
  });

  it('throws when a vector has the wrong dimension', () => {
    const index = make(4);
    expect(() => index.add(1, new Float32Array(3))).toThrow();
    index.add(1, axis(0, 4));
    expect(() => index.search(new Float32Array(3), 1)).toThrow();
  });
});
