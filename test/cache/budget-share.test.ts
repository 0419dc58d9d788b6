/**
 * BudgetShare on its own, over an in-memory channel: budgets that share decide from the union of their labels, each
 * counted once; a channel that fails leaves each budget learning locally, never throws into the caller, is said once
 * per outage, and what was learned meanwhile goes out once it works again.
 */
import { describe, expect, it, vi } from 'vitest';
import { BudgetShare } from '../../src/cache/budget-share.js';
import { ErrorBudget } from '../../src/cache/error-budget.js';
import { silentLogger, type Logger } from '../../src/observe/logger.js';
import type { LabelBatch, LabelChannel } from '../../src/store/types.js';

/** Channels of one in-memory hub: a batch reaches every other follower, in order; `down` makes publish reject. */
function hub() {
  const followers = new Map<string, (b: LabelBatch) => void>();
  const state = { down: false, published: 0 };
  const channel = (replica: string): LabelChannel => ({
    async publish(batch) {
      if (state.down) throw new Error('store down');
      state.published++;
      const copy = JSON.parse(JSON.stringify(batch)) as LabelBatch;
      for (const [r, apply] of followers) if (r !== replica) apply(copy);
    },
    follow(apply) {
      followers.set(replica, apply);
      return () => followers.delete(replica);
    },
  });
  return { channel, state };
}

const budget = () => new ErrorBudget({ maxErrorRate: 0.2, sampleRate: 0, random: () => 0.5 });
const flushed = (share: BudgetShare) => vi.waitFor(() => expect(share.queued).toBe(0), { interval: 2, timeout: 2_000 });

describe('BudgetShare', () => {
  it("one replica's labels change what another decides for other entries at that similarity, each label counted once", async () => {
    const h = hub();
    const [a, b] = [budget(), budget()];
    const sa = new BudgetShare({ budget: a, channel: h.channel('a'), logger: silentLogger, batchMs: 1 });
    const sb = new BudgetShare({ budget: b, channel: h.channel('b'), logger: silentLogger, batchMs: 1 });
    expect(b.decide('fresh', 0.9)).toEqual({ serve: false, reason: 'uncertain' });
    for (let i = 0; i < 30; i++) a.learn(`e${i}`, 0.9, true);
    await flushed(sa);
    expect(b.decide('fresh', 0.9)).toEqual({ serve: true });
    expect(b.stats().labels).toEqual({ right: 30, wrong: 0 });
    // A's own labels came back to it not once: counted once there too.
    expect(a.stats().labels).toEqual({ right: 30, wrong: 0 });
    // B's labels reach A likewise; wrong ones at 0.9 stop both serving there.
    for (let i = 0; i < 8; i++) b.learn(`w${i}`, 0.9, false, true);
    await flushed(sb);
    expect(a.stats()).toEqual(b.stats());
    expect(a.decide('other', 0.9)).toEqual({ serve: false, reason: 'uncertain' });
    expect(b.decide('other', 0.9)).toEqual({ serve: false, reason: 'uncertain' });
    sa.stop();
    sb.stop();
  });

  it('reports and served hits reach the other replica in order: it steers as the one that saw them', async () => {
    const h = hub();
    const [a, b] = [budget(), budget()];
    const sa = new BudgetShare({ budget: a, channel: h.channel('a'), logger: silentLogger, batchMs: 1, servedMs: 1 });
    const sb = new BudgetShare({ budget: b, channel: h.channel('b'), logger: silentLogger, batchMs: 1 });
    for (let i = 0; i < 10; i++) a.served(`s${i}`, 0.95);
    for (let i = 0; i < 3; i++) expect(a.reportWrong(`s${i}`)).toBe(true);
    await flushed(sa);
    expect(a.stats().strictness).toBeGreaterThan(1);
    expect(b.stats()).toEqual(a.stats());
    // Served hits with no label after them go out too.
    const published = h.state.published;
    a.served('late', 0.95);
    await vi.waitFor(() => expect(h.state.published).toBe(published + 1), { interval: 2, timeout: 2_000 });
    sa.stop();
    sb.stop();
  });

  it("a report made to one replica of a hit another served is placed at the similarity it was served at", async () => {
    const h = hub();
    const [a, b] = [budget(), budget()];
    const sa = new BudgetShare({ budget: a, channel: h.channel('a'), logger: silentLogger, batchMs: 1, servedMs: 1 });
    const sb = new BudgetShare({ budget: b, channel: h.channel('b'), logger: silentLogger, batchMs: 1 });
    // Before A's hits reach B, B cannot place a report of them.
    expect(b.reportWrong('served-on-a')).toBe(false);
    a.served('served-on-a', 0.9375);
    a.served('other', 0.99);
    await vi.waitFor(() => expect(h.state.published).toBeGreaterThan(0), { interval: 2, timeout: 2_000 });
    expect(b.reportWrong('served-on-a')).toBe(true);
    await flushed(sb);
    // The wrong label is at 0.9375 on both: a fresh query at that similarity to that entry is refused by either,
    // a closer one is not refused for it.
    for (const x of [a, b]) {
      expect(x.decide('served-on-a', 0.9375)).toEqual({ serve: false, reason: 'entry-wrong-closer' });
      expect(x.decide('served-on-a', 0.95)).not.toEqual({ serve: false, reason: 'entry-wrong-closer' });
      expect(x.stats().reported).toBe(1);
    }
    sa.stop();
    sb.stop();
  });

  it('served hits that could not be sent go out once the store is back', async () => {
    const h = hub();
    const [a, b] = [budget(), budget()];
    h.state.down = true;
    const sa = new BudgetShare({ budget: a, channel: h.channel('a'), logger: silentLogger, batchMs: 1, servedMs: 1, retryMs: 5 });
    const sb = new BudgetShare({ budget: b, channel: h.channel('b'), logger: silentLogger, batchMs: 1 });
    a.served('while-down', 0.95);
    await new Promise((r) => setTimeout(r, 20));
    expect(b.reportWrong('while-down')).toBe(false);
    h.state.down = false;
    await vi.waitFor(() => expect(b.reportWrong('while-down')).toBe(true), { interval: 2, timeout: 2_000 });
    sa.stop();
    sb.stop();
  });

  it('with the store down: learns locally, never throws, says so once, and sends what it learned once the store is back', async () => {
    const h = hub();
    const warn = vi.fn();
    const info = vi.fn();
    const logger: Logger = { ...silentLogger, warn, info };
    const [a, b] = [budget(), budget()];
    const sa = new BudgetShare({ budget: a, channel: h.channel('a'), logger, batchMs: 1, retryMs: 5 });
    const sb = new BudgetShare({ budget: b, channel: h.channel('b'), logger: silentLogger, batchMs: 1 });
    h.state.down = true;
    for (let i = 0; i < 30; i++) expect(() => a.learn(`e${i}`, 0.9, true)).not.toThrow();
    // Local learning goes on at once, whatever the store.
    expect(a.decide('fresh', 0.9)).toEqual({ serve: true });
    await vi.waitFor(() => expect(warn).toHaveBeenCalled(), { interval: 2, timeout: 2_000 });
    await new Promise((r) => setTimeout(r, 50)); // several retries fail meanwhile
    expect(warn).toHaveBeenCalledTimes(1);
    expect(b.stats().labels.right).toBe(0);
    h.state.down = false;
    await flushed(sa);
    expect(b.stats().labels).toEqual({ right: 30, wrong: 0 });
    expect(a.stats().labels).toEqual({ right: 30, wrong: 0 });
    expect(info).toHaveBeenCalledTimes(1);
    sa.stop();
    sb.stop();
  });

  it('keeps at most maxPending labels while the store is down (the oldest go)', async () => {
    const h = hub();
    h.state.down = true;
    const [a, b] = [budget(), budget()];
    const sa = new BudgetShare({ budget: a, channel: h.channel('a'), logger: silentLogger, batchMs: 1, retryMs: 5, maxPending: 10 });
    const sb = new BudgetShare({ budget: b, channel: h.channel('b'), logger: silentLogger });
    for (let i = 0; i < 100; i++) a.learn(`e${i}`, 0.9, true);
    expect(sa.queued).toBe(10);
    h.state.down = false;
    await flushed(sa);
    expect(b.stats().labels.right).toBe(10);
    expect(a.stats().labels.right).toBe(100);
    sa.stop();
    sb.stop();
  });

  it('a batch that does not apply never reaches the caller', () => {
    let apply: ((b: LabelBatch) => void) | undefined;
    const a = budget();
    const warn = vi.fn();
    new BudgetShare({ budget: a, logger: { ...silentLogger, warn }, channel: { publish: async () => {}, follow: (f) => ((apply = f), () => {}) } });
    const broken = { labels: null, served: 0 } as unknown as LabelBatch;
    expect(() => apply!(broken)).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
