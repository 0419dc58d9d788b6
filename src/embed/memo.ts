/** @module embed/memo: remember recent embeddings by text, so a repeated text costs no model call. */
import { LRUCache } from 'lru-cache';
import type { EmbedOptions, Embedder } from './types.js';

/** About what the memo may hold: texts (2 bytes a character) and vectors; a text of over a sixteenth is not kept. */
const MEMO_BYTES = 64 * 1024 * 1024;

export class MemoEmbedder implements Embedder {
  readonly id: string;
  readonly dim: number;
  readonly defaultThreshold: number;
  private readonly memo: LRUCache<string, Float32Array>;

  /**
   * @param max texts remembered @default 10000
   * @param maxBytes about what the memo may hold @default 64 MiB
   */
  constructor(
    private readonly inner: Embedder,
    max = 10_000,
    maxBytes = MEMO_BYTES,
  ) {
    this.id = inner.id;
    this.dim = inner.dim;
    this.defaultThreshold = inner.defaultThreshold;
    if (inner.inputLength) this.inputLength = (text) => inner.inputLength!(text);
    if (inner.close) this.close = () => inner.close!();
    if (inner.load) this.load = () => inner.load!();
    // Bounded by bytes too: a key is the whole text, and a prompt can be a pasted document.
    this.memo = new LRUCache({ max, maxSize: maxBytes, maxEntrySize: maxBytes / 16, sizeCalculation: (v, text) => 2 * text.length + v.byteLength + 64 });
  }

  inputLength?: (text: string) => number;
  close?: () => Promise<void>;
  load?: () => number;

  async embed(texts: string[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    const prefix = `${opts.partition ?? ''}\u0000`;
    const out: Array<Float32Array | undefined> = texts.map((t) => this.memo.get(prefix + t));
    const missing = [...new Set(texts.filter((_, i) => out[i] === undefined))];
    if (missing.length > 0) {
      const vectors = await this.inner.embed(missing, opts);
      const fresh = new Map(missing.map((t, i) => [t, vectors[i]!]));
      for (const [t, v] of fresh) this.memo.set(prefix + t, v);
      for (let i = 0; i < texts.length; i++) out[i] ??= fresh.get(texts[i]!);
    }
    return out as Float32Array[];
  }
}
