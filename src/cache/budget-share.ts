/**
 * @module cache/budget-share: the error budget's evidence shared among replicas, through a store's LabelChannel
 * (Store.labelChannel; the Redis store has one). Every label this replica's budget learns (an explored answer
 * compared, a sampled check, a client's report) is applied here at once and queued; queued labels go out in small
 * batches, with the hits served meanwhile (how many, and which at what similarity, so a client's report of a hit
 * is placed on whichever replica it reaches). Every other replica's batches are absorbed as if learned here.
 * So each replica's budget decides from the union of all replicas' labels, its own counted once: the channel never
 * hands a replica its own batches back.
 *
 * Sharing never touches a request: publishing runs on a timer, after the request that learned; while the store is
 * away, labels are kept (at most `maxPending`, oldest dropped first) and sent once it is back, the budget learning
 * locally meanwhile. The failure is logged once per outage. Web-standard only.
 */
import type { Logger } from '../observe/logger.js';
import type { LabelBatch, LabelChannel } from '../store/types.js';
import type { BudgetLabel, ErrorBudget } from './error-budget.js';

export interface BudgetShareOptions {
  budget: ErrorBudget;
  channel: LabelChannel;
  logger: Logger;
  /** ms a label waits for others to go out in one batch @default 20 */
  batchMs?: number;
  /** ms before sending again after a failed send @default 500 */
  retryMs?: number;
  /** ms served hits wait to go out when no label carries them @default 1000 */
  servedMs?: number;
  /** labels kept while they cannot be sent @default 5000 */
  maxPending?: number;
  /** told of each batch sent and absorbed, and of each failed send (metrics): its labels and served hits */
  counted?: (event: 'sent' | 'received' | 'failed', labels: number, served: number) => void;
}

/** Labels per published batch. */
const MAX_BATCH = 500;

export class BudgetShare {
  private readonly opts: BudgetShareOptions;
  private pending: BudgetLabel[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** the delay the timer was set with */
  private due = 0;
  private sending = false;
  private servedWhileSending = false;
  private failing = false;
  private stopped = false;
  private readonly unfollow: () => void;

  constructor(opts: BudgetShareOptions) {
    this.opts = opts;
    opts.budget.onLabel(
      (label) => this.queue(label),
      () => {
        if (this.sending) this.servedWhileSending = true;
        else this.schedule(opts.servedMs ?? 1_000);
      },
    );
    this.unfollow = opts.channel.follow((batch) => this.absorb(batch));
  }

  /** labels waiting to be sent */
  get queued(): number {
    return this.pending.length;
  }

  /** Stop sharing; labels not yet sent stay local. */
  stop(): void {
    this.stopped = true;
    this.opts.budget.onLabel(undefined);
    this.unfollow();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private queue(label: BudgetLabel): void {
    if (this.stopped) return;
    // The hits served before it go with it, so the others weigh reports against served hits in this replica's order.
    const served = this.opts.budget.takeServed();
    this.pending.push(served > 0 ? { ...label, served } : label);
    const max = this.opts.maxPending ?? 5_000;
    if (this.pending.length > max) this.pending.splice(0, this.pending.length - max);
    this.schedule(this.opts.batchMs ?? 20);
  }

  private schedule(ms: number): void {
    if (this.sending || this.stopped) return;
    if (this.timer) {
      if (ms >= this.due) return;
      clearTimeout(this.timer);
    }
    this.due = ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send();
    }, ms);
    // On Node the timer must not hold the process open; elsewhere there is no unref.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async send(): Promise<void> {
    if (this.sending || this.stopped) return;
    const labels = this.pending.splice(0, MAX_BATCH);
    const served = this.pending.length === 0 ? this.opts.budget.takeServed() : 0;
    const hits = this.opts.budget.takeHits();
    if (labels.length === 0 && served === 0 && hits.length === 0) return;
    this.sending = true;
    let ok = false;
    try {
      await this.opts.channel.publish({ labels, served, ...(hits.length > 0 && { hits }) });
      ok = true;
      this.opts.counted?.('sent', labels.length, servedIn({ labels, served }));
      if (this.failing) this.opts.logger.info({}, 'error-budget labels are shared with the other replicas again');
      this.failing = false;
    } catch (err) {
      // Put back in front of what came meanwhile, within the bound: sent once the store is back.
      this.pending = [...labels, ...this.pending];
      const max = this.opts.maxPending ?? 5_000;
      if (this.pending.length > max) this.pending.splice(0, this.pending.length - max);
      this.opts.budget.restoreServed(served);
      this.opts.budget.restoreHits(hits);
      this.opts.counted?.('failed', labels.length, servedIn({ labels, served }));
      if (!this.failing) this.opts.logger.warn({ err: String(err) }, 'could not share error-budget labels with the other replicas; learning locally until the store is back');
      this.failing = true;
    } finally {
      this.sending = false;
    }
    if (this.servedWhileSending) {
      this.servedWhileSending = false;
      this.schedule(this.opts.servedMs ?? 1_000);
    }
    if (this.pending.length > 0) this.schedule(ok ? 0 : (this.opts.retryMs ?? 500));
    else if (!ok && (served > 0 || hits.length > 0)) this.schedule(this.opts.retryMs ?? 500);
  }

  private absorb(batch: LabelBatch): void {
    try {
      this.opts.budget.absorb(batch.labels, batch.served, batch.hits);
      this.opts.counted?.('received', batch.labels.length, servedIn(batch));
    } catch (err) {
      this.opts.logger.warn({ err: String(err) }, "could not apply another replica's error-budget labels");
    }
  }
}

/** The hits a batch says were served: those before each label and those after the last. */
function servedIn(batch: LabelBatch): number {
  return batch.labels.reduce((n, l) => n + (l.served ?? 0), batch.served);
}
