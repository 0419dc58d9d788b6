/**
 * @module embed/batcher: concurrent requests share model calls, and none waits for one without bound.
 * While `concurrency` model calls run, new texts queue; when one returns they go as one batch. An idle embedder
 * starts at once, so batching adds no latency when there is no concurrency. A text given `maxWaitMs` that has not
 * gone into a model call within that time is taken out of the queue and fails with EmbedBusyError: its request then
 * skips the semantic lookup rather than wait behind everyone else's embeddings.
 */
import type { EmbedOptions, Embedder } from './types.js';

/** The embedder is too busy to start this text within its wait. Not a fault: the request just goes upstream. */
export class EmbedBusyError extends Error {
  override readonly name = 'EmbedBusyError';
}

interface Waiting {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
  onModelCall?: (batchSize: number) => void;
}

export class BatchingEmbedder implements Embedder {
  readonly id: string;
  readonly dim: number;
  readonly defaultThreshold: number;
  private queue: Waiting[] = [];
  private running = 0;
  /** how many model calls have been made, for metrics and tests */
  calls = 0;
  /** texts given up on for waiting longer than they were allowed */
  busy = 0;

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
    if (inner.inputLength) this.inputLength = (text) => inner.inputLength!(text);
    if (inner.close) this.close = () => inner.close!();
  }

  inputLength?: (text: string) => number;
  close?: () => Promise<void>;

  /** Texts waiting, plus model calls under way: 0 when the embedder is idle. */
  load(): number {
    return this.queue.length + this.running;
  }

  embed(texts: string[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    const promises = texts.map(
      (text) =>
        new Promise<Float32Array>((resolve, reject) => {
          const w: Waiting = { text, resolve, reject, ...(opts.onModelCall && { onModelCall: opts.onModelCall }) };
          if (opts.maxWaitMs !== undefined) {
            w.timer = setTimeout(() => {
              const i = this.queue.indexOf(w);
              if (i < 0) return; // already in a model call
              this.queue.splice(i, 1);
              this.busy++;
              reject(new EmbedBusyError(`no model call could start within ${opts.maxWaitMs} ms`));
            }, opts.maxWaitMs);
          }
          this.queue.push(w);
        }),
    );
    // A microtask lets requests arriving in the same tick join this batch.
    queueMicrotask(() => this.pump());
    return Promise.all(promises);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      for (const w of batch) {
        clearTimeout(w.timer);
        w.onModelCall?.(batch.length);
      }
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
