/**
 * /stats on the Worker in workerd: behind ADMIN_TOKEN, and adding up what every isolate shared through the STATS
 * Durable Object. An isolate shares after its first request, then at most every 10 s: each fresh env object is a new
 * isolate, so the test needs no wall-clock wait. (Each test binds a stats object of its own: see harness.ts.)
 */
import { describe, expect, it } from 'vitest';
import { again, ADMIN_TOKEN, cacheHeaders, chat, fetchWorker, post, upstreamCalls, world, type TestWorld } from './harness.js';

interface Stats {
  replicas: number;
  requests: Record<string, number>;
  hits: { exact: number; semantic: number };
  upstreamCalls: number;
}

const statsRequest = (token?: string) => new Request('https://reprise.test/stats', token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

async function stats(w: TestWorld): Promise<Stats> {
  const sent = await fetchWorker(w, statsRequest(ADMIN_TOKEN));
  expect(sent.status).toBe(200);
  return sent.json<Stats>();
}

describe('/stats', () => {
  it('needs the admin token', async () => {
    const w = world();
    const none = await fetchWorker(w, statsRequest());
    expect(none.status).toBe(401);
    expect(none.text).not.toContain('"requests"');
    const wrong = await fetchWorker(w, statsRequest('not-the-admin-token'));
    expect(wrong.status).toBe(401);
    expect((await fetchWorker(w, statsRequest(ADMIN_TOKEN))).status).toBe(200);
  });

  it('adds up the counts every isolate shared through the stats object', async () => {
    const a = world();
    const question = chat('What is the chemical symbol for gold?');
    // Isolate A: a miss, shared after this first request.
    expect(cacheHeaders(await fetchWorker(a, post(a, '/v1/chat/completions', question))).status).toBe('MISS');
    // Isolate B: a hit (from KV), shared after its first request too.
    const b = again(a);
    expect(cacheHeaders(await fetchWorker(b, post(b, '/v1/chat/completions', question))).status).toBe('HIT');
    expect(await upstreamCalls(a)).toHaveLength(1);

    // Isolate C has served nothing: what it shows came from A and B, through the stats object.
    const c = again(a);
    const seen = await stats(c);
    expect(seen.replicas).toBe(3);
    expect(seen.requests).toMatchObject({ MISS: 1, HIT: 1 });
    expect(seen.hits).toEqual({ exact: 1, semantic: 0 });
    expect(seen.upstreamCalls).toBe(1);
  });

  it('without a stats object, an isolate shows its own counts', async () => {
    const w = world();
    const alone: TestWorld = { ...w, env: { ...w.env, STATS: undefined } };
    expect(cacheHeaders(await fetchWorker(alone, post(alone, '/v1/chat/completions', chat('How many continents are there?')))).status).toBe('MISS');
    const seen = await stats(alone);
    expect(seen.replicas).toBe(1);
    expect(seen.requests).toMatchObject({ MISS: 1 });
  });
});
