/**
 * Long prompts: the last user turn is cut to the embedder's maximum input before embedding (2,000 characters for the
 * bundled model, whose cost grows with the square of the length), and what was cut is in the scope, so two prompts
 * that differ only after the cut never match semantically; they still match exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoEmbedder } from '../../src/embed/memo.js';
import type { EmbedOptions, Embedder } from '../../src/embed/types.js';
import { USE_LITE_MAX_CHARS } from '../../src/embed/use-lite.js';
import { loadUseLiteThread } from '../../src/embed/use-lite-thread.js';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';

/** The bundled model, recording the length of every text it is given. */
class Recording implements Embedder {
  readonly lengths: number[] = [];
  constructor(private readonly inner: Embedder) {}
  get id() {
    return this.inner.id;
  }
  get dim() {
    return this.inner.dim;
  }
  get defaultThreshold() {
    return this.inner.defaultThreshold;
  }
  inputLength(text: string): number {
    return this.inner.inputLength!(text);
  }
  embed(texts: string[], opts?: EmbedOptions): Promise<Float32Array[]> {
    this.lengths.push(...texts.map((t) => t.length));
    return this.inner.embed(texts, opts);
  }
}

let model: Recording;
let h: Harness;
beforeAll(async () => {
  const threads = await loadUseLiteThread({ threads: 1 });
  model = new Recording(threads);
  h = await startHarness({}, { embedder: new MemoEmbedder(model) });
});
afterAll(() => h?.close());

/** A prompt of about `n` characters of varied text, then `ending`. */
function document(n: number, ending: string): string {
  const words = ['river', 'stone', 'ledger', 'quartz', 'harbour', 'signal', 'meadow', 'copper', 'lantern', 'orbit'];
  let s = 'Summarise the following notes.\n';
  for (let i = 0; s.length < n; i++) s += `${words[i % 10]}${i} `;
  return `${s}\n${ending}`;
}

describe('a prompt longer than the model reads', () => {
  it('is embedded cut to the limit, however long (here 1 MB), and answered', async () => {
    const c = h.client();
    const long = document(1_000_000, 'Which of these came first?');
    const res = await chat(c, ask(long));
    expect(res.status).toBe(200);
    expect(Math.max(...model.lengths)).toBeLessThanOrEqual(USE_LITE_MAX_CHARS);
    // the same prompt again is an exact hit
    expect((await chat(c, ask(long))).headers.get('x-cache-match')).toBe('exact');
  });

  it('two prompts that differ only after the cut are never a semantic hit of each other', async () => {
    h.up.reset();
    const c = h.client();
    await chat(c, ask(document(30_000, 'answer briefly please.')));
    const other = await chat(c, ask(document(30_000, 'answer at great length please.')));
    expect(other.headers.get('x-cache-status')).toBe('MISS');
    expect(h.up.count('/chat/completions')).toBe(2);
  });
});
