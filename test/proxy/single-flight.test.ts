/** Concurrent identical misses share one upstream call. */
import { describe, expect, it, vi } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

describe('single-flight', () => {
  it('20 concurrent identical JSON requests reach upstream once and all get the same answer', async () => {
    h.up.defaults = { delayMs: 300 };
    const c = h.client();
    const results = await Promise.all(Array.from({ length: 20 }, () => chat(c, ask('What is the population of Iceland?'))));
    expect(h.up.count('/chat/completions')).toBe(1);
    const contents = new Set(results.map((r) => r.data.choices[0]!.message.content));
    expect(contents.size).toBe(1);
    expect(h.reprise.metrics.snapshot().coalesced).toBe(19);
  });

  it('20 concurrent identical streaming requests reach upstream once and each gets the whole stream', async () => {
    h.up.defaults = { delayMs: 100, chunkDelayMs: 5 };
    const c = h.client();
    const run = async () => {
      const stream = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Describe the water cycle.' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    };
    const texts = await Promise.all(Array.from({ length: 20 }, run));
    expect(h.up.count('/chat/completions')).toBe(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toMatch(/^Answer #\d+ to: Describe the water cycle\.$/);
  });

  it('a JSON request that arrives while the same question streams waits for it instead of calling upstream', async () => {
    h.up.defaults = { delayMs: 200 };
    const c = h.client();
    const streamed = c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Who wrote Hamlet?' }], stream: true });
    await vi.waitFor(() => expect(h.up.count()).toBe(1));
    const json = await chat(c, ask('Who wrote Hamlet?'));
    for await (const _ of await streamed);
    expect(h.up.count()).toBe(1);
    expect(json.headers.get('x-cache-status')).toBe('HIT');
  });

  it('concurrent requests that upstream fails share the error and nothing is stored', async () => {
    h.up.defaults = { delayMs: 200, status: 503 };
    const c = h.client();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => chat(c, ask('Will this fail?'))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(h.up.count()).toBe(1);
    expect(h.reprise.store.size()).toBe(0);
  });
});
