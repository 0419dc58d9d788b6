/**
 * No cross-tenant timing oracle: the embedding memo is kept apart per tenant, so a caller cannot time whether another
 * tenant recently sent a text (a remembered embedding answers in microseconds, a new one in tens of milliseconds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoEmbedder } from '../../src/embed/memo.js';
import { ask, chat, startHarness, type Harness } from '../helpers/harness.js';
import { SyntheticEmbedder } from '../helpers/synthetic-embedder.js';

/** The model under the memo, counting the texts it is asked to embed. */
class CountingModel extends SyntheticEmbedder {
  readonly asked: string[] = [];
  override async embed(texts: string[]): Promise<Float32Array[]> {
    this.asked.push(...texts);
    return super.embed(texts);
  }
}

const model = new CountingModel();
let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { embedder: new MemoEmbedder(model) });
});
afterAll(() => h?.close());

describe('the embedding memo and tenants', () => {
  it("another tenant's identical text is embedded anew; the same tenant's is remembered", async () => {
    const q = 'Is the merger with Initech still on?';
    // x-cache-ttl: 0 reads the cache but stores nothing, so every request below looks q up (and embeds it).
    await chat(h.client('sk-tenant-alice'), ask(q), { 'x-cache-ttl': '0' });
    const afterAlice = model.asked.filter((t) => t === q).length;
    expect(afterAlice).toBe(1);
    await chat(h.client('sk-tenant-alice'), ask(q), { 'x-cache-ttl': '0' });
    expect(model.asked.filter((t) => t === q).length, 'the same tenant gets its remembered embedding').toBe(1);
    await chat(h.client('sk-tenant-mallory'), ask(q), { 'x-cache-ttl': '0' });
    expect(model.asked.filter((t) => t === q).length, "Mallory's lookup must not be answered from Alice's memo").toBe(2);
  });
});
