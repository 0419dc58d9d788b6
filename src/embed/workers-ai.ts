/**
 * @module embed/workers-ai: embeddings from Workers AI, for the Worker. One `AI.run` call embeds a whole batch (up
 * to 100 texts, Workers AI's limit per call). The id names the model and its pooling: `mean` and `cls` vectors of
 * one model do not mix, and the id is part of every scope.
 */
import type { Ai } from '../worker/bindings.js';
import { normalise, type Embedder } from './types.js';

export const WORKERS_AI_DEFAULT_MODEL = '@cf/baai/bge-small-en-v1.5';

/** Dimensions of the models Workers AI documents; another model's are learnt from its first answer. */
const KNOWN_DIMS: Record<string, number> = {
  '@cf/baai/bge-small-en-v1.5': 384,
  '@cf/baai/bge-base-en-v1.5': 768,
  '@cf/baai/bge-large-en-v1.5': 1024,
  '@cf/baai/bge-m3': 1024,
};

/**
 * Not calibrated here (Workers AI cannot run offline): as strict as Reprise is with any model it has not measured,
 * because a wrong hit is worse than a miss. Set CACHE_THRESHOLD once the model is measured on your traffic.
 */
const UNCALIBRATED_THRESHOLD = 0.92;

/** Texts per AI.run call, Workers AI's limit for its embedding models. */
const BATCH = 100;

/**
 * The bge models read 512 tokens. English averages about 4 characters a token; 1,500 characters keeps a margin for
 * text that tokenises densely. What is cut goes into the scope, so cutting early costs hits, never precision.
 */
const MAX_CHARS = 1500;

export type Pooling = 'mean' | 'cls';

export interface WorkersAiOptions {
  ai: Ai;
  /** @default @cf/baai/bge-small-en-v1.5 */
  model?: string;
  /** @default mean */
  pooling?: Pooling;
}

/** What an embedding model answers: `{ shape: [n, dim], data: number[][] }`. */
interface EmbeddingOutput {
  data?: unknown;
}

export class WorkersAiEmbedder implements Embedder {
  readonly id: string;
  readonly defaultThreshold = UNCALIBRATED_THRESHOLD;
  private readonly model: string;
  private readonly pooling: Pooling;
  private knownDim: number;

  constructor(private readonly opts: WorkersAiOptions) {
    this.model = opts.model ?? WORKERS_AI_DEFAULT_MODEL;
    this.pooling = opts.pooling ?? 'mean';
    this.id = `workers-ai:${this.model}:${this.pooling}`;
    this.knownDim = KNOWN_DIMS[this.model] ?? 0;
  }

  get dim(): number {
    return this.knownDim;
  }

  inputLength(text: string): number {
    return Math.min(text.length, MAX_CHARS);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += BATCH) {
      const batch = texts.slice(i, i + BATCH);
      const answer = (await this.opts.ai.run(this.model, { text: batch, pooling: this.pooling })) as EmbeddingOutput;
      const rows = answer?.data;
      if (!Array.isArray(rows) || rows.length !== batch.length) throw new Error(`Workers AI answered ${this.model} with ${Array.isArray(rows) ? rows.length : 'no'} vectors for ${batch.length} texts`);
      for (const row of rows) {
        if (!Array.isArray(row) || row.length === 0 || (this.knownDim !== 0 && row.length !== this.knownDim)) throw new Error(`Workers AI answered ${this.model} with a vector of the wrong size`);
        this.knownDim ||= row.length;
        out.push(normalise(row as number[]));
      }
    }
    return out;
  }
}
