/** A wrong hit reported through POST /v1/cache/feedback is evicted, and counted. Split from verify.test.ts: it reads the in-process metrics. */
import { describe, expect, it } from 'vitest';
import { ask, chat, useHarness } from '../helpers/harness.js';

const h = useHarness();

describe('feedback', () => {
  async function semanticHit() {
    const c = h.client();
    await chat(c, ask('How do I reset my password?'));
    const hit = await chat(c, ask('How can I reset my password?'));
    expect(hit.headers.get('x-cache-status')).toBe('HIT');
    return hit.headers.get('x-cache-id')!;
  }

  it('POST /v1/cache/feedback evicts the entry at once; the next identical query misses', async () => {
    const id = await semanticHit();
    const res = await fetch(`${h.reprise.url}/v1/cache/feedback`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-a', 'content-type': 'application/json' },
      body: JSON.stringify({ id, verdict: 'wrong' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ evicted: true, id });
    const again = await chat(h.client(), ask('How can I reset my password?'));
    expect(again.headers.get('x-cache-status')).toBe('MISS');
    expect(h.reprise.metrics.snapshot().feedbackWrong).toBe(1);
  });
});
