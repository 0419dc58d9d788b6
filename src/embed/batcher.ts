/**
 * @module embed/batcher: concurrent requests share one model call.
 * While a model call runs, new texts queue; when it returns they go as one batch. An idle embedder starts at
 * once, so batching adds no latency when there is no concurrency.
 */
import type { Embedder } from './types.js';

interface Waiting {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class BatchingEmbedder implements Embedder {
  readonly id: string;
  readonly dim: number;
  readonly defaultThreshold: number;
  private queue: Waiting[] = [];
  private running = 0;
  /** how many model calls have been made, for metrics and tests */
  calls = 0;

  /**
   * @param maxBatch texts per model call @default 64
   * @param concurrency model calls in flight at once @default 1
   */
  constructor(
    private readonly inner: Embedder,
    private readonly maxBatch = 64,
    private readonly concurrency = 1,
  ) {
    this.id = inner.id;
    this.dim = inner.dim;
    this.defaultThreshold = inner.defaultThreshold;
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    const promises = texts.map(
      (text) => new Promise<Float32Array>((resolve, reject) => this.queue.push({ text, resolve, reject })),
    );
    // A microtask lets requests arriving in the same tick join this batch.
    queueMicrotask(() => this.pump());
    return Promise.all(promises);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.running++;
      this.calls++;
      // Through a promise, so an embedder that throws synchronously rejects this batch instead of wedging the pump.
      Promise.resolve()
        .then(() => this.inner.embed(batch.map((w) => w.text)))
        .then(
          (vectors) => batch.forEach((w, i) => w.resolve(vectors[i]!)),
          (err) => batch.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
