/** The limit on concurrent upstream calls and its bounded queue (--upstream-concurrency, --upstream-queue). */
import { describe, expect, it } from 'vitest';
import { UpstreamSlots } from '../../src/cache/upstream-slots.js';
import { ClientClosedError, UpstreamBusyError } from '../../src/openai/errors.js';

/** A client that can be made to leave, as RequestView.onGone sees it. */
function client() {
  const listeners = new Set<() => void>();
  return {
    onGone: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    leave: () => listeners.forEach((l) => l()),
    watched: () => listeners.size,
  };
}

describe('UpstreamSlots', () => {
  it('grants up to the limit at once, queues up to the queue, refuses past both', async () => {
    const slots = new UpstreamSlots({ concurrency: 1, queue: 1 });
    const first = slots.acquire();
    expect(typeof first).toBe('function');
    const second = slots.acquire();
    expect(second).toBeInstanceOf(Promise);
    await expect(slots.acquire()).rejects.toBeInstanceOf(UpstreamBusyError);
    (first as () => void)();
    const release = await second;
    expect(slots.underWay).toBe(1);
    release();
    release();
    expect(slots.underWay).toBe(0);
  });

  it('a waiter whose client leaves gives its place up, so the next caller is queued, not refused', async () => {
    const slots = new UpstreamSlots({ concurrency: 1, queue: 1 });
    const held = slots.acquire() as () => void;
    const gone = client();
    const waiting = slots.acquire(gone);
    expect(slots.queued).toBe(1);
    gone.leave();
    await expect(waiting).rejects.toBeInstanceOf(ClientClosedError);
    expect(slots.queued).toBe(0);
    expect(gone.watched()).toBe(0);

    const live = client();
    const next = slots.acquire(live);
    expect(slots.queued).toBe(1);
    held();
    const release = await next;
    // Granted: it no longer watches its client, and the slot it holds is the only one under way.
    expect(live.watched()).toBe(0);
    expect(slots.underWay).toBe(1);
    release();
  });

  it('a client already gone when it would queue is not queued', async () => {
    const slots = new UpstreamSlots({ concurrency: 1, queue: 1 });
    slots.acquire();
    const gone = {
      onGone: (l: () => void) => {
        queueMicrotask(l);
        return () => {};
      },
    };
    await expect(slots.acquire(gone)).rejects.toBeInstanceOf(ClientClosedError);
    expect(slots.queued).toBe(0);
  });
});
