/** @module embed/types: the Embedder interface every model implements. */

export interface Embedder {
  /** identifies model and settings; part of every scope, so vectors of different embedders never meet */
  readonly id: string;
  readonly dim: number;
  /** cosine threshold calibrated for this model on qqp-dev (see README) */
  readonly defaultThreshold: number;
  /** unit vectors, one per text, in order */
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** Scale to unit length so a dot product is the cosine similarity. */
export function normalise(v: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}
