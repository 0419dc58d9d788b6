/**
 * @module store/quantize: how the in-process index stores vectors, and the exact cosine its candidates are re-scored
 * with, so that the similarity compared with the thresholds is always cosine of the float vectors.
 */

/** How the in-process HNSW index stores vectors: float32, or int8 (a quarter of the bytes). */
export type Quantization = 'f32' | 'i8';

/** Cosine similarity of two float vectors, -1..1; 0 when either is zero. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * Candidates with their score replaced by the exact cosine of their float vector to `query`, best first. A candidate
 * without a vector (or of another dimension) keeps the index's score. The stores run every search through it: an i8
 * index's own scores are off by up to about 0.02 (bench/index-quantization.ts), enough to flip a threshold decision,
 * and its order among near ties can be wrong; for an f32 index it changes nothing but rounding.
 */
export function rescore<T extends { entry: { vector?: Float32Array }; score: number }>(query: Float32Array, candidates: T[]): T[] {
  for (const c of candidates) if (c.entry.vector?.length === query.length) c.score = cosine(query, c.entry.vector);
  return candidates.sort((a, b) => b.score - a.score);
}
