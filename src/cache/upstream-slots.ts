/**
 * @module cache/upstream-slots: a limit on concurrent upstream calls (--upstream-concurrency), with a bounded queue
 * in front of it (--upstream-queue). A call beyond both is refused at once with a 503 and Retry-After, rather than
 * piling up in memory or on the upstream's rate limit; a call that waits longer than the queue's time limit is
 * refused the same way.
 */
import type { RequestView } from '../http/types.js';
import { ClientClosedError, UpstreamBusyError } from '../openai/errors.js';

export interface SlotOptions {
  /** calls under way at once; 0 = no limit */
  concurrency: number;
  /** calls that may wait for a slot */
  queue: number;
  /** ms a call may wait in the queue @default 30000 */
  maxWaitMs?: number;
}

/** Releases a slot; calling it more than once releases it once. */
export type Release = () => void;

export class UpstreamSlots {
  private active = 0;
  private readonly waiting: Array<{ grant: (r: Release) => void; fail: (e: Error) => void; timer: ReturnType<typeof setTimeout> }> = [];

  constructor(private readonly opts: SlotOptions) {}

  get underWay(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A slot now, or once one frees up; rejects with UpstreamBusyError when the queue is full or the wait too long.
   * `client`: the request it is for; one whose client leaves while it waits gives its place up (ClientClosedError).
   */
  acquire(client?: Pick<RequestView, 'onGone'>): Release | Promise<Release> {
    if (this.opts.concurrency <= 0) return () => {};
    if (this.active < this.opts.concurrency) return this.take();
    if (this.waiting.length >= this.opts.queue) return Promise.reject(new UpstreamBusyError(1));
    return new Promise<Release>((grant, fail) => {
      const leave = (err: Error) => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        clearTimeout(waiter.timer);
        stopWatching();
        fail(err);
      };
      const waiter = {
        grant: (r: Release) => {
          stopWatching();
          grant(r);
        },
        fail,
        timer: setTimeout(() => leave(new UpstreamBusyError(1)), this.opts.maxWaitMs ?? 30_000),
      };
      this.waiting.push(waiter);
      const stopWatching = client?.onGone?.(() => leave(new ClientClosedError())) ?? (() => {});
    });
  }

  private take(): Release {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const next = this.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant(this.take());
      }
    };
  }
}
