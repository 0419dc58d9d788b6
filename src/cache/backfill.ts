/**
 * @module cache/backfill: entries stored without their vector (the embedder was too busy when their request came,
 * or the request skipped the lookup) get it later, when the embedder is idle, so that they can serve semantic hits
 * too. Until then they are exact-only. It runs while the embedder has nothing else to do and no request has come for
 * a quarter of a second, at most 10 entries a second; under steady traffic, one a second, for entries that have waited
 * half a minute (it falls behind by design: requests come first). The queue is bounded (10,000): past it the oldest waiting
 * entry stays exact-only for good, and that is counted. An entry deleted, replaced or expired meanwhile is not brought
 * back.
 */
import type { Embedder } from '../embed/types.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import type { Entry, Store } from '../store/types.js';

/** ms without a request after which Reprise counts as quiet */
const QUIET_MS = 250;
/** ms an entry waits before it is embedded even under steady traffic (one a second) */
const STARVED_MS = 30_000;

export interface BackfillDeps {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** entries that may wait for their vector @default 10000 */
  maxQueue?: number;
  /** ms between looks at a busy embedder @default 50 */
  pollMs?: number;
  /** ms at least between two entries embedded: background work must leave the CPU to requests @default 100 */
  intervalMs?: number;
}

interface Job {
  /** performance.now() when it was queued */
  queuedAt: number;
  /** which entry: just enough to find it again (the entry itself is not held: it may be large, or evicted) */
  at: { scope: string; textKey: string; createdAt: number; tenant: string };
  embedder: Embedder;
  /** what to embed: the entry's text, cut to the embedder's input */
  text: string;
}

export class Backfill {
  private readonly queue: Job[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private working = false;
  /** performance.now() of the latest request to a cached endpoint */
  private lastRequest = -Infinity;

  constructor(private readonly deps: BackfillDeps) {}

  /** A request came in: background embedding gives way while requests keep coming. */
  touch(): void {
    this.lastRequest = performance.now();
  }

  /**
   * May an entry be embedded now? When no request has come for a moment, yes; under steady traffic only once a
   * second, and only for an entry that has waited half a minute, so that a busy service still catches up, slowly.
   */
  private mayFill(job: Job): boolean {
    const now = performance.now();
    if (now - this.lastRequest > QUIET_MS) return true;
    return now - job.queuedAt > STARVED_MS && now - this.lastFill >= 1_000;
  }
  private lastFill = -Infinity;

  /** Entries waiting for their vector. */
  get backlog(): number {
    return this.queue.length;
  }

  add(entry: Entry, embedder: Embedder, text: string): void {
    if (this.queue.length >= (this.deps.maxQueue ?? 10_000)) {
      this.queue.shift();
      this.deps.metrics.backfill('dropped', this.queue.length);
    }
    const at = { scope: entry.scope, textKey: entry.textKey, createdAt: entry.createdAt, tenant: entry.tenant };
    this.queue.push({ queuedAt: performance.now(), at, embedder, text });
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
        // Only when the embedder has nothing else to do, and the requests of now give it room.
        if ((job.embedder.load?.() ?? 0) > 0 || !this.mayFill(job)) break;
        this.queue.shift();
        const started = (this.lastFill = performance.now());
        await this.fill(job);
        // A few entries a second at most (10 by default), and never more than half of one model thread: what is
        // stored exact-only can wait, the requests of now cannot.
        const took = performance.now() - started;
        if (this.queue.length > 0) {
          await new Promise((r) => {
            const t = setTimeout(r, Math.max(took, (this.deps.intervalMs ?? 100) - took, 1));
            (t as { unref?: () => void }).unref?.();
          });
        }
      }
    } finally {
      this.working = false;
    }
    if (this.queue.length > 0) this.schedule(this.deps.pollMs ?? 50);
  }

  private async fill({ at, embedder, text }: Job): Promise<void> {
    const { store, metrics, now } = this.deps;
    /** The same entry (not a newer one under its key), still live, still without its vector. */
    const same = (e: Entry | undefined): e is Entry => e !== undefined && e.createdAt === at.createdAt && !e.vector && e.expiresAt - now() >= 1_000;
    try {
      if (!same(await store.getExact(at.scope, at.textKey))) {
        metrics.backfill('skipped', this.queue.length);
        return;
      }
      const [vector] = await embedder.embed([text], { partition: at.tenant });
      // While the embedding ran, the entry may have been evicted (feedback), purged, replaced or have expired: it is
      // read again, and only if it is still the same one does it get its vector, for what is left of its TTL; the
      // store checks that again as it writes (putOver), so an eviction in between is not undone either.
      const current = await store.getExact(at.scope, at.textKey);
      const put = same(current) && (await store.putOver({ ...current, vector: vector! }, Math.floor((current.expiresAt - now()) / 1000), at.createdAt));
      metrics.backfill(put ? 'done' : 'skipped', this.queue.length);
    } catch (err) {
      metrics.backfill('failed', this.queue.length);
      this.deps.logger.warn({ err: String(err) }, 'could not embed a stored entry later');
    }
  }
}
