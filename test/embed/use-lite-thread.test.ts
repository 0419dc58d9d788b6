/**
 * The bundled model on worker threads (src/embed/use-lite-thread.ts): the same vectors as in the calling thread,
 * the calling thread free while the model works, concurrent calls spread over the pool's threads, and a worker
 * that goes away failing its own calls, not the others' and not the process.
 *
 * Which worker holds a call is read from the pool's own counters (stats()), never from wall time: dispatch is
 * synchronous for a loaded worker, so a call is counted on its worker when embed() returns.
 */
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadUseLiteThread, UseLiteThreads } from '../../src/embed/use-lite-thread.js';
import { loadUseLite } from '../../src/embed/use-lite.js';
import type { Embedder } from '../../src/embed/types.js';

const SENTENCES = Array.from({ length: 48 }, (_, i) => `Sentence number ${i}: how would I go about resetting the password of account ${i * 7} without losing my saved settings?`);
/** A call short enough to keep the tests quick on a busy machine: which worker holds it is counted, not timed. */
const FEW = SENTENCES.slice(0, 4);

/** The longest gap between the ticks of a 1 ms timer while `work` ran, and how long `work` took, in ms. */
async function loopDelayDuring(work: () => Promise<unknown>): Promise<{ maxDelay: number; took: number }> {
  let last = performance.now();
  let maxDelay = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxDelay = Math.max(maxDelay, now - last);
    last = now;
  }, 1);
  const start = performance.now();
  await work();
  const took = performance.now() - start;
  // One more tick, so that a gap that lasted to the end of the work is counted.
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(timer);
  return { maxDelay, took };
}

const states = (pool: UseLiteThreads) => pool.stats().workers.map((w) => w.state);
const inFlight = (pool: UseLiteThreads) => pool.stats().workers.map((w) => w.inFlight);
const answered = (pool: UseLiteThreads) => pool.stats().workers.map((w) => w.answered);
const arrays = (vs: Float32Array[]) => vs.map((v) => Array.from(v));

describe('USE-lite on worker threads', () => {
  let pool: UseLiteThreads;
  let local: Embedder;
  /** the vectors of FEW from the model in this thread, in one call as the pool's calls send them */
  let expected: number[][];
  beforeAll(async () => {
    [pool, local] = await Promise.all([loadUseLiteThread({ threads: 2 }), loadUseLite()]);
    expected = arrays(await local.embed(FEW));
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('gives the same unit vectors, under the same id, as the model in this thread', async () => {
    expect(pool.id).toBe(local.id);
    expect(pool.dim).toBe(512);
    expect(pool.threads).toBe(2);
    const texts = ['How do I reset my password?', 'What is the capital of Norway?', 'Ünïcödé and emoji 🙂 survive the trip'];
    const [a, b] = [await pool.embed(texts), await local.embed(texts)];
    expect(a).toHaveLength(3);
    for (let i = 0; i < texts.length; i++) {
      expect(a[i]).toBeInstanceOf(Float32Array);
      expect(Array.from(a[i]!)).toEqual(Array.from(b[i]!));
    }
    const norm = Math.hypot(...a[0]!);
    expect(norm).toBeCloseTo(1, 5);
    expect(await pool.embed([])).toEqual([]);
  });

  it('starts one thread per core but one by default (1 to 4), and refuses a count that is not a whole number of at least 1', async () => {
    // Not loaded: on a machine of many cores that would be a model per core, just to count them.
    const warm = vi.spyOn(UseLiteThreads.prototype, 'warm').mockResolvedValue();
    try {
      const byDefault = await loadUseLiteThread();
      expect(byDefault.threads).toBe(Math.max(1, Math.min(availableParallelism() - 1, 4)));
      expect(states(byDefault)).toEqual(Array(byDefault.threads).fill('stopped'));
      await byDefault.close();
    } finally {
      warm.mockRestore();
    }
    for (const threads of [0, -1, 1.5, Number.NaN]) await expect(loadUseLiteThread({ threads })).rejects.toThrow(RangeError);
  });

  it('leaves this thread free while it embeds (the model in this thread holds it up)', async () => {
    const off = await loopDelayDuring(() => pool.embed(SENTENCES));
    const on = await loopDelayDuring(() => local.embed(SENTENCES));
    // In this thread the event loop waits out most of the model's work; with the worker, hardly any of it.
    expect(on.maxDelay).toBeGreaterThan(on.took / 4);
    expect(off.maxDelay).toBeLessThan(off.took / 4);
  });

  it('keeps concurrent calls apart, on either thread', async () => {
    const texts = ['alpha beta gamma', 'the quick brown fox', 'what time is it in Tokyo?', 'is it raining in Bergen?'];
    const together = await Promise.all(texts.map((t) => pool.embed([t])));
    // One text per call on both sides: a batch pads its texts to the longest, which moves the last digits.
    for (const [i, t] of texts.entries()) {
      const [alone] = await local.embed([t]);
      expect(Array.from(together[i]![0]!)).toEqual(Array.from(alone!));
    }
  });

  it('runs concurrent calls on both threads at once, each call on the least busy', async () => {
    const before = answered(pool);
    expect(inFlight(pool)).toEqual([0, 0]);
    // Two calls at once: one on each thread, both in flight together.
    const calls = [pool.embed(FEW), pool.embed(FEW)];
    expect(inFlight(pool)).toEqual([1, 1]);
    expect(pool.stats().peakBusy).toBe(2);
    // Both busy: the next goes to the first of the least busy, the one after to the other.
    calls.push(pool.embed(FEW));
    expect(inFlight(pool)).toEqual([2, 1]);
    calls.push(pool.embed(FEW));
    expect(inFlight(pool)).toEqual([2, 2]);
    for (const vectors of await Promise.all(calls)) expect(arrays(vectors)).toEqual(expected);
    expect(inFlight(pool)).toEqual([0, 0]);
    expect(answered(pool).map((n, i) => n - before[i]!)).toEqual([2, 2]);
  });
});

describe('a worker that goes away', () => {
  let local: Embedder;
  let expected: number[][];
  beforeAll(async () => {
    local = await loadUseLite();
    expected = arrays(await local.embed(FEW));
  });

  it('fails only its own calls; the next call still succeeds, and a call that needs the thread starts it again', async () => {
    const pool = await loadUseLiteThread({ threads: 2 });
    try {
      // Long, so that it is still being worked on when its worker is killed.
      const mine = pool.embed(SENTENCES);
      const theirs = pool.embed(FEW);
      expect(inFlight(pool)).toEqual([1, 1]);
      const failed = expect(mine).rejects.toThrow(/exited/);
      await pool.kill(0);
      await failed;
      expect(arrays(await theirs)).toEqual(expected);
      expect(states(pool)).toEqual(['stopped', 'ready']);

      // One call at a time needs one thread: the live one answers, and the dead one stays down.
      expect(arrays(await pool.embed(FEW))).toEqual(expected);
      expect(pool.stats().workers.map((w) => w.starts)).toEqual([1, 1]);

      // Two at once: the second finds the live thread busy, so the dead one starts loading for the calls after it,
      // while this call waits for the live one rather than for a model load.
      const two = [pool.embed(FEW), pool.embed(FEW)];
      expect(states(pool)).toEqual(['loading', 'ready']);
      expect(inFlight(pool)).toEqual([0, 2]);
      for (const vectors of await Promise.all(two)) expect(arrays(vectors)).toEqual(expected);

      await pool.warm();
      expect(states(pool)).toEqual(['ready', 'ready']);
      const before = answered(pool);
      await Promise.all([pool.embed(FEW), pool.embed(FEW)]);
      expect(answered(pool).map((n, i) => n - before[i]!)).toEqual([1, 1]);
    } finally {
      await pool.close();
    }
  });

  it('close() fails the calls in flight on every thread and the starts still loading; the next call starts again', async () => {
    const pool = await loadUseLiteThread({ threads: 2 });
    // In flight on both threads.
    const posted = [pool.embed(FEW), pool.embed(FEW), pool.embed(['a third, queued behind the first'])];
    expect(inFlight(pool)).toEqual([2, 1]);
    const closedPosted = Promise.all(posted.map((p) => expect(p).rejects.toThrow(/closed/)));
    await pool.close();
    await closedPosted;
    expect(states(pool)).toEqual(['stopped', 'stopped']);

    // Closed while the new workers load: two calls at once start both, and wait for them.
    const loading = [pool.embed(['a call that starts a new worker']), pool.embed(['and another'])];
    expect(states(pool)).toEqual(['loading', 'loading']);
    expect(inFlight(pool)).toEqual([1, 1]);
    const closedLoading = Promise.all(loading.map((p) => expect(p).rejects.toThrow(/closed/)));
    await pool.close();
    await closedLoading;
    expect(inFlight(pool)).toEqual([0, 0]);

    try {
      const [v] = await pool.embed(['How do I reset my password?']);
      const [w] = await local.embed(['How do I reset my password?']);
      expect(Array.from(v!)).toEqual(Array.from(w!));
      // One call needed one thread.
      expect(states(pool)).toEqual(['ready', 'stopped']);
    } finally {
      await pool.close();
    }
  });

  it('a one-thread pool, its worker killed, starts a new one for the next call', async () => {
    const pool = await loadUseLiteThread({ threads: 1 });
    try {
      const call = expect(pool.embed(SENTENCES)).rejects.toThrow(/exited/);
      await pool.kill(0);
      await call;
      expect(states(pool)).toEqual(['stopped']);
      expect(arrays(await pool.embed(FEW))).toEqual(expected);
      expect(pool.stats().workers[0]!.starts).toBe(2);
    } finally {
      await pool.close();
    }
  });
});
