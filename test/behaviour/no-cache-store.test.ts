/**
 * A no-cache request skipped the lookup, so storing its answer needs an embedding: the client's response ends
 * without waiting for it (an embedder that never answers must not leave the client hanging), and the answer is
 * stored after.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';
import { SyntheticEmbedder } from '../helpers/synthetic-embedder.js';

/** The synthetic embedder; embedding `held` waits until the test lets it go. */
class GatedEmbedder extends SyntheticEmbedder {
  held: string | undefined;
  private release: (() => void) | undefined;
  private readonly gate = new Promise<void>((r) => (this.release = r));
  asked = false;
  open(): void {
    this.release?.();
  }
  override async embed(texts: string[]): Promise<Float32Array[]> {
    if (this.held !== undefined && texts.includes(this.held)) {
      this.asked = true;
      await this.gate;
    }
    return super.embed(texts);
  }
}

const embedder = new GatedEmbedder();
let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { embedder });
});
afterAll(async () => {
  embedder.open();
  await h?.close();
});

describe('a no-cache request whose answer is stored', () => {
  it('gets its whole answer without waiting for the embedding of its query', async () => {
    embedder.held = 'what is the boiling point of water';
    let done = false;
    const answer = chat(h.client(), ask(embedder.held), { 'cache-control': 'no-cache' }).then((r) => {
      done = true;
      return r;
    });
    try {
      await vi.waitFor(() => expect(embedder.asked).toBe(true));
      await vi.waitFor(() => expect(done, 'the client is still waiting: its response ends only after the embedding').toBe(true), { timeout: 5_000 });
    } finally {
      embedder.open();
    }
    expect((await answer).headers.get('x-cache-status')).toBe('BYPASS');
  });
});
