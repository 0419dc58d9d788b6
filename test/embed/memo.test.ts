/** @module test/embed/memo: repeated texts cost no model call, and results keep the caller's order. */
import { describe, expect, it } from 'vitest';

import { MemoEmbedder } from '../../src/embed/memo.js';
import type { Embedder } from '../../src/embed/types.js';

/** A distinct, recognisable vector per text. */
const vectorOf = (text: string) => Float32Array.from([text.length, text.charCodeAt(0) || 0, text.charCodeAt(text.length - 1) || 0]);

/** The model: records every call. */
class CountingEmbedder implements Embedder {
  readonly id = 'test/counting';
  readonly dim = 3;
  readonly defaultThreshold = 0.85;
  readonly calls: string[][] = [];
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls.push([...texts]);
    return texts.map(vectorOf);
  }
}

const arrays = (vs: Float32Array[]) => vs.map((v) => Array.from(v));

describe('MemoEmbedder', () => {
  it('keeps each partition (tenant) apart: another tenant\'s text is embedded anew, so no one can time whether it was sent', async () => {
    const inner = new CountingEmbedder();
    const memo = new MemoEmbedder(inner);
    await memo.embed(['a secret question'], { partition: 'tenant-a' });
    await memo.embed(['a secret question'], { partition: 'tenant-b' });
    await memo.embed(['a secret question'], { partition: 'tenant-a' });
    expect(inner.calls).toEqual([['a secret question'], ['a secret question']]);
  });

  it('makes no model call for a text it has seen', async () => {
    const inner = new CountingEmbedder();
    const memo = new MemoEmbedder(inner);
    const first = await memo.embed(['hello world']);
    const again = await memo.embed(['hello world']);
    expect(inner.calls).toEqual([['hello world']]);
    expect(arrays(again)).toEqual(arrays(first));
    expect(arrays(again)).toEqual([Array.from(vectorOf('hello world'))]);
  });

  it('does not keep a text too long to remember (a pasted document), but still embeds it every time', async () => {
    const inner = new CountingEmbedder();
    const memo = new MemoEmbedder(inner);
    const huge = `${'a long pasted document '.repeat(200_000)}end`;
    const [v] = await memo.embed([huge]);
    await memo.embed([huge]);
    await memo.embed(['short']);
    await memo.embed(['short']);
    expect(inner.calls).toEqual([[huge], [huge], ['short']]);
    expect(Array.from(v!)).toEqual(Array.from(vectorOf(huge)));
  });

  it('embeds a text repeated within one call once, and returns it at every position', async () => {
    const inner = new CountingEmbedder();
    const memo = new MemoEmbedder(inner);
    const out = await memo.embed(['dup', 'other', 'dup']);
    expect(inner.calls).toEqual([['dup', 'other']]);
    expect(arrays(out)).toEqual(['dup', 'other', 'dup'].map((t) => Array.from(vectorOf(t))));
  });

  it('keeps order when cached and uncached texts are mixed, and asks only for the uncached', async () => {
    const inner = new CountingEmbedder();
    const memo = new MemoEmbedder(inner);
    await memo.embed(['b', 'dd']);
    const texts = ['a', 'b', 'ccc', 'dd', 'b', 'eeeee'];
    const out = await memo.embed(texts);
    expect(inner.calls).toEqual([['b', 'dd'], ['a', 'ccc', 'eeeee']]);
    expect(arrays(out)).toEqual(texts.map((t) => Array.from(vectorOf(t))));

    // Everything is remembered now.
    const again = await memo.embed([...texts].reverse());
    expect(inner.calls).toHaveLength(2);
    expect(arrays(again)).toEqual([...texts].reverse().map((t) => Array.from(vectorOf(t))));
  });

  it('forgets the least recently used text beyond `max`', async () => {
    const inner = new CountingEmbedder();
    const memo = new MemoEmbedder(inner, 2);
    await memo.embed(['one', 'two']);
    await memo.embed(['one']); // one is now more recent than two
    await memo.embed(['three']); // evicts two
    await memo.embed(['one', 'two']);
    expect(inner.calls).toEqual([['one', 'two'], ['three'], ['two']]);
  });

  it('does not remember a failed call', async () => {
    let fail = true;
    const inner = new CountingEmbedder();
    const flaky: Embedder = {
      id: inner.id,
      dim: inner.dim,
      defaultThreshold: inner.defaultThreshold,
      async embed(texts) {
        if (fail) throw new Error('model down');
        return inner.embed(texts);
      },
    };
    const memo = new MemoEmbedder(flaky);
    await expect(memo.embed(['x'])).rejects.toThrow('model down');
    fail = false;
    expect(arrays(await memo.embed(['x']))).toEqual([Array.from(vectorOf('x'))]);
    expect(inner.calls).toEqual([['x']]);
  });

  it('passes through id, dim and defaultThreshold, and answers [] for []', async () => {
    const inner = new CountingEmbedder();
    const memo = new MemoEmbedder(inner);
    expect([memo.id, memo.dim, memo.defaultThreshold]).toEqual(['test/counting', 3, 0.85]);
    expect(await memo.embed([])).toEqual([]);
    expect(inner.calls).toEqual([]);
  });
});
