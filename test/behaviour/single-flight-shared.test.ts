/**
 * Concurrent identical misses share the leader's call: every joiner counted as coalesced, and an upstream error
 * shared rather than asked for again. Split from single-flight.test.ts: the first reads the in-process metrics; the
 * second needs joiners that share the leader's bytes, which the Worker's never do (they share only a stored
 * answer, and an error is never stored).
 */
import { describe, expect, it } from 'vitest';
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

  it('concurrent requests that upstream fails share the error and nothing is stored', async () => {
    h.up.defaults = { delayMs: 200, status: 503 };
    const c = h.client();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => chat(c, ask('Will this fail?'))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(h.up.count()).toBe(1);
    expect(h.reprise.store.size()).toBe(0);
  });
});
