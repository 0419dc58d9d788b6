/**
 * Identical misses at once, in workerd: one request cannot read a stream another request is reading there, so a
 * joiner waits for the leader's stored answer (cache/pipeline.ts awaitStored) and is served it as a hit: the upstream
 * is called once. With a tiny JOIN_WAIT_MS the joiner stops waiting and goes upstream itself.
 *
 * The leader's upstream holds its stream after the first words until the test releases it, so the joiner arrives
 * while the leader's call is certainly in flight; no timing is raced.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/worker.js';
import { ADMIN_TOKEN, cacheHeaders, chat, fetchWorker, post, release, turn, upstreamCalls, world, type TestWorld } from './harness.js';

const CHAT = '/v1/chat/completions';

/** A request through the Worker whose response is returned as it starts; `settled()` reads it and awaits waitUntil. */
async function start(w: TestWorld, request: Request): Promise<{ res: Response; settled: () => Promise<string> }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, w.env, ctx);
  return {
    res,
    settled: async () => {
      const text = await res.text();
      await waitOnExecutionContext(ctx);
      return text;
    },
  };
}

describe('concurrent identical misses', () => {
  it('the joiner waits for the stored answer and gets it as a hit: the upstream is called once', async () => {
    const w = world();
    const hold = `hold-${w.run}`;
    const body = chat('Explain photosynthesis in two sentences.', { stream: true });
    const leader = await start(w, post(w, CHAT, body, { behavior: { hold } }));
    expect(cacheHeaders(leader.res).status).toBe('MISS');

    // The joiner: once its exact lookup has read KV (and missed), it is waiting on the leader's flight.
    let lookedUp!: () => void;
    const joinerLookedUp = new Promise<void>((resolve) => (lookedUp = resolve));
    w.kv.onGet = () => lookedUp();
    let joinerDone = false;
    const joiner = start(w, post(w, CHAT, body)).then((j) => ((joinerDone = true), j));
    await joinerLookedUp;
    w.kv.onGet = undefined;
    await turn();
    expect(joinerDone).toBe(false);
    const during = await upstreamCalls(w);
    expect(during).toHaveLength(1);
    expect(during[0]!.finished).toBe(false);

    await release(hold);
    const leaderText = await leader.settled();
    const joined = await joiner;
    const joinedText = await joined.settled();
    expect(cacheHeaders(joined.res)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(joined.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const textOf = (sse: string) => [...sse.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(textOf(joinedText)).toBe(textOf(leaderText));
    expect(textOf(leaderText)).toMatch(/^Answer #\d+ to: Explain photosynthesis in two sentences\.$/);
    expect(await upstreamCalls(w)).toHaveLength(1);

    // It was a joiner, not a later request that found the answer stored: the isolate counted it as coalesced.
    const stats = await fetchWorker(w, new Request('https://reprise.test/stats', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    expect(stats.json()).toMatchObject({ coalesced: 1, requests: { MISS: 1, HIT: 1 } });
  });

  it('with a tiny JOIN_WAIT_MS the joiner stops waiting and goes upstream itself, while the leader is still held', async () => {
    const w = world({ vars: { JOIN_WAIT_MS: '1' } });
    const hold = `hold-${w.run}`;
    const body = chat('Explain plate tectonics in two sentences.', { stream: true });
    const leader = await start(w, post(w, CHAT, body, { behavior: { hold } }));
    expect(cacheHeaders(leader.res).status).toBe('MISS');

    // The leader cannot end before it is released: the joiner can only finish by calling the upstream itself.
    const joiner = await start(w, post(w, CHAT, body));
    const joinerText = await joiner.settled();
    expect(cacheHeaders(joiner.res).status).toBe('MISS');
    expect(joinerText).toContain('data: [DONE]');
    const calls = await upstreamCalls(w);
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => c.finished)).toEqual([false, true]);

    await release(hold);
    expect(await leader.settled()).toContain('data: [DONE]');
    expect(await upstreamCalls(w)).toHaveLength(2);
  });
});
