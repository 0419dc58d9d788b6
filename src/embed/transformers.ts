/**
 * @module embed/transformers: any sentence-embedding model that transformers.js (@huggingface/transformers)
 * can run, from a local folder, from its download cache, or from the Hugging Face hub.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Embedder } from './types.js';

/**
 * Thresholds for models we know. all-MiniLM-L6-v2 cannot be downloaded on the machine Reprise is developed on,
 * so its value is not yet calibrated here (README "Thresholds"); `reprise` users can override with --threshold.
 */
const KNOWN_THRESHOLDS: Record<string, number> = {
  'Xenova/all-MiniLM-L6-v2': 0.92,
};
/** For models we have not calibrated: strict, because a wrong hit is worse than a miss. */
export const UNKNOWN_MODEL_THRESHOLD = 0.92;

export interface TransformersOptions {
  /** hub id such as "Xenova/all-MiniLM-L6-v2", or a path to a local model folder */
  model: string;
  /** where downloads are cached */
  cacheDir: string;
  /** ONNX weights to load: "q8" (onnx/model_quantized.onnx) or "fp32" (onnx/model.onnx) @default "q8" */
  dtype?: 'q8' | 'fp32';
}

export async function loadTransformers(opts: TransformersOptions): Promise<Embedder> {
  const { env, pipeline } = await import('@huggingface/transformers');
  const local = existsSync(opts.model) ? resolve(opts.model) : undefined;
  env.allowLocalModels = true;
  env.allowRemoteModels = local === undefined;
  env.cacheDir = resolve(opts.cacheDir);
  const dtype = opts.dtype ?? 'q8';
  // An absolute path is read as a folder; anything shaped like "org/name" is looked up in the cache, then the hub.
  const extractor = await pipeline('feature-extraction', local ?? opts.model, { dtype });
  const probe = await extractor(['probe'], { pooling: 'mean', normalize: true });
  const dim = probe.dims[1]!;
  const tokenizer = extractor.tokenizer;
  const maxTokens = Number.isFinite(tokenizer.model_max_length) ? tokenizer.model_max_length : Infinity;
  const tokens = (t: string) => tokenizer.encode(t).length;
  return {
    id: `transformers/${local ?? opts.model}@${dtype}`,
    dim,
    defaultThreshold: KNOWN_THRESHOLDS[opts.model] ?? UNKNOWN_MODEL_THRESHOLD,
    /** The longest prefix whose tokens (special ones included) fit the model's maximum input. */
    inputLength(text: string): number {
      // No UTF-16 unit becomes more than 4 tokens, so a short text always fits without being tokenised here.
      if (!Number.isFinite(maxTokens) || text.length * 4 + 2 <= maxTokens) return text.length;
      // Only a head is ever tokenised: a token is rarely 16 characters, and cutting earlier than the model would is
      // safe (what is cut goes into the scope). A 20 MB prompt would otherwise hold this thread for seconds.
      const head = Math.min(text.length, maxTokens * 16);
      if (tokens(text.slice(0, head)) <= maxTokens) return head;
      let lo = 0;
      let hi = head;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (tokens(text.slice(0, mid)) <= maxTokens) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    },
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (texts.length === 0) return [];
      const out = await extractor(texts, { pooling: 'mean', normalize: true });
      const data = out.data as Float32Array;
      return texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
    },
  };
}
