/** @module embed/types: the Embedder interface every model implements. */

export interface EmbedOptions {
  /**
   * Whose texts these are (the tenant). A remembered embedding answers faster than a new one, so the memo keeps each
   * partition's texts apart: no caller can time whether another has sent a text.
   */
  partition?: string;
  /** ms a text may wait for a model call to start before it fails with EmbedBusyError; undefined = no bound */
  maxWaitMs?: number;
  /** told how many texts share the model call that embeds this one (the batcher calls it; a remembered text never) */
  onModelCall?: (batchSize: number) => void;
}

export interface Embedder {
  /** identifies model and settings; part of every scope, so vectors of different embedders never meet */
  readonly id: string;
  readonly dim: number;
  /** true: this embedder embeds nothing, so every request is keyed exact-only (embed/exact-only.ts) */
  readonly exactOnly?: boolean;
  /** cosine threshold calibrated for this model on qqp-dev (see README) */
  readonly defaultThreshold: number;
  /** unit vectors, one per text, in order */
  embed(texts: string[], opts?: EmbedOptions): Promise<Float32Array[]>;
  /**
   * How much of `text` the model reads, in UTF-16 code units (its maximum input): the rest is cut before embedding,
   * and kept in the scope instead. Undefined: the model reads any length.
   */
  inputLength?(text: string): number;
  /** texts waiting plus model calls under way; 0 = idle (what background embedding waits for) */
  load?(): number;
  /** release what the model holds (worker threads); undefined: nothing to release */
  close?(): Promise<void>;
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
