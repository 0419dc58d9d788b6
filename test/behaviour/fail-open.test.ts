/** A cache fault never fails a request: Reprise forwards upstream and says so. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/embed/types.js';
import { FlakyStore } from '../helpers/flaky-store.js';
import { ask, chat, startHarness, useHarness, type Harness } from '../helpers/harness.js';

/** An embedder whose model has crashed: every call throws. */
const broken: Embedder = {
  id: 'broken@1',
  dim: 8,
  defaultThreshold: 0.9,
  embed: async () => {
    throw new Error('model crashed');
  },
};

const h = useHarness({}, { embedder: broken });

describe('fail open', () => {
  it('when the embedder throws, requests still succeed with X-Cache-Status: ERROR and a metric', async () => {
    const r = await chat(h.client(), ask('What is the capital of Kenya?'));
    expect(r.status).toBe(200);
    expect(r.data.choices[0]!.message.content).toMatch(/^Answer #\d+ to: What is the capital of Kenya\?$/);
    expect(r.headers.get('x-cache-status')).toBe('ERROR');
    expect(r.headers.get('x-cache-reason')).toBe('embed');
    const streamed = await h.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'And of Chile?' }], stream: true });
    let text = '';
    for await (const chunk of streamed) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/And of Chile\?$/);
    expect(h.reprise.metrics.snapshot().faults.embed).toBe(2);
    const prom = await (await fetch(`${h.reprise.url}/metrics`)).text();
    expect(prom).toContain('reprise_cache_faults_total{stage="embed"} 2');
    expect(prom).toContain('reprise_requests_total{endpoint="chat",model="gpt-4o-mini",status="ERROR",match="none"} 2');
  });

  it('exact-only requests still cache when the embedder is down', async () => {
    const c = h.client();
    const body = { messages: [{ role: 'user' as const, content: 'hi' }, { role: 'assistant' as const, content: 'hello' }] };
    await chat(c, body);
    const again = await chat(c, body);
    expect(again.headers.get('x-cache-status')).toBe('HIT');
  });
});

describe('fail open on a store fault', () => {
  let s: Harness;
  const store = new FlakyStore({ now: () => s.clock.now() });
  beforeAll(async () => {
    s = await startHarness({}, { store });
  });
  afterAll(() => s?.close());
  beforeEach(async () => {
    s.up.reset();
    store.failing = false;
    store.searchFailing = false;
    await store.purge({});
  });

  it('an exact read that fails: the request still succeeds, with X-Cache-Status: ERROR, reason lookup, counted once', async () => {
    const c = s.client();
    await chat(c, ask('What colour is a ruby?'));
    const before = s.reprise.metrics.snapshot();
    store.failing = true;
    const r = await chat(c, ask('What colour is a ruby?'));
    expect(r.status).toBe(200);
    expect(r.data.choices[0]!.message.content).toMatch(/^Answer #\d+ to: What colour is a ruby\?$/);
    expect(r.headers.get('x-cache-status')).toBe('ERROR');
    expect(r.headers.get('x-cache-reason')).toBe('lookup');
    expect(s.reprise.metrics.snapshot().faults.lookup - before.faults.lookup).toBe(1);
    expect(s.up.count()).toBe(2);
  });

  it('a vector search that fails: the request still succeeds, with X-Cache-Status: ERROR, reason search, counted once', async () => {
    const c = s.client();
    await chat(c, ask('How do I reset my password?'));
    const before = s.reprise.metrics.snapshot();
    store.searchFailing = true;
    const r = await chat(c, ask('How can I reset my password?'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-cache-status')).toBe('ERROR');
    expect(r.headers.get('x-cache-reason')).toBe('search');
    expect(s.reprise.metrics.snapshot().faults.search - before.faults.search).toBe(1);
    expect(s.up.count()).toBe(2);
  });
});
