/**
 * The bundled model in a worker thread (src/embed/use-lite-thread.ts): the same vectors as in the calling thread,
 * the calling thread free while the model works, and a worker that goes away failing its calls, not the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUseLiteThread, type ThreadEmbedder } from '../../src/embed/use-lite-thread.js';
import { loadUseLite } from '../../src/embed/use-lite.js';
import type { Embedder } from '../../src/embed/types.js';

const SENTENCES = Array.from({ length: 48 }, (_, i) => `Sentence number ${i}: how would I go about resetting the password of account ${i * 7} without losing my saved settings?`);

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

describe('USE-lite in a worker thread', () => {
  let thread: ThreadEmbedder;
  let local: Embedder;
  beforeAll(async () => {
    [thread, local] = await Promise.all([loadUseLiteThread(), loadUseLite()]);
  });
  afterAll(async () => {
    await thread?.close();
  });

  it('gives the same unit vectors, under the same id, as the model in this thread', async () => {
    expect(thread.id).toBe(local.id);
    expect(thread.dim).toBe(512);
    const texts = ['How do I reset my password?', 'What is the capital of Norway?', 'Ünïcödé and emoji 🙂 survive the trip'];
    const [a, b] = [await thread.embed(texts), await local.embed(texts)];
    expect(a).toHaveLength(3);
    for (let i = 0; i < texts.length; i++) {
      expect(a[i]).toBeInstanceOf(Float32Array);
      expect(Array.from(a[i]!)).toEqual(Array.from(b[i]!));
    }
    const norm = Math.hypot(...a[0]!);
    expect(norm).toBeCloseTo(1, 5);
    expect(await thread.embed([])).toEqual([]);
  });

  it('leaves this thread free while it embeds (the model in this thread holds it up)', async () => {
    const off = await loopDelayDuring(() => thread.embed(SENTENCES));
    const on = await loopDelayDuring(() => local.embed(SENTENCES));
    // In this thread the event loop waits out most of the model's work; with the worker, hardly any of it.
    expect(on.maxDelay).toBeGreaterThan(on.took / 4);
    expect(off.maxDelay).toBeLessThan(off.took / 4);
  });

  it('keeps concurrent calls apart', async () => {
    const texts = ['alpha beta gamma', 'the quick brown fox', 'what time is it in Tokyo?'];
    const together = await Promise.all(texts.map((t) => thread.embed([t])));
    // One text per call on both sides: a batch pads its texts to the longest, which moves the last digits.
    for (const [i, t] of texts.entries()) {
      const [alone] = await local.embed([t]);
      expect(Array.from(together[i]![0]!)).toEqual(Array.from(alone!));
    }
  });

  it('a closed worker fails the calls in flight, and the next call starts a new one', async () => {
    // Closed before the call reached the worker, and after (the worker is busy with it).
    const early = expect(thread.embed(SENTENCES)).rejects.toThrow(/closed/);
    await thread.close();
    await early;
    await thread.embed(['warm again']);
    const posted = expect(thread.embed(SENTENCES)).rejects.toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 20));
    await thread.close();
    await posted;
    // And while a new worker is still loading its model.
    const loading = expect(thread.embed(['a call that starts a new worker'])).rejects.toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 5));
    await thread.close();
    await loading;
    const [v] = await thread.embed(['How do I reset my password?']);
    const [w] = await local.embed(['How do I reset my password?']);
    expect(Array.from(v!)).toEqual(Array.from(w!));
  });
});
