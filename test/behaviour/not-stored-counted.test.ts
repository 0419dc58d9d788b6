/**
 * Broken and aborted streams are not stored, and each is counted by why (notStored). Split from not-stored.test.ts:
 * they read the in-process metrics, or (the client that leaves) need a front that sees a client gone while upstream
 * is quiet, which workerd notices only when it next writes to that client.
 */
import { describe, expect, it, vi } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

async function drain(text: string) {
  const stream = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], stream: true });
  let content = '';
  for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
  return content;
}

describe('broken and aborted streams', () => {
  it('a stream cut off by upstream reaches the client as an error and is not cached', async () => {
    h.up.next({ breakAfterChunks: 2 });
    await expect(drain('Explain photosynthesis in detail')).rejects.toThrow();
    expect(h.reprise.store.size()).toBe(0);
    expect(h.reprise.metrics.snapshot().notStored.aborted).toBe(1);
    await drain('Explain photosynthesis in detail');
    expect(h.up.count()).toBe(2);
  });

  it('a stream that ends without [DONE] is not cached', async () => {
    h.up.next({ omitDone: true });
    await drain('List three prime numbers');
    expect(h.reprise.store.size()).toBe(0);
    expect(h.reprise.metrics.snapshot().notStored['incomplete-stream']).toBe(1);
  });

  it('a client that disconnects aborts the upstream call and nothing is cached', async () => {
    let release!: () => void;
    h.up.next({ holdUntil: new Promise<void>((r) => (release = r)) });
    const controller = new AbortController();
    const stream = await h
      .client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write a poem about rivers' }], stream: true }, { signal: controller.signal });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    await vi.waitFor(() => expect(h.up.aborted).toBe(1));
    release();
    expect(h.reprise.store.size()).toBe(0);
    const again = await chat(h.client(), ask('Write a poem about rivers'));
    expect(again.headers.get('x-cache-status')).toBe('MISS');
  });
});
