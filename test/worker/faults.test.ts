/**
 * The Worker fails open in workerd: when Vectorize, KV or Workers AI fails, the answer comes from the upstream,
 * marked X-Cache-Status: ERROR with the failed stage in X-Cache-Reason, as on Node (cache/cache-headers.ts).
 */
import { describe, expect, it } from 'vitest';
import { answerOf, cacheHeaders, chat, fetchWorker, post, upstreamCalls, world } from './harness.js';

const CHAT = '/v1/chat/completions';

describe('failing open', () => {
  it('Vectorize failing: the search fault is said, and the answer comes from upstream', async () => {
    const w = world();
    w.vectors.failing = true;
    const sent = await fetchWorker(w, post(w, CHAT, chat('What is the speed of light in a vacuum?')));
    expect(sent.status).toBe(200);
    expect(cacheHeaders(sent)).toMatchObject({ status: 'ERROR', reason: 'search' });
    expect(answerOf(sent)).toMatch(/^Answer #\d+ to: What is the speed of light in a vacuum\?$/);
    expect(await upstreamCalls(w)).toHaveLength(1);

    // Back: the same question is a plain miss (nothing was stored while failing), then a hit.
    w.vectors.failing = false;
    expect(cacheHeaders(await fetchWorker(w, post(w, CHAT, chat('What is the speed of light in a vacuum?')))).status).toBe('MISS');
    expect(cacheHeaders(await fetchWorker(w, post(w, CHAT, chat('What is the speed of light in a vacuum?')))).status).toBe('HIT');
    expect(await upstreamCalls(w)).toHaveLength(2);
  });

  it('KV failing: the lookup fault is said, and the answer comes from upstream', async () => {
    const w = world();
    w.kv.failing = true;
    const sent = await fetchWorker(w, post(w, CHAT, chat('How far is the Moon from the Earth?')));
    expect(sent.status).toBe(200);
    expect(cacheHeaders(sent)).toMatchObject({ status: 'ERROR', reason: 'lookup' });
    expect(answerOf(sent)).toMatch(/^Answer #\d+ to: How far is the Moon/);
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('KV refusing writes: the miss is answered whole, the store fails after it, and the repeat goes upstream', async () => {
    const w = world();
    w.kv.failingWrites = true;
    const first = await fetchWorker(w, post(w, CHAT, chat('What is the largest ocean?')));
    expect(first.status).toBe(200);
    expect(cacheHeaders(first).status).toBe('MISS');
    expect(answerOf(first)).toMatch(/^Answer #\d+ to: What is the largest ocean\?$/);
    const second = await fetchWorker(w, post(w, CHAT, chat('What is the largest ocean?')));
    expect(second.status).toBe(200);
    expect(cacheHeaders(second).status).toBe('MISS');
    expect(await upstreamCalls(w)).toHaveLength(2);
  });

  it('Workers AI failing: the embed fault is said, and the answer comes from upstream', async () => {
    const w = world();
    w.ai.failing = true;
    const sent = await fetchWorker(w, post(w, CHAT, chat('Who painted the Mona Lisa?')));
    expect(sent.status).toBe(200);
    expect(cacheHeaders(sent)).toMatchObject({ status: 'ERROR', reason: 'embed' });
    expect(answerOf(sent)).toMatch(/^Answer #\d+ to: Who painted the Mona Lisa\?$/);
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('a streamed request fails open too', async () => {
    const w = world();
    w.vectors.failing = true;
    const sent = await fetchWorker(w, post(w, CHAT, chat('Name a prime number.', { stream: true })));
    expect(sent.status).toBe(200);
    expect(cacheHeaders(sent)).toMatchObject({ status: 'ERROR', reason: 'search' });
    expect(sent.text).toContain('data: [DONE]');
    expect(await upstreamCalls(w)).toHaveLength(1);
  });
});
