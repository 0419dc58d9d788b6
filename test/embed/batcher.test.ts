/** @module test/embed/batcher: concurrent embed() calls share model calls, and a failed call fails only its batch. */
import { describe, expect, it, vi } from 'vitest';

import { BatchingEmbedder, EmbedBusyError } from '../../src/embed/batcher.js';
import type { Embedder } from '../../src/embed/types.js';

const DIM = 4;

/** A deterministic vector per text, so a result can be checked against the text it was asked for. */
function vectorOf(text: string): Float32Array {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619) >>> 0;
  return Float32Array.from([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, text.length]);
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The model: records every call; `failWhen` makes a call reject; `gate` holds calls until released. */
class CountingEmbedder implements Embedder {
  readonly id = 'test/counting';
  readonly dim = DIM;
  readonly defaultThreshold = 0.9;
  readonly calls: string[][] = [];
  inFlight = 0;
  maxInFlight = 0;
  failWhen: (texts: string[]) => boolean = () => false;
  gate: Deferred | undefined;

  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls.push([...texts]);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate) await this.gate.promise;
      if (this.failWhen(texts)) throw new Error(`model failed on [${texts.join(', ')}]`);
      return texts.map(vectorOf);
    } finally {
      this.inFlight--;
    }
  }
}

describe('BatchingEmbedder', () => {
  it('serves 20 concurrent calls from the same tick with at most 2 model calls, each caller getting its own vector', async () => {
    const inner = new CountingEmbedder();
    const batcher = new BatchingEmbedder(inner);
    const texts = Array.from({ length: 20 }, (_, i) => `question number ${i}`);

    const results = await Promise.all(texts.map((t) => batcher.embed([t])));

    expect(inner.calls.length).toBeGreaterThanOrEqual(1);
    expect(inner.calls.length).toBeLessThanOrEqual(2);
    expect(inner.calls.flat().sort()).toEqual([...texts].sort());
    results.forEach((r, i) => {
      expect(r).toHaveLength(1);
      expect(Array.from(r[0]!)).toEqual(Array.from(vectorOf(texts[i]!)));
    });
    expect(batcher.calls).toBe(inner.calls.length);
  });

  it('keeps order for multi-text calls mixed with single-text calls', async () => {
    const inner = new CountingEmbedder();
    const batcher = new BatchingEmbedder(inner);
    const [a, b, c] = await Promise.all([batcher.embed(['x', 'y', 'z']), batcher.embed(['solo']), batcher.embed(['p', 'q'])]);
    expect(a.map((v) => Array.from(v))).toEqual(['x', 'y', 'z'].map((t) => Array.from(vectorOf(t))));
    expect(b.map((v) => Array.from(v))).toEqual([Array.from(vectorOf('solo'))]);
    expect(c.map((v) => Array.from(v))).toEqual(['p', 'q'].map((t) => Array.from(vectorOf(t))));
    expect(inner.calls.length).toBeLessThanOrEqual(2);
  });

  it('calls the model at once when idle (no waiting for company)', async () => {
    const inner = new CountingEmbedder();
    const batcher = new BatchingEmbedder(inner);
    const [v] = await batcher.embed(['alone']);
    expect(inner.calls).toEqual([['alone']]);
    expect(Array.from(v!)).toEqual(Array.from(vectorOf('alone')));
  });

  it('queues texts that arrive while a model call runs and sends them together next', async () => {
    const inner = new CountingEmbedder();
    inner.gate = deferred();
    const batcher = new BatchingEmbedder(inner);

    const first = batcher.embed(['first']);
    await Promise.resolve(); // let the first call start
    await Promise.resolve();
    expect(inner.calls).toEqual([['first']]);
    const later = ['a', 'b', 'c', 'd'].map((t) => batcher.embed([t]));
    inner.gate.resolve();

    await first;
    const vectors = await Promise.all(later);
    expect(inner.calls).toEqual([['first'], ['a', 'b', 'c', 'd']]);
    vectors.forEach((r, i) => expect(Array.from(r[0]!)).toEqual(Array.from(vectorOf('abcd'[i]!))));
    expect(inner.maxInFlight).toBe(1);
  });

  it('splits a big queue into model calls of at most maxBatch texts', async () => {
    const inner = new CountingEmbedder();
    const batcher = new BatchingEmbedder(inner, 8);
    const texts = Array.from({ length: 30 }, (_, i) => `t${i}`);

    const [many, ...singles] = await Promise.all([batcher.embed(texts.slice(0, 19)), ...texts.slice(19).map((t) => batcher.embed([t]))]);

    expect(inner.calls.map((c) => c.length)).toEqual([8, 8, 8, 6]);
    expect(inner.calls.flat()).toEqual(texts); // in arrival order
    expect(many!.map((v) => Array.from(v))).toEqual(texts.slice(0, 19).map((t) => Array.from(vectorOf(t))));
    singles.forEach((r, i) => expect(Array.from(r[0]!)).toEqual(Array.from(vectorOf(texts[19 + i]!))));
    expect(inner.maxInFlight).toBe(1);
  });

  it('runs up to `concurrency` model calls at once', async () => {
    const inner = new CountingEmbedder();
    inner.gate = deferred();
    const batcher = new BatchingEmbedder(inner, 2, 2);
    const all = Promise.all(['a', 'b', 'c', 'd', 'e'].map((t) => batcher.embed([t])));
    await Promise.resolve();
    await Promise.resolve();
    expect(inner.calls).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    inner.gate.resolve();
    await all;
    expect(inner.calls).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(inner.maxInFlight).toBe(2);
  });

  it("rejects only the failed batch's callers; the next batch still works", async () => {
    const inner = new CountingEmbedder();
    inner.gate = deferred();
    inner.failWhen = (texts) => texts.includes('boom');
    const batcher = new BatchingEmbedder(inner, 2);

    const ok1 = batcher.embed(['ok1']); // batch 1: starts at once
    await Promise.resolve();
    await Promise.resolve();
    const boom = batcher.embed(['boom']); // batch 2: ['boom', 'peer']
    const peer = batcher.embed(['peer']);
    const after = batcher.embed(['after']); // batch 3
    const outcome = Promise.allSettled([ok1, boom, peer, after]);
    inner.gate.resolve();

    const [r1, r2, r3, r4] = await outcome;
    expect(inner.calls).toEqual([['ok1'], ['boom', 'peer'], ['after']]);
    expect(r1.status).toBe('fulfilled');
    expect(r2).toMatchObject({ status: 'rejected', reason: { message: 'model failed on [boom, peer]' } });
    expect(r3).toMatchObject({ status: 'rejected', reason: { message: 'model failed on [boom, peer]' } });
    expect(r4.status).toBe('fulfilled');
    expect(Array.from((r4 as PromiseFulfilledResult<Float32Array[]>).value[0]!)).toEqual(Array.from(vectorOf('after')));

    // And a fresh call after the failure is served too.
    const [v] = await batcher.embed(['later']);
    expect(Array.from(v!)).toEqual(Array.from(vectorOf('later')));
  });

  it('passes through id, dim and defaultThreshold', () => {
    const batcher = new BatchingEmbedder(new CountingEmbedder());
    expect([batcher.id, batcher.dim, batcher.defaultThreshold]).toEqual(['test/counting', DIM, 0.9]);
  });

  it('returns an empty result for an empty call without calling the model', async () => {
    const inner = new CountingEmbedder();
    const batcher = new BatchingEmbedder(inner);
    expect(await batcher.embed([])).toEqual([]);
    expect(inner.calls).toEqual([]);
  });
});

describe('BatchingEmbedder: a bounded wait', () => {
  /** A model whose calls finish only when the test says so. */
  class HeldModel {
    readonly id = 'test/held';
    readonly dim = 2;
    readonly defaultThreshold = 0.9;
    private release: Array<() => void> = [];
    async embed(texts: string[]): Promise<Float32Array[]> {
      await new Promise<void>((r) => this.release.push(r));
      return texts.map(() => Float32Array.from([1, 0]));
    }
    releaseAll(): void {
      for (const r of this.release.splice(0)) r();
    }
    /** model calls waiting to be let go */
    get held(): number {
      return this.release.length;
    }
  }

  it('a text that cannot start within maxWaitMs fails with EmbedBusyError; one that starts at once does not', async () => {
    const model = new HeldModel();
    const b = new BatchingEmbedder(model, 4, 1);
    const first = b.embed(['first'], { maxWaitMs: 5 });
    await vi.waitFor(() => expect(model.held).toBe(1));
    expect(b.load()).toBe(1);
    const second = b.embed(['second'], { maxWaitMs: 5 });
    await expect(second).rejects.toBeInstanceOf(EmbedBusyError);
    expect(b.busy).toBe(1);
    model.releaseAll();
    expect(await first).toHaveLength(1);
    // The one given up on is gone from the queue: nothing left once the first call returned.
    await vi.waitFor(() => expect(b.load()).toBe(0));
  });

  it('without maxWaitMs a text waits as long as it takes', async () => {
    const model = new HeldModel();
    const b = new BatchingEmbedder(model, 4, 1);
    const first = b.embed(['first']);
    await vi.waitFor(() => expect(model.held).toBe(1));
    const second = b.embed(['second']);
    model.releaseAll();
    await first;
    await vi.waitFor(() => expect(model.held).toBe(1));
    model.releaseAll();
    expect(await second).toHaveLength(1);
  });
});
