/**
 * @module cache/backfill: entries stored without their vector (the embedder was too busy when their request came,
 * or the request skipped the lookup) get it later, when the embedder is idle, so that they can serve semantic hits
 * too. Until then they are exact-only. The queue is bounded: past it the oldest waiting entry stays exact-only, and
 * that is counted. An entry deleted, replaced or expired meanwhile is not brought back.
 */
import type { Embedder } from '../embed/types.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import type { Entry, Store } from '../store/types.js';

export interface BackfillDeps {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** entries that may wait for their vector @default 10000 */
  maxQueue?: number;
  /** ms between looks at a busy embedder @default 50 */
  pollMs?: number;
}

interface Job {
  entry: Entry;
  embedder: Embedder;
  /** what to embed: the entry's text, cut to the embedder's input */
  text: string;
}

export class Backfill {
  private readonly queue: Job[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private working = false;

  constructor(private readonly deps: BackfillDeps) {}

  /** Entries waiting for their vector. */
  get backlog(): number {
    return this.queue.length;
  }

  add(entry: Entry, embedder: Embedder, text: string): void {
    if (this.queue.length >= (this.deps.maxQueue ?? 10_000)) {
      this.queue.shift();
      this.deps.metrics.backfill('dropped', this.queue.length);
    }
    this.queue.push({ entry, embedder, text });
    this.deps.metrics.backfill('queued', this.queue.length);
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer || this.working) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.work();
    }, ms);
    // Pending backfill never keeps a process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async work(): Promise<void> {
    this.working = true;
    try {
      while (this.queue.length > 0) {
        const job = this.queue[0]!;
        // Only when the embedder has nothing else to do: requests come first.
        if ((job.embedder.load?.() ?? 0) > 0) break;
        this.queue.shift();
        await this.fill(job);
      }
    } finally {
      this.working = false;
    }
    if (this.queue.length > 0) this.schedule(this.deps.pollMs ?? 50);
  }

  private async fill({ entry, embedder, text }: Job): Promise<void> {
    const { store, metrics, now } = this.deps;
    try {
      const ttlMs = entry.expiresAt - now();
      const current = ttlMs > 0 ? await store.getExact(entry.scope, entry.textKey) : undefined;
      if (!current || current.createdAt !== entry.createdAt || current.vector) {
        metrics.backfill('skipped', this.queue.length);
        return;
      }
      const [vector] = await embedder.embed([text], { partition: entry.tenant });
      await store.put({ ...current, vector: vector! }, Math.ceil(ttlMs / 1000));
      metrics.backfill('done', this.queue.length);
    } catch (err) {
      metrics.backfill('failed', this.queue.length);
      this.deps.logger.warn({ err: String(err) }, 'could not embed a stored entry later');
    }
  }
}
