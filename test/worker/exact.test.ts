/**
 * The Worker's exact tier in workerd: a miss then a hit with one upstream call, a hit that outlives the isolate (KV),
 * the bindings it can do without, the tenant secret it cannot, and bad input.
 */
import { describe, expect, it } from 'vitest';
import { again, answerOf, cacheHeaders, chat, fetchWorker, post, upstreamCalls, world } from './harness.js';

describe('exact repeats', () => {
  it('a miss goes upstream once and is stored; the repeat is an exact hit with the same answer', async () => {
    const w = world();
    const first = await fetchWorker(w, post(w, '/v1/chat/completions', chat('What is the boiling point of water at sea level?')));
    expect(first.status).toBe(200);
    expect(cacheHeaders(first).status).toBe('MISS');
    const second = await fetchWorker(w, post(w, '/v1/chat/completions', chat('What is the boiling point of water at sea level?')));
    expect(second.status).toBe(200);
    expect(cacheHeaders(second)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(answerOf(second)).toBe(answerOf(first));
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('the hit outlives the isolate: a fresh env object, with empty memory tiers, reads it from KV', async () => {
    const w = world();
    const question = chat('Which planet has the most moons?');
    const first = await fetchWorker(w, post(w, '/v1/chat/completions', question));
    expect(cacheHeaders(first).status).toBe('MISS');
    expect(w.kv.puts.length).toBeGreaterThan(0);

    // The same isolate serves its repeat from memory: KV is not read for it.
    const readsBefore = w.kv.gets.length;
    const inMemory = await fetchWorker(w, post(w, '/v1/chat/completions', question));
    expect(cacheHeaders(inMemory)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(w.kv.gets.length).toBe(readsBefore);

    const fresh = again(w);
    const fromKv = await fetchWorker(fresh, post(fresh, '/v1/chat/completions', question));
    expect(cacheHeaders(fromKv)).toMatchObject({ status: 'HIT', match: 'exact', id: cacheHeaders(inMemory).id });
    expect(answerOf(fromKv)).toBe(answerOf(first));
    // ...read from KV, where the first isolate stored it.
    expect(w.kv.gets.slice(readsBefore).filter((g) => g.found)).toHaveLength(1);
    expect(w.kv.puts).toContain(w.kv.gets.slice(readsBefore).find((g) => g.found)!.key);
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('the Anthropic Messages API hits too', async () => {
    const w = world();
    const body = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Name three primary colours.' }] };
    const first = await fetchWorker(w, post(w, '/v1/messages', body));
    expect(first.status).toBe(200);
    expect(cacheHeaders(first).status).toBe('MISS');
    const second = await fetchWorker(w, post(w, '/v1/messages', body));
    expect(cacheHeaders(second)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(second.json()).toEqual(first.json());
    expect(await upstreamCalls(w)).toHaveLength(1);
  });
});

describe('tenants', () => {
  it('two API keys sending the same text never share an answer', async () => {
    const w = world();
    const question = chat('What is the tallest mountain on Earth?');
    const a1 = await fetchWorker(w, post(w, '/v1/chat/completions', question, { key: `sk-a-${w.run}` }));
    const b1 = await fetchWorker(w, post(w, '/v1/chat/completions', question, { key: `sk-b-${w.run}` }));
    expect(cacheHeaders(a1).status).toBe('MISS');
    expect(cacheHeaders(b1).status).toBe('MISS');
    expect(answerOf(b1)).not.toBe(answerOf(a1));
    // Each key hits its own answer.
    const a2 = await fetchWorker(w, post(w, '/v1/chat/completions', question, { key: `sk-a-${w.run}` }));
    const b2 = await fetchWorker(w, post(w, '/v1/chat/completions', question, { key: `sk-b-${w.run}` }));
    expect(cacheHeaders(a2).status).toBe('HIT');
    expect(answerOf(a2)).toBe(answerOf(a1));
    expect(cacheHeaders(b2).status).toBe('HIT');
    expect(answerOf(b2)).toBe(answerOf(b1));
    expect(await upstreamCalls(w)).toHaveLength(2);
  });
});

describe('bindings the Worker can do without', () => {
  it('without Workers AI and Vectorize it caches exact repeats, and /healthz says exact-only', async () => {
    const w = world({ ai: false, vectors: false });
    const health = await fetchWorker(w, new Request('https://reprise.test/healthz'));
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok', cache: 'exact-only', search: 'none', entries: 'kv', embedder: 'exact-only' });
    const first = await fetchWorker(w, post(w, '/v1/chat/completions', chat('How many legs does a spider have?')));
    expect(cacheHeaders(first).status).toBe('MISS');
    const second = await fetchWorker(w, post(w, '/v1/chat/completions', chat('How many legs does a spider have?')));
    expect(cacheHeaders(second)).toMatchObject({ status: 'HIT', match: 'exact' });
    expect(await upstreamCalls(w)).toHaveLength(1);
  });

  it('with them, /healthz says semantic', async () => {
    const w = world();
    const health = await fetchWorker(w, new Request('https://reprise.test/healthz'));
    expect(health.json()).toMatchObject({ status: 'ok', cache: 'semantic', search: 'vectorize', entries: 'kv', embedder: 'workers-ai:@cf/baai/bge-small-en-v1.5:mean' });
  });

  it('without TENANT_SECRET nothing is cached: every request passes through, and /healthz says why', async () => {
    const w = world({ vars: { TENANT_SECRET: undefined } });
    const health = await fetchWorker(w, new Request('https://reprise.test/healthz'));
    expect(health.json()).toMatchObject({ cache: 'off: TENANT_SECRET is not set' });
    for (let i = 0; i < 2; i++) {
      const sent = await fetchWorker(w, post(w, '/v1/chat/completions', chat('Why is the sky blue?')));
      expect(sent.status).toBe(200);
      expect(cacheHeaders(sent).status).toBe('BYPASS');
    }
    expect(await upstreamCalls(w)).toHaveLength(2);
    expect(w.kv.puts).toEqual([]);
  });

  it('a bad setting is a 500 that names it, not a crash', async () => {
    const w = world({ vars: { JOIN_WAIT_MS: 'soon' } });
    const sent = await fetchWorker(w, post(w, '/v1/chat/completions', chat('Hello?')));
    expect(sent.status).toBe(500);
    expect(sent.json()).toMatchObject({ error: { code: 'bad_config', message: expect.stringContaining('JOIN_WAIT_MS') } });
    expect(await upstreamCalls(w)).toHaveLength(0);
  });
});

describe('bad input', () => {
  it('a body that is not JSON is a 400 in OpenAI\'s error shape, and nothing goes upstream', async () => {
    const w = world();
    const sent = await fetchWorker(w, post(w, '/v1/chat/completions', '{"model": "gpt-4o-mini", "messages": ['));
    expect(sent.status).toBe(400);
    const body = sent.json<{ error: { message: string; type: string } }>();
    expect(body.error.type).toBe('invalid_request_error');
    expect(typeof body.error.message).toBe('string');
    expect(body).not.toHaveProperty('type');
    expect(await upstreamCalls(w)).toHaveLength(0);
  });

  it('on /v1/messages it is a 400 in Anthropic\'s error shape', async () => {
    const w = world();
    const sent = await fetchWorker(w, post(w, '/v1/messages', '{"model": "claude-sonnet-4-5", '));
    expect(sent.status).toBe(400);
    const body = sent.json<{ type: string; error: { type: string; message: string } }>();
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(typeof body.error.message).toBe('string');
    expect(await upstreamCalls(w)).toHaveLength(0);
  });
});

describe('the dashboard assets (wrangler.toml\'s Text rule)', () => {
  it('uPlot\'s script and stylesheet are bundled whole, as text', async () => {
    const w = world();
    const js = await fetchWorker(w, new Request('https://reprise.test/dashboard/assets/uplot.js'));
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.text).toMatch(/^\/\*! https:\/\/github\.com\/leeoniya\/uPlot/);
    expect(js.text).toContain('var uPlot=function');
    expect(js.text.length).toBeGreaterThan(40_000);
    const css = await fetchWorker(w, new Request('https://reprise.test/dashboard/assets/uplot.css'));
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.text).toMatch(/^\.uplot/);
    expect(css.text.length).toBeGreaterThan(1_000);
  });
});
